// A Google Benchmark binary with the library's own main(), as benchmarks/ will
// write them: checks that @benchmark//:benchmark_main links.

#include <cmath>

#include "benchmark/benchmark.h"

namespace {

void BM_Exp(benchmark::State& state) {
  float x = 0.5f;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x = std::exp(-x));
  }
}
BENCHMARK(BM_Exp);

}  // namespace
