// The `compile` command line: parse a graph, compile it with sluice, show the
// lowering plan, the graph after passes, the generated kernels or Graphviz
// DOT, and optionally run, check against the reference interpreter, and time
// it. The logic lives here (not in main) so tests can drive it in-process as
// well as through the binary.
#ifndef SLUICE_TOOLS_COMPILE_CLI_COMPILE_TOOL_H_
#define SLUICE_TOOLS_COMPILE_CLI_COMPILE_TOOL_H_

#include <ostream>
#include <string>
#include <vector>

namespace sluice::tools {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;  // bad usage or bad input
inline constexpr int kExitInternal = 3;  // a compiler or runtime failure

// `args` excludes the program name. `stderr_is_tty` turns on progress lines.
int RunCompileTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   bool stderr_is_tty = false);

}  // namespace sluice::tools

#endif  // SLUICE_TOOLS_COMPILE_CLI_COMPILE_TOOL_H_
