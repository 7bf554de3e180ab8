// Internal to //fallback/cuda, for the .cu files only: Eigen configured for
// the GPU (EIGEN_USE_GPU, with Eigen's CUDA error checks reported as a
// Status instead of aborting), the GPU instantiation of the shared
// primitives (defined in primitives.cu), and GpuStream's state.
#ifndef SLUICE_FALLBACK_CUDA_EIGEN_GPU_H_
#define SLUICE_FALLBACK_CUDA_EIGEN_GPU_H_

#ifndef __CUDACC__
#error "fallback/cuda/eigen_gpu.h is for nvcc-compiled .cu files"
#endif

#include <cassert>

#include "fallback/cuda/registry.h"

namespace sluice::fallback::cuda::internal {

// gpu_assert: on the device an assert, as Eigen has it; on the host a failed
// CUDA runtime call is noted (RunNodeOnGpu reports it) instead of aborting
// the process.
__host__ __device__ inline void GpuCheck(bool ok, const char* condition, const char* file,
                                         int line) {
#ifdef __CUDA_ARCH__
  assert(ok);
#else
  if (!ok) NoteGpuFailure(condition, file, line);
#endif
}

}  // namespace sluice::fallback::cuda::internal

#define gpu_assert(COND)                                                                 \
  ::sluice::fallback::cuda::internal::GpuCheck(static_cast<bool>(COND), #COND, __FILE__, \
                                               __LINE__)

#define EIGEN_USE_GPU
#include "fallback/eigen.h"
#include "fallback/primitives.h"

namespace sluice::fallback {
SLUICE_FALLBACK_DECLARE_PRIMITIVES(extern, Eigen::GpuDevice)
}  // namespace sluice::fallback

namespace sluice::fallback {
// Elementwise kernels on 16-byte-aligned buffers use 16-byte loads and stores.
template <>
inline constexpr bool kAlignedMapsPay<Eigen::GpuDevice> = true;
}  // namespace sluice::fallback

namespace sluice::fallback::cuda {

// Eigen's stream interface over a caller's stream: temporaries (and Eigen's
// reduction scratchpad) from the stream-ordered allocator, so freeing one
// neither waits for the device nor races with kernels still using it.
class StreamAllocator : public Eigen::StreamInterface {
 public:
  StreamAllocator(cudaStream_t stream, int ordinal) : stream_(stream), ordinal_(ordinal) {}
  ~StreamAllocator() override {
    if (scratch_ != nullptr) deallocate(scratch_);
  }

  const cudaStream_t& stream() const override { return stream_; }
  const cudaDeviceProp& deviceProperties() const override {
    return Eigen::GetGpuDeviceProperties(ordinal_);
  }
  void* allocate(size_t num_bytes) const override {
    void* p = nullptr;
    gpu_assert(cudaMallocAsync(&p, num_bytes, stream_) == cudaSuccess);
    return p;
  }
  void deallocate(void* buffer) const override {
    if (buffer != nullptr) gpu_assert(cudaFreeAsync(buffer, stream_) == cudaSuccess);
  }
  void* scratchpad() const override {
    if (scratch_ == nullptr) scratch_ = allocate(Eigen::kGpuScratchSize + sizeof(unsigned int));
    return scratch_;
  }
  unsigned int* semaphore() const override {
    if (semaphore_ == nullptr) {
      char* scratch = static_cast<char*>(scratchpad()) + Eigen::kGpuScratchSize;
      semaphore_ = reinterpret_cast<unsigned int*>(scratch);
      gpu_assert(cudaMemsetAsync(semaphore_, 0, sizeof(unsigned int), stream_) == cudaSuccess);
    }
    return semaphore_;
  }

 private:
  cudaStream_t stream_;
  int ordinal_;
  mutable void* scratch_ = nullptr;
  mutable unsigned int* semaphore_ = nullptr;
};

struct GpuStream::Impl {
  Impl(cudaStream_t stream, int ordinal) : allocator(stream, ordinal), device(&allocator) {}
  StreamAllocator allocator;
  Eigen::GpuDevice device;
};

}  // namespace sluice::fallback::cuda

#endif  // SLUICE_FALLBACK_CUDA_EIGEN_GPU_H_
