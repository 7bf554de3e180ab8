// sluice's one-call entry point: parse or build a graph, then
//
//   absl::StatusOr<runtime::Executable> exe = sluice::Compile(graph, options);
//   absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(inputs);
//
// Compile runs the lowering pipeline (selective lowering, decompose, cse,
// split-reduction for CUDA, dce), fusion and memory planning, builds the kernel IR of every kernel,
// and then, for the CPU (DeviceKind::kCpu), emits them as one C++
// translation unit, compiles it with the host compiler (through the kernel
// cache) and loads it; for CUDA (kCuda), emits one CUDA translation unit
// (codegen/cuda), compiles it with NVRTC for the GPU's exact architecture
// (through the cubin cache, runtime/cuda/nvrtc.h) and loads it on the GPU,
// where fallback steps run as Eigen kernels on the GPU and matmul through
// cuBLAS (runtime/cuda/execution_device.h). Run takes and returns host
// tensors (copied to and from the GPU); RunDevice takes and returns device
// tensors (runtime/executable.h).
//
// Without a GPU, Compile for kCuda is Unavailable (naming the reason), and
// CompileCudaKernels still generates and NVRTC-compiles every kernel (NVRTC
// needs no GPU), so CI checks that the generated CUDA compiles for sm_90.
//
// DESIGN §3 rule 6: when the generated code of a kernel fails to build, with
// on_lowering_error = kFallback the nodes of that kernel (their original,
// pre-decomposition names) are recompiled as rule-6 fallbacks, which the
// plan records; with kError Compile fails naming the nodes and where the
// generated source was kept.
#ifndef SLUICE_SLUICE_COMPILE_H_
#define SLUICE_SLUICE_COMPILE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass_manager.h"
#include "passes/schedule.h"
#include "runtime/executable.h"

