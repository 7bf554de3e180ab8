#include "runtime/cuda/module.h"

#include <cuda.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {
namespace {

// Above this much dynamic shared memory a kernel must opt in.
constexpr unsigned kDefaultMaxDynamicSharedBytes = 48 * 1024;

std::string DimString(Dim3 d) { return absl::StrCat("(", d.x, ",", d.y, ",", d.z, ")"); }

// Adds `context` to a failed status's message, keeping its code.
absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(status.message(), " (", context, ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaModule>> CudaModule::Load(CudaDevice* device,
                                                            absl::string_view image,
                                                            std::string name) {
  if (image.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("module '", name, "': empty image"));
  }
  ScopedActivateContext activate(device);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  // cuModuleLoadData reads PTX as a NUL-terminated string; a cubin (ELF) has
  // its own size. Copying into a std::string guarantees the terminator.
  const std::string data(image);
  CUmodule module = nullptr;
  absl::Status status = [&]() -> absl::Status {
    SLUICE_CU_RETURN_IF_ERROR(device->symbols().cuModuleLoadData(&module, data.data()));
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    return WithContext(status, absl::StrCat("loading module '", name, "' on ",
                                            device->DebugString()));
  }
  return std::unique_ptr<CudaModule>(new CudaModule(device, module, std::move(name)));
}

CudaModule::~CudaModule() {
  ScopedActivateContext activate(device_);
  if (!activate.status().ok()) {
    internal::LogError(activate.status());
    return;
  }
  SLUICE_CU_LOG_IF_ERROR(device_->symbols().cuModuleUnload(module_));
}

absl::StatusOr<CudaFunction> CudaModule::GetFunction(const std::string& kernel_name) const {
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  const CudaSymbols& cu = device_->symbols();
  CudaFunction function;
  absl::Status status = [&]() -> absl::Status {
    CUfunction handle = nullptr;
    SLUICE_CU_RETURN_IF_ERROR(cu.cuModuleGetFunction(&handle, module_, kernel_name.c_str()));
    function.function_ = handle;
    SLUICE_CU_RETURN_IF_ERROR(cu.cuFuncGetAttribute(
        &function.max_threads_per_block_, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, handle));
    SLUICE_CU_RETURN_IF_ERROR(
        cu.cuFuncGetAttribute(&function.num_registers_, CU_FUNC_ATTRIBUTE_NUM_REGS, handle));
    SLUICE_CU_RETURN_IF_ERROR(cu.cuFuncGetAttribute(
        &function.static_shared_bytes_, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, handle));
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    return WithContext(status, absl::StrCat("kernel '", kernel_name, "' of module '", name_,
                                            "'"));
  }
  function.name_ = kernel_name;
  function.device_ = device_;
  return function;
}

absl::Status Launch(const CudaFunction& function, Dim3 grid, Dim3 block, unsigned shared_bytes,
                    CudaStream* stream, void** args) {
  if (function.handle() == nullptr) {
    return absl::InvalidArgumentError("Launch of a null CudaFunction");
  }
  if (stream->device() != function.device()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kernel '", function.name(), "' is loaded on device ",
                     function.device()->ordinal(), " but the stream is on device ",
                     stream->device()->ordinal()));
  }
  const std::string where = absl::StrCat("kernel '", function.name(), "', grid ",
                                         DimString(grid), ", block ", DimString(block), ", ",
                                         shared_bytes, " bytes of dynamic shared memory");
  ScopedActivateContext activate(stream->device());
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  const CudaSymbols& cu = stream->device()->symbols();
  absl::Status status = [&]() -> absl::Status {
    if (shared_bytes > kDefaultMaxDynamicSharedBytes &&
        shared_bytes > function.dynamic_shared_opt_in_->load(std::memory_order_relaxed)) {
      SLUICE_CU_RETURN_IF_ERROR(cu.cuFuncSetAttribute(
          function.handle(), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
          static_cast<int>(shared_bytes)));
      // Racing launches of one function may both set it: the same call twice.
      function.dynamic_shared_opt_in_->store(shared_bytes, std::memory_order_relaxed);
    }
    SLUICE_CU_RETURN_IF_ERROR(cu.cuLaunchKernel(function.handle(), grid.x, grid.y, grid.z,
                                                block.x, block.y, block.z, shared_bytes,
                                                stream->handle(), args, nullptr));
    return absl::OkStatus();
  }();
  SLUICE_CUDA_RETURN_IF_ERROR(WithContext(status, where));
  stream->NoteLaunch(function.name());
  if (stream->sync_after_launch()) SLUICE_CUDA_RETURN_IF_ERROR(stream->Synchronize());
  return absl::OkStatus();
}

}  // namespace sluice::runtime::cuda
