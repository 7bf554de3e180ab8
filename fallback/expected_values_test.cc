// Every fallback op x dtype against values NumPy computed
// (tools/gen_fallback_expected.py -> testdata/fallback). Each graph of
// testdata/fallback/cases.graph becomes one test, ExpectedValues.<case>: its
// single node runs through RunNode on the case's input .npy files and must
// match <case>.out.npy in dtype, shape and (per-dtype tolerance) values.
// Coverage.EveryKernelHasACase fails when a registered (op, dtype) kernel has
// no case.
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "fallback/kernel_registry.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "ir/parser.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"
#include "testing/allclose.h"

namespace sluice::fallback {
namespace {

std::string DataDir() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/testdata/fallback");
  }
  return "testdata/fallback";
}

// NumPy computes in float64 and rounds once; the kernels compute in the
// dtype's opmath type (f32 for f16/bf16), sometimes with Eigen's vectorized
// approximations (a few ulp). About two ulp of each dtype, NaN == NaN.
testing::Tolerance ToleranceFor(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::kF32: return {1e-5, 1e-6, true};
    case ir::DType::kF16: return {2e-3, 1e-4, true};
    case ir::DType::kBF16: return {1.6e-2, 1e-3, true};
    case ir::DType::kF64: return {1e-9, 1e-12, true};
    default: return {0, 0, true};
  }
}

const ir::Node& OnlyCall(const ir::Graph& g) { return *g.calls().front(); }

class ExpectedValueTest : public ::testing::Test {
 public:
  explicit ExpectedValueTest(const ir::Graph* graph) : graph_(graph) {}

  void TestBody() override {
    const std::string dir = DataDir();
    const std::string& name = graph_->name();
    ASSERT_EQ(graph_->calls().size(), 1u) << name;
    const ir::Node& node = OnlyCall(*graph_);
    std::vector<runtime::Tensor> args(node.num_operands());
    for (int i = 0; i < node.num_operands(); ++i) {
      if (node.operand(i).is_literal()) continue;
      const int input = node.operand_node(i)->index();  // inputs come first
      absl::StatusOr<runtime::Tensor> t =
          runtime::ReadNpy(absl::StrCat(dir, "/", name, ".in", input, ".npy"));
      ASSERT_TRUE(t.ok()) << t.status();
      args[i] = *std::move(t);
    }
    absl::StatusOr<runtime::Tensor> expected =
        runtime::ReadNpy(absl::StrCat(dir, "/", name, ".out.npy"));
    ASSERT_TRUE(expected.ok()) << expected.status();
    // The IR must infer the type NumPy's result has (PyTorch's rules).
    ASSERT_EQ(node.type(), expected->type()) << node.ToString();

    runtime::Tensor actual = runtime::Tensor::Zeros(node.type());
    absl::Status status = RunNode(node, args, actual);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_ALLCLOSE_TOL(actual, *expected, ToleranceFor(node.dtype())) << node.ToString();
  }

 private:
  const ir::Graph* graph_;
};

std::vector<ir::Graph>* LoadCases() {
  static auto* cases = new std::vector<ir::Graph>();
  absl::StatusOr<std::vector<ir::Graph>> parsed = ir::ParseFile(DataDir() + "/cases.graph");
  if (parsed.ok()) *cases = *std::move(parsed);
  return cases;
}

TEST(Coverage, CasesLoaded) {
  absl::StatusOr<std::vector<ir::Graph>> parsed = ir::ParseFile(DataDir() + "/cases.graph");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_GT(parsed->size(), 300u);
}

TEST(Coverage, EveryKernelHasACase) {
  absl::StatusOr<std::vector<ir::Graph>> parsed = ir::ParseFile(DataDir() + "/cases.graph");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  std::set<std::pair<std::string, ir::DType>> covered;
  for (const ir::Graph& g : *parsed) {
    const ir::Node& node = OnlyCall(g);
    covered.insert({node.op(), node.dtype()});
  }
  const KernelRegistry& registry = KernelRegistry::Cpu();
  for (const std::string& op : registry.Ops()) {
    for (ir::DType dtype : registry.DTypes(op)) {
      EXPECT_TRUE(covered.count({op, dtype}))
          << "no testdata/fallback case for " << op << " -> " << ir::DTypeName(dtype);
    }
  }
}

}  // namespace
}  // namespace sluice::fallback

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (const sluice::ir::Graph& g : *sluice::fallback::LoadCases()) {
    ::testing::RegisterTest(
        "ExpectedValues", g.name().c_str(), nullptr, nullptr, __FILE__, __LINE__,
        [&g]() -> ::testing::Test* { return new sluice::fallback::ExpectedValueTest(&g); });
  }
  return RUN_ALL_TESTS();
}
