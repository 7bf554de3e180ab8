// The compiler's lowering pipeline up to fusion: selective-lowering ->
// match-attention -> match-matmul-epilogue -> decompose -> cse ->
// split-reduction -> dce, run by a PassManager. Fusion and scheduling
// (passes/fuse.h, passes/schedule.h) run after it and fill in each plan
// entry's kernel.
#ifndef SLUICE_PASSES_PIPELINE_H_
#define SLUICE_PASSES_PIPELINE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass_manager.h"

namespace sluice::passes {

// The pass names RunLoweringPipeline runs, in order.
std::vector<std::string> LoweringPipelinePasses();

struct PipelineOptions {
  // Pass names after which to dump the graph, or "all"; see PassManager.
  std::vector<std::string> dump_after;
  DumpSink dump;
  // Verify (and check "unchanged") after every pass even in optimized
  // builds; debug builds always do.
  bool verify_each = false;
  // DESIGN §3 rule 6: call node name -> the lowering or kernel-compile error
  // an earlier attempt got for it.
  absl::flat_hash_map<std::string, std::string> lowering_errors;
  // When set, receives the per-pass timings.
  std::vector<PassTiming>* timings = nullptr;
};

// Runs the pipeline on `graph` in place and returns the plan: one entry per
// call node of the graph as it was passed in (decomposed and removed nodes
// included), kernels unset (-1). Find a rewritten node's entry with
// DecisionFor.
absl::StatusOr<LoweringPlan> RunLoweringPipeline(ir::Graph* graph, const LoweringOptions& options,
                                                 const BackendCapabilities& caps,
                                                 const PipelineOptions& pipeline = {});

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_PIPELINE_H_
