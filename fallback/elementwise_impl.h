// Device-generic reference kernels for the elementwise ops: unary (incl.
// gelu, silu), binary with broadcasting and scalar literals, where, cast and
// full. Instantiated for the CPU in elementwise.cc.
//
// How an elementwise node runs: every operand is brought to the compute
// dtype (cast on the device when its dtype differs) and to the output's
// element count (used in place when it already has it, read once to the
// host when it has one element, else broadcast into a temporary). The op
// then runs on flat, contiguous arrays, so each op is instantiated once per
// dtype and per operand form (array/array, array/scalar, scalar/array),
// never per rank. Arithmetic computes in OpMath<T> (float for f16/bf16) and
// rounds once when stored, like PyTorch's opmath.
#ifndef SLUICE_FALLBACK_ELEMENTWISE_IMPL_H_
#define SLUICE_FALLBACK_ELEMENTWISE_IMPL_H_

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "fallback/eigen.h"
#include "fallback/primitives.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::fallback {
namespace elementwise_internal {

// ---- functors (EIGEN_DEVICE_FUNC so they also run on GPUs) -----------------

// torch's integer pow: repeated squaring with wrap-around; a negative
// exponent gives 1 for base 1, +-1 for base -1 and 0 otherwise.
template <typename T>
struct IntPowOp {
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE T operator()(const T& base, const T& exp) const {
    using U = std::make_unsigned_t<T>;
    if (exp < 0) {
      if (base == 1) return 1;
      if (base == -1) return (exp & 1) ? -1 : 1;
      return 0;
    }
    U result = 1, b = static_cast<U>(base);
    for (T e = exp; e != 0; e >>= 1) {
      if (e & 1) result *= b;
      b *= b;
    }
    return static_cast<T>(result);
  }
};

struct LogicalNotOp {
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE bool operator()(const bool& a) const { return !a; }
};

// ---- op names ------------------------------------------------------------------

enum class UnaryOp {
  kNeg, kAbs, kRelu,                                                   // numeric
  kExp, kLog, kSqrt, kRsqrt, kSin, kCos, kTanh, kSigmoid, kSilu, kErf,  // float
  kReciprocal, kGelu, kGeluTanh,
};

inline std::optional<UnaryOp> ParseUnaryOp(const ir::Node& node) {
  const std::string& op = node.op();
  if (op == "neg") return UnaryOp::kNeg;
  if (op == "abs") return UnaryOp::kAbs;
  if (op == "relu") return UnaryOp::kRelu;
  if (op == "exp") return UnaryOp::kExp;
  if (op == "log") return UnaryOp::kLog;
  if (op == "sqrt") return UnaryOp::kSqrt;
  if (op == "rsqrt") return UnaryOp::kRsqrt;
  if (op == "sin") return UnaryOp::kSin;
  if (op == "cos") return UnaryOp::kCos;
  if (op == "tanh") return UnaryOp::kTanh;
  if (op == "sigmoid") return UnaryOp::kSigmoid;
  if (op == "silu") return UnaryOp::kSilu;
  if (op == "erf") return UnaryOp::kErf;
  if (op == "reciprocal") return UnaryOp::kReciprocal;
  if (op == "gelu") {
    return node.attr_string("approximate") == "tanh" ? UnaryOp::kGeluTanh : UnaryOp::kGelu;
  }
  return std::nullopt;
}

enum class BinaryOp {
  kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum,  // arithmetic
  kEq, kNe, kLt, kLe, kGt, kGe,                      // comparisons
  kLogicalAnd, kLogicalOr,                           // logical
};

inline std::optional<BinaryOp> ParseBinaryOp(absl::string_view op) {
  if (op == "add") return BinaryOp::kAdd;
  if (op == "sub") return BinaryOp::kSub;
  if (op == "mul") return BinaryOp::kMul;
  if (op == "div") return BinaryOp::kDiv;
  if (op == "pow") return BinaryOp::kPow;
  if (op == "maximum") return BinaryOp::kMaximum;
  if (op == "minimum") return BinaryOp::kMinimum;
  if (op == "eq") return BinaryOp::kEq;
  if (op == "ne") return BinaryOp::kNe;
  if (op == "lt") return BinaryOp::kLt;
  if (op == "le") return BinaryOp::kLe;
  if (op == "gt") return BinaryOp::kGt;
  if (op == "ge") return BinaryOp::kGe;
  if (op == "logical_and") return BinaryOp::kLogicalAnd;
  if (op == "logical_or") return BinaryOp::kLogicalOr;
  return std::nullopt;
}

inline bool IsComparison(BinaryOp op) { return op >= BinaryOp::kEq && op <= BinaryOp::kGe; }
inline bool IsLogical(BinaryOp op) { return op >= BinaryOp::kLogicalAnd; }

// The dtype a comparison computes in: torch.result_type of its operands, as
// the IR infers it (an output dtype of bool says nothing about it).
inline ir::DType PromotedOperandDType(const ir::Node& node, int begin, int end) {
  ir::ResultTypeState state;
  for (int i = begin; i < end; ++i) {
    const ir::Operand& o = node.operand(i);
    if (o.is_literal()) {
      state.AddLiteral(o.literal().is_int ? ir::DType::kI64 : ir::DType::kF64);
    } else {
      state.AddTensor(o.node()->dtype(), o.node()->shape().is_scalar());
    }
  }
  return state.Result();
}

// ---- operands ----------------------------------------------------------------

// One operand of an elementwise op, as n elements of T or a host scalar.
template <typename Device, typename T>
struct Operand {
  const T* data = nullptr;  // null: use `scalar`
  OpMath<T> scalar{};
  std::unique_ptr<DeviceBuffer<Device>> owned;
};

// How a scalar literal enters the computation. PyTorch's CPU arithmetic
// kernels read a Python-number operand in opmath precision (float for
// f16/bf16; "original_scalar_value"), while comparisons and where first
// convert it to the common dtype.
enum class LiteralMode { kOpMath, kComputeDType };

template <typename Device, typename T>
Operand<Device, T> PrepareOperand(const Device& d, const ir::Node& node, int i,
                                  absl::Span<const runtime::Tensor> inputs,
                                  const ir::Shape& out_shape, ir::DType compute_dtype,
                                  LiteralMode mode) {
  Operand<Device, T> op;
  const ir::Operand& operand = node.operand(i);
  if (operand.is_literal()) {
    const double v = operand.literal().value;
    if (mode == LiteralMode::kOpMath && !std::is_same_v<OpMath<T>, T>) {
      op.scalar = static_cast<OpMath<T>>(v);
    } else {
      op.scalar = static_cast<OpMath<T>>(ScalarFromDouble<T>(v));
    }
    return op;
  }
  const runtime::Tensor& t = inputs[i];
  const int64_t n = out_shape.num_elements();
  const int64_t in_n = t.num_elements();
  const void* data = t.data();
  if (t.dtype() != compute_dtype) {
    op.owned = std::make_unique<DeviceBuffer<Device>>(d, in_n * sizeof(T));
    CastElements(d, t.dtype(), data, compute_dtype, op.owned->data(), in_n);
    data = op.owned->data();
  }
  if (in_n == n) {
    op.data = static_cast<const T*>(data);
  } else if (in_n == 1) {
    op.scalar = static_cast<OpMath<T>>(ReadScalar(d, static_cast<const T*>(data)));
  } else {
    auto buffer = std::make_unique<DeviceBuffer<Device>>(d, n * sizeof(T));
    BroadcastTo(d, sizeof(T), data, t.shape(), buffer->data(), out_shape);
    op.owned = std::move(buffer);  // Frees the cast temporary, if any.
    op.data = static_cast<const T*>(op.owned->data());
  }
  return op;
}

// Makes `op` an array of n elements (for ops without a scalar form).
template <typename Device, typename T>
void Materialize(const Device& d, Operand<Device, T>& op, int64_t n) {
  if (op.data != nullptr) return;
  op.owned = std::make_unique<DeviceBuffer<Device>>(d, n * sizeof(T));
  Fill(d, op.owned->template as<T>(), n, static_cast<T>(op.scalar));
  op.data = op.owned->template as<T>();
}

// Calls f(x, y) with Eigen expressions of type OpMath<T> over n elements,
// one of which may be a constant.
template <typename Device, typename T, typename F>
void WithOperandExprs(const Operand<Device, T>& a, const Operand<Device, T>& b, Index n,
                      F&& f) {
  using Op = OpMath<T>;
  if (a.data != nullptr && b.data != nullptr) {
    auto x = CastTo<Op>(Flat(a.data, n));
    auto y = CastTo<Op>(Flat(b.data, n));
    f(x, y);
  } else if (a.data != nullptr) {
    auto x = CastTo<Op>(Flat(a.data, n));
    f(x, x.constant(b.scalar));
  } else {
    auto y = CastTo<Op>(Flat(b.data, n));
    f(y.constant(a.scalar), y);
  }
}

// Whether the arrays of a and b (constants count as aligned) and dst are
// 16-byte aligned, for AssignFlat.
template <typename Device, typename T>
bool AllAligned16(const Operand<Device, T>& a, const Operand<Device, T>& b, const void* dst) {
  return Aligned16(dst) && (a.data == nullptr || Aligned16(a.data)) &&
         (b.data == nullptr || Aligned16(b.data));
}

// ---- typed kernels -----------------------------------------------------------

template <typename Device, typename T>
void UnaryTyped(const Device& d, UnaryOp op, const T* src, T* dst, Index n) {
  using Op = OpMath<T>;
  auto in_map = Flat(src, n);
  auto x = CastTo<Op>(in_map);
  const bool aligned = Aligned16(src) && Aligned16(dst);
  auto store = [&](const auto& e) { AssignFlat(d, CastTo<T>(e), dst, n, aligned); };
  switch (op) {
    case UnaryOp::kNeg: store(-x); return;
    case UnaryOp::kAbs: store(x.abs()); return;
    case UnaryOp::kRelu:
      if constexpr (kIsFloat<T>) {
        store(x.template cwiseMax<Eigen::PropagateNaN>(x.constant(Op(0))));
      } else {
        store(x.cwiseMax(x.constant(Op(0))));
      }
      return;
    default: break;
  }
  if constexpr (kIsFloat<T>) {
    const Op one(1), half(0.5);
    switch (op) {
      case UnaryOp::kExp: store(x.unaryExpr(AccurateExpOp<Op>())); return;
      case UnaryOp::kLog: store(x.log()); return;
      case UnaryOp::kSqrt: store(x.sqrt()); return;
      case UnaryOp::kRsqrt: store(x.rsqrt()); return;
      case UnaryOp::kSin: store(x.unaryExpr(Eigen::internal::scalar_sin_op<Op>())); return;
      case UnaryOp::kCos: store(x.unaryExpr(Eigen::internal::scalar_cos_op<Op>())); return;
      case UnaryOp::kTanh: store(x.tanh()); return;
      case UnaryOp::kSigmoid: store(x.sigmoid()); return;
      // torch: x / (1 + exp(-x)); large negative x gives -0, not NaN.
      case UnaryOp::kSilu: store(x / (x.constant(one) + (-x).exp())); return;
      case UnaryOp::kErf: store(x.unaryExpr(NanPropagatingErfOp<Op>())); return;
      case UnaryOp::kReciprocal: store(x.inverse()); return;
      case UnaryOp::kGelu:
        store(x * half * (x.constant(one) + (x * Op(M_SQRT1_2)).erf()));
        return;
      case UnaryOp::kGeluTanh: {
        const Op k(0.7978845608028654);  // sqrt(2 / pi)
        store(half * x * (x.constant(one) + (k * (x + Op(0.044715) * x * x * x)).tanh()));
        return;
      }
      default: break;
    }
  }
}

// Arithmetic ops (output dtype T == compute dtype).
template <typename Device, typename T>
void ArithmeticTyped(const Device& d, BinaryOp op, const Operand<Device, T>& a,
                     const Operand<Device, T>& b, T* dst, Index n) {
  using Op = OpMath<T>;
  const bool aligned = AllAligned16(a, b, dst);
  WithOperandExprs(a, b, n, [&](const auto& x, const auto& y) {
    auto store = [&](const auto& e) { AssignFlat(d, CastTo<T>(e), dst, n, aligned); };
    switch (op) {
      case BinaryOp::kAdd: store(x + y); return;
      case BinaryOp::kMul: store(x * y); return;
      case BinaryOp::kMaximum:
        if constexpr (kIsFloat<T>) {
          store(x.template cwiseMax<Eigen::PropagateNaN>(y));
        } else {
          store(x.cwiseMax(y));
        }
        return;
      case BinaryOp::kMinimum:
        if constexpr (kIsFloat<T>) {
          store(x.template cwiseMin<Eigen::PropagateNaN>(y));
        } else {
          store(x.cwiseMin(y));
        }
        return;
      case BinaryOp::kPow:
        // No bool pow: the IR rejects it, as torch does (like sub below).
        if constexpr (kIsFloat<T>) {
          store(x.binaryExpr(y, Eigen::internal::scalar_pow_op<Op, Op>()));
        } else if constexpr (!std::is_same_v<T, bool>) {
          store(x.binaryExpr(y, IntPowOp<T>()));
        }
        return;
      default: break;
    }
    if constexpr (!std::is_same_v<T, bool>) {
      if (op == BinaryOp::kSub) store(x - y);
    }
    if constexpr (kIsFloat<T>) {
      if (op == BinaryOp::kDiv) store(x / y);
    }
  });
}

// One functor for all comparisons (and the logical ops on bools), switching
// on the op at run time: Eigen does not vectorize comparisons anyway, and
// one instantiation per dtype instead of eight keeps compile time down.
template <typename T>
struct CompareOp {
  BinaryOp op;
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE bool operator()(const T& a, const T& b) const {
    switch (op) {
      case BinaryOp::kEq: return a == b;
      case BinaryOp::kNe: return a != b;
      case BinaryOp::kLt: return a < b;
      case BinaryOp::kLe: return a <= b;
      case BinaryOp::kGt: return a > b;
      case BinaryOp::kGe: return a >= b;
      case BinaryOp::kLogicalAnd: return static_cast<bool>(a) && static_cast<bool>(b);
      case BinaryOp::kLogicalOr: return static_cast<bool>(a) || static_cast<bool>(b);
      default: return false;
    }
  }
};

template <typename Device, typename T>
void CompareTyped(const Device& d, BinaryOp op, const Operand<Device, T>& a,
                  const Operand<Device, T>& b, bool* dst, Index n) {
  const bool aligned = AllAligned16(a, b, dst);
  WithOperandExprs(a, b, n, [&](const auto& x, const auto& y) {
    AssignFlat(d, x.binaryExpr(y, CompareOp<OpMath<T>>{op}), dst, n, aligned);
  });
}

}  // namespace elementwise_internal

