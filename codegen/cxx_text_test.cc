#include "codegen/cxx_text.h"

#include "gtest/gtest.h"

namespace sluice::codegen {
namespace {

using ir::DType;

TEST(CxxTextTest, BinaryOpsByDType) {
  EXPECT_EQ(BinaryOpText("add", DType::kF32, "float", "a", "b"), "(a + b)");
  EXPECT_EQ(BinaryOpText("add", DType::kI32, "int", "a", "b"), "sl_wrap_add<int>(a, b)");
  EXPECT_EQ(BinaryOpText("add", DType::kBool, "bool", "a", "b"), "(a || b)");
  EXPECT_EQ(BinaryOpText("sub", DType::kI64, "int64_t", "a", "b"), "sl_wrap_sub<int64_t>(a, b)");
  EXPECT_EQ(BinaryOpText("mul", DType::kBool, "bool", "a", "b"), "(a && b)");
  EXPECT_EQ(BinaryOpText("maximum", DType::kF64, "double", "a", "b"), "sl_maximum<double>(a, b)");
  EXPECT_EQ(BinaryOpText("minimum", DType::kBool, "bool", "a", "b"), "(a && b)");
  EXPECT_EQ(BinaryOpText("le", DType::kF32, "float", "a", "b"), "(a <= b)");
  EXPECT_EQ(BinaryOpText("logical_or", DType::kBool, "bool", "a", "b"), "(a || b)");
  // Spelled per target.
  for (const char* op : {"div", "pow", "where", "exp", "no_such_op"}) {
    EXPECT_FALSE(BinaryOpText(op, DType::kF32, "float", "a", "b").has_value()) << op;
  }
}

TEST(CxxTextTest, Casts) {
  EXPECT_EQ(CastText(DType::kF32, DType::kBool, "bool", "a"), "(a != 0)");
  EXPECT_EQ(CastText(DType::kF32, DType::kBF16, "float", "a"), "sl_round_bf(static_cast<float>(a))");
  EXPECT_EQ(CastText(DType::kF32, DType::kF16, "float", "a"), "sl_round_h(static_cast<float>(a))");
  EXPECT_EQ(CastText(DType::kF64, DType::kI32, "int32_t", "a"), "sl_f2i<int32_t>(a)");
  EXPECT_EQ(CastText(DType::kI32, DType::kF32, "float", "a"), "static_cast<float>(a)");
}

}  // namespace
}  // namespace sluice::codegen
