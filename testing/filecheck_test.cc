#include "testing/filecheck.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::string_view kOutput =
    "graph foo(%x: f32[10], %y: f32[10]) {\n"   // 1
    "  %a: f32[10] = add(%x, %y)\n"             // 2
    "  %b: f32[10] = mul(%a, 2.0)\n"            // 3
    "\n"                                        // 4
    "  %c: f32[10] = neg(%b)\n"                 // 5
    "  return %c\n"                             // 6
    "}\n";                                      // 7

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(FileCheckTest, CheckInOrderPasses) {
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: add\nCHECK: mul\nCHECK: return").ok());
}

TEST(FileCheckTest, CheckOutOfOrderFails) {
  const absl::Status s = FileCheck(kOutput, "CHECK: mul\nCHECK: add");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("<check>:2: error: CHECK: expected string not found"));
  EXPECT_THAT(Message(s), HasSubstr("  CHECK: add"));
  // The region searched starts at the mul line and runs to the end.
  EXPECT_THAT(Message(s), HasSubstr("searched output (lines 3-7)"));
  EXPECT_THAT(Message(s), HasSubstr("    3 |   %b: f32[10] = mul(%a, 2.0)"));
  EXPECT_THAT(Message(s), Not(HasSubstr("    2 |")));
  EXPECT_THAT(Message(s), HasSubstr("note: the pattern does occur at output line 2"));
}

TEST(FileCheckTest, CheckMissingEverywhereHasNoNote) {
  const absl::Status s = FileCheck(kOutput, "CHECK: sub(");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), Not(HasSubstr("note:")));
}

TEST(FileCheckTest, SameLineMatchesContinueAfterPreviousMatch) {
  // The second CHECK must match after the first match's end, not its line.
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: %a\nCHECK: add(%x").ok());
  EXPECT_FALSE(FileCheck(kOutput, "CHECK: add\nCHECK: %a: f32").ok());
}

TEST(FileCheckTest, CheckNext) {
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: add\nCHECK-NEXT: mul").ok());
  const absl::Status s = FileCheck(kOutput, "CHECK: add\nCHECK-NEXT: neg");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s),
              HasSubstr("<check>:2: error: CHECK-NEXT: expected string not found on "
                        "the line after the previous match (output line 3)"));
  EXPECT_THAT(Message(s), HasSubstr("searched output (line 3):"));
  EXPECT_THAT(Message(s), HasSubstr("note: the pattern does occur at output line 5"));
}

TEST(FileCheckTest, CheckNextDoesNotMatchOnTheSameLine) {
  EXPECT_FALSE(FileCheck(kOutput, "CHECK: %a\nCHECK-NEXT: add").ok());
}

TEST(FileCheckTest, CheckNextAfterLastLineFails) {
  const absl::Status s = FileCheck("a\nb\n", "CHECK: b\nCHECK-NEXT: c");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("CHECK-NEXT: no line after output line 2"));
}

TEST(FileCheckTest, CheckSame) {
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: add\nCHECK-SAME: %y)").ok());
  const absl::Status s = FileCheck(kOutput, "CHECK: add\nCHECK-SAME: 2.0");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s),
              HasSubstr("<check>:2: error: CHECK-SAME: expected string not found "
                        "after the previous match on its line (output line 2)"));
  // Only text after the previous match counts.
  EXPECT_FALSE(FileCheck(kOutput, "CHECK: add\nCHECK-SAME: %a").ok());
}

TEST(FileCheckTest, CheckNot) {
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: add\nCHECK-NOT: sub\nCHECK: neg").ok());
  // "mul" occurs between add and neg.
  const absl::Status s =
      FileCheck(kOutput, "CHECK: add\nCHECK-NOT: mul\nCHECK: neg");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("<check>:2: error: CHECK-NOT: excluded string "
                                    "found in output at line 3"));
  EXPECT_THAT(Message(s), HasSubstr(">    3 |   %b: f32[10] = mul(%a, 2.0)"));
  // After the next positive match it is allowed.
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: add\nCHECK-NOT: neg\nCHECK: mul").ok());
}

TEST(FileCheckTest, CheckNotAtStartAndEnd) {
  EXPECT_FALSE(FileCheck(kOutput, "CHECK-NOT: graph\nCHECK: add").ok());
  EXPECT_TRUE(FileCheck(kOutput, "CHECK-NOT: return\nCHECK: add").ok());
  EXPECT_FALSE(FileCheck(kOutput, "CHECK: add\nCHECK-NOT: return").ok());
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: return\nCHECK-NOT: add").ok());
  // A file of CHECK-NOTs alone checks the whole output.
  EXPECT_TRUE(FileCheck(kOutput, "CHECK-NOT: sub").ok());
  EXPECT_FALSE(FileCheck(kOutput, "CHECK-NOT: neg").ok());
}

