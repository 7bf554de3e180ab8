// Expanding call nodes into the subgraphs they become, for passes that
// rewrite one node into several: decompose (a composite into primitives) and
// split-reduction (a long reduction into two stages). ir::Graph only appends,
// so ExpandNodes rebuilds the graph in order with each expanded node's
// subgraph where the node was; everything else is copied unchanged.
//
// Every node an expansion emits carries the metadata the pass gives it and
// the original's location; the last one (EmitFinal) takes the original's
// name and must have its type, so users and graph outputs keep theirs.
// Intermediate names are `<original>_<hint>`, made unique.
#ifndef SLUICE_PASSES_EXPAND_H_
#define SLUICE_PASSES_EXPAND_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"

namespace sluice::passes {

// The dtype f16/bf16 work computes in, as PyTorch's kernels and the code
// generators do: f32 for f16/bf16, else `d` itself.
ir::DType ComputeType(ir::DType d);

// Adds the nodes one original node becomes to the graph being rebuilt. Errors
// are sticky (like ir::GraphBuilder): after the first, every call returns
// null and status() has it, so expansions read straight through.
class Expansion {
 public:
  // `verb` names the pass in errors ("decomposing", "splitting").
  Expansion(ir::Graph* graph, const ir::Node& original, ir::AttrDict meta, absl::string_view verb,
            absl::flat_hash_set<std::string>* taken);

  const absl::Status& status() const { return status_; }
  const ir::Node& original() const { return original_; }
  ir::DType out_type() const { return original_.dtype(); }
  ir::DType compute_type() const { return ComputeType(original_.dtype()); }

  // An intermediate node named `<original>_<hint>`.
  ir::Node* Emit(absl::string_view op, std::vector<ir::Operand> operands, ir::AttrDict attrs,
                 absl::string_view hint);
  // The node that replaces the original: it takes the original's name.
  ir::Node* EmitFinal(absl::string_view op, std::vector<ir::Operand> operands,
                      ir::AttrDict attrs = {});
  // The last op of an expansion computed in compute_type(): named as the
  // original, or followed by the cast back to the original's dtype.
  ir::Node* Finish(absl::string_view op, std::vector<ir::Operand> operands, absl::string_view hint,
                   ir::AttrDict attrs = {});
  // `x` converted to the compute type (x itself when it already is).
  ir::Node* ToCompute(ir::Node* x);

  ir::Node* Unary(absl::string_view op, ir::Node* x, absl::string_view hint) {
    return Emit(op, {x}, {}, hint);
  }
  ir::Node* Binary(absl::string_view op, ir::Operand a, ir::Operand b, absl::string_view hint) {
    return Emit(op, {a, b}, {}, hint);
  }
  ir::Node* Reduce(absl::string_view op, ir::Node* x, const std::vector<int64_t>& dims,
                   bool keepdim, absl::string_view hint);

  static ir::AttrDict Attrs(std::vector<std::pair<std::string, ir::AttrValue>> kvs);

 private:
  std::string FreshName(absl::string_view hint) const;
  ir::Node* Add(absl::string_view op, std::vector<ir::Operand> operands, ir::AttrDict attrs,
                std::string name);

  ir::Graph* graph_;
  const ir::Node& original_;
  ir::AttrDict meta_;
  std::string verb_;
  absl::flat_hash_set<std::string>* taken_;
  absl::Status status_;
};

// What a pass emits for one node: `args` are the node's operands in the
// rebuilt graph (null for literals).
using ExpandFn = std::function<void(Expansion& e, const std::vector<ir::Node*>& args)>;
// The metadata every node emitted for `original` carries.
using ExpansionMetaFn = std::function<ir::AttrDict(const ir::Node& original)>;

// Rebuilds `graph` with every node of `todo` replaced by what `expand` emits
// for it. Internal error when an expansion fails or does not end in a node
// of the original's name and type.
absl::Status ExpandNodes(ir::Graph* graph, const absl::flat_hash_set<const ir::Node*>& todo,
                         absl::string_view verb, const ExpansionMetaFn& meta,
                         const ExpandFn& expand);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_EXPAND_H_
