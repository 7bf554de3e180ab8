#include "passes/cse.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/golden.h"
#include "passes/lowering_plan.h"

namespace sluice::passes {
namespace {

TEST(CseTest, GoldenCases) {
  absl::Status s = RunGoldenTestFile("passes/testdata/cse.graph");
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(CseTest, ReportsChangeAndKeepsMetadataAndLocation) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[4]) {
  %a = exp(%x) {tag = "first"}
  %b = exp(%x) {tag = "first"}
  %c = add(%a, %b)
  return %c
})",
                                               "m.graph");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<bool> changed = EliminateCommonSubexpressions(&*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(ir::Verify(*g).ok());
  EXPECT_EQ(g->FindNode("b"), nullptr);
  const ir::Node* a = g->FindNode("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a->meta().Find("tag"), ir::AttrValue("first"));
  EXPECT_EQ(a->location().line, 2);
  EXPECT_EQ(g->FindNode("c")->operand_node(0), a);
  EXPECT_EQ(g->FindNode("c")->operand_node(1), a);

  const std::string once = ir::PrintGraph(*g);
  changed = EliminateCommonSubexpressions(&*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  EXPECT_EQ(ir::PrintGraph(*g), once);
}

TEST(CseTest, PlanDecisionsKeepNodesApart) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[4]) {
  %a = exp(%x)
  %b = exp(%x)
  return %a, %b
})");
  ASSERT_TRUE(g.ok()) << g.status();
  LoweringPlan plan;
  plan.entries.push_back({"a", "exp", Decision::kLower, Rule::kDefault, "", -1});
  plan.entries.push_back({"b", "exp", Decision::kFallback, Rule::kFallbackOp, "", -1});
  absl::StatusOr<bool> changed = EliminateCommonSubexpressions(&*g, &plan);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  // Without the plan they are one value.
  changed = EliminateCommonSubexpressions(&*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
}

TEST(CseTest, NanLiteralsAreEqualAndSignedZerosAreNot) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[4]) {
  %a = add(%x, nan)
  %b = add(%x, nan)
  %c = mul(%x, 0.0)
  %d = mul(%x, -0.0)
  return %a, %b, %c, %d
})");
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(EliminateCommonSubexpressions(&*g).ok());
  EXPECT_EQ(g->FindNode("b"), nullptr);
  EXPECT_NE(g->FindNode("d"), nullptr);
}

TEST(CseTest, PassName) {
  CsePass pass;
  EXPECT_EQ(pass.name(), "cse");
}

}  // namespace
}  // namespace sluice::passes
