#include "testing/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sluice::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool IsExactDType(ir::DType dtype) {
  return dtype == ir::DType::kBool || dtype == ir::DType::kI32 ||
         dtype == ir::DType::kI64;
}

// Element i as an integer, for the exact dtypes (bool as 0/1).
int64_t GetAsInt(const runtime::Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case ir::DType::kBool:
      return t.data_as<uint8_t>()[i] != 0 ? 1 : 0;
    case ir::DType::kI32:
      return t.data_as<int32_t>()[i];
    case ir::DType::kI64:
      return t.data_as<int64_t>()[i];
    default:
      return static_cast<int64_t>(t.GetAsDouble(i));
  }
}

std::vector<int64_t> Unravel(const ir::Shape& shape, int64_t index) {
  std::vector<int64_t> coords(shape.rank(), 0);
  for (int d = shape.rank() - 1; d >= 0; --d) {
    const int64_t size = shape.dim(d);
    if (size > 0) {
      coords[d] = index % size;
      index /= size;
    }
  }
  return coords;
}

std::string FormatValue(double v, ir::DType dtype) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (IsExactDType(dtype)) return absl::StrFormat("%.0f", v);
  return absl::StrFormat(dtype == ir::DType::kF64 ? "%.17g" : "%.9g", v);
}

std::string FormatErr(double v) {
  if (std::isinf(v)) return "inf";
  return absl::StrFormat("%.6g", v);
}

std::string ShapeText(const ir::Shape& shape) {
  return absl::StrCat("[", absl::StrJoin(shape.dims(), ", "), "]");
}

std::string TypeText(const runtime::Tensor& t) {
  return absl::StrCat(ir::DTypeName(t.dtype()), ShapeText(t.shape()));
}

// Absolute error of one element pair under the NaN/inf conventions of the
// header, and whether the pair is close.
struct ElementCheck {
  double abs_err;
  double allowed;
  bool close;
};

ElementCheck CheckFloat(double a, double b, const Tolerance& tol) {
  const double allowed = tol.atol + tol.rtol * std::fabs(b);
  if (std::isnan(a) || std::isnan(b)) {
    if (std::isnan(a) && std::isnan(b) && tol.equal_nan) {
      return {0, allowed, true};
    }
    return {kInf, allowed, false};
  }
  if (a == b) return {0, allowed, true};  // also equal infinities
  if (std::isinf(a) || std::isinf(b)) return {kInf, allowed, false};
  const double err = std::fabs(a - b);
  return {err, allowed, err <= allowed};
}

}  // namespace

std::string Tolerance::ToString() const {
  return absl::StrCat("rtol=", absl::StrFormat("%g", rtol),
                      ", atol=", absl::StrFormat("%g", atol),
                      equal_nan ? ", equal_nan" : "");
}

Tolerance DefaultTolerance(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::kF32:
      return {1.3e-6, 1e-5};
    case ir::DType::kF16:
      return {1e-3, 1e-5};
    case ir::DType::kBF16:
      return {1.6e-2, 1e-5};
    case ir::DType::kF64:
      return {1e-7, 1e-7};
    case ir::DType::kI32:
    case ir::DType::kI64:
    case ir::DType::kBool:
      return {0, 0};
  }
  return {0, 0};
}

