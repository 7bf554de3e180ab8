#include "passes/split_reduction.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fallback/interpreter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/fuse.h"
#include "passes/golden.h"
#include "passes/lowering_plan.h"
#include "passes/pass.h"
#include "passes/pipeline.h"
#include "passes/selective_lowering.h"
#include "passes/test_capabilities.h"
#include "runtime/tensor.h"
#include "testing/differential.h"

namespace sluice::passes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SplitReductionTest, GoldenCases) {
  absl::Status s = RunGoldenTestFile("passes/testdata/split_reduction.graph");
  EXPECT_TRUE(s.ok()) << s.message();
}

// What the CUDA backend asks for on a 132-SM H100 (codegen/cuda
// CudaCapabilities): 264 rows, 32 x 264 columns.
SplitReductionParams H100() {
  SplitReductionParams p;
  p.parallel_rows = 264;
  p.parallel_columns = 32 * 264;
  return p;
}

// The small-GPU parameters of the golden cases.
SplitReductionParams Small() {
  SplitReductionParams p;
  p.parallel_rows = 16;
  p.parallel_columns = 64;
  p.min_length = 64;
  p.min_partial_length = 8;
  return p;
}

// SplitFactor of the reduction `op(%x: type, attrs)`, and why not when 0.
int64_t Factor(const std::string& type, const std::string& op, const std::string& attrs,
               std::string* why = nullptr) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph("graph g(%x: " + type + ") {\n  %r = " + op + "(%x" +
                                               attrs + ")\n  return %r\n}");
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return -1;
  return SplitFactor(*g->FindNode("r"), H100(), why);
}

TEST(SplitReductionTest, FactorsOnAnH100) {
  // x.sum() over 16M: 512 partial rows of 32768 (target 2 x 264).
  EXPECT_EQ(Factor("f32[4096, 4096]", "sum", ", dims = [0, 1]"), 512);
  EXPECT_EQ(Factor("f16[4096, 4096]", "amax", ""), 512);
  // 8 rows x 8M: 64 partials each, 512 rows in all.
  EXPECT_EQ(Factor("f32[8, 8388608]", "sum", ", dims = [1]"), 64);
  // 8 columns x 8M: 2048 partials each, 16384 columns (512 blocks of 32).
  EXPECT_EQ(Factor("f32[8388608, 8]", "sum", ", dims = [0]"), 2048);
  // A length that is not a power of two: the divisor nearest 528.
  EXPECT_EQ(Factor("f32[1000, 1000]", "amin", ""), 500);
  // As many rows as SMs: each still gets 4.
  EXPECT_EQ(Factor("f32[132, 1048576]", "sum", ", dims = [1]"), 4);
  // At min_length, the parts are limited by min_partial_length (64 of 1024).
  EXPECT_EQ(Factor("f32[65536]", "sum", ""), 64);
}

TEST(SplitReductionTest, WhatStaysWholeOnAnH100AndWhy) {
  std::string why;
  EXPECT_EQ(Factor("f32[133, 1048576]", "sum", ", dims = [1]", &why), 0);
  EXPECT_THAT(why, HasSubstr("133 outputs keep the device busy (row reductions are split up to "
                             "132 outputs)"));
  EXPECT_EQ(Factor("f32[65536, 4225]", "sum", ", dims = [0]", &why), 0);
  EXPECT_THAT(why, HasSubstr("column reductions are split up to 4224 outputs"));
  EXPECT_EQ(Factor("f32[32768]", "sum", "", &why), 0);
  EXPECT_THAT(why, HasSubstr("reduces 32768 elements per output, fewer than 65536"));
  // 2 x 1000003 (a prime): the only parts are 2, far from 528.
  EXPECT_EQ(Factor("f32[2000006]", "sum", "", &why), 0);
  EXPECT_THAT(why, HasSubstr("2000006 (the longest run of reduced dims) has no divisor near 528"));
  EXPECT_EQ(Factor("f32[4096, 4096]", "argmax", ", dim = 0", &why), 0);
  EXPECT_THAT(why, HasSubstr("argmax is not split"));
  EXPECT_EQ(Factor("f32[4096, 4096]", "mean", "", &why), 0);
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(
      "graph g(%x: f32[16777216]) {\n"
      "  %r = sum(%x)\n  return %r\n}");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(SplitFactor(*g->FindNode("r"), SplitReductionParams(), &why), 0);
  EXPECT_THAT(why, HasSubstr("the backend does not split reductions"));
  SplitReductionParams rows_only = H100();
  rows_only.parallel_columns = 0;
  absl::StatusOr<ir::Graph> c = ir::ParseGraph(
      "graph g(%x: f32[8388608, 8]) {\n"
      "  %r = sum(%x, dims = [0])\n  return %r\n}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(SplitFactor(*c->FindNode("r"), rows_only, &why), 0);
  EXPECT_THAT(why, HasSubstr("the backend does not split column reductions"));
}

TEST(SplitReductionTest, NeedsThePlan) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(
      "graph g(%x: f32[64, 64]) {\n"
      "  %r = sum(%x)\n  return %r\n}");
  ASSERT_TRUE(g.ok());
  PassContext context;
  context.capabilities.split_reduction = Small();
  SplitReductionPass pass(&context);
  EXPECT_EQ(pass.Run(&*g).status().code(), absl::StatusCode::kFailedPrecondition);
  LoweringPlan empty;
  EXPECT_THAT(SplitReductions(&*g, &empty, Small()).status().message(),
              HasSubstr("%r (sum) has no entry in the lowering plan"));
}

