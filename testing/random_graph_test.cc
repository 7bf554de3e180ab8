#include "testing/random_graph.h"

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
#include "ir/op_registry.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ir::DType;

constexpr int kSeeds = 300;

RandomGraphOptions Nodes(int n) {
  RandomGraphOptions o;
  o.num_nodes = n;
  return o;
}

ir::Graph Generate(uint64_t seed, const RandomGraphOptions& options = {}) {
  absl::StatusOr<ir::Graph> g = RandomGraph(seed, options);
  EXPECT_TRUE(g.ok()) << "seed " << seed << ": " << g.status();
  if (!g.ok()) return ir::Graph();
  return *std::move(g);
}

// Checks everything a generated graph promises about its structure.
void ExpectWellFormed(const ir::Graph& g, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed << "\n" << ir::PrintGraph(g));
  EXPECT_TRUE(ir::Verify(g).ok()) << ir::Verify(g);
  EXPECT_GE(g.outputs().size(), 1u);
  EXPECT_LE(g.outputs().size(), 3u);
  std::set<const ir::Node*> distinct(g.outputs().begin(), g.outputs().end());
  EXPECT_EQ(distinct.size(), g.outputs().size());
  for (const ir::Node* out : g.outputs()) EXPECT_TRUE(out->is_call());
  EXPECT_EQ(g.outputs()[0], g.calls().back());
  // The text form parses back to the same graph.
  const std::string text = ir::PrintGraph(g);
  absl::StatusOr<ir::Graph> reparsed = ir::ParseGraph(text);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ(ir::PrintGraph(*reparsed), text);
}

TEST(RandomGraphTest, ManySeedsVerifyAndRoundTrip) {
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    const ir::Graph g = Generate(seed);
    ExpectWellFormed(g, seed);
    EXPECT_GE(g.calls().size(), 8u);
    EXPECT_EQ(g.name(), "random_" + std::to_string(seed));
  }
}

TEST(RandomGraphTest, DeterministicPerSeed) {
  std::set<std::string> texts;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const std::string a = ir::PrintGraph(Generate(seed));
    const std::string b = ir::PrintGraph(Generate(seed));
    EXPECT_EQ(a, b) << "seed " << seed;
    texts.insert(a.substr(a.find('(')));  // without the graph's name
  }
  EXPECT_GE(texts.size(), 49u);
}

// Ops of each family, as generated.
const std::set<std::string>& FamilyOps(const std::string& family) {
  static const auto* const kOps = new absl::flat_hash_map<std::string, std::set<std::string>>{
      {"elementwise",
       {"neg", "abs", "relu", "sin", "cos", "tanh", "sigmoid", "silu", "erf", "gelu", "exp",
        "log", "sqrt", "rsqrt", "reciprocal", "logical_not", "cast", "add", "sub", "mul", "div",
        "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
        "logical_or", "where"}},
      {"reductions", {"sum", "mean", "amax", "amin", "argmax"}},
      {"composites", {"softmax", "log_softmax", "layer_norm", "rms_norm"}},
      {"layout",
       {"reshape", "permute", "transpose", "expand", "slice", "concat", "squeeze", "unsqueeze"}},
      {"matmul", {"matmul"}},
  };
  return kOps->at(family);
}

TEST(RandomGraphTest, EveryOpAppearsAcrossSeeds) {
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    const ir::Graph g = Generate(seed, Nodes(20));
    for (const ir::Node* n : g.calls()) seen.insert(n->op());
  }
  for (const char* family : {"elementwise", "reductions", "composites", "layout", "matmul"}) {
    for (const std::string& op : FamilyOps(family)) {
      EXPECT_TRUE(seen.count(op)) << op << " never generated";
    }
  }
}

