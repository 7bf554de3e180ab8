// Tests for the IR: dtype promotion, inference of every op, the parser and
// printer (round trip and every error with its position), the verifier, the
// builder and graph mutation.
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/builder.h"
#include "ir/op_registry.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace sluice::ir {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DTypeTest, NamesRoundTrip) {
  for (DType d : kAllDTypes) {
    EXPECT_EQ(ParseDType(DTypeName(d)), d);
  }
  EXPECT_EQ(ParseDType("float32"), std::nullopt);
  EXPECT_EQ(DTypeSize(DType::kBF16), 2);
  EXPECT_EQ(DTypeSize(DType::kBool), 1);
}

TEST(DTypeTest, PromoteTypesMatchesTorch) {
  EXPECT_EQ(PromoteTypes(DType::kF16, DType::kBF16), DType::kF32);
  EXPECT_EQ(PromoteTypes(DType::kI32, DType::kF16), DType::kF16);
  EXPECT_EQ(PromoteTypes(DType::kI64, DType::kI32), DType::kI64);
  EXPECT_EQ(PromoteTypes(DType::kBool, DType::kI32), DType::kI32);
  EXPECT_EQ(PromoteTypes(DType::kF32, DType::kF64), DType::kF64);
  EXPECT_EQ(PromoteTypes(DType::kBF16, DType::kF32), DType::kF32);
}

TEST(DTypeTest, ResultTypeCategories) {
  {  // f16 tensor * 2.0 stays f16 (a float literal does not widen).
    ResultTypeState s;
    s.AddTensor(DType::kF16, false);
    s.AddLiteral(DType::kF64);
    EXPECT_EQ(s.Result(), DType::kF16);
  }
  {  // i32 tensor + 2.5 becomes the default float.
    ResultTypeState s;
    s.AddTensor(DType::kI32, false);
    s.AddLiteral(DType::kF64);
    EXPECT_EQ(s.Result(), DType::kF32);
  }
  {  // i32 tensor + int literal stays i32.
    ResultTypeState s;
    s.AddTensor(DType::kI32, false);
    s.AddLiteral(DType::kI64);
    EXPECT_EQ(s.Result(), DType::kI32);
  }
  {  // A 0-d f64 tensor does not widen an f32 tensor, but a 0-d float does
     // raise an int tensor's category.
    ResultTypeState s;
    s.AddTensor(DType::kF32, false);
    s.AddTensor(DType::kF64, true);
    EXPECT_EQ(s.Result(), DType::kF32);
    ResultTypeState t;
    t.AddTensor(DType::kI64, false);
    t.AddTensor(DType::kF16, true);
    EXPECT_EQ(t.Result(), DType::kF16);
  }
  {  // bool tensor + int literal: i64.
    ResultTypeState s;
    s.AddTensor(DType::kBool, false);
    s.AddLiteral(DType::kI64);
    EXPECT_EQ(s.Result(), DType::kI64);
  }
}

