// CPU instantiation and registration of the reduction kernels.
#include "fallback/cpu_device.h"
#include "fallback/cpu_kernels.h"
#include "fallback/reduction_impl.h"

namespace sluice::fallback {

void RegisterReductionKernels(KernelRegistry& registry) {
  const CpuKernelFn reduce = [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                                runtime::Tensor& out) {
    return ReduceKernel(CpuDevice(), node, in, out);
  };
  // Integer and bool sums produce i64 (never i32 or bool).
  for (ir::DType dtype : {ir::DType::kF32, ir::DType::kF16, ir::DType::kBF16, ir::DType::kF64,
                          ir::DType::kI64}) {
    registry.Register("sum", dtype, reduce);
  }
  RegisterFor(registry, "mean", kFloatDTypes, reduce);
  RegisterFor(registry, "amax", ir::kAllDTypes, reduce);
  RegisterFor(registry, "amin", ir::kAllDTypes, reduce);
  registry.Register("argmax", ir::DType::kI64,
                    [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                       runtime::Tensor& out) {
                      return ArgMaxKernel(CpuDevice(), node, in, out);
                    });
}

}  // namespace sluice::fallback
