// The one table of CUDA symbols sluice uses: the driver API (libcuda.so.1),
// NVRTC (libnvrtc), cuBLAS (libcublas) and cuBLASLt (libcublasLt, for
// matmuls with a fused epilogue), each loaded with dlopen/dlsym on
// first use (IREE's cuda_dynamic_symbol_table.h pattern). sluice binaries
// never link these libraries, so they build and run on machines without a
// GPU or driver; there, CUDA is reported unavailable with the reason.
//
//   SLUICE_CUDA_ASSIGN_OR_RETURN(const CudaSymbols* cu, LoadCuda());
//   SLUICE_CU_RETURN_IF_ERROR(cu->cuMemAlloc(&ptr, bytes));
//
// Where each library is looked for:
//   driver: libcuda.so.1 by soname only (the driver's; never a toolkit stub),
//           then cuInit(0) must succeed.
//   NVRTC:  libnvrtc.so.13, libnvrtc.so on the default loader path, then in
//           $CUDA_PATH/lib64, $CUDA_PATH/lib, /usr/local/cuda/lib64.
//   cuBLAS: libcublas.so.13, libcublas.so likewise (libcublasLt comes with it
//           through libcublas's own RUNPATH).
//   cuBLASLt: libcublasLt.so.13, libcublasLt.so likewise (its own table: the
//           epilogue matmuls call it directly).
// Each result, success or failure, is computed once per process and cached.
//
// The members are the toolkit's own declarations (`decltype(&::cuMemAlloc)`),
// so calls type-check against the CUDA 13 headers. cuda.h maps many names to
// versioned ABIs (`cuMemAlloc` -> `cuMemAlloc_v2`); the table is resolved with
// those exact names, so `cu->cuMemAlloc(...)` calls the ABI the header meant.
//
// Built without a CUDA toolkit (@local_cuda found none), this header declares
// the tables as empty structs and every Load* returns Unavailable("sluice
// was built without CUDA headers").
#ifndef SLUICE_RUNTIME_CUDA_SYMBOLS_H_
#define SLUICE_RUNTIME_CUDA_SYMBOLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#if SLUICE_HAVE_CUDA_HEADERS
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda.h>
#include <nvrtc.h>
#endif