// neg abs relu exp log sqrt rsqrt sin cos tanh sigmoid silu erf reciprocal
// gelu: the input is converted to the output dtype first (int -> float for
// the float ops, as the IR infers).
template <typename Device>
absl::Status UnaryKernel(const Device& d, const ir::Node& node,
                         absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  using namespace elementwise_internal;
  const std::optional<UnaryOp> op = ParseUnaryOp(node);
  if (!op.has_value()) return absl::InternalError(absl::StrCat("not a unary op: ", node.op()));
  const int64_t n = output.num_elements();
  if (n == 0) return absl::OkStatus();
  const runtime::Tensor& in = inputs[0];
  const void* src = in.data();
  std::optional<DeviceBuffer<Device>> converted;
  if (in.dtype() != output.dtype()) {
    converted.emplace(d, output.nbytes());
    CastElements(d, in.dtype(), src, output.dtype(), converted->data(), n);
    src = converted->data();
  }
  Dispatch<DTypeSet::kNumeric>(output.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    UnaryTyped<Device, T>(d, *op, static_cast<const T*>(src), output.data_as<T>(), n);
  });
  return absl::OkStatus();
}

// logical_not: any input dtype; x == 0.
template <typename Device>
absl::Status LogicalNotKernel(const Device& d, const ir::Node& node,
                              absl::Span<const runtime::Tensor> inputs,
                              runtime::Tensor& output) {
  const int64_t n = output.num_elements();
  if (n == 0) return absl::OkStatus();
  bool* dst = output.data_as<bool>();
  CastElements(d, inputs[0].dtype(), inputs[0].data(), ir::DType::kBool, dst, n);
  AssignFlat(d, Flat(dst, n).unaryExpr(elementwise_internal::LogicalNotOp()), dst, n,
             Aligned16(dst));
  return absl::OkStatus();
}

