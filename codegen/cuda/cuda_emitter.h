// The CUDA backend's code generator: emits the kernels of a graph (kernel IR,
// codegen/kernel_ir.h) as ONE CUDA C++ translation unit for NVRTC, one
// `extern "C" __global__ void sluice_<name>(...)` per kernel, plus what a
// runtime needs to launch each: grid and block (shapes are static, so they
// are computed here), shared memory and the parameter order (raw device
// pointers in KernelArg order: inputs, then outputs). The helper preamble
// comes from preamble.template.cu, embedded at build time.
//
//   absl::StatusOr<CudaModuleSource> m = EmitCuda(kernels, CudaEmitOptions());
//   // NVRTC-compile m->source (runtime/cuda/nvrtc.h: CompileCuda), then for
//   // kernel i: GetFunction(m->kernels[i].symbol) and launch it with
//   // m->kernels[i].grid / .block / .shared_bytes and one pointer per arg.
//
// Templates, chosen per kernel by inspecting its IR:
//
//  * Pointwise (not a reduction): a flat 1-D grid-stride loop over
//    outer x inner elements in chunks of V consecutive elements per thread.
//    V = 16 bytes / the smallest element among the accesses that are
//    contiguous in r0 (at most 8), halved until it divides the inner extent,
//    so a chunk never crosses a row. An access whose index is r0 + f(x0) with
//    f(x0) a multiple of V (the linear element index, or a broadcast row like
//    a bias) is one vector load/store of V elements (float4 for f32, 8 x
//    half for f16/bf16); every other access is a scalar load with its index
//    recomputed per element. Loads that depend on x0 only are computed once
//    per chunk. One chunk per thread, with the grid capped at
//    pointwise_waves waves of full occupancy (num_sms x max_threads_per_sm /
//    256 x waves blocks of 256 threads); threads loop past that.
//
//  * Row reduction (a reduction kernel unless the column rule below picks
//    the column template): a group of G threads per row x0 — a sub-warp or
//    one warp (G <= 32, several rows per 256-thread block, shuffles only) for
//    short rows, a whole block (64..1024 threads, shuffles plus shared
//    memory) for long rows. Thread `lane` owns the chunks k*G + lane of V
//    elements (so a warp's loads are coalesced). G is a power of two: one
//    chunk per lane for rows of at most 32 chunks, else the smallest group
//    in which one thread holds at most max_elements_per_thread (32)
//    elements per register array (2x that over all arrays), and at least
//    128 once it exceeds a warp — a warp per row up to 1024 f32 or bf16
//    elements, 128 threads for 4096, 1024 for 32000. Then the chunk loops are
//    unrolled and
//    the row stays in registers: a load that several loops of the kernel
//    make (softmax's x in the max and sum loops, layer_norm's x in the mean
//    and variance loops) is read from global memory in the first loop only
//    and cached, and the kernel IR's row scratch arrays are register arrays,
//    so softmax and layer_norm read their input once. Rows too long for that
//    (G would exceed 1024) use 1024 threads and a rolled loop that re-reads
//    (from L2) and recomputes scratch values instead. Accumulation is in the
//    IR's accumulator type (f32 for f16/bf16).
//
//  * Column reduction: when no load that depends on r0 is contiguous in r0
//    but most are contiguous in x0 (a sum over dim 0 of [N, M] loads
//    r0*M + x0; a reduction over a middle dim likewise), threads map to x0
//    (TX consecutive rows per block, coalesced: 32, or up to
//    column_block_x where that still gives 90% of the SMs a block) and TY
//    threads in y split r0;
//    the TY partial results combine through shared memory. TY is sized to
//    fill the GPU (at most 1024 / TX). With at most 32 elements per thread
//    the loops are unrolled and cached in registers as above.
//
//  * Attention (a kernel with an AttentionSpec, made from the attention
//    pattern): flash attention on the tensor cores, warpgroup MMA (wgmma,
//    sm_90a) on Hopper, mma.sync elsewhere; see attention_emitter.h.
//
// Indices are 32-bit when every index and extent of the kernel stays below
// 2^30, else 64-bit. Vector accesses check once per kernel that the pointers
// they use are 16-byte aligned and fall back to element accesses otherwise.
// Every parameter is `__restrict__`: the buffers of one launch must not
// overlap (passes/memory_plan.h never gives a step's inputs and outputs the
// same memory; a caller passing user buffers must not alias an output).
#ifndef SLUICE_CODEGEN_CUDA_CUDA_EMITTER_H_
#define SLUICE_CODEGEN_CUDA_CUDA_EMITTER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codegen/kernel_ir.h"

