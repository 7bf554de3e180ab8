#include "testing/allclose.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
#include "ir/shape.h"
#include "runtime/tensor.h"

namespace sluice::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ir::DType;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

runtime::Tensor Make(DType dtype, ir::Shape shape, const std::vector<double>& values) {
  runtime::Tensor t = runtime::Tensor::Zeros(dtype, shape);
  EXPECT_EQ(t.num_elements(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) t.SetFromDouble(i, values[i]);
  return t;
}

runtime::Tensor F32(const std::vector<double>& values) {
  return Make(DType::kF32, ir::Shape({static_cast<int64_t>(values.size())}), values);
}

TEST(DefaultToleranceTest, MatchesTorchTestingAssertClose) {
  struct Case {
    DType dtype;
    double rtol, atol;
  } cases[] = {
      {DType::kF32, 1.3e-6, 1e-5}, {DType::kF16, 1e-3, 1e-5},
      {DType::kBF16, 1.6e-2, 1e-5}, {DType::kF64, 1e-7, 1e-7},
      {DType::kI32, 0, 0},          {DType::kI64, 0, 0},
      {DType::kBool, 0, 0},
  };
  for (const Case& c : cases) {
    const Tolerance tol = DefaultTolerance(c.dtype);
    EXPECT_EQ(tol.rtol, c.rtol) << ir::DTypeName(c.dtype);
    EXPECT_EQ(tol.atol, c.atol) << ir::DTypeName(c.dtype);
    EXPECT_FALSE(tol.equal_nan);
  }
}

TEST(AllCloseTest, IdenticalTensorsOfEveryDTypePass) {
  for (DType dtype : ir::kAllDTypes) {
    const runtime::Tensor t = Make(dtype, {2, 2}, {0, 1, 0, 1});
    const AllCloseResult r = AllClose(t, t.Clone());
    EXPECT_TRUE(r.ok) << ir::DTypeName(dtype) << ": " << r.message;
    EXPECT_EQ(r.num_mismatched, 0);
    EXPECT_EQ(r.max_abs_err, 0);
  }
}

TEST(AllCloseTest, BoundaryOfTheAllowance) {
  // allowed = atol + rtol * |expected| = 0.5 + 0.25 * 2 = 1.0
  const Tolerance tol{0.25, 0.5};
  EXPECT_TRUE(AllClose(F32({3.0}), F32({2.0}), tol).ok);
  EXPECT_TRUE(AllClose(F32({1.0}), F32({2.0}), tol).ok);
  EXPECT_FALSE(AllClose(F32({3.0625}), F32({2.0}), tol).ok);
  EXPECT_FALSE(AllClose(F32({0.9375}), F32({2.0}), tol).ok);
}

TEST(AllCloseTest, RelativePartScalesWithExpectedOnly) {
  const Tolerance tol{0.6, 0};
  // |2 - 1| = 1 > 0.6 * |1|, but |1 - 2| = 1 <= 0.6 * |2|.
  EXPECT_FALSE(AllClose(F32({2}), F32({1}), tol).ok);
  EXPECT_TRUE(AllClose(F32({1}), F32({2}), tol).ok);
}

TEST(AllCloseTest, DefaultF32Tolerance) {
  EXPECT_TRUE(AllClose(F32({1.0 + 1e-6}), F32({1.0})).ok);
  EXPECT_FALSE(AllClose(F32({1.0 + 2e-5}), F32({1.0})).ok);
  // Near zero the absolute part dominates.
  EXPECT_TRUE(AllClose(F32({9e-6}), F32({0})).ok);
  EXPECT_FALSE(AllClose(F32({2e-5}), F32({0})).ok);
}

TEST(AllCloseTest, NaNNeedsEqualNaN) {
  EXPECT_FALSE(AllClose(F32({kNaN}), F32({kNaN})).ok);
  EXPECT_TRUE(AllClose(F32({kNaN}), F32({kNaN}), {0, 0, /*equal_nan=*/true}).ok);
  // NaN against a number never passes, whatever the tolerance.
  EXPECT_FALSE(AllClose(F32({kNaN}), F32({1}), {1e9, 1e9, true}).ok);
  EXPECT_FALSE(AllClose(F32({1}), F32({kNaN}), {1e9, 1e9, true}).ok);
  const AllCloseResult r = AllClose(F32({1, kNaN}), F32({1, 2}));
  EXPECT_EQ(r.num_mismatched, 1);
  EXPECT_EQ(r.worst_index, 1);
  EXPECT_TRUE(std::isinf(r.max_abs_err));
  EXPECT_THAT(r.message, HasSubstr("actual nan vs expected 2"));
}

TEST(AllCloseTest, Infinities) {
  EXPECT_TRUE(AllClose(F32({kInf, -kInf}), F32({kInf, -kInf})).ok);
  EXPECT_FALSE(AllClose(F32({kInf}), F32({-kInf}), {1e9, 1e9}).ok);
  EXPECT_FALSE(AllClose(F32({kInf}), F32({1e30}), {1e9, 1e9}).ok);
  EXPECT_FALSE(AllClose(F32({1e30}), F32({kInf}), {1e9, 1e9}).ok);
}

TEST(AllCloseTest, ShapeAndDTypeMismatchesNeverPass) {
  const runtime::Tensor a = Make(DType::kF32, {2, 3}, {0, 0, 0, 0, 0, 0});
  const runtime::Tensor b = Make(DType::kF32, {3, 2}, {0, 0, 0, 0, 0, 0});
  AllCloseResult r = AllClose(a, b, {1e9, 1e9});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.message, "shape mismatch: actual is f32[2, 3], expected is f32[3, 2]");
  EXPECT_EQ(r.worst_index, -1);

  const runtime::Tensor c = Make(DType::kF64, {2, 3}, {0, 0, 0, 0, 0, 0});
  r = AllClose(a, c, {1e9, 1e9});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.message, "dtype mismatch: actual is f32[2, 3], expected is f64[2, 3]");

  // A scalar is not a one-element vector.
  EXPECT_FALSE(AllClose(Make(DType::kF32, {}, {1}), F32({1})).ok);
}

TEST(AllCloseTest, UndefinedTensorsNeverPass) {
  const AllCloseResult r = AllClose(runtime::Tensor(), F32({1}).Clone());
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("actual tensor is undefined"));
}

TEST(AllCloseTest, IntegersAreComparedExactly) {
  const int64_t big = int64_t{1} << 53;
  runtime::Tensor a = runtime::Tensor::Zeros(DType::kI64, {1});
  runtime::Tensor b = runtime::Tensor::Zeros(DType::kI64, {1});
  a.data_as<int64_t>()[0] = big + 1;  // the same double as big
  b.data_as<int64_t>()[0] = big;
  EXPECT_FALSE(AllClose(a, b).ok);
  EXPECT_TRUE(AllClose(a, b, {0, 1}).ok);
  EXPECT_TRUE(AllClose(b, b.Clone()).ok);

  const runtime::Tensor x = Make(DType::kI32, {3}, {1, 2, 3});
  const runtime::Tensor y = Make(DType::kI32, {3}, {1, 2, 4});
  const AllCloseResult r = AllClose(x, y);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.worst_index, 2);
  EXPECT_THAT(r.message, HasSubstr("actual 3 vs expected 4"));
}

TEST(AllCloseTest, Bools) {
  const runtime::Tensor t = Make(DType::kBool, {3}, {1, 0, 1});
  EXPECT_TRUE(AllClose(t, t.Clone()).ok);
  const AllCloseResult r = AllClose(t, Make(DType::kBool, {3}, {1, 1, 1}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.num_mismatched, 1);
  EXPECT_EQ(r.worst_index, 1);
}

TEST(AllCloseTest, HalfPrecisionDefaults) {
  // One bf16 ulp at 1.0 is 2^-7 ~ 0.0078: inside bf16's 1.6e-2; three are not.
  EXPECT_TRUE(AllClose(Make(DType::kBF16, {1}, {1.0078125}),
                       Make(DType::kBF16, {1}, {1.0}))
                  .ok);
  EXPECT_FALSE(AllClose(Make(DType::kBF16, {1}, {1.0234375}),
                        Make(DType::kBF16, {1}, {1.0}))
                   .ok);
  // One f16 ulp at 1.0 is 2^-10 ~ 0.00098: inside f16's 1e-3; two are not.
  EXPECT_TRUE(AllClose(Make(DType::kF16, {1}, {1.0009765625}),
                       Make(DType::kF16, {1}, {1.0}))
                  .ok);
  EXPECT_FALSE(AllClose(Make(DType::kF16, {1}, {1.001953125}),
                        Make(DType::kF16, {1}, {1.0}))
                   .ok);
}

TEST(AllCloseTest, F64UsesItsOwnTolerance) {
  EXPECT_TRUE(AllClose(Make(DType::kF64, {1}, {1 + 5e-8}), Make(DType::kF64, {1}, {1})).ok);
  EXPECT_FALSE(AllClose(Make(DType::kF64, {1}, {1 + 5e-7}), Make(DType::kF64, {1}, {1})).ok);
}

TEST(AllCloseTest, ReportsTheWorstElement) {
  const runtime::Tensor expected = Make(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6});
  // (0, 1) is off by 0.5, (1, 2) by 2, (1, 0) by 1e-6 (close).
  const runtime::Tensor actual = Make(DType::kF32, {2, 3}, {1, 2.5, 3, 4.000001, 5, 8});
  const AllCloseResult r = AllClose(actual, expected);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.num_mismatched, 2);
  EXPECT_EQ(r.worst_index, 5);
  EXPECT_THAT(r.worst_coords, ElementsAre(1, 2));
  EXPECT_EQ(r.actual_at_worst, 8);
  EXPECT_EQ(r.expected_at_worst, 6);
  EXPECT_DOUBLE_EQ(r.max_abs_err, 2);
  EXPECT_DOUBLE_EQ(r.max_rel_err, 2.0 / 6);
  EXPECT_THAT(r.message, HasSubstr("2 of 6 elements of f32[2, 3] differ (33.3%"));
  EXPECT_THAT(r.message, HasSubstr("rtol=1.3e-06, atol=1e-05"));
  EXPECT_THAT(r.message, HasSubstr("worst at index 5 (coords [1, 2]): actual 8 vs "
                                   "expected 6, |diff| 2 > allowed"));
  EXPECT_THAT(r.message, HasSubstr("max abs err 2, max rel err 0.333333"));
}

TEST(AllCloseTest, WorstIsTheLargestExcessNotTheLargestError) {
  // Element 0 misses by 0.5 with allowance 0.1*10=1 (close); element 1 has a
  // smaller error but no allowance.
  const AllCloseResult r = AllClose(F32({10.5, 0.25}), F32({10, 0}), {0.1, 0});
  EXPECT_EQ(r.num_mismatched, 1);
  EXPECT_EQ(r.worst_index, 1);
  EXPECT_DOUBLE_EQ(r.max_abs_err, 0.5);
  EXPECT_TRUE(std::isinf(r.max_rel_err));
}

TEST(AllCloseTest, PassingResultStillDescribesTheLargestError) {
  const AllCloseResult r = AllClose(F32({1, 2.000001}), F32({1, 2}));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.worst_index, 1);
  EXPECT_GT(r.max_abs_err, 0);
  EXPECT_THAT(r.message, HasSubstr("all 2 elements of f32[2] are close"));
}

TEST(AllCloseTest, EmptyAndScalarTensors) {
  const runtime::Tensor empty = runtime::Tensor::Zeros(DType::kF32, {0, 3});
  const AllCloseResult r = AllClose(empty, empty.Clone());
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.worst_index, -1);
  EXPECT_TRUE(AllClose(Make(DType::kF32, {}, {2}), Make(DType::kF32, {}, {2})).ok);
  const AllCloseResult s = AllClose(Make(DType::kF32, {}, {2}), Make(DType::kF32, {}, {3}));
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.worst_index, 0);
  EXPECT_TRUE(s.worst_coords.empty());
}

runtime::Tensor Ones() { return F32({1, 1, 1, 1}); }
runtime::Tensor OnesButOne() { return F32({1, 1, 1.5, 1}); }

TEST(AllCloseMacroTest, PassesSilently) {
  EXPECT_ALLCLOSE(Ones(), Ones());
  ASSERT_ALLCLOSE(Ones(), Ones());
  EXPECT_ALLCLOSE_TOL(OnesButOne(), Ones(), {0.5, 0});
  const Tolerance tol{0, 0.5};
  EXPECT_ALLCLOSE_TOL(OnesButOne(), Ones(), tol);
  ASSERT_ALLCLOSE_TOL(OnesButOne(), Ones(), tol);
}

TEST(AllCloseMacroTest, FailsWithDetails) {
  const runtime::Tensor a = OnesButOne();
  const runtime::Tensor b = Ones();
  EXPECT_NONFATAL_FAILURE(EXPECT_ALLCLOSE(a, b),
                          "AllClose(a, b) failed: 1 of 4 elements of f32[4] differ");
  EXPECT_NONFATAL_FAILURE(EXPECT_ALLCLOSE(a, b), "worst at index 2 (coords [2])");
  EXPECT_NONFATAL_FAILURE(EXPECT_ALLCLOSE(a, b), "actual 1.5 vs expected 1");
  EXPECT_NONFATAL_FAILURE(EXPECT_ALLCLOSE(a, b), "max abs err 0.5, max rel err 0.5");
  EXPECT_NONFATAL_FAILURE(EXPECT_ALLCLOSE(a, b), "expected: f32[4] {1, 1, 1, 1}");
  EXPECT_NONFATAL_FAILURE(EXPECT_ALLCLOSE_TOL(a, b, {0.1, 0.1}),
                          "rtol=0.1, atol=0.1");
  EXPECT_NONFATAL_FAILURE(EXPECT_ALLCLOSE(F32({1, 2}), F32({1})), "shape mismatch");
}

TEST(AllCloseMacroTest, AssertFormsAreFatal) {
  EXPECT_FATAL_FAILURE(ASSERT_ALLCLOSE(OnesButOne(), Ones()), "1 of 4 elements");
  EXPECT_FATAL_FAILURE(ASSERT_ALLCLOSE_TOL(OnesButOne(), Ones(), {0.1, 0}),
                       "rtol=0.1, atol=0");
}

}  // namespace
}  // namespace sluice::testing
