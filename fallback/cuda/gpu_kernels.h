// The fallback (reference) kernels on a CUDA GPU: the device-generic Eigen
// kernels of //fallback (fallback/*_impl.h) instantiated for
// Eigen::GpuDevice, compiled by nvcc, and run on a caller's CUDA stream.
// This header is plain C++ (no CUDA or Eigen types), so host-only code such
// as runtime/cuda/execution_device.cc can call the kernels.
//
//   SLUICE_CUDA_ASSIGN_OR_RETURN(auto gpu, GpuStream::Create(stream->handle(), 0));
//   if (HasGpuKernel(node.op(), node.dtype())) {
//     SLUICE_CUDA_RETURN_IF_ERROR(RunNodeOnGpu(*gpu, node, inputs, output));
//   }
//
// Tensors passed here are views (runtime::Tensor::Borrow) of DEVICE memory.
// Kernels are asynchronous on the stream, except where a kernel reads a
// one-element operand to the host (fallback/eigen.h ReadScalar), which
// synchronizes. Temporaries come from cudaMallocAsync on the same stream.
//
// Coverage (the registry key is the op and the OUTPUT dtype, as for the CPU
// registry, fallback/kernel_registry.h): every elementwise op, reductions,
// argmax, softmax/log_softmax, layer_norm/rms_norm and the layout ops, in
// every dtype the CPU registry has. matmul has no GPU fallback kernel
// (floating-point matmul is a cuBLAS library call; an integer matmul, or a
// matmul marked fallback, runs on the CPU kernel through host copies).
//
// The CUDA context of the stream's device must be current on the calling
// thread (runtime/cuda ScopedActivateContext), and it must be the device's
// primary context: the CUDA runtime, which Eigen uses, works in it.
#ifndef SLUICE_FALLBACK_CUDA_GPU_KERNELS_H_
#define SLUICE_FALLBACK_CUDA_GPU_KERNELS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "runtime/tensor.h"

namespace sluice::fallback::cuda {

// An Eigen::GpuDevice bound to one CUDA stream (the state is opaque here:
// fallback/cuda/eigen_gpu.h defines it for the .cu files).
class GpuStream {
 public:
  struct Impl;

  // `cuda_stream` is a CUstream (== cudaStream_t) of device `ordinal`.
  // Unavailable when the CUDA runtime finds no such device.
  static absl::StatusOr<std::unique_ptr<GpuStream>> Create(void* cuda_stream, int ordinal);
  ~GpuStream();
  GpuStream(const GpuStream&) = delete;
  GpuStream& operator=(const GpuStream&) = delete;

  Impl& impl() const { return *impl_; }

 private:
  explicit GpuStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether (op, output dtype) has a GPU kernel.
bool HasGpuKernel(absl::string_view op, ir::DType dtype);

// Every (op, output dtype) with a GPU kernel, sorted.
std::vector<std::pair<std::string, ir::DType>> GpuKernelList();

// Runs call node `node` on the GPU: inputs as for fallback::RunNode (a default
// Tensor for a literal operand), every tensor a view of device memory with
// its operand's (output's) type. NotFound when there is no GPU kernel;
// Unimplemented above rank 8; Internal when a CUDA runtime call inside Eigen
// failed (naming the call and the node).
absl::Status RunNodeOnGpu(const GpuStream& stream, const ir::Node& node,
                          absl::Span<const runtime::Tensor> inputs, runtime::Tensor& output);

}  // namespace sluice::fallback::cuda

#endif  // SLUICE_FALLBACK_CUDA_GPU_KERNELS_H_
