// The bodies of sluice's fuzz targets. The libFuzzer binaries
// (fuzz/parser_fuzzer.cc, fuzz/npy_fuzzer.cc, built with clang by
// fuzz/run_fuzzers.sh) and //fuzz:regressions_test (built by Bazel with gcc,
// no libFuzzer) both call these, so a saved crash and a corpus file run the
// same code in both.
//
// Each function feeds one input to a reader and checks the properties that
// must hold for every input; it returns "" when they hold and a description
// of the broken property otherwise. The fuzzers turn a non-empty answer into
// a crash; memory errors and undefined behaviour are the sanitizers' to catch.
#ifndef SLUICE_FUZZ_FUZZ_TARGETS_H_
#define SLUICE_FUZZ_FUZZ_TARGETS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sluice::fuzz {

// ir::ParseModule on `data`. A rejected input must give an InvalidArgument
// status located as "fuzz.graph:LINE:COL: error: ". An accepted one must pass
// ir::Verify, and print -> parse -> print must reproduce the first print
// exactly (also through Graph::Clone).
std::string CheckParser(absl::string_view data);

// runtime::ParseNpy on `data`. A rejected input must give an InvalidArgument
// status that names the input ("fuzz.npy: "). An accepted one must give a
// defined tensor whose SerializeNpy bytes parse back to the same dtype, shape
// and bytes, and serialize to the same bytes again.
std::string CheckNpy(absl::string_view data);

}  // namespace sluice::fuzz

#endif  // SLUICE_FUZZ_FUZZ_TARGETS_H_
