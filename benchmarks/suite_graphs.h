// The benchmark suite's graph files (benchmarks/graphs/*.graph, or the
// directory a benchmark binary is given with --graphs), for the binaries that
// register one benchmark per graph (compile_bench, gpu_bench).
#ifndef SLUICE_BENCHMARKS_SUITE_GRAPHS_H_
#define SLUICE_BENCHMARKS_SUITE_GRAPHS_H_

#include <string>
#include <vector>

namespace sluice::benchmarks {

struct GraphFile {
  std::string path;
  std::string name;  // the file name without ".graph": the benchmark's name
};

// The .graph files directly in `dir`, sorted by path; none when `dir` cannot
// be read.
std::vector<GraphFile> ListGraphFiles(const std::string& dir);

}  // namespace sluice::benchmarks

#endif  // SLUICE_BENCHMARKS_SUITE_GRAPHS_H_
