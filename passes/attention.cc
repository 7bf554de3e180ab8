#include "passes/attention.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace sluice::passes {
namespace {

using ir::Node;
using Users = absl::flat_hash_map<const Node*, std::vector<Node*>>;

// The node behind operand i when it is a value used only by `user` and not
// a graph output (so fusing it away loses nothing).
const Node* SoleUseOperand(const ir::Graph& graph, const Node& user, int i, const Users& users) {
  const Node* n = user.operand_node(i);
  if (n == nullptr || !n->is_call() || graph.IsOutput(n)) return nullptr;
  auto it = users.find(n);
  if (it == users.end() || it->second.size() != 1 || it->second[0] != &user) return nullptr;
  return n;
}

int NormalizedDim(int64_t dim, int rank) { return static_cast<int>(dim < 0 ? dim + rank : dim); }

bool IsHalfType(ir::DType t) { return t == ir::DType::kF16 || t == ir::DType::kBF16; }

}  // namespace

std::optional<AttentionMatch> MatchAttention(const ir::Graph& graph, const Node& out,
                                             const Users& users) {
  if (!out.is_call() || out.op() != "matmul" || out.num_operands() != 2) return std::nullopt;
  AttentionMatch m;
  m.out = &out;
  const Node* p = SoleUseOperand(graph, out, 0, users);
  m.v = out.operand_node(1);
  if (p == nullptr || m.v == nullptr || p->op() != "softmax") return std::nullopt;
  if (NormalizedDim(p->attr_int("dim"), p->shape().rank()) != p->shape().rank() - 1) {
    return std::nullopt;
  }
  const Node* x = SoleUseOperand(graph, *p, 0, users);
  if (x == nullptr) return std::nullopt;
  const Node* s = x;
  const Node* scale_node = nullptr;
  if ((x->op() == "div" || x->op() == "mul") && x->num_operands() == 2) {
    // The literal: second for div and mul, or first for mul.
    int lit = -1;
    if (x->operand(1).is_literal()) {
      lit = 1;
    } else if (x->op() == "mul" && x->operand(0).is_literal()) {
      lit = 0;
    }
    if (lit < 0) return std::nullopt;
    const double c = x->operand(lit).literal().value;
    if (!(c > 0) || !std::isfinite(c)) return std::nullopt;
    m.scale = x->op() == "div" ? 1.0 / c : c;
    s = SoleUseOperand(graph, *x, 1 - lit, users);
    scale_node = x;
    if (s == nullptr) return std::nullopt;
  }
  if (s->op() != "matmul" || s->num_operands() != 2) return std::nullopt;
  const Node* kt = SoleUseOperand(graph, *s, 1, users);
  m.q = s->operand_node(0);
  if (kt == nullptr || m.q == nullptr || kt->op() != "transpose") return std::nullopt;
  m.k = kt->operand_node(0);
  if (m.k == nullptr) return std::nullopt;
  const int rank = m.k->shape().rank();
  if (rank < 2) return std::nullopt;
  const int d0 = NormalizedDim(kt->attr_int("dim0"), rank);
  const int d1 = NormalizedDim(kt->attr_int("dim1"), rank);
  if (!((d0 == rank - 2 && d1 == rank - 1) || (d0 == rank - 1 && d1 == rank - 2))) {
    return std::nullopt;
  }
  // Types: all f16 or all bf16, with the intermediates in the same dtype
  // (a softmax in f32 between f16 matmuls is another computation).
  const ir::DType t = out.dtype();
  if (!IsHalfType(t)) return std::nullopt;
  for (const Node* n : {m.q, m.k, m.v, kt, s, x, p}) {
    if (n->dtype() != t) return std::nullopt;
  }
  // Shapes: q [B..., Sq, D], k [B..., Sk, D], v [B..., Sk, D], same B...
  const ir::Shape& qs = m.q->shape();
  const ir::Shape& ks = m.k->shape();
  const ir::Shape& vs = m.v->shape();
  if (qs.rank() != rank || vs.rank() != rank) return std::nullopt;
  for (int i = 0; i < rank - 2; ++i) {
    if (qs[i] != ks[i] || vs[i] != ks[i]) return std::nullopt;
    m.batch *= qs[i];
  }
  m.sq = qs[rank - 2];
  m.d = qs[rank - 1];
  m.sk = ks[rank - 2];
  if (ks[rank - 1] != m.d || vs[rank - 2] != m.sk || vs[rank - 1] != m.d) return std::nullopt;
  if (m.d % 32 != 0 || m.d > 128 || m.sq == 0 || m.sk == 0 || m.batch == 0) return std::nullopt;
  if (m.batch > 65535) return std::nullopt;  // the batch is the grid's y dimension
  m.nodes = {kt, s};
  if (scale_node != nullptr) m.nodes.push_back(scale_node);
  m.nodes.push_back(p);
  m.nodes.push_back(&out);
  return m;
}

absl::StatusOr<int> MarkAttention(const ir::Graph& graph, const BackendCapabilities& caps,
                                  LoweringPlan* plan) {
  if (!caps.fused_attention) return 0;
  const Users users = graph.ComputeUsers();
  int fused = 0;
  for (const Node* n : graph.calls()) {
    std::optional<AttentionMatch> m = MatchAttention(graph, *n, users);
    if (!m.has_value()) continue;
    std::vector<NodeDecision*> entries;
    bool lowered = true;
    for (const Node* part : m->nodes) {
      NodeDecision* d = plan->FindMutable(part->name());
      if (d == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("match-attention: %", part->name(), " has no lowering-plan entry"));
      }
      lowered = lowered && IsLowered(d->decision) && d->fused_pattern.empty();
      entries.push_back(d);
    }
    if (!lowered) {
      VLOG(1) << "match-attention: %" << n->name() << " matches, but a node of it falls back";
      continue;
    }
    for (NodeDecision* d : entries) {
      d->fused_pattern = std::string(kAttentionPattern);
      d->fused_root = n->name();
    }
    ++fused;
  }
  return fused;
}

absl::StatusOr<bool> MatchAttentionPass::Run(ir::Graph* graph) {
  if (!context_->plan.has_value()) {
    return absl::FailedPreconditionError(
        "match-attention needs the lowering plan: run selective-lowering first");
  }
  absl::StatusOr<int> fused = MarkAttention(*graph, context_->capabilities, &*context_->plan);
  if (!fused.ok()) return fused.status();
  return false;  // the graph is unchanged; only the plan is annotated
}

}  // namespace sluice::passes
