// Test helpers for the CUDA emitter (test-only): run graph text through the
// public pipeline (parse -> passes::RunLoweringPipeline with the CUDA
// capability table -> passes::Fuse -> codegen::BuildKernel per kernel step)
// and emit the kernels as one CUDA module, as sluice::Compile will for
// --device=cuda.
#ifndef SLUICE_CODEGEN_CUDA_TEST_UTIL_H_
#define SLUICE_CODEGEN_CUDA_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/kernel_ir.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/schedule.h"

namespace sluice::codegen::cuda {

struct EmittedGraph {
  std::unique_ptr<ir::Graph> graph;  // as compiled (decomposed)
  passes::LoweringPlan plan;
  passes::Schedule schedule;  // points into *graph
  std::vector<Kernel> kernels;
  CudaModuleSource module;

  // The launch of kernel `name`, or null.
  const CudaKernelLaunch* Launch(const std::string& name) const;
  // The source lines of kernel `name` (empty when there is none).
  std::string KernelSource(const std::string& name) const;
};

// `graph` runs through the pipeline and fusion with the CUDA capability
// table; kernels are named k<step>.
absl::StatusOr<EmittedGraph> EmitGraph(const ir::Graph& graph,
                                       const passes::LoweringOptions& lowering = {},
                                       const CudaEmitOptions& options = {});
// The same for the first graph of `text`.
absl::StatusOr<EmittedGraph> EmitGraphText(const std::string& text,
                                           const passes::LoweringOptions& lowering = {},
                                           const CudaEmitOptions& options = {});

// How often `needle` occurs in `haystack`.
int CountOccurrences(const std::string& haystack, const std::string& needle);

}  // namespace sluice::codegen::cuda

#endif  // SLUICE_CODEGEN_CUDA_TEST_UTIL_H_
