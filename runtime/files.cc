#include "runtime/files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace sluice::runtime {
namespace {

// The environment variable `name` when set and non-empty, else `otherwise`.
std::string EnvOr(const char* name, const char* otherwise) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : otherwise;
}

}  // namespace

std::string TempDir() { return EnvOr("TMPDIR", "/tmp"); }

std::string CacheRoot() {
  const std::string dir = EnvOr("SLUICE_CACHE_DIR", "");
  if (!dir.empty()) return dir;
  return absl::StrCat(EnvOr("HOME", "/tmp"), "/.cache/sluice");
}

bool MakeDirs(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) break;
  }
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace sluice::runtime
