// The built-in op set (DESIGN §4): one OpSchema per op with PyTorch's shape
// and dtype rules. To add an op, add one Register(...) call below.
#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "ir/op_registry.h"

namespace sluice::ir {
namespace {

using absl::InvalidArgumentError;
using absl::StatusOr;

std::string Name(DType d) { return std::string(DTypeName(d)); }

// torch.result_type over the operands (tensors and literals).
DType ResultType(const InferContext& ctx, int begin = 0, int end = -1) {
  if (end < 0) end = static_cast<int>(ctx.operands.size());
  ResultTypeState state;
  for (int i = begin; i < end; ++i) {
    const OperandInfo& o = ctx.operands[i];
    if (o.is_literal) {
      state.AddLiteral(o.type.dtype);
    } else {
      state.AddTensor(o.type.dtype, o.type.shape.is_scalar());
    }
  }
  return state.Result();
}

StatusOr<Shape> BroadcastAll(const InferContext& ctx, int begin = 0, int end = -1) {
  if (end < 0) end = static_cast<int>(ctx.operands.size());
  Shape out;
  for (int i = begin; i < end; ++i) {
    if (ctx.operands[i].is_literal) continue;
    absl::StatusOr<Shape> s = BroadcastShapes(out, ctx.operands[i].type.shape);
    if (!s.ok()) return s.status();
    out = *std::move(s);
  }
  return out;
}

const TensorType& In(const InferContext& ctx, int i = 0) { return ctx.operands[i].type; }

absl::Status RequireFloat(const InferContext& ctx, DType d) {
  if (!IsFloatingPoint(d)) {
    return InvalidArgumentError(
        absl::StrCat("expected a floating-point input, got ", Name(d)));
  }
  return absl::OkStatus();
}

// ---- elementwise -----------------------------------------------------------

enum class UnaryRule {
  kToFloat,    // int/bool inputs compute in the default float (exp, sin, ...)
  kNumeric,    // same dtype; bool rejected (neg, abs, relu)
  kToBool,     // logical_not
};

InferFn UnaryInfer(UnaryRule rule) {
  return [rule](const InferContext& ctx) -> StatusOr<TensorType> {
    TensorType t = In(ctx);
    switch (rule) {
      case UnaryRule::kToFloat:
        if (!IsFloatingPoint(t.dtype)) t.dtype = kDefaultFloat;
        break;
      case UnaryRule::kNumeric:
        if (t.dtype == DType::kBool) {
          return InvalidArgumentError(absl::StrCat(ctx.op, " is not defined for bool"));
        }
        break;
      case UnaryRule::kToBool:
        t.dtype = DType::kBool;
        break;
    }
    return t;
  };
}

enum class BinaryRule {
  kArith,    // add mul maximum minimum: promoted
  kNoBool,   // sub pow: promoted; a bool result rejected like torch ("not implemented for 'Bool'")
  kDiv,      // true division: integral results become the default float
  kCompare,  // promoted for computing, bool result
  kLogical,  // bool result
};

InferFn BinaryInfer(BinaryRule rule) {
  return [rule](const InferContext& ctx) -> StatusOr<TensorType> {
    StatusOr<Shape> shape = BroadcastAll(ctx);
    if (!shape.ok()) return shape.status();
    DType d = ResultType(ctx);
    switch (rule) {
      case BinaryRule::kArith: break;
      case BinaryRule::kNoBool:
        if (d == DType::kBool) {
          return InvalidArgumentError(absl::StrCat(ctx.op, " is not defined for bool",
                                                   ctx.op == "sub" ? "; use logical ops" : ""));
        }
        break;
      case BinaryRule::kDiv:
        if (!IsFloatingPoint(d)) d = kDefaultFloat;
        break;
      case BinaryRule::kCompare:
      case BinaryRule::kLogical:
        d = DType::kBool;
        break;
    }
    return TensorType{d, *std::move(shape)};
  };
}

StatusOr<TensorType> InferWhere(const InferContext& ctx) {
  if (In(ctx, 0).dtype != DType::kBool) {
    return InvalidArgumentError(
        absl::StrCat("condition (operand 0) must be bool, got ", Name(In(ctx, 0).dtype)));
  }
  StatusOr<Shape> shape = BroadcastAll(ctx);
  if (!shape.ok()) return shape.status();
  return TensorType{ResultType(ctx, 1, 3), *std::move(shape)};
}

StatusOr<TensorType> InferCast(const InferContext& ctx) {
  return TensorType{ctx.attr("dtype").as_dtype(), In(ctx).shape};
}

// ---- reductions ------------------------------------------------------------

Shape ReducedShape(const Shape& in, const std::vector<int>& dims, bool keepdim) {
  std::vector<int64_t> out;
  for (int i = 0; i < in.rank(); ++i) {
    const bool reduced = std::find(dims.begin(), dims.end(), i) != dims.end();
    if (!reduced) {
      out.push_back(in[i]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return Shape(std::move(out));
}

enum class ReduceRule { kSum, kMean, kMinMax };

InferFn ReduceInfer(ReduceRule rule) {
  return [rule](const InferContext& ctx) -> StatusOr<TensorType> {
    const TensorType& t = In(ctx);
    StatusOr<std::vector<int>> dims = ReductionDims(ctx.attr_ints("dims"), t.shape.rank());
    if (!dims.ok()) return dims.status();
    DType d = t.dtype;
    if (rule == ReduceRule::kSum && !IsFloatingPoint(d)) d = DType::kI64;
    if (rule == ReduceRule::kMean) {
      if (absl::Status s = RequireFloat(ctx, d); !s.ok()) return s;
    }
    if (rule == ReduceRule::kMinMax) {
      for (int dim : *dims) {
        if (t.shape[dim] == 0) {
          return InvalidArgumentError(absl::StrCat(ctx.op, " of an empty dimension (dim ", dim,
                                                   ") has no identity"));
        }
      }
    }
    return TensorType{d, ReducedShape(t.shape, *dims, ctx.attr_bool("keepdim"))};
  };
}

StatusOr<TensorType> InferArgmax(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  if (t.dtype == DType::kBool) return InvalidArgumentError("argmax is not defined for bool");
  StatusOr<int> dim = NormalizeDim(ctx.attr_int("dim"), t.shape.rank());
  if (!dim.ok()) return dim.status();
  if (t.shape.rank() > 0 && t.shape[*dim] == 0) {
    return InvalidArgumentError("argmax of an empty dimension");
  }
  std::vector<int> dims;
  if (t.shape.rank() > 0) dims.push_back(*dim);
  return TensorType{DType::kI64, ReducedShape(t.shape, dims, ctx.attr_bool("keepdim"))};
}

// ---- composites --------------------------------------------------------------

StatusOr<TensorType> InferSoftmax(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  if (absl::Status s = RequireFloat(ctx, t.dtype); !s.ok()) return s;
  StatusOr<int> dim = NormalizeDim(ctx.attr_int("dim"), t.shape.rank());
  if (!dim.ok()) return dim.status();
  return t;
}

StatusOr<TensorType> InferNorm(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  if (absl::Status s = RequireFloat(ctx, t.dtype); !s.ok()) return s;
  const std::vector<int64_t> ns = ctx.attr_ints("normalized_shape");
  if (ns.empty()) return InvalidArgumentError("normalized_shape must not be empty");
  const int r = t.shape.rank(), k = static_cast<int>(ns.size());
  bool ok = k <= r;
  for (int i = 0; ok && i < k; ++i) ok = t.shape[r - k + i] == ns[i];
  if (!ok) {
    return InvalidArgumentError(absl::StrCat("normalized_shape ", Shape(ns).ToString(),
                                             " does not match the trailing dims of input ",
                                             t.ToString()));
  }
  for (size_t i = 1; i < ctx.operands.size(); ++i) {
    const TensorType& p = In(ctx, static_cast<int>(i));
    if (p.shape != Shape(ns) || p.dtype != t.dtype) {
      return InvalidArgumentError(absl::StrCat(
          i == 1 ? "weight" : "bias", " must be ", TensorType{t.dtype, Shape(ns)}.ToString(),
          ", got ", p.ToString()));
    }
  }
  if (ctx.attr_float("eps") < 0) return InvalidArgumentError("eps must not be negative");
  return t;
}

// ---- layout ------------------------------------------------------------------

StatusOr<TensorType> InferReshape(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  std::vector<int64_t> shape = ctx.attr_ints("shape");
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer_at >= 0) return InvalidArgumentError("only one dimension can be -1");
      infer_at = static_cast<int>(i);
    } else if (shape[i] < 0) {
      return InvalidArgumentError(absl::StrCat("invalid dimension ", shape[i], " in shape"));
    } else {
      if (shape[i] != 0 && known > kMaxElements / shape[i]) {
        // More than any valid input holds (and would overflow).
        return InvalidArgumentError(absl::StrCat("shape ", Shape(shape).ToString(),
                                                 " is invalid for input of size ",
                                                 t.shape.num_elements()));
      }
      known *= shape[i];
    }
  }
  const int64_t numel = t.shape.num_elements();
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0) {
      return InvalidArgumentError(absl::StrCat("shape ", Shape(shape).ToString(),
                                               " is invalid for input of size ", numel));
    }
    shape[infer_at] = numel / known;
  } else if (known != numel) {
    return InvalidArgumentError(absl::StrCat("shape ", Shape(shape).ToString(),
                                             " is invalid for input of size ", numel));
  }
  return TensorType{t.dtype, Shape(shape)};
}

