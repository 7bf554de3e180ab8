#include "passes/attention.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/fuse.h"
#include "passes/lowering_plan.h"
#include "passes/pipeline.h"
#include "passes/pattern_test_util.h"
#include "passes/test_capabilities.h"

namespace sluice::passes {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// A backend like CUDA: matmul through a library, attention fusable.
BackendCapabilities FusingCaps() {
  TestBackendSpec spec;
  spec.library_ops = {"matmul"};
  BackendCapabilities caps = MakeTestCapabilities(spec);
  caps.fused_attention = true;
  return caps;
}

constexpr char kAttention[] = R"(
graph attn(%q: f16[2, 4, 128, 64], %k: f16[2, 4, 96, 64], %v: f16[2, 4, 96, 64], %w: f16[2, 4, 128, 64]) {
  %kt = transpose(%k, dim0 = -2, dim1 = -1)
  %s = matmul(%q, %kt)
  %x = div(%s, 8.0)
  %p = softmax(%x, dim = -1)
  %o = matmul(%p, %v)
  %r = add(%o, %w)
  return %r
})";

TEST(AttentionTest, PatternIsOneKernelStepAndItsConsumerAnother) {
  Compiled c = CompileText(kAttention, FusingCaps());
  EXPECT_THAT(FusedNodes(c.plan), ElementsAre("kt", "s", "x", "p", "o"));
  for (const NodeDecision& e : c.plan.entries) {
    if (!e.fused_pattern.empty()) {
      EXPECT_EQ(e.fused_pattern, "attention");
      EXPECT_EQ(e.fused_root, "o");
    }
  }
  // softmax was not decomposed: the graph still has it.
  bool has_softmax = false;
  for (const ir::Node* n : c.graph.calls()) has_softmax = has_softmax || n->op() == "softmax";
  EXPECT_TRUE(has_softmax);
  ASSERT_EQ(c.schedule.steps.size(), 2u) << c.schedule.ToString();
  const Step& att = c.schedule.steps[0];
  EXPECT_EQ(att.kind, StepKind::kKernel);
  EXPECT_EQ(att.pattern, "attention");
  EXPECT_THAT(Names(att.nodes), ElementsAre("kt", "s", "x", "p", "o"));
  EXPECT_THAT(Names(att.inputs), UnorderedElementsAre("q", "k", "v"));
  EXPECT_THAT(Names(att.outputs), ElementsAre("o"));
  const Step& add = c.schedule.steps[1];
  EXPECT_EQ(add.kind, StepKind::kKernel);
  EXPECT_TRUE(add.pattern.empty());
  EXPECT_THAT(Names(add.inputs), UnorderedElementsAre("o", "w"));
  // Every pattern node's plan entry points at the attention step, and the
  // plan says so.
  for (const char* n : {"kt", "s", "x", "p", "o"}) EXPECT_EQ(c.plan.Find(n)->kernel, 0) << n;
  EXPECT_THAT(c.plan.ToTable(), ::testing::HasSubstr("p     softmax    lower     7:default  0 (attention)\n"));
  EXPECT_THAT(c.plan.ToJson(), ::testing::HasSubstr("\"kernel\":0,\"fused\":\"attention\""));

  std::optional<AttentionMatch> m =
      MatchAttention(c.graph, *c.schedule.steps[0].outputs[0], c.graph.ComputeUsers());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->q->name(), "q");
  EXPECT_EQ(m->k->name(), "k");
  EXPECT_EQ(m->v->name(), "v");
  EXPECT_EQ(m->batch, 8);
  EXPECT_EQ(m->sq, 128);
  EXPECT_EQ(m->sk, 96);
  EXPECT_EQ(m->d, 64);
  EXPECT_DOUBLE_EQ(m->scale, 0.125);
}

TEST(AttentionTest, BackendWithoutFusedAttentionDecomposesAsBefore) {
  BackendCapabilities caps = FusingCaps();
  caps.fused_attention = false;
  Compiled c = CompileText(kAttention, caps);
  EXPECT_TRUE(FusedNodes(c.plan).empty());
  for (const Step& s : c.schedule.steps) EXPECT_TRUE(s.pattern.empty());
  for (const ir::Node* n : c.graph.calls()) EXPECT_NE(n->op(), "softmax");
  // matmul, softmax kernel, matmul, add kernel.
  EXPECT_GE(c.schedule.steps.size(), 4u) << c.schedule.ToString();
}

