// Decomposition of composite and convenience ops into the primitives the code
// generators lower (Inductor's decomposition table, for sluice's op set).
//
// Decomposed, when their plan decision is lowered (kLower or kLibrary):
//   softmax(x, dim)       m = amax(x, [dim], keepdim); e = exp(x - m);
//                         e / sum(e, [dim], keepdim)
//   log_softmax(x, dim)   (x - m) - log(sum(exp(x - m), [dim], keepdim))
//   layer_norm(x, w?, b?) mean = sum(x) * 1/n; d = x - mean;
//                         var = sum(d * d) * 1/n (biased);
//                         d * rsqrt(var + eps) [* w] [+ b]
//   rms_norm(x, w?)       (x * rsqrt(sum(x * x) * 1/n + eps)) [* w]; like
//                         PyTorch, the cast back to x's dtype comes before * w
//   gelu "none"           (x * 0.5) * (1 + erf(x * 1/sqrt(2)))
//   gelu "tanh"           (x * 0.5) * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
//   silu(x)               x * sigmoid(x)
//   mean(x, dims)         sum(x, dims) * 1/n
// f16/bf16 composites compute in f32 (cast in, one cast back at the end, as
// PyTorch's kernels do); integer inputs of gelu/silu are cast to f32 first.
// A softmax/log_softmax with no elements becomes a `full` of its (empty) type,
// since amax of an empty dimension has no value.
//
// Everything else is already a primitive and left alone: unary and binary
// elementwise ops (neg abs exp log sqrt rsqrt sin cos tanh sigmoid relu erf
// reciprocal logical_not cast, add ... logical_or), where, sum amax amin
// argmax, the layout ops, matmul and full. No other op needs decomposing for
// the code generators: pow, maximum and the comparisons map to one
// expression each, and layout ops are index arithmetic.
//
// A composite whose decision is fallback is never decomposed: it runs as one
// reference kernel. Every node a composite becomes carries all of the
// composite's metadata plus `decomposed_from = "<composite name>"` and the
// composite's location; the last one keeps the composite's name, so users
// and graph outputs keep theirs. Intermediate names are `<composite>_<step>`.
//
// Expects selective-lowering to have run (its plan decides what is
// decomposed); runs before cse, dce and fusion. Leaves non-composite nodes,
// inputs and outputs untouched.
#ifndef SLUICE_PASSES_DECOMPOSE_H_
#define SLUICE_PASSES_DECOMPOSE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass.h"

namespace sluice::passes {

// True for the ops listed above as decomposed.
bool IsDecomposable(absl::string_view op);
// Those ops, sorted.
std::vector<std::string> DecomposableOps();

// Decomposes every decomposable call node that `plan` lowers (looked up with
// DecisionFor). Returns whether anything was decomposed. Error when a
// decomposable node has no plan entry.
absl::StatusOr<bool> Decompose(ir::Graph* graph, const LoweringPlan& plan);

// The pass: takes the plan from the context (error if selective-lowering has
// not filled it).
class DecomposePass : public Pass {
 public:
  explicit DecomposePass(PassContext* context) : context_(context) {}
  absl::string_view name() const override { return "decompose"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override;

 private:
  PassContext* context_;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_DECOMPOSE_H_
