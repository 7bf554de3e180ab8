#include "passes/expand.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sluice::passes {

using ir::AttrDict;
using ir::AttrValue;
using ir::DType;
using ir::Node;
using ir::Operand;

DType ComputeType(DType d) { return d == DType::kF16 || d == DType::kBF16 ? DType::kF32 : d; }

Expansion::Expansion(ir::Graph* graph, const Node& original, AttrDict meta, absl::string_view verb,
                     absl::flat_hash_set<std::string>* taken)
    : graph_(graph), original_(original), meta_(std::move(meta)), verb_(verb), taken_(taken) {}

Node* Expansion::Emit(absl::string_view op, std::vector<Operand> operands, AttrDict attrs,
                      absl::string_view hint) {
  return Add(op, std::move(operands), std::move(attrs), FreshName(hint));
}

Node* Expansion::EmitFinal(absl::string_view op, std::vector<Operand> operands, AttrDict attrs) {
  return Add(op, std::move(operands), std::move(attrs), original_.name());
}

Node* Expansion::Finish(absl::string_view op, std::vector<Operand> operands, absl::string_view hint,
                        AttrDict attrs) {
  if (compute_type() == out_type()) return EmitFinal(op, std::move(operands), std::move(attrs));
  Node* v = Emit(op, std::move(operands), std::move(attrs), hint);
  return EmitFinal("cast", {v}, Attrs({{"dtype", out_type()}}));
}

Node* Expansion::ToCompute(Node* x) {
  if (x == nullptr || x->dtype() == compute_type()) return x;
  return Emit("cast", {x}, Attrs({{"dtype", compute_type()}}), "upcast");
}

Node* Expansion::Reduce(absl::string_view op, Node* x, const std::vector<int64_t>& dims,
                        bool keepdim, absl::string_view hint) {
  return Emit(op, {x}, Attrs({{"dims", AttrValue::IntList(dims)}, {"keepdim", keepdim}}), hint);
}

AttrDict Expansion::Attrs(std::vector<std::pair<std::string, AttrValue>> kvs) {
  AttrDict d;
  for (auto& [k, v] : kvs) d.Set(k, std::move(v));
  return d;
}

std::string Expansion::FreshName(absl::string_view hint) const {
  std::string base = absl::StrCat(original_.name(), "_", hint);
  std::string name = base;
  for (int i = 1; taken_->contains(name); ++i) name = absl::StrCat(base, "_", i);
  return name;
}

Node* Expansion::Add(absl::string_view op, std::vector<Operand> operands, AttrDict attrs,
                     std::string name) {
  if (!status_.ok()) return nullptr;
  ir::CallSpec spec;
  spec.op = std::string(op);
  spec.operands = std::move(operands);
  spec.attrs = std::move(attrs);
  spec.meta = meta_;
  spec.name = name;
  spec.location = original_.location();
  absl::StatusOr<Node*> n = graph_->AddCall(std::move(spec));
  if (!n.ok()) {
    status_ = absl::InternalError(absl::StrFormat("%s %%%s (%s): emitting %s failed: %s", verb_,
                                                  original_.name(), original_.op(), op,
                                                  n.status().message()));
    return nullptr;
  }
  taken_->insert(std::move(name));
  return *n;
}

absl::Status ExpandNodes(ir::Graph* graph, const absl::flat_hash_set<const Node*>& todo,
                         absl::string_view verb, const ExpansionMetaFn& meta,
                         const ExpandFn& expand) {
  ir::Graph out(graph->name());
  out.set_location(graph->location());
  absl::flat_hash_set<std::string> taken;
  for (const Node* n : graph->nodes()) taken.insert(n->name());
  absl::flat_hash_map<const Node*, Node*> map;
  auto mapped = [&map](const Operand& o) -> Operand {
    return o.is_literal() ? o : Operand(map.at(o.node()));
  };

  for (const Node* n : graph->nodes()) {
    if (n->is_input()) {
      absl::StatusOr<Node*> in = out.AddInput(n->name(), n->type(), n->location());
      if (!in.ok()) return in.status();
      map[n] = *in;
      continue;
    }
    if (!todo.contains(n)) {
      ir::CallSpec spec;
      spec.op = n->op();
      for (const Operand& o : n->operands()) spec.operands.push_back(mapped(o));
      spec.attrs = n->attrs();
      spec.meta = n->meta();
      spec.name = n->name();
      spec.location = n->location();
      absl::StatusOr<Node*> copy = out.AddCall(std::move(spec));
      if (!copy.ok()) return copy.status();
      map[n] = *copy;
      continue;
    }
    Expansion e(&out, *n, meta(*n), verb, &taken);
    std::vector<Node*> args;
    for (const Operand& o : n->operands()) args.push_back(mapped(o).node());
    expand(e, args);
    if (!e.status().ok()) return e.status();
    Node* result = out.FindNode(n->name());
    if (result == nullptr || result->type() != n->type()) {
      return absl::InternalError(absl::StrFormat(
          "%s %%%s (%s) produced %s instead of %s", verb, n->name(), n->op(),
          result == nullptr ? "nothing" : result->type().ToString(), n->type().ToString()));
    }
    map[n] = result;
  }
  std::vector<Node*> outputs;
  for (const Node* o : graph->outputs()) outputs.push_back(map.at(o));
  if (absl::Status s = out.SetOutputs(std::move(outputs), graph->return_location()); !s.ok()) {
    return s;
  }
  *graph = std::move(out);
  return absl::OkStatus();
}

}  // namespace sluice::passes
