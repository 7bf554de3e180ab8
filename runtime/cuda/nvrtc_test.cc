// NVRTC compilation, which needs no GPU: an f16/bf16 elementwise kernel
// compiles to an sm_90 cubin; a syntax error returns a Status with NVRTC's
// log and the path of the kept source; the cache hits on the second compile
// and rebuilds a corrupted entry.
#include "runtime/cuda/nvrtc.h"

#include <elf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/cuda/cubin_cache.h"
#include "runtime/cuda/symbols.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHalfKernel[] = R"(
#include <cuda_fp16.h>
#include <cuda_bf16.h>

// out[i] = bf16(float(a[i]) * scale + b[i])
extern "C" __global__ void scale_add_f16_bf16(const __half* a, const float* b,
                                              __nv_bfloat16* out, float scale, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(__half2float(a[i]) * scale + b[i]);
}
)";

std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/nvrtc_test_", name);
  EXPECT_EQ(std::system(absl::StrCat("rm -rf '", dir, "'").c_str()), 0);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class NvrtcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<const NvrtcSymbols*> nvrtc = LoadNvrtc();
    if (!nvrtc.ok()) GTEST_SKIP() << "NVRTC unavailable: " << nvrtc.status();
  }
  NvrtcOptions Options(const std::string& test) {
    NvrtcOptions options;
    options.arch = "sm_90";
    options.cache_dir = TestDir(test) + "/cache";
    options.failed_source_dir = TestDir(test) + "/failed";
    return options;
  }
};

