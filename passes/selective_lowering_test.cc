#include "passes/selective_lowering.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/builder.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/golden.h"
#include "passes/lowering_plan.h"
#include "passes/test_capabilities.h"

namespace sluice::passes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ir::Graph Parse(absl::string_view text) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

constexpr absl::string_view kSeed = R"(
graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y)
  %b = mul(%a, 2.0)
  return %b
}
)";

TEST(SelectiveLoweringTest, GoldenCases) {
  absl::Status s = RunGoldenTestFile("passes/testdata/selective_lowering.graph");
  EXPECT_TRUE(s.ok()) << s.message();
}

// The seed test, built in C++: add marked through the predicate helper.
TEST(SelectiveLoweringTest, SeedMarkedByPredicate) {
  ir::GraphBuilder b("foo");
  ir::Node* x = b.Input("x", {ir::DType::kF32, ir::Shape({10})});
  ir::Node* y = b.Input("y", {ir::DType::kF32, ir::Shape({10})});
  ir::Node* a = b.Call("add", {x, y}, {}, {}, "a");
  b.Return({b.Call("mul", {a, ir::Scalar::Float(2.0)}, {}, {}, "b")});
  absl::StatusOr<ir::Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();

  MarkNodesForFallback(*g, [](const ir::Node& n) { return n.op() == "add"; });
  const ir::AttrValue* mark = g->FindNode("a")->meta().Find("should_fallback");
  ASSERT_NE(mark, nullptr);
  EXPECT_EQ(*mark, ir::AttrValue(true));
  EXPECT_FALSE(g->FindNode("b")->meta().Has("should_fallback"));

  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(*g, {}, AllLowerable("cpu"));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->graph_name, "foo");
  EXPECT_EQ(plan->backend, "cpu");
  ASSERT_EQ(plan->entries.size(), 2u);
  EXPECT_EQ(plan->entries[0].node, "a");
  EXPECT_EQ(plan->entries[0].decision, Decision::kFallback);
  EXPECT_EQ(plan->entries[0].rule, Rule::kMetaFallback);
  EXPECT_EQ(plan->entries[1].node, "b");
  EXPECT_EQ(plan->entries[1].decision, Decision::kLower);
  EXPECT_EQ(plan->entries[1].rule, Rule::kDefault);
  EXPECT_THAT(plan->NodesWith(Decision::kFallback), ElementsAre("a"));
  EXPECT_TRUE(plan->warnings.empty());
}

TEST(SelectiveLoweringTest, SeedUnmarkedIsAllLowered) {
  ir::Graph g = Parse(kSeed);
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(g, {}, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->NodesWith(Decision::kLower), ElementsAre("a", "b"));
  EXPECT_TRUE(plan->NodesWith(Decision::kFallback).empty());
}

TEST(SelectiveLoweringTest, MarkingIsRuleOneAndOverridesAFalseMark) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[4]) {
  %a = exp(%x) {should_fallback = false, user = "keep me"}
  %b = neg(%a)
  return %b
})");
  MarkNodesForFallback(g, [](const ir::Node& n) { return n.op() == "exp"; });
  EXPECT_EQ(ir::PrintGraph(g).find("%a: f32[4] = exp(%x) {should_fallback = true, user = "
                                   "\"keep me\"}") != std::string::npos,
            true)
      << ir::PrintGraph(g);
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(g, {}, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->Find("a")->rule, Rule::kMetaFallback);
  EXPECT_TRUE(plan->IsFallback("a"));
  EXPECT_FALSE(plan->IsFallback("b"));
}

TEST(SelectiveLoweringTest, EveryCallNodeExactlyOnceInGraphOrder) {
  ir::Graph g = Parse(R"(
graph many(%x: f32[2, 3], %w: f32[3], %i: i32[2, 3]) {
  %a = add(%x, %w) {should_fallback = true}
  %b = softmax(%a, dim = -1)
  %c = layer_norm(%b, %w, normalized_shape = [3])
  %d = sum(%c, dims = [1])
  %e = cast(%i, dtype = f32)
  %f = mul(%e, %x) {should_fallback = false}
  %g = gelu(%f, approximate = "tanh")
  %h = amax(%g)
  return %h, %d
})");
  LoweringOptions options;
  options.fallback_nodes = {"c", "[fg]"};
  options.fallback_ops = {"sum"};
  absl::StatusOr<LoweringPlan> plan =
      SelectiveLowering(g, options, WithoutLowerings("test", {"cast", "amax"}));
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<std::string> calls, planned;
  for (const ir::Node* n : g.calls()) calls.push_back(n->name());
  for (const NodeDecision& e : plan->entries) planned.push_back(e.node);
  EXPECT_EQ(planned, calls);
  absl::flat_hash_set<std::string> unique(planned.begin(), planned.end());
  EXPECT_EQ(unique.size(), planned.size());
  std::vector<Rule> rules;
  for (const NodeDecision& e : plan->entries) rules.push_back(e.rule);
  EXPECT_THAT(rules, ElementsAre(Rule::kMetaFallback, Rule::kDefault, Rule::kFallbackNode,
                                 Rule::kFallbackOp, Rule::kNoLowering, Rule::kMetaLower,
                                 Rule::kFallbackNode, Rule::kNoLowering));
  for (const NodeDecision& e : plan->entries) {
    EXPECT_EQ(e.op, g.FindNode(e.node)->op());
    EXPECT_EQ(e.kernel, -1);
    EXPECT_EQ(IsLowered(e.decision), e.rule == Rule::kDefault || e.rule == Rule::kMetaLower)
        << e.node;
    if (!IsLowered(e.decision)) {
      EXPECT_FALSE(e.detail.empty()) << e.node;
    }
  }
}

