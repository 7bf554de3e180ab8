// The CPU (Eigen::ThreadPoolDevice) instantiation of the shared primitives.
#include "fallback/primitives.h"

#include "fallback/primitives_impl.h"
#include "runtime/tensor.h"

namespace sluice::fallback {

SLUICE_FALLBACK_DECLARE_PRIMITIVES(, Eigen::ThreadPoolDevice)

template <typename T>
T ScalarFromDouble(double v) {
  // One conversion routine for every layer: the host tensor's.
  constexpr ir::DType kDType = [] {
    if constexpr (std::is_same_v<T, float>) return ir::DType::kF32;
    if constexpr (std::is_same_v<T, double>) return ir::DType::kF64;
    if constexpr (std::is_same_v<T, Eigen::half>) return ir::DType::kF16;
    if constexpr (std::is_same_v<T, Eigen::bfloat16>) return ir::DType::kBF16;
    if constexpr (std::is_same_v<T, int32_t>) return ir::DType::kI32;
    if constexpr (std::is_same_v<T, int64_t>) return ir::DType::kI64;
    return ir::DType::kBool;
  }();
  T value;
  runtime::Tensor::Borrow(kDType, {}, &value).SetFromDouble(0, v);
  return value;
}

template float ScalarFromDouble<float>(double);
template double ScalarFromDouble<double>(double);
template Eigen::half ScalarFromDouble<Eigen::half>(double);
template Eigen::bfloat16 ScalarFromDouble<Eigen::bfloat16>(double);
template int32_t ScalarFromDouble<int32_t>(double);
template int64_t ScalarFromDouble<int64_t>(double);
template bool ScalarFromDouble<bool>(double);

}  // namespace sluice::fallback
