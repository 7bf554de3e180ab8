// Helpers for the fused-pattern tests (test-only; passes/attention_test.cc,
// passes/matmul_epilogue_test.cc): a graph text through the lowering
// pipeline and fusion, and the plan's fused nodes by name.
#ifndef SLUICE_PASSES_PATTERN_TEST_UTIL_H_
#define SLUICE_PASSES_PATTERN_TEST_UTIL_H_

#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/schedule.h"

namespace sluice::passes {

struct Compiled {
  ir::Graph graph;
  LoweringPlan plan;
  Schedule schedule;  // points into `graph`
};

// Parses `text`, runs the lowering pipeline for `caps` and fuses; a failing
// step is a test failure (EXPECT), and the rest stays empty.
Compiled CompileText(const std::string& text, const BackendCapabilities& caps,
                     const LoweringOptions& options = {});

// The nodes' names, in order.
std::vector<std::string> Names(const std::vector<const ir::Node*>& nodes);

// The plan's nodes that belong to a fused pattern instance, in plan order.
std::vector<std::string> FusedNodes(const LoweringPlan& plan);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_PATTERN_TEST_UTIL_H_
