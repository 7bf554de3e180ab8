#include "codegen/cuda/capabilities.h"

#include <string>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/lowering_plan.h"
#include "passes/pipeline.h"

namespace sluice::codegen::cuda {
namespace {

using passes::Decision;
using passes::Rule;

TEST(CudaCapabilitiesTest, MatmulIsCublasForFloatsAndFallsBackForIntegers) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%a: f32[4, 8], %b: f32[8, 2], %c: f16[2, 4, 8], %d: f16[8, 4], %e: bf16[4, 4],
        %f: f64[4, 4], %i: i32[4, 8], %j: i32[8, 2], %k: i64[3, 3]) {
  %m32 = matmul(%a, %b)
  %m16 = matmul(%c, %d)
  %mbf = matmul(%e, %e)
  %m64 = matmul(%f, %f)
  %mi32 = matmul(%i, %j)
  %mi64 = matmul(%k, %k)
  return %m32, %m16, %mbf, %m64, %mi32, %mi64
}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<passes::LoweringPlan> plan =
      passes::RunLoweringPipeline(&*g, passes::LoweringOptions(), CudaCapabilities());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->backend, "cuda");
  for (const char* n : {"m32", "m16", "mbf", "m64"}) {
    const passes::NodeDecision* e = plan->Find(n);
    ASSERT_NE(e, nullptr) << n;
    EXPECT_EQ(e->decision, Decision::kLibrary) << n;
    EXPECT_EQ(e->rule, Rule::kDefault) << n;
  }
  for (const char* n : {"mi32", "mi64"}) {
    const passes::NodeDecision* e = plan->Find(n);
    ASSERT_NE(e, nullptr) << n;
    EXPECT_EQ(e->decision, Decision::kFallback) << n;
    EXPECT_EQ(e->rule, Rule::kNoLowering) << n;
    EXPECT_NE(e->detail.find("cuBLAS"), std::string::npos) << e->detail;
  }
  EXPECT_NE(plan->Find("mi64")->detail.find("i64"), std::string::npos);
}

TEST(CudaCapabilitiesTest, StrictTurnsIntegerMatmulIntoAnError) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%i: i32[4, 8], %j: i32[8, 2]) {
  %m = matmul(%i, %j)
  return %m
}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  passes::LoweringOptions options;
  options.strict = true;
  absl::StatusOr<passes::LoweringPlan> plan =
      passes::RunLoweringPipeline(&*g, options, CudaCapabilities());
  EXPECT_FALSE(plan.ok());
}

TEST(CudaCapabilitiesTest, FusesAttentionAndMatmulEpilogues) {
  const passes::BackendCapabilities caps = CudaCapabilities();
  EXPECT_TRUE(caps.fused_attention);
  EXPECT_TRUE(caps.fused_matmul_epilogue);
}

TEST(CudaCapabilitiesTest, EverythingElseIsLoweredInEveryDtype) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%x: f32[4, 8], %h: bf16[4, 8], %i: i64[4, 8], %b: bool[4, 8]) {
  %s = softmax(%x, dim = -1)
  %l = layer_norm(%h, normalized_shape = [8])
  %r = rms_norm(%x, normalized_shape = [8])
  %t = transpose(%i, dim0 = 0, dim1 = 1)
  %a = argmax(%i, dim = 1)
  %n = logical_not(%b)
  %c = cast(%i, dtype = f16)
  %f = full(shape = [2], value = 3.0)
  return %s, %l, %r, %t, %a, %n, %c, %f
}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<passes::LoweringPlan> plan =
      passes::RunLoweringPipeline(&*g, passes::LoweringOptions(), CudaCapabilities());
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const char* n : {"s", "l", "r", "t", "a", "n", "c", "f"}) {
    const passes::NodeDecision* e = plan->Find(n);
    ASSERT_NE(e, nullptr) << n;
    EXPECT_EQ(e->decision, Decision::kLower) << n;
  }
  EXPECT_TRUE(plan->NodesWith(Decision::kFallback).empty());
}

// Long reductions with few outputs are split (passes/split_reduction.h) for
// the GPU's SM count: rows up to one per SM, columns up to 32 per SM.
TEST(CudaCapabilitiesTest, SplitReductionsAreSizedForTheSmCount) {
  const passes::SplitReductionParams h100 = CudaCapabilities().split_reduction;
  EXPECT_EQ(h100.parallel_rows, 264);
  EXPECT_EQ(h100.parallel_columns, 8448);
  EXPECT_EQ(h100.min_length, 65536);
  const passes::SplitReductionParams small = CudaCapabilities(20).split_reduction;
  EXPECT_EQ(small.parallel_rows, 40);
  EXPECT_EQ(small.parallel_columns, 1280);
}

}  // namespace
}  // namespace sluice::codegen::cuda
