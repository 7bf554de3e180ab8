// CheckParser: the parser fuzz target's body (see fuzz_targets.h).
#include <cctype>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_targets.h"
#include "ir/graph.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace sluice::fuzz {
namespace {

constexpr absl::string_view kFile = "fuzz.graph";

// Consumes a run of decimal digits at the front of `s`; false if none.
bool ConsumeDigits(absl::string_view& s) {
  size_t n = 0;
  while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  s.remove_prefix(n);
  return n > 0;
}

// Whether `message` starts with "fuzz.graph:LINE:COL: error: ".
bool IsLocated(absl::string_view message) {
  if (!absl::ConsumePrefix(&message, kFile) || !absl::ConsumePrefix(&message, ":") ||
      !ConsumeDigits(message) || !absl::ConsumePrefix(&message, ":") ||
      !ConsumeDigits(message)) {
    return false;
  }
  return absl::StartsWith(message, ": error: ");
}

}  // namespace

std::string CheckParser(absl::string_view data) {
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseModule(data, kFile);
  if (!graphs.ok()) {
    const absl::Status& s = graphs.status();
    if (s.code() != absl::StatusCode::kInvalidArgument) {
      return absl::StrCat("a rejected input is not InvalidArgument: ", s.ToString());
    }
    if (!IsLocated(s.message())) {
      return absl::StrCat("an error without a fuzz.graph:LINE:COL location: ", s.message());
    }
    return "";
  }
  if (graphs->empty()) return "ParseModule accepted an input with no graph";
  for (const ir::Graph& g : *graphs) {
    if (absl::Status s = ir::Verify(g); !s.ok()) {
      return absl::StrCat("a parsed graph fails Verify: ", s.message());
    }
  }
  const std::string printed = ir::PrintModule(*graphs);
  for (const ir::Graph& g : *graphs) {
    if (ir::PrintGraph(g.Clone()) != ir::PrintGraph(g)) {
      return absl::StrCat("Clone prints differently from the original:\n", ir::PrintGraph(g));
    }
  }
  absl::StatusOr<std::vector<ir::Graph>> again = ir::ParseModule(printed, "printed.graph");
  if (!again.ok()) {
    return absl::StrCat("the printed module does not parse: ", again.status().message(),
                        "\n--- printed:\n", printed);
  }
  const std::string reprinted = ir::PrintModule(*again);
  if (reprinted != printed) {
    return absl::StrCat("print(parse(print(g))) != print(g)\n--- first print:\n", printed,
                        "--- second print:\n", reprinted);
  }
  return "";
}

}  // namespace sluice::fuzz
