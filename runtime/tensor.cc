#include "runtime/tensor.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sluice::runtime {
namespace {

constexpr size_t kAlignment = 64;

uint32_t FloatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Narrows a double to a float rounding toward zero and setting the lowest
// mantissa bit when the result is inexact ("round to odd"). A float rounded
// this way keeps enough information for a second rounding to f16/bf16 (which
// both have far fewer mantissa bits) to equal the single correctly rounded
// result, avoiding double-rounding errors of double -> float -> half.
float DoubleToFloatRoundToOdd(double d) {
  float f = static_cast<float>(d);
  if (std::isnan(d) || static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) {
    f = std::nextafter(f, 0.0f);  // Also maps an overflowing inf to max.
  }
  return BitsToFloat(FloatBits(f) | 1u);
}

uint16_t DoubleToHalfBits(double d) {
  return FloatToHalfBits(DoubleToFloatRoundToOdd(d));
}

uint16_t DoubleToBFloat16Bits(double d) {
  return FloatToBFloat16Bits(DoubleToFloatRoundToOdd(d));
}

// Conversion toward zero that stays defined for NaN and out-of-range values:
// those give the type's minimum, which is what x86's cvtt* instructions (and
// so PyTorch on x86) produce.
template <typename Int>
Int DoubleToInt(double v) {
  // 2^(digits) is exactly representable as a double for both widths.
  const double limit = std::ldexp(1.0, std::numeric_limits<Int>::digits);
  if (!(v > -limit - 1.0 && v < limit)) return std::numeric_limits<Int>::min();
  return static_cast<Int>(v);
}

void FreeBlock(void* p) { std::free(p); }  // the calloc'd block

}  // namespace

uint16_t FloatToHalfBits(float f) {
  const uint32_t x = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    if (abs == 0x7f800000u) return sign | 0x7c00u;
    // NaN: keep the top payload bits and make sure it stays a (quiet) NaN.
    return sign | 0x7e00u | static_cast<uint16_t>((abs >> 13) & 0x3ffu);
  }
  if (abs >= 0x47800000u) return sign | 0x7c00u;  // >= 65536: overflow
  const uint32_t exp = abs >> 23;
  if (exp < 113) {
    // Result is a half subnormal (or zero): value = m * 2^-24.
    const uint32_t shift = 126 - exp;
    if (shift > 24) return sign;  // Below a quarter ulp: rounds to zero.
    const uint32_t mant = (abs & 0x7fffffu) | (exp != 0 ? 0x800000u : 0);
    uint32_t m = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (m & 1u))) ++m;
    return sign | static_cast<uint16_t>(m);
  }
  uint32_t result = ((exp - 112) << 10) | ((abs >> 13) & 0x3ffu);
  const uint32_t rem = abs & 0x1fffu;
  // A carry out of the mantissa correctly bumps the exponent (up to inf).
  if (rem > 0x1000u || (rem == 0x1000u && (result & 1u))) ++result;
  return sign | static_cast<uint16_t>(result);
}

float HalfBitsToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return BitsToFloat(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) return BitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return BitsToFloat(sign);
  // Subnormal: normalize.
  uint32_t e = 113;
  while ((mant & 0x400u) == 0) {
    mant <<= 1;
    --e;
  }
  return BitsToFloat(sign | (e << 23) | ((mant & 0x3ffu) << 13));
}

uint16_t FloatToBFloat16Bits(float f) {
  const uint32_t x = FloatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    // NaN: truncate and force the quiet bit so the payload cannot vanish.
    return static_cast<uint16_t>((x >> 16) | 0x40u);
  }
  const uint32_t rounding_bias = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding_bias) >> 16);
}

float BFloat16BitsToFloat(uint16_t b) {
  return BitsToFloat(static_cast<uint32_t>(b) << 16);
}

namespace {

// The zero-filled, over-allocated block behind Zeros/TryZeros, or nullptr.
// calloc rather than aligned_alloc + memset: for large tensors the allocator
// maps fresh (already zero) pages and skips the memset, so the pages are first
// touched by whoever writes the tensor (e.g. the threads of a kernel) instead
// of one memset here. Over-allocate by the alignment and align by hand; even
// an empty tensor gets a non-null, aligned pointer.
struct Block {
  std::shared_ptr<void> owner;
  void* data = nullptr;
};
bool AllocateZeroed(Block& block, int64_t nbytes) {
  void* raw = std::calloc(static_cast<size_t>(nbytes) + kAlignment, 1);
  if (raw == nullptr) return false;
  block.owner = std::shared_ptr<void>(raw, FreeBlock);
  block.data = reinterpret_cast<void*>(
      (reinterpret_cast<uintptr_t>(raw) + kAlignment - 1) & ~uintptr_t{kAlignment - 1});
  return true;
}

}  // namespace

