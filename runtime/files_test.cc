#include "runtime/files.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/scoped_env.h"

namespace sluice::runtime {
namespace {

std::string TestTmp() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

TEST(FilesTest, TempDirIsTmpdirOrTmp) {
  {
    sluice::testing::ScopedEnv env("TMPDIR", "/somewhere/else");
    EXPECT_EQ(TempDir(), "/somewhere/else");
  }
  sluice::testing::ScopedEnv empty("TMPDIR", "");
  EXPECT_EQ(TempDir(), "/tmp");
}

TEST(FilesTest, CacheRootIsSluiceCacheDirOrUnderHome) {
  sluice::testing::ScopedEnv home("HOME", "/home/someone");
  {
    sluice::testing::ScopedEnv dir("SLUICE_CACHE_DIR", "/caches/sluice");
    EXPECT_EQ(CacheRoot(), "/caches/sluice");
  }
  sluice::testing::ScopedEnv unset("SLUICE_CACHE_DIR", "");
  EXPECT_EQ(CacheRoot(), "/home/someone/.cache/sluice");
}

TEST(FilesTest, MakeDirsCreatesParentsAndRefusesAPathBelowAFile) {
  const std::string root = absl::StrCat(TestTmp(), "/files_test_dirs");
  const std::string deep = root + "/a/b/c";
  ASSERT_TRUE(MakeDirs(deep));
  struct stat st;
  ASSERT_EQ(stat(deep.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(MakeDirs(deep));  // already there
  const std::string file = root + "/a/file";
  std::ofstream(file) << "not a directory";
  EXPECT_FALSE(MakeDirs(file + "/below"));
  EXPECT_FALSE(MakeDirs(file));  // exists, but not as a directory
}

}  // namespace
}  // namespace sluice::runtime
