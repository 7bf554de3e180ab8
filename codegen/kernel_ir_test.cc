#include "codegen/kernel_ir.h"

#include <string>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/fuse.h"
#include "passes/lowering_plan.h"
#include "passes/pipeline.h"
#include "passes/test_capabilities.h"
#include "testing/filecheck.h"

namespace sluice::codegen {
namespace {

IndexExpr X(int64_t extent = 100) { return IndexExpr::Var(kOuterVar, "x0", extent); }
IndexExpr R(int64_t extent = 16) { return IndexExpr::Var(kInnerVar, "r0", extent); }

TEST(IndexExprTest, FoldsConstantsAndIdentities) {
  EXPECT_EQ((IndexExpr::Const(3) * 4 + IndexExpr::Const(2)).ToString(), "14");
  EXPECT_EQ((X() * 1 + IndexExpr::Const(0)).ToString(), "x0");
  EXPECT_EQ(X().FloorDiv(1).ToString(), "x0");
  EXPECT_EQ(X().Mod(1).ToString(), "0");
  EXPECT_EQ((X() - X()).ToString(), "0");
  EXPECT_EQ((X() * 2 + X() * 3).ToString(), "x0*5");
  EXPECT_EQ(IndexExpr::Var(kOuterVar, "x0", 1).ToString(), "0");
}

TEST(IndexExprTest, SimplifiesDivAndModOfRowMajorIndices) {
  const IndexExpr flat = X() * 16 + R(16);
  EXPECT_EQ(flat.FloorDiv(16).ToString(), "x0");
  EXPECT_EQ(flat.Mod(16).ToString(), "r0");
  EXPECT_EQ(flat.FloorDiv(16).Mod(100).ToString(), "x0");  // mod by its own extent
  EXPECT_EQ(R(16).Mod(16).ToString(), "r0");
  EXPECT_EQ(R(16).FloorDiv(16).ToString(), "0");
  // Not simplifiable: r0 spans two rows of 8.
  EXPECT_EQ(flat.FloorDiv(8).ToString(), "(r0 / 8) + x0*2");
  EXPECT_EQ(flat.Mod(8).ToString(), "(r0 % 8)");
  // Nested divisions merge; a mod of a mod by a divisor collapses.
  EXPECT_EQ(X(1000).FloorDiv(4).FloorDiv(5).ToString(), "(x0 / 20)");
  EXPECT_EQ(X(1000).Mod(20).Mod(5).ToString(), "(x0 % 5)");
  // A sum divided keeps its parentheses (C precedence).
  EXPECT_EQ((R(16) * 2 + X(100)).Mod(7).ToString(), "((r0*2 + x0) % 7)");
}

TEST(IndexExprTest, MinMaxUseBounds) {
  EXPECT_EQ(IndexExpr::Min(R(16), IndexExpr::Const(20)).ToString(), "r0");
  EXPECT_EQ(IndexExpr::Max(R(16), IndexExpr::Const(0)).ToString(), "r0");
  EXPECT_EQ(IndexExpr::Min(R(16), IndexExpr::Const(7)).ToString(), "min(r0, 7)");
  const IndexExpr e = IndexExpr::Max(R(16) - IndexExpr::Const(4), IndexExpr::Const(0));
  EXPECT_EQ(e.ToString(), "max(r0 - 4, 0)");
  EXPECT_EQ(e.lo(), 0);
  EXPECT_EQ(e.hi(), 11);
  EXPECT_TRUE(e.DependsOnVar(kInnerVar));
  EXPECT_FALSE(e.DependsOnVar(kOuterVar));
}

// Golden kernel dumps: each case's graph runs through the pipeline (matmul
// as a library call), fusion and BuildKernel; the checks see every kernel.
absl::StatusOr<std::string> DumpKernels(const testing::GoldenCase& c) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(c.input);
  if (!g.ok()) return g.status();
  passes::TestBackendSpec spec;
  spec.library_ops = {"matmul"};
  absl::StatusOr<passes::LoweringPlan> plan = passes::RunLoweringPipeline(
      &*g, passes::LoweringOptions(), passes::MakeTestCapabilities(spec));
  if (!plan.ok()) return plan.status();
  absl::StatusOr<passes::Schedule> s = passes::Fuse(*g, &*plan);
  if (!s.ok()) return s.status();
  std::string out;
  for (const passes::Step& step : s->steps) {
    if (step.kind != passes::StepKind::kKernel) {
      out += std::string(passes::StepKindName(step.kind)) + " " + step.nodes[0]->name() + "\n";
      continue;
    }
    absl::StatusOr<Kernel> k = BuildKernel(*g, step, "k" + std::to_string(step.id));
    if (!k.ok()) return k.status();
    out += k->ToString();
  }
  return out;
}

TEST(KernelIrGoldenTest, Cases) {
  absl::Status s = testing::RunGoldenFile("codegen/testdata/kernel_ir.graph", DumpKernels);
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace sluice::codegen
