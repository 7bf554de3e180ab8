// Checks that cuda_library's nvcc archive links into an ordinary cc_test and
// that its host code runs without a GPU.

#include "third_party/smoke/cuda_smoke.h"

#include <cuda_runtime_api.h>

#include "gtest/gtest.h"

namespace sluice::smoke {
namespace {

TEST(CudaSmokeTest, HostFunctionsFromNvccArchive) {
  EXPECT_EQ(CudaSmokeAnswer(), 42);
  EXPECT_NE(AddOneKernelAddress(), nullptr);
  EXPECT_FLOAT_EQ(EigenDotInCudaTu(), 32.0f);
  EXPECT_EQ(ConstantFromDepHeader(), 1234);
}

TEST(CudaSmokeTest, NvccMatchesDetectedToolkit) {
  // SLUICE_CUDA_VERSION_MAJOR/MINOR come from @local_cuda//:defs.bzl.
  EXPECT_EQ(NvccVersion(), SLUICE_CUDA_VERSION_MAJOR * 1000 + SLUICE_CUDA_VERSION_MINOR * 10);
}

TEST(CudaSmokeTest, NoGpuIsAnErrorNotACrash) {
  int count = -1;
  int err = CudaDeviceCountOrError(&count);
  if (err == cudaSuccess) {
    EXPECT_GE(count, 1) << "cudaGetDeviceCount succeeded with no devices";
  } else {
    // No driver (CI) or no device: an error code, and the process lives on.
    EXPECT_NE(cudaGetErrorName(static_cast<cudaError_t>(err)), nullptr);
    GTEST_SKIP() << "no usable GPU here: " << cudaGetErrorString(static_cast<cudaError_t>(err));
  }
}

}  // namespace
}  // namespace sluice::smoke
