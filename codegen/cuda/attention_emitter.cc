#include "codegen/cuda/attention_emitter.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace sluice::codegen::cuda {
namespace {

// The body, with $NAME-style placeholders filled in by EmitAttentionKernel.
// Raw 16-bit storage is handled as unsigned short so that f16 and bf16 share
// the code; only the conversions and the mma type differ.
constexpr const char* kAttentionTemplate = R"(extern "C" __global__ void __launch_bounds__($NT$MINBLOCKS)
sluice_$NAME($PARAMS) {
  // attention $ELEM: batch $BATCH, sq $SQ, sk $SK, d $D, scale $SCALE
  // MT m16 tiles (16 query rows each) per warp; BM = 16 * MT * warps rows per block.
  constexpr int SQ = $SQ, SK = $SK, D = $D, BM = $BM, BN = $BN, NT = $NT, MT = $MT, STR = D + 8;
  constexpr float kScaleLog2 = $LOG2SCALEf;  // scale * log2(e): exp(s*scale - m) = exp2(...)
  constexpr float LAZY = $LAZY.f;  // rescale threshold, log2 units (0: every tile)
  const float kNegInf = __int_as_float(0xff800000);
  __shared__ __align__(16) unsigned short sk[2][BN][STR];
  __shared__ __align__(16) unsigned short sv[2][BN][STR];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const long long bh = blockIdx.y;
  const unsigned short* __restrict__ qb = reinterpret_cast<const unsigned short*>($Q) + bh * SQ * D;
  const unsigned short* __restrict__ kb = reinterpret_cast<const unsigned short*>($K) + bh * SK * D;
  const unsigned short* __restrict__ vb = reinterpret_cast<const unsigned short*>($V) + bh * SK * D;
  unsigned short* __restrict__ ob = reinterpret_cast<unsigned short*>($OUT) + bh * SQ * D;
  const bool aligned = ((reinterpret_cast<unsigned long long>(kb) |
                         reinterpret_cast<unsigned long long>(vb) |
                         reinterpret_cast<unsigned long long>(ob)) & 15) == 0;
  // This thread's rows: row0 + mt * 16 and row0 + mt * 16 + 8.
  const int row0 = blockIdx.x * BM + warp * 16 * MT + g;

  // Q as mma A fragments (rows g / g+8, columns t*2 / t*2+8 of each 16-wide k step).
  unsigned qf[MT][D / 16][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int row = row0 + mt * 16 + (r & 1) * 8, col = kk * 16 + t * 2 + (r >> 1) * 8;
        unsigned lo = 0, hi = 0;
        if (row < SQ) {
          lo = qb[static_cast<long long>(row) * D + col];
          hi = qb[static_cast<long long>(row) * D + col + 1];
        }
        qf[mt][kk][r] = lo | (hi << 16);
      }
    }
  }

  auto load_tile = [&](int st, int n0) {
    constexpr int CH = D / 8;  // 16-byte chunks per row
    for (int i = threadIdx.x; i < BN * CH; i += NT) {
      const int r = i / CH, c = (i % CH) * 8;
      const int key = n0 + r;
      const bool ok = key < SK;
      const long long off = static_cast<long long>(ok ? key : 0) * D + c;
      if (aligned) {
        sl_cp_async16(&sk[st][r][c], kb + off, ok);
        sl_cp_async16(&sv[st][r][c], vb + off, ok);
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          sk[st][r][c + e] = ok ? kb[off + e] : 0;
          sv[st][r][c + e] = ok ? vb[off + e] : 0;
        }
      }
    }
    sl_cp_async_commit();
  };

  float o[MT][D / 8][4];
  float m[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) o[mt][dn][0] = o[mt][dn][1] = o[mt][dn][2] = o[mt][dn][3] = 0.f;
    m[mt][0] = m[mt][1] = kNegInf;
    l[mt][0] = l[mt][1] = 0.f;
  }
  constexpr int kTiles = (SK + BN - 1) / BN;
  load_tile(0, 0);
  for (int it = 0; it < kTiles; ++it) {
    const int st = it & 1;
    if (it + 1 < kTiles) {
      load_tile(st ^ 1, (it + 1) * BN);
      sl_cp_async_wait<1>();
    } else {
      sl_cp_async_wait<0>();
    }
    __syncthreads();

    // S = Q Kᵀ for this tile: K's B fragments through ldmatrix.x4 (two k steps
    // of one 8-key tile), each used for the MT row tiles.
    float s[MT][BN / 8][4];
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; kk += 2) {
        unsigned b[4];
        sl_ldmatrix_x4(b, &sk[st][nt * 8 + (lane & 7)][kk * 16 + (lane >> 3) * 8]);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          sl_mma16816(s[mt][nt], qf[mt][kk], b[0], b[1]);
          sl_mma16816(s[mt][nt], qf[mt][kk + 1], b[2], b[3]);
        }
      }
    }
    if (SK % BN != 0 && (it + 1) * BN > SK) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int nt = 0; nt < BN / 8; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            if (it * BN + nt * 8 + t * 2 + (e & 1) >= SK) s[mt][nt][e] = kNegInf;
          }
        }
      }
    }

    // Online softmax over each thread's rows (each shared by the 4 threads of a quad).
    unsigned pa[MT][BN / 16][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      float mx0 = kNegInf, mx1 = kNegInf;
#pragma unroll
      for (int nt = 0; nt < BN / 8; ++nt) {
        mx0 = fmaxf(mx0, fmaxf(s[mt][nt][0], s[mt][nt][1]));
        mx1 = fmaxf(mx1, fmaxf(s[mt][nt][2], s[mt][nt][3]));
      }
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
      float mn0 = fmaxf(m[mt][0], mx0 * kScaleLog2), mn1 = fmaxf(m[mt][1], mx1 * kScaleLog2);
      // The maximum moves only past 2^LAZY; a warp rescales only when one of its rows did.
      const bool rescale = LAZY == 0 || __any_sync(0xffffffffu, mn0 > m[mt][0] + LAZY ||
                                                                    mn1 > m[mt][1] + LAZY);
      if (!rescale) {
        mn0 = m[mt][0];
        mn1 = m[mt][1];
      }
      const float al0 = rescale ? sl_exp2(m[mt][0] - mn0) : 1.f;
      const float al1 = rescale ? sl_exp2(m[mt][1] - mn1) : 1.f;
      m[mt][0] = mn0;
      m[mt][1] = mn1;
      float rs0 = 0.f, rs1 = 0.f;
#pragma unroll
      for (int nt = 0; nt < BN / 8; ++nt) {
        const float p0 = sl_exp2(fmaf(s[mt][nt][0], kScaleLog2, -mn0));
        const float p1 = sl_exp2(fmaf(s[mt][nt][1], kScaleLog2, -mn0));
        const float p2 = sl_exp2(fmaf(s[mt][nt][2], kScaleLog2, -mn1));
        const float p3 = sl_exp2(fmaf(s[mt][nt][3], kScaleLog2, -mn1));
        rs0 += p0 + p1;
        rs1 += p2 + p3;
        pa[mt][nt / 2][(nt & 1) * 2] = sl_pack2(p0, p1);
        pa[mt][nt / 2][(nt & 1) * 2 + 1] = sl_pack2(p2, p3);
      }
      l[mt][0] = rescale ? fmaf(l[mt][0], al0, rs0) : l[mt][0] + rs0;
      l[mt][1] = rescale ? fmaf(l[mt][1], al1, rs1) : l[mt][1] + rs1;
      if (rescale) {
#pragma unroll
        for (int dn = 0; dn < D / 8; ++dn) {
          o[mt][dn][0] *= al0;
          o[mt][dn][1] *= al0;
          o[mt][dn][2] *= al1;
          o[mt][dn][3] *= al1;
        }
      }
    }

    // O += P V: V's B fragments, two 8-wide column tiles per ldmatrix.x4.trans.
