#include "passes/plan_dot.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/lowering_plan.h"
#include "passes/selective_lowering.h"
#include "passes/test_capabilities.h"

namespace sluice::passes {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The text between `subgraph cluster_k<k> {` and its closing brace.
std::string Cluster(const std::string& dot, int k) {
  const std::string open = "subgraph cluster_k" + std::to_string(k) + " {";
  size_t begin = dot.find(open);
  if (begin == std::string::npos) return "";
  size_t end = dot.find("\n  }\n", begin);
  return dot.substr(begin, end - begin);
}

class PlanDotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph seed(%x: f32[10], %y: f32[10]) {
  %pre = mul(%x, %y)
  %a = add(%pre, %y) {should_fallback = true}
  %b = mul(%a, 2.0)
  %c = exp(%b)
  return %c
})");
    ASSERT_TRUE(g.ok()) << g.status();
    graph_ = std::make_unique<ir::Graph>(*std::move(g));
    absl::StatusOr<LoweringPlan> plan = SelectiveLowering(*graph_, {}, AllLowerable());
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = *std::move(plan);
  }

  std::unique_ptr<ir::Graph> graph_;
  LoweringPlan plan_;
};

TEST_F(PlanDotTest, KernelsAreClustersAndTheFallbackCutsThem) {
  plan_.FindMutable("pre")->kernel = 0;
  plan_.FindMutable("a")->kernel = 1;
  plan_.FindMutable("b")->kernel = 2;
  plan_.FindMutable("c")->kernel = 2;
  const std::string dot = PlanToDot(*graph_, plan_);
  EXPECT_TRUE(absl::StartsWith(dot, "digraph \"seed\" {\n")) << dot;
  EXPECT_TRUE(absl::EndsWith(dot, "}\n")) << dot;

  const std::string k0 = Cluster(dot, 0), k1 = Cluster(dot, 1), k2 = Cluster(dot, 2);
  EXPECT_THAT(k0, HasSubstr("\"%pre\" [label="));
  EXPECT_THAT(k0, Not(HasSubstr("\"%b\"")));
  EXPECT_THAT(k1, HasSubstr("label=\"kernel 1 (fallback)\""));
  EXPECT_THAT(k1, HasSubstr("\"%a\" [label=\"%a = add\\nf32[10]\\nfallback (rule 1: "
                            "meta.should_fallback=true)\", style=filled, fillcolor=\"#e06666\""));
  EXPECT_THAT(k2, HasSubstr("\"%b\" [label=\"%b = mul\\nf32[10]\", style=filled, "
                            "fillcolor=white];"));
  EXPECT_THAT(k2, HasSubstr("\"%c\" [label="));
  EXPECT_THAT(dot, Not(HasSubstr("cluster_k3")));

  // Inputs and outputs are drawn; edges touching the fallback node are red.
  EXPECT_THAT(dot, HasSubstr("\"%x\" [shape=ellipse, label=\"%x\\nf32[10]\"];"));
  EXPECT_THAT(dot, HasSubstr("\"return#0\" [shape=doublecircle, label=\"return #0\"];"));
  EXPECT_THAT(dot, HasSubstr("\"%c\" -> \"return#0\";"));
  EXPECT_THAT(dot, HasSubstr("\"%pre\" -> \"%a\" [color=\"#990000\", penwidth=2];"));
  EXPECT_THAT(dot, HasSubstr("\"%a\" -> \"%b\" [color=\"#990000\", penwidth=2];"));
  EXPECT_THAT(dot, HasSubstr("\"%b\" -> \"%c\";"));
  EXPECT_THAT(dot, HasSubstr("\"%x\" -> \"%pre\";"));
}

TEST_F(PlanDotTest, UnfusedNodesStandAloneAndMissingEntriesAreDashed) {
  plan_.entries.erase(plan_.entries.begin());  // drop %pre's entry
  const std::string dot = PlanToDot(*graph_, plan_);
  EXPECT_THAT(dot, Not(HasSubstr("subgraph")));
  EXPECT_THAT(dot, HasSubstr("\"%pre\" [label=\"%pre = mul\\nf32[10]\\n(no plan entry)\", "
                             "style=dashed"));
  EXPECT_THAT(dot, HasSubstr("\"%a\" [label=\"%a = add\\nf32[10]\\nfallback (rule 1"));
}

TEST(PlanDotStandaloneTest, RuleShownForOptionFallbacksAndLibraryCalls) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%a: f32[4, 8], %b: f32[8, 4]) {
  %mm = matmul(%a, %b)
  %e = erf(%mm)
  return %e
})");
  ASSERT_TRUE(g.ok()) << g.status();
  TestBackendSpec spec;
  spec.library_ops = {"matmul"};
  spec.unsupported_ops = {"erf"};
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(*g, {}, MakeTestCapabilities(spec));
  ASSERT_TRUE(plan.ok()) << plan.status();
  const std::string dot = PlanToDot(*g, *plan);
  EXPECT_THAT(dot, HasSubstr("\\nlibrary\", style=filled, fillcolor=\"#cfe2f3\""));
  EXPECT_THAT(dot, HasSubstr("fallback (rule 5: no_lowering)"));
  EXPECT_THAT(dot, HasSubstr("\"%e\" -> \"return#0\" [color=\"#990000\", penwidth=2];"));
}

TEST(PlanDotStandaloneTest, ASplitReductionSaysSo) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[64, 64]) {
  %s = sum(%x)
  %t = amax(%x)
  return %s, %t
})");
  ASSERT_TRUE(g.ok());
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(*g, {}, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  plan->FindMutable("s")->split = 32;
  const std::string dot = PlanToDot(*g, *plan);
  EXPECT_THAT(dot, HasSubstr("f32[]\\nsplit in two stages (32 partials)\""));
  EXPECT_THAT(dot, HasSubstr("\"%t = amax\\nf32[]\", style=filled")) << dot;
}

TEST(PlanDotStandaloneTest, QuotesAreEscaped) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[4]) {
  %a = exp(%x)
  return %a
})");
  ASSERT_TRUE(g.ok());
  g->set_name("we\"ird");
  LoweringPlan plan;
  const std::string dot = PlanToDot(*g, plan);
  EXPECT_TRUE(absl::StartsWith(dot, "digraph \"we\\\"ird\" {")) << dot;
}

}  // namespace
}  // namespace sluice::passes
