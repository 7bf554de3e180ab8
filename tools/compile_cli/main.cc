// `bazel run //tools:compile -- [GRAPH_FILE] [flags]`; see --help.
#include <unistd.h>

#include <iostream>

#include "tools/compile_cli/compile_tool.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return sluice::tools::RunCompileTool(args, std::cout, std::cerr, isatty(2) != 0);
}
