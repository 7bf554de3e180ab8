#include "passes/matmul_epilogue.h"

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
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// A backend like CUDA: matmul through a library, epilogues fusable.
BackendCapabilities CudaLike(bool epilogues = true) {
  TestBackendSpec spec;
  spec.backend = "cuda";
  spec.library_ops = {"matmul"};
  BackendCapabilities caps = MakeTestCapabilities(spec);
  caps.fused_attention = true;
  caps.fused_matmul_epilogue = epilogues;
  return caps;
}

// "library matmul_epilogue [h, hb, g]"-style lines, one per step.
std::vector<std::string> Steps(const Schedule& s) {
  std::vector<std::string> out;
  for (const Step& step : s.steps) {
    std::string line = std::string(StepKindName(step.kind));
    if (!step.pattern.empty()) line += " " + step.pattern;
    line += " [";
    for (size_t i = 0; i < step.nodes.size(); ++i) {
      line += (i ? ", " : "") + step.nodes[i]->name();
    }
    out.push_back(line + "]");
  }
  return out;
}

// benchmarks/graphs/mlp.graph, small.
constexpr char kMlp[] = R"(
graph mlp(%x: f32[64, 32], %w1: f32[32, 128], %b1: f32[128], %w2: f32[128, 32]) {
  %h = matmul(%x, %w1)
  %hb = add(%h, %b1)
  %g = gelu(%hb, approximate = "tanh")
  %out = matmul(%g, %w2)
  return %out
})";

TEST(MatmulEpilogueTest, MlpIsOneLibraryCallThenThePlainMatmul) {
  Compiled c = CompileText(kMlp, CudaLike());
  EXPECT_THAT(FusedNodes(c.plan), ElementsAre("h", "hb", "g"));
  for (const char* n : {"h", "hb", "g"}) {
    EXPECT_EQ(c.plan.Find(n)->fused_pattern, "matmul_epilogue") << n;
    EXPECT_EQ(c.plan.Find(n)->fused_root, "g") << n;
    EXPECT_EQ(c.plan.Find(n)->kernel, 0) << n;
  }
  EXPECT_EQ(c.plan.Find("h")->decision, Decision::kLibrary);
  EXPECT_EQ(c.plan.Find("g")->decision, Decision::kLower);
  EXPECT_EQ(c.plan.Find("out")->kernel, 1);
  // gelu was not decomposed: the library call computes it.
  ASSERT_NE(c.graph.FindNode("g"), nullptr);
  EXPECT_EQ(c.graph.FindNode("g")->op(), "gelu");
  EXPECT_THAT(Steps(c.schedule),
              ElementsAre("library matmul_epilogue [h, hb, g]", "library [out]"));
  const Step& fused = c.schedule.steps[0];
  EXPECT_THAT(Names(fused.inputs), ElementsAre("x", "w1", "b1"));
  EXPECT_THAT(Names(fused.outputs), ElementsAre("g"));
  EXPECT_THAT(Names(c.schedule.steps[1].inputs), ElementsAre("g", "w2"));
  EXPECT_EQ(c.schedule.num_kernels(), 0);
  EXPECT_THAT(c.plan.ToTable(), HasSubstr("0 (matmul_epilogue)"));
  EXPECT_THAT(c.plan.ToJson(), HasSubstr("\"kernel\":0,\"fused\":\"matmul_epilogue\""));

  absl::StatusOr<MatmulEpilogueMatch> m = MatmulEpilogueFromNodes(fused.nodes);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->matmul->name(), "h");
  EXPECT_EQ(m->a->name(), "x");
  EXPECT_EQ(m->b->name(), "w1");
  EXPECT_EQ(m->bias->name(), "b1");
  EXPECT_EQ(m->act, EpilogueActivation::kGeluTanh);
  EXPECT_EQ(m->root()->name(), "g");
  EXPECT_EQ(m->Describe(), "bias+gelu_tanh");
}

