#include "fallback/kernel_registry.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fallback/allocation.h"
#include "fallback/cpu_kernels.h"
#include "fallback/shape_util.h"

namespace sluice::fallback {

const KernelRegistry& KernelRegistry::Cpu() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();
    RegisterElementwiseKernels(*r);
    RegisterReductionKernels(*r);
    RegisterCompositeKernels(*r);
    RegisterLayoutKernels(*r);
    RegisterMatmulKernels(*r);
    return r;
  }();
  return *registry;
}

void KernelRegistry::Register(absl::string_view op, ir::DType dtype, CpuKernelFn fn) {
  kernels_[{std::string(op), dtype}] = std::move(fn);
}

absl::StatusOr<CpuKernelFn> KernelRegistry::Find(absl::string_view op, ir::DType dtype) const {
  auto it = kernels_.find(std::make_pair(std::string(op), dtype));
  if (it != kernels_.end()) return it->second;
  const std::vector<ir::DType> dtypes = DTypes(op);
  if (dtypes.empty()) {
    return absl::NotFoundError(absl::StrCat("no fallback kernel for op '", op, "'"));
  }
  return absl::NotFoundError(absl::StrCat(
      "no fallback kernel for op '", op, "' with output dtype ", ir::DTypeName(dtype),
      " (it has: ",
      absl::StrJoin(dtypes, ", ",
                    [](std::string* out, ir::DType d) { absl::StrAppend(out, ir::DTypeName(d)); }),
      ")"));
}

bool KernelRegistry::Has(absl::string_view op, ir::DType dtype) const {
  return kernels_.find(std::make_pair(std::string(op), dtype)) != kernels_.end();
}

std::vector<std::string> KernelRegistry::Ops() const {
  std::vector<std::string> ops;
  for (const auto& [key, fn] : kernels_) {
    if (ops.empty() || ops.back() != key.first) ops.push_back(key.first);
  }
  return ops;
}

std::vector<ir::DType> KernelRegistry::DTypes(absl::string_view op) const {
  std::vector<ir::DType> dtypes;
  for (auto it = kernels_.lower_bound(std::make_pair(std::string(op), ir::DType::kBool));
       it != kernels_.end() && it->first.first == op; ++it) {
    dtypes.push_back(it->first.second);
  }
  return dtypes;
}

absl::Status RunNode(const ir::Node& node, absl::Span<const runtime::Tensor> inputs,
                     runtime::Tensor& output) {
  if (!node.is_call()) {
    return absl::InvalidArgumentError(
        absl::StrCat("%", node.name(), " is a graph input, not a call node"));
  }
  const std::string where = absl::StrCat("fallback kernel for %", node.name(), " (", node.op(),
                                         ")");
  if (static_cast<int>(inputs.size()) != node.num_operands()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": expected ", node.num_operands(),
                                                   " inputs, got ", inputs.size()));
  }
  for (int i = 0; i < node.num_operands(); ++i) {
    if (node.operand(i).is_literal()) continue;
    const ir::TensorType& expected = node.operand_node(i)->type();
    const runtime::Tensor& t = inputs[i];
    if (!t.defined()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": input ", i, " (%", node.operand_node(i)->name(),
                       ") is undefined"));
    }
    if (t.type() != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": input ", i, " (%", node.operand_node(i)->name(), ") is ",
          t.type().ToString(), ", expected ", expected.ToString()));
    }
  }
  // The data-movement kernels are instantiated up to rank kMaxKernelRank
  // (after collapsing dims, which never raises the rank).
  for (int i = 0; i < node.num_operands(); ++i) {
    if (!node.operand(i).is_literal() && inputs[i].shape().rank() > kMaxKernelRank) {
      return absl::UnimplementedError(absl::StrCat(
          where, ": input ", i, " has rank ", inputs[i].shape().rank(),
          "; the fallback kernels support up to rank ", kMaxKernelRank));
    }
  }
  if (node.shape().rank() > kMaxKernelRank) {
    return absl::UnimplementedError(absl::StrCat(where, ": the output has rank ",
                                                 node.shape().rank(),
                                                 "; the fallback kernels support up to rank ",
                                                 kMaxKernelRank));
  }
  if (!output.defined() || output.type() != node.type()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": output is ", output.defined() ? output.type().ToString()
                                                             : "undefined",
                     ", expected ", node.type().ToString()));
  }
  absl::StatusOr<CpuKernelFn> kernel = KernelRegistry::Cpu().Find(node.op(), node.dtype());
  if (!kernel.ok()) return kernel.status();
  // A temporary larger than the machine is an error like any other, never an
  // exception out of the library (allocation.h).
  absl::Status status =
      CatchAllocationFailures([&] { return (*kernel)(node, inputs, output); });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace sluice::fallback
