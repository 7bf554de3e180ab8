// A CUDA device as sluice uses it: one CudaDevice per ordinal per process,
// created on first use, holding the device's primary context (the context the
// CUDA runtime, cuBLAS and Eigen::GpuDevice use too, so memory and streams are
// shared with them) and the properties code generation needs.
//
//   SLUICE_CUDA_ASSIGN_OR_RETURN(CudaDevice* device, CudaDevice::Get(0));
//   device->arch();  // "sm_90" on an H100
//
// Every method makes the device's context current for its duration
// (ScopedActivateContext) and restores the caller's, so callers on any thread
// need not manage contexts. Devices are never destroyed (the primary context
// is released at process exit by the driver).
#ifndef SLUICE_RUNTIME_CUDA_DEVICE_H_
#define SLUICE_RUNTIME_CUDA_DEVICE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/cuda/cuda_types.h"

namespace sluice::runtime::cuda {

struct CudaSymbols;  // runtime/cuda/symbols.h

class CudaDevice {
 public:
  // The device `ordinal`, created (primary context retained) on first call.
  // Unavailable when CUDA is (see LoadCuda), InvalidArgument for an ordinal
  // out of range. Thread-safe.
  static absl::StatusOr<CudaDevice*> Get(int ordinal = 0);
  // How many devices the driver sees (Unavailable without a driver).
  static absl::StatusOr<int> Count();

  CudaDevice(const CudaDevice&) = delete;
  CudaDevice& operator=(const CudaDevice&) = delete;

  int ordinal() const { return ordinal_; }
  const std::string& name() const { return name_; }  // "NVIDIA H100 80GB HBM3"
  int compute_capability_major() const { return cc_major_; }
  int compute_capability_minor() const { return cc_minor_; }
  // The exact architecture to compile for: "sm_90".
  std::string arch() const;
  size_t total_memory() const { return total_memory_; }
  int multiprocessor_count() const { return multiprocessor_count_; }
  int max_threads_per_block() const { return max_threads_per_block_; }
  int warp_size() const { return warp_size_; }
  // Dynamic shared memory a block may opt into (cuFuncSetAttribute), bytes.
  int max_shared_memory_per_block_optin() const { return max_shared_memory_optin_; }
  int l2_cache_bytes() const { return l2_cache_bytes_; }

  // The primary context (a CUcontext).
  CUctx_st* context() const { return context_; }
  const CudaSymbols& symbols() const { return *syms_; }

  struct MemoryInfo {
    size_t free_bytes = 0;
    size_t total_bytes = 0;
  };
  absl::StatusOr<MemoryInfo> GetMemoryInfo() const;

  // Waits for all work on the device's context (every stream).
  absl::Status Synchronize() const;

  // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB), device 0".
  std::string DebugString() const;

  // The device's pool of non-blocking streams, which CudaStream::Create
  // takes from and ~CudaStream gives back to: kPrewarmedStreams are created
  // with the context, so that an executable (each has a stream) created
  // later creates none. Without the pool, one stream creation per process
  // took 0.96 ms on an H100, and it fell on the first warm compile
  // (benchmarks/NOTES.md §25). The pool
  // keeps at most kMaxPooledStreams and destroys the rest. A stream given
  // back may still have work queued; its next user's work runs after it.
  static constexpr int kPrewarmedStreams = 4;
  static constexpr int kMaxPooledStreams = 16;
  absl::StatusOr<CUstream_st*> TakeStream();
  void GiveBackStream(CUstream_st* stream);
  // Streams in the pool now (for tests).
  int pooled_streams() const;

 private:
  CudaDevice() = default;
  static absl::StatusOr<CudaDevice*> Create(int ordinal);
  // A new non-blocking stream in the device's context (not from the pool).
  absl::StatusOr<CUstream_st*> CreateStream() const;

  const CudaSymbols* syms_ = nullptr;
  int ordinal_ = 0;
  int device_ = 0;  // the CUdevice
  CUctx_st* context_ = nullptr;
  std::string name_;
  int cc_major_ = 0;
  int cc_minor_ = 0;
  size_t total_memory_ = 0;
  int multiprocessor_count_ = 0;
  int max_threads_per_block_ = 0;
  int warp_size_ = 0;
  int max_shared_memory_optin_ = 0;
  int l2_cache_bytes_ = 0;
  mutable absl::Mutex pool_mu_;
  std::vector<CUstream_st*> pool_ ABSL_GUARDED_BY(pool_mu_);
};

// Makes `device`'s context current on this thread for the guard's lifetime
// (a push/pop, skipped when it already is current).
//
//   ScopedActivateContext activate(device);
//   SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
class ScopedActivateContext {
 public:
  explicit ScopedActivateContext(const CudaDevice* device);
  ~ScopedActivateContext();
  ScopedActivateContext(const ScopedActivateContext&) = delete;
  ScopedActivateContext& operator=(const ScopedActivateContext&) = delete;

  const absl::Status& status() const { return status_; }

 private:
  const CudaDevice* device_;
  bool pushed_ = false;
  absl::Status status_;
};

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_DEVICE_H_
