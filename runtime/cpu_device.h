// The CPU device: host memory, kernels from a dlopen'ed shared library
// (runtime/kernel_cache.h), fallback steps through the Eigen kernel registry
// and matmul through its Eigen GEMM.
#ifndef SLUICE_RUNTIME_CPU_DEVICE_H_
#define SLUICE_RUNTIME_CPU_DEVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/device.h"
#include "runtime/kernel_cache.h"

namespace sluice::runtime {

class CpuDevice : public Device {
 public:
  std::string name() const override { return "cpu"; }
  bool is_host() const override { return true; }
  absl::StatusOr<void*> Allocate(int64_t bytes) override;
  void Free(void* ptr) override;
  absl::Status CopyToDevice(void* dst, const void* src, int64_t bytes) override;
  absl::Status CopyToHost(void* dst, const void* src, int64_t bytes) override;
  absl::Status RunFallback(const ir::Node& node, absl::Span<const Tensor> inputs,
                           Tensor& output) override;
  absl::Status RunLibrary(const ir::Node& node, absl::Span<const Tensor> inputs,
                          Tensor& output) override;
};

// Kernels of a loaded library, by entry symbol.
class CpuModule : public DeviceModule {
 public:
  using KernelFn = void (*)(void* const*);
  static absl::StatusOr<std::unique_ptr<CpuModule>> Create(
      std::shared_ptr<LoadedLibrary> library, const std::vector<std::string>& symbols);
  int num_kernels() const override { return static_cast<int>(fns_.size()); }
  absl::Status Launch(int index, absl::Span<void* const> buffers) override;

 private:
  std::shared_ptr<LoadedLibrary> library_;
  std::vector<KernelFn> fns_;
};

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_CPU_DEVICE_H_
