#include "runtime/cuda/symbols.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "runtime/cuda/status.h"

namespace sluice::runtime::cuda {

bool BuiltWithCudaHeaders() {
#if SLUICE_HAVE_CUDA_HEADERS
  return true;
#else
  return false;
#endif
}

namespace internal {

std::vector<std::string> ToolkitLibraryCandidates(const std::string& stem,
                                                  const std::string& major_version) {
  const std::vector<std::string> names = {
      absl::StrCat("lib", stem, ".so.", major_version),
      absl::StrCat("lib", stem, ".so"),
  };
  std::vector<std::string> dirs;
  if (const char* cuda_path = std::getenv("CUDA_PATH"); cuda_path && *cuda_path) {
    dirs.push_back(absl::StrCat(cuda_path, "/lib64"));
    dirs.push_back(absl::StrCat(cuda_path, "/lib"));
  }
  dirs.push_back("/usr/local/cuda/lib64");

  std::vector<std::string> candidates = names;  // the default loader path first
  for (const std::string& dir : dirs) {
    for (const std::string& name : names) {
      std::string path = absl::StrCat(dir, "/", name);
      bool seen = false;
      for (const std::string& c : candidates) seen = seen || c == path;
      if (!seen) candidates.push_back(std::move(path));
    }
  }
  return candidates;
}

}  // namespace internal

#if SLUICE_HAVE_CUDA_HEADERS

namespace {

#define SLUICE_CUDA_STR_INNER_(x) #x
// Stringizes after macro expansion: SLUICE_CUDA_STR_(cuMemAlloc) is
// "cuMemAlloc_v2", the symbol cuda.h's declaration really names.
#define SLUICE_CUDA_STR_(x) SLUICE_CUDA_STR_INNER_(x)

struct OpenedLibrary {
  void* handle = nullptr;
  std::string name;
};

// dlopens the first candidate that loads. The error lists what each one said.
absl::StatusOr<OpenedLibrary> OpenFirst(const std::vector<std::string>& candidates) {
  std::vector<std::string> failures;
  for (const std::string& candidate : candidates) {
    dlerror();
    if (void* handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      return OpenedLibrary{handle, candidate};
    }
    const char* error = dlerror();
    failures.push_back(error ? error : absl::StrCat(candidate, ": dlopen failed"));
  }
  if (failures.size() == 1) return absl::UnavailableError(failures[0]);
  return absl::UnavailableError(
      absl::StrCat("none of these loaded: ", absl::StrJoin(failures, "; ")));
}

// Looks `symbol` up into `*slot`, or records it as missing.
template <typename Fn>
void Resolve(void* handle, const char* symbol, Fn* slot, std::vector<std::string>* missing) {
  dlerror();
  void* address = dlsym(handle, symbol);
  if (address == nullptr) {
    missing->push_back(symbol);
    return;
  }
  *slot = reinterpret_cast<Fn>(address);
}

absl::Status MissingSymbols(const OpenedLibrary& library, const std::vector<std::string>& missing,
                            absl::string_view hint) {
  return absl::UnavailableError(absl::StrCat(library.name, " lacks ",
                                             absl::StrJoin(missing, ", "), " (", hint, ")"));
}

bool DisabledByEnvironment() {
  const char* value = std::getenv("SLUICE_DISABLE_CUDA");
  return value != nullptr && *value != '\0' && absl::string_view(value) != "0";
}

}  // namespace

namespace internal {

absl::StatusOr<std::unique_ptr<CudaSymbols>> LoadCudaFrom(
    const std::vector<std::string>& candidates) {
  auto opened = OpenFirst(candidates);
  if (!opened.ok()) {
    std::string message = absl::StrCat("CUDA driver unavailable: ", opened.status().message());
    if (absl::StrContains(message, "cannot open shared object file")) {
      absl::StrAppend(&message, " (no NVIDIA driver on this machine)");
    }
    return absl::UnavailableError(message);
  }
  auto syms = std::make_unique<CudaSymbols>();
  syms->library = opened->name;
  std::vector<std::string> missing;
#define SLUICE_CUDA_RESOLVE_(name) \
  Resolve(opened->handle, SLUICE_CUDA_STR_(name), &syms->name, &missing);
  SLUICE_CUDA_DRIVER_SYMBOLS(SLUICE_CUDA_RESOLVE_)
#undef SLUICE_CUDA_RESOLVE_
  if (!missing.empty()) {
    absl::Status status = MissingSymbols(
        *opened, missing,
        absl::StrCat("the driver is older than the CUDA ", CUDA_VERSION / 1000, ".",
                     CUDA_VERSION % 1000 / 10, " headers sluice was built with"));
    dlclose(opened->handle);
    return absl::UnavailableError(absl::StrCat("CUDA driver unavailable: ", status.message()));
  }
  const auto fail = [&](absl::Status status) {
    dlclose(opened->handle);
    return absl::UnavailableError(absl::StrCat("CUDA driver unavailable: ", status.message()));
  };
  if (absl::Status status = [&]() -> absl::Status {
        SLUICE_CU_RETURN_IF_ERROR(syms->cuInit(0));
        SLUICE_CU_RETURN_IF_ERROR(syms->cuDriverGetVersion(&syms->driver_version));
        return absl::OkStatus();
      }();
      !status.ok()) {
    return fail(status);
  }
  return syms;
}

absl::StatusOr<std::unique_ptr<NvrtcSymbols>> LoadNvrtcFrom(
    const std::vector<std::string>& candidates) {
  auto opened = OpenFirst(candidates);
  if (!opened.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "NVRTC unavailable: ", opened.status().message(),
        " (install the CUDA toolkit's NVRTC or set CUDA_PATH to the toolkit)"));
  }
  auto syms = std::make_unique<NvrtcSymbols>();
  syms->library = opened->name;
  std::vector<std::string> missing;
#define SLUICE_CUDA_RESOLVE_(name) \
  Resolve(opened->handle, SLUICE_CUDA_STR_(name), &syms->name, &missing);
  SLUICE_CUDA_NVRTC_SYMBOLS(SLUICE_CUDA_RESOLVE_)
#undef SLUICE_CUDA_RESOLVE_
  if (!missing.empty()) {
    absl::Status status = MissingSymbols(*opened, missing, "NVRTC older than CUDA 11.2?");
    dlclose(opened->handle);
    return absl::UnavailableError(absl::StrCat("NVRTC unavailable: ", status.message()));
  }
  if (syms->nvrtcVersion(&syms->version_major, &syms->version_minor) != NVRTC_SUCCESS) {
    dlclose(opened->handle);
    return absl::UnavailableError(
        absl::StrCat("NVRTC unavailable: nvrtcVersion failed in ", opened->name));
  }
  return syms;
}

