// Differential testing: run a graph through the code under test (any
// compile-and-run function) and through the reference interpreter
// (fallback::RunReference), and compare every output with AllClose.
//
//   EXPECT_TRUE(CompiledMatchesReference(graph, inputs, run));
//
// A mismatch message holds everything needed to replay the failure: the
// printed graph (with its should_fallback marks), the inputs (their seed
// when they came from RandomInputs, and the values of small ones), and per
// output the AllClose details and both tensors.
//
// Default tolerances (DifferentialTolerance) are torch.testing's widened for
// compiled code, which may fuse long chains, keep intermediates in registers
// at higher precision and reassociate reductions:
//   f32  rtol 1e-5, atol 1e-5
//   f64  rtol 1e-7, atol 1e-7 (torch's default is already loose enough)
//   f16  rtol 1e-2, atol 1e-2
//   bf16 rtol 5e-2, atol 5e-2
//   integers and bool: exact
// NaN matches NaN (the compiled code must reproduce the reference's NaNs).
// A float output gets the loosest tolerance among the float dtypes of the
// values it is computed from (its fan-in, graph inputs included): an f32
// result of an f16 computation is only as accurate as f16. Integer and bool
// outputs are compared exactly; graphs that round computed floats to them
// should pass an explicit tolerance.
#ifndef SLUICE_TESTING_DIFFERENTIAL_H_
#define SLUICE_TESTING_DIFFERENTIAL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "runtime/tensor.h"
#include "testing/allclose.h"

namespace sluice::testing {

// Compiles (or otherwise executes) `graph` and runs it on `inputs`, returning
// the outputs in graph order.
using CompileAndRunFn = std::function<absl::StatusOr<std::vector<runtime::Tensor>>(
    const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs)>;

// DifferentialTolerance and OutputTolerance (testing/compare.h) give the
// default tolerances described above.

// Runs the reference and `run` and compares all outputs. `tol`, when given,
// applies to every output instead of OutputTolerance. Errors (each message
// ends with the replay information):
//   - the reference's error, as is, when it cannot run the graph on `inputs`;
//   - `run`'s error, with its code, prefixed "compiled run failed";
//   - Internal when `run` returns the wrong number of outputs, changes an
//     input tensor, or any output differs from the reference's.
absl::Status CompareWithReference(const ir::Graph& graph,
                                  const std::vector<runtime::Tensor>& inputs,
                                  const CompileAndRunFn& run,
                                  std::optional<Tolerance> tol = std::nullopt);

// CompareWithReference on RandomInputs(graph, seed); the seed is in the
// message.
absl::Status CompareWithReferenceOnRandomInputs(
    const ir::Graph& graph, uint64_t seed, const CompileAndRunFn& run,
    std::optional<Tolerance> tol = std::nullopt);

// gtest forms: EXPECT_TRUE(CompiledMatchesReference(graph, inputs, run)).
::testing::AssertionResult CompiledMatchesReference(
    const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs,
    const CompileAndRunFn& run, std::optional<Tolerance> tol = std::nullopt);
::testing::AssertionResult CompiledMatchesReferenceOnRandomInputs(
    const ir::Graph& graph, uint64_t seed, const CompileAndRunFn& run,
    std::optional<Tolerance> tol = std::nullopt);

}  // namespace sluice::testing

#endif  // SLUICE_TESTING_DIFFERENTIAL_H_
