// Numerics of the decompositions: each composite, run through the reference
// interpreter as one kernel, must match its decomposition run the same way
// (random inputs, explicit per-dtype tolerances).
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fallback/interpreter.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/decompose.h"
#include "passes/lowering_plan.h"
#include "passes/selective_lowering.h"
#include "passes/test_capabilities.h"
#include "runtime/tensor.h"
#include "testing/allclose.h"
#include "testing/random.h"

namespace sluice::passes {
namespace {

// The decomposition computes in f32 like the composite kernels, but sums in a
// different order; a low-precision result may round differently by one ulp.
// NaN must meet NaN (the mean of nothing).
sluice::testing::Tolerance ToleranceFor(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::kF16:
      return {2e-3, 1e-3, /*equal_nan=*/true};
    case ir::DType::kBF16:
      return {1.6e-2, 1e-2, /*equal_nan=*/true};
    case ir::DType::kF64:
      return {1e-12, 1e-12, /*equal_nan=*/true};
    default:
      return {1e-5, 1e-5, /*equal_nan=*/true};
  }
}

struct Case {
  std::string name;
  std::string text;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class DecomposeNumericTest : public ::testing::TestWithParam<Case> {};

TEST_P(DecomposeNumericTest, MatchesTheCompositeKernel) {
  absl::StatusOr<ir::Graph> composite = ir::ParseGraph(GetParam().text);
  ASSERT_TRUE(composite.ok()) << composite.status();
  ir::Graph decomposed = composite->Clone();
  absl::StatusOr<LoweringPlan> plan = SelectiveLowering(decomposed, {}, AllLowerable());
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<bool> changed = Decompose(&decomposed, *plan);
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_TRUE(*changed) << "nothing was decomposed in\n" << ir::PrintGraph(decomposed);
  for (const ir::Node* n : decomposed.calls()) {
    ASSERT_FALSE(IsDecomposable(n->op())) << ir::PrintGraph(decomposed);
  }

  for (uint64_t seed : {1u, 2u, 3u}) {
    std::vector<runtime::Tensor> inputs = sluice::testing::RandomInputs(*composite, seed);
    absl::StatusOr<std::vector<runtime::Tensor>> expected =
        fallback::RunReference(*composite, inputs);
    ASSERT_TRUE(expected.ok()) << expected.status();
    absl::StatusOr<std::vector<runtime::Tensor>> actual =
        fallback::RunReference(decomposed, inputs);
    ASSERT_TRUE(actual.ok()) << actual.status();
    ASSERT_EQ(actual->size(), expected->size());
    for (size_t i = 0; i < actual->size(); ++i) {
      SCOPED_TRACE("output " + std::to_string(i) + ", seed " + std::to_string(seed));
      EXPECT_ALLCLOSE_TOL((*actual)[i], (*expected)[i], ToleranceFor((*expected)[i].dtype()));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Composites, DecomposeNumericTest,
    ::testing::Values(
        Case{"softmax_last", R"(graph g(%x: f32[16, 33]) {
  %s = softmax(%x, dim = -1)
  return %s
})"},
        Case{"softmax_first_f64", R"(graph g(%x: f64[7, 5, 3]) {
  %s = softmax(%x, dim = 0)
  return %s
})"},
        Case{"softmax_large_values", R"(graph g(%x: f32[4, 64]) {
  %big = mul(%x, 100.0)
  %s = softmax(%big, dim = 1)
  return %s
})"},
        Case{"softmax_f16", R"(graph g(%x: f16[8, 40]) {
  %s = softmax(%x, dim = 1)
  return %s
})"},
        Case{"softmax_bf16", R"(graph g(%x: bf16[8, 40]) {
  %s = softmax(%x, dim = -1)
  return %s
})"},
        Case{"log_softmax", R"(graph g(%x: f32[6, 10]) {
  %l = log_softmax(%x, dim = 1)
  %m = log_softmax(%x, dim = 0)
  return %l, %m
})"},
        Case{"log_softmax_f16", R"(graph g(%x: f16[6, 10]) {
  %l = log_softmax(%x, dim = 1)
  return %l
})"},
        Case{"layer_norm_affine", R"(graph g(%x: f32[4, 6, 32], %w: f32[32], %b: f32[32]) {
  %n = layer_norm(%x, %w, %b, normalized_shape = [32])
  return %n
})"},
        Case{"layer_norm_two_dims", R"(graph g(%x: f32[3, 5, 8], %w: f32[5, 8]) {
  %n = layer_norm(%x, %w, normalized_shape = [5, 8], eps = 0.001)
  %p = layer_norm(%x, normalized_shape = [5, 8])
  return %n, %p
})"},
        Case{"layer_norm_bf16", R"(graph g(%x: bf16[8, 64], %w: bf16[64], %b: bf16[64]) {
  %n = layer_norm(%x, %w, %b, normalized_shape = [64])
  return %n
})"},
        Case{"layer_norm_f16", R"(graph g(%x: f16[8, 64]) {
  %n = layer_norm(%x, normalized_shape = [64])
  return %n
})"},
        Case{"rms_norm", R"(graph g(%x: f32[4, 6, 32], %w: f32[32]) {
  %r = rms_norm(%x, %w, normalized_shape = [32])
  %s = rms_norm(%x, normalized_shape = [6, 32], eps = 0.01)
  return %r, %s
})"},
        Case{"rms_norm_bf16", R"(graph g(%x: bf16[8, 64], %w: bf16[64]) {
  %r = rms_norm(%x, %w, normalized_shape = [64])
  return %r
})"},
        Case{"gelu", R"(graph g(%x: f32[1000]) {
  %a = gelu(%x)
  %b = gelu(%x, approximate = "tanh")
  return %a, %b
})"},
        Case{"gelu_f16", R"(graph g(%x: f16[500]) {
  %a = gelu(%x)
  %b = gelu(%x, approximate = "tanh")
  return %a, %b
})"},
        Case{"gelu_int", R"(graph g(%i: i32[64]) {
  %a = gelu(%i)
  return %a
})"},
        Case{"silu", R"(graph g(%x: f32[1000], %h: bf16[100], %i: i64[50]) {
  %a = silu(%x)
  %b = silu(%h)
  %c = silu(%i)
  return %a, %b, %c
})"},
        Case{"mean", R"(graph g(%x: f32[4, 5, 6], %h: f16[4, 50]) {
  %all = mean(%x)
  %rows = mean(%x, dims = [-1])
  %keep = mean(%x, dims = [0, 2], keepdim = true)
  %half = mean(%h, dims = [1])
  return %all, %rows, %keep, %half
})"},
        Case{"mean_empty", R"(graph g(%x: f32[3, 0]) {
  %m = mean(%x, dims = [1])
  %s = softmax(%x, dim = 1)
  return %m, %s
})"},
        Case{"chain", R"(graph g(%x: f32[8, 16], %w: f32[16]) {
  %n = layer_norm(%x, %w, normalized_shape = [16])
  %g = gelu(%n)
  %s = softmax(%g, dim = 1)
  %m = mean(%s, dims = [0])
  return %m, %n
})"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace sluice::passes
