#include "runtime/cuda/cublaslt.h"

#include <cublasLt.h>
#include <cuda.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ir/dtype.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {
namespace {

static_assert(sizeof(CublasLtHandle::CachedAlgo) == sizeof(cublasLtMatmulAlgo_t),
              "CachedAlgo must hold a cublasLtMatmulAlgo_t");

// The largest power of two (at most 256, cuBLASLt's default assumption) that
// divides `p`: the alignment cuBLASLt may rely on for a buffer.
uint32_t AlignmentOf(DevicePtr p) {
  uint32_t a = 256;
  while (a > 1 && p % a != 0) a /= 2;
  return a;
}

cublasLtEpilogue_t EpilogueOf(const GemmEpilogueParams& p) {
  const bool bias = p.bias != 0;
  switch (p.activation) {
    case passes::EpilogueActivation::kNone:
      return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    case passes::EpilogueActivation::kRelu:
      return bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    case passes::EpilogueActivation::kGeluTanh:
      return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

void* Ptr(DevicePtr d) { return reinterpret_cast<void*>(static_cast<uintptr_t>(d)); }

}  // namespace

absl::StatusOr<std::unique_ptr<CublasLtHandle>> CublasLtHandle::Create(CudaStream* stream,
                                                                      size_t workspace_bytes) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const CublasLtSymbols* lt, LoadCublasLt());
  CudaDevice* device = stream->device();
  SLUICE_CUDA_ASSIGN_OR_RETURN(DeviceBuffer workspace,
                               DeviceBuffer::Allocate(device, workspace_bytes));
  ScopedActivateContext activate(device);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  cublasLtHandle_t handle = nullptr;
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtCreate(&handle));
  return std::unique_ptr<CublasLtHandle>(
      new CublasLtHandle(stream, handle, std::move(workspace)));
}

CublasLtHandle::~CublasLtHandle() {
  const CublasLtSymbols* lt = internal::LoadedCublasLtOrNull();
  if (lt == nullptr || handle_ == nullptr) return;
  ScopedActivateContext activate(stream_->device());
  SLUICE_CUBLAS_LOG_IF_ERROR(lt->cublasLtDestroy(handle_));
  // The workspace is freed after the handle that used it.
}

bool CublasLtHandle::FindAlgo(const std::string& key, CachedAlgo* algo) const {
  absl::MutexLock lock(&mu_);
  auto it = algos_.find(key);
  if (it == algos_.end()) return false;
  *algo = it->second;
  return true;
}

void CublasLtHandle::StoreAlgo(const std::string& key, const CachedAlgo& algo) {
  absl::MutexLock lock(&mu_);
  algos_[key] = algo;
}

std::string EpilogueName(const GemmEpilogueParams& p) {
  switch (EpilogueOf(p)) {
    case CUBLASLT_EPILOGUE_BIAS:
      return "CUBLASLT_EPILOGUE_BIAS";
    case CUBLASLT_EPILOGUE_RELU:
      return "CUBLASLT_EPILOGUE_RELU";
    case CUBLASLT_EPILOGUE_RELU_BIAS:
      return "CUBLASLT_EPILOGUE_RELU_BIAS";
    case CUBLASLT_EPILOGUE_GELU:
      return "CUBLASLT_EPILOGUE_GELU";
    case CUBLASLT_EPILOGUE_GELU_BIAS:
      return "CUBLASLT_EPILOGUE_GELU_BIAS";
    default:
      return "CUBLASLT_EPILOGUE_DEFAULT";
  }
}