StatusOr<TensorType> InferPermute(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  const std::vector<int64_t> dims = ctx.attr_ints("dims");
  const int r = t.shape.rank();
  if (static_cast<int>(dims.size()) != r) {
    return InvalidArgumentError(absl::StrCat("dims has ", dims.size(), " entries for rank ", r));
  }
  std::vector<bool> seen(r, false);
  std::vector<int64_t> out;
  for (int64_t d : dims) {
    StatusOr<int> n = NormalizeDim(d, r);
    if (!n.ok()) return n.status();
    if (seen[*n]) return InvalidArgumentError(absl::StrCat("dim ", d, " repeats in dims"));
    seen[*n] = true;
    out.push_back(t.shape[*n]);
  }
  return TensorType{t.dtype, Shape(out)};
}

StatusOr<TensorType> InferTranspose(const InferContext& ctx) {
  TensorType t = In(ctx);
  const int r = t.shape.rank();
  StatusOr<int> a = NormalizeDim(ctx.attr_int("dim0"), r);
  if (!a.ok()) return a.status();
  StatusOr<int> b = NormalizeDim(ctx.attr_int("dim1"), r);
  if (!b.ok()) return b.status();
  if (r > 0) std::swap(t.shape.mutable_dims()[*a], t.shape.mutable_dims()[*b]);
  return t;
}

