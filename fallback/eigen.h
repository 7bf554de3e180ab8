// The one place the fallback kernels include Eigen from, so that every
// translation unit sees the same configuration (EIGEN_USE_THREADS), plus the
// small vocabulary the device-generic kernels share: sluice dtype <-> C++
// scalar type, the type a dtype computes in, TensorMap aliases, dtype
// dispatch and device temporaries.
//
// Everything here is header-only and device-generic: a future CUDA build
// includes it with EIGEN_USE_GPU and instantiates the same kernel templates
// with Eigen::GpuDevice.
#ifndef SLUICE_FALLBACK_EIGEN_H_
#define SLUICE_FALLBACK_EIGEN_H_

#ifndef EIGEN_USE_THREADS
#define EIGEN_USE_THREADS
#endif
// Eigen's fast-math packet sqrt/rsqrt (rsqrt estimate + Newton step) return
// NaN for +inf and are a few ulp off; its fast float sin/cos/tanh are
// approximations too. A reference implementation wants the accurate ones.
#ifndef EIGEN_FAST_MATH
#define EIGEN_FAST_MATH 0
#endif

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "Eigen/Core"
#include "unsupported/Eigen/CXX11/Tensor"
#include "unsupported/Eigen/SpecialFunctions"
#include "fallback/allocation.h"
#include "ir/dtype.h"

