#include "benchmarks/suite_graphs.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace sluice::benchmarks {

std::vector<GraphFile> ListGraphFiles(const std::string& dir) {
  std::vector<GraphFile> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".graph") {
      files.push_back({e.path().string(), e.path().stem().string()});
    }
  }
  std::sort(files.begin(), files.end(),
            [](const GraphFile& a, const GraphFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace sluice::benchmarks
