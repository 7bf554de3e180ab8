#include "codegen/cuda/capabilities.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "ir/op_registry.h"

namespace sluice::codegen::cuda {

passes::BackendCapabilities CudaCapabilities(int num_sms) {
  passes::BackendCapabilities caps;
  caps.backend = "cuda";
  // The emitter (cuda_emitter.h) gives a long row its own block of up to
  // 1024 threads, two of which fill an SM, and a column reduction 32
  // columns per block: fewer rows or columns than that leave SMs idle, so
  // long reductions with few outputs are split (passes/split_reduction.h).
  caps.split_reduction.parallel_rows = 2 * int64_t{num_sms};
  caps.split_reduction.parallel_columns = 64 * int64_t{num_sms};
  // softmax(Q Kᵀ · scale) V in f16/bf16 as one flash-attention kernel
  // (passes/attention.h, codegen/cuda/attention_emitter.h).
  caps.fused_attention = true;
  // matmul + bias add + relu/gelu(tanh) in f32/f16/bf16 as one cuBLASLt call
  // with an epilogue (passes/matmul_epilogue.h, runtime/cuda/cublaslt.h).
  caps.fused_matmul_epilogue = true;
  caps.classify = [](const ir::Node& node, std::string* why) {
    if (node.schema() == nullptr) {
      if (why != nullptr) *why = "not a call node";
      return passes::Decision::kFallback;
    }
    if (node.schema()->kind != ir::OpKind::kMatmul) return passes::Decision::kLower;
    const ir::DType d = node.dtype();
    if (ir::IsFloatingPoint(d)) return passes::Decision::kLibrary;  // cuBLAS
    if (why != nullptr) {
      *why = absl::StrCat("backend 'cuda' has no lowering for matmul of ", ir::DTypeName(d),
                          ": cuBLAS has no ", ir::DTypeName(d), " GEMM");
    }
    return passes::Decision::kFallback;
  };
  return caps;
}

}  // namespace sluice::codegen::cuda