StatusOr<TensorType> InferExpand(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  std::vector<int64_t> shape = ctx.attr_ints("shape");
  const int r = t.shape.rank(), k = static_cast<int>(shape.size());
  if (k < r) {
    return InvalidArgumentError(absl::StrCat("cannot expand ", t.shape.ToString(), " to ",
                                             Shape(shape).ToString(), ": fewer dims"));
  }
  for (int i = 0; i < k; ++i) {
    const int j = i - (k - r);
    if (j < 0) {
      if (shape[i] < 0) {
        return InvalidArgumentError("-1 is not allowed for a new leading dimension in expand");
      }
      continue;
    }
    if (shape[i] == -1) {
      shape[i] = t.shape[j];
    } else if (shape[i] < 0 || (t.shape[j] != 1 && t.shape[j] != shape[i])) {
      return InvalidArgumentError(absl::StrCat("cannot expand ", t.shape.ToString(), " to ",
                                               Shape(ctx.attr_ints("shape")).ToString(),
                                               " (dim ", i, ")"));
    }
  }
  return TensorType{t.dtype, Shape(shape)};
}

StatusOr<TensorType> InferSlice(const InferContext& ctx) {
  TensorType t = In(ctx);
  const int r = t.shape.rank();
  if (r == 0) return InvalidArgumentError("cannot slice a scalar");
  StatusOr<int> dim = NormalizeDim(ctx.attr_int("dim"), r);
  if (!dim.ok()) return dim.status();
  const int64_t step = ctx.attr_int("step");
  if (step <= 0) return InvalidArgumentError("slice step must be positive");
  const int64_t size = t.shape[*dim];
  auto clamp = [size](int64_t v) {
    if (v < 0) v += size;
    return std::clamp<int64_t>(v, 0, size);
  };
  const int64_t start = clamp(ctx.attr_int("start")), end = clamp(ctx.attr_int("end"));
  // (end - start + step - 1) / step without overflowing for a huge step.
  const int64_t len = end > start ? (end - start - 1) / step + 1 : 0;
  t.shape.mutable_dims()[*dim] = len;
  return t;
}

