// The GPU instantiation of the reduction, composite and layout kernels
// (fallback/reduction_impl.h, composite_impl.h, layout_impl.h).
#include "fallback/cuda/eigen_gpu.h"
#include "fallback/composite_impl.h"
#include "fallback/layout_impl.h"
#include "fallback/reduction_impl.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace sluice::fallback::cuda::internal {

// A plain array, not an absl::flat_hash_set: nvcc's host compiler builds this
// file without the sanitizers, and its instantiations of absl's hash set
// (weak symbols, linked into every binary with the GPU kernels) would take
// the place of the instrumented ones in sanitizer builds, whose poisoned
// slots they do not unpoison.
bool IsReductionOrLayoutOp(const std::string& op) {
  static constexpr const char* kOps[] = {
      "sum",     "mean",    "amax",      "amin",   "argmax", "softmax", "log_softmax",
      "layer_norm", "rms_norm", "reshape", "squeeze", "unsqueeze", "permute", "transpose",
      "expand",  "slice",   "concat"};
  for (const char* o : kOps) {
    if (op == o) return true;
  }
  return false;
}

absl::Status RunReductionOrLayout(const GpuStream& stream, const ir::Node& node,
                                  absl::Span<const runtime::Tensor> inputs,
                                  runtime::Tensor& output) {
  const Eigen::GpuDevice& d = stream.impl().device;
  const std::string& op = node.op();
  if (op == "sum" || op == "mean" || op == "amax" || op == "amin") {
    return ReduceKernel(d, node, inputs, output);
  }
  if (op == "argmax") return ArgMaxKernel(d, node, inputs, output);
  if (op == "softmax" || op == "log_softmax") return SoftmaxKernel(d, node, inputs, output);
  if (op == "layer_norm" || op == "rms_norm") return NormKernel(d, node, inputs, output);
  if (op == "reshape" || op == "squeeze" || op == "unsqueeze") {
    return CopyKernel(d, node, inputs, output);
  }
  if (op == "permute" || op == "transpose") return PermuteKernel(d, node, inputs, output);
  if (op == "expand") return ExpandKernel(d, node, inputs, output);
  if (op == "slice") return SliceKernel(d, node, inputs, output);
  if (op == "concat") return ConcatKernel(d, node, inputs, output);
  return absl::NotFoundError(absl::StrCat("no GPU reduction or layout kernel for ", op));
}

}  // namespace sluice::fallback::cuda::internal
