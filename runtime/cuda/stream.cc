#include "runtime/cuda/stream.h"

#include <cuda.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {
namespace {

// How many kernel names a stream keeps for its next Synchronize() error.
constexpr size_t kMaxNoted = 8;

bool SyncAfterLaunchFromEnvironment() {
  const char* value = std::getenv("SLUICE_CUDA_SYNC_AFTER_LAUNCH");
  return value != nullptr && *value != '\0' && absl::string_view(value) != "0";
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaStream>> CudaStream::Create(CudaDevice* device) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(CUstream_st * stream, device->TakeStream());
  return std::unique_ptr<CudaStream>(new CudaStream(device, stream));
}

CudaStream::CudaStream(CudaDevice* device, CUstream_st* stream)
    : device_(device), stream_(stream), sync_after_launch_(SyncAfterLaunchFromEnvironment()) {}

CudaStream::~CudaStream() { device_->GiveBackStream(stream_); }

absl::Status CudaStream::CopyHostToDevice(DevicePtr dst, const void* src, size_t bytes) {
  if (bytes == 0) return absl::OkStatus();
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuMemcpyHtoDAsync(dst, src, bytes, stream_));
  return absl::OkStatus();
}

absl::Status CudaStream::CopyDeviceToHost(void* dst, DevicePtr src, size_t bytes) {
  if (bytes == 0) return absl::OkStatus();
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuMemcpyDtoHAsync(dst, src, bytes, stream_));
  return absl::OkStatus();
}

absl::Status CudaStream::CopyDeviceToDevice(DevicePtr dst, DevicePtr src, size_t bytes) {
  if (bytes == 0) return absl::OkStatus();
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuMemcpyDtoDAsync(dst, src, bytes, stream_));
  return absl::OkStatus();
}

absl::Status CudaStream::Memset8(DevicePtr dst, uint8_t value, size_t bytes) {
  if (bytes == 0) return absl::OkStatus();
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuMemsetD8Async(dst, value, bytes, stream_));
  return absl::OkStatus();
}

absl::Status CudaStream::Memset32(DevicePtr dst, uint32_t value, size_t count) {
  if (count == 0) return absl::OkStatus();
  if (dst % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Memset32 needs a 4-byte aligned address, got 0x", absl::Hex(dst)));
  }
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuMemsetD32Async(dst, value, count, stream_));
  return absl::OkStatus();
}

void CudaStream::NoteLaunch(const std::string& kernel) {
  absl::MutexLock lock(&mu_);
  ++launched_count_;
  if (launched_.size() == kMaxNoted) launched_.erase(launched_.begin());
  launched_.push_back(kernel);
}

absl::Status CudaStream::Synchronize() {
  std::vector<std::string> launched;
  int64_t launched_count = 0;
  {
    absl::MutexLock lock(&mu_);
    launched.swap(launched_);
    launched_count = std::exchange(launched_count_, 0);
  }
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  absl::Status status = [&]() -> absl::Status {
    SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuStreamSynchronize(stream_));
    return absl::OkStatus();
  }();
  if (status.ok() || launched.empty()) return status;
  std::string kernels = absl::StrJoin(launched, ", ");
  if (launched_count > static_cast<int64_t>(launched.size())) {
    kernels = absl::StrCat(launched_count, " launches, the last ", launched.size(), ": ",
                           kernels);
  }
  return absl::Status(
      status.code(),
      absl::StrCat(status.message(), "; kernels launched on this stream since the last "
                                     "synchronize: ",
                   kernels,
                   launched.size() > 1 ? " (SLUICE_CUDA_SYNC_AFTER_LAUNCH=1 names the one that "
                                         "failed)"
                                       : ""));
}

absl::StatusOr<std::unique_ptr<CudaEvent>> CudaEvent::Create(CudaDevice* device, bool timing) {
  ScopedActivateContext activate(device);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  CUevent event = nullptr;
  SLUICE_CU_RETURN_IF_ERROR(device->symbols().cuEventCreate(
      &event, timing ? CU_EVENT_DEFAULT : CU_EVENT_DISABLE_TIMING));
  return std::unique_ptr<CudaEvent>(new CudaEvent(device, event));
}

CudaEvent::~CudaEvent() {
  ScopedActivateContext activate(device_);
  if (!activate.status().ok()) {
    internal::LogError(activate.status());
    return;
  }
  SLUICE_CU_LOG_IF_ERROR(device_->symbols().cuEventDestroy(event_));
}

absl::Status CudaEvent::Record(CudaStream* stream) {
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuEventRecord(event_, stream->handle()));
  return absl::OkStatus();
}

absl::Status CudaEvent::MakeStreamWait(CudaStream* stream) {
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuStreamWaitEvent(stream->handle(), event_, 0));
  return absl::OkStatus();
}

absl::Status CudaEvent::Synchronize() {
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuEventSynchronize(event_));
  return absl::OkStatus();
}

absl::StatusOr<float> CudaEvent::ElapsedMillis(const CudaEvent& start, const CudaEvent& end) {
  ScopedActivateContext activate(start.device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  float ms = 0;
  SLUICE_CU_RETURN_IF_ERROR(
      start.device_->symbols().cuEventElapsedTime(&ms, start.event_, end.event_));
  return ms;
}

}  // namespace sluice::runtime::cuda
