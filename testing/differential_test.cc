#include "testing/differential.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fallback/interpreter.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "runtime/tensor.h"
#include "testing/random.h"
#include "testing/random_graph.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ir::DType;

ir::Graph Parse(absl::string_view text) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *std::move(g) : ir::Graph();
}

constexpr absl::string_view kGraph = R"(
graph foo(%x: f32[8], %y: f32[8]) {
  %a = add(%x, %y) {should_fallback = true}
  %b = mul(%a, 2.0)
  %c = sum(%b)
  return %b, %c
}
)";

absl::StatusOr<std::vector<runtime::Tensor>> Reference(
    const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs) {
  return fallback::RunReference(graph, inputs);
}

// The reference, then `change` applied to its outputs.
CompileAndRunFn Perturbed(std::function<void(std::vector<runtime::Tensor>&)> change) {
  return [change](const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs)
             -> absl::StatusOr<std::vector<runtime::Tensor>> {
    absl::StatusOr<std::vector<runtime::Tensor>> out = fallback::RunReference(graph, inputs);
    if (out.ok()) change(*out);
    return out;
  };
}

CompileAndRunFn AddToElement(int output, int64_t index, double delta) {
  return Perturbed([=](std::vector<runtime::Tensor>& outs) {
    runtime::Tensor& t = outs[output];
    t.SetFromDouble(index, t.GetAsDouble(index) + delta);
  });
}

TEST(DifferentialTest, TheReferenceMatchesItself) {
  const ir::Graph g = Parse(kGraph);
  const std::vector<runtime::Tensor> inputs = RandomInputs(g, 1);
  EXPECT_TRUE(CompareWithReference(g, inputs, Reference).ok());
  EXPECT_TRUE(CompiledMatchesReference(g, inputs, Reference));
  EXPECT_TRUE(CompiledMatchesReferenceOnRandomInputs(g, 5, Reference));
}

TEST(DifferentialTest, APerturbedOutputFailsWithReplayableDetails) {
  const ir::Graph g = Parse(kGraph);
  const std::vector<runtime::Tensor> inputs = RandomInputs(g, 1);
  const absl::Status s = CompareWithReference(g, inputs, AddToElement(0, 3, 0.5));
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  const std::string m(s.message());
  EXPECT_THAT(m, HasSubstr("compiled outputs differ from the reference in 1 of 2 outputs"));
  EXPECT_THAT(m, HasSubstr("output 0 (%b): MISMATCH: 1 of 8 elements of f32[8] differ"));
  EXPECT_THAT(m, HasSubstr("worst at index 3 (coords [3])"));
  EXPECT_THAT(m, HasSubstr("rtol=1e-05, atol=1e-05, equal_nan"));
  EXPECT_THAT(m, HasSubstr("  compiled:  f32[8] {"));
  EXPECT_THAT(m, HasSubstr("  reference: f32[8] {"));
  EXPECT_THAT(m, HasSubstr("output 1 (%c): matches"));
  // Replay: the inputs' values and the printed graph with its marks.
  EXPECT_THAT(m, HasSubstr(absl::StrCat("  %x = ", inputs[0].DebugString())));
  EXPECT_THAT(m, HasSubstr(absl::StrCat("  %y = ", inputs[1].DebugString())));
  EXPECT_THAT(m, HasSubstr(ir::PrintGraph(g)));
  EXPECT_THAT(m, HasSubstr("{should_fallback = true}"));
}

TEST(DifferentialTest, RandomInputsFailuresNameTheSeed) {
  const ir::Graph g = Parse(kGraph);
  const absl::Status s = CompareWithReferenceOnRandomInputs(g, 1234, AddToElement(1, 0, 1.0));
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("inputs: testing::RandomInputs(graph, /*seed=*/1234)"));
  EXPECT_THAT(s.message(), HasSubstr("output 1 (%c): MISMATCH"));
}

