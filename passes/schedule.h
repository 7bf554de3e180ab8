// The schedule of a compiled graph: the ordered steps that run it, as the
// fusion pass (passes/fuse.h) produces them and codegen and the runtime
// consume them. A step is a generated kernel (a fused group of lowered
// nodes), a library call (matmul) or a fallback call (one reference kernel).
#ifndef SLUICE_PASSES_SCHEDULE_H_
#define SLUICE_PASSES_SCHEDULE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"

namespace sluice::passes {

enum class StepKind { kKernel, kLibrary, kFallback };

absl::string_view StepKindName(StepKind kind);  // "kernel", "library", "fallback"

struct Step {
  int id = -1;
  StepKind kind = StepKind::kKernel;
  // Nodes this step computes, in topological order. For a kernel: every node
  // evaluated in it, including inlined producers (a producer recomputed in
  // several kernels is listed in each). For library and fallback steps: the
  // one node (a fused library step: its pattern's nodes, the last written).
  std::vector<const ir::Node*> nodes;
  // Materialized values the step reads: graph inputs and outputs of earlier
  // steps, in first-use order.
  std::vector<const ir::Node*> inputs;
  // Values the step writes to buffers (graph outputs, values read by later
  // steps), in topological order.
  std::vector<const ir::Node*> outputs;
  // A step made from a recognized pattern rather than by grouping: a kernel
  // (passes/attention.h: "attention") or a library call
  // (passes/matmul_epilogue.h: "matmul_epilogue"); empty otherwise. Backends
  // emit such a kernel, or make such a call, from the pattern.
  std::string pattern;

  bool Contains(const ir::Node* node) const;
};

struct Schedule {
  // The graph the steps' nodes belong to (set by Fuse; valid while that
  // Graph object stays where it was).
  const ir::Graph* graph = nullptr;
  std::vector<Step> steps;
  // Step that materializes each value; graph inputs are absent.
  absl::flat_hash_map<const ir::Node*, int> producer;

  int num_kernels() const;
  // One line per step: "step 0 kernel [a, b] reads (x, y) writes (b)".
  std::string ToString() const;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_SCHEDULE_H_