AllCloseResult AllClose(const runtime::Tensor& actual,
                        const runtime::Tensor& expected, Tolerance tol) {
  AllCloseResult r;
  if (!actual.defined() || !expected.defined()) {
    r.message = absl::StrCat("cannot compare: the ",
                             actual.defined() ? "expected" : "actual",
                             " tensor is undefined (no storage)");
    return r;
  }
  if (actual.dtype() != expected.dtype()) {
    r.message = absl::StrCat("dtype mismatch: actual is ", TypeText(actual),
                             ", expected is ", TypeText(expected));
    return r;
  }
  if (actual.shape() != expected.shape()) {
    r.message = absl::StrCat("shape mismatch: actual is ", TypeText(actual),
                             ", expected is ", TypeText(expected));
    return r;
  }

  const ir::DType dtype = expected.dtype();
  const bool exact = IsExactDType(dtype);
  const int64_t n = expected.num_elements();
  // The worst element: the largest excess over its allowance among the
  // mismatches, or the largest error when there is no mismatch.
  double worst_excess = -kInf;
  double worst_err = -1;
  double worst_allowed = 0;
  for (int64_t i = 0; i < n; ++i) {
    double a, b;
    ElementCheck check;
    if (exact) {
      const int64_t ai = GetAsInt(actual, i);
      const int64_t bi = GetAsInt(expected, i);
      a = static_cast<double>(ai);
      b = static_cast<double>(bi);
      if (ai == bi) {
        check = {0, tol.atol + tol.rtol * std::fabs(b), true};
      } else {
        check = CheckFloat(a, b, tol);
        // Distinct integers that round to the same double still differ.
        if (check.abs_err == 0) check = {1, check.allowed, tol.atol >= 1};
      }
    } else {
      a = actual.GetAsDouble(i);
      b = expected.GetAsDouble(i);
      check = CheckFloat(a, b, tol);
    }
    double rel_err;
    if (check.abs_err == 0) {
      rel_err = 0;
    } else if (std::isinf(check.abs_err) || b == 0) {
      rel_err = kInf;
    } else {
      rel_err = check.abs_err / std::fabs(b);
    }
    if (check.abs_err > r.max_abs_err) r.max_abs_err = check.abs_err;
    if (rel_err > r.max_rel_err) r.max_rel_err = rel_err;

    bool take;
    if (!check.close) {
      ++r.num_mismatched;
      const double excess = std::isinf(check.abs_err)
                                ? kInf
                                : check.abs_err - check.allowed;
      // The first mismatch always displaces a close element.
      take = r.num_mismatched == 1 || excess > worst_excess;
      if (take) worst_excess = excess;
    } else {
      take = r.num_mismatched == 0 &&
             (r.worst_index < 0 || check.abs_err > worst_err);
    }
    if (take) {
      r.worst_index = i;
      worst_err = check.abs_err;
      worst_allowed = check.allowed;
      r.actual_at_worst = a;
      r.expected_at_worst = b;
    }
  }
  r.ok = r.num_mismatched == 0;
  if (r.worst_index >= 0) r.worst_coords = Unravel(expected.shape(), r.worst_index);

  const std::string tol_text = tol.ToString();
  if (n == 0) {
    r.message = absl::StrCat("both tensors are empty ", TypeText(expected));
    return r;
  }
  const std::string worst_text = absl::StrCat(
      "index ", r.worst_index, " (coords [",
      absl::StrJoin(r.worst_coords, ", "), "]): actual ",
      FormatValue(r.actual_at_worst, dtype), " vs expected ",
      FormatValue(r.expected_at_worst, dtype), ", |diff| ", FormatErr(worst_err),
      r.ok ? " <= " : " > ", "allowed ", FormatErr(worst_allowed));
  const std::string errs_text =
      absl::StrCat("max abs err ", FormatErr(r.max_abs_err), ", max rel err ",
                   FormatErr(r.max_rel_err));
  if (r.ok) {
    r.message = absl::StrCat("all ", n, " elements of ", TypeText(expected),
                             " are close (", tol_text, "); ", errs_text,
                             "; largest error at ", worst_text);
  } else {
    r.message = absl::StrFormat(
        "%d of %d elements of %s differ (%.1f%%; %s); worst at %s; %s",
        r.num_mismatched, n, TypeText(expected),
        100.0 * static_cast<double>(r.num_mismatched) / static_cast<double>(n),
        tol_text, worst_text, errs_text);
  }
  return r;
}

AllCloseResult AllClose(const runtime::Tensor& actual,
                        const runtime::Tensor& expected) {
  return AllClose(actual, expected, DefaultTolerance(expected.dtype()));
}

Tolerance DifferentialTolerance(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::kF32:
      return {1e-5, 1e-5, true};
    case ir::DType::kF64:
      return {1e-7, 1e-7, true};
    case ir::DType::kF16:
      return {1e-2, 1e-2, true};
    case ir::DType::kBF16:
      return {5e-2, 5e-2, true};
    case ir::DType::kI32:
    case ir::DType::kI64:
    case ir::DType::kBool:
      return {0, 0, true};
  }
  return {0, 0, true};
}

Tolerance OutputTolerance(const ir::Node* output) {
  Tolerance tol = DifferentialTolerance(output->dtype());
  if (!ir::IsFloatingPoint(output->dtype())) return tol;
  absl::flat_hash_set<const ir::Node*> seen = {output};
  std::vector<const ir::Node*> stack = {output};
  int64_t longest_contraction = 1;
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    if (n->is_call() && n->op() == "matmul") {
      const ir::Shape& a = n->operand_node(0)->shape();
      longest_contraction = std::max(longest_contraction, a[a.rank() - 1]);
    }
    if (ir::IsFloatingPoint(n->dtype())) {
      const Tolerance t = DifferentialTolerance(n->dtype());
      tol.rtol = std::max(tol.rtol, t.rtol);
      tol.atol = std::max(tol.atol, t.atol);
    }
    for (int i = 0; i < n->num_operands(); ++i) {
      const ir::Node* operand = n->operand_node(i);
      if (operand != nullptr && seen.insert(operand).second) stack.push_back(operand);
    }
  }
  // A matmul over K terms of unit-scale inputs produces values of scale
  // sqrt(K); rounding differences upstream of it grow with that scale.
  tol.atol *= std::sqrt(static_cast<double>(longest_contraction));
  return tol;
}

}  // namespace sluice::testing
