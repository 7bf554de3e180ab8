// The status macros: the message names the call, error name, description,
// file and line; the codes callers rely on (out of memory ->
// ResourceExhausted, ...) are right. Uses fake failing functions, so it runs
// without CUDA.
#include "runtime/cuda/status.h"

#include <ctime>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Stand-ins for a symbol table: fake functions that return fixed codes.
struct FakeSymbols {
  int (*cuMemAlloc)(unsigned long long*, size_t);  // NOLINT(runtime/int)
  int (*nvrtcCompileProgram)(int);
  int (*cublasCreate)(void**);
};

int FailOutOfMemory(unsigned long long* /*ptr*/, size_t /*n*/) { return 2; }  // NOLINT
int Succeed(unsigned long long* ptr, size_t /*n*/) {  // NOLINT(runtime/int)
  *ptr = 256;
  return 0;
}
int NvrtcCompilationError(int) { return 6; }
int CublasNotInitialized(void**) { return 1; }
int CublasAllocFailed(void**) { return 3; }

constexpr int kAllocLine = __LINE__ + 3;  // the line of the macro below
absl::Status Allocate(const FakeSymbols* syms, size_t n, unsigned long long* out) {  // NOLINT
  unsigned long long ptr = 0;  // NOLINT(runtime/int)
  SLUICE_CU_RETURN_IF_ERROR(syms->cuMemAlloc(&ptr, n));
  *out = ptr;
  return absl::OkStatus();
}

TEST(CudaStatus, OutOfMemoryIsResourceExhaustedAndNamesCallErrorFileAndLine) {
  FakeSymbols syms{&FailOutOfMemory, nullptr, nullptr};
  unsigned long long ptr = 0;  // NOLINT(runtime/int)
  absl::Status status = Allocate(&syms, 1 << 20, &ptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            absl::StrCat("cuMemAlloc(&ptr, n) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory) "
                         "at runtime/cuda/status_test.cc:",
                         kAllocLine));
  EXPECT_EQ(ptr, 0u);
}

TEST(CudaStatus, SuccessFallsThrough) {
  FakeSymbols syms{&Succeed, nullptr, nullptr};
  unsigned long long ptr = 0;  // NOLINT(runtime/int)
  EXPECT_TRUE(Allocate(&syms, 16, &ptr).ok());
  EXPECT_EQ(ptr, 256u);
}