#pragma unroll
    for (int j = 0; j < BN / 16; ++j) {
#pragma unroll
      for (int dn = 0; dn < D / 8; dn += 2) {
        unsigned b[4];
        sl_ldmatrix_x4_trans(b, &sv[st][j * 16 + (lane & 7) + ((lane >> 3) & 1) * 8][(dn + (lane >> 4)) * 8]);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          sl_mma16816(o[mt][dn], pa[mt][j], b[0], b[1]);
          sl_mma16816(o[mt][dn + 1], pa[mt][j], b[2], b[3]);
        }
      }
    }
    __syncthreads();  // the next iteration's load overwrites this stage
  }

#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float sum = l[mt][h];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const float inv = 1.f / sum;
      const int row = row0 + mt * 16 + h * 8;
      if (row >= SQ) continue;
#pragma unroll
      for (int dn = 0; dn < D / 8; ++dn) {
        const unsigned packed = sl_pack2(o[mt][dn][h * 2] * inv, o[mt][dn][h * 2 + 1] * inv);
        unsigned short* dst = ob + static_cast<long long>(row) * D + dn * 8 + t * 2;
        if (aligned) {
          *reinterpret_cast<unsigned*>(dst) = packed;
        } else {
          dst[0] = static_cast<unsigned short>(packed & 0xffffu);
          dst[1] = static_cast<unsigned short>(packed >> 16);
        }
      }
    }
  }
}
)";

// Helpers both templates use (filled in before the other placeholders).
constexpr const char* kSharedHelpers = R"(// Two floats rounded to one packed pair (one cvt.rn.{f16,bf16}x2.f32).
__device__ __forceinline__ unsigned sl_pack2(float lo, float hi) {
  $PAIR h = $CVT2(lo, hi);
  return *reinterpret_cast<unsigned*>(&h);
}
// 2^x in one MUFU instruction (results below 2^-126 flush to zero, which a
// softmax weight that small is anyway next to the row's maximum of 1).
__device__ __forceinline__ float sl_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ void sl_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void sl_cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
})";

// Helpers the kernel uses, specialized for the dtype (one copy per kernel, in
// a namespace named after it, so modules with several kernels compile).
constexpr const char* kHelpersTemplate = R"(namespace sl_$NAME {
__device__ __forceinline__ void sl_mma16816(float (&c)[4], const unsigned (&a)[4], unsigned b0,
                                            unsigned b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.$MMA.$MMA.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
$SHARED_HELPERS
__device__ __forceinline__ void sl_ldmatrix_x4(unsigned (&r)[4], const unsigned short* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}
__device__ __forceinline__ void sl_ldmatrix_x4_trans(unsigned (&r)[4], const unsigned short* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}
// 16 bytes global -> shared, asynchronously; zero-filled when !ok.
__device__ __forceinline__ void sl_cp_async16(unsigned short* dst, const unsigned short* src, bool ok) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(a), "l"(src),
               "r"(ok ? 16 : 0));
}
}  // namespace sl_$NAME
using namespace sl_$NAME;
)";


