// ---- sluice CUDA kernel preamble (codegen/cuda/preamble.template.cu) ----
// Helpers every generated CUDA translation unit starts with (compiled by
// NVRTC with -std=c++17): storage <-> compute conversions (f16/bf16 values
// are computed in f32), 16-byte vector loads and stores, PyTorch-exact math
// (NaN-propagating maximum/minimum, erf and tanh gelu, sigmoid, saturating
// float-to-int casts, wrapping integer arithmetic), and warp/block reductions
// (sum, NaN-propagating max/min, argmax with the first index on ties).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

typedef long long sl_i64;
typedef unsigned long long sl_u64;

// ---- storage <-> compute conversions -----------------------------------------
// Buffers store f16 as __half, bf16 as __nv_bfloat16 and bool as one byte;
// values are float, float, bool.
__device__ __forceinline__ float sl_cvt(float x) { return x; }
__device__ __forceinline__ double sl_cvt(double x) { return x; }
__device__ __forceinline__ float sl_cvt(__half x) { return __half2float(x); }
__device__ __forceinline__ float sl_cvt(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ int sl_cvt(int x) { return x; }
__device__ __forceinline__ sl_i64 sl_cvt(sl_i64 x) { return x; }
__device__ __forceinline__ bool sl_cvt(unsigned char x) { return x != 0; }

template <typename S, typename V>
__device__ __forceinline__ S sl_to(V v) { return static_cast<S>(v); }
template <>
__device__ __forceinline__ __half sl_to<__half, float>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 sl_to<__nv_bfloat16, float>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ unsigned char sl_to<unsigned char, bool>(bool v) {
  return v ? 1 : 0;
}

// Rounds a float to the nearest f16 / bf16 value (an explicit cast to f16
// inside a kernel, whose value stays a float).
__device__ __forceinline__ float sl_round_h(float x) { return __half2float(__float2half_rn(x)); }
__device__ __forceinline__ float sl_round_bf(float x) {
  return __bfloat162float(__float2bfloat16_rn(x));
}

// ---- vector accesses --------------------------------------------------------------
// N consecutive elements, aligned to their size (at most 16 bytes), so that
// one access is one 16-byte (or 8-, 4-byte) load or store.
template <typename T, int N>
struct alignas(sizeof(T) * N > 16 ? 16 : sizeof(T) * N) SlVec {
  T v[N];
};

// `vec`: whether the base pointers are 16-byte aligned (checked once per
// kernel); without it the N elements are accessed one by one.
// With SLUICE_COHERENT_LOADS (CudaEmitOptions::coherent_loads) a vector
// load is a plain ld.global, as Triton's are; otherwise nvcc may use the
// non-coherent read-only path (ld.global.nc) that `const __restrict__` allows.
template <int N, typename T>
__device__ __forceinline__ SlVec<T, N> sl_ldv(const T* __restrict__ p, bool vec) {
  SlVec<T, N> r;
  if (vec) {
#if defined(SLUICE_COHERENT_LOADS) && defined(__CUDA_ARCH__)
    unsigned* u = reinterpret_cast<unsigned*>(&r);
    if constexpr (sizeof(r) == 16) {
      asm("ld.global.v4.u32 {%0, %1, %2, %3}, [%4];"
          : "=r"(u[0]), "=r"(u[1]), "=r"(u[2]), "=r"(u[3])
          : "l"(p));
    } else if constexpr (sizeof(r) == 8) {
      asm("ld.global.v2.u32 {%0, %1}, [%2];" : "=r"(u[0]), "=r"(u[1]) : "l"(p));
    } else if constexpr (sizeof(r) == 4) {
      asm("ld.global.u32 %0, [%1];" : "=r"(u[0]) : "l"(p));
    } else {
      r = *reinterpret_cast<const SlVec<T, N>*>(p);
    }
#else
    r = *reinterpret_cast<const SlVec<T, N>*>(p);
#endif
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) r.v[i] = p[i];
  }
  return r;
}

