// A matmul and the bias add and activation after it as one library call
// (issue 8, the MLP graph): recognizes
//
//   %h  = matmul(%a, %b)                 (%b 2-D [k, n]; %a [..., m, k])
//   %hb = add(%h, %bias) | add(%bias, %h) (%bias [n] or [1, .., 1, n]; optional)
//   %y  = relu(%hb) | gelu(%hb, approximate = "tanh")            (optional)
//
// — at least one of the add and the activation — and, when the backend can
// run it (BackendCapabilities::fused_matmul_epilogue), marks those nodes so
// that decompose leaves the gelu whole and fuse makes them one library step
// (Step::pattern = "matmul_epilogue") at the chain's last node. The CUDA
// backend runs that step as one cuBLASLt matmul with a bias/ReLU/GELU
// epilogue (runtime/cuda/cublaslt.h), so the product never goes to memory
// before the add and the activation. cuBLASLt's GELU epilogue is the tanh
// approximation, so only gelu(approximate = "tanh") is matched; the exact
// (erf) gelu stays a generated kernel after a plain matmul.
//
// Conditions (else the nodes run as before: a cuBLAS matmul, then kernels):
//   - every node of the chain lowered by the plan and in no other fused
//     pattern; the matmul a library call (Decision::kLibrary). The chain
//     stops before a node that falls back, by any rule: a marked add leaves
//     the matmul a plain call, a marked activation fuses matmul + add only;
//   - the chain stops before a value it would lose: the matmul's (or the
//     add's) result must be used once, by the next node, and not be a graph
//     output; otherwise the chain ends there and that value is the step's
//     output (e.g. hb also returned: matmul + add fused, the gelu a kernel);
//   - one dtype for a, b, the bias and every result: f32, f16 or bf16
//     (cuBLASLt's epilogues with f32 compute); m (a's rows, batch dims
//     included), n and k each in [2, 65535·32) (k, n >= 2 as PyTorch's
//     addmm requires for its cuBLASLt epilogue path; the rest caution);
//   - the bias does not depend on the matmul.
// Leaves the graph alone; only the plan is annotated.
#ifndef SLUICE_PASSES_MATMUL_EPILOGUE_H_
#define SLUICE_PASSES_MATMUL_EPILOGUE_H_

#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass.h"

namespace sluice::passes {

inline constexpr absl::string_view kMatmulEpiloguePattern = "matmul_epilogue";

// The epilogue's activation. The one enum for it in sluice: the runtime's
// device interface (runtime/device.h) and the cuBLASLt wrapper
// (runtime/cuda/cublaslt.h) take it as it is, which the layering allows
// (runtime may depend on passes; passes may not depend on runtime).
enum class EpilogueActivation { kNone, kRelu, kGeluTanh };

// "none", "relu", "gelu_tanh".
absl::string_view EpilogueActivationName(EpilogueActivation a);

struct MatmulEpilogueMatch {
  const ir::Node* matmul = nullptr;
  const ir::Node* a = nullptr;  // matmul operands (values read by the step)
  const ir::Node* b = nullptr;
  const ir::Node* bias_add = nullptr;  // null: no bias
  const ir::Node* bias = nullptr;      // the add's other operand (read by the step)
  const ir::Node* activation = nullptr;
  EpilogueActivation act = EpilogueActivation::kNone;
  std::vector<const ir::Node*> nodes;  // matmul[, add][, activation]

  const ir::Node* root() const { return nodes.back(); }
  // "bias", "gelu_tanh", "bias+relu", ...: what the epilogue computes.
  std::string Describe() const;
};

// The longest chain starting at `matmul` that the conditions above allow,
// or nullopt when that is the matmul alone (nothing to fuse). With a null
// `plan` every node counts as lowered (structure only). `users` from
// Graph::ComputeUsers.
std::optional<MatmulEpilogueMatch> MatchMatmulEpilogue(
    const ir::Graph& graph, const ir::Node& matmul,
    const absl::flat_hash_map<const ir::Node*, std::vector<ir::Node*>>& users,
    const LoweringPlan* plan);

// The match a fused step's nodes (Step::nodes of a "matmul_epilogue" step, in
// topological order) stand for, re-derived from the nodes alone, for the
// backends that run the step. InvalidArgument when they are not such a
// chain.
absl::StatusOr<MatmulEpilogueMatch> MatmulEpilogueFromNodes(
    absl::Span<const ir::Node* const> nodes);

// Sets NodeDecision::fused_pattern = "matmul_epilogue" (and fused_root = the
// chain's last node) on the nodes of every chain. Returns the number of
// chains. A no-op unless caps.fused_matmul_epilogue.
absl::StatusOr<int> MarkMatmulEpilogues(const ir::Graph& graph, const BackendCapabilities& caps,
                                        LoweringPlan* plan);

// The pass ("match-matmul-epilogue"): runs MarkMatmulEpilogues on the
// context's plan (error if selective-lowering has not filled it). Runs after
// match-attention (whose matmuls it leaves alone) and before decompose.
// Never changes the graph.
class MatchMatmulEpiloguePass : public Pass {
 public:
  explicit MatchMatmulEpiloguePass(PassContext* context) : context_(context) {}
  absl::string_view name() const override { return "match-matmul-epilogue"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override;

 private:
  PassContext* context_;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_MATMUL_EPILOGUE_H_