// The Hopper kernel (sm_90a): each warpgroup (4 warps, 128 threads) owns 64
// query rows; S = Q Kᵀ is one wgmma chain (m64nBNk16, Q and K from shared
// memory), O += P V another (m64n64k16 per 64 output columns, P from
// registers, V from shared memory). Q, K and V tiles sit in shared memory in
// the 128-byte-swizzled layout wgmma reads (row r's 16-byte chunk c at chunk
// c ^ (r % 8) of its 128-byte row; one 64-column block after another), loaded
// by cp.async, STAGES deep. With STAGES >= 3 the loop is software-pipelined
// as in FlashAttention-3: tile j's S and tile j-1's P V are issued together,
// and tile j's softmax (exp2 in place in S's registers) runs while P V is on
// the tensor cores; O is rescaled and P packed after P V completes.
constexpr const char* kWgmmaTemplate = R"(template <bool kAligned>
__device__ __forceinline__ void sl_attention_$NAME(const unsigned short* __restrict__ qb,
                                                   const unsigned short* __restrict__ kb,
                                                   const unsigned short* __restrict__ vb,
                                                   unsigned short* __restrict__ ob,
                                                   unsigned long long tq, unsigned long long tk,
                                                   unsigned long long tv) {
  // attention $ELEM: batch $BATCH, sq $SQ, sk $SK, d $D, scale $SCALE (wgmma)
  constexpr int SQ = $SQ, SK = $SK, D = $D, BM = $BM, BN = $BN, NT = $NT, STAGES = $STAGES;
  // OVERLAP 0: each tile's S, softmax and P V in turn. 1: a tile's P V is
  // waited for with the next tile's S (it overlaps the barrier, the next
  // loads and S). 2 (FlashAttention-3): tile j's S is issued with tile j-1's
  // P V and tile j's softmax runs while that P V does. 1 and 2 keep a stage
  // one tile older in use, so one fewer tile is loaded ahead.
  constexpr int OVERLAP = $OVERLAP;
  constexpr bool kPipelined = OVERLAP == 2, kDeferPV = OVERLAP == 1;
  constexpr float LAZY = $LAZY.f;  // rescale threshold, log2 units (0: every tile)
  // MBAR: per-stage mbarriers instead of a block-wide barrier per tile
  // (CudaEmitOptions::attention_mbarrier; OVERLAP 0 and 2).
  constexpr bool kMbar = $MBAR;
  // PING: (kMbar, two warpgroups) the two take turns issuing their wgmmas,
  // S, S, P V, P V, ... through two named barriers, so that one's softmax
  // runs while the other's MMAs do (FlashAttention-3's ping-pong).
  constexpr bool kPing = $PING;
  // ROWSUM: P's row sums on the tensor cores (CudaEmitOptions::
  // attention_rowsum_mma): the last 64 columns' P V is m64n72k16, whose 8
  // extra B columns are a block of ones, into `ol` beside O.
  constexpr bool kRowSumMma = $ROWSUM;
  // PRODUCER (kMbar): warp specialization (CudaEmitOptions::
  // attention_producer). The last warpgroup, its registers lowered, only
  // loads: Q, then every K/V tile as soon as its stage is empty; the CT / 128
  // warpgroups before it, their registers raised, only compute. LT threads
  // load (all of them without a producer).
  constexpr bool kProducer = $PRODUCER;
  constexpr int CT = $CT, LT = kProducer ? NT - CT : NT;
  constexpr bool kLoadInLoop = kMbar && !kProducer;  // the computing threads load ahead
  // TMA (kMbar, aligned buffers; CudaEmitOptions::attention_tma): the first
  // loading thread (thread 0, or the producer's first) loads Q and each K/V
  // tile with one cp.async.bulk.tensor per
  // 64-column block from the tensor maps at generic addresses tq, tk and tv
  // (rows of [batch][S][D], 128-byte swizzle: the layout load_rows writes;
  // rows past SQ / SK read as zeros), and the stage's full mbarrier counts
  // its one arrival and the bytes in.
  constexpr bool kTma = $USE_TMA && kAligned && kMbar;
  // EXP2_FMA: of each thread's BN / 8 groups of 4 exponentials per tile, this
  // many (spread evenly) are computed on the FMA pipe (sl_exp2_fma), the
  // rest by MUFU (CudaEmitOptions::attention_exp2_fma).
  constexpr int kExpGroups = BN / 8, kExp2Fma = $EXP2_FMA;
  // SPLIT_PV (OVERLAP 0; CudaEmitOptions::attention_split_pv): the first
  // half of the tile's P V is issued as soon as its P is packed, and runs
  // while the second half's exponentials are computed.
  constexpr bool kSplitPv = $SPLIT_PV;
  constexpr int PD = kMbar ? (STAGES >= 3 ? STAGES - 2 : 1)      // tiles loaded ahead
                           : OVERLAP > 0 ? STAGES - 2 : STAGES - 1;
  constexpr int KA = D / 64;                 // 64-column (128-byte) blocks of a row
  constexpr unsigned kQBytes = BM * D * 2, kTileBytes = BN * D * 2;
  constexpr int kTiles = (SK + BN - 1) / BN;
  constexpr float kScaleLog2 = $LOG2SCALEf;  // scale * log2(e): exp(s*scale - m) = exp2(...)
  const float kNegInf = __int_as_float(0xff800000);
  extern __shared__ unsigned char sl_smem[];
  // The swizzle is of addresses: every block of 8 rows starts 1024-aligned.
  const unsigned smem0 =
      (static_cast<unsigned>(__cvta_generic_to_shared(sl_smem)) + 1023u) & ~1023u;
  const unsigned sq = smem0, sk0 = smem0 + kQBytes, sv0 = sk0 + STAGES * kTileBytes;
  // kRowSumMma: 2 KB of ones (two 8-row blocks of the swizzled layout).
  const unsigned ones = sv0 + STAGES * kTileBytes;
  // kMbar: stage st's "full" mbarrier at bars + 8 st, its "empty" one at
  // bars + 8 (STAGES + st); each completes a phase with one arrival per thread.
  const unsigned bars = ones + (kRowSumMma ? 2048u : 0u);
  // The warpgroup through a shuffle, so that ptxas knows it is warp-uniform
  // (the Q descriptors then live in uniform registers).
  const int tid = threadIdx.x, wg = __shfl_sync(0xffffffffu, tid >> 7, 0);
  const int warp = (tid >> 5) & 3, lane = tid & 31;
  const int g = lane >> 2, t = lane & 3;
  const int lt = tid - (NT - LT);  // the loading threads' index (the producer's: 0 .. 127)
  constexpr bool aligned = kAligned;
  const int q0 = blockIdx.x * BM;

  // Rows [row0, row0 + rows) of a [*, D] matrix (zeros past `limit`) into the
  // swizzled layout at `dst`: 16-byte chunk c of row r at
  // (c / 8) * rows * 128 + r * 128 + ((c % 8) ^ (r % 8)) * 16.
  auto load_rows = [&](unsigned dst, const unsigned short* src, int row0, int rows, int limit) {
    for (int i = lt; i < rows * (D / 8); i += LT) {
      const int r = i / (D / 8), c = i % (D / 8);
      const int row = row0 + r;
      const bool ok = row < limit;
      const unsigned to = dst + (c >> 3) * rows * 128 + r * 128 + (((c & 7) ^ (r & 7)) << 4);
      const unsigned short* from = src + static_cast<long long>(ok ? row : 0) * D + c * 8;
      if (aligned) {
        sl_cp_async16(to, from, ok);
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) sl_st_shared_u16(to + 2 * e, ok ? from[e] : 0);
      }
    }
  };
  // Full K/V tiles of 16-byte-aligned buffers take a shorter path: thread
  // `lt` copies chunk c = lt % (D / 8) of rows lt / (D / 8) + k * kRowStep,
  // k = 0 .. kPer - 1, whose swizzled offsets differ by constants (kRowStep
  // is a multiple of 8, so every row has the same XOR).
  constexpr int kChunks = D / 8, kRowStep = LT / kChunks, kPer = BN * kChunks / LT;
  constexpr bool kFastLoad = LT % kChunks == 0 && kRowStep % 8 == 0 && BN % kRowStep == 0;
  const int fr = lt / kChunks, fc = lt % kChunks;
  const unsigned fast_smem = (fc >> 3) * BN * 128 + fr * 128 + (((fc & 7) ^ (fr & 7)) << 4);
  const int fast_global = fr * D + fc * 8;
  // One cp.async group per tile (an empty one past the last, so that the
  // count of groups in flight stays fixed); kMbar: one arrival per thread on
  // the stage's full barrier instead, after waiting for the stage to empty.
  auto load_tile = [&](int tile) {
    if (kMbar && tile >= kTiles) return;
    if (kTma) {
      if (lt == 0) {
        const int st = tile % STAGES;
        if (tile >= STAGES) sl_mbar_wait(bars + 8 * (STAGES + st), (tile / STAGES - 1) & 1);
        sl_mbar_arrive_expect_tx(bars + 8 * st, 2 * kTileBytes);
        const int bh = blockIdx.y;
#pragma unroll
        for (int a = 0; a < KA; ++a) {
          const unsigned at = st * kTileBytes + a * BN * 128;
          sl_tma_load_3d(sk0 + at, tk, a * 64, tile * BN, bh, bars + 8 * st);
          sl_tma_load_3d(sv0 + at, tv, a * 64, tile * BN, bh, bars + 8 * st);
        }
      }
      return;
    }
    if (tile < kTiles) {
      const int st = tile % STAGES;
      // The stage's previous tile (tile - STAGES) consumed by every warpgroup.
      if (kMbar && tile >= STAGES) sl_mbar_wait(bars + 8 * (STAGES + st), (tile / STAGES - 1) & 1);
      if (kFastLoad && aligned && (SK % BN == 0 || tile < kTiles - 1)) {
        const long long g0 = static_cast<long long>(tile) * BN * D + fast_global;
        const unsigned k0 = sk0 + st * kTileBytes + fast_smem, v0 = sv0 + st * kTileBytes + fast_smem;
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
          sl_cp_async16(k0 + k * kRowStep * 128, kb + g0 + k * kRowStep * D, true);
          sl_cp_async16(v0 + k * kRowStep * 128, vb + g0 + k * kRowStep * D, true);
        }
      } else {
        load_rows(sk0 + st * kTileBytes, kb, tile * BN, BN, SK);
        load_rows(sv0 + st * kTileBytes, vb, tile * BN, BN, SK);
      }
      if (kMbar) {
        // When this thread's copies so far have landed (element copies: now).
        if (aligned) {
          sl_cp_async_arrive(bars + 8 * st);
        } else {
          sl_mbar_arrive(bars + 8 * st);
        }
        return;
      }
    }
    sl_cp_async_commit();
  };
  // kTma: Q by the first loading thread; its bytes join tile 0's on stage
  // 0's full barrier.
  auto load_q_tma = [&]() {
    sl_mbar_expect_tx(bars, kQBytes);
#pragma unroll
    for (int a = 0; a < KA; ++a) sl_tma_load_3d(sq + a * BM * 128, tq, a * 64, q0, blockIdx.y, bars);
  };
  if (kRowSumMma) {
    for (int i = tid; i < 512; i += NT) sl_st_shared_u32(ones + 4 * i, $ONE2);
    sl_fence_proxy_async();  // for wgmma's reads, after the barrier below (or begin_tile's)
  }
  if (kMbar) {
    if (tid == 0) {
      // Full: one arrival per loading thread (kTma: the first one's); empty: per
      // computing thread.
#pragma unroll
      for (int i = 0; i < 2 * STAGES; ++i) {
        sl_mbar_init(bars + 8 * i, i < STAGES ? (kTma ? 1 : LT) : CT);
      }
      if (kTma) sl_fence_mbar_init();  // the initialized barriers, for the TMA unit's arrivals
    }
    __syncthreads();
    if (kPing && wg == 1) sl_named_arrive(1);  // warpgroup 0 goes first
  }
  if constexpr (kProducer) {
    if (wg == CT / 128) {
      sl_setmaxnreg_dec<$PRODUCER_REGS>();
      if (kTma) {
        // One thread issues every copy; the block stays until the computing
        // warpgroups have waited for all of them on the full barriers.
        if (lt == 0) {
          load_q_tma();
          for (int tile = 0; tile < kTiles; ++tile) load_tile(tile);
        }
        return;
      }
      load_rows(sq, qb, q0, BM, SQ);  // joins tile 0's arrival
      for (int tile = 0; tile < kTiles; ++tile) load_tile(tile);
      sl_cp_async_wait_all();  // nothing in flight when the warpgroup exits
      return;
    }
    sl_setmaxnreg_inc<$CONSUMER_REGS>();
  } else {
    if (kTma) {
      if (tid == 0) load_q_tma();
    } else {
      load_rows(sq, qb, q0, BM, SQ);  // joins tile 0's group (kMbar: its arrival)
    }
#pragma unroll
    for (int p = 0; p < PD; ++p) load_tile(p);
  }

  // This thread's accumulators: rows warp*16 + g and + 8 of the warpgroup's
  // 64, columns 8j + 2t and + 1 of each 8-wide chunk j (the wgmma layout).
  float o[KA][32];