TEST(FileCheckTest, CheckEmpty) {
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: mul\nCHECK-EMPTY:\nCHECK-NEXT: neg").ok());
  const absl::Status s = FileCheck(kOutput, "CHECK: add\nCHECK-EMPTY:");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("<check>:2: error: CHECK-EMPTY: output line 3 "
                                    "is not empty"));
  // No line after the last one.
  EXPECT_FALSE(FileCheck("a\n", "CHECK: a\nCHECK-EMPTY:").ok());
  EXPECT_EQ(FileCheck("a\nb", "CHECK: a\nCHECK-EMPTY: x").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FileCheckTest, CheckLabelScopesTheChecksBetweenLabels) {
  constexpr absl::string_view kTwoGraphs =
      "graph f(%x: f32[2]) {\n"
      "  %a: f32[2] = exp(%x)\n"
      "  return %a\n"
      "}\n"
      "graph g(%x: f32[2]) {\n"
      "  %a: f32[2] = log(%x)\n"
      "  return %a\n"
      "}\n";
  EXPECT_TRUE(FileCheck(kTwoGraphs,
                        "CHECK-LABEL: graph f\nCHECK: exp\n"
                        "CHECK-LABEL: graph g\nCHECK: log")
                  .ok());
  // Without labels this would pass by matching g's log; with them, f's block
  // ends where "graph g" starts.
  EXPECT_TRUE(FileCheck(kTwoGraphs, "CHECK: graph f\nCHECK: log").ok());
  const absl::Status s = FileCheck(kTwoGraphs,
                                   "CHECK-LABEL: graph f\nCHECK: log\n"
                                   "CHECK-LABEL: graph g\nCHECK: exp");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("<check>:2: error: CHECK: expected string not found"));
  EXPECT_THAT(Message(s), HasSubstr("searched output (lines 1-4)"));
  // CHECK-NEXT right after a label refers to the label's line.
  EXPECT_TRUE(FileCheck(kTwoGraphs, "CHECK-LABEL: graph g\nCHECK-NEXT: log").ok());
  // A missing label fails by itself.
  const absl::Status missing =
      FileCheck(kTwoGraphs, "CHECK-LABEL: graph f\nCHECK-LABEL: graph h");
  EXPECT_THAT(Message(missing),
              HasSubstr("<check>:2: error: CHECK-LABEL: expected string not found"));
  // Labels must appear in order.
  EXPECT_FALSE(FileCheck(kTwoGraphs, "CHECK-LABEL: graph g\nCHECK-LABEL: graph f").ok());
}

TEST(FileCheckTest, CommentMarkersAndIgnoredLines) {
  EXPECT_TRUE(FileCheck(kOutput,
                        "// CHECK: add\n"
                        "#CHECK-NEXT: mul\n"
                        "   # CHECK-NOT: sub\n"
                        "this line is not a directive\n"
                        "# nor is this\n"
                        "CHECK: neg\n")
                  .ok());
}

TEST(FileCheckTest, WhitespaceRunsMatchAnyRun) {
  EXPECT_TRUE(FileCheck("a  \t b\n", "CHECK: a b").ok());
  EXPECT_TRUE(FileCheck("a b\n", "CHECK: a     b").ok());
  EXPECT_FALSE(FileCheck("ab\n", "CHECK: a b").ok());
}

TEST(FileCheckTest, SpecialCharactersAreLiteral) {
  EXPECT_TRUE(FileCheck("x = f(a.b)[0] + *y? {z} | $w ^\n",
                        "CHECK: f(a.b)[0] + *y? {z} | $w ^")
                  .ok());
  EXPECT_FALSE(FileCheck("f(aXb)\n", "CHECK: f(a.b)").ok());
}