absl::Status GemmEpilogue(CublasLtHandle* handle, const GemmEpilogueParams& p) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const CublasLtSymbols* lt, LoadCublasLt());
  cudaDataType type;
  switch (p.dtype) {
    case ir::DType::kF32:
      type = CUDA_R_32F;
      break;
    case ir::DType::kF16:
      type = CUDA_R_16F;
      break;
    case ir::DType::kBF16:
      type = CUDA_R_16BF;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("cuBLASLt epilogue matmul does not support ", ir::DTypeName(p.dtype)));
  }
  const bool f32 = p.dtype == ir::DType::kF32;
  const cublasComputeType_t compute =
      f32 && p.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  if (p.m < 0 || p.n < 0 || p.k < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("epilogue gemm with m=", p.m, " n=", p.n, " k=", p.k, " (k must be >= 1)"));
  }
  if (p.m == 0 || p.n == 0) return absl::OkStatus();
  if (p.a == 0 || p.b == 0 || p.d == 0) {
    return absl::InvalidArgumentError("epilogue gemm with a null operand");
  }
  const cublasLtEpilogue_t epilogue = EpilogueOf(p);

  ScopedActivateContext activate(handle->stream()->device());
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());

  cublasLtMatmulDesc_t desc = nullptr;
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulDescCreate(&desc, compute, CUDA_R_32F));
  absl::Cleanup destroy_desc = [&] { lt->cublasLtMatmulDescDestroy(desc); };
  // Neither operand is transposed in the column-major view (see the header).
  const int32_t no_transpose = CUBLAS_OP_N;
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulDescSetAttribute(
      desc, CUBLASLT_MATMUL_DESC_TRANSA, &no_transpose, sizeof(no_transpose)));
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulDescSetAttribute(
      desc, CUBLASLT_MATMUL_DESC_TRANSB, &no_transpose, sizeof(no_transpose)));
  const uint32_t epilogue_value = static_cast<uint32_t>(epilogue);
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulDescSetAttribute(
      desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue_value, sizeof(epilogue_value)));
  if (p.bias != 0) {
    // n values (the column-major D's row count), of D's type (the default
    // CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE).
    const void* bias = Ptr(p.bias);
    SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulDescSetAttribute(
        desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }

  // Column-major layouts: cuBLASLt's A is our B (n×k, ld n), its B our A
  // (k×m, ld k), C = D our D (n×m, ld n).
  cublasLtMatrixLayout_t layout_a = nullptr, layout_b = nullptr, layout_d = nullptr;
  absl::Cleanup destroy_layouts = [&] {
    if (layout_a != nullptr) lt->cublasLtMatrixLayoutDestroy(layout_a);
    if (layout_b != nullptr) lt->cublasLtMatrixLayoutDestroy(layout_b);
    if (layout_d != nullptr) lt->cublasLtMatrixLayoutDestroy(layout_d);
  };
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatrixLayoutCreate(
      &layout_a, type, static_cast<uint64_t>(p.n), static_cast<uint64_t>(p.k), p.n));
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatrixLayoutCreate(
      &layout_b, type, static_cast<uint64_t>(p.k), static_cast<uint64_t>(p.m), p.k));
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatrixLayoutCreate(
      &layout_d, type, static_cast<uint64_t>(p.n), static_cast<uint64_t>(p.m), p.n));

  // The heuristic assumes 256-byte aligned buffers unless told otherwise.
  const uint32_t align_a = AlignmentOf(p.b), align_b = AlignmentOf(p.a),
                 align_d = AlignmentOf(p.d);
  const std::string key =
      absl::StrCat(ir::DTypeName(p.dtype), ":", p.m, "x", p.n, "x", p.k, ":", epilogue, ":",
                   p.allow_tf32, ":", align_a, ",", align_b, ",", align_d, ",",
                   p.bias != 0 ? AlignmentOf(p.bias) : 0);
  CublasLtHandle::CachedAlgo cached;
  if (!handle->FindAlgo(key, &cached)) {
    cublasLtMatmulPreference_t pref = nullptr;
    SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulPreferenceCreate(&pref));
    absl::Cleanup destroy_pref = [&] { lt->cublasLtMatmulPreferenceDestroy(pref); };
    const uint64_t workspace = handle->workspace_bytes();
    SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace)));
    for (const auto& [attr, value] :
         {std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
          std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
          std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_d},
          std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_d}}) {
      SLUICE_CUBLAS_RETURN_IF_ERROR(
          lt->cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value)));
    }
    const auto heuristic = [&](cublasLtMatmulHeuristicResult_t* result) -> int {
      int count = 0;
      const cublasStatus_t s = lt->cublasLtMatmulAlgoGetHeuristic(
          handle->handle(), desc, layout_a, layout_b, layout_d, layout_d, pref, 1, result, &count);
      return s == CUBLAS_STATUS_SUCCESS && result->state == CUBLAS_STATUS_SUCCESS ? count : 0;
    };
    cublasLtMatmulHeuristicResult_t result;
    std::memset(&result, 0, sizeof(result));
    int found = 0;
    if (!f32) {
      // Split-K partial sums in f32, never in the f16/bf16 output type.
      const uint32_t mask = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
      SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulPreferenceSetAttribute(
          pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &mask, sizeof(mask)));
      found = heuristic(&result);
      if (found == 0) {  // No such algorithm: let cuBLASLt choose freely.
        const uint32_t all = CUBLASLT_REDUCTION_SCHEME_MASK;
        SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &all, sizeof(all)));
      }
    }
    if (found == 0) found = heuristic(&result);
    if (found == 0) {
      return absl::UnimplementedError(absl::StrCat(
          "cuBLASLt has no algorithm for ", ir::DTypeName(p.dtype), " D[", p.m, "x", p.n,
          "] = A[", p.m, "x", p.k, "]·B[", p.k, "x", p.n, "] with ", EpilogueName(p),
          " (buffer alignments A ", align_b, ", B ", align_a, ", D ", align_d, " bytes)"));
    }
    std::memcpy(&cached, &result.algo, sizeof(cached));
    handle->StoreAlgo(key, cached);
  }
  cublasLtMatmulAlgo_t algo;
  std::memcpy(&algo, &cached, sizeof(algo));
  const float alpha = 1.0f, beta = 0.0f;
  SLUICE_CUBLAS_RETURN_IF_ERROR(lt->cublasLtMatmul(
      handle->handle(), desc, &alpha, Ptr(p.b), layout_a, Ptr(p.a), layout_b, &beta, Ptr(p.d),
      layout_d, Ptr(p.d), layout_d, &algo, Ptr(handle->workspace()), handle->workspace_bytes(),
      handle->stream()->handle()));
  return absl::OkStatus();
}

}  // namespace sluice::runtime::cuda