TEST(ShapeTest, BroadcastAndNormalize) {
  EXPECT_EQ(*BroadcastShapes(Shape{3, 1, 5}, Shape{4, 1}), (Shape{3, 4, 5}));
  EXPECT_EQ(*BroadcastShapes(Shape{}, Shape{2}), (Shape{2}));
  EXPECT_THAT(BroadcastShapes(Shape{3}, Shape{4}).status().message(),
              HasSubstr("do not broadcast"));
  EXPECT_EQ(*NormalizeDim(-1, 3), 2);
  EXPECT_FALSE(NormalizeDim(3, 3).ok());
  EXPECT_EQ(*NormalizeDim(-1, 0), 0);
  EXPECT_EQ((Shape{2, 3, 4}).Strides(), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(*ReductionDims({}, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(*ReductionDims({-1, 0}, 3), (std::vector<int>{0, 2}));
  EXPECT_TRUE(ReductionDims({}, 0)->empty());
  EXPECT_THAT(ReductionDims({1, -2}, 3).status().message(), HasSubstr("more than once"));
  EXPECT_FALSE(ReductionDims({3}, 3).ok());
}

TEST(AttributeTest, FloatsPrintSoTheyReparseExactly) {
  EXPECT_EQ(FormatDouble(2.0), "2.0");
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(1e-5), "1e-05");
  EXPECT_EQ(FormatDouble(-0.5), "-0.5");
  EXPECT_EQ(AttrValue(AttrValue::List{AttrValue(1), AttrValue("a\"b")}).ToString(),
            "[1, \"a\\\"b\"]");
}

// The parser checks every declared type against inference, so parsing this
// file checks inference for every op; the test also checks that every
// registered op appears, so a new op without a test fails here.
TEST(ParserTest, AllOpsParseWithDeclaredTypesAndRoundTrip) {
  const std::string text = ReadFile("ir/testdata/all_ops.graph");
  ASSERT_FALSE(text.empty());
  absl::StatusOr<std::vector<Graph>> graphs = ParseModule(text, "all_ops.graph");
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  std::set<std::string> seen;
  for (const Graph& g : *graphs) {
    for (const Node* n : g.calls()) seen.insert(n->op());
  }
  for (const std::string& op : OpRegistry::Global().Names()) {
    EXPECT_TRUE(seen.count(op)) << "op '" << op << "' has no case in all_ops.graph";
  }
  const std::string printed = PrintModule(*graphs);
  absl::StatusOr<std::vector<Graph>> again = ParseModule(printed, "printed");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(PrintModule(*again), printed);
}

TEST(ParserTest, SeedGraphPrintsInferredTypesAndMetadata) {
  absl::StatusOr<Graph> g = ParseGraph(R"(
# comment
graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y) {should_fallback = true}
  %b = mul(%a, 2.0)   // trailing comment
  return %b
})");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(PrintGraph(*g),
            "graph foo(%x: f32[10], %y: f32[10]) {\n"
            "  %a: f32[10] = add(%x, %y) {should_fallback = true}\n"
            "  %b: f32[10] = mul(%a, 2.0)\n"
            "  return %b\n"
            "}\n");
  const Node* a = g->FindNode("a");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(a->meta().Find("should_fallback"), nullptr);
  EXPECT_TRUE(a->meta().Find("should_fallback")->as_bool());
  EXPECT_EQ(a->location().line, 4);
  EXPECT_EQ(a->location().col, 8);
  const Node* b = g->FindNode("b");
  ASSERT_TRUE(b->operand(1).is_literal());
  EXPECT_FALSE(b->operand(1).literal().is_int);
}

TEST(ParserTest, LiteralsAttributesAndMetadataRoundTrip) {
  const std::string text =
      "graph g(%x: i64[3]) {\n"
      "  %a: i64[3] = add(%x, -7)\n"
      "  %b: f32[3] = mul(%a, 1e+20)\n"
      "  %c: f32[3] = add(%b, inf) {loc = \"m.py:3\", tags = [1, -2.5, \"q\", true, bf16], "
      "should_fallback = false}\n"
      "  %d: f32[3] = maximum(%c, nan)\n"
      "  return %d, %x\n"
      "}\n";
  absl::StatusOr<Graph> g = ParseGraph(text);
  ASSERT_TRUE(g.ok()) << g.status();
  const std::string printed = PrintGraph(*g);
  EXPECT_THAT(printed, HasSubstr("add(%x, -7)"));
  EXPECT_THAT(printed, HasSubstr("mul(%a, 1e+20)"));
  EXPECT_THAT(printed, HasSubstr("{loc = \"m.py:3\", tags = [1, -2.5, \"q\", true, bf16], "
                                 "should_fallback = false}"));
  absl::StatusOr<Graph> again = ParseGraph(printed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(PrintGraph(*again), printed);
}

TEST(ParserTest, AttributeDefaultsAreVisibleThroughNodeAttr) {
  absl::StatusOr<Graph> g = ParseGraph(
      "graph g(%x: f32[4, 4]) { %s = sum(%x, dims = [1]) %n = layer_norm(%x, normalized_shape = [4]) return %s, %n }");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->FindNode("s")->attr_bool("keepdim"));
  EXPECT_DOUBLE_EQ(g->FindNode("n")->attr_float("eps"), 1e-5);
  EXPECT_EQ(g->FindNode("s")->attrs().size(), 1u);  // defaults are not materialized
}

