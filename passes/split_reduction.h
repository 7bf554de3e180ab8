// Split reductions (Inductor's split reduction): a long reduction with few
// outputs becomes two, so its first stage runs on the whole device.
//
// A GPU kernel runs each output of a reduction on its own thread block (or
// 32 outputs per block for a column reduction), so `sum(%x)` over
// f32[4096, 4096] is one block of the 132 an H100 has room for. This pass
// rewrites such a reduction over a run of dims of size R, split by G (a
// divisor of R), into
//
//   %s_split_view    = reshape(x, [.., G, R/G, ..])   rows: the run's G chunks
//                      or reshape(x, [.., R/G, G, ..]) columns: G interleaved
//   %s_split_partial = op(view, dims = the reduced dims, R/G for the run)
//                                                      [.., G, ..]: K x G values
//   %s               = op(partials, dims = G's dim)    the original type
//
// with G chosen so that the first stage has about twice the parallelism the
// backend needs to fill the device. The first stage reads the input once,
// in K x G rows; the second is a small reduction of K x G values. A layout
// ([G, R/G] or [R/G, G]) is picked so the first stage stays a row reduction
// over contiguous chunks when the innermost dim is reduced, and a column
// reduction over contiguous columns when the reduced run has kept dims
// inside it.
//
// Which reductions (everything else is left alone):
//   - sum, amax and amin whose plan decision is kLower (a fallback node, by
//     any rule, stays one node on its reference kernel; so does a node of a
//     fused pattern); mean is a sum by the time this pass runs (decompose);
//     argmax is never split (its partials would need their indices);
//   - with BackendCapabilities::split_reduction set (CUDA) and
//     LoweringOptions::split_reductions on;
//   - reducing at least min_length elements per output, into at most half
//     the backend's parallel_rows outputs (parallel_columns for a reduction
//     that keeps the innermost dim);
//   - when the largest run of consecutive reduced dims has a divisor G with
//     at least min_partial_length elements per partial and at least
//     max(4, target / 16) partials, target = 2 x parallel / outputs. A
//     length without one (a prime, twice a prime) stays whole: a remainder
//     would need masked or padded loads.
//
// Precision: an f16/bf16 sum adds its partials in f32 (a cast after the view
// feeds the first stage, the second stage's f32 total is cast back), as the
// unsplit kernel accumulates in f32; integer sums are i64 throughout; max and
// min are exact in any dtype, so their partials keep it.
//
// Producers fused into the reduction before are fused into the first stage:
// the view is a reshape, which fusion inlines as index arithmetic, so
// `sum(x * x)` stays two kernels, not a materialized x * x.
//
// Attribution: every new node carries the original's metadata, plus
// `split_from = "<reduction>"` and `decomposed_from` = the plan entry that
// governs it (the reduction's own, or its composite's, e.g. the mean it came
// from), so fusion and rule 6 treat the stages as parts of the original node;
// the last keeps the original's name. The plan entry records the split
// (NodeDecision::split: "0 (split 512)" in the table).
//
// Expects selective-lowering (its plan), decompose and cse to have run;
// runs before dce and fusion. Nodes that carry split_from are not split again.
#ifndef SLUICE_PASSES_SPLIT_REDUCTION_H_
#define SLUICE_PASSES_SPLIT_REDUCTION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/pass.h"

namespace sluice::passes {

// The metadata key naming the reduction a node was split from.
inline constexpr absl::string_view kSplitFromKey = "split_from";

// G for `reduction` (a sum, amax or amin node) under `params`: the partial
// results per output, or 0 when it stays whole (`why`, when given, says why).
// Looks at shapes only, not at the plan.
int64_t SplitFactor(const ir::Node& reduction, const SplitReductionParams& params,
                    std::string* why = nullptr);

// Splits every reduction that qualifies (see above) and records each split in
// its plan entry. Returns whether anything was split. Error when a candidate
// reduction has no entry in `plan`.
absl::StatusOr<bool> SplitReductions(ir::Graph* graph, LoweringPlan* plan,
                                     const SplitReductionParams& params);

// The pass: the plan from the context (error if selective-lowering has not
// filled it), the parameters from its capabilities; does nothing when
// options.split_reductions is off.
class SplitReductionPass : public Pass {
 public:
  explicit SplitReductionPass(PassContext* context) : context_(context) {}
  absl::string_view name() const override { return "split-reduction"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override;

 private:
  PassContext* context_;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_SPLIT_REDUCTION_H_
