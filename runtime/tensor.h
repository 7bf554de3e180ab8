// Host tensors: a dtype, a static shape and contiguous row-major storage that
// is either owned (shared between copies of the Tensor, like torch) or
// borrowed from the caller.
#ifndef SLUICE_RUNTIME_TENSOR_H_
#define SLUICE_RUNTIME_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ir/dtype.h"
#include "ir/shape.h"

namespace sluice::runtime {

class Tensor {
 public:
  Tensor() = default;

  // Owning storage, zero-filled (so an unwritten output never shows stale
  // data), 64-byte aligned. Like `new`, throws std::bad_alloc when the memory
  // cannot be had; code that answers with a Status (every sluice API that
  // allocates for its caller) uses TryZeros instead.
  static Tensor Zeros(ir::DType dtype, ir::Shape shape);
  static Tensor Zeros(const ir::TensorType& type) { return Zeros(type.dtype, type.shape); }
  // Zeros that reports failure: ResourceExhausted "cannot allocate N bytes for
  // f32[...]" when the machine refuses the memory (the process goes on), and
  // InvalidArgument for a shape whose size is negative or beyond
  // ir::kMaxElements.
  static absl::StatusOr<Tensor> TryZeros(ir::DType dtype, ir::Shape shape);
  static absl::StatusOr<Tensor> TryZeros(const ir::TensorType& type) {
    return TryZeros(type.dtype, type.shape);
  }
  // Borrows `data`, which must outlive every copy of the Tensor.
  static Tensor Borrow(ir::DType dtype, ir::Shape shape, void* data);

  bool defined() const { return data_ != nullptr || num_elements() == 0; }
  ir::DType dtype() const { return dtype_; }
  const ir::Shape& shape() const { return shape_; }
  ir::TensorType type() const { return {dtype_, shape_}; }
  int64_t num_elements() const { return shape_.num_elements(); }
  int64_t nbytes() const { return num_elements() * ir::DTypeSize(dtype_); }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* data_as() { return static_cast<T*>(data_); }
  template <typename T>
  const T* data_as() const { return static_cast<const T*>(data_); }

  // A deep copy with owning storage.
  Tensor Clone() const;
  // Element i converted to double (f16/bf16 widened; bool as 0/1).
  double GetAsDouble(int64_t i) const;
  // Element i set from a double (rounded to nearest-even for f16/bf16,
  // truncated toward zero for integers, != 0 for bool).
  void SetFromDouble(int64_t i, double v);

  // "f32[2, 3]" and, for small tensors, the values.
  std::string DebugString(int64_t max_elements = 16) const;

 private:
  ir::DType dtype_ = ir::DType::kF32;
  ir::Shape shape_;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

// IEEE half and bfloat16 conversions (round to nearest even), independent of
// Eigen so that every layer can use them.
uint16_t FloatToHalfBits(float f);
float HalfBitsToFloat(uint16_t h);
uint16_t FloatToBFloat16Bits(float f);
float BFloat16BitsToFloat(uint16_t b);

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_TENSOR_H_
