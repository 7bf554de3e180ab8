// GPU benchmarks of the benchmark suite (benchmarks/graphs/*.graph) compiled
// by sluice for CUDA, timed the way DESIGN §6 asks: CUDA events on the
// executable's stream, warm-up first, the median of many samples, with a
// device-to-device copy measured in the same run as the bandwidth yardstick.
//
//   gpu_bench [--graphs DIR] [--sluice_json PATH] [--save_npy DIR]
//             [--save_npy_max_mb N] [--fast_math] [--warm_repeats N]
//             [--no_split_reductions] [--timing=dobench|back_to_back]
//             [--flush=memset32|memset8|kernel|read|none] [--no_clean_l2]
//             [--dobench_warmup_ms MS]
//             [--dobench_rep_ms MS] [--external DIR] [google benchmark flags]
//
// One benchmark per graph, run on device tensors (Executable::RunDeviceInto:
// no host copies, no allocation per run). Counters: us (median per run),
// GB/s (inputs read once + outputs written once, over the median), pct_copy
// (that over the copy's GB/s), cold_ms (Compile with an empty cache
// directory: emit, NVRTC, load), warm_ms (Compile again: a hit of the
// in-process lowering cache, CompileOptions::lowering_cache, and of the
// tuning cache), warm_disk_ms (once more with the lowering cache off:
// lowering and emission again, the cubin from the disk cache, as a new
// process's compile), kernels, fallbacks, and the warm compile's phases
// from its report (runtime::CompilePhases): warm_device_ms
// (CudaExecutionDevice::Create), warm_lower_ms (pipeline, fusion, kernel IR,
// memory plan), warm_emit_ms (EmitCuda), warm_lcache_ms (the lowering
// cache), warm_cache_ms (hash + cubin cache read), warm_load_ms
// (cuModuleLoadData + cuModuleGetFunction), warm_tune_ms (reading the
// autotuner's cached choice), warm_exe_ms (Executable::Create); cold_tune_ms
// is the cold compile's autotuning (timing the launch shapes; each tuned
// kernel's choice and times are printed as "tuning <graph> <kernel>: ...");
// then --warm_repeats (default 20) more warm compiles give warm_median_ms
// and warm_max_ms (is a slow warm compile a phase's steady cost or an
// outlier?); after the benchmarks a second table lists them per graph, and
// the JSON also has each phase's median over the repeats. --timing=dobench
// (the default) times runs as triton.testing.do_bench times PyTorch's in
// benchmarks/torch_bench.py (each run after an L2 flush, between its own
// events, about 100 ms of runs after 25 ms of warm-up, --dobench_rep_ms and
// --dobench_warmup_ms; TimeMsLikeDoBench), and then once more after a
// read-only flush (us_clean_l2, and the copy's copy_gbs_clean_l2; Flags::
// clean_l2; --no_clean_l2 skips it);
// --timing=back_to_back takes 25 samples of back-to-back runs, at least ~2
// ms each, so launch gaps of short graphs are amortized like in a model
// (L2 stays warm from run to run). --sluice_json writes
// the figures in the format benchmarks/torch_bench.py reads ({"graph":
// {"us", "compile_cold_ms", "compile_warm_ms", ..., "compile_warm_phases":
// {"device_ms", "lower_ms", ...}, "compile_cold_phases": {...}}});
// --save_npy also writes each graph's inputs and sluice's outputs as .npy
// (graphs up to --save_npy_max_mb of them) and names
// the folders there, so torch_bench checks sluice's outputs against PyTorch.
// --fast_math compiles with CompileOptions::cuda.fast_math (approximate f32
// exp and division, as Triton and so Inductor compile);
// --no_split_reductions keeps every reduction one kernel
// (LoweringOptions::split_reductions; benchmarks/split_reduction/*.graph
// shows what the split does). Graphs with nodes
// marked should_fallback also get BM_SluiceParts/<graph>: each marked node
// alone and the rest of the graph timed separately ("parts_us" in the JSON),
// so the fallback boundary's own cost is the whole minus the parts.
// --external DIR times another compiler's kernels for a graph (DIR/<graph>
// .cubin and .kernels; benchmarks/experiments/inductor_kernels_for_gpu_bench
// .py writes Inductor's) on the graph's buffers by the same procedure, three
// rounds interleaved with sluice's, and prints "external GRAPH sluice ...
// external ..." (TimeExternal).
//
// Built without CUDA, or run without a GPU, every benchmark reports why it
// cannot run.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "benchmarks/suite_graphs.h"
#include "ir/parser.h"
#include "runtime/cuda/symbols.h"
#include "runtime/executable.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"
#include "sluice/compile.h"

#if SLUICE_HAVE_CUDA
#include "runtime/cuda/device.h"
#include "runtime/cuda/execution_device.h"
#include "runtime/cuda/memory.h"
#include "runtime/cuda/module.h"
#include "runtime/cuda/nvrtc.h"
#include "runtime/cuda/status.h"
#include "runtime/cuda/stream.h"
#endif