TEST(ParserTest, MultipleGraphsAndParseGraphRejectsTwo) {
  const std::string two = "graph a(%x: f32[]) { return %x }\ngraph b(%x: f32[]) { return %x }\n";
  absl::StatusOr<std::vector<Graph>> m = ParseModule(two);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->size(), 2u);
  absl::StatusOr<Graph> one = ParseGraph(two, "two.graph");
  ASSERT_FALSE(one.ok());
  EXPECT_THAT(one.status().message(), HasSubstr("two.graph:2:1: error: expected exactly one graph"));
}

// pow follows torch on bools: an error only when the promoted dtype is bool
// (torch: "pow" not implemented for 'Bool'); a bool base or exponent with a
// number or a non-bool tensor promotes as in any other arithmetic op.
TEST(TypeInferenceTest, PowOfBoolsIsAnErrorButBoolOperandsPromote) {
  absl::StatusOr<Graph> g = ParseGraph(
      "graph g(%b: bool[3], %i: i32[3], %f: f32[3]) {\n"
      "  %bi = pow(%b, 2)\n"
      "  %bf = pow(%b, 2.5)\n"
      "  %ib = pow(2, %b)\n"
      "  %bt = pow(%b, %i)\n"
      "  %tb = pow(%i, %b)\n"
      "  %ft = pow(%f, %b)\n"
      "  return %bi, %bf, %ib, %bt, %tb, %ft\n"
      "}\n");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->FindNode("bi")->dtype(), DType::kI64);
  EXPECT_EQ(g->FindNode("bf")->dtype(), DType::kF32);
  EXPECT_EQ(g->FindNode("ib")->dtype(), DType::kI64);
  EXPECT_EQ(g->FindNode("bt")->dtype(), DType::kI32);
  EXPECT_EQ(g->FindNode("tb")->dtype(), DType::kI32);
  EXPECT_EQ(g->FindNode("ft")->dtype(), DType::kF32);
  // A 0-d bool does not rescue it (torch: the same error).
  absl::StatusOr<Graph> scalar =
      ParseGraph("graph g(%b: bool[3], %s: bool[]) {\n  %p = pow(%s, %b)\n  return %p\n}\n",
                 "s.graph");
  ASSERT_FALSE(scalar.ok());
  EXPECT_THAT(std::string(scalar.status().message()),
              StartsWith("s.graph:2:8: error: pow: pow is not defined for bool\n"));
}

struct BadInput {
  std::string name;
  std::string text;
  std::string message;  // expected "file:line:col: error: ..." prefix
};

class ParserErrorTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(ParserErrorTest, ReportsLocatedError) {
  const BadInput& c = GetParam();
  absl::StatusOr<std::vector<Graph>> g = ParseModule(c.text, "bad.graph");
  ASSERT_FALSE(g.ok()) << "accepted:\n" << c.text;
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(g.status().message());
  EXPECT_EQ(msg.substr(0, msg.find('\n')), c.message);
  // Source line and caret follow.
  EXPECT_THAT(msg, HasSubstr("\n"));
  EXPECT_THAT(msg, HasSubstr("^"));
}

const char kHead[] = "graph g(%x: f32[2, 3], %y: f32[3]) {\n";

