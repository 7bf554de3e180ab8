#include "testing/random_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "ir/attribute.h"
#include "ir/builder.h"
#include "ir/op_registry.h"
#include "ir/shape.h"
#include "testing/random.h"

namespace sluice::testing {
namespace {

using ir::DType;

// Float values are rescaled when their estimated magnitude passes this.
constexpr double kMaxMagnitude = 16;
// Integer values are kept well inside i32.
constexpr double kMaxIntMagnitude = 1e6;

bool IsFloat(DType d) { return ir::IsFloatingPoint(d); }
bool IsNumeric(DType d) { return d != DType::kBool; }

// A value of the graph being generated: a graph input or a call result.
struct Val {
  ir::TensorType type;
  double mag = 1;       // a rough bound on |element|
  bool exact = true;    // computed bit for bit by any correct implementation
  // Per dim: whether elements differ along it (false for size-1 dims and
  // dims made by broadcasting/expanding); conservative.
  std::vector<bool> varies;
  bool is_input = false;
  int uses = 0;

  int rank() const { return type.shape.rank(); }
  DType dtype() const { return type.dtype; }
  const ir::Shape& shape() const { return type.shape; }
};

// An operand: a value index or, when value < 0, a scalar literal.
struct Ref {
  int value = -1;
  ir::Scalar literal;

  Ref(int v) : value(v) {}  // NOLINT
  Ref(ir::Scalar s) : literal(s) {}  // NOLINT
  bool is_literal() const { return value < 0; }
};

struct Spec {
  std::string op;
  std::vector<Ref> operands;
  ir::AttrDict attrs;
  int value;
};

ir::AttrDict Attrs(std::vector<std::pair<std::string, ir::AttrValue>> kv) {
  ir::AttrDict d;
  for (auto& [k, v] : kv) d.Set(k, std::move(v));
  return d;
}

ir::Scalar F(double v) { return ir::Scalar::Float(v); }

bool Broadcastable(const ir::Shape& a, const ir::Shape& b) {
  return ir::BroadcastShapes(a, b).ok();
}

std::vector<int64_t> PrimeFactors(int64_t n) {
  std::vector<int64_t> f;
  for (int64_t p = 2; p * p <= n; ++p) {
    while (n % p == 0) {
      f.push_back(p);
      n /= p;
    }
  }
  if (n > 1) f.push_back(n);
  return f;
}

class Generator {
 public:
  Generator(uint64_t seed, const RandomGraphOptions& options)
      : rng_(MixSeed(seed, 0x6a09e667)), options_(options), seed_(seed) {
    double cap = 4;
    for (int i = 0; i < options.max_rank; ++i) cap *= static_cast<double>(options.max_dim);
    max_elements_ = static_cast<int64_t>(std::clamp(cap, 4096.0, 1.0 * (1 << 22)));
    for (DType d : options.dtypes) {
      if (IsFloat(d)) float_dtypes_.push_back(d);
    }
    if (float_dtypes_.empty()) float_dtypes_.push_back(ir::kDefaultFloat);
  }

  absl::StatusOr<ir::Graph> Run();

 private:
  enum class Family { kElementwise, kBroadcasting, kReductions, kComposites, kLayout, kMatmul };

  using Pred = std::function<bool(const Val&)>;

  const Val& V(int i) const { return values_[i]; }
  bool Coin(double p = 0.5) { return rng_.Bernoulli(p); }

  DType AnyDType() { return rng_.Pick(options_.dtypes); }
  DType FloatDType() { return rng_.Pick(float_dtypes_); }
  int64_t Dim() { return Coin(0.15) ? 1 : rng_.UniformInt(1, options_.max_dim); }
  ir::Shape RandomShape(int min_rank);
  // A dim index of `rank`, written negatively some of the time.
  int64_t DimAttr(int dim, int rank) { return Coin(0.3) ? dim - rank : dim; }

  int NewInput(ir::TensorType type);
  // A value satisfying `pred`, preferring recent ones; -1 if none.
  int Pick(const Pred& pred);
  int PickOr(const Pred& pred, const std::function<ir::TensorType()>& make) {
    const int v = Pick(pred);
    return v >= 0 ? v : NewInput(make());
  }
  bool AllowedFloat(DType d) const {
    return std::find(float_dtypes_.begin(), float_dtypes_.end(), d) != float_dtypes_.end();
  }
  // A float value of one of the option's float dtypes (so that inputs made
  // to go with it, like weights, have an allowed dtype too).
  int PickFloat(int min_rank) {
    return PickOr([this, min_rank](const Val& v) {
                    return AllowedFloat(v.dtype()) && v.rank() >= min_rank;
                  },
                  [&] { return ir::TensorType{FloatDType(), RandomShape(std::max(1, min_rank))}; });
  }
  int PickNumeric(int min_rank) {
    return PickOr([min_rank](const Val& v) { return IsNumeric(v.dtype()) && v.rank() >= min_rank; },
                  [&] {
                    DType d = AnyDType();
                    if (!IsNumeric(d)) d = FloatDType();
                    return ir::TensorType{d, RandomShape(std::max(1, min_rank))};
                  });
  }

  // Adds a call; returns its value, or -1 (status_ set on a real error; a
  // result over the element cap is a silent -1). Float results whose
  // magnitude passes kMaxMagnitude come back rescaled.
  int Emit(absl::string_view op, std::vector<Ref> operands, ir::AttrDict attrs = {},
           std::optional<double> mag = std::nullopt);
  void Derive(const std::string& op, const std::vector<Ref>& operands,
              const ir::AttrDict& attrs, Val& out) const;
  double Mag(const Ref& r) const {
    return r.is_literal() ? std::fabs(r.literal.value) : V(r.value).mag;
  }

  // v scaled by a power of two (exact) so its magnitude is at most `limit`.
  int Bound(int v, double limit);
  // abs(v) + 1.0 (>= 1), or v itself for a graph input when `allow_input`
  // (RandomInputs makes those positive / non-zero).
  int AwayFromZero(int v, bool allow_input);
  // An exact bool value, broadcastable with `like` when given.
  int MakeBool(const ir::Shape* like);