namespace sluice {
namespace {

struct Flags {
  std::string graphs = "benchmarks/graphs";
  std::string sluice_json;
  std::string save_npy;
  // Another compiler's kernels for a graph (DIR/<graph>.cubin and
  // DIR/<graph>.kernels, see TimeExternal), timed by the same procedure on
  // the same buffers in interleaved rounds with sluice's.
  std::string external;
  int64_t save_npy_max_mb = 600;
  bool fast_math = false;  // CompileOptions::cuda.fast_math, as Triton compiles
  int warm_repeats = 20;   // warm compiles after the first, for median and max
  bool split_reductions = true;  // LoweringOptions::split_reductions
  // How a graph's runs are timed: "dobench" (the procedure of
  // triton.testing.do_bench, which torch_bench.py times PyTorch with) or
  // "back_to_back" (this harness's own until 2026-11-27). See
  // TimeMsLikeDoBench and TimeMs.
  std::string timing = "dobench";
  // --timing=dobench's L2 flush: "memset32" (cuMemsetD32Async, as a 4-byte
  // fill), "memset8" (cuMemsetD8Async), "kernel" (a fill kernel of 16-byte
  // stores, one per thread, as PyTorch's zero_ of do_bench's int32 buffer
  // is), "read" (a kernel that only reads the buffer: L2 is left holding
  // clean lines, where a fill leaves dirty ones that the timed run's misses
  // must write back first) or "none".
  std::string flush = "memset32";
  // With --timing=dobench and a flush other than "read": each graph, and
  // the 1 GiB copy, is also timed after a "read" flush ("us_clean_l2" and
  // "copy_gbs_clean_l2" in the JSON). A fill's dirty lines cost the run
  // after it their write-back (NOTES.md §30: 2-5 µs), which a 128 MiB graph
  // pays in full and a 1 GiB copy timed back to back amortizes; torch_bench
  // reports both figures' % of the copy.
  bool clean_l2 = true;
  // --timing=dobench's warm-up and measured spans, ms (do_bench's warmup
  // and rep arguments).
  double dobench_warmup_ms = 25;
  double dobench_rep_ms = 100;
};
Flags& GetFlags() {
  static Flags* flags = new Flags();
  return *flags;
}

struct Figures {
  double us = 0;
  double gbs = 0;
  double pct_copy = 0;
  double us_clean_l2 = 0;  // Flags::clean_l2; 0 when not timed
  // The same flush before a device-to-device copy of the graph's bytes (half
  // read, half written): what moving them takes at this size.
  double copy_us_clean_l2 = 0;
  double cold_ms = 0;
  double warm_ms = 0;
  // A warm compile that lowers again (CompileOptions::lowering_cache off)
  // and finds the cubin on disk: what a new process's first compile of the
  // graph does with the kernel cache filled.
  double warm_disk_ms = 0;
  runtime::CompilePhases warm_disk_phases;
  // Where the compiles' time went, from their reports.
  runtime::CompilePhases cold_phases;
  runtime::CompilePhases warm_phases;
  // Over --warm_repeats more warm compiles (0 without repeats): the median
  // and maximum, and each phase's median taken separately.
  int warm_repeats = 0;
  double warm_median_ms = 0;
  double warm_max_ms = 0;
  runtime::CompilePhases warm_median_phases;
  int kernels = 0;
  int fallbacks = 0;
  std::string npy_dir;  // inputs/ and outputs/ below it, when saved
  // Graphs with fallback nodes: each fallback node alone (its reference
  // kernel) and the rest of the graph (its inputs in their place), timed
  // separately; parts_us is their sum, the cost of the graph without any
  // boundary overhead (DESIGN §6's fallback target).
  double parts_us = 0;
  std::string parts;  // "add 180.1 + rest 170.2"
};
std::map<std::string, Figures>& Results() {
  static auto* results = new std::map<std::string, Figures>();
  return *results;
}

double copy_gbs = 0;  // device-to-device copy, bytes read + written / s
double copy_gbs_clean_l2 = 0;  // the same, each copy after a "read" flush

// Whether Flags::clean_l2's second timing applies to this run's flags.
bool TimeCleanL2Too() {
  const Flags& f = GetFlags();
  return f.clean_l2 && f.timing == "dobench" && f.flush != "read";
}

std::string Unique(const std::string& base) {
  static int n = 0;
  return absl::StrCat(base, "-", getpid(), "-", n++);
}

std::string TempRoot() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr ? t : "/tmp";
}

// Roughly N(0, 1) values (Irwin-Hall of four uniforms from one hash per
// element) filled by all cores: the suite's inputs hold ~1.7G elements,
// which testing::RandomNormal would take about a minute to draw.
runtime::Tensor FastRandom(const ir::TensorType& type, uint64_t seed) {
  runtime::Tensor t = runtime::Tensor::Zeros(type);
  const int64_t n = t.num_elements();
  const ir::DType dtype = type.dtype;
  auto value = [seed](int64_t i) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(i);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    double sum = 0;
    for (int k = 0; k < 4; ++k) sum += static_cast<double>((z >> (16 * k)) & 0xffff) / 65536.0;
    return static_cast<float>((sum - 2.0) * 1.7320508075688772);  // variance 4/12 -> 1
  };
  auto fill = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = value(i);
      switch (dtype) {
        case ir::DType::kF32: t.data_as<float>()[i] = v; break;
        case ir::DType::kF16: t.data_as<uint16_t>()[i] = runtime::FloatToHalfBits(v); break;
        case ir::DType::kBF16: t.data_as<uint16_t>()[i] = runtime::FloatToBFloat16Bits(v); break;
        case ir::DType::kF64: t.data_as<double>()[i] = v; break;
        default: t.SetFromDouble(i, std::round(v)); break;
      }
    }
  };
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  const int64_t chunk = (n + threads - 1) / threads;
  for (int k = 0; k < threads; ++k) {
    const int64_t begin = std::min(n, k * chunk), end = std::min(n, begin + chunk);
    if (begin < end) pool.emplace_back(fill, begin, end);
  }
  for (std::thread& th : pool) th.join();
  return t;
}

double MedianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Each field's median over `all`, taken separately (so they need not add up).
runtime::CompilePhases MedianPhases(const std::vector<runtime::CompilePhases>& all) {
  runtime::CompilePhases m;
  auto median = [&](double runtime::CompilePhases::*field) {
    std::vector<double> v;
    for (const runtime::CompilePhases& p : all) v.push_back(p.*field);
    m.*field = MedianOf(std::move(v));
  };
  for (const auto& [name, field] : runtime::CompilePhases::Fields()) median(field);
  m.attempts = all.empty() ? 0 : all[0].attempts;
  return m;
}

#if SLUICE_HAVE_CUDA

namespace cu = runtime::cuda;

// Times `run` (work queued on `stream`) between two events: the median over
// samples of ms per run, each sample `per_sample` runs back to back.
absl::StatusOr<double> TimeMs(cu::CudaStream* stream, int per_sample, int samples,
                              const std::function<absl::Status()>& run) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(auto start, cu::CudaEvent::Create(stream->device()));
  SLUICE_CUDA_ASSIGN_OR_RETURN(auto end, cu::CudaEvent::Create(stream->device()));
  std::vector<double> ms;
  for (int s = 0; s < samples; ++s) {
    SLUICE_CUDA_RETURN_IF_ERROR(start->Record(stream));
    for (int i = 0; i < per_sample; ++i) SLUICE_CUDA_RETURN_IF_ERROR(run());
    SLUICE_CUDA_RETURN_IF_ERROR(end->Record(stream));
    SLUICE_CUDA_RETURN_IF_ERROR(end->Synchronize());
    SLUICE_CUDA_ASSIGN_OR_RETURN(float t, cu::CudaEvent::ElapsedMillis(*start, *end));
    ms.push_back(static_cast<double>(t) / per_sample);
  }
  return MedianOf(ms);
}

