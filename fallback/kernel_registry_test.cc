// Hand-worked cases for every op group of the fallback kernels (the values
// below were worked out by hand or with a calculator, not by sluice), plus
// the registry's coverage and errors. testdata/fallback (expected_values_test)
// covers every op x dtype against NumPy.
#include "fallback/kernel_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ir/builder.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "runtime/tensor.h"
#include "testing/allclose.h"

namespace sluice::fallback {
namespace {

using ir::DType;
using runtime::Tensor;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor Make(DType dtype, ir::Shape shape, const std::vector<double>& values) {
  Tensor t = Tensor::Zeros(dtype, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.num_elements());
  for (int64_t i = 0; i < t.num_elements() && i < static_cast<int64_t>(values.size()); ++i) {
    t.SetFromDouble(i, values[i]);
  }
  return t;
}

// f32[2, 3, 2, 3, 2, 3, 2, 3] holding its linear index.
Tensor Iota8() {
  Tensor t = Tensor::Zeros(DType::kF32, {2, 3, 2, 3, 2, 3, 2, 3});
  for (int64_t i = 0; i < t.num_elements(); ++i) t.SetFromDouble(i, static_cast<double>(i));
  return t;
}

using Arg = std::variant<Tensor, ir::Scalar>;

// Builds a graph with one input per tensor argument and one `op` node, and
// runs that node through RunNode.
absl::StatusOr<Tensor> RunOp(const std::string& op, const std::vector<Arg>& args,
                           const ir::GraphBuilder::KeyValues& attrs = {}) {
  ir::GraphBuilder b("test");
  std::vector<ir::Operand> operands;
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < args.size(); ++i) {
    if (const Tensor* t = std::get_if<Tensor>(&args[i])) {
      operands.push_back(b.Input(absl::StrCat("x", i), t->type()));
      inputs.push_back(*t);
    } else {
      operands.push_back(std::get<ir::Scalar>(args[i]));
      inputs.push_back(Tensor());
    }
  }
  ir::Node* node = b.Call(op, operands, attrs);
  b.Return({node});
  absl::StatusOr<ir::Graph> g = b.Build();
  if (!g.ok()) return g.status();
  const ir::Node& call = *g->calls().front();
  Tensor out = Tensor::Zeros(call.type());
  absl::Status s = RunNode(call, inputs, out);
  if (!s.ok()) return s;
  return out;
}

Tensor MustRun(const std::string& op, const std::vector<Arg>& args,
               const ir::GraphBuilder::KeyValues& attrs = {}) {
  absl::StatusOr<Tensor> t = RunOp(op, args, attrs);
  EXPECT_TRUE(t.ok()) << op << ": " << t.status();
  return t.ok() ? *t : Tensor();
}

const testing::Tolerance kExact{0, 0, true};
const testing::Tolerance kF32{1e-6, 1e-7, true};

#define EXPECT_TENSOR(actual, expected, tol) EXPECT_ALLCLOSE_TOL(actual, expected, tol)

// ---- registry ------------------------------------------------------------------

TEST(KernelRegistryTest, EveryIrOpHasKernels) {
  const KernelRegistry& r = KernelRegistry::Cpu();
  EXPECT_EQ(r.Ops(), ir::OpRegistry::Global().Names());
  std::vector<std::string> sorted = r.Ops();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, r.Ops());
}

TEST(KernelRegistryTest, KeysAreOutputDTypes) {
  const KernelRegistry& r = KernelRegistry::Cpu();
  EXPECT_TRUE(r.Has("add", DType::kBF16));
  EXPECT_TRUE(r.Has("eq", DType::kBool));
  EXPECT_FALSE(r.Has("eq", DType::kF32));
  EXPECT_TRUE(r.Has("argmax", DType::kI64));
  EXPECT_FALSE(r.Has("exp", DType::kI32));
  EXPECT_FALSE(r.Has("neg", DType::kBool));
  EXPECT_EQ(r.DTypes("softmax"),
            (std::vector<DType>{DType::kF16, DType::kBF16, DType::kF32, DType::kF64}));
}

TEST(KernelRegistryTest, MissingKernelErrorsNameOpAndDType) {
  const KernelRegistry& r = KernelRegistry::Cpu();
  absl::StatusOr<CpuKernelFn> unknown = r.Find("frobnicate", DType::kF32);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "no fallback kernel for op 'frobnicate'");

  absl::StatusOr<CpuKernelFn> wrong = r.Find("exp", DType::kI32);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(wrong.status().message(),
            "no fallback kernel for op 'exp' with output dtype i32 (it has: f16, bf16, f32, f64)");
}

TEST(KernelRegistryTest, RegisterAddsAndReplaces) {
  KernelRegistry r;
  EXPECT_TRUE(r.Ops().empty());
  int calls = 0;
  r.Register("custom", DType::kF32,
             [&calls](const ir::Node&, absl::Span<const Tensor>, Tensor&) {
               ++calls;
               return absl::OkStatus();
             });
  ASSERT_TRUE(r.Has("custom", DType::kF32));
  EXPECT_EQ(r.Ops(), std::vector<std::string>{"custom"});
  ir::Graph g;
  const ir::Node& node = **g.AddInput("x", {});
  Tensor out;
  ASSERT_TRUE((*r.Find("custom", DType::kF32))(node, {}, out).ok());
  EXPECT_EQ(calls, 1);
  r.Register("custom", DType::kF32, [](const ir::Node&, absl::Span<const Tensor>, Tensor&) {
    return absl::InternalError("replaced");
  });
  EXPECT_EQ((*r.Find("custom", DType::kF32))(node, {}, out).message(), "replaced");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.DTypes("custom"), std::vector<DType>{DType::kF32});
}

