#include "passes/fuse.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/lowering_plan.h"
#include "passes/pipeline.h"
#include "passes/test_capabilities.h"

namespace sluice::passes {
namespace {

struct Fused {
  ir::Graph graph;
  LoweringPlan plan;
  Schedule schedule;
};

Fused FuseText(const std::string& text, BackendCapabilities caps = AllLowerable()) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  Fused f{*std::move(g), {}, {}};
  absl::StatusOr<LoweringPlan> plan = RunLoweringPipeline(&f.graph, LoweringOptions(), caps);
  EXPECT_TRUE(plan.ok()) << plan.status();
  f.plan = *std::move(plan);
  absl::StatusOr<Schedule> s = Fuse(f.graph, &f.plan);
  EXPECT_TRUE(s.ok()) << s.status();
  f.schedule = *std::move(s);
  return f;
}

std::vector<std::string> Kinds(const Schedule& s) {
  std::vector<std::string> out;
  for (const Step& step : s.steps) out.emplace_back(StepKindName(step.kind));
  return out;
}

std::vector<std::string> Names(const std::vector<const ir::Node*>& nodes) {
  std::vector<std::string> out;
  for (const ir::Node* n : nodes) out.push_back(n->name());
  return out;
}

using ::testing::ElementsAre;

TEST(FuseTest, FiveOpElementwiseChainIsOneKernel) {
  Fused f = FuseText(R"(
graph g(%x: f32[64, 32], %y: f32[64, 32]) {
  %a = mul(%x, %y)
  %b = add(%a, 1.0)
  %c = relu(%b)
  %d = sigmoid(%c)
  %e = mul(%d, %x)
  return %e
})");
  ASSERT_EQ(f.schedule.steps.size(), 1u) << f.schedule.ToString();
  const Step& s = f.schedule.steps[0];
  EXPECT_EQ(s.kind, StepKind::kKernel);
  EXPECT_THAT(Names(s.nodes), ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_THAT(Names(s.inputs), ElementsAre("x", "y"));
  EXPECT_THAT(Names(s.outputs), ElementsAre("e"));
}

TEST(FuseTest, IntermediateGraphOutputStaysInTheSameKernel) {
  Fused f = FuseText(R"(
graph g(%x: f32[16]) {
  %a = exp(%x)
  %b = mul(%a, 2.0)
  %c = add(%b, %a)
  return %c, %a
})");
  ASSERT_EQ(f.schedule.steps.size(), 1u) << f.schedule.ToString();
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("a", "c"));
}

TEST(FuseTest, SoftmaxIsOneKernel) {
  Fused f = FuseText(R"(
graph g(%x: f32[128, 256]) {
  %s = softmax(%x, dim = -1)
  return %s
})");
  ASSERT_EQ(f.schedule.steps.size(), 1u) << f.schedule.ToString();
  const Step& s = f.schedule.steps[0];
  EXPECT_EQ(s.kind, StepKind::kKernel);
  EXPECT_THAT(Names(s.inputs), ElementsAre("x"));
  // Only the softmax itself is written: the max and the sum stay in registers.
  EXPECT_THAT(Names(s.outputs), ElementsAre("s"));
  EXPECT_EQ(f.plan.Find("s")->kernel, 0);
}

TEST(FuseTest, LayerNormIsOneKernel) {
  Fused f = FuseText(R"(
graph g(%x: f32[64, 512], %w: f32[512], %b: f32[512]) {
  %y = layer_norm(%x, %w, %b, normalized_shape = [512])
  return %y
})");
  ASSERT_EQ(f.schedule.steps.size(), 1u) << f.schedule.ToString();
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("y"));
  EXPECT_THAT(Names(f.schedule.steps[0].inputs), ElementsAre("x", "w", "b"));
}

TEST(FuseTest, BiasAddGeluIsOneKernel) {
  Fused f = FuseText(R"(
graph g(%x: f32[64, 512], %bias: f32[512]) {
  %a = add(%x, %bias)
  %y = gelu(%a, approximate = "tanh")
  return %y
})");
  ASSERT_EQ(f.schedule.steps.size(), 1u) << f.schedule.ToString();
  EXPECT_EQ(f.schedule.num_kernels(), 1);
}

TEST(FuseTest, FallbackInTheMiddleOfAChainSplitsKernels) {
  Fused f = FuseText(R"(
graph g(%x: f32[32]) {
  %a = exp(%x)
  %b = mul(%a, 3.0)
  %c = neg(%b) {should_fallback = true}
  %d = add(%c, 1.0)
  %e = sqrt(%d)
  return %e
})");
  EXPECT_THAT(Kinds(f.schedule), ElementsAre("kernel", "fallback", "kernel"))
      << f.schedule.ToString();
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("b"));
  EXPECT_THAT(Names(f.schedule.steps[1].nodes), ElementsAre("c"));
  EXPECT_THAT(Names(f.schedule.steps[1].inputs), ElementsAre("b"));
  EXPECT_THAT(Names(f.schedule.steps[2].inputs), ElementsAre("c"));
  EXPECT_THAT(Names(f.schedule.steps[2].nodes), ElementsAre("d", "e"));
}