// triton.testing.do_bench's procedure (triton 3.6, warmup 25 ms, rep 100
// ms, median), so that sluice and PyTorch are timed alike: one run; five
// runs, each after a flush of the L2 cache (a 256 MB memset, as do_bench's
// clear_cache), between two events give an estimate E of one; max(1, 25 /
// E) warm-up runs; then max(1, 100 / E) runs, each after a flush and
// between its own pair of events, all queued before one synchronize; the
// median of those. The flushes keep a graph from reading the previous run's
// outputs or inputs out of L2, and the short burst (about 150 ms of work)
// is what a power-limited kernel (the MLP's f32 GEMMs) is timed over on
// both sides.
// `how` is the flush (Flags::flush).
absl::StatusOr<double> TimeMsLikeDoBench(cu::CudaStream* stream,
                                         const std::function<absl::Status()>& run,
                                         const std::string& how) {
  cu::CudaDevice* device = stream->device();
  constexpr size_t kFlushBytes = size_t{256} << 20;
  // Per device: the buffer the flush writes and, for --flush=kernel, the
  // fill kernel (compiled on first use).
  struct Flush {
    cu::DeviceBuffer buffer;
    std::unique_ptr<cu::CudaModule> fill_module;
    std::optional<cu::CudaFunction> fill;
  };
  // Per device and kind: "read" needs a buffer of zeros that no other
  // flush writes to (its lines must stay clean).
  static auto* flushes =
      new absl::flat_hash_map<std::pair<cu::CudaDevice*, std::string>, Flush>();
  const std::pair<cu::CudaDevice*, std::string> key(device, how);
  if (!flushes->contains(key)) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(cu::DeviceBuffer b, cu::DeviceBuffer::Allocate(device, kFlushBytes));
    flushes->emplace(key, Flush{std::move(b), nullptr, std::nullopt});
  }
  Flush& f = flushes->at(key);
  // "kernel" and "read" launch a kernel of 16-byte accesses over the buffer.
  const bool by_kernel = how == "kernel" || how == "read";
  if (by_kernel && !f.fill.has_value()) {
    cu::NvrtcOptions options;
    options.arch = device->arch();
    // "read": the buffer is zeros, so the store never happens, but the
    // compiler cannot drop the loads.
    SLUICE_CUDA_ASSIGN_OR_RETURN(
        cu::CompiledCuda c,
        cu::CompileCuda(how == "kernel"
                            ? "extern \"C\" __global__ void sluice_bench_fill(int4* p) {\n"
                              "  p[static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x] ="
                              " make_int4(0, 0, 0, 0);\n}\n"
                            : "extern \"C\" __global__ void sluice_bench_fill(int4* p) {\n"
                              "  const int4 v = p[static_cast<size_t>(blockIdx.x) * blockDim.x +"
                              " threadIdx.x];\n"
                              "  if ((v.x | v.y | v.z | v.w) == 0x7f123456) p[0] = v;\n}\n",
                        "bench_fill", options));
    if (how == "read") {
      SLUICE_CUDA_RETURN_IF_ERROR(stream->Memset32(f.buffer.ptr(), 0, kFlushBytes / 4));
    }
    SLUICE_CUDA_ASSIGN_OR_RETURN(f.fill_module, cu::CudaModule::Load(device, c.cubin, "bench_fill"));
    SLUICE_CUDA_ASSIGN_OR_RETURN(f.fill, f.fill_module->GetFunction("sluice_bench_fill"));
  }
  cu::DevicePtr flush_ptr = f.buffer.ptr();
  void* fill_args[] = {&flush_ptr};
  auto flush_l2 = [&] {
    if (by_kernel) {
      constexpr unsigned kBlock = 128;
      return cu::Launch(*f.fill, {static_cast<unsigned>(kFlushBytes / 16 / kBlock)}, {kBlock}, 0,
                        stream, fill_args);
    }
    return how == "none"      ? absl::OkStatus()
           : how == "memset8" ? stream->Memset8(flush_ptr, 0, kFlushBytes)
                              : stream->Memset32(flush_ptr, 0, kFlushBytes / 4);
  };
  SLUICE_CUDA_RETURN_IF_ERROR(run());
  SLUICE_CUDA_RETURN_IF_ERROR(stream->Synchronize());
  SLUICE_CUDA_ASSIGN_OR_RETURN(auto start, cu::CudaEvent::Create(device));
  SLUICE_CUDA_ASSIGN_OR_RETURN(auto end, cu::CudaEvent::Create(device));
  SLUICE_CUDA_RETURN_IF_ERROR(start->Record(stream));
  for (int i = 0; i < 5; ++i) {
    SLUICE_CUDA_RETURN_IF_ERROR(flush_l2());
    SLUICE_CUDA_RETURN_IF_ERROR(run());
  }
  SLUICE_CUDA_RETURN_IF_ERROR(end->Record(stream));
  SLUICE_CUDA_RETURN_IF_ERROR(end->Synchronize());
  SLUICE_CUDA_ASSIGN_OR_RETURN(float five, cu::CudaEvent::ElapsedMillis(*start, *end));
  const double estimate = std::max(static_cast<double>(five) / 5, 1e-6);
  const int warmup = std::max(1, static_cast<int>(GetFlags().dobench_warmup_ms / estimate));
  const int repeat = std::max(1, static_cast<int>(GetFlags().dobench_rep_ms / estimate));
  for (int i = 0; i < warmup; ++i) SLUICE_CUDA_RETURN_IF_ERROR(run());
  std::vector<std::unique_ptr<cu::CudaEvent>> starts, ends;
  for (int i = 0; i < repeat; ++i) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(auto a, cu::CudaEvent::Create(device));
    SLUICE_CUDA_ASSIGN_OR_RETURN(auto b, cu::CudaEvent::Create(device));
    starts.push_back(std::move(a));
    ends.push_back(std::move(b));
  }
  for (int i = 0; i < repeat; ++i) {
    SLUICE_CUDA_RETURN_IF_ERROR(flush_l2());
    SLUICE_CUDA_RETURN_IF_ERROR(starts[i]->Record(stream));
    SLUICE_CUDA_RETURN_IF_ERROR(run());
    SLUICE_CUDA_RETURN_IF_ERROR(ends[i]->Record(stream));
  }
  SLUICE_CUDA_RETURN_IF_ERROR(stream->Synchronize());
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(float t, cu::CudaEvent::ElapsedMillis(*starts[i], *ends[i]));
    ms.push_back(static_cast<double>(t));
  }
  return MedianOf(ms);
}

// Runs per sample so that a sample takes about 2 ms.
int RunsPerSample(double ms_per_run) {
  return static_cast<int>(std::clamp(2.0 / std::max(ms_per_run, 1e-4), 1.0, 200.0));
}

