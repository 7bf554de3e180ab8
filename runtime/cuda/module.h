// Loaded GPU code and kernel launches: a CudaModule is one cubin (from
// CompileCuda, runtime/cuda/nvrtc.h) loaded into a device's context, a
// CudaFunction one of its kernels, and Launch() runs a kernel on a stream.
//
//   SLUICE_CUDA_ASSIGN_OR_RETURN(auto module, CudaModule::Load(device, compiled.cubin, "g"));
//   SLUICE_CUDA_ASSIGN_OR_RETURN(CudaFunction add, module->GetFunction("add_kernel"));
//   void* args[] = {&x, &y, &n};
//   SLUICE_CUDA_RETURN_IF_ERROR(Launch(add, {blocks}, {256}, 0, stream, args));
//
// Kernels are looked up by their symbol name: generated kernels should be
// `extern "C" __global__` so that the name is the function's name.
#ifndef SLUICE_RUNTIME_CUDA_MODULE_H_
#define SLUICE_RUNTIME_CUDA_MODULE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cuda/cuda_types.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/stream.h"

namespace sluice::runtime::cuda {

class CudaModule;

// A kernel of a loaded module; valid while the module is. Cheap to copy.
class CudaFunction {
 public:
  CudaFunction() = default;

  CUfunc_st* handle() const { return function_; }
  const std::string& name() const { return name_; }
  CudaDevice* device() const { return device_; }
  // From cuFuncGetAttribute, for launch configuration and reports.
  int max_threads_per_block() const { return max_threads_per_block_; }
  int num_registers() const { return num_registers_; }
  int static_shared_bytes() const { return static_shared_bytes_; }

 private:
  friend class CudaModule;
  friend absl::Status Launch(const CudaFunction&, Dim3, Dim3, unsigned, CudaStream*, void**);
  CUfunc_st* function_ = nullptr;
  // The dynamic shared memory the function is opted into
  // (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), shared by copies, so
  // that Launch calls cuFuncSetAttribute once per function and size, not
  // before every launch. (Two first launches of one function with different
  // sizes on two threads could race, the smaller setting last; sluice's
  // kernels are always launched with one size.)
  std::shared_ptr<std::atomic<unsigned>> dynamic_shared_opt_in_ =
      std::make_shared<std::atomic<unsigned>>(0);
  std::string name_;
  CudaDevice* device_ = nullptr;
  int max_threads_per_block_ = 0;
  int num_registers_ = 0;
  int static_shared_bytes_ = 0;
};

class CudaModule {
 public:
  // Loads `image` (a cubin for the device's architecture; PTX and fatbins work
  // too) into `device`'s context. `name` is for messages. FailedPrecondition
  // when the image was built for another architecture.
  static absl::StatusOr<std::unique_ptr<CudaModule>> Load(CudaDevice* device,
                                                         absl::string_view image,
                                                         std::string name = "module");
  ~CudaModule();
  CudaModule(const CudaModule&) = delete;
  CudaModule& operator=(const CudaModule&) = delete;

  // The kernel `kernel_name`; NotFound (naming the module) when it has none.
  absl::StatusOr<CudaFunction> GetFunction(const std::string& kernel_name) const;

  const std::string& name() const { return name_; }
  CudaDevice* device() const { return device_; }

 private:
  CudaModule(CudaDevice* device, CUmod_st* module, std::string name)
      : device_(device), module_(module), name_(std::move(name)) {}
  CudaDevice* device_;
  CUmod_st* module_;
  std::string name_;
};

// Launches `function` on `stream` (cuLaunchKernel). `args` points at one
// pointer per kernel parameter, each to the argument's value. Dynamic shared
// memory above 48 KiB is opted into automatically. A launch error names the
// kernel and its configuration; errors while it runs come from the stream's
// next Synchronize(), which names it too.
absl::Status Launch(const CudaFunction& function, Dim3 grid, Dim3 block,
                    unsigned shared_bytes, CudaStream* stream, void** args);

// A tensor map (the tensor memory accelerator's descriptor of a global
// tensor, sm_90+) for a kernel that takes one by value: codegen/cuda's
// CudaTensorMap without the buffer.
struct TensorMapSpec {
  int element_bytes = 2;          // 1, 2, 4 or 8
  std::vector<uint64_t> dims;     // elements per dimension, innermost first (rank 1-5)
  std::vector<uint64_t> strides;  // bytes from one index of dims[i + 1] to the next (rank - 1)
  std::vector<uint32_t> box;      // elements one copy moves per dimension (each 1-256)
  int swizzle_bytes = 128;        // 0 (none), 32, 64 or 128
};

// A CUtensorMap's 128 bytes, as a kernel parameter's value (zeros: none).
struct alignas(128) TensorMapBytes {
  unsigned char bytes[128] = {};
};

// InvalidArgument naming the rule when the hardware cannot take `spec` for
// a tensor at `address`: an address not 16-byte aligned, a stride not a
// multiple of 16, a box dimension past 256, a swizzle span narrower than the
// box's rows, and so on. Needs no GPU.
absl::Status ValidateTensorMap(const TensorMapSpec& spec, DevicePtr address);

// Encodes `spec` for the tensor at `address` on `device`
// (cuTensorMapEncodeTiled, in the device's context; interleave none, L2
// promotion 256 bytes, out-of-bounds elements read as zeros). What
// ValidateTensorMap refuses is refused before the driver is asked; the
// driver's own refusal otherwise.
absl::StatusOr<TensorMapBytes> EncodeTensorMap(CudaDevice* device, const TensorMapSpec& spec,
                                               DevicePtr address);

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_MODULE_H_
