// Turning failed CUDA driver, NVRTC and cuBLAS calls into absl::Status.
//
// Every CUDA call in sluice goes through one of these macros (IREE's
// cuda_status_util.h pattern), so that a failure names the call as written,
// the library's error name and description, and where it happened:
//
//   SLUICE_CU_RETURN_IF_ERROR(syms->cuMemAlloc(&ptr, n));
//   // -> RESOURCE_EXHAUSTED: cuMemAlloc(&ptr, n) failed: CUDA_ERROR_OUT_OF_MEMORY
//   //    (out of memory) at runtime/cuda/memory.cc:42
//
// A leading `object->` or `object.` (the symbol table) is dropped from the
// call text. Status codes, so that callers can react without parsing text:
//   out of memory (driver, NVRTC, cuBLAS)         -> ResourceExhausted
//   no device / driver / stub library / too old   -> Unavailable
//   named symbol not found (e.g. a kernel name)   -> NotFound
//   NVRTC compilation error                       -> InvalidArgument
//   cuBLAS invalid value / not supported          -> InvalidArgument / Unimplemented
//   no binary for this GPU, unsupported PTX       -> FailedPrecondition
//   everything else                               -> Internal
// Error codes are plain ints here (every library's success is 0), so this
// header needs no CUDA header and the macros work for all three libraries.
#ifndef SLUICE_RUNTIME_CUDA_STATUS_H_
#define SLUICE_RUNTIME_CUDA_STATUS_H_

#include <string>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sluice::runtime::cuda {

// "CUDA_ERROR_OUT_OF_MEMORY", or "CUDA error 12345" for a code this build
// does not know (the loaded driver's cuGetErrorName is asked first).
std::string CuResultName(int result);
// "out of memory"; from the loaded driver when there is one, else a built-in
// description for common codes (empty for the rest).
std::string CuResultDescription(int result);
std::string NvrtcResultName(int result);
std::string CublasStatusName(int status);
std::string CublasStatusDescription(int status);

// The Status for a failed call; OkStatus when `result` is 0 (success).
// `call` is the call's source text, `file`/`line` where it was made.
absl::Status CuResultToStatus(int result, absl::string_view call, const char* file, int line);
absl::Status NvrtcResultToStatus(int result, absl::string_view call, const char* file,
                                 int line);
absl::Status CublasStatusToStatus(int status, absl::string_view call, const char* file,
                                  int line);

// The call text as shown in messages: whitespace runs collapsed and a
// leading `syms->`/`syms.` dropped ("syms->cuInit(0)" -> "cuInit(0)").
std::string CallText(absl::string_view call);

}  // namespace sluice::runtime::cuda

// Evaluates `expr` (a CUresult), and returns the corresponding Status from the
// enclosing function when it is not CUDA_SUCCESS.
#define SLUICE_CU_RETURN_IF_ERROR(expr)                                                     \
  do {                                                                                      \
    const int sluice_cu_result_ = static_cast<int>(expr);                                   \
    if (ABSL_PREDICT_FALSE(sluice_cu_result_ != 0)) {                                       \
      return ::sluice::runtime::cuda::CuResultToStatus(sluice_cu_result_, #expr, __FILE__, \
                                                       __LINE__);                           \
    }                                                                                       \
  } while (false)

// Same for an nvrtcResult.
#define SLUICE_NVRTC_RETURN_IF_ERROR(expr)                                          \
  do {                                                                              \
    const int sluice_nvrtc_result_ = static_cast<int>(expr);                        \
    if (ABSL_PREDICT_FALSE(sluice_nvrtc_result_ != 0)) {                            \
      return ::sluice::runtime::cuda::NvrtcResultToStatus(sluice_nvrtc_result_, #expr, \
                                                          __FILE__, __LINE__);      \
    }                                                                               \
  } while (false)

// Same for a cublasStatus_t.
#define SLUICE_CUBLAS_RETURN_IF_ERROR(expr)                                             \
  do {                                                                                  \
    const int sluice_cublas_status_ = static_cast<int>(expr);                           \
    if (ABSL_PREDICT_FALSE(sluice_cublas_status_ != 0)) {                               \
      return ::sluice::runtime::cuda::CublasStatusToStatus(sluice_cublas_status_, #expr, \
                                                           __FILE__, __LINE__);         \
    }                                                                                   \
  } while (false)

// For destructors and other places that cannot return: logs a failed CUresult
// (cublasStatus_t) as an error (glog) instead.
#define SLUICE_CU_LOG_IF_ERROR(expr) \
  SLUICE_CUDA_LOG_IF_ERROR_(CuResultToStatus, expr, #expr)
#define SLUICE_CUBLAS_LOG_IF_ERROR(expr) \
  SLUICE_CUDA_LOG_IF_ERROR_(CublasStatusToStatus, expr, #expr)
// `call` is stringized by the macros above, before `expr`'s own macros expand
// (cublas_v2.h's `#define cublasDestroy cublasDestroy_v2`): the message shows
// the call as written.
#define SLUICE_CUDA_LOG_IF_ERROR_(to_status, expr, call)                              \
  do {                                                                                \
    const int sluice_log_result_ = static_cast<int>(expr);                            \
    if (ABSL_PREDICT_FALSE(sluice_log_result_ != 0)) {                                \
      ::sluice::runtime::cuda::internal::LogError(::sluice::runtime::cuda::to_status( \
          sluice_log_result_, call, __FILE__, __LINE__));                             \
    }                                                                                 \
  } while (false)

// absl::Status plumbing used by runtime/cuda (sluice has no repo-wide macros).
#define SLUICE_CUDA_RETURN_IF_ERROR(expr)                     \
  do {                                                        \
    ::absl::Status sluice_cuda_status_ = (expr);              \
    if (ABSL_PREDICT_FALSE(!sluice_cuda_status_.ok())) {      \
      return sluice_cuda_status_;                             \
    }                                                         \
  } while (false)

#define SLUICE_CUDA_STATUS_CONCAT_INNER_(a, b) a##b
#define SLUICE_CUDA_STATUS_CONCAT_(a, b) SLUICE_CUDA_STATUS_CONCAT_INNER_(a, b)
// `lhs = value of the StatusOr expr`, or return its error.
#define SLUICE_CUDA_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_CUDA_ASSIGN_OR_RETURN_IMPL_(SLUICE_CUDA_STATUS_CONCAT_(sluice_cuda_or_, __LINE__), lhs, expr)
#define SLUICE_CUDA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                       \
  if (ABSL_PREDICT_FALSE(!tmp.ok())) return tmp.status();  \
  lhs = std::move(tmp).value()

namespace sluice::runtime::cuda::internal {
void LogError(const absl::Status& status);
}  // namespace sluice::runtime::cuda::internal

#endif  // SLUICE_RUNTIME_CUDA_STATUS_H_
