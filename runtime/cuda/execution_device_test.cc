// CudaKernelModule: the functions of a kernel's launch variants are looked up
// when a launch shape is chosen or tuned, not when the module is
// loaded (a warm compile whose choice comes from the cache loads only the
// kernels it runs).
#include "runtime/cuda/execution_device.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/cuda/nvrtc.h"
#include "runtime/cuda/test_util.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::HasSubstr;

// Two kernels of one cubin: each thread writes 1, or 2, at p[threadIdx.x].
constexpr char kFills[] =
    "extern \"C\" __global__ void fill_one(int* p) { p[threadIdx.x] = 1; }\n"
    "extern \"C\" __global__ void fill_two(int* p) { p[threadIdx.x] = 2; }\n";

NvrtcOptions Uncached() {
  NvrtcOptions options;
  options.use_cache = false;
  return options;
}

TEST(CudaKernelModuleTest, VariantsAreLookedUpWhenChosen) {
  SLUICE_SKIP_WITHOUT_CUDA();
  const NvrtcOptions options = Uncached();
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(kFills, "variants", options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  absl::StatusOr<std::unique_ptr<CudaExecutionDevice>> device = CudaExecutionDevice::Create();
  ASSERT_TRUE(device.ok()) << device.status();

  KernelLaunchSpec spec;
  spec.symbol = "fill_one";
  spec.block = {32};
  spec.num_args = 1;
  // A variant whose function the cubin lacks: loading still succeeds, and
  // only choosing (or launching) it fails.
  spec.variants = {{"no_such_kernel", {1}, {32}, 0}, {"fill_two", {1}, {32}, 0}};
  absl::StatusOr<std::unique_ptr<CudaKernelModule>> module =
      CudaKernelModule::Load(device->get(), compiled->cubin, "variants", {spec});
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_EQ((*module)->num_shapes(0), 3);

  absl::StatusOr<void*> buffer = (*device)->Allocate(32 * sizeof(int));
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  auto read = [&]() {
    std::vector<int> host(32, 0);
    EXPECT_TRUE((*device)->CopyToHost(host.data(), *buffer, 32 * sizeof(int)).ok());
    EXPECT_TRUE((*device)->Synchronize().ok());
    return host;
  };
  std::vector<void*> args = {*buffer};
  ASSERT_TRUE((*module)->Launch(0, args).ok());
  EXPECT_EQ(read(), std::vector<int>(32, 1));

  absl::Status missing = (*module)->Choose(0, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.message(), HasSubstr("no_such_kernel"));
  ASSERT_TRUE((*module)->Launch(0, args).ok());  // still the kernel's own shape

  ASSERT_TRUE((*module)->Choose(0, 2).ok());
  ASSERT_TRUE((*module)->Launch(0, args).ok());
  EXPECT_EQ(read(), std::vector<int>(32, 2));
  ASSERT_TRUE((*module)->Choose(0, 0).ok());
  ASSERT_TRUE((*module)->Launch(0, args).ok());
  EXPECT_EQ(read(), std::vector<int>(32, 1));
  (*device)->Free(*buffer);
}

// A kernel for aligned buffers with launch variants and an unaligned
// variant (codegen's aligned_variants with launch_variants): whichever shape
// is chosen, aligned buffers run it and unaligned ones run the unaligned
// variant, compiled on first need, in the kernel's own shape.
TEST(CudaKernelModuleTest, UnalignedBuffersTakeTheUnalignedVariantWhateverTheShape) {
  SLUICE_SKIP_WITHOUT_CUDA();
  const NvrtcOptions options = Uncached();
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(kFills, "aligned_variants", options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  absl::StatusOr<std::unique_ptr<CudaExecutionDevice>> device = CudaExecutionDevice::Create();
  ASSERT_TRUE(device.ok()) << device.status();

  int compiles = 0;
  KernelLaunchSpec spec;
  spec.symbol = "fill_one";
  spec.block = {8};
  spec.num_args = 1;
  spec.variants = {{"fill_two", {1}, {16}, 0}};
  spec.unaligned_symbol = "fill_nine";
  spec.unaligned_cubin = [&]() -> absl::StatusOr<std::string> {
    ++compiles;
    absl::StatusOr<CompiledCuda> c = CompileCuda(
        "extern \"C\" __global__ void fill_nine(int* p) { p[threadIdx.x] = 9; }\n",
        "aligned_variants_unaligned", options);
    if (!c.ok()) return c.status();
    return c->cubin;
  };
  absl::StatusOr<std::unique_ptr<CudaKernelModule>> module =
      CudaKernelModule::Load(device->get(), compiled->cubin, "aligned_variants", {spec});
  ASSERT_TRUE(module.ok()) << module.status();

  constexpr int kInts = 32;
  absl::StatusOr<void*> buffer = (*device)->Allocate(kInts * sizeof(int));
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  auto run = [&](int offset) {
    std::vector<int> host(kInts, 0);
    EXPECT_TRUE((*device)->CopyToDevice(*buffer, host.data(), kInts * sizeof(int)).ok());
    std::vector<void*> args = {static_cast<int*>(*buffer) + offset};
    EXPECT_TRUE((*module)->Launch(0, args).ok());
    EXPECT_TRUE((*device)->CopyToHost(host.data(), *buffer, kInts * sizeof(int)).ok());
    EXPECT_TRUE((*device)->Synchronize().ok());
    return host;
  };
  auto expect = [](int offset, int count, int value) {
    std::vector<int> v(kInts, 0);
    for (int i = 0; i < count; ++i) v[offset + i] = value;
    return v;
  };
  ASSERT_TRUE((*module)->Choose(0, 1).ok());  // the variant: 16 threads write 2
  EXPECT_EQ(run(0), expect(0, 16, 2));
  EXPECT_EQ(compiles, 0);
  // 4 bytes in: the unaligned variant, in the kernel's own shape (8 threads).
  EXPECT_EQ(run(1), expect(1, 8, 9));
  EXPECT_EQ(compiles, 1);
  ASSERT_TRUE((*module)->Choose(0, 0).ok());
  EXPECT_EQ(run(0), expect(0, 8, 1));
  EXPECT_EQ(run(3), expect(3, 8, 9));
  EXPECT_EQ(compiles, 1);  // compiled once
  (*device)->Free(*buffer);
}

}  // namespace
}  // namespace sluice::runtime::cuda
