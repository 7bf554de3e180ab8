#include "testing/random.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "glog/logging.h"
#include "ir/dtype.h"

namespace sluice::testing {
namespace {

// Natural log of x > 0 (finite, normal) using only exact scaling and
// + - * /, so the result is the same on every IEEE-754 machine. About 1 ulp.
double PortableLog(double x) {
  int exponent = 0;
  double m = std::frexp(x, &exponent);  // x = m * 2^exponent, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2;
    exponent -= 1;
  }
  // m in [sqrt(1/2), sqrt(2)): log(m) = 2 atanh(s), s = (m-1)/(m+1),
  // |s| < 0.1716, so s^2 < 0.0295 and 14 terms reach far below 1 ulp.
  const double s = (m - 1) / (m + 1);
  const double s2 = s * s;
  double sum = 0;
  for (int k = 27; k >= 1; k -= 2) sum = sum * s2 + 1.0 / k;
  constexpr double kLn2 = 0.69314718055994530942;
  return 2 * s * sum + exponent * kLn2;
}

bool IsFloat(ir::DType dtype) {
  return dtype == ir::DType::kF32 || dtype == ir::DType::kF64 ||
         dtype == ir::DType::kF16 || dtype == ir::DType::kBF16;
}

// Stores an integer exactly for the integer dtypes; other dtypes through
// SetFromDouble.
void SetInt(runtime::Tensor& t, int64_t i, int64_t v) {
  switch (t.dtype()) {
    case ir::DType::kI32:
      t.data_as<int32_t>()[i] = static_cast<int32_t>(v);
      return;
    case ir::DType::kI64:
      t.data_as<int64_t>()[i] = v;
      return;
    case ir::DType::kBool:
      t.data_as<uint8_t>()[i] = v != 0 ? 1 : 0;
      return;
    default:
      t.SetFromDouble(i, static_cast<double>(v));
  }
}

// The smallest integer >= v, saturated to the int64 range.
int64_t CeilToInt(double v) {
  const double c = std::ceil(v);
  if (c <= -9.2e18) return INT64_MIN;
  if (c >= 9.2e18) return INT64_MAX;
  return static_cast<int64_t>(c);
}

}  // namespace

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Rng::Uniform() {
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

double Rng::Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

int64_t Rng::UniformInt(int64_t lo, int64_t hi) {
  CHECK_LE(lo, hi);
  const uint64_t span =
      static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;  // 0: 2^64
  if (span == 0) return static_cast<int64_t>(Next());
  // Rejection keeps the result exactly uniform.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t r;
  do {
    r = Next();
  } while (r >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + r % span);
}

double Rng::Normal() {
  // Marsaglia's polar method (one of the pair is dropped: simpler state).
  for (;;) {
    const double u = Uniform(-1, 1);
    const double v = Uniform(-1, 1);
    const double s = u * u + v * v;
    if (s > 0 && s < 1) return u * std::sqrt(-2 * PortableLog(s) / s);
  }
}

uint64_t MixSeed(uint64_t seed, uint64_t stream) {
  Rng a(seed);
  Rng b(a.Next() ^ (stream * 0xd1b54a32d192ed03ULL));
  return b.Next();
}

runtime::Tensor RandomNormal(const ir::TensorType& type, uint64_t seed,
                             double mean, double stddev) {
  runtime::Tensor t = runtime::Tensor::Zeros(type);
  Rng rng(seed);
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    const double z = rng.Normal();
    if (type.dtype == ir::DType::kBool) {
      SetInt(t, i, z > 0 ? 1 : 0);
    } else if (IsFloat(type.dtype)) {
      t.SetFromDouble(i, mean + stddev * z);
    } else {
      SetInt(t, i, static_cast<int64_t>(std::round(mean + stddev * z)));
    }
  }
  return t;
}

runtime::Tensor RandomUniform(const ir::TensorType& type, uint64_t seed,
                              double lo, double hi) {
  if (type.dtype == ir::DType::kBool) return RandomBools(type, seed, 0.5);
  if (!IsFloat(type.dtype)) {
    return RandomIntegers(type, seed, CeilToInt(lo), CeilToInt(hi));
  }
  CHECK_LT(lo, hi) << "RandomUniform needs lo < hi";
  runtime::Tensor t = runtime::Tensor::Zeros(type);
  Rng rng(seed);
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    int attempts = 0;
    for (;;) {
      t.SetFromDouble(i, rng.Uniform(lo, hi));
      const double stored = t.GetAsDouble(i);
      if (stored >= lo && stored < hi) break;
      CHECK_LT(++attempts, 1000)
          << "no " << ir::DTypeName(type.dtype) << " value in [" << lo << ", "
          << hi << ")";
    }
  }
  return t;
}