TEST(FileCheckTest, RegexAndVariables) {
  EXPECT_TRUE(FileCheck(kOutput, "CHECK: %{{[a-z]}}: f32[10] = mul").ok());
  EXPECT_FALSE(FileCheck(kOutput, "CHECK: %{{[0-9]}}: f32[10] = mul").ok());
  EXPECT_TRUE(FileCheck(kOutput,
                        "CHECK: %[[SUM:[a-z]+]]: f32[10] = add\n"
                        "CHECK: mul(%[[SUM]], 2.0)")
                  .ok());
  const absl::Status s = FileCheck(kOutput,
                                   "CHECK: %[[SUM:[a-z]+]]: f32[10] = add\n"
                                   "CHECK: neg(%[[SUM]])");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("with SUM = \"a\""));
  // A use on the defining line is a backreference.
  EXPECT_TRUE(FileCheck("x = x\n", "CHECK: [[V:[a-z]]] = [[V]]").ok());
  EXPECT_FALSE(FileCheck("x = y\n", "CHECK: [[V:[a-z]]] = [[V]]").ok());
  // {{$}} anchors at the end of any line, the last one included, with or
  // without a final newline.
  EXPECT_TRUE(FileCheck("ab\ncd\n", "CHECK: b{{$}}\nCHECK: d{{$}}").ok());
  EXPECT_TRUE(FileCheck("ab\ncd", "CHECK: d{{$}}").ok());
  EXPECT_FALSE(FileCheck("ab\ncde\n", "CHECK: d{{$}}").ok());
  // Groups inside a user regex do not shift variable numbering.
  EXPECT_TRUE(FileCheck("ab c\ncd\nad\n", "CHECK: {{(a)(b)}} [[V:(c)]]\nCHECK-NEXT: [[V]]d")
                  .ok());
}

TEST(FileCheckTest, MalformedCheckTextIsInvalidArgument) {
  struct Case {
    const char* check;
    const char* message;
  } cases[] = {
      {"CHECK-NXT: a", "<check>:1: error: unknown directive 'CHECK-NXT'"},
      {"CHECK-NEXT a", "expected ':' after 'CHECK-NEXT'"},
      {"\nCHECK:", "<check>:2: error: CHECK has an empty pattern"},
      {"CHECK: {{a", "unterminated '{{'"},
      {"CHECK: {{(}}", "invalid regular expression"},
      {"CHECK: [[X:[a-z]", "unterminated '[['"},
      {"CHECK: [[1x:a]]", "invalid variable name '1x'"},
      {"CHECK-NOT: [[X:a]]", "CHECK-NOT cannot bind variables"},
      {"CHECK: [[NOPE]]", "undefined variable 'NOPE'"},
      {"CHECK-NEXT: a", "needs a previous match"},
      {"CHECK-SAME: a", "needs a previous match"},
      {"nothing here", "no CHECK directives"},
      {"", "no CHECK directives"},
  };
  for (const Case& c : cases) {
    const absl::Status s = FileCheck("a\n", c.check);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.check;
    EXPECT_THAT(Message(s), HasSubstr(c.message)) << c.check;
  }
}

TEST(FileCheckTest, OptionsNameTheFileAndOffsetLines) {
  FileCheckOptions options;
  options.check_file = "passes/testdata/cse.graph";
  options.first_line = 40;
  const absl::Status s = FileCheck(kOutput, "\n\n// CHECK: sub", options);
  EXPECT_THAT(Message(s), HasSubstr("passes/testdata/cse.graph:42: error: CHECK:"));
}

TEST(FileCheckTest, EmptyOutput) {
  const absl::Status s = FileCheck("", "CHECK: a");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("the output is empty"));
  EXPECT_TRUE(FileCheck("", "CHECK-NOT: a").ok());
}

TEST(FileCheckTest, LongRegionsAreElided) {
  std::string output;
  for (int i = 1; i <= 100; ++i) absl::StrAppend(&output, "line ", i, "\n");
  const absl::Status s = FileCheck(output, "CHECK: missing");
  EXPECT_THAT(Message(s), AllOf(HasSubstr("searched output (lines 1-100)"),
                                HasSubstr("   20 | line 20\n"),
                                HasSubstr("  ... (60 lines) ...\n"),
                                HasSubstr("   81 | line 81\n"),
                                Not(HasSubstr("| line 21\n")),
                                Not(HasSubstr("| line 80\n"))));
}

TEST(SplitCasesTest, SplitsOnExactSeparatorLines) {
  EXPECT_THAT(SplitCases("a\n// -----\nb\n# -----\nc\n"),
              ElementsAre("a\n", "b\n", "c\n"));
  EXPECT_THAT(SplitCases("a"), ElementsAre("a"));
  EXPECT_THAT(SplitCases(""), ElementsAre(""));
  // Trailing whitespace is fine; anything else on the line is not a separator.
  EXPECT_THAT(SplitCases("a\n// -----  \r\nb"), ElementsAre("a\n", "b"));
  EXPECT_THAT(SplitCases("a\n  // -----\nb\n// ------\nc\n// ----- x\n"),
              ElementsAre("a\n  // -----\nb\n// ------\nc\n// ----- x\n"));
  EXPECT_THAT(SplitCases("// -----\na\n// -----"), ElementsAre("", "a\n", ""));
}

