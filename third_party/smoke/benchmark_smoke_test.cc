// Checks that @benchmark links and runs a registered benchmark.

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "gtest/gtest.h"

namespace {

void BM_Accumulate(benchmark::State& state) {
  std::vector<float> v(static_cast<size_t>(state.range(0)), 1.0f);
  for (auto _ : state) {
    float sum = 0;
    for (float x : v) sum += x;
    benchmark::DoNotOptimize(sum);
  }
}

// Records what ran instead of printing it.
class RecordingReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      names.push_back(run.benchmark_name());
      iterations += run.iterations;
    }
  }
  std::vector<std::string> names;
  int64_t iterations = 0;
};

TEST(BenchmarkSmokeTest, RunsRegisteredBenchmark) {
  benchmark::RegisterBenchmark("BM_Accumulate", BM_Accumulate)->Arg(64)->Iterations(10);
  int argc = 1;
  char arg0[] = "benchmark_smoke_test";
  char* argv[] = {arg0, nullptr};
  benchmark::Initialize(&argc, argv);
  RecordingReporter reporter;
  size_t ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  EXPECT_EQ(ran, 1u);
  ASSERT_EQ(reporter.names.size(), 1u);
  EXPECT_EQ(reporter.names[0], "BM_Accumulate/64/iterations:10");
  EXPECT_EQ(reporter.iterations, 10);
}

}  // namespace