// The same with an L1/L2 eviction-priority hint (Triton's evict_last /
// evict_first, as PTX's createpolicy + L2::cache_hint): sl_ldv_keep for data
// read again soon (a row a later loop re-reads, a weight every row reads),
// sl_ldv_last for its last read. Plain loads before sm_80 and for accesses
// that are not one 4-, 8- or 16-byte access.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define SL_LD_HINT(L1, L2POLICY)                                                              \
  SlVec<T, N> r;                                                                               \
  if (!vec) {                                                                                  \
    _Pragma("unroll") for (int i = 0; i < N; ++i) r.v[i] = p[i];                               \
    return r;                                                                                  \
  }                                                                                            \
  sl_u64 policy;                                                                               \
  asm("createpolicy.fractional.L2::" L2POLICY ".b64 %0, 1.0;" : "=l"(policy));                 \
  if constexpr (sizeof(r) == 16) {                                                             \
    unsigned* u = reinterpret_cast<unsigned*>(&r);                                             \
    asm("ld.global.L1::" L1 ".L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;"              \
        : "=r"(u[0]), "=r"(u[1]), "=r"(u[2]), "=r"(u[3])                                       \
        : "l"(p), "l"(policy));                                                                \
  } else if constexpr (sizeof(r) == 8) {                                                       \
    unsigned* u = reinterpret_cast<unsigned*>(&r);                                             \
    asm("ld.global.L1::" L1 ".L2::cache_hint.v2.u32 {%0, %1}, [%2], %3;"                      \
        : "=r"(u[0]), "=r"(u[1])                                                               \
        : "l"(p), "l"(policy));                                                                \
  } else if constexpr (sizeof(r) == 4) {                                                       \
    unsigned* u = reinterpret_cast<unsigned*>(&r);                                             \
    asm("ld.global.L1::" L1 ".L2::cache_hint.u32 %0, [%1], %2;" : "=r"(u[0]) : "l"(p),         \
        "l"(policy));                                                                          \
  } else {                                                                                     \
    r = *reinterpret_cast<const SlVec<T, N>*>(p);                                              \
  }                                                                                            \
  return r;
template <int N, typename T>
__device__ __forceinline__ SlVec<T, N> sl_ldv_keep(const T* __restrict__ p, bool vec) {
  SL_LD_HINT("evict_last", "evict_last")
}
template <int N, typename T>
__device__ __forceinline__ SlVec<T, N> sl_ldv_last(const T* __restrict__ p, bool vec) {
  SL_LD_HINT("evict_first", "evict_first")
}
#undef SL_LD_HINT
#else
template <int N, typename T>
__device__ __forceinline__ SlVec<T, N> sl_ldv_keep(const T* __restrict__ p, bool vec) {
  return sl_ldv<N>(p, vec);
}
template <int N, typename T>
__device__ __forceinline__ SlVec<T, N> sl_ldv_last(const T* __restrict__ p, bool vec) {
  return sl_ldv<N>(p, vec);
}
#endif

template <int N, typename T>
__device__ __forceinline__ void sl_stv(T* __restrict__ p, const SlVec<T, N>& r, bool vec) {
  if (vec) {
    *reinterpret_cast<SlVec<T, N>*>(p) = r;
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) p[i] = r.v[i];
  }
}

__device__ __forceinline__ bool sl_aligned16(const void* p) {
  return (reinterpret_cast<sl_u64>(p) & 15u) == 0;
}

// ---- index arithmetic ---------------------------------------------------------------
template <typename A, typename B>
__device__ __forceinline__ auto sl_imin(A a, B b) -> decltype(a + b) {
  return a < b ? a : b;
}
template <typename A, typename B>
__device__ __forceinline__ auto sl_imax(A a, B b) -> decltype(a + b) {
  return a > b ? a : b;
}

