#include "runtime/cuda/cubin_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sluice::runtime::cuda {
namespace {

using uint128 = unsigned __int128;

// FNV-1a, 128-bit: offset basis 0x6c62272e07bb014262b821756295c58d, prime
// 2^88 + 2^8 + 0x3b.
constexpr uint128 kFnv128Offset =
    (static_cast<uint128>(0x6c62272e07bb0142ull) << 64) | 0x62b821756295c58dull;
constexpr uint128 kFnv128Prime = (static_cast<uint128>(1) << 88) | 0x13b;

void Fnv128(uint128* h, const void* data, size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    *h ^= bytes[i];
    *h *= kFnv128Prime;
  }
}

uint64_t Fnv64(absl::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The entry header; little-endian on every platform sluice runs on.
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  uint64_t key_hi;
  uint64_t key_lo;
  uint64_t payload_size;
  uint64_t payload_fnv64;
};
static_assert(sizeof(Header) == 48, "Header must have no padding");
constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'B'};
constexpr uint32_t kVersion = 1;

bool MakeDirs(const std::string& path) {
  std::string prefix;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    prefix = path.substr(0, slash);
    if (!prefix.empty() && mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
    start = slash + 1;
  }
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool ReadWholeFile(const std::string& path, std::string* data) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  data->clear();
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) data->append(buffer, n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  return absl::StrFormat("%d.%d.%08x", getpid(), counter.fetch_add(1), random());
}

}  // namespace

CacheKey CacheKey::Of(absl::Span<const absl::string_view> parts) {
  uint128 h = kFnv128Offset;
  for (absl::string_view part : parts) {
    const uint64_t size = part.size();
    Fnv128(&h, &size, sizeof(size));
    Fnv128(&h, part.data(), part.size());
  }
  return CacheKey{static_cast<uint64_t>(h >> 64), static_cast<uint64_t>(h)};
}

std::string CacheKey::ToString() const { return absl::StrFormat("%016x%016x", hi, lo); }

std::string CubinCache::DefaultDir() {
  if (const char* dir = std::getenv("SLUICE_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return absl::StrCat(dir, "/cuda");
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr && *home != '\0' ? home : "/tmp", "/.cache/sluice/cuda");
}

std::string CubinCache::PathFor(const CacheKey& key) const {
  return absl::StrCat(dir_, "/", key.ToString(), ".cubin");
}

CubinCache::LookupResult CubinCache::Lookup(const CacheKey& key, std::string* data,
                                            std::string* why) const {
  const std::string path = PathFor(key);
  std::string contents;
  if (!ReadWholeFile(path, &contents)) return LookupResult::kMiss;

  std::string problem;
  Header header;
  if (contents.size() < sizeof(Header)) {
    problem = absl::StrCat("only ", contents.size(), " bytes, shorter than the header");
  } else {
    std::memcpy(&header, contents.data(), sizeof(Header));
    const absl::string_view payload = absl::string_view(contents).substr(sizeof(Header));
    if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) {
      problem = "bad magic";
    } else if (header.version != kVersion) {
      problem = absl::StrCat("format version ", header.version, ", expected ", kVersion);
    } else if (header.key_hi != key.hi || header.key_lo != key.lo) {
      problem = "the key in the entry does not match its file name";
    } else if (header.payload_size != payload.size()) {
      problem = absl::StrCat("payload of ", payload.size(), " bytes, header says ",
                             header.payload_size);
    } else if (header.payload_fnv64 != Fnv64(payload)) {
      problem = "checksum mismatch";
    } else {
      data->assign(payload.data(), payload.size());
      return LookupResult::kHit;
    }
  }
  if (why != nullptr) *why = absl::StrCat(path, ": ", problem);
  // A later Store() replaces it anyway; deleting now keeps a reader that
  // races with us from tripping over it again.
  std::remove(path.c_str());
  return LookupResult::kCorrupt;
}

absl::Status CubinCache::Store(const CacheKey& key, absl::string_view data) const {
  if (!MakeDirs(dir_)) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create cache directory ", dir_, ": ", std::strerror(errno)));
  }
  Header header;
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.reserved = 0;
  header.key_hi = key.hi;
  header.key_lo = key.lo;
  header.payload_size = data.size();
  header.payload_fnv64 = Fnv64(data);

  const std::string path = PathFor(key);
  const std::string temp = absl::StrCat(dir_, "/.tmp.", key.ToString(), ".", UniqueSuffix());
  FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", temp, ": ", std::strerror(errno)));
  }
  bool ok = std::fwrite(&header, sizeof(header), 1, f) == 1 &&
            (data.empty() || std::fwrite(data.data(), data.size(), 1, f) == 1);
  ok = (std::fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    const int error = errno;
    std::remove(temp.c_str());
    return absl::InternalError(absl::StrCat("writing ", temp, " failed: ", std::strerror(error)));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temp.c_str());
    return absl::InternalError(
        absl::StrCat("renaming ", temp, " to ", path, " failed: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace sluice::runtime::cuda
