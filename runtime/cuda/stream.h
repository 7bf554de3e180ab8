// CUDA streams and events. An executable creates one CudaStream and issues
// every copy, memset and kernel launch of a run on it; nothing here blocks the
// host except Synchronize().
//
// Errors of asynchronous work (an illegal address in a kernel, say) surface at
// the next Synchronize(), whose error names the kernels launched since the
// previous one. Setting SLUICE_CUDA_SYNC_AFTER_LAUNCH=1 (or
// set_sync_after_launch(true)) synchronizes after every launch so that the
// failing kernel is named exactly. After such an error the context is
// unusable (CUDA's errors of this kind are sticky): restart the process.
#ifndef SLUICE_RUNTIME_CUDA_STREAM_H_
#define SLUICE_RUNTIME_CUDA_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/cuda/cuda_types.h"
#include "runtime/cuda/device.h"

namespace sluice::runtime::cuda {

class CudaFunction;

// A launch grid or block size.
struct Dim3 {
  unsigned x = 1;
  unsigned y = 1;
  unsigned z = 1;
};

class CudaStream {
 public:
  // A non-blocking stream (it does not wait for the legacy default stream),
  // from the device's pool (CudaDevice::TakeStream).
  static absl::StatusOr<std::unique_ptr<CudaStream>> Create(CudaDevice* device);
  // Gives the stream back to the device's pool (or destroys it when the pool
  // is full); work already issued still completes.
  ~CudaStream();
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  // The CUstream (== cudaStream_t), e.g. for Eigen::GpuDevice or cuBLAS.
  CUstream_st* handle() const { return stream_; }
  CudaDevice* device() const { return device_; }

  // Asynchronous copies; host memory must stay valid until Synchronize().
  // (From pageable host memory the driver stages copies, so they may return
  // only once the host side is read.)
  absl::Status CopyHostToDevice(DevicePtr dst, const void* src, size_t bytes);
  absl::Status CopyDeviceToHost(void* dst, DevicePtr src, size_t bytes);
  absl::Status CopyDeviceToDevice(DevicePtr dst, DevicePtr src, size_t bytes);
  // Sets `bytes` bytes to `value`.
  absl::Status Memset8(DevicePtr dst, uint8_t value, size_t bytes);
  // Sets `count` 32-bit words to `value` (dst must be 4-byte aligned).
  absl::Status Memset32(DevicePtr dst, uint32_t value, size_t count);

  // Waits for everything issued on the stream. A failure names the kernels
  // launched since the last synchronize.
  absl::Status Synchronize();

  void set_sync_after_launch(bool on) { sync_after_launch_ = on; }
  bool sync_after_launch() const { return sync_after_launch_; }

 private:
  friend absl::Status Launch(const CudaFunction& function, Dim3 grid, Dim3 block,
                             unsigned shared_bytes, CudaStream* stream, void** args);
  CudaStream(CudaDevice* device, CUstream_st* stream);
  void NoteLaunch(const std::string& kernel);

  CudaDevice* device_;
  CUstream_st* stream_;
  bool sync_after_launch_ = false;
  absl::Mutex mu_;
  // Kernels launched since the last Synchronize() (the last kMaxNoted names)
  // and how many there were, for error messages.
  std::vector<std::string> launched_ ABSL_GUARDED_BY(mu_);
  int64_t launched_count_ ABSL_GUARDED_BY(mu_) = 0;
};

// A CUDA event, for timing (benchmarks time with events, DESIGN §6) and for
// ordering work between streams.
class CudaEvent {
 public:
  // `timing` = false makes a cheaper event that cannot be timed.
  static absl::StatusOr<std::unique_ptr<CudaEvent>> Create(CudaDevice* device,
                                                          bool timing = true);
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  absl::Status Record(CudaStream* stream);
  // Makes `stream` wait (on the device) for the recorded work.
  absl::Status MakeStreamWait(CudaStream* stream);
  absl::Status Synchronize();
  // Milliseconds between two recorded, completed timing events.
  static absl::StatusOr<float> ElapsedMillis(const CudaEvent& start, const CudaEvent& end);

  CUevent_st* handle() const { return event_; }

 private:
  CudaEvent(CudaDevice* device, CUevent_st* event) : device_(device), event_(event) {}
  CudaDevice* device_;
  CUevent_st* event_;
};

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_STREAM_H_
