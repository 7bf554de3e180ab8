// Seeded random host tensors for tests, identical on every run, compiler and
// platform: the generator is our own (splitmix64), normal draws use the polar
// method with a logarithm computed here from + - * / and sqrt only (libm's
// log and std::normal_distribution are not specified bit for bit), and the
// library is built with -ffp-contract=off so no FMA changes a rounding.
//
// Every function takes the full TensorType and fills all elements in
// row-major order from one stream seeded by `seed`.
#ifndef SLUICE_TESTING_RANDOM_H_
#define SLUICE_TESTING_RANDOM_H_

#include <cstdint>
#include <vector>

#include "ir/graph.h"
#include "ir/shape.h"
#include "runtime/tensor.h"

namespace sluice::testing {

// splitmix64: tiny, fast, passes BigCrush, and every 64-bit seed gives a
// distinct well-mixed stream.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next();
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi);
  // Uniform integer in [lo, hi], both inclusive; lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Uniform in [0, n); n > 0.
  int64_t Index(int64_t n) { return UniformInt(0, n - 1); }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Standard normal.
  double Normal();

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Index(static_cast<int64_t>(v.size())))];
  }

 private:
  uint64_t state_;
};

// An independent seed for sub-stream `stream` of `seed` (for example one per
// graph input), so adding a stream does not shift the others.
uint64_t MixSeed(uint64_t seed, uint64_t stream);

// mean + stddev * N(0, 1). Integer dtypes get the draw rounded to the nearest
// integer; bool is true where the draw exceeds the mean.
runtime::Tensor RandomNormal(const ir::TensorType& type, uint64_t seed,
                             double mean = 0, double stddev = 1);

// Floating point: uniform in [lo, hi), still inside [lo, hi) after rounding
// to the dtype (draws that round out are redrawn); lo < hi and the interval
// must hold a value of the dtype. Integer dtypes: the integers x with
// lo <= x < hi, uniformly. Bool: a fair coin.
runtime::Tensor RandomUniform(const ir::TensorType& type, uint64_t seed,
                              double lo, double hi);

// Values safe for log, sqrt, rsqrt, reciprocal and a pow base: floats
// uniform in [0.5, 2), integers in [1, 10), bool all true.
runtime::Tensor RandomPositive(const ir::TensorType& type, uint64_t seed);

// Uniform integers in [lo, hi) (like torch.randint), stored in any dtype:
// floating point dtypes hold them as values (exact while they fit the
// mantissa), bool as x != 0.
runtime::Tensor RandomIntegers(const ir::TensorType& type, uint64_t seed,
                               int64_t lo, int64_t hi);

// True with probability p_true; non-bool dtypes hold 1 and 0.
runtime::Tensor RandomBools(const ir::TensorType& type, uint64_t seed,
                            double p_true = 0.5);

// How RandomInputs fills one graph input (exposed for tests and for callers
// that want to generate a single input the same way).
enum class InputDomain {
  kAny,      // float N(0, 1); integers in [-10, 10); bool coin flips
  kNonZero,  // |x| in [0.5, 2) with a random sign; integers ±[1, 10); bool true
  kPositive, // RandomPositive
};

// The domain each graph input needs (indexed like graph.inputs()): kPositive
// where the value reaches log, sqrt or rsqrt, or is a pow base; kNonZero where
// it reaches a div divisor or reciprocal. "Reaches" looks through ops that
// only move or copy values (reshape, permute, transpose, expand, slice,
// concat, squeeze, unsqueeze, where's value operands, float-to-float cast).
std::vector<InputDomain> InputDomains(const ir::Graph& graph);

runtime::Tensor RandomInDomain(const ir::TensorType& type, uint64_t seed,
                               InputDomain domain);

// One tensor per graph input, input i drawn from MixSeed(seed, i) in the
// domain InputDomains picks for it.
std::vector<runtime::Tensor> RandomInputs(const ir::Graph& graph, uint64_t seed);

}  // namespace sluice::testing

#endif  // SLUICE_TESTING_RANDOM_H_
