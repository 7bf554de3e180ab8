#include "runtime/kernel_cache.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "runtime/cache_key.h"
#include "runtime/files.h"

namespace sluice::runtime {
namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs a shell command, returning its exit status and combined output.
int RunCommand(const std::string& cmd, std::string* output) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    *output = "popen failed";
    return -1;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  return static_cast<bool>(f);
}

// The CPU model (kernels are built with -march=native), read once.
const std::string& CpuModel() {
  static const std::string* model = [] {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
      if (absl::StartsWith(line, "model name")) return new std::string(line);
    }
    return new std::string("unknown-cpu");
  }();
  return *model;
}

// Whether glibc's vector math library can be linked (libc6-dev's libmvec.so).
bool HaveLibmvec() {
  static const bool have = [] {
    for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
                            "/usr/lib"}) {
      if (access(absl::StrCat(dir, "/libmvec.so").c_str(), F_OK) == 0) return true;
    }
    return false;
  }();
  return have;
}

std::string UniqueSuffix() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return absl::StrFormat("%d.%d.%08x", getpid(), counter.fetch_add(1), rd());
}

// Generated libraries link libgomp. If the process does not, the first
// kernel library brings it in and dlclosing the last one would unload it
// under its parked worker threads (a crash at a later wake-up), so libgomp
// is pinned once, for the life of the process.
void PinOpenMpRuntime() {
  static const bool pinned = [] {
    return dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE) != nullptr;
  }();
  (void)pinned;
}

// Tries to load `path`; null with `why` set when it is not a usable entry.
std::shared_ptr<LoadedLibrary> TryLoad(const std::string& path,
                                       const std::vector<std::string>& symbols,
                                       const std::string& key, std::string* why) {
  if (!LooksLikeCompleteElf(path)) {
    *why = "not a complete ELF file";
    return nullptr;
  }
  PinOpenMpRuntime();
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = dlerror();
    *why = absl::StrCat("dlopen: ", e ? e : "unknown error");
    return nullptr;
  }
  auto lib = std::make_shared<LoadedLibrary>(h);
  using KeyFn = const char* (*)();
  auto key_fn = reinterpret_cast<KeyFn>(lib->Symbol("sluice_module_key"));
  if (key_fn == nullptr || key != key_fn()) {
    *why = "module key mismatch";
    return nullptr;
  }
  for (const std::string& s : symbols) {
    if (lib->Symbol(s) == nullptr) {
      *why = absl::StrCat("missing symbol ", s);
      return nullptr;
    }
  }
  return lib;
}

std::vector<int> ErrorLines(const std::string& log, const std::string& source_name) {
  std::vector<int> lines;
  for (absl::string_view l : absl::StrSplit(log, '\n')) {
    const size_t at = l.find(source_name + ":");
    if (at == absl::string_view::npos) continue;
    absl::string_view rest = l.substr(at + source_name.size() + 1);
    const size_t colon = rest.find(':');
    int line = 0;
    if (colon != absl::string_view::npos && absl::SimpleAtoi(rest.substr(0, colon), &line) &&
        (l.find("error") != absl::string_view::npos)) {
      lines.push_back(line);
    }
  }
  return lines;
}

}  // namespace

std::string CompilePhases::ToString() const {
  return absl::StrFormat(
      "device %.3f, lower %.3f (passes %.3f, fuse %.3f, kernel IR %.3f, memory plan %.3f), "
      "emit %.3f, lowering cache %.3f, kernel cache %.3f, load %.3f, tune %.3f, executable "
      "%.3f; total %.3f ms (%d attempt%s)",
      device_ms, lower_ms, passes_ms, fuse_ms, kernel_ir_ms, memory_plan_ms, emit_ms,
      lowering_cache_ms, kernel_cache_ms, load_ms, tune_ms, executable_ms, total_ms, attempts,
      attempts == 1 ? "" : "s");
}

