#include "passes/fuse.h"

#include <algorithm>
#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "ir/op_registry.h"
#include "passes/matmul_epilogue.h"

namespace sluice::passes {

absl::string_view StepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kKernel:
      return "kernel";
    case StepKind::kLibrary:
      return "library";
    case StepKind::kFallback:
      return "fallback";
  }
  return "unknown";
}

bool Step::Contains(const ir::Node* node) const {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

int Schedule::num_kernels() const {
  int n = 0;
  for (const Step& s : steps) n += s.kind == StepKind::kKernel;
  return n;
}

std::string Schedule::ToString() const {
  std::string out;
  auto names = [](const std::vector<const ir::Node*>& v) {
    return absl::StrJoin(v, ", ", [](std::string* o, const ir::Node* n) { o->append(n->name()); });
  };
  for (const Step& s : steps) {
    absl::StrAppend(&out, "step ", s.id, " ", StepKindName(s.kind), " [", names(s.nodes),
                    "] reads (", names(s.inputs), ") writes (", names(s.outputs), ")\n");
  }
  return out;
}

std::string OriginalNodeName(const ir::Node& node) {
  const ir::AttrValue* v = node.meta().Find(kDecomposedFromKey);
  if (v != nullptr && v->is_string()) {
    return v->as_string();
  }
  return node.name();
}

namespace {

using ir::Node;

enum class Cls { kLowered, kLibrary, kFallback, kPattern };

bool IsReduction(const Node& n) { return n.schema()->kind == ir::OpKind::kReduction; }

std::vector<int> ReducedDims(const Node& n) {
  const int rank = n.operand_node(0)->shape().rank();
  std::vector<int> dims;
  if (n.op() == "argmax") {
    if (rank > 0) {
      absl::StatusOr<int> d = ir::NormalizeDim(n.attr_int("dim"), rank);
      if (d.ok()) dims.push_back(*d);
    }
    return dims;
  }
  const std::vector<int64_t> raw = n.attr_ints("dims");
  if (raw.empty()) {
    for (int i = 0; i < rank; ++i) dims.push_back(i);
  }
  for (int64_t d : raw) {
    absl::StatusOr<int> nd = ir::NormalizeDim(d, rank);
    if (nd.ok() && rank > 0) dims.push_back(*nd);
  }
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

// The iteration space of a kernel: pointwise over `shape`, or rows of a
// reduction of an input of `shape` over `dims`.
struct Sig {
  bool reduction = false;
  ir::Shape shape;
  std::vector<int> dims;

  ir::Shape Outer(bool keepdim) const {
    std::vector<int64_t> out;
    for (int i = 0; i < shape.rank(); ++i) {
      const bool reduced = std::find(dims.begin(), dims.end(), i) != dims.end();
      if (!reduced) {
        out.push_back(shape[i]);
      } else if (keepdim) {
        out.push_back(1);
      }
    }
    return ir::Shape(out);
  }
};

Sig SigOf(const Node& n) {
  Sig s;
  if (IsReduction(n)) {
    s.reduction = true;
    s.shape = n.operand_node(0)->shape();
    s.dims = ReducedDims(n);
  } else {
    s.shape = n.shape();
  }
  return s;
}

// Which loop index each dimension of a value is read at: 0 for a constant
// zero (or a size-1 dim), 1 + j for outer coordinate j, -(1 + j) for row
// coordinate j, kUnknown for anything else (a sliced or reshaped dim).
constexpr int kUnknown = INT_MIN;
using Labels = std::vector<int>;

Labels Normalize(Labels l, const ir::Shape& shape) {
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] == 1) l[i] = 0;
  }
  return l;
}

// Labels of `to` (right-aligned broadcast source) read from a value with
// `labels` of shape `from`.
Labels BroadcastLabels(const Labels& labels, const ir::Shape& from, const ir::Shape& to) {
  Labels out(to.rank(), 0);
  const int off = from.rank() - to.rank();
  for (int i = 0; i < to.rank(); ++i) {
    out[i] = (to[i] == 1 || i + off < 0) ? 0 : labels[i + off];
  }
  return out;
}

