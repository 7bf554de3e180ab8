#include "fallback/shape_util.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sluice::fallback {

BroadcastPlan CollapseBroadcast(const ir::Shape& in, const ir::Shape& out) {
  BroadcastPlan plan;
  const int offset = out.rank() - in.rank();
  // 0: none yet, 1: copy dim, 2: broadcast dim.
  int last_kind = 0;
  for (int i = 0; i < out.rank(); ++i) {
    const int64_t o = out[i];
    const int64_t n = i >= offset ? in[i - offset] : 1;
    if (o == 1) continue;  // Size-1 output dims do not affect the order.
    const int kind = n == o ? 1 : 2;
    if (kind == last_kind) {
      plan.out_dims.back() *= o;
      if (kind == 1) plan.in_dims.back() *= n;
    } else {
      plan.out_dims.push_back(o);
      plan.in_dims.push_back(kind == 1 ? n : 1);
      last_kind = kind;
    }
  }
  return plan;
}

bool PermutePlan::is_identity() const {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int>(i)) return false;
  }
  return true;
}

PermutePlan CollapsePermute(const ir::Shape& in, const std::vector<int>& perm) {
  // Drop size-1 input dims and renumber the rest.
  std::vector<int> new_index(in.rank(), -1);
  std::vector<int64_t> dims;
  for (int i = 0; i < in.rank(); ++i) {
    if (in[i] != 1) {
      new_index[i] = static_cast<int>(dims.size());
      dims.push_back(in[i]);
    }
  }
  std::vector<int> p;
  for (int d : perm) {
    if (new_index[d] >= 0) p.push_back(new_index[d]);
  }
  // Merge input dims d, d+1 that stay adjacent (in order) in the output.
  // group_of[d]: the merged group input dim d belongs to.
  std::vector<int> group_start;  // first input dim of each group, in output order
  for (size_t j = 0; j < p.size(); ++j) {
    if (j > 0 && p[j] == p[j - 1] + 1) continue;
    group_start.push_back(p[j]);
  }
  // Groups in input order give the collapsed input dims.
  std::vector<int> starts_sorted = group_start;
  std::sort(starts_sorted.begin(), starts_sorted.end());
  PermutePlan plan;
  for (size_t g = 0; g < starts_sorted.size(); ++g) {
    const int begin = starts_sorted[g];
    const int end = g + 1 < starts_sorted.size() ? starts_sorted[g + 1]
                                                 : static_cast<int>(dims.size());
    int64_t size = 1;
    for (int d = begin; d < end; ++d) size *= dims[d];
    plan.in_dims.push_back(size);
  }
  for (int start : group_start) {
    plan.perm.push_back(static_cast<int>(
        std::lower_bound(starts_sorted.begin(), starts_sorted.end(), start) -
        starts_sorted.begin()));
  }
  return plan;
}

Split3 SplitAround(const ir::Shape& shape, int begin, int end) {
  Split3 s;
  for (int i = 0; i < shape.rank(); ++i) {
    if (i < begin) {
      s.outer *= shape[i];
    } else if (i < end) {
      s.mid *= shape[i];
    } else {
      s.inner *= shape[i];
    }
  }
  return s;
}

ReducePlan PlanReduction(const ir::Shape& in, const std::vector<int>& dims) {
  ReducePlan plan;
  std::vector<bool> reduced(in.rank(), false);
  for (int d : dims) reduced[d] = true;
  // Positions (among dims of size != 1) of the first and last reduced dim,
  // and whether a kept dim sits between them.
  int first = -1, last = -1;
  bool gap = false;
  for (int i = 0; i < in.rank(); ++i) {
    if (in[i] == 1) continue;
    if (reduced[i]) {
      if (first < 0) first = i;
      last = i;
    }
  }
  for (int i = first + 1; first >= 0 && i < last; ++i) {
    if (in[i] != 1 && !reduced[i]) gap = true;
  }
  if (!gap) {
    for (int i = 0; i < in.rank(); ++i) {
      if (first >= 0 && reduced[i] && in[i] != 1) {
        plan.r *= in[i];
      } else if (first < 0 || i < first) {
        plan.a *= in[i];
      } else {
        plan.b *= in[i];
      }
    }
    return plan;
  }
  plan.needs_permute = true;
  for (int i = 0; i < in.rank(); ++i) {
    if (!reduced[i]) {
      plan.perm.push_back(i);
      plan.a *= in[i];
    }
  }
  for (int i = 0; i < in.rank(); ++i) {
    if (reduced[i]) {
      plan.perm.push_back(i);
      plan.r *= in[i];
    }
  }
  return plan;
}

absl::StatusOr<std::vector<int>> ReductionDims(const ir::Node& node) {
  const int rank = node.operand_node(0)->shape().rank();
  std::vector<int64_t> attr;
  if (const ir::AttrValue* v = node.attr("dims"); v != nullptr && v->is_int_list()) {
    attr = v->as_int_list();
  }
  std::set<int> out;
  if (attr.empty()) {
    for (int i = 0; i < rank; ++i) out.insert(i);
  }
  for (int64_t d : attr) {
    absl::StatusOr<int> n = ir::NormalizeDim(d, rank);
    if (!n.ok()) return n.status();
    if (rank > 0) out.insert(*n);
  }
  return std::vector<int>(out.begin(), out.end());
}

}  // namespace sluice::fallback