Tensor Tensor::Zeros(ir::DType dtype, ir::Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  Block block;
  if (!AllocateZeroed(block, t.nbytes())) throw std::bad_alloc();
  t.storage_ = std::move(block.owner);
  t.data_ = block.data;
  return t;
}

absl::StatusOr<Tensor> Tensor::TryZeros(ir::DType dtype, ir::Shape shape) {
  if (!shape.HasValidSize()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot allocate ", ir::DTypeName(dtype), shape.ToString(),
        ": negative dimensions or more than ", ir::kMaxElements, " elements"));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  Block block;
  if (!AllocateZeroed(block, t.nbytes())) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", t.nbytes(), " bytes for ", t.type().ToString()));
  }
  t.storage_ = std::move(block.owner);
  t.data_ = block.data;
  return t;
}

Tensor Tensor::Borrow(ir::DType dtype, ir::Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::Clone() const {
  Tensor t = Zeros(dtype_, shape_);
  if (data_ != nullptr && nbytes() > 0) std::memcpy(t.data_, data_, nbytes());
  return t;
}

double Tensor::GetAsDouble(int64_t i) const {
  switch (dtype_) {
    case ir::DType::kF32:
      return data_as<float>()[i];
    case ir::DType::kF64:
      return data_as<double>()[i];
    case ir::DType::kF16:
      return HalfBitsToFloat(data_as<uint16_t>()[i]);
    case ir::DType::kBF16:
      return BFloat16BitsToFloat(data_as<uint16_t>()[i]);
    case ir::DType::kI32:
      return data_as<int32_t>()[i];
    case ir::DType::kI64:
      return static_cast<double>(data_as<int64_t>()[i]);
    case ir::DType::kBool:
      return data_as<uint8_t>()[i] != 0 ? 1.0 : 0.0;
  }
  return 0;
}

void Tensor::SetFromDouble(int64_t i, double v) {
  switch (dtype_) {
    case ir::DType::kF32:
      data_as<float>()[i] = static_cast<float>(v);
      return;
    case ir::DType::kF64:
      data_as<double>()[i] = v;
      return;
    case ir::DType::kF16:
      data_as<uint16_t>()[i] = DoubleToHalfBits(v);
      return;
    case ir::DType::kBF16:
      data_as<uint16_t>()[i] = DoubleToBFloat16Bits(v);
      return;
    case ir::DType::kI32:
      data_as<int32_t>()[i] = DoubleToInt<int32_t>(v);
      return;
    case ir::DType::kI64:
      data_as<int64_t>()[i] = DoubleToInt<int64_t>(v);
      return;
    case ir::DType::kBool:
      data_as<uint8_t>()[i] = v != 0 ? 1 : 0;  // NaN != 0: true, like torch.
      return;
  }
}

std::string Tensor::DebugString(int64_t max_elements) const {
  std::string out = type().ToString();
  if (!defined()) return absl::StrCat(out, " <undefined>");
  const int64_t n = num_elements();
  const int64_t shown = n < max_elements ? n : max_elements;
  if (shown <= 0 && n > 0) return out;
  absl::StrAppend(&out, " {");
  for (int64_t i = 0; i < shown; ++i) {
    if (i > 0) absl::StrAppend(&out, ", ");
    const double v = GetAsDouble(i);
    if (dtype_ == ir::DType::kBool) {
      absl::StrAppend(&out, v != 0 ? "true" : "false");
    } else if (ir::IsIntegral(dtype_)) {
      absl::StrAppend(&out, dtype_ == ir::DType::kI64 ? data_as<int64_t>()[i]
                                                      : data_as<int32_t>()[i]);
    } else {
      absl::StrAppend(&out, absl::StrFormat("%g", v));
    }
  }
  if (shown < n) absl::StrAppend(&out, ", ... (", n, " elements)");
  absl::StrAppend(&out, "}");
  return out;
}

}  // namespace sluice::runtime
