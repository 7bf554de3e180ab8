#include "passes/pipeline.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/golden.h"
#include "passes/lowering_plan.h"
#include "passes/selective_lowering.h"
#include "passes/test_capabilities.h"

namespace sluice::passes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::string_view kSeed = R"(graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y)
  %b = mul(%a, 2.0)
  return %b
})";

TEST(PipelineTest, GoldenCases) {
  absl::Status s = RunGoldenTestFile("passes/testdata/pipeline.graph");
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(PipelineTest, PassOrder) {
  EXPECT_THAT(LoweringPipelinePasses(),
              ElementsAre("selective-lowering", "match-attention", "match-matmul-epilogue",
                          "decompose", "cse", "split-reduction", "dce"));
}

TEST(PipelineTest, SeedMarkedByPredicate) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kSeed);
  ASSERT_TRUE(g.ok()) << g.status();
  MarkNodesForFallback(*g, [](const ir::Node& n) { return n.op() == "add"; });
  std::vector<PassTiming> timings;
  PipelineOptions po;
  po.timings = &timings;
  absl::StatusOr<LoweringPlan> plan = RunLoweringPipeline(&*g, {}, AllLowerable("cpu"), po);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->backend, "cpu");
  EXPECT_THAT(plan->NodesWith(Decision::kFallback), ElementsAre("a"));
  EXPECT_THAT(plan->NodesWith(Decision::kLower), ElementsAre("b"));
  EXPECT_EQ(plan->Find("a")->rule, Rule::kMetaFallback);
  ASSERT_EQ(timings.size(), 7u);
  EXPECT_EQ(timings[0].pass, "selective-lowering");
  EXPECT_EQ(timings[1].pass, "match-attention");
  EXPECT_EQ(timings[2].pass, "match-matmul-epilogue");
  EXPECT_EQ(timings[5].pass, "split-reduction");
  EXPECT_EQ(timings[6].pass, "dce");
  for (const PassTiming& t : timings) EXPECT_FALSE(t.changed) << t.pass;
}

TEST(PipelineTest, PlanKeepsAnEntryPerOriginalNode) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[2, 4]) {
  %s = softmax(%x, dim = 1)
  %t = softmax(%x, dim = 1) {should_fallback = true}
  %dead = exp(%x)
  %same = exp(%s)
  %same2 = exp(%s)
  %o = add(%same, %same2)
  return %o, %t
})");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<LoweringPlan> plan = RunLoweringPipeline(&*g, {}, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<std::string> names;
  for (const NodeDecision& e : plan->entries) names.push_back(e.node);
  EXPECT_THAT(names, ElementsAre("s", "t", "dead", "same", "same2", "o"));
  EXPECT_EQ(g->FindNode("dead"), nullptr);
  EXPECT_EQ(g->FindNode("same2"), nullptr);
  EXPECT_EQ(g->FindNode("t")->op(), "softmax");
  EXPECT_EQ(g->FindNode("s")->op(), "div");
  // Every node left in the graph has its plan entry.
  for (const ir::Node* n : g->calls()) {
    const NodeDecision* d = DecisionFor(*plan, *n);
    ASSERT_NE(d, nullptr) << n->name();
    EXPECT_EQ(d->decision == Decision::kFallback, n->name() == "t") << n->name();
  }
}

TEST(PipelineTest, LoweringErrorsReachRuleSix) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kSeed);
  ASSERT_TRUE(g.ok()) << g.status();
  PipelineOptions po;
  po.lowering_errors["b"] = "nvrtc: error: expected a ';'";
  absl::StatusOr<LoweringPlan> plan = RunLoweringPipeline(&*g, {}, AllLowerable(), po);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->Find("b")->rule, Rule::kLoweringError);

  LoweringOptions strict_errors;
  strict_errors.on_lowering_error = LoweringOptions::OnLoweringError::kError;
  plan = RunLoweringPipeline(&*g, strict_errors, AllLowerable(), po);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("lowering %b (mul) failed: nvrtc: error: "
                                                 "expected a ';'"));
}

TEST(PipelineTest, DumpsGoToTheSink) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kSeed);
  ASSERT_TRUE(g.ok()) << g.status();
  std::vector<std::string> passes;
  PipelineOptions po;
  po.verify_each = true;
  po.dump_after = {"all"};
  po.dump = [&](absl::string_view pass, absl::string_view text) {
    passes.emplace_back(pass);
    EXPECT_EQ(text, ir::PrintGraph(*g));
  };
  ASSERT_TRUE(RunLoweringPipeline(&*g, {}, AllLowerable(), po).ok());
  EXPECT_THAT(passes, ElementsAre("selective-lowering", "match-attention",
                                  "match-matmul-epilogue", "decompose", "cse", "split-reduction",
                                  "dce"));
}

TEST(PipelineTest, StrictErrorsStopThePipeline) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kSeed);
  ASSERT_TRUE(g.ok()) << g.status();
  LoweringOptions options;
  options.strict = true;
  options.fallback_nodes = {"nope"};
  absl::StatusOr<LoweringPlan> plan = RunLoweringPipeline(&*g, options, AllLowerable());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("'nope'"));
}

}  // namespace
}  // namespace sluice::passes
