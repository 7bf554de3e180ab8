// CPU instantiation and registration of the matmul kernel.
#include "fallback/cpu_device.h"
#include "fallback/cpu_kernels.h"
#include "fallback/matmul_impl.h"

namespace sluice::fallback {

void RegisterMatmulKernels(KernelRegistry& registry) {
  RegisterFor(registry, "matmul", kNumericDTypes,
              [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                 runtime::Tensor& out) { return MatmulKernel(CpuDevice(), node, in, out); });
}

}  // namespace sluice::fallback