void BM_DeviceCopy(benchmark::State& state) {
  std::string why;
  if (!cu::CudaAvailable(&why)) {
    state.SkipWithError(("CUDA unavailable: " + why).c_str());
    return;
  }
  auto fail = [&](const absl::Status& s) { state.SkipWithError(std::string(s.message()).c_str()); };
  absl::StatusOr<cu::CudaDevice*> device = cu::CudaDevice::Get(0);
  if (!device.ok()) return fail(device.status());
  absl::StatusOr<std::unique_ptr<cu::CudaStream>> stream = cu::CudaStream::Create(*device);
  if (!stream.ok()) return fail(stream.status());
  const size_t bytes = size_t{1} << 30;
  absl::StatusOr<cu::DeviceBuffer> src = cu::DeviceBuffer::Allocate(*device, bytes);
  absl::StatusOr<cu::DeviceBuffer> dst = cu::DeviceBuffer::Allocate(*device, bytes);
  if (!src.ok()) return fail(src.status());
  if (!dst.ok()) return fail(dst.status());
  if (absl::Status s = (*stream)->Memset8(src->ptr(), 1, bytes); !s.ok()) return fail(s);
  auto copy = [&] { return (*stream)->CopyDeviceToDevice(dst->ptr(), src->ptr(), bytes); };
  for (int i = 0; i < 3; ++i) {
    if (absl::Status s = copy(); !s.ok()) return fail(s);
  }
  double ms = 0;
  for (auto _ : state) {
    absl::StatusOr<double> t = TimeMs(stream->get(), 1, 20, copy);
    if (!t.ok()) return fail(t.status());
    ms = *t;
    state.SetIterationTime(ms / 1e3);
  }
  copy_gbs = 2.0 * static_cast<double>(bytes) / (ms / 1e3) / 1e9;
  state.counters["GB/s"] = copy_gbs;
  if (TimeCleanL2Too()) {
    absl::StatusOr<double> clean = TimeMsLikeDoBench(stream->get(), copy, "read");
    if (!clean.ok()) return fail(clean.status());
    copy_gbs_clean_l2 = 2.0 * static_cast<double>(bytes) / (*clean / 1e3) / 1e9;
    state.counters["GB/s_clean_l2"] = copy_gbs_clean_l2;
  }
  state.counters["us"] = ms * 1e3;
  state.SetLabel(absl::StrCat((*device)->name(), ", 1 GiB copy"));
}

// Random device inputs (seeded by position) and preallocated device outputs
// for running `g`, compiled as `exe`, on device tensors.
struct DeviceRun {
  runtime::Executable* exe = nullptr;
  cu::CudaExecutionDevice* device = nullptr;
  std::vector<runtime::Tensor> host_inputs;
  std::vector<runtime::DeviceTensor> inputs, outputs;
  int64_t bytes = 0;  // inputs + outputs
  int per_sample = 1;  // runs per timed sample (RunsPerSample)

  absl::Status Run() { return exe->RunDeviceInto(inputs, absl::MakeSpan(outputs)); }
  // The median ms per run: --timing=dobench, TimeMsLikeDoBench; else over
  // `samples` samples of per_sample runs back to back.
  absl::StatusOr<double> MedianMs(int samples) {
    if (GetFlags().timing == "dobench") {
      return TimeMsLikeDoBench(device->stream(), [this] { return Run(); }, GetFlags().flush);
    }
    return TimeMs(device->stream(), per_sample, samples, [this] { return Run(); });
  }
};

// Allocates and fills the tensors, runs three warm-up runs and sizes the
// samples from a short estimate.
absl::StatusOr<DeviceRun> PrepareRun(runtime::Executable& exe, const ir::Graph& g) {
  DeviceRun r;
  r.exe = &exe;
  r.device = dynamic_cast<cu::CudaExecutionDevice*>(&exe.device());
  if (r.device == nullptr) return absl::InternalError("not a CUDA executable");
  for (const ir::Node* n : g.inputs()) {
    r.host_inputs.push_back(FastRandom(n->type(), 1 + r.host_inputs.size()));
    absl::StatusOr<runtime::DeviceTensor> d = exe.ToDevice(r.host_inputs.back());
    if (!d.ok()) return d.status();
    r.inputs.push_back(*std::move(d));
    r.bytes += r.host_inputs.back().nbytes();
  }
  for (const ir::Node* n : g.outputs()) {
    absl::StatusOr<runtime::DeviceTensor> d = exe.AllocateDeviceTensor(n->type());
    if (!d.ok()) return d.status();
    r.bytes += d->nbytes();
    r.outputs.push_back(*std::move(d));
  }
  for (int i = 0; i < 3; ++i) {
    if (absl::Status s = r.Run(); !s.ok()) return s;
  }
  if (absl::Status s = exe.Synchronize(); !s.ok()) return s;
  // With --timing=dobench this estimate is itself a whole do_bench-style
  // measurement (~125 ms of runs), so the GPU has been busy for as long
  // before the measured one, much as torch_bench's eager timing precedes
  // Inductor's (what the figures of 2026-11-27 12:33-12:52 were taken with).
  absl::StatusOr<double> estimate = r.MedianMs(3);
  if (!estimate.ok()) return estimate.status();
  r.per_sample = RunsPerSample(*estimate);
  return r;
}

