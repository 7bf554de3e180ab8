#include "runtime/cuda/status.h"

#include <cctype>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "glog/logging.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {
namespace {

struct CodeInfo {
  int code;
  const char* name;
  const char* description;  // "" when this table has none
};

// Every CUresult of the CUDA 13.0 cuda.h, by number (the numbers are ABI and
// never change), with cuGetErrorString's text for the common ones. Numbers,
// not enumerators, so that this file builds without the CUDA headers too.
constexpr CodeInfo kCuResults[] = {
    {0, "CUDA_SUCCESS", ""},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {5, "CUDA_ERROR_PROFILER_DISABLED", ""},
    {6, "CUDA_ERROR_PROFILER_NOT_INITIALIZED", ""},
    {7, "CUDA_ERROR_PROFILER_ALREADY_STARTED", ""},
    {8, "CUDA_ERROR_PROFILER_ALREADY_STOPPED", ""},
    {34, "CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library"},
    {36, "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER", "the current driver is too old for this call"},
    {46, "CUDA_ERROR_DEVICE_UNAVAILABLE", "CUDA-capable device(s) is/are busy or unavailable"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {102, "CUDA_ERROR_DEVICE_NOT_LICENSED", ""},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {202, "CUDA_ERROR_CONTEXT_ALREADY_CURRENT", ""},
    {205, "CUDA_ERROR_MAP_FAILED", ""},
    {206, "CUDA_ERROR_UNMAP_FAILED", ""},
    {207, "CUDA_ERROR_ARRAY_IS_MAPPED", ""},
    {208, "CUDA_ERROR_ALREADY_MAPPED", ""},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {210, "CUDA_ERROR_ALREADY_ACQUIRED", ""},
    {211, "CUDA_ERROR_NOT_MAPPED", ""},
    {212, "CUDA_ERROR_NOT_MAPPED_AS_ARRAY", ""},
    {213, "CUDA_ERROR_NOT_MAPPED_AS_POINTER", ""},
    {214, "CUDA_ERROR_ECC_UNCORRECTABLE", ""},
    {215, "CUDA_ERROR_UNSUPPORTED_LIMIT", ""},
    {216, "CUDA_ERROR_CONTEXT_ALREADY_IN_USE", ""},
    {217, "CUDA_ERROR_PEER_ACCESS_UNSUPPORTED", ""},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {219, "CUDA_ERROR_INVALID_GRAPHICS_CONTEXT", ""},
    {220, "CUDA_ERROR_NVLINK_UNCORRECTABLE", ""},
    {221, "CUDA_ERROR_JIT_COMPILER_NOT_FOUND", ""},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain"},
    {223, "CUDA_ERROR_JIT_COMPILATION_DISABLED", ""},
    {224, "CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY", ""},
    {225, "CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC", ""},
    {226, "CUDA_ERROR_CONTAINED", ""},
    {300, "CUDA_ERROR_INVALID_SOURCE", ""},
    {301, "CUDA_ERROR_FILE_NOT_FOUND", ""},
    {302, "CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND", ""},
    {303, "CUDA_ERROR_SHARED_OBJECT_INIT_FAILED", ""},
    {304, "CUDA_ERROR_OPERATING_SYSTEM", ""},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {401, "CUDA_ERROR_ILLEGAL_STATE", ""},
    {402, "CUDA_ERROR_LOSSY_QUERY", ""},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {600, "CUDA_ERROR_NOT_READY", "device not ready"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {702, "CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"},
    {703, "CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING", ""},
    {704, "CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED", ""},
    {705, "CUDA_ERROR_PEER_ACCESS_NOT_ENABLED", ""},
    {708, "CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE", ""},
    {709, "CUDA_ERROR_CONTEXT_IS_DESTROYED", ""},
    {710, "CUDA_ERROR_ASSERT", "device-side assert triggered"},
    {711, "CUDA_ERROR_TOO_MANY_PEERS", ""},
    {712, "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED", ""},
    {713, "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED", ""},
    {714, "CUDA_ERROR_HARDWARE_STACK_ERROR", "hardware stack error"},
    {715, "CUDA_ERROR_ILLEGAL_INSTRUCTION", "an illegal instruction was encountered"},
    {716, "CUDA_ERROR_MISALIGNED_ADDRESS", "misaligned address"},
    {717, "CUDA_ERROR_INVALID_ADDRESS_SPACE", "operation not supported on global/shared address space"},
    {718, "CUDA_ERROR_INVALID_PC", "invalid program counter"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {720, "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE", ""},
    {721, "CUDA_ERROR_TENSOR_MEMORY_LEAK", ""},
    {800, "CUDA_ERROR_NOT_PERMITTED", "operation not permitted"},
    {801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {802, "CUDA_ERROR_SYSTEM_NOT_READY", ""},
    {803, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "system has unsupported display driver / cuda driver combination"},
    {804, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", "forward compatibility was attempted on non supported HW"},
    {805, "CUDA_ERROR_MPS_CONNECTION_FAILED", ""},
    {806, "CUDA_ERROR_MPS_RPC_FAILURE", ""},
    {807, "CUDA_ERROR_MPS_SERVER_NOT_READY", ""},
    {808, "CUDA_ERROR_MPS_MAX_CLIENTS_REACHED", ""},
    {809, "CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED", ""},
    {810, "CUDA_ERROR_MPS_CLIENT_TERMINATED", ""},
    {811, "CUDA_ERROR_CDP_NOT_SUPPORTED", ""},
    {812, "CUDA_ERROR_CDP_VERSION_MISMATCH", ""},
    {900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", ""},
    {901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", ""},
    {902, "CUDA_ERROR_STREAM_CAPTURE_MERGE", ""},
    {903, "CUDA_ERROR_STREAM_CAPTURE_UNMATCHED", ""},
    {904, "CUDA_ERROR_STREAM_CAPTURE_UNJOINED", ""},
    {905, "CUDA_ERROR_STREAM_CAPTURE_ISOLATION", ""},
    {906, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", ""},
    {907, "CUDA_ERROR_CAPTURED_EVENT", ""},
    {908, "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD", ""},
    {909, "CUDA_ERROR_TIMEOUT", ""},
    {910, "CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE", ""},
    {911, "CUDA_ERROR_EXTERNAL_DEVICE", ""},
    {912, "CUDA_ERROR_INVALID_CLUSTER_SIZE", ""},
    {913, "CUDA_ERROR_FUNCTION_NOT_LOADED", ""},
    {914, "CUDA_ERROR_INVALID_RESOURCE_TYPE", ""},
    {915, "CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION", ""},
    {916, "CUDA_ERROR_KEY_ROTATION", ""},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

constexpr CodeInfo kNvrtcResults[] = {
    {0, "NVRTC_SUCCESS", ""},
    {1, "NVRTC_ERROR_OUT_OF_MEMORY", "out of memory"},
    {2, "NVRTC_ERROR_PROGRAM_CREATION_FAILURE", "program creation failure"},
    {3, "NVRTC_ERROR_INVALID_INPUT", "invalid input"},
    {4, "NVRTC_ERROR_INVALID_PROGRAM", "invalid program"},
    {5, "NVRTC_ERROR_INVALID_OPTION", "invalid option"},
    {6, "NVRTC_ERROR_COMPILATION", "compilation error"},
    {7, "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE", "builtin operation failure"},
    {8, "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION", ""},
    {9, "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION", ""},
    {10, "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID", ""},
    {11, "NVRTC_ERROR_INTERNAL_ERROR", "internal error"},
    {12, "NVRTC_ERROR_TIME_FILE_WRITE_FAILED", ""},
    {13, "NVRTC_ERROR_NO_PCH_CREATE_ATTEMPTED", ""},
    {14, "NVRTC_ERROR_PCH_CREATE_HEAP_EXHAUSTED", ""},
    {15, "NVRTC_ERROR_PCH_CREATE", ""},
    {16, "NVRTC_ERROR_CANCELLED", ""},
    {17, "NVRTC_ERROR_TIME_TRACE_FILE_WRITE_FAILED", ""},
};

constexpr CodeInfo kCublasStatuses[] = {
    {0, "CUBLAS_STATUS_SUCCESS", "success"},
    {1, "CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"},
    {3, "CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"},
    {7, "CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"},
    {8, "CUBLAS_STATUS_ARCH_MISMATCH", "an absent device architectural feature is required"},
    {11, "CUBLAS_STATUS_MAPPING_ERROR", "an access to GPU memory space failed"},
    {13, "CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"},
    {14, "CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"},
    {15, "CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"},
    {16, "CUBLAS_STATUS_LICENSE_ERROR", "licensing error"},
};

template <size_t N>
const CodeInfo* Find(const CodeInfo (&table)[N], int code) {
  for (const CodeInfo& info : table) {
    if (info.code == code) return &info;
  }
  return nullptr;
}

// Driver codes are grouped by what a caller can do about them.
absl::StatusCode CuResultCode(int result) {
  switch (result) {
    case 2:    // CUDA_ERROR_OUT_OF_MEMORY
      return absl::StatusCode::kResourceExhausted;
    case 3:    // CUDA_ERROR_NOT_INITIALIZED
    case 4:    // CUDA_ERROR_DEINITIALIZED
    case 34:   // CUDA_ERROR_STUB_LIBRARY
    case 36:   // CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER
    case 46:   // CUDA_ERROR_DEVICE_UNAVAILABLE
    case 100:  // CUDA_ERROR_NO_DEVICE
    case 802:  // CUDA_ERROR_SYSTEM_NOT_READY
    case 803:  // CUDA_ERROR_SYSTEM_DRIVER_MISMATCH
    case 804:  // CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE
      return absl::StatusCode::kUnavailable;
    case 500:  // CUDA_ERROR_NOT_FOUND
      return absl::StatusCode::kNotFound;
    case 209:  // CUDA_ERROR_NO_BINARY_FOR_GPU
    case 222:  // CUDA_ERROR_UNSUPPORTED_PTX_VERSION
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status MakeStatus(absl::StatusCode code, absl::string_view call, absl::string_view name,
                        absl::string_view description, const char* file, int line) {
  std::string message = absl::StrCat(CallText(call), " failed: ", name);
  if (!description.empty()) absl::StrAppend(&message, " (", description, ")");
  absl::StrAppend(&message, " at ", file, ":", line);
  return absl::Status(code, message);
}

}  // namespace

std::string CallText(absl::string_view call) {
  std::string text;
  text.reserve(call.size());
  bool pending_space = false;
  for (char c : call) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !text.empty();
      continue;
    }
    if (pending_space) {
      // Keep spaces between words, not after '(' or before ')' of a wrapped call.
      if (text.back() != '(' && c != ')') text.push_back(' ');
      pending_space = false;
    }
    text.push_back(c);
  }
  // Drop the symbol table: "syms->cuInit(0)" reads as "cuInit(0)". The
  // callee is what precedes the '(' matching the final ')'.
  if (text.empty() || text.back() != ')') return text;
  int depth = 0;
  size_t open = std::string::npos;
  for (size_t i = text.size(); i-- > 0;) {
    if (text[i] == ')') ++depth;
    if (text[i] == '(' && --depth == 0) {
      open = i;
      break;
    }
  }
  if (open == std::string::npos) return text;
  const absl::string_view callee = absl::string_view(text).substr(0, open);
  const size_t arrow = callee.rfind("->");
  const size_t dot = callee.rfind('.');
  size_t cut = 0;
  if (arrow != absl::string_view::npos) cut = arrow + 2;
  if (dot != absl::string_view::npos && dot + 1 > cut) cut = dot + 1;
  return text.substr(cut);
}

std::string CuResultName(int result) {
#if SLUICE_HAVE_CUDA_HEADERS
  if (const CudaSymbols* cu = internal::LoadedCudaOrNull()) {
    const char* name = nullptr;
    if (cu->cuGetErrorName(static_cast<CUresult>(result), &name) == CUDA_SUCCESS &&
        name != nullptr) {
      return name;
    }
  }
#endif
  if (const CodeInfo* info = Find(kCuResults, result)) return info->name;
  return absl::StrCat("CUDA error ", result);
}

std::string CuResultDescription(int result) {
#if SLUICE_HAVE_CUDA_HEADERS
  if (const CudaSymbols* cu = internal::LoadedCudaOrNull()) {
    const char* text = nullptr;
    if (cu->cuGetErrorString(static_cast<CUresult>(result), &text) == CUDA_SUCCESS &&
        text != nullptr) {
      return text;
    }
  }
#endif
  if (const CodeInfo* info = Find(kCuResults, result)) return info->description;
  return "";
}

std::string NvrtcResultName(int result) {
  if (const CodeInfo* info = Find(kNvrtcResults, result)) return info->name;
#if SLUICE_HAVE_CUDA_HEADERS
  if (const NvrtcSymbols* nvrtc = internal::LoadedNvrtcOrNull()) {
    return nvrtc->nvrtcGetErrorString(static_cast<nvrtcResult>(result));
  }
#endif
  return absl::StrCat("NVRTC error ", result);
}

std::string CublasStatusName(int status) {
#if SLUICE_HAVE_CUDA_HEADERS
  if (const CublasSymbols* cublas = internal::LoadedCublasOrNull()) {
    if (const char* name = cublas->cublasGetStatusName(static_cast<cublasStatus_t>(status))) {
      return name;
    }
  }
#endif
  if (const CodeInfo* info = Find(kCublasStatuses, status)) return info->name;
  return absl::StrCat("cuBLAS status ", status);
}

std::string CublasStatusDescription(int status) {
#if SLUICE_HAVE_CUDA_HEADERS
  if (const CublasSymbols* cublas = internal::LoadedCublasOrNull()) {
    if (const char* text = cublas->cublasGetStatusString(static_cast<cublasStatus_t>(status))) {
      return text;
    }
  }
#endif
  if (const CodeInfo* info = Find(kCublasStatuses, status)) return info->description;
  return "";
}

absl::Status CuResultToStatus(int result, absl::string_view call, const char* file, int line) {
  if (result == 0) return absl::OkStatus();
  return MakeStatus(CuResultCode(result), call, CuResultName(result),
                    CuResultDescription(result), file, line);
}

absl::Status NvrtcResultToStatus(int result, absl::string_view call, const char* file,
                                 int line) {
  if (result == 0) return absl::OkStatus();
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (result == 1) code = absl::StatusCode::kResourceExhausted;  // OUT_OF_MEMORY
  if (result == 5) code = absl::StatusCode::kInvalidArgument;    // INVALID_OPTION
  if (result == 6) code = absl::StatusCode::kInvalidArgument;    // COMPILATION
  const CodeInfo* info = Find(kNvrtcResults, result);
  return MakeStatus(code, call, NvrtcResultName(result), info ? info->description : "", file,
                    line);
}

absl::Status CublasStatusToStatus(int status, absl::string_view call, const char* file,
                                  int line) {
  if (status == 0) return absl::OkStatus();
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (status) {
    case 1:  // NOT_INITIALIZED: no driver / device behind cuBLAS
      code = absl::StatusCode::kUnavailable;
      break;
    case 3:  // ALLOC_FAILED
      code = absl::StatusCode::kResourceExhausted;
      break;
    case 7:  // INVALID_VALUE
      code = absl::StatusCode::kInvalidArgument;
      break;
    case 8:  // ARCH_MISMATCH
      code = absl::StatusCode::kFailedPrecondition;
      break;
    case 15:  // NOT_SUPPORTED
      code = absl::StatusCode::kUnimplemented;
      break;
    default:
      break;
  }
  return MakeStatus(code, call, CublasStatusName(status), CublasStatusDescription(status), file,
                    line);
}

namespace internal {
void LogError(const absl::Status& status) { LOG(ERROR) << status; }
}  // namespace internal

}  // namespace sluice::runtime::cuda
