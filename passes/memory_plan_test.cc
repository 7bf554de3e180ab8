#include "passes/memory_plan.h"

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/fuse.h"
#include "passes/lowering_plan.h"

namespace sluice::passes {
namespace {

// A chain of fallback steps: each intermediate is read only by the next step.
constexpr char kChain[] = R"(
graph g(%x: f32[1000]) {
  %a = exp(%x) {should_fallback = true}
  %b = neg(%a) {should_fallback = true}
  %c = sin(%b) {should_fallback = true}
  %d = cos(%c) {should_fallback = true}
  return %d
})";

LoweringPlan FallbackPlan(const ir::Graph& g) {
  LoweringPlan plan;
  for (const ir::Node* n : g.calls()) {
    plan.entries.push_back({n->name(), n->op(), Decision::kFallback, Rule::kMetaFallback, "", -1});
  }
  return plan;
}

TEST(MemoryPlanTest, DeadBuffersAreReused) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kChain);
  ASSERT_TRUE(g.ok()) << g.status();
  LoweringPlan plan = FallbackPlan(*g);
  absl::StatusOr<Schedule> s = Fuse(*g, &plan);
  ASSERT_TRUE(s.ok()) << s.status();
  MemoryPlan m = PlanMemory(*s);
  ASSERT_EQ(m.buffers.size(), 3u) << m.ToString();  // a, b, c; d is an output
  const BufferInfo* a = m.Find(g->FindNode("a"));
  const BufferInfo* b = m.Find(g->FindNode("b"));
  const BufferInfo* c = m.Find(g->FindNode("c"));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->first_step, 0);
  EXPECT_EQ(a->last_step, 1);
  EXPECT_EQ(c->first_step, 2);
  // a is dead when c is written, so they share memory; a and b overlap in
  // time and must not.
  EXPECT_EQ(a->offset, c->offset) << m.ToString();
  EXPECT_NE(a->offset, b->offset);
  EXPECT_EQ(m.arena_bytes, 2 * 4032) << m.ToString();  // 4000 rounded up to 64
  EXPECT_EQ(m.Find(g->FindNode("d")), nullptr);
  for (const BufferInfo& buf : m.buffers) EXPECT_EQ(buf.offset % kArenaAlignment, 0);
}

TEST(MemoryPlanTest, OverlappingLifetimesGetDisjointMemory) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%x: f32[100]) {
  %a = exp(%x) {should_fallback = true}
  %b = neg(%x) {should_fallback = true}
  %c = add(%a, %b) {should_fallback = true}
  return %c
})");
  ASSERT_TRUE(g.ok()) << g.status();
  LoweringPlan plan = FallbackPlan(*g);
  absl::StatusOr<Schedule> s = Fuse(*g, &plan);
  ASSERT_TRUE(s.ok());
  MemoryPlan m = PlanMemory(*s);
  ASSERT_EQ(m.buffers.size(), 2u);
  EXPECT_NE(m.buffers[0].offset, m.buffers[1].offset);
  EXPECT_EQ(m.arena_bytes, 2 * 448);
}

}  // namespace
}  // namespace sluice::passes
