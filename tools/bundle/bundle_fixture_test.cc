// A small test for bundle_test.sh to bundle: it links shared system libraries
// (Abseil, glog) and reads a data file relative to its runfiles directory, as
// sluice's tests do, so that the bundle must carry both.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

TEST(BundleFixture, ReadsItsDataFile) {
  std::ifstream f("tools/bundle/testdata/fixture.txt");
  ASSERT_TRUE(f.good()) << "run from the runfiles directory";
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(absl::StrCat(line, "!"), "bundled data file!");
  LOG(INFO) << "fixture read: " << line;
}

TEST(BundleFixture, SkipsLikeAGpuTestWithoutAGpu) { GTEST_SKIP() << "no GPU here, on purpose"; }
