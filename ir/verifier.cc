#include "ir/verifier.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ir/op_registry.h"

namespace sluice::ir {

absl::Status Verify(const Graph& graph) {
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<const Node*> defined;
  for (const Node* n : graph.nodes()) {
    const Location& loc = n->location();
    if (!names.insert(n->name()).second) {
      return ErrorAt(loc, absl::StrCat("duplicate name '%", n->name(), "'"));
    }
    if (n->is_input()) {
      defined.insert(n);
      continue;
    }
    const OpSchema* schema = OpRegistry::Global().Find(n->op());
    if (schema == nullptr) {
      return ErrorAt(loc, absl::StrCat("'%", n->name(), "': unknown op '", n->op(), "'"));
    }
    std::vector<OperandInfo> infos;
    for (int i = 0; i < n->num_operands(); ++i) {
      const Operand& o = n->operand(i);
      if (o.is_literal()) {
        infos.push_back({TensorType{o.literal().is_int ? DType::kI64 : DType::kF64, Shape()}, true});
        continue;
      }
      if (o.node() == nullptr || !defined.contains(o.node())) {
        return ErrorAt(loc, absl::StrCat("'%", n->name(), "': operand ", i, " ('%",
                                         o.node() ? o.node()->name() : "?",
                                         "') is used before it is defined"));
      }
      infos.push_back({o.node()->type(), false});
    }
    absl::StatusOr<TensorType> type = CheckAndInfer(*schema, infos, n->attrs());
    if (!type.ok()) {
      return ErrorAt(loc, absl::StrCat("'%", n->name(), "' (", n->op(), "): ",
                                       type.status().message()));
    }
    if (*type != n->type()) {
      return ErrorAt(loc, absl::StrCat("'%", n->name(), "' (", n->op(), ") has type ",
                                       n->type().ToString(), " but its operands give ",
                                       type->ToString()));
    }
    defined.insert(n);
  }
  if (graph.outputs().empty()) {
    return ErrorAt(graph.location(),
                   absl::StrCat("graph '", graph.name(), "' has no return value"));
  }
  for (const Node* n : graph.outputs()) {
    if (!defined.contains(n)) {
      return ErrorAt(graph.return_location(), absl::StrCat("returned value '%", n->name(),
                                                           "' is not defined in the graph"));
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice::ir
