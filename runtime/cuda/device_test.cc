// GPU tests of devices, memory, streams, events, modules and launches. They
// skip, saying why, where CUDA is unavailable (CI has no GPU); on a GPU host
// they must all run and pass.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/memory.h"
#include "runtime/cuda/module.h"
#include "runtime/cuda/nvrtc.h"
#include "runtime/cuda/stream.h"
#include "runtime/cuda/symbols.h"
#include "runtime/cuda/test_util.h"
#include "runtime/tensor.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::HasSubstr;

class CudaDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SLUICE_SKIP_WITHOUT_CUDA();
    absl::StatusOr<CudaDevice*> device = CudaDevice::Get(0);
    ASSERT_TRUE(device.ok()) << device.status();
    device_ = *device;
    absl::StatusOr<std::unique_ptr<CudaStream>> stream = CudaStream::Create(device_);
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::move(*stream);
  }

  CudaDevice* device_ = nullptr;
  std::unique_ptr<CudaStream> stream_;
};

TEST(CudaDeviceNoGpu, GetFailsCleanlyWithoutCuda) {
  std::string reason;
  if (CudaAvailable(&reason)) GTEST_SKIP() << "CUDA is available; covered by CudaDeviceTest";
  absl::StatusOr<CudaDevice*> device = CudaDevice::Get(0);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(device.status().message(), reason);
  EXPECT_EQ(CudaDevice::Count().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(CudaDeviceTest, PropertiesAreSane) {
  EXPECT_EQ(device_->ordinal(), 0);
  EXPECT_FALSE(device_->name().empty());
  EXPECT_GE(device_->compute_capability_major(), 7);
  EXPECT_TRUE(absl::StartsWith(device_->arch(), "sm_")) << device_->arch();
  EXPECT_GT(device_->total_memory(), size_t{1} << 30);
  EXPECT_GT(device_->multiprocessor_count(), 0);
  EXPECT_EQ(device_->warp_size(), 32);
  EXPECT_GE(device_->max_threads_per_block(), 1024);
  EXPECT_GE(device_->max_shared_memory_per_block_optin(), 48 * 1024);
  EXPECT_NE(device_->context(), nullptr);
  // One device object per ordinal.
  EXPECT_EQ(*CudaDevice::Get(0), device_);
  absl::StatusOr<CudaDevice::MemoryInfo> info = device_->GetMemoryInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_GT(info->free_bytes, 0u);
  EXPECT_LE(info->free_bytes, info->total_bytes);
  std::cout << "device: " << device_->DebugString() << "\n";
}

TEST_F(CudaDeviceTest, BadOrdinalIsInvalidArgument) {
  absl::StatusOr<CudaDevice*> device = CudaDevice::Get(1000);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(), HasSubstr("CUDA device 1000 does not exist"));
}

// Streams come from the device's pool and go back to it: the last one given
// back is the next one taken; one given back with work still queued runs
// its next user's work after that work; beyond the pool's capacity streams
// are created and the extra ones destroyed when given back.
TEST_F(CudaDeviceTest, StreamsComeFromThePoolAndGoBack) {
  const int before = device_->pooled_streams();
  EXPECT_LE(before, CudaDevice::kMaxPooledStreams);
  absl::StatusOr<std::unique_ptr<CudaStream>> a = CudaStream::Create(device_);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(device_->pooled_streams(), before > 0 ? before - 1 : 0);
  CUstream_st* const handle = (*a)->handle();
  EXPECT_NE(handle, stream_->handle());

  // Queued work on a stream given back, then read on its next user.
  constexpr size_t kWords = size_t{64} << 20;  // 256 MB: the memset is still running
  absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(device_, kWords * 4);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  ASSERT_TRUE((*a)->Memset32(buffer->ptr(), 0x3f800000u, kWords).ok());
  a->reset();
  EXPECT_EQ(device_->pooled_streams(), before > 0 ? before : 1);
  absl::StatusOr<std::unique_ptr<CudaStream>> b = CudaStream::Create(device_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->handle(), handle);
  std::vector<uint32_t> tail(1024, 0);
  ASSERT_TRUE((*b)->CopyDeviceToHost(tail.data(), buffer->ptr() + (kWords - tail.size()) * 4,
                                     tail.size() * 4)
                  .ok());
  ASSERT_TRUE((*b)->Synchronize().ok());
  EXPECT_EQ(tail, std::vector<uint32_t>(tail.size(), 0x3f800000u));
  b->reset();

  // More streams at once than the pool holds: all distinct, all usable.
  std::vector<std::unique_ptr<CudaStream>> many;
  for (int i = 0; i < CudaDevice::kMaxPooledStreams + 4; ++i) {
    absl::StatusOr<std::unique_ptr<CudaStream>> s = CudaStream::Create(device_);
    ASSERT_TRUE(s.ok()) << s.status();
    for (const auto& other : many) EXPECT_NE(other->handle(), (*s)->handle());
    EXPECT_TRUE((*s)->Memset32(buffer->ptr(), static_cast<uint32_t>(i), 16).ok());
    many.push_back(std::move(*s));
  }
  EXPECT_EQ(device_->pooled_streams(), 0);
  for (auto& s : many) EXPECT_TRUE(s->Synchronize().ok());
  many.clear();
  EXPECT_EQ(device_->pooled_streams(), CudaDevice::kMaxPooledStreams);
}

TEST_F(CudaDeviceTest, CopyRoundTripMemsetAndDeviceToDevice) {
  constexpr size_t kCount = 1 << 20;
  std::vector<float> host(kCount);
  for (size_t i = 0; i < kCount; ++i) host[i] = static_cast<float>(i) * 0.5f - 7.0f;
  absl::StatusOr<DeviceBuffer> a = DeviceBuffer::Allocate(device_, kCount * sizeof(float));
  absl::StatusOr<DeviceBuffer> b = DeviceBuffer::Allocate(device_, kCount * sizeof(float));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->ptr() % 256, 0u);

  ASSERT_TRUE(stream_->CopyHostToDevice(a->ptr(), host.data(), kCount * sizeof(float)).ok());
  ASSERT_TRUE(stream_->CopyDeviceToDevice(b->ptr(), a->ptr(), kCount * sizeof(float)).ok());
  std::vector<float> back(kCount, 0.0f);
  ASSERT_TRUE(stream_->CopyDeviceToHost(back.data(), b->ptr(), kCount * sizeof(float)).ok());
  ASSERT_TRUE(stream_->Synchronize().ok());
  EXPECT_EQ(back, host);

  // Memset32 of 1.0f's bits, then Memset8 of the first 8 bytes to zero.
  uint32_t one_bits;
  const float one = 1.0f;
  std::memcpy(&one_bits, &one, sizeof(one));
  ASSERT_TRUE(stream_->Memset32(a->ptr(), one_bits, kCount).ok());
  ASSERT_TRUE(stream_->Memset8(a->ptr(), 0, 8).ok());
  ASSERT_TRUE(stream_->CopyDeviceToHost(back.data(), a->ptr(), kCount * sizeof(float)).ok());
  ASSERT_TRUE(stream_->Synchronize().ok());
  EXPECT_EQ(back[0], 0.0f);
  EXPECT_EQ(back[1], 0.0f);
  EXPECT_EQ(back[2], 1.0f);
  EXPECT_EQ(back[kCount - 1], 1.0f);
  EXPECT_EQ(stream_->Memset32(a->ptr() + 2, 0, 1).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CudaDeviceTest, BufferMovesAndFrees) {
  absl::StatusOr<DeviceBuffer> a = DeviceBuffer::Allocate(device_, 4096);
  ASSERT_TRUE(a.ok()) << a.status();
  const DevicePtr ptr = a->ptr();
  DeviceBuffer moved = std::move(*a);
  EXPECT_EQ(moved.ptr(), ptr);
  EXPECT_TRUE(a->empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_TRUE(moved.Free().ok());
  EXPECT_TRUE(moved.empty());
  EXPECT_TRUE(moved.Free().ok());  // idempotent
  absl::StatusOr<DeviceBuffer> empty = DeviceBuffer::Allocate(device_, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(CudaDeviceTest, ArenaSlices) {
  absl::StatusOr<DeviceArena> arena = DeviceArena::Create(device_, 1 << 16);
  ASSERT_TRUE(arena.ok()) << arena.status();
  EXPECT_EQ(*arena->Slice(0, 1 << 16), arena->base());
  EXPECT_EQ(*arena->Slice(64, 128), arena->base() + 64);
  EXPECT_EQ(arena->Slice(8, 16).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(arena->Slice(1 << 16, 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(arena->Slice(64, (1 << 16) - 63).status().code(), absl::StatusCode::kOutOfRange);
  // Slices are usable memory: write two, read them back.
  const DevicePtr x = *arena->Slice(0, 64), y = *arena->Slice(1024, 64);
  ASSERT_TRUE(stream_->Memset8(x, 0x11, 64).ok());
  ASSERT_TRUE(stream_->Memset8(y, 0x22, 64).ok());
  std::vector<uint8_t> back(1088);
  ASSERT_TRUE(stream_->CopyDeviceToHost(back.data(), x, back.size()).ok());
  ASSERT_TRUE(stream_->Synchronize().ok());
  EXPECT_EQ(back[63], 0x11);
  EXPECT_EQ(back[1024], 0x22);
}

TEST_F(CudaDeviceTest, OutOfMemoryIsResourceExhaustedAndRecoverable) {
  // 1 PiB: more than any GPU has.
  absl::StatusOr<DeviceBuffer> huge = DeviceBuffer::Allocate(device_, size_t{1} << 50);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted) << huge.status();
  EXPECT_THAT(huge.status().message(), HasSubstr("CUDA_ERROR_OUT_OF_MEMORY"));
  EXPECT_THAT(huge.status().message(), HasSubstr("allocating 1125899906842624 bytes"));
  // The process and the context keep working.
  absl::StatusOr<DeviceBuffer> small = DeviceBuffer::Allocate(device_, 1 << 20);
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_TRUE(stream_->Memset8(small->ptr(), 7, 1 << 20).ok());
  EXPECT_TRUE(stream_->Synchronize().ok());
}

constexpr char kKernels[] = R"(
#include <cuda_fp16.h>
#include <cuda_bf16.h>

extern "C" __global__ void scale_add_f16_bf16(const __half* a, const float* b,
                                              __nv_bfloat16* out, float scale, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(__half2float(a[i]) * scale + b[i]);
}

// Uses dynamic shared memory, to test the > 48 KiB opt-in.
extern "C" __global__ void reverse_in_shared(const float* in, float* out, int n) {
  extern __shared__ float tile[];
  for (int i = threadIdx.x; i < n; i += blockDim.x) tile[i] = in[i];
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = tile[n - 1 - i];
}
)";

class CudaModuleTest : public CudaDeviceTest {
 protected:
  void SetUp() override {
    CudaDeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    NvrtcOptions options;  // the device's own arch
    options.use_cache = false;
    absl::StatusOr<CompiledCuda> compiled = CompileCuda(kKernels, "device_test", options);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    EXPECT_EQ(compiled->arch, device_->arch());
    absl::StatusOr<std::unique_ptr<CudaModule>> module =
        CudaModule::Load(device_, compiled->cubin, "device_test");
    ASSERT_TRUE(module.ok()) << module.status();
    module_ = std::move(*module);
  }
  std::unique_ptr<CudaModule> module_;
};

TEST_F(CudaModuleTest, LaunchesHalfBfloat16KernelAndChecksResults) {
  absl::StatusOr<CudaFunction> kernel = module_->GetFunction("scale_add_f16_bf16");
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->name(), "scale_add_f16_bf16");
  EXPECT_GE(kernel->max_threads_per_block(), 256);
  EXPECT_GT(kernel->num_registers(), 0);

  constexpr int kN = 100003;  // not a multiple of the block size
  std::vector<uint16_t> a(kN);
  std::vector<float> b(kN);
  for (int i = 0; i < kN; ++i) {
    a[i] = FloatToHalfBits(static_cast<float>(i % 1000) * 0.125f - 30.0f);
    b[i] = static_cast<float>(i % 7) - 3.0f;
  }
  absl::StatusOr<DeviceBuffer> da = DeviceBuffer::Allocate(device_, kN * 2);
  absl::StatusOr<DeviceBuffer> db = DeviceBuffer::Allocate(device_, kN * 4);
  absl::StatusOr<DeviceBuffer> dout = DeviceBuffer::Allocate(device_, kN * 2);
  ASSERT_TRUE(da.ok() && db.ok() && dout.ok());
  ASSERT_TRUE(stream_->CopyHostToDevice(da->ptr(), a.data(), kN * 2).ok());
  ASSERT_TRUE(stream_->CopyHostToDevice(db->ptr(), b.data(), kN * 4).ok());

  DevicePtr pa = da->ptr(), pb = db->ptr(), pout = dout->ptr();
  float scale = 2.0f;
  int n = kN;
  void* args[] = {&pa, &pb, &pout, &scale, &n};
  const unsigned blocks = (kN + 255) / 256;
  absl::Status launched = Launch(*kernel, {blocks}, {256}, 0, stream_.get(), args);
  ASSERT_TRUE(launched.ok()) << launched;
  std::vector<uint16_t> out(kN);
  ASSERT_TRUE(stream_->CopyDeviceToHost(out.data(), pout, kN * 2).ok());
  absl::Status synced = stream_->Synchronize();
  ASSERT_TRUE(synced.ok()) << synced;
  for (int i = 0; i < kN; ++i) {
    const float expected = HalfBitsToFloat(a[i]) * 2.0f + b[i];
    ASSERT_EQ(out[i], FloatToBFloat16Bits(expected)) << "element " << i;
  }
}

TEST_F(CudaModuleTest, LargeDynamicSharedMemoryIsOptedInto) {
  absl::StatusOr<CudaFunction> kernel = module_->GetFunction("reverse_in_shared");
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  constexpr int kMax = 22500;  // up to 90000 bytes of shared memory: above 48 KiB
  std::vector<float> in(kMax);
  for (int i = 0; i < kMax; ++i) in[i] = static_cast<float>(i);
  absl::StatusOr<DeviceBuffer> din = DeviceBuffer::Allocate(device_, kMax * 4);
  absl::StatusOr<DeviceBuffer> dout = DeviceBuffer::Allocate(device_, kMax * 4);
  ASSERT_TRUE(din.ok() && dout.ok());
  ASSERT_TRUE(stream_->CopyHostToDevice(din->ptr(), in.data(), kMax * 4).ok());
  // Launch opts in once per function and size (the opt-in is shared by
  // copies of the CudaFunction): 80000 bytes, then more through a copy (a
  // new opt-in), then less and the same again (none needed).
  const CudaFunction copy = *kernel;
  for (const auto& [function, n] : std::vector<std::pair<const CudaFunction*, int>>{
           {&*kernel, 20000}, {&copy, kMax}, {&*kernel, 12000}, {&copy, 20000}}) {
    SCOPED_TRACE(n);
    DevicePtr pin = din->ptr(), pout = dout->ptr();
    int count = n;
    void* args[] = {&pin, &pout, &count};
    absl::Status launched = Launch(*function, {1}, {512}, n * 4, stream_.get(), args);
    ASSERT_TRUE(launched.ok()) << launched;
    std::vector<float> out(n);
    ASSERT_TRUE(stream_->CopyDeviceToHost(out.data(), pout, n * 4).ok());
    ASSERT_TRUE(stream_->Synchronize().ok());
    EXPECT_EQ(out[0], n - 1);
    EXPECT_EQ(out[n - 1], 0);
  }
}

TEST_F(CudaModuleTest, MissingKernelIsNotFoundNamingModuleAndKernel) {
  absl::StatusOr<CudaFunction> kernel = module_->GetFunction("no_such_kernel");
  ASSERT_FALSE(kernel.ok());
  EXPECT_EQ(kernel.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(kernel.status().message(), HasSubstr("CUDA_ERROR_NOT_FOUND"));
  EXPECT_THAT(kernel.status().message(),
              HasSubstr("kernel 'no_such_kernel' of module 'device_test'"));
}

TEST_F(CudaModuleTest, BadLaunchConfigurationNamesTheKernel) {
  absl::StatusOr<CudaFunction> kernel = module_->GetFunction("scale_add_f16_bf16");
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  DevicePtr null_ptr = 0;
  float scale = 1;
  int n = 0;
  void* args[] = {&null_ptr, &null_ptr, &null_ptr, &scale, &n};
  absl::Status launched = Launch(*kernel, {1}, {4096}, 0, stream_.get(), args);  // > 1024
  ASSERT_FALSE(launched.ok());
  EXPECT_THAT(launched.message(), HasSubstr("cuLaunchKernel"));
  EXPECT_THAT(launched.message(),
              HasSubstr("kernel 'scale_add_f16_bf16', grid (1,1,1), block (4096,1,1)"));
  // A configuration error is not sticky: the stream still works.
  EXPECT_TRUE(stream_->Synchronize().ok());
}

TEST_F(CudaModuleTest, WrongArchitectureImageIsRejected) {
  NvrtcOptions options;
  options.use_cache = false;
  // A cubin for another architecture family than the device's.
  options.arch = device_->compute_capability_major() >= 9 ? "sm_75" : "sm_90";
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(kKernels, "other_arch", options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  absl::StatusOr<std::unique_ptr<CudaModule>> module =
      CudaModule::Load(device_, compiled->cubin, "other_arch");
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), absl::StatusCode::kFailedPrecondition) << module.status();
  EXPECT_THAT(module.status().message(), HasSubstr("loading module 'other_arch'"));
}

// A tensor map the hardware cannot take is refused, naming the rule, before
// the driver is asked (so this runs without a GPU).
TEST(TensorMapNoGpu, BadSpecsAreInvalidArgumentNamingTheRule) {
  TensorMapSpec good;
  good.element_bytes = 2;
  good.dims = {64, 100, 3};
  good.strides = {128, 12800};
  good.box = {64, 64, 1};
  good.swizzle_bytes = 128;
  struct Case {
    const char* why;
    TensorMapSpec spec;
    DevicePtr address;
  };
  EXPECT_TRUE(ValidateTensorMap(good, 0x10000).ok());
  std::vector<Case> cases;
  auto with = [&](const char* why, auto change, DevicePtr address = 0x10000) {
    TensorMapSpec s = good;
    change(s);
    cases.push_back({why, s, address});
  };
  with("the address must be 16-byte aligned", [](TensorMapSpec&) {}, 0x10008);
  with("the address must be 16-byte aligned", [](TensorMapSpec&) {}, 0);
  with("elements of 3 bytes", [](TensorMapSpec& s) { s.element_bytes = 3; });
  with("a swizzle of 48 bytes", [](TensorMapSpec& s) { s.swizzle_bytes = 48; });
  with("rank must be 1 to 5", [](TensorMapSpec& s) {
    s.dims = {1, 2, 3, 4, 5, 6};
    s.strides = {16, 32, 64, 128, 256};
    s.box = {8, 1, 1, 1, 1, 1};
  });
  with("2 strides and 2 box dimensions", [](TensorMapSpec& s) { s.box = {64, 64}; });
  with("box dimension 1 is 300 (1 to 256)", [](TensorMapSpec& s) { s.box[1] = 300; });
  with("dimension 2 is 0", [](TensorMapSpec& s) { s.dims[2] = 0; });
  with("stride 0 is 120 bytes (a multiple of 16", [](TensorMapSpec& s) { s.strides[0] = 120; });
  with("inner dimension must be a multiple of 16 bytes", [](TensorMapSpec& s) { s.box[0] = 4; });
  with("rows of 256 bytes exceed the 128-byte swizzle span", [](TensorMapSpec& s) {
    s.dims[0] = 128;
    s.strides = {256, 25600};
    s.box[0] = 128;
  });
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    const absl::Status m = ValidateTensorMap(c.spec, c.address);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(m.message(), HasSubstr(c.why));
    EXPECT_THAT(m.message(), HasSubstr("tensor map of rank"));
  }
}

// A tensor map encoded by EncodeTensorMap, passed by value to a kernel
// (__grid_constant__), copies a box with the 128-byte swizzle that the
// attention kernel's wgmma descriptors read: 16-byte chunk j of row r at
// r * 128 + (j ^ r % 8) * 16, and rows past the tensor's end as zeros
// (sm_90 and later).
TEST_F(CudaDeviceTest, TensorMapCopiesABoxSwizzledWithZerosPastTheEnd) {
  if (device_->compute_capability_major() < 9) {
    GTEST_SKIP() << "the tensor memory accelerator needs sm_90, the device is " << device_->arch();
  }
  constexpr const char* kTma = R"(
struct alignas(64) Map { unsigned long long w[16]; };
extern "C" __global__ void tma_box(const __grid_constant__ Map m, unsigned short* out, int row0) {
  __shared__ __align__(1024) unsigned short tile[64 * 64];
  __shared__ __align__(8) unsigned long long bar;
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(tile));
  const unsigned b = static_cast<unsigned>(__cvta_generic_to_shared(&bar));
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\n" ::"r"(b) : "memory");
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], 8192;\n" ::"r"(b) : "memory");
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
        "[%0], [%1, {%2, %3}], [%4];\n" ::"r"(s), "l"(reinterpret_cast<unsigned long long>(&m)),
        "r"(0), "r"(row0), "r"(b) : "memory");
  }
  unsigned done = 0;
  while (!done) {
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], 0;\n"
                 "selp.u32 %0, 1, 0, p;\n}\n" : "=r"(done) : "r"(b) : "memory");
  }
  for (int i = threadIdx.x; i < 64 * 64; i += blockDim.x) out[i] = tile[i];
}
)";
  NvrtcOptions options;
  options.use_cache = false;
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(kTma, "tma_test", options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  absl::StatusOr<std::unique_ptr<CudaModule>> module =
      CudaModule::Load(device_, compiled->cubin, "tma_test");
  ASSERT_TRUE(module.ok()) << module.status();
  absl::StatusOr<CudaFunction> kernel = (*module)->GetFunction("tma_box");
  ASSERT_TRUE(kernel.ok()) << kernel.status();

  constexpr int kRows = 100, kCols = 64;
  std::vector<uint16_t> in(kRows * kCols);
  for (int i = 0; i < kRows * kCols; ++i) in[i] = static_cast<uint16_t>(i + 1);
  absl::StatusOr<DeviceBuffer> din = DeviceBuffer::Allocate(device_, in.size() * 2);
  absl::StatusOr<DeviceBuffer> dout = DeviceBuffer::Allocate(device_, 64 * 64 * 2);
  ASSERT_TRUE(din.ok() && dout.ok());
  ASSERT_TRUE(stream_->CopyHostToDevice(din->ptr(), in.data(), in.size() * 2).ok());
  TensorMapSpec spec;
  spec.element_bytes = 2;
  spec.dims = {kCols, kRows};
  spec.strides = {kCols * 2};
  spec.box = {64, 64};
  spec.swizzle_bytes = 128;
  absl::StatusOr<TensorMapBytes> map = EncodeTensorMap(device_, spec, din->ptr());
  ASSERT_TRUE(map.ok()) << map.status();
  // A refused spec is refused by EncodeTensorMap too, naming the rule.
  absl::StatusOr<TensorMapBytes> misaligned = EncodeTensorMap(device_, spec, din->ptr() + 8);
  ASSERT_FALSE(misaligned.ok());
  EXPECT_THAT(misaligned.status().message(), HasSubstr("16-byte aligned"));
  for (int row0 : {0, 64}) {  // rows 64..99 of the tensor, then 28 rows of zeros
    SCOPED_TRACE(row0);
    DevicePtr out_ptr = dout->ptr();
    int r0 = row0;
    void* args[] = {&*map, &out_ptr, &r0};
    absl::Status launched = Launch(*kernel, {1}, {128}, 0, stream_.get(), args);
    ASSERT_TRUE(launched.ok()) << launched;
    std::vector<uint16_t> out(64 * 64);
    ASSERT_TRUE(stream_->CopyDeviceToHost(out.data(), dout->ptr(), out.size() * 2).ok());
    absl::Status synced = stream_->Synchronize();
    ASSERT_TRUE(synced.ok()) << synced;
    for (int r = 0; r < 64; ++r) {
      for (int c = 0; c < 64; ++c) {
        const int j = c / 8, e = c % 8;
        const int at = (r * 128 + ((j ^ (r % 8)) * 16)) / 2 + e;
        const uint16_t want = row0 + r < kRows ? in[(row0 + r) * kCols + c] : 0;
        ASSERT_EQ(out[at], want) << "row " << r << " column " << c;
      }
    }
  }
}

TEST_F(CudaDeviceTest, EventsTimeWork) {
  absl::StatusOr<std::unique_ptr<CudaEvent>> start = CudaEvent::Create(device_);
  absl::StatusOr<std::unique_ptr<CudaEvent>> end = CudaEvent::Create(device_);
  ASSERT_TRUE(start.ok() && end.ok());
  absl::StatusOr<DeviceBuffer> a = DeviceBuffer::Allocate(device_, 64 << 20);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*start)->Record(stream_.get()).ok());
  ASSERT_TRUE(stream_->Memset8(a->ptr(), 1, 64 << 20).ok());
  ASSERT_TRUE((*end)->Record(stream_.get()).ok());
  ASSERT_TRUE((*end)->Synchronize().ok());
  absl::StatusOr<float> ms = CudaEvent::ElapsedMillis(**start, **end);
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_GT(*ms, 0.0f);
  EXPECT_LT(*ms, 1000.0f);
}

}  // namespace
}  // namespace sluice::runtime::cuda
