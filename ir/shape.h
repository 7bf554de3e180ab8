// Static tensor shapes and tensor types ("f32[10, 20]").
#ifndef SLUICE_IR_SHAPE_H_
#define SLUICE_IR_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ir/dtype.h"

namespace sluice::ir {

// The most elements a tensor type may have, so that its size in bytes (at
// most 8 per element) fits in an int64_t. Larger shapes are errors.
inline constexpr int64_t kMaxElements = std::numeric_limits<int64_t>::max() / 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t dim(int i) const { return dims_[i]; }
  int64_t operator[](int i) const { return dims_[i]; }
  const std::vector<int64_t>& dims() const { return dims_; }
  std::vector<int64_t>& mutable_dims() { return dims_; }
  int64_t num_elements() const;
  bool is_scalar() const { return dims_.empty(); }
  // Whether every dimension is non-negative and the product of the non-zero
  // ones is at most kMaxElements; then num_elements(), Strides() and byte
  // sizes cannot overflow. Graph::AddInput/AddCall refuse other shapes.
  bool HasValidSize() const;

  // Row-major (C order) strides in elements.
  std::vector<int64_t> Strides() const;

  std::string ToString() const;  // "[10, 20]"
  bool operator==(const Shape& o) const { return dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return dims_ != o.dims_; }

 private:
  std::vector<int64_t> dims_;
};

// Normalizes a possibly negative dim against `rank` (PyTorch wrapping);
// error when out of range. For rank 0, dims -1 and 0 are accepted like torch.
absl::StatusOr<int> NormalizeDim(int64_t dim, int rank);

// A reduction's `dims` attribute normalized against the input's `rank`:
// sorted and duplicate-free, [] meaning all dims (none for rank 0). Error for
// a dim out of range or given twice.
absl::StatusOr<std::vector<int>> ReductionDims(const std::vector<int64_t>& dims, int rank);

// NumPy/PyTorch broadcasting of two shapes; error names both shapes.
absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b);

struct TensorType {
  DType dtype = DType::kF32;
  Shape shape;

  std::string ToString() const;  // "f32[10, 20]"
  bool operator==(const TensorType& o) const {
    return dtype == o.dtype && shape == o.shape;
  }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
};

}  // namespace sluice::ir

#endif  // SLUICE_IR_SHAPE_H_
