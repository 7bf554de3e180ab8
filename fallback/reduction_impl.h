// Device-generic reference kernels for sum, mean, amax, amin and argmax.
// Instantiated for the CPU in reduction.cc.
//
// Every reduction becomes [a, r, b] -> [a, b] (shape_util.h PlanReduction):
// reduced dims that are contiguous (ignoring size-1 dims) need no copy;
// others are permuted to the back first. So each reducer is instantiated for
// three fixed ranks per dtype (1-D full reduction when a == b == 1, 2-D when
// b == 1, else 3-D), whatever the input rank. amax/amin propagate NaN.
// f16/bf16 accumulate in float; sums of integers and bools are i64 (the IR
// infers that output dtype and the input is converted to it first).
#ifndef SLUICE_FALLBACK_REDUCTION_IMPL_H_
#define SLUICE_FALLBACK_REDUCTION_IMPL_H_

#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "fallback/eigen.h"
#include "fallback/primitives.h"
#include "fallback/shape_util.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::fallback {
namespace reduction_internal {

enum class ReduceOp { kSum, kMean, kMax, kMin };

// argmax as torch defines it: the first index of the maximum, where NaN is
// larger than everything (so the first NaN wins). Eigen's own
// ArgMaxTupleReducer seeds the search with (index 0, lowest()), which picks
// index 0 over a later element equal to lowest() and ignores NaN. Index -1
// marks "no element yet"; the order of combination does not matter.
template <typename Tuple>
struct TorchArgMaxReducer {
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE void reduce(const Tuple t, Tuple* accum) const {
    if (Better(t, *accum)) *accum = t;
  }
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE Tuple initialize() const {
    return Tuple(-1, typename Tuple::second_type(0));
  }
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE Tuple finalize(const Tuple& accum) const {
    return accum;
  }

 private:
  EIGEN_DEVICE_FUNC static bool Better(const Tuple& t, const Tuple& a) {
    if (t.first < 0) return false;
    if (a.first < 0) return true;
    const bool t_nan = (Eigen::numext::isnan)(t.second);
    const bool a_nan = (Eigen::numext::isnan)(a.second);
    if (a_nan) return t_nan && t.first < a.first;
    if (t_nan) return true;
    if (t.second > a.second) return true;
    return t.second == a.second && t.first < a.first;
  }
};

// Reduces dim 1 of an N-dim [a, r(, b)] view (N >= 2), or all of a 1-D
// view (N == 1, which Eigen runs as a multi-threaded full reduction).
template <typename Device, typename T, int N>
void ReduceRank(const Device& d, ReduceOp op, const T* src, const Dims<N>& in_dims, T* dst) {
  using Acc = OpMath<T>;
  constexpr int kOut = N == 1 ? 0 : N - 1;
  Dims<kOut> out_dims;
  for (int i = 0, j = 0; i < N; ++i) {
    if (N > 1 && i != 1) out_dims[j++] = in_dims[i];
  }
  auto in = ConstMap<T, N>(src, in_dims);
  auto x = CastTo<Acc>(in);
  auto out = Map<T, kOut>(dst, out_dims);
  const Dims<1> axis = {N == 1 ? 0 : 1};
  switch (op) {
    case ReduceOp::kSum:
      if constexpr (!std::is_same_v<T, bool>) out.device(d) = CastTo<T>(x.sum(axis));
      return;
    case ReduceOp::kMean:
      if constexpr (kIsFloat<T>) out.device(d) = CastTo<T>(x.mean(axis));
      return;
    case ReduceOp::kMax:
      if constexpr (kIsFloat<T>) {
        out.device(d) = CastTo<T>(x.reduce(axis, NaNMinMaxReducer<Acc, true>()));
      } else {
        out.device(d) = x.maximum(axis);
      }
      return;
    case ReduceOp::kMin:
      if constexpr (kIsFloat<T>) {
        out.device(d) = CastTo<T>(x.reduce(axis, NaNMinMaxReducer<Acc, false>()));
      } else {
        out.device(d) = x.minimum(axis);
      }
      return;
  }
}

template <typename Device, typename T>
void ReduceTyped(const Device& d, ReduceOp op, const T* src, const ReducePlan& p, T* dst) {
  if (p.a == 1 && p.b == 1) {
    ReduceRank<Device, T, 1>(d, op, src, Dims<1>{p.r}, dst);
  } else if (p.b == 1) {
    ReduceRank<Device, T, 2>(d, op, src, Dims<2>{p.a, p.r}, dst);
  } else {
    ReduceRank<Device, T, 3>(d, op, src, Dims<3>{p.a, p.r, p.b}, dst);
  }
}

template <typename Device, typename T>
void ArgMaxTyped(const Device& d, const T* src, const Split3& s, int64_t* dst) {
  using Tuple = Eigen::Tuple<Index, T>;
  using Input = const ConstMap<T, 3>;
  const Dims<1> axis = {1};
  Input in(src, Dims<3>{s.outer, s.mid, s.inner});
  Eigen::TensorTupleReducerOp<TorchArgMaxReducer<Tuple>, const Dims<1>, Input> argmax(
      in, TorchArgMaxReducer<Tuple>(), /*return_dim=*/1, axis);
  Map<int64_t, 2>(dst, Dims<2>{s.outer, s.inner}).device(d) = CastTo<int64_t>(argmax);
}

inline std::optional<ReduceOp> ParseReduceOp(const std::string& op) {
  if (op == "sum") return ReduceOp::kSum;
  if (op == "mean") return ReduceOp::kMean;
  if (op == "amax") return ReduceOp::kMax;
  if (op == "amin") return ReduceOp::kMin;
  return std::nullopt;
}

}  // namespace reduction_internal

