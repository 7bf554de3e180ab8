// The device interface the Executable runs steps through, so that a CUDA
// backend slots in beside the CPU one: a device owns memory for buffers,
// loads a module of generated kernels and launches them, and runs the
// reference (fallback) and library steps on its own memory.
#ifndef SLUICE_RUNTIME_DEVICE_H_
#define SLUICE_RUNTIME_DEVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::runtime {

// Compiled kernels of one graph, loaded on a device.
class DeviceModule {
 public:
  virtual ~DeviceModule() = default;
  virtual int num_kernels() const = 0;
  // Runs kernel `index` with device pointers to its buffers, in KernelArg
  // order.
  virtual absl::Status Launch(int index, absl::Span<void* const> buffers) = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda:0"
  // Whether device memory is host memory (then inputs are used in place and
  // outputs written directly).
  virtual bool is_host() const = 0;

  // Device memory for buffers; aligned to 64 bytes.
  virtual absl::StatusOr<void*> Allocate(int64_t bytes) = 0;
  virtual void Free(void* ptr) = 0;
  virtual absl::Status CopyToDevice(void* dst, const void* src, int64_t bytes) = 0;
  virtual absl::Status CopyToHost(void* dst, const void* src, int64_t bytes) = 0;

  // One reference kernel (fallback step) or library call (matmul) on device
  // tensors; literal operands come as default Tensors.
  virtual absl::Status RunFallback(const ir::Node& node, absl::Span<const Tensor> inputs,
                                   Tensor& output) = 0;
  virtual absl::Status RunLibrary(const ir::Node& node, absl::Span<const Tensor> inputs,
                                  Tensor& output) = 0;
};

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_DEVICE_H_
