// The registry of CPU reference ("fallback") kernels: one Eigen kernel per
// (op, dtype) for every op of DESIGN §4, with PyTorch semantics. A node that
// the lowering plan marks kFallback runs through RunNode; the reference
// interpreter (interpreter.h) runs whole graphs this way.
//
// Registry key: the op name and the node's OUTPUT dtype (node.dtype()), so a
// caller can ask Has(node.op(), node.dtype()) without knowing promotion
// rules. A kernel handles every input dtype the IR's inference allows for
// that output dtype (e.g. "eq" is registered once, for bool, and compares in
// the promoted operand dtype; "cast" is registered per target dtype and
// accepts any source dtype; "argmax" is registered for i64).
//
// Kernels run on one process-wide Eigen::ThreadPoolDevice sized to the
// hardware (cpu_device.h). They are written once, templated on the Eigen
// device, so a CUDA build can instantiate the same code for Eigen::GpuDevice.
#ifndef SLUICE_FALLBACK_KERNEL_REGISTRY_H_
#define SLUICE_FALLBACK_KERNEL_REGISTRY_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::fallback {

// inputs.size() == node.num_operands(); the entry for a literal operand is a
// default Tensor (read node.operand(i).literal()). `output` is preallocated
// with node.type() (dtype and shape).
using CpuKernelFn = std::function<absl::Status(
    const ir::Node& node, absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output)>;

class KernelRegistry {
 public:
  KernelRegistry() = default;

  // The registry of every built-in CPU kernel (built once, thread-safe).
  static const KernelRegistry& Cpu();

  // The kernel for `op` producing `dtype`. NotFound naming the op and the
  // dtype (and which dtypes the op has) when there is none.
  absl::StatusOr<CpuKernelFn> Find(absl::string_view op, ir::DType dtype) const;
  bool Has(absl::string_view op, ir::DType dtype) const;
  // Op names with at least one kernel, sorted.
  std::vector<std::string> Ops() const;
  // The output dtypes `op` has kernels for, in ir::DType order.
  std::vector<ir::DType> DTypes(absl::string_view op) const;

  // Adds or replaces the kernel for (op, dtype).
  void Register(absl::string_view op, ir::DType dtype, CpuKernelFn fn);

 private:
  std::map<std::pair<std::string, ir::DType>, CpuKernelFn, std::less<>> kernels_;
};

// Runs one call node on the CPU reference kernels. Checks the input count,
// that each non-literal input is defined with its operand's type, and that
// `output` is defined with node.type(); errors name the node. A kernel
// temporary that cannot be allocated is ResourceExhausted naming its size (no
// exception leaves RunNode; allocation.h).
absl::Status RunNode(const ir::Node& node, absl::Span<const runtime::Tensor> inputs,
                     runtime::Tensor& output);

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_KERNEL_REGISTRY_H_