// --external DIR: another compiler's kernels for `g` (DIR/<graph>.cubin)
// launched as DIR/<graph>.kernels says, one line per launch ('#' starts a
// comment): "SYMBOL GRID BLOCK SHARED_BYTES ARG...", GRID and BLOCK as x or
// x,y,z, each ARG a graph input or output by name (its device buffer), i32:N
// (a 32-bit integer) or null (a null pointer: Triton's scratch pointers).
// Timed on `r`'s buffers by the same procedure as sluice, three rounds
// interleaved with sluice's; prints "external GRAPH sluice A B C external X
// Y Z" (µs). NotFound when DIR has no such files.
absl::Status TimeExternal(const ir::Graph& g, DeviceRun& r) {
  const std::string stem = absl::StrCat(GetFlags().external, "/", g.name());
  std::ifstream cubin_file(stem + ".cubin", std::ios::binary);
  std::ifstream lines_file(stem + ".kernels");
  if (!cubin_file || !lines_file) {
    return absl::NotFoundError(absl::StrCat("no ", stem, ".cubin and .kernels"));
  }
  const std::string cubin((std::istreambuf_iterator<char>(cubin_file)), {});
  cu::CudaDevice* device = r.device->device();
  SLUICE_CUDA_ASSIGN_OR_RETURN(std::unique_ptr<cu::CudaModule> module,
                               cu::CudaModule::Load(device, cubin, stem + ".cubin"));
  absl::flat_hash_map<std::string, cu::DevicePtr> buffers;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    buffers[g.inputs()[i]->name()] = reinterpret_cast<cu::DevicePtr>(r.inputs[i].data());
  }
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    buffers[g.outputs()[i]->name()] = reinterpret_cast<cu::DevicePtr>(r.outputs[i].data());
  }
  struct Step {
    cu::CudaFunction function;
    cu::Dim3 grid, block;
    unsigned shared = 0;
    std::vector<uint64_t> values;  // each parameter's bytes (pointer or i32)
    std::vector<void*> params;
  };
  std::vector<Step> steps;
  auto dim3 = [](absl::string_view text, cu::Dim3* d) {
    std::vector<std::string> xyz = absl::StrSplit(text, ',');
    unsigned* out[3] = {&d->x, &d->y, &d->z};
    if (xyz.empty() || xyz.size() > 3) return false;
    for (size_t i = 0; i < xyz.size(); ++i) {
      if (!absl::SimpleAtoi(xyz[i], out[i])) return false;
    }
    return true;
  };
  std::string line;
  for (int number = 1; std::getline(lines_file, line); ++number) {
    line = std::string(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    if (line.empty()) continue;
    std::vector<std::string> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(stem, ".kernels:", number, ": error: ", why, ": ", line));
    };
    Step st;
    if (w.size() < 4 || !dim3(w[1], &st.grid) || !dim3(w[2], &st.block) ||
        !absl::SimpleAtoi(w[3], &st.shared)) {
      return bad("expected SYMBOL GRID BLOCK SHARED_BYTES ARG...");
    }
    SLUICE_CUDA_ASSIGN_OR_RETURN(st.function, module->GetFunction(w[0]));
    for (size_t i = 4; i < w.size(); ++i) {
      int32_t v = 0;
      if (w[i] == "null") {
        st.values.push_back(0);
      } else if (absl::StartsWith(w[i], "i32:") && absl::SimpleAtoi(w[i].substr(4), &v)) {
        uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof(v));
        st.values.push_back(bits);
      } else if (buffers.contains(w[i])) {
        st.values.push_back(static_cast<uint64_t>(buffers[w[i]]));
      } else {
        return bad(absl::StrCat("'", w[i], "' is not a graph input or output, i32:N or null"));
      }
    }
    steps.push_back(std::move(st));
  }
  for (Step& st : steps) {
    for (uint64_t& v : st.values) st.params.push_back(&v);
  }
  auto run_external = [&]() -> absl::Status {
    for (Step& st : steps) {
      SLUICE_CUDA_RETURN_IF_ERROR(cu::Launch(st.function, st.grid, st.block, st.shared,
                                             r.device->stream(), st.params.data()));
    }
    return absl::OkStatus();
  };
  std::vector<double> ours, theirs;
  for (int round = 0; round < 3; ++round) {
    absl::StatusOr<double> a = r.MedianMs(25);
    if (!a.ok()) return a.status();
    absl::StatusOr<double> b = TimeMsLikeDoBench(r.device->stream(), run_external, GetFlags().flush);
    if (!b.ok()) return b.status();
    ours.push_back(1e3 * *a);
    theirs.push_back(1e3 * *b);
  }
  SLUICE_CUDA_RETURN_IF_ERROR(r.device->stream()->Synchronize());
  std::printf("external %s sluice %.1f %.1f %.1f external %.1f %.1f %.1f\n", g.name().c_str(),
              ours[0], ours[1], ours[2], theirs[0], theirs[1], theirs[2]);
  return absl::OkStatus();
}