TEST(DifferentialTest, ErrorsWithinTheToleranceAndExplicitTolerances) {
  const ir::Graph g = Parse(kGraph);
  const std::vector<runtime::Tensor> inputs = RandomInputs(g, 2);
  // The element is |b| ~ 1, so 1e-6 is within f32's 1e-5 + 1e-5 |b|.
  EXPECT_TRUE(CompareWithReference(g, inputs, AddToElement(0, 0, 1e-6)).ok());
  EXPECT_FALSE(CompareWithReference(g, inputs, AddToElement(0, 0, 1e-3)).ok());
  EXPECT_TRUE(CompareWithReference(g, inputs, AddToElement(0, 0, 1e-3), Tolerance{1e-2, 1e-2})
                  .ok());
  EXPECT_FALSE(CompareWithReference(g, inputs, AddToElement(0, 0, 1e-6), Tolerance{0, 0}).ok());
}

TEST(DifferentialTest, NaNsMustBeReproduced) {
  const ir::Graph g = Parse(R"(
graph nans(%x: f32[4]) {
  %n = neg(%x)
  %l = log(%n)
  return %l
}
)");
  // All positive inputs: log of negatives is NaN in the reference.
  const std::vector<runtime::Tensor> inputs = {RandomPositive({DType::kF32, {4}}, 3)};
  EXPECT_TRUE(CompareWithReference(g, inputs, Reference).ok());
  EXPECT_FALSE(CompareWithReference(g, inputs, Perturbed([](std::vector<runtime::Tensor>& o) {
                                      o[0].SetFromDouble(2, 0.0);
                                    })).ok());
}

TEST(DifferentialTest, WrongOutputCountOrType) {
  const ir::Graph g = Parse(kGraph);
  const std::vector<runtime::Tensor> inputs = RandomInputs(g, 1);
  absl::Status s = CompareWithReference(
      g, inputs, Perturbed([](std::vector<runtime::Tensor>& o) { o.pop_back(); }));
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("the compiled run returned 1 outputs; the graph has 2"));

  s = CompareWithReference(g, inputs, Perturbed([](std::vector<runtime::Tensor>& o) {
                             o[1] = runtime::Tensor::Zeros(DType::kF64, {});
                           }));
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("output 1 (%c): MISMATCH: dtype mismatch"));
}

