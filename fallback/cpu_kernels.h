// Internal: how each kernel file adds its CPU kernels to the registry, and
// the adapter from a device-generic kernel template to a CpuKernelFn.
#ifndef SLUICE_FALLBACK_CPU_KERNELS_H_
#define SLUICE_FALLBACK_CPU_KERNELS_H_

#include <initializer_list>

#include "absl/strings/string_view.h"
#include "fallback/kernel_registry.h"
#include "ir/dtype.h"

namespace sluice::fallback {

inline constexpr ir::DType kFloatDTypes[] = {ir::DType::kF32, ir::DType::kF16,
                                             ir::DType::kBF16, ir::DType::kF64};
inline constexpr ir::DType kNumericDTypes[] = {ir::DType::kF32, ir::DType::kF16,
                                               ir::DType::kBF16, ir::DType::kF64,
                                               ir::DType::kI32, ir::DType::kI64};

// Registers `fn` for `op` and each of `dtypes`.
template <typename DTypes>
void RegisterFor(KernelRegistry& registry, absl::string_view op, const DTypes& dtypes,
                 const CpuKernelFn& fn) {
  for (ir::DType dtype : dtypes) registry.Register(op, dtype, fn);
}

void RegisterElementwiseKernels(KernelRegistry& registry);
void RegisterReductionKernels(KernelRegistry& registry);
void RegisterCompositeKernels(KernelRegistry& registry);
void RegisterLayoutKernels(KernelRegistry& registry);
void RegisterMatmulKernels(KernelRegistry& registry);

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_CPU_KERNELS_H_
