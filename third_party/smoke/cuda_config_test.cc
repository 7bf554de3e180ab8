// Checks that @local_cuda's CUDA_FOUND agrees with the filesystem: the rule
// found a toolkit exactly when one is at the path it searched ($CUDA_PATH, else
// /usr/local/cuda). The values come from @local_cuda//:defs.bzl as defines.

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

bool ToolkitAt(const std::string& root) {
  return fs::exists(root + "/bin/nvcc") && fs::exists(root + "/include/cuda.h");
}

TEST(CudaConfigTest, FoundMatchesFilesystem) {
  const std::string searched = SLUICE_CUDA_SEARCH_PATH;
  ASSERT_FALSE(searched.empty());
  EXPECT_EQ(static_cast<bool>(SLUICE_CUDA_FOUND), ToolkitAt(searched))
      << "searched " << searched;
  if (searched == "/usr/local/cuda") {
    // The default location: the answer is about this machine's toolkit.
    EXPECT_EQ(static_cast<bool>(SLUICE_CUDA_FOUND), ToolkitAt("/usr/local/cuda"));
  }
}

TEST(CudaConfigTest, PathAndVersionOnlyWhenFound) {
  const std::string path = SLUICE_CUDA_PATH;
  const std::string version = SLUICE_CUDA_VERSION;
  if (SLUICE_CUDA_FOUND) {
    EXPECT_EQ(path, SLUICE_CUDA_SEARCH_PATH);
    EXPECT_TRUE(fs::exists(path + "/include/cuda.h"));
    // "13.0.88": at least major.minor, digits and dots only.
    ASSERT_GE(version.size(), 3u);
    EXPECT_NE(version.find('.'), std::string::npos) << version;
    EXPECT_EQ(version.find_first_not_of("0123456789."), std::string::npos) << version;
  } else {
    EXPECT_EQ(path, "");
    EXPECT_EQ(version, "");
  }
}

}  // namespace