  bool Step(Family f);
  bool Unary();
  bool Binary();
  bool Compare();
  bool Logical();
  bool Where();
  bool Cast();
  bool Broadcasting();
  bool Reduction();
  bool Composite();
  bool Layout();
  bool Matmul();
  int BroadcastPartner(int a);

  Rng rng_;
  const RandomGraphOptions& options_;
  uint64_t seed_;
  int64_t max_elements_;
  std::vector<DType> float_dtypes_;
  std::vector<Val> values_;
  std::vector<int> input_values_;  // indices into values_, in creation order
  std::vector<Spec> specs_;
  absl::Status status_;
};

ir::Shape Generator::RandomShape(int min_rank) {
  const int max_rank = std::max(options_.max_rank, min_rank);
  int rank = static_cast<int>(rng_.UniformInt(std::max(1, min_rank), std::max(1, max_rank)));
  if (min_rank == 0 && Coin(0.1)) rank = 0;
  std::vector<int64_t> dims;
  for (int i = 0; i < rank; ++i) dims.push_back(Dim());
  return ir::Shape(std::move(dims));
}

int Generator::NewInput(ir::TensorType type) {
  Val v;
  v.is_input = true;
  v.mag = IsFloat(type.dtype) ? 4 : type.dtype == DType::kBool ? 1 : 10;
  v.exact = true;
  for (int64_t d : type.shape.dims()) v.varies.push_back(d > 1);
  v.type = std::move(type);
  values_.push_back(std::move(v));
  input_values_.push_back(static_cast<int>(values_.size()) - 1);
  return static_cast<int>(values_.size()) - 1;
}

int Generator::Pick(const Pred& pred) {
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(values_.size()); ++i) {
    if (pred(values_[i])) candidates.push_back(i);
  }
  if (candidates.empty()) return -1;
  // Recent values more often, for depth.
  if (candidates.size() > 3 && Coin(0.6)) {
    return candidates[candidates.size() - 1 - rng_.Index(3)];
  }
  return rng_.Pick(candidates);
}

int Generator::Emit(absl::string_view op, std::vector<Ref> operands, ir::AttrDict attrs,
                    std::optional<double> mag) {
  if (!status_.ok()) return -1;
  for (const Ref& r : operands) {
    if (!r.is_literal() && r.value >= static_cast<int>(values_.size())) return -1;
  }
  const ir::OpSchema* schema = ir::OpRegistry::Global().Find(op);
  std::vector<ir::OperandInfo> infos;
  std::vector<std::string> operand_text;
  for (const Ref& r : operands) {
    if (r.is_literal()) {
      infos.push_back(
          {ir::TensorType{r.literal.is_int ? DType::kI64 : DType::kF64, ir::Shape()}, true});
      operand_text.push_back(r.literal.ToString());
    } else {
      infos.push_back({V(r.value).type, false});
      operand_text.push_back(V(r.value).type.ToString());
    }
  }
  absl::StatusOr<ir::TensorType> type =
      schema == nullptr ? absl::NotFoundError("unknown op")
                        : ir::CheckAndInfer(*schema, infos, attrs);
  if (!type.ok()) {
    status_ = absl::InternalError(absl::StrCat(
        "RandomGraph(seed ", seed_, ") made an invalid call ", op, "(",
        absl::StrJoin(operand_text, ", "), ") ", attrs.ToString(), ": ",
        type.status().message()));
    return -1;
  }
  if (type->shape.num_elements() > max_elements_) return -1;
  Val out;
  out.type = *type;
  Derive(std::string(op), operands, attrs, out);
  if (mag.has_value()) out.mag = *mag;
  if (!IsFloat(out.dtype()) && out.mag > kMaxIntMagnitude) return -1;
  const int index = static_cast<int>(values_.size());
  for (const Ref& r : operands) {
    if (!r.is_literal()) ++values_[r.value].uses;
  }
  values_.push_back(std::move(out));
  specs_.push_back({std::string(op), std::move(operands), std::move(attrs), index});
  if (IsFloat(V(index).dtype()) && V(index).mag > kMaxMagnitude) return Bound(index, 4);
  return index;
}

void Generator::Derive(const std::string& op, const std::vector<Ref>& operands,
                       const ir::AttrDict& attrs, Val& out) const {
  const ir::OpSchema* schema = ir::OpRegistry::Global().Find(op);
  const int rank = out.rank();
  out.varies.assign(rank, false);
  auto dims_of = [&](int i) -> const ir::Shape& { return V(operands[i].value).shape(); };
  // ORs operand i's variation into the output, aligned at the right (as
  // broadcasting aligns), skipping dims the operand broadcasts.
  auto merge_right = [&](int i) {
    if (operands[i].is_literal()) return;
    const Val& in = V(operands[i].value);
    for (int d = 0; d < in.rank(); ++d) {
      const int o = rank - in.rank() + d;
      if (o >= 0 && in.shape()[d] == out.shape()[o] && in.varies[d]) out.varies[o] = true;
    }
  };
  bool all_exact = true;
  double max_mag = 0;
  for (const Ref& r : operands) {
    if (!r.is_literal()) all_exact = all_exact && V(r.value).exact;
    max_mag = std::max(max_mag, Mag(r));
  }
  const double m0 = operands.empty() ? 1 : Mag(operands[0]);
  out.exact = false;
  out.mag = max_mag;
  const ir::OpKind kind = schema->kind;

  if (kind == ir::OpKind::kUnary || kind == ir::OpKind::kBinary ||
      kind == ir::OpKind::kTernary) {
    for (size_t i = 0; i < operands.size(); ++i) merge_right(static_cast<int>(i));
    const bool integral = !IsFloat(out.dtype());
    if (op == "neg" || op == "abs" || op == "relu" || op == "maximum" || op == "minimum" ||
        op == "where" || op == "cast") {
      out.exact = all_exact;
      if (op == "where") out.mag = std::max(Mag(operands[1]), Mag(operands[2]));
      if (op == "cast" && out.dtype() == DType::kBool) out.mag = 1;
    } else if (op == "logical_not" || op == "logical_and" || op == "logical_or" ||
               op == "eq" || op == "ne" || op == "lt" || op == "le" || op == "gt" ||
               op == "ge") {
      out.exact = all_exact;
      out.mag = 1;
    } else if (op == "add" || op == "sub") {
      out.mag = Mag(operands[0]) + Mag(operands[1]);
      out.exact = all_exact && integral;
    } else if (op == "mul") {
      out.mag = Mag(operands[0]) * Mag(operands[1]);
      bool pow2_scale = false;
      for (const Ref& r : operands) {
        if (r.is_literal()) {
          int e;
          pow2_scale = std::frexp(r.literal.value, &e) == 0.5;
        }
      }
      out.exact = all_exact && (integral || pow2_scale);
    } else if (op == "div") {
      // Divisors are >= 1 in magnitude (abs + 1, literals) or inputs >= 0.5.
      const double divisor = operands[1].is_literal() ? std::fabs(operands[1].literal.value) : 0.5;
      out.mag = Mag(operands[0]) / std::min(divisor, 1.0);
    } else if (op == "exp") {
      out.mag = std::exp(m0);
    } else if (op == "log") {
      out.mag = std::max(1.0, std::log(m0 + 1));
    } else if (op == "sqrt") {
      out.mag = std::sqrt(m0);
    } else if (op == "rsqrt" || op == "reciprocal") {
      out.mag = 2;
    } else if (op == "sin" || op == "cos" || op == "tanh" || op == "sigmoid" || op == "erf") {
      out.mag = 1;
    } else if (op == "pow") {
      out.mag = std::pow(std::max(m0, 2.0), std::max(1.0, Mag(operands[1])));
    }
    // silu, gelu: |f(x)| <= |x| + 1; the default max_mag is fine.
    return;
  }
  if (kind == ir::OpKind::kReduction) {
    const Val& in = V(operands[0].value);
    std::vector<bool> reduced(in.rank(), false);
    const ir::AttrValue* keep_attr = attrs.Find("keepdim");
    const bool keepdim = keep_attr != nullptr && keep_attr->as_bool();
    if (op == "argmax") {
      if (in.rank() > 0) reduced[*ir::NormalizeDim(attrs.Find("dim")->as_int(), in.rank())] = true;
    } else {
      const ir::AttrValue* dims = attrs.Find("dims");
      const std::vector<int64_t> list = dims == nullptr ? std::vector<int64_t>{} : dims->as_int_list();
      if (list.empty()) reduced.assign(in.rank(), true);
      for (int64_t d : list) reduced[*ir::NormalizeDim(d, in.rank())] = true;
    }
    int64_t count = 1;
    int o = 0;
    for (int d = 0; d < in.rank(); ++d) {
      if (reduced[d]) {
        count *= in.shape()[d];
        if (keepdim) ++o;
        continue;
      }
      out.varies[o++] = in.varies[d];
    }
    if (op == "sum") {
      out.mag = m0 * static_cast<double>(count);
      out.exact = in.exact && !IsFloat(out.dtype());
    } else if (op == "amax" || op == "amin") {
      out.exact = in.exact;
    } else if (op == "argmax") {
      out.exact = in.exact;
      out.mag = static_cast<double>(count);
    }
    return;
  }
  if (kind == ir::OpKind::kComposite) {
    for (size_t i = 0; i < operands.size(); ++i) merge_right(static_cast<int>(i));
    if (op == "softmax") {
      out.mag = 1;
    } else if (op == "log_softmax") {
      const int64_t n =
          dims_of(0).rank() == 0
              ? 1
              : dims_of(0)[*ir::NormalizeDim(attrs.Find("dim")->as_int(), dims_of(0).rank())];
      out.mag = 2 * m0 + std::log(static_cast<double>(n)) + 1;
    } else {
      double n = 1;
      for (int64_t d : attrs.Find("normalized_shape")->as_int_list()) n *= static_cast<double>(d);
      const double weight = operands.size() > 1 ? Mag(operands[1]) : 1;
      const double bias = operands.size() > 2 ? Mag(operands[2]) : 0;
      out.mag = std::sqrt(n) * weight + bias;
    }
    return;
  }
  if (kind == ir::OpKind::kLayout) {
    out.exact = all_exact;
    const Val& in = V(operands[0].value);
    if (op == "reshape") {
      bool all_vary = true;
      for (int d = 0; d < in.rank(); ++d) all_vary = all_vary && (in.shape()[d] == 1 || in.varies[d]);
      for (int d = 0; d < rank; ++d) out.varies[d] = all_vary && out.shape()[d] > 1;
    } else if (op == "permute") {
      const std::vector<int64_t> perm = attrs.Find("dims")->as_int_list();
      for (int d = 0; d < rank; ++d) out.varies[d] = in.varies[*ir::NormalizeDim(perm[d], rank)];
    } else if (op == "transpose") {
      out.varies = in.varies;
      const int a = *ir::NormalizeDim(attrs.Find("dim0")->as_int(), rank);
      const int b = *ir::NormalizeDim(attrs.Find("dim1")->as_int(), rank);
      std::vector<bool>::swap(out.varies[a], out.varies[b]);
    } else if (op == "expand") {
      merge_right(0);
    } else if (op == "slice" || op == "concat") {
      // Conservative for concat: parts that are each constant along the
      // concat dim may still differ from each other.
      for (size_t i = 0; i < operands.size(); ++i) {
        const Val& part = V(operands[i].value);
        for (int d = 0; d < rank; ++d) {
          if (part.varies[d] && out.shape()[d] > 1) out.varies[d] = true;
        }
      }
    } else if (op == "squeeze" || op == "unsqueeze") {
      int o = 0;
      for (int d = 0; d < in.rank(); ++d) {
        if (in.shape()[d] == 1) continue;  // size-1 dims never vary
        while (o < rank && out.shape()[o] == 1) ++o;
        if (o < rank) out.varies[o++] = in.varies[d];
      }
    }
    return;
  }
  if (kind == ir::OpKind::kMatmul) {
    const Val& a = V(operands[0].value);
    const Val& b = V(operands[1].value);
    const int64_t k = a.shape()[a.rank() - 1];
    out.mag = a.mag * b.mag * static_cast<double>(k);
    // Batch dims: aligned at the right of the batch part.
    const int batch = rank - (a.rank() > 1 ? 1 : 0) - (b.rank() > 1 ? 1 : 0);
    for (const Val* in : {&a, &b}) {
      const int in_batch = std::max(0, in->rank() - 2);
      for (int d = 0; d < in_batch; ++d) {
        const int o = batch - in_batch + d;
        if (o >= 0 && in->shape()[d] == out.shape()[o] && in->varies[d]) out.varies[o] = true;
      }
    }
    if (a.rank() > 1) out.varies[batch] = a.varies[a.rank() - 2];
    if (b.rank() > 1) out.varies[rank - 1] = b.varies[b.rank() - 1];
    return;
  }
  // kCreation (full): constant.
  out.exact = true;
  out.mag = std::fabs(attrs.Find("value")->as_float());
}

int Generator::Bound(int v, double limit) {
  // Integers become f32 (exactly, as |v| <= kMaxIntMagnitude < 2^24).
  if (v < 0 || !IsNumeric(V(v).dtype()) || V(v).mag <= limit) return v;
  const int k = static_cast<int>(std::ceil(std::log2(V(v).mag / limit)));
  return Emit("mul", {v, F(std::ldexp(1.0, -k))}, {}, V(v).mag * std::ldexp(1.0, -k));
}

int Generator::AwayFromZero(int v, bool allow_input) {
  if (v < 0) return -1;
  if (allow_input && V(v).is_input && IsNumeric(V(v).dtype()) && Coin(0.5)) return v;
  // Bounded first so that the add is not rescaled (toward zero) itself.
  const int a = Emit("abs", {Bound(v, kMaxMagnitude / 2)});
  return Emit("add", {a, F(1.0)});
}

int Generator::MakeBool(const ir::Shape* like) {
  int x = Pick([&](const Val& v) {
    return v.exact && IsNumeric(v.dtype()) && (like == nullptr || Broadcastable(v.shape(), *like));
  });
  if (x < 0) {
    x = NewInput({AnyDType(), like != nullptr ? *like : RandomShape(0)});
    if (V(x).dtype() == DType::kBool) return x;
  }
  static const char* const kOps[] = {"gt", "lt", "ge", "le"};
  return Emit(kOps[rng_.Index(4)], {x, Coin() ? ir::Scalar::Int(0) : F(0.5)});
}

bool Generator::Unary() {
  static const std::vector<std::string> kOps = {
      "neg", "abs", "relu", "sin", "cos", "tanh", "sigmoid", "silu", "erf",
      "gelu", "exp", "log", "sqrt", "rsqrt", "reciprocal"};
  const std::string& op = rng_.Pick(kOps);
  int x = PickNumeric(0);
  ir::AttrDict attrs;
  if (op == "sin" || op == "cos") {
    x = Bound(x, 4);
  } else if (op == "exp") {
    x = Bound(x, 2);
  } else if (op == "log" || op == "sqrt" || op == "rsqrt" || op == "reciprocal") {
    x = AwayFromZero(x, /*allow_input=*/true);
  } else if (op == "gelu" && Coin(0.6)) {
    attrs.Set("approximate", Coin() ? "tanh" : "none");
  }
  if (x < 0) return false;
  return Emit(op, {x}, std::move(attrs)) >= 0;
}

bool Generator::Binary() {
  static const std::vector<std::string> kOps = {"add", "sub", "mul", "div",
                                                "maximum", "minimum", "pow"};
  std::string op = rng_.Pick(kOps);
  const int a = PickNumeric(0);
  if (a < 0) return false;
  std::optional<Ref> b;
  if (!Coin(0.3)) {
    const int same = Coin(0.3) ? a : Pick([&](const Val& v) {
      return IsNumeric(v.dtype()) && v.shape() == V(a).shape();
    });
    if (same >= 0) b = Ref(same);
  }
  if (!b.has_value()) {
    static const double kLiterals[] = {0.5, 2.0, -1.5, 3.0, 0.25};
    b = Coin(0.25) ? Ref(ir::Scalar::Int(rng_.UniformInt(1, 3)))
                   : Ref(F(kLiterals[rng_.Index(5)]));
  }
  const bool integral = !IsFloat(V(a).dtype()) &&
                        (b->is_literal() ? b->literal.is_int : !IsFloat(V(b->value).dtype()));
  if (op == "mul" && integral && V(a).mag * Mag(*b) > kMaxIntMagnitude) op = "add";
  if (op == "div") {
    Ref divisor = *b;
    if (!divisor.is_literal()) divisor = AwayFromZero(divisor.value, /*allow_input=*/true);
    if (!divisor.is_literal() && divisor.value < 0) return false;
    if (Coin(0.2)) {  // literal / value
      const int d = AwayFromZero(a, true);
      return d >= 0 && Emit("div", {F(2.0), d}) >= 0;
    }
    return Emit("div", {a, divisor}) >= 0;
  }
  if (op == "pow") {
    const int base = AwayFromZero(Bound(a, 4), /*allow_input=*/true);
    if (base < 0) return false;
    Ref exponent = *b;
    if (!exponent.is_literal()) {
      exponent = Emit("tanh", {exponent.value});
      if (exponent.value < 0) return false;
    } else if (std::fabs(exponent.literal.value) > 3) {
      exponent = F(2.0);
    }
    return Emit("pow", {base, exponent}) >= 0;
  }
  if (b->is_literal() && Coin(0.2)) return Emit(op, {*b, a}) >= 0;
  return Emit(op, {a, *b}) >= 0;
}

bool Generator::Compare() {
  static const char* const kOps[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  const int a = Pick([](const Val& v) { return v.exact && IsNumeric(v.dtype()); });
  if (a < 0) return false;
  Ref b = F(0.0);
  if (Coin(0.6)) {
    const int other = Pick([&](const Val& v) {
      return v.exact && IsNumeric(v.dtype()) && Broadcastable(v.shape(), V(a).shape());
    });
    if (other >= 0) b = other;
  } else if (Coin(0.3)) {
    b = ir::Scalar::Int(rng_.UniformInt(-1, 1));
  }
  return Emit(kOps[rng_.Index(6)], {a, b}) >= 0;
}

bool Generator::Logical() {
  int a = Pick([](const Val& v) { return v.dtype() == DType::kBool; });
  if (a < 0) a = MakeBool(nullptr);
  if (a < 0) return false;
  if (Coin(0.4)) return Emit("logical_not", {a}) >= 0;
  int b = Pick([&](const Val& v) {
    return v.dtype() == DType::kBool && Broadcastable(v.shape(), V(a).shape());
  });
  if (b < 0 || b == a) {
    const ir::Shape shape = V(a).shape();
    b = MakeBool(&shape);
  }
  if (b < 0) return false;
  return Emit(Coin() ? "logical_and" : "logical_or", {a, b}) >= 0;
}

bool Generator::Where() {
  int cond = Pick([](const Val& v) { return v.dtype() == DType::kBool && v.exact; });
  if (cond < 0) cond = MakeBool(nullptr);
  if (cond < 0) return false;
  const ir::Shape cshape = V(cond).shape();
  int a = Pick([&](const Val& v) {
    return IsNumeric(v.dtype()) && Broadcastable(v.shape(), cshape);
  });
  if (a < 0) a = NewInput({FloatDType(), cshape});
  absl::StatusOr<ir::Shape> ac = ir::BroadcastShapes(V(a).shape(), cshape);
  if (!ac.ok()) return false;
  Ref b = F(0.0);
  if (Coin(0.7)) {
    const int other = Pick([&](const Val& v) {
      return IsNumeric(v.dtype()) && Broadcastable(v.shape(), *ac);
    });
    if (other >= 0) b = other;
  }
  if (b.is_literal() && Coin(0.3)) return Emit("where", {cond, b, a}) >= 0;
  return Emit("where", {cond, a, b}) >= 0;
}

bool Generator::Cast() {
  const int x = Pick([](const Val&) { return true; });
  if (x < 0) return false;
  std::vector<DType> targets;
  std::vector<DType> all = options_.dtypes;
  all.push_back(DType::kBool);
  for (DType d : all) {
    if (d == V(x).dtype() || std::find(targets.begin(), targets.end(), d) != targets.end()) {
      continue;
    }
    // Rounding a computed float to an integer or bool is discontinuous.
    if (IsFloat(V(x).dtype()) && !IsFloat(d) && !V(x).exact) continue;
    // Large integers would overflow f16.
    if (d == DType::kF16 && V(x).mag > 60000) continue;
    targets.push_back(d);
  }
  if (targets.empty()) return false;
  return Emit("cast", {x}, Attrs({{"dtype", rng_.Pick(targets)}})) >= 0;
}

int Generator::BroadcastPartner(int a) {
  const Val va = V(a);  // a copy: emitting may reallocate values_
  const int strategy = static_cast<int>(rng_.Index(4));
  if (strategy == 0) {
    const int p = Pick([&](const Val& v) {
      if (!IsNumeric(v.dtype()) || v.shape() == va.shape()) return false;
      absl::StatusOr<ir::Shape> s = ir::BroadcastShapes(v.shape(), va.shape());
      return s.ok() && s->num_elements() <= max_elements_;
    });
    if (p >= 0) return p;
  }
  if (strategy == 1 && options_.reductions && va.rank() >= 1) {
    // A statistic of `a` itself, reduced with keepdim (or over leading dims
    // without it): the softmax/normalization pattern.
    std::vector<std::string> ops = {"amax", "amin", "sum"};
    if (IsFloat(va.dtype())) ops.push_back("mean");
    const std::string& op = rng_.Pick(ops);
    std::vector<int64_t> dims;
    const bool keepdim = Coin(0.7);
    if (keepdim) {
      for (int d = 0; d < va.rank(); ++d) {
        if (Coin()) dims.push_back(DimAttr(d, va.rank()));
      }
      if (dims.empty()) dims.push_back(DimAttr(va.rank() - 1, va.rank()));
    } else {
      const int lead = static_cast<int>(rng_.UniformInt(1, va.rank()));
      for (int d = 0; d < lead; ++d) dims.push_back(d);
    }
    return Emit(op, {a}, Attrs({{"dims", ir::AttrValue::IntList(dims)}, {"keepdim", keepdim}}));
  }
  if (strategy == 2 && options_.layout && va.rank() >= 1) {
    int p = a;
    for (int d = 0; d < va.rank() && p >= 0; ++d) {
      const int64_t size = V(p).shape()[d];
      if (size > 1 && Coin()) {
        const int64_t start = rng_.Index(size);
        p = Emit("slice", {p}, Attrs({{"dim", DimAttr(d, va.rank())},
                                      {"start", start},
                                      {"end", start + 1}}));
      }
    }
    if (p != a) return p;
  }
  // A new input of a compatible shape.
  std::vector<int64_t> dims = va.shape().dims();
  for (int64_t& d : dims) {
    if (d == 1) {
      if (Coin()) d = rng_.UniformInt(1, options_.max_dim);
    } else if (Coin()) {
      d = 1;
    }
  }
  if (!dims.empty() && Coin(0.3)) {
    dims.erase(dims.begin(), dims.begin() + rng_.UniformInt(1, static_cast<int64_t>(dims.size())));
  } else if (static_cast<int>(dims.size()) < options_.max_rank && Coin(0.2)) {
    dims.insert(dims.begin(), rng_.UniformInt(1, options_.max_dim));
  }
  ir::Shape shape(dims);
  absl::StatusOr<ir::Shape> out = ir::BroadcastShapes(shape, va.shape());
  if (!out.ok() || out->num_elements() > max_elements_) return -1;
  DType d = AnyDType();
  if (!IsNumeric(d)) d = FloatDType();
  return NewInput({d, shape});
}

bool Generator::Broadcasting() {
  const int a = PickNumeric(1);
  if (a < 0) return false;
  const int b = BroadcastPartner(a);
  if (b < 0) return false;
  static const std::vector<std::string> kOps = {"add", "sub", "mul", "div", "maximum", "minimum"};
  std::string op = rng_.Pick(kOps);
  if (V(a).exact && V(b).exact && Coin(0.2)) op = Coin() ? "gt" : "le";
  int lhs = a, rhs = b;
  if (Coin(0.3)) std::swap(lhs, rhs);
  if (op == "div") rhs = AwayFromZero(rhs, /*allow_input=*/true);
  if (op == "mul" && !IsFloat(V(lhs).dtype()) && !IsFloat(V(rhs).dtype()) &&
      V(lhs).mag * V(rhs).mag > kMaxIntMagnitude) {
    op = "add";
  }
  if (rhs < 0) return false;
  return Emit(op, {lhs, rhs}) >= 0;
}

bool Generator::Reduction() {
  const int x = PickNumeric(0);
  if (x < 0) return false;
  const Val v = V(x);
  std::vector<std::string> ops = {"sum", "amax", "amin"};
  if (IsFloat(v.dtype())) ops.push_back("mean");
  if (v.exact && v.rank() > 0) ops.push_back("argmax");
  const std::string op = rng_.Pick(ops);
  ir::AttrDict attrs;
  if (op == "argmax") {
    attrs.Set("dim", DimAttr(static_cast<int>(rng_.Index(v.rank())), v.rank()));
  } else if (v.rank() == 0 || Coin(0.15)) {
    if (Coin()) attrs.Set("dims", ir::AttrValue::IntList({}));
  } else {
    std::vector<int64_t> dims;
    for (int d = 0; d < v.rank(); ++d) {
      if (Coin()) dims.push_back(DimAttr(d, v.rank()));
    }
    if (dims.empty()) dims.push_back(DimAttr(static_cast<int>(rng_.Index(v.rank())), v.rank()));
    attrs.Set("dims", ir::AttrValue::IntList(dims));
  }
  if (Coin(0.4)) attrs.Set("keepdim", true);
  return Emit(op, {x}, std::move(attrs)) >= 0;
}

bool Generator::Composite() {
  const int x = PickFloat(1);
  if (x < 0) return false;
  const Val v = V(x);  // a copy: emitting may reallocate values_
  const int rank = v.rank();
  const int choice = static_cast<int>(rng_.Index(4));
  // Normalizations divide by the rows' spread (layer_norm: the standard
  // deviation, rms_norm: the root mean square) plus eps; where that is ~0,
  // the result is rounding noise amplified up to 1/sqrt(eps). So they only
  // normalize at least 4 elements along which the values vary (not rows that
  // are constant by broadcasting).
  std::vector<int> ks;
  for (int k = 1; k <= std::min(rank, 2); ++k) {
    int64_t n = 1;
    bool varies = false;
    for (int d = rank - k; d < rank; ++d) {
      n *= v.shape()[d];
      varies = varies || v.varies[d];
    }
    if (n >= 4 && varies) ks.push_back(k);
  }
  if (choice < 2 || ks.empty()) {
    return Emit(choice % 2 == 0 ? "softmax" : "log_softmax", {x},
                Attrs({{"dim", DimAttr(static_cast<int>(rng_.Index(rank)), rank)}})) >= 0;
  }
  const int k = rng_.Pick(ks);
  const std::vector<int64_t> ns(v.shape().dims().end() - k, v.shape().dims().end());
  const bool layer_norm = choice == 2;
  const ir::TensorType param_type{v.dtype(), ir::Shape(ns)};
  std::vector<Ref> operands = {x};
  const int num_params = static_cast<int>(rng_.Index(layer_norm ? 3 : 2));
  for (int i = 0; i < num_params; ++i) {
    const int p = PickOr([&](const Val& c) { return c.type == param_type && Coin(0.3); },
                         [&] { return param_type; });
    operands.push_back(p);
  }
  ir::AttrDict attrs = Attrs({{"normalized_shape", ir::AttrValue::IntList(ns)}});
  if (Coin(0.3)) attrs.Set("eps", layer_norm ? 1e-5 : 1e-6);
  return Emit(layer_norm ? "layer_norm" : "rms_norm", std::move(operands), std::move(attrs)) >= 0;
}

bool Generator::Layout() {
  const int x = Pick([](const Val&) { return true; });
  if (x < 0) return false;
  // A copy: emitting may reallocate values_.
  const Val v = V(x);
  const int rank = v.rank();
  std::vector<std::string> ops = {"reshape", "expand", "unsqueeze"};
  if (rank >= 2) {
    ops.push_back("permute");
    ops.push_back("transpose");
  }
  bool has_one = false, has_big = false;
  for (int64_t d : v.shape().dims()) {
    has_one = has_one || d == 1;
    has_big = has_big || d > 1;
  }
  if (has_one) ops.push_back("squeeze");
  if (has_big) ops.push_back("slice");
  if (rank >= 1) ops.push_back("concat");
  const std::string op = rng_.Pick(ops);

  if (op == "reshape") {
    const int64_t n = v.shape().num_elements();
    int target = static_cast<int>(rng_.UniformInt(1, std::max(1, options_.max_rank)));
    if (n == 1 && Coin(0.3)) target = 0;
    std::vector<int64_t> dims(target, 1);
    for (int64_t p : PrimeFactors(n)) {
      if (target > 0) dims[rng_.Index(target)] *= p;
    }
    if (target > 0 && Coin(0.3)) dims[rng_.Index(target)] = -1;
    return Emit("reshape", {x}, Attrs({{"shape", ir::AttrValue::IntList(dims)}})) >= 0;
  }
  if (op == "permute") {
    std::vector<int64_t> perm(rank);
    for (int i = 0; i < rank; ++i) perm[i] = i;
    for (int i = rank - 1; i > 0; --i) std::swap(perm[i], perm[rng_.Index(i + 1)]);
    for (int64_t& p : perm) p = DimAttr(static_cast<int>(p), rank);
    return Emit("permute", {x}, Attrs({{"dims", ir::AttrValue::IntList(perm)}})) >= 0;
  }
  if (op == "transpose") {
    const int a = static_cast<int>(rng_.Index(rank));
    int b = static_cast<int>(rng_.Index(rank - 1));
    if (b >= a) ++b;
    return Emit("transpose", {x}, Attrs({{"dim0", DimAttr(a, rank)}, {"dim1", DimAttr(b, rank)}})) >= 0;
  }
  if (op == "expand") {
    std::vector<int64_t> shape;
    for (int64_t d : v.shape().dims()) {
      shape.push_back(d == 1 ? rng_.UniformInt(1, options_.max_dim) : (Coin(0.3) ? -1 : d));
    }
    if (rank < options_.max_rank && (Coin(0.4) || !has_one)) {
      shape.insert(shape.begin(), rng_.UniformInt(1, options_.max_dim));
    }
    return Emit("expand", {x}, Attrs({{"shape", ir::AttrValue::IntList(shape)}})) >= 0;
  }
  if (op == "slice") {
    std::vector<int> big;
    for (int d = 0; d < rank; ++d) {
      if (v.shape()[d] > 1) big.push_back(d);
    }
    const int d = rng_.Pick(big);
    const int64_t size = v.shape()[d];
    const int64_t start = rng_.Index(size);
    const int64_t end = rng_.UniformInt(start + 1, size);
    ir::AttrDict attrs = Attrs({{"dim", DimAttr(d, rank)}});
    if (start > 0 || Coin()) attrs.Set("start", Coin(0.3) ? start - size : start);
    if (end < size || Coin()) attrs.Set("end", end < size && Coin(0.3) ? end - size : end);
    if (end - start > 2 && Coin(0.3)) attrs.Set("step", int64_t{2});
    if (end == size && Coin(0.2)) attrs.Erase("end");
    return Emit("slice", {x}, std::move(attrs)) >= 0;
  }
  if (op == "concat") {
    const int d = static_cast<int>(rng_.Index(rank));
    std::vector<Ref> parts = {x};
    const int extra = static_cast<int>(rng_.UniformInt(1, 2));
    for (int i = 0; i < extra; ++i) {
      int p = Pick([&](const Val& c) {
        if (c.dtype() != v.dtype() || c.rank() != rank) return false;
        for (int k = 0; k < rank; ++k) {
          if (k != d && c.shape()[k] != v.shape()[k]) return false;
        }
        return true;
      });
      if (p < 0 && v.shape()[d] > 1 && Coin()) {
        const int64_t size = v.shape()[d];
        const int64_t start = rng_.Index(size);
        p = Emit("slice", {x}, Attrs({{"dim", int64_t{d}}, {"start", start},
                                      {"end", rng_.UniformInt(start + 1, size)}}));
      }
      parts.push_back(p >= 0 ? p : x);
    }
    return Emit("concat", std::move(parts), Attrs({{"dim", DimAttr(d, rank)}})) >= 0;
  }
  if (op == "squeeze") {
    std::vector<int64_t> dims;
    for (int d = 0; d < rank; ++d) {
      if (v.shape()[d] == 1 && (dims.empty() || Coin())) dims.push_back(DimAttr(d, rank));
    }
    return Emit("squeeze", {x}, Attrs({{"dims", ir::AttrValue::IntList(dims)}})) >= 0;
  }
  // unsqueeze
  if (rank >= options_.max_rank) return false;
  return Emit("unsqueeze", {x},
              Attrs({{"dim", DimAttr(static_cast<int>(rng_.Index(rank + 1)), rank + 1)}})) >= 0;
}

bool Generator::Matmul() {
  const int a = PickFloat(1);
  if (a < 0) return false;
  const Val va = V(a);  // a copy: emitting may reallocate values_
  const DType dtype = va.dtype();
  const int64_t k = va.shape()[va.rank() - 1];
  const ir::Shape a_batch(va.rank() > 2 ? std::vector<int64_t>(va.shape().dims().begin(),
                                                               va.shape().dims().end() - 2)
                                        : std::vector<int64_t>{});
  auto batch_ok = [&](const Val& c) {
    if (c.rank() <= 2) return true;
    const ir::Shape cb(std::vector<int64_t>(c.shape().dims().begin(), c.shape().dims().end() - 2));
    absl::StatusOr<ir::Shape> s = ir::BroadcastShapes(a_batch, cb);
    return s.ok();
  };
  int b = -1;
  const int strategy = static_cast<int>(rng_.Index(3));
  if (strategy == 0) {
    b = Pick([&](const Val& c) {
      return c.dtype() == dtype && ((c.rank() >= 2 && c.shape()[c.rank() - 2] == k && batch_ok(c)) ||
                                    (c.rank() == 1 && c.shape()[0] == k));
    });
  } else if (strategy == 1 && options_.layout) {
    // c @ ... with c's last dim == k, transposed: a @ c^T (attention's q k^T).
    const int c = Pick([&](const Val& c) {
      return c.dtype() == dtype && c.rank() >= 2 && c.shape()[c.rank() - 1] == k && batch_ok(c);
    });
    if (c >= 0) b = Emit("transpose", {c}, Attrs({{"dim0", int64_t{-1}}, {"dim1", int64_t{-2}}}));
  }
  if (b < 0) {
    std::vector<int64_t> dims;
    const double r = rng_.Uniform();
    if (r < 0.15) {
      dims = {k};
    } else {
      if (r > 0.8 && va.rank() > 2) dims = a_batch.dims();
      dims.push_back(k);
      dims.push_back(rng_.UniformInt(1, options_.max_dim));
    }
    b = NewInput({dtype, ir::Shape(dims)});
  }
  return Emit("matmul", {a, b}) >= 0;
}

bool Generator::Step(Family f) {
  switch (f) {
    case Family::kElementwise: {
      switch (rng_.Index(8)) {
        case 0:
        case 1:
          return Unary();
        case 2:
        case 3:
          return Binary();
        case 4:
          return Compare();
        case 5:
          return Logical();
        case 6:
          return Where();
        default:
          return Cast();
      }
    }
    case Family::kBroadcasting:
      return Broadcasting();
    case Family::kReductions:
      return Reduction();
    case Family::kComposites:
      return Composite();
    case Family::kLayout:
      return Layout();
    case Family::kMatmul:
      return Matmul();
  }
  return false;
}

absl::StatusOr<ir::Graph> Generator::Run() {
  std::vector<Family> families;
  if (options_.elementwise) families.push_back(Family::kElementwise);
  if (options_.broadcasting) families.push_back(Family::kBroadcasting);
  if (options_.reductions) families.push_back(Family::kReductions);
  if (options_.composites) families.push_back(Family::kComposites);
  if (options_.layout) families.push_back(Family::kLayout);
  if (options_.matmul) families.push_back(Family::kMatmul);

  // The first inputs; more appear as steps need them.
  const int initial = static_cast<int>(rng_.UniformInt(1, 2));
  for (int i = 0; i < initial; ++i) NewInput({AnyDType(), RandomShape(0)});

  for (int step = 0; step < options_.num_nodes; ++step) {
    const size_t before = specs_.size();
    bool done = false;
    for (int attempt = 0; attempt < 50 && !done; ++attempt) {
      done = Step(rng_.Pick(families)) && specs_.size() > before;
      if (!status_.ok()) return status_;
    }
    if (!done) {
      return absl::InternalError(absl::StrCat("RandomGraph(seed ", seed_,
                                              ") could not add a node at step ", step));
    }
  }

  // Outputs: the last node, then nodes nothing uses, then any call nodes.
  const int last = specs_.back().value;
  std::vector<int> outputs = {last};
  const int wanted = static_cast<int>(rng_.UniformInt(1, 3));
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<int> candidates;
    for (const Spec& s : specs_) {
      const bool taken = std::find(outputs.begin(), outputs.end(), s.value) != outputs.end();
      if (!taken && (pass == 1 || V(s.value).uses == 0)) candidates.push_back(s.value);
    }
    while (static_cast<int>(outputs.size()) < wanted && !candidates.empty()) {
      const int64_t i = rng_.Index(static_cast<int64_t>(candidates.size()));
      outputs.push_back(candidates[i]);
      candidates.erase(candidates.begin() + i);
    }
  }

  ir::GraphBuilder builder(absl::StrCat("random_", seed_));
  std::vector<ir::Node*> nodes(values_.size(), nullptr);
  for (size_t i = 0; i < input_values_.size(); ++i) {
    nodes[input_values_[i]] = builder.Input(absl::StrCat("x", i), V(input_values_[i]).type);
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    const Spec& s = specs_[i];
    ir::CallSpec call;
    call.op = s.op;
    call.attrs = s.attrs;
    call.name = absl::StrCat("v", i);
    for (const Ref& r : s.operands) {
      if (r.is_literal()) {
        call.operands.emplace_back(r.literal);
      } else {
        call.operands.emplace_back(nodes[r.value]);
      }
    }
    nodes[s.value] = builder.Add(std::move(call));
  }
  std::vector<ir::Node*> out_nodes;
  for (int v : outputs) out_nodes.push_back(nodes[v]);
  builder.Return(std::move(out_nodes));
  absl::StatusOr<ir::Graph> graph = builder.Build();
  if (!graph.ok()) {
    return absl::InternalError(absl::StrCat("RandomGraph(seed ", seed_,
                                            ") built an invalid graph: ",
                                            graph.status().message()));
  }
  return graph;
}

}  // namespace

