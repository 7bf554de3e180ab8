#include "runtime/cuda/cubin_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/files.h"

namespace sluice::runtime::cuda {
namespace {

// The entry header; little-endian on every platform sluice runs on.
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  uint64_t key_hi;
  uint64_t key_lo;
  uint64_t payload_size;
  uint64_t payload_checksum;  // the first half of Murmur3x64_128(payload, 0)
};
static_assert(sizeof(Header) == 48, "Header must have no padding");
constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'B'};
// 1: FNV-1a 64 checksum (a multiply per byte); 2: MurmurHash3.
constexpr uint32_t kVersion = 2;

uint64_t Checksum(absl::string_view payload) {
  Murmur3x64_128 h;
  h.Update(payload.data(), payload.size());
  return h.Finish().first;
}

// Reads the file whole: sized from fstat, then read until the end (a file
// that grew meanwhile is read to its end too).
bool ReadWholeFile(const std::string& path, std::string* data) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return false;
  }
  data->resize(static_cast<size_t>(std::max<off_t>(st.st_size, 0)) + 1);
  size_t size = 0;
  bool ok = true;
  while (true) {
    if (size == data->size()) data->resize(2 * data->size());
    const ssize_t n = read(fd, data->data() + size, data->size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    size += static_cast<size_t>(n);
  }
  close(fd);
  data->resize(size);
  return ok;
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  return absl::StrFormat("%d.%d.%08x", getpid(), counter.fetch_add(1), random());
}

}  // namespace


std::string CubinCache::DefaultDir() { return absl::StrCat(CacheRoot(), "/cuda"); }

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
    } else if (header.payload_checksum != Checksum(payload)) {
      problem = "checksum mismatch";
    } else {
      contents.erase(0, sizeof(Header));
      *data = std::move(contents);
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
  header.payload_checksum = Checksum(data);

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
