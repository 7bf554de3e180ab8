// CPU instantiation and registration of the elementwise kernels.
#include "fallback/cpu_device.h"
#include "fallback/cpu_kernels.h"
#include "fallback/elementwise_impl.h"

namespace sluice::fallback {

void RegisterElementwiseKernels(KernelRegistry& registry) {
  const CpuKernelFn unary = [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                               runtime::Tensor& out) {
    return UnaryKernel(CpuDevice(), node, in, out);
  };
  for (const char* op : {"neg", "abs", "relu"}) RegisterFor(registry, op, kNumericDTypes, unary);
  for (const char* op : {"exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "silu",
                         "erf", "reciprocal", "gelu"}) {
    RegisterFor(registry, op, kFloatDTypes, unary);
  }
  registry.Register("logical_not", ir::DType::kBool,
                    [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                       runtime::Tensor& out) {
                      return LogicalNotKernel(CpuDevice(), node, in, out);
                    });

  const CpuKernelFn binary = [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                                runtime::Tensor& out) {
    return BinaryKernel(CpuDevice(), node, in, out);
  };
  for (const char* op : {"add", "mul", "maximum", "minimum"}) {
    RegisterFor(registry, op, ir::kAllDTypes, binary);
  }
  // No bool: the IR rejects sub and pow of bools, as torch does.
  for (const char* op : {"sub", "pow"}) RegisterFor(registry, op, kNumericDTypes, binary);
  RegisterFor(registry, "div", kFloatDTypes, binary);
  for (const char* op : {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or"}) {
    registry.Register(op, ir::DType::kBool, binary);
  }

  RegisterFor(registry, "where", ir::kAllDTypes,
              [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                 runtime::Tensor& out) { return WhereKernel(CpuDevice(), node, in, out); });
  RegisterFor(registry, "cast", ir::kAllDTypes,
              [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                 runtime::Tensor& out) { return CastKernel(CpuDevice(), node, in, out); });
  RegisterFor(registry, "full", ir::kAllDTypes,
              [](const ir::Node& node, absl::Span<const runtime::Tensor> in,
                 runtime::Tensor& out) { return FullKernel(CpuDevice(), node, in, out); });
}

}  // namespace sluice::fallback
