#include "runtime/cuda/nvrtc.h"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"
#include "runtime/cuda/cubin_cache.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/symbols.h"
#include "runtime/files.h"

namespace sluice::runtime::cuda {
namespace {

constexpr char kFallbackArch[] = "sm_90";

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The architecture number of "sm_90" / "sm_90a" / "sm_100f", or -1.
int ArchNumber(absl::string_view arch) {
  if (!absl::ConsumePrefix(&arch, "sm_")) return -1;
  if (!arch.empty() && (arch.back() == 'a' || arch.back() == 'f')) arch.remove_suffix(1);
  int number = 0;
  if (arch.empty() || !absl::SimpleAtoi(arch, &number) || number <= 0) return -1;
  return number;
}

// Makes `name` safe as a file name.
std::string FileStem(absl::string_view name) {
  std::string stem;
  for (char c : name) {
    stem.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'
                       ? c
                       : '_');
  }
  if (stem.empty()) stem = "program";
  if (stem.size() > 80) stem.resize(80);
  return stem;
}

// Writes `source` under `dir` and returns the path, or says why it could not.
std::string KeepSource(const std::string& dir, const std::string& name, const CacheKey& key,
                       const std::string& source) {
  const std::string base = dir.empty() ? absl::StrCat(TempDir(), "/sluice-cuda") : dir;
  MakeDirs(base);  // if it fails, so does the write below, which says so
  const std::string path =
      absl::StrCat(base, "/", FileStem(name), "-", key.ToString().substr(0, 16), ".cu");
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::StrCat("(could not be written to ", path, ")");
  const bool ok = std::fwrite(source.data(), 1, source.size(), f) == source.size();
  if (std::fclose(f) != 0 || !ok) return absl::StrCat("(could not be written to ", path, ")");
  return path;
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

absl::StatusOr<std::string> NvrtcVersion() {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const NvrtcSymbols* nvrtc, LoadNvrtc());
  return absl::StrCat(nvrtc->version_major, ".", nvrtc->version_minor);
}

absl::StatusOr<std::vector<int>> NvrtcSupportedArchs() {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const NvrtcSymbols* nvrtc, LoadNvrtc());
  int count = 0;
  SLUICE_NVRTC_RETURN_IF_ERROR(nvrtc->nvrtcGetNumSupportedArchs(&count));
  std::vector<int> archs(count);
  if (count > 0) SLUICE_NVRTC_RETURN_IF_ERROR(nvrtc->nvrtcGetSupportedArchs(archs.data()));
  return archs;
}

std::string DefaultCudaArch() {
  if (!CudaAvailable()) return kFallbackArch;
  absl::StatusOr<CudaDevice*> device = CudaDevice::Get(0);
  if (!device.ok()) return kFallbackArch;
  return (*device)->arch();
}

absl::StatusOr<std::string> FindCudaIncludeDir() {
  const char* cuda_path = std::getenv("CUDA_PATH");
  const std::string cuda_path_value = cuda_path != nullptr ? cuda_path : "";
  // The directory found last time for this $CUDA_PATH, if it still holds the
  // header: every compile (a warm one too, for its cache key) asks, and the
  // search below resolves libnvrtc's path (a readlink per path component).
  static absl::Mutex mu(absl::kConstInit);
  static std::string* found_for = nullptr;  // $CUDA_PATH of the last success
  static std::string* found = nullptr;
  {
    absl::MutexLock lock(&mu);
    if (found != nullptr && *found_for == cuda_path_value &&
        FileExists(*found + "/cuda_fp16.h")) {
      return *found;
    }
  }
  std::vector<std::string> candidates;
  if (!cuda_path_value.empty()) candidates.push_back(absl::StrCat(cuda_path_value, "/include"));
  // Beside the libnvrtc that was loaded: <toolkit>/lib64/libnvrtc.so.13 ->
  // <toolkit>/include (also for <toolkit>/targets/x86_64-linux/lib).
  if (absl::StatusOr<const NvrtcSymbols*> nvrtc = LoadNvrtc(); nvrtc.ok()) {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>((*nvrtc)->nvrtcVersion), &info) != 0 &&
        info.dli_fname != nullptr) {
      char resolved[PATH_MAX];
      if (realpath(info.dli_fname, resolved) != nullptr) {
        candidates.push_back(Dirname(Dirname(resolved)) + "/include");
      }
    }
  }
  candidates.push_back("/usr/local/cuda/include");
  for (const std::string& dir : candidates) {
    if (FileExists(dir + "/cuda_fp16.h")) {
      absl::MutexLock lock(&mu);
      if (found == nullptr) {
        found = new std::string();
        found_for = new std::string();
      }
      *found = dir;
      *found_for = cuda_path_value;
      return dir;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no CUDA include directory with cuda_fp16.h found (looked in ",
      absl::StrJoin(candidates, ", "), "); set CUDA_PATH to the toolkit"));
}