TEST(AttentionTest, AFallbackNodeInsideThePatternKeepsItUnfused) {
  const std::string marked = R"(
graph attn(%q: bf16[4, 64, 32], %k: bf16[4, 64, 32], %v: bf16[4, 64, 32]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %x = mul(%s, 0.25)
  %p = softmax(%x, dim = 2) {should_fallback = true}
  %o = matmul(%p, %v)
  return %o
})";
  Compiled c = CompileText(marked, FusingCaps());
  EXPECT_TRUE(FusedNodes(c.plan).empty());
  EXPECT_EQ(c.plan.Find("p")->decision, Decision::kFallback);
  EXPECT_EQ(c.plan.Find("p")->rule, Rule::kMetaFallback);
  for (const Step& s : c.schedule.steps) EXPECT_TRUE(s.pattern.empty());

  // The same graph unmarked fuses (mul by a literal on either side, no batch
  // beyond the first dim).
  std::string unmarked = marked;
  unmarked.replace(unmarked.find(" {should_fallback = true}"), 25, "");
  unmarked.replace(unmarked.find("mul(%s, 0.25)"), 13, "mul(0.25, %s)");
  Compiled u = CompileText(unmarked, FusingCaps());
  EXPECT_THAT(FusedNodes(u.plan), ElementsAre("kt", "s", "x", "p", "o"));
  ASSERT_EQ(u.schedule.steps.size(), 1u) << u.schedule.ToString();
  EXPECT_EQ(u.schedule.steps[0].pattern, "attention");
}

TEST(AttentionTest, LookalikesAreNotFused) {
  const char* cases[] = {
      // f32: not a tensor-core dtype here.
      R"(graph a(%q: f32[2, 64, 64], %k: f32[2, 64, 64], %v: f32[2, 64, 64]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %p = softmax(%s, dim = -1)
  %o = matmul(%p, %v)
  return %o
})",
      // softmax over the wrong dim.
      R"(graph a(%q: f16[2, 64, 64], %k: f16[2, 64, 64], %v: f16[2, 64, 64]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %p = softmax(%s, dim = 1)
  %o = matmul(%p, %v)
  return %o
})",
      // the scores are also a graph output.
      R"(graph a(%q: f16[2, 64, 64], %k: f16[2, 64, 64], %v: f16[2, 64, 64]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %p = softmax(%s, dim = -1)
  %o = matmul(%p, %v)
  return %o, %s
})",
      // a mask between the scores and the softmax.
      R"(graph a(%q: f16[2, 64, 64], %k: f16[2, 64, 64], %v: f16[2, 64, 64], %m: f16[64, 64]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s0 = matmul(%q, %kt)
  %s = add(%s0, %m)
  %p = softmax(%s, dim = -1)
  %o = matmul(%p, %v)
  return %o
})",
      // head dim 48: not a multiple of 32.
      R"(graph a(%q: f16[2, 64, 48], %k: f16[2, 64, 48], %v: f16[2, 64, 48]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %p = softmax(%s, dim = -1)
  %o = matmul(%p, %v)
  return %o
})",
      // a negative scale.
      R"(graph a(%q: f16[2, 64, 64], %k: f16[2, 64, 64], %v: f16[2, 64, 64]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %x = mul(%s, -0.5)
  %p = softmax(%x, dim = -1)
  %o = matmul(%p, %v)
  return %o
})",
      // k broadcast over the batch.
      R"(graph a(%q: f16[2, 64, 64], %k: f16[64, 64], %v: f16[2, 64, 64]) {
  %kt = transpose(%k, dim0 = 0, dim1 = 1)
  %s = matmul(%q, %kt)
  %p = softmax(%s, dim = -1)
  %o = matmul(%p, %v)
  return %o
})",
  };
  for (const char* text : cases) {
    Compiled c = CompileText(text, FusingCaps());
    EXPECT_TRUE(FusedNodes(c.plan).empty()) << text;
    for (const Step& s : c.schedule.steps) EXPECT_TRUE(s.pattern.empty()) << text;
  }
}

TEST(AttentionTest, NoScaleAndSelfAttentionOnOneTensor) {
  Compiled c = CompileText(R"(
graph a(%x: f16[64, 32]) {
  %kt = transpose(%x, dim0 = 0, dim1 = 1)
  %s = matmul(%x, %kt)
  %p = softmax(%s, dim = 1)
  %o = matmul(%p, %x)
  return %o
})",
                   FusingCaps());
  ASSERT_EQ(c.schedule.steps.size(), 1u) << c.schedule.ToString();
  EXPECT_EQ(c.schedule.steps[0].pattern, "attention");
  EXPECT_THAT(Names(c.schedule.steps[0].inputs), ElementsAre("x"));
  std::optional<AttentionMatch> m =
      MatchAttention(c.graph, *c.schedule.steps[0].outputs[0], c.graph.ComputeUsers());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->q, m->k);
  EXPECT_EQ(m->batch, 1);
  EXPECT_DOUBLE_EQ(m->scale, 1.0);
}

}  // namespace
}  // namespace sluice::passes
