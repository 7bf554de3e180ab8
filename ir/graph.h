// The sluice graph: inputs, call nodes in topological order, returned values.
//
// A Graph owns its nodes; Node pointers stay valid for the graph's lifetime
// (and across moves of the Graph). Every node produces exactly one value,
// named by the node. Passes that restructure a graph usually build a new one
// with GraphBuilder (ir/builder.h) and move it over the old.
#ifndef SLUICE_IR_GRAPH_H_
#define SLUICE_IR_GRAPH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/attribute.h"
#include "ir/location.h"
#include "ir/shape.h"

namespace sluice::ir {

class Node;
struct OpSchema;

// A scalar literal operand, as in `mul(%a, 2.0)`. Keeps whether it was
// written as an int, since int and float literals promote differently.
struct Scalar {
  double value = 0;
  bool is_int = false;

  static Scalar Int(int64_t v) { return {static_cast<double>(v), true}; }
  static Scalar Float(double v) { return {v, false}; }
  std::string ToString() const;
  bool operator==(const Scalar& o) const {
    return is_int == o.is_int && (value == o.value || (value != value && o.value != o.value));
  }
};

// One operand: a value (a node) or a scalar literal.
class Operand {
 public:
  // A null node makes an operand that is neither a value nor a literal;
  // AddCall and the builder reject it.
  Operand(Node* node) : node_(node), is_literal_(false) {}  // NOLINT
  Operand(Scalar s) : literal_(s), is_literal_(true) {}      // NOLINT

  bool is_literal() const { return is_literal_; }
  Node* node() const { return node_; }
  const Scalar& literal() const { return literal_; }

 private:
  Node* node_ = nullptr;
  Scalar literal_;
  bool is_literal_ = false;
};

class Node {
 public:
  enum class Kind { kInput, kCall };

  Kind kind() const { return kind_; }
  bool is_input() const { return kind_ == Kind::kInput; }
  bool is_call() const { return kind_ == Kind::kCall; }

  // The value's name without '%'.
  const std::string& name() const { return name_; }
  // Op name for call nodes ("add"); empty for inputs.
  const std::string& op() const { return op_; }
  // The registered schema of a call node; null for inputs.
  const OpSchema* schema() const { return schema_; }

  const std::vector<Operand>& operands() const { return operands_; }
  int num_operands() const { return static_cast<int>(operands_.size()); }
  const Operand& operand(int i) const { return operands_[i]; }
  // The node of operand i (null when it is a literal).
  Node* operand_node(int i) const { return operands_[i].node(); }

  const AttrDict& attrs() const { return attrs_; }
  // An attribute, or the schema's default when absent; null when neither.
  const AttrValue* attr(absl::string_view name) const;
  int64_t attr_int(absl::string_view name) const;
  double attr_float(absl::string_view name) const;
  bool attr_bool(absl::string_view name) const;
  std::string attr_string(absl::string_view name) const;
  DType attr_dtype(absl::string_view name) const;
  std::vector<int64_t> attr_ints(absl::string_view name) const;

  const AttrDict& meta() const { return meta_; }
  AttrDict& mutable_meta() { return meta_; }

  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }

  const Location& location() const { return location_; }
  // Position in the graph (inputs first, then call nodes); refreshed by Graph.
  int index() const { return index_; }

  // `%a: f32[10] = add(%x, %y) {should_fallback = true}` (no indentation).
  std::string ToString() const;

 private:
  friend class Graph;
  Kind kind_ = Kind::kCall;
  std::string name_;
  std::string op_;
  const OpSchema* schema_ = nullptr;
  std::vector<Operand> operands_;
  AttrDict attrs_;
  AttrDict meta_;
  TensorType type_;
  Location location_;
  int index_ = -1;
};

// Everything needed to add a call node; see Graph::AddCall.
struct CallSpec {
  std::string op;
  std::vector<Operand> operands;
  AttrDict attrs;
  AttrDict meta;
  std::string name;  // empty: a fresh name is made up
  Location location;
  // When set, the inferred type must equal it (the text's annotation).
  std::optional<TensorType> declared_type;
};

class Graph {
 public:
  explicit Graph(std::string name = "main") : name_(std::move(name)) {}
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  const Location& location() const { return location_; }
  void set_location(Location loc) { location_ = std::move(loc); }

  // Adds a graph input. Error if the name is taken.
  absl::StatusOr<Node*> AddInput(absl::string_view name, TensorType type,
                                 Location loc = {});
  // Appends a call node after checking it against the op registry (known op,
  // operand count, attributes) and inferring its type. Errors carry the
  // spec's location.
  absl::StatusOr<Node*> AddCall(CallSpec spec);

  absl::Status SetOutputs(std::vector<Node*> outputs, Location loc = {});

  const std::vector<Node*>& inputs() const { return inputs_; }
  // Call nodes in topological order.
  std::vector<Node*> calls() const;
  // All nodes: inputs first, then calls.
  const std::vector<Node*>& nodes() const { return order_; }
  const std::vector<Node*>& outputs() const { return outputs_; }
  bool IsOutput(const Node* node) const;
  const Location& return_location() const { return return_location_; }

  Node* FindNode(absl::string_view name) const;
  // Users of each node, in topological order (a user appears once per use).
  absl::flat_hash_map<const Node*, std::vector<Node*>> ComputeUsers() const;

  // Replaces every use of `from` (operands and outputs) with `to`.
  void ReplaceAllUsesWith(Node* from, Node* to);
  // Removes call nodes for which `pred` is true. They must have no users left
  // outside the removed set and must not be outputs.
  absl::Status RemoveCalls(const std::function<bool(const Node*)>& pred);

  // A deep copy with identical names, attributes, metadata and locations.
  Graph Clone() const;

  // A name not used in the graph, built from `hint`.
  std::string FreshName(absl::string_view hint = "t");

 private:
  void Reindex();

  std::string name_;
  Location location_;
  Location return_location_;
  std::vector<std::unique_ptr<Node>> storage_;
  std::vector<Node*> order_;
  std::vector<Node*> inputs_;
  std::vector<Node*> outputs_;
  absl::flat_hash_map<std::string, Node*> by_name_;
  int fresh_counter_ = 0;
};

}  // namespace sluice::ir

#endif  // SLUICE_IR_GRAPH_H_
