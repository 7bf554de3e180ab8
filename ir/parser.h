// Parser for the sluice text format (DESIGN §5). Errors read
// `file:line:col: error: message` followed by the source line and a caret.
// The parser never crashes or hangs on any input; every graph it returns has
// passed the verifier.
#ifndef SLUICE_IR_PARSER_H_
#define SLUICE_IR_PARSER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"

namespace sluice::ir {

// All graphs in `text` (one or more).
absl::StatusOr<std::vector<Graph>> ParseModule(absl::string_view text,
                                               absl::string_view filename = "<input>");

// Exactly one graph.
absl::StatusOr<Graph> ParseGraph(absl::string_view text,
                                 absl::string_view filename = "<input>");

// Reads and parses a file; a read failure names the file.
absl::StatusOr<std::vector<Graph>> ParseFile(const std::string& path);

}  // namespace sluice::ir

#endif  // SLUICE_IR_PARSER_H_
