#include "ir/printer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice::ir {

std::string PrintGraph(const Graph& graph) {
  std::vector<std::string> params;
  for (const Node* in : graph.inputs()) params.push_back(in->ToString());
  std::string out =
      absl::StrCat("graph ", graph.name(), "(", absl::StrJoin(params, ", "), ") {\n");
  for (const Node* n : graph.calls()) absl::StrAppend(&out, "  ", n->ToString(), "\n");
  std::vector<std::string> rets;
  for (const Node* n : graph.outputs()) rets.push_back(absl::StrCat("%", n->name()));
  absl::StrAppend(&out, "  return ", absl::StrJoin(rets, ", "), "\n}\n");
  return out;
}

std::string PrintModule(const std::vector<Graph>& graphs) {
  std::vector<std::string> parts;
  for (const Graph& g : graphs) parts.push_back(PrintGraph(g));
  return absl::StrJoin(parts, "\n");
}

}  // namespace sluice::ir
