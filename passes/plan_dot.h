// Renders a graph with its lowering plan as Graphviz DOT, so a user sees
// where fallback boundaries cut the graph (`dot -Tsvg plan.dot`):
//   - each kernel (a plan entry's `kernel` id, once fusion has set it) is a
//     `subgraph cluster_k<N>` holding its nodes;
//   - fallback nodes are filled red and their label names the rule that made
//     them fall back; lowered nodes are white, library calls blue;
//   - edges into and out of a fallback node are red and bold (a
//     materialized buffer crosses there);
//   - graph inputs are ellipses, outputs are `return #i` nodes.
// A node produced by decomposition is drawn with its composite's decision
// (DecisionFor); a node with no plan entry is drawn grey and dashed. A
// reduction split in two stages (NodeDecision::split) says so in its label.
#ifndef SLUICE_PASSES_PLAN_DOT_H_
#define SLUICE_PASSES_PLAN_DOT_H_

#include <string>

#include "ir/graph.h"
#include "passes/lowering_plan.h"

namespace sluice::passes {

std::string PlanToDot(const ir::Graph& graph, const LoweringPlan& plan);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_PLAN_DOT_H_