#pragma unroll
  for (int a = 0; a < KA; ++a) {
#pragma unroll
    for (int i = 0; i < 32; ++i) o[a][i] = 0.f;
  }
  float m0 = kNegInf, m1 = kNegInf, l0 = 0.f, l1 = 0.f;
  // kRowSumMma: columns 2t and 2t + 1 of the ones block, rows g (ol[0], ol[1])
  // and g + 8 (ol[2], ol[3]): each a running row sum.
  float ol[4] = {0.f, 0.f, 0.f, 0.f};
  unsigned pa[BN / 16][4];  // P as wgmma A fragments: 16 keys per k step
  // O += P V for the tile in stage `st`: V's tile is the B operand N-major
  // (kRowSumMma: the last 64-column block is read 72 wide, its second block
  // the ones, at the descriptor's leading byte offset).
  // kSplitPv: k steps [kk0, kk1) only, committed with the last.
  auto issue_pv = [&](int st, int kk0 = 0, int kk1 = -1) {
    if (kk1 < 0) kk1 = BN / 16;
    const unsigned long long vd = sl_desc_lo(sl_desc_lo_of(sv0 + st * kTileBytes));
    // kRowSumMma: the low word of the last block's descriptor at kk = 0;
    // each k step moves its address 2048 bytes on and its LBO as many back.
    const unsigned vl = sv0 + st * kTileBytes + (KA - 1) * BN * 128;
    const unsigned lo = (vl >> 4) | (((ones - vl) >> 4) << 16);
#pragma unroll
    for (int kk = kk0; kk < kk1; ++kk) {
#pragma unroll
      for (int a = 0; a < KA; ++a) {
        if (kRowSumMma && a == KA - 1) {
          sl_wgmma_pvl(o[a], ol, pa[kk], sl_desc_lo(lo + kk * (128u - (128u << 16))), true);
        } else {
          sl_wgmma_pv(o[a], pa[kk], vd + ((a * BN * 128 + kk * 16 * 128) >> 4), true);
        }
      }
    }
    if (kk1 == BN / 16) sl_wgmma_commit();
  };
  // Waits for tile `it`, then starts loading the tile PD ahead (kMbar: the
  // caller does, after issuing S).
  auto begin_tile = [&](int it) {
    if (kMbar) {
      sl_mbar_wait(bars + 8 * (it % STAGES), (it / STAGES) & 1);  // every thread's copies
      // ... visible to this thread's wgmma (async proxy) reads (TMA writes
      // through that proxy already).
      if (!kTma) sl_fence_proxy_async();
      return;
    }
    sl_cp_async_wait<PD - 1>();  // tile `it` (and Q) landed, for this thread's copies
    sl_fence_proxy_async();      // visible to wgmma's (async proxy) reads
    __syncthreads();             // ... for every thread's copies; stage (it + PD) % STAGES is free
    load_tile(it + PD);
  };
  // S = Q Kᵀ for the tile in stage `st`: 64 rows x BN keys, D / 16 steps along d.
  auto issue_qk = [&](float (&s)[BN / 2], int st) {
    const unsigned long long qd = sl_desc_lo(sl_desc_lo_of(sq + wg * 64 * 128)),
                             kd = sl_desc_lo(sl_desc_lo_of(sk0 + st * kTileBytes));
    sl_wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
      sl_wgmma_qk(s, qd + (((ks >> 2) * BM * 128 + (ks & 3) * 32) >> 4),
                  kd + (((ks >> 2) * BN * 128 + (ks & 3) * 32) >> 4), ks > 0);
    }
    sl_wgmma_commit();
  };
  // O (and kRowSumMma's row sums) times the rows' factors, if `rescale`.
  auto rescale_o = [&](bool rescale, float al0, float al1) {
#pragma unroll
    for (int a = 0; a < KA; ++a) {
      sl_fence_regs(o[a]);
      if (rescale) {
#pragma unroll
        for (int i = 0; i < 32; i += 4) {
          o[a][i] *= al0;
          o[a][i + 1] *= al0;
          o[a][i + 2] *= al1;
          o[a][i + 3] *= al1;
        }
      }
    }
    if (kRowSumMma) {
      sl_fence_regs(ol);
      if (rescale) {
        ol[0] *= al0;
        ol[1] *= al0;
        ol[2] *= al1;
        ol[3] *= al1;
      }
    }
  };
  // 2^x for an exponential of group `grp` (of 4, a constant once unrolled):
  // kExp2Fma of every kExpGroups, spread evenly, on the FMA pipe.
  auto exp2_of_group = [&](int grp, float x) {
    const bool fma = ((grp + 1) * kExp2Fma) / kExpGroups > (grp * kExp2Fma) / kExpGroups;
    return fma ? sl_exp2_fma(x) : sl_exp2(x);
  };
  // The online softmax of tile `it` (rows g and g + 8, each shared by a quad
  // of threads) into P's fragments `pa`, rescaling O. S is only read (writing
  // a wgmma accumulator while a P V is in flight makes ptxas serialize the
  // wgmmas); keys past SK read as -inf. With `pv_in_flight`, O and P are
  // touched only after waiting for that P V.
  // kSplitPv (split_st >= 0, not pv_in_flight): O is rescaled first, and
  // the first half of P V (stage split_st) issued halfway; the caller
  // issues the second half.
  auto softmax = [&](float (&s)[BN / 2], int it, bool pv_in_flight, int split_st = -1) {
    sl_fence_regs(s);
    const bool ragged = SK % BN != 0 && it == kTiles - 1;
    auto sv = [&](int i) {
      return ragged && it * BN + (i >> 2) * 8 + t * 2 + (i & 1) >= SK ? kNegInf : s[i];
    };
    float mx0 = kNegInf, mx1 = kNegInf;
#pragma unroll
    for (int i = 0; i < BN / 2; i += 4) {
      mx0 = fmaxf(mx0, fmaxf(sv(i), sv(i + 1)));
      mx1 = fmaxf(mx1, fmaxf(sv(i + 2), sv(i + 3)));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    float mn0 = fmaxf(m0, mx0 * kScaleLog2), mn1 = fmaxf(m1, mx1 * kScaleLog2);
    // A row's maximum moves only when the tile's exceeds it by more than
    // 2^LAZY (P's values stay <= 2^LAZY), and O and l are rescaled only when
    // a row of this warp's did (warp-uniform).
    const bool rescale =
        LAZY == 0 || __any_sync(0xffffffffu, mn0 > m0 + LAZY || mn1 > m1 + LAZY);
    if (!rescale) {
      mn0 = m0;
      mn1 = m1;
    }
    const float al0 = rescale ? sl_exp2(m0 - mn0) : 1.f, al1 = rescale ? sl_exp2(m1 - mn1) : 1.f;
    m0 = mn0;
    m1 = mn1;
    // kSplitPv: O rescaled before the first half of P V reads it.
    const bool split = kSplitPv && split_st >= 0;
    if (split) rescale_o(rescale, al0, al1);
    // P in f32 first, packed into `pa` as the wgmma A fragments want it
    // (8-key chunk j: rows g in register (j % 2) * 2, g + 8 in the next) only
    // once the previous P V (pipelined) has read `pa`: packing straight into
    // it would make ptxas serialize the wgmmas (C7513).
    float pf[BN / 2];
    float rs0 = 0.f, rs1 = 0.f;
#pragma unroll
    for (int i = 0; i < BN / 2; i += 4) {
      auto ex2 = [&](float x) { return exp2_of_group(i >> 2, x); };
      pf[i] = ex2(fmaf(sv(i), kScaleLog2, -mn0));
      pf[i + 1] = ex2(fmaf(sv(i + 1), kScaleLog2, -mn0));
      pf[i + 2] = ex2(fmaf(sv(i + 2), kScaleLog2, -mn1));
      pf[i + 3] = ex2(fmaf(sv(i + 3), kScaleLog2, -mn1));
      if (!kRowSumMma) {
        rs0 += pf[i] + pf[i + 1];
        rs1 += pf[i + 2] + pf[i + 3];
      }
      if (!pv_in_flight) {
        pa[i >> 3][((i >> 2) & 1) * 2] = sl_pack2(pf[i], pf[i + 1]);
        pa[i >> 3][((i >> 2) & 1) * 2 + 1] = sl_pack2(pf[i + 2], pf[i + 3]);
      }
      if (split && i == BN / 4 - 4) {  // the first half of P packed
        sl_wgmma_fence();
        issue_pv(split_st, 0, BN / 32);
      }
    }
    if (!kRowSumMma) {
      l0 = rescale ? fmaf(l0, al0, rs0) : l0 + rs0;
      l1 = rescale ? fmaf(l1, al1, rs1) : l1 + rs1;
    }
    if (pv_in_flight) {
      sl_wgmma_wait<0>();
      sl_fence_regs(pf);  // packed only now: `pa` is the finished P V's operand
    }
    if (!split) rescale_o(rescale, al0, al1);
    if (pv_in_flight) {
#pragma unroll
      for (int i = 0; i < BN / 2; i += 4) {
        pa[i >> 3][((i >> 2) & 1) * 2] = sl_pack2(pf[i], pf[i + 1]);
        pa[i >> 3][((i >> 2) & 1) * 2 + 1] = sl_pack2(pf[i + 2], pf[i + 3]);
      }
    }
    // O and P are the next P V's inputs: pinned here, before the next
    // tile's S is issued (computed between that S and the P V, they too
    // would make ptxas serialize the wgmmas).
    if (kPipelined) {
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) sl_fence_regs(pa[kk]);
#pragma unroll
      for (int a = 0; a < KA; ++a) sl_fence_regs(o[a]);
      if (kRowSumMma) sl_fence_regs(ol);
    }
  };
  auto finish_pv = [&]() {
    sl_wgmma_wait<0>();
#pragma unroll
    for (int a = 0; a < KA; ++a) sl_fence_regs(o[a]);
    if (kRowSumMma) sl_fence_regs(ol);
  };

  float s[BN / 2];
  if (kPipelined) {
    // Tile 0 alone, then every later tile's S issued with the previous
    // tile's P V (the loop has no branch on the iteration: ptxas serializes
    // wgmmas whose pipelining it cannot prove).
    begin_tile(0);
    issue_qk(s, 0);
    if (kLoadInLoop) load_tile(PD);
    sl_wgmma_wait<0>();
    softmax(s, 0, false);
    for (int it = 1; it < kTiles; ++it) {
      begin_tile(it);
      issue_qk(s, it % STAGES);
      issue_pv((it - 1) % STAGES);
      if (kLoadInLoop) load_tile(it + PD);  // the stage of tile it - 2, consumed by all
      sl_wgmma_wait<1>();  // S is done (groups complete in order); P V runs on
      softmax(s, it, true);
      if (kMbar) sl_mbar_arrive(bars + 8 * (STAGES + (it - 1) % STAGES));  // its P V is done
    }
    sl_wgmma_fence();
    issue_pv((kTiles - 1) % STAGES);
    finish_pv();
  } else {
    for (int it = 0; it < kTiles; ++it) {
      begin_tile(it);
      if (kPing) sl_named_sync(1 + wg);  // this warpgroup's turn
      issue_qk(s, it % STAGES);
      if (kPing) sl_named_arrive(2 - wg);  // the other's
      if (kLoadInLoop) load_tile(it + PD);  // may wait for the other warpgroups: S runs meanwhile
      sl_wgmma_wait<0>();  // kDeferPV: the previous tile's P V too
      if (kDeferPV) {
#pragma unroll
        for (int a = 0; a < KA; ++a) sl_fence_regs(o[a]);
        if (kRowSumMma) sl_fence_regs(ol);
      }
      if (kSplitPv) {
        softmax(s, it, false, it % STAGES);  // issues the first half of P V
        sl_wgmma_fence();
        issue_pv(it % STAGES, BN / 32, BN / 16);
      } else {
        softmax(s, it, false);
        sl_wgmma_fence();
        if (kPing) sl_named_sync(1 + wg);
        issue_pv(it % STAGES);
      }
      if (kPing) sl_named_arrive(2 - wg);
      if (!kDeferPV) finish_pv();
      if (kMbar) sl_mbar_arrive(bars + 8 * (STAGES + it % STAGES));  // stage consumed
    }
    if (kDeferPV) finish_pv();
    if (kPing && wg == 0) sl_named_sync(1);  // warpgroup 1's last turn given back
  }

  if (kRowSumMma) {
    l0 = ol[0];  // every column of the ones block holds the whole row's sum
    l1 = ol[2];
  } else {
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  }
  const float inv0 = 1.f / l0, inv1 = 1.f / l1;
  const int row = q0 + wg * 64 + warp * 16 + g;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    if (row + h * 8 >= SQ) continue;
    const float inv = h ? inv1 : inv0;
#pragma unroll
    for (int a = 0; a < KA; ++a) {
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const unsigned packed = sl_pack2(o[a][j * 4 + h * 2] * inv, o[a][j * 4 + h * 2 + 1] * inv);
        unsigned short* dst = ob + static_cast<long long>(row + h * 8) * D + a * 64 + j * 8 + t * 2;
        if (aligned) {
          *reinterpret_cast<unsigned*>(dst) = packed;
        } else {
          dst[0] = static_cast<unsigned short>(packed & 0xffffu);
          dst[1] = static_cast<unsigned short>(packed >> 16);
        }
      }
    }
  }
}

)";

// The wgmma kernel's entry points. sluice_$NAME takes 16-byte-aligned
// buffers (every buffer of the memory plan; D is a multiple of 64, so each
// (batch, head) slice is as aligned as its buffer): cp.async and 4-byte
// stores. Other buffers go to sluice_$NAME_unaligned (element copies), which
// is in a source of its own (CudaKernelLaunch::unaligned_source): it is as
// big to compile as the aligned kernel, and the runtime compiles it only
// when a launch needs it.
constexpr const char* kWgmmaEntryTemplate = R"(
extern "C" __global__ void __launch_bounds__($NT$MINBLOCKS)
sluice_$NAME$ENTRY_SUFFIX($PARAMS$MAP_PARAMS) {
  constexpr int SQ = $SQ, SK = $SK, D = $D;
  const long long bh = blockIdx.y;
  const unsigned short* qb = reinterpret_cast<const unsigned short*>($Q) + bh * SQ * D;
  const unsigned short* kb = reinterpret_cast<const unsigned short*>($K) + bh * SK * D;
  const unsigned short* vb = reinterpret_cast<const unsigned short*>($V) + bh * SK * D;
  unsigned short* ob = reinterpret_cast<unsigned short*>($OUT) + bh * SQ * D;
$ENTRY_BODY}
)";
constexpr const char* kWgmmaAlignedEntry = R"(  // The runtime sends unaligned buffers to sluice_$NAME_unaligned.
  if (((reinterpret_cast<unsigned long long>(qb) | reinterpret_cast<unsigned long long>(kb) |
        reinterpret_cast<unsigned long long>(vb) | reinterpret_cast<unsigned long long>(ob)) & 15) != 0) {
    __trap();
  }
  sl_attention_$NAME<true>(qb, kb, vb, ob, $MAP_ARGS);
)";
constexpr const char* kWgmmaUnalignedEntry = R"(  sl_attention_$NAME<false>(qb, kb, vb, ob, 0ull, 0ull, 0ull);
)";

