#include "benchmarks/suite_graphs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::benchmarks {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

TEST(ListGraphFiles, OnlyDotGraphFilesOfTheDirectorySortedByPath) {
  const std::filesystem::path dir =
      std::filesystem::path(std::getenv("TEST_TMPDIR")) / "suite_graphs";
  std::filesystem::create_directories(dir / "sub");
  for (const char* name : {"softmax.graph", "mlp.graph", "notes.txt", "graph", "sub/row.graph"}) {
    std::ofstream(dir / name) << "\n";
  }

  ASSERT_THAT(ListGraphFiles(dir.string()),
              ElementsAre(Field(&GraphFile::name, "mlp"), Field(&GraphFile::name, "softmax")));
  EXPECT_EQ(ListGraphFiles(dir.string())[0].path, (dir / "mlp.graph").string());
}

TEST(ListGraphFiles, AnUnreadableDirectoryHasNone) {
  EXPECT_TRUE(ListGraphFiles("/nonexistent/sluice/graphs").empty());
}

}  // namespace
}  // namespace sluice::benchmarks
