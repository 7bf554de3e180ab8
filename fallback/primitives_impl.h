// Definitions of the device-generic templates declared in primitives.h.
// Include only from the file that instantiates them for a device
// (primitives.cc for the CPU).
#ifndef SLUICE_FALLBACK_PRIMITIVES_IMPL_H_
#define SLUICE_FALLBACK_PRIMITIVES_IMPL_H_

#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "fallback/eigen.h"
#include "glog/logging.h"
#include "fallback/primitives.h"
#include "fallback/shape_util.h"

namespace sluice::fallback {
namespace primitives_internal {

// Float -> integer conversion that is defined for every input: NaN and
// values outside the integer range give the integer minimum (what x86's
// cvtt* instructions return, so PyTorch on x86 agrees).
template <typename From, typename To>
struct FloatToIntOp {
  EIGEN_DEVICE_FUNC EIGEN_STRONG_INLINE To operator()(const From& x) const {
    using Wide = std::conditional_t<std::is_same_v<From, double>, double, float>;
    const Wide v = static_cast<Wide>(x);
    // -2^digits and 2^digits are exact in float and double.
    const Wide limit = static_cast<Wide>(std::is_same_v<To, int64_t> ? 9223372036854775808.0
                                                                     : 2147483648.0);
    if (!(v >= -limit && v < limit)) return std::numeric_limits<To>::min();
    return static_cast<To>(v);
  }
};

template <typename Device, typename From, typename To>
void CastTyped(const Device& d, const From* src, To* dst, Index n) {
  auto in = Flat(src, n);
  const bool aligned = Aligned16(src) && Aligned16(dst);
  if constexpr (std::is_same_v<From, To>) {
    d.memcpy(dst, src, n * sizeof(To));
  } else if constexpr (kIsFloat<From> && std::is_integral_v<To> && !std::is_same_v<To, bool>) {
    AssignFlat(d, in.unaryExpr(FloatToIntOp<From, To>()), dst, n, aligned);
  } else {
    AssignFlat(d, in.template cast<To>(), dst, n, aligned);
  }
}

// Calls f(TypeTag<U>{}) for the unsigned type U of `elem_size` bytes: data
// movement does not care about dtypes.
template <typename F>
void DispatchElemSize(int elem_size, F&& f) {
  switch (elem_size) {
    case 1: f(TypeTag<uint8_t>{}); return;
    case 2: f(TypeTag<uint16_t>{}); return;
    case 4: f(TypeTag<uint32_t>{}); return;
    default: f(TypeTag<uint64_t>{}); return;
  }
}

// The ranks the data-movement kernels are instantiated for: collapsed
// problems of rank 5..8 (rare) are padded with leading size-1 dims to 8.
inline int PaddedRank(int rank) { return rank <= 4 ? rank : kMaxKernelRank; }

// Calls f(std::integral_constant<int, N>{}) for N = PaddedRank(rank).
template <typename F>
void DispatchRank(int rank, F&& f) {
  switch (PaddedRank(rank)) {
    case 1: f(std::integral_constant<int, 1>{}); return;
    case 2: f(std::integral_constant<int, 2>{}); return;
    case 3: f(std::integral_constant<int, 3>{}); return;
    case 4: f(std::integral_constant<int, 4>{}); return;
    default: f(std::integral_constant<int, kMaxKernelRank>{}); return;
  }
}

// `v` with leading entries `fill` up to `rank` entries.
template <typename T>
std::vector<T> PadFront(const std::vector<T>& v, int rank, T fill) {
  std::vector<T> out(rank - v.size(), fill);
  out.insert(out.end(), v.begin(), v.end());
  return out;
}

template <int N>
Dims<N> ToDims(const std::vector<int64_t>& v) {
  Dims<N> d;
  for (int i = 0; i < N; ++i) d[i] = v[i];
  return d;
}

}  // namespace primitives_internal

template <typename Device>
void CastElements(const Device& d, ir::DType from, const void* src, ir::DType to, void* dst,
                  int64_t n) {
  if (n == 0) return;
  Dispatch<DTypeSet::kAll>(from, [&](auto from_tag) {
    using From = TagType<decltype(from_tag)>;
    Dispatch<DTypeSet::kAll>(to, [&](auto to_tag) {
      using To = TagType<decltype(to_tag)>;
      primitives_internal::CastTyped<Device, From, To>(d, static_cast<const From*>(src),
                                                       static_cast<To*>(dst), n);
    });
  });
}

template <typename Device>
void BroadcastTo(const Device& d, int elem_size, const void* src, const ir::Shape& in,
                 void* dst, const ir::Shape& out) {
  using namespace primitives_internal;
  const int64_t n = out.num_elements();
  if (n == 0) return;
  const BroadcastPlan plan = CollapseBroadcast(in, out);
  if (plan.out_dims.empty() || plan.is_copy()) {
    // One element, or the same elements in the same order.
    d.memcpy(dst, src, static_cast<size_t>(n) * elem_size);
    return;
  }
  CHECK_LE(static_cast<int>(plan.out_dims.size()), kMaxKernelRank)
      << "broadcast of " << in.ToString() << " to " << out.ToString();
  const int rank = PaddedRank(static_cast<int>(plan.out_dims.size()));
  const std::vector<int64_t> in_dims = PadFront<int64_t>(plan.in_dims, rank, 1);
  const std::vector<int64_t> out_dims = PadFront<int64_t>(plan.out_dims, rank, 1);
  DispatchElemSize(elem_size, [&](auto tag) {
    using T = TagType<decltype(tag)>;
    DispatchRank(rank, [&](auto rank_tag) {
      constexpr int N = std::decay_t<decltype(rank_tag)>::value;
      Dims<N> factors;
      for (int i = 0; i < N; ++i) factors[i] = out_dims[i] / in_dims[i];
      Map<T, N>(static_cast<T*>(dst), ToDims<N>(out_dims)).device(d) =
          ConstMap<T, N>(static_cast<const T*>(src), ToDims<N>(in_dims)).broadcast(factors);
    });
  });
}

template <typename Device>
void Permute(const Device& d, int elem_size, const void* src, const ir::Shape& in,
             const std::vector<int>& perm, void* dst) {
  using namespace primitives_internal;
  const int64_t n = in.num_elements();
  if (n == 0) return;
  const PermutePlan plan = CollapsePermute(in, perm);
  if (plan.is_identity()) {
    d.memcpy(dst, src, static_cast<size_t>(n) * elem_size);
    return;
  }
  CHECK_LE(static_cast<int>(plan.perm.size()), kMaxKernelRank)
      << "permute of " << in.ToString();
  const int rank = PaddedRank(static_cast<int>(plan.perm.size()));
  const int pad = rank - static_cast<int>(plan.perm.size());
  const std::vector<int64_t> in_dims = PadFront<int64_t>(plan.in_dims, rank, 1);
  std::vector<int> padded_perm(rank);
  for (int j = 0; j < rank; ++j) padded_perm[j] = j < pad ? j : plan.perm[j - pad] + pad;
  DispatchElemSize(elem_size, [&](auto tag) {
    using T = TagType<decltype(tag)>;
    DispatchRank(rank, [&](auto rank_tag) {
      constexpr int N = std::decay_t<decltype(rank_tag)>::value;
      if constexpr (N >= 2) {  // A non-identity permutation has rank >= 2.
        Dims<N> shuffle, out_dims;
        for (int j = 0; j < N; ++j) {
          shuffle[j] = padded_perm[j];
          out_dims[j] = in_dims[padded_perm[j]];
        }
        Map<T, N>(static_cast<T*>(dst), out_dims).device(d) =
            ConstMap<T, N>(static_cast<const T*>(src), ToDims<N>(in_dims)).shuffle(shuffle);
      }
    });
  });
}

template <typename Device>
void StridedSlice(const Device& d, int elem_size, const void* src, const Split3& in,
                  int64_t start, int64_t step, int64_t len, void* dst) {
  using namespace primitives_internal;
  if (in.outer == 0 || in.inner == 0 || len == 0) return;
  DispatchElemSize(elem_size, [&](auto tag) {
    using T = TagType<decltype(tag)>;
    const Dims<3> offsets = {0, start, 0};
    const Dims<3> extents = {in.outer, (len - 1) * step + 1, in.inner};
    const Dims<3> strides = {1, step, 1};
    Map<T, 3>(static_cast<T*>(dst), Dims<3>{in.outer, len, in.inner}).device(d) =
        ConstMap<T, 3>(static_cast<const T*>(src), Dims<3>{in.outer, in.mid, in.inner})
            .slice(offsets, extents)
            .stride(strides);
  });
}

template <typename Device>
void InsertSlice(const Device& d, int elem_size, const void* src, const Split3& part,
                 void* dst, int64_t dst_mid, int64_t offset) {
  using namespace primitives_internal;
  if (part.outer == 0 || part.mid == 0 || part.inner == 0) return;
  DispatchElemSize(elem_size, [&](auto tag) {
    using T = TagType<decltype(tag)>;
    const Dims<3> extents = {part.outer, part.mid, part.inner};
    Map<T, 3> out(static_cast<T*>(dst), Dims<3>{part.outer, dst_mid, part.inner});
    out.slice(Dims<3>{0, offset, 0}, extents).device(d) =
        ConstMap<T, 3>(static_cast<const T*>(src), extents);
  });
}

template <typename Device, typename T>
void Fill(const Device& d, T* dst, int64_t n, T value) {
  if (n == 0) return;
  AssignFlat(d, Flat(dst, n).constant(value), dst, n, Aligned16(dst));
}

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_PRIMITIVES_IMPL_H_
