#include "passes/pattern_test_util.h"

#include <utility>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/fuse.h"
#include "passes/pipeline.h"

namespace sluice::passes {

Compiled CompileText(const std::string& text, const BackendCapabilities& caps,
                     const LoweringOptions& options) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  Compiled c{*std::move(g), {}, {}};
  absl::StatusOr<LoweringPlan> plan = RunLoweringPipeline(&c.graph, options, caps);
  EXPECT_TRUE(plan.ok()) << plan.status();
  c.plan = *std::move(plan);
  absl::StatusOr<Schedule> s = Fuse(c.graph, &c.plan);
  EXPECT_TRUE(s.ok()) << s.status();
  c.schedule = *std::move(s);
  return c;
}

std::vector<std::string> Names(const std::vector<const ir::Node*>& nodes) {
  std::vector<std::string> out;
  for (const ir::Node* n : nodes) out.push_back(n->name());
  return out;
}

std::vector<std::string> FusedNodes(const LoweringPlan& plan) {
  std::vector<std::string> out;
  for (const NodeDecision& e : plan.entries) {
    if (!e.fused_pattern.empty()) out.push_back(e.node);
  }
  return out;
}

}  // namespace sluice::passes
