// A small FileCheck (after LLVM's) for golden text tests, and the golden-file
// format several sluice tests share: cases split by `// -----`, each holding
// input text and the CHECK lines its output must satisfy.
//
// Directives, one per line, optionally after a `//` or `#` comment marker:
//   CHECK: p        p occurs after the previous match
//   CHECK-NEXT: p   p occurs on the line right after the previous match's line
//   CHECK-SAME: p   p occurs on the previous match's line, after the match
//   CHECK-EMPTY:    the line after the previous match's line is empty
//   CHECK-NOT: p    p does not occur between the previous match (or the
//                   start) and the next positive match (or the end)
//   CHECK-LABEL: p  p occurs (labels are matched first, in order); the
//                   directives between two labels only search the output
//                   between their matches, so one failure stays local
// A pattern is literal text, with any run of spaces/tabs matching any
// non-empty run of them, plus three escapes:
//   {{re}}          an ECMAScript regular expression
//   [[NAME:re]]     matches re and binds its text to NAME
//   [[NAME]]        the text bound to NAME (earlier in this line or before)
// Matches never span lines. A line starting with CHECK and a '-' or ':' that
// is not a directive above is an error (typos must not pass silently), and
// so is check text without any directive.
#ifndef SLUICE_TESTING_FILECHECK_H_
#define SLUICE_TESTING_FILECHECK_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::testing {

struct FileCheckOptions {
  // How diagnostics name the check text, and the line number of its first
  // line: "<check_file>:<line>: error: CHECK-NEXT: ...".
  std::string check_file = "<check>";
  int first_line = 1;
};

// OK when `output` satisfies every directive in `check_text`. Otherwise
// NotFound, naming the failed directive and its line, with the searched
// region of the output (line-numbered) and, when the pattern occurs elsewhere,
// where. InvalidArgument for malformed check text.
absl::Status FileCheck(absl::string_view output, absl::string_view check_text,
                       const FileCheckOptions& options = {});

// Splits a file into cases at lines that are exactly `// -----` or `# -----`
// (trailing whitespace ignored). The separator lines are dropped; the pieces
// are the exact text between them, so n separators give n + 1 pieces.
std::vector<std::string> SplitCases(absl::string_view file_text);

// One case of a golden file. CHECK lines (a `//` or `#` comment whose text
// starts with a directive) go to `checks`; every other line is `input`. Each
// string keeps the case's line count, with blank lines where the other
// string's lines were, so line k of either (1-based) is line
// first_line + k - 1 of the file and parser and FileCheck diagnostics stay
// accurate.
struct GoldenCase {
  std::string input;
  std::string checks;
  int first_line = 1;  // 1-based line of the case's first line in the file
};

// The cases of a golden file (see SplitCases), leaving out those that hold
// only whitespace.
std::vector<GoldenCase> ParseGoldenCases(absl::string_view file_text);

// Whether `line` is a CHECK line in the sense of GoldenCase.
bool IsCheckLine(absl::string_view line);

// Turns one case's input into the text its checks run against.
using GoldenTransform =
    std::function<absl::StatusOr<std::string>(const GoldenCase&)>;

// Runs every case of `file_text` through `transform` and FileCheck, and
// reports all failing cases together (each as "<filename>:<line>: case i:
// ..."). A transform error fails its case. Error if there are no cases.
absl::Status RunGoldenCases(absl::string_view file_text,
                            absl::string_view filename,
                            const GoldenTransform& transform);

// RunGoldenCases on a file's contents (a read failure names the file). Under
// `bazel test` relative paths resolve against the runfiles root, so pass
// "passes/testdata/cse.graph" with the file in the test's `data`.
absl::Status RunGoldenFile(const std::string& path,
                           const GoldenTransform& transform);

}  // namespace sluice::testing

#endif  // SLUICE_TESTING_FILECHECK_H_
