#include "passes/decompose.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/golden.h"
#include "passes/lowering_plan.h"
#include "passes/selective_lowering.h"
#include "passes/test_capabilities.h"

namespace sluice::passes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DecomposeTest, GoldenCases) {
  absl::Status s = RunGoldenTestFile("passes/testdata/decompose.graph");
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(DecomposeTest, DecomposableOps) {
  EXPECT_THAT(DecomposableOps(), ElementsAre("gelu", "layer_norm", "log_softmax", "mean",
                                             "rms_norm", "silu", "softmax"));
  for (const char* op :
       {"softmax", "log_softmax", "layer_norm", "rms_norm", "gelu", "silu", "mean"}) {
    EXPECT_TRUE(IsDecomposable(op)) << op;
  }
  for (const char* op : {"sum", "amax", "exp", "sigmoid", "matmul", "cast", "where", "full"}) {
    EXPECT_FALSE(IsDecomposable(op)) << op;
  }
}

// Every node a composite becomes keeps all its metadata and its location;
// the last one keeps its name, so the graph's users and outputs are intact.
TEST(DecomposeTest, NodesKeepMetadataLocationAndTheFinalName) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[2, 8], %w: f32[8]) {
  %n = layer_norm(%x, %w, normalized_shape = [8]) {owner = "attn", step = 3}
  %y = relu(%n)
  return %y, %n
})",
                                               "model.graph");
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::Location loc = g->FindNode("n")->location();
  ASSERT_EQ(loc.line, 2);
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(*g, {}, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<bool> changed = Decompose(&*g, *plan);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(ir::Verify(*g).ok());

  int parts = 0;
  for (const ir::Node* n : g->calls()) {
    if (n->name() == "y") {
      EXPECT_EQ(n->operand_node(0), g->FindNode("n"));
      EXPECT_TRUE(n->meta().empty());
      continue;
    }
    ++parts;
    EXPECT_NE(n->op(), "layer_norm");
    EXPECT_EQ(n->meta().size(), 3u) << n->ToString();
    EXPECT_EQ(*n->meta().Find("owner"), ir::AttrValue("attn"));
    EXPECT_EQ(*n->meta().Find("step"), ir::AttrValue(3));
    EXPECT_EQ(*n->meta().Find("decomposed_from"), ir::AttrValue("n"));
    EXPECT_EQ(n->location().file, "model.graph");
    EXPECT_EQ(n->location().line, loc.line);
    EXPECT_EQ(n->location().col, loc.col);
    // Every part maps back to the composite's plan entry.
    EXPECT_EQ(DecisionFor(*plan, *n), plan->Find("n"));
  }
  EXPECT_EQ(parts, 10);
  const ir::Node* n = g->FindNode("n");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->op(), "mul");
  EXPECT_EQ(n->type().ToString(), "f32[2, 8]");
  ASSERT_EQ(g->outputs().size(), 2u);
  EXPECT_EQ(g->outputs()[0]->name(), "y");
  EXPECT_EQ(g->outputs()[1], n);
}

TEST(DecomposeTest, FallbackCompositeIsNeverDecomposed) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[2, 8]) {
  %a = softmax(%x, dim = 1)
  %b = gelu(%a)
  %c = mean(%b)
  return %c
})");
  ASSERT_TRUE(g.ok()) << g.status();
  const std::string before = ir::PrintGraph(*g);
  LoweringOptions options;
  options.fallback_ops = {"softmax", "gelu", "mean"};
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(*g, options, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<bool> changed = Decompose(&*g, *plan);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  EXPECT_EQ(ir::PrintGraph(*g), before);
}

TEST(DecomposeTest, ACompositeWithoutAPlanEntryIsAnError) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[8]) {
  %a = silu(%x)
  return %a
})");
  ASSERT_TRUE(g.ok()) << g.status();
  LoweringPlan plan;
  plan.graph_name = "other";
  absl::StatusOr<bool> changed = Decompose(&*g, plan);
  ASSERT_FALSE(changed.ok());
  EXPECT_THAT(changed.status().message(), HasSubstr("%a (silu) has no entry in the lowering plan"));
}

TEST(DecomposeTest, PassTakesThePlanFromTheContext) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[8]) {
  %a = silu(%x)
  return %a
})");
  ASSERT_TRUE(g.ok()) << g.status();
  PassContext context;
  DecomposePass pass(&context);
  EXPECT_EQ(pass.name(), "decompose");
  EXPECT_EQ(pass.Run(&*g).status().code(), absl::StatusCode::kFailedPrecondition);
  context.plan = SelectiveLowering(*g, {}, AllLowerable()).value();
  absl::StatusOr<bool> changed = pass.Run(&*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(g->FindNode("a")->op(), "mul");
}

}  // namespace
}  // namespace sluice::passes
