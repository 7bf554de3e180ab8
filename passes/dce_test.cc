#include "passes/dce.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/golden.h"

namespace sluice::passes {
namespace {

TEST(DceTest, GoldenCases) {
  absl::Status s = RunGoldenTestFile("passes/testdata/dce.graph");
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(DceTest, ReportsChangeAndKeepsLiveMetadata) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(graph g(%x: f32[4]) {
  %a = exp(%x) {keep = true, should_fallback = true}
  %dead = sin(%a) {should_fallback = true}
  return %a
})");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<bool> changed = EliminateDeadCode(&*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(g->FindNode("dead"), nullptr);
  ASSERT_NE(g->FindNode("a"), nullptr);
  EXPECT_EQ(g->FindNode("a")->meta().ToString(), "{keep = true, should_fallback = true}");

  const std::string once = ir::PrintGraph(*g);
  changed = EliminateDeadCode(&*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  EXPECT_EQ(ir::PrintGraph(*g), once);
}

TEST(DceTest, PassName) {
  DcePass pass;
  EXPECT_EQ(pass.name(), "dce");
}

}  // namespace
}  // namespace sluice::passes