TEST(FuseTest, MatmulIsALibraryStepAndItsConsumersTheNextKernel) {
  TestBackendSpec spec;
  spec.library_ops = {"matmul"};
  Fused f = FuseText(R"(
graph g(%x: f32[8, 16], %w: f32[16, 4], %b: f32[4]) {
  %xs = mul(%x, 0.5)
  %m = matmul(%xs, %w)
  %y = add(%m, %b)
  %z = relu(%y)
  return %z
})",
                     MakeTestCapabilities(spec));
  EXPECT_THAT(Kinds(f.schedule), ElementsAre("kernel", "library", "kernel"))
      << f.schedule.ToString();
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("xs"));
  EXPECT_THAT(Names(f.schedule.steps[2].nodes), ElementsAre("y", "z"));
}

TEST(FuseTest, MultiConsumerValueInOneKernelIsNotMaterialized) {
  Fused f = FuseText(R"(
graph g(%x: f32[16], %y: f32[16]) {
  %a = mul(%x, %y)
  %b = exp(%a)
  %c = sin(%a)
  %d = add(%b, %c)
  return %d
})");
  ASSERT_EQ(f.schedule.steps.size(), 1u);
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("d"));
}

TEST(FuseTest, CheapMultiConsumerValueIsRecomputedInEachKernel) {
  // Row sums and column sums reduce different rows: two kernels. %a reads
  // one buffer and is one node, so each kernel recomputes it.
  Fused f = FuseText(R"(
graph g(%x: f32[16, 8]) {
  %a = exp(%x)
  %r = sum(%a, dims = [1])
  %c = sum(%a, dims = [0])
  return %r, %c
})");
  ASSERT_EQ(f.schedule.num_kernels(), 2) << f.schedule.ToString();
  for (const Step& s : f.schedule.steps) {
    EXPECT_TRUE(s.Contains(f.graph.FindNode("a")));
    EXPECT_THAT(Names(s.inputs), ElementsAre("x"));
  }
}

TEST(FuseTest, ExpensiveMultiConsumerValueIsMaterialized) {
  // %a reads two buffers, so recomputing it would read both twice.
  Fused f = FuseText(R"(
graph g(%x: f32[16, 8], %y: f32[16, 8]) {
  %a = mul(%x, %y)
  %r = sum(%a, dims = [1])
  %c = sum(%a, dims = [0])
  return %r, %c
})");
  ASSERT_EQ(f.schedule.num_kernels(), 2) << f.schedule.ToString();
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("a", "r"));
  EXPECT_THAT(Names(f.schedule.steps[1].inputs), ElementsAre("a"));
  EXPECT_FALSE(f.schedule.steps[1].Contains(f.graph.FindNode("a")));
}

TEST(FuseTest, ReductionReadOffItsRowIsNotFused) {
  // The row max is used transposed: it cannot come from the same row loop.
  Fused f = FuseText(R"(
graph g(%x: f32[8, 8]) {
  %m = amax(%x, dims = [1], keepdim = true)
  %t = transpose(%m, dim0 = 0, dim1 = 1)
  %y = sub(%x, %t)
  return %y
})");
  ASSERT_EQ(f.schedule.num_kernels(), 2) << f.schedule.ToString();
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("m"));
}

TEST(FuseTest, PlanKernelColumnIsFilledForEveryNode) {
  Fused f = FuseText(R"(
graph g(%x: f32[4, 8], %w: f32[8]) {
  %a = add(%x, 1.0) {should_fallback = true}
  %s = softmax(%a, dim = 1)
  %l = layer_norm(%s, %w, normalized_shape = [8])
  %o = mul(%l, 2.0)
  return %o
})");
  for (const NodeDecision& e : f.plan.entries) {
    EXPECT_GE(e.kernel, 0) << e.node << "\n" << f.plan.ToTable();
  }
  EXPECT_EQ(f.plan.Find("a")->kernel, 0);
  EXPECT_EQ(f.schedule.steps[0].kind, StepKind::kFallback);
}

TEST(FuseTest, UndecomposedLoweredCompositeIsAnError) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%x: f32[4, 8]) {
  %s = softmax(%x, dim = 1)
  return %s
})");
  ASSERT_TRUE(g.ok());
  LoweringPlan plan;
  plan.entries.push_back({"s", "softmax", Decision::kLower, Rule::kDefault, "", -1});
  absl::StatusOr<Schedule> s = Fuse(*g, &plan);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("decompose"), std::string::npos) << s.status();
}

TEST(FuseTest, MissingPlanEntryIsAnError) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%x: f32[4]) {
  %a = exp(%x)
  return %a
})");
  ASSERT_TRUE(g.ok());
  LoweringPlan plan;
  EXPECT_FALSE(Fuse(*g, &plan).ok());
}

}  // namespace
}  // namespace sluice::passes
