#include "testing/allclose.h"

namespace sluice::testing {

::testing::AssertionResult AssertAllCloseTol(const char* actual_expr,
                                             const char* expected_expr,
                                             const char* /*tol_expr*/,
                                             const runtime::Tensor& actual,
                                             const runtime::Tensor& expected,
                                             const Tolerance& tol) {
  const AllCloseResult r = AllClose(actual, expected, tol);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "AllClose(" << actual_expr << ", " << expected_expr
         << ") failed: " << r.message << "\n  actual:   "
         << actual.DebugString() << "\n  expected: " << expected.DebugString();
}

::testing::AssertionResult AssertAllClose(const char* actual_expr,
                                          const char* expected_expr,
                                          const runtime::Tensor& actual,
                                          const runtime::Tensor& expected) {
  return AssertAllCloseTol(actual_expr, expected_expr, "", actual, expected,
                           DefaultTolerance(expected.dtype()));
}

}  // namespace sluice::testing