namespace {

absl::StatusOr<CompiledCuda> CompileCudaImpl(const std::string& source, const std::string& name,
                                             const NvrtcOptions& options,
                                             const DeferredCudaText* more) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(const NvrtcSymbols* nvrtc, LoadNvrtc());
  CompiledCuda compiled;
  compiled.name = name;
  compiled.arch = options.arch.empty() ? DefaultCudaArch() : options.arch;

  const int arch_number = ArchNumber(compiled.arch);
  SLUICE_CUDA_ASSIGN_OR_RETURN(std::vector<int> supported, NvrtcSupportedArchs());
  if (arch_number < 0 || std::find(supported.begin(), supported.end(), arch_number) ==
                             supported.end()) {
    std::vector<std::string> names;
    for (int a : supported) names.push_back(absl::StrCat("sm_", a));
    return absl::InvalidArgumentError(absl::StrCat(
        "NVRTC ", nvrtc->version_major, ".", nvrtc->version_minor, " cannot compile '",
        name, "' for '", compiled.arch, "' (it supports ", absl::StrJoin(names, ", "), ")"));
  }

  std::vector<std::string>& opts = compiled.options;
  opts.push_back(absl::StrCat("--gpu-architecture=", compiled.arch));
  opts.push_back("-std=c++17");
  if (options.fast_math) opts.push_back("--use_fast_math");
  if (options.line_info) opts.push_back("--generate-line-info");
  for (const std::string& dir : options.include_dirs) opts.push_back(absl::StrCat("-I", dir));
  absl::StatusOr<std::string> include_dir = FindCudaIncludeDir();
  if (include_dir.ok()) {
    opts.push_back(absl::StrCat("-I", *include_dir));
  } else {
    compiled.warnings.push_back(std::string(include_dir.status().message()));
  }
  for (const std::string& option : options.extra_options) opts.push_back(option);

  const std::string version = absl::StrCat(nvrtc->version_major, ".", nvrtc->version_minor);
  const std::string joined_options = absl::StrJoin(opts, "\n");
  // v2: CacheKey is MurmurHash3 (v1: FNV-1a); a new hash needs a new version.
  // The whole text when nothing is deferred, or when the rest has no
  // identity to stand for it (then it is made now and keyed by).
  std::string whole;
  const std::string* text = &source;
  auto make_rest = [&]() -> absl::Status {
    absl::StatusOr<std::string> rest = more->text();
    if (!rest.ok()) return rest.status();
    compiled.deferred_text = *std::move(rest);
    whole = absl::StrCat(source, compiled.deferred_text);
    text = &whole;
    return absl::OkStatus();
  };
  const bool deferred = more != nullptr && !more->identity.empty();
  if (more != nullptr && !deferred) {
    if (absl::Status s = make_rest(); !s.ok()) return s;
  }
  const CacheKey key =
      deferred ? CacheKey::Of({"sluice-nvrtc-cubin-v2", source, name, joined_options, version,
                               compiled.arch, "deferred", more->identity})
               : CacheKey::Of({"sluice-nvrtc-cubin-v2", *text, name, joined_options, version,
                               compiled.arch});

