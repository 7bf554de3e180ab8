#include "passes/lowering_plan.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sluice::passes {

absl::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kLower:
      return "lower";
    case Decision::kLibrary:
      return "library";
    case Decision::kFallback:
      return "fallback";
  }
  return "unknown";
}

absl::string_view RuleName(Rule r) {
  switch (r) {
    case Rule::kMetaFallback:
      return "meta.should_fallback=true";
    case Rule::kMetaLower:
      return "meta.should_fallback=false";
    case Rule::kFallbackNode:
      return "fallback_nodes";
    case Rule::kFallbackOp:
      return "fallback_ops";
    case Rule::kNoLowering:
      return "no_lowering";
    case Rule::kLoweringError:
      return "lowering_error";
    case Rule::kDefault:
      return "default";
  }
  return "unknown";
}

bool IsLowered(Decision d) { return d == Decision::kLower || d == Decision::kLibrary; }

const NodeDecision* DecisionFor(const LoweringPlan& plan, const ir::Node& node) {
  const ir::AttrValue* from = node.meta().Find(kDecomposedFromKey);
  if (from != nullptr && from->is_string()) {
    if (const NodeDecision* e = plan.Find(from->as_string())) return e;
  }
  return plan.Find(node.name());
}

const NodeDecision* LoweringPlan::Find(absl::string_view node) const {
  for (const NodeDecision& e : entries) {
    if (e.node == node) return &e;
  }
  return nullptr;
}

NodeDecision* LoweringPlan::FindMutable(absl::string_view node) {
  for (NodeDecision& e : entries) {
    if (e.node == node) return &e;
  }
  return nullptr;
}

bool LoweringPlan::IsFallback(absl::string_view node) const {
  const NodeDecision* e = Find(node);
  return e != nullptr && e->decision == Decision::kFallback;
}

std::vector<std::string> LoweringPlan::NodesWith(Decision d) const {
  std::vector<std::string> names;
  for (const NodeDecision& e : entries) {
    if (e.decision == d) names.push_back(e.node);
  }
  return names;
}

namespace {

// "1:meta.should_fallback=true": the number is what DESIGN §3 and error
// messages cite, the name what a reader understands.
std::string RuleCell(Rule r) { return absl::StrCat(static_cast<int>(r), ":", RuleName(r)); }

std::string KernelCell(int kernel) { return kernel < 0 ? "-" : absl::StrCat(kernel); }

}  // namespace

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string LoweringPlan::ToTable() const {
  const std::vector<std::string> header = {"node", "op", "decision", "rule", "kernel"};
  std::vector<std::vector<std::string>> rows;
  rows.push_back(header);
  for (const NodeDecision& e : entries) {
    std::string kernel = KernelCell(e.kernel);
    if (!e.fused_pattern.empty()) absl::StrAppend(&kernel, " (", e.fused_pattern, ")");
    if (e.split > 0) absl::StrAppend(&kernel, " (split ", e.split, ")");
    rows.push_back({e.node, e.op, std::string(DecisionName(e.decision)), RuleCell(e.rule),
                    std::move(kernel)});
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  if (!warnings.empty()) {
    out += "warnings:\n";
    for (const std::string& w : warnings) absl::StrAppend(&out, "  ", w, "\n");
  }
  return out;
}

std::string LoweringPlan::ToJson() const {
  std::string out = "{\"graph\":";
  AppendJsonString(&out, graph_name);
  out += ",\"backend\":";
  AppendJsonString(&out, backend);
  out += ",\"nodes\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    const NodeDecision& e = entries[i];
    if (i > 0) out += ",";
    out += "{\"name\":";
    AppendJsonString(&out, e.node);
    out += ",\"op\":";
    AppendJsonString(&out, e.op);
    out += ",\"decision\":";
    AppendJsonString(&out, DecisionName(e.decision));
    out += ",\"rule\":";
    AppendJsonString(&out, RuleName(e.rule));
    absl::StrAppend(&out, ",\"rule_id\":", static_cast<int>(e.rule));
    out += ",\"detail\":";
    AppendJsonString(&out, e.detail);
    out += ",\"kernel\":";
    out += e.kernel < 0 ? "null" : absl::StrCat(e.kernel);
    if (!e.fused_pattern.empty()) {
      out += ",\"fused\":";
      AppendJsonString(&out, e.fused_pattern);
    }
    if (e.split > 0) absl::StrAppend(&out, ",\"split\":", e.split);
    out += "}";
  }
  out += "],\"warnings\":[";
  for (size_t i = 0; i < warnings.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(&out, warnings[i]);
  }
  out += "]}";
  return out;
}

}  // namespace sluice::passes
