// The GPU instantiation of the elementwise kernels (fallback/elementwise_impl.h).
#include "fallback/cuda/eigen_gpu.h"
#include "fallback/elementwise_impl.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace sluice::fallback::cuda::internal {

// A plain array, not an absl::flat_hash_set: nvcc's host compiler builds this
// file without the sanitizers, and its instantiations of absl's hash set
// (weak symbols, linked into every binary with the GPU kernels) would take
// the place of the instrumented ones in sanitizer builds, whose poisoned
// slots they do not unpoison.
bool IsElementwiseOp(const std::string& op) {
  static constexpr const char* kOps[] = {
      "neg", "abs", "relu", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
      "silu", "erf", "reciprocal", "gelu", "logical_not", "add", "sub", "mul", "div", "pow",
      "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
      "where", "cast", "full"};
  for (const char* o : kOps) {
    if (op == o) return true;
  }
  return false;
}

absl::Status RunElementwise(const GpuStream& stream, const ir::Node& node,
                            absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const Eigen::GpuDevice& d = stream.impl().device;
  const std::string& op = node.op();
  if (op == "logical_not") return LogicalNotKernel(d, node, inputs, output);
  if (op == "where") return WhereKernel(d, node, inputs, output);
  if (op == "cast") return CastKernel(d, node, inputs, output);
  if (op == "full") return FullKernel(d, node, inputs, output);
  if (elementwise_internal::ParseBinaryOp(op).has_value()) {
    return BinaryKernel(d, node, inputs, output);
  }
  if (elementwise_internal::ParseUnaryOp(node).has_value()) {
    return UnaryKernel(d, node, inputs, output);
  }
  return absl::NotFoundError(absl::StrCat("no GPU elementwise kernel for ", op));
}

}  // namespace sluice::fallback::cuda::internal