void BM_Graph(benchmark::State& state, const std::string& path) {
  std::string why;
  if (!cu::CudaAvailable(&why)) {
    state.SkipWithError(("CUDA unavailable: " + why).c_str());
    return;
  }
  auto fail = [&](const absl::Status& s) { state.SkipWithError(std::string(s.message()).c_str()); };
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile(path);
  if (!graphs.ok()) return fail(graphs.status());
  const ir::Graph& g = (*graphs)[0];
  Figures f;

  // Cold (empty cache directory) and warm (cache hit) compiles.
  CompileOptions o;
  o.device = DeviceKind::kCuda;
  o.cuda.fast_math = GetFlags().fast_math;
  o.lowering.split_reductions = GetFlags().split_reductions;
  o.cache_dir = Unique(TempRoot() + "/sluice-gpu-bench-cache");
  auto timed_compile = [&](double* ms, const CompileOptions& options)
      -> absl::StatusOr<runtime::Executable> {
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<runtime::Executable> exe = Compile(g, options);
    *ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return exe;
  };
  absl::StatusOr<runtime::Executable> cold = timed_compile(&f.cold_ms, o);
  if (!cold.ok()) return fail(cold.status());
  if (cold->cache_hit() && cold->schedule().num_kernels() > 0) {
    return fail(absl::InternalError("the cold compile hit the cache"));
  }
  f.cold_phases = cold->compile_report().phases;
  // The autotuner's choices and times (CudaCompileOptions::autotune).
  for (const std::string& line : cold->compile_report().tuning) {
    std::printf("tuning %s %s\n", g.name().c_str(), line.c_str());
  }
  absl::StatusOr<runtime::Executable> exe = timed_compile(&f.warm_ms, o);
  if (!exe.ok()) return fail(exe.status());
  f.warm_phases = exe->compile_report().phases;
  {
    CompileOptions disk = o;
    disk.lowering_cache = false;
    absl::StatusOr<runtime::Executable> again = timed_compile(&f.warm_disk_ms, disk);
    if (!again.ok()) return fail(again.status());
    f.warm_disk_phases = again->compile_report().phases;
  }
  std::vector<double> repeats;
  std::vector<runtime::CompilePhases> repeat_phases;
  for (int i = 0; i < GetFlags().warm_repeats; ++i) {
    double ms = 0;
    absl::StatusOr<runtime::Executable> again = timed_compile(&ms, o);
    if (!again.ok()) return fail(again.status());
    repeats.push_back(ms);
    repeat_phases.push_back(again->compile_report().phases);
  }
  if (!repeats.empty()) {
    f.warm_repeats = static_cast<int>(repeats.size());
    f.warm_median_ms = MedianOf(repeats);
    f.warm_max_ms = *std::max_element(repeats.begin(), repeats.end());
    f.warm_median_phases = MedianPhases(repeat_phases);
  }
  std::filesystem::remove_all(o.cache_dir);
  cold = absl::UnknownError("released");
  f.kernels = exe->schedule().num_kernels();
  f.fallbacks = static_cast<int>(exe->plan().NodesWith(passes::Decision::kFallback).size());

  // Inputs on the device, outputs preallocated there; warm-up.
  absl::StatusOr<DeviceRun> r = PrepareRun(*exe, g);
  if (!r.ok()) return fail(r.status());
  double ms = 0;
  for (auto _ : state) {
    absl::StatusOr<double> t = r->MedianMs(25);
    if (!t.ok()) return fail(t.status());
    ms = *t;
    state.SetIterationTime(ms / 1e3);
  }
  f.us = ms * 1e3;
  f.gbs = static_cast<double>(r->bytes) / (ms / 1e3) / 1e9;
  if (TimeCleanL2Too()) {
    absl::StatusOr<double> clean =
        TimeMsLikeDoBench(r->device->stream(), [&] { return r->Run(); }, "read");
    if (!clean.ok()) return fail(clean.status());
    f.us_clean_l2 = *clean * 1e3;
    state.counters["us_clean_l2"] = f.us_clean_l2;
    const size_t half = static_cast<size_t>(r->bytes / 2 / 16 * 16);
    if (half > 0) {
      cu::CudaDevice* gpu = r->device->device();
      absl::StatusOr<cu::DeviceBuffer> src = cu::DeviceBuffer::Allocate(gpu, half);
      absl::StatusOr<cu::DeviceBuffer> dst = cu::DeviceBuffer::Allocate(gpu, half);
      if (!src.ok()) return fail(src.status());
      if (!dst.ok()) return fail(dst.status());
      cu::CudaStream* stream = r->device->stream();
      if (absl::Status s = stream->Memset8(src->ptr(), 1, half); !s.ok()) return fail(s);
      absl::StatusOr<double> copy = TimeMsLikeDoBench(
          stream, [&] { return stream->CopyDeviceToDevice(dst->ptr(), src->ptr(), half); },
          "read");
      if (!copy.ok()) return fail(copy.status());
      f.copy_us_clean_l2 = *copy * 1e3;
    }
  }
  if (!GetFlags().external.empty()) {
    if (absl::Status s = TimeExternal(g, *r); !s.ok() && !absl::IsNotFound(s)) return fail(s);
  }
  f.pct_copy = copy_gbs > 0 ? 100.0 * f.gbs / copy_gbs : 0;

  const Flags& flags = GetFlags();
  if (!flags.save_npy.empty() && r->bytes <= flags.save_npy_max_mb * (int64_t{1} << 20)) {
    const std::string dir = absl::StrCat(flags.save_npy, "/", g.name());
    std::filesystem::create_directories(dir + "/inputs");
    std::filesystem::create_directories(dir + "/outputs");
    for (size_t i = 0; i < r->host_inputs.size(); ++i) {
      absl::Status s = runtime::WriteNpy(
          absl::StrCat(dir, "/inputs/", g.inputs()[i]->name(), ".npy"), r->host_inputs[i]);
      if (!s.ok()) return fail(s);
    }
    for (size_t i = 0; i < r->outputs.size(); ++i) {
      absl::StatusOr<runtime::Tensor> t = exe->ToHost(r->outputs[i]);
      if (!t.ok()) return fail(t.status());
      absl::Status s =
          runtime::WriteNpy(absl::StrCat(dir, "/outputs/", g.outputs()[i]->name(), ".npy"), *t);
      if (!s.ok()) return fail(s);
    }
    f.npy_dir = dir;
  }

  state.counters["us"] = f.us;
  state.counters["GB/s"] = f.gbs;
  state.counters["pct_copy"] = f.pct_copy;
  state.counters["cold_ms"] = f.cold_ms;
  state.counters["warm_ms"] = f.warm_ms;
  state.counters["warm_disk_ms"] = f.warm_disk_ms;
  const runtime::CompilePhases& wp = f.warm_phases;
  state.counters["warm_device_ms"] = wp.device_ms;
  state.counters["warm_lower_ms"] = wp.lower_ms;
  state.counters["warm_emit_ms"] = wp.emit_ms;
  state.counters["warm_lcache_ms"] = wp.lowering_cache_ms;
  state.counters["warm_cache_ms"] = wp.kernel_cache_ms;
  state.counters["warm_load_ms"] = wp.load_ms;
  state.counters["warm_tune_ms"] = wp.tune_ms;
  state.counters["cold_tune_ms"] = f.cold_phases.tune_ms;
  state.counters["warm_exe_ms"] = wp.executable_ms;
  if (f.warm_repeats > 0) {
    state.counters["warm_median_ms"] = f.warm_median_ms;
    state.counters["warm_max_ms"] = f.warm_max_ms;
  }
  state.counters["kernels"] = f.kernels;
  state.counters["fallbacks"] = f.fallbacks;
  state.SetLabel(r->device->device()->name());
  Figures& result = Results()[g.name()];
  f.parts_us = result.parts_us;  // BM_FallbackParts may have run first
  f.parts = result.parts;
  result = f;
}


// Median µs per run of `g` compiled for CUDA, on device inputs (as BM_Graph,
// without the compile timings).
absl::StatusOr<double> MeasureUs(const ir::Graph& g) {
  CompileOptions o;
  o.device = DeviceKind::kCuda;
  o.cuda.fast_math = GetFlags().fast_math;
  o.lowering.split_reductions = GetFlags().split_reductions;
  o.cache_dir = Unique(TempRoot() + "/sluice-gpu-bench-parts");
  absl::StatusOr<runtime::Executable> exe = Compile(g, o);
  std::filesystem::remove_all(o.cache_dir);
  if (!exe.ok()) return exe.status();
  absl::StatusOr<DeviceRun> r = PrepareRun(*exe, g);
  if (!r.ok()) return r.status();
  absl::StatusOr<double> ms = r->MedianMs(25);
  if (!ms.ok()) return ms.status();
  return *ms * 1e3;
}

bool MarkedFallback(const ir::Node& n) {
  const ir::AttrValue* v = n.meta().Find("should_fallback");
  return v != nullptr && v->is_bool() && v->as_bool();
}

using NodeMap = absl::flat_hash_map<const ir::Node*, ir::Node*>;

// Call node `n` (same op, attributes, metadata and name) for another graph,
// its value operands replaced through `made`.
ir::CallSpec CopyCall(const ir::Node& n, const NodeMap& made) {
  ir::CallSpec spec;
  spec.op = n.op();
  spec.attrs = n.attrs();
  spec.meta = n.meta();
  spec.name = n.name();
  for (const ir::Operand& o : n.operands()) {
    if (o.is_literal()) {
      spec.operands.emplace_back(o.literal());
    } else {
      spec.operands.emplace_back(made.at(o.node()));
    }
  }
  return spec;
}

// The graph of one node: its operands as inputs.
absl::StatusOr<ir::Graph> NodeAlone(const ir::Node& n) {
  ir::Graph g(absl::StrCat("part_", n.name()));
  NodeMap made;
  for (const ir::Operand& o : n.operands()) {
    if (o.is_literal() || made.contains(o.node())) continue;
    absl::StatusOr<ir::Node*> in = g.AddInput(o.node()->name(), o.node()->type());
    if (!in.ok()) return in.status();
    made[o.node()] = *in;
  }
  absl::StatusOr<ir::Node*> call = g.AddCall(CopyCall(n, made));
  if (!call.ok()) return call.status();
  if (absl::Status s = g.SetOutputs({*call}); !s.ok()) return s;
  return g;
}

