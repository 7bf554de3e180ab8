// The GPU (Eigen::GpuDevice) instantiation of the shared primitives
// (fallback/primitives.h) and GpuStream's lifetime.
#include "fallback/cuda/eigen_gpu.h"
#include "fallback/primitives_impl.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sluice::fallback {

SLUICE_FALLBACK_DECLARE_PRIMITIVES(, Eigen::GpuDevice)

namespace cuda {

absl::StatusOr<std::unique_ptr<GpuStream>> GpuStream::Create(void* cuda_stream, int ordinal) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    return absl::UnavailableError(absl::StrCat("the CUDA runtime finds no GPU: cudaGetDeviceCount: ",
                                               cudaGetErrorName(err), " (",
                                               cudaGetErrorString(err), ")"));
  }
  if (ordinal < 0 || ordinal >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("no CUDA device ", ordinal, " (the runtime sees ", count, ")"));
  }
  // Reads every device's properties once (Eigen caches them).
  (void)Eigen::GetGpuDeviceProperties(ordinal);
  if (std::string failed = internal::TakeGpuFailures(); !failed.empty()) {
    return absl::UnavailableError(absl::StrCat("reading the GPU's properties failed: ", failed));
  }
  auto impl = std::make_unique<Impl>(static_cast<cudaStream_t>(cuda_stream), ordinal);
  return std::unique_ptr<GpuStream>(new GpuStream(std::move(impl)));
}

GpuStream::GpuStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GpuStream::~GpuStream() = default;

}  // namespace cuda
}  // namespace sluice::fallback