TEST_F(NvrtcTest, CompilesHalfAndBfloat16KernelToSm90Cubin) {
  absl::StatusOr<CompiledCuda> compiled =
      CompileCuda(kHalfKernel, "scale_add", Options("compile"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ(compiled->arch, "sm_90");
  EXPECT_FALSE(compiled->cache_hit);
  ASSERT_GT(compiled->cubin.size(), sizeof(Elf64_Ehdr));
  Elf64_Ehdr header;
  std::memcpy(&header, compiled->cubin.data(), sizeof(header));
  EXPECT_EQ(std::memcmp(header.e_ident, ELFMAG, SELFMAG), 0);
  EXPECT_EQ(header.e_ident[EI_CLASS], ELFCLASS64);
  EXPECT_EQ(header.e_machine, 190);  // EM_CUDA
  // The kernel's name is in the image (extern "C": not mangled).
  EXPECT_NE(compiled->cubin.find("scale_add_f16_bf16"), std::string::npos);
  EXPECT_THAT(compiled->options, Contains("--gpu-architecture=sm_90"));
  EXPECT_THAT(compiled->options, Contains("-std=c++17"));
  EXPECT_THAT(compiled->options, Not(Contains("--use_fast_math")));
  EXPECT_GT(compiled->compile_seconds, 0);
}

TEST_F(NvrtcTest, OptionsReachNvrtc) {
  NvrtcOptions options = Options("options");
  options.fast_math = true;
  options.line_info = true;
  options.extra_options = {"-DSCALE=3"};
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(
      "extern \"C\" __global__ void k(float* x) { x[0] = __expf(x[0]) * SCALE; }", "opts",
      options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_THAT(compiled->options, Contains("--use_fast_math"));
  EXPECT_THAT(compiled->options, Contains("--generate-line-info"));
  EXPECT_THAT(compiled->options, Contains("-DSCALE=3"));
}

TEST_F(NvrtcTest, SyntaxErrorNamesProgramKeepsSourceAndLog) {
  const std::string source =
      "extern \"C\" __global__ void broken(float* x) {\n  x[0] = 1.0f +;\n}\n";
  NvrtcOptions options = Options("syntax");
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(source, "graph/broken kernel", options);
  ASSERT_FALSE(compiled.ok());
  const absl::Status& status = compiled.status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("could not compile program 'graph/broken kernel' for sm_90"));
  EXPECT_THAT(status.message(), HasSubstr("NVRTC_ERROR_COMPILATION"));
  // NVRTC's log, with the file name and line of the error.
  EXPECT_THAT(status.message(), HasSubstr("graph_broken_kernel.cu(2): error"));
  // The source was written to a file that the message names.
  const std::string marker = "source kept at ";
  const size_t at = std::string(status.message()).find(marker);
  ASSERT_NE(at, std::string::npos);
  const std::string rest = std::string(status.message()).substr(at + marker.size());
  const std::string path = rest.substr(0, rest.find(';'));
  EXPECT_TRUE(absl::StartsWith(path, options.failed_source_dir + "/graph_broken_kernel-"))
      << path;
  EXPECT_EQ(ReadFile(path), source);
}

TEST_F(NvrtcTest, SecondCompileHitsTheCache) {
  const NvrtcOptions options = Options("cache");
  absl::StatusOr<CompiledCuda> first = CompileCuda(kHalfKernel, "cached", options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->cache_hit);
  EXPECT_TRUE(first->warnings.empty()) << first->warnings[0];
  EXPECT_TRUE(absl::StartsWith(first->cache_path, options.cache_dir + "/"));

  absl::StatusOr<CompiledCuda> second = CompileCuda(kHalfKernel, "cached", options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->cubin, first->cubin);
  EXPECT_EQ(second->cache_path, first->cache_path);

  // Another architecture or option is another entry.
  NvrtcOptions other = options;
  other.fast_math = true;
  absl::StatusOr<CompiledCuda> third = CompileCuda(kHalfKernel, "cached", other);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_FALSE(third->cache_hit);
  EXPECT_NE(third->cache_path, first->cache_path);
  NvrtcOptions sm80 = options;
  sm80.arch = "sm_80";
  absl::StatusOr<CompiledCuda> fourth = CompileCuda(kHalfKernel, "cached", sm80);
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  EXPECT_FALSE(fourth->cache_hit);
}

// DeferredCudaText: the rest of the program is made only on a miss, keyed
// by its identity; a hit makes nothing; another identity is another entry;
// without an identity the rest is made at once and keyed by its text. The
// kernel in the rest is in the cubin (its name in the ELF's strings).
TEST_F(NvrtcTest, DeferredTextIsMadeOnlyWhenCompiled) {
  const NvrtcOptions options = Options("deferred");
  int made = 0;
  const std::string rest =
      "\nextern \"C\" __global__ void sluice_deferred_rest(float* x) { x[0] = 1.f; }\n";
  auto text = [&]() -> absl::StatusOr<std::string> {
    ++made;
    return rest;
  };
  absl::StatusOr<CompiledCuda> first =
      CompileCuda(kHalfKernel, "deferred", options, {"rest v1", text});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->cache_hit);
  EXPECT_EQ(made, 1);
  EXPECT_EQ(first->deferred_text, rest);
  EXPECT_NE(first->cubin.find("sluice_deferred_rest"), std::string::npos);

  absl::StatusOr<CompiledCuda> second =
      CompileCuda(kHalfKernel, "deferred", options, {"rest v1", text});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(made, 1);  // not made again
  EXPECT_EQ(second->deferred_text, "");
  EXPECT_EQ(second->cubin, first->cubin);

  absl::StatusOr<CompiledCuda> other =
      CompileCuda(kHalfKernel, "deferred", options, {"rest v2", text});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->cache_hit);
  EXPECT_EQ(made, 2);
  EXPECT_NE(other->cache_path, first->cache_path);

  // No identity: made at once, and the same entry as the whole text.
  absl::StatusOr<CompiledCuda> eager =
      CompileCuda(kHalfKernel, "deferred", options, {"", text});
  ASSERT_TRUE(eager.ok()) << eager.status();
  EXPECT_EQ(made, 3);
  EXPECT_FALSE(eager->cache_hit);
  absl::StatusOr<CompiledCuda> whole =
      CompileCuda(std::string(kHalfKernel) + rest, "deferred", options);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(whole->cache_hit);
  EXPECT_EQ(whole->cache_path, eager->cache_path);

  // The rest's errors come back as they are.
  absl::StatusOr<CompiledCuda> failed = CompileCuda(
      kHalfKernel, "deferred", options,
      {"rest v3", []() -> absl::StatusOr<std::string> { return absl::InternalError("no rest"); }});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "no rest");
}