TEST(CudaStatus, DriverCodesMapToCallerActionableCodes) {
  EXPECT_EQ(CuResultToStatus(2, "f()", "x.cc", 1).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CuResultToStatus(100, "f()", "x.cc", 1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CuResultToStatus(34, "f()", "x.cc", 1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CuResultToStatus(500, "f()", "x.cc", 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CuResultToStatus(209, "f()", "x.cc", 1).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CuResultToStatus(700, "f()", "x.cc", 1).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(CuResultToStatus(0, "f()", "x.cc", 1).ok());
}

TEST(CudaStatus, NamesAndDescriptions) {
  EXPECT_EQ(CuResultName(700), "CUDA_ERROR_ILLEGAL_ADDRESS");
  EXPECT_EQ(CuResultName(34), "CUDA_ERROR_STUB_LIBRARY");
  EXPECT_EQ(CuResultName(100), "CUDA_ERROR_NO_DEVICE");
  EXPECT_EQ(CuResultName(123456), "CUDA error 123456");
  EXPECT_EQ(NvrtcResultName(6), "NVRTC_ERROR_COMPILATION");
  EXPECT_EQ(CublasStatusName(3), "CUBLAS_STATUS_ALLOC_FAILED");
  EXPECT_THAT(std::string(CuResultToStatus(700, "cuStreamSynchronize(s)", "a.cc", 7).message()),
              MatchesRegex("cuStreamSynchronize\\(s\\) failed: CUDA_ERROR_ILLEGAL_ADDRESS "
                           "\\(.*illegal memory access.*\\) at a.cc:7"));
  // An unknown code still produces a readable message.
  EXPECT_EQ(CuResultToStatus(123456, "f()", "b.cc", 3).message(),
            "f() failed: CUDA error 123456 at b.cc:3");
}

absl::Status Compile(const FakeSymbols& syms) {
  SLUICE_NVRTC_RETURN_IF_ERROR(syms.nvrtcCompileProgram(3));
  return absl::OkStatus();
}

absl::Status CreateHandle(const FakeSymbols* syms) {
  void* handle = nullptr;
  SLUICE_CUBLAS_RETURN_IF_ERROR(syms->cublasCreate(&handle));
  return absl::OkStatus();
}

TEST(CudaStatus, NvrtcAndCublasMacros) {
  FakeSymbols syms{nullptr, &NvrtcCompilationError, &CublasNotInitialized};
  absl::Status compile = Compile(syms);
  EXPECT_EQ(compile.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(compile.message(),
              HasSubstr("nvrtcCompileProgram(3) failed: NVRTC_ERROR_COMPILATION"));
  EXPECT_THAT(compile.message(), HasSubstr("runtime/cuda/status_test.cc:"));

  absl::Status create = CreateHandle(&syms);
  EXPECT_EQ(create.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(create.message(),
              HasSubstr("cublasCreate(&handle) failed: CUBLAS_STATUS_NOT_INITIALIZED"));

  syms.cublasCreate = &CublasAllocFailed;
  EXPECT_EQ(CreateHandle(&syms).code(), absl::StatusCode::kResourceExhausted);
}

TEST(CudaStatus, CallTextDropsTheSymbolTableAndCollapsesWhitespace) {
  EXPECT_EQ(CallText("syms->cuInit(0)"), "cuInit(0)");
  EXPECT_EQ(CallText("device_->symbols().cuMemFree(ptr)"), "cuMemFree(ptr)");
  EXPECT_EQ(CallText("cu.cuLaunchKernel(f,\n      1, 2)"), "cuLaunchKernel(f, 1, 2)");
  EXPECT_EQ(CallText("Plain(a.b, c->d)"), "Plain(a.b, c->d)");
}

// What glog's LOG(ERROR) printed while it was registered.
class CapturedErrors : public google::LogSink {
 public:
  CapturedErrors() { google::AddLogSink(this); }
  ~CapturedErrors() override { google::RemoveLogSink(this); }
  void send(google::LogSeverity severity, const char* /*full_filename*/,
            const char* /*base_filename*/, int /*line*/, const std::tm* /*time*/,
            const char* message, size_t message_len) override {
    if (severity == google::GLOG_ERROR) lines.emplace_back(message, message_len);
  }
  std::vector<std::string> lines;
};

int CublasDestroyV2(void*) { return 1; }
// As cublas_v2.h does: the logged call must read as written, not as expanded.
#define SluiceFakeCublasDestroy CublasDestroyV2

void DestroyHandle(void* handle) { SLUICE_CUBLAS_LOG_IF_ERROR(SluiceFakeCublasDestroy(handle)); }

TEST(CudaStatus, LogIfErrorMacrosLogAFailedCallAndGoOn) {
  CapturedErrors errors;
  SLUICE_CU_LOG_IF_ERROR(FailOutOfMemory(nullptr, 0));
  DestroyHandle(nullptr);
  SLUICE_CU_LOG_IF_ERROR(0);
  SLUICE_CUBLAS_LOG_IF_ERROR(0);
  ASSERT_EQ(errors.lines.size(), 2u);
  EXPECT_THAT(errors.lines[0],
              HasSubstr("FailOutOfMemory(nullptr, 0) failed: CUDA_ERROR_OUT_OF_MEMORY"));
  EXPECT_THAT(errors.lines[0], HasSubstr("runtime/cuda/status_test.cc:"));
  EXPECT_THAT(errors.lines[1], HasSubstr("SluiceFakeCublasDestroy(handle) failed: "
                                         "CUBLAS_STATUS_NOT_INITIALIZED"));
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(int half, Half(x));
  SLUICE_CUDA_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(CudaStatus, AssignOrReturn) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::runtime::cuda