// Labels through a reshape that only inserts or removes size-1 dims; all
// unknown otherwise.
Labels ReshapeLabels(const Labels& labels, const ir::Shape& out, const ir::Shape& in) {
  std::vector<int> out_big, in_big;
  for (int i = 0; i < out.rank(); ++i) {
    if (out[i] != 1) out_big.push_back(i);
  }
  for (int i = 0; i < in.rank(); ++i) {
    if (in[i] != 1) in_big.push_back(i);
  }
  Labels res(in.rank(), 0);
  bool same = out_big.size() == in_big.size();
  for (size_t k = 0; same && k < out_big.size(); ++k) same = out[out_big[k]] == in[in_big[k]];
  if (!same) {
    for (int i = 0; i < in.rank(); ++i) res[i] = in[i] == 1 ? 0 : kUnknown;
    return res;
  }
  for (size_t k = 0; k < out_big.size(); ++k) res[in_big[k]] = labels[out_big[k]];
  return res;
}

// Labels of operand `i` of `n` when `n` is read with `labels`.
Labels OperandLabels(const Node& n, int i, const Labels& labels) {
  const Node* p = n.operand_node(i);
  const ir::Shape& in = p->shape();
  const std::string& op = n.op();
  Labels res;
  switch (n.schema()->kind) {
    case ir::OpKind::kLayout:
      if (op == "reshape" || op == "squeeze" || op == "unsqueeze") {
        res = ReshapeLabels(labels, n.shape(), in);
      } else if (op == "expand") {
        res = BroadcastLabels(labels, n.shape(), in);
      } else if (op == "permute") {
        std::vector<int64_t> dims = n.attr_ints("dims");
        res.assign(in.rank(), kUnknown);
        for (int k = 0; k < static_cast<int>(dims.size()); ++k) {
          absl::StatusOr<int> d = ir::NormalizeDim(dims[k], in.rank());
          if (d.ok()) res[*d] = labels[k];
        }
      } else if (op == "transpose") {
        res = labels;
        absl::StatusOr<int> a = ir::NormalizeDim(n.attr_int("dim0"), in.rank());
        absl::StatusOr<int> b = ir::NormalizeDim(n.attr_int("dim1"), in.rank());
        if (a.ok() && b.ok() && in.rank() > 0) std::swap(res[*a], res[*b]);
      } else {  // slice, concat: the cut dim is read at a shifted index
        res = labels;
        absl::StatusOr<int> d = ir::NormalizeDim(n.attr_int("dim"), in.rank());
        if (d.ok() && in.rank() > 0 && in[*d] != n.shape()[*d]) res[*d] = kUnknown;
        if (op == "concat" && n.num_operands() > 1 && d.ok()) res[*d] = kUnknown;
      }
      break;
    default:
      res = BroadcastLabels(labels, n.shape(), in);
      break;
  }
  return Normalize(res, in);
}

struct Group {
  int step = -1;
  bool pattern = false;  // a fused pattern's step: nothing else joins it
  Sig sig;
  absl::flat_hash_set<const Node*> nodes;
  std::vector<const Node*> roots;
};

class Fuser {
 public:
  Fuser(const ir::Graph& graph, LoweringPlan* plan) : graph_(graph), plan_(plan) {}

