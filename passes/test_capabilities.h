// Capability tables for tests (test-only): a backend that lowers every op,
// and ones that lower all but given ops or dtypes, or pick a library call for
// some ops, so tests can exercise DESIGN §3 rules 2, 5 and 7 without a real
// code generator.
#ifndef SLUICE_PASSES_TEST_CAPABILITIES_H_
#define SLUICE_PASSES_TEST_CAPABILITIES_H_

#include <string>

#include "absl/container/flat_hash_set.h"
#include "ir/dtype.h"
#include "passes/lowering_plan.h"

namespace sluice::passes {

struct TestBackendSpec {
  std::string backend = "test";
  // kFallback with "backend '<b>' has no lowering for <op>".
  absl::flat_hash_set<std::string> unsupported_ops;
  // kFallback for nodes whose result has one of these dtypes.
  absl::flat_hash_set<ir::DType> unsupported_dtypes;
  // kLibrary (like a backend that calls cuBLAS for matmul).
  absl::flat_hash_set<std::string> library_ops;
  // Which reductions split-reduction splits (default: none).
  SplitReductionParams split_reduction;
};

// Everything not named in `spec` is kLower.
BackendCapabilities MakeTestCapabilities(TestBackendSpec spec);

// Every op on every dtype is kLower.
BackendCapabilities AllLowerable(std::string backend = "test");

// Every op but `unsupported_ops` is kLower.
BackendCapabilities WithoutLowerings(std::string backend,
                                     absl::flat_hash_set<std::string> unsupported_ops);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_TEST_CAPABILITIES_H_