absl::Span<const CompilePhases::Field> CompilePhases::Fields() {
  static constexpr Field kFields[] = {
      {"device_ms", &CompilePhases::device_ms},
      {"lower_ms", &CompilePhases::lower_ms},
      {"passes_ms", &CompilePhases::passes_ms},
      {"fuse_ms", &CompilePhases::fuse_ms},
      {"kernel_ir_ms", &CompilePhases::kernel_ir_ms},
      {"memory_plan_ms", &CompilePhases::memory_plan_ms},
      {"emit_ms", &CompilePhases::emit_ms},
      {"lowering_cache_ms", &CompilePhases::lowering_cache_ms},
      {"kernel_cache_ms", &CompilePhases::kernel_cache_ms},
      {"load_ms", &CompilePhases::load_ms},
      {"tune_ms", &CompilePhases::tune_ms},
      {"executable_ms", &CompilePhases::executable_ms},
      {"total_ms", &CompilePhases::total_ms},
  };
  return kFields;
}

LoadedLibrary::~LoadedLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

void* LoadedLibrary::Symbol(const std::string& name) const { return dlsym(handle_, name.c_str()); }

std::string CompilerIdentity(const std::string& compiler) {
  static std::mutex mu;
  static std::map<std::string, std::string>* cache = new std::map<std::string, std::string>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(compiler);
  if (it != cache->end()) return it->second;
  std::string out;
  const int rc = RunCommand(absl::StrCat(compiler, " --version"), &out);
  if (rc != 0) out = absl::StrCat("unknown compiler ", compiler, " (rc ", rc, "): ", out);
  (*cache)[compiler] = out;
  return out;
}

std::string ResolveCacheDir(const HostCompileOptions& options) {
  return options.cache_dir.empty() ? CacheRoot() : options.cache_dir;
}

bool LooksLikeCompleteElf(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return false;
  const int64_t size = f.tellg();
  if (size < static_cast<int64_t>(sizeof(Elf64_Ehdr))) return false;
  f.seekg(0);
  Elf64_Ehdr eh;
  f.read(reinterpret_cast<char*>(&eh), sizeof(eh));
  if (!f || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return false;
  }
  auto inside = [size](uint64_t off, uint64_t len) {
    return off <= static_cast<uint64_t>(size) && len <= static_cast<uint64_t>(size) - off;
  };
  if (!inside(eh.e_phoff, uint64_t{eh.e_phnum} * eh.e_phentsize)) return false;
  if (!inside(eh.e_shoff, uint64_t{eh.e_shnum} * eh.e_shentsize)) return false;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    f.seekg(static_cast<std::streamoff>(eh.e_phoff + uint64_t{eh.e_phentsize} * i));
    f.read(reinterpret_cast<char*>(&ph), sizeof(ph));
    if (!f || !inside(ph.p_offset, ph.p_filesz)) return false;
  }
  return true;
}