TEST(MatmulEpilogueTest, WithoutTheCapabilityNothingChanges) {
  // The CPU backend's case (fused_matmul_epilogue is false there).
  Compiled c = CompileText(kMlp, CudaLike(/*epilogues=*/false));
  EXPECT_TRUE(FusedNodes(c.plan).empty());
  for (const Step& s : c.schedule.steps) EXPECT_TRUE(s.pattern.empty());
  EXPECT_NE(c.graph.FindNode("g")->op(), "gelu");  // decomposed
  ASSERT_EQ(c.schedule.steps.size(), 3u) << c.schedule.ToString();
  EXPECT_EQ(c.schedule.steps[0].kind, StepKind::kLibrary);
  EXPECT_EQ(c.schedule.steps[1].kind, StepKind::kKernel);  // add + gelu
  EXPECT_EQ(c.schedule.steps[2].kind, StepKind::kLibrary);
  EXPECT_EQ(c.plan.Find("hb")->kernel, 1);
  EXPECT_EQ(c.plan.Find("g")->kernel, 1);

  // Every op lowered (no library matmul): nothing to fuse either.
  BackendCapabilities all = AllLowerable("cpu");
  all.fused_matmul_epilogue = true;
  Compiled k = CompileText(kMlp, all);
  EXPECT_TRUE(FusedNodes(k.plan).empty());
}

TEST(MatmulEpilogueTest, AMarkedAddKeepsTheMatmulAPlainCall) {
  std::string text = kMlp;
  text.replace(text.find("add(%h, %b1)"), 12, "add(%h, %b1) {should_fallback = true}");
  Compiled c = CompileText(text, CudaLike());
  EXPECT_TRUE(FusedNodes(c.plan).empty());
  EXPECT_EQ(c.plan.Find("hb")->decision, Decision::kFallback);
  EXPECT_EQ(c.plan.Find("hb")->rule, Rule::kMetaFallback);
  // (The kernel holds the decomposed gelu.)
  EXPECT_THAT(Steps(c.schedule), ElementsAre("library [h]", "fallback [hb]", HasSubstr("kernel ["),
                                             "library [out]"))
      << c.schedule.ToString();
  EXPECT_EQ(c.plan.Find("g")->kernel, 2);
  // The add reads the matmul's materialized result.
  EXPECT_THAT(Names(c.schedule.steps[1].inputs), ElementsAre("h", "b1"));
}

TEST(MatmulEpilogueTest, AMarkedMatmulFusesNothing) {
  LoweringOptions o;
  o.fallback_ops = {"matmul"};
  Compiled c = CompileText(kMlp, CudaLike(), o);
  EXPECT_TRUE(FusedNodes(c.plan).empty());
  EXPECT_EQ(c.plan.Find("h")->rule, Rule::kFallbackOp);
  EXPECT_THAT(Steps(c.schedule),
              ElementsAre("fallback [h]", HasSubstr("kernel [hb, "), "fallback [out]"))
      << c.schedule.ToString();
  EXPECT_EQ(c.plan.Find("g")->kernel, 1);
}

TEST(MatmulEpilogueTest, AMarkedActivationLeavesMatmulPlusBias) {
  LoweringOptions o;
  o.fallback_nodes = {"g"};
  Compiled c = CompileText(kMlp, CudaLike(), o);
  EXPECT_THAT(FusedNodes(c.plan), ElementsAre("h", "hb"));
  EXPECT_EQ(c.plan.Find("hb")->fused_root, "hb");
  EXPECT_EQ(c.plan.Find("g")->rule, Rule::kFallbackNode);
  EXPECT_TRUE(c.plan.Find("g")->fused_pattern.empty());
  EXPECT_THAT(Steps(c.schedule), ElementsAre("library matmul_epilogue [h, hb]", "fallback [g]",
                                             "library [out]"));
  EXPECT_THAT(Names(c.schedule.steps[0].outputs), ElementsAre("hb"));
  EXPECT_THAT(Names(c.schedule.steps[1].inputs), ElementsAre("hb"));
  absl::StatusOr<MatmulEpilogueMatch> m = MatmulEpilogueFromNodes(c.schedule.steps[0].nodes);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->act, EpilogueActivation::kNone);
  EXPECT_EQ(m->Describe(), "bias");
}

