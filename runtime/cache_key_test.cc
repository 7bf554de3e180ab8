// The cache keys' hash: the reference MurmurHash3 values, any split of the
// bytes, and keys that are stable and tell every part and boundary apart.
#include "runtime/cache_key.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace sluice::runtime {
namespace {

TEST(CacheKey, StableAndSensitiveToEveryPartAndBoundary) {
  const CacheKey key = CacheKey::Of({"source", "sm_90"});
  // The value is fixed: a change orphans every cache entry on disk, so it
  // needs a new key version in the callers (see cache_key.h).
  EXPECT_EQ(key.ToString(), "4211b978dca5f1db40d3ef6267c3a05d");
  EXPECT_EQ(key, CacheKey::Of({"source", "sm_90"}));
  EXPECT_FALSE(key == CacheKey::Of({"source", "sm_80"}));
  EXPECT_FALSE(key == CacheKey::Of({"sourc", "esm_90"}));
  EXPECT_FALSE(key == CacheKey::Of({"source", "sm_90", ""}));
  EXPECT_FALSE(CacheKey::Of({}) == CacheKey::Of({""}));
  EXPECT_EQ(CacheKey::Of({absl::string_view()}), CacheKey::Of({""}));
}

TEST(CacheKey, KnownValue) {
  // MurmurHash3 of nothing with seed 0 is 0.
  EXPECT_EQ(CacheKey::Of({}).ToString(), "00000000000000000000000000000000");
}

// The hash is MurmurHash3_x64_128: SMHasher's VerificationTest (keys
// {}, {0}, {0, 1}, ... {0..254}, key i hashed with seed 256 - i, the 256
// 16-byte hashes hashed with seed 0; the first 4 bytes, little-endian).
TEST(Murmur3x64_128, MatchesTheReferenceImplementation) {
  unsigned char key[256];
  unsigned char hashes[256 * 16];
  for (int i = 0; i < 256; ++i) {
    key[i] = static_cast<unsigned char>(i);
    Murmur3x64_128 h(256 - i);
    h.Update(key, i);
    const auto [h1, h2] = h.Finish();
    std::memcpy(hashes + i * 16, &h1, 8);
    std::memcpy(hashes + i * 16 + 8, &h2, 8);
  }
  Murmur3x64_128 all;
  all.Update(hashes, sizeof(hashes));
  EXPECT_EQ(static_cast<uint32_t>(all.Finish().first), 0x6384BA69u);
}

TEST(Murmur3x64_128, TheSameBytesInAnyPiecesHashTheSame) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  Murmur3x64_128 whole;
  whole.Update(data.data(), data.size());
  for (size_t piece : {1, 3, 15, 16, 17, 100}) {
    Murmur3x64_128 pieces;
    for (size_t at = 0; at < data.size(); at += piece) {
      pieces.Update(data.data() + at, std::min(piece, data.size() - at));
    }
    EXPECT_EQ(pieces.Finish(), whole.Finish()) << piece;
  }
}

}  // namespace
}  // namespace sluice::runtime
