#include "runtime/tensor.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
#include "ir/shape.h"

namespace sluice::runtime {
namespace {

using ir::DType;

TEST(TensorTest, ZerosIsAlignedAndZeroFilled) {
  for (DType dtype : ir::kAllDTypes) {
    Tensor t = Tensor::Zeros(dtype, {3, 5});
    ASSERT_TRUE(t.defined());
    EXPECT_EQ(t.dtype(), dtype);
    EXPECT_EQ(t.shape(), ir::Shape({3, 5}));
    EXPECT_EQ(t.num_elements(), 15);
    EXPECT_EQ(t.nbytes(), 15 * ir::DTypeSize(dtype));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
    const auto* bytes = static_cast<const uint8_t*>(t.data());
    for (int64_t i = 0; i < t.nbytes(); ++i) ASSERT_EQ(bytes[i], 0) << i;
    for (int64_t i = 0; i < t.num_elements(); ++i) EXPECT_EQ(t.GetAsDouble(i), 0.0);
  }
}

TEST(TensorTest, TryZerosAllocatesLikeZeros) {
  absl::StatusOr<Tensor> t = Tensor::TryZeros(ir::TensorType{DType::kF16, {7, 3}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type().ToString(), "f16[7, 3]");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data()) % 64, 0u);
  const auto* bytes = static_cast<const uint8_t*>(t->data());
  for (int64_t i = 0; i < t->nbytes(); ++i) ASSERT_EQ(bytes[i], 0) << i;
  absl::StatusOr<Tensor> empty = Tensor::TryZeros(DType::kI32, {0});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_NE(empty->data(), nullptr);
}

TEST(TensorTest, TryZerosBeyondTheAddressSpaceIsResourceExhausted) {
  // 2^63 - 8 bytes: more than any x86-64 or AArch64 address space, so no
  // allocator can grant it whatever the overcommit setting.
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<Tensor> t = Tensor::TryZeros(DType::kF64, {ir::kMaxElements});
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(t.status().message(),
              "cannot allocate 9223372036854775800 bytes for f64[1152921504606846975]");
  }
  EXPECT_TRUE(Tensor::TryZeros(DType::kF64, {1024}).ok());  // nothing broke
}

TEST(TensorTest, TryZerosOfAnInvalidShapeIsInvalidArgument) {
  absl::StatusOr<Tensor> negative = Tensor::TryZeros(DType::kF32, {2, -1});
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(negative.status().message(),
            "cannot allocate f32[2, -1]: negative dimensions or more than "
            "1152921504606846975 elements");
  absl::StatusOr<Tensor> huge = Tensor::TryZeros(DType::kBool, {ir::kMaxElements, 2});
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorTest, ZerosOfEmptyAndScalarShapes) {
  Tensor empty = Tensor::Zeros(DType::kF32, {0, 4});
  EXPECT_TRUE(empty.defined());
  EXPECT_EQ(empty.num_elements(), 0);
  EXPECT_EQ(empty.nbytes(), 0);
  EXPECT_NE(empty.data(), nullptr);

  Tensor scalar = Tensor::Zeros(ir::TensorType{DType::kI64, {}});
  EXPECT_EQ(scalar.num_elements(), 1);
  EXPECT_EQ(scalar.nbytes(), 8);
}

TEST(TensorTest, DefaultTensorIsUndefined) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_EQ(t.DebugString(), "f32[] <undefined>");
}

TEST(TensorTest, CopiesShareOwnedStorage) {
  Tensor a = Tensor::Zeros(DType::kF32, {2});
  Tensor b = a;
  b.data_as<float>()[1] = 7.0f;
  EXPECT_EQ(a.data_as<float>()[1], 7.0f);
}

TEST(TensorTest, BorrowAliasesCallerMemory) {
  float buffer[4] = {1, 2, 3, 4};
  Tensor t = Tensor::Borrow(DType::kF32, {2, 2}, buffer);
  EXPECT_EQ(t.data(), buffer);
  EXPECT_EQ(t.GetAsDouble(3), 4.0);
  t.SetFromDouble(0, 9.5);
  EXPECT_EQ(buffer[0], 9.5f);
}

