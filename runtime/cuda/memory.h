// Device memory: DeviceBuffer owns one cuMemAlloc allocation (freed on the
// right context when it goes away); DeviceArena is one allocation carved into
// sub-buffers by offset, for an executable's memory plan (passes/memory_plan.h
// gives every intermediate buffer an offset in one arena).
//
// Out of memory is absl::ResourceExhaustedError, and the process keeps
// working: a later, smaller allocation can succeed.
#ifndef SLUICE_RUNTIME_CUDA_MEMORY_H_
#define SLUICE_RUNTIME_CUDA_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/cuda/cuda_types.h"
#include "runtime/cuda/device.h"

namespace sluice::runtime::cuda {

class DeviceBuffer {
 public:
  // `bytes` of uninitialized device memory, 256-byte aligned. Zero bytes gives
  // an empty buffer (ptr() == 0) without touching the driver.
  static absl::StatusOr<DeviceBuffer> Allocate(CudaDevice* device, size_t bytes);

  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  // Frees the memory; an error is logged (use Free() to see it).
  ~DeviceBuffer();

  DevicePtr ptr() const { return ptr_; }
  // The address as a typed pointer, for kernel arguments and Eigen::GpuDevice.
  template <typename T>
  T* as() const {
    return reinterpret_cast<T*>(static_cast<uintptr_t>(ptr_));
  }
  size_t size() const { return size_; }
  bool empty() const { return ptr_ == 0; }
  CudaDevice* device() const { return device_; }

  // Frees now (the buffer becomes empty) and reports a failure. Any stream
  // still using the memory must have been synchronized.
  absl::Status Free();

 private:
  DeviceBuffer(CudaDevice* device, DevicePtr ptr, size_t size)
      : device_(device), ptr_(ptr), size_(size) {}

  CudaDevice* device_ = nullptr;
  DevicePtr ptr_ = 0;
  size_t size_ = 0;
};

class DeviceArena {
 public:
  // Sub-buffer offsets must be multiples of this (16-byte vector loads).
  static constexpr size_t kSliceAlignment = 16;

  static absl::StatusOr<DeviceArena> Create(CudaDevice* device, size_t bytes);

  DeviceArena() = default;

  // The address of [offset, offset + bytes). OutOfRange when it does not fit
  // in the arena, InvalidArgument when `offset` is not kSliceAlignment-aligned.
  absl::StatusOr<DevicePtr> Slice(size_t offset, size_t bytes) const;

  DevicePtr base() const { return buffer_.ptr(); }
  size_t size() const { return buffer_.size(); }
  CudaDevice* device() const { return buffer_.device(); }

 private:
  explicit DeviceArena(DeviceBuffer buffer) : buffer_(std::move(buffer)) {}
  DeviceBuffer buffer_;
};

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_MEMORY_H_