// add sub mul div pow maximum minimum (compute in the output dtype), eq ne
// lt le gt ge (compute in the promoted operand dtype, write bool),
// logical_and logical_or (operands as bool).
template <typename Device>
absl::Status BinaryKernel(const Device& d, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  using namespace elementwise_internal;
  const std::optional<BinaryOp> op = ParseBinaryOp(node.op());
  if (!op.has_value()) return absl::InternalError(absl::StrCat("not a binary op: ", node.op()));
  const int64_t n = output.num_elements();
  if (n == 0) return absl::OkStatus();
  const ir::Shape& shape = output.shape();
  const bool arithmetic = !IsComparison(*op) && !IsLogical(*op);
  const ir::DType compute = arithmetic      ? output.dtype()
                            : IsLogical(*op) ? ir::DType::kBool
                                             : PromotedOperandDType(node, 0, 2);
  const LiteralMode mode = arithmetic ? LiteralMode::kOpMath : LiteralMode::kComputeDType;
  Dispatch<DTypeSet::kAll>(compute, [&](auto tag) {
    using T = TagType<decltype(tag)>;
    Operand<Device, T> a = PrepareOperand<Device, T>(d, node, 0, inputs, shape, compute, mode);
    Operand<Device, T> b = PrepareOperand<Device, T>(d, node, 1, inputs, shape, compute, mode);
    if (a.data == nullptr && b.data == nullptr) Materialize(d, a, n);
    if (arithmetic) {
      ArithmeticTyped<Device, T>(d, *op, a, b, output.data_as<T>(), n);
    } else {
      CompareTyped<Device, T>(d, *op, a, b, output.data_as<bool>(), n);
    }
  });
  return absl::OkStatus();
}

