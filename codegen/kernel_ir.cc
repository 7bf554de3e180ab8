#include "codegen/kernel_ir.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/op_registry.h"
#include "passes/attention.h"

namespace sluice::codegen {

// ---- IndexExpr ----------------------------------------------------------------

namespace {

int64_t FloorDivInt(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

// `e` as an operand of / or %: in parentheses unless it is one atom.
std::string IndexExpr::Parenthesized(const IndexExpr& e) {
  if (e.SingleAtom() != nullptr || e.terms_.empty()) return e.ToString();
  return absl::StrCat("(", e.ToString(), ")");
}

IndexExpr IndexExpr::Const(int64_t c) {
  IndexExpr e;
  e.constant_ = c;
  e.lo_ = e.hi_ = c;
  return e;
}

IndexExpr IndexExpr::FromAtom(std::shared_ptr<const IndexAtom> atom) {
  IndexExpr e;
  e.terms_.push_back({1, std::move(atom)});
  e.Recompute();
  return e;
}

IndexExpr IndexExpr::Var(int id, const std::string& name, int64_t extent) {
  if (extent <= 1) return Const(0);
  auto a = std::make_shared<IndexAtom>();
  a->kind = IndexAtom::Kind::kVar;
  a->var = id;
  a->name = name;
  a->extent = extent;
  a->lo = 0;
  a->hi = extent - 1;
  a->key = name;
  return FromAtom(std::move(a));
}

void IndexExpr::Recompute() {
  std::sort(terms_.begin(), terms_.end(),
            [](const Term& x, const Term& y) { return x.second->key < y.second->key; });
  std::vector<Term> merged;
  for (Term& t : terms_) {
    if (!merged.empty() && merged.back().second->key == t.second->key) {
      merged.back().first += t.first;
    } else {
      merged.push_back(std::move(t));
    }
  }
  terms_.clear();
  for (Term& t : merged) {
    if (t.first != 0) terms_.push_back(std::move(t));
  }
  lo_ = hi_ = constant_;
  for (const Term& t : terms_) {
    const int64_t a = t.first * t.second->lo, b = t.first * t.second->hi;
    lo_ += std::min(a, b);
    hi_ += std::max(a, b);
  }
}

const IndexAtom* IndexExpr::SingleAtom() const {
  if (terms_.size() == 1 && terms_[0].first == 1 && constant_ == 0) return terms_[0].second.get();
  return nullptr;
}

IndexExpr IndexExpr::operator+(const IndexExpr& o) const {
  IndexExpr e = *this;
  e.terms_.insert(e.terms_.end(), o.terms_.begin(), o.terms_.end());
  e.constant_ += o.constant_;
  e.Recompute();
  return e;
}

IndexExpr IndexExpr::operator*(int64_t c) const {
  if (c == 0) return Const(0);
  IndexExpr e = *this;
  for (Term& t : e.terms_) t.first *= c;
  e.constant_ *= c;
  e.Recompute();
  return e;
}

IndexExpr IndexExpr::operator-(const IndexExpr& o) const { return *this + o * -1; }

IndexExpr IndexExpr::FloorDiv(int64_t c) const {
  if (c == 1) return *this;
  if (is_const()) return Const(FloorDivInt(constant_, c));
  if (lo_ >= 0 && hi_ < c) return Const(0);
  IndexExpr q, rest;
  for (const Term& t : terms_) {
    if (t.first % c == 0) {
      q.terms_.push_back({t.first / c, t.second});
    } else {
      rest.terms_.push_back(t);
    }
  }
  const int64_t qc = FloorDivInt(constant_, c);
  q.constant_ = qc;
  rest.constant_ = constant_ - qc * c;
  q.Recompute();
  rest.Recompute();
  auto atom = std::make_shared<IndexAtom>();
  atom->kind = IndexAtom::Kind::kDiv;
  atom->c = c;
  if (rest.lo_ >= 0) {
    if (rest.hi_ < c) return q;
    if (const IndexAtom* inner = rest.SingleAtom(); inner && inner->kind == IndexAtom::Kind::kDiv) {
      return q + inner->a.FloorDiv(inner->c * c);
    }
    atom->a = rest;
  } else {
    q = IndexExpr();
    atom->a = *this;
  }
  atom->lo = FloorDivInt(atom->a.lo_, c);
  atom->hi = FloorDivInt(atom->a.hi_, c);
  atom->key = absl::StrCat("(", Parenthesized(atom->a), " / ", c, ")");
  return q + FromAtom(std::move(atom));
}

IndexExpr IndexExpr::Mod(int64_t c) const {
  if (c == 1) return Const(0);
  if (is_const()) return Const(constant_ - FloorDivInt(constant_, c) * c);
  IndexExpr rest;
  for (const Term& t : terms_) {
    if (t.first % c != 0) rest.terms_.push_back(t);
  }
  rest.constant_ = constant_ - FloorDivInt(constant_, c) * c;
  rest.Recompute();
  auto atom = std::make_shared<IndexAtom>();
  atom->kind = IndexAtom::Kind::kMod;
  atom->c = c;
  if (rest.lo_ >= 0) {
    if (rest.hi_ < c) return rest;
    if (const IndexAtom* inner = rest.SingleAtom();
        inner && inner->kind == IndexAtom::Kind::kMod && inner->c % c == 0) {
      return inner->a.Mod(c);
    }
    atom->a = rest;
  } else {
    atom->a = *this;
  }
  atom->lo = 0;
  atom->hi = std::min(c - 1, std::max<int64_t>(atom->a.hi_, 0));
  atom->key = absl::StrCat("(", Parenthesized(atom->a), " % ", c, ")");
  return FromAtom(std::move(atom));
}

IndexExpr IndexExpr::Min(const IndexExpr& a, const IndexExpr& b) {
  if (a.hi_ <= b.lo_) return a;
  if (b.hi_ <= a.lo_) return b;
  auto atom = std::make_shared<IndexAtom>();
  atom->kind = IndexAtom::Kind::kMin;
  atom->a = a;
  atom->b = b;
  atom->lo = std::min(a.lo_, b.lo_);
  atom->hi = std::min(a.hi_, b.hi_);
  atom->key = absl::StrCat("min(", a.ToString(), ", ", b.ToString(), ")");
  return FromAtom(std::move(atom));
}

IndexExpr IndexExpr::Max(const IndexExpr& a, const IndexExpr& b) {
  if (a.lo_ >= b.hi_) return a;
  if (b.lo_ >= a.hi_) return b;
  auto atom = std::make_shared<IndexAtom>();
  atom->kind = IndexAtom::Kind::kMax;
  atom->a = a;
  atom->b = b;
  atom->lo = std::max(a.lo_, b.lo_);
  atom->hi = std::max(a.hi_, b.hi_);
  atom->key = absl::StrCat("max(", a.ToString(), ", ", b.ToString(), ")");
  return FromAtom(std::move(atom));
}

bool IndexExpr::DependsOnVar(int id) const {
  for (const Term& t : terms_) {
    const IndexAtom& a = *t.second;
    if (a.kind == IndexAtom::Kind::kVar) {
      if (a.var == id) return true;
    } else if (a.a.DependsOnVar(id) || a.b.DependsOnVar(id)) {
      return true;
    }
  }
  return false;
}

std::string IndexExpr::ToString() const {
  std::string out;
  for (const Term& t : terms_) {
    const int64_t coef = t.first;
    if (out.empty()) {
      if (coef < 0) out = "-";
    } else {
      out += coef < 0 ? " - " : " + ";
    }
    out += t.second->key;
    if (coef != 1 && coef != -1) absl::StrAppend(&out, "*", coef < 0 ? -coef : coef);
  }
  if (out.empty()) return absl::StrCat(constant_);
  if (constant_ > 0) absl::StrAppend(&out, " + ", constant_);
  if (constant_ < 0) absl::StrAppend(&out, " - ", -constant_);
  return out;
}

// ---- Kernel printing --------------------------------------------------------------

absl::string_view ReduceKindName(ReduceKind kind) {
  switch (kind) {
    case ReduceKind::kSum:
      return "sum";
    case ReduceKind::kMax:
      return "max";
    case ReduceKind::kMin:
      return "min";
    case ReduceKind::kArgmax:
      return "argmax";
  }
  return "?";
}

int Kernel::num_reductions() const {
  int n = 0;
  for (const Stage& s : stages) n += static_cast<int>(s.reductions.size());
  return n;
}

std::string Kernel::ToString() const {
  std::string out;
  if (attention.has_value()) {
    const AttentionSpec& a = *attention;
    out = absl::StrCat("kernel ", name, " (step ", step, "): attention ", ir::DTypeName(a.dtype),
                       ", batch ", a.batch, ", sq ", a.sq, ", sk ", a.sk, ", d ", a.d, ", scale ",
                       a.scale, ": arg", a.out, " = softmax(scale * arg", a.q, " arg", a.k,
                       "ᵀ) arg", a.v, "\n");
  } else {
    out = absl::StrCat("kernel ", name, " (step ", step, "): ",
                       is_reduction ? "reduction" : "pointwise", ", x0 in [0, ", outer_extent,
                       "), r0 in [0, ", inner_extent, ")\n");
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const KernelArg& a = args[i];
    absl::StrAppend(&out, "  arg", i, " = %", a.value, ": ", ir::DTypeName(a.dtype), "[",
                    a.numel, "] ", a.is_output ? "out" : "in", "\n");
  }
  auto expr_line = [&](const Expr& e) {
    std::string s = absl::StrCat("v", e.id, ": ", ir::DTypeName(e.dtype), " = ");
    switch (e.kind) {
      case Expr::Kind::kLoad:
        absl::StrAppend(&s, "load arg", e.arg, "[", e.index.ToString(), "]");
        break;
      case Expr::Kind::kConst:
        absl::StrAppend(&s, "const ", ir::FormatDouble(e.value));
        break;
      case Expr::Kind::kIndex:
        absl::StrAppend(&s, "index ", e.index.ToString());
        break;
      case Expr::Kind::kOp:
        absl::StrAppend(&s, e.op, "(",
                        absl::StrJoin(e.args, ", ",
                                      [](std::string* o, int a) { absl::StrAppend(o, "v", a); }),
                        ")");
        break;
      case Expr::Kind::kReduceResult:
        absl::StrAppend(&s, "result red", e.reduction);
        break;
      case Expr::Kind::kScratchLoad:
        absl::StrAppend(&s, "scratch", e.scratch, "[r0]");
        break;
    }
    return s;
  };
  for (const Stage& st : stages) {
    if (st.exprs.empty() && st.stores.empty() && st.reductions.empty()) continue;
    std::string indent = "  ";
    if (st.kind == Stage::Kind::kLoop) {
      absl::StrAppend(&out, "  loop r0", st.reductions.empty() ? "" : " (reduce)", ":\n");
      indent = "    ";
    }
    for (int id : st.exprs) absl::StrAppend(&out, indent, expr_line(exprs[id]), "\n");
    for (const Reduction& r : st.reductions) {
      absl::StrAppend(&out, indent, "red", r.id, ": ", ir::DTypeName(r.acc_dtype), " = ",
                      ReduceKindName(r.kind), "(v", r.input, ")\n");
    }
    for (const Store& s : st.stores) {
      absl::StrAppend(&out, indent, "store arg", s.arg, "[", s.index.ToString(), "] = v", s.value,
                      "\n");
    }
    for (const ScratchStore& s : st.scratch_stores) {
      absl::StrAppend(&out, indent, "scratch", s.slot, "[r0] = v", s.value, "\n");
    }
  }
  return out;
}

// ---- Kernel building ---------------------------------------------------------------

namespace {

using ir::DType;
using ir::Node;

std::vector<int64_t> StridesOf(const ir::Shape& s) { return s.Strides(); }

struct Point {
  std::vector<IndexExpr> coords;
  std::optional<IndexExpr> flat;
};

IndexExpr Linearize(const Point& p, const ir::Shape& shape) {
  if (p.flat) return *p.flat;
  IndexExpr e;
  const std::vector<int64_t> strides = StridesOf(shape);
  for (int d = 0; d < shape.rank(); ++d) {
    if (shape[d] != 1) e = e + p.coords[d] * strides[d];
  }
  return e;
}

Point FromFlat(const IndexExpr& flat, const ir::Shape& shape) {
  Point p;
  p.flat = flat;
  const std::vector<int64_t> strides = StridesOf(shape);
  // An empty shape's strides can be 0 ([3, 0]: 0, 1); no element is ever
  // addressed, so every coordinate is 0.
  const bool empty = shape.num_elements() == 0;
  for (int d = 0; d < shape.rank(); ++d) {
    p.coords.push_back(shape[d] <= 1 || empty ? IndexExpr()
                                              : flat.FloorDiv(strides[d]).Mod(shape[d]));
  }
  return p;
}

Point BroadcastPoint(const Point& p, const ir::Shape& from, const ir::Shape& to) {
  if (from == to) return p;
  Point q;
  const int off = from.rank() - to.rank();
  for (int i = 0; i < to.rank(); ++i) {
    q.coords.push_back((to[i] == 1 || i + off < 0) ? IndexExpr() : p.coords[i + off]);
  }
  return q;
}

bool IsReductionNode(const Node& n) { return n.schema()->kind == ir::OpKind::kReduction; }

std::vector<int> ReducedDimsOf(const Node& n) {
  const int rank = n.operand_node(0)->shape().rank();
  std::vector<int> dims;
  if (n.op() == "argmax") {
    if (rank > 0) dims.push_back(*ir::NormalizeDim(n.attr_int("dim"), rank));
    return dims;
  }
  const std::vector<int64_t> raw = n.attr_ints("dims");
  if (raw.empty()) {
    for (int i = 0; i < rank; ++i) dims.push_back(i);
  }
  for (int64_t d : raw) {
    if (rank > 0) dims.push_back(*ir::NormalizeDim(d, rank));
  }
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

DType ComputeType(DType d) {
  return (d == DType::kF16 || d == DType::kBF16) ? DType::kF32 : d;
}

class Builder {
 public:
  Builder(const ir::Graph& graph, const passes::Step& step, Kernel* k)
      : graph_(graph), step_(step), k_(*k) {}

  absl::Status Build() {
    for (const Node* n : step_.nodes) {
      in_kernel_.insert(n);
      k_.nodes.push_back(n->name());
    }
    for (const Node* n : step_.inputs) AddArg(n, false);
    for (const Node* n : step_.outputs) AddArg(n, true);
    for (const Node* n : step_.nodes) {
      if (IsReductionNode(*n)) reductions_.push_back(n);
    }
    if (!reductions_.empty()) {
      k_.is_reduction = true;
      in_shape_ = reductions_[0]->operand_node(0)->shape();
      dims_ = ReducedDimsOf(*reductions_[0]);
      for (const Node* r : reductions_) {
        if (r->operand_node(0)->shape() != in_shape_ || ReducedDimsOf(*r) != dims_) {
          return absl::InternalError(absl::StrCat("kernel ", k_.name, ": reductions %",
                                                  reductions_[0]->name(), " and %", r->name(),
                                                  " do not reduce the same rows"));
        }
      }
      SetUpReduction();
    } else {
      if (step_.outputs.empty()) return absl::OkStatus();
      in_shape_ = step_.outputs[0]->shape();
      SetUpPointwise();
    }
    // Loop level of every reduction: one more than the deepest reduction its
    // input depends on.
    int num_loops = 0;
    for (const Node* r : reductions_) num_loops = std::max(num_loops, Depth(r));
    stages_needed_ = num_loops;
    for (const Node* r : reductions_) {
      absl::Status s = EmitReduction(r);
      if (!s.ok()) return s;
    }
    for (size_t i = 0; i < step_.outputs.size(); ++i) {
      absl::Status s = EmitStore(step_.outputs[i], static_cast<int>(step_.inputs.size() + i));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  void AddArg(const Node* n, bool out) {
    KernelArg a;
    a.value = n->name();
    a.dtype = n->dtype();
    a.numel = n->shape().num_elements();
    a.is_output = out;
    if (!out) arg_of_[n] = static_cast<int>(k_.args.size());
    k_.args.push_back(a);
  }

  void SetUpPointwise() {
    const ir::Shape& s = in_shape_;
    const int64_t numel = s.num_elements();
    int64_t inner = s.rank() == 0 ? 1 : s[s.rank() - 1];
    for (int d = s.rank() - 2; d >= 0 && inner < 1024; --d) inner *= s[d];
    if (inner > 16384) {
      for (int64_t t = 16384; t >= 1024; --t) {
        if (inner % t == 0) {
          inner = t;
          break;
        }
      }
    }
    if (inner <= 0) inner = 1;
    k_.inner_extent = inner;
    k_.outer_extent = numel == 0 ? 0 : numel / inner;
    const IndexExpr x0 = IndexExpr::Var(kOuterVar, "x0", k_.outer_extent);
    const IndexExpr r0 = IndexExpr::Var(kInnerVar, "r0", k_.inner_extent);
    element_ = FromFlat(x0 * inner + r0, s);
  }

  void SetUpReduction() {
    std::vector<int64_t> outer_dims, row_dims;
    for (int i = 0; i < in_shape_.rank(); ++i) {
      if (std::find(dims_.begin(), dims_.end(), i) != dims_.end()) {
        row_dims.push_back(in_shape_[i]);
      } else {
        outer_dims.push_back(in_shape_[i]);
      }
    }
    const ir::Shape outer(outer_dims), row(row_dims);
    k_.outer_extent = outer.num_elements();
    k_.inner_extent = row.num_elements();
    const IndexExpr x0 = IndexExpr::Var(kOuterVar, "x0", k_.outer_extent);
    const IndexExpr r0 = IndexExpr::Var(kInnerVar, "r0", k_.inner_extent);
    outer_ = FromFlat(x0, outer);
    const Point rp = FromFlat(r0, row);
    int o = 0, r = 0;
    for (int i = 0; i < in_shape_.rank(); ++i) {
      if (std::find(dims_.begin(), dims_.end(), i) != dims_.end()) {
        element_.coords.push_back(rp.coords[r++]);
      } else {
        element_.coords.push_back(outer_.coords[o++]);
      }
    }
    // When the reduced dims are a trailing suffix, rows are contiguous.
    bool suffix = true;
    for (size_t i = 0; i < dims_.size(); ++i) {
      suffix = suffix && dims_[i] == in_shape_.rank() - static_cast<int>(dims_.size()) + static_cast<int>(i);
    }
    if (suffix) element_.flat = x0 * k_.inner_extent + r0;
  }

  ir::Shape OuterShape(bool keepdim) const {
    std::vector<int64_t> out;
    for (int i = 0; i < in_shape_.rank(); ++i) {
      const bool reduced = std::find(dims_.begin(), dims_.end(), i) != dims_.end();
      if (!reduced) {
        out.push_back(in_shape_[i]);
      } else if (keepdim) {
        out.push_back(1);
      }
    }
    return ir::Shape(out);
  }

  // The point of a value of `shape` computed per row (with or without the
  // reduced dims kept as 1).
  bool RowPoint(const ir::Shape& shape, Point* p) const {
    if (shape == OuterShape(false)) {
      *p = outer_;
      return true;
    }
    if (shape == OuterShape(true)) {
      p->coords.clear();
      p->flat = outer_.flat;
      int o = 0;
      for (int i = 0; i < in_shape_.rank(); ++i) {
        const bool reduced = std::find(dims_.begin(), dims_.end(), i) != dims_.end();
        p->coords.push_back(reduced ? IndexExpr() : outer_.coords[o++]);
      }
      return true;
    }
    return false;
  }

  int Depth(const Node* n) {
    if (!in_kernel_.contains(n)) return 0;
    auto it = depth_.find(n);
    if (it != depth_.end()) return it->second;
    int d = 0;
    for (const ir::Operand& o : n->operands()) {
      if (o.node() != nullptr) d = std::max(d, Depth(o.node()));
    }
    if (IsReductionNode(*n)) ++d;
    depth_[n] = d;
    return d;
  }

  int LoopStage(int loop) {  // loop >= 1
    EnsureStages(2 * loop + 1);
    return 2 * loop - 1;
  }
  void EnsureStages(int n) {
    while (static_cast<int>(k_.stages.size()) < n) {
      Stage s;
      s.kind = k_.stages.size() % 2 == 0 ? Stage::Kind::kRow : Stage::Kind::kLoop;
      k_.stages.push_back(s);
    }
  }

  // Adds `e` to the current stage (or, when it does not depend on r0, to the
  // row stage before the current loop), reusing an identical expr there.
  int Add(Expr e) {
    bool varying = ((e.kind == Expr::Kind::kLoad || e.kind == Expr::Kind::kIndex) &&
                    e.index.DependsOnVar(kInnerVar)) ||
                   e.kind == Expr::Kind::kScratchLoad;
    for (int a : e.args) varying = varying || varies_[a];
    int stage = stage_;
    if (!varying && k_.stages[stage].kind == Stage::Kind::kLoop) --stage;
    std::string key = absl::StrCat(stage, "|", static_cast<int>(e.kind), "|", e.op, "|",
                                   static_cast<int>(e.dtype), "|", e.arg, "|", e.index.ToString(),
                                   "|", ir::FormatDouble(e.value), "|", e.reduction, "|",
                                   e.scratch, "|", absl::StrJoin(e.args, ","));
    auto it = cse_.find(key);
    if (it != cse_.end()) return it->second;
    e.id = static_cast<int>(k_.exprs.size());
    k_.exprs.push_back(e);
    varies_.push_back(varying);
    k_.stages[stage].exprs.push_back(e.id);
    cse_[key] = e.id;
    return e.id;
  }

  int ScratchLoad(int value, int stage) {
    auto it = slot_of_.find(value);
    int slot;
    if (it != slot_of_.end()) {
      slot = it->second;
    } else {
      slot = static_cast<int>(k_.scratch.size());
      k_.scratch.push_back(k_.exprs[value].dtype);
      k_.stages[stage].scratch_stores.push_back({slot, value});
      slot_of_[value] = slot;
    }
    Expr e;
    e.kind = Expr::Kind::kScratchLoad;
    e.dtype = k_.exprs[value].dtype;
    e.scratch = slot;
    return Add(e);
  }

  int Const(double v, DType d) {
    Expr e;
    e.kind = Expr::Kind::kConst;
    e.dtype = d;
    e.value = v;
    return Add(e);
  }

  int Op(const std::string& op, DType d, std::vector<int> args) {
    Expr e;
    e.kind = Expr::Kind::kOp;
    e.op = op;
    e.dtype = d;
    e.args = std::move(args);
    return Add(e);
  }

  int Cast(int v, DType to) {
    if (k_.exprs[v].dtype == to) return v;
    if (k_.exprs[v].kind == Expr::Kind::kConst) {
      double x = k_.exprs[v].value;
      if (to == DType::kBool) x = x != 0;
      if (ir::IsIntegral(to)) x = std::trunc(x);
      return Const(x, to);
    }
    return Op("cast", to, {v});
  }

  absl::StatusOr<int> Load(const Node* n, const Point& p) {
    auto it = arg_of_.find(n);
    if (it == arg_of_.end()) {
      return absl::InternalError(
          absl::StrCat("kernel ", k_.name, ": %", n->name(), " is neither computed nor read here"));
    }
    Expr e;
    e.kind = Expr::Kind::kLoad;
    e.dtype = n->dtype();
    e.arg = it->second;
    e.index = Linearize(p, n->shape());
    return Add(e);
  }

  std::string PointKey(const Point& p) const {
    std::string s = absl::StrJoin(p.coords, ",", [](std::string* o, const IndexExpr& e) {
      o->append(e.ToString());
    });
    if (p.flat) absl::StrAppend(&s, "|", p.flat->ToString());
    return s;
  }

  absl::StatusOr<int> Eval(const Node* n, const Point& p) {
    if (!in_kernel_.contains(n)) return Load(n, p);
    const std::string key = absl::StrCat(stage_, "|", n->name(), "@", PointKey(p));
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    // Computed by an earlier loop of this row at the same point: reuse it
    // (a row value directly, a loop value through a scratch array).
    if (k_.stages[stage_].kind == Stage::Kind::kLoop && k_.inner_extent <= kMaxScratch) {
      const std::string at = absl::StrCat("|", n->name(), "@", PointKey(p));
      for (int s = stage_ - 2; s >= 1; s -= 2) {
        auto prev = memo_.find(absl::StrCat(s, at));
        if (prev == memo_.end()) continue;
        const int v = varies_[prev->second] ? ScratchLoad(prev->second, s) : prev->second;
        memo_[key] = v;
        return v;
      }
    }
    absl::StatusOr<int> v = EvalUncached(n, p);
    if (v.ok()) memo_[key] = *v;
    return v;
  }

  absl::StatusOr<int> Operand(const Node* n, int i, const Point& p, DType compute) {
    const ir::Operand& o = n->operand(i);
    if (o.is_literal()) return Const(o.literal().value, compute);
    absl::StatusOr<int> v = Eval(o.node(), BroadcastPoint(p, n->shape(), o.node()->shape()));
    if (!v.ok()) return v;
    return Cast(*v, compute);
  }

  absl::StatusOr<int> EvalUncached(const Node* n, const Point& p) {
    const std::string& op = n->op();
    switch (n->schema()->kind) {
      case ir::OpKind::kReduction: {
        Point row;
        bool ok = RowPoint(n->shape(), &row);
        for (int d = 0; ok && d < n->shape().rank(); ++d) {
          ok = n->shape()[d] == 1 || row.coords[d] == p.coords[d];
        }
        auto it = result_.find(n);
        if (!ok || it == result_.end()) {
          return absl::InternalError(absl::StrCat("kernel ", k_.name, ": reduction %", n->name(),
                                                  " is read off its row"));
        }
        return it->second;
      }
      case ir::OpKind::kUnary: {
        absl::StatusOr<int> a = Eval(n->operand_node(0), p);
        if (!a.ok()) return a;
        if (op == "cast") return Cast(*a, n->dtype());
        if (op == "logical_not") return Op("logical_not", DType::kBool, {*a});
        const int x = Cast(*a, n->dtype());
        if (op == "gelu" && n->attr_string("approximate") == "tanh") {
          return Op("gelu_tanh", n->dtype(), {x});
        }
        return Op(op, n->dtype(), {x});
      }
      case ir::OpKind::kBinary: {
        DType compute = n->dtype();
        if (op == "eq" || op == "ne" || op == "lt" || op == "le" || op == "gt" || op == "ge") {
          ir::ResultTypeState st;
          for (const ir::Operand& o : n->operands()) {
            if (o.is_literal()) {
              st.AddLiteral(o.literal().is_int ? DType::kI64 : DType::kF64);
            } else {
              st.AddTensor(o.node()->dtype(), o.node()->shape().is_scalar());
            }
          }
          compute = st.Result();
        } else if (op == "logical_and" || op == "logical_or") {
          compute = DType::kBool;
        }
        absl::StatusOr<int> a = Operand(n, 0, p, compute);
        if (!a.ok()) return a;
        absl::StatusOr<int> b = Operand(n, 1, p, compute);
        if (!b.ok()) return b;
        return Op(op, n->dtype(), {*a, *b});
      }
      case ir::OpKind::kTernary: {
        absl::StatusOr<int> c = Operand(n, 0, p, DType::kBool);
        if (!c.ok()) return c;
        absl::StatusOr<int> a = Operand(n, 1, p, n->dtype());
        if (!a.ok()) return a;
        absl::StatusOr<int> b = Operand(n, 2, p, n->dtype());
        if (!b.ok()) return b;
        return Op("where", n->dtype(), {*c, *a, *b});
      }
      case ir::OpKind::kCreation:
        return Const(n->attr_float("value"), n->dtype());
      case ir::OpKind::kLayout:
        return EvalLayout(n, p);
      default:
        return absl::InternalError(absl::StrCat("kernel ", k_.name, ": cannot generate code for %",
                                                n->name(), " (", op, ")"));
    }
  }

  absl::StatusOr<int> EvalLayout(const Node* n, const Point& p) {
    const std::string& op = n->op();
    const Node* in = n->operand_node(0);
    const ir::Shape& is = in->shape();
    const int rank = is.rank();
    if (op == "reshape" || op == "squeeze" || op == "unsqueeze") {
      return Eval(in, FromFlat(Linearize(p, n->shape()), is));
    }
    if (op == "expand") return Eval(in, BroadcastPoint(p, n->shape(), is));
    if (op == "permute") {
      std::vector<int64_t> dims = n->attr_ints("dims");
      Point q;
      q.coords.resize(rank);
      for (int k = 0; k < rank; ++k) q.coords[*ir::NormalizeDim(dims[k], rank)] = p.coords[k];
      return Eval(in, q);
    }
    if (op == "transpose") {
      Point q;
      q.coords = p.coords;
      if (rank > 0) {
        std::swap(q.coords[*ir::NormalizeDim(n->attr_int("dim0"), rank)],
                  q.coords[*ir::NormalizeDim(n->attr_int("dim1"), rank)]);
      }
      return Eval(in, q);
    }
    if (op == "slice") {
      const int d = *ir::NormalizeDim(n->attr_int("dim"), rank);
      const int64_t size = is[d];
      int64_t start = n->attr_int("start");
      if (start < 0) start += size;
      start = std::clamp<int64_t>(start, 0, size);
      Point q;
      q.coords = p.coords;
      q.coords[d] = IndexExpr::Const(start) + p.coords[d] * n->attr_int("step");
      return Eval(in, q);
    }
    if (op == "concat") {
      const int d = *ir::NormalizeDim(n->attr_int("dim"), rank);
      std::vector<std::pair<int64_t, const Node*>> parts;
      int64_t off = 0;
      for (const ir::Operand& o : n->operands()) {
        if (o.node()->shape()[d] > 0) parts.push_back({off, o.node()});
        off += o.node()->shape()[d];
      }
      std::optional<int> result;
      for (int j = static_cast<int>(parts.size()) - 1; j >= 0; --j) {
        const auto& [start, part] = parts[j];
        Point q;
        q.coords = p.coords;
        q.coords[d] = IndexExpr::Min(IndexExpr::Max(p.coords[d] - IndexExpr::Const(start),
                                                    IndexExpr::Const(0)),
                                     IndexExpr::Const(part->shape()[d] - 1));
        absl::StatusOr<int> v = Eval(part, q);
        if (!v.ok()) return v;
        const int val = Cast(*v, n->dtype());
        if (!result) {
          result = val;
          continue;
        }
        // p[d] < start of the next part selects this part.
        Expr idx;
        idx.kind = Expr::Kind::kIndex;
        idx.dtype = DType::kI64;
        idx.index = p.coords[d];
        const int ie = Add(idx);
        const int cond = Op("lt", DType::kBool, {ie, Const(parts[j + 1].first, DType::kI64)});
        result = Op("where", n->dtype(), {cond, val, *result});
      }
      if (!result) return Const(0, n->dtype());
      return *result;
    }
    return absl::InternalError(absl::StrCat("kernel ", k_.name, ": unknown layout op ", op));
  }

  absl::Status EmitReduction(const Node* r) {
    const int loop = Depth(r);
    stage_ = LoopStage(loop);
    const Node* in = r->operand_node(0);
    const std::string& op = r->op();
    Reduction red;
    red.id = k_.num_reductions();
    const DType in_c = ComputeType(in->dtype());
    if (op == "sum" || op == "mean") {
      red.kind = ReduceKind::kSum;
      red.acc_dtype = op == "mean" ? ComputeType(r->dtype())
                                   : (ir::IsFloatingPoint(in->dtype()) ? in_c : DType::kI64);
    } else if (op == "amax" || op == "amin") {
      red.kind = op == "amax" ? ReduceKind::kMax : ReduceKind::kMin;
      red.acc_dtype = in_c;
    } else if (op == "argmax") {
      red.kind = ReduceKind::kArgmax;
      red.acc_dtype = in_c;
    } else {
      return absl::InternalError(absl::StrCat("unknown reduction ", op));
    }
    absl::StatusOr<int> v = Eval(in, element_);
    if (!v.ok()) return v.status();
    red.input = Cast(*v, red.acc_dtype);
    k_.stages[stage_].reductions.push_back(red);
    stage_ = 2 * loop;
    Expr res;
    res.kind = Expr::Kind::kReduceResult;
    res.reduction = red.id;
    res.dtype = red.kind == ReduceKind::kArgmax ? DType::kI64 : red.acc_dtype;
    int result = Add(res);
    if (op == "mean") {
      result = Op("div", red.acc_dtype,
                  {result, Const(static_cast<double>(k_.inner_extent), red.acc_dtype)});
    }
    result_[r] = result;
    return absl::OkStatus();
  }

  absl::Status EmitStore(const Node* out, int arg) {
    Point p;
    int loop = Depth(out);
    if (IsReductionNode(*out)) {
      RowPoint(out->shape(), &p);
      stage_ = 2 * loop;
    } else if (out->shape() == in_shape_) {
      p = element_;
      // Pointwise work after the last reduction loop gets an epilogue loop;
      // work that reduction loop k+1 can do is stored there.
      stage_ = LoopStage(std::max(loop + 1, 1));
      (void)stages_needed_;
    } else if (RowPoint(out->shape(), &p)) {
      stage_ = 2 * loop;
      EnsureStages(stage_ + 1);
    } else {
      return absl::InternalError(absl::StrCat("kernel ", k_.name, ": output %", out->name(),
                                              " of shape ", out->shape().ToString(),
                                              " does not fit the iteration space ",
                                              in_shape_.ToString()));
    }
    EnsureStages(stage_ + 1);
    absl::StatusOr<int> v = Eval(out, p);
    if (!v.ok()) return v.status();
    Store s;
    s.arg = arg;
    s.index = Linearize(p, out->shape());
    s.value = Cast(*v, out->dtype());
    k_.stages[stage_].stores.push_back(s);
    return absl::OkStatus();
  }

  const ir::Graph& graph_;
  const passes::Step& step_;
  Kernel& k_;
  absl::flat_hash_set<const Node*> in_kernel_;
  absl::flat_hash_map<const Node*, int> arg_of_;
  std::vector<const Node*> reductions_;
  ir::Shape in_shape_;
  std::vector<int> dims_;
  Point element_, outer_;
  int stage_ = 0;
  int stages_needed_ = 0;
  absl::flat_hash_map<const Node*, int> depth_;
  absl::flat_hash_map<const Node*, int> result_;
  absl::flat_hash_map<std::string, int> memo_;
  absl::flat_hash_map<std::string, int> cse_;
  std::vector<bool> varies_;
  absl::flat_hash_map<int, int> slot_of_;
  // Rows longer than this recompute instead of using scratch arrays.
  static constexpr int64_t kMaxScratch = int64_t{1} << 20;
};

}  // namespace

namespace {

// A kernel step made from a recognized pattern (passes/attention.h).
absl::StatusOr<Kernel> BuildPatternKernel(const ir::Graph& graph, const passes::Step& step,
                                          Kernel k) {
  if (step.pattern != passes::kAttentionPattern || step.outputs.size() != 1) {
    return absl::InternalError(absl::StrCat("step ", step.id, ": no kernel for pattern '",
                                            step.pattern, "' with ", step.outputs.size(),
                                            " outputs"));
  }
  const std::optional<passes::AttentionMatch> m =
      passes::MatchAttention(graph, *step.outputs[0], graph.ComputeUsers());
  if (!m.has_value()) {
    return absl::InternalError(absl::StrCat("step ", step.id, ": %", step.outputs[0]->name(),
                                            " no longer matches the attention pattern"));
  }
  auto arg_of = [&](const ir::Node* n) {
    for (size_t i = 0; i < k.args.size(); ++i) {
      if (k.args[i].value == n->name()) return static_cast<int>(i);
    }
    return -1;
  };
  for (const ir::Node* n : step.inputs) {
    k.args.push_back({n->name(), n->dtype(), n->shape().num_elements(), false});
  }
  k.args.push_back({m->out->name(), m->out->dtype(), m->out->shape().num_elements(), true});
  AttentionSpec a;
  a.q = arg_of(m->q);
  a.k = arg_of(m->k);
  a.v = arg_of(m->v);
  a.out = static_cast<int>(k.args.size()) - 1;
  if (a.q < 0 || a.k < 0 || a.v < 0) {
    return absl::InternalError(absl::StrCat("step ", step.id,
                                            ": the attention inputs are not the step's inputs"));
  }
  a.dtype = m->out->dtype();
  a.batch = m->batch;
  a.sq = m->sq;
  a.sk = m->sk;
  a.d = m->d;
  a.scale = m->scale;
  k.attention = a;
  k.outer_extent = m->batch * m->sq;
  k.inner_extent = m->d;
  for (const ir::Node* n : step.nodes) k.nodes.push_back(n->name());
  return k;
}

}  // namespace

absl::StatusOr<Kernel> BuildKernel(const ir::Graph& graph, const passes::Step& step,
                                   const std::string& name) {
  if (step.kind != passes::StepKind::kKernel) {
    return absl::InvalidArgumentError(absl::StrCat("step ", step.id, " is not a kernel step"));
  }
  Kernel k;
  k.name = name;
  k.step = step.id;
  if (!step.pattern.empty()) return BuildPatternKernel(graph, step, std::move(k));
  k.stages.resize(1);
  Builder b(graph, step, &k);
  absl::Status s = b.Build();
  if (!s.ok()) return s;
  // Drop a trailing empty loop/row pair so dumps stay short.
  while (k.stages.size() > 1 && k.stages.back().exprs.empty() && k.stages.back().stores.empty() &&
         k.stages[k.stages.size() - 2].exprs.empty() &&
         k.stages[k.stages.size() - 2].stores.empty() &&
         k.stages[k.stages.size() - 2].reductions.empty()) {
    k.stages.resize(k.stages.size() - 2);
  }
  return k;
}

}  // namespace sluice::codegen
