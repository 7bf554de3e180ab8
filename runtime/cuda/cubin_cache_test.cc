// The cubin cache: stable keys, round trips, atomic writes, and every kind of
// corrupt entry detected, deleted and reported so that it is rebuilt.
#include "runtime/cuda/cubin_cache.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::HasSubstr;
using LookupResult = CubinCache::LookupResult;

std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/cubin_cache_test_", name);
  EXPECT_EQ(std::system(absl::StrCat("rm -rf '", dir, "'").c_str()), 0);
  return dir;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

TEST(CubinCache, MissThenHitAfterStore) {
  const CubinCache cache(TestDir("roundtrip") + "/nested/dir");
  const CacheKey key = CacheKey::Of({"k"});
  std::string data;
  EXPECT_EQ(cache.Lookup(key, &data), LookupResult::kMiss);
  const std::string payload("\x7f" "ELF\0binary\xff", 12);
  ASSERT_TRUE(cache.Store(key, payload).ok());
  ASSERT_EQ(cache.Lookup(key, &data), LookupResult::kHit);
  EXPECT_EQ(data, payload);
  // Only the entry is left: no temporary files.
  EXPECT_THAT(ListDir(cache.dir()), ::testing::ElementsAre(key.ToString() + ".cubin"));
  // An empty payload is a valid entry too.
  const CacheKey empty_key = CacheKey::Of({"empty"});
  ASSERT_TRUE(cache.Store(empty_key, "").ok());
  EXPECT_EQ(cache.Lookup(empty_key, &data), LookupResult::kHit);
  EXPECT_EQ(data, "");
}

TEST(CubinCache, StoreReplacesAnExistingEntry) {
  const CubinCache cache(TestDir("replace"));
  const CacheKey key = CacheKey::Of({"k"});
  ASSERT_TRUE(cache.Store(key, "old").ok());
  ASSERT_TRUE(cache.Store(key, "new payload").ok());
  std::string data;
  ASSERT_EQ(cache.Lookup(key, &data), LookupResult::kHit);
  EXPECT_EQ(data, "new payload");
}

struct Corruption {
  std::string name;
  std::string (*apply)(const std::string& entry);
  std::string expected_why;
};

class CubinCacheCorruption : public ::testing::TestWithParam<Corruption> {};

TEST_P(CubinCacheCorruption, IsDetectedDeletedAndReported) {
  const CubinCache cache(TestDir("corrupt_" + GetParam().name));
  const CacheKey key = CacheKey::Of({"kernel source", GetParam().name});
  ASSERT_TRUE(cache.Store(key, std::string(1000, 'x') + "tail").ok());
  const std::string path = cache.PathFor(key);
  WriteFile(path, GetParam().apply(ReadFile(path)));

  std::string data = "untouched";
  std::string why;
  EXPECT_EQ(cache.Lookup(key, &data, &why), LookupResult::kCorrupt);
  EXPECT_THAT(why, HasSubstr(path));
  EXPECT_THAT(why, HasSubstr(GetParam().expected_why));
  EXPECT_EQ(data, "untouched");
  // Deleted, so the next lookup is a plain miss, and a rebuild can store it.
  EXPECT_EQ(cache.Lookup(key, &data), LookupResult::kMiss);
  ASSERT_TRUE(cache.Store(key, "rebuilt").ok());
  EXPECT_EQ(cache.Lookup(key, &data), LookupResult::kHit);
  EXPECT_EQ(data, "rebuilt");
}

INSTANTIATE_TEST_SUITE_P(
    All, CubinCacheCorruption,
    ::testing::Values(
        Corruption{"truncated_payload",
                   [](const std::string& e) { return e.substr(0, e.size() - 10); },
                   "header says"},
        Corruption{"truncated_header", [](const std::string& e) { return e.substr(0, 20); },
                   "shorter than the header"},
        Corruption{"empty_file", [](const std::string&) { return std::string(); },
                   "shorter than the header"},
        Corruption{"flipped_payload_byte",
                   [](const std::string& e) {
                     std::string c = e;
                     c[c.size() - 2] ^= 0x20;
                     return c;
                   },
                   "checksum mismatch"},
        Corruption{"bad_magic",
                   [](const std::string& e) {
                     std::string c = e;
                     c[0] = 'X';
                     return c;
                   },
                   "bad magic"},
        Corruption{"other_key",
                   [](const std::string& e) {
                     std::string c = e;
                     c[17] ^= 1;  // inside key_hi
                     return c;
                   },
                   "key in the entry does not match"},
        Corruption{"appended_garbage", [](const std::string& e) { return e + "garbage"; },
                   "header says"}),
    [](const ::testing::TestParamInfo<Corruption>& info) { return info.param.name; });

TEST(CubinCache, UnwritableDirectoryIsAnErrorNotACrash) {
  const std::string file = TestDir("not_a_dir");
  WriteFile(file, "I am a file");
  const CubinCache cache(file + "/sub");
  absl::Status status = cache.Store(CacheKey::Of({"k"}), "data");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("cannot create cache directory"));
}

TEST(CubinCache, ConcurrentWritersLeaveOneValidEntry) {
  const CubinCache cache(TestDir("concurrent"));
  const CacheKey key = CacheKey::Of({"shared"});
  const std::string payload(200000, 'p');
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        EXPECT_TRUE(cache.Store(key, payload).ok());
        std::string data;
        // A reader racing with writers sees a whole entry or none, never a
        // partial one (which would be reported as corrupt).
        const LookupResult result = cache.Lookup(key, &data);
        EXPECT_NE(result, LookupResult::kCorrupt);
        if (result == LookupResult::kHit) {
          EXPECT_EQ(data, payload);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::string data;
  ASSERT_EQ(cache.Lookup(key, &data), LookupResult::kHit);
  EXPECT_EQ(data, payload);
  EXPECT_EQ(ListDir(cache.dir()).size(), 1u);
}

TEST(CubinCache, DefaultDirFollowsSluiceCacheDir) {
  setenv("SLUICE_CACHE_DIR", "/some/cache", 1);
  EXPECT_EQ(CubinCache::DefaultDir(), "/some/cache/cuda");
  unsetenv("SLUICE_CACHE_DIR");
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(CubinCache::DefaultDir(), "/home/someone/.cache/sluice/cuda");
}

}  // namespace
}  // namespace sluice::runtime::cuda