TEST(RandomGraphTest, AttributeVariantsAppear) {
  bool negative_dim = false, keepdim = false, all_dims = false, literal_first = false,
       gelu_tanh = false, ln_weight_bias = false, batched_matmul = false, vector_matmul = false,
       broadcast = false, scalar_value = false;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    const ir::Graph g = Generate(seed, Nodes(20));
    for (const ir::Node* n : g.calls()) {
      for (const auto& [name, value] : n->attrs()) {
        if (value.is_int() && value.as_int() < 0 && name != "start" && name != "end") {
          negative_dim = true;
        }
        if (name == "keepdim" && value.as_bool()) keepdim = true;
        if (name == "dims" && value.as_list().empty() && n->op() != "squeeze") all_dims = true;
      }
      if ((n->op() == "sum" || n->op() == "mean") && !n->attrs().Has("dims")) all_dims = true;
      if (n->num_operands() == 2 && n->operand(0).is_literal()) literal_first = true;
      if (n->op() == "gelu" && n->attr_string("approximate") == "tanh") gelu_tanh = true;
      if (n->op() == "layer_norm" && n->num_operands() == 3) ln_weight_bias = true;
      if (n->op() == "matmul") {
        if (n->shape().rank() >= 3) batched_matmul = true;
        if (n->operand_node(1)->shape().rank() == 1) vector_matmul = true;
      }
      if (n->schema()->kind == ir::OpKind::kBinary && !n->operand(0).is_literal() &&
          !n->operand(1).is_literal() &&
          n->operand_node(0)->shape() != n->operand_node(1)->shape()) {
        broadcast = true;
      }
      if (n->shape().is_scalar()) scalar_value = true;
    }
  }
  EXPECT_TRUE(negative_dim);
  EXPECT_TRUE(keepdim);
  EXPECT_TRUE(all_dims);
  EXPECT_TRUE(literal_first);
  EXPECT_TRUE(gelu_tanh);
  EXPECT_TRUE(ln_weight_bias);
  EXPECT_TRUE(batched_matmul);
  EXPECT_TRUE(vector_matmul);
  EXPECT_TRUE(broadcast);
  EXPECT_TRUE(scalar_value);
}

TEST(RandomGraphTest, SingleFamilyOptionsStayInTheFamily) {
  struct Case {
    const char* family;
    RandomGraphOptions options;
    std::set<std::string> helpers;  // guards and rescaling the family may add
  };
  RandomGraphOptions none;
  none.elementwise = none.broadcasting = none.reductions = none.composites = none.layout =
      none.matmul = false;
  std::vector<Case> cases;
  {
    RandomGraphOptions o = none;
    o.elementwise = true;
    cases.push_back({"elementwise", o, {}});
  }
  {
    RandomGraphOptions o = none;
    o.reductions = true;
    cases.push_back({"reductions", o, {"mul"}});
  }
  {
    RandomGraphOptions o = none;
    o.composites = true;
    cases.push_back({"composites", o, {"mul"}});
  }
  {
    RandomGraphOptions o = none;
    o.layout = true;
    cases.push_back({"layout", o, {}});
  }
  {
    RandomGraphOptions o = none;
    o.matmul = true;
    cases.push_back({"matmul", o, {"mul"}});
  }
  for (const Case& c : cases) {
    std::set<std::string> seen;
    for (uint64_t seed = 0; seed < 100; ++seed) {
      const ir::Graph g = Generate(seed, c.options);
      ExpectWellFormed(g, seed);
      for (const ir::Node* n : g.calls()) {
        EXPECT_TRUE(FamilyOps(c.family).count(n->op()) || c.helpers.count(n->op()))
            << c.family << ": " << n->op() << " (seed " << seed << ")";
        seen.insert(n->op());
      }
    }
    for (const std::string& op : FamilyOps(c.family)) {
      EXPECT_TRUE(seen.count(op)) << c.family << ": " << op << " never generated";
    }
  }
  // Broadcasting alone: binary ops on differently shaped operands.
  RandomGraphOptions o = none;
  o.broadcasting = true;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const ir::Graph g = Generate(seed, o);
    ExpectWellFormed(g, seed);
    bool broadcast = false;
    for (const ir::Node* n : g.calls()) {
      const ir::OpKind kind = n->schema()->kind;
      EXPECT_TRUE(kind == ir::OpKind::kBinary || n->op() == "abs") << n->op();
      if (kind == ir::OpKind::kBinary && !n->operand(1).is_literal() &&
          n->operand_node(0)->shape() != n->operand_node(1)->shape()) {
        broadcast = true;
      }
    }
    EXPECT_TRUE(broadcast) << "seed " << seed << "\n" << ir::PrintGraph(g);
  }
}

