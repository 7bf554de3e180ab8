// Selective lowering (DESIGN §3): decides, for every call node of a graph,
// whether it is lowered into a generated kernel (or a library call) or runs on
// its Eigen reference kernel ("fallback"), and records the rule that decided.
//
// Rules, first match wins:
//   1  meta.should_fallback = true           -> fallback
//   2  meta.should_fallback = false          -> lowered, even against 3-5
//   3  name in options.fallback_nodes (exact or glob `* ? [..]`) -> fallback
//   4  op in options.fallback_ops            -> fallback
//   5  the backend cannot lower op/dtype     -> fallback (error under strict)
//   6  lowering or compilation failed        -> fallback when on_lowering_error
//      (`lowering_errors` has the node)         is kFallback, else an error
//   7  otherwise                             -> lowered
// Rules 2 and 7 record the backend's own choice between kLower and kLibrary.
// Rule 1/2 read the value of should_fallback: a non-bool value is an error at
// the node's location. A node with should_fallback = false whose lowering
// failed (rule 6) is an error whatever on_lowering_error says: the user asked
// for it to be lowered and it cannot be.
//
// Options that match nothing (a fallback_nodes entry that matches no call
// node, a fallback_ops entry that is not a registered op or occurs in no call
// node) become plan warnings, or one error listing all of them under
// options.strict. `lowering_errors` is keyed by the names of this graph's call
// nodes (a compiler maps a failing decomposed node to its composite with
// DecisionFor); a key that names no call node is an error, since dropping a
// compile error would only make the same compilation fail again.
//
// Expects a verified graph; runs before decompose and fusion. The pass
// changes nothing in the graph.
#ifndef SLUICE_PASSES_SELECTIVE_LOWERING_H_
#define SLUICE_PASSES_SELECTIVE_LOWERING_H_

#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass.h"

namespace sluice::passes {

// The metadata key selective lowering reads (rule 1). The key decompose
// writes, kDecomposedFromKey, and DecisionFor, the lookup that follows it, are
// in lowering_plan.h.
inline constexpr absl::string_view kShouldFallbackKey = "should_fallback";

// A plan with one entry per call node, in graph order. `caps.classify` may be
// empty: every node is then lowerable (kLower).
absl::StatusOr<LoweringPlan> SelectiveLowering(
    const ir::Graph& graph, const LoweringOptions& options, const BackendCapabilities& caps,
    const absl::flat_hash_map<std::string, std::string>* lowering_errors = nullptr);

// Sets meta should_fallback = true (rule 1) on every call node `predicate`
// accepts; the C++ twin of the seed test's `_mark_nodes_for_fallback`.
void MarkNodesForFallback(ir::Graph& graph, const std::function<bool(const ir::Node&)>& predicate);

// Fills context->plan; leaves the graph alone (always reports "unchanged").
class SelectiveLoweringPass : public Pass {
 public:
  explicit SelectiveLoweringPass(PassContext* context) : context_(context) {}
  absl::string_view name() const override { return "selective-lowering"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override;

 private:
  PassContext* context_;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_SELECTIVE_LOWERING_H_
