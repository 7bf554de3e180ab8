// Differential property test: seeded random graphs (testing/random_graph.h)
// times random should_fallback masks, each compiled by sluice::Compile for
// each device ("cpu", "cuda"; the cuda cases skip, with the reason, without a
// GPU) and compared with the reference interpreter. A failure prints the seed, the
// graph text (with the mask applied, so it replays as is) and the mask.
//
// The host compile dominates the run time (one translation unit per graph),
// so the graph count is bounded; SLUICE_DIFFERENTIAL_GRAPHS, _NODES and _SEED
// override count, size and first seed for longer local runs. Compiles go
// through one kernel cache directory.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fallback/interpreter.h"
#include "gtest/gtest.h"
#include "ir/printer.h"
#include "passes/lowering_plan.h"
#include "runtime/cuda/test_util.h"
#include "runtime/executable.h"
#include "sluice/compile.h"
#include "testing/allclose.h"
#include "testing/random.h"
#include "testing/random_graph.h"

namespace sluice {
namespace {

int NumGraphs() {
  if (const char* n = std::getenv("SLUICE_DIFFERENTIAL_GRAPHS")) return std::atoi(n);
  return 24;
}

// Generation steps per graph (SLUICE_DIFFERENTIAL_NODES overrides).
int NumNodes(int fallback) {
  if (const char* n = std::getenv("SLUICE_DIFFERENTIAL_NODES")) return std::atoi(n);
  return fallback;
}

// First seed (SLUICE_DIFFERENTIAL_SEED overrides, to explore other graphs).
uint64_t BaseSeed(uint64_t fallback) {
  if (const char* n = std::getenv("SLUICE_DIFFERENTIAL_SEED")) return std::strtoull(n, nullptr, 10);
  return fallback;
}

sluice::testing::Tolerance ToleranceFor(ir::DType d) {
  sluice::testing::Tolerance tol = sluice::testing::DefaultTolerance(d);
  // Fused f16/bf16 intermediates stay in f32 (Inductor-style) where the
  // reference rounds after every op.
  if (d == ir::DType::kF16) tol = {1e-2, 1e-2};
  if (d == ir::DType::kBF16) tol = {6e-2, 6e-2};
  if (d == ir::DType::kF32) tol = {1e-4, 1e-5};
  tol.equal_nan = true;
  return tol;
}

void CheckOne(DeviceKind device, uint64_t seed,
              const sluice::testing::RandomGraphOptions& options, double p) {
  absl::StatusOr<ir::Graph> g = sluice::testing::RandomGraph(seed, options);
  ASSERT_TRUE(g.ok()) << g.status();
  const std::vector<uint8_t> mask = sluice::testing::RandomFallbackMask(*g, seed * 31 + 1, p);
  sluice::testing::ApplyFallbackMask(*g, mask);
  const std::string replay =
      absl::StrCat("seed ", seed, ", mask [", absl::StrJoin(mask, ""), "]\n", ir::PrintGraph(*g));
  CompileOptions o;
  o.device = device;
  if (const char* tmp = std::getenv("TEST_TMPDIR")) o.cache_dir = std::string(tmp) + "/cache";
  absl::StatusOr<runtime::Executable> exe = Compile(*g, o);
  ASSERT_TRUE(exe.ok()) << exe.status() << "\n" << replay;
  // Every masked node must really have fallen back.
  for (const passes::NodeDecision& e : exe->plan().entries) {
    const ir::Node* n = g->FindNode(e.node);
    if (n != nullptr && n->meta().Has("should_fallback")) {
      EXPECT_EQ(e.decision, passes::Decision::kFallback) << e.node << "\n" << replay;
    }
  }
  const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, seed);
  absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
  ASSERT_TRUE(out.ok()) << out.status() << "\n" << replay;
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
  ASSERT_TRUE(ref.ok()) << ref.status() << "\n" << replay;
  ASSERT_EQ(out->size(), ref->size());
  for (size_t i = 0; i < out->size(); ++i) {
    const sluice::testing::AllCloseResult r =
        sluice::testing::AllClose((*out)[i], (*ref)[i], ToleranceFor((*ref)[i].dtype()));
    EXPECT_TRUE(r.ok) << "output " << i << ": " << r.message << "\n"
                      << replay << "\nsteps:\n"
                      << exe->StepsToString() << "kernels:\n"
                      << exe->kernel_ir();
  }
}

class DifferentialTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "cuda") SLUICE_SKIP_WITHOUT_CUDA();
  }
  DeviceKind device() const { return GetParam() == "cuda" ? DeviceKind::kCuda : DeviceKind::kCpu; }
};

TEST_P(DifferentialTest, RandomGraphsF32) {
  sluice::testing::RandomGraphOptions options;
  options.num_nodes = NumNodes(8);
  const uint64_t base = BaseSeed(1000);
  for (int i = 0; i < NumGraphs(); ++i) {
    SCOPED_TRACE(absl::StrCat("graph seed ", base + i));
    CheckOne(device(), base + i, options, i % 3 == 0 ? 0.0 : 0.25);
  }
}

TEST_P(DifferentialTest, RandomGraphsMixedDTypes) {
  sluice::testing::RandomGraphOptions options;
  options.num_nodes = NumNodes(6);
  options.dtypes = {ir::DType::kF32, ir::DType::kF16, ir::DType::kBF16, ir::DType::kF64,
                    ir::DType::kI32, ir::DType::kI64, ir::DType::kBool};
  const uint64_t base = BaseSeed(1000) + 4000;
  for (int i = 0; i < NumGraphs() / 2; ++i) {
    SCOPED_TRACE(absl::StrCat("graph seed ", base + i));
    CheckOne(device(), base + i, options, 0.3);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, DifferentialTest, ::testing::Values("cpu", "cuda"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice
