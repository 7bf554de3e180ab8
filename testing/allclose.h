// Element-wise closeness of two host tensors, with torch.allclose's rule
// |actual - expected| <= atol + rtol * |expected| and torch.testing's
// per-dtype default tolerances, plus gtest assertions that print where and by
// how much two tensors differ:
//
//   EXPECT_ALLCLOSE(actual, expected);                     // default tolerance
//   EXPECT_ALLCLOSE_TOL(actual, expected, {1e-3, 1e-3});   // explicit
//
// Note for code inside `namespace sluice`: this library lives in
// sluice::testing, which hides gtest's ::testing there, so spell gtest names
// with the leading `::` (`::testing::HasSubstr`).
#ifndef SLUICE_TESTING_ALLCLOSE_H_
#define SLUICE_TESTING_ALLCLOSE_H_

#include "gtest/gtest.h"
#include "runtime/tensor.h"
#include "testing/compare.h"

namespace sluice::testing {

// gtest predicate-formatters behind the macros below.
::testing::AssertionResult AssertAllClose(const char* actual_expr,
                                          const char* expected_expr,
                                          const runtime::Tensor& actual,
                                          const runtime::Tensor& expected);
::testing::AssertionResult AssertAllCloseTol(const char* actual_expr,
                                             const char* expected_expr,
                                             const char* tol_expr,
                                             const runtime::Tensor& actual,
                                             const runtime::Tensor& expected,
                                             const Tolerance& tol);

}  // namespace sluice::testing

#define EXPECT_ALLCLOSE(actual, expected) \
  EXPECT_PRED_FORMAT2(::sluice::testing::AssertAllClose, actual, expected)
#define ASSERT_ALLCLOSE(actual, expected) \
  ASSERT_PRED_FORMAT2(::sluice::testing::AssertAllClose, actual, expected)
// The tolerance may be a Tolerance value or a braced list such as
// `{1e-3, 1e-5}` or `{0, 0, /*equal_nan=*/true}`.
#define EXPECT_ALLCLOSE_TOL(actual, expected, ...)                       \
  EXPECT_PRED_FORMAT3(::sluice::testing::AssertAllCloseTol, actual, expected, \
                      ::sluice::testing::Tolerance(__VA_ARGS__))
#define ASSERT_ALLCLOSE_TOL(actual, expected, ...)                       \
  ASSERT_PRED_FORMAT3(::sluice::testing::AssertAllCloseTol, actual, expected, \
                      ::sluice::testing::Tolerance(__VA_ARGS__))

#endif  // SLUICE_TESTING_ALLCLOSE_H_
