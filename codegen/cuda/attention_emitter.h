// The CUDA kernel of an attention-pattern step (codegen::AttentionSpec,
// passes/attention.h): flash attention (the scores never reach memory: q, k
// and v are read once per query block and the output written once), in one
// of two templates.
//
// Hopper (CudaEmitOptions::hopper, i.e. the target is sm_90; the module is
// then compiled for sm_90a) with d a multiple of 64 (up to 128): warpgroup
// MMA. Each warpgroup (4 warps) owns 64 query rows; Q, K and V tiles sit in
// shared memory (dynamic, opted in past 48 KB) in the 128-byte-swizzled
// layout wgmma reads, double-buffered, loaded by the tensor memory
// accelerator (one thread per block issues a cp.async.bulk.tensor per tile
// from tensor maps the runtime encodes per launch: CudaKernelLaunch::
// tensor_maps, attention_tma) or, for unaligned buffers and the loops
// without mbarriers, by every thread's cp.async. S = Q Kᵀ is a
// chain of wgmma m64nNk16 (both operands from shared memory), the online
// softmax (exp2 with the scale folded in) runs in the accumulator
// registers, and O += P V is wgmma m64n64k16 per 64 output columns with P
// from registers (the S accumulator layout is the A fragment layout) and V
// as an N-major B operand. Defaults for d = 64: two warpgroups per block,
// 128-key tiles, registers capped so that two blocks share an SM, so one
// block's softmax overlaps the other's MMAs; for d = 128: one block per SM
// of three computing warpgroups and a producer warpgroup that issues the
// TMA copies, 128-key tiles. The warpgroups of a
// block wait on per-stage mbarriers (tile landed, stage consumed), not on a
// block-wide barrier per tile (benchmarks/NOTES.md §12, §24–26 and §28 have the
// variants measured: attention_warpgroups, attention_block_n,
// attention_stages, attention_overlap, attention_mbarrier,
// attention_pingpong, attention_rowsum_mma, attention_producer (a
// warp-specialized loader warpgroup with setmaxnreg), attention_exp2_fma,
// attention_split_pv, attention_tma).
//
// Otherwise: FlashAttention-2 style on mma.sync m16n8k16 (f16 or bf16 in,
// f32 accumulate). A block of 4 warps, one (batch) index per grid row; each
// warp owns 32 query rows (two m16 tiles, so every K/V fragment read from
// shared memory feeds two mma) for d <= 64 and Sq > 64, else 16; it keeps
// its Q fragments and the f32 output accumulators in registers and walks
// the keys in tiles of BN (64 keys for d <= 64, else 32): K and V tiles go
// to shared memory through cp.async, double-buffered; K's B fragments come
// through ldmatrix; S = Q Kᵀ for the tile in registers, the online softmax
// (running row max and sum, rows reduced across the 4 threads that share
// them), P converted to f16/bf16 in registers as the A operand of
// O += P V (V's B fragments through ldmatrix.trans).
//
// Both: with attention_lazy_rescale = T > 0 the online softmax keeps a
// row's running maximum until a tile's exceeds it by more than 2^T (P's
// values stay at most 2^T), and a warp rescales its O accumulators and row
// sums only on the tiles where one of its rows' maximum moved
// (FlashAttention-4's conditional rescaling; with inputs of one scale that
// is the first tile only). The result is the same softmax: every row is
// normalized by its own sum at the end. Off by default: slower on an H100
// for the block-barrier loop, within the run-to-run spread for the mbarrier
// one (benchmarks/NOTES.md §21, §24).
//
// Both: Sq and Sk need not be multiples of the tiles (rows past Sq are not
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
// template cannot run (d not a multiple of 32 or above 128, not f16/bf16),
// or a wgmma variant needing more shared memory than an SM has.
absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> EmitAttentionKernel(
    const Kernel& kernel, const CudaEmitOptions& options);

}  // namespace sluice::codegen::cuda

#endif  // SLUICE_CODEGEN_CUDA_ATTENTION_EMITTER_H_