INSTANTIATE_TEST_SUITE_P(
    AllErrors, ParserErrorTest,
    ::testing::Values(
        BadInput{"empty", "  \n", "bad.graph:2:1: error: expected 'graph', got end of input"},
        BadInput{"not_graph", "grph g() {}", "bad.graph:1:1: error: expected 'graph', got 'grph'"},
        BadInput{"no_name", "graph (", "bad.graph:1:7: error: expected a graph name, got '('"},
        BadInput{"bad_param", "graph g(x: f32[1]) {}",
                 "bad.graph:1:9: error: expected a parameter (%name: type), got 'x'"},
        BadInput{"unknown_dtype", "graph g(%x: f31[1]) {}",
                 "bad.graph:1:13: error: unknown dtype 'f31' (expected f32, f16, bf16, f64, i32, "
                 "i64 or bool)"},
        BadInput{"negative_dim", "graph g(%x: f32[-1]) {}",
                 "bad.graph:1:17: error: dimension sizes must not be negative"},
        BadInput{"unclosed_dims", "graph g(%x: f32[1 2]) {}",
                 "bad.graph:1:19: error: expected ',' or ']', got '2'"},
        BadInput{"duplicate_param", "graph g(%x: f32[1], %x: f32[1]) {}",
                 "bad.graph:1:21: error: duplicate name '%x'"},
        BadInput{"missing_return", std::string(kHead) + "  %a = neg(%x)\n}\n",
                 "bad.graph:3:1: error: missing 'return' at the end of the graph"},
        BadInput{"unknown_op", std::string(kHead) + "  %a = frobnicate(%x)\n  return %a\n}\n",
                 "bad.graph:2:8: error: unknown op 'frobnicate'"},
        BadInput{"undefined_operand", std::string(kHead) + "  %a = neg(%z)\n  return %a\n}\n",
                 "bad.graph:2:12: error: use of undefined value '%z'"},
        BadInput{"use_before_def",
                 std::string(kHead) + "  %a = neg(%b)\n  %b = neg(%x)\n  return %a\n}\n",
                 "bad.graph:2:12: error: use of undefined value '%b'"},
        BadInput{"duplicate_value",
                 std::string(kHead) + "  %a = neg(%x)\n  %a = neg(%x)\n  return %a\n}\n",
                 "bad.graph:3:3: error: duplicate name '%a'"},
        BadInput{"redefine_input", std::string(kHead) + "  %x = neg(%x)\n  return %x\n}\n",
                 "bad.graph:2:3: error: duplicate name '%x'"},
        BadInput{"return_undefined", std::string(kHead) + "  return %nope\n}\n",
                 "bad.graph:2:10: error: return of undefined value '%nope'"},
        BadInput{"empty_return", std::string(kHead) + "  return\n}\n",
                 "bad.graph:3:1: error: expected a returned value (%name), got '}'"},
        BadInput{"wrong_operand_count", std::string(kHead) + "  %a = add(%x)\n  return %a\n}\n",
                 "bad.graph:2:8: error: add: expected 2 operands, got 1"},
        BadInput{"too_many_operands",
                 std::string(kHead) + "  %a = neg(%x, %x)\n  return %a\n}\n",
                 "bad.graph:2:8: error: neg: expected 1 operand, got 2"},
        BadInput{"missing_attr", std::string(kHead) + "  %a = softmax(%x)\n  return %a\n}\n",
                 "bad.graph:2:8: error: softmax: missing required attribute 'dim' (int)"},
        BadInput{"mistyped_attr",
                 std::string(kHead) + "  %a = softmax(%x, dim = 1.5)\n  return %a\n}\n",
                 "bad.graph:2:8: error: softmax: attribute 'dim' must be a int, got 1.5"},
        BadInput{"unknown_attr",
                 std::string(kHead) + "  %a = softmax(%x, dim = 1, axis = 0)\n  return %a\n}\n",
                 "bad.graph:2:8: error: softmax: unknown attribute 'axis' (expected one of: dim)"},
        BadInput{"bad_choice",
                 std::string(kHead) + "  %a = gelu(%x, approximate = \"fast\")\n  return %a\n}\n",
                 "bad.graph:2:8: error: gelu: attribute 'approximate' must be one of \"none\", "
                 "\"tanh\", got \"fast\""},
        BadInput{"duplicate_attr",
                 std::string(kHead) + "  %a = softmax(%x, dim = 1, dim = 0)\n  return %a\n}\n",
                 "bad.graph:2:29: error: duplicate attribute 'dim'"},
        BadInput{"operand_after_attr",
                 std::string(kHead) + "  %a = concat(%x, dim = 0, %x)\n  return %a\n}\n",
                 "bad.graph:2:28: error: operands must come before attributes"},
        BadInput{"shape_mismatch",
                 "graph g(%x: f32[2, 3], %y: f32[4]) {\n  %a = add(%x, %y)\n  return %a\n}\n",
                 "bad.graph:2:8: error: add: shapes [2, 3] and [4] do not broadcast (dim 1: 3 vs "
                 "4)"},
        BadInput{"dtype_mismatch",
                 "graph g(%x: f32[3], %y: i32[3]) {\n  %a = where(%x, %y, %y)\n  return %a\n}\n",
                 "bad.graph:2:8: error: where: condition (operand 0) must be bool, got f32"},
        BadInput{"pow_bool",
                 "graph g(%x: bool[3], %y: bool[3]) {\n  %a = pow(%x, %y)\n  return %a\n}\n",
                 "bad.graph:2:8: error: pow: pow is not defined for bool"},
        BadInput{"sub_bool",
                 "graph g(%x: bool[3], %y: bool[]) {\n  %a = sub(%y, %x)\n  return %a\n}\n",
                 "bad.graph:2:8: error: sub: sub is not defined for bool; use logical ops"},
        BadInput{"matmul_dtypes",
                 "graph g(%x: f32[3, 3], %y: f16[3, 3]) {\n  %a = matmul(%x, %y)\n  return %a\n}\n",
                 "bad.graph:2:8: error: matmul: operands must have the same dtype, got f32 and f16"},
        BadInput{"declared_type_mismatch",
                 std::string(kHead) + "  %a: f32[3] = neg(%x)\n  return %a\n}\n",
                 "bad.graph:2:16: error: declared type f32[3] of '%a' does not match the inferred "
                 "type f32[2, 3]"},
        BadInput{"dim_out_of_range",
                 std::string(kHead) + "  %a = softmax(%x, dim = 2)\n  return %a\n}\n",
                 "bad.graph:2:8: error: softmax: dim 2 is out of range for rank 2 (expected [-2, "
                 "1])"},
        BadInput{"bad_reshape",
                 std::string(kHead) + "  %a = reshape(%x, shape = [4, -1])\n  return %a\n}\n",
                 "bad.graph:2:8: error: reshape: shape [4, -1] is invalid for input of size 6"},
        BadInput{"literal_not_allowed", std::string(kHead) + "  %a = neg(2.0)\n  return %a\n}\n",
                 "bad.graph:2:8: error: neg: operand 0 is a scalar literal; this op takes only "
                 "values"},
        BadInput{"only_literals", std::string(kHead) + "  %a = add(1, 2)\n  return %a\n}\n",
                 "bad.graph:2:8: error: add: at least one operand must be a value, not a literal"},
        BadInput{"unterminated_string",
                 std::string(kHead) + "  %a = neg(%x) {k = \"abc\n  return %a\n}\n",
                 "bad.graph:2:21: error: unterminated string"},
        BadInput{"bad_char", std::string(kHead) + "  %a = neg(%x) @\n  return %a\n}\n",
                 "bad.graph:2:16: error: unexpected character '@'"},
        BadInput{"bad_number", std::string(kHead) + "  %a = add(%x, 1.5e)\n  return %a\n}\n",
                 "bad.graph:2:16: error: expected digits in the exponent"},
        BadInput{"int_overflow",
                 std::string(kHead) + "  %a = add(%x, 99999999999999999999)\n  return %a\n}\n",
                 "bad.graph:2:16: error: integer 99999999999999999999 does not fit in 64 bits"},
        BadInput{"meta_without_value",
                 std::string(kHead) + "  %a = neg(%x) {should_fallback}\n  return %a\n}\n",
                 "bad.graph:2:32: error: expected '=' after the metadata key, got '}'"},
        BadInput{"duplicate_meta",
                 std::string(kHead) + "  %a = neg(%x) {k = 1, k = 2}\n  return %a\n}\n",
                 "bad.graph:2:24: error: duplicate metadata key 'k'"},
        BadInput{"bad_attr_value",
                 std::string(kHead) + "  %a = softmax(%x, dim = last)\n  return %a\n}\n",
                 "bad.graph:2:26: error: expected an attribute value (number, true, false, "
                 "string, dtype or list), got 'last'"},
        BadInput{"missing_paren", std::string(kHead) + "  %a = neg %x\n  return %a\n}\n",
                 "bad.graph:2:12: error: expected '(' after the op name, got '%x'"},
        BadInput{"trailing_junk", "graph g(%x: f32[]) { return %x }\n}",
                 "bad.graph:2:1: error: expected 'graph', got '}'"},
        BadInput{"nested_lists_too_deep",
                 std::string(kHead) + "  %a = neg(%x) {k = " + std::string(40, '[') +
                     std::string(40, ']') + "}\n  return %a\n}\n",
                 "bad.graph:2:53: error: lists are nested too deeply"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

TEST(ParserTest, NeverCrashesOnTruncationsOfAValidGraph) {
  const std::string text = ReadFile("ir/testdata/all_ops.graph");
  ASSERT_FALSE(text.empty());
  int failures = 0;
  for (size_t len = 0; len < text.size(); len += 7) {
    absl::StatusOr<std::vector<Graph>> g = ParseModule(text.substr(0, len), "cut.graph");
    if (!g.ok()) {
      ++failures;
      EXPECT_THAT(g.status().message(), HasSubstr("cut.graph:"));
    }
  }
  EXPECT_GT(failures, 0);
}

TEST(ParserTest, ParseFileNamesMissingFile) {
  absl::StatusOr<std::vector<Graph>> g = ParseFile("/nonexistent/x.graph");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("/nonexistent/x.graph: error: cannot open file"));
}

TEST(BuilderTest, BuildsTheSeedGraph) {
  GraphBuilder b("foo");
  Node* x = b.Input("x", {DType::kF32, {10}});
  Node* y = b.Input("y", {DType::kF32, {10}});
  Node* a = b.Call("add", {x, y}, {}, {{"should_fallback", true}}, "a");
  Node* m = b.Call("mul", {a, Scalar::Float(2.0)}, {}, {}, "b");
  b.Return({m});
  absl::StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(PrintGraph(*g),
            "graph foo(%x: f32[10], %y: f32[10]) {\n"
            "  %a: f32[10] = add(%x, %y) {should_fallback = true}\n"
            "  %b: f32[10] = mul(%a, 2.0)\n"
            "  return %b\n"
            "}\n");
}

TEST(BuilderTest, FirstErrorSticksAndLaterCallsAreNoOps) {
  GraphBuilder b;
  Node* x = b.Input("x", {DType::kF32, {2}});
  Node* bad = b.Call("softmax", {x});  // missing dim
  EXPECT_EQ(bad, nullptr);
  Node* later = b.Call("neg", {x});
  EXPECT_EQ(later, nullptr);
  b.Return({x});
  absl::StatusOr<Graph> g = b.Build();
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("missing required attribute 'dim'"));
}

TEST(BuilderTest, BuildWithoutReturnFails) {
  GraphBuilder b;
  b.Input("x", {DType::kF32, {2}});
  absl::StatusOr<Graph> g = b.Build();
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("no return"));
}