TEST(MatmulEpilogueTest, AValueUsedElsewhereEndsTheChainThere) {
  // hb is also returned: matmul + bias fused (hb written), gelu a kernel.
  std::string text = kMlp;
  text.replace(text.find("return %out"), 11, "return %out, %hb");
  Compiled c = CompileText(text, CudaLike());
  EXPECT_THAT(FusedNodes(c.plan), ElementsAre("h", "hb"));
  EXPECT_THAT(Steps(c.schedule).front(), "library matmul_epilogue [h, hb]");
  EXPECT_THAT(Names(c.schedule.steps[0].outputs), ElementsAre("hb"));

  // h has a second user: nothing to fuse.
  Compiled d = CompileText(R"(
graph mlp(%x: f32[64, 32], %w1: f32[32, 128], %b1: f32[128]) {
  %h = matmul(%x, %w1)
  %hb = add(%h, %b1)
  %g = gelu(%hb, approximate = "tanh")
  %e = exp(%h)
  return %g, %e
})",
                           CudaLike());
  EXPECT_TRUE(FusedNodes(d.plan).empty());
  EXPECT_EQ(d.schedule.steps[0].kind, StepKind::kLibrary);
  EXPECT_TRUE(d.schedule.steps[0].pattern.empty());

  // h is a graph output: likewise.
  Compiled e = CompileText(R"(
graph mlp(%x: f32[64, 32], %w1: f32[32, 128]) {
  %h = matmul(%x, %w1)
  %r = relu(%h)
  return %r, %h
})",
                           CudaLike());
  EXPECT_TRUE(FusedNodes(e.plan).empty());
}

TEST(MatmulEpilogueTest, ReluOrBiasAloneAndBatchedRowsAndTheBiasFirst) {
  Compiled c = CompileText(R"(
graph g(%x: bf16[2, 3, 5], %w: bf16[5, 7], %b: bf16[1, 7], %y: f16[3, 5], %v: f16[5, 7],
        %z: f16[3, 7]) {
  %h = matmul(%x, %w)
  %hb = add(%b, %h)
  %r = relu(%hb)
  %k = matmul(%y, %v)
  %kr = relu(%k)
  %m = matmul(%y, %v)
  %mb = add(%m, %z)
  return %r, %kr, %mb
})",
                           CudaLike());
  // %mb adds a [3, 7] matrix, not a per-column vector: not a bias. %k and
  // %m are the same product but, %k being fused, cse keeps them apart.
  EXPECT_THAT(FusedNodes(c.plan), ElementsAre("h", "hb", "r", "k", "kr"));
  std::vector<std::string> describe;
  for (const Step& s : c.schedule.steps) {
    if (s.pattern.empty()) continue;
    absl::StatusOr<MatmulEpilogueMatch> m = MatmulEpilogueFromNodes(s.nodes);
    ASSERT_TRUE(m.ok()) << m.status();
    describe.push_back(m->Describe());
  }
  EXPECT_THAT(describe, ElementsAre("bias+relu", "relu"));
  EXPECT_NE(c.graph.FindNode("m"), nullptr);
}

