// The CUDA backend's capability table (DESIGN §3 rule 5): what --device=cuda
// lowers. Every elementwise, reduction, layout and creation op in every dtype
// becomes generated CUDA (codegen/cuda/cuda_emitter.h); composites (softmax,
// log_softmax, layer_norm, rms_norm) are lowered through decomposition;
// matmul is a cuBLAS call (Decision::kLibrary) for f32, f16, bf16 and f64,
// and falls back to the reference kernel, with the reason, for integer and
// bool operands (cuBLAS has no such GEMM). Two patterns may become one step:
// softmax(Q Kᵀ) V in f16/bf16 one flash-attention kernel (fused_attention),
// and matmul + bias add + relu/gelu(tanh) in f32/f16/bf16 one cuBLASLt call
// with an epilogue (fused_matmul_epilogue). A sum, amax or amin with fewer
// outputs than the device has SMs (column reductions: 32 x SMs) and a long
// reduction runs in two stages (split_reduction, passes/split_reduction.h).
#ifndef SLUICE_CODEGEN_CUDA_CAPABILITIES_H_
#define SLUICE_CODEGEN_CUDA_CAPABILITIES_H_

#include "passes/lowering_plan.h"

namespace sluice::codegen::cuda {

// `num_sms`: the multiprocessors of the GPU the kernels are for (an H100 SXM
// has 132), which decide which reductions are split.
passes::BackendCapabilities CudaCapabilities(int num_sms = 132);

}  // namespace sluice::codegen::cuda

#endif  // SLUICE_CODEGEN_CUDA_CAPABILITIES_H_
