// Common-subexpression elimination: a call node that computes the same value
// as an earlier one is replaced by it (its uses, graph outputs included, move
// to the earlier node) and removed.
//
// Two nodes compute "the same value", and are merged, only when all of these
// hold:
//   - same op and the same operands in the same order (the same nodes, or
//     literals of the same kind, int or float, and bit-identical value);
//     commutativity is not exploited;
//   - same attributes, with schema defaults filled in (`sum(%x)` equals
//     `sum(%x, keepdim = false)`);
//   - equal metadata, as unordered key/value sets. So a node marked
//     should_fallback is never merged with one that is not, two nodes
//     decomposed from different composites (different decomposed_from) are
//     never merged, and user keys are never lost;
//   - when a lowering plan is given: the same decision (DecisionFor), so a
//     node that falls back by options (rules 3-6, which leave no metadata)
//     never merges into a lowered one, or the other way round; and the same
//     fused pattern instance (NodeDecision::fused_root), so nodes of two
//     fused matmul epilogues, or of one and an unfused chain, stay apart.
// The kept node is the earlier one, with its own name, location and metadata
// (equal to the removed one's by the rule above).
//
// Can run anywhere; the lowering pipeline runs it after decompose (which
// exposes shared subexpressions, e.g. two softmaxes of one input under one
// plan decision) and before dce.
#ifndef SLUICE_PASSES_CSE_H_
#define SLUICE_PASSES_CSE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass.h"

namespace sluice::passes {

// Returns whether any node was merged away. `plan` may be null.
absl::StatusOr<bool> EliminateCommonSubexpressions(ir::Graph* graph,
                                                   const LoweringPlan* plan = nullptr);

// Uses the context's plan when selective-lowering has filled it. The context
// may be null (no plan).
class CsePass : public Pass {
 public:
  explicit CsePass(PassContext* context = nullptr) : context_(context) {}
  absl::string_view name() const override { return "cse"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override;

 private:
  PassContext* context_;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_CSE_H_