TEST(TensorTest, CloneIsDeep) {
  int32_t buffer[3] = {1, 2, 3};
  Tensor borrowed = Tensor::Borrow(DType::kI32, {3}, buffer);
  Tensor clone = borrowed.Clone();
  EXPECT_NE(clone.data(), borrowed.data());
  EXPECT_EQ(clone.type(), borrowed.type());
  buffer[0] = 100;
  EXPECT_EQ(clone.data_as<int32_t>()[0], 1);
  EXPECT_EQ(clone.data_as<int32_t>()[2], 3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(clone.data()) % 64, 0u);
}

TEST(TensorTest, GetAndSetRoundTripEveryDType) {
  for (DType dtype : ir::kAllDTypes) {
    Tensor t = Tensor::Zeros(dtype, {4});
    t.SetFromDouble(0, 1.0);
    t.SetFromDouble(1, 0.0);
    t.SetFromDouble(2, dtype == DType::kBool ? 1.0 : -2.0);
    t.SetFromDouble(3, dtype == DType::kBool ? 0.0 : 3.0);
    EXPECT_EQ(t.GetAsDouble(0), 1.0) << ir::DTypeName(dtype);
    EXPECT_EQ(t.GetAsDouble(1), 0.0) << ir::DTypeName(dtype);
    EXPECT_EQ(t.GetAsDouble(2), dtype == DType::kBool ? 1.0 : -2.0)
        << ir::DTypeName(dtype);
    EXPECT_EQ(t.GetAsDouble(3), dtype == DType::kBool ? 0.0 : 3.0)
        << ir::DTypeName(dtype);
  }
}

TEST(TensorTest, SetFromDoubleConversions) {
  Tensor i32 = Tensor::Zeros(DType::kI32, {4});
  i32.SetFromDouble(0, 2.9);
  i32.SetFromDouble(1, -2.9);
  i32.SetFromDouble(2, std::nan(""));
  i32.SetFromDouble(3, 1e20);
  EXPECT_EQ(i32.data_as<int32_t>()[0], 2);
  EXPECT_EQ(i32.data_as<int32_t>()[1], -2);
  // Out of range and NaN give INT_MIN like x86 (and so PyTorch on x86).
  EXPECT_EQ(i32.data_as<int32_t>()[2], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(i32.data_as<int32_t>()[3], std::numeric_limits<int32_t>::min());

  Tensor i64 = Tensor::Zeros(DType::kI64, {2});
  i64.SetFromDouble(0, -7.5);
  i64.SetFromDouble(1, 9007199254740992.0);  // 2^53
  EXPECT_EQ(i64.data_as<int64_t>()[0], -7);
  EXPECT_EQ(i64.data_as<int64_t>()[1], int64_t{1} << 53);

  Tensor b = Tensor::Zeros(DType::kBool, {3});
  b.SetFromDouble(0, 0.5);
  b.SetFromDouble(1, -0.0);
  b.SetFromDouble(2, std::nan(""));
  EXPECT_EQ(b.data_as<uint8_t>()[0], 1);
  EXPECT_EQ(b.data_as<uint8_t>()[1], 0);
  EXPECT_EQ(b.data_as<uint8_t>()[2], 1);
}

TEST(TensorTest, HalfConversionKnownBits) {
  EXPECT_EQ(FloatToHalfBits(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalfBits(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalfBits(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalfBits(65504.0f), 0x7bff);           // max half
  EXPECT_EQ(FloatToHalfBits(65519.0f), 0x7bff);           // rounds down
  EXPECT_EQ(FloatToHalfBits(65520.0f), 0x7c00);           // tie -> even = inf
  EXPECT_EQ(FloatToHalfBits(1e6f), 0x7c00);
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -14)), 0x0400);  // min normal
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -24)), 0x0001);  // min subnormal
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -25)), 0x0000);  // tie -> even 0
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(FloatToHalfBits(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp -> 2
  EXPECT_EQ(FloatToHalfBits(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(FloatToHalfBits(-std::numeric_limits<float>::infinity()), 0xfc00);
  // Round to nearest even in the normal range: 1 + 2^-11 is a tie between
  // 1.0 (even) and 1 + 2^-10 (odd).
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(FloatToHalfBits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)),
            0x3c01);

  EXPECT_EQ(HalfBitsToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfBitsToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfBitsToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfBitsToFloat(0x03ff), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfBitsToFloat(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(HalfBitsToFloat(0x8000)));
  EXPECT_EQ(HalfBitsToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(HalfBitsToFloat(0x7e00)));
}

TEST(TensorTest, HalfNaNStaysNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const uint16_t h = FloatToHalfBits(nan);
  EXPECT_EQ(h & 0x7c00, 0x7c00);
  EXPECT_NE(h & 0x03ff, 0);
  EXPECT_TRUE(std::isnan(HalfBitsToFloat(h)));
  // A signalling NaN whose payload lives only in low bits must not turn
  // into infinity.
  float snan;
  const uint32_t snan_bits = 0x7f800001u;
  std::memcpy(&snan, &snan_bits, 4);
  EXPECT_TRUE(std::isnan(HalfBitsToFloat(FloatToHalfBits(snan))));
}

TEST(TensorTest, HalfRoundTripsEveryBitPattern) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float f = HalfBitsToFloat(h);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(HalfBitsToFloat(FloatToHalfBits(f))));
    } else {
      ASSERT_EQ(FloatToHalfBits(f), h) << std::hex << bits;
    }
  }
}

