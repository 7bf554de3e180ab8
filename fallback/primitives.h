// Device-generic building blocks the fallback kernels share: dtype
// conversion, broadcasting, permutation, strided slices, slice insertion and
// fills, on raw device pointers. The data-movement ones work on element
// sizes (1, 2, 4 or 8 bytes), not dtypes, so they are instantiated 4 times
// per rank instead of 7.
//
// The templates are defined in primitives_impl.h and instantiated for
// Eigen::ThreadPoolDevice in primitives.cc; other kernel files include only
// this header, so they do not compile the Eigen expressions again.
#ifndef SLUICE_FALLBACK_PRIMITIVES_H_
#define SLUICE_FALLBACK_PRIMITIVES_H_

#include <cstdint>
#include <vector>

#include "fallback/eigen.h"
#include "fallback/shape_util.h"
#include "ir/dtype.h"
#include "ir/shape.h"

namespace sluice::fallback {

// dst[i] = (to) src[i] for n elements, with sluice's conversion rules:
// float -> int truncates toward zero (NaN and out-of-range give the integer
// minimum, like x86 and so PyTorch on x86); x -> bool is x != 0; bool -> x
// is 0 or 1; narrowing to f16/bf16 rounds to nearest even.
template <typename Device>
void CastElements(const Device& d, ir::DType from, const void* src, ir::DType to, void* dst,
                  int64_t n);

// Writes `src` (shape `in`) broadcast to shape `out` into `dst`. `in` must
// be broadcastable to `out`.
template <typename Device>
void BroadcastTo(const Device& d, int elem_size, const void* src, const ir::Shape& in,
                 void* dst, const ir::Shape& out);

// dst = src permuted: output dim j is input dim perm[j].
template <typename Device>
void Permute(const Device& d, int elem_size, const void* src, const ir::Shape& in,
             const std::vector<int>& perm, void* dst);

// dst[o, j, i] = src[o, start + j * step, i] for j < len; src is
// [in.outer, in.mid, in.inner].
template <typename Device>
void StridedSlice(const Device& d, int elem_size, const void* src, const Split3& in,
                  int64_t start, int64_t step, int64_t len, void* dst);

// dst[o, offset + j, i] = src[o, j, i]; src is [part.outer, part.mid,
// part.inner] and dst is [part.outer, dst_mid, part.inner].
template <typename Device>
void InsertSlice(const Device& d, int elem_size, const void* src, const Split3& part,
                 void* dst, int64_t dst_mid, int64_t offset);

// dst[i] = value for n elements of type T.
template <typename Device, typename T>
void Fill(const Device& d, T* dst, int64_t n, T value);

// The dtype-`dtype` value closest to `v` (the rules of
// runtime::Tensor::SetFromDouble), as the C++ scalar type T of that dtype.
template <typename T>
T ScalarFromDouble(double v);

#define SLUICE_FALLBACK_DECLARE_PRIMITIVES(EXTERN, Device)                                 \
  EXTERN template void CastElements<Device>(const Device&, ir::DType, const void*,          \
                                            ir::DType, void*, int64_t);                     \
  EXTERN template void BroadcastTo<Device>(const Device&, int, const void*,                 \
                                           const ir::Shape&, void*, const ir::Shape&);      \
  EXTERN template void Permute<Device>(const Device&, int, const void*, const ir::Shape&,   \
                                       const std::vector<int>&, void*);                     \
  EXTERN template void StridedSlice<Device>(const Device&, int, const void*, const Split3&, \
                                            int64_t, int64_t, int64_t, void*);              \
  EXTERN template void InsertSlice<Device>(const Device&, int, const void*, const Split3&,  \
                                           void*, int64_t, int64_t);                        \
  EXTERN template void Fill<Device, float>(const Device&, float*, int64_t, float);          \
  EXTERN template void Fill<Device, double>(const Device&, double*, int64_t, double);       \
  EXTERN template void Fill<Device, Eigen::half>(const Device&, Eigen::half*, int64_t,      \
                                                 Eigen::half);                              \
  EXTERN template void Fill<Device, Eigen::bfloat16>(const Device&, Eigen::bfloat16*,       \
                                                     int64_t, Eigen::bfloat16);             \
  EXTERN template void Fill<Device, int32_t>(const Device&, int32_t*, int64_t, int32_t);    \
  EXTERN template void Fill<Device, int64_t>(const Device&, int64_t*, int64_t, int64_t);    \
  EXTERN template void Fill<Device, bool>(const Device&, bool*, int64_t, bool);

SLUICE_FALLBACK_DECLARE_PRIMITIVES(extern, Eigen::ThreadPoolDevice)

extern template float ScalarFromDouble<float>(double);
extern template double ScalarFromDouble<double>(double);
extern template Eigen::half ScalarFromDouble<Eigen::half>(double);
extern template Eigen::bfloat16 ScalarFromDouble<Eigen::bfloat16>(double);
extern template int32_t ScalarFromDouble<int32_t>(double);
extern template int64_t ScalarFromDouble<int64_t>(double);
extern template bool ScalarFromDouble<bool>(double);

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_PRIMITIVES_H_