// ---- math ---------------------------------------------------------------------------
// sl_exp_approx / sl_div_approx: f32 exp through ex2.approx (about 2 ulp,
// plus |x| * 2^-24 relative) and division through div.full.f32 (2 ulp over
// the full range), as Triton compiles them; f64 stays exact. Kernels whose
// stored values are all f16 / bf16 use them with CudaEmitOptions::
// approx_math_half_outputs (the stores' rounding, 2^-8 or 2^-11 relative,
// hides the difference), and every kernel does under SLUICE_FAST_MATH
// (CudaEmitOptions::fast_math, defined before this preamble).
__device__ __forceinline__ float sl_exp_approx(float x) {
  float y;
  asm("ex2.approx.f32 %0, %1;" : "=f"(y) : "f"(x * 1.4426950408889634f));
  return y;
}
__device__ __forceinline__ float sl_div_approx(float a, float b) {
  float y;
  asm("div.full.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
  return y;
}
__device__ __forceinline__ double sl_exp_approx(double x) { return exp(x); }
__device__ __forceinline__ double sl_div_approx(double a, double b) { return a / b; }
#ifdef SLUICE_FAST_MATH
__device__ __forceinline__ float sl_exp(float x) { return sl_exp_approx(x); }
__device__ __forceinline__ float sl_div(float a, float b) { return sl_div_approx(a, b); }
#else
__device__ __forceinline__ float sl_exp(float x) { return expf(x); }
__device__ __forceinline__ float sl_div(float a, float b) { return a / b; }
#endif
__device__ __forceinline__ double sl_div(double a, double b) { return a / b; }
__device__ __forceinline__ double sl_exp(double x) { return exp(x); }
__device__ __forceinline__ float sl_log(float x) { return logf(x); }
__device__ __forceinline__ double sl_log(double x) { return log(x); }
__device__ __forceinline__ float sl_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double sl_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float sl_rsqrt(float x) { return rsqrtf(x); }
__device__ __forceinline__ double sl_rsqrt(double x) { return rsqrt(x); }
__device__ __forceinline__ float sl_sin(float x) { return sinf(x); }
__device__ __forceinline__ double sl_sin(double x) { return sin(x); }
__device__ __forceinline__ float sl_cos(float x) { return cosf(x); }
__device__ __forceinline__ double sl_cos(double x) { return cos(x); }
__device__ __forceinline__ float sl_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double sl_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float sl_erf(float x) { return erff(x); }
__device__ __forceinline__ double sl_erf(double x) { return erf(x); }
__device__ __forceinline__ float sl_pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double sl_pow(double a, double b) { return pow(a, b); }
__device__ __forceinline__ float sl_fabs(float x) { return fabsf(x); }
__device__ __forceinline__ double sl_fabs(double x) { return fabs(x); }

template <typename T>
__device__ __forceinline__ T sl_sigmoid(T x) {
  return sl_div(T(1), T(1) + sl_exp(-x));
}
template <typename T>
__device__ __forceinline__ T sl_silu(T x) {
  return sl_div(x, T(1) + sl_exp(-x));
}
template <typename T>
__device__ __forceinline__ T sl_gelu(T x) {
  return T(0.5) * x * (T(1) + sl_erf(x * T(0.70710678118654752440)));
}
// gelu(tanh)'s u = sqrt(2 / pi) * (x + 0.044715 x^3).
template <typename T>
__device__ __forceinline__ T sl_gelu_tanh_inner(T x) {
  return T(0.79788456080286535588) * (x + T(0.044715) * x * x * x);
}
template <typename T>
__device__ __forceinline__ T sl_gelu_tanh_approx(T x) {
  // 0.5 * (1 + tanh(u)) == sigmoid(2u): no tanh, no cancellation.
  return sl_div_approx(x, T(1) + sl_exp_approx(T(-2) * sl_gelu_tanh_inner(x)));
}
template <typename T>
__device__ __forceinline__ T sl_gelu_tanh(T x) {
#ifdef SLUICE_FAST_MATH
  return sl_gelu_tanh_approx(x);
#else
  return T(0.5) * x * (T(1) + sl_tanh(sl_gelu_tanh_inner(x)));
#endif
}
template <typename T>
__device__ __forceinline__ T sl_sigmoid_approx(T x) {
  return sl_div_approx(T(1), T(1) + sl_exp_approx(-x));
}
template <typename T>
__device__ __forceinline__ T sl_silu_approx(T x) {
  return sl_div_approx(x, T(1) + sl_exp_approx(-x));
}

// torch.maximum / torch.minimum: a NaN in either operand wins.
template <typename T>
__device__ __forceinline__ T sl_maximum(T a, T b) {
  return (a != a) ? a : (b != b) ? b : (a > b ? a : b);
}
template <typename T>
__device__ __forceinline__ T sl_minimum(T a, T b) {
  return (a != a) ? a : (b != b) ? b : (a < b ? a : b);
}

template <typename T>
__device__ __forceinline__ T sl_ipow(T base, T exp) {
  if (exp < 0) return base == 1 ? T(1) : (base == -1 ? ((exp & 1) ? T(-1) : T(1)) : T(0));
  sl_u64 result = 1, b = static_cast<sl_u64>(base);
  for (T e = exp; e > 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<T>(result);
}

// Float to integer like the CPU backend: saturating, NaN gives the lowest value.
template <typename I>
struct SlLimits;
template <>
struct SlLimits<int> {
  static __device__ __forceinline__ int lowest() { return -2147483647 - 1; }
  static __device__ __forceinline__ int max() { return 2147483647; }
};
template <>
struct SlLimits<sl_i64> {
  static __device__ __forceinline__ sl_i64 lowest() { return -9223372036854775807LL - 1; }
  static __device__ __forceinline__ sl_i64 max() { return 9223372036854775807LL; }
};
template <typename I, typename F>
__device__ __forceinline__ I sl_f2i(F v) {
  if (v != v) return SlLimits<I>::lowest();
  if (v <= static_cast<F>(SlLimits<I>::lowest())) return SlLimits<I>::lowest();
  if (v >= static_cast<F>(SlLimits<I>::max())) return SlLimits<I>::max();
  return static_cast<I>(v);
}

// Integer arithmetic wraps (two's complement), as in PyTorch.
template <typename T>
__device__ __forceinline__ T sl_wrap_add(T a, T b) {
  return static_cast<T>(static_cast<sl_u64>(a) + static_cast<sl_u64>(b));
}
template <typename T>
__device__ __forceinline__ T sl_wrap_sub(T a, T b) {
  return static_cast<T>(static_cast<sl_u64>(a) - static_cast<sl_u64>(b));
}
template <typename T>
__device__ __forceinline__ T sl_wrap_mul(T a, T b) {
  return static_cast<T>(static_cast<sl_u64>(a) * static_cast<sl_u64>(b));
}

__device__ __forceinline__ float sl_inf_f() { return __int_as_float(0x7f800000); }
__device__ __forceinline__ float sl_nan_f() { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ double sl_inf_d() { return __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ double sl_nan_d() { return __longlong_as_double(0x7ff8000000000000LL); }

// ---- reductions ---------------------------------------------------------------------
struct SlSumOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
// max/min reductions propagate NaN (torch.amax/amin).
struct SlMaxOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return (a > b || a != a) ? a : b; }
  // One FMNMX.NAN instead of a compare, a NaN test and a select.
  __device__ __forceinline__ float operator()(float a, float b) const {
    float y;
    asm("max.NaN.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
    return y;
  }
};
struct SlMinOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return (a < b || a != a) ? a : b; }
  __device__ __forceinline__ float operator()(float a, float b) const {
    float y;
    asm("min.NaN.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
    return y;
  }
};

// argmax: the maximum's first index; a NaN counts as the maximum. i < 0 is
// the empty accumulator.
template <typename T>
struct SlArg {
  T v;
  sl_i64 i;
};
struct SlArgmaxOp {
  template <typename T>
  __device__ __forceinline__ SlArg<T> operator()(SlArg<T> a, SlArg<T> b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool an = a.v != a.v, bn = b.v != b.v;
    if (an || bn) {
      if (an && bn) return a.i <= b.i ? a : b;
      return an ? a : b;
    }
    if (a.v != b.v) return a.v > b.v ? a : b;
    return a.i <= b.i ? a : b;
  }
};

__device__ __forceinline__ float sl_shfl_xor(float v, int o, unsigned m) {
  return __shfl_xor_sync(m, v, o);
}
__device__ __forceinline__ double sl_shfl_xor(double v, int o, unsigned m) {
  return __shfl_xor_sync(m, v, o);
}
__device__ __forceinline__ int sl_shfl_xor(int v, int o, unsigned m) {
  return __shfl_xor_sync(m, v, o);
}
__device__ __forceinline__ sl_i64 sl_shfl_xor(sl_i64 v, int o, unsigned m) {
  return __shfl_xor_sync(m, v, o);
}
__device__ __forceinline__ bool sl_shfl_xor(bool v, int o, unsigned m) {
  return __shfl_xor_sync(m, static_cast<int>(v), o) != 0;
}
template <typename T>
__device__ __forceinline__ SlArg<T> sl_shfl_xor(SlArg<T> a, int o, unsigned m) {
  a.v = sl_shfl_xor(a.v, o, m);
  a.i = sl_shfl_xor(a.i, o, m);
  return a;
}

// Butterfly reduction over aligned groups of G lanes (G a power of two, at
// most 32); `mask` holds the group's lanes. Every lane gets the result.
template <int G, typename T, typename Op>
__device__ __forceinline__ T sl_group_reduce(T v, unsigned mask, Op op) {
#pragma unroll
  for (int o = G / 2; o > 0; o >>= 1) v = op(v, sl_shfl_xor(v, o, mask));
  return v;
}

// The lanes of the calling thread's aligned group of G lanes within its warp.
template <int G>
__device__ __forceinline__ unsigned sl_group_mask() {
  if constexpr (G >= 32) {
    return 0xffffffffu;
  } else {
    return ((1u << G) - 1u) << ((threadIdx.x & 31u) & ~static_cast<unsigned>(G - 1));
  }
}

// Reduction over a 1-D block of kThreads threads (a multiple of 32, at most
// 1024); `smem` holds kThreads / 32 + 1 values and is used once. Every thread
// gets the result.
template <int kThreads, typename T, typename Op>
__device__ __forceinline__ T sl_block_reduce(T v, T* smem, Op op) {
  constexpr int kWarps = kThreads / 32;
  v = sl_group_reduce<32>(v, 0xffffffffu, op);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = smem[lane & (kWarps - 1)];
    w = sl_group_reduce<kWarps>(w, 0xffffffffu, op);
    if (lane == 0) smem[kWarps] = w;
  }
  __syncthreads();
  return smem[kWarps];
}
// ---- end of preamble ----
