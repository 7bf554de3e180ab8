// The device interface the Executable runs steps through, so that the CUDA
// backend (runtime/cuda/execution_device.h) slots in beside the CPU one
// (runtime/cpu_device.h): a device owns memory for buffers, loads a module
// of generated kernels and launches them, and runs the reference (fallback)
// and library steps on its own memory (a matmul, or a matmul with a fused
// bias/activation epilogue). DeviceTensor is a tensor in a device's memory,
// for running an executable without host copies.
#ifndef SLUICE_RUNTIME_DEVICE_H_
#define SLUICE_RUNTIME_DEVICE_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ir/graph.h"
#include "passes/matmul_epilogue.h"
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
  // Both in device memory. The default is for host devices (memcpy).
  virtual absl::Status CopyOnDevice(void* dst, const void* src, int64_t bytes) {
    if (!is_host()) return absl::UnimplementedError("CopyOnDevice on " + name());
    if (bytes > 0) std::memcpy(dst, src, static_cast<size_t>(bytes));
    return absl::OkStatus();
  }
  // Waits for the device's queued work (launches, fallback and library
  // steps, copies to the device are asynchronous on CUDA; CopyToHost is not).
  // Errors of asynchronous work surface here.
  virtual absl::Status Synchronize() { return absl::OkStatus(); }
  // How a fallback step of `node` runs when that is worth saying, for the
  // steps and the plan: "" (a reference kernel on the device) or, e.g.,
  // "host copy" (no reference kernel on the device: inputs are copied to the
  // host, the CPU kernel runs, the output is copied back).
  virtual std::string FallbackNote(const ir::Node& node) const { return ""; }

  // One reference kernel (fallback step) or library call (matmul) on device
  // tensors; literal operands come as default Tensors.
  virtual absl::Status RunFallback(const ir::Node& node, absl::Span<const Tensor> inputs,
                                   Tensor& output) = 0;
  virtual absl::Status RunLibrary(const ir::Node& node, absl::Span<const Tensor> inputs,
                                  Tensor& output) = 0;
  // A library step of pattern "matmul_epilogue" (passes/matmul_epilogue.h):
  // output = activation(a · b + bias) for `matmul`'s operands a [..., m, k]
  // and b [k, n], bias (null: none) n values added to every row, in one call
  // (gelu: the tanh approximation). Only devices whose backend sets
  // BackendCapabilities::fused_matmul_epilogue get such steps.
  virtual absl::Status RunMatmulEpilogue(const ir::Node& matmul, const Tensor& a,
                                         const Tensor& b, const Tensor* bias,
                                         passes::EpilogueActivation activation,
                                         Tensor& output) {
    return absl::UnimplementedError("no fused matmul epilogue on " + name());
  }
};

// A tensor in a device's memory (Executable::RunDevice): a dtype, a static
// shape and a device address. Either borrowed (memory the caller manages,
// e.g. another framework's CUDA tensor) or owning (Allocate: freed through
// the device when the last copy goes away).
class DeviceTensor {
 public:
  DeviceTensor() = default;

  static DeviceTensor Borrow(ir::DType dtype, ir::Shape shape, void* data) {
    DeviceTensor t;
    t.dtype_ = dtype;
    t.shape_ = std::move(shape);
    t.data_ = data;
    return t;
  }
  // Uninitialized memory of `device` (kept alive by the tensor).
  static absl::StatusOr<DeviceTensor> Allocate(std::shared_ptr<Device> device,
                                               const ir::TensorType& type) {
    absl::StatusOr<void*> p =
        device->Allocate(type.shape.num_elements() * ir::DTypeSize(type.dtype));
    if (!p.ok()) return p.status();
    DeviceTensor t = Borrow(type.dtype, type.shape, *p);
    t.storage_ = std::shared_ptr<void>(*p, [device](void* q) { device->Free(q); });
    return t;
  }

  bool defined() const { return data_ != nullptr || num_elements() == 0; }
  ir::DType dtype() const { return dtype_; }
  const ir::Shape& shape() const { return shape_; }
  ir::TensorType type() const { return {dtype_, shape_}; }
  int64_t num_elements() const { return shape_.num_elements(); }
  int64_t nbytes() const { return num_elements() * ir::DTypeSize(dtype_); }
  // The device address; not dereferenceable on the host unless the device
  // is_host().
  void* data() const { return data_; }
  // The same memory as a Tensor view (what Device::RunFallback takes).
  Tensor view() const { return Tensor::Borrow(dtype_, shape_, data_); }

 private:
  ir::DType dtype_ = ir::DType::kF32;
  ir::Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<void> storage_;
};

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_DEVICE_H_
