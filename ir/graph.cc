#include "ir/graph.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/attribute.h"
#include "ir/op_registry.h"

namespace sluice::ir {

std::string Scalar::ToString() const {
  if (is_int) return absl::StrCat(static_cast<int64_t>(value));
  return FormatDouble(value);
}

const AttrValue* Node::attr(absl::string_view name) const {
  if (const AttrValue* v = attrs_.Find(name)) return v;
  if (schema_ != nullptr) {
    if (const AttrSpec* spec = schema_->FindAttr(name); spec && spec->default_value) {
      return &*spec->default_value;
    }
  }
  return nullptr;
}

namespace {
const AttrValue& RequireAttr(const Node& n, absl::string_view name) {
  const AttrValue* v = n.attr(name);
  if (v == nullptr) {
    // Verified graphs always have required attributes; reaching here is a bug.
    fprintf(stderr, "internal error: node %%%s (%s) has no attribute '%s'\n", n.name().c_str(),
            n.op().c_str(), std::string(name).c_str());
    abort();
  }
  return *v;
}
}  // namespace

int64_t Node::attr_int(absl::string_view name) const { return RequireAttr(*this, name).as_int(); }
double Node::attr_float(absl::string_view name) const {
  return RequireAttr(*this, name).as_float();
}
bool Node::attr_bool(absl::string_view name) const { return RequireAttr(*this, name).as_bool(); }
std::string Node::attr_string(absl::string_view name) const {
  return RequireAttr(*this, name).as_string();
}
DType Node::attr_dtype(absl::string_view name) const {
  return RequireAttr(*this, name).as_dtype();
}
std::vector<int64_t> Node::attr_ints(absl::string_view name) const {
  return RequireAttr(*this, name).as_int_list();
}

std::string Node::ToString() const {
  if (is_input()) return absl::StrCat("%", name_, ": ", type_.ToString());
  std::vector<std::string> args;
  for (const Operand& o : operands_) {
    args.push_back(o.is_literal() ? o.literal().ToString() : absl::StrCat("%", o.node()->name()));
  }
  for (const auto& [k, v] : attrs_) args.push_back(absl::StrCat(k, " = ", v.ToString()));
  std::string s = absl::StrCat("%", name_, ": ", type_.ToString(), " = ", op_, "(",
                               absl::StrJoin(args, ", "), ")");
  if (!meta_.empty()) absl::StrAppend(&s, " ", meta_.ToString());
  return s;
}

absl::StatusOr<Node*> Graph::AddInput(absl::string_view name, TensorType type, Location loc) {
  if (by_name_.contains(name)) {
    return ErrorAt(loc, absl::StrCat("duplicate name '%", name, "'"));
  }
  if (!calls().empty()) {
    return ErrorAt(loc, "graph inputs must be added before call nodes");
  }
  for (int64_t d : type.shape.dims()) {
    if (d < 0) return ErrorAt(loc, absl::StrCat("negative dimension in ", type.ToString()));
  }
  if (!type.shape.HasValidSize()) {
    return ErrorAt(loc, absl::StrCat(type.ToString(), " has too many elements (at most ",
                                     kMaxElements, ")"));
  }
  auto node = std::make_unique<Node>();
  node->kind_ = Node::Kind::kInput;
  node->name_ = std::string(name);
  node->type_ = std::move(type);
  node->location_ = std::move(loc);
  Node* raw = node.get();
  storage_.push_back(std::move(node));
  order_.push_back(raw);
  inputs_.push_back(raw);
  by_name_[raw->name_] = raw;
  raw->index_ = static_cast<int>(order_.size()) - 1;
  return raw;
}

absl::StatusOr<Node*> Graph::AddCall(CallSpec spec) {
  const Location& loc = spec.location;
  const OpSchema* schema = OpRegistry::Global().Find(spec.op);
  if (schema == nullptr) return ErrorAt(loc, absl::StrCat("unknown op '", spec.op, "'"));
  if (spec.name.empty()) spec.name = FreshName();
  if (by_name_.contains(spec.name)) {
    return ErrorAt(loc, absl::StrCat("duplicate name '%", spec.name, "'"));
  }
  std::vector<OperandInfo> infos;
  for (const Operand& o : spec.operands) {
    if (o.is_literal()) {
      infos.push_back({TensorType{o.literal().is_int ? DType::kI64 : DType::kF64, Shape()}, true});
      continue;
    }
    if (o.node() == nullptr) return ErrorAt(loc, "an operand is null");
    auto it = by_name_.find(o.node()->name());
    if (it == by_name_.end() || it->second != o.node()) {
      return ErrorAt(loc, absl::StrCat("operand '%", o.node()->name(),
                                       "' is not defined before its use in this graph"));
    }
    infos.push_back({o.node()->type(), false});
  }
  absl::StatusOr<TensorType> type = CheckAndInfer(*schema, infos, spec.attrs);
  if (!type.ok()) {
    return ErrorAt(loc, absl::StrCat(spec.op, ": ", type.status().message()));
  }
  if (!type->shape.HasValidSize()) {
    return ErrorAt(loc, absl::StrCat(spec.op, ": the result ", type->ToString(),
                                     " has too many elements (at most ", kMaxElements, ")"));
  }
  if (spec.declared_type && *spec.declared_type != *type) {
    return ErrorAt(loc, absl::StrCat("declared type ", spec.declared_type->ToString(),
                                     " of '%", spec.name, "' does not match the inferred type ",
                                     type->ToString()));
  }
  auto node = std::make_unique<Node>();
  node->kind_ = Node::Kind::kCall;
  node->name_ = std::move(spec.name);
  node->op_ = std::move(spec.op);
  node->schema_ = schema;
  node->operands_ = std::move(spec.operands);
  node->attrs_ = std::move(spec.attrs);
  node->meta_ = std::move(spec.meta);
  node->type_ = *std::move(type);
  node->location_ = std::move(spec.location);
  Node* raw = node.get();
  storage_.push_back(std::move(node));
  order_.push_back(raw);
  by_name_[raw->name_] = raw;
  raw->index_ = static_cast<int>(order_.size()) - 1;
  return raw;
}

absl::Status Graph::SetOutputs(std::vector<Node*> outputs, Location loc) {
  if (outputs.empty()) return ErrorAt(loc, "a graph must return at least one value");
  for (Node* n : outputs) {
    if (n == nullptr) return ErrorAt(loc, "return of a null value");
    auto it = by_name_.find(n->name());
    if (it == by_name_.end() || it->second != n) {
      return ErrorAt(loc, absl::StrCat("returned value '%", n->name(), "' is not defined"));
    }
  }
  outputs_ = std::move(outputs);
  return_location_ = std::move(loc);
  return absl::OkStatus();
}

std::vector<Node*> Graph::calls() const {
  return std::vector<Node*>(order_.begin() + inputs_.size(), order_.end());
}

bool Graph::IsOutput(const Node* node) const {
  for (const Node* n : outputs_) {
    if (n == node) return true;
  }
  return false;
}

Node* Graph::FindNode(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

absl::flat_hash_map<const Node*, std::vector<Node*>> Graph::ComputeUsers() const {
  absl::flat_hash_map<const Node*, std::vector<Node*>> users;
  for (Node* n : order_) {
    users[n];  // every node has an entry
    for (const Operand& o : n->operands_) {
      if (!o.is_literal()) users[o.node()].push_back(n);
    }
  }
  return users;
}

void Graph::ReplaceAllUsesWith(Node* from, Node* to) {
  for (Node* n : order_) {
    for (Operand& o : n->operands_) {
      if (o.node() == from) o = Operand(to);
    }
  }
  for (Node*& n : outputs_) {
    if (n == from) n = to;
  }
}

absl::Status Graph::RemoveCalls(const std::function<bool(const Node*)>& pred) {
  absl::flat_hash_set<const Node*> removed;
  for (Node* n : order_) {
    if (n->is_call() && pred(n)) removed.insert(n);
  }
  if (removed.empty()) return absl::OkStatus();
  for (Node* n : order_) {
    if (removed.contains(n)) continue;
    for (const Operand& o : n->operands_) {
      if (!o.is_literal() && removed.contains(o.node())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot remove '%", o.node()->name(), "': still used by '%", n->name(), "'"));
      }
    }
  }
  for (const Node* n : outputs_) {
    if (removed.contains(n)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot remove '%", n->name(), "': it is returned"));
    }
  }
  std::vector<Node*> order;
  for (Node* n : order_) {
    if (removed.contains(n)) {
      by_name_.erase(n->name());
    } else {
      order.push_back(n);
    }
  }
  order_ = std::move(order);
  std::vector<std::unique_ptr<Node>> storage;
  for (auto& n : storage_) {
    if (!removed.contains(n.get())) storage.push_back(std::move(n));
  }
  storage_ = std::move(storage);
  Reindex();
  return absl::OkStatus();
}

Graph Graph::Clone() const {
  Graph g(name_);
  g.location_ = location_;
  g.return_location_ = return_location_;
  g.fresh_counter_ = fresh_counter_;
  absl::flat_hash_map<const Node*, Node*> map;
  for (const Node* n : order_) {
    auto copy = std::make_unique<Node>(*n);
    for (Operand& o : copy->operands_) {
      if (!o.is_literal()) o = Operand(map.at(o.node()));
    }
    Node* raw = copy.get();
    map[n] = raw;
    g.storage_.push_back(std::move(copy));
    g.order_.push_back(raw);
    if (raw->is_input()) g.inputs_.push_back(raw);
    g.by_name_[raw->name_] = raw;
  }
  for (const Node* n : outputs_) g.outputs_.push_back(map.at(n));
  return g;
}

std::string Graph::FreshName(absl::string_view hint) {
  while (true) {
    std::string name = absl::StrCat(hint, fresh_counter_++);
    if (!by_name_.contains(name)) return name;
  }
}

void Graph::Reindex() {
  for (size_t i = 0; i < order_.size(); ++i) order_[i]->index_ = static_cast<int>(i);
}

}  // namespace sluice::ir