// where(cond, a, b): cond is bool; a and b (tensors or literals) are brought
// to the output dtype.
template <typename Device>
absl::Status WhereKernel(const Device& d, const ir::Node& node,
                         absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  using namespace elementwise_internal;
  const int64_t n = output.num_elements();
  if (n == 0) return absl::OkStatus();
  const ir::Shape& shape = output.shape();
  Operand<Device, bool> cond = PrepareOperand<Device, bool>(
      d, node, 0, inputs, shape, ir::DType::kBool, LiteralMode::kComputeDType);
  Materialize(d, cond, n);
  Dispatch<DTypeSet::kAll>(output.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    Operand<Device, T> a = PrepareOperand<Device, T>(d, node, 1, inputs, shape, output.dtype(),
                                                     LiteralMode::kComputeDType);
    Operand<Device, T> b = PrepareOperand<Device, T>(d, node, 2, inputs, shape, output.dtype(),
                                                     LiteralMode::kComputeDType);
    Materialize(d, a, n);
    Materialize(d, b, n);
    T* dst = output.data_as<T>();
    AssignFlat(d, Flat(cond.data, n).select(Flat(a.data, n), Flat(b.data, n)), dst, n,
               Aligned16(cond.data) && Aligned16(a.data) && Aligned16(b.data) && Aligned16(dst));
  });
  return absl::OkStatus();
}

template <typename Device>
absl::Status CastKernel(const Device& d, const ir::Node& node,
                        absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  CastElements(d, inputs[0].dtype(), inputs[0].data(), output.dtype(), output.data(),
               output.num_elements());
  return absl::OkStatus();
}

template <typename Device>
absl::Status FullKernel(const Device& d, const ir::Node& node,
                        absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const double value = node.attr_float("value");
  Dispatch<DTypeSet::kAll>(output.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    Fill(d, output.data_as<T>(), output.num_elements(), ScalarFromDouble<T>(value));
  });
  return absl::OkStatus();
}

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_ELEMENTWISE_IMPL_H_
