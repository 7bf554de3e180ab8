// The smallest useful nvcc translation unit: a kernel plus host functions that a
// CPU-only test can call.

#include "third_party/smoke/cuda_smoke.h"

#include <cuda_runtime.h>

#include <Eigen/Core>

#include "third_party/smoke/smoke_constant.h"

namespace sluice::smoke {

__global__ void AddOneKernel(float* x, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] += 1.0f;
}

int CudaSmokeAnswer() { return 42; }

int NvccVersion() { return __CUDACC_VER_MAJOR__ * 1000 + __CUDACC_VER_MINOR__ * 10; }

const void* AddOneKernelAddress() { return reinterpret_cast<const void*>(&AddOneKernel); }

float EigenDotInCudaTu() {
  Eigen::Vector3f a(1, 2, 3);
  Eigen::Vector3f b(4, 5, 6);
  return a.dot(b);
}

int ConstantFromDepHeader() { return kSmokeConstant; }

int CudaDeviceCountOrError(int* count) {
  *count = 0;
  return static_cast<int>(cudaGetDeviceCount(count));
}

}  // namespace sluice::smoke