// The lowering pipeline with the small-GPU parameters, then fusion.
struct Fused {
  ir::Graph graph;
  LoweringPlan plan;
  Schedule schedule;
};

void Pipeline(const std::string& text, Fused* out) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  ASSERT_TRUE(g.ok()) << g.status();
  out->graph = *std::move(g);
  BackendCapabilities caps = AllLowerable();
  caps.split_reduction = Small();
  PipelineOptions po;
  po.verify_each = true;
  absl::StatusOr<LoweringPlan> plan = RunLoweringPipeline(&out->graph, {}, caps, po);
  ASSERT_TRUE(plan.ok()) << plan.status();
  out->plan = *std::move(plan);
  absl::StatusOr<Schedule> schedule = Fuse(out->graph, &out->plan);
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  out->schedule = *std::move(schedule);
}

std::vector<std::string> Names(const std::vector<const ir::Node*>& nodes) {
  std::vector<std::string> out;
  for (const ir::Node* n : nodes) out.push_back(n->name());
  return out;
}

// The producer stays fused into the first stage (x * x is never written),
// the second stage reads the partials only.
TEST(SplitReductionTest, ProducersFuseIntoTheFirstStage) {
  Fused f;
  ASSERT_NO_FATAL_FAILURE(Pipeline(R"(graph sq(%x: f32[64, 64]) {
  %q = mul(%x, %x)
  %s = sum(%q)
  return %s
})",
                                   &f));
  ASSERT_EQ(f.schedule.steps.size(), 2u) << f.schedule.ToString();
  const Step& first = f.schedule.steps[0];
  EXPECT_EQ(first.kind, StepKind::kKernel);
  EXPECT_THAT(Names(first.nodes), ElementsAre("q", "s_split_view", "s_split_partial"));
  EXPECT_THAT(Names(first.inputs), ElementsAre("x"));
  EXPECT_THAT(Names(first.outputs), ElementsAre("s_split_partial"));
  EXPECT_THAT(Names(f.schedule.steps[1].nodes), ElementsAre("s"));
  EXPECT_THAT(Names(f.schedule.steps[1].inputs), ElementsAre("s_split_partial"));
  const NodeDecision* s = f.plan.Find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kernel, 0);
  EXPECT_EQ(s->split, 32);
  EXPECT_EQ(f.plan.Find("q")->kernel, 0);
}

// mean((a - b)^2): the difference and square in the first stage, the scale
// by 1/n joins the second; the mean's plan entry has the split.
TEST(SplitReductionTest, MseIsTwoKernels) {
  Fused f;
  ASSERT_NO_FATAL_FAILURE(Pipeline(R"(graph mse(%a: f32[64, 64], %b: f32[64, 64]) {
  %d = sub(%a, %b)
  %q = mul(%d, %d)
  %m = mean(%q)
  return %m
})",
                                   &f));
  ASSERT_EQ(f.schedule.num_kernels(), 2) << f.schedule.ToString();
  ASSERT_EQ(f.schedule.steps.size(), 2u);
  EXPECT_THAT(Names(f.schedule.steps[0].inputs), ElementsAre("a", "b"));
  EXPECT_THAT(Names(f.schedule.steps[0].outputs), ElementsAre("m_sum_split_partial"));
  EXPECT_THAT(Names(f.schedule.steps[1].nodes), ElementsAre("m_sum", "m"));
  const NodeDecision* m = f.plan.Find("m");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->kernel, 0);
  EXPECT_EQ(m->split, 32);
  EXPECT_THAT(f.plan.ToTable(), HasSubstr("0 (split 32)"));
  EXPECT_THAT(f.plan.ToJson(), HasSubstr("\"kernel\":0,\"split\":32}"));
}