namespace sluice {

enum class DeviceKind { kCpu, kCuda };

// Settings of the CUDA backend.
struct CudaCompileOptions {
  int device_ordinal = 0;
  // NVRTC's target, e.g. "sm_90". Empty: the GPU's exact architecture
  // (sm_90 on an H100 or H200), or sm_90 without a GPU.
  std::string arch;
  // Multiprocessors the grids are sized for; 0: the GPU's (132 without one).
  int num_sms = 0;
  // Approximate f32 exp/division in generated kernels (as Triton compiles;
  // codegen/cuda CudaEmitOptions::fast_math). Off: accuracy first.
  // The environment variable SLUICE_CUDA_EMIT="key=value,..." overrides the
  // emitter's tuning fields (codegen/cuda ApplyCudaEmitOverrides), for
  // experiments; a bad value makes Compile fail with InvalidArgument.
  bool fast_math = false;
  // Kernels whose every stored value is f16 / bf16 compute f32 exp,
  // division, sigmoid, silu and gelu(tanh) with the hardware approximations
  // (about 2 ulp of f32, below the stores' rounding; codegen/cuda
  // CudaEmitOptions::approx_math_half_outputs). Off: the exact f32 math,
  // rounded once at the store, as every other kernel computes.
  bool approx_math_half_outputs = true;
  // In f32 kernels a division by a value of the row (softmax's sum) is a
  // product with that value's correctly rounded reciprocal, computed once
  // per row (at most 1 ulp more than dividing; codegen/cuda
  // CudaEmitOptions::row_divisor_reciprocal). Off: IEEE division per element.
  bool row_divisor_reciprocal = true;
  // Autotuning (Compile with a GPU): kernels that have other launch shapes
  // (row reductions' rows per block, pointwise block sizes and vector
  // widths, column reductions' widths: codegen/cuda
  // CudaEmitOptions::launch_variants) are compiled in all of them, each
  // shape is timed on the GPU on scratch buffers, and the fastest runs
  // (runtime/cuda CudaKernelModule::Tune). The choice is cached with the
  // cubin, per GPU model, so a warm compile times nothing. Shapes that
  // differ in rows per block, block size or vector width compute the same
  // bits; a row over 64 threads instead of 32, or a column reduction of
  // another width, sums in another order (within f32 rounding), so which
  // GPU model compiled can change a result's last bit, as Inductor's
  // autotuning can. The report says what was chosen
  // (compile_report().tuning). The timing shares the GPU with whatever else
  // runs on it: a busy GPU can make the choice a worse one (never a wrong
  // result); turn this off for the emitter's fixed shapes. Off when
  // SLUICE_CUDA_EMIT is set, unless it sets launch_variants=1 (experiments
  // with a fixed shape).
  bool autotune = true;
  // NVRTC --generate-line-info (profilers, compute-sanitizer).
  bool line_info = false;
  // f32 matmul on TF32 tensor cores.
  bool allow_tf32 = false;
};

struct CompileOptions {
  passes::LoweringOptions lowering;
  DeviceKind device = DeviceKind::kCpu;
  // Kernel cache directory; empty: $SLUICE_CACHE_DIR, else ~/.cache/sluice.
  std::string cache_dir;
  // Host compiler; empty: $CXX, else c++.
  std::string compiler;
  // Pipeline dumps: pass names (or "all") after which `dump` gets the graph.
  std::vector<std::string> dump_after;
  passes::DumpSink dump;
  // Test hook for rule 6: the host compile of every kernel that computes one
  // of these nodes (original names) fails, as a real compile error would.
  std::vector<std::string> inject_compile_failure;
  CudaCompileOptions cuda;
  // CUDA (Compile and CompileCudaKernels): an in-process cache of lowered
  // graphs, as Inductor's FX graph cache is for torch.compile. A compile
  // whose graph (its text: names, types, attributes, metadata; and its
  // locations), options, cache_dir, GPU and SLUICE_CUDA_EMIT are those of an
  // earlier successful compile in this process takes a copy of that
  // compile's lowered graph, plan, schedule, kernel IR, generated source and
  // cubin (nothing is shared between executables), then loads the module and
  // reads the tuning choice as any compile does: a warm compile without
  // passes, fusion, kernel IR or emission. The report says so
  // (compile_report().lowering_cache_hit; CudaKernels::lowering_cache_hit).
  // Bypassed when dump_after, dump or inject_compile_failure is set (they
  // observe or change the lowering). Another cache_dir is another cache: a
  // compile into an empty directory is cold. Beyond 256 MiB in all (the
  // cubins and sources, mostly) the least recently used entries are dropped;
  // ClearLoweringCache() drops them all. The CPU backend has none (its
  // kernel cache is on disk, runtime/kernel_cache.h). Off: every compile
  // lowers.
  bool lowering_cache = true;
};

// Drops every entry of the in-process lowering cache
// (CompileOptions::lowering_cache). Thread-safe, as Compile is.
void ClearLoweringCache();

absl::StatusOr<runtime::Executable> Compile(const ir::Graph& graph,
                                            const CompileOptions& options = {});

// What Compile generates for --device=cuda, without a GPU and without running
// anything: the plan (rule 6 included: a kernel NVRTC rejects falls back or
// fails as for Compile), the schedule, the CUDA source with every kernel's
// launch configuration, and the cubin.
struct CudaKernels {
  std::unique_ptr<ir::Graph> graph;  // as compiled; schedule points into it
  passes::LoweringPlan plan;
  passes::Schedule schedule;
  std::string source;
  struct Kernel {
    std::string name;    // "k3" (the step's kernel)
    std::string symbol;  // "sluice_k3"
    std::array<uint32_t, 3> grid = {1, 1, 1};
    std::array<uint32_t, 3> block = {1, 1, 1};
    uint32_t shared_bytes = 0;
    std::string config;  // the emitter's template and parameters, in words
    std::vector<std::string> args;  // graph values, in parameter order
    // When set, `symbol` takes 16-byte-aligned buffers only; launches with
    // other buffers run `unaligned_symbol`, from `unaligned_source` (a whole
    // translation unit, for `arch`), which sluice::Compile's executables
    // compile the first time they need it (the Hopper attention kernel).
    std::string unaligned_symbol;
    std::string unaligned_source;
  };
  std::vector<Kernel> kernels;  // in schedule order
  std::string kernel_ir;
  std::string arch;             // "sm_90"
  std::string cubin;            // empty when there are no kernels
  std::string nvrtc_log;        // warnings
  bool cache_hit = false;
  // Everything above came from the in-process lowering cache
  // (CompileOptions::lowering_cache); cache_hit is then true too.
  bool lowering_cache_hit = false;
  double nvrtc_seconds = 0;     // 0 on a cache hit
  // Where the time went, as Compile's report (runtime/kernel_cache.h):
  // device_ms is finding the architecture and multiprocessor count, load_ms
  // and executable_ms stay 0 (nothing is loaded), and no memory plan is made.
  runtime::CompilePhases phases;
};

// Unavailable when NVRTC cannot be loaded or sluice was built without CUDA.
absl::StatusOr<CudaKernels> CompileCudaKernels(const ir::Graph& graph,
                                               const CompileOptions& options = {});

}  // namespace sluice

#endif  // SLUICE_SLUICE_COMPILE_H_