// Helpers of the wgmma kernel; $WGMMA_QK and $WGMMA_PV are the two MMA
// wrappers, generated for BN (WgmmaWrapper below).
constexpr const char* kWgmmaHelpersTemplate = R"(namespace sl_$NAME {
// A shared-memory matrix descriptor: 128-byte swizzle, 1024 bytes from one
// block of 8 rows to the next (stride byte offset), from its low word `lo`:
// the address >> 4 in bits 0-13, the leading byte offset >> 4 in bits 16-29
// (unused by swizzled K-major layouts and by N-major ones one 64-column
// block wide; for an N-major B two blocks wide, the distance from the first
// block to the second).
__device__ __forceinline__ unsigned long long sl_desc_lo(unsigned lo) {
  return (static_cast<unsigned long long>((1024u >> 4) | (1u << 30)) << 32) | lo;
}
// The low word for address `addr`, leading byte offset 16. Shared addresses
// are below 2^18, so the 14-bit address field never overflows: a tile's
// descriptors are this plus constants (offset / 16), one 32-bit addition
// each, where computing each from its address cost four instructions.
__device__ __forceinline__ unsigned sl_desc_lo_of(unsigned addr) { return (addr >> 4) | (1u << 16); }
__device__ __forceinline__ void sl_wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void sl_wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void sl_wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Keeps the compiler from moving uses of wgmma accumulators across a wait.
template <int N>
__device__ __forceinline__ void sl_fence_regs(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void sl_fence_regs(unsigned (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}
__device__ __forceinline__ void sl_fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
$WGMMA_QK
$WGMMA_PV
$WGMMA_PVL
$SHARED_HELPERS
__device__ __forceinline__ void sl_cp_async16(unsigned dst, const unsigned short* src, bool ok) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(ok ? 16 : 0));
}
// Named barriers 1 and 2 of the two warpgroups' turns (attention_pingpong):
// one warpgroup waits at its own, the other arrives there.
// Immediate ids (a register id would make ptxas reserve all 16 barriers).
__device__ __forceinline__ void sl_named_sync(int id) {
  if (id == 1) {
    asm volatile("bar.sync 1, 256;\n" ::: "memory");
  } else {
    asm volatile("bar.sync 2, 256;\n" ::: "memory");
  }
}
__device__ __forceinline__ void sl_named_arrive(int id) {
  if (id == 1) {
    asm volatile("bar.arrive 1, 256;\n" ::: "memory");
  } else {
    asm volatile("bar.arrive 2, 256;\n" ::: "memory");
  }
}
// mbarriers (CudaEmitOptions::attention_mbarrier).
__device__ __forceinline__ void sl_mbar_init(unsigned bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void sl_mbar_arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// 2^x without MUFU (CudaEmitOptions::attention_exp2_fma; FlashAttention-4's
// emulation): x rounded to an integer j by the 1.5 * 2^23 trick, 2^(x - j)
// by a degree-3 polynomial (relative error below 7.5e-5 on [-0.5, 0.5]),
// j added to its exponent. x is clamped to -126 (the result is then below
// 2^-125, a weight of nothing next to the row's maximum of 1).
__device__ __forceinline__ float sl_exp2_fma(float x) {
  x = fmaxf(x, -126.f);
  const float t = x + 12582912.f;
  const float f = x - (t - 12582912.f);
  const float p = fmaf(fmaf(fmaf(0.0551714376f, f, 0.242610812f), f, 0.693260968f), f, 0.999928117f);
  return __int_as_float(__float_as_int(p) + (__float_as_int(t) << 23));
}
// Warp specialization (attention_producer): this warpgroup's registers per
// thread lowered or raised to N.
template <int N>
__device__ __forceinline__ void sl_setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
}
template <int N>
__device__ __forceinline__ void sl_setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
}
__device__ __forceinline__ void sl_cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
// Arrives on `bar` once all of this thread's earlier cp.async copies landed.
__device__ __forceinline__ void sl_cp_async_arrive(unsigned bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void sl_mbar_wait(unsigned bar, unsigned parity) {
  unsigned done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}
// The tensor memory accelerator (CudaEmitOptions::attention_tma): a
// CUtensorMap's 128 bytes, taken by value (__grid_constant__).
struct alignas(64) SlTensorMap {
  unsigned long long w[16];
};
__device__ __forceinline__ void sl_fence_mbar_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
// `bytes` more to arrive on `bar` in its current phase, without arriving.
__device__ __forceinline__ void sl_mbar_expect_tx(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void sl_mbar_arrive_expect_tx(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
// The box at coordinates (c0, c1, c2) of the tensor map at generic address
// `map` into shared memory at `dst`; its bytes complete on `bar`.
__device__ __forceinline__ void sl_tma_load_3d(unsigned dst, unsigned long long map, int c0, int c1,
                                               int c2, unsigned bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
      "[%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(dst),
      "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
      : "memory");
}
__device__ __forceinline__ void sl_st_shared_u16(unsigned dst, unsigned short v) {
  asm volatile("st.shared.u16 [%0], %1;\n" ::"r"(dst), "h"(v));
}
__device__ __forceinline__ void sl_st_shared_u32(unsigned dst, unsigned v) {
  asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(dst), "r"(v) : "memory");
}
}  // namespace sl_$NAME
using namespace sl_$NAME;
)";

// Fills a kernel template's placeholders common to both templates (the
// kernel's name and parameters, the shapes, the tile sizes, the scale, the
// operands, the f16/bf16 pair type) and `extra`.
std::string FillTemplate(const char* tmpl, const Kernel& kernel, const AttentionSpec& a, int bm,
                         int bn, int nt, int min_blocks,
                         std::vector<std::pair<std::string, std::string>> extra) {
  const bool f16 = a.dtype == ir::DType::kF16;
  std::string params;
  for (size_t i = 0; i < kernel.args.size(); ++i) {
    absl::StrAppend(&params, i ? ", " : "", kernel.args[i].is_output ? "" : "const ",
                    f16 ? "__half" : "__nv_bfloat16", "* __restrict__ p", i);
  }
  std::vector<std::pair<std::string, std::string>> r = {
      {"$NAME", kernel.name},
      {"$PARAMS", params},
      {"$ELEM", std::string(ir::DTypeName(a.dtype))},
      {"$BATCH", absl::StrCat(a.batch)},
      {"$SQ", absl::StrCat(a.sq)},
      {"$SK", absl::StrCat(a.sk)},
      {"$D", absl::StrCat(a.d)},
      {"$BM", absl::StrCat(bm)},
      {"$BN", absl::StrCat(bn)},
      {"$NT", absl::StrCat(nt)},
      {"$MINBLOCKS", min_blocks > 0 ? absl::StrCat(", ", min_blocks) : ""},
      {"$LOG2SCALE", absl::StrFormat("%.9g", a.scale * 1.4426950408889634)},
      {"$SCALE", absl::StrFormat("%g", a.scale)},
      {"$Q", absl::StrCat("p", a.q)},
      {"$K", absl::StrCat("p", a.k)},
      {"$V", absl::StrCat("p", a.v)},
      {"$OUT", absl::StrCat("p", a.out)},
      {"$PAIR", f16 ? "__half2" : "__nv_bfloat162"},
      {"$CVT2", f16 ? "__floats2half2_rn" : "__floats2bfloat162_rn"}};
  for (auto& e : extra) r.push_back(std::move(e));
  return absl::StrReplaceAll(absl::StrReplaceAll(tmpl, {{"$SHARED_HELPERS", kSharedHelpers}}), r);
}

// The launch config's words for attention_lazy_rescale.
std::string LazyRescaleConfig(const CudaEmitOptions& options) {
  return options.attention_lazy_rescale > 0
             ? absl::StrCat(", O rescaled when a row maximum grows past 2^",
                            options.attention_lazy_rescale)
             : ", O rescaled every tile";
}

