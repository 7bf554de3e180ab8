// Replays every saved fuzzer crash (fuzz/regressions/<fuzzer>/) and every
// corpus input (fuzz/corpus/<fuzzer>/) through the fuzz targets' shared
// bodies (fuzz_targets.h), so each bug the fuzzers ever found stays fixed and
// the corpus keeps its properties in `bazel test //...` -- built with gcc and
// no libFuzzer, and under --config=asan/ubsan with gcc's sanitizers. The
// repository's own .graph files (passed as arguments) go through the parser
// target too.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_targets.h"
#include "gtest/gtest.h"

namespace sluice::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<std::string>* graph_files = new std::vector<std::string>();

using Target = std::function<std::string(absl::string_view)>;

// Every fuzzer: its directory name under fuzz/regressions/ and fuzz/corpus/.
const std::map<std::string, Target>& Targets() {
  static const auto* targets = new std::map<std::string, Target>{
      {"parser_fuzzer", CheckParser},
      {"npy_fuzzer", CheckNpy},
  };
  return *targets;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The regular files under `dir` (runfiles are symlinks), sorted.
std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs `target` on each file; returns how many there were.
int Replay(const Target& target, const std::vector<std::string>& files) {
  for (const std::string& path : files) {
    const std::string data = ReadFile(path);
    const std::string problem = target(data);
    EXPECT_EQ(problem, "") << path << " (" << data.size() << " bytes: \""
                           << absl::CEscape(absl::string_view(data).substr(0, 300)) << "\")";
  }
  return static_cast<int>(files.size());
}

TEST(RegressionsTest, EveryDirectoryBelongsToAFuzzer) {
  for (const char* top : {"fuzz/regressions", "fuzz/corpus"}) {
    ASSERT_TRUE(fs::is_directory(top)) << top << " is missing from the runfiles";
    for (const fs::directory_entry& e : fs::directory_iterator(top)) {
      if (!e.is_directory()) continue;  // README.md
      EXPECT_TRUE(Targets().count(e.path().filename().string()))
          << e.path() << " is not the directory of a known fuzzer; add it to Targets()";
    }
  }
}

TEST(RegressionsTest, SavedCrashesStayFixed) {
  for (const auto& [name, target] : Targets()) {
    SCOPED_TRACE(name);
    const int n = Replay(target, FilesIn("fuzz/regressions/" + name));
    std::cout << name << ": " << n << " saved crash inputs replayed\n";
  }
}

TEST(RegressionsTest, CorpusKeepsItsProperties) {
  for (const auto& [name, target] : Targets()) {
    SCOPED_TRACE(name);
    const int n = Replay(target, FilesIn("fuzz/corpus/" + name));
    std::cout << name << ": " << n << " corpus inputs replayed\n";
    EXPECT_GT(n, 0) << "fuzz/corpus/" << name << " is empty or missing from the runfiles";
  }
}

TEST(RegressionsTest, RepositoryGraphFilesThroughTheParserTarget) {
  ASSERT_FALSE(graph_files->empty()) << "no .graph files were passed";
  Replay(CheckParser, *graph_files);
}

}  // namespace
}  // namespace sluice::fuzz

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) sluice::fuzz::graph_files->push_back(argv[i]);
  return RUN_ALL_TESTS();
}
