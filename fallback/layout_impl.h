// Device-generic reference kernels for the layout ops. They move bytes, so
// they work on element sizes through the primitives (primitives.h) and are
// registered for every dtype. Instantiated for the CPU in layout.cc.
#ifndef SLUICE_FALLBACK_LAYOUT_IMPL_H_
#define SLUICE_FALLBACK_LAYOUT_IMPL_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "fallback/eigen.h"
#include "fallback/primitives.h"
#include "fallback/shape_util.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::fallback {

// reshape, squeeze, unsqueeze: the same bytes under a new shape.
template <typename Device>
absl::Status CopyKernel(const Device& d, const ir::Node& node,
                        absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  if (output.nbytes() > 0 && output.data() != inputs[0].data()) {
    d.memcpy(output.data(), inputs[0].data(), output.nbytes());
  }
  return absl::OkStatus();
}

// permute(dims) and transpose(dim0, dim1).
template <typename Device>
absl::Status PermuteKernel(const Device& d, const ir::Node& node,
                           absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const runtime::Tensor& in = inputs[0];
  const int rank = in.shape().rank();
  std::vector<int> perm(rank);
  if (node.op() == "transpose") {
    for (int i = 0; i < rank; ++i) perm[i] = i;
    absl::StatusOr<int> a = ir::NormalizeDim(node.attr_int("dim0"), rank);
    if (!a.ok()) return a.status();
    absl::StatusOr<int> b = ir::NormalizeDim(node.attr_int("dim1"), rank);
    if (!b.ok()) return b.status();
    if (rank > 0) std::swap(perm[*a], perm[*b]);
  } else {
    const std::vector<int64_t> dims = node.attr_ints("dims");
    if (static_cast<int>(dims.size()) != rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("permute dims has ", dims.size(), " entries for rank ", rank));
    }
    for (int i = 0; i < rank; ++i) {
      absl::StatusOr<int> p = ir::NormalizeDim(dims[i], rank);
      if (!p.ok()) return p.status();
      perm[i] = *p;
    }
  }
  Permute(d, static_cast<int>(ir::DTypeSize(in.dtype())), in.data(), in.shape(), perm,
          output.data());
  return absl::OkStatus();
}

template <typename Device>
absl::Status ExpandKernel(const Device& d, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const runtime::Tensor& in = inputs[0];
  BroadcastTo(d, static_cast<int>(ir::DTypeSize(in.dtype())), in.data(), in.shape(),
              output.data(), output.shape());
  return absl::OkStatus();
}

// slice(dim, start, end, step): negative bounds count from the end, and
// bounds are clamped to the dim, like Python slicing (and the IR).
template <typename Device>
absl::Status SliceKernel(const Device& d, const ir::Node& node,
                         absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const runtime::Tensor& in = inputs[0];
  absl::StatusOr<int> dim = ir::NormalizeDim(node.attr_int("dim"), in.shape().rank());
  if (!dim.ok()) return dim.status();
  const int64_t step = node.attr_int("step");
  if (step <= 0) return absl::InvalidArgumentError("slice step must be positive");
  const int64_t size = in.shape().rank() > 0 ? in.shape()[*dim] : 1;
  auto clamp = [size](int64_t v) {
    if (v < 0) v += size;
    return std::clamp<int64_t>(v, 0, size);
  };
  const int64_t start = clamp(node.attr_int("start"));
  const int64_t end = clamp(node.attr_int("end"));
  const int64_t len = end > start ? (end - start + step - 1) / step : 0;
  StridedSlice(d, static_cast<int>(ir::DTypeSize(in.dtype())), in.data(),
               SplitAround(in.shape(), *dim, *dim + 1), start, step, len, output.data());
  return absl::OkStatus();
}

// concat(dim): operands of other dtypes are converted to the (promoted)
// output dtype first.
template <typename Device>
absl::Status ConcatKernel(const Device& d, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  const int rank = output.shape().rank();
  absl::StatusOr<int> dim = ir::NormalizeDim(node.attr_int("dim"), rank);
  if (!dim.ok()) return dim.status();
  if (rank == 0) return absl::InvalidArgumentError("cannot concat scalars");
  const int elem = static_cast<int>(ir::DTypeSize(output.dtype()));
  const int64_t out_mid = output.shape()[*dim];
  int64_t offset = 0;
  for (const runtime::Tensor& in : inputs) {
    const void* src = in.data();
    std::optional<DeviceBuffer<Device>> converted;
    if (in.dtype() != output.dtype()) {
      converted.emplace(d, in.num_elements() * elem);
      CastElements(d, in.dtype(), src, output.dtype(), converted->data(), in.num_elements());
      src = converted->data();
    }
    const Split3 part = SplitAround(in.shape(), *dim, *dim + 1);
    InsertSlice(d, elem, src, part, output.data(), out_mid, offset);
    offset += part.mid;
  }
  return absl::OkStatus();
}

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_LAYOUT_IMPL_H_