TEST(SelectiveLoweringTest, DetailSaysWhichGlobMatched) {
  ir::Graph g = Parse(kSeed);
  LoweringOptions options;
  options.fallback_nodes = {"z*", "[ab]", "a"};
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(g, options, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->Find("a")->detail, "matches fallback_nodes glob '[ab]'");
  EXPECT_EQ(plan->Find("b")->detail, "matches fallback_nodes glob '[ab]'");
  ASSERT_EQ(plan->warnings.size(), 1u);
  EXPECT_THAT(plan->warnings[0], HasSubstr("'z*'"));
}

TEST(SelectiveLoweringTest, NoClassifierMeansEverythingLowers) {
  ir::Graph g = Parse(kSeed);
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(g, {}, BackendCapabilities{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->NodesWith(Decision::kLower), ElementsAre("a", "b"));
}

TEST(SelectiveLoweringTest, LoweringErrorFallsBackOrFails) {
  ir::Graph g = Parse(kSeed);
  absl::flat_hash_map<std::string, std::string> errors = {{"b", "nvrtc: bad thing"}};
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(g, {}, AllLowerable(), &errors);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->Find("b")->decision, Decision::kFallback);
  EXPECT_EQ(plan->Find("b")->rule, Rule::kLoweringError);
  EXPECT_THAT(plan->Find("b")->detail, HasSubstr("nvrtc: bad thing"));
  EXPECT_EQ(plan->Find("a")->rule, Rule::kDefault);

  LoweringOptions options;
  options.on_lowering_error = LoweringOptions::OnLoweringError::kError;
  plan = SelectiveLowering(g, options, AllLowerable(), &errors);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("%b (mul)"));
  EXPECT_THAT(plan.status().message(), HasSubstr("nvrtc: bad thing"));
}

TEST(SelectiveLoweringTest, StrictFailsOnRuleFiveButNotOnLaterRules) {
  ir::Graph g = Parse(kSeed);
  LoweringOptions options;
  options.strict = true;
  absl::StatusOr<LoweringPlan> plan =
      SelectiveLowering(g, options, WithoutLowerings("cuda", {"mul"}));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("%b (mul) has no lowering"));
  EXPECT_THAT(plan.status().message(), HasSubstr("backend 'cuda'"));
  // Strict does not forbid falling back by the user's own choice.
  options.fallback_ops = {"mul"};
  plan = SelectiveLowering(g, options, WithoutLowerings("cuda", {"mul"}));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->Find("b")->rule, Rule::kFallbackOp);
}

TEST(SelectiveLoweringTest, DecisionForFollowsDecomposedFrom) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[4]) {
  %s = softmax(%x, dim = 0) {should_fallback = true}
  %t = exp(%s) {decomposed_from = "s"}
  %u = exp(%t) {decomposed_from = "gone"}
  return %u
})");
  LoweringPlan plan;
  plan.entries.push_back({"s", "softmax", Decision::kFallback, Rule::kMetaFallback, "", 3});
  plan.entries.push_back({"u", "exp", Decision::kLower, Rule::kDefault, "", 4});
  EXPECT_EQ(DecisionFor(plan, *g.FindNode("s")), plan.Find("s"));
  EXPECT_EQ(DecisionFor(plan, *g.FindNode("t")), plan.Find("s"));
  // decomposed_from naming no entry: the node's own name decides.
  EXPECT_EQ(DecisionFor(plan, *g.FindNode("u")), plan.Find("u"));
  plan.entries.pop_back();
  EXPECT_EQ(DecisionFor(plan, *g.FindNode("u")), nullptr);
}

TEST(SelectiveLoweringTest, PassFillsContextPlanAndLeavesGraphAlone) {
  ir::Graph g = Parse(kSeed);
  const std::string before = ir::PrintGraph(g);
  PassContext context;
  context.capabilities = AllLowerable();
  context.options.fallback_ops = {"add"};
  SelectiveLoweringPass pass(&context);
  EXPECT_EQ(pass.name(), "selective-lowering");
  absl::StatusOr<bool> changed = pass.Run(&g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  EXPECT_EQ(ir::PrintGraph(g), before);
  ASSERT_TRUE(context.plan.has_value());
  EXPECT_EQ(context.plan->Find("a")->rule, Rule::kFallbackOp);
}

}  // namespace
}  // namespace sluice::passes