TEST(BuilderTest, NullOperandIsAnErrorNotALiteral) {
  GraphBuilder b;
  Node* x = b.Input("x", {DType::kF32, {2}});
  Node* n = b.Call("add", {x, static_cast<Node*>(nullptr)});
  EXPECT_EQ(n, nullptr);
  b.Return({x});
  absl::StatusOr<Graph> g = b.Build();
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("an operand is null"));
}

TEST(ParserTest, InfAndNanAreNumbersOnlyWhereNumbersGo) {
  absl::StatusOr<Graph> g = ParseGraph(
      "graph nan(%inf: f32[2]) { %a = add(%inf, inf) {inf = nan} %b = maximum(%a, -inf) return %b }");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->name(), "nan");
  EXPECT_TRUE(std::isinf(g->FindNode("a")->operand(1).literal().value));
  EXPECT_TRUE(std::isnan(g->FindNode("a")->meta().Find("inf")->as_float()));
  absl::StatusOr<Graph> again = ParseGraph(PrintGraph(*g));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(PrintGraph(*again), PrintGraph(*g));
}

TEST(GraphTest, FreshNamesAvoidCollisions) {
  GraphBuilder b;
  Node* x = b.Input("t0", {DType::kF32, {2}});
  Node* n = b.Call("neg", {x});
  ASSERT_NE(n, nullptr);
  EXPECT_NE(n->name(), "t0");
}

