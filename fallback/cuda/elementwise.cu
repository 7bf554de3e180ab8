// The GPU instantiation of the elementwise kernels (fallback/elementwise_impl.h).
#include "fallback/cuda/eigen_gpu.h"
#include "fallback/elementwise_impl.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace sluice::fallback::cuda::internal {

bool IsElementwiseOp(const std::string& op) {
  static const auto* ops = new absl::flat_hash_set<std::string>{
      "neg", "abs", "relu", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
      "silu", "erf", "reciprocal", "gelu", "logical_not", "add", "sub", "mul", "div", "pow",
      "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
      "where", "cast", "full"};
  return ops->contains(op);
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
