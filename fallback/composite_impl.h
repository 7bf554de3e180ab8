// Device-generic reference kernels for the composite ops, each one careful
// kernel rather than its decomposition: softmax and log_softmax subtract the
// row max before exp (so 1000.0 does not overflow); layer_norm and rms_norm
// use the biased variance with eps inside the square root. f16/bf16 inputs
// compute in float throughout, like PyTorch, and round once at the end.
// Instantiated for the CPU in composite.cc.
#ifndef SLUICE_FALLBACK_COMPOSITE_IMPL_H_
#define SLUICE_FALLBACK_COMPOSITE_IMPL_H_

#include <cstdint>
#include <optional>
#include <type_traits>

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
namespace composite_internal {

// softmax / log_softmax of `src` viewed as [a, r, b] along the middle dim.
template <typename Device, typename T>
void SoftmaxTyped(const Device& d, bool log, const T* src, const Split3& s, T* dst) {
  using Acc = OpMath<T>;
  const Dims<3> dims3 = {s.outer, s.mid, s.inner};
  const Dims<3> keep3 = {s.outer, 1, s.inner};
  const Dims<3> across = {1, s.mid, 1};
  const Dims<2> dims2 = {s.outer, s.inner};
  const Dims<1> axis = {1};
  auto in = ConstMap<T, 3>(src, dims3);
  auto x = CastTo<Acc>(in);
  auto out = Map<T, 3>(dst, dims3);

  DeviceBuffer<Device> max_buffer(d, s.outer * s.inner * sizeof(Acc));
  DeviceBuffer<Device> sum_buffer(d, s.outer * s.inner * sizeof(Acc));
  auto row_max = Map<Acc, 2>(max_buffer.template as<Acc>(), dims2);
  auto row_sum = Map<Acc, 2>(sum_buffer.template as<Acc>(), dims2);
  // NaN anywhere in a row makes the whole row NaN, as in torch.
  row_max.device(d) = x.reduce(axis, NaNMinMaxReducer<Acc, true>());
  auto shifted = x - row_max.reshape(keep3).broadcast(across);
  if (log) {
    row_sum.device(d) = shifted.unaryExpr(AccurateExpOp<Acc>()).sum(axis);
    out.device(d) = CastTo<T>(shifted - row_sum.log().reshape(keep3).broadcast(across));
    return;
  }
  // exp(x - max) is needed twice: keep it in the output when that has the
  // accumulation type, else in a temporary.
  std::optional<DeviceBuffer<Device>> exp_buffer;
  Acc* e = nullptr;
  if constexpr (std::is_same_v<T, Acc>) {
    e = dst;
  } else {
    exp_buffer.emplace(d, s.outer * s.mid * s.inner * sizeof(Acc));
    e = exp_buffer->template as<Acc>();
  }
  auto exps = Map<Acc, 3>(e, dims3);
  exps.device(d) = shifted.unaryExpr(AccurateExpOp<Acc>());
  row_sum.device(d) = exps.sum(axis);
  out.device(d) = CastTo<T>(exps / row_sum.reshape(keep3).broadcast(across));
}

// layer_norm (rms = false) or rms_norm (rms = true) of `src` viewed as
// [m, n] over its rows. `weight` and `bias` are n elements of T or null.
template <typename Device, typename T>
void NormTyped(const Device& d, bool rms, const T* src, Index m, Index n, const T* weight,
               const T* bias, double eps, T* dst) {
  using Acc = OpMath<T>;
  const Dims<2> dims2 = {m, n};
  const Dims<2> col = {m, 1};
  const Dims<2> across = {1, n};
  const Dims<2> row = {1, n};
  const Dims<2> down = {m, 1};
  const Dims<1> axis = {1};
  auto in = ConstMap<T, 2>(src, dims2);
  auto x = CastTo<Acc>(in);
  auto out = Map<T, 2>(dst, dims2);

  // Weight and bias in the accumulation type (ones / zeros when absent), so
  // one expression serves every combination.
  DeviceBuffer<Device> wb_buffer(d, 2 * n * sizeof(Acc));
  Acc* w = wb_buffer.template as<Acc>();
  Acc* b = w + n;
  const ir::DType acc_dtype = std::is_same_v<Acc, double> ? ir::DType::kF64 : ir::DType::kF32;
  const ir::DType t_dtype = std::is_same_v<T, Acc>                ? acc_dtype
                            : std::is_same_v<T, Eigen::bfloat16> ? ir::DType::kBF16
                                                                  : ir::DType::kF16;
  if (weight != nullptr) {
    CastElements(d, t_dtype, weight, acc_dtype, w, n);
  } else {
    Fill(d, w, n, Acc(1));
  }
  if (bias != nullptr) {
    CastElements(d, t_dtype, bias, acc_dtype, b, n);
  } else {
    Fill(d, b, n, Acc(0));
  }
  auto wb = ConstMap<Acc, 2>(w, row).broadcast(down);
  auto bb = ConstMap<Acc, 2>(b, row).broadcast(down);

  DeviceBuffer<Device> stats_buffer(d, 2 * m * sizeof(Acc));
  auto mean = Map<Acc, 1>(stats_buffer.template as<Acc>(), Dims<1>{m});
  auto scale = Map<Acc, 1>(stats_buffer.template as<Acc>() + m, Dims<1>{m});
  const Acc eps_acc = static_cast<Acc>(eps);
  if (rms) {
    scale.device(d) = (x.square().mean(axis) + eps_acc).sqrt().inverse();
    out.device(d) = CastTo<T>(x * scale.reshape(col).broadcast(across) * wb);
    return;
  }
  mean.device(d) = x.mean(axis);
  auto centered = x - mean.reshape(col).broadcast(across);
  // Two passes (mean, then the mean of squared deviations): no cancellation.
  scale.device(d) = (centered.square().mean(axis) + eps_acc).sqrt().inverse();
  out.device(d) = CastTo<T>(centered * scale.reshape(col).broadcast(across) * wb + bb);
}

}  // namespace composite_internal

