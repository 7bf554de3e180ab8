#include "passes/lowering_plan.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::passes {
namespace {

using ::testing::ElementsAre;

LoweringPlan SamplePlan() {
  LoweringPlan plan;
  plan.graph_name = "foo";
  plan.backend = "cuda";
  plan.entries.push_back(
      {"a", "add", Decision::kFallback, Rule::kMetaFallback, "meta.should_fallback = true", 0});
  plan.entries.push_back({"long_name", "matmul", Decision::kLibrary, Rule::kDefault, "", 1});
  plan.entries.push_back({"b", "mul", Decision::kLower, Rule::kDefault, "", -1});
  return plan;
}

TEST(LoweringPlanTest, Names) {
  EXPECT_EQ(DecisionName(Decision::kLower), "lower");
  EXPECT_EQ(DecisionName(Decision::kLibrary), "library");
  EXPECT_EQ(DecisionName(Decision::kFallback), "fallback");
  EXPECT_EQ(RuleName(Rule::kMetaFallback), "meta.should_fallback=true");
  EXPECT_EQ(RuleName(Rule::kMetaLower), "meta.should_fallback=false");
  EXPECT_EQ(RuleName(Rule::kFallbackNode), "fallback_nodes");
  EXPECT_EQ(RuleName(Rule::kFallbackOp), "fallback_ops");
  EXPECT_EQ(RuleName(Rule::kNoLowering), "no_lowering");
  EXPECT_EQ(RuleName(Rule::kLoweringError), "lowering_error");
  EXPECT_EQ(RuleName(Rule::kDefault), "default");
  EXPECT_TRUE(IsLowered(Decision::kLower));
  EXPECT_TRUE(IsLowered(Decision::kLibrary));
  EXPECT_FALSE(IsLowered(Decision::kFallback));
}

TEST(LoweringPlanTest, Lookups) {
  LoweringPlan plan = SamplePlan();
  ASSERT_NE(plan.Find("b"), nullptr);
  EXPECT_EQ(plan.Find("b")->op, "mul");
  EXPECT_EQ(plan.Find("nope"), nullptr);
  plan.FindMutable("b")->kernel = 7;
  EXPECT_EQ(plan.Find("b")->kernel, 7);
  EXPECT_EQ(plan.FindMutable("nope"), nullptr);
  EXPECT_TRUE(plan.IsFallback("a"));
  EXPECT_FALSE(plan.IsFallback("b"));
  EXPECT_FALSE(plan.IsFallback("nope"));
  EXPECT_THAT(plan.NodesWith(Decision::kLower), ElementsAre("b"));
  EXPECT_THAT(plan.NodesWith(Decision::kLibrary), ElementsAre("long_name"));
}

TEST(LoweringPlanTest, TableIsAligned) {
  LoweringPlan plan = SamplePlan();
  plan.warnings.push_back("fallback_ops entry 'x' is not a registered op");
  EXPECT_EQ(plan.ToTable(),
            "node       op      decision  rule                         kernel\n"
            "a          add     fallback  1:meta.should_fallback=true  0\n"
            "long_name  matmul  library   7:default                    1\n"
            "b          mul     lower     7:default                    -\n"
            "warnings:\n"
            "  fallback_ops entry 'x' is not a registered op\n");
}

TEST(LoweringPlanTest, EmptyTableHasAHeader) {
  EXPECT_EQ(LoweringPlan().ToTable(), "node  op  decision  rule  kernel\n");
}

TEST(LoweringPlanTest, Json) {
  EXPECT_EQ(SamplePlan().ToJson(),
            "{\"graph\":\"foo\",\"backend\":\"cuda\",\"nodes\":["
            "{\"name\":\"a\",\"op\":\"add\",\"decision\":\"fallback\","
            "\"rule\":\"meta.should_fallback=true\",\"rule_id\":1,"
            "\"detail\":\"meta.should_fallback = true\",\"kernel\":0},"
            "{\"name\":\"long_name\",\"op\":\"matmul\",\"decision\":\"library\","
            "\"rule\":\"default\",\"rule_id\":7,\"detail\":\"\",\"kernel\":1},"
            "{\"name\":\"b\",\"op\":\"mul\",\"decision\":\"lower\",\"rule\":\"default\","
            "\"rule_id\":7,\"detail\":\"\",\"kernel\":null}],\"warnings\":[]}");
}

TEST(LoweringPlanTest, FusedPatternIsShownInTableAndJson) {
  LoweringPlan plan;
  plan.graph_name = "attn";
  NodeDecision p{"p", "softmax", Decision::kLower, Rule::kDefault, "", 0};
  p.fused_pattern = "attention";
  p.fused_root = "o";
  plan.entries.push_back(p);
  plan.entries.push_back({"r", "add", Decision::kLower, Rule::kDefault, "", 1});
  EXPECT_EQ(plan.ToTable(),
            "node  op       decision  rule       kernel\n"
            "p     softmax  lower     7:default  0 (attention)\n"
            "r     add      lower     7:default  1\n");
  EXPECT_EQ(plan.ToJson(),
            "{\"graph\":\"attn\",\"backend\":\"\",\"nodes\":["
            "{\"name\":\"p\",\"op\":\"softmax\",\"decision\":\"lower\",\"rule\":\"default\","
            "\"rule_id\":7,\"detail\":\"\",\"kernel\":0,\"fused\":\"attention\"},"
            "{\"name\":\"r\",\"op\":\"add\",\"decision\":\"lower\",\"rule\":\"default\","
            "\"rule_id\":7,\"detail\":\"\",\"kernel\":1}],\"warnings\":[]}");
}

TEST(LoweringPlanTest, ASplitReductionShowsItsParts) {
  LoweringPlan plan;
  plan.graph_name = "loss";
  NodeDecision s{"s", "sum", Decision::kLower, Rule::kDefault, "", 0};
  s.split = 512;
  plan.entries.push_back(s);
  EXPECT_EQ(plan.ToTable(),
            "node  op   decision  rule       kernel\n"
            "s     sum  lower     7:default  0 (split 512)\n");
  EXPECT_EQ(plan.ToJson(),
            "{\"graph\":\"loss\",\"backend\":\"\",\"nodes\":["
            "{\"name\":\"s\",\"op\":\"sum\",\"decision\":\"lower\",\"rule\":\"default\","
            "\"rule_id\":7,\"detail\":\"\",\"kernel\":0,\"split\":512}],\"warnings\":[]}");
}

TEST(LoweringPlanTest, JsonEscapesStrings) {
  LoweringPlan plan;
  plan.graph_name = "g\"1";
  plan.entries.push_back({"n", "mul", Decision::kFallback, Rule::kLoweringError,
                          "nvrtc: \"k.cu\"(3):\n\terror \\ bad\x01", -1});
  plan.warnings.push_back("w\r");
  EXPECT_EQ(plan.ToJson(),
            "{\"graph\":\"g\\\"1\",\"backend\":\"\",\"nodes\":["
            "{\"name\":\"n\",\"op\":\"mul\",\"decision\":\"fallback\","
            "\"rule\":\"lowering_error\",\"rule_id\":6,"
            "\"detail\":\"nvrtc: \\\"k.cu\\\"(3):\\n\\terror \\\\ bad\\u0001\",\"kernel\":null}],"
            "\"warnings\":[\"w\\r\"]}");
}

}  // namespace
}  // namespace sluice::passes
