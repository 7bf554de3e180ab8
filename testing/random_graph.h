// A seeded generator of random, valid, numerically tame sluice graphs for
// differential property tests (compiled graph vs. the reference
// interpreter), plus random should_fallback masks over their call nodes.
//
// Every call type-checks by construction: operands are picked or made with
// compatible shapes and dtypes (broadcast partners by setting dims to 1 or
// reducing with keepdim, matmul partners by transposing a value with the same
// inner dim, layer_norm weights of the normalized shape, ...). The graphs are
// also built to compare well under a tolerance on inputs from RandomInputs
// (testing/random.h):
//   - log, sqrt, rsqrt, reciprocal and pow bases see abs(x) + 1, or a graph
//     input directly (RandomInputs then draws it positive or non-zero);
//     divisors likewise;
//   - exp, sin and cos see values bounded by a power-of-two rescaling (exact),
//     and any float value whose estimated magnitude grows past 16 is rescaled
//     the same way, so nothing overflows (f16 included) or loses absolute
//     precision;
//   - discontinuous ops (comparisons, float-to-int/bool casts, argmax, where's
//     condition) only see "exact" values: inputs and what exact ops (neg, abs,
//     relu, maximum, minimum, layout, amax, amin, casts, integer arithmetic,
//     power-of-two scaling) make of them, which any correct implementation
//     computes bit for bit;
//   - layer_norm and rms_norm only normalize at least 4 elements along which
//     the values vary (not rows that are constant by broadcasting, whose
//     spread is rounding noise that 1/sqrt(eps) would amplify).
#ifndef SLUICE_TESTING_RANDOM_GRAPH_H_
#define SLUICE_TESTING_RANDOM_GRAPH_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/dtype.h"
#include "ir/graph.h"

namespace sluice::testing {

struct RandomGraphOptions {
  // Generation steps. A step adds one op of a family, plus the helper nodes
  // it needs (abs/add guards, rescaling, transposes, casts), so the graph
  // usually has more call nodes than this.
  int num_nodes = 8;
  // Op families to draw from (at least one must be on).
  bool elementwise = true;   // unary, binary (with literals), compare,
                             // logical, where, cast
  bool broadcasting = true;  // binary ops on operands of different shapes
  bool reductions = true;    // sum mean amax amin argmax
  bool composites = true;    // softmax log_softmax layer_norm rms_norm
  bool layout = true;        // reshape permute transpose expand slice concat
                             // squeeze unsqueeze
  bool matmul = true;
  // Dtypes of the graph inputs and of cast targets. Float-only ops on a graph
  // without a float dtype get f32 inputs. Comparisons still make bool values
  // and argmax i64 ones.
  std::vector<ir::DType> dtypes = {ir::DType::kF32};
  int max_rank = 3;
  int64_t max_dim = 8;
};

// A verified graph named "random_<seed>" with inputs %x0, %x1, ... (inputs
// may be added at any step: weights, broadcast and matmul partners), call
// nodes %v0, %v1, ... and 1-3 outputs (the last node, then preferably nodes
// nothing else uses). The same seed and options give the same graph on every
// platform. InvalidArgument for unusable options; Internal if the generator
// made an invalid call (a bug: the message names the seed and the call).
absl::StatusOr<ir::Graph> RandomGraph(uint64_t seed,
                                      const RandomGraphOptions& options = {});

// One byte per call node of `graph` (in graph.calls() order), 1 with
// probability p.
std::vector<uint8_t> RandomFallbackMask(const ir::Graph& graph, uint64_t seed,
                                        double p);

// Sets meta should_fallback = true on every call node whose mask byte is
// non-zero. `mask` must have one byte per call node.
void ApplyFallbackMask(ir::Graph& graph, const std::vector<uint8_t>& mask);

}  // namespace sluice::testing

#endif  // SLUICE_TESTING_RANDOM_GRAPH_H_
