// Checks that @glog links (glog + gflags) and that its checks and flags work.

#include <string>

#include "gflags/gflags.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace {

TEST(GlogSmokeTest, LogsAndVerbosityFlag) {
  LOG(INFO) << "glog smoke test";
  FLAGS_v = 2;
  EXPECT_TRUE(VLOG_IS_ON(2));
  EXPECT_FALSE(VLOG_IS_ON(3));
  // glog's flags are gflags flags, reachable by name.
  std::string v;
  ASSERT_TRUE(google::GetCommandLineOption("v", &v));
  EXPECT_EQ(v, "2");
}

TEST(GlogSmokeTest, CheckFailureAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CHECK_EQ(1 + 1, 3) << "arithmetic", "Check failed: 1 \\+ 1 == 3");
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return RUN_ALL_TESTS();
}