absl::StatusOr<std::unique_ptr<CublasSymbols>> LoadCublasFrom(
    const std::vector<std::string>& candidates) {
  auto opened = OpenFirst(candidates);
  if (!opened.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cuBLAS unavailable: ", opened.status().message(),
        " (install the CUDA toolkit's cuBLAS or set CUDA_PATH to the toolkit)"));
  }
  auto syms = std::make_unique<CublasSymbols>();
  syms->library = opened->name;
  std::vector<std::string> missing;
#define SLUICE_CUDA_RESOLVE_(name) \
  Resolve(opened->handle, SLUICE_CUDA_STR_(name), &syms->name, &missing);
  SLUICE_CUDA_CUBLAS_SYMBOLS(SLUICE_CUDA_RESOLVE_)
  SLUICE_CUDA_RESOLVE_(cublasGemmStridedBatchedEx)
#undef SLUICE_CUDA_RESOLVE_
  if (!missing.empty()) {
    absl::Status status = MissingSymbols(*opened, missing, "cuBLAS older than 11.4?");
    dlclose(opened->handle);
    return absl::UnavailableError(absl::StrCat("cuBLAS unavailable: ", status.message()));
  }
  int major = 0, minor = 0, patch = 0;
  syms->cublasGetProperty(MAJOR_VERSION, &major);
  syms->cublasGetProperty(MINOR_VERSION, &minor);
  syms->cublasGetProperty(PATCH_LEVEL, &patch);
  syms->version = major * 10000 + minor * 100 + patch;
  return syms;
}

absl::StatusOr<std::unique_ptr<CublasLtSymbols>> LoadCublasLtFrom(
    const std::vector<std::string>& candidates) {
  auto opened = OpenFirst(candidates);
  if (!opened.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cuBLASLt unavailable: ", opened.status().message(),
        " (install the CUDA toolkit's cuBLAS or set CUDA_PATH to the toolkit)"));
  }
  auto syms = std::make_unique<CublasLtSymbols>();
  syms->library = opened->name;
  std::vector<std::string> missing;
#define SLUICE_CUDA_RESOLVE_(name) \
  Resolve(opened->handle, SLUICE_CUDA_STR_(name), &syms->name, &missing);
  SLUICE_CUDA_CUBLASLT_SYMBOLS(SLUICE_CUDA_RESOLVE_)
#undef SLUICE_CUDA_RESOLVE_
  if (!missing.empty()) {
    absl::Status status = MissingSymbols(*opened, missing, "cuBLASLt older than 11.4?");
    dlclose(opened->handle);
    return absl::UnavailableError(absl::StrCat("cuBLASLt unavailable: ", status.message()));
  }
  syms->version = syms->cublasLtGetVersion();
  return syms;
}

}  // namespace internal

