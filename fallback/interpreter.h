// The reference interpreter: runs a whole graph node by node on the fallback
// kernels ("eager" mode), materializing every value. It is the numerical
// reference that compiled graphs are compared against.
#ifndef SLUICE_FALLBACK_INTERPRETER_H_
#define SLUICE_FALLBACK_INTERPRETER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::fallback {

// Runs `graph` on `inputs` (one per graph input, in order) and returns its
// outputs in order. Checks the input count, and each input's dtype and shape
// (errors name the input). Intermediate values are freed after their last
// use. An output that is a graph input shares that input's storage.
absl::StatusOr<std::vector<runtime::Tensor>> RunReference(
    const ir::Graph& graph, absl::Span<const runtime::Tensor> inputs);

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_INTERPRETER_H_
