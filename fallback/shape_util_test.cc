#include "fallback/shape_util.h"

#include <vector>

#include "gtest/gtest.h"
#include "ir/builder.h"
#include "ir/shape.h"

namespace sluice::fallback {
namespace {

using V = std::vector<int64_t>;

TEST(CollapseBroadcastTest, MergesDimsThatBroadcastAlike) {
  // Bias add: [n] over [m, n] is one broadcast dim then one copied dim.
  BroadcastPlan p = CollapseBroadcast(ir::Shape{5}, ir::Shape{4, 5});
  EXPECT_EQ(p.in_dims, (V{1, 5}));
  EXPECT_EQ(p.out_dims, (V{4, 5}));
  EXPECT_FALSE(p.is_copy());

  // [2, 1, 1, 3] -> [7, 2, 4, 5, 3]: missing dim, copies and broadcasts.
  p = CollapseBroadcast(ir::Shape{2, 1, 1, 3}, ir::Shape{7, 2, 4, 5, 3});
  EXPECT_EQ(p.in_dims, (V{1, 2, 1, 3}));
  EXPECT_EQ(p.out_dims, (V{7, 2, 20, 3}));

  // Adjacent copied dims merge; size-1 output dims vanish.
  p = CollapseBroadcast(ir::Shape{1, 3, 4}, ir::Shape{1, 3, 4});
  EXPECT_EQ(p.out_dims, (V{12}));
  EXPECT_TRUE(p.is_copy());

  p = CollapseBroadcast(ir::Shape{}, ir::Shape{2, 3});
  EXPECT_EQ(p.in_dims, (V{1}));
  EXPECT_EQ(p.out_dims, (V{6}));

  p = CollapseBroadcast(ir::Shape{1}, ir::Shape{1, 1});
  EXPECT_TRUE(p.out_dims.empty());
}

TEST(CollapsePermuteTest, MergesDimsThatMoveTogether) {
  PermutePlan p = CollapsePermute(ir::Shape{2, 3, 4}, {2, 0, 1});
  EXPECT_EQ(p.in_dims, (V{6, 4}));
  EXPECT_EQ(p.perm, (std::vector<int>{1, 0}));

  p = CollapsePermute(ir::Shape{2, 3, 4, 5}, {0, 1, 3, 2});
  EXPECT_EQ(p.in_dims, (V{6, 4, 5}));
  EXPECT_EQ(p.perm, (std::vector<int>{0, 2, 1}));

  // Moving size-1 dims around is no permutation at all.
  p = CollapsePermute(ir::Shape{1, 5, 1}, {2, 1, 0});
  EXPECT_TRUE(p.is_identity());

  p = CollapsePermute(ir::Shape{2, 3}, {0, 1});
  EXPECT_TRUE(p.is_identity());
  EXPECT_EQ(p.in_dims, (V{6}));
}

TEST(PlanReductionTest, ContiguousDimsNeedNoPermute) {
  ReducePlan p = PlanReduction(ir::Shape{2, 3, 4, 5}, {1, 2});
  EXPECT_FALSE(p.needs_permute);
  EXPECT_EQ(p.a, 2);
  EXPECT_EQ(p.r, 12);
  EXPECT_EQ(p.b, 5);

  // A size-1 kept dim between reduced dims does not break contiguity.
  p = PlanReduction(ir::Shape{4, 1, 5}, {0, 2});
  EXPECT_FALSE(p.needs_permute);
  EXPECT_EQ(p.r, 20);
  EXPECT_EQ(p.a * p.b, 1);

  p = PlanReduction(ir::Shape{3, 4}, {});
  EXPECT_EQ(p.a, 12);
  EXPECT_EQ(p.r, 1);
}

TEST(PlanReductionTest, SplitDimsArePermutedToTheBack) {
  ReducePlan p = PlanReduction(ir::Shape{2, 3, 4}, {0, 2});
  EXPECT_TRUE(p.needs_permute);
  EXPECT_EQ(p.perm, (std::vector<int>{1, 0, 2}));
  EXPECT_EQ(p.a, 3);
  EXPECT_EQ(p.r, 8);
  EXPECT_EQ(p.b, 1);
}

TEST(SplitAroundTest, OuterMidInner) {
  Split3 s = SplitAround(ir::Shape{2, 3, 4, 5}, 1, 3);
  EXPECT_EQ(s.outer, 2);
  EXPECT_EQ(s.mid, 12);
  EXPECT_EQ(s.inner, 5);
  s = SplitAround(ir::Shape{}, 0, 1);
  EXPECT_EQ(s.outer * s.mid * s.inner, 1);
}

TEST(ReductionDimsTest, ReadsTheNodeLikeTheIr) {
  ir::GraphBuilder b;
  ir::Node* x = b.Input("x", {ir::DType::kF32, {2, 3, 4}});
  ir::Node* all = b.Call("sum", {x});
  ir::Node* neg = b.Call("sum", {x}, {{"dims", ir::AttrValue::IntList({-1, 0})}});
  b.Return({all, neg});
  ASSERT_TRUE(b.status().ok()) << b.status();
  EXPECT_EQ(*ReductionDims(*all), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(*ReductionDims(*neg), (std::vector<int>{0, 2}));
}

}  // namespace
}  // namespace sluice::fallback