namespace {

std::atomic<const CudaSymbols*> g_cuda{nullptr};
std::atomic<const NvrtcSymbols*> g_nvrtc{nullptr};
std::atomic<const CublasSymbols*> g_cublas{nullptr};
std::atomic<const CublasLtSymbols*> g_cublaslt{nullptr};

// Publishes a successful load for the *OrNull accessors; leaks on purpose
// (the libraries stay loaded for the life of the process).
template <typename T>
absl::StatusOr<const T*> Publish(const absl::StatusOr<std::unique_ptr<T>>& loaded,
                                 std::atomic<const T*>* slot) {
  if (!loaded.ok()) return loaded.status();
  slot->store(loaded->get(), std::memory_order_release);
  return loaded->get();
}

}  // namespace

absl::StatusOr<const CudaSymbols*> LoadCuda() {
  static const auto* const loaded = new absl::StatusOr<std::unique_ptr<CudaSymbols>>(
      DisabledByEnvironment()
          ? absl::StatusOr<std::unique_ptr<CudaSymbols>>(absl::UnavailableError(
                "CUDA driver unavailable: disabled by SLUICE_DISABLE_CUDA"))
          : internal::LoadCudaFrom({"libcuda.so.1"}));
  return Publish(*loaded, &g_cuda);
}

absl::StatusOr<const NvrtcSymbols*> LoadNvrtc() {
  static const auto* const loaded = new absl::StatusOr<std::unique_ptr<NvrtcSymbols>>(
      internal::LoadNvrtcFrom(internal::ToolkitLibraryCandidates(
          "nvrtc", absl::StrCat(CUDA_VERSION / 1000))));
  return Publish(*loaded, &g_nvrtc);
}

absl::StatusOr<const CublasSymbols*> LoadCublas() {
  static const auto* const loaded = new absl::StatusOr<std::unique_ptr<CublasSymbols>>(
      internal::LoadCublasFrom(internal::ToolkitLibraryCandidates(
          "cublas", absl::StrCat(CUBLAS_VER_MAJOR))));
  return Publish(*loaded, &g_cublas);
}

absl::StatusOr<const CublasLtSymbols*> LoadCublasLt() {
  static const auto* const loaded = new absl::StatusOr<std::unique_ptr<CublasLtSymbols>>(
      internal::LoadCublasLtFrom(internal::ToolkitLibraryCandidates(
          "cublasLt", absl::StrCat(CUBLAS_VER_MAJOR))));
  return Publish(*loaded, &g_cublaslt);
}

namespace internal {
const CudaSymbols* LoadedCudaOrNull() { return g_cuda.load(std::memory_order_acquire); }
const NvrtcSymbols* LoadedNvrtcOrNull() { return g_nvrtc.load(std::memory_order_acquire); }
const CublasSymbols* LoadedCublasOrNull() { return g_cublas.load(std::memory_order_acquire); }
const CublasLtSymbols* LoadedCublasLtOrNull() {
  return g_cublaslt.load(std::memory_order_acquire);
}
}  // namespace internal

#else  // !SLUICE_HAVE_CUDA_HEADERS

namespace {
absl::Status NoHeaders(absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat(what, " unavailable: sluice was built without CUDA headers (no CUDA "
                         "toolkit was found at build time; see third_party/cuda)"));
}
}  // namespace

absl::StatusOr<const CudaSymbols*> LoadCuda() { return NoHeaders("CUDA driver"); }
absl::StatusOr<const NvrtcSymbols*> LoadNvrtc() { return NoHeaders("NVRTC"); }
absl::StatusOr<const CublasSymbols*> LoadCublas() { return NoHeaders("cuBLAS"); }
absl::StatusOr<const CublasLtSymbols*> LoadCublasLt() { return NoHeaders("cuBLASLt"); }

namespace internal {
absl::StatusOr<std::unique_ptr<CudaSymbols>> LoadCudaFrom(const std::vector<std::string>&) {
  return NoHeaders("CUDA driver");
}
absl::StatusOr<std::unique_ptr<NvrtcSymbols>> LoadNvrtcFrom(const std::vector<std::string>&) {
  return NoHeaders("NVRTC");
}
absl::StatusOr<std::unique_ptr<CublasSymbols>> LoadCublasFrom(
    const std::vector<std::string>&) {
  return NoHeaders("cuBLAS");
}
absl::StatusOr<std::unique_ptr<CublasLtSymbols>> LoadCublasLtFrom(
    const std::vector<std::string>&) {
  return NoHeaders("cuBLASLt");
}
const CudaSymbols* LoadedCudaOrNull() { return nullptr; }
const NvrtcSymbols* LoadedNvrtcOrNull() { return nullptr; }
const CublasSymbols* LoadedCublasOrNull() { return nullptr; }
const CublasLtSymbols* LoadedCublasLtOrNull() { return nullptr; }
}  // namespace internal

#endif  // SLUICE_HAVE_CUDA_HEADERS

bool CudaAvailable(std::string* reason) {
  absl::StatusOr<const CudaSymbols*> cuda = LoadCuda();
  if (!cuda.ok() && reason != nullptr) *reason = std::string(cuda.status().message());
  return cuda.ok();
}

}  // namespace sluice::runtime::cuda