TEST(MatmulEpilogueTest, LookalikesAreNotFused) {
  const char* cases[] = {
      // a bias per row (broadcast along the last dim), not per column.
      R"(graph a(%x: f32[8, 4], %w: f32[4, 8], %b: f32[8, 1]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  return %hb
})",
      // a scalar literal.
      R"(graph a(%x: f32[8, 4], %w: f32[4, 6]) {
  %h = matmul(%x, %w)
  %hb = add(%h, 1.0)
  return %hb
})",
      // f64: no epilogue here.
      R"(graph a(%x: f64[8, 4], %w: f64[4, 6], %b: f64[6]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  return %hb
})",
      // a batched weight.
      R"(graph a(%x: f32[2, 8, 4], %w: f32[2, 4, 6], %b: f32[6]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  return %hb
})",
      // a bias of another dtype (the add promotes to f32).
      R"(graph a(%x: f16[8, 4], %w: f16[4, 6], %b: f32[6]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  return %hb
})",
      // sigmoid: no such epilogue.
      R"(graph a(%x: f32[8, 4], %w: f32[4, 6]) {
  %h = matmul(%x, %w)
  %s = sigmoid(%h)
  return %s
})",
      // a matrix-vector product.
      R"(graph a(%x: f32[8, 4], %w: f32[4], %b: f32[8]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  return %hb
})",
  };
  for (const char* text : cases) {
    Compiled c = CompileText(text, CudaLike());
    EXPECT_TRUE(FusedNodes(c.plan).empty()) << text;
    for (const Step& s : c.schedule.steps) EXPECT_TRUE(s.pattern.empty()) << text;
  }
}

TEST(MatmulEpilogueTest, TheExactGeluIsNotTheEpilogues) {
  // cuBLASLt's GELU epilogue is the tanh approximation: gelu(approximate =
  // "none") stays a kernel after matmul + bias.
  Compiled c = CompileText(R"(graph a(%x: f32[8, 4], %w: f32[4, 6], %b: f32[6]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  %g = gelu(%hb)
  %n = gelu(%h)
  return %g, %n
})",
                           CudaLike());
  EXPECT_TRUE(FusedNodes(c.plan).empty());  // h has two users
  Compiled d = CompileText(R"(graph a(%x: f32[8, 4], %w: f32[4, 6], %b: f32[6]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  %g = gelu(%hb, approximate = "none")
  return %g
})",
                           CudaLike());
  EXPECT_THAT(FusedNodes(d.plan), ElementsAre("h", "hb"));
  EXPECT_THAT(Steps(d.schedule),
              ElementsAre("library matmul_epilogue [h, hb]", HasSubstr("kernel [")));
}

TEST(MatmulEpilogueTest, AttentionMatmulsAreLeftToAttention) {
  Compiled c = CompileText(R"(
graph attn(%q: f16[2, 64, 64], %k: f16[2, 64, 64], %v: f16[2, 64, 64], %b: f16[64]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %p = softmax(%s, dim = -1)
  %o = matmul(%p, %v)
  %r = add(%o, %b)
  return %r
})",
                           CudaLike());
  EXPECT_EQ(c.plan.Find("o")->fused_pattern, "attention");
  EXPECT_TRUE(c.plan.Find("r")->fused_pattern.empty());
  EXPECT_THAT(Steps(c.schedule), ElementsAre("kernel attention [kt, s, p, o]", "kernel [r]"));
}

TEST(MatmulEpilogueTest, FromNodesRejectsWhatIsNotAChain) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph a(%x: f32[8, 4], %w: f32[4, 6], %b: f32[6]) {
  %h = matmul(%x, %w)
  %e = exp(%h)
  %hb = add(%h, %b)
  return %e, %hb
})");
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::Node* h = g->FindNode("h");
  const ir::Node* e = g->FindNode("e");
  const ir::Node* hb = g->FindNode("hb");
  EXPECT_TRUE(MatmulEpilogueFromNodes({h, hb}).ok());
  absl::StatusOr<MatmulEpilogueMatch> bad = MatmulEpilogueFromNodes({h, e});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("nodes [%h, %e] are not a matmul epilogue chain"));
  EXPECT_FALSE(MatmulEpilogueFromNodes({h}).ok());
  EXPECT_FALSE(MatmulEpilogueFromNodes({hb, h}).ok());
  // Structure only (no plan): the chain ends at h, which has two users.
  EXPECT_FALSE(MatchMatmulEpilogue(*g, *h, g->ComputeUsers(), nullptr).has_value());
}

}  // namespace
}  // namespace sluice::passes
