#include "runtime/cuda/cublas.h"

#include <cublas_v2.h>
#include <cuda.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ir/dtype.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {
namespace {

bool FitsInt(int64_t v) { return v >= 0 && v <= std::numeric_limits<int>::max(); }

}  // namespace

absl::StatusOr<std::unique_ptr<CublasHandle>> CublasHandle::Create(CudaStream* stream,
                                                                  size_t workspace_bytes) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const CublasSymbols* blas, LoadCublas());
  CudaDevice* device = stream->device();
  SLUICE_CUDA_ASSIGN_OR_RETURN(DeviceBuffer workspace,
                               DeviceBuffer::Allocate(device, workspace_bytes));
  ScopedActivateContext activate(device);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  cublasHandle_t handle = nullptr;
  SLUICE_CUBLAS_RETURN_IF_ERROR(blas->cublasCreate(&handle));
  auto result = std::unique_ptr<CublasHandle>(
      new CublasHandle(stream, handle, std::move(workspace)));
  SLUICE_CUBLAS_RETURN_IF_ERROR(blas->cublasSetStream(handle, stream->handle()));
  if (workspace_bytes > 0) {
    SLUICE_CUBLAS_RETURN_IF_ERROR(blas->cublasSetWorkspace(
        handle, result->workspace_.as<void>(), result->workspace_.size()));
  }
  SLUICE_CUBLAS_RETURN_IF_ERROR(blas->cublasSetMathMode(
      handle, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                        CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  return result;
}

CublasHandle::~CublasHandle() {
  const CublasSymbols* blas = internal::LoadedCublasOrNull();
  if (blas == nullptr || handle_ == nullptr) return;
  ScopedActivateContext activate(stream_->device());
  SLUICE_CUBLAS_LOG_IF_ERROR(blas->cublasDestroy(handle_));
  // The workspace is freed after the handle that used it.
}

absl::Status GemmStridedBatched(CublasHandle* handle, const GemmParams& p) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const CublasSymbols* blas, LoadCublas());
  cudaDataType type;
  cublasComputeType_t compute;
  bool f64 = false;
  switch (p.dtype) {
    case ir::DType::kF32:
      type = CUDA_R_32F;
      compute = p.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      break;
    case ir::DType::kF16:
      type = CUDA_R_16F;
      compute = CUBLAS_COMPUTE_32F;
      break;
    case ir::DType::kBF16:
      type = CUDA_R_16BF;
      compute = CUBLAS_COMPUTE_32F;
      break;
    case ir::DType::kF64:
      type = CUDA_R_64F;
      compute = CUBLAS_COMPUTE_64F;
      f64 = true;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("cuBLAS gemm does not support ", ir::DTypeName(p.dtype)));
  }
  if (p.m < 0 || p.n < 0 || p.k < 0 || p.batch < 1) {
    return absl::InvalidArgumentError(absl::StrCat("gemm with m=", p.m, " n=", p.n, " k=", p.k,
                                                   " batch=", p.batch));
  }
  if (p.m == 0 || p.n == 0) return absl::OkStatus();

  // Row-major shapes of the stored matrices.
  const int64_t a_rows = p.transpose_a ? p.k : p.m, a_cols = p.transpose_a ? p.m : p.k;
  const int64_t b_rows = p.transpose_b ? p.n : p.k, b_cols = p.transpose_b ? p.k : p.n;
  const int64_t lda = p.lda == 0 ? a_cols : p.lda;
  const int64_t ldb = p.ldb == 0 ? b_cols : p.ldb;
  const int64_t ldc = p.ldc == 0 ? p.n : p.ldc;
  if (lda < a_cols || ldb < b_cols || ldc < p.n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gemm leading dimensions too small: lda=", lda, " (A has ", a_cols, " columns), ldb=",
        ldb, " (B has ", b_cols, "), ldc=", ldc, " (C has ", p.n, ")"));
  }
  const int64_t stride_a = p.stride_a == kPackedStride ? a_rows * lda : p.stride_a;
  const int64_t stride_b = p.stride_b == kPackedStride ? b_rows * ldb : p.stride_b;
  const int64_t stride_c = p.stride_c == kPackedStride ? p.m * ldc : p.stride_c;
  if (stride_a < 0 || stride_b < 0 || stride_c < 0) {
    return absl::InvalidArgumentError("gemm strides must be >= 0 or kPackedStride");
  }
  if (!FitsInt(p.m) || !FitsInt(p.n) || !FitsInt(p.k) || !FitsInt(p.batch) || !FitsInt(lda) ||
      !FitsInt(ldb) || !FitsInt(ldc)) {
    return absl::InvalidArgumentError("gemm dimensions exceed cuBLAS's 32-bit int range");
  }
  if (p.a == 0 || p.b == 0 || p.c == 0) {
    return absl::InvalidArgumentError("gemm with a null operand");
  }

  const float alpha32 = static_cast<float>(p.alpha), beta32 = static_cast<float>(p.beta);
  const void* alpha = f64 ? static_cast<const void*>(&p.alpha) : &alpha32;
  const void* beta = f64 ? static_cast<const void*>(&p.beta) : &beta32;
  const auto ptr = [](DevicePtr d) { return reinterpret_cast<void*>(static_cast<uintptr_t>(d)); };

  ScopedActivateContext activate(handle->stream()->device());
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  // Column-major view: Cᵀ (n×m) = op(B)ᵀ (n×k) · op(A)ᵀ (k×m). A row-major
  // matrix with leading dimension ld is its column-major transpose with the
  // same ld, so B goes first with its own transpose flag, then A.
  if (p.batch == 1 && p.dtype == ir::DType::kF32 && !p.allow_tf32) {
    // One f32 product through cublasSgemm, the entry point torch.mm uses
    // (cuBLAS's heuristics are per entry point; benchmarks/NOTES.md §15).
    SLUICE_CUBLAS_RETURN_IF_ERROR(blas->cublasSgemm_v2(
        handle->handle(), p.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
        p.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(p.n), static_cast<int>(p.m),
        static_cast<int>(p.k), &alpha32, reinterpret_cast<const float*>(ptr(p.b)),
        static_cast<int>(ldb), reinterpret_cast<const float*>(ptr(p.a)), static_cast<int>(lda),
        &beta32, reinterpret_cast<float*>(ptr(p.c)), static_cast<int>(ldc)));
    return absl::OkStatus();
  }
  SLUICE_CUBLAS_RETURN_IF_ERROR(blas->cublasGemmStridedBatchedEx(
      handle->handle(), p.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
      p.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(p.n), static_cast<int>(p.m),
      static_cast<int>(p.k), alpha, ptr(p.b), type, static_cast<int>(ldb), stride_b, ptr(p.a),
      type, static_cast<int>(lda), stride_a, beta, ptr(p.c), type, static_cast<int>(ldc),
      stride_c, static_cast<int>(p.batch), compute, CUBLAS_GEMM_DEFAULT));
  return absl::OkStatus();
}

absl::Status Gemm(CublasHandle* handle, ir::DType dtype, int64_t m, int64_t n, int64_t k,
                  DevicePtr a, DevicePtr b, DevicePtr c, bool allow_tf32) {
  GemmParams params;
  params.dtype = dtype;
  params.m = m;
  params.n = n;
  params.k = k;
  params.a = a;
  params.b = b;
  params.c = c;
  params.allow_tf32 = allow_tf32;
  return GemmStridedBatched(handle, params);
}

}  // namespace sluice::runtime::cuda
