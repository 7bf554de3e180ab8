// Host-side index bookkeeping for the fallback kernels: turning a node's
// shapes and dim attributes into the few small fixed-rank problems the Eigen
// kernels are instantiated for. Broadcasts and permutes are collapsed (size-1
// dims dropped, dims that move together merged) so that a rank-8 tensor
// usually becomes a rank-1..3 problem; reductions, softmax, slices and
// concats become [outer, mid, inner] problems. Nothing here touches tensor
// data, so it is shared by the CPU and (future) GPU kernels.
#ifndef SLUICE_FALLBACK_SHAPE_UTIL_H_
#define SLUICE_FALLBACK_SHAPE_UTIL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "ir/shape.h"

namespace sluice::fallback {

// The largest rank a collapsed broadcast or permute may have; the Eigen
// data-movement kernels are instantiated for ranks 1..kMaxKernelRank.
inline constexpr int kMaxKernelRank = 8;

// A broadcast of `in` to `out` after collapsing: in_dims[i] is 1 or
// out_dims[i]. Empty when `out` has no elements or one element.
struct BroadcastPlan {
  std::vector<int64_t> in_dims;
  std::vector<int64_t> out_dims;
  // True when the broadcast is a plain copy (the element order is unchanged).
  bool is_copy() const { return in_dims == out_dims; }
};
// `in` must be broadcastable to `out` (numpy rules, right-aligned).
BroadcastPlan CollapseBroadcast(const ir::Shape& in, const ir::Shape& out);

// A permutation after collapsing: output dim j is input dim perm[j].
struct PermutePlan {
  std::vector<int64_t> in_dims;
  std::vector<int> perm;
  bool is_identity() const;
};
// perm must be a permutation of [0, in.rank()).
PermutePlan CollapsePermute(const ir::Shape& in, const std::vector<int>& perm);

// A shape viewed as [outer, mid, inner] around dims [begin, end).
struct Split3 {
  int64_t outer = 1;
  int64_t mid = 1;
  int64_t inner = 1;
};
Split3 SplitAround(const ir::Shape& shape, int begin, int end);

// How to reduce `in` over a set of dims with one [a, r, b] -> [a, b]
// reduction: directly when the reduced dims (ignoring size-1 dims) are
// contiguous, else after permuting the kept dims to the front (then b == 1).
// The kept dims stay in order, so [a, b] is laid out like the output.
struct ReducePlan {
  bool needs_permute = false;
  std::vector<int> perm;  // when needs_permute
  int64_t a = 1, r = 1, b = 1;
};
ReducePlan PlanReduction(const ir::Shape& in, const std::vector<int>& dims);

// The normalized, sorted, unique dims a reduction node reduces over
// (`dims` absent or [] means all dims), as the IR's inference reads them.
absl::StatusOr<std::vector<int>> ReductionDims(const ir::Node& node);

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_SHAPE_UTIL_H_
