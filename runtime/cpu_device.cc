#include "runtime/cpu_device.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fallback/kernel_registry.h"

namespace sluice::runtime {

absl::StatusOr<void*> CpuDevice::Allocate(int64_t bytes) {
  if (bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot allocate ", bytes, " bytes"));
  }
  // Rounded up in size_t: a valid type's byte size may be as large as
  // 2^63 - 8 (ir::kMaxElements eight-byte elements), where int64 arithmetic
  // would overflow.
  const size_t size = (static_cast<size_t>(std::max<int64_t>(bytes, 1)) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, size);
  if (p == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", bytes, " bytes"));
  }
  return p;
}

void CpuDevice::Free(void* ptr) { std::free(ptr); }

absl::Status CpuDevice::CopyToDevice(void* dst, const void* src, int64_t bytes) {
  if (bytes > 0) std::memcpy(dst, src, static_cast<size_t>(bytes));
  return absl::OkStatus();
}

absl::Status CpuDevice::CopyToHost(void* dst, const void* src, int64_t bytes) {
  if (bytes > 0) std::memcpy(dst, src, static_cast<size_t>(bytes));
  return absl::OkStatus();
}

absl::Status CpuDevice::RunFallback(const ir::Node& node, absl::Span<const Tensor> inputs,
                                    Tensor& output) {
  return fallback::RunNode(node, inputs, output);
}

absl::Status CpuDevice::RunLibrary(const ir::Node& node, absl::Span<const Tensor> inputs,
                                   Tensor& output) {
  // The CPU "vendor library" for matmul is Eigen's GEMM, which the kernel
  // registry's matmul already calls (batched, with broadcast batch dims).
  if (node.op() != "matmul") {
    return absl::UnimplementedError(absl::StrCat("no CPU library call for ", node.op()));
  }
  return fallback::RunNode(node, inputs, output);
}

absl::StatusOr<std::unique_ptr<CpuModule>> CpuModule::Create(
    std::shared_ptr<LoadedLibrary> library, const std::vector<std::string>& symbols) {
  auto m = std::unique_ptr<CpuModule>(new CpuModule());
  for (const std::string& s : symbols) {
    void* f = library->Symbol(s);
    if (f == nullptr) return absl::NotFoundError(absl::StrCat("kernel symbol ", s, " not found"));
    m->fns_.push_back(reinterpret_cast<KernelFn>(f));
  }
  m->library_ = std::move(library);
  return m;
}

absl::Status CpuModule::Launch(int index, absl::Span<void* const> buffers) {
  if (index < 0 || index >= num_kernels()) {
    return absl::OutOfRangeError(absl::StrCat("no kernel ", index));
  }
  fns_[index](buffers.data());
  return absl::OkStatus();
}

}  // namespace sluice::runtime
