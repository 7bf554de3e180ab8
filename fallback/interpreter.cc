#include "fallback/interpreter.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fallback/kernel_registry.h"
#include "ir/location.h"

namespace sluice::fallback {

absl::StatusOr<std::vector<runtime::Tensor>> RunReference(
    const ir::Graph& graph, absl::Span<const runtime::Tensor> inputs) {
  const std::vector<ir::Node*>& params = graph.inputs();
  if (inputs.size() != params.size()) {
    return absl::InvalidArgumentError(absl::StrCat("graph '", graph.name(), "' takes ",
                                                   params.size(), " inputs, got ",
                                                   inputs.size()));
  }
  const std::vector<ir::Node*>& nodes = graph.nodes();
  // values[i] holds node i's value (Node::index() is its position in nodes()).
  std::vector<runtime::Tensor> values(nodes.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const ir::Node* p = params[i];
    const runtime::Tensor& t = inputs[i];
    if (!t.defined()) {
      return absl::InvalidArgumentError(absl::StrCat("graph '", graph.name(), "': input ", i,
                                                     " (%", p->name(), ") is undefined"));
    }
    if (t.type() != p->type()) {
      return absl::InvalidArgumentError(
          absl::StrCat("graph '", graph.name(), "': input ", i, " (%", p->name(), ") is ",
                       t.type().ToString(), ", expected ", p->type().ToString()));
    }
    values[p->index()] = t;
  }

  // Free each value after its last use, unless the graph returns it.
  std::vector<int> last_use(nodes.size(), -1);
  for (const ir::Node* n : nodes) {
    for (const ir::Operand& o : n->operands()) {
      if (!o.is_literal()) last_use[o.node()->index()] = n->index();
    }
  }
  for (const ir::Node* out : graph.outputs()) last_use[out->index()] = static_cast<int>(nodes.size());

  std::vector<runtime::Tensor> args;
  for (const ir::Node* n : nodes) {
    if (!n->is_call()) continue;
    args.assign(n->num_operands(), runtime::Tensor());
    for (int i = 0; i < n->num_operands(); ++i) {
      if (!n->operand(i).is_literal()) args[i] = values[n->operand_node(i)->index()];
    }
    runtime::Tensor result = runtime::Tensor::Zeros(n->type());
    absl::Status status = RunNode(*n, args, result);
    if (!status.ok()) {
      return absl::Status(status.code(),
                          n->location().known()
                              ? ir::FormatDiagnostic(n->location(), status.message())
                              : std::string(status.message()));
    }
    values[n->index()] = std::move(result);
    for (int i = 0; i < n->num_operands(); ++i) {
      if (n->operand(i).is_literal()) continue;
      const int producer = n->operand_node(i)->index();
      if (last_use[producer] == n->index()) values[producer] = runtime::Tensor();
    }
  }

  std::vector<runtime::Tensor> outputs;
  outputs.reserve(graph.outputs().size());
  for (const ir::Node* out : graph.outputs()) outputs.push_back(values[out->index()]);
  return outputs;
}

}  // namespace sluice::fallback