// softmax(dim) and log_softmax(dim).
template <typename Device>
absl::Status SoftmaxKernel(const Device& d, const ir::Node& node,
                           absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const runtime::Tensor& in = inputs[0];
  absl::StatusOr<int> dim = ir::NormalizeDim(node.attr_int("dim"), in.shape().rank());
  if (!dim.ok()) return dim.status();
  if (output.num_elements() == 0) return absl::OkStatus();
  const Split3 s = SplitAround(in.shape(), *dim, *dim + 1);
  const bool log = node.op() == "log_softmax";
  Dispatch<DTypeSet::kFloat>(output.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    composite_internal::SoftmaxTyped<Device, T>(d, log, in.data_as<T>(), s, output.data_as<T>());
  });
  return absl::OkStatus();
}

// layer_norm(x[, weight[, bias]]) and rms_norm(x[, weight]) over the
// trailing normalized_shape.
template <typename Device>
absl::Status NormKernel(const Device& d, const ir::Node& node,
                        absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const runtime::Tensor& in = inputs[0];
  const int k = static_cast<int>(node.attr_ints("normalized_shape").size());
  const int rank = in.shape().rank();
  if (k > rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("normalized_shape has more dims than the input ", in.type().ToString()));
  }
  if (output.num_elements() == 0) return absl::OkStatus();
  const Split3 s = SplitAround(in.shape(), rank - k, rank);
  const bool rms = node.op() == "rms_norm";
  const double eps = node.attr_float("eps");
  Dispatch<DTypeSet::kFloat>(output.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    const T* weight = inputs.size() > 1 ? inputs[1].data_as<T>() : nullptr;
    const T* bias = inputs.size() > 2 ? inputs[2].data_as<T>() : nullptr;
    composite_internal::NormTyped<Device, T>(d, rms, in.data_as<T>(), s.outer, s.mid, weight,
                                             bias, eps, output.data_as<T>());
  });
  return absl::OkStatus();
}

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_COMPOSITE_IMPL_H_