TEST(GraphTest, CloneIsDeepAndIdentical) {
  absl::StatusOr<Graph> g = ParseGraph(
      "graph g(%x: f32[4]) { %a = neg(%x) {k = 1} %b = add(%a, %x) return %b, %a }");
  ASSERT_TRUE(g.ok()) << g.status();
  Graph c = g->Clone();
  EXPECT_EQ(PrintGraph(c), PrintGraph(*g));
  c.FindNode("a")->mutable_meta().Set("k", 2);
  EXPECT_EQ(g->FindNode("a")->meta().Find("k")->as_int(), 1);
  EXPECT_EQ(c.FindNode("b")->operand_node(0), c.FindNode("a"));
  EXPECT_TRUE(Verify(c).ok());
}

TEST(GraphTest, ReplaceAllUsesAndRemove) {
  absl::StatusOr<Graph> g = ParseGraph(
      "graph g(%x: f32[4]) { %a = neg(%x) %b = abs(%x) %c = add(%a, %a) return %c, %a }");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->RemoveCalls([](const Node* n) { return n->name() == "a"; }).ok());
  g->ReplaceAllUsesWith(g->FindNode("a"), g->FindNode("b"));
  ASSERT_TRUE(g->RemoveCalls([](const Node* n) { return n->name() == "a"; }).ok());
  EXPECT_EQ(PrintGraph(*g),
            "graph g(%x: f32[4]) {\n"
            "  %b: f32[4] = abs(%x)\n"
            "  %c: f32[4] = add(%b, %b)\n"
            "  return %c, %b\n"
            "}\n");
  EXPECT_EQ(g->FindNode("c")->index(), 2);
  auto users = g->ComputeUsers();
  EXPECT_EQ(users[g->FindNode("b")].size(), 2u);
}

