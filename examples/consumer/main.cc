// Parses a sluice graph (the seed example, or a file named on the command line)
// and prints it back, through @sluice//ir only.

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/parser.h"
#include "ir/printer.h"

namespace {

constexpr absl::string_view kSeedGraph = R"(# The seed test: add falls back, mul is lowered.
graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y) {should_fallback = true}
  %b = mul(%a, 2.0)
  return %b
}
)";

}  // namespace

int main(int argc, char** argv) {
  std::string text(kSeedGraph);
  std::string filename = "seed.graph";
  if (argc > 1) {
    filename = argv[1];
    std::ifstream in(filename);
    if (!in) {
      std::cerr << "consumer: cannot open " << filename << "\n";
      return 1;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }

  absl::StatusOr<sluice::ir::Graph> graph = sluice::ir::ParseGraph(text, filename);
  if (!graph.ok()) {
    std::cerr << graph.status().message() << "\n";
    return 1;
  }
  std::cout << sluice::ir::PrintGraph(*graph);
  return 0;
}
