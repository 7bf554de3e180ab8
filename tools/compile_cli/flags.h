// A small command-line flag parser for tools/compile with exact control over
// errors and exit codes (absl's parser exits with 1 on a bad flag; sluice's
// CLI promises 2 for bad usage). Flags are `--name=value`, `--name value`,
// `--bool`, `--bool=true|false` and `--nobool`; `--` ends the flags.
#ifndef SLUICE_TOOLS_COMPILE_CLI_FLAGS_H_
#define SLUICE_TOOLS_COMPILE_CLI_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sluice::tools {

class FlagSet {
 public:
  void AddString(std::string name, std::string* value, std::string help,
                 std::string value_name = "VALUE");
  void AddBool(std::string name, bool* value, std::string help);
  void AddInt(std::string name, int64_t* value, std::string help);
  void AddDouble(std::string name, double* value, std::string help);

  // Parses argv[1..]; positional arguments are appended to `positional`.
  // Errors name the flag and are meant for "error: ..." on stderr.
  absl::Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);

  // One line per flag: "  --name=VALUE  help (default: x)".
  std::string Usage() const;
  // Names of the flags given on the command line, in order.
  const std::vector<std::string>& given() const { return given_; }
  bool WasGiven(absl::string_view name) const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string value_name;
    bool is_bool = false;
    std::string default_text;
    std::function<absl::Status(absl::string_view)> set;
  };
  const Flag* Find(absl::string_view name) const;

  std::vector<Flag> flags_;
  std::vector<std::string> given_;
};

// Splits "a,b,,c" into {"a", "b", "c"} (empty items dropped, spaces trimmed).
std::vector<std::string> SplitList(absl::string_view list);

}  // namespace sluice::tools

#endif  // SLUICE_TOOLS_COMPILE_CLI_FLAGS_H_
