// Internal to //fallback/cuda: the kernel groups the .cu files export to the
// registry in gpu_kernels.cc, and the record of CUDA runtime failures inside
// Eigen. Plain C++ (no CUDA or Eigen types).
#ifndef SLUICE_FALLBACK_CUDA_REGISTRY_H_
#define SLUICE_FALLBACK_CUDA_REGISTRY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "fallback/cuda/gpu_kernels.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::fallback::cuda::internal {

// One group of kernels (one .cu file): runs `node` when its op belongs to
// the group, else returns NotFound.
using GroupFn = absl::Status (*)(const GpuStream& stream, const ir::Node& node,
                                 absl::Span<const runtime::Tensor> inputs,
                                 runtime::Tensor& output);

// elementwise.cu: the unary, binary, comparison and logical ops, where,
// cast, full.
bool IsElementwiseOp(const std::string& op);
absl::Status RunElementwise(const GpuStream& stream, const ir::Node& node,
                            absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output);

// reduction.cu: sum mean amax amin argmax, softmax log_softmax layer_norm
// rms_norm, and the layout ops.
bool IsReductionOrLayoutOp(const std::string& op);
absl::Status RunReductionOrLayout(const GpuStream& stream, const ir::Node& node,
                                  absl::Span<const runtime::Tensor> inputs,
                                  runtime::Tensor& output);

// Eigen's CUDA runtime checks (gpu_assert) call this on the host instead of
// aborting; RunNodeOnGpu turns the first failure of a kernel into a Status.
void NoteGpuFailure(const char* condition, const char* file, int line);
// The failures noted on this thread since the last call ("" when none).
std::string TakeGpuFailures();

}  // namespace sluice::fallback::cuda::internal

#endif  // SLUICE_FALLBACK_CUDA_REGISTRY_H_
