#include "passes/glob.h"

#include "gtest/gtest.h"

namespace sluice::passes {
namespace {

TEST(GlobTest, ExactNamesMatchOnlyThemselves) {
  EXPECT_TRUE(GlobMatch("add_1", "add_1"));
  EXPECT_FALSE(GlobMatch("add_1", "add_12"));
  EXPECT_FALSE(GlobMatch("add_1", "add_"));
  EXPECT_FALSE(GlobMatch("add", ""));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
}

TEST(GlobTest, Star) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("attn_*", "attn_"));
  EXPECT_TRUE(GlobMatch("attn_*", "attn_softmax"));
  EXPECT_FALSE(GlobMatch("attn_*", "mlp_attn_x"));
  EXPECT_TRUE(GlobMatch("*_norm", "layer_norm"));
  EXPECT_FALSE(GlobMatch("*_norm", "layer_norm_1"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
  EXPECT_TRUE(GlobMatch("a**b", "ab"));
  // Backtracking: the first 'b' is not the right one.
  EXPECT_TRUE(GlobMatch("*bc", "abbc"));
}

TEST(GlobTest, QuestionMark) {
  EXPECT_TRUE(GlobMatch("t?", "t1"));
  EXPECT_FALSE(GlobMatch("t?", "t"));
  EXPECT_FALSE(GlobMatch("t?", "t12"));
  EXPECT_TRUE(GlobMatch("??", "ab"));
}

TEST(GlobTest, Brackets) {
  EXPECT_TRUE(GlobMatch("[abc]", "b"));
  EXPECT_FALSE(GlobMatch("[abc]", "d"));
  EXPECT_FALSE(GlobMatch("[abc]", "ab"));
  EXPECT_TRUE(GlobMatch("mul_[0-9]", "mul_7"));
  EXPECT_FALSE(GlobMatch("mul_[0-9]", "mul_x"));
  EXPECT_TRUE(GlobMatch("x[!0-9]", "xa"));
  EXPECT_FALSE(GlobMatch("x[!0-9]", "x3"));
  EXPECT_TRUE(GlobMatch("x[^ab]", "xc"));
  EXPECT_FALSE(GlobMatch("x[^ab]", "xa"));
  EXPECT_TRUE(GlobMatch("[]]", "]"));
  EXPECT_TRUE(GlobMatch("[a-]", "-"));
  EXPECT_TRUE(GlobMatch("*[0-9]", "add_12"));
  EXPECT_FALSE(GlobMatch("*[0-9]", "add_"));
}

TEST(GlobTest, UnclosedBracketIsLiteral) {
  EXPECT_TRUE(GlobMatch("a[b", "a[b"));
  EXPECT_FALSE(GlobMatch("a[b", "ab"));
}

TEST(GlobTest, IsGlob) {
  EXPECT_FALSE(IsGlob("add_1"));
  EXPECT_TRUE(IsGlob("add_*"));
  EXPECT_TRUE(IsGlob("add_?"));
  EXPECT_TRUE(IsGlob("add_[12]"));
}

}  // namespace
}  // namespace sluice::passes
