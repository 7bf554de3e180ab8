#ifndef SLUICE_RUNTIME_FILES_H_
#define SLUICE_RUNTIME_FILES_H_

// Where the runtime's caches and scratch files live, shared by the host
// kernel cache (runtime/kernel_cache.h) and the CUDA cubin cache and NVRTC
// (runtime/cuda/).

#include <string>

namespace sluice::runtime {

// $TMPDIR when set and non-empty, else /tmp.
std::string TempDir();

// The root of sluice's caches: $SLUICE_CACHE_DIR when set and non-empty,
// else $HOME/.cache/sluice (/tmp/.cache/sluice without a HOME).
std::string CacheRoot();

// Creates `path` and its missing parents (0755; existing ones are fine).
// True when `path` is a directory afterwards.
bool MakeDirs(const std::string& path);

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_FILES_H_