TEST(DifferentialTest, CompiledRunErrorsKeepTheirCode) {
  const ir::Graph g = Parse(kGraph);
  const absl::Status s = CompareWithReference(
      g, RandomInputs(g, 1),
      [](const ir::Graph&, const std::vector<runtime::Tensor>&)
          -> absl::StatusOr<std::vector<runtime::Tensor>> {
        return absl::UnimplementedError("no kernel for sum");
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("compiled run failed: UNIMPLEMENTED: no kernel for sum"));
  EXPECT_THAT(s.message(), HasSubstr("graph foo("));
}

TEST(DifferentialTest, ReferenceErrorsAreReported) {
  const ir::Graph g = Parse(kGraph);
  bool ran = false;
  const absl::Status s = CompareWithReference(
      g, {RandomNormal({DType::kF32, {8}}, 1)},
      [&ran](const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs) {
        ran = true;
        return Reference(graph, inputs);
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the reference interpreter failed"));
  EXPECT_FALSE(ran);
}

TEST(DifferentialTest, ChangingAnInputIsAnError) {
  const ir::Graph g = Parse(kGraph);
  const absl::Status s = CompareWithReference(
      g, RandomInputs(g, 1),
      [](const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs) {
        runtime::Tensor y = inputs[1];  // shares storage
        y.SetFromDouble(0, 42.0);
        return Reference(graph, inputs);
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("the compiled run changed input %y"));
}

TEST(DifferentialTest, AssertionFormFailsWithTheMessage) {
  const ir::Graph g = Parse(kGraph);
  const std::vector<runtime::Tensor> inputs = RandomInputs(g, 1);
  const CompileAndRunFn bad = AddToElement(0, 3, 0.5);
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(CompiledMatchesReference(g, inputs, bad)),
                          "output 0 (%b): MISMATCH");
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(CompiledMatchesReferenceOnRandomInputs(g, 9, bad)),
                          "/*seed=*/9");
}

TEST(OutputToleranceTest, LoosestFloatDTypeOfTheFanIn) {
  const ir::Graph g = Parse(R"(
graph mixed(%x: f32[4], %h: f16[4], %b: bf16[4], %d: f64[4], %i: i32[4]) {
  %p = add(%x, 1.0)
  %c = cast(%h, dtype = f32)
  %q = mul(%p, %c)
  %e = cast(%b, dtype = f64)
  %f = add(%d, %e)
  %g = cast(%i, dtype = f64)
  %k = add(%d, %g)
  %m = argmax(%q, dim = 0)
  %n = gt(%x, 0.0)
  return %p, %q, %f, %k, %m, %n
}
)");
  const std::vector<ir::Node*>& out = g.outputs();
  auto expect = [](const Tolerance& t, double rtol, double atol) {
    EXPECT_EQ(t.rtol, rtol);
    EXPECT_EQ(t.atol, atol);
    EXPECT_TRUE(t.equal_nan);
  };
  expect(OutputTolerance(out[0]), 1e-5, 1e-5);  // f32 only
  expect(OutputTolerance(out[1]), 1e-2, 1e-2);  // an f16 input upstream
  expect(OutputTolerance(out[2]), 5e-2, 5e-2);  // bf16 upstream of an f64 result
  expect(OutputTolerance(out[3]), 1e-7, 1e-7);  // f64 and integers
  expect(OutputTolerance(out[4]), 0, 0);        // i64: exact
  expect(OutputTolerance(out[5]), 0, 0);        // bool: exact
  expect(DifferentialTolerance(DType::kF32), 1e-5, 1e-5);
  expect(DifferentialTolerance(DType::kF64), 1e-7, 1e-7);
  expect(DifferentialTolerance(DType::kF16), 1e-2, 1e-2);
  expect(DifferentialTolerance(DType::kBF16), 5e-2, 5e-2);
  expect(DifferentialTolerance(DType::kI32), 0, 0);
}

TEST(OutputToleranceTest, AtolGrowsWithTheLongestMatmulContraction) {
  const ir::Graph g = Parse(R"(
graph mm(%x: f32[8, 256], %w: f32[256, 1024], %v: f32[1024, 16], %y: f32[8, 16]) {
  %h = matmul(%x, %w)
  %o = matmul(%h, %v)
  %p = add(%y, 1.0)
  return %o, %p, %h
}
)");
  EXPECT_DOUBLE_EQ(OutputTolerance(g.outputs()[0]).atol, 1e-5 * 32);  // sqrt(1024)
  EXPECT_DOUBLE_EQ(OutputTolerance(g.outputs()[0]).rtol, 1e-5);
  EXPECT_DOUBLE_EQ(OutputTolerance(g.outputs()[1]).atol, 1e-5);       // no matmul
  EXPECT_DOUBLE_EQ(OutputTolerance(g.outputs()[2]).atol, 1e-5 * 16);  // sqrt(256)
}

// Inputs that reach a discontinuous op (comparisons, argmax, casts to integer
// or bool, where's condition): the generator only feeds those exact values,
// which a correct compiler computes bit for bit, so they are not nudged.
std::vector<bool> FeedsDiscontinuousOps(const ir::Graph& g) {
  absl::flat_hash_set<const ir::Node*> tainted;
  const std::vector<ir::Node*> calls = g.calls();
  for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
    const ir::Node* n = *it;
    const std::string& op = n->op();
    const bool discontinuous =
        op == "eq" || op == "ne" || op == "lt" || op == "le" || op == "gt" || op == "ge" ||
        op == "argmax" || (op == "cast" && !ir::IsFloatingPoint(n->dtype()));
    for (int i = 0; i < n->num_operands(); ++i) {
      const ir::Node* operand = n->operand_node(i);
      if (operand == nullptr) continue;
      if (discontinuous || tainted.contains(n) || (op == "where" && i == 0)) {
        tainted.insert(operand);
      }
    }
  }
  std::vector<bool> out;
  for (const ir::Node* in : g.inputs()) out.push_back(tainted.contains(in));
  return out;
}

// Float inputs moved by one ulp of their dtype in a random direction, a
// stand-in for a compiler's rounding differences.
std::vector<runtime::Tensor> NudgeInputs(const ir::Graph& g,
                                         const std::vector<runtime::Tensor>& inputs,
                                         uint64_t seed) {
  const std::vector<bool> keep = FeedsDiscontinuousOps(g);
  Rng rng(seed);
  std::vector<runtime::Tensor> out;
  for (size_t k = 0; k < inputs.size(); ++k) {
    runtime::Tensor c = inputs[k].Clone();
    if (ir::IsFloatingPoint(c.dtype()) && !keep[k]) {
      const int mantissa = c.dtype() == DType::kF16    ? 10
                           : c.dtype() == DType::kBF16 ? 7
                           : c.dtype() == DType::kF32  ? 23
                                                       : 52;
      for (int64_t i = 0; i < c.num_elements(); ++i) {
        const double v = c.GetAsDouble(i);
        if (v == 0) continue;
        int e;
        std::frexp(v, &e);
        const double ulp = std::ldexp(1.0, e - 1 - mantissa);
        c.SetFromDouble(i, v + (rng.Bernoulli(0.5) ? ulp : -ulp));
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The generator's promise, checked with the reference alone: generated graphs
// run, give finite outputs, and are well-conditioned enough that moving every
// input by an ulp (a stand-in for a compiler's rounding differences) stays
// within the differential tolerance.
absl::Status CompareWithNudgedInputs(const ir::Graph& g, const std::vector<runtime::Tensor>& inputs,
                                     uint64_t nudge_seed) {
  return CompareWithReference(
      g, inputs, [nudge_seed](const ir::Graph& graph, const std::vector<runtime::Tensor>& in) {
        return Reference(graph, NudgeInputs(graph, in, nudge_seed));
      });
}

TEST(GeneratedGraphsTest, TheNudgeCheckDetectsIllConditionedGraphs) {
  // sin of large arguments: an ulp of x moves the result by ~1e-3.
  const ir::Graph g = Parse(R"(
graph touchy(%x: f32[64]) {
  %a = mul(%x, 10000.0)
  %b = sin(%a)
  return %b
}
)");
  EXPECT_FALSE(CompareWithNudgedInputs(g, RandomInputs(g, 1), 1).ok());
  // The same without the scaling is fine.
  const ir::Graph tame = Parse(R"(
graph tame(%x: f32[64]) {
  %b = sin(%x)
  return %b
}
)");
  EXPECT_TRUE(CompareWithNudgedInputs(tame, RandomInputs(tame, 1), 1).ok());
}

void CheckGeneratedGraphs(const RandomGraphOptions& options, int num_seeds) {
  int checked = 0;
  for (uint64_t seed = 0; seed < static_cast<uint64_t>(num_seeds); ++seed) {
    absl::StatusOr<ir::Graph> g = RandomGraph(seed, options);
    ASSERT_TRUE(g.ok()) << g.status();
    const std::vector<runtime::Tensor> inputs = RandomInputs(*g, seed);
    absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, inputs);
    ASSERT_TRUE(ref.ok()) << "seed " << seed << ": " << ref.status() << "\n"
                          << ir::PrintGraph(*g);
    for (const runtime::Tensor& t : *ref) {
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        ASSERT_TRUE(std::isfinite(t.GetAsDouble(i)))
            << "seed " << seed << ": " << t.DebugString() << "\n" << ir::PrintGraph(*g);
      }
    }
    const absl::Status s = CompareWithNudgedInputs(*g, inputs, seed);
    EXPECT_TRUE(s.ok()) << "seed " << seed << ": " << s;
    ++checked;
  }
  EXPECT_EQ(checked, num_seeds);
}

TEST(GeneratedGraphsTest, F32GraphsAreWellConditioned) {
  RandomGraphOptions o;
  o.num_nodes = 12;
  CheckGeneratedGraphs(o, 1000);
}

TEST(GeneratedGraphsTest, MixedDTypeGraphsAreWellConditioned) {
  RandomGraphOptions o;
  o.num_nodes = 12;
  o.dtypes = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32, DType::kBool};
  CheckGeneratedGraphs(o, 1000);
}

TEST(GeneratedGraphsTest, ReferenceAsCompiledPassesOnRandomGraphsWithFallbackMasks) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    absl::StatusOr<ir::Graph> g = RandomGraph(seed);
    ASSERT_TRUE(g.ok()) << g.status();
    ApplyFallbackMask(*g, RandomFallbackMask(*g, seed, 0.3));
    EXPECT_TRUE(CompiledMatchesReferenceOnRandomInputs(*g, seed, Reference));
  }
}

}  // namespace
}  // namespace sluice::testing