TEST(GoldenCaseTest, SeparatesInputAndChecksKeepingLines) {
  constexpr absl::string_view kFile =
      "# the first case\n"                 // 1
      "graph f(%x: f32[2]) {\n"            // 2
      "// CHECK: exp\n"                    // 3
      "  %a = exp(%x)\n"                   // 4
      "  return %a\n"                      // 5
      "}\n"                                // 6
      "// -----\n"                         // 7
      "graph g(%x: f32[2]) {\n"            // 8
      "  # CHECK-NEXT: log\n"              // 9
      "  %a = log(%x)\n"                   // 10
      "  return %a\n"                      // 11
      "}\n"                                // 12
      "// -----\n"                         // 13
      "\n";                                // 14
  const std::vector<GoldenCase> cases = ParseGoldenCases(kFile);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].first_line, 1);
  EXPECT_EQ(cases[0].input,
            "# the first case\ngraph f(%x: f32[2]) {\n\n  %a = exp(%x)\n"
            "  return %a\n}\n");
  EXPECT_EQ(cases[0].checks, "\n\n// CHECK: exp\n\n\n\n");
  EXPECT_EQ(cases[1].first_line, 8);
  EXPECT_EQ(cases[1].input, "graph g(%x: f32[2]) {\n\n  %a = log(%x)\n  return %a\n}\n");
  EXPECT_EQ(cases[1].checks, "\n  # CHECK-NEXT: log\n\n\n\n");
}

TEST(GoldenCaseTest, IsCheckLine) {
  EXPECT_TRUE(IsCheckLine("// CHECK: a"));
  EXPECT_TRUE(IsCheckLine("  #CHECK-NOT: a"));
  EXPECT_TRUE(IsCheckLine("# CHECK-TYPO: a"));  // so FileCheck reports it
  EXPECT_FALSE(IsCheckLine("CHECK: a"));         // not a comment: input
  EXPECT_FALSE(IsCheckLine("# CHECKS are below"));
  EXPECT_FALSE(IsCheckLine("%a = add(%x, %y)"));
}

constexpr absl::string_view kGoldenFile =
    "a b\n"
    "// CHECK: A B\n"
    "// -----\n"
    "c\n"
    "// CHECK: C\n"
    "// CHECK-NEXT: D\n";

absl::StatusOr<std::string> Upper(const GoldenCase& c) {
  std::string s = c.input;
  for (char& ch : s) ch = static_cast<char>(std::toupper(ch));
  return s;
}

TEST(RunGoldenCasesTest, PassesAndFailsPerCase) {
  EXPECT_TRUE(RunGoldenCases("x\n// CHECK: X\n", "t.txt", Upper).ok());
  const absl::Status s = RunGoldenCases(kGoldenFile, "t.txt", Upper);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("1 of 2 cases failed"));
  EXPECT_THAT(Message(s), HasSubstr("t.txt:4: case 1:"));
  // The directive's line is its line in the file.
  EXPECT_THAT(Message(s), HasSubstr("t.txt:6: error: CHECK-NEXT: expected string not found"));
  EXPECT_THAT(Message(s), Not(HasSubstr("case 0")));
}

TEST(RunGoldenCasesTest, TransformErrorsFailTheirCase) {
  const absl::Status s = RunGoldenCases(
      kGoldenFile, "t.txt", [](const GoldenCase& c) -> absl::StatusOr<std::string> {
        if (c.first_line == 1) return absl::InvalidArgumentError("boom");
        return std::string("C\nD\n");
      });
  EXPECT_THAT(Message(s), HasSubstr("t.txt:1: case 0: the transform failed: "
                                    "INVALID_ARGUMENT: boom"));
  EXPECT_THAT(Message(s), HasSubstr("1 of 2 cases failed"));
}

TEST(RunGoldenCasesTest, NoCasesIsAnError) {
  EXPECT_EQ(RunGoldenCases("\n// -----\n  \n", "t.txt", Upper).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RunGoldenFileTest, ReadsTheFile) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/golden.txt");
  {
    std::ofstream f(path);
    f << "q\n// CHECK: Q\n";
  }
  EXPECT_TRUE(RunGoldenFile(path, Upper).ok());
  const absl::Status missing = RunGoldenFile(path + ".missing", Upper);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(missing), HasSubstr("golden.txt.missing"));
}

}  // namespace
}  // namespace sluice::testing