absl::StatusOr<ir::Graph> RandomGraph(uint64_t seed, const RandomGraphOptions& options) {
  if (options.num_nodes < 1) {
    return absl::InvalidArgumentError("RandomGraphOptions.num_nodes must be at least 1");
  }
  if (!options.elementwise && !options.broadcasting && !options.reductions &&
      !options.composites && !options.layout && !options.matmul) {
    return absl::InvalidArgumentError("RandomGraphOptions enables no op family");
  }
  if (options.dtypes.empty()) {
    return absl::InvalidArgumentError("RandomGraphOptions.dtypes is empty");
  }
  if (options.max_rank < 1 || options.max_dim < 1) {
    return absl::InvalidArgumentError(
        "RandomGraphOptions needs max_rank >= 1 and max_dim >= 1");
  }
  return Generator(seed, options).Run();
}

std::vector<uint8_t> RandomFallbackMask(const ir::Graph& graph, uint64_t seed, double p) {
  Rng rng(MixSeed(seed, 0xfa11bacc));
  std::vector<uint8_t> mask;
  for (size_t i = 0, n = graph.calls().size(); i < n; ++i) {
    mask.push_back(rng.Bernoulli(p) ? 1 : 0);
  }
  return mask;
}

void ApplyFallbackMask(ir::Graph& graph, const std::vector<uint8_t>& mask) {
  const std::vector<ir::Node*> calls = graph.calls();
  CHECK_EQ(mask.size(), calls.size()) << "ApplyFallbackMask: one byte per call node";
  for (size_t i = 0; i < calls.size(); ++i) {
    if (mask[i] != 0) calls[i]->mutable_meta().Set("should_fallback", true);
  }
}

}  // namespace sluice::testing
