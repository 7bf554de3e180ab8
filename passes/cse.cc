#include "passes/cse.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ir/op_registry.h"
#include "passes/selective_lowering.h"

namespace sluice::passes {
namespace {

// A string that is equal for two nodes exactly when CSE may merge them (see
// cse.h). Operands are identified by node address, which is stable while the
// pass runs; literals by kind and exact bits ("%a" hex floats).
std::string Key(const ir::Node& n, const LoweringPlan* plan) {
  std::string key = absl::StrCat(n.op(), "(");
  for (const ir::Operand& o : n.operands()) {
    if (o.is_literal()) {
      absl::StrAppendFormat(&key, "%s%a,", o.literal().is_int ? "i:" : "f:", o.literal().value);
    } else {
      absl::StrAppendFormat(&key, "n:%p,", static_cast<const void*>(o.node()));
    }
  }
  key += "){";
  for (const ir::AttrSpec& spec : n.schema()->attrs) {
    const ir::AttrValue* v = n.attr(spec.name);
    absl::StrAppend(&key, spec.name, "=", v == nullptr ? "<none>" : v->ToString(), ";");
  }
  key += "}{";
  std::vector<std::string> meta;
  for (const auto& [k, v] : n.meta()) meta.push_back(absl::StrCat(k, "=", v.ToString()));
  std::sort(meta.begin(), meta.end());
  for (const std::string& m : meta) absl::StrAppend(&key, m, ";");
  key += "}";
  if (plan != nullptr) {
    const NodeDecision* d = DecisionFor(*plan, n);
    absl::StrAppend(&key, "@", d == nullptr ? "none" : DecisionName(d->decision));
    // Nodes of different fused pattern instances (or one fused and one not)
    // stay apart: a pattern's inner values are never materialized.
    if (d != nullptr && !d->fused_root.empty()) absl::StrAppend(&key, "@fused:", d->fused_root);
  }
  return key;
}

}  // namespace

absl::StatusOr<bool> EliminateCommonSubexpressions(ir::Graph* graph, const LoweringPlan* plan) {
  absl::flat_hash_map<std::string, ir::Node*> seen;
  absl::flat_hash_set<const ir::Node*> removed;
  // In order, so that a node's operands are already canonical when its key is
  // taken: merging %b into %a rewrites %b's users before they are visited.
  for (ir::Node* n : graph->calls()) {
    auto [it, inserted] = seen.try_emplace(Key(*n, plan), n);
    if (inserted) continue;
    graph->ReplaceAllUsesWith(n, it->second);
    removed.insert(n);
  }
  if (removed.empty()) return false;
  absl::Status s =
      graph->RemoveCalls([&removed](const ir::Node* n) { return removed.contains(n); });
  if (!s.ok()) return s;
  return true;
}

absl::StatusOr<bool> CsePass::Run(ir::Graph* graph) {
  const LoweringPlan* plan =
      context_ != nullptr && context_->plan.has_value() ? &*context_->plan : nullptr;
  return EliminateCommonSubexpressions(graph, plan);
}

}  // namespace sluice::passes
