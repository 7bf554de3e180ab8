// The CPU side of a warm CUDA compile (issue 8: "warm compile < 1 ms"),
// measured without a GPU: for each suite graph (benchmarks/graphs/*.graph),
// sluice::CompileCudaKernels with the cubin cache already filled, i.e. what
// sluice::Compile for kCuda does apart from creating the device, loading the
// module and making the Executable: the pass pipeline, fusion, kernel IR,
// EmitCuda and the cubin cache hit (hashing the source and options, reading
// the entry), with the in-process lowering cache off
// (CompileOptions::lowering_cache), as a new process's first compile of a
// graph runs. Parsing is not timed.
//
//   bazel run --config=opt //benchmarks:compile_bench [-- --graphs DIR]
//
// Counters, per compile, in µs (runtime::CompilePhases): lower (passes +
// fuse + kernel_ir), emit, cache (kernel_cache_ms), and source_kb, the
// generated translation unit's size. The iteration time is the whole call.
//
// BM_FirstWarmAfterCold/<graph>/1 times what gpu_bench's warm_ms is: the
// first warm compile right after the graph's cold one (NVRTC), in a fresh
// cache directory each iteration (the cold compiles are not timed), with
// its phases and second_us, the warm compile after it: a hit of the
// lowering cache. /0 is the same with the lowering cache off (gpu_bench's
// warm_disk_ms: lowered again, the cubin from disk). NVRTC's work leaves
// the CPU's caches cold: the first warm compile takes about twice as long
// as the ones after it (benchmarks/NOTES.md §28).
// Built without CUDA or without NVRTC, every benchmark says why it cannot
// run. The warm path's GPU parts (device, module load) are reported by
// gpu_bench on a GPU host.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/suite_graphs.h"
#include "ir/parser.h"
#include "runtime/cuda/symbols.h"
#include "sluice/compile.h"

