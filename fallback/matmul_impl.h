// Device-generic reference kernel for matmul with torch.matmul semantics:
// 1-D operands get a unit dim (removed again from the result), batch dims
// broadcast. Each batch is one Eigen contraction; when the right operand has
// no batch of its own, the left operand's batch folds into its rows and the
// whole product is one contraction. f16/bf16 operands are converted to float,
// multiplied and accumulated in float, and rounded once.
// Instantiated for the CPU in matmul.cc.
#ifndef SLUICE_FALLBACK_MATMUL_IMPL_H_
#define SLUICE_FALLBACK_MATMUL_IMPL_H_

#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "fallback/eigen.h"
#include "fallback/primitives.h"
#include "fallback/shape_util.h"
#include "ir/graph.h"
#include "ir/shape.h"
#include "runtime/tensor.h"

namespace sluice::fallback {
namespace matmul_internal {

// The operands as [batch..., m, k] and [batch..., k, n], and where each
// output batch reads its operands. Host-side index bookkeeping only.
struct MatmulPlan {
  int64_t m = 1, k = 1, n = 1;
  int64_t batches = 1;
  std::vector<int64_t> a_offsets, b_offsets;  // elements, per output batch
  bool fold_batch_into_rows = false;           // b shared by every batch
};

inline absl::StatusOr<MatmulPlan> PlanMatmul(const ir::Shape& a_shape,
                                             const ir::Shape& b_shape) {
  std::vector<int64_t> sa = a_shape.dims(), sb = b_shape.dims();
  if (sa.empty() || sb.empty()) {
    return absl::InvalidArgumentError("matmul operands must have at least one dim");
  }
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  MatmulPlan p;
  p.m = sa[sa.size() - 2];
  p.k = sa.back();
  p.n = sb.back();
  if (sb[sb.size() - 2] != p.k) {
    return absl::InvalidArgumentError(absl::StrCat("matmul of ", a_shape.ToString(), " and ",
                                                   b_shape.ToString(), ": inner dims differ"));
  }
  const ir::Shape batch_a(std::vector<int64_t>(sa.begin(), sa.end() - 2));
  const ir::Shape batch_b(std::vector<int64_t>(sb.begin(), sb.end() - 2));
  absl::StatusOr<ir::Shape> batch = ir::BroadcastShapes(batch_a, batch_b);
  if (!batch.ok()) return batch.status();
  p.batches = batch->num_elements();
  if (batch_b.num_elements() == 1 && batch_a.num_elements() == p.batches) {
    p.fold_batch_into_rows = true;
    return p;
  }
  // Broadcast strides (0 on broadcast dims) of each operand's batch dims,
  // aligned to the right of the output batch dims.
  const int rank = batch->rank();
  auto strides_for = [&](const ir::Shape& shape, int64_t matrix) {
    std::vector<int64_t> strides(rank, 0);
    int64_t stride = matrix;
    for (int i = shape.rank() - 1; i >= 0; --i) {
      const int j = rank - shape.rank() + i;
      strides[j] = shape[i] == 1 ? 0 : stride;
      stride *= shape[i];
    }
    return strides;
  };
  const std::vector<int64_t> stride_a = strides_for(batch_a, p.m * p.k);
  const std::vector<int64_t> stride_b = strides_for(batch_b, p.k * p.n);
  std::vector<int64_t> index(rank, 0);
  for (int64_t bi = 0; bi < p.batches; ++bi) {
    int64_t off_a = 0, off_b = 0;
    for (int i = 0; i < rank; ++i) {
      off_a += index[i] * stride_a[i];
      off_b += index[i] * stride_b[i];
    }
    p.a_offsets.push_back(off_a);
    p.b_offsets.push_back(off_b);
    for (int i = rank - 1; i >= 0; --i) {  // Row-major increment.
      if (++index[i] < (*batch)[i]) break;
      index[i] = 0;
    }
  }
  return p;
}

// c[batch] = a[batch] x b[batch] in type Acc.
template <typename Device, typename Acc>
void MatmulAcc(const Device& d, const Acc* a, const Acc* b, const MatmulPlan& p, Acc* c) {
  const Eigen::array<Eigen::IndexPair<Index>, 1> contract = {Eigen::IndexPair<Index>(1, 0)};
  auto one = [&](const Acc* a_mat, Index rows, const Acc* b_mat, Acc* c_mat) {
    auto x = ConstMap<Acc, 2>(a_mat, Dims<2>{rows, p.k});
    auto y = ConstMap<Acc, 2>(b_mat, Dims<2>{p.k, p.n});
    Map<Acc, 2>(c_mat, Dims<2>{rows, p.n}).device(d) = x.contract(y, contract);
  };
  if (p.fold_batch_into_rows) {
    one(a, p.batches * p.m, b, c);
    return;
  }
  // A host loop over batches that only computes offsets and launches one
  // device contraction per batch.
  for (int64_t bi = 0; bi < p.batches; ++bi) {
    one(a + p.a_offsets[bi], p.m, b + p.b_offsets[bi], c + bi * p.m * p.n);
  }
}

}  // namespace matmul_internal

template <typename Device>
absl::Status MatmulKernel(const Device& d, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output) {
  using namespace matmul_internal;
  const runtime::Tensor& a = inputs[0];
  const runtime::Tensor& b = inputs[1];
  if (a.dtype() != output.dtype() || b.dtype() != output.dtype()) {
    return absl::InvalidArgumentError("matmul operands must have the output's dtype");
  }
  absl::StatusOr<MatmulPlan> plan = PlanMatmul(a.shape(), b.shape());
  if (!plan.ok()) return plan.status();
  const int64_t out_n = output.num_elements();
  if (out_n == 0) return absl::OkStatus();
  Dispatch<DTypeSet::kNumeric>(output.dtype(), [&](auto tag) {
    using T = TagType<decltype(tag)>;
    // i32 multiplies in i64 (same wrap-around result modulo 2^32, one
    // contraction instantiation fewer to compile).
    using Acc = std::conditional_t<std::is_same_v<T, int32_t>, int64_t, OpMath<T>>;
    if (plan->k == 0) {  // An empty sum.
      Fill(d, output.data_as<T>(), out_n, T(0));
      return;
    }
    if constexpr (std::is_same_v<T, Acc>) {
      MatmulAcc<Device, Acc>(d, a.data_as<T>(), b.data_as<T>(), *plan, output.data_as<T>());
    } else {
      const ir::DType t_dtype = output.dtype();
      const ir::DType acc_dtype = std::is_same_v<Acc, float> ? ir::DType::kF32 : ir::DType::kI64;
      DeviceBuffer<Device> a_acc(d, a.num_elements() * sizeof(Acc));
      DeviceBuffer<Device> b_acc(d, b.num_elements() * sizeof(Acc));
      DeviceBuffer<Device> c_acc(d, out_n * sizeof(Acc));
      CastElements(d, t_dtype, a.data(), acc_dtype, a_acc.data(), a.num_elements());
      CastElements(d, t_dtype, b.data(), acc_dtype, b_acc.data(), b.num_elements());
      MatmulAcc<Device, Acc>(d, a_acc.template as<Acc>(), b_acc.template as<Acc>(), *plan,
                             c_acc.template as<Acc>());
      CastElements(d, acc_dtype, c_acc.data(), t_dtype, output.data(), out_n);
    }
  });
  return absl::OkStatus();
}

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_MATMUL_IMPL_H_
