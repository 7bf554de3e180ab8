// Loading the CUDA libraries: a missing driver (or library) is reported as
// Unavailable with a reason that names it, never a crash; the toolkit's stub
// libcuda.so is rejected by cuInit; NVRTC and cuBLAS load from the toolkit
// when it is installed. Runs anywhere: on a GPU host the driver loads.
#include "runtime/cuda/symbols.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string ToolkitRoot() {
  const char* cuda_path = std::getenv("CUDA_PATH");
  return cuda_path != nullptr && *cuda_path != '\0' ? cuda_path : "/usr/local/cuda";
}

TEST(CudaSymbols, MissingDriverIsUnavailableAndNamesTheLibrary) {
  auto loaded = internal::LoadCudaFrom({"libsluice_no_such_driver.so.1"});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kUnavailable);
  if (BuiltWithCudaHeaders()) {
    EXPECT_THAT(loaded.status().message(),
                HasSubstr("CUDA driver unavailable: libsluice_no_such_driver.so.1: cannot open "
                          "shared object file"));
    EXPECT_THAT(loaded.status().message(), HasSubstr("(no NVIDIA driver on this machine)"));
  } else {
    EXPECT_THAT(loaded.status().message(), HasSubstr("built without CUDA headers"));
  }
}

TEST(CudaSymbols, LoadCudaAndCudaAvailableAgreeAndExplain) {
  absl::StatusOr<const CudaSymbols*> cuda = LoadCuda();
  std::string reason = "unchanged";
  const bool available = CudaAvailable(&reason);
  EXPECT_EQ(available, cuda.ok());
  if (available) {
    EXPECT_EQ(reason, "unchanged");
#if SLUICE_HAVE_CUDA_HEADERS
    EXPECT_EQ((*cuda)->library, "libcuda.so.1");
    EXPECT_GE((*cuda)->driver_version, 12000);
    EXPECT_NE((*cuda)->cuMemAlloc, nullptr);
#endif
    GTEST_SKIP() << "a CUDA driver is present; the no-driver path is covered by "
                    "MissingDriverIsUnavailableAndNamesTheLibrary";
  }
  EXPECT_EQ(cuda.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(reason, cuda.status().message());
  // Without a driver: libcuda.so.1 is missing, or present but cuInit says why
  // (no device, a stub, ...), or this build has no CUDA headers.
  EXPECT_THAT(reason, AnyOf(HasSubstr("libcuda.so.1"), HasSubstr("cuInit(0) failed"),
                            HasSubstr("SLUICE_DISABLE_CUDA"),
                            HasSubstr("built without CUDA headers")));
  // Cached: the second call gives the same answer.
  EXPECT_EQ(LoadCuda().status(), cuda.status());
}

TEST(CudaSymbols, ToolkitStubDriverIsRejectedByCuInit) {
  if (!BuiltWithCudaHeaders()) GTEST_SKIP() << "built without CUDA headers";
  const std::string stub = ToolkitRoot() + "/lib64/stubs/libcuda.so";
  if (!Exists(stub)) GTEST_SKIP() << "no toolkit stub at " << stub;
  auto loaded = internal::LoadCudaFrom({stub});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("CUDA driver unavailable: cuInit(0) failed: CUDA_ERROR_STUB_LIBRARY"));
}

TEST(CudaSymbols, CandidatesSearchTheLoaderPathThenTheToolkit) {
  const std::vector<std::string> candidates = internal::ToolkitLibraryCandidates("nvrtc", "13");
  ASSERT_GE(candidates.size(), 4u);
  EXPECT_EQ(candidates[0], "libnvrtc.so.13");
  EXPECT_EQ(candidates[1], "libnvrtc.so");
  EXPECT_EQ(candidates.back(), "/usr/local/cuda/lib64/libnvrtc.so");
}

TEST(CudaSymbols, MissingNvrtcListsEveryAttempt) {
  auto loaded = internal::LoadNvrtcFrom({"libsluice_nope_a.so", "/nonexistent/libnope_b.so"});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kUnavailable);
  if (!BuiltWithCudaHeaders()) return;
  EXPECT_THAT(loaded.status().message(), HasSubstr("NVRTC unavailable: none of these loaded"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("libsluice_nope_a.so"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("/nonexistent/libnope_b.so"));
}

TEST(CudaSymbols, WrongLibraryReportsMissingSymbols) {
  if (!BuiltWithCudaHeaders()) GTEST_SKIP() << "built without CUDA headers";
  // libm loads but has none of NVRTC's symbols.
  auto loaded = internal::LoadNvrtcFrom({"libm.so.6"});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("libm.so.6 lacks nvrtcGetErrorString"));
}

TEST(CudaSymbols, NvrtcAndCublasLoadFromTheToolkit) {
  if (!BuiltWithCudaHeaders()) {
    EXPECT_THAT(LoadNvrtc().status().message(), HasSubstr("built without CUDA headers"));
    return;
  }
#if SLUICE_HAVE_CUDA_HEADERS
  absl::StatusOr<const NvrtcSymbols*> nvrtc = LoadNvrtc();
  if (!nvrtc.ok()) GTEST_SKIP() << nvrtc.status();
  EXPECT_GE((*nvrtc)->version_major, 12);
  EXPECT_NE((*nvrtc)->nvrtcCompileProgram, nullptr);
  EXPECT_EQ(internal::LoadedNvrtcOrNull(), *nvrtc);

  absl::StatusOr<const CublasSymbols*> cublas = LoadCublas();
  if (!cublas.ok()) GTEST_SKIP() << cublas.status();
  EXPECT_GE((*cublas)->version, 120000);
  EXPECT_NE((*cublas)->cublasGemmStridedBatchedEx, nullptr);
  // The loaded library's own status names are used from now on.
  EXPECT_EQ(std::string((*cublas)->cublasGetStatusName(CUBLAS_STATUS_ALLOC_FAILED)),
            "CUBLAS_STATUS_ALLOC_FAILED");
#endif
}

// cuBLASLt (the matmul epilogues) loads from the toolkit without a GPU too,
// and a library without its symbols is rejected naming the first missing.
TEST(CudaSymbols, CublasLtLoadsFromTheToolkit) {
  if (!BuiltWithCudaHeaders()) {
    EXPECT_THAT(LoadCublasLt().status().message(), HasSubstr("built without CUDA headers"));
    return;
  }
#if SLUICE_HAVE_CUDA_HEADERS
  auto wrong = internal::LoadCublasLtFrom({"libm.so.6"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("cuBLASLt unavailable: libm.so.6 lacks cublasLtCreate"));
  absl::StatusOr<const CublasLtSymbols*> lt = LoadCublasLt();
  if (!lt.ok()) GTEST_SKIP() << lt.status();
  EXPECT_GE((*lt)->version, 120000u);
  EXPECT_NE((*lt)->cublasLtMatmul, nullptr);
  EXPECT_NE((*lt)->cublasLtMatmulAlgoGetHeuristic, nullptr);
  EXPECT_EQ(internal::LoadedCublasLtOrNull(), *lt);
#endif
}

}  // namespace
}  // namespace sluice::runtime::cuda
