// libFuzzer target for the sluice text parser and verifier: any input that
// parses must verify and survive print -> parse -> print unchanged; any input
// that does not must get a located InvalidArgument error (fuzz_targets.h).
// Built with clang by fuzz/run_fuzzers.sh; Bazel's //fuzz:regressions_test
// runs the same CheckParser on every saved crash and corpus file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem =
      sluice::fuzz::CheckParser({reinterpret_cast<const char*>(data), size});
  if (!problem.empty()) {
    std::fprintf(stderr, "parser_fuzzer: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
