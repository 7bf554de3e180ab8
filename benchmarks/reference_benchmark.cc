// The reference interpreter (fallback::RunReference: Eigen kernels on the
// process-wide CPU thread pool, every value materialized) on two graphs:
//   chain5   sigmoid(relu(x * y + 1)) * x over 16M f32 (5 elementwise ops)
//   softmax  softmax(x, dim = -1) over 4096 x 4096 f32
// Run with `bazel run -c opt //benchmarks:reference_benchmark`.
//
// bytes_per_second counts each graph input read once and each output written
// once (the floor a fused kernel could reach), not the intermediate traffic
// the interpreter really does.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "fallback/interpreter.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "ir/parser.h"
#include "runtime/tensor.h"
#include "testing/random.h"

namespace sluice {
namespace {

struct Prepared {
  ir::Graph graph;
  std::vector<runtime::Tensor> inputs;
  int64_t bytes = 0;
};

Prepared Prepare(const std::string& text) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  if (!g.ok()) {
    std::fprintf(stderr, "%s\n", std::string(g.status().message()).c_str());
    std::abort();
  }
  Prepared p{*std::move(g), {}, 0};
  for (const ir::Node* n : p.graph.inputs()) {
    p.inputs.push_back(testing::RandomNormal(n->type(), p.inputs.size() + 1));
    p.bytes += p.inputs.back().nbytes();
  }
  for (const ir::Node* n : p.graph.outputs()) {
    p.bytes += n->shape().num_elements() * ir::DTypeSize(n->dtype());
  }
  return p;
}

void Run(benchmark::State& state, const Prepared& p) {
  for (auto _ : state) {
    absl::StatusOr<std::vector<runtime::Tensor>> out = fallback::RunReference(p.graph, p.inputs);
    if (!out.ok()) {
      state.SkipWithError(std::string(out.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(out->front().data());
  }
  state.SetBytesProcessed(state.iterations() * p.bytes);
}

void BM_Chain5Elementwise16M(benchmark::State& state) {
  static const Prepared* p = new Prepared(Prepare(R"(
graph chain5(%x: f32[16777216], %y: f32[16777216]) {
  %a = mul(%x, %y)
  %b = add(%a, 1.0)
  %c = relu(%b)
  %d = sigmoid(%c)
  %e = mul(%d, %x)
  return %e
}
)"));
  Run(state, *p);
}
BENCHMARK(BM_Chain5Elementwise16M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Softmax4096x4096(benchmark::State& state) {
  static const Prepared* p = new Prepared(Prepare(R"(
graph softmax(%x: f32[4096, 4096]) {
  %y = softmax(%x, dim = -1)
  return %y
}
)"));
  Run(state, *p);
}
BENCHMARK(BM_Softmax4096x4096)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sluice
