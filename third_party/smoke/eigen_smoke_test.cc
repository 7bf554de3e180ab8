// Checks that @eigen resolves Eigen's dense and (unsupported) Tensor modules and
// that a Tensor contraction -- the shape of the matmul reference kernel --
// computes the right numbers.

#include <Eigen/Dense>
#include <unsupported/Eigen/CXX11/Tensor>

#include "gtest/gtest.h"

namespace {

TEST(EigenSmokeTest, TensorContractionIsMatmul) {
  Eigen::Tensor<float, 2, Eigen::RowMajor> a(2, 3);
  Eigen::Tensor<float, 2, Eigen::RowMajor> b(3, 2);
  a.setValues({{1, 2, 3}, {4, 5, 6}});
  b.setValues({{7, 8}, {9, 10}, {11, 12}});

  Eigen::array<Eigen::IndexPair<int>, 1> dims = {Eigen::IndexPair<int>(1, 0)};
  Eigen::Tensor<float, 2, Eigen::RowMajor> c = a.contract(b, dims);

  ASSERT_EQ(c.dimension(0), 2);
  ASSERT_EQ(c.dimension(1), 2);
  EXPECT_FLOAT_EQ(c(0, 0), 58);   // 1*7 + 2*9 + 3*11
  EXPECT_FLOAT_EQ(c(0, 1), 64);   // 1*8 + 2*10 + 3*12
  EXPECT_FLOAT_EQ(c(1, 0), 139);  // 4*7 + 5*9 + 6*11
  EXPECT_FLOAT_EQ(c(1, 1), 154);  // 4*8 + 5*10 + 6*12
}

TEST(EigenSmokeTest, TensorReductionAndBroadcast) {
  Eigen::Tensor<float, 2, Eigen::RowMajor> x(2, 3);
  x.setValues({{1, 2, 3}, {4, 5, 6}});
  Eigen::array<int, 1> rows = {1};
  Eigen::Tensor<float, 1, Eigen::RowMajor> row_sum = x.sum(rows);
  EXPECT_FLOAT_EQ(row_sum(0), 6);
  EXPECT_FLOAT_EQ(row_sum(1), 15);

  Eigen::Tensor<float, 0, Eigen::RowMajor> max = x.maximum();
  EXPECT_FLOAT_EQ(max(), 6);

  Eigen::Tensor<float, 2, Eigen::RowMajor> y = (x * 2.0f).exp().log();
  EXPECT_NEAR(y(1, 2), 12.0f, 1e-5f);
}

TEST(EigenSmokeTest, DenseMatrix) {
  Eigen::Matrix2d m;
  m << 4, 7, 2, 6;
  EXPECT_NEAR(m.determinant(), 10.0, 1e-12);
  EXPECT_TRUE((m * m.inverse()).isIdentity(1e-12));
}

}  // namespace
