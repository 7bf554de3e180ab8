// sluice's one-call entry point: parse or build a graph, then
//
//   absl::StatusOr<runtime::Executable> exe = sluice::Compile(graph, options);
//   absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(inputs);
//
// Compile runs the lowering pipeline (selective lowering, decompose, cse,
// dce), fusion and memory planning, builds the kernel IR of every kernel,
// emits them as one C++ translation unit, compiles it with the host compiler
// (through the kernel cache) and loads it.
//
// DESIGN §3 rule 6: when the generated code of a kernel fails to build, with
// on_lowering_error = kFallback the nodes of that kernel (their original,
// pre-decomposition names) are recompiled as rule-6 fallbacks, which the
// plan records; with kError Compile fails naming the nodes and where the
// generated source was kept.
#ifndef SLUICE_SLUICE_COMPILE_H_
#define SLUICE_SLUICE_COMPILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass_manager.h"
#include "runtime/executable.h"

namespace sluice {

enum class DeviceKind { kCpu, kCuda };

struct CompileOptions {
  passes::LoweringOptions lowering;
  DeviceKind device = DeviceKind::kCpu;
  // Kernel cache directory; empty: $SLUICE_CACHE_DIR, else ~/.cache/sluice.
  std::string cache_dir;
  // Host compiler; empty: $CXX, else c++.
  std::string compiler;
  // Pipeline dumps: pass names (or "all") after which `dump` gets the graph.
  std::vector<std::string> dump_after;
  passes::DumpSink dump;
  // Test hook for rule 6: the host compile of every kernel that computes one
  // of these nodes (original names) fails, as a real compile error would.
  std::vector<std::string> inject_compile_failure;
};

absl::StatusOr<runtime::Executable> Compile(const ir::Graph& graph,
                                            const CompileOptions& options = {});

}  // namespace sluice

#endif  // SLUICE_SLUICE_COMPILE_H_
