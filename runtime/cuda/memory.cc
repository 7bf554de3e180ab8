#include "runtime/cuda/memory.h"

#include <cuda.h>

#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {

absl::StatusOr<DeviceBuffer> DeviceBuffer::Allocate(CudaDevice* device, size_t bytes) {
  if (bytes == 0) return DeviceBuffer(device, 0, 0);
  ScopedActivateContext activate(device);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  CUdeviceptr ptr = 0;
  absl::Status status = [&]() -> absl::Status {
    SLUICE_CU_RETURN_IF_ERROR(device->symbols().cuMemAlloc(&ptr, bytes));
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    // Say how much was asked for: "cuMemAlloc(&ptr, bytes) failed: ..." alone
    // does not tell a 4 GiB buffer from a 4 TiB one.
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " (allocating ", bytes, " bytes on ",
                                     device->DebugString(), ")"));
  }
  return DeviceBuffer(device, ptr, bytes);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : device_(other.device_),
      ptr_(std::exchange(other.ptr_, 0)),
      size_(std::exchange(other.size_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (absl::Status status = Free(); !status.ok()) internal::LogError(status);
    device_ = other.device_;
    ptr_ = std::exchange(other.ptr_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (absl::Status status = Free(); !status.ok()) internal::LogError(status);
}

absl::Status DeviceBuffer::Free() {
  if (ptr_ == 0) return absl::OkStatus();
  const DevicePtr ptr = std::exchange(ptr_, 0);
  size_ = 0;
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CU_RETURN_IF_ERROR(device_->symbols().cuMemFree(ptr));
  return absl::OkStatus();
}

absl::StatusOr<DeviceArena> DeviceArena::Create(CudaDevice* device, size_t bytes) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(DeviceBuffer buffer, DeviceBuffer::Allocate(device, bytes));
  return DeviceArena(std::move(buffer));
}

absl::StatusOr<DevicePtr> DeviceArena::Slice(size_t offset, size_t bytes) const {
  if (offset % kSliceAlignment != 0) {
    return absl::InvalidArgumentError(absl::StrCat("arena offset ", offset,
                                                   " is not a multiple of ", kSliceAlignment));
  }
  if (offset > size() || bytes > size() - offset) {
    return absl::OutOfRangeError(absl::StrCat("arena slice [", offset, ", ", offset + bytes,
                                              ") does not fit in an arena of ", size(),
                                              " bytes"));
  }
  return base() + offset;
}

}  // namespace sluice::runtime::cuda
