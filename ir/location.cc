#include "ir/location.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sluice::ir {

std::string Location::ToString() const {
  if (!known()) return "<unknown>";
  return absl::StrCat(file.empty() ? "<input>" : file, ":", line, ":", col);
}

std::string FormatDiagnostic(const Location& loc, absl::string_view message) {
  if (!loc.known()) return absl::StrCat("error: ", message);
  std::string out = absl::StrCat(loc.ToString(), ": error: ", message);
  {
    // Tabs are kept in the caret line so the caret lines up under them.
    std::string caret;
    const int col = std::max(1, loc.col);
    for (int i = 0; i + 1 < col && i < static_cast<int>(loc.line_text.size()); ++i) {
      caret.push_back(loc.line_text[i] == '\t' ? '\t' : ' ');
    }
    absl::StrAppend(&out, "\n", loc.line_text, "\n", caret, "^");
  }
  return out;
}

absl::Status ErrorAt(const Location& loc, absl::string_view message) {
  return absl::InvalidArgumentError(FormatDiagnostic(loc, message));
}

}  // namespace sluice::ir
