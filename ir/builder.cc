#include "ir/builder.h"

#include "absl/strings/str_cat.h"
#include "ir/verifier.h"

namespace sluice::ir {

GraphBuilder::GraphBuilder(std::string graph_name) : graph_(std::move(graph_name)) {}

Node* GraphBuilder::Input(absl::string_view name, TensorType type) {
  if (!status_.ok()) return nullptr;
  absl::StatusOr<Node*> n = graph_.AddInput(name, std::move(type));
  if (!n.ok()) {
    status_ = n.status();
    return nullptr;
  }
  return *n;
}

Node* GraphBuilder::Call(absl::string_view op, std::vector<Operand> operands,
                         const KeyValues& attrs, const KeyValues& meta, absl::string_view name) {
  CallSpec spec;
  spec.op = std::string(op);
  spec.operands = std::move(operands);
  for (const auto& [k, v] : attrs) spec.attrs.Set(k, v);
  for (const auto& [k, v] : meta) spec.meta.Set(k, v);
  spec.name = std::string(name);
  return Add(std::move(spec));
}

Node* GraphBuilder::Add(CallSpec spec) {
  if (!status_.ok()) return nullptr;
  for (const Operand& o : spec.operands) {
    if (!o.is_literal() && o.node() == nullptr) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("error: ", spec.op, ": an operand is null (an earlier call failed?)"));
      return nullptr;
    }
  }
  absl::StatusOr<Node*> n = graph_.AddCall(std::move(spec));
  if (!n.ok()) {
    status_ = n.status();
    return nullptr;
  }
  return *n;
}

void GraphBuilder::Return(std::vector<Node*> outputs) {
  if (!status_.ok()) return;
  status_ = graph_.SetOutputs(std::move(outputs));
  returned_ = status_.ok();
}

absl::StatusOr<Graph> GraphBuilder::Build() {
  if (!status_.ok()) return status_;
  if (!returned_) return absl::InvalidArgumentError("error: graph has no return (call Return)");
  if (absl::Status s = Verify(graph_); !s.ok()) return s;
  return std::move(graph_);
}

}  // namespace sluice::ir
