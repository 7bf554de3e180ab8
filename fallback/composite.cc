// CPU instantiation and registration of the composite kernels.
#include "fallback/composite_impl.h"
#include "fallback/cpu_device.h"
#include "fallback/cpu_kernels.h"

namespace sluice::fallback {

void RegisterCompositeKernels(KernelRegistry& registry) {
  const CpuKernelFn softmax = [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                                 runtime::Tensor& out) {
    return SoftmaxKernel(CpuDevice(), node, in, out);
  };
  const CpuKernelFn norm = [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                              runtime::Tensor& out) {
    return NormKernel(CpuDevice(), node, in, out);
  };
  RegisterFor(registry, "softmax", kFloatDTypes, softmax);
  RegisterFor(registry, "log_softmax", kFloatDTypes, softmax);
  RegisterFor(registry, "layer_norm", kFloatDTypes, norm);
  RegisterFor(registry, "rms_norm", kFloatDTypes, norm);
}

}  // namespace sluice::fallback
