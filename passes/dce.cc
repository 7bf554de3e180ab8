#include "passes/dce.h"

#include <vector>

#include "absl/container/flat_hash_set.h"

namespace sluice::passes {

absl::StatusOr<bool> EliminateDeadCode(ir::Graph* graph) {
  absl::flat_hash_set<const ir::Node*> live;
  std::vector<const ir::Node*> stack(graph->outputs().begin(), graph->outputs().end());
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    if (!live.insert(n).second) continue;
    for (const ir::Operand& o : n->operands()) {
      if (!o.is_literal()) stack.push_back(o.node());
    }
  }
  bool any_dead = false;
  for (const ir::Node* n : graph->nodes()) {
    if (n->is_call() && !live.contains(n)) any_dead = true;
  }
  if (!any_dead) return false;
  absl::Status s = graph->RemoveCalls([&live](const ir::Node* n) { return !live.contains(n); });
  if (!s.ok()) return s;
  return true;
}

}  // namespace sluice::passes
