#include "ir/shape.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice::ir {

int64_t Shape::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

bool Shape::HasValidSize() const {
  int64_t product = 1;
  for (int64_t d : dims_) {
    if (d < 0) return false;
    if (d == 0) continue;
    if (product > kMaxElements / d) return false;
    product *= d;
  }
  return true;
}

std::vector<int64_t> Shape::Strides() const {
  std::vector<int64_t> strides(dims_.size());
  int64_t s = 1;
  for (int i = rank() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= dims_[i];
  }
  return strides;
}

std::string Shape::ToString() const { return absl::StrCat("[", absl::StrJoin(dims_, ", "), "]"); }

absl::StatusOr<int> NormalizeDim(int64_t dim, int rank) {
  const int64_t r = rank == 0 ? 1 : rank;
  if (dim < -r || dim >= r) {
    return absl::InvalidArgumentError(absl::StrCat("dim ", dim, " is out of range for rank ",
                                                   rank, " (expected [", -r, ", ", r - 1, "])"));
  }
  return static_cast<int>(dim < 0 ? dim + r : dim);
}

absl::StatusOr<std::vector<int>> ReductionDims(const std::vector<int64_t>& dims, int rank) {
  std::set<int> out;
  if (dims.empty()) {
    for (int i = 0; i < rank; ++i) out.insert(i);
  }
  for (int64_t d : dims) {
    absl::StatusOr<int> n = NormalizeDim(d, rank);
    if (!n.ok()) return n.status();
    if (rank == 0) continue;
    if (!out.insert(*n).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("dim ", d, " appears more than once in dims"));
    }
  }
  return std::vector<int>(out.begin(), out.end());
}

absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  const int rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> out(rank);
  for (int i = 0; i < rank; ++i) {
    const int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
    const int64_t da = ia >= 0 ? a[ia] : 1;
    const int64_t db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      return absl::InvalidArgumentError(absl::StrCat("shapes ", a.ToString(), " and ",
                                                     b.ToString(), " do not broadcast (dim ", i,
                                                     ": ", da, " vs ", db, ")"));
    }
    out[i] = da == 1 ? db : da;
  }
  return Shape(std::move(out));
}

std::string TensorType::ToString() const {
  return absl::StrCat(DTypeName(dtype), shape.ToString());
}

}  // namespace sluice::ir
