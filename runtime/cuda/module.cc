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

namespace {

// A TensorMapSpec's driver enums, or InvalidArgument naming the bad field.
absl::Status TensorMapEnums(const TensorMapSpec& spec, DevicePtr address,
                            CUtensorMapDataType* type, CUtensorMapSwizzle* swizzle) {
  const size_t rank = spec.dims.size();
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("tensor map of rank ", rank, " at 0x",
                                                   absl::Hex(address), ": ", why));
  };
  switch (spec.element_bytes) {
    case 1: *type = CU_TENSOR_MAP_DATA_TYPE_UINT8; break;
    case 2: *type = CU_TENSOR_MAP_DATA_TYPE_UINT16; break;
    case 4: *type = CU_TENSOR_MAP_DATA_TYPE_UINT32; break;
    case 8: *type = CU_TENSOR_MAP_DATA_TYPE_UINT64; break;
    default: return bad(absl::StrCat("elements of ", spec.element_bytes, " bytes (1, 2, 4 or 8)"));
  }
  switch (spec.swizzle_bytes) {
    case 0: *swizzle = CU_TENSOR_MAP_SWIZZLE_NONE; break;
    case 32: *swizzle = CU_TENSOR_MAP_SWIZZLE_32B; break;
    case 64: *swizzle = CU_TENSOR_MAP_SWIZZLE_64B; break;
    case 128: *swizzle = CU_TENSOR_MAP_SWIZZLE_128B; break;
    default:
      return bad(absl::StrCat("a swizzle of ", spec.swizzle_bytes, " bytes (0, 32, 64 or 128)"));
  }
  if (rank < 1 || rank > 5) return bad("rank must be 1 to 5");
  if (spec.strides.size() != rank - 1 || spec.box.size() != rank) {
    return bad(absl::StrCat(spec.strides.size(), " strides and ", spec.box.size(),
                            " box dimensions (want rank - 1 and rank)"));
  }
  if (address == 0 || address % 16 != 0) return bad("the address must be 16-byte aligned");
  for (size_t i = 0; i < rank; ++i) {
    if (spec.dims[i] < 1 || spec.dims[i] > (uint64_t{1} << 32)) {
      return bad(absl::StrCat("dimension ", i, " is ", spec.dims[i], " (1 to 2^32)"));
    }
    if (spec.box[i] < 1 || spec.box[i] > 256) {
      return bad(absl::StrCat("box dimension ", i, " is ", spec.box[i], " (1 to 256)"));
    }
  }
  for (size_t i = 0; i + 1 < rank; ++i) {
    if (spec.strides[i] % 16 != 0 || spec.strides[i] >= (uint64_t{1} << 40)) {
      return bad(absl::StrCat("stride ", i, " is ", spec.strides[i],
                              " bytes (a multiple of 16 below 2^40)"));
    }
  }
  const uint64_t row_bytes = uint64_t{spec.box[0]} * spec.element_bytes;
  if (row_bytes % 16 != 0) return bad("the box's inner dimension must be a multiple of 16 bytes");
  if (*swizzle != CU_TENSOR_MAP_SWIZZLE_NONE &&
      row_bytes > static_cast<uint64_t>(spec.swizzle_bytes)) {
    return bad(absl::StrCat("the box's rows of ", row_bytes, " bytes exceed the ",
                            spec.swizzle_bytes, "-byte swizzle span"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTensorMap(const TensorMapSpec& spec, DevicePtr address) {
  CUtensorMapDataType type;
  CUtensorMapSwizzle swizzle;
  return TensorMapEnums(spec, address, &type, &swizzle);
}

absl::StatusOr<TensorMapBytes> EncodeTensorMap(CudaDevice* device, const TensorMapSpec& spec,
                                               DevicePtr address) {
  static_assert(sizeof(TensorMapBytes) == sizeof(CUtensorMap) &&
                    alignof(TensorMapBytes) == alignof(CUtensorMap),
                "TensorMapBytes must be a CUtensorMap's bytes");
  CUtensorMapDataType type;
  CUtensorMapSwizzle swizzle;
  SLUICE_CUDA_RETURN_IF_ERROR(TensorMapEnums(spec, address, &type, &swizzle));
  const size_t rank = spec.dims.size();
  cuuint64_t dims[5], strides[4];
  cuuint32_t box[5], element_strides[5];
  for (size_t i = 0; i < rank; ++i) {
    dims[i] = spec.dims[i];
    box[i] = spec.box[i];
    element_strides[i] = 1;
    if (i + 1 < rank) strides[i] = spec.strides[i];
  }
  // The driver wants a current context, though the map depends on none.
  ScopedActivateContext activate(device);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  const CudaSymbols& cu = device->symbols();
  TensorMapBytes out;
  SLUICE_CU_RETURN_IF_ERROR(cu.cuTensorMapEncodeTiled(
      reinterpret_cast<CUtensorMap*>(&out), type, static_cast<cuuint32_t>(rank),
      reinterpret_cast<void*>(static_cast<uintptr_t>(address)), dims, strides, box,
      element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
  return out;
}

}  // namespace sluice::runtime::cuda