absl::StatusOr<std::shared_ptr<LoadedLibrary>> CompileAndLoad(
    const std::string& source, const std::vector<std::string>& symbols,
    const HostCompileOptions& options, HostCompileReport* report, HostCompileError* error) {
  HostCompileReport local;
  if (report == nullptr) report = &local;
  *report = HostCompileReport();
  std::string compiler = options.compiler;
  if (compiler.empty()) {
    const char* cxx = std::getenv("CXX");
    compiler = (cxx != nullptr && *cxx != '\0') ? cxx : "c++";
  }
  std::vector<std::string> flags = options.flags;
  if (flags.empty()) {
    // -fno-math-errno: generated code never reads errno, and without it GCC
    // cannot vectorize loops that call exp, log, ...
    flags = {"-O3", "-march=native", "-fopenmp", "-fno-math-errno", "-shared", "-fPIC"};
    flags.push_back(HaveLibmvec() ? "-lmvec" : "-DSLUICE_NO_MVEC");
  }
  const std::string flag_text = absl::StrJoin(flags, " ");
  const std::string ident = CompilerIdentity(compiler);
  // The "-v2" key (CacheKey, MurmurHash3) replaced two FNV-1a passes over the
  // source; entries under older keys are never looked up again.
  report->key =
      CacheKey::Of({"sluice-host-kernels-v2", source, compiler, ident, CpuModel(), flag_text})
          .ToString();
  const std::string full_source =
      absl::StrCat(source, "\nextern \"C\" const char* sluice_module_key() { return \"",
                   report->key, "\"; }\n");

  std::string dir = ResolveCacheDir(options);
  if (!MakeDirs(dir) || access(dir.c_str(), W_OK) != 0) {
    report->cached = false;
    report->warnings.push_back(absl::StrCat("kernel cache directory ", dir,
                                            " is not writable; compiling without a cache"));
    LOG(WARNING) << report->warnings.back();
    std::string tmpl = absl::StrCat(TempDir(), "/sluice-nocache-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot create a temporary directory to compile in (", tmpl, ")"));
    }
    dir = tmpl;
  }
  const std::string lib_path = absl::StrCat(dir, "/", report->key, ".so");
  report->library_path = lib_path;
  if (report->cached && access(lib_path.c_str(), F_OK) == 0) {
    std::string why;
    std::shared_ptr<LoadedLibrary> lib = TryLoad(lib_path, symbols, report->key, &why);
    if (lib != nullptr) {
      report->cache_hit = true;
      return lib;
    }
    report->rebuilt = true;
    report->warnings.push_back(absl::StrCat("kernel cache entry ", lib_path,
                                            " failed to load (", why, "); rebuilding it"));
    LOG(WARNING) << report->warnings.back();
  }

  const std::string stem = absl::StrCat(report->key, ".tmp.", UniqueSuffix());
  const std::string src_name = absl::StrCat(stem, ".cc");
  const std::string src_path = absl::StrCat(dir, "/", src_name);
  const std::string tmp_lib = absl::StrCat(dir, "/", stem, ".so");
  if (!WriteFile(src_path, full_source)) {
    return absl::InternalError(absl::StrCat("cannot write generated source to ", src_path));
  }
  const std::string cmd = absl::StrCat("cd ", ShellQuote(dir), " && ", compiler, " ", flag_text,
                                       " -o ", ShellQuote(tmp_lib), " ", ShellQuote(src_name));
  std::string log;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = RunCommand(cmd, &log);
  report->compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (rc != 0) {
    // Keep the source for the user under a stable name.
    const std::string kept = absl::StrCat(dir, "/", report->key, ".failed.cc");
    std::rename(src_path.c_str(), kept.c_str());
    std::remove(tmp_lib.c_str());
    if (error != nullptr) {
      error->log = log;
      error->source_path = kept;
      error->error_lines = ErrorLines(log, src_name);
    }
    return absl::InternalError(absl::StrCat("host compiler failed (exit ", rc,
                                            ") on generated source ", kept, ":\n", log));
  }
  std::remove(src_path.c_str());
  if (std::rename(tmp_lib.c_str(), lib_path.c_str()) != 0) {
    std::remove(tmp_lib.c_str());
    return absl::InternalError(absl::StrCat("cannot move the compiled library to ", lib_path));
  }
  std::string why;
  std::shared_ptr<LoadedLibrary> lib = TryLoad(lib_path, symbols, report->key, &why);
  if (lib == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot load freshly compiled library ", lib_path, ": ", why));
  }
  if (!report->cached) {
    // Nothing will look this library up again: once it is mapped, its file
    // and the temporary directory go, so that every uncached compile does not
    // leave a directory in /tmp (a failed compile keeps its source there for
    // the user, above).
    std::remove(lib_path.c_str());
    rmdir(dir.c_str());
    report->library_path.clear();
  }
  return lib;
}

}  // namespace sluice::runtime
