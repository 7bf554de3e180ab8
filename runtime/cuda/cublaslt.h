// Matrix products with a fused epilogue through cuBLASLt, in sluice's
// row-major convention: D = act(A·B + bias), bias one value per column of D
// (a vector over D's last dim, broadcast over its rows), act ReLU or GELU
// (cuBLASLt's GELU is the tanh approximation,
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))). The matmul epilogue steps of
// the CUDA backend (passes/matmul_epilogue.h) run through this, so the
// product never goes to memory before the bias and the activation.
//
// cuBLASLt is column-major; a row-major D = A·B is the column-major
// Dᵀ (n×m) = Bᵀ (n×k) · Aᵀ (k×m), so B is passed as cuBLASLt's "A" and A as
// its "B", neither transposed. A column-major bias epilogue adds a vector of
// D's row count (n here) to every column of Dᵀ: element j to row j, i.e. to
// every element of our column j — the per-column bias wanted.
//
// Accumulation and the epilogue are in f32 for f32, f16 and bf16 (compute
// CUBLAS_COMPUTE_32F, scale type f32; TF32 for f32 is opt-in as in
// cublas.h); for f16/bf16 split-K reductions in the output type are avoided
// when cuBLASLt offers another algorithm (as cublas.h's
// CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION does for cuBLAS).
//
// One CublasLtHandle per stream (an executable has one); it owns the
// workspace (32 MiB from the device allocator) and caches the algorithm
// cuBLASLt's heuristic picked for each problem.
#ifndef SLUICE_RUNTIME_CUDA_CUBLASLT_H_
#define SLUICE_RUNTIME_CUDA_CUBLASLT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ir/dtype.h"
#include "passes/matmul_epilogue.h"
#include "runtime/cuda/cuda_types.h"
#include "runtime/cuda/memory.h"
#include "runtime/cuda/stream.h"

namespace sluice::runtime::cuda {

class CublasLtHandle {
 public:
  static constexpr size_t kDefaultWorkspaceBytes = size_t{32} << 20;

  // A handle for `stream` (which must outlive it), with its own workspace.
  // Unavailable when cuBLASLt or the driver is.
  static absl::StatusOr<std::unique_ptr<CublasLtHandle>> Create(
      CudaStream* stream, size_t workspace_bytes = kDefaultWorkspaceBytes);
  ~CublasLtHandle();
  CublasLtHandle(const CublasLtHandle&) = delete;
  CublasLtHandle& operator=(const CublasLtHandle&) = delete;

  cublasLtContext* handle() const { return handle_; }  // a cublasLtHandle_t
  CudaStream* stream() const { return stream_; }
  DevicePtr workspace() const { return workspace_.ptr(); }
  size_t workspace_bytes() const { return workspace_.size(); }

  // The heuristic's algorithm per problem (opaque cublasLtMatmulAlgo_t bytes,
  // keyed by GemmEpilogue's description of the problem).
  struct CachedAlgo {
    uint64_t data[8];
  };
  bool FindAlgo(const std::string& key, CachedAlgo* algo) const;
  void StoreAlgo(const std::string& key, const CachedAlgo& algo);

 private:
  CublasLtHandle(CudaStream* stream, cublasLtContext* handle, DeviceBuffer workspace)
      : stream_(stream), handle_(handle), workspace_(std::move(workspace)) {}
  CudaStream* stream_;
  cublasLtContext* handle_;
  DeviceBuffer workspace_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, CachedAlgo> algos_ ABSL_GUARDED_BY(mu_);
};

// D = act(A·B + bias): A m×k, B k×n, D m×n, all packed row-major of `dtype`
// (f32, f16 or bf16); bias n values of `dtype`, or 0 for none. At least one
// of bias and act is usually given (neither: a plain product).
struct GemmEpilogueParams {
  ir::DType dtype = ir::DType::kF32;
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  DevicePtr a = 0;
  DevicePtr b = 0;
  DevicePtr d = 0;
  DevicePtr bias = 0;
  // The matmul_epilogue pattern's own activation, so that a step's match
  // reaches cuBLASLt without a conversion.
  passes::EpilogueActivation activation = passes::EpilogueActivation::kNone;
  // f32 only: let cuBLASLt use TF32 tensor cores (10-bit mantissa inputs).
  bool allow_tf32 = false;
};

// "CUBLASLT_EPILOGUE_GELU_BIAS" etc.: the epilogue `p` asks for.
std::string EpilogueName(const GemmEpilogueParams& p);

// One cublasLtMatmul on the handle's stream; asynchronous. InvalidArgument
// for inconsistent parameters, naming them; Unimplemented when cuBLASLt has
// no algorithm for the problem (naming it).
absl::Status GemmEpilogue(CublasLtHandle* handle, const GemmEpilogueParams& params);

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_CUBLASLT_H_
