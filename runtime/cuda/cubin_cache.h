// A content-addressed on-disk cache for compiled GPU code (cubins), so that a
// warm start loads kernels instead of running NVRTC again.
//
// Entries are files <dir>/<32 hex digits>.cubin holding a small header (magic,
// format version, the key, the payload's size and checksum) and the payload.
// They are written atomically (a unique temporary file in the same directory,
// then rename), so concurrent writers and readers never see half an entry. An
// entry that fails validation (truncated, wrong magic or key, bad checksum) is
// treated as missing and deleted, and the caller rebuilds it.
//
// runtime/kernel_cache.h (the CPU backend's) compiles and dlopens host shared
// libraries in one step, so it does not fit byte blobs; this cache shares its
// directory convention: $SLUICE_CACHE_DIR, else ~/.cache/sluice, with cubins
// in its cuda/ subdirectory.
#ifndef SLUICE_RUNTIME_CUDA_CUBIN_CACHE_H_
#define SLUICE_RUNTIME_CUDA_CUBIN_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sluice::runtime::cuda {

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
// (runtime/cuda/nvrtc.cc: "sluice-nvrtc-cubin-v2").
struct CacheKey {
  uint64_t hi = 0;
  uint64_t lo = 0;

  static CacheKey Of(absl::Span<const absl::string_view> parts);
  std::string ToString() const;  // 32 lowercase hex digits
  bool operator==(const CacheKey& other) const { return hi == other.hi && lo == other.lo; }
};

class CubinCache {
 public:
  // $SLUICE_CACHE_DIR/cuda, else $HOME/.cache/sluice/cuda (/tmp without HOME).
  static std::string DefaultDir();

  // `dir` is created on the first Store().
  explicit CubinCache(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string PathFor(const CacheKey& key) const;

  enum class LookupResult { kHit, kMiss, kCorrupt };
  // Reads the entry for `key` into `*data` (kHit). A missing entry is kMiss; a
  // corrupt one is deleted and reported as kCorrupt (`*why` says what was
  // wrong) so that the caller rebuilds it.
  LookupResult Lookup(const CacheKey& key, std::string* data, std::string* why = nullptr) const;

  // Writes the entry atomically. Errors (an unwritable directory, a full disk)
  // are returned but never leave a partial entry behind.
  absl::Status Store(const CacheKey& key, absl::string_view data) const;

 private:
  std::string dir_;
};

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_CUBIN_CACHE_H_