namespace sluice {
namespace {

std::string& GraphsDir() {
  static auto* dir = new std::string("benchmarks/graphs");
  return *dir;
}

std::string CacheDir() {
  const char* t = std::getenv("TMPDIR");
  return absl::StrCat(t != nullptr ? t : "/tmp", "/sluice-compile-bench-", getpid());
}

// The graph of `path` for a benchmark, or nothing after telling `state` why
// it cannot run (no NVRTC, a file that does not parse).
std::optional<ir::Graph> GraphToCompile(benchmark::State& state, const std::string& path) {
  absl::StatusOr<const runtime::cuda::NvrtcSymbols*> nvrtc = runtime::cuda::LoadNvrtc();
  if (!nvrtc.ok()) {
    state.SkipWithError(absl::StrCat("NVRTC unavailable: ", nvrtc.status().message()).c_str());
    return std::nullopt;
  }
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile(path);
  if (!graphs.ok() || graphs->empty()) {
    state.SkipWithError(absl::StrCat("cannot parse ", path).c_str());
    return std::nullopt;
  }
  return std::move((*graphs)[0]);
}

// CUDA for an H100's sm_90 and 132 SMs, without a GPU (CompileCudaKernels).
CompileOptions CudaOptions() {
  CompileOptions o;
  o.device = DeviceKind::kCuda;
  o.cuda.arch = "sm_90";
  o.cuda.num_sms = 132;
  return o;
}

void BM_WarmCudaKernels(benchmark::State& state, const std::string& path) {
  const std::optional<ir::Graph> graph = GraphToCompile(state, path);
  if (!graph.has_value()) return;
  const ir::Graph& g = *graph;
  CompileOptions o = CudaOptions();
  o.cache_dir = CacheDir();
  o.lowering_cache = false;
  // Fills the cache (NVRTC) and warms up.
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(g, o);
    if (!k.ok()) {
      state.SkipWithError(std::string(k.status().message()).c_str());
      return;
    }
  }
  runtime::CompilePhases sum;
  size_t source_bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(g, o);
    if (!k.ok() || (!k->cache_hit && !k->kernels.empty())) {
      state.SkipWithError("warm compile failed or missed the cubin cache");
      return;
    }
    const runtime::CompilePhases& p = k->phases;
    sum.lower_ms += p.lower_ms;
    sum.passes_ms += p.passes_ms;
    sum.fuse_ms += p.fuse_ms;
    sum.kernel_ir_ms += p.kernel_ir_ms;
    sum.emit_ms += p.emit_ms;
    sum.kernel_cache_ms += p.kernel_cache_ms;
    source_bytes = k->source.size();
    benchmark::DoNotOptimize(k);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["lower_us"] = 1e3 * sum.lower_ms / n;
  state.counters["passes_us"] = 1e3 * sum.passes_ms / n;
  state.counters["fuse_us"] = 1e3 * sum.fuse_ms / n;
  state.counters["kir_us"] = 1e3 * sum.kernel_ir_ms / n;
  state.counters["emit_us"] = 1e3 * sum.emit_ms / n;
  state.counters["cache_us"] = 1e3 * sum.kernel_cache_ms / n;
  state.counters["source_kb"] = static_cast<double>(source_bytes) / 1024.0;
}

void BM_FirstWarmAfterCold(benchmark::State& state, const std::string& path) {
  const std::optional<ir::Graph> graph = GraphToCompile(state, path);
  if (!graph.has_value()) return;
  const ir::Graph& g = *graph;
  CompileOptions o = CudaOptions();
  o.lowering_cache = state.range(0) != 0;
  int round = 0;
  runtime::CompilePhases sum;
  double second_us = 0;
  for (auto _ : state) {
    state.PauseTiming();
    o.cache_dir = absl::StrCat(CacheDir(), "-cold-", round++);
    absl::StatusOr<CudaKernels> cold = CompileCudaKernels(g, o);
    if (!cold.ok()) {
      state.SkipWithError(std::string(cold.status().message()).c_str());
      return;
    }
    state.ResumeTiming();
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(g, o);
    state.PauseTiming();
    if (!k.ok() || (!k->cache_hit && !k->kernels.empty()) ||
        k->lowering_cache_hit != o.lowering_cache) {
      state.SkipWithError("warm compile failed, missed the cubin cache or the lowering cache");
      return;
    }
    sum.lower_ms += k->phases.lower_ms;
    sum.lowering_cache_ms += k->phases.lowering_cache_ms;
    sum.passes_ms += k->phases.passes_ms;
    sum.emit_ms += k->phases.emit_ms;
    sum.kernel_cache_ms += k->phases.kernel_cache_ms;
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<CudaKernels> again = CompileCudaKernels(g, o);
    second_us +=
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(again);
    std::filesystem::remove_all(o.cache_dir);
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["lower_us"] = 1e3 * sum.lower_ms / n;
  state.counters["passes_us"] = 1e3 * sum.passes_ms / n;
  state.counters["emit_us"] = 1e3 * sum.emit_ms / n;
  state.counters["cache_us"] = 1e3 * sum.kernel_cache_ms / n;
  state.counters["lcache_us"] = 1e3 * sum.lowering_cache_ms / n;
  state.counters["second_us"] = second_us / n;
}

void RegisterAll() {
  const std::vector<benchmarks::GraphFile> files = benchmarks::ListGraphFiles(GraphsDir());
  if (files.empty()) fprintf(stderr, "compile_bench: no .graph files in %s\n", GraphsDir().c_str());
  for (const benchmarks::GraphFile& f : files) {
    benchmark::RegisterBenchmark(("BM_WarmCudaKernels/" + f.name).c_str(), BM_WarmCudaKernels,
                                 f.path)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    // Each iteration a cold compile (NVRTC, ~0.1-0.5 s here) too: few.
    benchmark::RegisterBenchmark(("BM_FirstWarmAfterCold/" + f.name).c_str(),
                                 BM_FirstWarmAfterCold, f.path)
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(6)
        ->Arg(0)
        ->Arg(1);
  }
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--graphs" && i + 1 < argc) {
      sluice::GraphsDir() = argv[++i];
    } else if (a.rfind("--graphs=", 0) == 0) {
      sluice::GraphsDir() = a.substr(9);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;
  sluice::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  std::filesystem::remove_all(sluice::CacheDir());
  return 0;
}
