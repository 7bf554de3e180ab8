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

// The tuner's statistic: the mean of the middle half, so that one slow
// round (or one fast) does not move it, and so that samples on the events'
// ~0.7 us steps resolve between the steps (a median lands on one of them).
TEST(TunedShapeTest, InterquartileMeanIsTheMiddleHalfsMean) {
  EXPECT_DOUBLE_EQ(InterquartileMean({}), 0.0);
  EXPECT_DOUBLE_EQ(InterquartileMean({5.0}), 5.0);
  EXPECT_DOUBLE_EQ(InterquartileMean({1.0, 3.0, 2.0}), 2.0);
  // 8 samples: the middle 4 (the lowest 2 and highest 2 dropped).
  EXPECT_DOUBLE_EQ(InterquartileMean({100.0, 50.3, 51.0, 50.3, 0.0, 51.0, 50.3, 51.0}), 50.65);
  // Steps of 0.7: the median is one of them, the mean in between.
  EXPECT_DOUBLE_EQ(InterquartileMean({50.3, 50.3, 50.3, 50.3, 51.0, 51.0, 51.0, 51.0}), 50.65);
}

// The spec's own shape (0) unless another is 0.2% faster; among those the
// fastest; `us` holds every shape's mean.
TEST(TunedShapeTest, ChoosesTheFastestShapeByAMargin) {
  std::vector<double> us;
  EXPECT_EQ(ChooseTunedShape({{93.0, 93.0, 93.0, 93.0}, {92.0, 92.0, 92.0, 92.0}}, &us), 1);
  EXPECT_THAT(us, ::testing::ElementsAre(93.0, 92.0));
  // 0.1% faster: not enough to leave the spec's own shape.
  EXPECT_EQ(ChooseTunedShape({{100.0}, {99.9}}, &us), 0);
  // 0.3% faster: enough (a 0.5% margin kept the spec's shape, NOTES.md §29).
  EXPECT_EQ(ChooseTunedShape({{100.0}, {99.7}}, &us), 1);
  // The fastest of several, not the first below the margin.
  EXPECT_EQ(ChooseTunedShape({{100.0}, {99.0}, {98.0}, {99.5}}, &us), 2);
  // One slow outlier round does not make a shape lose.
  EXPECT_EQ(ChooseTunedShape({{93.0, 93.0, 93.0, 93.0}, {92.0, 92.0, 92.0, 150.0}}, &us), 1);
  EXPECT_EQ(ChooseTunedShape({{50.0}}, &us), 0);
  EXPECT_THAT(us, ::testing::ElementsAre(50.0));
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