namespace sluice::codegen::cuda {

enum class CudaTemplate { kPointwise, kRowReduction, kColumnReduction, kAttention };

absl::string_view CudaTemplateName(CudaTemplate t);  // "pointwise", "row", "column", "attention"

struct CudaEmitOptions {
  // The device the grids are sized for (runtime::cuda::CudaDevice's
  // multiprocessor_count(); an H100 SXM has 132).
  int num_sms = 132;
  int max_threads_per_sm = 2048;
  // Pointwise grids: at most this many waves of full occupancy (blocks of
  // 256 threads, max_threads_per_sm / 256 per SM); beyond that, threads
  // loop. Measured on an H100 (64M f32): 4 waves 96% of copy bandwidth, 16
  // waves 99%, 64 waves (one 16-byte chunk per thread up to ~70M f32) 100%;
  // 128 keeps one 8-byte chunk per thread there (pointwise_stream_vector_bytes).
  int pointwise_waves = 128;
  // Pointwise kernels: chunks one thread handles per grid-stride step (their
  // loads all in flight before the first store); the grid is sized for it.
  int pointwise_unroll = 1;
  // Threads per block of pointwise kernels (a power of two, 32..1024; fewer
  // for a smaller tensor). Triton's pointwise kernels take 128.
  int pointwise_block_threads = 256;
  // Widest vector access of pointwise and row kernels, in bytes (4, 8 or
  // 16).
  int max_vector_bytes = 16;
  // Pointwise kernels that stream two or more full-size inputs (loads that
  // move with both the row and the column, not broadcasts) take vectors of
  // at most this many bytes (0: max_vector_bytes). Which is faster depends
  // on the GPU (benchmarks/NOTES.md §22, inside PyTorch's do_bench, two f32
  // streams of 64M): on an H100 (HBM3) 8 bytes 265.3-266.9 us against
  // 268.7-269.5 at 16, on an H200 201 against 189; Triton's own kernels
  // the same way round, and Inductor's autotuner picks accordingly. One
  // stream and a broadcast bias: 16 bytes faster on both. So 0 here, and
  // ApplyDeviceTuning sets 8 for the H100.
  int pointwise_stream_vector_bytes = 0;
  // f32 exp and division through the hardware approximations (about 2 ulp;
  // see preamble.template.cu), division by a per-row value (softmax's sum)
  // as a multiplication by its reciprocal, and gelu(tanh) as x * sigmoid(2u).
  // Triton, and so Inductor, compile like this. f64 is never affected.
  bool fast_math = false;
  // Kernels whose stored values are all f16 / bf16 compute f32 exp,
  // division (a row's divisor: one reciprocal per row), sigmoid, silu and
  // gelu(tanh) as fast_math does (about 2 ulp of f32): the stores' rounding
  // (2^-8 relative for bf16, 2^-11 for f16) hides that. Kernels with any f32,
  // f64, integer or bool store stay exact. On by default (sluice::
  // CudaCompileOptions::approx_math_half_outputs turns it off): softmax_bf16
  // 51.5 -> 50.0 us on an H100 (benchmarks/NOTES.md §23), as XLA and
  // Triton compile half-precision math.
  bool approx_math_half_outputs = true;
  // Exact f32 kernels too: a division in a row loop by a value of the row
  // (softmax's sum) multiplies by that value's reciprocal (1.0f / sum,
  // correctly rounded, once per row): at most 1 ulp more than the division
  // (expf itself is within 2). On by default (sluice::CudaCompileOptions::
  // row_divisor_reciprocal): softmax_f32 -0.4 us on an H100, -0.7 us on an
  // H200 (benchmarks/NOTES.md §23).
  bool row_divisor_reciprocal = true;
  // Row/column reductions: elements one thread keeps per register array
  // (and 2x this over all arrays) before falling back to re-reading.
  int max_elements_per_thread = 32;
  // Threads per block of row reductions with a warp or less per row.
  int row_block_threads = 256;
  // Column reductions: at most this many consecutive columns (the x0 the
  // threads map to) per block, a power of two in [32, 256]. The emitter takes
  // the widest (down to 32) that still leaves a block for 90% of the SMs and
  // whose columns are consecutive in memory. Which is faster depends on the
  // GPU (benchmarks/NOTES.md §25, 16384^2 f32 summed over rows): on an H100
  // (HBM3) 128 columns 369.4-370.2 us against 380.5-380.8 at 32, on an
  // H200 256.1-256.7 against 252.5-253.3. So 32 here, and ApplyDeviceTuning
  // sets 128 for the H100.
  int column_block_x = 32;
  // When more than the threads per row picked above (a power of two): this
  // many threads per row for rows kept in registers (fewer values a thread,
  // fewer registers; at most one chunk a thread, 1024 threads). Over 32 a
  // row is a block (shuffles plus shared memory). Changes the order of the
  // row's sums. 0: the pick.
  int row_threads = 0;
  // When > 0 (a power of two, 32..1024): row reductions whose rows have more
  // chunks than this take this many threads per row and the rolled loop that
  // re-reads the row (from L2) instead of keeping it in registers, as
  // Triton's looped reductions do.
  int row_reread_threads = 0;
  // Rolled (re-reading) row loops give the GPU's caches Triton's hints: a
  // load that a later loop of the row reads again, and a load every row
  // reads (a weight), evict-last in L1 and L2; a load's last read
  // evict-first (sm_80+; plain loads elsewhere).
  bool reread_cache_hints = false;
  // With row_reread_threads = 0: a row reduction whose two loops read a row
  // of at least 1024 vector chunks and at most 64 KB (rms_norm's 4096 f32)
  // takes 512 threads per row, the re-reading loop and the cache hints.
  bool reread_long_rows = true;
  // When > 0, the second __launch_bounds__ argument (caps registers so that
  // this many blocks fit on an SM).
  int min_blocks_per_sm = 0;
  // Buffers are 16-byte aligned (the memory plan's arena and cuMemAlloc
  // give 64 and 256): no run-time check, no element-wise fallback path.
  bool assume_aligned = false;
  // Generated kernels with 16-byte vector accesses come in two: the
  // module's, for 16-byte-aligned buffers only (no element-wise path; its
  // entry traps on others), and the general one as the launch's unaligned
  // variant (CudaKernelLaunch::unaligned_source), which the runtime compiles
  // the first time a launch's buffers are not all aligned. Callers' buffers
  // keep working, at assume_aligned's speed when aligned. Works with
  // launch_variants (every shape aligned-only). Off by default: on an H100
  // layer_norm_bf16 0.35 us faster with it, softmax_bf16 0.4 us slower
  // (benchmarks/NOTES.md §21, §22, §28).
  bool aligned_variants = false;
  // A row reduction with 16-byte vector accesses checks its buffers'
  // alignment once, at entry, and runs one of two copies of its body: one
  // with only vector accesses, one with only element-wise ones. Off (and in
  // pointwise and column kernels), every vector access branches on the
  // check: the two paths interleaved, each load issued behind its own
  // branch. The copies' static shared arrays are apart (the kernel's static
  // shared memory doubles). On an H100, layer_norm_bf16 0.3 us faster with
  // it; pointwise kernels were 2 us slower, so they keep the per-access
  // form (benchmarks/NOTES.md §29).
  bool alignment_dispatch = true;
  // Vector loads as plain ld.global (SLUICE_COHERENT_LOADS), as Triton's
  // are, instead of what `const __restrict__` lets nvcc choose: the
  // non-coherent read-only path (ld.global.nc, LDG.CONSTANT in SASS).
  bool coherent_loads = false;
  // Row reductions whose row is unrolled into registers: vector loads of a
  // buffer every row reads (a layer_norm's weight and bias) carry
  // evict_last, as Triton's do (sl_ldv_keep). Rolled loops take their hints
  // from reread_cache_hints. On an H100, layer_norm_bf16 0.7-1.5 us faster
  // with it, no other graph moved (benchmarks/NOTES.md §29).
  bool broadcast_evict_last = true;
  // Row reductions whose row is unrolled into registers: a load of a buffer
  // every row reads (a layer_norm's weight and bias) that a later loop of
  // the row makes (after the row's reductions) is made in the first loop,
  // into registers, so that its latency overlaps the row's own loads
  // instead of following the reductions. Costs a register array per such
  // load. Off: on an H200 layer_norm f32/bf16 moved by nothing beyond the
  // run-to-run spread (benchmarks/NOTES.md §31); not measured on an H100.
  bool hoist_broadcast_loads = false;
  // Pointwise kernels: a vector access to the whole contiguous tensor is at
  // c * V, the chunk's offset, instead of x0 * inner + rb from splitting c
  // by the row length (8 integer instructions a chunk in SASS, the signed
  // division's fix-ups). The same addresses; off until measured on a GPU
  // (benchmarks/NOTES.md §29).
  bool pointwise_linear_index = false;
  // Row/column reductions: recompute a kernel-IR scratch value from cached
  // loads narrower than it (an f32 value of a bf16 row) where it is read,
  // instead of keeping it in an f32 register array.
  bool recompute_narrow_scratch = false;
  // Attention kernels (attention_emitter.h): 16-row tiles per warp (1 or 2)
  // and keys per tile (16, 32 or 64); 0 picks by head dim.
  int attention_m_tiles = 0;
  int attention_block_n = 0;
  // The target is Hopper (sm_90): the attention kernel may use sm_90a's
  // warpgroup MMA (wgmma), and a module that does says so
  // (CudaModuleSource::needs_sm90a), to be compiled for sm_90a.
  bool hopper = false;
  // Attention on Hopper (attention_emitter.h): the wgmma kernel at all (off:
  // the mma.sync kernel), its warpgroups of 64 query rows per block (1..4)
  // and shared-memory stages of K/V tiles (2..4); 0 picks. attention_block_n
  // is 64 or 128 keys there.
  bool attention_wgmma = true;
  int attention_warpgroups = 0;
  int attention_stages = 0;
  // How the wgmma kernel overlaps a tile's work: 0 none, 1 P V waited for
  // with the next tile's S, 2 FlashAttention-3's softmax during the previous
  // P V (1 and 2 need 3 or more stages).
  int attention_overlap = 0;
  // The wgmma kernel's warpgroups meet at no block-wide barrier: each
  // stage of K/V tiles has a "full" mbarrier (every thread's cp.async
  // copies of the tile arrive on it as they land) and an "empty" one (every
  // thread arrives once its warpgroup's P V of the tile is done; the stage
  // is refilled after that), so the warpgroups of a block drift apart by up
  // to a tile (two with 3 or more stages, which load one tile fewer ahead).
  // attention_overlap 1 keeps the block barrier; with 2 the stage of a tile
  // is released once its P V, overlapped with the next softmax, completed.
  // On by default: 1% faster on an H100 and an H200 (benchmarks/NOTES.md §24).
  bool attention_mbarrier = true;
  // With attention_mbarrier and 2 warpgroups: the two take turns issuing
  // their MMAs (named barriers), so that one's softmax overlaps the other's
  // MMAs (FlashAttention-3's ping-pong).
  bool attention_pingpong = false;
  // The wgmma kernel sums P's rows on the tensor cores instead of with an
  // FADD per score: the last 64 columns' P V is m64n72k16, its 8 extra
  // columns reading a 2 KB block of ones in shared memory, so each row's sum
  // of the (rounded) P accumulates in f32 beside O and is rescaled with it.
  // 15% fewer instructions in the loop, but 1-2% slower for d 64 on an H100
  // (the tensor cores do 12% more of P V; benchmarks/NOTES.md §25): off.
  bool attention_rowsum_mma = false;
  // The wgmma kernel's warp specialization (FlashAttention-3's producer):
  // one more warpgroup per block only loads Q and the K/V tiles (its first
  // thread by TMA with attention_tma, all its threads by cp.async without;
  // arriving on the stages' full mbarriers, waiting on their empty ones) with
  // its registers lowered to 24 by setmaxnreg, and the attention_warpgroups
  // consumer warpgroups (at most 3), raised to what that leaves, only
  // compute. One block per SM; needs attention_mbarrier and attention_overlap
  // 0 or 2; 2 stages suffice. 1: on, 0: off, -1: the pick, which is on for
  // d 128 with 3 computing warpgroups and 128-key tiles (when
  // attention_warpgroups, attention_block_n, attention_stages and
  // attention_overlap are left at 0, mbarriers on, no ping-pong): 3-4% faster there than 2 warpgroups
  // of 64-key tiles on an H100 (benchmarks/NOTES.md §28); off for d 64,
  // where it was 14-33% slower (fewer computing warps per SM; §26, §28).
  int attention_producer = -1;
  // The wgmma kernel computes this many of each thread's BN / 8 groups of 4
  // softmax exponentials per tile (16 for 128-key tiles) with a polynomial
  // on the FMA pipe instead of MUFU.EX2, whose 16 results per SM and cycle
  // are as much of a bound for d 64 as the tensor cores (FlashAttention-4's
  // emulation; relative error below 7.5e-5, under f16's rounding of P).
  // 0: all on MUFU (the default: each group made the d 64 kernel slower on
  // an H100, in proportion to the instructions it adds; NOTES.md §26).
  int attention_exp2_fma = 0;
  // The wgmma kernel's unpipelined loop (attention_overlap 0, no ping-pong)
  // issues the first half of a tile's P V as soon as that half of P is
  // packed, so that it runs while the second half's exponentials are
  // computed (O is rescaled before either). 0.5-1% slower on an H100
  // (NOTES.md §26): off.
  bool attention_split_pv = false;
  // The wgmma kernel's mbarrier loops (attention_mbarrier) load Q and the
  // K/V tiles with the tensor memory accelerator: one thread per block (the
  // producer's first, with attention_producer) issues one
  // cp.async.bulk.tensor per tile and 64-column block
  // into the 128-byte-swizzled layout the cp.async copies write, and the
  // stage's full mbarrier counts the bytes in; rows past the sequence read
  // as zeros. The launch then takes three tensor maps after its buffers
  // (CudaKernelLaunch::tensor_maps), which the runtime encodes per launch;
  // the unaligned variant and the block-barrier loop keep the cp.async
  // copies (the launch's config says which). On by default:
  // 8% faster than cp.async for d 64 on an H100, ahead of cuDNN's kernel
  // (benchmarks/NOTES.md §27).
  bool attention_tma = true;
  // Both attention kernels' online softmax: a row's running maximum moves
  // only when a tile's exceeds it by more than 2^this (so P's values stay
  // below 2^this, well inside f16's range), and a warp rescales O and the
  // row sums only when one of its rows' did (FlashAttention-4's conditional
  // rescaling). 0 (the default) rescales every tile; at most 15. 8 was 3%
  // slower on an H100 for the wgmma kernel's block-barrier loop
  // (benchmarks/NOTES.md §21) and within the run-to-run spread for its
  // mbarrier loop (§24: 1% faster in two runs, 1% slower in a third).
  int attention_lazy_rescale = 0;
  // Kernels also come in other launch shapes, each a kernel of its own in
  // the module (CudaKernelLaunch::variants), for a caller that times them on
  // its GPU and launches the fastest (sluice::Compile's autotuning): row
  // reductions of a warp or less per row with 1 and 8 rows per block
  // (row_block_threads 32 and 256) and with 64 threads per row
  // (row_threads), pointwise kernels in 128-thread blocks (and those that
  // stream two or more full-size inputs with 8- and 16-byte vectors),
  // column reductions with up to 32, 64
  // and 128 consecutive columns per block (column_block_x). Variants with
  // the kernel's threads per row compute the same values in the same
  // order, so they give the same bits; 64 threads per row sums a row in
  // another order, and so does another column width (its rows are split
  // over another number of threads): results within f32 rounding of each
  // other. Not for attention kernels. With aligned_variants every shape is
  // for 16-byte-aligned buffers, as the kernel is; launches with others take
  // the kernel's unaligned variant in the kernel's own shape.
  bool launch_variants = false;
  // With launch_variants: EmitCuda describes each variant (its launch in
  // CudaKernelLaunch::variants) but leaves its text out of the module's
  // source; CudaModuleSource::variant_identity then names what that text
  // is a function of, and EmitCudaVariantText makes it. A compile that
  // finds its cubin in a cache keyed by source and identity never makes
  // the text (sluice::Compile's warm compiles: a row kernel's variants are
  // a third of its emitting).
  bool defer_variant_text = false;
  // Test hook (DESIGN §3 rule 6): kernels with these names get an `#error`,
  // so compiling the module really fails inside them.
  absl::flat_hash_set<std::string> poison_kernels;
};

// Applies "key=value,key=value" overrides of the fields above (the
// SLUICE_CUDA_EMIT environment variable of sluice::Compile, for tuning
// experiments without a rebuild): pointwise_waves, pointwise_unroll,
// pointwise_block_threads, max_vector_bytes, pointwise_stream_vector_bytes,
// max_elements_per_thread, row_block_threads, row_threads, row_reread_threads, min_blocks_per_sm,
// column_block_x,
// attention_m_tiles, attention_block_n, attention_warpgroups,
// attention_stages, attention_overlap, attention_lazy_rescale, attention_exp2_fma (integers) and
// fast_math, assume_aligned, aligned_variants, coherent_loads, approx_math_half_outputs,
// recompute_narrow_scratch, attention_wgmma, attention_mbarrier, attention_pingpong,
// attention_rowsum_mma, attention_producer, attention_split_pv, attention_tma, launch_variants,
// row_divisor_reciprocal, reread_cache_hints, reread_long_rows, alignment_dispatch,
// broadcast_evict_last, hoist_broadcast_loads, pointwise_linear_index (0/1/true/false).
// InvalidArgument naming the entry for an unknown key or a bad value;
// `options` is unchanged then.
absl::Status ApplyCudaEmitOverrides(absl::string_view spec, CudaEmitOptions* options);

// Defaults measured per GPU (sluice::Compile applies them for the device it
// compiles for, before SLUICE_CUDA_EMIT): an H100 with HBM3 memory (the SXM
// card, named "NVIDIA H100 80GB HBM3") takes pointwise_stream_vector_bytes
// = 8 and column_block_x = 128. Every other device, and compiling without one, keeps the defaults:
// the H200 was measured the other way round, the rest not at all.
void ApplyDeviceTuning(absl::string_view device_name, CudaEmitOptions* options);

// Another launch shape of a generated kernel (CudaEmitOptions::
// launch_variants): a kernel of its own in the same module, taking the same
// parameters.
struct CudaLaunchVariant {
  std::string symbol;  // "sluice_" + name + "_v" + i
  std::array<uint32_t, 3> grid = {1, 1, 1};
  std::array<uint32_t, 3> block = {1, 1, 1};
  uint32_t shared_bytes = 0;
  std::string config;  // as CudaKernelLaunch::config
};

// A tensor map (CUtensorMap, the tensor memory accelerator's descriptor of
// a global tensor) that a kernel takes by value after its buffers
// (`const __grid_constant__`, 128 bytes, 64-byte aligned). The launcher
// encodes it per launch for the buffer's address (cuTensorMapEncodeTiled):
// elements of `element_bytes`, interleave none, no L2 promotion beyond
// 256 bytes, out-of-bounds elements read as zeros.
struct CudaTensorMap {
  int arg = 0;            // the buffer: an index into CudaKernelLaunch::args
  int element_bytes = 2;  // 1, 2, 4 or 8
  std::vector<uint64_t> dims;     // elements per dimension, innermost first (rank 1-5)
  std::vector<uint64_t> strides;  // bytes from one index of dims[i + 1] to the next (rank - 1)
  std::vector<uint32_t> box;      // elements one copy moves per dimension (each 1-256)
  int swizzle_bytes = 128;        // the shared-memory swizzle: 0 (none), 32, 64 or 128
};

// How to launch one generated kernel.
struct CudaKernelLaunch {
  std::string name;    // Kernel::name
  std::string symbol;  // the extern "C" __global__ function: "sluice_" + name
  CudaTemplate kind = CudaTemplate::kPointwise;
  std::array<uint32_t, 3> grid = {1, 1, 1};
  std::array<uint32_t, 3> block = {1, 1, 1};
  // Dynamic shared memory (the Hopper attention kernel's; the other
  // templates use static shared memory only, so 0).
  uint32_t shared_bytes = 0;
  // Static shared memory the kernel declares (for reports).
  uint32_t static_shared_bytes = 0;
  // The parameters, in order: one device pointer per arg (inputs, outputs),
  // then one CUtensorMap per tensor map (attention_tma). A launch of the
  // unaligned variant passes the maps zeroed: it does not read them.
  std::vector<KernelArg> args;
  std::vector<CudaTensorMap> tensor_maps;
  // The template's parameters in words, e.g. "row: 32 threads/row, 8
  // rows/block, 4-wide, unrolled x8, registers".
  std::string config;
  // The kernel uses sm_90a-only instructions (wgmma).
  bool needs_sm90a = false;
  // When set, `symbol` requires every buffer to be 16-byte aligned (it traps
  // otherwise), and launches whose buffers are not take `unaligned_symbol`,
  // the whole of `unaligned_source` (a translation unit of its own: preamble
  // included, same arch). The runtime compiles it the first time a launch
  // needs it, so that a compile pays only for the aligned kernel (the
  // Hopper attention kernel's two instantiations cost about the same each;
  // CudaEmitOptions::aligned_variants gives every generated kernel with
  // vector accesses such a pair).
  std::string unaligned_symbol;
  std::string unaligned_source;
  // Its other launch shapes (CudaEmitOptions::launch_variants), whose text
  // follows the kernel's within [first_line, last_line] (or is not in the
  // source at all: CudaEmitOptions::defer_variant_text).
  std::vector<CudaLaunchVariant> variants;
  int first_line = 0;  // 1-based, inclusive: the kernel's lines in `source`
  int last_line = 0;
};

struct CudaModuleSource {
  std::string source;  // one translation unit: preamble + every kernel
  std::vector<CudaKernelLaunch> kernels;  // in the order given to EmitCuda
  // Some kernel uses sm_90a-only instructions: compile for sm_90a, not sm_90.
  bool needs_sm90a = false;
  // CudaEmitOptions::defer_variant_text, where some kernel has launch
  // variants: the emitter's fingerprint and every variant's symbol, grid,
  // block, shared memory and config, which with `source` determine the text
  // left out (EmitCudaVariantText's). Empty when `source` is the whole
  // module.
  std::string variant_identity;