StatusOr<TensorType> InferConcat(const InferContext& ctx) {
  const TensorType& first = In(ctx);
  const int r = first.shape.rank();
  if (r == 0) return InvalidArgumentError("cannot concat scalars");
  StatusOr<int> dim = NormalizeDim(ctx.attr_int("dim"), r);
  if (!dim.ok()) return dim.status();
  std::vector<int64_t> out = first.shape.dims();
  out[*dim] = 0;
  for (size_t i = 0; i < ctx.operands.size(); ++i) {
    const TensorType& t = In(ctx, static_cast<int>(i));
    bool ok = t.shape.rank() == r;
    for (int d = 0; ok && d < r; ++d) ok = d == *dim || t.shape[d] == first.shape[d];
    if (!ok) {
      return InvalidArgumentError(absl::StrCat("operand ", i, " has shape ", t.shape.ToString(),
                                               ", incompatible with ", first.shape.ToString(),
                                               " for concat along dim ", *dim));
    }
    out[*dim] += t.shape[*dim];  // each is at most kMaxElements: no overflow
    if (out[*dim] > kMaxElements) {
      return InvalidArgumentError(absl::StrCat("concat along dim ", *dim, " has more than ",
                                               kMaxElements, " elements"));
    }
  }
  return TensorType{ResultType(ctx), Shape(out)};
}

StatusOr<TensorType> InferSqueeze(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  const int r = t.shape.rank();
  std::vector<int64_t> dims = ctx.attr_ints("dims");
  std::vector<bool> drop(r, false);
  if (dims.empty()) {
    for (int i = 0; i < r; ++i) drop[i] = t.shape[i] == 1;
  }
  for (int64_t d : dims) {
    StatusOr<int> n = NormalizeDim(d, r);
    if (!n.ok()) return n.status();
    if (r > 0) drop[*n] = t.shape[*n] == 1;  // torch leaves non-1 dims alone
  }
  std::vector<int64_t> out;
  for (int i = 0; i < r; ++i) {
    if (!drop[i]) out.push_back(t.shape[i]);
  }
  return TensorType{t.dtype, Shape(out)};
}

StatusOr<TensorType> InferUnsqueeze(const InferContext& ctx) {
  const TensorType& t = In(ctx);
  StatusOr<int> dim = NormalizeDim(ctx.attr_int("dim"), t.shape.rank() + 1);
  if (!dim.ok()) return dim.status();
  std::vector<int64_t> out = t.shape.dims();
  out.insert(out.begin() + *dim, 1);
  return TensorType{t.dtype, Shape(out)};
}

// ---- matmul / creation ---------------------------------------------------------

StatusOr<TensorType> InferMatmul(const InferContext& ctx) {
  const TensorType& a = In(ctx, 0);
  const TensorType& b = In(ctx, 1);
  if (a.dtype != b.dtype) {
    return InvalidArgumentError(absl::StrCat("operands must have the same dtype, got ",
                                             Name(a.dtype), " and ", Name(b.dtype)));
  }
  if (a.dtype == DType::kBool) return InvalidArgumentError("matmul is not defined for bool");
  if (a.shape.rank() == 0 || b.shape.rank() == 0) {
    return InvalidArgumentError("both operands must have at least one dimension");
  }
  std::vector<int64_t> sa = a.shape.dims(), sb = b.shape.dims();
  const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), k2 = sb[sb.size() - 2], n = sb.back();
  if (k != k2) {
    return InvalidArgumentError(absl::StrCat("shapes ", a.shape.ToString(), " and ",
                                             b.shape.ToString(),
                                             " cannot be multiplied (", k, " vs ", k2, ")"));
  }
  Shape batch_a(std::vector<int64_t>(sa.begin(), sa.end() - 2));
  Shape batch_b(std::vector<int64_t>(sb.begin(), sb.end() - 2));
  StatusOr<Shape> batch = BroadcastShapes(batch_a, batch_b);
  if (!batch.ok()) return batch.status();
  std::vector<int64_t> out = batch->dims();
  if (!a_vec) out.push_back(m);
  if (!b_vec) out.push_back(n);
  return TensorType{a.dtype, Shape(out)};
}