namespace sluice::fallback {

using Index = Eigen::DenseIndex;

// The C++ scalar types of the dtypes (see Dispatch): f32 float, f16
// Eigen::half, bf16 Eigen::bfloat16, f64 double, i32 int32_t, i64 int64_t,
// bool bool (one byte, like the host tensors).
static_assert(sizeof(Eigen::half) == 2 && sizeof(Eigen::bfloat16) == 2 && sizeof(bool) == 1,
              "host tensor layouts assume 2-byte halves and 1-byte bools");

// The type arithmetic runs in, like PyTorch's opmath_type: f16 and bf16
// compute in float and round once when stored.
template <typename T> struct OpMathOf { using type = T; };
template <> struct OpMathOf<Eigen::half> { using type = float; };
template <> struct OpMathOf<Eigen::bfloat16> { using type = float; };
template <typename T> using OpMath = typename OpMathOf<T>::type;

template <typename T>
inline constexpr bool kIsFloat =
    std::is_floating_point_v<T> || std::is_same_v<T, Eigen::half> ||
    std::is_same_v<T, Eigen::bfloat16>;

template <typename T>
struct TypeTag {
  using type = T;
};
// The type a TypeTag argument of a generic lambda names: `using T =
// TagType<decltype(tag)>;` (decay keeps it working inside nested lambdas,
// where decltype of a captured tag is a reference).
template <typename Tag>
using TagType = typename std::decay_t<Tag>::type;

// Dtype sets for dispatch. Each dispatch instantiates `f` once per member,
// so the narrowest set that covers an op keeps compile time down.
enum class DTypeSet { kAll, kFloat, kNumeric };

inline bool InSet(ir::DType d, DTypeSet set) {
  switch (set) {
    case DTypeSet::kAll: return true;
    case DTypeSet::kFloat: return ir::IsFloatingPoint(d);
    case DTypeSet::kNumeric: return d != ir::DType::kBool;
  }
  return false;
}

// Calls f(TypeTag<T>{}) for the C++ type of `d`; `d` must be in `Set`
// (callers check with InSet first). Returns what f returns.
template <DTypeSet Set, typename F>
decltype(auto) Dispatch(ir::DType d, F&& f) {
  switch (d) {
    case ir::DType::kF32: return f(TypeTag<float>{});
    case ir::DType::kF64: return f(TypeTag<double>{});
    case ir::DType::kF16: return f(TypeTag<Eigen::half>{});
    case ir::DType::kBF16: return f(TypeTag<Eigen::bfloat16>{});
    default: break;
  }
  if constexpr (Set != DTypeSet::kFloat) {
    switch (d) {
      case ir::DType::kI32: return f(TypeTag<int32_t>{});
      case ir::DType::kI64: return f(TypeTag<int64_t>{});
      default: break;
    }
  }
  if constexpr (Set == DTypeSet::kAll) {
    if (d == ir::DType::kBool) return f(TypeTag<bool>{});
  }
  // Unreachable when the caller checked InSet; pick a valid instantiation.
  return f(TypeTag<float>{});
}

template <typename T, int N>
using Map = Eigen::TensorMap<Eigen::Tensor<T, N, Eigen::RowMajor, Index>>;
template <typename T, int N>
using ConstMap = Eigen::TensorMap<const Eigen::Tensor<T, N, Eigen::RowMajor, Index>>;

template <int N>
using Dims = Eigen::array<Index, N>;

template <typename T>
Map<T, 1> Flat(T* data, Index n) {
  return Map<T, 1>(data, n);
}
template <typename T>
ConstMap<T, 1> Flat(const T* data, Index n) {
  return ConstMap<T, 1>(data, n);
}

inline bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Evaluates the elementwise expression `expr` (n elements, flat, of the
// scalar type T) into dst. `aligned`: dst and every array `expr` reads
// element for element are 16-byte aligned (broadcasts and constants may read
// anything; Eigen's evaluators load those unaligned whatever they are told).
// The default is Eigen's executor for the device; the GPU has its own
// (fallback/cuda/eigen_gpu.h): Eigen's GPU executor is scalar on unaligned
// maps and one 16-byte packet per thread and grid-stride step on aligned ones.
template <typename Device>
struct ElementwiseAssign {
  template <typename T, typename Expr>
  static void Run(const Device& d, const Expr& expr, T* dst, Index n, bool /*aligned*/) {
    Flat(dst, n).device(d) = expr;
  }
};
template <typename Device, typename T, typename Expr>
void AssignFlat(const Device& d, const Expr& expr, T* dst, Index n, bool aligned) {
  ElementwiseAssign<Device>::Run(d, expr, dst, n, aligned);
}

// `x` as an expression of type To; no conversion node when it already is.
template <typename To, typename Expr>
auto CastTo(const Expr& x) {
  using From = typename Eigen::internal::traits<Expr>::Scalar;
  if constexpr (std::is_same_v<From, To>) {
    return x;
  } else {
    return x.template cast<To>();
  }
}

// exp with Eigen's vectorized pexp, except where pexp is wrong: it clamps its
// input at -88.7 (f32) / -709.8 (f64), so exp(-inf) and every result below
// the normal range came out as ~3e-39 instead of 0 or the right denormal.
// Lanes below the cutoff are recomputed with the scalar exp (exact 0 for
// -inf), so softmax gives masked (-inf) entries probability exactly 0.
template <typename T>
struct AccurateExpOp {
  static constexpr T kCutoff = std::is_same_v<T, double> ? T(-708) : T(-87);

  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE T operator()(const T& x) const {
    return Eigen::numext::exp(x);
  }
  template <typename Packet>
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE Packet packetOp(const Packet& x) const {
    namespace ei = Eigen::internal;
    const Packet e = ei::pexp(x);
    if (!ei::predux_any(ei::pcmp_lt(x, ei::pset1<Packet>(T(kCutoff))))) return e;
    constexpr int kLanes = ei::unpacket_traits<Packet>::size;
    EIGEN_ALIGN_MAX T xs[kLanes];
    EIGEN_ALIGN_MAX T es[kLanes];
    ei::pstore(xs, x);
    ei::pstore(es, e);
    for (int i = 0; i < kLanes; ++i) {
      if (xs[i] < kCutoff) es[i] = Eigen::numext::exp(xs[i]);
    }
    return ei::pload<Packet>(es);
  }
};

// erf that keeps NaN: Eigen's float erf clamps its argument to [-4, 4] with
// pmin/pmax first, and on the GPU those are fminf/fmaxf, which drop the NaN
// (erf(NaN) came out as 1 there; the CPU's packet min/max happen to keep it).
template <typename T>
struct NanPropagatingErfOp {
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE T operator()(const T& x) const {
    return (Eigen::numext::isnan)(x) ? x : Eigen::numext::erf(x);
  }
  template <typename Packet>
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE Packet packetOp(const Packet& x) const {
    namespace ei = Eigen::internal;
    // pcmp_eq(x, x) is false exactly for NaN lanes; pselect(mask, a, b) takes
    // a where the mask is set.
    return ei::pselect(ei::pcmp_eq(x, x), ei::perf(x), x);
  }
};

// max (kMax) or min reduction that propagates NaN like torch.amax/amin:
// a NaN anywhere makes the result NaN. Eigen's own
// MaxReducer<T, PropagateNaN> gives the same answers but ran ~10x slower
// than the plain max here (its packet path is not what the reduction
// picks); this one keeps a vectorized select: a lane takes the new value
// when it is NaN or beats the accumulator, and a NaN accumulator never beats
// anything (comparisons with NaN are false), so it stays.
template <typename T, bool kMax>
struct NaNMinMaxReducer {
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE void reduce(const T t, T* accum) const {
    if (t != t || (kMax ? t > *accum : t < *accum)) *accum = t;
  }
  template <typename Packet>
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE void reducePacket(const Packet& p, Packet* accum) const {
    namespace ei = Eigen::internal;
    const Packet beats = kMax ? ei::pcmp_lt(*accum, p) : ei::pcmp_lt(p, *accum);
    const Packet is_nan = ei::pandnot(ei::ptrue(p), ei::pcmp_eq(p, p));
    *accum = ei::pselect(ei::por(beats, is_nan), p, *accum);
  }
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE T initialize() const {
    return kMax ? -Eigen::NumTraits<T>::infinity() : Eigen::NumTraits<T>::infinity();
  }
  template <typename Packet>
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE Packet initializePacket() const {
    return Eigen::internal::pset1<Packet>(initialize());
  }
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE T finalize(const T accum) const { return accum; }
  template <typename Packet>
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE Packet finalizePacket(const Packet& vaccum) const {
    return vaccum;
  }
  template <typename Packet>
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE T finalizeBoth(const T saccum, const Packet& vaccum) const {
    constexpr int kLanes = Eigen::internal::unpacket_traits<Packet>::size;
    EIGEN_ALIGN_MAX T lanes[kLanes];
    Eigen::internal::pstore(lanes, vaccum);
    T accum = saccum;
    for (int i = 0; i < kLanes; ++i) reduce(lanes[i], &accum);
    return accum;
  }
};

// Device memory for the duration of a kernel (Device::allocate works for
// both ThreadPoolDevice and GpuDevice). An allocation that fails, whether the
// device throws std::bad_alloc (Eigen's CPU allocator) or returns null, throws
// TemporaryAllocationError with the size (allocation.h says why), which
// RunNode turns into ResourceExhausted.
template <typename Device>
class DeviceBuffer {
 public:
  DeviceBuffer(const Device& device, size_t bytes)
      : device_(device), data_(Allocate(device, bytes)) {}
  ~DeviceBuffer() {
    if (data_ != nullptr) device_.deallocate(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }

 private:
  static void* Allocate(const Device& device, size_t bytes) {
    if (bytes == 0) return nullptr;
    void* data = nullptr;
    try {
      data = device.allocate(bytes);
    } catch (const std::bad_alloc&) {
      data = nullptr;
    }
    if (data == nullptr) throw TemporaryAllocationError(bytes);
    return data;
  }

  const Device& device_;
  void* data_;
};

// Waits for queued device work where the device is asynchronous (GpuDevice
// has synchronize(); ThreadPoolDevice completes every assignment before it
// returns).
template <typename Device, typename = void>
struct HasSynchronize : std::false_type {};
template <typename Device>
struct HasSynchronize<Device, std::void_t<decltype(std::declval<const Device&>().synchronize())>>
    : std::true_type {};

template <typename Device>
void Synchronize(const Device& device) {
  if constexpr (HasSynchronize<Device>::value) device.synchronize();
}

// Copies one element from device memory to the host, e.g. a 0-d operand used
// as a scalar.
template <typename Device, typename T>
T ReadScalar(const Device& device, const T* src) {
  T value;
  device.memcpyDeviceToHost(&value, src, sizeof(T));
  Synchronize(device);
  return value;
}

}  // namespace sluice::fallback

namespace Eigen::internal {
template <typename T>
struct functor_traits<sluice::fallback::AccurateExpOp<T>> {
  enum {
    Cost = functor_traits<scalar_exp_op<T>>::Cost,
    PacketAccess = packet_traits<T>::HasExp,
  };
};
template <typename T>
struct functor_traits<sluice::fallback::NanPropagatingErfOp<T>> {
  enum {
    Cost = functor_traits<scalar_erf_op<T>>::Cost + NumTraits<T>::AddCost,
    PacketAccess = packet_traits<T>::HasErf && packet_traits<T>::HasCmp,
  };
};
template <typename T, bool kMax, typename Device>
struct reducer_traits<sluice::fallback::NaNMinMaxReducer<T, kMax>, Device> {
  enum {
    Cost = NumTraits<T>::AddCost,
    PacketAccess = PacketType<T, Device>::HasCmp,
    IsStateful = false,
    // Picking a max is exact in any order.
    IsExactlyAssociative = true,
  };
};
}  // namespace Eigen::internal

#endif  // SLUICE_FALLBACK_EIGEN_H_
