// Matrix products through cuBLAS, in sluice's row-major convention (the
// convention of torch.matmul and of every sluice tensor).
//
// cuBLAS is column-major; a row-major C = A·B is the column-major
// Cᵀ = Bᵀ·Aᵀ, so the wrapper swaps the operands (and m/n) instead of
// transposing anything. Accumulation is in f32 for f32, f16 and bf16 (f64 in
// f64), and reductions inside cuBLAS stay in full precision
// (CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION): accuracy first; TF32 for
// f32 products is opt-in.
//
// One CublasHandle per stream (an executable has one of each); it owns the
// workspace cuBLAS uses on that stream.
#ifndef SLUICE_RUNTIME_CUDA_CUBLAS_H_
#define SLUICE_RUNTIME_CUDA_CUBLAS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/dtype.h"
#include "runtime/cuda/cuda_types.h"
#include "runtime/cuda/memory.h"
#include "runtime/cuda/stream.h"

namespace sluice::runtime::cuda {

class CublasHandle {
 public:
  // NVIDIA's recommendation for Hopper (smaller suffices on older GPUs).
  static constexpr size_t kDefaultWorkspaceBytes = size_t{32} << 20;

  // A handle bound to `stream` (which must outlive it), with its own workspace.
  // Unavailable when cuBLAS or the driver is.
  static absl::StatusOr<std::unique_ptr<CublasHandle>> Create(
      CudaStream* stream, size_t workspace_bytes = kDefaultWorkspaceBytes);
  ~CublasHandle();
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;

  cublasContext* handle() const { return handle_; }  // a cublasHandle_t
  CudaStream* stream() const { return stream_; }

 private:
  CublasHandle(CudaStream* stream, cublasContext* handle, DeviceBuffer workspace)
      : stream_(stream), handle_(handle), workspace_(std::move(workspace)) {}
  CudaStream* stream_;
  cublasContext* handle_;
  DeviceBuffer workspace_;
};

// For GemmParams strides: consecutive matrices, packed.
inline constexpr int64_t kPackedStride = -1;

// C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i] for i < batch, every matrix
// row-major. op(A) is m×k (A is m×k, or k×m when transpose_a), op(B) is k×n,
// C is m×n. All three have `dtype` (f32, f16, bf16 or f64).
struct GemmParams {
  ir::DType dtype = ir::DType::kF32;
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  int64_t batch = 1;
  bool transpose_a = false;
  bool transpose_b = false;
  DevicePtr a = 0;
  DevicePtr b = 0;
  DevicePtr c = 0;
  // Row-major leading dimensions (elements between rows); 0: packed (the
  // stored matrix's column count).
  int64_t lda = 0;
  int64_t ldb = 0;
  int64_t ldc = 0;
  // Elements between consecutive matrices of a batch; 0 reuses one matrix for
  // every batch entry (a broadcast batch dimension); kPackedStride: rows × ld.
  int64_t stride_a = kPackedStride;
  int64_t stride_b = kPackedStride;
  int64_t stride_c = kPackedStride;
  double alpha = 1.0;
  double beta = 0.0;
  // f32 only: let cuBLAS use TF32 tensor cores (10-bit mantissa inputs).
  bool allow_tf32 = false;
};

// The batched product (cublasGemmStridedBatchedEx; cublasSgemm_v2 for one
// f32 product without TF32) on the handle's stream; asynchronous. InvalidArgument for inconsistent parameters, naming them.
absl::Status GemmStridedBatched(CublasHandle* handle, const GemmParams& params);

// One packed row-major product C = A·B (A m×k, B k×n, C m×n).
absl::Status Gemm(CublasHandle* handle, ir::DType dtype, int64_t m, int64_t n, int64_t k,
                  DevicePtr a, DevicePtr b, DevicePtr c, bool allow_tf32 = false);

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_CUBLAS_H_