TEST(RunNodeTest, ChecksInputsAndOutput) {
  ir::GraphBuilder b("g");
  ir::Node* x = b.Input("x", {DType::kF32, {3}});
  ir::Node* y = b.Call("exp", {x}, {}, {}, "y");
  b.Return({y});
  absl::StatusOr<ir::Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::Node& node = *g->FindNode("y");
  Tensor out = Tensor::Zeros(DType::kF32, {3});

  absl::Status s = RunNode(node, {}, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "fallback kernel for %y (exp): expected 1 inputs, got 0");

  Tensor wrong = Tensor::Zeros(DType::kF32, {4});
  s = RunNode(node, {wrong}, out);
  EXPECT_EQ(s.message(),
            "fallback kernel for %y (exp): input 0 (%x) is f32[4], expected f32[3]");

  s = RunNode(node, {Tensor()}, out);
  EXPECT_EQ(s.message(), "fallback kernel for %y (exp): input 0 (%x) is undefined");

  Tensor good = Tensor::Zeros(DType::kF32, {3});
  Tensor bad_out = Tensor::Zeros(DType::kF64, {3});
  s = RunNode(node, {good}, bad_out);
  EXPECT_EQ(s.message(), "fallback kernel for %y (exp): output is f64[3], expected f32[3]");

  s = RunNode(*g->FindNode("x"), {}, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(RunNode(node, {good}, out).ok());
  EXPECT_TENSOR(out, Make(DType::kF32, {3}, {1, 1, 1}), kExact);
}

TEST(RunNodeTest, RanksAboveEightAreRefusedCleanly) {
  Tensor x = Tensor::Zeros(DType::kF32, {1, 2, 1, 2, 1, 2, 1, 2, 2});
  absl::StatusOr<Tensor> out = RunOp("exp", {x});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(out.status().message().find("input 0 has rank 9; the fallback kernels support up to "
                                        "rank 8"),
            std::string::npos)
      << out.status();
  // Rank 8 works, including a broadcast that stays rank 8 after collapsing
  // (broadcast and copied dims alternate).
  Tensor a = Iota8();
  Tensor b = Tensor::Zeros(DType::kF32, {2, 1, 2, 1, 2, 1, 2, 1});
  for (int64_t i = 0; i < 16; ++i) b.SetFromDouble(i, 1000 * i);
  Tensor sum = MustRun("add", {a, b});
  ASSERT_EQ(sum.shape(), ir::Shape({2, 3, 2, 3, 2, 3, 2, 3}));
  // Element [1, 2, 1, 0, 1, 2, 0, 1] is a's linear index there plus 1000 *
  // b's linear index at [1, 0, 1, 0, 1, 0, 0, 0].
  const std::vector<int64_t> at = {1, 2, 1, 0, 1, 2, 0, 1};
  const std::vector<int64_t> a_strides = {648, 216, 108, 36, 18, 6, 3, 1};
  const std::vector<int64_t> b_strides = {8, 8, 4, 4, 2, 2, 1, 1};
  int64_t ai = 0, bi = 0;
  for (int d = 0; d < 8; ++d) {
    ai += at[d] * a_strides[d];
    if (d % 2 == 0) bi += at[d] * b_strides[d];
  }
  EXPECT_EQ(sum.GetAsDouble(ai), ai + 1000.0 * bi);
}

TEST(ElementwiseTest, WhereWithTwoLiterals) {
  // (The IR refuses binary ops whose operands are all literals.)
  EXPECT_TENSOR(MustRun("where", {Make(DType::kBool, {2}, {1, 0}), ir::Scalar::Int(7),
                                  ir::Scalar::Int(-7)}),
                Make(DType::kI64, {2}, {7, -7}), kExact);
}

// ---- elementwise ---------------------------------------------------------------

TEST(ElementwiseTest, BroadcastingSizeOneAndMissingDims) {
  Tensor a = Make(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor row = Make(DType::kF32, {3}, {10, 20, 30});
  Tensor col = Make(DType::kF32, {2, 1}, {100, 200});
  EXPECT_TENSOR(MustRun("add", {a, row}),
                Make(DType::kF32, {2, 3}, {11, 22, 33, 14, 25, 36}), kExact);
  EXPECT_TENSOR(MustRun("sub", {a, col}),
                Make(DType::kF32, {2, 3}, {-99, -98, -97, -196, -195, -194}), kExact);
  // [2, 1] x [3] -> [2, 3]: both operands broadcast.
  EXPECT_TENSOR(MustRun("mul", {col, row}),
                Make(DType::kF32, {2, 3}, {1000, 2000, 3000, 2000, 4000, 6000}), kExact);
  // A 0-d tensor operand.
  EXPECT_TENSOR(MustRun("mul", {a, Make(DType::kF32, {}, {-1})}),
                Make(DType::kF32, {2, 3}, {-1, -2, -3, -4, -5, -6}), kExact);
  // [2, 1, 3] + [4, 1] -> [2, 4, 3].
  Tensor big = MustRun("add", {Make(DType::kI64, {2, 1, 3}, {0, 1, 2, 3, 4, 5}),
                               Make(DType::kI64, {4, 1}, {0, 10, 20, 30})});
  ASSERT_EQ(big.shape(), ir::Shape({2, 4, 3}));
  EXPECT_EQ(big.GetAsDouble(0), 0);
  EXPECT_EQ(big.GetAsDouble(5), 12);    // [0, 1, 2]
  EXPECT_EQ(big.GetAsDouble(23), 35);   // [1, 3, 2]
  EXPECT_EQ(big.GetAsDouble(13), 4);    // [1, 0, 1]
}

TEST(ElementwiseTest, EmptyTensors) {
  Tensor e = Tensor::Zeros(DType::kF32, {0, 3});
  Tensor out = MustRun("add", {e, Make(DType::kF32, {3}, {1, 2, 3})});
  EXPECT_EQ(out.shape(), ir::Shape({0, 3}));
  EXPECT_EQ(MustRun("exp", {e}).num_elements(), 0);
  EXPECT_EQ(MustRun("where", {Tensor::Zeros(DType::kBool, {0, 1}), e, ir::Scalar::Float(1)})
                .shape(),
            ir::Shape({0, 3}));
}

TEST(ElementwiseTest, TypePromotionAndLiterals) {
  Tensor i = Make(DType::kI32, {3}, {1, 2, 3});
  // int tensor * float literal -> f32; int literal keeps i32.
  Tensor f = MustRun("mul", {i, ir::Scalar::Float(2.5)});
  EXPECT_TENSOR(f, Make(DType::kF32, {3}, {2.5, 5, 7.5}), kExact);
  Tensor k = MustRun("add", {i, ir::Scalar::Int(5)});
  EXPECT_TENSOR(k, Make(DType::kI32, {3}, {6, 7, 8}), kExact);
  // i32 + f16 -> f16; f16 + f32 -> f32; i32 + i64 -> i64.
  EXPECT_TENSOR(MustRun("add", {i, Make(DType::kF16, {3}, {0.5, 0.5, 0.5})}),
                Make(DType::kF16, {3}, {1.5, 2.5, 3.5}), kExact);
  EXPECT_TENSOR(MustRun("add", {Make(DType::kF16, {1}, {1}), Make(DType::kF32, {1}, {1e-4})}),
                Make(DType::kF32, {1}, {1.0001}), kF32);
  // A 0-d i64 does not widen an i32 tensor (same category).
  EXPECT_TENSOR(MustRun("sub", {i, Make(DType::kI64, {}, {1})}),
                Make(DType::kI32, {3}, {0, 1, 2}), kExact);
  // Literal first.
  EXPECT_TENSOR(MustRun("sub", {ir::Scalar::Float(1.0), Make(DType::kF64, {2}, {0.25, 4})}),
                Make(DType::kF64, {2}, {0.75, -3}), kExact);
}

TEST(ElementwiseTest, TrueDivision) {
  Tensor a = Make(DType::kI32, {4}, {7, -7, 1, 0});
  Tensor b = Make(DType::kI32, {4}, {2, 2, 0, 0});
  Tensor q = MustRun("div", {a, b});
  EXPECT_EQ(q.dtype(), DType::kF32);
  EXPECT_TENSOR(q, Make(DType::kF32, {4}, {3.5, -3.5, kInf, kNaN}), kExact);
  EXPECT_TENSOR(MustRun("div", {Make(DType::kBool, {2}, {1, 0}), ir::Scalar::Int(4)}),
                Make(DType::kF32, {2}, {0.25, 0}), kExact);
}

TEST(ElementwiseTest, IntegerAndBoolArithmetic) {
  Tensor a = Make(DType::kI64, {4}, {2, -2, 1, -1});
  Tensor e = Make(DType::kI64, {4}, {10, 3, -5, -3});
  // torch: negative integer exponents give 1, -1 (odd) or 0.
  EXPECT_TENSOR(MustRun("pow", {a, e}), Make(DType::kI64, {4}, {1024, -8, 1, -1}), kExact);
  EXPECT_TENSOR(MustRun("pow", {Make(DType::kI32, {2}, {3, 2}), ir::Scalar::Int(-1)}),
                Make(DType::kI32, {2}, {0, 0}), kExact);
  Tensor t = Make(DType::kBool, {4}, {0, 0, 1, 1});
  Tensor u = Make(DType::kBool, {4}, {0, 1, 0, 1});
  EXPECT_TENSOR(MustRun("add", {t, u}), Make(DType::kBool, {4}, {0, 1, 1, 1}), kExact);
  EXPECT_TENSOR(MustRun("mul", {t, u}), Make(DType::kBool, {4}, {0, 0, 0, 1}), kExact);
  EXPECT_TENSOR(MustRun("maximum", {t, u}), Make(DType::kBool, {4}, {0, 1, 1, 1}), kExact);
  EXPECT_TENSOR(MustRun("minimum", {t, u}), Make(DType::kBool, {4}, {0, 0, 0, 1}), kExact);
  // Like sub, pow has no bool kernel: the IR rejects it (torch: "pow" not
  // implemented for 'Bool').
  EXPECT_FALSE(KernelRegistry::Cpu().Has("pow", DType::kBool));
  EXPECT_FALSE(KernelRegistry::Cpu().Has("sub", DType::kBool));
  // bool + int literal promotes to i64.
  EXPECT_TENSOR(MustRun("add", {t, ir::Scalar::Int(2)}), Make(DType::kI64, {4}, {2, 2, 3, 3}),
                kExact);
}

TEST(ElementwiseTest, MaximumMinimumPropagateNaN) {
  Tensor a = Make(DType::kF32, {4}, {1, kNaN, 3, -kInf});
  Tensor b = Make(DType::kF32, {4}, {kNaN, 2, 1, 0});
  EXPECT_TENSOR(MustRun("maximum", {a, b}), Make(DType::kF32, {4}, {kNaN, kNaN, 3, 0}),
                kExact);
  EXPECT_TENSOR(MustRun("minimum", {a, b}), Make(DType::kF32, {4}, {kNaN, kNaN, 1, -kInf}),
                kExact);
  EXPECT_TENSOR(MustRun("maximum", {Make(DType::kBF16, {2}, {kNaN, 1}), ir::Scalar::Float(0)}),
                Make(DType::kBF16, {2}, {kNaN, 1}), kExact);
}

TEST(ElementwiseTest, ComparisonsPromoteThenWriteBool) {
  Tensor i = Make(DType::kI32, {3}, {1, 2, 3});
  // Compared in f32 (the float literal raises the category): 2 < 2.5.
  EXPECT_TENSOR(MustRun("lt", {i, ir::Scalar::Float(2.5)}), Make(DType::kBool, {3}, {1, 1, 0}),
                kExact);
  EXPECT_TENSOR(MustRun("eq", {i, ir::Scalar::Float(2.0)}), Make(DType::kBool, {3}, {0, 1, 0}),
                kExact);
  EXPECT_TENSOR(MustRun("ge", {i, Make(DType::kF64, {1}, {2})}),
                Make(DType::kBool, {3}, {0, 1, 1}), kExact);
  // f16 compares against the literal converted to f16 (0.1 -> 0.0999755859375).
  Tensor h = Make(DType::kF16, {2}, {0.1, 0.2});
  EXPECT_TENSOR(MustRun("eq", {h, ir::Scalar::Float(0.1)}), Make(DType::kBool, {2}, {1, 0}),
                kExact);
  Tensor nan = Make(DType::kF32, {3}, {kNaN, 1, kInf});
  EXPECT_TENSOR(MustRun("ne", {nan, nan}), Make(DType::kBool, {3}, {1, 0, 0}), kExact);
  EXPECT_TENSOR(MustRun("le", {nan, ir::Scalar::Float(kInf)}),
                Make(DType::kBool, {3}, {0, 1, 1}), kExact);
  EXPECT_TENSOR(MustRun("gt", {Make(DType::kBool, {2}, {1, 0}), Make(DType::kBool, {2}, {0, 0})}),
                Make(DType::kBool, {2}, {1, 0}), kExact);
}

TEST(ElementwiseTest, LogicalOps) {
  Tensor f = Make(DType::kF32, {4}, {0, -0.0, kNaN, 2});
  EXPECT_TENSOR(MustRun("logical_not", {f}), Make(DType::kBool, {4}, {1, 1, 0, 0}), kExact);
  Tensor i = Make(DType::kI64, {4}, {0, 5, 0, -1});
  EXPECT_TENSOR(MustRun("logical_and", {f, i}), Make(DType::kBool, {4}, {0, 0, 0, 1}), kExact);
  EXPECT_TENSOR(MustRun("logical_or", {f, i}), Make(DType::kBool, {4}, {0, 1, 1, 1}), kExact);
  EXPECT_TENSOR(MustRun("logical_or", {Make(DType::kBool, {2}, {0, 0}), ir::Scalar::Int(3)}),
                Make(DType::kBool, {2}, {1, 1}), kExact);
}

TEST(ElementwiseTest, Where) {
  Tensor cond = Make(DType::kBool, {2, 1}, {1, 0});
  Tensor a = Make(DType::kI32, {3}, {1, 2, 3});
  // Broadcast cond and a; b is a float literal: the result is f32.
  Tensor w = MustRun("where", {cond, a, ir::Scalar::Float(-0.5)});
  EXPECT_TENSOR(w, Make(DType::kF32, {2, 3}, {1, 2, 3, -0.5, -0.5, -0.5}), kExact);
  Tensor x = Make(DType::kF16, {2}, {1, 2});
  EXPECT_TENSOR(MustRun("where", {Make(DType::kBool, {2}, {0, 1}), x, Make(DType::kF16, {}, {7})}),
                Make(DType::kF16, {2}, {7, 2}), kExact);
}

TEST(ElementwiseTest, Cast) {
  Tensor f = Make(DType::kF32, {6}, {2.7, -2.7, kNaN, 3e9, -0.0, 0.5});
  Tensor i = MustRun("cast", {f}, {{"dtype", DType::kI32}});
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  EXPECT_TENSOR(i, Make(DType::kI32, {6}, {2, -2, kMin, kMin, 0, 0}), kExact);
  EXPECT_TENSOR(MustRun("cast", {f}, {{"dtype", DType::kBool}}),
                Make(DType::kBool, {6}, {1, 1, 1, 1, 0, 1}), kExact);
  Tensor h = MustRun("cast", {Make(DType::kF32, {3}, {1.0 + std::ldexp(1, -11), 70000, 1e-8})},
                     {{"dtype", DType::kF16}});
  EXPECT_EQ(h.data_as<uint16_t>()[0], 0x3c00);  // tie -> even
  EXPECT_EQ(h.data_as<uint16_t>()[1], 0x7c00);  // overflow -> inf
  EXPECT_EQ(h.data_as<uint16_t>()[2], 0x0000);  // below half the smallest subnormal
  EXPECT_TENSOR(MustRun("cast", {Make(DType::kBool, {2}, {1, 0})}, {{"dtype", DType::kBF16}}),
                Make(DType::kBF16, {2}, {1, 0}), kExact);
  EXPECT_TENSOR(
      MustRun("cast", {Make(DType::kI64, {2}, {1ll << 40, -3})}, {{"dtype", DType::kF64}}),
      Make(DType::kF64, {2}, {1099511627776.0, -3}), kExact);
}

TEST(ElementwiseTest, Full) {
  EXPECT_TENSOR(MustRun("full", {}, {{"shape", ir::AttrValue::IntList({2, 2})}, {"value", 1.5}}),
                Make(DType::kF32, {2, 2}, {1.5, 1.5, 1.5, 1.5}), kExact);
  EXPECT_TENSOR(MustRun("full", {},
                        {{"shape", ir::AttrValue::IntList({3})},
                         {"value", -2.9},
                         {"dtype", DType::kI64}}),
                Make(DType::kI64, {3}, {-2, -2, -2}), kExact);
  EXPECT_TENSOR(MustRun("full", {},
                        {{"shape", ir::AttrValue::IntList({})},
                         {"value", kInf},
                         {"dtype", DType::kBF16}}),
                Make(DType::kBF16, {}, {kInf}), kExact);
}

TEST(UnaryTest, HandValues) {
  Tensor x = Make(DType::kF64, {4}, {-2, -0.5, 0.5, 1});
  const testing::Tolerance tol{1e-12, 1e-15, true};
  EXPECT_TENSOR(MustRun("neg", {x}), Make(DType::kF64, {4}, {2, 0.5, -0.5, -1}), kExact);
  EXPECT_TENSOR(MustRun("abs", {x}), Make(DType::kF64, {4}, {2, 0.5, 0.5, 1}), kExact);
  EXPECT_TENSOR(MustRun("relu", {Make(DType::kF32, {3}, {-1, kNaN, 2})}),
                Make(DType::kF32, {3}, {0, kNaN, 2}), kExact);
  EXPECT_TENSOR(MustRun("relu", {Make(DType::kI32, {2}, {-5, 5})}),
                Make(DType::kI32, {2}, {0, 5}), kExact);
  EXPECT_TENSOR(MustRun("neg", {Make(DType::kI64, {2}, {-5, 5})}),
                Make(DType::kI64, {2}, {5, -5}), kExact);
  // erf(0.5) = 0.5204998778130465, erf(1) = 0.8427007929497149.
  EXPECT_TENSOR(MustRun("erf", {x}),
                Make(DType::kF64, {4},
                     {-0.9953222650189527, -0.5204998778130465, 0.5204998778130465,
                      0.8427007929497149}),
                tol);
  // gelu(x) = x * Phi(x): Phi(1) = 0.8413447460685429, Phi(-2) = 0.0227501319481792.
  EXPECT_TENSOR(MustRun("gelu", {x}),
                Make(DType::kF64, {4},
                     {-0.04550026389635842, -0.15426876936299344, 0.34573123063700656,
                      0.8413447460685429}),
                tol);
  // gelu tanh form at 1: 0.5 * (1 + tanh(sqrt(2/pi) * 1.044715)) = 0.8411919906082768.
  EXPECT_TENSOR(MustRun("gelu", {Make(DType::kF64, {1}, {1})}, {{"approximate", "tanh"}}),
                Make(DType::kF64, {1}, {0.8411919906082768}), tol);
  // sigmoid(1) = 0.7310585786300049; silu(1) = the same; silu(-100) = -3.7e-42 -> f32 -0.
  EXPECT_TENSOR(MustRun("sigmoid", {Make(DType::kF32, {2}, {1, -1})}),
                Make(DType::kF32, {2}, {0.7310585786300049, 0.2689414213699951}), kF32);
  EXPECT_TENSOR(MustRun("silu", {Make(DType::kF32, {3}, {1, -100, 100})}),
                Make(DType::kF32, {3}, {0.7310585786300049, -3.720075976020836e-42, 100}),
                (testing::Tolerance{1e-6, 1e-40, true}));
  EXPECT_TENSOR(MustRun("sqrt", {Make(DType::kF32, {3}, {4, -1, kInf})}),
                Make(DType::kF32, {3}, {2, kNaN, kInf}), kExact);
  EXPECT_TENSOR(MustRun("rsqrt", {Make(DType::kF32, {3}, {4, 0, 0.01})}),
                Make(DType::kF32, {3}, {0.5, kInf, 10}), kF32);
  EXPECT_TENSOR(MustRun("reciprocal", {Make(DType::kF32, {3}, {4, 0, -0.0})}),
                Make(DType::kF32, {3}, {0.25, kInf, -kInf}), kExact);
  // Eigen's own vectorized exp gives ~3e-39 for these; the kernel must not.
  EXPECT_TENSOR(MustRun("exp", {Make(DType::kF32, {8}, {-kInf, -100, -90, -87.5, 0, 1, 88, kInf})}),
                Make(DType::kF32, {8},
                     {0, 3.720075976020836e-44, 8.194012623990515e-40, 9.982350930569248e-39, 1,
                      2.718281828459045, 1.6516362549940018e+38, kInf}),
                (testing::Tolerance{2e-6, 1e-45, false}));
  EXPECT_TENSOR(MustRun("exp", {Make(DType::kF64, {2}, {-kInf, -740})}),
                Make(DType::kF64, {2}, {0, 4.2e-322}), (testing::Tolerance{0, 1e-323, false}));
  EXPECT_TENSOR(MustRun("log", {Make(DType::kF32, {3}, {1, 0, -1})}),
                Make(DType::kF32, {3}, {0, -kInf, kNaN}), kExact);
  EXPECT_TENSOR(MustRun("tanh", {Make(DType::kF32, {3}, {0, 100, -100})}),
                Make(DType::kF32, {3}, {0, 1, -1}), kExact);
  // int -> float ops compute in f32.
  Tensor e = MustRun("exp", {Make(DType::kI32, {2}, {0, 1})});
  EXPECT_TENSOR(e, Make(DType::kF32, {2}, {1, 2.718281828459045}), kF32);
  EXPECT_TENSOR(MustRun("cos", {Make(DType::kBool, {2}, {0, 1})}),
                Make(DType::kF32, {2}, {1, 0.5403023058681398}), kF32);
  EXPECT_TENSOR(MustRun("sin", {Make(DType::kF16, {1}, {0.5})}),
                Make(DType::kF16, {1}, {0.479425538604203}), kExact);
}

// ---- reductions ------------------------------------------------------------------

TEST(ReductionTest, SumMeanDimsAndKeepdim) {
  Tensor x = Make(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TENSOR(MustRun("sum", {x}), Make(DType::kF32, {}, {21}), kExact);
  EXPECT_TENSOR(MustRun("sum", {x}, {{"dims", ir::AttrValue::IntList({-1})}}),
                Make(DType::kF32, {2}, {6, 15}), kExact);
  EXPECT_TENSOR(MustRun("mean", {x}, {{"dims", ir::AttrValue::IntList({0})}, {"keepdim", true}}),
                Make(DType::kF32, {1, 3}, {2.5, 3.5, 4.5}), kExact);
  // Non-adjacent dims of a [2, 3, 2] tensor: keeps dim 1.
  Tensor y = Make(DType::kF64, {2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  EXPECT_TENSOR(MustRun("sum", {y}, {{"dims", ir::AttrValue::IntList({0, 2})}}),
                Make(DType::kF64, {3}, {14, 22, 30}), kExact);
  EXPECT_TENSOR(
      MustRun("amax", {y}, {{"dims", ir::AttrValue::IntList({2, 0})}, {"keepdim", true}}),
      Make(DType::kF64, {1, 3, 1}, {7, 9, 11}), kExact);
  // Middle dim.
  EXPECT_TENSOR(MustRun("amin", {y}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kF64, {2, 2}, {0, 1, 6, 7}), kExact);
}

TEST(ReductionTest, IntegerAndBoolSumsAreI64) {
  Tensor i = Make(DType::kI32, {3}, {2147483647, 1, 1});
  EXPECT_TENSOR(MustRun("sum", {i}), Make(DType::kI64, {}, {2147483649.0}), kExact);
  Tensor b = Make(DType::kBool, {2, 2}, {1, 1, 0, 1});
  EXPECT_TENSOR(MustRun("sum", {b}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kI64, {2}, {2, 1}), kExact);
  EXPECT_TENSOR(MustRun("amax", {b}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kBool, {2}, {1, 1}), kExact);
}

TEST(ReductionTest, NaNAndEmpty) {
  Tensor x = Make(DType::kF32, {2, 2}, {1, kNaN, -kInf, 2});
  EXPECT_TENSOR(MustRun("amax", {x}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kF32, {2}, {kNaN, 2}), kExact);
  EXPECT_TENSOR(MustRun("amin", {x}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kF32, {2}, {kNaN, -kInf}), kExact);
  EXPECT_TENSOR(MustRun("sum", {x}, {{"dims", ir::AttrValue::IntList({0})}}),
                Make(DType::kF32, {2}, {-kInf, kNaN}), kExact);
  Tensor e = Tensor::Zeros(DType::kF32, {2, 0});
  EXPECT_TENSOR(MustRun("sum", {e}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kF32, {2}, {0, 0}), kExact);
  EXPECT_TENSOR(MustRun("mean", {e}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kF32, {2}, {kNaN, kNaN}), kExact);
  EXPECT_TENSOR(MustRun("sum", {e}), Make(DType::kF32, {}, {0}), kExact);
  EXPECT_EQ(MustRun("sum", {e}, {{"dims", ir::AttrValue::IntList({0})}}).num_elements(), 0);
}

TEST(ReductionTest, LongRowsTakeTheVectorizedPaths) {
  // 3 rows of 1000 (2-D path) and the same 3000 values as one full reduction
  // (1-D, multi-threaded): the max sits at the end, a NaN in row 1 only.
  Tensor x = Tensor::Zeros(DType::kF32, {3, 1000});
  for (int i = 0; i < 3000; ++i) x.SetFromDouble(i, (i % 1000) * 0.5 - 100);
  x.SetFromDouble(1000 + 321, kNaN);
  x.SetFromDouble(2000 + 5, -kInf);
  EXPECT_TENSOR(MustRun("amax", {x}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kF32, {3}, {399.5, kNaN, 399.5}), kExact);
  EXPECT_TENSOR(MustRun("amin", {x}, {{"dims", ir::AttrValue::IntList({1})}}),
                Make(DType::kF32, {3}, {-100, kNaN, -kInf}), kExact);
  EXPECT_TENSOR(MustRun("amax", {x}), Make(DType::kF32, {}, {kNaN}), kExact);
  Tensor row0 = MustRun("slice", {x}, {{"dim", int64_t{0}}, {"end", int64_t{1}}});
  EXPECT_TENSOR(MustRun("amax", {row0}), Make(DType::kF32, {}, {399.5}), kExact);
  EXPECT_TENSOR(MustRun("amin", {row0}), Make(DType::kF32, {}, {-100}), kExact);
  // sum of 0.5 * (0 + 1 + ... + 999) - 100 * 1000 = 149750.
  EXPECT_TENSOR(MustRun("sum", {row0}), Make(DType::kF32, {}, {149750}), kExact);
  EXPECT_TENSOR(MustRun("mean", {row0}), Make(DType::kF32, {}, {149.75}), kExact);
}

TEST(ReductionTest, HalfSumsAccumulateInFloat) {
  // 4096 ones in f16: a running f16 sum would stall at 2048.
  Tensor ones = Tensor::Zeros(DType::kF16, {4096});
  for (int i = 0; i < 4096; ++i) ones.SetFromDouble(i, 1);
  EXPECT_TENSOR(MustRun("sum", {ones}), Make(DType::kF16, {}, {4096}), kExact);
  Tensor bf = Tensor::Zeros(DType::kBF16, {1000});
  for (int i = 0; i < 1000; ++i) bf.SetFromDouble(i, 0.01);
  // mean of bf16(0.01) = 0.010009765625 exactly; bf16 of that is 0.010009765625.
  EXPECT_TENSOR(MustRun("mean", {bf}), Make(DType::kBF16, {}, {0.010009765625}), kExact);
}

TEST(ReductionTest, ArgmaxTiesNaNAndLowest) {
  Tensor x = Make(DType::kF32, {2, 4}, {1, 3, 3, 0, kNaN, 5, kNaN, 5});
  EXPECT_TENSOR(MustRun("argmax", {x}, {{"dim", int64_t{1}}}), Make(DType::kI64, {2}, {1, 0}),
                kExact);
  EXPECT_TENSOR(MustRun("argmax", {x}, {{"dim", int64_t{0}}, {"keepdim", true}}),
                Make(DType::kI64, {1, 4}, {1, 1, 1, 1}), kExact);
  // -inf first, then the most negative finite value: index 1, not 0.
  const double lowest = -std::numeric_limits<float>::max();
  EXPECT_TENSOR(MustRun("argmax", {Make(DType::kF32, {3}, {-kInf, lowest, -kInf})},
                        {{"dim", int64_t{-1}}}),
                Make(DType::kI64, {}, {1}), kExact);
  EXPECT_TENSOR(MustRun("argmax", {Make(DType::kF32, {3}, {-kInf, -kInf, -kInf})},
                        {{"dim", int64_t{0}}}),
                Make(DType::kI64, {}, {0}), kExact);
  const double imin = std::numeric_limits<int32_t>::min();
  EXPECT_TENSOR(MustRun("argmax", {Make(DType::kI32, {3}, {imin, imin, imin})},
                        {{"dim", int64_t{0}}}),
                Make(DType::kI64, {}, {0}), kExact);
  EXPECT_TENSOR(MustRun("argmax", {Make(DType::kI64, {}, {7})}, {{"dim", int64_t{0}}}),
                Make(DType::kI64, {}, {0}), kExact);
  // A long row with its max repeated: the first one, whatever the threads do.
  Tensor big = Tensor::Zeros(DType::kBF16, {100000});
  big.SetFromDouble(77777, 2);
  big.SetFromDouble(80000, 2);
  big.SetFromDouble(99999, 2);
  EXPECT_TENSOR(MustRun("argmax", {big}, {{"dim", int64_t{0}}}),
                Make(DType::kI64, {}, {77777}), kExact);
}

// ---- composites ----------------------------------------------------------------

TEST(CompositeTest, SoftmaxIsStableForLargeInputs) {
  // softmax([1000, 1001, 1002]) = softmax([0, 1, 2]) =
  // [0.09003057317038046, 0.24472847105479767, 0.6652409557748219].
  Tensor x = Make(DType::kF32, {2, 3}, {1000, 1001, 1002, 0, 1, 2});
  Tensor expected = Make(DType::kF32, {2, 3},
                         {0.09003057317038046, 0.24472847105479767, 0.6652409557748219,
                          0.09003057317038046, 0.24472847105479767, 0.6652409557748219});
  EXPECT_TENSOR(MustRun("softmax", {x}, {{"dim", int64_t{-1}}}), expected, kF32);
  Tensor log_expected = Make(DType::kF32, {2, 3},
                             {-2.4076059644443806, -1.4076059644443804, -0.4076059644443803,
                              -2.4076059644443806, -1.4076059644443804, -0.4076059644443803});
  EXPECT_TENSOR(MustRun("log_softmax", {x}, {{"dim", int64_t{1}}}), log_expected, kF32);
  // Along dim 0 of the transpose.
  Tensor xt = Make(DType::kF64, {3, 2}, {1000, 0, 1001, 1, 1002, 2});
  Tensor col = MustRun("softmax", {xt}, {{"dim", int64_t{0}}});
  EXPECT_NEAR(col.GetAsDouble(0), 0.09003057317038046, 1e-15);
  EXPECT_NEAR(col.GetAsDouble(5), 0.6652409557748219, 1e-15);
  // A NaN poisons its row only; -inf gets probability 0.
  Tensor n = Make(DType::kF32, {2, 2}, {kNaN, 1, -kInf, 0});
  EXPECT_TENSOR(MustRun("softmax", {n}, {{"dim", int64_t{1}}}),
                Make(DType::kF32, {2, 2}, {kNaN, kNaN, 0, 1}), kExact);
  EXPECT_TENSOR(MustRun("softmax", {Make(DType::kF16, {}, {3})}, {{"dim", int64_t{0}}}),
                Make(DType::kF16, {}, {1}), kExact);
}

TEST(CompositeTest, LayerNormAndRmsNorm) {
  // Row [1, 2, 3, 4]: mean 2.5, biased var 1.25; with eps 0 the normalized row
  // is [-1.3416407864998738, -0.4472135954999579, 0.4472135954999579, 1.3416...].
  Tensor x = Make(DType::kF64, {1, 4}, {1, 2, 3, 4});
  Tensor w = Make(DType::kF64, {4}, {1, 2, 1, 1});
  Tensor b = Make(DType::kF64, {4}, {0, 0, 0, 10});
  const testing::Tolerance tol{1e-12, 1e-14, false};
  EXPECT_TENSOR(MustRun("layer_norm", {x, w, b},
                        {{"normalized_shape", ir::AttrValue::IntList({4})}, {"eps", 0.0}}),
                Make(DType::kF64, {1, 4},
                     {-1.3416407864998738, -0.8944271909999159, 0.4472135954999579,
                      11.341640786499874}),
                tol);
  // eps inside the square root: var 1.25 + eps 0.75 = 2 -> (x - 2.5) / sqrt(2).
  EXPECT_TENSOR(MustRun("layer_norm", {x},
                        {{"normalized_shape", ir::AttrValue::IntList({1, 4})}, {"eps", 0.75}}),
                Make(DType::kF64, {1, 4},
                     {-1.0606601717798212, -0.35355339059327373, 0.35355339059327373,
                      1.0606601717798212}),
                tol);
  // rms of [1, 2, 3, 4] = sqrt(7.5); + weight.
  EXPECT_TENSOR(MustRun("rms_norm", {x, w},
                        {{"normalized_shape", ir::AttrValue::IntList({4})}, {"eps", 0.0}}),
                Make(DType::kF64, {1, 4},
                     {0.3651483716701107, 1.4605934866804429, 1.0954451150103321,
                      1.4605934866804429}),
                tol);
  // f16 input: statistics in f32, so a row of large equal values is exactly 0.
  Tensor h = Make(DType::kF16, {2, 2}, {60000, 60000, 1, 3});
  EXPECT_TENSOR(MustRun("layer_norm", {h}, {{"normalized_shape", ir::AttrValue::IntList({2})}}),
                Make(DType::kF16, {2, 2}, {0, 0, -0.999995, 0.999995}),
                (testing::Tolerance{1e-3, 1e-5, false}));
}

// ---- layout ----------------------------------------------------------------------

Tensor Iota(DType dtype, ir::Shape shape) {
  Tensor t = Tensor::Zeros(dtype, std::move(shape));
  for (int64_t i = 0; i < t.num_elements(); ++i) t.SetFromDouble(i, static_cast<double>(i));
  return t;
}

TEST(LayoutTest, ReshapeSqueezeUnsqueeze) {
  Tensor x = Iota(DType::kI64, {2, 3});
  EXPECT_TENSOR(MustRun("reshape", {x}, {{"shape", ir::AttrValue::IntList({3, -1})}}),
                Iota(DType::kI64, {3, 2}), kExact);
  EXPECT_TENSOR(MustRun("unsqueeze", {x}, {{"dim", int64_t{-1}}}), Iota(DType::kI64, {2, 3, 1}),
                kExact);
  EXPECT_TENSOR(MustRun("squeeze", {Iota(DType::kBool, {1, 1, 1})}), Iota(DType::kBool, {}),
                kExact);
}

TEST(LayoutTest, PermuteAndTranspose) {
  Tensor x = Iota(DType::kF32, {2, 3, 4});
  // out[k, i, j] = x[i, j, k] = 12 i + 4 j + k.
  Tensor p = MustRun("permute", {x}, {{"dims", ir::AttrValue::IntList({2, 0, -2})}});
  ASSERT_EQ(p.shape(), ir::Shape({4, 2, 3}));
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) {
        ASSERT_EQ(p.GetAsDouble(k * 6 + i * 3 + j), 12 * i + 4 * j + k);
      }
    }
  }
  Tensor t = MustRun("transpose", {Iota(DType::kF16, {2, 3})},
                     {{"dim0", int64_t{0}}, {"dim1", int64_t{1}}});
  EXPECT_TENSOR(t, Make(DType::kF16, {3, 2}, {0, 3, 1, 4, 2, 5}), kExact);
  // A rank-6 permutation that does not collapse to fewer than 5 dims.
  Tensor r6 = Iota(DType::kI32, {2, 3, 2, 3, 2, 3});
  Tensor q = MustRun("permute", {r6}, {{"dims", ir::AttrValue::IntList({5, 3, 1, 4, 2, 0})}});
  // out[a, b, c, d, e, f] = in[f, c, e, b, d, a]; check one element:
  // out[2, 1, 0, 1, 1, 1] = in[1, 0, 1, 1, 1, 2].
  // In strides: [108, 36, 18, 6, 3, 1]; out [3, 3, 3, 2, 2, 2] strides:
  // [72, 24, 8, 4, 2, 1].
  const int64_t in_index = 1 * 108 + 0 * 36 + 1 * 18 + 1 * 6 + 1 * 3 + 2 * 1;
  const int64_t out_index = 2 * 72 + 1 * 24 + 0 * 8 + 1 * 4 + 1 * 2 + 1;
  EXPECT_EQ(q.GetAsDouble(out_index), static_cast<double>(in_index));
}

TEST(LayoutTest, Expand) {
  Tensor x = Make(DType::kBF16, {3, 1}, {1, 2, 3});
  Tensor e = MustRun("expand", {x}, {{"shape", ir::AttrValue::IntList({2, -1, 2})}});
  EXPECT_TENSOR(e, Make(DType::kBF16, {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}), kExact);
}

TEST(LayoutTest, SliceWithStepAndClampedBounds) {
  Tensor x = Iota(DType::kF64, {2, 5});
  EXPECT_TENSOR(MustRun("slice", {x},
                        {{"dim", int64_t{1}}, {"start", int64_t{1}}, {"step", int64_t{2}}}),
                Make(DType::kF64, {2, 2}, {1, 3, 6, 8}), kExact);
  EXPECT_TENSOR(MustRun("slice", {x},
                        {{"dim", int64_t{-1}}, {"start", int64_t{-2}}, {"end", int64_t{100}}}),
                Make(DType::kF64, {2, 2}, {3, 4, 8, 9}), kExact);
  EXPECT_TENSOR(MustRun("slice", {x},
                        {{"dim", int64_t{0}}, {"start", int64_t{-100}}, {"end", int64_t{-1}}}),
                Make(DType::kF64, {1, 5}, {0, 1, 2, 3, 4}), kExact);
  EXPECT_EQ(MustRun("slice", {x}, {{"dim", int64_t{1}}, {"start", int64_t{4}}, {"end", int64_t{2}}})
                .num_elements(),
            0);
}

TEST(LayoutTest, ConcatPromotes) {
  Tensor a = Make(DType::kI32, {2, 1}, {1, 2});
  Tensor b = Make(DType::kF32, {2, 2}, {0.5, 1.5, 2.5, 3.5});
  EXPECT_TENSOR(MustRun("concat", {a, b}, {{"dim", int64_t{-1}}}),
                Make(DType::kF32, {2, 3}, {1, 0.5, 1.5, 2, 2.5, 3.5}), kExact);
  EXPECT_TENSOR(MustRun("concat", {Iota(DType::kBool, {1, 2}), Tensor::Zeros(DType::kBool, {0, 2}),
                                   Make(DType::kBool, {1, 2}, {1, 1})}),
                Make(DType::kBool, {2, 2}, {0, 1, 1, 1}), kExact);
}

// ---- matmul ------------------------------------------------------------------------

TEST(MatmulTest, TorchMatmulShapes) {
  Tensor a = Make(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Make(DType::kF32, {3, 2}, {7, 8, 9, 10, 11, 12});
  EXPECT_TENSOR(MustRun("matmul", {a, b}), Make(DType::kF32, {2, 2}, {58, 64, 139, 154}),
                kExact);
  Tensor v = Make(DType::kF32, {3}, {1, 0, -1});
  EXPECT_TENSOR(MustRun("matmul", {a, v}), Make(DType::kF32, {2}, {-2, -2}), kExact);
  EXPECT_TENSOR(MustRun("matmul", {v, b}), Make(DType::kF32, {2}, {-4, -4}), kExact);
  EXPECT_TENSOR(MustRun("matmul", {v, v}), Make(DType::kF32, {}, {2}), kExact);
  // Batch broadcast: [2, 1, 2, 2] @ [3, 2, 1] -> [2, 3, 2, 1].
  Tensor ba = Make(DType::kI64, {2, 1, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2});
  Tensor bb = Make(DType::kI64, {3, 2, 1}, {1, 2, 3, 4, 5, 6});
  EXPECT_TENSOR(MustRun("matmul", {ba, bb}),
                Make(DType::kI64, {2, 3, 2, 1}, {1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12}), kExact);
  // A shared right operand folds the batch into rows.
  Tensor x = Make(DType::kI32, {2, 1, 2}, {1, 2, 3, 4});
  Tensor w = Make(DType::kI32, {2, 2}, {1, 1, 0, 1});
  EXPECT_TENSOR(MustRun("matmul", {x, w}), Make(DType::kI32, {2, 1, 2}, {1, 3, 3, 7}), kExact);
  // K = 0: zeros.
  EXPECT_TENSOR(MustRun("matmul", {Tensor::Zeros(DType::kF64, {2, 0}),
                                   Tensor::Zeros(DType::kF64, {0, 2})}),
                Make(DType::kF64, {2, 2}, {0, 0, 0, 0}), kExact);
}

TEST(MatmulTest, HalfAccumulatesInFloat) {
  // 2048 + 1 + 1 ... : a running f16 sum would lose every 1 after 2048.
  const int k = 3000;
  Tensor a = Tensor::Zeros(DType::kF16, {1, k});
  Tensor b = Tensor::Zeros(DType::kF16, {k, 1});
  for (int i = 0; i < k; ++i) {
    a.SetFromDouble(i, 1);
    b.SetFromDouble(i, 1);
  }
  EXPECT_TENSOR(MustRun("matmul", {a, b}), Make(DType::kF16, {1, 1}, {3000}), kExact);
}

}  // namespace
}  // namespace sluice::fallback