// A marked node stays one fallback step; its lowered twin is two kernels.
TEST(SplitReductionTest, AMarkedReductionStaysOneFallbackStep) {
  Fused f;
  ASSERT_NO_FATAL_FAILURE(Pipeline(R"(graph twins(%x: f32[64, 64]) {
  %fb = sum(%x) {should_fallback = true}
  %lo = sum(%x)
  return %fb, %lo
})",
                                   &f));
  ASSERT_EQ(f.schedule.steps.size(), 3u) << f.schedule.ToString();
  EXPECT_EQ(f.schedule.steps[0].kind, StepKind::kFallback);
  EXPECT_THAT(Names(f.schedule.steps[0].nodes), ElementsAre("fb"));
  EXPECT_EQ(f.plan.Find("fb")->split, 0);
  EXPECT_EQ(f.plan.Find("lo")->split, 32);
  EXPECT_EQ(f.schedule.num_kernels(), 2);
}

struct NumericCase {
  std::string name;
  std::string text;
  // For every output; default: testing/differential.h's per dtype (exact
  // for integers).
  std::optional<sluice::testing::Tolerance> tol;
};

// f32 sums of a few thousand unit-scale terms, reassociated: rounding
// differences of up to ~1e-4 in absolute terms, however small the sum.
constexpr sluice::testing::Tolerance kF32Sums = {1e-5, 5e-4, /*equal_nan=*/true};

void PrintTo(const NumericCase& c, std::ostream* os) { *os << c.name; }

class SplitReductionNumericTest : public ::testing::TestWithParam<NumericCase> {};

// The split graph computes what the original does, both run through the
// reference interpreter: sums are reassociated, so floats match to rounding;
// integer sums, max and min exactly.
TEST_P(SplitReductionNumericTest, MatchesTheUnsplitReduction) {
  absl::StatusOr<ir::Graph> original = ir::ParseGraph(GetParam().text);
  ASSERT_TRUE(original.ok()) << original.status();
  ir::Graph split = original->Clone();
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(split, {}, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<bool> changed = SplitReductions(&split, &*plan, Small());
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_TRUE(*changed) << "nothing was split in\n" << ir::PrintGraph(split);
  auto run_split = [&split](const ir::Graph&, const std::vector<runtime::Tensor>& inputs) {
    return fallback::RunReference(split, inputs);
  };
  for (uint64_t seed : {1u, 2u}) {
    EXPECT_TRUE(sluice::testing::CompiledMatchesReferenceOnRandomInputs(*original, seed, run_split,
                                                                        GetParam().tol))
        << ir::PrintGraph(split);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Reductions, SplitReductionNumericTest,
    ::testing::Values(NumericCase{"full", R"(graph g(%x: f32[64, 64]) {
  %s = sum(%x)
  %mx = amax(%x, dims = [1, 0])
  %mn = amin(%x, keepdim = true)
  return %s, %mx, %mn
})",
                                  kF32Sums},
                      NumericCase{"fused_producers", R"(graph g(%a: f32[64, 64], %b: f32[64, 64]) {
  %d = sub(%a, %b)
  %q = mul(%d, %d)
  %m = sum(%q, keepdim = true)
  return %m
})",
                                  kF32Sums},
                      NumericCase{"rows", R"(graph g(%x: f32[4, 4096]) {
  %s = sum(%x, dims = [1])
  %k = amax(%x, dims = [-1], keepdim = true)
  return %s, %k
})",
                                  kF32Sums},
                      NumericCase{
                          "columns_and_runs",
                          R"(graph g(%c: f32[4096, 4], %m: f32[4, 1024, 2], %y: f32[64, 4, 64]) {
  %cols = sum(%c, dims = [0])
  %ck = amin(%c, dims = [0], keepdim = true)
  %mid = sum(%m, dims = [1], keepdim = true)
  %two = sum(%m, dims = [0, 1])
  %runs = sum(%y, dims = [0, 2], keepdim = true)
  return %cols, %ck, %mid, %two, %runs
})",
                          kF32Sums},
                      NumericCase{"half_and_bfloat", R"(graph g(%h: f16[64, 64], %b: bf16[64, 64]) {
  %sh = sum(%h)
  %sb = sum(%b, keepdim = true)
  %mb = amax(%b)
  return %sh, %sb, %mb
})"},
                      NumericCase{"integers", R"(graph g(%i: i32[64, 64], %t: bool[64, 64]) {
  %si = sum(%i)
  %st = sum(%t)
  %mi = amin(%i)
  return %si, %st, %mi
})"}));

}  // namespace
}  // namespace sluice::passes
