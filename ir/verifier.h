// Structural and type verification of a graph: known ops, operand counts,
// attributes, inferred types, unique names, defs before uses, a return.
#ifndef SLUICE_IR_VERIFIER_H_
#define SLUICE_IR_VERIFIER_H_

#include "absl/status/status.h"
#include "ir/graph.h"

namespace sluice::ir {

// OK, or the first problem as a located diagnostic naming the node.
absl::Status Verify(const Graph& graph);

}  // namespace sluice::ir

#endif  // SLUICE_IR_VERIFIER_H_
