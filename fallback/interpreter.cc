#include "fallback/interpreter.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fallback/kernel_registry.h"
#include "ir/dtype.h"
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

  // Storage of intermediates past their last use, by size, for later
  // intermediates: a chain of elementwise ops then cycles through two
  // buffers instead of allocating (and faulting in) one per node. Graph
  // outputs always get storage of their own, and graph inputs are never
  // reused (they are the caller's). Kernels write every output element, so
  // a reused buffer's old contents never show.
  absl::flat_hash_map<int64_t, std::vector<runtime::Tensor>> free_buffers;
  // The owning tensor behind a value that borrows a reused buffer.
  std::vector<runtime::Tensor> owners(nodes.size());
  const int returned = static_cast<int>(nodes.size());

  std::vector<runtime::Tensor> args;
  for (const ir::Node* n : nodes) {
    if (!n->is_call()) continue;
    args.assign(n->num_operands(), runtime::Tensor());
    for (int i = 0; i < n->num_operands(); ++i) {
      if (!n->operand(i).is_literal()) args[i] = values[n->operand_node(i)->index()];
    }
    runtime::Tensor result;
    const int64_t nbytes = n->shape().num_elements() * ir::DTypeSize(n->dtype());
    if (last_use[n->index()] != returned && nbytes > 0) {
      auto it = free_buffers.find(nbytes);
      if (it != free_buffers.end() && !it->second.empty()) {
        owners[n->index()] = std::move(it->second.back());
        it->second.pop_back();
        result = runtime::Tensor::Borrow(n->dtype(), n->shape(), owners[n->index()].data());
      }
    }
    if (!result.defined()) {
      absl::StatusOr<runtime::Tensor> fresh = runtime::Tensor::TryZeros(n->type());
      if (!fresh.ok()) {
        const std::string msg = absl::StrCat("%", n->name(), ": ", fresh.status().message());
        return absl::Status(fresh.status().code(),
                            n->location().known() ? ir::FormatDiagnostic(n->location(), msg)
                                                  : msg);
      }
      result = *std::move(fresh);
    }
    absl::Status status = RunNode(*n, args, result);
    if (!status.ok()) {
      return absl::Status(status.code(),
                          n->location().known()
                              ? ir::FormatDiagnostic(n->location(), status.message())
                              : std::string(status.message()));
    }
    values[n->index()] = std::move(result);
    auto release = [&](const ir::Node* producer) {
      const int p = producer->index();
      if (producer->is_call() && values[p].nbytes() > 0) {
        runtime::Tensor& owner = owners[p].defined() ? owners[p] : values[p];
        free_buffers[values[p].nbytes()].push_back(std::move(owner));
      }
      values[p] = runtime::Tensor();
      owners[p] = runtime::Tensor();
    };
    for (int i = 0; i < n->num_operands(); ++i) {
      if (n->operand(i).is_literal()) continue;
      const ir::Node* producer = n->operand_node(i);
      const int p = producer->index();
      if (last_use[p] == n->index() && values[p].defined()) release(producer);
    }
    if (last_use[n->index()] < 0) release(n);  // Nobody reads it.
  }

  std::vector<runtime::Tensor> outputs;
  outputs.reserve(graph.outputs().size());
  for (const ir::Node* out : graph.outputs()) outputs.push_back(values[out->index()]);
  return outputs;
}

}  // namespace sluice::fallback
