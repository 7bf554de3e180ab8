#include "passes/plan_dot.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "passes/selective_lowering.h"

namespace sluice::passes {
namespace {

// A DOT double-quoted string. `\n` sequences the caller wrote stay line
// breaks; quotes and other backslashes are escaped.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += "\\n";
      ++i;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string NodeId(const ir::Node& n) { return Quote(absl::StrCat("%", n.name())); }

std::string NodeStatement(const ir::Node& n, const NodeDecision* d) {
  std::string label = absl::StrFormat("%%%s = %s\\n%s", n.name(), n.op(), n.type().ToString());
  std::string style;
  if (d == nullptr) {
    absl::StrAppend(&label, "\\n(no plan entry)");
    style = "style=dashed, color=grey50, fontcolor=grey50";
  } else if (d->decision == Decision::kFallback) {
    absl::StrAppendFormat(&label, "\\nfallback (rule %d: %s)", static_cast<int>(d->rule),
                          RuleName(d->rule));
    style = "style=filled, fillcolor=\"#e06666\", color=\"#990000\", penwidth=2";
  } else if (d->decision == Decision::kLibrary) {
    absl::StrAppend(&label, "\\nlibrary");
    style = "style=filled, fillcolor=\"#cfe2f3\"";
  } else {
    style = "style=filled, fillcolor=white";
  }
  // A split reduction runs in two kernels from `kernel` on; say so where its
  // plan entry is drawn (the original node, or the split's last stage).
  if (d != nullptr && d->split > 0 && n.name() == d->node) {
    absl::StrAppendFormat(&label, "\\nsplit in two stages (%d partials)", d->split);
  }
  return absl::StrFormat("%s [label=%s, %s];", NodeId(n), Quote(label), style);
}

}  // namespace

std::string PlanToDot(const ir::Graph& graph, const LoweringPlan& plan) {
  std::string out = absl::StrFormat("digraph %s {\n", Quote(graph.name()));
  out += "  rankdir=TB;\n";
  out += "  node [shape=box, fontname=\"monospace\"];\n";
  out += "  edge [color=grey30];\n";

  for (const ir::Node* in : graph.inputs()) {
    absl::StrAppendFormat(&out, "  %s [shape=ellipse, label=%s];\n", NodeId(*in),
                          Quote(absl::StrCat("%", in->name(), "\\n", in->type().ToString())));
  }

  // Kernel clusters in kernel order; nodes without a kernel at top level.
  std::map<int, std::vector<std::string>> clusters;
  std::map<int, bool> cluster_is_fallback;
  for (const ir::Node* n : graph.calls()) {
    const NodeDecision* d = DecisionFor(plan, *n);
    std::string stmt = NodeStatement(*n, d);
    if (d != nullptr && d->kernel >= 0) {
      clusters[d->kernel].push_back(std::move(stmt));
      if (d->decision == Decision::kFallback) cluster_is_fallback[d->kernel] = true;
    } else {
      absl::StrAppend(&out, "  ", stmt, "\n");
    }
  }
  for (const auto& [kernel, stmts] : clusters) {
    const bool fallback = cluster_is_fallback[kernel];
    absl::StrAppendFormat(&out, "  subgraph cluster_k%d {\n", kernel);
    absl::StrAppendFormat(&out, "    label=%s;\n",
                          Quote(absl::StrCat("kernel ", kernel, fallback ? " (fallback)" : "")));
    absl::StrAppendFormat(&out, "    style=%s;\n", fallback ? "\"filled,bold\"" : "rounded");
    if (fallback) out += "    fillcolor=\"#f4cccc\"; color=\"#990000\";\n";
    for (const std::string& s : stmts) absl::StrAppend(&out, "    ", s, "\n");
    out += "  }\n";
  }

  auto is_fallback = [&plan](const ir::Node& n) {
    if (!n.is_call()) return false;
    const NodeDecision* d = DecisionFor(plan, n);
    return d != nullptr && d->decision == Decision::kFallback;
  };
  for (const ir::Node* n : graph.calls()) {
    for (int i = 0; i < n->num_operands(); ++i) {
      const ir::Node* src = n->operand_node(i);
      if (src == nullptr) continue;
      const bool boundary = is_fallback(*src) || is_fallback(*n);
      absl::StrAppendFormat(&out, "  %s -> %s%s;\n", NodeId(*src), NodeId(*n),
                            boundary ? " [color=\"#990000\", penwidth=2]" : "");
    }
  }
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    const ir::Node* o = graph.outputs()[i];
    absl::StrAppendFormat(&out, "  \"return#%d\" [shape=doublecircle, label=%s];\n", i,
                          Quote(absl::StrCat("return #", i)));
    absl::StrAppendFormat(&out, "  %s -> \"return#%d\"%s;\n", NodeId(*o), i,
                          is_fallback(*o) ? " [color=\"#990000\", penwidth=2]" : "");
  }
  out += "}\n";
  return out;
}

}  // namespace sluice::passes
