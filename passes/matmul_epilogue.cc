#include "passes/matmul_epilogue.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace sluice::passes {
namespace {

using ir::Node;
using Users = absl::flat_hash_map<const Node*, std::vector<Node*>>;

bool EpilogueDType(ir::DType t) {
  return t == ir::DType::kF32 || t == ir::DType::kF16 || t == ir::DType::kBF16;
}

// The activation `n` computes, if it is one cuBLASLt has an epilogue for.
std::optional<EpilogueActivation> ActivationOf(const Node& n) {
  if (!n.is_call() || n.num_operands() != 1) return std::nullopt;
  if (n.op() == "relu") return EpilogueActivation::kRelu;
  if (n.op() == "gelu") {
    // cuBLASLt's GELU is the tanh approximation; the exact gelu is not it.
    const ir::AttrValue* v = n.attr("approximate");
    if (v != nullptr && v->is_string() && v->as_string() == "tanh") {
      return EpilogueActivation::kGeluTanh;
    }
  }
  return std::nullopt;
}

// A matmul the epilogue can follow: %b 2-D [k, n], %a [..., m, k] (a's
// batch dims are more rows of one product), one dtype.
bool EpilogueMatmul(const Node& mm) {
  if (!mm.is_call() || mm.op() != "matmul" || mm.num_operands() != 2) return false;
  const Node* a = mm.operand_node(0);
  const Node* b = mm.operand_node(1);
  if (a == nullptr || b == nullptr) return false;
  if (a->shape().rank() < 2 || b->shape().rank() != 2) return false;
  // k, n >= 2, as PyTorch's addmm requires before it takes cuBLASLt's
  // epilogue path (which, before CUDA 12.1, it also kept to dims below
  // 65535·32); m >= 2 and that bound out of caution. Degenerate, empty and
  // huge products stay on the plain GEMM path.
  const int64_t k = b->shape()[0], n = b->shape()[1];
  if (k < 2 || n < 2 || a->shape()[a->shape().rank() - 1] != k) return false;
  const int64_t m = a->shape().num_elements() / k;
  constexpr int64_t kMaxDim = int64_t{65535} * 32;
  if (m < 2 || m >= kMaxDim || n >= kMaxDim || k >= kMaxDim) return false;
  const ir::DType t = mm.dtype();
  return EpilogueDType(t) && a->dtype() == t && b->dtype() == t &&
         mm.shape().rank() == a->shape().rank();
}

// The add's operand index that is the bias, when `add` adds a per-column
// vector ([n] or [1, .., 1, n]) to `h` without changing h's shape; -1 else.
int BiasOperand(const Node& add, const Node& h) {
  if (add.op() != "add" || add.num_operands() != 2) return -1;
  if (add.operand(0).is_literal() || add.operand(1).is_literal()) return -1;
  int hi = -1;
  if (add.operand_node(0) == &h) {
    hi = 0;
  } else if (add.operand_node(1) == &h) {
    hi = 1;
  }
  if (hi < 0 || add.operand_node(1 - hi) == &h) return -1;  // add(h, h) is no bias
  const Node* bias = add.operand_node(1 - hi);
  if (add.shape() != h.shape() || add.dtype() != h.dtype() || bias->dtype() != h.dtype()) {
    return -1;
  }
  const ir::Shape& bs = bias->shape();
  const int64_t n = h.shape()[h.shape().rank() - 1];
  if (bs.rank() < 1 || bs.rank() > h.shape().rank() || bs[bs.rank() - 1] != n) return -1;
  for (int i = 0; i < bs.rank() - 1; ++i) {
    if (bs[i] != 1) return -1;
  }
  return 1 - hi;
}

// Whether `n` depends on `on` (through operands).
bool DependsOn(const Node* n, const Node* on) {
  std::vector<const Node*> stack{n};
  absl::flat_hash_set<const Node*> seen{n};
  while (!stack.empty()) {
    const Node* x = stack.back();
    stack.pop_back();
    if (x == on) return true;
    if (x->index() < on->index()) continue;  // defined before `on`: cannot read it
    for (const ir::Operand& o : x->operands()) {
      const Node* p = o.node();
      if (p != nullptr && seen.insert(p).second) stack.push_back(p);
    }
  }
  return false;
}

// The sole user of `n`, when it has exactly one and `n` is not a graph output.
const Node* SoleUser(const ir::Graph& graph, const Node& n, const Users& users) {
  if (graph.IsOutput(&n)) return nullptr;
  auto it = users.find(&n);
  if (it == users.end() || it->second.size() != 1) return nullptr;
  return it->second[0];
}

// Lowered, in no other pattern (nullptr plan: structure only).
bool Fusable(const Node& n, const LoweringPlan* plan) {
  if (plan == nullptr) return true;
  const NodeDecision* d = plan->Find(n.name());
  return d != nullptr && IsLowered(d->decision) && d->fused_pattern.empty();
}

}  // namespace

absl::string_view EpilogueActivationName(EpilogueActivation a) {
  switch (a) {
    case EpilogueActivation::kNone:
      return "none";
    case EpilogueActivation::kRelu:
      return "relu";
    case EpilogueActivation::kGeluTanh:
      return "gelu_tanh";
  }
  return "?";
}