TEST(VerifierTest, CatchesTypeMismatchAfterABadRewrite) {
  absl::StatusOr<Graph> g = ParseGraph(
      "graph g(%x: f32[4], %y: f32[2]) {\n  %a = neg(%x)\n  %b = exp(%a)\n  return %b\n}",
      "v.graph");
  ASSERT_TRUE(g.ok()) << g.status();
  g->ReplaceAllUsesWith(g->FindNode("a"), g->FindNode("y"));
  absl::Status s = Verify(*g);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("v.graph:3:8: error: '%b' (exp) has type f32[4] but its "
                                     "operands give f32[2]"));
}

TEST(VerifierTest, CatchesUseBeforeDefinitionAfterABadRewrite) {
  absl::StatusOr<Graph> g = ParseGraph(
      "graph g(%x: f32[4]) {\n  %a = neg(%x)\n  %b = exp(%x)\n  return %a, %b\n}", "v.graph");
  ASSERT_TRUE(g.ok()) << g.status();
  g->ReplaceAllUsesWith(g->FindNode("x"), g->FindNode("b"));
  absl::Status s = Verify(*g);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("v.graph:2:8: error: '%a': operand 0 ('%b') is used before "
                                     "it is defined"));
}

TEST(VerifierTest, GraphWithoutOutputs) {
  Graph g("empty");
  ASSERT_TRUE(g.AddInput("x", {DType::kF32, {1}}).ok());
  absl::Status s = Verify(g);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("graph 'empty' has no return value"));
}

}  // namespace
}  // namespace sluice::ir
