// CPU benchmarks of sluice's generated kernels against the reference
// interpreter (fallback::RunReference, Eigen on a thread pool) in the same
// run, with a copy of the same size as the bandwidth yardstick, plus the
// compile time of a 20-node graph cold (empty kernel cache) and warm (cache
// hit). Run with `bazel run -c opt //benchmarks:cpu_bench`; figures and the
// machine they came from are in benchmarks/README.md.
//
// GB/s counters count each input read once and each output written once
// (the copy: 64 MiB read + 64 MiB written).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "fallback/interpreter.h"
#include "ir/parser.h"
#include "runtime/executable.h"
#include "runtime/tensor.h"
#include "sluice/compile.h"
#include "testing/random.h"

namespace sluice {
namespace {

constexpr int64_t kElements = int64_t{16} << 20;  // 16M f32

std::string CacheDir() {
  const char* d = std::getenv("SLUICE_BENCH_CACHE_DIR");
  return d != nullptr ? d : absl::StrCat("/tmp/sluice-bench-cache-", getuid());
}

struct Prepared {
  ir::Graph graph;
  std::unique_ptr<runtime::Executable> exe;
  std::vector<runtime::Tensor> inputs;
  int64_t bytes = 0;  // inputs read once + outputs written once
};

Prepared Prepare(const std::string& text) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  if (!g.ok()) {
    fprintf(stderr, "%s\n", std::string(g.status().message()).c_str());
    std::abort();
  }
  Prepared p{*std::move(g), nullptr, {}, 0};
  CompileOptions o;
  o.cache_dir = CacheDir();
  absl::StatusOr<runtime::Executable> exe = Compile(p.graph, o);
  if (!exe.ok()) {
    fprintf(stderr, "%s\n", std::string(exe.status().message()).c_str());
    std::abort();
  }
  p.exe = std::make_unique<runtime::Executable>(*std::move(exe));
  for (const ir::Node* n : p.graph.inputs()) {
    p.inputs.push_back(sluice::testing::RandomNormal(n->type(), p.inputs.size() + 1));
    p.bytes += p.inputs.back().nbytes();
  }
  for (const ir::Node* n : p.graph.outputs()) {
    p.bytes += n->shape().num_elements() * ir::DTypeSize(n->dtype());
  }
  return p;
}

void SetBytes(benchmark::State& state, int64_t bytes) {
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void RunSluice(benchmark::State& state, const std::string& text) {
  Prepared p = Prepare(text);
  for (auto _ : state) {
    auto out = p.exe->Run(p.inputs);
    if (!out.ok()) state.SkipWithError(std::string(out.status().message()).c_str());
    benchmark::DoNotOptimize(out);
  }
  SetBytes(state, p.bytes);
}

// Into caller-provided outputs: the kernels' own time, without allocating
// (and zero-filling) fresh output tensors on every run.
void RunSluiceInto(benchmark::State& state, const std::string& text) {
  Prepared p = Prepare(text);
  std::vector<runtime::Tensor> out;
  for (const ir::Node* n : p.graph.outputs()) out.push_back(runtime::Tensor::Zeros(n->type()));
  for (auto _ : state) {
    absl::Status s = p.exe->RunInto(p.inputs, absl::MakeSpan(out));
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(out[0].data());
  }
  SetBytes(state, p.bytes);
}

void RunReference(benchmark::State& state, const std::string& text) {
  Prepared p = Prepare(text);
  for (auto _ : state) {
    auto out = fallback::RunReference(p.graph, p.inputs);
    if (!out.ok()) state.SkipWithError(std::string(out.status().message()).c_str());
    benchmark::DoNotOptimize(out);
  }
  SetBytes(state, p.bytes);
}

// ---- memory bandwidth yardstick -----------------------------------------------------

void BM_Copy16M(benchmark::State& state) {
  runtime::Tensor src = sluice::testing::RandomNormal({ir::DType::kF32, {kElements}}, 1);
  for (auto _ : state) {
    // Fresh output per iteration, like Executable::Run's output tensors.
    runtime::Tensor dst = runtime::Tensor::Zeros(ir::DType::kF32, {kElements});
    std::memcpy(dst.data(), src.data(), static_cast<size_t>(src.nbytes()));
    benchmark::DoNotOptimize(dst.data());
  }
  SetBytes(state, 2 * src.nbytes());
}
BENCHMARK(BM_Copy16M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CopyPreallocated16M(benchmark::State& state) {
  runtime::Tensor src = sluice::testing::RandomNormal({ir::DType::kF32, {kElements}}, 1);
  runtime::Tensor dst = runtime::Tensor::Zeros(ir::DType::kF32, {kElements});
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), static_cast<size_t>(src.nbytes()));
    benchmark::DoNotOptimize(dst.data());
  }
  SetBytes(state, 2 * src.nbytes());
}
BENCHMARK(BM_CopyPreallocated16M)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- a 5-op elementwise chain, 16M f32 ------------------------------------------------

