#include "runtime/cuda/device.h"

#include <cuda.h>

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {

absl::StatusOr<int> CudaDevice::Count() {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const CudaSymbols* cu, LoadCuda());
  int count = 0;
  SLUICE_CU_RETURN_IF_ERROR(cu->cuDeviceGetCount(&count));
  return count;
}

absl::StatusOr<CudaDevice*> CudaDevice::Get(int ordinal) {
  static absl::Mutex mu(absl::kConstInit);
  // Successes only: a failed creation is retried by the next call.
  static auto* devices = new std::map<int, CudaDevice*>();
  absl::MutexLock lock(&mu);
  if (auto it = devices->find(ordinal); it != devices->end()) return it->second;
  SLUICE_CUDA_ASSIGN_OR_RETURN(CudaDevice * device, Create(ordinal));
  (*devices)[ordinal] = device;
  return device;
}

absl::StatusOr<CudaDevice*> CudaDevice::Create(int ordinal) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const CudaSymbols* cu, LoadCuda());
  SLUICE_CUDA_ASSIGN_OR_RETURN(int count, Count());
  if (ordinal < 0 || ordinal >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("CUDA device ", ordinal, " does not exist (", count, " device",
                     count == 1 ? "" : "s", " visible)"));
  }
  auto device = std::unique_ptr<CudaDevice>(new CudaDevice());
  device->syms_ = cu;
  device->ordinal_ = ordinal;
  CUdevice handle = 0;
  SLUICE_CU_RETURN_IF_ERROR(cu->cuDeviceGet(&handle, ordinal));
  device->device_ = handle;

  char name[256] = {};
  SLUICE_CU_RETURN_IF_ERROR(cu->cuDeviceGetName(name, sizeof(name) - 1, handle));
  device->name_ = name;
  size_t total = 0;
  SLUICE_CU_RETURN_IF_ERROR(cu->cuDeviceTotalMem(&total, handle));
  device->total_memory_ = total;

  const auto attribute = [&](CUdevice_attribute attr, int* value) -> absl::Status {
    SLUICE_CU_RETURN_IF_ERROR(cu->cuDeviceGetAttribute(value, attr, handle));
    return absl::OkStatus();
  };
  SLUICE_CUDA_RETURN_IF_ERROR(
      attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &device->cc_major_));
  SLUICE_CUDA_RETURN_IF_ERROR(
      attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &device->cc_minor_));
  SLUICE_CUDA_RETURN_IF_ERROR(
      attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &device->multiprocessor_count_));
  SLUICE_CUDA_RETURN_IF_ERROR(
      attribute(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, &device->max_threads_per_block_));
  SLUICE_CUDA_RETURN_IF_ERROR(attribute(CU_DEVICE_ATTRIBUTE_WARP_SIZE, &device->warp_size_));
  SLUICE_CUDA_RETURN_IF_ERROR(attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                                        &device->max_shared_memory_optin_));
  SLUICE_CUDA_RETURN_IF_ERROR(
      attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, &device->l2_cache_bytes_));

  CUcontext context = nullptr;
  SLUICE_CU_RETURN_IF_ERROR(cu->cuDevicePrimaryCtxRetain(&context, handle));
  device->context_ = context;
  for (int i = 0; i < kPrewarmedStreams; ++i) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(CUstream_st * stream, device->CreateStream());
    absl::MutexLock lock(&device->pool_mu_);
    device->pool_.push_back(stream);
  }
  return device.release();
}

absl::StatusOr<CUstream_st*> CudaDevice::CreateStream() const {
  ScopedActivateContext activate(this);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  CUstream stream = nullptr;
  SLUICE_CU_RETURN_IF_ERROR(syms_->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  return stream;
}

absl::StatusOr<CUstream_st*> CudaDevice::TakeStream() {
  {
    absl::MutexLock lock(&pool_mu_);
    if (!pool_.empty()) {
      CUstream_st* stream = pool_.back();
      pool_.pop_back();
      return stream;
    }
  }
  return CreateStream();
}

void CudaDevice::GiveBackStream(CUstream_st* stream) {
  {
    absl::MutexLock lock(&pool_mu_);
    if (static_cast<int>(pool_.size()) < kMaxPooledStreams) {
      pool_.push_back(stream);
      return;
    }
  }
  ScopedActivateContext activate(this);
  if (!activate.status().ok()) {
    internal::LogError(activate.status());
    return;
  }
  SLUICE_CU_LOG_IF_ERROR(syms_->cuStreamDestroy(stream));
}

int CudaDevice::pooled_streams() const {
  absl::MutexLock lock(&pool_mu_);
  return static_cast<int>(pool_.size());
}

std::string CudaDevice::arch() const { return absl::StrCat("sm_", cc_major_, cc_minor_); }

absl::StatusOr<CudaDevice::MemoryInfo> CudaDevice::GetMemoryInfo() const {
  ScopedActivateContext activate(this);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  MemoryInfo info;
  SLUICE_CU_RETURN_IF_ERROR(syms_->cuMemGetInfo(&info.free_bytes, &info.total_bytes));
  return info;
}

absl::Status CudaDevice::Synchronize() const {
  ScopedActivateContext activate(this);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(syms_->cuCtxSynchronize());
  return absl::OkStatus();
}

std::string CudaDevice::DebugString() const {
  return absl::StrFormat("%s (%s, %d SMs, %.1f GiB), device %d", name_, arch(),
                         multiprocessor_count_,
                         static_cast<double>(total_memory_) / (1024.0 * 1024.0 * 1024.0),
                         ordinal_);
}

ScopedActivateContext::ScopedActivateContext(const CudaDevice* device) : device_(device) {
  status_ = [&]() -> absl::Status {
    const CudaSymbols& cu = device_->symbols();
    CUcontext current = nullptr;
    SLUICE_CU_RETURN_IF_ERROR(cu.cuCtxGetCurrent(&current));
    if (current == device_->context()) return absl::OkStatus();
    SLUICE_CU_RETURN_IF_ERROR(cu.cuCtxPushCurrent(device_->context()));
    pushed_ = true;
    return absl::OkStatus();
  }();
}

ScopedActivateContext::~ScopedActivateContext() {
  if (!pushed_) return;
  CUcontext popped = nullptr;
  SLUICE_CU_LOG_IF_ERROR(device_->symbols().cuCtxPopCurrent(&popped));
}

}  // namespace sluice::runtime::cuda
