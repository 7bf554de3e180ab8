#include "runtime/kernel_cache.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/scoped_env.h"

namespace sluice::runtime {
namespace {

constexpr char kSource[] = R"(
extern "C" int sluice_test_add(int a, int b) { return a + b; }
)";

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name, "-", getpid());
  std::string cmd = absl::StrCat("rm -rf '", dir, "'");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dir;
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return {"<cannot open " + dir + ">"};
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

int CallAdd(const LoadedLibrary& lib, int a, int b) {
  auto fn = reinterpret_cast<int (*)(int, int)>(lib.Symbol("sluice_test_add"));
  return fn == nullptr ? -1 : fn(a, b);
}

TEST(KernelCacheTest, SecondCompileHitsTheCache) {
  HostCompileOptions o;
  o.cache_dir = FreshDir("hit");
  HostCompileReport r1, r2;
  {
    auto lib = CompileAndLoad(kSource, {"sluice_test_add"}, o, &r1);
    ASSERT_TRUE(lib.ok()) << lib.status();
    EXPECT_EQ(CallAdd(**lib, 2, 3), 5);
  }
  EXPECT_FALSE(r1.cache_hit);
  EXPECT_GT(r1.compile_seconds, 0);
  auto lib = CompileAndLoad(kSource, {"sluice_test_add"}, o, &r2);
  ASSERT_TRUE(lib.ok()) << lib.status();
  EXPECT_TRUE(r2.cache_hit);
  EXPECT_EQ(r2.key, r1.key);
  EXPECT_EQ(r2.compile_seconds, 0);
  EXPECT_EQ(CallAdd(**lib, 4, 5), 9);
}

TEST(KernelCacheTest, KeyDependsOnSourceAndFlags) {
  HostCompileOptions o;
  o.cache_dir = FreshDir("key");
  HostCompileReport a, b, c;
  ASSERT_TRUE(CompileAndLoad(kSource, {}, o, &a).ok());
  ASSERT_TRUE(CompileAndLoad(absl::StrCat(kSource, "// changed\n"), {}, o, &b).ok());
  o.flags = {"-O1", "-shared", "-fPIC"};
  ASSERT_TRUE(CompileAndLoad(kSource, {}, o, &c).ok());
  EXPECT_NE(a.key, b.key);
  EXPECT_NE(a.key, c.key);
}

void Corrupt(const std::string& path, bool truncate) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  ASSERT_GT(data.size(), 1000u);
  if (truncate) {
    data.resize(data.size() / 2);
  } else {
    for (size_t i = 0; i < 64; ++i) data[i] = 'x';
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

TEST(KernelCacheTest, CorruptOrTruncatedEntriesAreRebuilt) {
  for (bool truncate : {true, false}) {
    HostCompileOptions o;
    o.cache_dir = FreshDir(truncate ? "trunc" : "garbage");
    HostCompileReport r1, r2, r3;
    ASSERT_TRUE(CompileAndLoad(kSource, {"sluice_test_add"}, o, &r1).ok());
    Corrupt(r1.library_path, truncate);
    EXPECT_FALSE(LooksLikeCompleteElf(r1.library_path));
    {
      auto lib = CompileAndLoad(kSource, {"sluice_test_add"}, o, &r2);
      ASSERT_TRUE(lib.ok()) << lib.status();
      EXPECT_FALSE(r2.cache_hit);
      EXPECT_TRUE(r2.rebuilt);
      EXPECT_EQ(CallAdd(**lib, 1, 1), 2);
    }
    EXPECT_TRUE(LooksLikeCompleteElf(r1.library_path));
    ASSERT_TRUE(CompileAndLoad(kSource, {"sluice_test_add"}, o, &r3).ok());
    EXPECT_TRUE(r3.cache_hit);
  }
}

TEST(KernelCacheTest, MissingSymbolIsRebuiltAndThenReported) {
  HostCompileOptions o;
  o.cache_dir = FreshDir("symbol");
  HostCompileReport r;
  auto lib = CompileAndLoad(kSource, {"sluice_no_such_kernel"}, o, &r);
  EXPECT_FALSE(lib.ok());
  EXPECT_NE(lib.status().message().find("sluice_no_such_kernel"), std::string::npos);
}

TEST(KernelCacheTest, UnwritableCacheDirStillCompiles) {
  const std::string dir = FreshDir("unwritable");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string file = dir + "/a-file";
  std::ofstream(file) << "not a directory";
  // Where it compiles instead: a fresh $TMPDIR, to see what it leaves there.
  const std::string tmp = FreshDir("unwritable-tmpdir");
  ASSERT_EQ(mkdir(tmp.c_str(), 0755), 0);
  HostCompileOptions o;
  o.cache_dir = file + "/cache";  // below a regular file: cannot exist
  HostCompileReport r;
  auto lib = [&] {
    sluice::testing::ScopedEnv env("TMPDIR", tmp.c_str());
    return CompileAndLoad(kSource, {"sluice_test_add"}, o, &r);
  }();
  ASSERT_TRUE(lib.ok()) << lib.status();
  EXPECT_FALSE(r.cached);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("not writable"), std::string::npos);
  EXPECT_EQ(CallAdd(**lib, 20, 22), 42);
  // The temporary directory it compiled in is gone once the library is
  // loaded (the library stays mapped), and no path to it is reported.
  EXPECT_EQ(r.library_path, "");
  EXPECT_EQ(DirEntries(tmp), std::vector<std::string>{});
}

TEST(KernelCacheTest, CompileErrorsNameTheLinesAndKeepTheSource) {
  HostCompileOptions o;
  o.cache_dir = FreshDir("error");
  HostCompileReport r;
  HostCompileError e;
  auto lib = CompileAndLoad("int ok = 1;\nint broken = ;\n", {}, o, &r, &e);
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(e.log.find("error"), std::string::npos);
  ASSERT_FALSE(e.error_lines.empty()) << e.log;
  EXPECT_EQ(e.error_lines[0], 2);
  std::ifstream kept(e.source_path);
  EXPECT_TRUE(kept.good()) << e.source_path;
}

TEST(KernelCacheTest, ConcurrentProcessesCompilingTheSameSourceBothSucceed) {
  HostCompileOptions o;
  o.cache_dir = FreshDir("concurrent");
  pid_t pids[2];
  for (pid_t& pid : pids) {
    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      HostCompileReport r;
      auto lib = CompileAndLoad(kSource, {"sluice_test_add"}, o, &r);
      _exit(lib.ok() && CallAdd(**lib, 3, 4) == 7 ? 0 : 1);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  HostCompileReport r;
  ASSERT_TRUE(CompileAndLoad(kSource, {"sluice_test_add"}, o, &r).ok());
  EXPECT_TRUE(r.cache_hit);
}

}  // namespace
}  // namespace sluice::runtime