// The launch fields common to both templates: a (query block, batch) grid.
CudaKernelLaunch AttentionLaunch(const Kernel& kernel, const AttentionSpec& a, int bm, int nt) {
  CudaKernelLaunch launch;
  launch.name = kernel.name;
  launch.symbol = "sluice_" + kernel.name;
  launch.kind = CudaTemplate::kAttention;
  launch.grid = {static_cast<uint32_t>((a.sq + bm - 1) / bm), static_cast<uint32_t>(a.batch), 1};
  launch.block = {static_cast<uint32_t>(nt), 1, 1};
  launch.args = kernel.args;
  return launch;
}

// A wgmma wrapper: m64nNk16 with N = n + extra, f32 accumulators d (n / 2
// per thread) and e (extra / 2 per thread, for the last extra columns; none
// when extra is 0), A from a
// descriptor (a_regs false: K-major, no transpose) or four registers, B from
// a descriptor, K-major (trans_b 0) or N-major (1). `accumulate` false
// overwrites d and e.
std::string WgmmaWrapper(const std::string& fn, int n, bool a_regs, int trans_b,
                         const std::string& type, int extra = 0) {
  const int nd = n / 2, ne = extra / 2;
  std::string regs, outs;
  for (int i = 0; i < nd + ne; ++i) {
    absl::StrAppend(&regs, i ? ", " : "", "%", i);
    if (i < nd) {
      absl::StrAppend(&outs, i ? ", " : "", "\"+f\"(d[", i, "])");
    } else {
      absl::StrAppend(&outs, ", \"+f\"(e[", i - nd, "])");
    }
  }
  std::string a_operand, params, ins;
  int next = nd + ne;
  if (a_regs) {
    a_operand = absl::StrCat("{%", next, ", %", next + 1, ", %", next + 2, ", %", next + 3, "}");
    next += 4;
    params = "const unsigned (&a)[4]";
    ins = "\"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3])";
  } else {
    a_operand = absl::StrCat("%", next++);
    params = "unsigned long long a";
    ins = "\"l\"(a)";
  }
  const int b = next++;
  const int acc = next++;
  return absl::StrCat(
      "__device__ __forceinline__ void ", fn, "(float (&d)[", nd, "], ",
      ne > 0 ? absl::StrCat("float (&e)[", ne, "], ") : "", params,
      ", unsigned long long b, bool accumulate) {\n  asm volatile(\n      \"{\\n.reg .pred p;\\n"
      "setp.ne.b32 p, %",
      acc, ", 0;\\n\"\n      \"wgmma.mma_async.sync.aligned.m64n", n + extra, "k16.f32.", type, ".", type,
      " {", regs, "}, ", a_operand, ", %", b, ", p, 1, 1", a_regs ? "" : ", 0", ", ", trans_b,
      ";\\n}\\n\"\n      : ", outs, "\n      : ", ins, ", \"l\"(b), \"r\"(static_cast<int>(accumulate)));\n}");
}

absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> EmitWgmmaAttention(
    const Kernel& kernel, const CudaEmitOptions& options) {
  const AttentionSpec& a = *kernel.attention;
  const bool f16 = a.dtype == ir::DType::kF16;
  // Defaults measured on an H100 and an H200 (benchmarks/NOTES.md): for
  // d = 64 two blocks of two warpgroups per SM (registers capped at 128) on
  // 128-key tiles; for d = 128 (the pick, where the schedule is left to it)
  // one block of three computing warpgroups and a producer on 128-key tiles
  // (§28; two warpgroups' 64-key tiles, two blocks per SM, were 3-4%
  // slower); no intra-warpgroup pipelining.
  const bool pick_wide = a.d > 64 && options.attention_warpgroups == 0 &&
                         options.attention_block_n == 0 && options.attention_producer < 0 &&
                         options.attention_overlap == 0 && options.attention_stages == 0 &&
                         options.attention_mbarrier && !options.attention_pingpong;
  const int warpgroups = options.attention_warpgroups > 0 ? options.attention_warpgroups
                         : pick_wide                       ? 3
                                                           : 2;
  const int bn = options.attention_block_n >= 64    ? options.attention_block_n
                 : a.d <= 64 || pick_wide ? 128
                                          : 64;
  const int overlap = options.attention_overlap;
  const bool producer =
      options.attention_producer >= 0 ? options.attention_producer == 1 : pick_wide;
  // Without a producer, a pipelined loop loads a tile fewer ahead: 3 stages.
  const int stages = options.attention_stages > 0      ? options.attention_stages
                     : overlap > 0 && !producer ? 3
                                                : 2;
  const bool mbar = options.attention_mbarrier && overlap != 1;
  const bool ping = options.attention_pingpong;
  const bool rowsum = options.attention_rowsum_mma;
  // Four computing warpgroups would get 112 registers each: too few for
  // S, P and O (ptxas serializes the wgmmas).
  if (producer && (!mbar || warpgroups > 3)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel ", kernel.name,
        ": attention_producer needs attention_mbarrier, attention_overlap 0 or 2 and at most 3 "
        "warpgroups"));
  }
  if (ping && (!mbar || overlap != 0 || warpgroups != 2)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel ", kernel.name,
        ": attention_pingpong needs attention_mbarrier, attention_overlap 0 and 2 warpgroups"));
  }
  const bool split_pv = options.attention_split_pv;
  // TMA where the tiles are handed over by mbarriers (the mbarrier loops,
  // with or without a producer); the block-barrier loop keeps cp.async.
  const bool tma = options.attention_tma && mbar;
  if (split_pv && (overlap != 0 || ping)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel ", kernel.name, ": attention_split_pv needs attention_overlap 0 and no ping-pong"));
  }
  if (options.attention_exp2_fma > bn / 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("kernel ", kernel.name, ": attention_exp2_fma ", options.attention_exp2_fma,
                     " is more than the ", bn / 8, " groups of exponentials per ", bn,
                     "-key tile"));
  }
  if (overlap > 0 && stages < 3 && !producer) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel ", kernel.name, ": attention_overlap ", overlap, " needs 3 or more stages"));
  }
  // Two blocks per SM cap registers at 128: enough for the unpipelined
  // loop, not for the pipelined ones (ptxas would serialize their wgmmas).
  // With a producer: one block per SM, whose registers setmaxnreg shares
  // out: the producer keeps 24 per thread, the computing warpgroups split
  // the rest (240 each for 2, 160 for 3: FlashAttention-3's numbers).
  const int min_blocks = producer                          ? 1
                         : options.min_blocks_per_sm > 0 ? options.min_blocks_per_sm
                         : warpgroups == 2 && overlap == 0 && bn * a.d <= 128 * 64 ? 2
                                                                             : 0;
  const int bm = 64 * warpgroups;
  const int ct = 128 * warpgroups;
  const int nt = ct + (producer ? 128 : 0);
  constexpr int kProducerRegs = 24;
  // What ptxas gives each thread of an NT-thread block (a multiple of 8,
  // at most 255), less the producer's, over the computing threads.
  const int launch_regs = std::min(255, 65536 / nt) / 8 * 8;
  const int consumer_regs =
      std::min(256, (nt * launch_regs - 128 * kProducerRegs) / ct / 8 * 8);
  const uint32_t shared = static_cast<uint32_t>(1024 + bm * a.d * 2 + 2 * stages * bn * a.d * 2 +
                                                (mbar ? 16 * stages : 0) + (rowsum ? 2048 : 0));
  if (shared > 227 * 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("kernel ", kernel.name, ": the wgmma attention kernel with ", warpgroups,
                     " warpgroups, ", bn, "-key tiles and ", stages, " stages needs ", shared,
                     " bytes of shared memory (at most 232448)"));
  }
  const std::string mma = f16 ? "f16" : "bf16";
  const std::string body = FillTemplate(kWgmmaTemplate, kernel, a, bm, bn, nt, min_blocks,
                                        {{"$STAGES", absl::StrCat(stages)},
                                         {"$OVERLAP", absl::StrCat(overlap)},
                                         {"$MBAR", mbar ? "true" : "false"},
                                         {"$PING", ping ? "true" : "false"},
                                         {"$ROWSUM", rowsum ? "true" : "false"},
                                         {"$PRODUCER", producer ? "true" : "false"},
                                         {"$EXP2_FMA", absl::StrCat(options.attention_exp2_fma)},
                                         {"$SPLIT_PV", split_pv ? "true" : "false"},
                                         {"$USE_TMA", tma ? "true" : "false"},
                                         {"$CT", absl::StrCat(ct)},
                                         {"$PRODUCER_REGS", absl::StrCat(kProducerRegs)},
                                         {"$CONSUMER_REGS", absl::StrCat(consumer_regs)},
                                         {"$ONE2", f16 ? "0x3c003c00u" : "0x3f803f80u"},
                                         {"$LAZY", absl::StrCat(options.attention_lazy_rescale)}});
  const std::string helpers = FillTemplate(
      kWgmmaHelpersTemplate, kernel, a, bm, bn, nt, min_blocks,
      {{"$WGMMA_QK", WgmmaWrapper("sl_wgmma_qk", bn, /*a_regs=*/false, /*trans_b=*/0, mma)},
       {"$WGMMA_PV", WgmmaWrapper("sl_wgmma_pv", 64, /*a_regs=*/true, /*trans_b=*/1, mma)},
       // Declared either way: the loop names it under `if (kRowSumMma)`.
       {"$WGMMA_PVL",
        WgmmaWrapper("sl_wgmma_pvl", 64, /*a_regs=*/true, /*trans_b=*/1, mma, /*extra=*/8)}});
  // attention_tma: both entries take the three tensor maps (Q's, K's, V's)
  // after the buffers, so that the runtime passes one parameter list; the
  // unaligned one does not read them.
  const std::string map_params =
      tma ? ", const __grid_constant__ SlTensorMap tm_q, const __grid_constant__ SlTensorMap tm_k, "
            "const __grid_constant__ SlTensorMap tm_v"
          : "";
  const std::string map_args =
      tma ? "reinterpret_cast<unsigned long long>(&tm_q), reinterpret_cast<unsigned long long>("
            "&tm_k), reinterpret_cast<unsigned long long>(&tm_v)"
          : "0ull, 0ull, 0ull";
  auto entry = [&](absl::string_view suffix, const char* body) {
    return FillTemplate(kWgmmaEntryTemplate, kernel, a, bm, bn, nt, min_blocks,
                        {{"$ENTRY_SUFFIX", std::string(suffix)},
                         {"$MAP_PARAMS", map_params},
                         {"$ENTRY_BODY", FillTemplate(body, kernel, a, bm, bn, nt, min_blocks,
                                                      {{"$MAP_ARGS", map_args}})}});
  };
  CudaKernelLaunch launch = AttentionLaunch(kernel, a, bm, nt);
  launch.shared_bytes = shared;
  launch.needs_sm90a = true;
  launch.unaligned_symbol = absl::StrCat(launch.symbol, "_unaligned");
  if (tma) {
    // [batch][S][D] as 3-D maps, innermost first; one copy is a 64-column
    // block (128 bytes, the swizzle's span) of BM rows of Q or BN of K / V.
    auto map = [&](int arg, int64_t rows, int box_rows) {
      CudaTensorMap m;
      m.arg = arg;
      m.element_bytes = 2;
      m.dims = {static_cast<uint64_t>(a.d), static_cast<uint64_t>(rows),
                static_cast<uint64_t>(a.batch)};
      m.strides = {static_cast<uint64_t>(a.d * 2), static_cast<uint64_t>(rows * a.d * 2)};
      m.box = {64, static_cast<uint32_t>(box_rows), 1};
      m.swizzle_bytes = 128;
      return m;
    };
    launch.tensor_maps = {map(a.q, a.sq, bm), map(a.k, a.sk, bn), map(a.v, a.sk, bn)};
  }
  launch.unaligned_source = UnalignedVariantSource(
      options, kernel.name, absl::StrCat(helpers, body, entry("_unaligned", kWgmmaUnalignedEntry)));
  launch.config = absl::StrCat("attention: ", bm, " query rows x ", bn, " keys per tile, ",
                               warpgroups, " warpgroups of 64 rows, wgmma ", mma, ", ", stages,
                               tma ? "-stage TMA" : "-stage cp.async",
                               overlap == 1   ? ", P V waited for with the next S"
                               : overlap == 2 ? ", softmax overlapped with the previous tile's P V"
                                              : "",
                               mbar ? ", per-stage mbarriers" : "",
                               producer ? absl::StrCat(", a producer warpgroup (", kProducerRegs,
                                                       " registers; ", consumer_regs,
                                                       " for the others)")
                                        : "",
                               ping ? ", warpgroups taking turns at the tensor cores" : "",
                               rowsum ? ", row sums on the tensor cores" : "",
                               split_pv ? ", P V issued in two halves" : "",
                               options.attention_exp2_fma > 0
                                   ? absl::StrCat(", ", options.attention_exp2_fma, " of ", bn / 8,
                                                  " exponentials on the FMA pipe")
                                   : "",
                               LazyRescaleConfig(options));
  return std::make_pair(helpers + body + entry("", kWgmmaAlignedEntry), std::move(launch));
}

}  // namespace

absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> EmitAttentionKernel(
    const Kernel& kernel, const CudaEmitOptions& options) {
  if (!kernel.attention.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kernel ", kernel.name, " is not an attention kernel"));
  }
  const AttentionSpec& a = *kernel.attention;
  const bool f16 = a.dtype == ir::DType::kF16;
  if ((!f16 && a.dtype != ir::DType::kBF16) || a.d % 32 != 0 || a.d <= 0 || a.d > 128 ||
      a.sq <= 0 || a.sk <= 0 || a.batch <= 0 || a.batch > 65535 || !(a.scale > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel ", kernel.name, ": no attention template for ", ir::DTypeName(a.dtype), " d ", a.d,
        " batch ", a.batch, " sq ", a.sq, " sk ", a.sk, " scale ", a.scale));
  }
  if (options.hopper && options.attention_wgmma && a.d % 64 == 0) {
    return EmitWgmmaAttention(kernel, options);
  }
  // Two 16-row tiles per warp (each K/V fragment feeds two mma) where the
  // registers allow it (d <= 64) and there are enough query rows; 4 warps.
  const int mt = options.attention_m_tiles > 0 ? options.attention_m_tiles
                                              : (a.d <= 64 && a.sq > 64 ? 2 : 1);
  const int warps = 4;
  const int bm = 16 * mt * warps;
  const int bn = options.attention_block_n > 0 ? std::min(options.attention_block_n, 64)
                 : a.d <= 64                  ? 64
                                              : 32;
  const int nt = warps * 32;
  const std::string body = FillTemplate(kAttentionTemplate, kernel, a, bm, bn, nt,
                                        options.min_blocks_per_sm,
                                        {{"$MT", absl::StrCat(mt)},
                                         {"$LAZY", absl::StrCat(options.attention_lazy_rescale)}});
  const std::string helpers = FillTemplate(kHelpersTemplate, kernel, a, bm, bn, nt,
                                           options.min_blocks_per_sm,
                                           {{"$MMA", f16 ? "f16" : "bf16"}});
  CudaKernelLaunch launch = AttentionLaunch(kernel, a, bm, nt);
  launch.static_shared_bytes = static_cast<uint32_t>(2 * 2 * bn * (a.d + 8) * 2);
  launch.config = absl::StrCat("attention: ", bm, " query rows x ", bn, " keys per tile, ", warps,
                               " warps of ", 16 * mt, " rows, mma.sync m16n8k16 ",
                               f16 ? "f16" : "bf16", ", cp.async double-buffered",
                               LazyRescaleConfig(options));
  return std::make_pair(helpers + body, std::move(launch));
}

}  // namespace sluice::codegen::cuda