  const CubinCache cache(options.cache_dir.empty() ? CubinCache::DefaultDir()
                                                   : options.cache_dir);
  if (options.use_cache) {
    compiled.cache_path = cache.PathFor(key);
    std::string why;
    switch (cache.Lookup(key, &compiled.cubin, &why)) {
      case CubinCache::LookupResult::kHit:
        compiled.cache_hit = true;
        return compiled;
      case CubinCache::LookupResult::kCorrupt:
        compiled.cache_rebuilt = true;
        compiled.warnings.push_back(absl::StrCat("corrupt cubin cache entry ", why,
                                                 "; rebuilding it"));
        LOG(WARNING) << compiled.warnings.back();
        break;
      case CubinCache::LookupResult::kMiss:
        break;
    }
  }

  if (deferred) {
    if (absl::Status s = make_rest(); !s.ok()) return s;
  }
  nvrtcProgram program = nullptr;
  const std::string file_name = absl::StrCat(FileStem(name), ".cu");
  SLUICE_NVRTC_RETURN_IF_ERROR(nvrtc->nvrtcCreateProgram(&program, text->c_str(),
                                                         file_name.c_str(), 0, nullptr,
                                                         nullptr));
  absl::Cleanup destroy = [&] { nvrtc->nvrtcDestroyProgram(&program); };

  std::vector<const char*> argv;
  for (const std::string& option : opts) argv.push_back(option.c_str());
  const auto start = std::chrono::steady_clock::now();
  const nvrtcResult result =
      nvrtc->nvrtcCompileProgram(program, static_cast<int>(argv.size()), argv.data());
  compiled.compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  size_t log_size = 0;
  SLUICE_NVRTC_RETURN_IF_ERROR(nvrtc->nvrtcGetProgramLogSize(program, &log_size));
  compiled.log.resize(log_size);
  if (log_size > 0) {
    SLUICE_NVRTC_RETURN_IF_ERROR(nvrtc->nvrtcGetProgramLog(program, compiled.log.data()));
  }
  while (!compiled.log.empty() && (compiled.log.back() == '\0' || compiled.log.back() == '\n')) {
    compiled.log.pop_back();
  }

  if (result != NVRTC_SUCCESS) {
    const std::string kept = KeepSource(options.failed_source_dir, name, key, *text);
    std::string message = absl::StrCat(
        "NVRTC ", version, " could not compile program '", name, "' for ", compiled.arch, ": ",
        NvrtcResultName(result), "; source kept at ", kept, "; options: ",
        absl::StrJoin(opts, " "));
    if (!include_dir.ok()) absl::StrAppend(&message, "\n", include_dir.status().message());
    absl::StrAppend(&message, "\nlog:\n", compiled.log);
    return absl::Status(result == NVRTC_ERROR_OUT_OF_MEMORY
                            ? absl::StatusCode::kResourceExhausted
                            : absl::StatusCode::kInvalidArgument,
                        message);
  }

  size_t cubin_size = 0;
  SLUICE_NVRTC_RETURN_IF_ERROR(nvrtc->nvrtcGetCUBINSize(program, &cubin_size));
  if (cubin_size == 0) {
    return absl::InternalError(absl::StrCat("NVRTC produced no cubin for '", name, "' (",
                                            compiled.arch, ")"));
  }
  compiled.cubin.resize(cubin_size);
  SLUICE_NVRTC_RETURN_IF_ERROR(nvrtc->nvrtcGetCUBIN(program, compiled.cubin.data()));

  if (options.use_cache) {
    if (absl::Status stored = cache.Store(key, compiled.cubin); !stored.ok()) {
      compiled.warnings.push_back(
          absl::StrCat("cubin not cached: ", stored.message()));
      LOG(WARNING) << compiled.warnings.back();
      compiled.cache_path.clear();
    }
  }
  return compiled;
}

}  // namespace

absl::StatusOr<CompiledCuda> CompileCuda(const std::string& source, const std::string& name,
                                         const NvrtcOptions& options) {
  return CompileCudaImpl(source, name, options, nullptr);
}

absl::StatusOr<CompiledCuda> CompileCuda(const std::string& source, const std::string& name,
                                         const NvrtcOptions& options,
                                         const DeferredCudaText& more) {
  return CompileCudaImpl(source, name, options, &more);
}

}  // namespace sluice::runtime::cuda
