// A kernel that writes through a bad pointer: the launch itself succeeds, and
// the fault surfaces at the stream's Synchronize() as an error that names the
// kernel. Such an error leaves the context unusable, hence a test binary of
// its own. Skips without a GPU.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/module.h"
#include "runtime/cuda/nvrtc.h"
#include "runtime/cuda/stream.h"
#include "runtime/cuda/test_util.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::HasSubstr;

TEST(KernelFault, IllegalAddressIsReportedAtSynchronizeWithTheKernelsName) {
  SLUICE_SKIP_WITHOUT_CUDA();
  CudaDevice* device = *CudaDevice::Get(0);
  NvrtcOptions options;
  options.use_cache = false;
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(
      "extern \"C\" __global__ void harmless(float* p) { if (p) p[0] = 1; }\n"
      "extern \"C\" __global__ void write_wild(float* p) { p[threadIdx.x] = 1.0f; }\n",
      "fault", options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  auto module = CudaModule::Load(device, compiled->cubin, "fault");
  ASSERT_TRUE(module.ok()) << module.status();
  auto harmless = (*module)->GetFunction("harmless");
  auto wild = (*module)->GetFunction("write_wild");
  ASSERT_TRUE(harmless.ok() && wild.ok());
  auto stream = CudaStream::Create(device);
  ASSERT_TRUE(stream.ok()) << stream.status();

  DevicePtr null_ptr = 0;
  DevicePtr bad = 0xdead0000ull;  // unmapped
  void* harmless_args[] = {&null_ptr};
  void* wild_args[] = {&bad};
  ASSERT_TRUE(Launch(*harmless, {1}, {1}, 0, stream->get(), harmless_args).ok());
  ASSERT_TRUE(Launch(*wild, {1}, {32}, 0, stream->get(), wild_args).ok());
  absl::Status synced = (*stream)->Synchronize();
  ASSERT_FALSE(synced.ok());
  EXPECT_THAT(synced.message(), HasSubstr("cuStreamSynchronize"));
  EXPECT_THAT(synced.message(), HasSubstr("CUDA_ERROR_ILLEGAL_ADDRESS"));
  EXPECT_THAT(synced.message(),
              HasSubstr("kernels launched on this stream since the last synchronize: harmless, "
                        "write_wild"));
  EXPECT_THAT(synced.message(), HasSubstr("SLUICE_CUDA_SYNC_AFTER_LAUNCH=1"));
}

}  // namespace
}  // namespace sluice::runtime::cuda