TEST(RandomGraphTest, AllDTypesSizesAndRanks) {
  RandomGraphOptions o;
  o.dtypes = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32,
              DType::kI64, DType::kBool};
  std::set<DType> input_dtypes;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    const ir::Graph g = Generate(seed, o);
    ExpectWellFormed(g, seed);
    for (const ir::Node* in : g.inputs()) input_dtypes.insert(in->dtype());
  }
  EXPECT_EQ(input_dtypes.size(), 7u);

  RandomGraphOptions small;
  small.max_rank = 1;
  small.max_dim = 1;
  small.num_nodes = 20;
  RandomGraphOptions big;
  big.max_rank = 4;
  big.max_dim = 5;
  big.num_nodes = 40;
  RandomGraphOptions ints;
  ints.dtypes = {DType::kI32};
  for (uint64_t seed = 0; seed < 60; ++seed) {
    for (const RandomGraphOptions* opt : {&small, &big, &ints}) {
      const ir::Graph g = Generate(seed, *opt);
      ExpectWellFormed(g, seed);
      for (const ir::Node* n : g.nodes()) {
        EXPECT_LE(n->shape().num_elements(), 4096 * 2) << n->ToString();
      }
    }
  }
}

TEST(RandomGraphTest, InputsHaveAllowedDTypes) {
  RandomGraphOptions o;
  o.dtypes = {DType::kBF16, DType::kI64};
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const ir::Graph g = Generate(seed, o);
    for (const ir::Node* in : g.inputs()) {
      EXPECT_TRUE(in->dtype() == DType::kBF16 || in->dtype() == DType::kI64)
          << ir::DTypeName(in->dtype());
    }
  }
  // Without a float dtype, float-only ops get f32 inputs.
  o.dtypes = {DType::kI32};
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const ir::Graph g = Generate(seed, o);
    for (const ir::Node* in : g.inputs()) {
      EXPECT_TRUE(in->dtype() == DType::kI32 || in->dtype() == DType::kF32)
          << ir::DTypeName(in->dtype());
    }
  }
}

// Recomputes, independently of the generator, which values every correct
// implementation computes bit for bit.
bool IsExact(const ir::Node* n, absl::flat_hash_map<const ir::Node*, bool>& memo) {
  if (n->is_input()) return true;
  if (auto it = memo.find(n); it != memo.end()) return it->second;
  bool operands_exact = true;
  for (int i = 0; i < n->num_operands(); ++i) {
    if (n->operand_node(i) != nullptr) operands_exact = operands_exact && IsExact(n->operand_node(i), memo);
  }
  static const std::set<std::string> kExactOps = {
      "neg", "abs", "relu", "maximum", "minimum", "where", "cast", "logical_not", "logical_and",
      "logical_or", "eq", "ne", "lt", "le", "gt", "ge", "amax", "amin", "argmax", "reshape",
      "permute", "transpose", "expand", "slice", "concat", "squeeze", "unsqueeze"};
  bool exact = operands_exact && kExactOps.count(n->op()) > 0;
  if (operands_exact && !ir::IsFloatingPoint(n->dtype()) &&
      (n->op() == "add" || n->op() == "sub" || n->op() == "mul" || n->op() == "sum")) {
    exact = true;
  }
  if (operands_exact && n->op() == "mul" && n->operand(1).is_literal()) {
    int e;
    exact = std::frexp(n->operand(1).literal().value, &e) == 0.5;
  }
  memo[n] = exact;
  return exact;
}

bool IsGuard(const ir::Node* n) {
  // A graph input (RandomInputs draws it in range) or add(abs(x), 1.0).
  if (n->is_input()) return true;
  return n->op() == "add" && n->operand_node(0) != nullptr &&
         n->operand_node(0)->op() == "abs" && n->operand(1).is_literal() &&
         n->operand(1).literal().value == 1.0;
}

