// Handle types of the CUDA driver API, cuBLAS and cuBLASLt, declared without
// the CUDA headers so that sluice's public CUDA headers don't pull in cuda.h
// (and its `#define cuMemAlloc cuMemAlloc_v2`-style macros) into every
// includer.
//
// Each type is exactly the toolkit's: `CUstream_st*` is `CUstream` and
// `cudaStream_t` (so it can be handed to Eigen::GpuDevice or cuBLAS),
// `DevicePtr` is `CUdeviceptr` (unsigned long long on every 64-bit platform).
#ifndef SLUICE_RUNTIME_CUDA_CUDA_TYPES_H_
#define SLUICE_RUNTIME_CUDA_CUDA_TYPES_H_

struct CUctx_st;
struct CUstream_st;
struct CUmod_st;
struct CUfunc_st;
struct CUevent_st;
struct cublasContext;
struct cublasLtContext;

namespace sluice::runtime::cuda {

// A device address (CUdeviceptr). Zero is "no buffer".
using DevicePtr = unsigned long long;  // NOLINT(runtime/int): CUdeviceptr's type.

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_CUDA_TYPES_H_