  // The kernel whose lines contain `line` (an NVRTC error's line), or null.
  const CudaKernelLaunch* KernelAtLine(int line) const;
};

// Emits all `kernels` (unique names) as one module. Errors: InvalidArgument
// for duplicate names, Internal (naming the kernel) for IR the emitter does
// not know (an unknown op), which callers treat as a lowering failure of the
// kernel's nodes (DESIGN §3 rule 6).
absl::StatusOr<CudaModuleSource> EmitCuda(const std::vector<Kernel>& kernels,
                                          const CudaEmitOptions& options = {});

// The CUDA text of one kernel (no preamble) and its launch, for golden tests
// and dumps.
absl::StatusOr<CudaModuleSource> EmitCudaKernel(const Kernel& kernel,
                                                const CudaEmitOptions& options = {});

// The text CudaEmitOptions::defer_variant_text left out of `module` (what
// EmitCuda(kernels, options) returned): every kernel's launch variants, to
// be appended to module.source as one translation unit. Internal when the
// variants come out other than `module` describes them.
absl::StatusOr<std::string> EmitCudaVariantText(const std::vector<Kernel>& kernels,
                                                const CudaModuleSource& module,
                                                const CudaEmitOptions& options);

// A hash of the emitter's code (codegen/cuda:emitter_fingerprint_h), part of
// CudaModuleSource::variant_identity.
const char* CudaEmitterFingerprint();

// The preamble every module starts with.
const char* CudaPreamble();

// A kernel's variant for buffers that are not 16-byte aligned as a
// translation unit of its own (CudaKernelLaunch::unaligned_source): a header
// line, the module's SLUICE_FAST_MATH define when options.fast_math, the
// preamble, then `kernel_text` (the variant and any helpers it needs).
std::string UnalignedVariantSource(const CudaEmitOptions& options,
                                   absl::string_view kernel_name,
                                   absl::string_view kernel_text);

}  // namespace sluice::codegen::cuda

#endif  // SLUICE_CODEGEN_CUDA_CUDA_EMITTER_H_
