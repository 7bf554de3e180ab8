// Checks that @absl's pkg-config-generated targets compile, link and behave:
// each assertion uses code from a different shared library.

#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<int> ParsePositive(absl::string_view text) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("not a number: '", text, "'"));
  }
  if (value <= 0) return absl::OutOfRangeError("must be positive");
  return value;
}

TEST(AbslSmokeTest, StatusOrCarriesValueOrError) {
  absl::StatusOr<int> ok = ParsePositive("42");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);

  absl::StatusOr<int> bad = ParsePositive("x1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'x1'"));
  EXPECT_EQ(ParsePositive("-3").status().code(), absl::StatusCode::kOutOfRange);
}

TEST(AbslSmokeTest, StringsFormatSplitJoin) {
  EXPECT_EQ(absl::StrFormat("%s[%d,%d]", "f32", 2, 3), "f32[2,3]");
  std::vector<std::string> parts = absl::StrSplit("a,b,,c", ',', absl::SkipEmpty());
  EXPECT_THAT(parts, ElementsAre("a", "b", "c"));
  EXPECT_EQ(absl::StrJoin(parts, "|"), "a|b|c");
}

TEST(AbslSmokeTest, HashContainers) {
  absl::flat_hash_map<std::string, int> counts;
  for (absl::string_view op : {"add", "mul", "add"}) ++counts[op];
  EXPECT_EQ(counts["add"], 2);
  EXPECT_EQ(counts["mul"], 1);
  absl::flat_hash_set<int> set = {1, 2, 3, 2};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(absl::Hash<int>()(7), absl::Hash<int>()(7));
}

int Sum(absl::Span<const int> values) {
  int total = 0;
  for (int v : values) total += v;
  return total;
}

TEST(AbslSmokeTest, SpanInlinedVectorCleanup) {
  absl::InlinedVector<int, 4> dims = {2, 3, 4};
  EXPECT_EQ(Sum(dims), 9);
  int cleaned = 0;
  {
    absl::Cleanup cleanup = [&cleaned] { cleaned = 1; };
    EXPECT_EQ(cleaned, 0);
  }
  EXPECT_EQ(cleaned, 1);
}

}  // namespace
