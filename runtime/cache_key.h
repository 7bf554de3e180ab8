// Stable 128-bit hashes for on-disk caches: MurmurHash3_x64_128 fed in
// pieces, and CacheKey, the key of a list of strings. Used by the CPU kernel
// cache (runtime/kernel_cache.h) and the cubin cache
// (runtime/cuda/cubin_cache.h).
#ifndef SLUICE_RUNTIME_CACHE_KEY_H_
#define SLUICE_RUNTIME_CACHE_KEY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sluice::runtime {

// MurmurHash3_x64_128 (Austin Appleby's, public domain; SMHasher's
// verification value 0x6384BA69), fed in pieces: the same bytes give the same
// hash however they are split. Stable across processes and builds, unlike
// absl::Hash. It takes 16 bytes a step where the FNV-1a 128 these keys used
// before took a 128-bit multiply per byte: a warm compile's cache lookup
// (key of a 14-22 KB source, checksum of the cubin) went from 42-80 µs to
// 10-19 µs (benchmarks/NOTES.md §10).
class Murmur3x64_128 {
 public:
  explicit Murmur3x64_128(uint32_t seed = 0) : h1_(seed), h2_(seed) {}
  void Update(const void* data, size_t n);
  // {h1, h2}: the reference's output, bytes 0-7 and 8-15 as little-endian.
  std::pair<uint64_t, uint64_t> Finish() const;

 private:
  void Block(const unsigned char* block);

  uint64_t h1_, h2_;
  uint64_t length_ = 0;
  unsigned char buffer_[16] = {};
  size_t pending_ = 0;  // bytes in buffer_
};

// A 128-bit hash (Murmur3x64_128) of a list of strings (each
// length-prefixed, so {"ab", "c"} and {"a", "bc"} differ). Stable across
// processes and builds, unlike absl::Hash. A change of the function orphans
// every entry on disk, so it goes with a new key version in the callers
// (runtime/cuda/nvrtc.cc: "sluice-nvrtc-cubin-v2"; runtime/kernel_cache.cc).
struct CacheKey {
  uint64_t hi = 0;
  uint64_t lo = 0;

  static CacheKey Of(absl::Span<const absl::string_view> parts);
  std::string ToString() const;  // 32 lowercase hex digits
  bool operator==(const CacheKey& other) const { return hi == other.hi && lo == other.lo; }
};

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_CACHE_KEY_H_