namespace sluice::runtime::cuda {

#if SLUICE_HAVE_CUDA_HEADERS

// X-macro lists of the symbols each table holds. Add a symbol here and it is
// declared, resolved and checked at load time.
#define SLUICE_CUDA_DRIVER_SYMBOLS(X) \
  X(cuInit)                           \
  X(cuDriverGetVersion)               \
  X(cuGetErrorName)                   \
  X(cuGetErrorString)                 \
  X(cuDeviceGet)                      \
  X(cuDeviceGetCount)                 \
  X(cuDeviceGetName)                  \
  X(cuDeviceGetAttribute)             \
  X(cuDeviceTotalMem)                 \
  X(cuDevicePrimaryCtxRetain)         \
  X(cuDevicePrimaryCtxRelease)        \
  X(cuCtxGetCurrent)                  \
  X(cuCtxPushCurrent)                 \
  X(cuCtxPopCurrent)                  \
  X(cuCtxSynchronize)                 \
  X(cuMemAlloc)                       \
  X(cuMemFree)                        \
  X(cuMemGetInfo)                     \
  X(cuMemAllocHost)                   \
  X(cuMemFreeHost)                    \
  X(cuMemcpyHtoDAsync)                \
  X(cuMemcpyDtoHAsync)                \
  X(cuMemcpyDtoDAsync)                \
  X(cuMemsetD8Async)                  \
  X(cuMemsetD32Async)                 \
  X(cuStreamCreate)                   \
  X(cuStreamDestroy)                  \
  X(cuStreamSynchronize)              \
  X(cuStreamQuery)                    \
  X(cuStreamWaitEvent)                \
  X(cuEventCreate)                    \
  X(cuEventDestroy)                   \
  X(cuEventRecord)                    \
  X(cuEventSynchronize)               \
  X(cuEventElapsedTime)               \
  X(cuModuleLoadData)                 \
  X(cuModuleUnload)                   \
  X(cuModuleGetFunction)              \
  X(cuFuncGetAttribute)               \
  X(cuFuncSetAttribute)               \
  X(cuLaunchKernel)                   \
  X(cuTensorMapEncodeTiled)

#define SLUICE_CUDA_NVRTC_SYMBOLS(X) \
  X(nvrtcGetErrorString)             \
  X(nvrtcVersion)                    \
  X(nvrtcGetNumSupportedArchs)       \
  X(nvrtcGetSupportedArchs)          \
  X(nvrtcCreateProgram)              \
  X(nvrtcDestroyProgram)             \
  X(nvrtcCompileProgram)             \
  X(nvrtcGetProgramLogSize)          \
  X(nvrtcGetProgramLog)              \
  X(nvrtcGetCUBINSize)               \
  X(nvrtcGetCUBIN)

#define SLUICE_CUDA_CUBLAS_SYMBOLS(X) \
  X(cublasCreate)                     \
  X(cublasDestroy)                    \
  X(cublasSetStream)                  \
  X(cublasSetWorkspace)               \
  X(cublasSetMathMode)                \
  X(cublasGetProperty)                \
  X(cublasGetStatusName)              \
  X(cublasGetStatusString)            \
  X(cublasSgemm_v2)

#define SLUICE_CUDA_CUBLASLT_SYMBOLS(X) \
  X(cublasLtCreate)                     \
  X(cublasLtDestroy)                    \
  X(cublasLtGetVersion)                 \
  X(cublasLtMatmulDescCreate)           \
  X(cublasLtMatmulDescDestroy)          \
  X(cublasLtMatmulDescSetAttribute)     \
  X(cublasLtMatrixLayoutCreate)         \
  X(cublasLtMatrixLayoutDestroy)        \
  X(cublasLtMatmulPreferenceCreate)     \
  X(cublasLtMatmulPreferenceDestroy)    \
  X(cublasLtMatmulPreferenceSetAttribute) \
  X(cublasLtMatmulAlgoGetHeuristic)     \
  X(cublasLtMatmul)

#define SLUICE_CUDA_DECLARE_SYMBOL_(name) decltype(&::name) name = nullptr;

struct CudaSymbols {
  SLUICE_CUDA_DRIVER_SYMBOLS(SLUICE_CUDA_DECLARE_SYMBOL_)
  int driver_version = 0;   // cuDriverGetVersion, e.g. 13000 for CUDA 13.0
  std::string library;      // what was dlopen'ed, e.g. "libcuda.so.1"
};

struct NvrtcSymbols {
  SLUICE_CUDA_NVRTC_SYMBOLS(SLUICE_CUDA_DECLARE_SYMBOL_)
  int version_major = 0;    // nvrtcVersion
  int version_minor = 0;
  std::string library;      // the path or soname that was dlopen'ed
};

struct CublasSymbols {
  SLUICE_CUDA_CUBLAS_SYMBOLS(SLUICE_CUDA_DECLARE_SYMBOL_)
  // Overloaded in cublas_api.h (a legacy cudaDataType computeType overload),
  // so its type is spelled out: the cublasComputeType_t entry point.
  cublasStatus_t (*cublasGemmStridedBatchedEx)(
      cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
      const void*, cudaDataType, int, long long int,  // NOLINT(runtime/int)
      const void*, cudaDataType, int, long long int,   // NOLINT(runtime/int)
      const void*, void*, cudaDataType, int, long long int, int,  // NOLINT(runtime/int)
      cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  int version = 0;          // CUBLAS_VERSION-style: major*10000 + minor*100 + patch
  std::string library;
};

struct CublasLtSymbols {
  SLUICE_CUDA_CUBLASLT_SYMBOLS(SLUICE_CUDA_DECLARE_SYMBOL_)
  size_t version = 0;       // cublasLtGetVersion: major*10000 + minor*100 + patch
  std::string library;
};

#undef SLUICE_CUDA_DECLARE_SYMBOL_

#else  // !SLUICE_HAVE_CUDA_HEADERS

// Empty: there is nothing to call. Code that uses the members must be built
// with CUDA (guard it with if_cuda() in BUILD).
struct CudaSymbols {};
struct NvrtcSymbols {};
struct CublasSymbols {};
struct CublasLtSymbols {};

#endif  // SLUICE_HAVE_CUDA_HEADERS

// The driver API, loaded and initialized (cuInit(0)) on first use. Unavailable
// with the reason when there is no driver or no device, e.g.
//   "CUDA driver unavailable: libcuda.so.1: cannot open shared object file: No
//    such file or directory (no NVIDIA driver on this machine)"
//   "CUDA driver unavailable: cuInit(0) failed: CUDA_ERROR_NO_DEVICE (...)"
absl::StatusOr<const CudaSymbols*> LoadCuda();
// NVRTC; needs no GPU or driver.
absl::StatusOr<const NvrtcSymbols*> LoadNvrtc();
// cuBLAS (running it needs the driver as well).
absl::StatusOr<const CublasSymbols*> LoadCublas();
// cuBLASLt, likewise.
absl::StatusOr<const CublasLtSymbols*> LoadCublasLt();

// Whether the driver loaded and found a device; when not and `reason` is
// given, sets it to the message of LoadCuda()'s error.
bool CudaAvailable(std::string* reason = nullptr);

// Whether this build has the CUDA headers (false: every Load* fails).
bool BuiltWithCudaHeaders();

namespace internal {

// The uncached loaders behind Load*, trying `candidates` (sonames or paths)
// in order; for tests of the failure paths (a missing library, the toolkit's
// stub libcuda.so).
absl::StatusOr<std::unique_ptr<CudaSymbols>> LoadCudaFrom(
    const std::vector<std::string>& candidates);
absl::StatusOr<std::unique_ptr<NvrtcSymbols>> LoadNvrtcFrom(
    const std::vector<std::string>& candidates);
absl::StatusOr<std::unique_ptr<CublasSymbols>> LoadCublasFrom(
    const std::vector<std::string>& candidates);
absl::StatusOr<std::unique_ptr<CublasLtSymbols>> LoadCublasLtFrom(
    const std::vector<std::string>& candidates);

// The candidates Load* tries for "nvrtc"/"cublas"/"cublasLt" ("libnvrtc.so.13",
// "libnvrtc.so", then "<dir>/libnvrtc.so.13", ... for each toolkit dir).
std::vector<std::string> ToolkitLibraryCandidates(const std::string& stem,
                                                  const std::string& major_version);

// The driver table once LoadCuda() has succeeded, else null; never loads.
const CudaSymbols* LoadedCudaOrNull();
const NvrtcSymbols* LoadedNvrtcOrNull();
const CublasSymbols* LoadedCublasOrNull();
const CublasLtSymbols* LoadedCublasLtOrNull();

}  // namespace internal
}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_SYMBOLS_H_