StatusOr<TensorType> InferFull(const InferContext& ctx) {
  const std::vector<int64_t> shape = ctx.attr_ints("shape");
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgumentError(absl::StrCat("negative dimension ", d, " in shape"));
  }
  return TensorType{ctx.attr("dtype").as_dtype(), Shape(shape)};
}

AttrSpec Req(std::string name, AttrType type) { return {std::move(name), type, std::nullopt, {}}; }
AttrSpec Opt(std::string name, AttrType type, AttrValue def) {
  return {std::move(name), type, std::move(def), {}};
}

}  // namespace

void RegisterBuiltinOps(OpRegistry& r) {
  auto unary = [&r](const char* name, UnaryRule rule, const char* summary) {
    r.Register({name, OpKind::kUnary, 1, 1, false, {}, UnaryInfer(rule), summary});
  };
  unary("neg", UnaryRule::kNumeric, "-x");
  unary("abs", UnaryRule::kNumeric, "|x|");
  unary("relu", UnaryRule::kNumeric, "max(x, 0)");
  unary("exp", UnaryRule::kToFloat, "e^x");
  unary("log", UnaryRule::kToFloat, "natural logarithm");
  unary("sqrt", UnaryRule::kToFloat, "square root");
  unary("rsqrt", UnaryRule::kToFloat, "1 / sqrt(x)");
  unary("sin", UnaryRule::kToFloat, "sine");
  unary("cos", UnaryRule::kToFloat, "cosine");
  unary("tanh", UnaryRule::kToFloat, "hyperbolic tangent");
  unary("sigmoid", UnaryRule::kToFloat, "1 / (1 + e^-x)");
  unary("silu", UnaryRule::kToFloat, "x * sigmoid(x)");
  unary("erf", UnaryRule::kToFloat, "error function");
  unary("reciprocal", UnaryRule::kToFloat, "1 / x");
  unary("logical_not", UnaryRule::kToBool, "!x, bool result");
  r.Register({"gelu", OpKind::kUnary, 1, 1, false,
              {{"approximate", AttrType::kString, AttrValue("none"), {"none", "tanh"}}},
              UnaryInfer(UnaryRule::kToFloat), "GELU, exact (erf) or tanh approximation"});
  r.Register({"cast", OpKind::kUnary, 1, 1, false, {Req("dtype", AttrType::kDType)}, InferCast,
              "convert to dtype"});

  auto binary = [&r](const char* name, BinaryRule rule, const char* summary) {
    r.Register({name, OpKind::kBinary, 2, 2, true, {}, BinaryInfer(rule), summary});
  };
  binary("add", BinaryRule::kArith, "a + b");
  binary("sub", BinaryRule::kNoBool, "a - b");
  binary("mul", BinaryRule::kArith, "a * b");
  binary("div", BinaryRule::kDiv, "a / b (true division)");
  binary("pow", BinaryRule::kNoBool, "a ^ b");
  binary("maximum", BinaryRule::kArith, "elementwise max (NaN propagates)");
  binary("minimum", BinaryRule::kArith, "elementwise min (NaN propagates)");
  binary("eq", BinaryRule::kCompare, "a == b");
  binary("ne", BinaryRule::kCompare, "a != b");
  binary("lt", BinaryRule::kCompare, "a < b");
  binary("le", BinaryRule::kCompare, "a <= b");
  binary("gt", BinaryRule::kCompare, "a > b");
  binary("ge", BinaryRule::kCompare, "a >= b");
  binary("logical_and", BinaryRule::kLogical, "a && b");
  binary("logical_or", BinaryRule::kLogical, "a || b");
  r.Register({"where", OpKind::kTernary, 3, 3, true, {}, InferWhere, "cond ? a : b"});

  const std::vector<AttrSpec> reduce_attrs = {
      Opt("dims", AttrType::kIntList, AttrValue(AttrValue::List{})),
      Opt("keepdim", AttrType::kBool, false)};
  r.Register({"sum", OpKind::kReduction, 1, 1, false, reduce_attrs, ReduceInfer(ReduceRule::kSum),
              "sum over dims ([] = all)"});
  r.Register({"mean", OpKind::kReduction, 1, 1, false, reduce_attrs,
              ReduceInfer(ReduceRule::kMean), "mean over dims ([] = all)"});
  r.Register({"amax", OpKind::kReduction, 1, 1, false, reduce_attrs,
              ReduceInfer(ReduceRule::kMinMax), "max over dims ([] = all)"});
  r.Register({"amin", OpKind::kReduction, 1, 1, false, reduce_attrs,
              ReduceInfer(ReduceRule::kMinMax), "min over dims ([] = all)"});
  r.Register({"argmax", OpKind::kReduction, 1, 1, false,
              {Req("dim", AttrType::kInt), Opt("keepdim", AttrType::kBool, false)}, InferArgmax,
              "index of the max along dim (first on ties), i64"});

  r.Register({"softmax", OpKind::kComposite, 1, 1, false, {Req("dim", AttrType::kInt)},
              InferSoftmax, "softmax along dim"});
  r.Register({"log_softmax", OpKind::kComposite, 1, 1, false, {Req("dim", AttrType::kInt)},
              InferSoftmax, "log of softmax along dim"});
  r.Register({"layer_norm", OpKind::kComposite, 1, 3, false,
              {Req("normalized_shape", AttrType::kIntList), Opt("eps", AttrType::kFloat, 1e-5)},
              InferNorm, "layer normalization over the trailing normalized_shape"});
  r.Register({"rms_norm", OpKind::kComposite, 1, 2, false,
              {Req("normalized_shape", AttrType::kIntList), Opt("eps", AttrType::kFloat, 1e-6)},
              InferNorm, "RMS normalization over the trailing normalized_shape"});

  r.Register({"reshape", OpKind::kLayout, 1, 1, false, {Req("shape", AttrType::kIntList)},
              InferReshape, "view with a new shape (one -1 allowed)"});
  r.Register({"permute", OpKind::kLayout, 1, 1, false, {Req("dims", AttrType::kIntList)},
              InferPermute, "reorder dims"});
  r.Register({"transpose", OpKind::kLayout, 1, 1, false,
              {Req("dim0", AttrType::kInt), Req("dim1", AttrType::kInt)}, InferTranspose,
              "swap two dims"});
  r.Register({"expand", OpKind::kLayout, 1, 1, false, {Req("shape", AttrType::kIntList)},
              InferExpand, "broadcast to shape (-1 keeps a dim)"});
  r.Register({"slice", OpKind::kLayout, 1, 1, false,
              {Req("dim", AttrType::kInt), Opt("start", AttrType::kInt, int64_t{0}),
               Opt("end", AttrType::kInt, std::numeric_limits<int64_t>::max()),
               Opt("step", AttrType::kInt, int64_t{1})},
              InferSlice, "x[start:end:step] along dim"});
  r.Register({"concat", OpKind::kLayout, 1, -1, false, {Opt("dim", AttrType::kInt, int64_t{0})},
              InferConcat, "join along dim"});
  r.Register({"squeeze", OpKind::kLayout, 1, 1, false,
              {Opt("dims", AttrType::kIntList, AttrValue(AttrValue::List{}))}, InferSqueeze,
              "drop size-1 dims ([] = all)"});
  r.Register({"unsqueeze", OpKind::kLayout, 1, 1, false, {Req("dim", AttrType::kInt)},
              InferUnsqueeze, "insert a size-1 dim"});

  r.Register({"matmul", OpKind::kMatmul, 2, 2, false, {}, InferMatmul,
              "torch.matmul (1-D, 2-D, batched with broadcast)"});
  r.Register({"full", OpKind::kCreation, 0, 0, false,
              {Req("shape", AttrType::kIntList), Req("value", AttrType::kFloat),
               Opt("dtype", AttrType::kDType, DType::kF32)},
              InferFull, "a tensor filled with value"});
}

}  // namespace sluice::ir