runtime::Tensor RandomPositive(const ir::TensorType& type, uint64_t seed) {
  return RandomInDomain(type, seed, InputDomain::kPositive);
}

runtime::Tensor RandomIntegers(const ir::TensorType& type, uint64_t seed,
                               int64_t lo, int64_t hi) {
  CHECK_LT(lo, hi) << "RandomIntegers needs lo < hi";
  runtime::Tensor t = runtime::Tensor::Zeros(type);
  Rng rng(seed);
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) SetInt(t, i, rng.UniformInt(lo, hi - 1));
  return t;
}

runtime::Tensor RandomBools(const ir::TensorType& type, uint64_t seed,
                            double p_true) {
  runtime::Tensor t = runtime::Tensor::Zeros(type);
  Rng rng(seed);
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) SetInt(t, i, rng.Bernoulli(p_true) ? 1 : 0);
  return t;
}

runtime::Tensor RandomInDomain(const ir::TensorType& type, uint64_t seed,
                               InputDomain domain) {
  const bool is_float = IsFloat(type.dtype);
  if (type.dtype == ir::DType::kBool) {
    if (domain == InputDomain::kAny) return RandomBools(type, seed, 0.5);
    return RandomBools(type, seed, 1.0);
  }
  switch (domain) {
    case InputDomain::kAny:
      return is_float ? RandomNormal(type, seed)
                      : RandomIntegers(type, seed, -10, 10);
    case InputDomain::kPositive:
      return is_float ? RandomUniform(type, seed, 0.5, 2.0)
                      : RandomIntegers(type, seed, 1, 10);
    case InputDomain::kNonZero: {
      runtime::Tensor t = is_float ? RandomUniform(type, seed, 0.5, 2.0)
                                   : RandomIntegers(type, seed, 1, 10);
      // Signs from their own stream so the magnitudes match kPositive's.
      Rng signs(MixSeed(seed, 1));
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        if (signs.Bernoulli(0.5)) t.SetFromDouble(i, -t.GetAsDouble(i));
      }
      return t;
    }
  }
  return runtime::Tensor::Zeros(type);
}

std::vector<InputDomain> InputDomains(const ir::Graph& graph) {
  // Walk the calls backwards, pushing each node's requirement to the
  // operands that feed it unchanged.
  absl::flat_hash_map<const ir::Node*, InputDomain> need;
  auto require = [&need](const ir::Node* node, InputDomain d) {
    if (node == nullptr || d == InputDomain::kAny) return;
    InputDomain& cur = need[node];
    if (d == InputDomain::kPositive || cur == InputDomain::kAny) cur = d;
  };
  auto get = [&need](const ir::Node* node) {
    auto it = need.find(node);
    return it == need.end() ? InputDomain::kAny : it->second;
  };
  const std::vector<ir::Node*> calls = graph.calls();
  for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
    const ir::Node* node = *it;
    const std::string& op = node->op();
    if (op == "log" || op == "sqrt" || op == "rsqrt" || op == "pow") {
      require(node->operand_node(0), InputDomain::kPositive);
    } else if (op == "reciprocal") {
      require(node->operand_node(0), InputDomain::kNonZero);
    } else if (op == "div" && node->num_operands() == 2) {
      require(node->operand_node(1), InputDomain::kNonZero);
    }
    const InputDomain mine = get(node);
    if (mine == InputDomain::kAny) continue;
    if (op == "reshape" || op == "permute" || op == "transpose" ||
        op == "expand" || op == "slice" || op == "squeeze" ||
        op == "unsqueeze" || op == "concat") {
      for (int i = 0; i < node->num_operands(); ++i) {
        require(node->operand_node(i), mine);
      }
    } else if (op == "where" && node->num_operands() == 3) {
      require(node->operand_node(1), mine);
      require(node->operand_node(2), mine);
    } else if (op == "cast" && node->operand_node(0) != nullptr &&
               IsFloat(node->dtype()) &&
               IsFloat(node->operand_node(0)->dtype())) {
      require(node->operand_node(0), mine);
    }
  }
  std::vector<InputDomain> domains;
  domains.reserve(graph.inputs().size());
  for (const ir::Node* input : graph.inputs()) domains.push_back(get(input));
  return domains;
}

std::vector<runtime::Tensor> RandomInputs(const ir::Graph& graph,
                                          uint64_t seed) {
  const std::vector<InputDomain> domains = InputDomains(graph);
  std::vector<runtime::Tensor> inputs;
  inputs.reserve(domains.size());
  for (size_t i = 0; i < domains.size(); ++i) {
    inputs.push_back(
        RandomInDomain(graph.inputs()[i]->type(), MixSeed(seed, i), domains[i]));
  }
  return inputs;
}

}  // namespace sluice::testing
