// Element-wise closeness of two host tensors, with torch.allclose's rule
// |actual - expected| <= atol + rtol * |expected| and torch.testing's
// per-dtype default tolerances, and the wider tolerances compiled code is
// held to (DifferentialTolerance, OutputTolerance). No gtest here: the
// compile CLI's --check uses this library; tests use the gtest macros of
// testing/allclose.h, built on it.
#ifndef SLUICE_TESTING_COMPARE_H_
#define SLUICE_TESTING_COMPARE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::testing {

struct Tolerance {
  double rtol = 0;
  double atol = 0;
  // When true, NaN in `actual` matches NaN in `expected` at the same place.
  bool equal_nan = false;

  std::string ToString() const;  // "rtol=1.3e-06, atol=1e-05"
};

// torch.testing.assert_close's defaults: f32 1.3e-6/1e-5, f16 1e-3/1e-5,
// bf16 1.6e-2/1e-5, f64 1e-7/1e-7; integers and bool must be equal.
Tolerance DefaultTolerance(ir::DType dtype);

struct AllCloseResult {
  bool ok = false;
  int64_t num_mismatched = 0;
  // The element that misses its allowance by the most (the first of equals);
  // when everything is close, the element with the largest absolute error.
  // -1 (and empty coords) when there is no such element (empty tensors, or a
  // shape/dtype mismatch).
  int64_t worst_index = -1;
  std::vector<int64_t> worst_coords;
  // Over all compared elements. A NaN on one side only (or on both without
  // equal_nan) and an infinity facing anything but the same infinity count
  // as infinite error.
  double max_abs_err = 0;
  double max_rel_err = 0;  // |a - b| / |b|; infinite where b == 0 != a
  double actual_at_worst = 0;
  double expected_at_worst = 0;
  // A one-paragraph explanation: the mismatch count, the worst element with
  // both values and its allowance, the largest errors and the tolerance used.
  // Filled in for passing comparisons too.
  std::string message;
};

// Compares `actual` against `expected` (the reference: the relative part of
// the allowance scales with |expected|). Differing dtypes or shapes never
// pass. Integer and bool elements are compared exactly as integers (not
// through double) unless the tolerance allows a difference.
AllCloseResult AllClose(const runtime::Tensor& actual,
                        const runtime::Tensor& expected, Tolerance tol);
// With DefaultTolerance(expected.dtype()).
AllCloseResult AllClose(const runtime::Tensor& actual,
                        const runtime::Tensor& expected);

// Tolerances for compiled code, which may fuse long chains, keep
// intermediates in registers at higher precision and reassociate reductions:
// torch.testing's widened to f32 1e-5/1e-5, f64 1e-7/1e-7, f16 1e-2/1e-2,
// bf16 5e-2/5e-2; integers and bool exact; NaN matches NaN.
Tolerance DifferentialTolerance(ir::DType dtype);

// The tolerance a graph output `output` is compared with by default: a float
// output gets the loosest tolerance among the float dtypes of the values it
// is computed from (graph inputs included), and its atol is multiplied by
// sqrt(K) for the longest matmul contraction K in its fan-in (unit-scale
// inputs give matmul results of scale sqrt(K), and upstream rounding
// differences grow with them).
Tolerance OutputTolerance(const ir::Node* output);

}  // namespace sluice::testing

#endif  // SLUICE_TESTING_COMPARE_H_
