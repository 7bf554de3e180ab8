// Host compilation of generated C++ into a shared library, and the on-disk
// kernel cache in front of it.
//
// Cache entries live in $SLUICE_CACHE_DIR (else ~/.cache/sluice) as
// <key>.so, keyed by a hash of the generated source, the compiler identity
// (`$CXX --version`, computed once per process), the CPU model and the
// flags. Entries are written atomically (a temporary file in the same
// directory, then rename), so concurrent processes never see half a file.
// An entry that fails to load — a truncated or corrupt ELF file, a dlopen
// error, a missing symbol, a key that does not match — is rebuilt, never
// trusted. An unwritable cache directory still compiles (into a temporary
// directory, without caching) and says so in the report's warnings.
#ifndef SLUICE_RUNTIME_KERNEL_CACHE_H_
#define SLUICE_RUNTIME_KERNEL_CACHE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sluice::runtime {

struct HostCompileOptions {
  std::string cache_dir;  // empty: $SLUICE_CACHE_DIR, else ~/.cache/sluice
  std::string compiler;   // empty: $CXX, else c++
  // Empty: -O3 -march=native -fopenmp -fno-math-errno -shared -fPIC, plus
  // -lmvec (glibc's vector math) where it exists.
  std::vector<std::string> flags;
};

// Where the time of one compile went (sluice::Compile), wall times in ms.
// Phases a backend does not have stay 0; after a rule-6 recompilation each
// phase holds its time over all attempts. The phases do not overlap, so their
// sum is at most total_ms; the rest is glue (copying results, checks).
struct CompilePhases {
  // Creating the device: CPU: the CpuDevice; CUDA: CudaExecutionDevice::Create
  // (context check and stream).
  double device_ms = 0;
  // The pass pipeline, fusion, the kernel IR (and its text) and the memory
  // plan; its parts follow.
  double lower_ms = 0;
  double passes_ms = 0;       // RunLoweringPipeline (selective lowering ... dce)
  double fuse_ms = 0;         // passes::Fuse (kernel groups and schedule)
  double kernel_ir_ms = 0;    // codegen::BuildKernel for every kernel step
  double memory_plan_ms = 0;  // passes::PlanMemory
  // Generating source: codegen/cpu EmitModule or codegen/cuda EmitCuda.
  double emit_ms = 0;
  // CUDA: sluice::Compile's in-process lowering cache (CompileOptions::
  // lowering_cache): the key (the graph's text and the options), the
  // lookup, and on a hit copying the lowered graph, plan, schedule, kernels
  // and module (which stand in for lower and emit, then 0); on a miss,
  // storing them.
  double lowering_cache_ms = 0;
  // The kernel cache: hashing the source and options and reading the entry,
  // or the compiler (host compiler / NVRTC) on a miss. CPU: includes dlopen.
  double kernel_cache_ms = 0;
  // Loading the compiled kernels: CUDA cuModuleLoadData and
  // cuModuleGetFunction per kernel; CPU: resolving the kernel symbols.
  double load_ms = 0;
  // CUDA autotuning (sluice::CudaCompileOptions::autotune): timing the
  // launch shapes of kernels that have several, or reading the choice from
  // the cache.
  double tune_ms = 0;
  // runtime::Executable::Create (which adds it here and to total_ms).
  double executable_ms = 0;
  // The whole compile, start to end.
  double total_ms = 0;
  // Lowering attempts (more than 1 after a rule-6 recompilation).
  int attempts = 0;

  // "lower 0.210 (passes 0.120, fuse 0.030, ...) emit ... total 0.480 ms".
  std::string ToString() const;

  // The timed fields in the order above, with their names ("device_ms",
  // ..., "total_ms"): what JSON writers and statistics over compiles go
  // through, so that a new phase reaches all of them.
  using Field = std::pair<absl::string_view, double CompilePhases::*>;
  static absl::Span<const Field> Fields();
};

struct HostCompileReport {
  bool cache_hit = false;       // loaded from the cache without compiling
  // CUDA: the lowering came from sluice::Compile's in-process lowering cache
  // (no passes, fusion, kernel IR or emission; CompileOptions::lowering_cache).
  bool lowering_cache_hit = false;
  bool rebuilt = false;         // an entry existed but failed to load
  bool cached = true;           // false when the cache dir was unusable
  std::string key;
  std::string library_path;     // empty when not cached (the file is removed once loaded)
  double compile_seconds = 0;   // host compiler time (0 on a hit)
  std::vector<std::string> warnings;
  // Per-phase times of the whole compile, filled by sluice::Compile (both
  // backends; the CUDA backend also sets cache_hit and compile_seconds).
  CompilePhases phases;
  // CUDA autotuning: per kernel with several launch shapes, what was chosen
  // and why, e.g. "k0: row: 32 threads/row, 1 rows/block, ... (4 shapes,
  // us 38.1 37.2 37.9 38.3; chosen by timing)" or "(... chosen from the
  // cache)".
  std::vector<std::string> tuning;
};

// On a compile error: the compiler's output and where the source was kept.
struct HostCompileError {
  std::string log;
  std::string source_path;
  std::vector<int> error_lines;  // 1-based source lines the compiler blamed
};

// A dlopen'ed library; dlclose'd when the last reference goes.
class LoadedLibrary {
 public:
  explicit LoadedLibrary(void* handle) : handle_(handle) {}
  ~LoadedLibrary();
  LoadedLibrary(const LoadedLibrary&) = delete;
  LoadedLibrary& operator=(const LoadedLibrary&) = delete;
  void* Symbol(const std::string& name) const;

 private:
  void* handle_;
};

// Compiles (or finds in the cache) `source` and loads it, checking that every
// name in `symbols` resolves. On a compile failure returns an error and, when
// `error` is set, fills it in.
absl::StatusOr<std::shared_ptr<LoadedLibrary>> CompileAndLoad(
    const std::string& source, const std::vector<std::string>& symbols,
    const HostCompileOptions& options, HostCompileReport* report,
    HostCompileError* error = nullptr);

// `$CXX --version` (or the compiler's), cached per process.
std::string CompilerIdentity(const std::string& compiler);

// The cache directory options resolve to.
std::string ResolveCacheDir(const HostCompileOptions& options);

// Whether `path` is a complete ELF file: every program and section header
// and every loadable segment lies inside the file (catches truncation).
bool LooksLikeCompleteElf(const std::string& path);

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_KERNEL_CACHE_H_
