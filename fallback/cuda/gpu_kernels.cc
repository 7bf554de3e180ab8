#include "fallback/cuda/gpu_kernels.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fallback/allocation.h"
#include "fallback/cuda/registry.h"
#include "fallback/kernel_registry.h"
#include "fallback/shape_util.h"

namespace sluice::fallback::cuda {
namespace {

using Registry = std::map<std::pair<std::string, ir::DType>, internal::GroupFn, std::less<>>;

// Every (op, dtype) of the CPU registry whose op one of the GPU groups
// implements: the GPU kernels are the same templates, so they cover the same
// dtypes.
const Registry& GpuRegistry() {
  static const Registry* registry = [] {
    auto* r = new Registry();
    const KernelRegistry& cpu = KernelRegistry::Cpu();
    for (const std::string& op : cpu.Ops()) {
      internal::GroupFn fn = nullptr;
      if (internal::IsElementwiseOp(op)) fn = &internal::RunElementwise;
      if (internal::IsReductionOrLayoutOp(op)) fn = &internal::RunReductionOrLayout;
      if (fn == nullptr) continue;
      for (ir::DType dtype : cpu.DTypes(op)) (*r)[{op, dtype}] = fn;
    }
    return r;
  }();
  return *registry;
}

thread_local std::string gpu_failures;

}  // namespace

namespace internal {

void NoteGpuFailure(const char* condition, const char* file, int line) {
  if (!gpu_failures.empty()) absl::StrAppend(&gpu_failures, "; ");
  absl::StrAppend(&gpu_failures, condition, " failed at ", file, ":", line);
}

std::string TakeGpuFailures() { return std::exchange(gpu_failures, std::string()); }

}  // namespace internal

bool HasGpuKernel(absl::string_view op, ir::DType dtype) {
  return GpuRegistry().count({std::string(op), dtype}) > 0;
}

std::vector<std::pair<std::string, ir::DType>> GpuKernelList() {
  std::vector<std::pair<std::string, ir::DType>> out;
  for (const auto& [key, fn] : GpuRegistry()) out.push_back(key);
  return out;
}

absl::Status RunNodeOnGpu(const GpuStream& stream, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const std::string where =
      absl::StrCat("GPU fallback kernel for %", node.name(), " (", node.op(), ")");
  auto it = GpuRegistry().find(std::make_pair(node.op(), node.dtype()));
  if (it == GpuRegistry().end()) {
    return absl::NotFoundError(absl::StrCat("no ", where, " with output dtype ",
                                            ir::DTypeName(node.dtype())));
  }
  if (static_cast<int>(inputs.size()) != node.num_operands()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": expected ", node.num_operands(),
                                                   " inputs, got ", inputs.size()));
  }
  for (int i = 0; i < node.num_operands(); ++i) {
    if (node.operand(i).is_literal()) continue;
    if (!inputs[i].defined() || inputs[i].type() != node.operand_node(i)->type()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": input ", i, " is not a ",
                       node.operand_node(i)->type().ToString()));
    }
    if (inputs[i].shape().rank() > kMaxKernelRank) {
      return absl::UnimplementedError(absl::StrCat(where, ": input ", i, " has rank ",
                                                   inputs[i].shape().rank(), "; at most ",
                                                   kMaxKernelRank, " is supported"));
    }
  }
  if (!output.defined() || output.type() != node.type()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the output is not a ", node.type().ToString()));
  }
  if (output.shape().rank() > kMaxKernelRank) {
    return absl::UnimplementedError(absl::StrCat(where, ": the output has rank ",
                                                 output.shape().rank(), "; at most ",
                                                 kMaxKernelRank, " is supported"));
  }
  internal::TakeGpuFailures();
  // A temporary that cannot be allocated is ResourceExhausted, whatever the
  // failed cudaMallocAsync noted (allocation.h).
  absl::Status status =
      CatchAllocationFailures([&] { return it->second(stream, node, inputs, output); });
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    internal::TakeGpuFailures();
    return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
  }
  if (std::string failed = internal::TakeGpuFailures(); !failed.empty()) {
    return absl::InternalError(absl::StrCat(where, ": a CUDA runtime call failed: ", failed));
  }
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
  return absl::OkStatus();
}

}  // namespace sluice::fallback::cuda
