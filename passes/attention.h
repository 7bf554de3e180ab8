// Attention as one kernel (issue 8): recognizes softmax(Q Kᵀ · scale) V —
//
//   %kt = transpose(%k, dim0 = -2, dim1 = -1)      (any spelling of the last two dims)
//   %s  = matmul(%q, %kt)
//   %x  = div(%s, c) | mul(%s, c) | mul(c, %s)     (c a positive literal; optional)
//   %p  = softmax(%x, dim = -1)
//   %o  = matmul(%p, %v)
//
// — and, when the backend can fuse it (BackendCapabilities::fused_attention),
// marks those nodes so that decompose leaves the softmax whole and fuse puts
// all of them in one kernel step (Step::pattern = "attention"), which the
// CUDA backend emits as a flash-attention kernel: the scores never reach
// memory. PyTorch Inductor does the same by rewriting the pattern into
// scaled_dot_product_attention.
//
// Conditions (else the nodes lower as usual, unfused): every node of the
// pattern lowered by the plan (none falls back, by any rule); q, k, v and o
// all f16 or all bf16; q [B..., Sq, D], k and v [B..., Sk, D] with the same
// batch dims B... (no broadcasting), D a multiple of 32 and at most 128; the
// intermediate values (kt, s, x, p) used once each and not graph outputs.
#ifndef SLUICE_PASSES_ATTENTION_H_
#define SLUICE_PASSES_ATTENTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass.h"

namespace sluice::passes {

inline constexpr absl::string_view kAttentionPattern = "attention";

struct AttentionMatch {
  const ir::Node* q = nullptr;  // the values read (graph inputs or other steps' outputs)
  const ir::Node* k = nullptr;
  const ir::Node* v = nullptr;
  const ir::Node* out = nullptr;         // the final matmul
  std::vector<const ir::Node*> nodes;    // kt, s, [x,] p, out: topological order
  double scale = 1;                      // softmax(scale * q·k)
  int64_t batch = 1;                     // product of the batch dims
  int64_t sq = 0, sk = 0, d = 0;
};

// The match whose final matmul is `out`, structurally only (shapes, dtypes,
// single uses); the plan is not consulted. `users` from Graph::ComputeUsers.
std::optional<AttentionMatch> MatchAttention(
    const ir::Graph& graph, const ir::Node& out,
    const absl::flat_hash_map<const ir::Node*, std::vector<ir::Node*>>& users);

// Sets NodeDecision::fused_pattern = "attention" (and fused_root = the final
// matmul's name) on every node of every match whose nodes the plan lowers.
// Returns the number of matches fused. A no-op unless caps.fused_attention.
absl::StatusOr<int> MarkAttention(const ir::Graph& graph, const BackendCapabilities& caps,
                                  LoweringPlan* plan);

// The pass ("match-attention"): runs MarkAttention on the context's plan
// (error if selective-lowering has not filled it). Never changes the graph.
class MatchAttentionPass : public Pass {
 public:
  explicit MatchAttentionPass(PassContext* context) : context_(context) {}
  absl::string_view name() const override { return "match-attention"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override;

 private:
  PassContext* context_;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_ATTENTION_H_