// `g` with every node marked should_fallback replaced by an input.
absl::StatusOr<ir::Graph> WithoutMarked(const ir::Graph& g) {
  ir::Graph r(absl::StrCat(g.name(), "_rest"));
  NodeMap made;
  for (const ir::Node* n : g.nodes()) {
    if (n->is_input() || MarkedFallback(*n)) {
      absl::StatusOr<ir::Node*> in = r.AddInput(n->name(), n->type());
      if (!in.ok()) return in.status();
      made[n] = *in;
      continue;
    }
    absl::StatusOr<ir::Node*> call = r.AddCall(CopyCall(*n, made));
    if (!call.ok()) return call.status();
    made[n] = *call;
  }
  std::vector<ir::Node*> outs;
  for (const ir::Node* n : g.outputs()) outs.push_back(made.at(n));
  if (absl::Status s = r.SetOutputs(outs); !s.ok()) return s;
  return r;
}

// For a graph with nodes marked should_fallback: times each marked node
// alone and the rest of the graph, so that the whole graph's time can be
// compared with the sum of its parts (the boundary's own cost).
void BM_FallbackParts(benchmark::State& state, const std::string& path) {
  std::string why;
  if (!cu::CudaAvailable(&why)) {
    state.SkipWithError(("CUDA unavailable: " + why).c_str());
    return;
  }
  auto fail = [&](const absl::Status& s) { state.SkipWithError(std::string(s.message()).c_str()); };
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile(path);
  if (!graphs.ok()) return fail(graphs.status());
  const ir::Graph& g = (*graphs)[0];
  double total = 0;
  std::string parts;
  for (auto _ : state) {
    total = 0;
    parts.clear();
    for (const ir::Node* n : g.calls()) {
      if (!MarkedFallback(*n)) continue;
      absl::StatusOr<ir::Graph> alone = NodeAlone(*n);
      if (!alone.ok()) return fail(alone.status());
      absl::StatusOr<double> us = MeasureUs(*alone);
      if (!us.ok()) return fail(us.status());
      total += *us;
      absl::StrAppend(&parts, parts.empty() ? "" : " + ", n->op(), " ",
                      absl::StrFormat("%.1f", *us));
    }
    absl::StatusOr<ir::Graph> rest = WithoutMarked(g);
    if (!rest.ok()) return fail(rest.status());
    absl::StatusOr<double> us = MeasureUs(*rest);
    if (!us.ok()) return fail(us.status());
    total += *us;
    absl::StrAppend(&parts, " + rest ", absl::StrFormat("%.1f", *us));
    state.SetIterationTime(total / 1e6);
  }
  state.counters["parts_us"] = total;
  state.SetLabel(parts);
  Results()[g.name()].parts_us = total;
  Results()[g.name()].parts = parts;
}

#else  // !SLUICE_HAVE_CUDA

void BM_DeviceCopy(benchmark::State& state) {
  state.SkipWithError("sluice was built without CUDA");
}

void BM_Graph(benchmark::State& state, const std::string&) {
  state.SkipWithError("sluice was built without CUDA");
}

void BM_FallbackParts(benchmark::State& state, const std::string&) {
  state.SkipWithError("sluice was built without CUDA");
}

bool MarkedFallback(const ir::Node&) { return false; }

#endif  // SLUICE_HAVE_CUDA

void RegisterAll() {
  benchmark::RegisterBenchmark("BM_DeviceCopy", BM_DeviceCopy)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(1);
  const std::vector<benchmarks::GraphFile> files = benchmarks::ListGraphFiles(GetFlags().graphs);
  if (files.empty()) {
    fprintf(stderr, "gpu_bench: no .graph files in %s\n", GetFlags().graphs.c_str());
  }
  for (const benchmarks::GraphFile& f : files) {
    benchmark::RegisterBenchmark(("BM_Sluice/" + f.name).c_str(), BM_Graph, f.path)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(1);
    absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile(f.path);
    bool marked = false;
    if (graphs.ok() && !graphs->empty()) {
      for (const ir::Node* n : (*graphs)[0].calls()) marked = marked || MarkedFallback(*n);
    }
    if (marked) {
      benchmark::RegisterBenchmark(("BM_SluiceParts/" + f.name).c_str(), BM_FallbackParts, f.path)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond)
          ->Iterations(1);
    }
  }
}

// {"device_ms": .., "lower_ms": .., ...} of `p`.
std::string PhasesJson(const runtime::CompilePhases& p) {
  std::string out = "{";
  for (const auto& [name, field] : runtime::CompilePhases::Fields()) {
    absl::StrAppendFormat(&out, "\"%s\": %.4f, ", name, p.*field);
  }
  absl::StrAppendFormat(&out, "\"attempts\": %d}", p.attempts);
  return out;
}

// {"graph": {"us": .., "compile_cold_ms": .., "compile_warm_ms": .., ...,
// "compile_warm_phases": {..}, "compile_cold_phases": {..}, and with
// --warm_repeats: "compile_warm_repeats", "compile_warm_median_ms",
// "compile_warm_max_ms", "compile_warm_median_phases": {..}}}
bool WriteJson(const std::string& path) {
  std::ofstream out(path);
  out << "{";
  bool first = true;
  for (const auto& [name, f] : Results()) {
    out << (first ? "\n" : ",\n");
    first = false;
    out << absl::StrFormat(
        "  \"%s\": {\"us\": %.3f, \"compile_cold_ms\": %.3f, \"compile_warm_ms\": %.3f, "
        "\"gbs\": %.1f, \"pct_copy\": %.1f, \"copy_gbs\": %.1f, \"kernels\": %d, "
        "\"fallbacks\": %d, \"timing\": \"%s\", \"compile_warm_disk_ms\": %.3f",
        name, f.us, f.cold_ms, f.warm_ms, f.gbs, f.pct_copy, copy_gbs, f.kernels, f.fallbacks,
        GetFlags().timing, f.warm_disk_ms);
    out << ", \"compile_warm_phases\": " << PhasesJson(f.warm_phases)
        << ", \"compile_cold_phases\": " << PhasesJson(f.cold_phases)
        << ", \"compile_warm_disk_phases\": " << PhasesJson(f.warm_disk_phases);
    if (f.warm_repeats > 0) {
      out << absl::StrFormat(
                 ", \"compile_warm_repeats\": %d, \"compile_warm_median_ms\": %.4f, "
                 "\"compile_warm_max_ms\": %.4f, \"compile_warm_median_phases\": ",
                 f.warm_repeats, f.warm_median_ms, f.warm_max_ms)
          << PhasesJson(f.warm_median_phases);
    }
    if (f.us_clean_l2 > 0) {
      out << absl::StrFormat(
          ", \"us_clean_l2\": %.3f, \"copy_gbs_clean_l2\": %.1f, \"copy_us_clean_l2\": %.3f",
          f.us_clean_l2, copy_gbs_clean_l2, f.copy_us_clean_l2);
    }
    if (f.parts_us > 0) {
      out << absl::StrFormat(", \"parts_us\": %.3f, \"parts\": \"%s\"", f.parts_us, f.parts);
    }
    if (!f.npy_dir.empty()) {
      out << absl::StrFormat(", \"inputs_npy_dir\": \"%s/inputs\", \"outputs_npy_dir\": \"%s/outputs\"",
                             f.npy_dir, f.npy_dir);
    }
    out << "}";
  }
  out << "\n}\n";
  return static_cast<bool>(out);
}

