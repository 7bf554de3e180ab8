#include "passes/split_reduction.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "ir/location.h"
#include "ir/shape.h"
#include "passes/expand.h"
#include "passes/selective_lowering.h"

namespace sluice::passes {
namespace {

using ir::AttrValue;
using ir::Node;

bool IsSplittableOp(absl::string_view op) { return op == "sum" || op == "amax" || op == "amin"; }

// How one reduction is split.
struct Split {
  std::vector<int> dims;    // the reduced dims, normalized and sorted
  int begin = 0, end = 0;   // the run of consecutive reduced dims that is split
  int64_t parts = 0;        // G
  bool parts_outer = true;  // view [G, R/G] (contiguous chunks), else [R/G, G]
};

void Explain(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

// How far `g` is from `target`, as a ratio >= 1.
double Distance(int64_t g, int64_t target) {
  return g >= target ? static_cast<double>(g) / static_cast<double>(target)
                     : static_cast<double>(target) / static_cast<double>(g);
}

// The divisor of `run` nearest `target` (ties: the larger) that leaves at
// least `min_partial` of `length` elements to each part; 0 when none does.
int64_t NearestDivisor(int64_t run, int64_t length, int64_t target, int64_t min_partial) {
  int64_t best = 0;
  auto consider = [&](int64_t g) {
    if (g < 2 || length / g < min_partial) return;
    if (best == 0 || Distance(g, target) < Distance(best, target) ||
        (Distance(g, target) == Distance(best, target) && g > best)) {
      best = g;
    }
  };
  for (int64_t i = 1; i * i <= run; ++i) {
    if (run % i != 0) continue;
    consider(i);
    consider(run / i);
  }
  return best;
}

std::optional<Split> PlanSplit(const Node& n, const SplitReductionParams& params,
                               std::string* why) {
  if (!IsSplittableOp(n.op())) {
    Explain(why, absl::StrFormat("%s is not split (only sum, amax and amin are)", n.op()));
    return std::nullopt;
  }
  if (params.parallel_rows <= 0 && params.parallel_columns <= 0) {
    Explain(why, "the backend does not split reductions");
    return std::nullopt;
  }
  const ir::Shape& in = n.operand_node(0)->shape();
  const int rank = in.rank();
  absl::StatusOr<std::vector<int>> dims = ir::ReductionDims(n.attr_ints("dims"), rank);
  if (!dims.ok() || dims->empty()) {
    Explain(why, "it reduces no dimension");
    return std::nullopt;
  }
  int64_t length = 1;
  for (int d : *dims) length *= in[d];
  if (length < params.min_length || length == 0) {
    Explain(why, absl::StrFormat("it reduces %d elements per output, fewer than %d", length,
                                 params.min_length));
    return std::nullopt;
  }
  const int64_t outputs = in.num_elements() / length;
  const bool rows = dims->back() == rank - 1;
  const int64_t parallel = rows ? params.parallel_rows : params.parallel_columns;
  const char* kind = rows ? "row" : "column";
  if (parallel <= 0 || outputs == 0) {
    Explain(why, absl::StrFormat("the backend does not split %s reductions, or this one has no "
                                 "outputs",
                                 kind));
    return std::nullopt;
  }
  if (2 * outputs > parallel) {
    Explain(why, absl::StrFormat("its %d outputs keep the device busy (%s reductions are split "
                                 "up to %d outputs)",
                                 outputs, kind, parallel / 2));
    return std::nullopt;
  }
  Split s;
  s.dims = *std::move(dims);
  // The largest run of consecutive reduced dims (the outermost of equals).
  int64_t run = 0;
  for (size_t i = 0; i < s.dims.size();) {
    size_t j = i + 1;
    while (j < s.dims.size() && s.dims[j] == s.dims[j - 1] + 1) ++j;
    int64_t size = 1;
    for (size_t k = i; k < j; ++k) size *= in[s.dims[k]];
    if (size > run) {
      run = size;
      s.begin = s.dims[i];
      s.end = s.dims[j - 1] + 1;
    }
    i = j;
  }
  const int64_t target = (2 * parallel + outputs - 1) / outputs;
  s.parts = NearestDivisor(run, length, target, params.min_partial_length);
  if (s.parts < std::max<int64_t>(4, target / 16)) {
    Explain(why, absl::StrFormat("%d (the longest run of reduced dims) has no divisor near %d "
                                 "that leaves %d or more elements per part",
                                 run, target, params.min_partial_length));
    return std::nullopt;
  }
  int64_t inner_kept = 1;
  for (int d = s.end; d < rank; ++d) {
    if (!std::binary_search(s.dims.begin(), s.dims.end(), d)) inner_kept *= in[d];
  }
  s.parts_outer = inner_kept == 1;
  return s;
}

// Emits the two stages of `s` for the reduction e.original() of `x`.
void EmitSplit(Expansion& e, const Split& s, Node* x) {
  const Node& n = e.original();
  const std::vector<int64_t>& in = n.operand_node(0)->shape().dims();
  int64_t run = 1;
  for (int d = s.begin; d < s.end; ++d) run *= in[d];
  const int64_t g = s.parts, m = run / s.parts;

  std::vector<int64_t> view(in.begin(), in.begin() + s.begin);
  const int m_pos = s.begin + (s.parts_outer ? 1 : 0);
  view.push_back(s.parts_outer ? g : m);
  view.push_back(s.parts_outer ? m : g);
  view.insert(view.end(), in.begin() + s.end, in.end());
  x = e.Emit("reshape", {x}, Expansion::Attrs({{"shape", AttrValue::IntList(view)}}), "split_view");
  if (x != nullptr && n.op() == "sum" && ComputeType(x->dtype()) != x->dtype()) {
    x = e.Emit("cast", {x}, Expansion::Attrs({{"dtype", ComputeType(x->dtype())}}), "split_upcast");
  }
  // The first stage reduces the view's dims that stand for the reduced ones,
  // R/G for the run; G lands at `slot` among its output dims.
  std::vector<int64_t> first{m_pos};
  int slot = s.begin;
  for (int d : s.dims) {
    if (d < s.begin) {
      first.push_back(d);
      --slot;
    }
    if (d >= s.end) first.push_back(d - (s.end - s.begin) + 2);
  }
  std::sort(first.begin(), first.end());
  Node* partial = e.Reduce(n.op(), x, first, /*keepdim=*/false, "split_partial");
  if (partial == nullptr) return;

  // The second stage reduces G. keepdim: from the original's shape with G at
  // the run's first dim, so it reduces to exactly that shape.
  const bool keepdim = n.attr_bool("keepdim");
  Node* in2 = partial;
  std::vector<int64_t> second{slot};
  if (keepdim) {
    std::vector<int64_t> gathered = n.shape().dims();
    gathered[s.begin] = g;
    second.assign(s.dims.begin(), s.dims.end());
    if (partial->shape().dims() != gathered) {
      in2 = e.Emit("reshape", {partial},
                   Expansion::Attrs({{"shape", AttrValue::IntList(gathered)}}), "split_gather");
    }
  }
  if (in2 == nullptr) return;
  ir::AttrDict attrs =
      Expansion::Attrs({{"dims", AttrValue::IntList(second)}, {"keepdim", keepdim}});
  if (in2->dtype() == n.dtype()) {
    e.EmitFinal(n.op(), {in2}, std::move(attrs));
    return;
  }
  Node* total = e.Emit(n.op(), {in2}, std::move(attrs), "split_total");
  e.EmitFinal("cast", {total}, Expansion::Attrs({{"dtype", n.dtype()}}));
}

}  // namespace

int64_t SplitFactor(const Node& reduction, const SplitReductionParams& params, std::string* why) {
  std::optional<Split> s = PlanSplit(reduction, params, why);
  return s.has_value() ? s->parts : 0;
}

absl::StatusOr<bool> SplitReductions(ir::Graph* graph, LoweringPlan* plan,
                                     const SplitReductionParams& params) {
  absl::flat_hash_map<const Node*, Split> splits;
  absl::flat_hash_set<const Node*> todo;
  std::vector<std::pair<std::string, int64_t>> recorded;  // plan entry, G
  for (const Node* n : graph->calls()) {
    if (!IsSplittableOp(n->op()) || n->meta().Find(kSplitFromKey) != nullptr) continue;
    const NodeDecision* d = DecisionFor(*plan, *n);
    if (d == nullptr) {
      return ir::ErrorAt(n->location(),
                         absl::StrFormat("%%%s (%s) has no entry in the lowering plan of graph "
                                         "'%s'; run selective-lowering on this graph first",
                                         n->name(), n->op(), plan->graph_name));
    }
    if (d->decision != Decision::kLower || !d->fused_pattern.empty()) continue;
    std::string why;
    std::optional<Split> s = PlanSplit(*n, params, &why);
    if (!s.has_value()) {
      VLOG(2) << "split-reduction: %" << n->name() << " stays whole: " << why;
      continue;
    }
    VLOG(2) << "split-reduction: %" << n->name() << " split by " << s->parts;
    recorded.push_back({d->node, s->parts});
    todo.insert(n);
    splits[n] = *std::move(s);
  }
  VLOG(1) << "split-reduction: " << todo.size() << " reductions split";
  if (todo.empty()) return false;

  absl::Status status = ExpandNodes(
      graph, todo, "splitting",
      [](const Node& reduction) {
        ir::AttrDict meta = reduction.meta();
        const AttrValue* from = meta.Find(kDecomposedFromKey);
        if (from == nullptr || !from->is_string()) meta.Set(kDecomposedFromKey, reduction.name());
        meta.Set(kSplitFromKey, reduction.name());
        return meta;
      },
      [&splits](Expansion& e, const std::vector<Node*>& args) {
        EmitSplit(e, splits.at(&e.original()), args[0]);
      });
  if (!status.ok()) return status;
  for (const auto& [entry, parts] : recorded) plan->FindMutable(entry)->split = parts;
  return true;
}

absl::StatusOr<bool> SplitReductionPass::Run(ir::Graph* graph) {
  if (!context_->plan.has_value()) {
    return absl::FailedPreconditionError(
        "split-reduction needs the lowering plan: run selective-lowering first");
  }
  if (!context_->options.split_reductions) return false;
  return SplitReductions(graph, &*context_->plan, context_->capabilities.split_reduction);
}

}  // namespace sluice::passes
