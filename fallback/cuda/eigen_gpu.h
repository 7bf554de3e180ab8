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
#include <limits>
#include <type_traits>

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
namespace internal {

// The GPU's elementwise executor (ElementwiseAssign): Eigen's evaluator of
// the expression, one packet (a 16-byte access when the buffers are
// aligned) or, for unaligned buffers and packetless expressions (bf16,
// integers, comparisons), one element per thread, without a grid-stride
// loop. Eigen's own executor (1024-thread blocks, two per SM, grid-stride)
// moved 93% of the copy rate on an aligned f32 add where this moves 100%;
// more packets per thread were slower (benchmarks/NOTES.md §16).
inline constexpr int kAssignThreads = 256;

template <typename Eval, typename T>
__global__ void __launch_bounds__(kAssignThreads)
    ElementwiseAssignKernel(Eval eval, T* __restrict__ dst, Index n, bool aligned) {
  using Packet = typename Eval::PacketReturnType;
  constexpr int kPacket = Eigen::internal::unpacket_traits<Packet>::size;
  const Index i = (static_cast<Index>(blockIdx.x) * kAssignThreads + threadIdx.x) * kPacket;
  if constexpr (Eval::PacketAccess && kPacket > 1) {
    if (aligned && i + kPacket <= n) {
      Eigen::internal::pstoret<T, Packet, Eigen::Aligned>(dst + i,
                                                          eval.template packet<Eigen::Aligned>(i));
      return;
    }
  }
  for (Index j = i; j < i + kPacket && j < n; ++j) dst[j] = eval.coeff(j);
}

}  // namespace internal

template <>
struct ElementwiseAssign<Eigen::GpuDevice> {
  template <typename T, typename Expr>
  static void Run(const Eigen::GpuDevice& d, const Expr& expr, T* dst, Index n, bool aligned) {
    using Eval = Eigen::TensorEvaluator<const Expr, Eigen::GpuDevice>;
    static_assert(std::is_same_v<std::remove_const_t<typename Eval::CoeffReturnType>, T>,
                  "the expression's scalar type is the destination's");
    if (n == 0) return;
    Eval eval(expr, d);
    eval.evalSubExprsIfNeeded(nullptr);
    constexpr int kPacket =
        Eigen::internal::unpacket_traits<typename Eval::PacketReturnType>::size;
    constexpr Index kPerBlock = Index{internal::kAssignThreads} * kPacket;
    const Index blocks = (n + kPerBlock - 1) / kPerBlock;
    if (blocks > std::numeric_limits<int>::max()) {  // Beyond one grid: Eigen's grid-stride loop.
      eval.cleanup();
      Flat(dst, n).device(d) = expr;
      return;
    }
    internal::ElementwiseAssignKernel<Eval, T>
        <<<static_cast<unsigned>(blocks), internal::kAssignThreads, 0, d.stream()>>>(
            eval, dst, n, aligned);
    gpu_assert(cudaGetLastError() == cudaSuccess);
    eval.cleanup();
  }
};

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