void PrintTable() {
  printf("\n%-18s %10s %9s %8s %10s %10s %7s %9s\n", "graph", "us", "GB/s", "% copy", "cold ms",
         "warm ms", "kernels", "fallbacks");
  for (const auto& [name, f] : Results()) {
    printf("%-18s %10.1f %9.1f %8.1f %10.1f %10.3f %7d %9d\n", name.c_str(), f.us, f.gbs,
           f.pct_copy, f.cold_ms, f.warm_ms, f.kernels, f.fallbacks);
  }
  // Where the warm compiles spent their time; "other" is what no phase
  // covers (glue inside Compile, and outside it: the returned Executable's
  // move).
  printf("\nthe first warm compile's phases (lowering cache hit), ms; the median and maximum "
         "of %d more; the cold compile\n", GetFlags().warm_repeats);
  auto phases_row = [](const std::string& name, double ms, const runtime::CompilePhases& p) {
    const double other = ms - (p.device_ms + p.lower_ms + p.emit_ms + p.lowering_cache_ms +
                               p.kernel_cache_ms + p.load_ms + p.tune_ms + p.executable_ms);
    printf("%-18s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f", name.c_str(), ms,
           p.device_ms, p.lower_ms, p.emit_ms, p.lowering_cache_ms, p.kernel_cache_ms, p.load_ms,
           p.tune_ms, p.executable_ms, other);
  };
  printf("%-18s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %9s\n", "graph", "warm",
         "device", "lower", "emit", "lcache", "cache", "load", "tune", "exe", "other", "median",
         "max", "cold");
  for (const auto& [name, f] : Results()) {
    phases_row(name, f.warm_ms, f.warm_phases);
    printf(" %8.3f %8.3f %9.1f\n", f.warm_median_ms, f.warm_max_ms, f.cold_ms);
  }
  printf("\nthe warm compile without the lowering cache (lowered again, the cubin from disk), "
         "ms\n");
  printf("%-18s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "graph", "warm", "device", "lower",
         "emit", "lcache", "cache", "load", "tune", "exe", "other");
  for (const auto& [name, f] : Results()) {
    phases_row(name, f.warm_disk_ms, f.warm_disk_phases);
    printf("\n");
  }
  for (const auto& [name, f] : Results()) {
    if (f.parts_us > 0) {
      printf("%s: whole %.1f us vs its parts timed alone %.1f us (%s): boundary cost %+.1f us\n",
             name.c_str(), f.us, f.parts_us, f.parts.c_str(), f.us - f.parts_us);
    }
  }
  printf("device copy: %.0f GB/s (read + write)\n", copy_gbs);
  if (copy_gbs_clean_l2 > 0) {
    printf("device copy after a read-only L2 flush: %.0f GB/s; each graph so: us, %% of the "
           "larger 1 GiB copy figure, a copy of its bytes so (us), the graph's %% of that\n",
           copy_gbs_clean_l2);
    const double best = std::max(copy_gbs, copy_gbs_clean_l2);
    for (const auto& [name, f] : Results()) {
      if (f.us_clean_l2 <= 0 || f.us <= 0) continue;
      const double gbs = f.gbs * f.us / f.us_clean_l2;
      printf("  %-18s %10.1f %8.1f %10.1f %8.1f\n", name.c_str(), f.us_clean_l2,
             100.0 * gbs / best, f.copy_us_clean_l2, 100.0 * f.copy_us_clean_l2 / f.us_clean_l2);
    }
  }
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  sluice::Flags& flags = sluice::GetFlags();
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const std::string& name, std::string* out) {
      if (a == "--" + name && i + 1 < argc) {
        *out = argv[++i];
        return true;
      }
      if (a.rfind("--" + name + "=", 0) == 0) {
        *out = a.substr(name.size() + 3);
        return true;
      }
      return false;
    };
    std::string mb;
    if (value("graphs", &flags.graphs) || value("sluice_json", &flags.sluice_json) ||
        value("save_npy", &flags.save_npy) || value("external", &flags.external)) {
      continue;
    }
    if (a == "--fast_math") {
      flags.fast_math = true;
      continue;
    }
    if (a == "--no_clean_l2") {
      flags.clean_l2 = false;
      continue;
    }
    if (a == "--no_split_reductions") {
      flags.split_reductions = false;
      continue;
    }
    if (value("timing", &flags.timing)) {
      if (flags.timing != "dobench" && flags.timing != "back_to_back") {
        fprintf(stderr, "gpu_bench: --timing is dobench or back_to_back, not '%s'\n",
                flags.timing.c_str());
        return 2;
      }
      continue;
    }
    if (value("flush", &flags.flush)) {
      if (flags.flush != "memset32" && flags.flush != "memset8" && flags.flush != "kernel" &&
          flags.flush != "read" && flags.flush != "none") {
        fprintf(stderr, "gpu_bench: --flush is memset32, memset8, kernel, read or none, not '%s'\n",
                flags.flush.c_str());
        return 2;
      }
      continue;
    }
    std::string ms;
    double* span = value("dobench_warmup_ms", &ms) ? &flags.dobench_warmup_ms
                   : value("dobench_rep_ms", &ms)  ? &flags.dobench_rep_ms
                                                   : nullptr;
    if (span != nullptr) {
      const double v = std::atof(ms.c_str());
      if (!(v > 0)) {
        fprintf(stderr, "gpu_bench: %s needs a positive number of ms\n", a.c_str());
        return 2;
      }
      *span = v;
      continue;
    }
    std::string repeats;
    if (value("warm_repeats", &repeats)) {
      flags.warm_repeats = std::max(0, std::atoi(repeats.c_str()));
      continue;
    }
    if (value("save_npy_max_mb", &mb)) {
      flags.save_npy_max_mb = std::atoll(mb.c_str());
      continue;
    }
    rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;
  sluice::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  sluice::PrintTable();
  if (!flags.sluice_json.empty()) {
    if (!sluice::WriteJson(flags.sluice_json)) {
      fprintf(stderr, "gpu_bench: cannot write %s\n", flags.sluice_json.c_str());
      return 1;
    }
    printf("wrote %s\n", flags.sluice_json.c_str());
  }
  return 0;
}
