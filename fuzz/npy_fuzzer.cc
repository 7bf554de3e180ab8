// libFuzzer target for the .npy reader: ParseNpy must reject bad input with an
// InvalidArgument error naming it, and every tensor it accepts must survive
// SerializeNpy -> ParseNpy bit for bit (fuzz_targets.h). Built with clang by
// fuzz/run_fuzzers.sh; Bazel's //fuzz:regressions_test runs the same CheckNpy
// on every saved crash and corpus file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem =
      sluice::fuzz::CheckNpy({reinterpret_cast<const char*>(data), size});
  if (!problem.empty()) {
    std::fprintf(stderr, "npy_fuzzer: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