TEST(TensorTest, BFloat16ConversionKnownBits) {
  EXPECT_EQ(FloatToBFloat16Bits(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBFloat16Bits(-2.0f), 0xc000);
  EXPECT_EQ(BFloat16BitsToFloat(0x3f80), 1.0f);
  // 1 + 2^-8 is a tie between 1.0 (even) and 1 + 2^-7: rounds to 1.0.
  EXPECT_EQ(FloatToBFloat16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3 * 2^-8 is a tie between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up.
  EXPECT_EQ(FloatToBFloat16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(FloatToBFloat16Bits(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(FloatToBFloat16Bits(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(FloatToBFloat16Bits(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_TRUE(std::isnan(BFloat16BitsToFloat(
      FloatToBFloat16Bits(std::numeric_limits<float>::quiet_NaN()))));
  float snan;
  const uint32_t snan_bits = 0x7f800001u;
  std::memcpy(&snan, &snan_bits, 4);
  EXPECT_TRUE(std::isnan(BFloat16BitsToFloat(FloatToBFloat16Bits(snan))));
}

TEST(TensorTest, SetFromDoubleAvoidsDoubleRounding) {
  // 1 + 2^-11 + 2^-40 is just above the f16 tie between 1.0 and 1 + 2^-10,
  // so the correctly rounded f16 is 1 + 2^-10. Going through float first
  // would drop the 2^-40 and round the tie to even (1.0).
  Tensor h = Tensor::Zeros(DType::kF16, {1});
  h.SetFromDouble(0, 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40));
  EXPECT_EQ(h.data_as<uint16_t>()[0], 0x3c01);

  Tensor b = Tensor::Zeros(DType::kBF16, {1});
  b.SetFromDouble(0, 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40));
  EXPECT_EQ(b.data_as<uint16_t>()[0], 0x3f81);
  b.SetFromDouble(0, 1e300);
  EXPECT_EQ(b.data_as<uint16_t>()[0], 0x7f80);
  b.SetFromDouble(0, -1e-300);
  EXPECT_EQ(b.data_as<uint16_t>()[0], 0x8000);
  h.SetFromDouble(0, std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.data_as<uint16_t>()[0], 0x7c00);
  h.SetFromDouble(0, std::nan(""));
  EXPECT_TRUE(std::isnan(h.GetAsDouble(0)));
}

TEST(TensorTest, DebugStringShowsTypeAndValues) {
  Tensor t = Tensor::Zeros(DType::kF32, {2, 2});
  t.SetFromDouble(0, 1.5);
  t.SetFromDouble(3, -2);
  EXPECT_EQ(t.DebugString(), "f32[2, 2] {1.5, 0, 0, -2}");
  EXPECT_EQ(t.DebugString(2), "f32[2, 2] {1.5, 0, ... (4 elements)}");

  Tensor b = Tensor::Zeros(DType::kBool, {2});
  b.SetFromDouble(1, 1);
  EXPECT_EQ(b.DebugString(), "bool[2] {false, true}");

  Tensor i = Tensor::Zeros(DType::kI64, {});
  i.SetFromDouble(0, -3);
  EXPECT_EQ(i.DebugString(), "i64[] {-3}");

  Tensor empty = Tensor::Zeros(DType::kBF16, {0});
  EXPECT_EQ(empty.DebugString(), "bf16[0] {}");
}

}  // namespace
}  // namespace sluice::runtime
