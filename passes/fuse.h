// Fusion and scheduling: groups the lowered nodes of a decomposed graph into
// kernels and orders them with the library and fallback steps (Inductor's
// scheduler, simplified). Expects selective-lowering, decompose, cse,
// split-reduction and dce to have run (every call node has a plan entry,
// directly or through its `decomposed_from` meta); leaves the graph alone
// and fills in the plan's kernel column.
//
// Rules, in the order they apply:
//  1. A fallback node is always its own step: it reads materialized buffers
//     and writes one. matmul (Decision::kLibrary) is likewise its own library
//     step. The nodes of a fused pattern (passes/attention.h: one kernel;
//     passes/matmul_epilogue.h: one library call that writes only the
//     pattern's last node) are one step of their own, placed at that last
//     node. Nothing fuses across any of these: a kernel never contains a
//     node that depends on a fallback/library step scheduled after that
//     kernel, so the lowered neighbours on each side of one end up in
//     different kernels.
//  2. "Realized" lowered values (the roots that kernels are built around):
//     graph outputs, values read by a fallback or library step, every
//     reduction, and multi-consumer values that rule 5 says to materialize.
//  3. Everything else lowered (elementwise, layout ops, full) is inlined into
//     its consumers: a kernel evaluates it as a function of the index it is
//     read at (layout ops become index transforms of loads).
//  4. Realized values are grouped greedily, in topological order, into the
//     latest kernel they depend on when the iteration spaces agree:
//       - pointwise + pointwise of the same shape (a 5-op chain whose middle
//         value is also a graph output stays one kernel);
//       - a reduction joins the pointwise kernel of its input's shape, and
//         reductions over the same rows (same input shape and reduced dims)
//         share one kernel (softmax's max and sum, layer_norm's mean and
//         variance), so a row is read in one kernel;
//       - pointwise work after a reduction joins it when it is shaped like
//         the reduction's input (same rows, the reduced values broadcast
//         back) or like its output, and reads each reduced value of the
//         kernel at the current row only (checked by tracking which loop
//         index every dimension is read at).
//     All inputs of the joining value must come from steps before that
//     kernel, so the order stays topological.
//  5. A lowered value with several consumers is not realized while all of
//     them land in one kernel (it is computed once per loop there, in
//     registers). When they land in different kernels it is recomputed in
//     each if its inlined expression is small (at most kMaxRecomputeNodes
//     nodes) and reads at most one buffer; otherwise it is materialized.
//     (Grouping is redone after each such materialization until stable.)
#ifndef SLUICE_PASSES_FUSE_H_
#define SLUICE_PASSES_FUSE_H_

#include <string>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/schedule.h"

namespace sluice::passes {

inline constexpr int kMaxRecomputeNodes = 8;

// The name of the original (pre-decomposition) node `node` came from.
std::string OriginalNodeName(const ir::Node& node);

// Builds the schedule and sets plan->entries[i].kernel to the step that runs
// each node (for a decomposed composite, the first step running its parts).
// Errors: a call node without a plan entry, or a composite left undecomposed
// but marked lowered.
absl::StatusOr<Schedule> Fuse(const ir::Graph& graph, LoweringPlan* plan);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_FUSE_H_
