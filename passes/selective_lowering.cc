#include "passes/selective_lowering.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ir/location.h"
#include "ir/op_registry.h"
#include "passes/glob.h"

namespace sluice::passes {
namespace {

std::string Describe(const ir::Node& node) {
  return absl::StrFormat("%%%s (%s)", node.name(), node.op());
}

// Whether a fallback_nodes entry (an exact name or a glob) names `name`.
bool EntryMatches(const std::string& entry, const std::string& name) {
  return IsGlob(entry) ? GlobMatch(entry, name) : entry == name;
}

// Rule 3: the first fallback_nodes entry matching `name`, with how it matched.
bool MatchFallbackNodes(const std::vector<std::string>& entries, const std::string& name,
                        std::string* detail) {
  for (const std::string& e : entries) {
    if (!EntryMatches(e, name)) continue;
    *detail = IsGlob(e) ? absl::StrCat("matches fallback_nodes glob '", e, "'")
                        : "named in fallback_nodes";
    return true;
  }
  return false;
}

// The backend's choice for `node`: kLower/kLibrary, or kFallback with `why`.
Decision Classify(const BackendCapabilities& caps, const ir::Node& node, std::string* why) {
  if (!caps.classify) return Decision::kLower;
  Decision d = caps.classify(node, why);
  if (d == Decision::kFallback && why->empty()) {
    *why = absl::StrFormat("backend '%s' cannot lower %s on %s", caps.backend, node.op(),
                           ir::DTypeName(node.dtype()));
  }
  return d;
}

// Options that name nothing in `graph`, in option order.
std::vector<std::string> UnmatchedOptions(const ir::Graph& graph,
                                          const std::vector<ir::Node*>& calls,
                                          const LoweringOptions& options) {
  std::vector<std::string> problems;
  for (const std::string& e : options.fallback_nodes) {
    const bool matched = std::any_of(
        calls.begin(), calls.end(), [&e](const ir::Node* n) { return EntryMatches(e, n->name()); });
    if (!matched) {
      problems.push_back(absl::StrFormat(
          "fallback_nodes entry '%s' matches no call node of graph '%s'", e, graph.name()));
    }
  }
  absl::flat_hash_set<std::string> ops;
  for (const ir::Node* n : calls) ops.insert(n->op());
  for (const std::string& op : options.fallback_ops) {
    if (ir::OpRegistry::Global().Find(op) == nullptr) {
      problems.push_back(absl::StrFormat("fallback_ops entry '%s' is not a registered op", op));
    } else if (!ops.contains(op)) {
      problems.push_back(
          absl::StrFormat("fallback_ops entry '%s' matches no call node: graph '%s' has no %s", op,
                          graph.name(), op));
    }
  }
  return problems;
}

}  // namespace

absl::StatusOr<LoweringPlan> SelectiveLowering(
    const ir::Graph& graph, const LoweringOptions& options, const BackendCapabilities& caps,
    const absl::flat_hash_map<std::string, std::string>* lowering_errors) {
  LoweringPlan plan;
  plan.graph_name = graph.name();
  plan.backend = caps.backend;

  const std::vector<ir::Node*> calls = graph.calls();

  if (lowering_errors != nullptr) {
    std::vector<std::string> unknown;
    for (const auto& [name, message] : *lowering_errors) {
      const ir::Node* n = graph.FindNode(name);
      if (n == nullptr || !n->is_call()) unknown.push_back(name);
    }
    if (!unknown.empty()) {
      std::sort(unknown.begin(), unknown.end());
      return absl::InvalidArgumentError(absl::StrFormat(
          "lowering errors reported for %s, which %s no call node of graph '%s'",
          absl::StrJoin(unknown, ", "), unknown.size() == 1 ? "is" : "are", graph.name()));
    }
  }
  auto lowering_error = [&](const ir::Node& n) -> const std::string* {
    if (lowering_errors == nullptr) return nullptr;
    auto it = lowering_errors->find(n.name());
    return it == lowering_errors->end() ? nullptr : &it->second;
  };
  const absl::flat_hash_set<std::string> fallback_ops(options.fallback_ops.begin(),
                                                      options.fallback_ops.end());

  for (const ir::Node* node : calls) {
    const ir::Node& n = *node;
    NodeDecision e;
    e.node = n.name();
    e.op = n.op();

    const ir::AttrValue* meta = n.meta().Find(kShouldFallbackKey);
    if (meta != nullptr && !meta->is_bool()) {
      return ir::ErrorAt(
          n.location(),
          absl::StrFormat("metadata should_fallback of %s must be true or false, "
                          "not %s (a %s)",
                          Describe(n), meta->ToString(), ir::AttrKindName(meta->kind())));
    }
    std::string why;
    if (meta != nullptr && meta->as_bool()) {  // Rule 1.
      e.decision = Decision::kFallback;
      e.rule = Rule::kMetaFallback;
      e.detail = "meta.should_fallback = true";
    } else if (meta != nullptr) {  // Rule 2.
      if (const std::string* error = lowering_error(n)) {
        return ir::ErrorAt(
            n.location(),
            absl::StrFormat("%s has should_fallback = false but lowering it failed: %s",
                            Describe(n), *error));
      }
      Decision d = Classify(caps, n, &why);
      e.decision = d == Decision::kLibrary ? Decision::kLibrary : Decision::kLower;
      e.rule = Rule::kMetaLower;
      e.detail = d == Decision::kFallback
                     ? absl::StrCat("meta.should_fallback = false overrides: ", why)
                     : "meta.should_fallback = false";
    } else if (MatchFallbackNodes(options.fallback_nodes, n.name(), &e.detail)) {  // Rule 3.
      e.decision = Decision::kFallback;
      e.rule = Rule::kFallbackNode;
    } else if (fallback_ops.contains(n.op())) {  // Rule 4.
      e.decision = Decision::kFallback;
      e.rule = Rule::kFallbackOp;
      e.detail = absl::StrFormat("op %s is in fallback_ops", n.op());
    } else if (Decision d = Classify(caps, n, &why); d == Decision::kFallback) {  // Rule 5.
      if (options.strict) {
        return ir::ErrorAt(n.location(),
                           absl::StrFormat("%s has no lowering (%s) and options.strict forbids "
                                           "falling back",
                                           Describe(n), why));
      }
      e.decision = Decision::kFallback;
      e.rule = Rule::kNoLowering;
      e.detail = why;
    } else if (const std::string* error = lowering_error(n)) {  // Rule 6.
      if (options.on_lowering_error == LoweringOptions::OnLoweringError::kError) {
        return ir::ErrorAt(n.location(),
                           absl::StrFormat("lowering %s failed: %s", Describe(n), *error));
      }
      e.decision = Decision::kFallback;
      e.rule = Rule::kLoweringError;
      e.detail = absl::StrCat("lowering failed: ", *error);
    } else {  // Rule 7.
      e.decision = d;
      e.rule = Rule::kDefault;
      e.detail = why;
    }
    plan.entries.push_back(std::move(e));
  }

  std::vector<std::string> problems = UnmatchedOptions(graph, calls, options);
  if (!problems.empty() && options.strict) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.strict: ", absl::StrJoin(problems, "; ")));
  }
  plan.warnings = std::move(problems);
  return plan;
}

void MarkNodesForFallback(ir::Graph& graph, const std::function<bool(const ir::Node&)>& predicate) {
  for (ir::Node* n : graph.nodes()) {
    if (n->is_call() && predicate(*n)) n->mutable_meta().Set(kShouldFallbackKey, true);
  }
}

absl::StatusOr<bool> SelectiveLoweringPass::Run(ir::Graph* graph) {
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(
      *graph, context_->options, context_->capabilities, &context_->lowering_errors);
  if (!plan.ok()) return plan.status();
  context_->plan = *std::move(plan);
  return false;
}

}  // namespace sluice::passes
