// ---- sluice CPU kernel prologue (codegen/cpu/prologue.template.cc) ----
// Helpers every generated CPU translation unit starts with: f16/bf16 storage
// conversions (values are computed in f32), NaN-propagating max/min, integer
// pow and index min/max.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

// glibc's vector math library (libmvec): declaring the simd clones lets
// `#pragma omp simd` loops call vectorized exp/log/tanh/... instead of one
// scalar call per element. The host compile links -lmvec when it is there
// and defines SLUICE_NO_MVEC otherwise.
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(SLUICE_NO_MVEC) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define SLUICE_SIMD_FN __attribute__((__simd__("notinbranch")))
extern "C" {
float expf(float) SLUICE_SIMD_FN;
float logf(float) SLUICE_SIMD_FN;
float sinf(float) SLUICE_SIMD_FN;
float cosf(float) SLUICE_SIMD_FN;
float tanhf(float) SLUICE_SIMD_FN;
float erff(float) SLUICE_SIMD_FN;
float powf(float, float) SLUICE_SIMD_FN;
double exp(double) SLUICE_SIMD_FN;
double log(double) SLUICE_SIMD_FN;
double sin(double) SLUICE_SIMD_FN;
double cos(double) SLUICE_SIMD_FN;
double tanh(double) SLUICE_SIMD_FN;
double erf(double) SLUICE_SIMD_FN;
double pow(double, double) SLUICE_SIMD_FN;
}
#endif

namespace {

#if defined(__FLT16_MAX__)
inline float sl_h2f(uint16_t h) {
  _Float16 x;
  std::memcpy(&x, &h, 2);
  return static_cast<float>(x);
}
inline uint16_t sl_f2h(float f) {
  const _Float16 x = static_cast<_Float16>(f);
  uint16_t h;
  std::memcpy(&h, &x, 2);
  return h;
}
#else
inline float sl_h2f(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    const float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t sl_f2h(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (ax < 0x38800000u) {  // subnormal or zero in half
    const float v = std::fabs(f) * 16777216.0f;  // 2^24
    const float r = std::nearbyint(v);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(r));
  }
  const uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}
#endif

inline float sl_bf2f(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t sl_f2bf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float sl_round_h(float f) { return sl_h2f(sl_f2h(f)); }
inline float sl_round_bf(float f) { return sl_bf2f(sl_f2bf(f)); }

template <typename T>
inline T sl_maximum(T a, T b) {
  return (a != a) ? a : (b != b) ? b : (a > b ? a : b);
}
template <typename T>
inline T sl_minimum(T a, T b) {
  return (a != a) ? a : (b != b) ? b : (a < b ? a : b);
}
template <typename T>
inline T sl_ipow(T base, T exp) {
  if (exp < 0) return base == 1 ? T(1) : (base == -1 ? ((exp & 1) ? T(-1) : T(1)) : T(0));
  uint64_t result = 1, b = static_cast<uint64_t>(base);
  for (T e = exp; e > 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<T>(result);
}
// Float to integer like a saturating C cast (NaN gives the lowest value).
template <typename I, typename F>
inline I sl_f2i(F v) {
  if (v != v) return std::numeric_limits<I>::lowest();
  if (v <= static_cast<F>(std::numeric_limits<I>::lowest())) return std::numeric_limits<I>::lowest();
  if (v >= static_cast<F>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}
template <typename T>
inline T sl_wrap_add(T a, T b) { return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
template <typename T>
inline T sl_wrap_sub(T a, T b) { return static_cast<T>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }
template <typename T>
inline T sl_wrap_mul(T a, T b) { return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }

inline int64_t min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max(int64_t a, int64_t b) { return a > b ? a : b; }

}  // namespace
// ---- end of prologue ----