const std::string kChain = R"(
graph chain(%x: f32[16777216], %y: f32[16777216]) {
  %a = mul(%x, %y)
  %b = add(%a, 1.0)
  %c = relu(%b)
  %d = sigmoid(%c)
  %e = mul(%d, %x)
  return %e
})";
void BM_Chain5_Sluice(benchmark::State& s) { RunSluice(s, kChain); }
void BM_Chain5_Reference(benchmark::State& s) { RunReference(s, kChain); }
void BM_Chain5_SluiceInto(benchmark::State& s) { RunSluiceInto(s, kChain); }
BENCHMARK(BM_Chain5_Sluice)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Chain5_SluiceInto)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Chain5_Reference)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- softmax and layer_norm, 4096 x 4096 f32 ---------------------------------------------

const std::string kSoftmax = R"(
graph softmax(%x: f32[4096, 4096]) {
  %s = softmax(%x, dim = -1)
  return %s
})";
void BM_Softmax4096_Sluice(benchmark::State& s) { RunSluice(s, kSoftmax); }
void BM_Softmax4096_Reference(benchmark::State& s) { RunReference(s, kSoftmax); }
void BM_Softmax4096_SluiceInto(benchmark::State& s) { RunSluiceInto(s, kSoftmax); }
BENCHMARK(BM_Softmax4096_Sluice)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Softmax4096_SluiceInto)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Softmax4096_Reference)->Unit(benchmark::kMillisecond)->UseRealTime();

const std::string kLayerNorm = R"(
graph layer_norm(%x: f32[4096, 4096], %w: f32[4096], %b: f32[4096]) {
  %y = layer_norm(%x, %w, %b, normalized_shape = [4096])
  return %y
})";
void BM_LayerNorm4096_Sluice(benchmark::State& s) { RunSluice(s, kLayerNorm); }
void BM_LayerNorm4096_Reference(benchmark::State& s) { RunReference(s, kLayerNorm); }
void BM_LayerNorm4096_SluiceInto(benchmark::State& s) { RunSluiceInto(s, kLayerNorm); }
BENCHMARK(BM_LayerNorm4096_Sluice)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LayerNorm4096_SluiceInto)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LayerNorm4096_Reference)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- compile time of a 20-node graph -------------------------------------------------------

const std::string k20Nodes = R"(
graph twenty(%x: f32[256, 512], %y: f32[256, 512], %w: f32[512], %b: f32[512]) {
  %n0 = mul(%x, %y)
  %n1 = add(%n0, 1.0)
  %n2 = tanh(%n1)
  %n3 = sigmoid(%n2)
  %n4 = mul(%n3, %x)
  %n5 = softmax(%n4, dim = -1)
  %n6 = layer_norm(%n5, %w, %b, normalized_shape = [512])
  %n7 = exp(%n6)
  %n8 = sum(%n7, dims = [1], keepdim = true)
  %n9 = div(%n7, %n8)
  %n10 = sub(%n9, %y)
  %n11 = abs(%n10)
  %n12 = sqrt(%n11)
  %n13 = amax(%n12, dims = [0])
  %n14 = add(%n12, %n13)
  %n15 = transpose(%n14, dim0 = 0, dim1 = 1)
  %n16 = relu(%n15)
  %n17 = mean(%n16, dims = [1])
  %n18 = neg(%n17)
  %n19 = gelu(%n16)
  return %n18, %n19
})";

// Cold: a fresh cache directory every iteration, so the host compiler runs.
void BM_Compile20Nodes_Cold(benchmark::State& state) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(k20Nodes);
  int i = 0;
  for (auto _ : state) {
    CompileOptions o;
    o.cache_dir = absl::StrCat(CacheDir(), "-cold-", getpid(), "-", i++);
    auto exe = Compile(*g, o);
    if (!exe.ok() || exe->cache_hit()) state.SkipWithError("cold compile failed or hit");
    state.PauseTiming();
    std::string cmd = absl::StrCat("rm -rf '", o.cache_dir, "'");
    if (std::system(cmd.c_str()) != 0) state.SkipWithError("cleanup failed");
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Compile20Nodes_Cold)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_Compile20Nodes_Warm(benchmark::State& state) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(k20Nodes);
  CompileOptions o;
  o.cache_dir = CacheDir();
  if (!Compile(*g, o).ok()) state.SkipWithError("priming compile failed");
  for (auto _ : state) {
    auto exe = Compile(*g, o);
    if (!exe.ok() || !exe->cache_hit()) state.SkipWithError("warm compile missed the cache");
    benchmark::DoNotOptimize(exe);
  }
}
BENCHMARK(BM_Compile20Nodes_Warm)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sluice