// sum mean amax amin over `dims` ([] = all) with keepdim (which only changes
// the output shape, not its layout).
template <typename Device>
absl::Status ReduceKernel(const Device& d, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  using namespace reduction_internal;
  const std::optional<ReduceOp> op = ParseReduceOp(node.op());
  if (!op.has_value()) return absl::InternalError(absl::StrCat("not a reduction: ", node.op()));
  absl::StatusOr<std::vector<int>> dims = ReductionDims(node);
  if (!dims.ok()) return dims.status();
  const runtime::Tensor& in = inputs[0];
  if (output.num_elements() == 0) return absl::OkStatus();
  ReducePlan plan = PlanReduction(in.shape(), *dims);
  if ((*op == ReduceOp::kMax || *op == ReduceOp::kMin) && plan.r == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(node.op(), " of an empty dimension has no identity"));
  }
  const int64_t n = in.num_elements();
  const int64_t elem = ir::DTypeSize(output.dtype());
  const void* src = in.data();
  std::optional<DeviceBuffer<Device>> converted, permuted;
  if (in.dtype() != output.dtype()) {
    converted.emplace(d, n * elem);
    CastElements(d, in.dtype(), src, output.dtype(), converted->data(), n);
    src = converted->data();
  }
  if (plan.needs_permute) {
    permuted.emplace(d, n * elem);
    Permute(d, static_cast<int>(elem), src, in.shape(), plan.perm, permuted->data());
    src = permuted->data();
  }
  Dispatch<DTypeSet::kAll>(output.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    ReduceTyped<Device, T>(d, *op, static_cast<const T*>(src), plan, output.data_as<T>());
  });
  return absl::OkStatus();
}

// argmax(dim, keepdim) -> i64: the first index of the maximum; NaN counts as
// the maximum.
template <typename Device>
absl::Status ArgMaxKernel(const Device& d, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  using namespace reduction_internal;
  const runtime::Tensor& in = inputs[0];
  absl::StatusOr<int> dim = ir::NormalizeDim(node.attr_int("dim"), in.shape().rank());
  if (!dim.ok()) return dim.status();
  if (output.num_elements() == 0) return absl::OkStatus();
  const Split3 s = SplitAround(in.shape(), *dim, *dim + 1);
  if (s.mid == 0) return absl::InvalidArgumentError("argmax of an empty dimension");
  if (!InSet(in.dtype(), DTypeSet::kNumeric)) {
    return absl::InvalidArgumentError(
        absl::StrCat("argmax is not defined for ", ir::DTypeName(in.dtype())));
  }
  Dispatch<DTypeSet::kNumeric>(in.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    ArgMaxTyped<Device, T>(d, in.data_as<T>(), s, output.data_as<int64_t>());
  });
  return absl::OkStatus();
}

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_REDUCTION_IMPL_H_
