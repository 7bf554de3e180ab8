// The CUDA kernel of an attention-pattern step (codegen::AttentionSpec,
// passes/attention.h): flash attention, FlashAttention-2 style, on the
// tensor cores through mma.sync m16n8k16 (f16 or bf16 in, f32 accumulate).
//
// A block of 4 warps, one (batch) index per grid row; each warp owns 32
// query rows (two m16 tiles, so every K/V fragment read from shared memory
// feeds two mma) for d <= 64 and Sq > 64, else 16; it keeps its Q fragments
// and the f32 output accumulators in registers and walks the keys in tiles
// of BN (64 keys for d <= 64, else 32): K and V tiles go to shared memory
// through cp.async, double-buffered (the next tile loads while this one is
// used); K's B fragments come through ldmatrix; S = Q Kᵀ for the tile in
// registers, the online softmax
// (running row max and sum, exp2 with the scale folded in, rows reduced
// across the 4 threads that share them), P converted to f16/bf16 in
// registers as the A operand of O += P V (V's B fragments through
// ldmatrix.trans). The scores never reach memory: q, k and v are read once
// per query block and the output written once.
//
// Sq and Sk need not be multiples of the tiles (rows past Sq are not
// stored; keys past Sk are masked to -inf and their V rows zero-filled).
// Buffers not 16-byte aligned take element loads and stores instead.
#ifndef SLUICE_CODEGEN_CUDA_ATTENTION_EMITTER_H_
#define SLUICE_CODEGEN_CUDA_ATTENTION_EMITTER_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/kernel_ir.h"

namespace sluice::codegen::cuda {

// The kernel's source (no preamble; it needs the preamble's includes) and
// launch. InvalidArgument when `kernel` has no AttentionSpec or one this
// template cannot run (d not a multiple of 32 or above 128, not f16/bf16).
absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> EmitAttentionKernel(
    const Kernel& kernel, const CudaEmitOptions& options);

}  // namespace sluice::codegen::cuda

#endif  // SLUICE_CODEGEN_CUDA_ATTENTION_EMITTER_H_
