// CUDA C++ to cubin with NVRTC, behind an on-disk cache. NVRTC needs no GPU
// or driver, so every generated kernel can be compiled (and checked) on a
// machine without one.
//
//   NvrtcOptions options;                       // sm_90 or the device's arch
//   SLUICE_CUDA_ASSIGN_OR_RETURN(CompiledCuda compiled,
//                                CompileCuda(source, "graph_foo", options));
//   CudaModule::Load(device, compiled.cubin, "graph_foo");
//
// The program is compiled for one exact architecture (a cubin is SASS for
// that GPU alone; no PTX is kept) with -std=c++17 and, unless asked for,
// without --use_fast_math (accuracy first). NVRTC 13 has no built-in copy of
// cuda_fp16.h / cuda_bf16.h, so the toolkit's include directory is found at
// run time and passed with -I: $CUDA_PATH/include, the include directory
// beside the loaded libnvrtc, then /usr/local/cuda/include.
//
// The cache key is a hash of the source, the program name, the full option
// list, NVRTC's version and the architecture. Cache problems never fail a
// compile: they are reported in CompiledCuda::warnings.
#ifndef SLUICE_RUNTIME_CUDA_NVRTC_H_
#define SLUICE_RUNTIME_CUDA_NVRTC_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::runtime::cuda {

struct NvrtcOptions {
  // "sm_90", "sm_90a", ... Empty: the architecture of device 0 when a GPU is
  // present (see DefaultCudaArch), else sm_90.
  std::string arch;
  // --use_fast_math: approximate division, sqrt, exp..., flush denormals.
  bool fast_math = false;
  // --generate-line-info, for profilers and compute-sanitizer reports.
  bool line_info = false;
  // More -I directories, searched before the toolkit's.
  std::vector<std::string> include_dirs;
  // Passed to NVRTC as they are (e.g. "-DBLOCK=256", "--maxrregcount=64").
  std::vector<std::string> extra_options;

  bool use_cache = true;
  // Empty: CubinCache::DefaultDir().
  std::string cache_dir;
  // Where the source of a program that failed to compile is kept. Empty:
  // $TMPDIR/sluice-cuda (or /tmp/sluice-cuda).
  std::string failed_source_dir;
};

struct CompiledCuda {
  std::string name;
  std::string arch;                  // "sm_90"
  std::string cubin;                 // an ELF image for cuModuleLoadData
  std::string log;                   // NVRTC's log (warnings); empty on a cache hit
  std::vector<std::string> options;  // the exact NVRTC options used
  bool cache_hit = false;
  bool cache_rebuilt = false;        // a corrupt cache entry was replaced
  std::string cache_path;            // the entry's file; empty without a cache
  double compile_seconds = 0;        // time in nvrtcCompileProgram (0 on a hit)
  std::vector<std::string> warnings; // cache problems
  // DeferredCudaText: the text made and compiled after `source` (empty on a
  // cache hit, which does not make it).
  std::string deferred_text;
};

// The rest of a program, made only when it must be compiled: its text
// (appended to the source given to CompileCuda) is text(), and the cache key
// takes `identity` in its place, which must determine that text (with the
// source). An empty identity makes the text at once and keys by it.
struct DeferredCudaText {
  std::string identity;
  std::function<absl::StatusOr<std::string>()> text;
};

// Compiles `source` (one translation unit; kernels `extern "C"`) named `name`
// (used for messages, the kept source file and NVRTC's file name).
//
// Errors: Unavailable when NVRTC cannot be loaded; InvalidArgument for an
// architecture NVRTC does not support, or when the program does not compile:
// then the message names the program and architecture, gives the path the
// source was written to, and ends with NVRTC's log.
absl::StatusOr<CompiledCuda> CompileCuda(const std::string& source, const std::string& name,
                                         const NvrtcOptions& options = {});

// The program source + more.text(), keyed by source and more.identity: a
// cache hit makes no text (sluice::Compile's launch variants). Errors as
// above, and more.text()'s.
absl::StatusOr<CompiledCuda> CompileCuda(const std::string& source, const std::string& name,
                                         const NvrtcOptions& options,
                                         const DeferredCudaText& more);

// "sm_XY" of device 0 when CUDA is available, else "sm_90".
std::string DefaultCudaArch();

// The toolkit include directory CompileCuda passes with -I (one holding
// cuda_fp16.h), or NotFound listing the places looked at. The directory found
// is remembered for the process's $CUDA_PATH value while it holds the header.
absl::StatusOr<std::string> FindCudaIncludeDir();

// NVRTC's version, e.g. "13.0" (Unavailable without NVRTC).
absl::StatusOr<std::string> NvrtcVersion();

// The architectures the loaded NVRTC can compile for, e.g. {75, 80, ..., 90, ...}.
absl::StatusOr<std::vector<int>> NvrtcSupportedArchs();

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_NVRTC_H_
