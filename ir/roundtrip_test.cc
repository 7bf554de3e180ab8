// Round trip of every .graph file in the repository (passed as arguments by
// Bazel): each must parse, and printing is a fixed point after one parse.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"

namespace sluice::ir {
namespace {

std::vector<std::string>* files = new std::vector<std::string>();

TEST(RoundTripTest, EveryGraphFileInTheRepo) {
  ASSERT_FALSE(files->empty()) << "no .graph files were passed";
  for (const std::string& path : *files) {
    SCOPED_TRACE(path);
    std::ifstream in(path);
    ASSERT_TRUE(in) << "cannot open " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    absl::StatusOr<std::vector<Graph>> graphs = ParseModule(ss.str(), path);
    if (path.find("invalid") != std::string::npos) {
      EXPECT_FALSE(graphs.ok()) << path << " holds deliberate errors but parsed";
      continue;
    }
    ASSERT_TRUE(graphs.ok()) << graphs.status();
    const std::string printed = PrintModule(*graphs);
    absl::StatusOr<std::vector<Graph>> again = ParseModule(printed, path + " (printed)");
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << printed;
    EXPECT_EQ(PrintModule(*again), printed);
  }
}

}  // namespace
}  // namespace sluice::ir

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) sluice::ir::files->push_back(argv[i]);
  return RUN_ALL_TESTS();
}
