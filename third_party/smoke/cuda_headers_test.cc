// Checks that @local_cuda//:cuda_headers gives host C++ code (compiled by g++,
// not nvcc) the toolkit headers sluice's runtime and codegen use, and that they
// are the toolkit @local_cuda detected.

#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <nvrtc.h>

#include "gtest/gtest.h"

namespace {

TEST(CudaHeadersTest, HeaderVersionMatchesDetectedToolkit) {
  // cuda.h: CUDA_VERSION = major * 1000 + minor * 10.
  EXPECT_EQ(CUDA_VERSION, SLUICE_CUDA_VERSION_MAJOR * 1000 + SLUICE_CUDA_VERSION_MINOR * 10);
}

TEST(CudaHeadersTest, HalfConversionsWorkOnTheHost) {
  __half h = __float2half(1.5f);
  EXPECT_EQ(__half2float(h), 1.5f);
  __nv_bfloat16 b = __float2bfloat16(-2.0f);
  EXPECT_EQ(__bfloat162float(b), -2.0f);
}

TEST(CudaHeadersTest, DeclarationsSluiceLoadsWithDlopen) {
  // The runtime resolves these by name at run time; their types come from here.
  using NvrtcCompile = decltype(&nvrtcCompileProgram);
  using CuModuleLoad = decltype(&cuModuleLoadData);
  using CublasCreate = decltype(&cublasCreate_v2);
  EXPECT_NE(sizeof(NvrtcCompile), 0u);
  EXPECT_NE(sizeof(CuModuleLoad), 0u);
  EXPECT_NE(sizeof(CublasCreate), 0u);
  EXPECT_EQ(static_cast<int>(NVRTC_SUCCESS), 0);
  EXPECT_EQ(static_cast<int>(CUDA_SUCCESS), 0);
}

}  // namespace