TEST(RandomGraphTest, NumericallyTouchyOpsOnlySeeSafeOperands) {
  RandomGraphOptions o;
  o.dtypes = {DType::kF32, DType::kF16, DType::kI32};
  o.num_nodes = 16;
  int checked_discontinuous = 0, checked_domain = 0;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    const ir::Graph g = Generate(seed, o);
    absl::flat_hash_map<const ir::Node*, bool> memo;
    for (const ir::Node* n : g.calls()) {
      const std::string& op = n->op();
      SCOPED_TRACE(::testing::Message() << "seed " << seed << ": " << n->ToString());
      const bool compare =
          op == "eq" || op == "ne" || op == "lt" || op == "le" || op == "gt" || op == "ge";
      const bool to_discrete = op == "cast" && !ir::IsFloatingPoint(n->dtype()) &&
                               ir::IsFloatingPoint(n->operand_node(0)->dtype());
      if (compare || op == "argmax" || to_discrete) {
        for (int i = 0; i < n->num_operands(); ++i) {
          if (n->operand_node(i) != nullptr) {
            EXPECT_TRUE(IsExact(n->operand_node(i), memo));
          }
        }
        ++checked_discontinuous;
      }
      if (op == "where") {
        EXPECT_TRUE(IsExact(n->operand_node(0), memo));
      }
      if (op == "log" || op == "sqrt" || op == "rsqrt" || op == "reciprocal" || op == "pow") {
        EXPECT_TRUE(IsGuard(n->operand_node(0)));
        ++checked_domain;
      }
      if (op == "div") {
        if (n->operand(1).is_literal()) {
          EXPECT_NE(n->operand(1).literal().value, 0);
        } else {
          EXPECT_TRUE(IsGuard(n->operand_node(1)));
        }
        ++checked_domain;
      }
    }
  }
  EXPECT_GT(checked_discontinuous, 100);
  EXPECT_GT(checked_domain, 100);
}

TEST(RandomGraphTest, InvalidOptions) {
  RandomGraphOptions o;
  o.num_nodes = 0;
  EXPECT_EQ(RandomGraph(1, o).status().code(), absl::StatusCode::kInvalidArgument);
  o = {};
  o.dtypes.clear();
  EXPECT_EQ(RandomGraph(1, o).status().code(), absl::StatusCode::kInvalidArgument);
  o = {};
  o.elementwise = o.broadcasting = o.reductions = o.composites = o.layout = o.matmul = false;
  EXPECT_THAT(RandomGraph(1, o).status().message(), HasSubstr("no op family"));
  o = {};
  o.max_dim = 0;
  EXPECT_EQ(RandomGraph(1, o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FallbackMaskTest, SizeProbabilityAndDeterminism) {
  const ir::Graph g = Generate(7, Nodes(30));
  const size_t n = g.calls().size();
  EXPECT_EQ(RandomFallbackMask(g, 1, 0.5).size(), n);
  EXPECT_EQ(RandomFallbackMask(g, 1, 0.5), RandomFallbackMask(g, 1, 0.5));
  for (uint8_t b : RandomFallbackMask(g, 1, 0.0)) EXPECT_EQ(b, 0);
  for (uint8_t b : RandomFallbackMask(g, 1, 1.0)) EXPECT_EQ(b, 1);
  int ones = 0, total = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    for (uint8_t b : RandomFallbackMask(g, seed, 0.3)) {
      ones += b;
      ++total;
    }
  }
  EXPECT_NEAR(static_cast<double>(ones) / total, 0.3, 0.03);
}

TEST(FallbackMaskTest, ApplySetsShouldFallbackOnChosenNodes) {
  ir::Graph g = Generate(3, Nodes(12));
  std::vector<uint8_t> mask = RandomFallbackMask(g, 5, 0.5);
  mask[0] = 1;
  mask[1] = 0;
  ApplyFallbackMask(g, mask);
  const std::vector<ir::Node*> calls = g.calls();
  for (size_t i = 0; i < calls.size(); ++i) {
    const ir::AttrValue* v = calls[i]->meta().Find("should_fallback");
    if (mask[i] != 0) {
      ASSERT_NE(v, nullptr) << calls[i]->ToString();
      EXPECT_TRUE(v->as_bool());
    } else {
      EXPECT_EQ(v, nullptr) << calls[i]->ToString();
    }
  }
  EXPECT_TRUE(ir::Verify(g).ok());
  EXPECT_THAT(ir::PrintGraph(g), HasSubstr("{should_fallback = true}"));
  // Inputs are never marked.
  for (const ir::Node* in : g.inputs()) EXPECT_TRUE(in->meta().empty());
}

TEST(FallbackMaskDeathTest, WrongSizeIsAProgrammingError) {
  ir::Graph g = Generate(3);
  EXPECT_DEATH(ApplyFallbackMask(g, {1}), "one byte per call node");
}

}  // namespace
}  // namespace sluice::testing