std::string MatmulEpilogueMatch::Describe() const {
  std::string out = bias != nullptr ? "bias" : "";
  if (act != EpilogueActivation::kNone) {
    absl::StrAppend(&out, out.empty() ? "" : "+", EpilogueActivationName(act));
  }
  return out;
}

std::optional<MatmulEpilogueMatch> MatchMatmulEpilogue(const ir::Graph& graph, const Node& matmul,
                                                       const Users& users,
                                                       const LoweringPlan* plan) {
  if (!EpilogueMatmul(matmul)) return std::nullopt;
  if (plan != nullptr) {
    const NodeDecision* d = plan->Find(matmul.name());
    if (d == nullptr || d->decision != Decision::kLibrary || !d->fused_pattern.empty()) {
      return std::nullopt;
    }
  }
  MatmulEpilogueMatch m;
  m.matmul = &matmul;
  m.a = matmul.operand_node(0);
  m.b = matmul.operand_node(1);
  m.nodes = {&matmul};
  const Node* last = &matmul;
  const Node* next = SoleUser(graph, matmul, users);
  if (next != nullptr && Fusable(*next, plan)) {
    const int bi = BiasOperand(*next, matmul);
    if (bi >= 0 && !DependsOn(next->operand_node(bi), &matmul)) {
      m.bias_add = next;
      m.bias = next->operand_node(bi);
      m.nodes.push_back(next);
      last = next;
      next = SoleUser(graph, *next, users);
    }
  }
  if (next != nullptr && Fusable(*next, plan) && next->operand_node(0) == last &&
      next->dtype() == last->dtype() && next->shape() == last->shape()) {
    if (std::optional<EpilogueActivation> act = ActivationOf(*next); act.has_value()) {
      m.activation = next;
      m.act = *act;
      m.nodes.push_back(next);
    }
  }
  if (m.nodes.size() < 2) return std::nullopt;
  return m;
}

absl::StatusOr<MatmulEpilogueMatch> MatmulEpilogueFromNodes(absl::Span<const Node* const> nodes) {
  const auto bad = [&](absl::string_view why) {
    std::string names;
    for (const Node* n : nodes) absl::StrAppend(&names, names.empty() ? "%" : ", %", n->name());
    return absl::InvalidArgumentError(
        absl::StrCat("nodes [", names, "] are not a matmul epilogue chain: ", why));
  };
  if (nodes.size() < 2 || nodes.size() > 3) return bad("expected 2 or 3 nodes");
  MatmulEpilogueMatch m;
  if (!EpilogueMatmul(*nodes[0])) return bad("the first is not a 2-D-weight matmul");
  m.matmul = nodes[0];
  m.a = m.matmul->operand_node(0);
  m.b = m.matmul->operand_node(1);
  m.nodes = {m.matmul};
  size_t i = 1;
  if (const int bi = BiasOperand(*nodes[i], *m.matmul); bi >= 0) {
    m.bias_add = nodes[i];
    m.bias = nodes[i]->operand_node(bi);
    m.nodes.push_back(nodes[i]);
    ++i;
  }
  if (i < nodes.size()) {
    std::optional<EpilogueActivation> act = ActivationOf(*nodes[i]);
    if (!act.has_value() || nodes[i]->operand_node(0) != m.nodes.back() ||
        nodes[i]->shape() != m.nodes.back()->shape()) {
      return bad(absl::StrCat("%", nodes[i]->name(), " is neither a bias add nor relu/gelu(tanh)"));
    }
    m.activation = nodes[i];
    m.act = *act;
    m.nodes.push_back(nodes[i]);
    ++i;
  }
  if (i != nodes.size()) return bad("nodes left over");
  return m;
}

absl::StatusOr<int> MarkMatmulEpilogues(const ir::Graph& graph, const BackendCapabilities& caps,
                                        LoweringPlan* plan) {
  if (!caps.fused_matmul_epilogue) return 0;
  const Users users = graph.ComputeUsers();
  int fused = 0;
  for (const Node* n : graph.calls()) {
    if (n->op() != "matmul") continue;
    if (plan->Find(n->name()) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("match-matmul-epilogue: %", n->name(), " has no lowering-plan entry"));
    }
    std::optional<MatmulEpilogueMatch> m = MatchMatmulEpilogue(graph, *n, users, plan);
    if (!m.has_value()) continue;
    for (const Node* part : m->nodes) {
      NodeDecision* d = plan->FindMutable(part->name());
      d->fused_pattern = std::string(kMatmulEpiloguePattern);
      d->fused_root = m->root()->name();
    }
    VLOG(1) << "match-matmul-epilogue: %" << n->name() << " + " << m->Describe() << " -> %"
            << m->root()->name();
    ++fused;
  }
  return fused;
}

absl::StatusOr<bool> MatchMatmulEpiloguePass::Run(ir::Graph* graph) {
  if (!context_->plan.has_value()) {
    return absl::FailedPreconditionError(
        "match-matmul-epilogue needs the lowering plan: run selective-lowering first");
  }
  absl::StatusOr<int> fused =
      MarkMatmulEpilogues(*graph, context_->capabilities, &*context_->plan);
  if (!fused.ok()) return fused.status();
  return false;  // the graph is unchanged; only the plan is annotated
}

}  // namespace sluice::passes