  absl::StatusOr<Schedule> Run() {
    users_ = graph_.ComputeUsers();
    for (const Node* n : graph_.calls()) {
      const NodeDecision* d = DecisionFor(*plan_, *n);
      if (d == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("fuse: node %", n->name(), " (", n->op(), ") has no lowering-plan entry"));
      }
      Cls c = Cls::kLowered;
      if (!d->fused_pattern.empty() && IsLowered(d->decision)) {
        c = Cls::kPattern;
        pattern_members_[d->fused_root].push_back(n);
      } else if (d->decision == Decision::kFallback) {
        c = Cls::kFallback;
      } else if (d->decision == Decision::kLibrary || n->schema()->kind == ir::OpKind::kMatmul) {
        c = Cls::kLibrary;
      } else if (n->schema()->kind == ir::OpKind::kComposite) {
        return absl::InvalidArgumentError(absl::StrCat(
            "fuse: composite %", n->name(), " (", n->op(),
            ") is marked lowered but was not decomposed; run decompose first"));
      }
      cls_[n] = c;
    }
    // A pattern instance's inner values must not be read outside it (its
    // step writes only the final node); the matchers guarantee that, and
    // cse keeps instances apart.
    for (const auto& [root, members] : pattern_members_) {
      const absl::flat_hash_set<const Node*> in(members.begin(), members.end());
      for (const Node* m : members) {
        if (m->name() == root) continue;
        bool inside = !graph_.IsOutput(m);
        for (const Node* u : users_[m]) inside = inside && in.contains(u);
        if (!inside) {
          return absl::InternalError(absl::StrCat("fuse: %", m->name(), " of the fused pattern at %",
                                                  root, " is read outside it"));
        }
      }
    }
    for (const Node* n : graph_.calls()) {
      if (cls_[n] != Cls::kLowered) continue;
      bool realize = IsReduction(*n) || graph_.IsOutput(n) || users_[n].empty();
      for (const Node* u : users_[n]) realize = realize || cls_[u] != Cls::kLowered;
      if (realize) realized_.insert(n);
    }
    for (int iteration = 0;; ++iteration) {
      Schedule schedule = Build();
      std::vector<const Node*> to_realize = MultiKernelValuesToMaterialize(schedule);
      if (to_realize.empty()) {
        FillPlan(schedule);
        VLOG(1) << "fuse: " << schedule.steps.size() << " steps (" << schedule.num_kernels()
                << " kernels) after " << iteration + 1 << " grouping rounds";
        return schedule;
      }
      for (const Node* n : to_realize) realized_.insert(n);
    }
  }

 private:
  bool Inlined(const Node* p) const {
    return p->is_call() && cls_.at(p) == Cls::kLowered && !realized_.contains(p);
  }

  // `root` and the non-realized lowered nodes it reads, transitively.
  std::vector<const Node*> InlineBody(const Node* root) const {
    std::vector<const Node*> body{root}, stack{root};
    absl::flat_hash_set<const Node*> seen{root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      for (const ir::Operand& o : n->operands()) {
        const Node* p = o.node();
        if (p != nullptr && Inlined(p) && seen.insert(p).second) {
          body.push_back(p);
          stack.push_back(p);
        }
      }
    }
    std::sort(body.begin(), body.end(),
              [](const Node* a, const Node* b) { return a->index() < b->index(); });
    return body;
  }

  // Materialized values read by `nodes` (not computed among them).
  static std::vector<const Node*> ExternalReads(const std::vector<const Node*>& nodes,
                                                const absl::flat_hash_set<const Node*>& in) {
    std::vector<const Node*> reads;
    absl::flat_hash_set<const Node*> seen;
    for (const Node* n : nodes) {
      for (const ir::Operand& o : n->operands()) {
        const Node* p = o.node();
        if (p != nullptr && !in.contains(p) && seen.insert(p).second) reads.push_back(p);
      }
    }
    return reads;
  }

  static bool MergeSig(const Sig& a, const Sig& b, Sig* out) {
    if (!a.reduction && !b.reduction) {
      if (a.shape != b.shape) return false;
      *out = a;
      return true;
    }
    if (a.reduction && b.reduction) {
      if (a.shape != b.shape || a.dims != b.dims) return false;
      *out = a;
      return true;
    }
    const Sig& r = a.reduction ? a : b;
    const Sig& p = a.reduction ? b : a;
    if (p.shape == r.shape || (a.reduction && (p.shape == r.Outer(true) || p.shape == r.Outer(false)))) {
      *out = r;
      return true;
    }
    return false;
  }

  // Whether every kernel reduction reached from `n` (evaluated with `labels`)
  // is read at the current row.
  bool RowAligned(const Node* n, const Labels& labels, const Group& g,
                  const absl::flat_hash_set<const Node*>& body, const Sig& sig,
                  absl::flat_hash_set<std::string>* visited) const {
    if (!visited->insert(absl::StrCat(n->name(), ":", absl::StrJoin(labels, ","))).second) {
      return true;
    }
    const bool in_kernel = g.nodes.contains(n) || body.contains(n);
    if (!in_kernel) return true;
    if (IsReduction(*n)) {
      const bool keepdim = n->attr_bool("keepdim");
      Labels want;
      int outer = 0;
      for (int i = 0; i < sig.shape.rank(); ++i) {
        const bool reduced = std::find(sig.dims.begin(), sig.dims.end(), i) != sig.dims.end();
        if (!reduced) {
          want.push_back(1 + outer++);
        } else if (keepdim) {
          want.push_back(0);
        }
      }
      return Normalize(want, n->shape()) == labels;
    }
    for (int i = 0; i < n->num_operands(); ++i) {
      if (n->operand(i).is_literal()) continue;
      if (!RowAligned(n->operand_node(i), OperandLabels(*n, i, labels), g, body, sig, visited)) {
        return false;
      }
    }
    return true;
  }

  // Labels of a value of `shape` evaluated in a kernel with signature `sig`.
  static bool ScopeLabels(const Sig& sig, const ir::Shape& shape, Labels* out) {
    Labels l;
    if (shape == sig.shape) {
      int outer = 0, row = 0;
      for (int i = 0; i < shape.rank(); ++i) {
        const bool reduced = std::find(sig.dims.begin(), sig.dims.end(), i) != sig.dims.end();
        l.push_back(reduced ? -(1 + row++) : 1 + outer++);
      }
    } else if (shape == sig.Outer(true)) {
      int outer = 0;
      for (int i = 0; i < sig.shape.rank(); ++i) {
        const bool reduced = std::find(sig.dims.begin(), sig.dims.end(), i) != sig.dims.end();
        l.push_back(reduced ? 0 : 1 + outer++);
      }
    } else if (shape == sig.Outer(false)) {
      for (int i = 0; i < shape.rank(); ++i) l.push_back(1 + i);
    } else {
      return false;
    }
    *out = Normalize(l, shape);
    return true;
  }

  bool CanJoin(const Group& g, const Node* root, const std::vector<const Node*>& body,
               Sig* merged) const {
    if (!MergeSig(g.sig, SigOf(*root), merged)) return false;
    if (!merged->reduction) return true;
    absl::flat_hash_set<const Node*> body_set(body.begin(), body.end());
    absl::flat_hash_set<std::string> visited;
    if (IsReduction(*root)) {
      Labels l;
      if (!ScopeLabels(*merged, merged->shape, &l)) return false;
      const Node* in = root->operand_node(0);
      return RowAligned(in, Normalize(l, in->shape()), g, body_set, *merged, &visited);
    }
    Labels l;
    if (!ScopeLabels(*merged, root->shape(), &l)) return false;
    return RowAligned(root, l, g, body_set, *merged, &visited);
  }

  Schedule Build() {
    Schedule s;
    s.graph = &graph_;
    std::vector<Group> groups;
    absl::flat_hash_map<int, int> group_of_step;
    for (const Node* n : graph_.calls()) {
      const Cls c = cls_.at(n);
      if (c == Cls::kPattern) {
        // Rule 0: the nodes of one fused pattern instance (passes/attention.h,
        // passes/matmul_epilogue.h) form one step of their own, placed at its
        // final node (all values it reads come before that; its other nodes
        // have no users outside it): a kernel step, or a library step for a
        // matmul epilogue.
        const NodeDecision* d = DecisionFor(*plan_, *n);
        if (n->name() != d->fused_root) continue;
        const std::vector<const Node*>& members = pattern_members_.at(d->fused_root);
        const bool library = d->fused_pattern == kMatmulEpiloguePattern;
        Step step;
        step.id = static_cast<int>(s.steps.size());
        step.kind = library ? StepKind::kLibrary : StepKind::kKernel;
        step.pattern = d->fused_pattern;
        for (const Node* member : members) s.producer[member] = step.id;
        if (library) {  // its nodes, in order; a kernel's come from its group
          step.nodes = members;
          std::sort(step.nodes.begin(), step.nodes.end(),
                    [](const Node* a, const Node* b) { return a->index() < b->index(); });
        } else {
          Group g;
          g.step = step.id;
          g.pattern = true;
          g.sig = SigOf(*n);
          g.roots.push_back(n);
          g.nodes.insert(members.begin(), members.end());
          group_of_step[g.step] = static_cast<int>(groups.size());
          groups.push_back(std::move(g));
        }
        s.steps.push_back(std::move(step));
        continue;
      }
      if (c != Cls::kLowered) {
        Step step;
        step.id = static_cast<int>(s.steps.size());
        step.kind = c == Cls::kFallback ? StepKind::kFallback : StepKind::kLibrary;
        step.nodes = {n};
        s.producer[n] = step.id;
        s.steps.push_back(std::move(step));
        continue;
      }
      if (!realized_.contains(n)) continue;
      const std::vector<const Node*> body = InlineBody(n);
      const absl::flat_hash_set<const Node*> body_set(body.begin(), body.end());
      int latest = -1;
      for (const Node* p : ExternalReads(body, body_set)) {
        if (p->is_call()) latest = std::max(latest, s.producer.at(p));
      }
      Sig merged;
      int target = -1;
      if (latest >= 0 && s.steps[latest].kind == StepKind::kKernel &&
          !groups[group_of_step.at(latest)].pattern &&
          CanJoin(groups[group_of_step.at(latest)], n, body, &merged)) {
        target = latest;
      }
      if (target < 0) {
        Step step;
        step.id = static_cast<int>(s.steps.size());
        step.kind = StepKind::kKernel;
        s.steps.push_back(std::move(step));
        Group g;
        g.step = s.steps.back().id;
        g.sig = SigOf(*n);
        group_of_step[g.step] = static_cast<int>(groups.size());
        groups.push_back(std::move(g));
        target = s.steps.back().id;
      } else {
        groups[group_of_step.at(target)].sig = merged;
      }
      Group& g = groups[group_of_step.at(target)];
      g.roots.push_back(n);
      for (const Node* b : body) g.nodes.insert(b);
      s.producer[n] = target;
    }
    absl::flat_hash_set<const Node*> read_by_steps;
    for (Step& step : s.steps) {
      if (step.kind != StepKind::kKernel && !step.pattern.empty()) {
        // A fused library call writes only its final node.
        step.inputs = ExternalReads(
            step.nodes, absl::flat_hash_set<const Node*>(step.nodes.begin(), step.nodes.end()));
        step.outputs = {step.nodes.back()};
      } else if (step.kind != StepKind::kKernel) {
        step.inputs = ExternalReads(step.nodes, {});
        step.outputs = step.nodes;
      } else {
        const Group& g = groups[group_of_step.at(step.id)];
        step.nodes.assign(g.nodes.begin(), g.nodes.end());
        std::sort(step.nodes.begin(), step.nodes.end(),
                  [](const Node* a, const Node* b) { return a->index() < b->index(); });
        step.inputs = ExternalReads(step.nodes, g.nodes);
      }
      read_by_steps.insert(step.inputs.begin(), step.inputs.end());
    }
    // A root is written when it is a graph output, dead, or read by another
    // step (directly or through a value that step recomputes).
    for (Step& step : s.steps) {
      if (step.kind != StepKind::kKernel) continue;
      for (const Node* r : groups[group_of_step.at(step.id)].roots) {
        if (graph_.IsOutput(r) || users_.at(r).empty() || read_by_steps.contains(r)) {
          step.outputs.push_back(r);
        }
      }
    }
    return s;
  }

  // Rule 5: inlined values that ended up in several kernels and are too big
  // to recompute.
  std::vector<const Node*> MultiKernelValuesToMaterialize(const Schedule& s) const {
    absl::flat_hash_map<const Node*, int> kernels;
    for (const Step& step : s.steps) {
      if (step.kind != StepKind::kKernel) continue;
      for (const Node* n : step.nodes) {
        if (!realized_.contains(n)) ++kernels[n];
      }
    }
    std::vector<const Node*> out;
    for (const Node* n : graph_.calls()) {
      auto it = kernels.find(n);
      if (it == kernels.end() || it->second < 2) continue;
      const std::vector<const Node*> body = InlineBody(n);
      const absl::flat_hash_set<const Node*> body_set(body.begin(), body.end());
      const bool cheap = static_cast<int>(body.size()) <= kMaxRecomputeNodes &&
                         ExternalReads(body, body_set).size() <= 1;
      if (!cheap) {
        out.push_back(n);
        break;  // one at a time: realizing one may make others unnecessary
      }
    }
    return out;
  }

  void FillPlan(const Schedule& s) {
    absl::flat_hash_map<std::string, int> first;
    for (const Step& step : s.steps) {
      for (const Node* n : step.nodes) {
        first.try_emplace(n->name(), step.id);
        first.try_emplace(OriginalNodeName(*n), step.id);
      }
    }
    for (NodeDecision& e : plan_->entries) {
      auto it = first.find(e.node);
      e.kernel = it == first.end() ? -1 : it->second;
    }
  }

  const ir::Graph& graph_;
  LoweringPlan* plan_;
  absl::flat_hash_map<const Node*, std::vector<Node*>> users_;
  absl::flat_hash_map<const Node*, Cls> cls_;
  absl::flat_hash_set<const Node*> realized_;
  // Fused pattern instances: the fused_root's name -> its nodes.
  absl::flat_hash_map<std::string, std::vector<const Node*>> pattern_members_;
};

}  // namespace

absl::StatusOr<Schedule> Fuse(const ir::Graph& graph, LoweringPlan* plan) {
  return Fuser(graph, plan).Run();
}

}  // namespace sluice::passes
