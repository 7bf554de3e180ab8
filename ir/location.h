// Source locations and the `file:line:col: error: message` diagnostics
// format with the source line and a caret under the column.
#ifndef SLUICE_IR_LOCATION_H_
#define SLUICE_IR_LOCATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sluice::ir {

struct Location {
  std::string file;       // "" when unknown
  int line = 0;           // 1-based; 0 when unknown
  int col = 0;            // 1-based
  std::string line_text;  // the source line, for the caret display

  bool known() const { return line > 0; }
  std::string ToString() const;  // "file:line:col" or "<unknown>"
};

// "file:line:col: error: message\n<line>\n   ^" (just "error: message"
// when the location is unknown).
std::string FormatDiagnostic(const Location& loc, absl::string_view message);

// An InvalidArgument status whose message is FormatDiagnostic(loc, message).
absl::Status ErrorAt(const Location& loc, absl::string_view message);

}  // namespace sluice::ir

#endif  // SLUICE_IR_LOCATION_H_
