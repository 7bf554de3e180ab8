#include "fallback/interpreter.h"

#include <cmath>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "ir/builder.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "ir/parser.h"
#include "runtime/tensor.h"
#include "testing/allclose.h"

namespace sluice::fallback {
namespace {

using ir::DType;
using runtime::Tensor;

Tensor Make(DType dtype, ir::Shape shape, const std::vector<double>& values) {
  Tensor t = Tensor::Zeros(dtype, std::move(shape));
  for (int64_t i = 0; i < t.num_elements(); ++i) t.SetFromDouble(i, values[i]);
  return t;
}

const testing::Tolerance kExact{0, 0, false};

TEST(InterpreterTest, SeedGraph) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph foo(%x: f32[4], %y: f32[4]) {
  %a = add(%x, %y) {should_fallback = true}
  %b = mul(%a, 2.0)
  return %b
}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<std::vector<Tensor>> out =
      RunReference(*g, {Make(DType::kF32, {4}, {1, 2, 3, 4}),
                        Make(DType::kF32, {4}, {0.5, -2, 10, 0})});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_ALLCLOSE_TOL((*out)[0], Make(DType::kF32, {4}, {3, 0, 26, 8}), kExact);
}

// A small MLP-with-softmax block, hand-computed:
//   h = relu(x @ w + b)      x = [[1, 2]], w = [[1, -1, 0], [0, 1, 1]], b = [0, 0, -1]
//     = relu([[1, 1, 1]])    = [[1, 1, 1]]
//   s = softmax(h * 3, -1)   = [[1/3, 1/3, 1/3]]
//   m = sum(s, dims=[1])     = [1]
//   t = where(gt(x, 1.5), x, 0)  = [[0, 2]]
//   c = cast(argmax(t, dim=1), f32) + m = [1 + 1] = [2]
TEST(InterpreterTest, MultiNodeGraph) {
  ir::GraphBuilder b("block");
  ir::Node* x = b.Input("x", {DType::kF32, {1, 2}});
  ir::Node* w = b.Input("w", {DType::kF32, {2, 3}});
  ir::Node* bias = b.Input("b", {DType::kF32, {3}});
  ir::Node* h = b.Call("relu", {b.Call("add", {b.Call("matmul", {x, w}), bias})});
  ir::Node* s = b.Call("softmax", {b.Call("mul", {h, ir::Scalar::Float(3)})},
                       {{"dim", int64_t{-1}}});
  ir::Node* m = b.Call("sum", {s}, {{"dims", ir::AttrValue::IntList({1})}});
  ir::Node* t = b.Call("where", {b.Call("gt", {x, ir::Scalar::Float(1.5)}), x,
                                 ir::Scalar::Int(0)});
  ir::Node* am = b.Call("argmax", {t}, {{"dim", int64_t{1}}});
  ir::Node* c = b.Call("add", {b.Call("cast", {am}, {{"dtype", DType::kF32}}), m});
  b.Return({c, s, x});
  absl::StatusOr<ir::Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();

  Tensor xv = Make(DType::kF32, {1, 2}, {1, 2});
  absl::StatusOr<std::vector<Tensor>> out =
      RunReference(*g, {xv, Make(DType::kF32, {2, 3}, {1, -1, 0, 0, 1, 1}),
                        Make(DType::kF32, {3}, {0, 0, -1})});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_ALLCLOSE_TOL((*out)[0], Make(DType::kF32, {1}, {2}), (testing::Tolerance{1e-6, 0}));
  EXPECT_ALLCLOSE_TOL((*out)[1], Make(DType::kF32, {1, 3}, {1. / 3, 1. / 3, 1. / 3}),
                      (testing::Tolerance{1e-6, 0}));
  // A returned input is the input itself.
  EXPECT_EQ((*out)[2].data(), xv.data());
}

TEST(InterpreterTest, SameValueUsedTwiceAndReturned) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%x: i32[3]) {
  %a = mul(%x, %x)
  %b = sub(%a, %x)
  %c = neg(%a)
  return %b, %a, %c
}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<std::vector<Tensor>> out = RunReference(*g, {Make(DType::kI32, {3}, {1, 2, -3})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_ALLCLOSE_TOL((*out)[0], Make(DType::kI32, {3}, {0, 2, 12}), kExact);
  EXPECT_ALLCLOSE_TOL((*out)[1], Make(DType::kI32, {3}, {1, 4, 9}), kExact);
  EXPECT_ALLCLOSE_TOL((*out)[2], Make(DType::kI32, {3}, {-1, -4, -9}), kExact);
}

// Intermediates that die are reused for later ones: a value still read
// later (%c) and the graph's outputs must never be overwritten.
TEST(InterpreterTest, BufferReuseKeepsLiveValues) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph reuse(%x: f32[4]) {
  %a = add(%x, 1.0)
  %b = mul(%x, 3.0)
  %c = add(%a, %b)
  %d = neg(%c)
  %e = mul(%d, %c)
  %unused = exp(%x)
  %f = sub(%e, %c)
  %h = reshape(%f, shape = [2, 2])
  return %f, %c, %h
}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  Tensor x = Make(DType::kF32, {4}, {1, 2, 3, 4});
  for (int run = 0; run < 2; ++run) {
    absl::StatusOr<std::vector<Tensor>> out = RunReference(*g, {x});
    ASSERT_TRUE(out.ok()) << out.status();
    // c = 4x + 1; f = -(c * c) - c.
    EXPECT_ALLCLOSE_TOL((*out)[0], Make(DType::kF32, {4}, {-30, -90, -182, -306}), kExact);
    EXPECT_ALLCLOSE_TOL((*out)[1], Make(DType::kF32, {4}, {5, 9, 13, 17}), kExact);
    EXPECT_ALLCLOSE_TOL((*out)[2], Make(DType::kF32, {2, 2}, {-30, -90, -182, -306}), kExact);
    EXPECT_NE((*out)[0].data(), (*out)[2].data());
  }
  EXPECT_ALLCLOSE_TOL(x, Make(DType::kF32, {4}, {1, 2, 3, 4}), kExact);
}

class InterpreterErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph two(%x: f32[2, 3], %y: i64[3]) {
  %z = add(%x, %y)
  return %z
}
)");
    ASSERT_TRUE(g.ok()) << g.status();
    graph_ = std::make_unique<ir::Graph>(*std::move(g));
  }
  std::unique_ptr<ir::Graph> graph_;
};

TEST_F(InterpreterErrorTest, WrongInputCount) {
  absl::StatusOr<std::vector<Tensor>> out =
      RunReference(*graph_, {Tensor::Zeros(DType::kF32, {2, 3})});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "graph 'two' takes 2 inputs, got 1");
}

TEST_F(InterpreterErrorTest, WrongDTypeNamesTheInput) {
  absl::StatusOr<std::vector<Tensor>> out = RunReference(
      *graph_, {Tensor::Zeros(DType::kF32, {2, 3}), Tensor::Zeros(DType::kI32, {3})});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "graph 'two': input 1 (%y) is i32[3], expected i64[3]");
}

TEST_F(InterpreterErrorTest, WrongShapeNamesTheInput) {
  absl::StatusOr<std::vector<Tensor>> out = RunReference(
      *graph_, {Tensor::Zeros(DType::kF32, {3, 2}), Tensor::Zeros(DType::kI64, {3})});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "graph 'two': input 0 (%x) is f32[3, 2], expected f32[2, 3]");
}

TEST_F(InterpreterErrorTest, UndefinedInput) {
  absl::StatusOr<std::vector<Tensor>> out =
      RunReference(*graph_, {Tensor::Zeros(DType::kF32, {2, 3}), Tensor()});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "graph 'two': input 1 (%y) is undefined");
}

TEST_F(InterpreterErrorTest, GoodInputsRunAndAreNotModified) {
  Tensor x = Make(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = Make(DType::kI64, {3}, {1, 1, 1});
  absl::StatusOr<std::vector<Tensor>> out = RunReference(*graph_, {x, y});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_ALLCLOSE_TOL((*out)[0], Make(DType::kF32, {2, 3}, {2, 3, 4, 5, 6, 7}), kExact);
  EXPECT_ALLCLOSE_TOL(x, Make(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6}), kExact);
}

}  // namespace
}  // namespace sluice::fallback
