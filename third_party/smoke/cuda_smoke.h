// Host functions implemented in cuda_smoke.cu (compiled by nvcc through
// cuda_library). Plain C++: callers need no CUDA headers.

#ifndef SLUICE_THIRD_PARTY_SMOKE_CUDA_SMOKE_H_
#define SLUICE_THIRD_PARTY_SMOKE_CUDA_SMOKE_H_

namespace sluice::smoke {

// A constant, to show the nvcc-built archive is linked.
int CudaSmokeAnswer();

// __CUDACC_VER_MAJOR__ * 1000 + __CUDACC_VER_MINOR__ * 10 as nvcc saw it.
int NvccVersion();

// The address of the smoke kernel (non-null when the device code was registered).
const void* AddOneKernelAddress();

// An Eigen expression evaluated in nvcc-compiled host code (checks -isystem Eigen).
float EigenDotInCudaTu();

// The header from deps ("third_party/smoke/smoke_constant.h") seen through the
// options file cuda_library generates.
int ConstantFromDepHeader();

// cudaGetDeviceCount()'s result: an error code (no driver) is fine, a crash not.
int CudaDeviceCountOrError(int* count);

}  // namespace sluice::smoke

#endif  // SLUICE_THIRD_PARTY_SMOKE_CUDA_SMOKE_H_
