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
#include "runtime/cache_key.h"
#include "absl/types/span.h"

namespace sluice::runtime::cuda {

// The cache's keys (runtime/cache_key.h, shared with the CPU kernel cache).
using ::sluice::runtime::CacheKey;
using ::sluice::runtime::Murmur3x64_128;

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