TEST_F(NvrtcTest, CorruptedCacheEntryIsRebuilt) {
  const NvrtcOptions options = Options("corrupt");
  absl::StatusOr<CompiledCuda> first = CompileCuda(kHalfKernel, "victim", options);
  ASSERT_TRUE(first.ok()) << first.status();
  // Truncate the entry to half, as a crash mid-write without rename would.
  std::string entry = ReadFile(first->cache_path);
  ASSERT_GT(entry.size(), 100u);
  {
    std::ofstream f(first->cache_path, std::ios::binary | std::ios::trunc);
    f << entry.substr(0, entry.size() / 2);
  }
  absl::StatusOr<CompiledCuda> second = CompileCuda(kHalfKernel, "victim", options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->cache_hit);
  EXPECT_TRUE(second->cache_rebuilt);
  ASSERT_FALSE(second->warnings.empty());
  EXPECT_THAT(second->warnings[0], HasSubstr("corrupt cubin cache entry"));
  EXPECT_EQ(second->cubin, first->cubin);
  // And the rebuilt entry is good again.
  absl::StatusOr<CompiledCuda> third = CompileCuda(kHalfKernel, "victim", options);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(third->cache_hit);
}

TEST_F(NvrtcTest, UnwritableCacheStillCompiles) {
  NvrtcOptions options = Options("unwritable");
  const std::string file = TestDir("unwritable_file");
  { std::ofstream f(file); f << "x"; }
  options.cache_dir = file + "/cache";  // under a regular file: cannot be created
  absl::StatusOr<CompiledCuda> compiled = CompileCuda(kHalfKernel, "nocache", options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_FALSE(compiled->cubin.empty());
  ASSERT_FALSE(compiled->warnings.empty());
  EXPECT_THAT(compiled->warnings.back(), HasSubstr("cubin not cached"));
}

TEST_F(NvrtcTest, UnsupportedArchitectureIsInvalidArgument) {
  NvrtcOptions options = Options("arch");
  for (const char* arch : {"sm_20", "compute_90", "sm_", "gfx90a"}) {
    options.arch = arch;
    absl::StatusOr<CompiledCuda> compiled = CompileCuda(kHalfKernel, "arch", options);
    ASSERT_FALSE(compiled.ok()) << arch;
    EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(compiled.status().message(), HasSubstr(absl::StrCat("for '", arch, "'")));
    EXPECT_THAT(compiled.status().message(), HasSubstr("sm_90"));  // listed as supported
  }
  options.arch = "sm_90a";  // Hopper-specific features (wgmma)
  EXPECT_TRUE(CompileCuda(kHalfKernel, "arch", options).ok());
}

TEST_F(NvrtcTest, DefaultArchIsTheDevicesOrSm90) {
  const std::string arch = DefaultCudaArch();
  if (!CudaAvailable()) {
    EXPECT_EQ(arch, "sm_90");
  }
  EXPECT_TRUE(absl::StartsWith(arch, "sm_")) << arch;
  EXPECT_THAT(*NvrtcSupportedArchs(), Contains(90));
  EXPECT_TRUE(absl::StartsWith(*NvrtcVersion(), "1")) << *NvrtcVersion();
}

TEST_F(NvrtcTest, FindsToolkitHeaders) {
  absl::StatusOr<std::string> dir = FindCudaIncludeDir();
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_TRUE(std::ifstream(*dir + "/cuda_bf16.h").good()) << *dir;
}

}  // namespace
}  // namespace sluice::runtime::cuda
