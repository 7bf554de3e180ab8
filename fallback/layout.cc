// CPU registration of the layout kernels (their Eigen code lives in the
// primitives, instantiated in primitives.cc).
#include "fallback/cpu_device.h"
#include "fallback/cpu_kernels.h"
#include "fallback/layout_impl.h"

namespace sluice::fallback {

void RegisterLayoutKernels(KernelRegistry& registry) {
  const CpuKernelFn copy = [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                              runtime::Tensor& out) {
    return CopyKernel(CpuDevice(), node, in, out);
  };
  for (const char* op : {"reshape", "squeeze", "unsqueeze"}) {
    RegisterFor(registry, op, ir::kAllDTypes, copy);
  }
  const CpuKernelFn permute = [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                                 runtime::Tensor& out) {
    return PermuteKernel(CpuDevice(), node, in, out);
  };
  RegisterFor(registry, "permute", ir::kAllDTypes, permute);
  RegisterFor(registry, "transpose", ir::kAllDTypes, permute);
  RegisterFor(registry, "expand", ir::kAllDTypes,
              [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                 runtime::Tensor& out) { return ExpandKernel(CpuDevice(), node, in, out); });
  RegisterFor(registry, "slice", ir::kAllDTypes,
              [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                 runtime::Tensor& out) { return SliceKernel(CpuDevice(), node, in, out); });
  RegisterFor(registry, "concat", ir::kAllDTypes,
              [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                 runtime::Tensor& out) { return ConcatKernel(CpuDevice(), node, in, out); });
}

}  // namespace sluice::fallback
