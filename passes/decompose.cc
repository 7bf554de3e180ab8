#include "passes/decompose.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "ir/location.h"
#include "ir/shape.h"
#include "passes/expand.h"
#include "passes/selective_lowering.h"

namespace sluice::passes {
namespace {

using ir::AttrValue;
using ir::DType;
using ir::Node;
using ir::Scalar;

constexpr const char* kDecomposable[] = {"gelu",     "layer_norm", "log_softmax", "mean",
                                         "rms_norm", "silu",       "softmax"};

// The trailing `k` dims of a rank-`rank` tensor, and their element count.
std::vector<int64_t> TrailingDims(int rank, int k) {
  std::vector<int64_t> dims;
  for (int i = rank - k; i < rank; ++i) dims.push_back(i);
  return dims;
}

int64_t CountOver(const ir::Shape& shape, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= shape[static_cast<int>(d)];
  return n;
}

// x / n as a multiplication by the literal 1/n (inf for n = 0: 0 * inf is the
// NaN torch gives for the mean of nothing).
Scalar InverseCount(int64_t n) { return Scalar::Float(1.0 / static_cast<double>(n)); }

void EmitSoftmax(Expansion& e, const Node& c, Node* x) {
  if (c.type().shape.num_elements() == 0) {
    e.EmitFinal("full", {},
                Expansion::Attrs({{"shape", AttrValue::IntList(c.shape().dims())},
                                {"value", 0.0},
                                {"dtype", c.dtype()}}));
    return;
  }
  const int rank = c.shape().rank();
  absl::StatusOr<int> dim = ir::NormalizeDim(c.attr_int("dim"), rank);
  const std::vector<int64_t> dims = {dim.ok() ? *dim : 0};  // verified: always ok
  Node* xc = e.ToCompute(x);
  Node* m = e.Reduce("amax", xc, dims, /*keepdim=*/true, "max");
  Node* shifted = e.Binary("sub", xc, m, "shifted");
  Node* ex = e.Unary("exp", shifted, "exp");
  Node* s = e.Reduce("sum", ex, dims, /*keepdim=*/true, "sum");
  if (c.op() == "softmax") {
    e.Finish("div", {ex, s}, "div");
  } else {
    Node* log_sum = e.Unary("log", s, "log_sum");
    e.Finish("sub", {shifted, log_sum}, "sub");
  }
}

void EmitLayerNorm(Expansion& e, const Node& c, Node* x, Node* weight, Node* bias) {
  const std::vector<int64_t> dims =
      TrailingDims(c.shape().rank(), static_cast<int>(c.attr_ints("normalized_shape").size()));
  const Scalar inv_n = InverseCount(CountOver(c.shape(), dims));
  Node* xc = e.ToCompute(x);
  Node* s = e.Reduce("sum", xc, dims, /*keepdim=*/true, "sum");
  Node* mean = e.Binary("mul", s, inv_n, "mean");
  Node* centered = e.Binary("sub", xc, mean, "centered");
  Node* sq = e.Binary("mul", centered, centered, "sq");
  Node* sq_sum = e.Reduce("sum", sq, dims, /*keepdim=*/true, "sq_sum");
  Node* var = e.Binary("mul", sq_sum, inv_n, "var");
  Node* var_eps = e.Binary("add", var, Scalar::Float(c.attr_float("eps")), "var_eps");
  Node* rstd = e.Unary("rsqrt", var_eps, "rstd");
  if (weight == nullptr && bias == nullptr) {
    e.Finish("mul", {centered, rstd}, "norm");
    return;
  }
  Node* y = e.Binary("mul", centered, rstd, "norm");
  if (bias == nullptr) {
    e.Finish("mul", {y, weight}, "scaled");
    return;
  }
  if (weight != nullptr) y = e.Binary("mul", y, weight, "scaled");
  e.Finish("add", {y, bias}, "shifted");
}

void EmitRmsNorm(Expansion& e, const Node& c, Node* x, Node* weight) {
  const std::vector<int64_t> dims =
      TrailingDims(c.shape().rank(), static_cast<int>(c.attr_ints("normalized_shape").size()));
  const Scalar inv_n = InverseCount(CountOver(c.shape(), dims));
  Node* xc = e.ToCompute(x);
  Node* sq = e.Binary("mul", xc, xc, "sq");
  Node* sq_sum = e.Reduce("sum", sq, dims, /*keepdim=*/true, "sq_sum");
  Node* mean_sq = e.Binary("mul", sq_sum, inv_n, "mean_sq");
  Node* mean_sq_eps = e.Binary("add", mean_sq, Scalar::Float(c.attr_float("eps")), "mean_sq_eps");
  Node* rrms = e.Unary("rsqrt", mean_sq_eps, "rrms");
  if (weight == nullptr) {
    e.Finish("mul", {xc, rrms}, "norm");
    return;
  }
  Node* y = e.Binary("mul", xc, rrms, "norm");
  if (e.compute_type() != e.out_type()) {
    y = e.Emit("cast", {y}, Expansion::Attrs({{"dtype", e.out_type()}}), "downcast");
  }
  e.EmitFinal("mul", {y, weight});
}

void EmitGelu(Expansion& e, const Node& c, Node* x) {
  Node* xc = e.ToCompute(x);
  Node* inner;
  if (c.attr_string("approximate") == "tanh") {
    const double kBeta = std::sqrt(2.0 / M_PI);
    Node* x2 = e.Binary("mul", xc, xc, "sq");
    Node* x3 = e.Binary("mul", x2, xc, "cube");
    Node* cube_term = e.Binary("mul", x3, Scalar::Float(0.044715), "cube_term");
    Node* poly = e.Binary("add", xc, cube_term, "poly");
    Node* scaled = e.Binary("mul", poly, Scalar::Float(kBeta), "scaled");
    inner = e.Unary("tanh", scaled, "tanh");
  } else {
    Node* scaled = e.Binary("mul", xc, Scalar::Float(M_SQRT1_2), "scaled");
    inner = e.Unary("erf", scaled, "erf");
  }
  Node* one_plus = e.Binary("add", inner, Scalar::Float(1.0), "one_plus");
  Node* half_x = e.Binary("mul", xc, Scalar::Float(0.5), "half_x");
  e.Finish("mul", {half_x, one_plus}, "mul");
}

void EmitSilu(Expansion& e, Node* x) {
  Node* xc = e.ToCompute(x);
  Node* sig = e.Unary("sigmoid", xc, "sigmoid");
  e.Finish("mul", {xc, sig}, "mul");
}

void EmitMean(Expansion& e, const Node& c, Node* x) {
  const std::vector<int64_t> given = c.attr_ints("dims");
  const int rank = x->shape().rank();
  std::vector<int64_t> dims;  // normalized, for counting
  if (given.empty()) {
    dims = TrailingDims(rank, rank);
  } else {
    for (int64_t d : given) {
      absl::StatusOr<int> n = ir::NormalizeDim(d, rank);
      if (n.ok() && rank > 0) dims.push_back(*n);
    }
  }
  Node* xc = e.ToCompute(x);
  Node* s = e.Emit("sum", {xc}, c.attrs(), "sum");
  e.Finish("mul", {s, InverseCount(CountOver(x->shape(), dims))}, "mul");
}

}  // namespace

bool IsDecomposable(absl::string_view op) {
  return std::find(std::begin(kDecomposable), std::end(kDecomposable), op) !=
         std::end(kDecomposable);
}

std::vector<std::string> DecomposableOps() {
  return std::vector<std::string>(std::begin(kDecomposable), std::end(kDecomposable));
}

absl::StatusOr<bool> Decompose(ir::Graph* graph, const LoweringPlan& plan) {
  absl::flat_hash_set<const Node*> todo;
  for (const Node* n : graph->calls()) {
    if (!IsDecomposable(n->op())) continue;
    const NodeDecision* d = DecisionFor(plan, *n);
    if (d == nullptr) {
      return ir::ErrorAt(n->location(),
                         absl::StrFormat("%%%s (%s) has no entry in the lowering plan of graph "
                                         "'%s'; run selective-lowering on this graph first",
                                         n->name(), n->op(), plan.graph_name));
    }
    // A node of a fused pattern (passes/attention.h) stays whole: its
    // kernel is emitted from the pattern, not from the parts.
    if (IsLowered(d->decision) && d->fused_pattern.empty()) todo.insert(n);
  }
  if (todo.empty()) return false;

  absl::Status s = ExpandNodes(
      graph, todo, "decomposing",
      [](const Node& composite) {
        ir::AttrDict meta = composite.meta();
        meta.Set(kDecomposedFromKey, composite.name());
        return meta;
      },
      [](Expansion& e, const std::vector<Node*>& args) {
        const Node& n = e.original();
        Node* arg1 = args.size() > 1 ? args[1] : nullptr;
        Node* arg2 = args.size() > 2 ? args[2] : nullptr;
        const std::string& op = n.op();
        if (op == "softmax" || op == "log_softmax") {
          EmitSoftmax(e, n, args[0]);
        } else if (op == "layer_norm") {
          EmitLayerNorm(e, n, args[0], arg1, arg2);
        } else if (op == "rms_norm") {
          EmitRmsNorm(e, n, args[0], arg1);
        } else if (op == "gelu") {
          EmitGelu(e, n, args[0]);
        } else if (op == "silu") {
          EmitSilu(e, args[0]);
        } else if (op == "mean") {
          EmitMean(e, n, args[0]);
        }
      });
  if (!s.ok()) return s;
  return true;
}

absl::StatusOr<bool> DecomposePass::Run(ir::Graph* graph) {
  if (!context_->plan.has_value()) {
    return absl::FailedPreconditionError(
        "decompose needs the lowering plan: run selective-lowering first");
  }
  return Decompose(graph, *context_->plan);
}

}  // namespace sluice::passes
