#include "codegen/cuda/cuda_emitter.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "codegen/cuda/test_util.h"
#include "codegen/kernel_ir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/schedule.h"
#include "testing/filecheck.h"

#if SLUICE_CUDAGEN_HAVE_NVRTC
#include "runtime/cuda/nvrtc.h"
#endif

namespace sluice::codegen::cuda {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---- NVRTC -------------------------------------------------------------------

struct NvrtcResult {
  bool available = false;
  std::string why_unavailable;
  absl::Status status;
  std::string log;
};

// Compiles `source` for sm_90 with the runtime's NVRTC wrapper
// (runtime/cuda/nvrtc.h: -std=c++17, the toolkit's include directory), no
// cache.
NvrtcResult CompileForSm90(const std::string& source, const std::string& name,
                           const std::string& arch = "sm_90") {
  NvrtcResult r;
#if SLUICE_CUDAGEN_HAVE_NVRTC
  runtime::cuda::NvrtcOptions options;
  options.arch = arch;
  options.use_cache = false;
  options.failed_source_dir = ::testing::TempDir();
  absl::StatusOr<runtime::cuda::CompiledCuda> c = runtime::cuda::CompileCuda(source, name, options);
  if (!c.ok() && absl::IsUnavailable(c.status())) {
    r.why_unavailable = std::string(c.status().message());
    return r;
  }
  r.available = true;
  r.status = c.status();
  if (c.ok()) r.log = c->log;
#else
  r.why_unavailable = "sluice was built without the CUDA toolkit (no //runtime/cuda:nvrtc)";
#endif
  return r;
}

#define SKIP_IF_NO_NVRTC(result)                                                   \
  if (!(result).available) GTEST_SKIP() << "NVRTC unavailable: " << (result).why_unavailable

// NVRTC compiles `source` for sm_90 without a warning (the test is skipped
// where NVRTC is unavailable).
#define EXPECT_COMPILES_CLEANLY(source, name)                                    \
  do {                                                                           \
    NvrtcResult compiled = CompileForSm90((source), (name), "sm_90");            \
    SKIP_IF_NO_NVRTC(compiled);                                                  \
    EXPECT_TRUE(compiled.status.ok()) << compiled.status;                        \
    EXPECT_EQ(compiled.log.find("warning"), std::string::npos) << compiled.log;  \
  } while (0)

// NVRTC compiles each of the sources (wgmma attention modules) for sm_90a
// without a warning and without ptxas serializing the wgmmas (C7510-C7515).
#define EXPECT_SM90A_COMPILES_CLEANLY(...)                                          \
  for (const std::string* source : std::vector<const std::string*>{__VA_ARGS__}) { \
    NvrtcResult r = CompileForSm90(*source, "attn", "sm_90a");                    \
    SKIP_IF_NO_NVRTC(r);                                                          \
    EXPECT_TRUE(r.status.ok()) << r.status;                                       \
    EXPECT_EQ(r.log.find("warning"), std::string::npos) << r.log;                 \
    EXPECT_EQ(r.log.find("Performance Loss"), std::string::npos) << r.log;        \
  }

// ---- Golden CUDA text ------------------------------------------------------------

// Every kernel's text, each after a "launch <symbol> grid=.. block=.. <config>" line.
absl::StatusOr<std::string> DumpCuda(const ::sluice::testing::GoldenCase& c) {
  absl::StatusOr<EmittedGraph> e = EmitGraphText(c.input);
  if (!e.ok()) return e.status();
  std::string out;
  for (const CudaKernelLaunch& k : e->module.kernels) {
    absl::StrAppend(&out, "launch ", k.symbol, " grid=", absl::StrJoin(k.grid, ","),
                    " block=", absl::StrJoin(k.block, ","), " ", k.config, "\n",
                    e->KernelSource(k.name));
  }
  return out;
}

TEST(CudaEmitterGoldenTest, Cases) {
  absl::Status s = ::sluice::testing::RunGoldenFile("codegen/cuda/testdata/golden.graph", DumpCuda);
  EXPECT_TRUE(s.ok()) << s;
}

// ---- Structural checks ------------------------------------------------------------

int CountGlobals(const std::string& source) { return CountOccurrences(source, "__global__ void"); }

TEST(CudaEmitterTest, FusedFiveOpChainIsOneKernelWithVectorAccesses) {
  const std::string text = R"(
graph chain(%x: f32[4096, 4096], %y: f32[4096, 4096]) {
  %a = mul(%x, %y)
  %b = add(%a, 1.0)
  %c = relu(%b)
  %d = sigmoid(%c)
  %e = mul(%d, %x)
  return %e
})";
  CudaEmitOptions h100;  // ApplyDeviceTuning's H100 choice
  ApplyDeviceTuning("NVIDIA H100 80GB HBM3", &h100);
  for (const bool two_streams_narrow : {true, false}) {
    SCOPED_TRACE(two_streams_narrow);
    absl::StatusOr<EmittedGraph> e =
        EmitGraphText(text, {}, two_streams_narrow ? h100 : CudaEmitOptions{});
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(CountGlobals(e->module.source), 1);
    ASSERT_EQ(e->module.kernels.size(), 1u);
    const CudaKernelLaunch& k = e->module.kernels[0];
    EXPECT_EQ(k.kind, CudaTemplate::kPointwise);
    const std::string src = e->KernelSource(k.name);
    // x and y stream in: tuned for an H100, one 8-byte (2 x f32) load
    // each per chunk and one 8-byte store (pointwise_stream_vector_bytes);
    // 16 bytes (4 x f32) by default.
    const int n = two_streams_narrow ? 2 : 4;
    EXPECT_EQ(CountOccurrences(src, absl::StrCat("SlVec<float, ", n, "> l0 = sl_ldv<", n, ">(a0 + ")), 1) << src;
    EXPECT_EQ(CountOccurrences(src, absl::StrCat("SlVec<float, ", n, "> l1 = sl_ldv<", n, ">(a1 + ")), 1) << src;
    EXPECT_EQ(CountOccurrences(src, absl::StrCat("sl_stv<", n, ">(a2 + ")), 1) << src;
    // No scalar access to the contiguous buffers.
    EXPECT_EQ(CountOccurrences(src, "a0["), 0) << src;
    EXPECT_EQ(CountOccurrences(src, "a1["), 0) << src;
    EXPECT_EQ(CountOccurrences(src, "a2["), 0) << src;
    // One n-element chunk per thread: 4096 * 4096 / n / 256 blocks.
    EXPECT_EQ(k.block[0], 256u);
    EXPECT_EQ(k.grid[0], 4096u * 4096u / n / 256u);
    EXPECT_EQ(k.args.size(), 3u);
    EXPECT_EQ(k.args[2].value, "e");
    EXPECT_TRUE(k.args[2].is_output);
  }
}

// One streamed input and a broadcast one (a bias, read again by every row)
// keep 16-byte vectors: only two or more full-size streams are narrowed.
TEST(CudaEmitterTest, OneStreamAndABroadcastKeepSixteenByteVectors) {
  CudaEmitOptions h100;
  ApplyDeviceTuning("NVIDIA H100 80GB HBM3", &h100);
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph bias_gelu(%x: f32[512, 8192], %b: f32[8192]) {
  %a = add(%x, %b)
  %g = gelu(%a, approximate = "tanh")
  return %g
})", {}, h100);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 1u);
  const std::string src = e->KernelSource(e->module.kernels[0].name);
  EXPECT_EQ(CountOccurrences(src, "sl_ldv<4>("), 2) << src;
  EXPECT_EQ(CountOccurrences(src, "sl_stv<4>("), 1) << src;
}

TEST(CudaEmitterTest, PointwiseGridIsCappedAndThreadsLoop) {
  CudaEmitOptions options;
  options.pointwise_waves = 2;
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph g(%x: bf16[8192, 8192]) {
  %y = exp(%x)
  return %y
})",
                                                 {}, options);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 1u);
  // 8-element (16-byte) bf16 chunks; 2 waves of 8 blocks on 132 SMs.
  EXPECT_EQ(e->module.kernels[0].grid[0], 132u * 8 * 2);
  const std::string src = e->KernelSource("k0");
  EXPECT_NE(src.find("c0 += stride"), std::string::npos) << src;
  EXPECT_NE(src.find("SlVec<__nv_bfloat16, 8> l0 = sl_ldv<8>(a0 + "), std::string::npos) << src;
}

TEST(CudaEmitterTest, SoftmaxIsOneKernelThatLoadsItsInputInOneLoopOnly) {
  for (const char* dtype : {"f32", "bf16", "f16"}) {
    SCOPED_TRACE(dtype);
    absl::StatusOr<EmittedGraph> e = EmitGraphText(absl::StrCat(
        "graph g(%x: ", dtype, "[32768, 1024]) {\n  %s = softmax(%x, dim = -1)\n  return %s\n}\n"));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(CountGlobals(e->module.source), 1);
    ASSERT_EQ(e->module.kernels.size(), 1u);
    const CudaKernelLaunch& k = e->module.kernels[0];
    EXPECT_EQ(k.kind, CudaTemplate::kRowReduction);
    const std::string src = e->KernelSource(k.name);
    // The kernel IR loads x in the max loop and again in the sum loop; the
    // emitter caches the first load in registers, so the input arg appears
    // at exactly one load site (inside loop 1).
    EXPECT_EQ(CountOccurrences(src, "(a0 + "), 1) << src;
    EXPECT_EQ(CountOccurrences(src, "a0["), 0) << src;
    const size_t loop1 = src.find("// loop 1"), loop2 = src.find("// loop 2");
    ASSERT_NE(loop1, std::string::npos);
    ASSERT_NE(loop2, std::string::npos);
    const size_t load = src.find("(a0 + ");
    EXPECT_GT(load, loop1);
    EXPECT_LT(load, loop2);
    // One warp per row, 8 rows per block.
    EXPECT_EQ(k.block[0], 256u);
    EXPECT_EQ(k.grid[0], 32768u / 8);
  }
}

TEST(CudaEmitterTest, NormsReadTheirInputOnce) {
  // Rows kept in registers (4096-wide rms_norm rows would otherwise re-read:
  // RereadingRowLoopsHintTheCachesWhenAsked).
  CudaEmitOptions options;
  options.reread_long_rows = false;
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph g(%x: f32[256, 1024], %w: f32[1024], %b: f32[1024], %z: f32[256, 4096], %v: f32[4096]) {
  %ln = layer_norm(%x, %w, %b, normalized_shape = [1024])
  %rms = rms_norm(%z, %v, normalized_shape = [4096])
  %ls = log_softmax(%x, dim = 1)
  return %ln, %rms, %ls
})", {}, options);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 3u);
  for (const CudaKernelLaunch& k : e->module.kernels) {
    SCOPED_TRACE(k.name);
    EXPECT_EQ(k.kind, CudaTemplate::kRowReduction);
    const std::string src = e->KernelSource(k.name);
    EXPECT_EQ(CountOccurrences(src, "(a0 + "), 1) << src;
    EXPECT_EQ(CountOccurrences(src, "a0["), 0) << src;
  }
}

TEST(CudaEmitterTest, FallbackNodeSplitsKernels) {
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph seed(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y) {should_fallback = true}
  %b = mul(%a, 2.0)
  %c = sub(%x, %y)
  %d = mul(%c, 3.0)
  %f = neg(%d) {should_fallback = true}
  %g = add(%f, %b)
  return %g
})");
  ASSERT_TRUE(e.ok()) << e.status();
  std::vector<std::string> kinds;
  for (const passes::Step& s : e->schedule.steps) {
    kinds.push_back(std::string(passes::StepKindName(s.kind)));
  }
  // The lowered neighbours of each fallback node are in different kernels.
  EXPECT_EQ(absl::StrJoin(kinds, " "), "fallback kernel fallback kernel") << e->schedule.ToString();
  EXPECT_EQ(CountGlobals(e->module.source), 2);
  EXPECT_TRUE(e->plan.IsFallback("a"));
  EXPECT_TRUE(e->plan.IsFallback("f"));
}

TEST(CudaEmitterTest, PicksTheTemplateFromTheLoads) {
  // One kernel per reduction (the whole-tensor sum would be split in two:
  // LongReductionsWithFewOutputsRunInTwoStages).
  passes::LoweringOptions unsplit;
  unsplit.split_reductions = false;
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph g(%x: f32[16384, 16384]) {
  %rows = sum(%x, dims = [1])
  %cols = sum(%x, dims = [0])
  %all = sum(%x)
  return %rows, %cols, %all
})",
                                                 unsplit);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 3u);
  std::vector<CudaTemplate> kinds;
  for (const CudaKernelLaunch& k : e->module.kernels) kinds.push_back(k.kind);
  EXPECT_EQ(kinds[0], CudaTemplate::kRowReduction);
  EXPECT_EQ(kinds[1], CudaTemplate::kColumnReduction);
  EXPECT_EQ(kinds[2], CudaTemplate::kRowReduction);
  // Row sum of 16384: a block of 512 per row, 8 float4 per thread.
  EXPECT_EQ(e->module.kernels[0].block[0], 512u);
  EXPECT_EQ(e->module.kernels[0].grid[0], 16384u);
  // Column sum: 32 consecutive columns per block in x, r0 split over y.
  const CudaKernelLaunch& col = e->module.kernels[1];
  EXPECT_EQ(col.block[0], 32u);
  EXPECT_GT(col.block[1], 1u);
  EXPECT_EQ(col.grid[0], 16384u / 32);
  EXPECT_GT(col.static_shared_bytes, 0u);

  // column_block_x 128 (the H100's): the widest that leaves 90% of the 132
  // SMs a block, at most 1024 threads a block: 128 for 16384 columns, 64
  // for 8192, 32 for 4096.
  CudaEmitOptions h100;
  ApplyDeviceTuning("NVIDIA H100 80GB HBM3", &h100);
  for (const auto& [cols, tx] :
       std::vector<std::pair<int, unsigned>>{{16384, 128}, {8192, 64}, {4096, 32}}) {
    absl::StatusOr<EmittedGraph> n = EmitGraphText(
        absl::StrCat("graph g(%x: f32[4096, ", cols, "]) {\n  %c = sum(%x, dims = [0])\n",
                     "  return %c\n}\n"),
        unsplit, h100);
    ASSERT_TRUE(n.ok()) << n.status();
    const CudaKernelLaunch& k = n->module.kernels[0];
    EXPECT_EQ(k.block[0], tx) << cols;
    EXPECT_EQ(k.grid[0], static_cast<unsigned>(cols) / tx) << cols;
    EXPECT_LE(k.block[0] * k.block[1], 1024u) << cols;
  }

  // column_block_x: 64 consecutive columns per block, the threads in y
  // capped so that a block stays within 1024; bad widths are errors.
  CudaEmitOptions wide;
  ASSERT_TRUE(ApplyCudaEmitOverrides("column_block_x=64", &wide).ok());
  absl::StatusOr<EmittedGraph> w = EmitGraphText(R"(
graph g(%x: f32[16384, 16384]) {
  %cols = sum(%x, dims = [0])
  return %cols
})",
                                                 unsplit, wide);
  ASSERT_TRUE(w.ok()) << w.status();
  const CudaKernelLaunch& wcol = w->module.kernels[0];
  EXPECT_EQ(wcol.kind, CudaTemplate::kColumnReduction);
  EXPECT_EQ(wcol.block[0], 64u);
  EXPECT_EQ(wcol.block[0] * wcol.block[1], 1024u);
  EXPECT_EQ(wcol.grid[0], 16384u / 64);
  EXPECT_THAT(wcol.config, HasSubstr("column: 64 rows x 16 threads/row"));
  EXPECT_COMPILES_CLEANLY(w->module.source, "wide_columns");
  for (const char* bad :
       {"column_block_x=48", "column_block_x=512", "column_block_x=16", "column_block_x=0"}) {
    CudaEmitOptions o;
    EXPECT_FALSE(ApplyCudaEmitOverrides(bad, &o).ok()) << bad;
  }
}

// passes/split_reduction.h with CudaCapabilities(num_sms): a sum over all
// of f32[4096, 4096] is one block of 1024 threads unsplit; split, its first
// stage is 512 blocks (two waves of 132 SMs x 2 blocks) of 32768 elements,
// 32 per thread in registers, and the second one block over 512 partials.
TEST(CudaEmitterTest, LongReductionsWithFewOutputsRunInTwoStages) {
  constexpr char kAllSum[] = R"(
graph allsum(%x: f32[4096, 4096]) {
  %s = sum(%x, dims = [0, 1])
  return %s
})";
  passes::LoweringOptions unsplit;
  unsplit.split_reductions = false;
  absl::StatusOr<EmittedGraph> one = EmitGraphText(kAllSum, unsplit);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->module.kernels.size(), 1u);
  EXPECT_EQ(one->module.kernels[0].grid[0], 1u);
  EXPECT_EQ(one->module.kernels[0].block[0], 1024u);

  absl::StatusOr<EmittedGraph> e = EmitGraphText(kAllSum);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(CountGlobals(e->module.source), 2);
  ASSERT_EQ(e->module.kernels.size(), 2u);
  const CudaKernelLaunch& first = e->module.kernels[0];
  EXPECT_EQ(first.kind, CudaTemplate::kRowReduction);
  EXPECT_EQ(first.grid[0], 512u);
  EXPECT_EQ(first.block[0], 1024u);
  EXPECT_EQ(first.config, "row: 1024 threads/row, 1 rows/block, 4-wide, unrolled x8, registers");
  // Block x0 reads its contiguous 32768 floats with 16-byte loads.
  EXPECT_EQ(CountOccurrences(e->KernelSource(first.name), "sl_ldv<4>(a0 + (rb + x0*32768)"), 1)
      << e->KernelSource(first.name);
  const CudaKernelLaunch& second = e->module.kernels[1];
  EXPECT_EQ(second.grid[0], 1u);
  ASSERT_EQ(second.args.size(), 2u);
  EXPECT_EQ(second.args[0].value, "s_split_partial");
  EXPECT_EQ(second.args[0].numel, 512);
  EXPECT_EQ(second.args[1].value, "s");
  EXPECT_EQ(e->plan.Find("s")->split, 512);
  EXPECT_EQ(e->plan.Find("s")->kernel, 0);

  // A GPU with half the SMs gets half the partials.
  CudaEmitOptions small;
  small.num_sms = 66;
  absl::StatusOr<EmittedGraph> half = EmitGraphText(kAllSum, {}, small);
  ASSERT_TRUE(half.ok()) << half.status();
  ASSERT_EQ(half->module.kernels.size(), 2u);
  EXPECT_EQ(half->module.kernels[0].grid[0], 256u);
}

// 8 rows x 8M and 8 columns x 8M: both first stages fill the GPU (512
// blocks), as row and column reductions; the second stages are one block.
TEST(CudaEmitterTest, FewRowsOrColumnsAreSplitToo) {
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph few(%r: f32[8, 8388608], %c: f32[8388608, 8]) {
  %rows = sum(%r, dims = [1])
  %cols = amax(%c, dims = [0])
  return %rows, %cols
})");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 4u) << e->schedule.ToString();
  std::vector<CudaTemplate> kinds;
  std::vector<uint32_t> grids;
  for (const CudaKernelLaunch& k : e->module.kernels) {
    kinds.push_back(k.kind);
    grids.push_back(k.grid[0] * k.grid[1]);
  }
  EXPECT_EQ(kinds[0], CudaTemplate::kRowReduction);
  EXPECT_EQ(kinds[2], CudaTemplate::kColumnReduction);
  EXPECT_EQ(grids, (std::vector<uint32_t>{512, 1, 512, 1}));
  EXPECT_EQ(e->plan.Find("rows")->split, 64);
  EXPECT_EQ(e->plan.Find("cols")->split, 2048);
}

// What was fused into the reduction stays fused into its first stage: the
// loss's inputs are the first kernel's only inputs (nothing in between is
// written), and the bf16 mean's scale and cast join the second.
TEST(CudaEmitterTest, ProducersOfASplitReductionStayInItsFirstStage) {
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph mse(%a: bf16[4096, 4096], %b: bf16[4096, 4096]) {
  %d = sub(%a, %b)
  %q = mul(%d, %d)
  %m = mean(%q)
  return %m
})");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 2u) << e->schedule.ToString();
  const CudaKernelLaunch& first = e->module.kernels[0];
  EXPECT_EQ(first.grid[0], 512u);
  ASSERT_EQ(first.args.size(), 3u);
  EXPECT_EQ(first.args[0].value, "a");
  EXPECT_EQ(first.args[1].value, "b");
  EXPECT_EQ(first.args[2].value, "m_sum_split_partial");
  EXPECT_EQ(first.args[2].dtype, ir::DType::kF32);  // partials in f32
  EXPECT_EQ(e->module.kernels[1].args.back().value, "m");
  EXPECT_EQ(e->module.kernels[1].args.back().dtype, ir::DType::kBF16);
  EXPECT_EQ(e->plan.Find("m")->split, 512);
}

TEST(CudaEmitterTest, LaunchesAndLinesAreReported) {
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph g(%x: f32[64, 100], %y: f32[64, 100]) {
  %s = softmax(%x, dim = -1)
  %m = amax(%y, dims = [0])
  return %s, %m
})");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 2u);
  const std::vector<std::string> lines = absl::StrSplit(e->module.source, '\n');
  for (const CudaKernelLaunch& k : e->module.kernels) {
    SCOPED_TRACE(k.name);
    EXPECT_EQ(k.symbol, "sluice_" + k.name);
    ASSERT_GT(k.first_line, 0);
    ASSERT_LE(k.last_line, static_cast<int>(lines.size()));
    EXPECT_LT(k.first_line, k.last_line);
    EXPECT_EQ(e->module.KernelAtLine(k.first_line), &k);
    EXPECT_EQ(e->module.KernelAtLine(k.last_line), &k);
    bool has_signature = false;
    for (int l = k.first_line; l <= k.last_line; ++l) {
      has_signature = has_signature || lines[l - 1].find(k.symbol + "(") != std::string::npos;
    }
    EXPECT_TRUE(has_signature);
    EXPECT_EQ(k.shared_bytes, 0u);
    EXPECT_GE(k.grid[0], 1u);
    EXPECT_EQ(k.block[2], 1u);
  }
  EXPECT_EQ(e->module.KernelAtLine(1), nullptr);  // the preamble
}

TEST(CudaEmitterTest, RejectsDuplicateKernelNames) {
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph g(%x: f32[8]) {
  %a = neg(%x)
  return %a
})");
  ASSERT_TRUE(e.ok()) << e.status();
  std::vector<Kernel> twice = {e->kernels[0], e->kernels[0]};
  absl::StatusOr<CudaModuleSource> m = EmitCuda(twice);
  EXPECT_TRUE(absl::IsInvalidArgument(m.status())) << m.status();
}

TEST(CudaEmitterTest, UnknownOpIsAnErrorNamingTheKernel) {
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph g(%x: f32[8]) {
  %a = neg(%x)
  return %a
})");
  ASSERT_TRUE(e.ok()) << e.status();
  Kernel k = e->kernels[0];
  for (Expr& x : k.exprs) {
    if (x.kind == Expr::Kind::kOp) x.op = "frobnicate";
  }
  absl::StatusOr<CudaModuleSource> m = EmitCuda({k});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("frobnicate"), std::string::npos) << m.status();
  EXPECT_NE(m.status().message().find(k.name), std::string::npos) << m.status();
}

// The f32 softmax's division by its row sum: per element with
// row_divisor_reciprocal off; by default (row_divisor_reciprocal) and under
// fast math, products by one reciprocal a row. Only fast math defines
// SLUICE_FAST_MATH (approximate exp); the default keeps expf.
TEST(CudaEmitterTest, FastMathAndTheRowReciprocalChangeOnlyTheMathHelpers) {
  const std::string text = R"(
graph g(%x: f32[128, 1024]) {
  %s = softmax(%x, dim = -1)
  return %s
})";
  CudaEmitOptions exact;
  exact.row_divisor_reciprocal = false;
  CudaEmitOptions fast = exact;
  fast.fast_math = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, exact);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, fast);
  absl::StatusOr<EmittedGraph> d = EmitGraphText(text);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(CountOccurrences(a->module.source, "#define SLUICE_FAST_MATH"), 0);
  EXPECT_EQ(CountOccurrences(b->module.source, "#define SLUICE_FAST_MATH 1"), 1);
  EXPECT_EQ(CountOccurrences(d->module.source, "#define SLUICE_FAST_MATH"), 0);
  EXPECT_EQ(CountOccurrences(a->KernelSource("k0"), "sl_div("), 1);
  for (const std::string& src : {b->KernelSource("k0"), d->KernelSource("k0")}) {
    EXPECT_EQ(CountOccurrences(src, "const float rcp"), 1) << src;
    EXPECT_EQ(CountOccurrences(src, "sl_div("), 0) << src;
    EXPECT_EQ(CountOccurrences(src, "sl_exp("), 1) << src;  // which exp: the define
    EXPECT_EQ(CountOccurrences(src, "_approx("), 0) << src;
  }
  EXPECT_COMPILES_CLEANLY(d->module.source, "g");
}

TEST(CudaEmitterTest, PoisonedKernelFailsToCompileInsideItsLines) {
  CudaEmitOptions options;
  options.poison_kernels = {"k2"};  // step 1 is the fallback, so kernels are k0 and k2
  absl::StatusOr<EmittedGraph> e = EmitGraphText(R"(
graph g(%x: f32[64], %y: f32[64]) {
  %a = mul(%x, %y)
  %b = exp(%a) {should_fallback = true}
  %c = add(%b, 1.0)
  return %c
})",
                                                 {}, options);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 2u);
  EXPECT_EQ(e->module.kernels[1].name, "k2");
  EXPECT_EQ(e->KernelSource("k0").find("#error"), std::string::npos);
  const std::string src = e->KernelSource("k2");
  ASSERT_NE(src.find("#error"), std::string::npos);
  int error_line = 0, line = 1;
  for (absl::string_view l : absl::StrSplit(e->module.source, '\n')) {
    if (l.find("#error") != absl::string_view::npos) error_line = line;
    ++line;
  }
  ASSERT_NE(e->module.KernelAtLine(error_line), nullptr);
  EXPECT_EQ(e->module.KernelAtLine(error_line)->name, "k2");
  NvrtcResult r = CompileForSm90(e->module.source, "poisoned");
  SKIP_IF_NO_NVRTC(r);
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("injected compile failure in k2"), std::string::npos)
      << r.status;
}

// ---- Every testdata graph NVRTC-compiles for sm_90 ---------------------------------

struct CompileCase {
  const char* file;
  bool fast_math = false;
  bool recompute = false;  // CudaEmitOptions::recompute_narrow_scratch
  bool assume_aligned = false;
};

class CudaEmitterCompileTest : public ::testing::TestWithParam<CompileCase> {};

TEST_P(CudaEmitterCompileTest, EveryGraphCompilesForSm90WithoutWarnings) {
  const std::string path = absl::StrCat("codegen/cuda/testdata/", GetParam().file);
  absl::StatusOr<std::vector<ir::Graph>> graphs;
  if (absl::EndsWith(path, "golden.graph")) {
    // A golden file: the graph of each case, without its CHECK lines.
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    graphs = std::vector<ir::Graph>();
    for (const ::sluice::testing::GoldenCase& c : ::sluice::testing::ParseGoldenCases(text.str())) {
      absl::StatusOr<ir::Graph> g = ir::ParseGraph(c.input);
      ASSERT_TRUE(g.ok()) << g.status();
      graphs->push_back(*std::move(g));
    }
  } else {
    graphs = ir::ParseFile(path);
  }
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  ASSERT_FALSE(graphs->empty());
  CudaEmitOptions options;
  options.fast_math = GetParam().fast_math;
  options.recompute_narrow_scratch = GetParam().recompute;
  options.assume_aligned = GetParam().assume_aligned;
  int compiled = 0;
  for (const ir::Graph& g : *graphs) {
    SCOPED_TRACE(g.name());
    absl::StatusOr<EmittedGraph> e = EmitGraph(g, {}, options);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(CountGlobals(e->module.source), static_cast<int>(e->kernels.size()));
    if (e->kernels.empty()) continue;
    NvrtcResult r = CompileForSm90(e->module.source, g.name());
    SKIP_IF_NO_NVRTC(r);
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.log.find("warning"), std::string::npos) << r.log;
    ++compiled;
  }
  EXPECT_GT(compiled, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Testdata, CudaEmitterCompileTest,
    ::testing::Values(CompileCase{"ops.graph"}, CompileCase{"reductions.graph"},
                      CompileCase{"composites.graph"}, CompileCase{"layout.graph"},
                      CompileCase{"benchmarks.graph"}, CompileCase{"golden.graph"},
                      CompileCase{"split_reductions.graph"},
                      CompileCase{"composites.graph", true}, CompileCase{"benchmarks.graph", true},
                      CompileCase{"ops.graph", true},
                      CompileCase{"composites.graph", false, true, true},
                      CompileCase{"empty.graph"}),
    [](const ::testing::TestParamInfo<CompileCase>& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find('.'));
      if (info.param.fast_math) name += "_fast_math";
      if (info.param.recompute) name += "_recompute";
      if (info.param.assume_aligned) name += "_aligned";
      return name;
    });

TEST(CudaEmitterTest, NarrowScratchIsRecomputedFromCachedLoadsWhenAsked) {
  const std::string text = R"(
graph g(%x: bf16[64, 1024]) {
  %s = softmax(%x, dim = -1)
  return %s
})";
  CudaEmitOptions options;
  options.recompute_narrow_scratch = true;
  absl::StatusOr<EmittedGraph> plain = EmitGraphText(text);
  absl::StatusOr<EmittedGraph> rc = EmitGraphText(text, {}, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(rc.ok()) << rc.status();
  const std::string a = plain->KernelSource("k0"), b = rc->KernelSource("k0");
  // Default: exp(x - max) in an f32 register array; with the option, the
  // bf16 row stays cached and the exp is recomputed in the last loop.
  EXPECT_NE(a.find("float s0[4][8];"), std::string::npos) << a;
  EXPECT_EQ(b.find("float s0["), std::string::npos) << b;
  EXPECT_NE(b.find("SlVec<__nv_bfloat16, 8> c0[4];"), std::string::npos) << b;
  EXPECT_EQ(CountOccurrences(b, "sl_exp_approx("), 2) << b;
  // Either way the input is read from global memory once.
  EXPECT_EQ(CountOccurrences(a, "(a0 + "), 1) << a;
  EXPECT_EQ(CountOccurrences(b, "(a0 + "), 1) << b;
}

// An attention graph that takes the wgmma kernel on Hopper (d 64).
constexpr const char* kWgmmaAttentionGraph = R"(
graph attn(%q: f16[2, 4, 256, 64], %k: f16[2, 4, 256, 64], %v: f16[2, 4, 256, 64]) {
  %kt = transpose(%k, dim0 = -2, dim1 = -1)
  %s = matmul(%q, %kt)
  %x = mul(%s, 0.125)
  %p = softmax(%x, dim = -1)
  %o = matmul(%p, %v)
  return %o
})";

// The Hopper attention kernel's module holds its instantiation for 16-byte-
// aligned buffers only (the entry traps on others); the one for unaligned
// buffers is a translation unit of its own, for the runtime to compile when a
// launch needs it. Both compile for sm_90a without warnings.
TEST(CudaEmitterTest, WgmmaAttentionKeepsItsUnalignedVariantApart) {
  CudaEmitOptions hopper;
  hopper.hopper = true;
  absl::StatusOr<EmittedGraph> e = EmitGraphText(kWgmmaAttentionGraph, {}, hopper);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->module.kernels.size(), 1u);
  const CudaKernelLaunch& k = e->module.kernels[0];
  ASSERT_TRUE(e->module.needs_sm90a);
  EXPECT_EQ(k.unaligned_symbol, k.symbol + "_unaligned");
  EXPECT_EQ(CountOccurrences(e->module.source, "<true>("), 1);
  EXPECT_EQ(CountOccurrences(e->module.source, "<false>("), 0);
  EXPECT_EQ(CountOccurrences(e->module.source, "__trap()"), 1);
  EXPECT_EQ(CountOccurrences(k.unaligned_source, "<false>("), 1);
  EXPECT_EQ(CountOccurrences(k.unaligned_source, "<true>("), 0);
  EXPECT_EQ(CountOccurrences(k.unaligned_source, "extern \"C\" __global__"), 1);
  EXPECT_NE(k.unaligned_source.find(k.unaligned_symbol + "("), std::string::npos);
  for (const std::string* source :
       std::vector<const std::string*>{&e->module.source, &k.unaligned_source}) {
    NvrtcResult r = CompileForSm90(*source, "attn", "sm_90a");
    SKIP_IF_NO_NVRTC(r);
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.log.find("warning"), std::string::npos) << r.log;
  }
}

// attention_mbarrier: the wgmma kernel's warpgroups wait on per-stage
// mbarriers (tiles landed, stage consumed) instead of a block-wide barrier
// per tile; 16 bytes of shared memory per stage more; both instantiations
// compile for sm_90a without warnings or serialized wgmmas; so does the
// ping-pong of the two warpgroups on top, and the FlashAttention-3 overlap
// with them. P V waited for with the next S keeps the block barrier;
// ping-pong without mbarriers is an error.
TEST(CudaEmitterTest, WgmmaAttentionWithMbarriersDropsTheBlockBarrier) {
  const std::string text = kWgmmaAttentionGraph;
  CudaEmitOptions plain;
  plain.hopper = true;
  plain.attention_stages = 3;
  plain.attention_mbarrier = false;
  CudaEmitOptions mbar = plain;
  mbar.attention_mbarrier = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, plain);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, mbar);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const CudaKernelLaunch& ka = a->module.kernels[0];
  const CudaKernelLaunch& kb = b->module.kernels[0];
  EXPECT_EQ(kb.shared_bytes, ka.shared_bytes + 16 * 3);
  EXPECT_THAT(kb.config, HasSubstr("per-stage mbarriers"));
  EXPECT_THAT(ka.config, Not(HasSubstr("mbarrier")));
  EXPECT_THAT(b->module.source, HasSubstr("constexpr bool kMbar = true;"));
  EXPECT_THAT(a->module.source, HasSubstr("constexpr bool kMbar = false;"));
  CudaEmitOptions ping = mbar;
  ping.attention_pingpong = true;
  absl::StatusOr<EmittedGraph> c = EmitGraphText(text, {}, ping);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->module.kernels[0].config, HasSubstr("taking turns"));
  EXPECT_THAT(c->module.source, HasSubstr("constexpr bool kPing = true;"));
  EXPECT_THAT(b->module.source, HasSubstr("constexpr bool kPing = false;"));

  // P V waited for with the next S keeps its block barrier; the
  // FlashAttention-3 overlap takes the mbarriers too.
  mbar.attention_overlap = 1;
  absl::StatusOr<EmittedGraph> deferred = EmitGraphText(text, {}, mbar);
  ASSERT_TRUE(deferred.ok()) << deferred.status();
  EXPECT_THAT(deferred->module.source, HasSubstr("constexpr bool kMbar = false;"));
  EXPECT_EQ(deferred->module.kernels[0].shared_bytes, ka.shared_bytes);
  mbar.attention_overlap = 2;
  absl::StatusOr<EmittedGraph> pipelined = EmitGraphText(text, {}, mbar);
  ASSERT_TRUE(pipelined.ok()) << pipelined.status();
  EXPECT_THAT(pipelined->module.source, HasSubstr("constexpr bool kMbar = true;"));
  EXPECT_EQ(pipelined->module.kernels[0].shared_bytes, ka.shared_bytes + 16 * 3);
  ping.attention_overlap = 2;
  absl::StatusOr<EmittedGraph> bad = EmitGraphText(text, {}, ping);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("attention_pingpong needs attention_mbarrier"));
  plain.attention_pingpong = true;  // without mbarriers
  bad = EmitGraphText(text, {}, plain);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("attention_pingpong needs attention_mbarrier"));

  EXPECT_SM90A_COMPILES_CLEANLY(&b->module.source, &kb.unaligned_source, &c->module.source,
                                &pipelined->module.source);
}

// attention_rowsum_mma: the wgmma kernel's row sums come from the tensor
// cores (the last 64 columns' P V is m64n72k16 over a 2 KB block of ones)
// instead of an FADD per score; every schedule and both head dims compile
// for sm_90a without warnings or serialized wgmmas.
TEST(CudaEmitterTest, WgmmaAttentionSumsRowsOnTheTensorCores) {
  CudaEmitOptions plain;
  plain.hopper = true;
  CudaEmitOptions rowsum = plain;
  rowsum.attention_rowsum_mma = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(kWgmmaAttentionGraph, {}, plain);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(kWgmmaAttentionGraph, {}, rowsum);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const CudaKernelLaunch& ka = a->module.kernels[0];
  const CudaKernelLaunch& kb = b->module.kernels[0];
  EXPECT_EQ(kb.shared_bytes, ka.shared_bytes + 2048);
  EXPECT_THAT(kb.config, HasSubstr("row sums on the tensor cores"));
  EXPECT_THAT(ka.config, Not(HasSubstr("row sums")));
  EXPECT_THAT(b->module.source, HasSubstr("constexpr bool kRowSumMma = true;"));
  EXPECT_THAT(a->module.source, HasSubstr("constexpr bool kRowSumMma = false;"));
  EXPECT_THAT(b->module.source, HasSubstr("aligned.m64n72k16.f32.f16.f16"));
  EXPECT_THAT(b->module.source, HasSubstr("0x3c003c00u"));  // f16 ones

  // bf16, d 128: the ones sit beside the second 64-column block.
  std::string wide = kWgmmaAttentionGraph;
  wide = absl::StrReplaceAll(wide, {{"f16[2, 4, 256, 64]", "bf16[2, 4, 200, 128]"}});
  absl::StatusOr<EmittedGraph> c = EmitGraphText(wide, {}, rowsum);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->module.source, HasSubstr("aligned.m64n72k16.f32.bf16.bf16"));
  EXPECT_THAT(c->module.source, HasSubstr("0x3f803f80u"));  // bf16 ones
  CudaEmitOptions pipelined = rowsum;
  pipelined.attention_overlap = 2;
  pipelined.attention_warpgroups = 3;
  absl::StatusOr<EmittedGraph> d = EmitGraphText(kWgmmaAttentionGraph, {}, pipelined);
  ASSERT_TRUE(d.ok()) << d.status();
  CudaEmitOptions barrier = rowsum;
  barrier.attention_mbarrier = false;
  absl::StatusOr<EmittedGraph> e = EmitGraphText(kWgmmaAttentionGraph, {}, barrier);
  ASSERT_TRUE(e.ok()) << e.status();

  EXPECT_SM90A_COMPILES_CLEANLY(&b->module.source, &kb.unaligned_source, &c->module.source,
                                &d->module.source, &e->module.source);
}

// attention_producer: FlashAttention-3's warp specialization. One more
// warpgroup per block loads (its registers lowered to 24), the others
// compute with the registers it gave up (240 each for two, 160 for three);
// one block per SM; 2 stages suffice even for the pipelined loop. Every
// schedule compiles for sm_90a without warnings or serialized wgmmas.
TEST(CudaEmitterTest, WgmmaAttentionProducerWarpgroup) {
  CudaEmitOptions plain;
  plain.hopper = true;
  CudaEmitOptions producer = plain;
  producer.attention_producer = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(kWgmmaAttentionGraph, {}, plain);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(kWgmmaAttentionGraph, {}, producer);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const CudaKernelLaunch& ka = a->module.kernels[0];
  const CudaKernelLaunch& kb = b->module.kernels[0];
  EXPECT_EQ(ka.block[0], 256u);
  EXPECT_EQ(kb.block[0], 384u);  // two computing warpgroups and the producer
  EXPECT_EQ(kb.grid[0], ka.grid[0]);  // 128 query rows a block either way
  EXPECT_EQ(kb.shared_bytes, ka.shared_bytes);
  EXPECT_THAT(kb.config, HasSubstr("a producer warpgroup (24 registers; 240 for the others)"));
  EXPECT_THAT(ka.config, Not(HasSubstr("producer")));
  EXPECT_THAT(b->module.source, HasSubstr("constexpr bool kProducer = true;"));
  EXPECT_THAT(b->module.source, HasSubstr("constexpr int CT = 256,"));
  EXPECT_THAT(b->module.source, HasSubstr("__launch_bounds__(384, 1)"));
  EXPECT_THAT(b->module.source, HasSubstr("sl_setmaxnreg_dec<24>()"));
  EXPECT_THAT(b->module.source, HasSubstr("sl_setmaxnreg_inc<240>()"));
  EXPECT_THAT(a->module.source, HasSubstr("constexpr bool kProducer = false;"));

  // FlashAttention-3's d 64 shape: three computing warpgroups (192 rows) at
  // 160 registers, the pipelined loop on 2 stages.
  CudaEmitOptions fa3 = producer;
  fa3.attention_warpgroups = 3;
  fa3.attention_overlap = 2;
  absl::StatusOr<EmittedGraph> c = EmitGraphText(kWgmmaAttentionGraph, {}, fa3);
  ASSERT_TRUE(c.ok()) << c.status();
  const CudaKernelLaunch& kc = c->module.kernels[0];
  EXPECT_EQ(kc.block[0], 512u);
  EXPECT_EQ(kc.grid[0], 2u);  // 256 rows
  EXPECT_THAT(kc.config, HasSubstr("2-stage"));
  EXPECT_THAT(kc.config, HasSubstr("(24 registers; 160 for the others)"));
  EXPECT_THAT(c->module.source, HasSubstr("sl_setmaxnreg_inc<160>()"));
  // One: the computing warpgroup gets every register it can address.
  CudaEmitOptions one = producer;
  one.attention_warpgroups = 1;
  absl::StatusOr<EmittedGraph> d = EmitGraphText(kWgmmaAttentionGraph, {}, one);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->module.source, HasSubstr("sl_setmaxnreg_inc<256>()"));
  // bf16, d 128, ragged keys, with the row sums on the tensor cores.
  std::string wide = kWgmmaAttentionGraph;
  wide = absl::StrReplaceAll(wide, {{"f16[2, 4, 256, 64]", "bf16[2, 4, 200, 128]"}});
  CudaEmitOptions wide_options = producer;
  wide_options.attention_rowsum_mma = true;
  absl::StatusOr<EmittedGraph> e = EmitGraphText(wide, {}, wide_options);
  ASSERT_TRUE(e.ok()) << e.status();

  // The producer hands tiles over through the mbarriers only.
  CudaEmitOptions no_mbar = producer;
  no_mbar.attention_mbarrier = false;
  absl::StatusOr<EmittedGraph> bad = EmitGraphText(kWgmmaAttentionGraph, {}, no_mbar);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("attention_producer needs attention_mbarrier"));
  CudaEmitOptions deferred = producer;
  deferred.attention_overlap = 1;
  deferred.attention_stages = 3;
  bad = EmitGraphText(kWgmmaAttentionGraph, {}, deferred);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("attention_producer needs attention_mbarrier"));
  // Four computing warpgroups would get 112 registers: ptxas would serialize.
  CudaEmitOptions four = producer;
  four.attention_warpgroups = 4;
  bad = EmitGraphText(kWgmmaAttentionGraph, {}, four);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("at most 3 warpgroups"));

  EXPECT_SM90A_COMPILES_CLEANLY(&b->module.source, &kb.unaligned_source, &c->module.source,
                                &d->module.source, &e->module.source);
}

// attention_exp2_fma: that many of each thread's groups of 4 softmax
// exponentials per tile come from a polynomial on the FMA pipe instead of
// MUFU.EX2 (16 groups for 128-key tiles, 8 for 64-key ones); more than the
// tile has is an error; both dtypes compile for sm_90a without warnings or
// serialized wgmmas, unpipelined and pipelined.
TEST(CudaEmitterTest, WgmmaAttentionMovesExponentialsToTheFmaPipe) {
  CudaEmitOptions plain;
  plain.hopper = true;
  CudaEmitOptions fma = plain;
  fma.attention_exp2_fma = 4;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(kWgmmaAttentionGraph, {}, plain);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(kWgmmaAttentionGraph, {}, fma);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(b->module.kernels[0].config, HasSubstr("4 of 16 exponentials on the FMA pipe"));
  EXPECT_THAT(a->module.kernels[0].config, Not(HasSubstr("FMA pipe")));
  EXPECT_THAT(b->module.source, HasSubstr("kExp2Fma = 4;"));
  EXPECT_THAT(a->module.source, HasSubstr("kExp2Fma = 0;"));
  EXPECT_EQ(b->module.kernels[0].shared_bytes, a->module.kernels[0].shared_bytes);

  // bf16, d 128 with 64-key tiles: 8 groups; all 8 is every exponential.
  std::string wide = kWgmmaAttentionGraph;
  wide = absl::StrReplaceAll(wide, {{"f16[2, 4, 256, 64]", "bf16[2, 4, 200, 128]"}});
  CudaEmitOptions all = plain;
  all.attention_block_n = 64;
  all.attention_exp2_fma = 8;
  absl::StatusOr<EmittedGraph> c = EmitGraphText(wide, {}, all);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->module.kernels[0].config, HasSubstr("8 of 8 exponentials"));
  all.attention_exp2_fma = 9;
  absl::StatusOr<EmittedGraph> bad = EmitGraphText(wide, {}, all);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("attention_exp2_fma 9 is more than the 8 groups of exponentials"));
  CudaEmitOptions pipelined = fma;
  pipelined.attention_overlap = 2;
  pipelined.attention_warpgroups = 3;
  absl::StatusOr<EmittedGraph> d = EmitGraphText(kWgmmaAttentionGraph, {}, pipelined);
  ASSERT_TRUE(d.ok()) << d.status();

  EXPECT_SM90A_COMPILES_CLEANLY(&b->module.source, &b->module.kernels[0].unaligned_source,
                                &c->module.source, &d->module.source);
}

// attention_split_pv: the unpipelined loop issues a tile's P V in two
// halves, the first before the second half's exponentials; the pipelined
// and ping-pong loops refuse it; both dtypes compile for sm_90a without
// warnings or serialized wgmmas, with the row sums on the tensor cores too.
TEST(CudaEmitterTest, WgmmaAttentionIssuesPVInHalves) {
  CudaEmitOptions split;
  split.hopper = true;
  split.attention_split_pv = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(kWgmmaAttentionGraph, {}, split);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->module.kernels[0].config, HasSubstr("P V issued in two halves"));
  EXPECT_THAT(a->module.source, HasSubstr("constexpr bool kSplitPv = true;"));
  std::string wide = kWgmmaAttentionGraph;
  wide = absl::StrReplaceAll(wide, {{"f16[2, 4, 256, 64]", "bf16[2, 4, 200, 128]"}});
  CudaEmitOptions rowsum = split;
  rowsum.attention_rowsum_mma = true;
  absl::StatusOr<EmittedGraph> b = EmitGraphText(wide, {}, rowsum);
  ASSERT_TRUE(b.ok()) << b.status();
  for (int overlap : {1, 2}) {
    CudaEmitOptions pipelined = split;
    pipelined.attention_overlap = overlap;
    pipelined.attention_stages = 3;
    absl::StatusOr<EmittedGraph> bad = EmitGraphText(kWgmmaAttentionGraph, {}, pipelined);
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(bad.status().message(), HasSubstr("attention_split_pv needs attention_overlap 0"));
  }
  CudaEmitOptions ping = split;
  ping.attention_pingpong = true;
  EXPECT_FALSE(EmitGraphText(kWgmmaAttentionGraph, {}, ping).ok());
  CudaEmitOptions plain;
  plain.hopper = true;
  absl::StatusOr<EmittedGraph> c = EmitGraphText(kWgmmaAttentionGraph, {}, plain);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->module.source, HasSubstr("constexpr bool kSplitPv = false;"));
  EXPECT_SM90A_COMPILES_CLEANLY(&a->module.source, &a->module.kernels[0].unaligned_source,
                                &b->module.source);
}

// attention_tma (the default): the mbarrier loops load Q and the K/V tiles
// with the tensor memory accelerator from three tensor maps the launch
// describes (Q's, K's, V's: [batch][S][D] innermost first, 64-column boxes
// of BM or BN rows, 128-byte swizzle); both entries take the maps, the
// unaligned one passes none on; with a producer warpgroup its first thread
// issues the copies; the block-barrier loop keeps cp.async (and takes no
// maps), as does attention_tma=0; both dtypes compile for sm_90a without
// warnings or serialized wgmmas, pipelined, with a producer and with d 128
// (two boxes per tile) too.
TEST(CudaEmitterTest, WgmmaAttentionLoadsByTensorMaps) {
  CudaEmitOptions tma;
  tma.hopper = true;
  EXPECT_TRUE(tma.attention_tma);
  absl::StatusOr<EmittedGraph> a = EmitGraphText(kWgmmaAttentionGraph, {}, tma);
  ASSERT_TRUE(a.ok()) << a.status();
  const CudaKernelLaunch& k = a->module.kernels[0];
  EXPECT_THAT(k.config, HasSubstr("2-stage TMA"));
  EXPECT_THAT(a->module.source, HasSubstr("constexpr bool kTma = true && kAligned && kMbar;"));
  EXPECT_THAT(a->module.source, HasSubstr("cp.async.bulk.tensor.3d.shared::cluster.global.tile"));
  EXPECT_THAT(a->module.source,
              HasSubstr("const __grid_constant__ SlTensorMap tm_q, const __grid_constant__ "
                        "SlTensorMap tm_k, const __grid_constant__ SlTensorMap tm_v) {"));
  EXPECT_THAT(k.unaligned_source, HasSubstr("SlTensorMap tm_v) {"));
  EXPECT_THAT(k.unaligned_source, HasSubstr("<false>(qb, kb, vb, ob, 0ull, 0ull, 0ull);"));
  ASSERT_EQ(k.tensor_maps.size(), 3u);
  EXPECT_EQ(k.args[k.tensor_maps[0].arg].value, "q");
  EXPECT_EQ(k.args[k.tensor_maps[1].arg].value, "k");
  EXPECT_EQ(k.args[k.tensor_maps[2].arg].value, "v");
  for (size_t i = 0; i < 3; ++i) {
    const CudaTensorMap& m = k.tensor_maps[i];
    EXPECT_EQ(m.element_bytes, 2);
    EXPECT_EQ(m.swizzle_bytes, 128);
    EXPECT_EQ(m.dims, (std::vector<uint64_t>{64, 256, 8}));
    EXPECT_EQ(m.strides, (std::vector<uint64_t>{128, 256 * 128}));
    EXPECT_EQ(m.box, (std::vector<uint32_t>{64, 128, 1}));  // BM = BN = 128
  }
  // Without the option: no maps, the cp.async copies.
  CudaEmitOptions plain;
  plain.hopper = true;
  plain.attention_tma = false;
  absl::StatusOr<EmittedGraph> b = EmitGraphText(kWgmmaAttentionGraph, {}, plain);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->module.kernels[0].tensor_maps.empty());
  EXPECT_THAT(b->module.source, HasSubstr("constexpr bool kTma = false && kAligned"));
  EXPECT_THAT(b->module.source, Not(HasSubstr("SlTensorMap tm_")));
  EXPECT_THAT(b->module.kernels[0].config, HasSubstr("2-stage cp.async"));
  // bf16, d 128, ragged sequences, 3 warpgroups (192-row Q boxes), pipelined.
  std::string wide = kWgmmaAttentionGraph;
  wide = absl::StrReplaceAll(wide, {{"f16[2, 4, 256, 64]", "bf16[2, 4, 200, 128]"}});
  CudaEmitOptions pipelined = tma;
  pipelined.attention_overlap = 2;
  pipelined.attention_warpgroups = 3;
  absl::StatusOr<EmittedGraph> c = EmitGraphText(wide, {}, pipelined);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->module.kernels[0].tensor_maps.size(), 3u);
  EXPECT_EQ(c->module.kernels[0].tensor_maps[0].dims, (std::vector<uint64_t>{128, 200, 8}));
  EXPECT_EQ(c->module.kernels[0].tensor_maps[0].box, (std::vector<uint32_t>{64, 192, 1}));
  EXPECT_EQ(c->module.kernels[0].tensor_maps[1].box, (std::vector<uint32_t>{64, 64, 1}));
  CudaEmitOptions ping = tma;
  ping.attention_pingpong = true;
  absl::StatusOr<EmittedGraph> d = EmitGraphText(kWgmmaAttentionGraph, {}, ping);
  ASSERT_TRUE(d.ok()) << d.status();
  // A producer warpgroup (FlashAttention-3's layout: the producer's first
  // thread loads by TMA, two computing warpgroups, d 128, 128-key tiles,
  // intra-warpgroup overlap).
  std::string d128 = absl::StrReplaceAll(kWgmmaAttentionGraph, {{"f16[2, 4, 256, 64]",
                                                                 "f16[2, 4, 256, 128]"}});
  CudaEmitOptions fa3 = tma;
  fa3.attention_producer = true;
  fa3.attention_block_n = 128;
  fa3.attention_overlap = 2;
  absl::StatusOr<EmittedGraph> f = EmitGraphText(d128, {}, fa3);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->module.kernels[0].tensor_maps.size(), 3u);
  EXPECT_EQ(f->module.kernels[0].tensor_maps[1].box, (std::vector<uint32_t>{64, 128, 1}));
  EXPECT_THAT(f->module.kernels[0].config, HasSubstr("2-stage TMA"));
  EXPECT_THAT(f->module.kernels[0].config, HasSubstr("a producer warpgroup"));
  EXPECT_THAT(f->module.source, HasSubstr("constexpr bool kTma = true && kAligned && kMbar;"));
  // The block-barrier loop (attention_overlap 1 or no mbarriers) loads by
  // cp.async, with or without the option.
  for (int which = 0; which < 2; ++which) {
    CudaEmitOptions other = tma;
    if (which == 0) other.attention_mbarrier = false;
    if (which == 1) other.attention_overlap = 1, other.attention_stages = 3;
    absl::StatusOr<EmittedGraph> e = EmitGraphText(kWgmmaAttentionGraph, {}, other);
    ASSERT_TRUE(e.ok()) << which << ": " << e.status();
    EXPECT_TRUE(e->module.kernels[0].tensor_maps.empty()) << which;
    EXPECT_THAT(e->module.kernels[0].config, HasSubstr("-stage cp.async")) << which;
    EXPECT_THAT(e->module.source, HasSubstr("constexpr bool kTma = false && kAligned")) << which;
  }
  EXPECT_SM90A_COMPILES_CLEANLY(&a->module.source, &k.unaligned_source, &c->module.source,
                                &d->module.source, &f->module.source);
}

// The schedule's pick by head dim: d 64 is two blocks per SM of two
// warpgroups on 128-key tiles, no producer; d 128 one block of three
// computing warpgroups and a TMA producer on 128-key tiles, unless any of
// the schedule's options is set, which gives the schedule those options
// describe (two warpgroups of 64-key tiles where nothing else is said).
TEST(CudaEmitterTest, WgmmaAttentionPicksItsScheduleByHeadDim) {
  CudaEmitOptions plain;
  plain.hopper = true;
  const std::string d128 = absl::StrReplaceAll(kWgmmaAttentionGraph, {{"f16[2, 4, 256, 64]",
                                                                       "f16[2, 4, 256, 128]"}});
  absl::StatusOr<EmittedGraph> narrow = EmitGraphText(kWgmmaAttentionGraph, {}, plain);
  absl::StatusOr<EmittedGraph> wide = EmitGraphText(d128, {}, plain);
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  ASSERT_TRUE(wide.ok()) << wide.status();
  const CudaKernelLaunch& n = narrow->module.kernels[0];
  const CudaKernelLaunch& w = wide->module.kernels[0];
  EXPECT_THAT(n.config, HasSubstr("128 query rows x 128 keys per tile, 2 warpgroups"));
  EXPECT_THAT(n.config, Not(HasSubstr("producer")));
  EXPECT_EQ(n.block[0], 256u);
  EXPECT_THAT(w.config, HasSubstr("192 query rows x 128 keys per tile, 3 warpgroups"));
  EXPECT_THAT(w.config, HasSubstr("2-stage TMA"));
  EXPECT_THAT(w.config, HasSubstr("a producer warpgroup (24 registers; 160 for the others)"));
  EXPECT_EQ(w.block[0], 512u);
  EXPECT_EQ(w.grid[0], 2u);  // 256 query rows in blocks of 192
  ASSERT_EQ(w.tensor_maps.size(), 3u);
  EXPECT_EQ(w.tensor_maps[0].box, (std::vector<uint32_t>{64, 192, 1}));
  EXPECT_EQ(w.tensor_maps[1].box, (std::vector<uint32_t>{64, 128, 1}));
  // Any schedule option set: that schedule, two warpgroups of 64-key tiles
  // by default.
  for (const char* spec : {"attention_producer=0", "attention_warpgroups=2", "attention_stages=3",
                           "attention_mbarrier=0", "attention_overlap=2"}) {
    CudaEmitOptions o = plain;
    ASSERT_TRUE(ApplyCudaEmitOverrides(spec, &o).ok()) << spec;
    absl::StatusOr<EmittedGraph> e = EmitGraphText(d128, {}, o);
    ASSERT_TRUE(e.ok()) << spec << ": " << e.status();
    EXPECT_THAT(e->module.kernels[0].config, HasSubstr("x 64 keys per tile, 2 warpgroups"))
        << spec;
    EXPECT_THAT(e->module.kernels[0].config, Not(HasSubstr("producer"))) << spec;
  }
  CudaEmitOptions forced = plain;
  forced.attention_producer = 1;
  absl::StatusOr<EmittedGraph> f = EmitGraphText(kWgmmaAttentionGraph, {}, forced);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_THAT(f->module.kernels[0].config, HasSubstr("2 warpgroups"));
  EXPECT_THAT(f->module.kernels[0].config, HasSubstr("a producer warpgroup"));
  EXPECT_SM90A_COMPILES_CLEANLY(&wide->module.source, &w.unaligned_source);
}

// alignment_dispatch (the default): a row reduction with vector accesses
// checks alignment once and calls one of two instantiations of its body,
// each with one kind of access (no per-access branch on a run-time vec_ok);
// its static shared memory counts both copies. A pointwise kernel, a kernel
// without vector accesses, and every kernel under assume_aligned are as
// without the option. Launch variants get their own bodies. Compiles
// cleanly.
TEST(CudaEmitterTest, AlignmentDispatchRunsOneOfTwoBodies) {
  const std::string text = R"(
graph g(%x: bf16[64, 1024], %w: bf16[1024], %c: f32[16, 8192], %i: i64[7, 3],
        %y: f32[4096]) {
  %n = layer_norm(%x, %w, normalized_shape = [1024])
  %s = softmax(%c, dim = -1)
  %j = add(%i, 1)
  %p = mul(%y, 2.0)
  return %n, %s, %j, %p
})";
  CudaEmitOptions dispatch;
  CudaEmitOptions per_access;
  per_access.alignment_dispatch = false;
  ASSERT_TRUE(dispatch.alignment_dispatch) << "the default";
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, dispatch);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, per_access);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->module.kernels.size(), 4u);
  ASSERT_EQ(b->module.kernels.size(), 4u);
  int dispatched = 0;
  for (size_t i = 0; i < a->module.kernels.size(); ++i) {
    const CudaKernelLaunch& ka = a->module.kernels[i];
    const CudaKernelLaunch& kb = b->module.kernels[i];
    SCOPED_TRACE(ka.name);
    const std::string on = a->KernelSource(ka.name), off = b->KernelSource(kb.name);
    EXPECT_EQ(CountOccurrences(on, "__global__ void"), 1) << on;
    if (!absl::StrContains(off, "const bool vec_ok = ") ||
        ka.kind != CudaTemplate::kRowReduction) {
      EXPECT_EQ(on, off);
      EXPECT_EQ(ka.static_shared_bytes, kb.static_shared_bytes);
      continue;
    }
    ++dispatched;
    EXPECT_EQ(CountOccurrences(on, "const bool vec_ok"), 0) << on;
    EXPECT_EQ(CountOccurrences(on, "template <bool vec_ok>"), 1) << on;
    const std::string body = ka.symbol + "_body";
    EXPECT_THAT(on, HasSubstr("__device__ __forceinline__ void " + body + "("));
    EXPECT_EQ(CountOccurrences(on, body + "<true>("), 1) << on;
    EXPECT_EQ(CountOccurrences(on, body + "<false>("), 1) << on;
    // The one check is the kernel's, before the calls.
    EXPECT_EQ(CountOccurrences(on, "if (sl_aligned16("), 1) << on;
    EXPECT_LT(on.find("__global__"), on.find(body + "<true>("));
    EXPECT_GT(on.find("__global__"), on.find("template <bool vec_ok>"));
    EXPECT_EQ(ka.grid, kb.grid);
    EXPECT_EQ(ka.block, kb.block);
    EXPECT_EQ(ka.static_shared_bytes, 2 * kb.static_shared_bytes);
  }
  EXPECT_EQ(dispatched, 2) << "layer_norm and softmax; the i64 add has no vector access";
  EXPECT_THAT(a->KernelSource("k3"), HasSubstr("const bool vec_ok = ")) << "pointwise";
  EXPECT_GT(a->module.kernels[1].static_shared_bytes, 0u) << "softmax's block-wide reductions";
  EXPECT_COMPILES_CLEANLY(a->module.source, "g");

  CudaEmitOptions aligned;
  aligned.assume_aligned = true;
  absl::StatusOr<EmittedGraph> c = EmitGraphText(text, {}, aligned);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(CountOccurrences(c->module.source, "template <bool vec_ok>"), 0);
  EXPECT_EQ(CountOccurrences(c->module.source, "constexpr bool vec_ok = true"), 3);

  CudaEmitOptions variants;
  variants.launch_variants = true;
  absl::StatusOr<EmittedGraph> v = EmitGraphText(text, {}, variants);
  ASSERT_TRUE(v.ok()) << v.status();
  int bodies = 0, variant_bodies = 0;
  for (const CudaKernelLaunch& k : v->module.kernels) {
    const std::string src = v->KernelSource(k.name);
    if (!absl::StrContains(src, "template <bool vec_ok>")) continue;
    variant_bodies += static_cast<int>(k.variants.size());
    EXPECT_EQ(CountOccurrences(src, "template <bool vec_ok>"),
              1 + static_cast<int>(k.variants.size()))
        << src;
    for (const CudaLaunchVariant& var : k.variants) {
      EXPECT_EQ(CountOccurrences(src, var.symbol + "_body<true>("), 1) << var.symbol;
    }
    ++bodies;
  }
  EXPECT_EQ(bodies, 2);
  EXPECT_GE(variant_bodies, 1) << "layer_norm's 64 rows have other shapes";
  EXPECT_COMPILES_CLEANLY(v->module.source, "g");
}

// aligned_variants: a kernel with vector accesses is emitted for aligned
// buffers only (its entry traps on others, no run-time vec_ok), and the
// general kernel, as before, becomes its unaligned variant in a translation
// unit of its own; a kernel without vector accesses stays one kernel. Both
// compile without warnings, with and without fast math.
TEST(CudaEmitterTest, AlignedVariantsSplitVectorizedKernels) {
  const std::string text = R"(
graph g(%x: f32[64, 1024], %w: f32[1024], %i: i64[7, 3]) {
  %s = softmax(%x, dim = -1)
  %n = layer_norm(%s, %w, normalized_shape = [1024])
  %j = add(%i, 1)
  return %n, %j
})";
  for (bool fast : {false, true}) {
    SCOPED_TRACE(fast);
    CudaEmitOptions plain;
    plain.fast_math = fast;
    CudaEmitOptions split = plain;
    split.aligned_variants = true;
    // The unaligned variant is the general kernel without the aligned copy
    // of its body (it runs on unaligned buffers only).
    plain.alignment_dispatch = false;
    absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, plain);
    absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, split);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ(a->module.kernels.size(), b->module.kernels.size());
    int split_kernels = 0;
    for (size_t i = 0; i < b->module.kernels.size(); ++i) {
      const CudaKernelLaunch& ka = a->module.kernels[i];
      const CudaKernelLaunch& kb = b->module.kernels[i];
      SCOPED_TRACE(kb.name);
      const std::string before = a->KernelSource(ka.name), after = b->KernelSource(kb.name);
      EXPECT_TRUE(ka.unaligned_symbol.empty());
      const bool vectorized = absl::StrContains(before, "const bool vec_ok = ");
      if (!vectorized) {
        EXPECT_EQ(after, before);
        EXPECT_TRUE(kb.unaligned_symbol.empty());
        continue;
      }
      ++split_kernels;
      EXPECT_EQ(CountOccurrences(after, "__trap()"), 1) << after;
      EXPECT_EQ(CountOccurrences(after, "constexpr bool vec_ok = true"), 1) << after;
      EXPECT_EQ(CountOccurrences(after, "const bool vec_ok = "), 0) << after;
      EXPECT_EQ(kb.unaligned_symbol, kb.symbol + "_unaligned");
      EXPECT_EQ(kb.grid, ka.grid);
      EXPECT_EQ(kb.block, ka.block);
      // The variant is the general kernel under another name, with the
      // preamble (and fast math's define) of the module.
      std::string renamed = before;
      absl::StrReplaceAll({{ka.symbol + "(", kb.unaligned_symbol + "("},
                           {"// " + ka.name + ":", "// " + ka.name + "_unaligned:"}},
                          &renamed);
      EXPECT_NE(kb.unaligned_source.find(renamed), std::string::npos) << kb.unaligned_source;
      EXPECT_EQ(absl::StrContains(kb.unaligned_source, "#define SLUICE_FAST_MATH 1"), fast);
      EXPECT_TRUE(absl::StrContains(kb.unaligned_source, "---- end of preamble ----"));
      EXPECT_COMPILES_CLEANLY(kb.unaligned_source, "g_unaligned");
    }
    EXPECT_GE(split_kernels, 1);
    EXPECT_LT(split_kernels, static_cast<int>(b->module.kernels.size()))
        << "the i64 add has no vector access";
    EXPECT_COMPILES_CLEANLY(b->module.source, "g");
  }
}

// aligned_variants with launch_variants: every launch shape of a
// vectorized kernel is for aligned buffers (each traps on others), the
// kernel keeps one unaligned variant in its own shape; the deferred variant
// text is the same; a kernel without vector accesses keeps general
// variants. Compiles cleanly.
TEST(CudaEmitterTest, AlignedVariantsKeepTheirLaunchVariants) {
  const std::string text = R"(
graph g(%h: bf16[300, 1024], %x: f32[256, 1024], %y: f32[256, 1024]) {
  %hs = softmax(%h, dim = -1)
  %p = mul(%x, %y)
  return %hs, %p
})";
  CudaEmitOptions both;
  both.aligned_variants = true;
  both.launch_variants = true;
  absl::StatusOr<EmittedGraph> e = EmitGraphText(text, {}, both);
  ASSERT_TRUE(e.ok()) << e.status();
  int variants = 0;
  for (const CudaKernelLaunch& k : e->module.kernels) {
    SCOPED_TRACE(k.name);
    const std::string src = e->KernelSource(k.name);
    ASSERT_FALSE(k.unaligned_symbol.empty());
    EXPECT_THAT(k.unaligned_source, HasSubstr(k.unaligned_symbol + "("));
    // The kernel and each variant trap on unaligned buffers; none checks.
    EXPECT_EQ(CountOccurrences(src, "__trap()"), 1 + static_cast<int>(k.variants.size())) << src;
    EXPECT_EQ(CountOccurrences(src, "const bool vec_ok = "), 0) << src;
    variants += static_cast<int>(k.variants.size());
  }
  EXPECT_EQ(variants, 4);  // row 2, pointwise 2 (8-byte, 128 threads)
  EXPECT_COMPILES_CLEANLY(e->module.source, "g");
  CudaEmitOptions deferred = both;
  deferred.defer_variant_text = true;
  absl::StatusOr<EmittedGraph> d = EmitGraphText(text, {}, deferred);
  ASSERT_TRUE(d.ok()) << d.status();
  absl::StatusOr<std::string> rest = EmitCudaVariantText(d->kernels, d->module, deferred);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(CountOccurrences(*rest, "__trap()"), variants) << *rest;
  EXPECT_EQ(CountOccurrences(*rest, "const bool vec_ok = "), 0) << *rest;
}

// A pointwise kernel with two full-size inputs, 1M 4-wide f32 chunks.
constexpr char kTwoStreams[] = R"(
graph g(%x: f32[4096, 1024], %y: f32[4096, 1024]) {
  %a = mul(%x, %y)
  %b = sigmoid(%a)
  return %b
})";

// pointwise_unroll U: the grid is sized for U chunks per thread, and the
// kernel handles them in block-contiguous groups (all U chunks' loads into
// arrays first, then the math and the stores), the rest (none here) one by
// one; U = 1 is the default kernel.
TEST(CudaEmitterTest, PointwiseUnrollSizesTheGridForItsChunks) {
  const std::string text = kTwoStreams;
  CudaEmitOptions one, two;
  one.pointwise_stream_vector_bytes = 0;  // 16-byte chunks, as the counts below
  two.pointwise_stream_vector_bytes = 0;
  two.pointwise_unroll = 2;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, one);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, two);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const CudaKernelLaunch& ka = a->module.kernels[0];
  const CudaKernelLaunch& kb = b->module.kernels[0];
  EXPECT_EQ(ka.grid[0], 4096u);  // 1M 4-wide chunks, 256 per block, one each
  EXPECT_EQ(kb.grid[0], 2048u);
  EXPECT_EQ(kb.config, ka.config + ", 2 per thread step");
  const std::string sa = a->KernelSource(ka.name), sb = b->KernelSource(kb.name);
  EXPECT_EQ(CountOccurrences(sa, "for (int u = 0; u < 2; ++u)"), 0) << sa;
  EXPECT_EQ(CountOccurrences(sb, "for (int u = 0; u < 2; ++u)"), 2) << sb;
  EXPECT_EQ(CountOccurrences(sb, "c0 += stride"), 0) << "no tail: " << sb;
  EXPECT_EQ(CountOccurrences(sb, "const sl_idx c = g * 512 + u * 256 + threadIdx.x;"), 2) << sb;
  // Both loads of both chunks come before the first store.
  const size_t store = sb.find("sl_stv<");
  for (const char* load : {"l0_u[u] = sl_ldv<4>(", "l1_u[u] = sl_ldv<4>("}) {
    EXPECT_LT(sb.find(load), store) << load << "\n" << sb;
  }
  EXPECT_COMPILES_CLEANLY(b->module.source, "g");
}

// pointwise_block_threads: Triton's shape (128 threads, two chunks each) has
// twice the blocks of 256-thread ones, and a wave cap of as many threads.
TEST(CudaEmitterTest, PointwiseBlockThreadsSetTheBlockAndTheWaveCap) {
  const std::string text = kTwoStreams;
  CudaEmitOptions triton;
  triton.pointwise_stream_vector_bytes = 0;  // 16-byte chunks
  triton.pointwise_block_threads = 128;
  triton.pointwise_unroll = 2;
  CudaEmitOptions capped = triton;  // 132 SMs x 16 blocks x 1 wave
  capped.pointwise_waves = 1;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, triton);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, capped);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const CudaKernelLaunch& ka = a->module.kernels[0];
  const CudaKernelLaunch& kb = b->module.kernels[0];
  EXPECT_EQ(ka.block[0], 128u);
  EXPECT_EQ(ka.grid[0], 4096u);  // 1M chunks / (128 x 2)
  EXPECT_EQ(kb.block[0], 128u);
  EXPECT_EQ(kb.grid[0], 132u * 16u);
  const std::string sa = a->KernelSource(ka.name);
  EXPECT_EQ(CountOccurrences(sa, "for (int u = 0; u < 2; ++u)"), 2) << sa;
  EXPECT_COMPILES_CLEANLY(a->module.source, "g");
}

// max_vector_bytes caps every kernel's vector width: 8 bytes are two f32 or
// four bf16 per access, and the grid covers twice the chunks.
TEST(CudaEmitterTest, MaxVectorBytesCapsTheVectorWidth) {
  const std::string text = R"(
graph g(%x: f32[4096, 1024], %y: bf16[4096, 1024]) {
  %a = sigmoid(%x)
  %s = softmax(%y, dim = -1)
  return %a, %s
})";
  CudaEmitOptions eight;
  eight.max_vector_bytes = 8;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, CudaEmitOptions{});
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, eight);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->module.kernels.size(), 2u);
  ASSERT_EQ(b->module.kernels.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const CudaKernelLaunch& ka = a->module.kernels[i];
    const CudaKernelLaunch& kb = b->module.kernels[i];
    const bool pointwise = ka.kind == CudaTemplate::kPointwise;
    EXPECT_TRUE(absl::StrContains(ka.config, pointwise ? "4-wide" : "8-wide")) << ka.config;
    EXPECT_TRUE(absl::StrContains(kb.config, pointwise ? "2-wide" : "4-wide")) << kb.config;
    if (pointwise) {
      EXPECT_EQ(kb.grid[0], 2 * ka.grid[0]);
    }
  }
  EXPECT_COMPILES_CLEANLY(b->module.source, "g");
}

// coherent_loads defines SLUICE_COHERENT_LOADS in the module (and in an
// unaligned variant's unit), whose vector loads then compile as plain
// ld.global; a module without it has no such define.
TEST(CudaEmitterTest, CoherentLoadsDefineTheirMacroAndCompile) {
  const std::string text = R"(
graph g(%x: f32[64, 1024], %h: bf16[64, 1024]) {
  %a = sigmoid(%x)
  %s = softmax(%h, dim = -1)
  return %a, %s
})";
  CudaEmitOptions coherent;
  coherent.coherent_loads = true;
  coherent.aligned_variants = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, CudaEmitOptions{});
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, coherent);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(CountOccurrences(a->module.source, "#define SLUICE_COHERENT_LOADS"), 0);
  EXPECT_EQ(CountOccurrences(b->module.source, "#define SLUICE_COHERENT_LOADS 1"), 1);
  for (const CudaKernelLaunch& k : b->module.kernels) {
    ASSERT_FALSE(k.unaligned_source.empty()) << k.name;
    EXPECT_EQ(CountOccurrences(k.unaligned_source, "#define SLUICE_COHERENT_LOADS 1"), 1);
  }
  EXPECT_COMPILES_CLEANLY(b->module.source, "g");
  NvrtcResult u = CompileForSm90(b->module.kernels[0].unaligned_source, "u", "sm_90");
  EXPECT_TRUE(u.status.ok()) << u.status;
}

// Per-device defaults: the measured H100 (HBM3) narrows two-stream
// pointwise kernels and widens column reductions' blocks; the H200, other H100s (PCIe, NVL: not measured), other
// GPUs and no GPU keep every default.
TEST(CudaEmitterTest, DeviceTuningIsTheMeasuredH100Only) {
  CudaEmitOptions h100;
  ApplyDeviceTuning("NVIDIA H100 80GB HBM3", &h100);
  EXPECT_EQ(h100.pointwise_stream_vector_bytes, 8);
  EXPECT_EQ(h100.column_block_x, 128);
  for (const char* name : {"NVIDIA H200", "NVIDIA H100 PCIe", "NVIDIA H100 NVL",
                           "NVIDIA A100-SXM4-80GB", ""}) {
    CudaEmitOptions o;
    ApplyDeviceTuning(name, &o);
    EXPECT_EQ(o.pointwise_stream_vector_bytes, 0) << name;
    EXPECT_EQ(o.column_block_x, 32) << name;
  }
}

// approx_math_half_outputs (the default): a kernel whose every store is
// bf16 / f16 gets the approximate exp, sigmoid and division (softmax's
// divisor as one reciprocal per row); a kernel with an f32 store, or one
// storing both, or any kernel with the option off, stays exact.
TEST(CudaEmitterTest, HalfOutputKernelsUseApproximateMathUnlessTurnedOff) {
  const std::string text = R"(
graph g(%h: bf16[64, 1024], %f: f32[64, 1024], %m: f16[64, 1024]) {
  %hs = softmax(%h, dim = -1)
  %fs = softmax(%f, dim = -1)
  %ms = sigmoid(%m)
  %ml = cast(%ms, dtype = f32)
  return %hs, %fs, %ms, %ml
})";
  CudaEmitOptions exact;
  exact.approx_math_half_outputs = false;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, CudaEmitOptions{});
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text, {}, exact);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  int approx_kernels = 0;
  for (const CudaKernelLaunch& k : a->module.kernels) {
    const std::string src = a->KernelSource(k.name);
    const bool bf16_out = absl::StrContains(src, "__nv_bfloat16* __restrict__ a1)");
    if (bf16_out) {  // the bf16 softmax: approximate exp, one reciprocal a row
      ++approx_kernels;
      EXPECT_GE(CountOccurrences(src, "sl_exp_approx("), 1) << src;
      EXPECT_EQ(CountOccurrences(src, "sl_exp("), 0) << src;
      EXPECT_EQ(CountOccurrences(src, "sl_div("), 0) << src;
      EXPECT_GE(CountOccurrences(src, " * rcp"), 1) << src;
    } else {  // f32 softmax; f16 sigmoid stored as f16 and as f32: exact
      EXPECT_EQ(CountOccurrences(src, "_approx("), 0) << src;
    }
  }
  EXPECT_EQ(approx_kernels, 1);
  EXPECT_EQ(CountOccurrences(b->module.source, "_approx("),
            CountOccurrences(std::string(CudaPreamble()), "_approx("))
      << "option off: only the preamble's definitions";
  EXPECT_COMPILES_CLEANLY(a->module.source, "g");
}

// row_threads: a 1024-wide bf16 row (a warp, 32 values a thread, by
// default) takes 64 or 128 threads, a block each (fewer values a thread);
// values below the pick change nothing; 2048 stops at one chunk a thread.
TEST(CudaEmitterTest, RowThreadsSpreadARowOverMoreThreads) {
  const std::string text = R"(
graph g(%x: bf16[300, 1024], %w: bf16[1024], %b: bf16[1024]) {
  %y = layer_norm(%x, %w, %b, normalized_shape = [1024])
  return %y
})";
  for (const auto& [threads, config] : std::vector<std::pair<int, std::string>>{
           {0, "row: 32 threads/row, 8 rows/block, 8-wide, unrolled x4"},
           {16, "row: 32 threads/row, 8 rows/block, 8-wide, unrolled x4"},
           {64, "row: 64 threads/row, 1 rows/block, 8-wide, unrolled x2"},
           {128, "row: 128 threads/row, 1 rows/block, 8-wide, unrolled x1"},
           {2048, "row: 128 threads/row, 1 rows/block, 8-wide, unrolled x1"}}) {
    SCOPED_TRACE(threads);
    CudaEmitOptions o;
    o.row_threads = threads;
    absl::StatusOr<EmittedGraph> e = EmitGraphText(text, {}, o);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_EQ(e->module.kernels.size(), 1u);
    const CudaKernelLaunch& k = e->module.kernels[0];
    EXPECT_THAT(k.config, ::testing::StartsWith(config));
    // A block per row, or 8 rows of a warp per 256-thread block.
    EXPECT_EQ(k.grid[0], threads > 32 ? 300u : 38u);
    if (threads == 64) EXPECT_COMPILES_CLEANLY(e->module.source, "g");
  }
  CudaEmitOptions bad;
  EXPECT_FALSE(ApplyCudaEmitOverrides("row_threads=48", &bad).ok());
  EXPECT_TRUE(ApplyCudaEmitOverrides("row_threads=64", &bad).ok());
  EXPECT_EQ(bad.row_threads, 64);
}

// launch_variants: a row reduction of a warp per row also comes with 1 row
// per block (the module's own has 8) and as 64 threads per row (a block), a
// pointwise kernel that
// streams two full-size inputs with the other vector width and in
// 128-thread blocks, a pointwise kernel with a broadcast operand in
// 128-thread blocks only (one stream: no other width), a column
// reduction of 16384 columns with 64 and 128 consecutive columns per block
// (its own has 32), each a kernel of its own inside the base kernel's
// lines; a column reduction of 96 columns (one width fits) has none; off
// (the default), no kernel has any.
TEST(CudaEmitterTest, LaunchVariantsAreKernelsOfTheirOwnWhenAsked) {
  const std::string text = R"(
graph g(%h: bf16[300, 1000], %x: f32[256, 1024], %y: f32[256, 1024], %z: f32[64, 4096],
        %b: f32[4096], %c: f32[512, 96], %w: f32[64, 16384]) {
  %hs = softmax(%h, dim = -1)
  %p = mul(%x, %y)
  %q = add(%z, %b)
  %s = sum(%c, dims = [0])
  %t = sum(%w, dims = [0])
  return %hs, %p, %q, %s, %t
})";
  CudaEmitOptions variants;
  variants.launch_variants = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, variants);
  absl::StatusOr<EmittedGraph> b = EmitGraphText(text);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->module.kernels.size(), 5u) << a->module.source;
  for (const CudaKernelLaunch& k : b->module.kernels) EXPECT_TRUE(k.variants.empty()) << k.name;
  std::map<std::string, int> variants_of;  // "row", "pointwise x*y", ...
  for (const CudaKernelLaunch& k : a->module.kernels) {
    const std::string src = a->KernelSource(k.name);
    std::string what(CudaTemplateName(k.kind));
    if (k.kind == CudaTemplate::kPointwise) {
      what += k.args[0].value == "x" ? " x*y" : " z+b";
    }
    if (k.kind == CudaTemplate::kColumnReduction) what += absl::StrCat(" ", k.args[0].numel);
    variants_of[what] = static_cast<int>(k.variants.size());
    std::set<std::string> shapes = {k.config};
    for (size_t i = 0; i < k.variants.size(); ++i) {
      const CudaLaunchVariant& v = k.variants[i];
      SCOPED_TRACE(v.config);
      EXPECT_EQ(v.symbol, absl::StrCat(k.symbol, "_v", i + 1));
      // The variant's text is inside the kernel's lines (NVRTC errors in
      // it blame the kernel), once.
      EXPECT_EQ(CountOccurrences(src, absl::StrCat(" ", v.symbol, "(")), 1) << src;
      EXPECT_TRUE(shapes.insert(v.config).second) << "a duplicate shape";
      if (k.kind == CudaTemplate::kRowReduction) {
        // The grid covers the 300 rows with the variant's rows per block:
        // a warp each, or one 64-thread block each.
        const bool block_row = absl::StrContains(v.config, "64 threads/row");
        if (!block_row) {
          EXPECT_THAT(v.config, HasSubstr("32 threads/row"));
        }
        const uint32_t rows_per_block = block_row ? 1 : v.block[0] / 32;
        EXPECT_GE(v.grid[0] * rows_per_block, 300u);
        EXPECT_LT((v.grid[0] - 1) * rows_per_block, 300u);
      }
      if (k.kind == CudaTemplate::kColumnReduction) {
        // The grid covers the 16384 columns with the variant's width.
        EXPECT_EQ(v.grid[0] * v.block[0], 16384u);
        EXPECT_EQ(v.block[0] * v.block[1] <= 1024, true);
      }
    }
    if (k.kind == CudaTemplate::kPointwise) {
      // The kernel's own 256-thread blocks; the last variant the same
      // chunks in 128-thread blocks (twice the blocks), the x*y kernel's
      // first the other width (8 bytes: twice the chunks) in 256.
      EXPECT_EQ(k.block[0], 256u);
      ASSERT_FALSE(k.variants.empty());
      const CudaLaunchVariant& narrow = k.variants.back();
      EXPECT_EQ(narrow.block[0], 128u);
      EXPECT_EQ(narrow.grid[0], 2 * k.grid[0]);
      EXPECT_THAT(narrow.config, HasSubstr("128 threads/block"));
      EXPECT_THAT(k.config, HasSubstr("256 threads/block"));
      if (k.variants.size() == 2) {
        EXPECT_EQ(k.variants[0].block[0], 256u);
        EXPECT_EQ(k.variants[0].grid[0], 2 * k.grid[0]);
        EXPECT_THAT(k.variants[0].config, HasSubstr("2-wide chunks"));
      }
    }
    if (k.kind == CudaTemplate::kColumnReduction && !k.variants.empty()) {
      EXPECT_EQ(k.block[0], 32u);
      EXPECT_EQ(k.variants[0].block[0], 64u);
      EXPECT_EQ(k.variants[1].block[0], 128u);
    }
    if (k.kind == CudaTemplate::kRowReduction) {
      EXPECT_THAT(k.config, HasSubstr("8 rows/block"));
      EXPECT_THAT(shapes, ::testing::Contains(HasSubstr("32 threads/row, 1 rows/block")));
      EXPECT_THAT(shapes, ::testing::Contains(HasSubstr("64 threads/row, 1 rows/block")));
    }
  }
  EXPECT_THAT(variants_of, ::testing::UnorderedElementsAre(
                               ::testing::Pair("row", 2), ::testing::Pair("pointwise x*y", 2),
                               ::testing::Pair("pointwise z+b", 1),
                               ::testing::Pair("column 49152", 0),
                               ::testing::Pair("column 1048576", 2)));
  EXPECT_COMPILES_CLEANLY(a->module.source, "g");
}

// defer_variant_text: the same launches and variants, the module's source
// without the variants' text (the kernels' own text unchanged), an identity
// naming the emitter and every variant's shape; EmitCudaVariantText makes
// each variant once, and source + that text compiles cleanly. Without
// variants the identity is empty; other shapes are another identity; a
// module whose variants no longer match is an error, not wrong text.
TEST(CudaEmitterTest, DeferredVariantTextIsMadeOnRequest) {
  const std::string text = R"(
graph g(%h: bf16[300, 1000], %x: f32[256, 1024], %y: f32[256, 1024], %w: f32[64, 16384]) {
  %hs = softmax(%h, dim = -1)
  %p = mul(%x, %y)
  %t = sum(%w, dims = [0])
  return %hs, %p, %t
})";
  CudaEmitOptions inline_text;
  inline_text.launch_variants = true;
  CudaEmitOptions deferred = inline_text;
  deferred.defer_variant_text = true;
  absl::StatusOr<EmittedGraph> a = EmitGraphText(text, {}, inline_text);
  absl::StatusOr<EmittedGraph> d = EmitGraphText(text, {}, deferred);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(a->module.variant_identity, "");
  ASSERT_EQ(d->module.kernels.size(), a->module.kernels.size());
  int total = 0;
  for (size_t i = 0; i < a->module.kernels.size(); ++i) {
    const CudaKernelLaunch& ka = a->module.kernels[i];
    const CudaKernelLaunch& kd = d->module.kernels[i];
    EXPECT_EQ(kd.config, ka.config);
    ASSERT_EQ(kd.variants.size(), ka.variants.size()) << ka.name;
    for (size_t j = 0; j < ka.variants.size(); ++j) {
      const CudaLaunchVariant& v = kd.variants[j];
      EXPECT_EQ(v.symbol, ka.variants[j].symbol);
      EXPECT_EQ(v.grid, ka.variants[j].grid);
      EXPECT_EQ(v.block, ka.variants[j].block);
      EXPECT_EQ(v.config, ka.variants[j].config);
      EXPECT_EQ(CountOccurrences(d->module.source, absl::StrCat(" ", v.symbol, "(")), 0);
      EXPECT_THAT(d->module.variant_identity, HasSubstr(v.symbol + " "));
      EXPECT_THAT(d->module.variant_identity, HasSubstr(v.config));
      ++total;
    }
  }
  ASSERT_EQ(total, 6);  // row 2, pointwise 2 (8-byte, 128 threads), column 2
  EXPECT_THAT(d->module.variant_identity,
              ::testing::StartsWith(absl::StrCat("emitter ", CudaEmitterFingerprint(), "\n")));
  EXPECT_EQ(std::string(CudaEmitterFingerprint()).size(), 32u);
  absl::StatusOr<std::string> rest = EmitCudaVariantText(d->kernels, d->module, deferred);
  ASSERT_TRUE(rest.ok()) << rest.status();
  for (const CudaKernelLaunch& k : d->module.kernels) {
    for (const CudaLaunchVariant& v : k.variants) {
      EXPECT_EQ(CountOccurrences(*rest, absl::StrCat(" ", v.symbol, "(")), 1) << v.symbol;
      // The same text as inline (each variant's function, whole).
      const std::string inline_src = a->KernelSource(k.name);
      const size_t at = rest->find(absl::StrCat(" ", v.symbol, "("));
      const size_t begin = rest->rfind("extern \"C\"", at);
      const size_t end = rest->find("\n}\n", at);
      ASSERT_NE(begin, std::string::npos);
      ASSERT_NE(end, std::string::npos);
      EXPECT_THAT(inline_src, HasSubstr(rest->substr(begin, end + 3 - begin))) << v.symbol;
    }
  }
  const std::string whole = d->module.source + *rest;
  EXPECT_COMPILES_CLEANLY(whole, "g_deferred");
  // Other shapes, another identity.
  CudaEmitOptions other = deferred;
  other.column_block_x = 64;
  absl::StatusOr<EmittedGraph> o = EmitGraphText(text, {}, other);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_NE(o->module.variant_identity, d->module.variant_identity);
  // No variants, no identity and no text.
  CudaEmitOptions none;
  none.defer_variant_text = true;
  absl::StatusOr<EmittedGraph> n = EmitGraphText(text, {}, none);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->module.variant_identity, "");
  absl::StatusOr<std::string> nothing = EmitCudaVariantText(n->kernels, n->module, none);
  ASSERT_TRUE(nothing.ok()) << nothing.status();
  EXPECT_EQ(*nothing, "");
  // A module whose variants are not what the kernels and options give.
  CudaModuleSource tampered = d->module;
  for (CudaKernelLaunch& k : tampered.kernels) {
    if (!k.variants.empty()) k.variants.back().config += " (tampered)";
  }
  absl::StatusOr<std::string> stale = EmitCudaVariantText(d->kernels, tampered, deferred);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kInternal) << stale.status();
  EXPECT_THAT(stale.status().message(), HasSubstr("not as its shape said"));
  absl::StatusOr<std::string> fewer = EmitCudaVariantText({}, d->module, deferred);
  EXPECT_EQ(fewer.status().code(), absl::StatusCode::kInvalidArgument) << fewer.status();
}

TEST(CudaEmitterTest, RereadingRowLoopsHintTheCachesWhenAsked) {
  const std::string text = R"(
graph g(%x: f32[64, 4096], %w: f32[4096]) {
  %r = rms_norm(%x, %w, normalized_shape = [4096])
  return %r
})";
  CudaEmitOptions reread;
  reread.row_reread_threads = 512;
  CudaEmitOptions hinted = reread;
  hinted.reread_cache_hints = true;
  CudaEmitOptions registers;  // rows kept in registers: nothing is re-read
  registers.reread_cache_hints = true;
  registers.reread_long_rows = false;
  absl::StatusOr<EmittedGraph> plain = EmitGraphText(text, {}, reread);
  absl::StatusOr<EmittedGraph> hints = EmitGraphText(text, {}, hinted);
  absl::StatusOr<EmittedGraph> regs = EmitGraphText(text, {}, registers);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(hints.ok()) << hints.status();
  ASSERT_TRUE(regs.ok()) << regs.status();
  const std::string a = plain->KernelSource("k0"), b = hints->KernelSource("k0");
  const std::string c = regs->KernelSource("k0");
  EXPECT_EQ(CountOccurrences(a, "sl_ldv_"), 0) << a;
  // Kept in registers, the row is read once; only the weight is hinted
  // (broadcast_evict_last).
  EXPECT_EQ(CountOccurrences(c, "sl_ldv_"), 1) << c;
  EXPECT_EQ(CountOccurrences(c, "sl_ldv_keep<4>(a1 + "), 1) << c;
  // x: kept by the first loop's read, evict-first at the second; the weight,
  // which every row reads, kept.
  EXPECT_EQ(CountOccurrences(b, "sl_ldv_keep<4>(a0 + "), 1) << b;
  EXPECT_EQ(CountOccurrences(b, "sl_ldv_last<4>(a0 + "), 1) << b;
  EXPECT_EQ(CountOccurrences(b, "sl_ldv_keep<4>(a1 + "), 1) << b;
  EXPECT_EQ(CountOccurrences(b, "= sl_ldv<"), 0) << b;
  // By default, this row (two loops, 1024 chunks, 16 KB) takes the hinted
  // re-reading loop; a 1024-wide row, or softmax's three loops, do not.
  absl::StatusOr<EmittedGraph> def = EmitGraphText(text);
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->KernelSource("k0"), b);
  EXPECT_NE(def->module.kernels[0].config.find("512 threads/row"), std::string::npos);
  // (The weight's evict_last is broadcast_evict_last's.)
  for (const auto& [other, hints] : std::vector<std::pair<const char*, int>>{{R"(
graph g(%x: f32[64, 1024], %w: f32[1024]) {
  %r = rms_norm(%x, %w, normalized_shape = [1024])
  return %r
})", 1}, {R"(
graph g(%x: f32[64, 4096]) {
  %s = softmax(%x, dim = -1)
  return %s
})", 0}}) {
    absl::StatusOr<EmittedGraph> o = EmitGraphText(other);
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(CountOccurrences(o->KernelSource("k0"), "sl_ldv_"), hints) << other;
    EXPECT_NE(o->module.kernels[0].config.find("registers"), std::string::npos) << other;
  }
  EXPECT_COMPILES_CLEANLY(hints->module.source, "hints");
}

// pointwise_linear_index: a pointwise kernel's accesses to whole contiguous
// tensors are at the chunk's offset c * V, without splitting c into x0 and
// rb; a broadcast operand (the bias, at rb) keeps rb. Off by default.
// Compiles cleanly, with one chunk a thread and with pointwise_unroll.
TEST(CudaEmitterTest, PointwiseLinearIndexSkipsTheRowSplit) {
  const std::string text = R"(
graph g(%x: f32[64, 1024], %y: f32[64, 1024], %b: f32[1024]) {
  %m = mul(%x, %y)
  %a = add(%m, %b)
  return %a
})";
  absl::StatusOr<EmittedGraph> plain = EmitGraphText(text);
  ASSERT_TRUE(plain.ok()) << plain.status();
  const std::string before = plain->KernelSource("k0");
  EXPECT_THAT(before, HasSubstr("sl_ldv<4>(a0 + (rb + x0*1024), vec_ok)"));
  EXPECT_THAT(before, HasSubstr("const sl_idx x0 = "));
  for (int unroll : {1, 2}) {
    SCOPED_TRACE(unroll);
    CudaEmitOptions linear;
    linear.pointwise_linear_index = true;
    linear.pointwise_unroll = unroll;
    absl::StatusOr<EmittedGraph> e = EmitGraphText(text, {}, linear);
    ASSERT_TRUE(e.ok()) << e.status();
    const std::string src = e->KernelSource("k0");
    EXPECT_THAT(src, HasSubstr("sl_ldv<4>(a0 + (c * 4), vec_ok)"));
    EXPECT_THAT(src, HasSubstr("sl_ldv<4>(a1 + (c * 4), vec_ok)"));
    EXPECT_THAT(src, HasSubstr("sl_ldv<4>(a2 + (rb), vec_ok)"));
    EXPECT_THAT(src, HasSubstr("sl_stv<4>(a3 + (c * 4), o0, vec_ok)"));
    EXPECT_EQ(CountOccurrences(src, "x0"), 0) << src;
    if (unroll == 1) EXPECT_EQ(e->module.kernels[0].grid, plain->module.kernels[0].grid);
    EXPECT_COMPILES_CLEANLY(e->module.source, "linear");
  }
}

// broadcast_evict_last (the default): in a row kept in registers, the
// loads of buffers every row reads (weight, bias) carry evict_last and the
// row's own do not.
TEST(CudaEmitterTest, UnrolledRowsKeepTheirBroadcastLoads) {
  const std::string text = R"(
graph g(%x: bf16[128, 1024], %w: bf16[1024], %b: bf16[1024]) {
  %y = layer_norm(%x, %w, %b, normalized_shape = [1024])
  return %y
})";
  CudaEmitOptions off;
  off.broadcast_evict_last = false;
  absl::StatusOr<EmittedGraph> plain = EmitGraphText(text, {}, off);
  absl::StatusOr<EmittedGraph> kept = EmitGraphText(text);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(kept.ok()) << kept.status();
  const std::string a = plain->KernelSource("k0"), b = kept->KernelSource("k0");
  EXPECT_THAT(b, HasSubstr("registers")) << "an unrolled row";
  EXPECT_EQ(CountOccurrences(a, "sl_ldv_"), 0) << a;
  EXPECT_EQ(CountOccurrences(b, "sl_ldv_keep<8>(a1 + "), 1) << b;
  EXPECT_EQ(CountOccurrences(b, "sl_ldv_keep<8>(a2 + "), 1) << b;
  EXPECT_EQ(CountOccurrences(b, "sl_ldv_keep<8>(a0 + "), 0) << b;
  EXPECT_EQ(CountOccurrences(b, "sl_ldv<8>(a0 + "), 1) << b;
  EXPECT_COMPILES_CLEANLY(kept->module.source, "kept");
}

// hoist_broadcast_loads: the weight and bias, which only the row's last
// loop reads, are loaded in its first loop (into register arrays, with
// their evict_last) and read from there; the layout is the same.
TEST(CudaEmitterTest, HoistedBroadcastLoadsAreMadeInTheFirstLoop) {
  const std::string text = R"(
graph g(%x: bf16[128, 1024], %w: bf16[1024], %b: bf16[1024]) {
  %y = layer_norm(%x, %w, %b, normalized_shape = [1024])
  return %y
})";
  CudaEmitOptions on;
  on.hoist_broadcast_loads = true;
  absl::StatusOr<EmittedGraph> plain = EmitGraphText(text);
  absl::StatusOr<EmittedGraph> hoisted = EmitGraphText(text, {}, on);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(hoisted.ok()) << hoisted.status();
  const std::string a = plain->KernelSource("k0"), b = hoisted->KernelSource("k0");
  EXPECT_EQ(plain->module.kernels[0].config, hoisted->module.kernels[0].config);
  EXPECT_THAT(b, HasSubstr("registers")) << "an unrolled row";
  const size_t loop1 = b.find("// loop 1"), loop2 = b.find("// loop 2");
  ASSERT_NE(loop1, std::string::npos) << b;
  ASSERT_NE(loop2, std::string::npos) << b;
  const std::string first = b.substr(loop1, loop2 - loop1), rest = b.substr(loop2);
  EXPECT_THAT(first, HasSubstr("c0[k] = sl_ldv_keep<8>(a1 + (rb), vec_ok);")) << b;
  EXPECT_THAT(first, HasSubstr("c1[k] = sl_ldv_keep<8>(a2 + (rb), vec_ok);")) << b;
  EXPECT_EQ(CountOccurrences(rest, "a1 + "), 0) << b;
  EXPECT_EQ(CountOccurrences(rest, "a2 + "), 0) << b;
  EXPECT_THAT(rest, HasSubstr("sl_cvt(c0[k].v[j])")) << b;
  EXPECT_THAT(rest, HasSubstr("sl_cvt(c1[k].v[j])")) << b;
  EXPECT_EQ(CountOccurrences(a, "c0[k]"), 0) << a;
  EXPECT_COMPILES_CLEANLY(hoisted->module.source, "hoisted");
  // A softmax has no load every row reads: nothing changes.
  const std::string softmax = R"(
graph g(%x: f32[128, 1024]) {
  %y = softmax(%x, dim = -1)
  return %y
})";
  absl::StatusOr<EmittedGraph> s0 = EmitGraphText(softmax);
  absl::StatusOr<EmittedGraph> s1 = EmitGraphText(softmax, {}, on);
  ASSERT_TRUE(s0.ok()) << s0.status();
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_EQ(s0->module.source, s1->module.source);
}

}  // namespace
}  // namespace sluice::codegen::cuda

namespace sluice::codegen::cuda {
namespace {

TEST(CudaEmitOverridesTest, AppliesKnownKeysAndRejectsTheRestWithoutChangingAnything) {
  CudaEmitOptions o;
  ASSERT_TRUE(ApplyCudaEmitOverrides(
                  "max_elements_per_thread=16, min_blocks_per_sm=2,fast_math=1,assume_aligned=false",
                  &o)
                  .ok());
  EXPECT_EQ(o.max_elements_per_thread, 16);
  EXPECT_EQ(o.min_blocks_per_sm, 2);
  EXPECT_TRUE(o.fast_math);
  EXPECT_FALSE(o.assume_aligned);
  EXPECT_TRUE(ApplyCudaEmitOverrides("", &o).ok());
  // attention_producer: a bool, or -1 for the pick (the default).
  EXPECT_EQ(o.attention_producer, -1);
  ASSERT_TRUE(ApplyCudaEmitOverrides("attention_producer=true", &o).ok());
  EXPECT_EQ(o.attention_producer, 1);
  ASSERT_TRUE(ApplyCudaEmitOverrides("attention_producer=0", &o).ok());
  EXPECT_EQ(o.attention_producer, 0);
  ASSERT_TRUE(ApplyCudaEmitOverrides("attention_producer=-1", &o).ok());
  EXPECT_EQ(o.attention_producer, -1);
  EXPECT_FALSE(ApplyCudaEmitOverrides("attention_producer=2", &o).ok());
  EXPECT_EQ(o.attention_producer, -1);
  ASSERT_TRUE(ApplyCudaEmitOverrides(
                  "attention_wgmma=0,attention_warpgroups=3,attention_stages=3,attention_block_n=128,"
                  "attention_overlap=2",
                  &o)
                  .ok());
  EXPECT_FALSE(o.attention_wgmma);
  EXPECT_EQ(o.attention_warpgroups, 3);
  EXPECT_EQ(o.attention_stages, 3);
  EXPECT_EQ(o.attention_block_n, 128);
  EXPECT_EQ(o.attention_overlap, 2);
  EXPECT_EQ(o.attention_lazy_rescale, 0);
  ASSERT_TRUE(ApplyCudaEmitOverrides("attention_lazy_rescale=8", &o).ok());
  EXPECT_EQ(o.attention_lazy_rescale, 8);
  ASSERT_TRUE(ApplyCudaEmitOverrides("attention_lazy_rescale=0", &o).ok());
  EXPECT_EQ(o.attention_lazy_rescale, 0);
  ASSERT_TRUE(ApplyCudaEmitOverrides("pointwise_block_threads=128", &o).ok());
  EXPECT_EQ(o.pointwise_block_threads, 128);
  ASSERT_TRUE(ApplyCudaEmitOverrides("max_vector_bytes=8,coherent_loads=1", &o).ok());
  EXPECT_EQ(o.pointwise_stream_vector_bytes, 0);
  ASSERT_TRUE(ApplyCudaEmitOverrides("pointwise_stream_vector_bytes=8", &o).ok());
  EXPECT_EQ(o.pointwise_stream_vector_bytes, 8);
  EXPECT_TRUE(o.coherent_loads);
  EXPECT_EQ(o.max_vector_bytes, 8);
  ASSERT_TRUE(ApplyCudaEmitOverrides("aligned_variants=1", &o).ok());
  EXPECT_TRUE(o.aligned_variants);
  ASSERT_TRUE(o.alignment_dispatch && o.broadcast_evict_last) << "the defaults";
  ASSERT_FALSE(o.pointwise_linear_index);
  ASSERT_TRUE(ApplyCudaEmitOverrides(
                  "alignment_dispatch=0,broadcast_evict_last=false,pointwise_linear_index=1", &o)
                  .ok());
  EXPECT_TRUE(o.pointwise_linear_index);
  EXPECT_FALSE(o.alignment_dispatch);
  EXPECT_FALSE(o.broadcast_evict_last);
  ASSERT_TRUE(ApplyCudaEmitOverrides("reread_cache_hints=1,reread_long_rows=0", &o).ok());
  EXPECT_TRUE(o.reread_cache_hints);
  EXPECT_FALSE(o.reread_long_rows);
  ASSERT_FALSE(o.hoist_broadcast_loads) << "the default";
  ASSERT_TRUE(ApplyCudaEmitOverrides("hoist_broadcast_loads=1", &o).ok());
  EXPECT_TRUE(o.hoist_broadcast_loads);

  const CudaEmitOptions before = o;
  for (const char* bad : {"pointwise_waves=abc", "warp_size=64", "fast_math=maybe",
                          "row_block_threads=100", "row_reread_threads=48", "pointwise_unroll=0", "max_elements_per_thread",
                          "pointwise_block_threads=96", "pointwise_block_threads=2048",
                          "max_vector_bytes=2", "max_vector_bytes=32", "pointwise_stream_vector_bytes=2",
                          "attention_stages=1", "attention_warpgroups=5", "attention_block_n=96",
                          "attention_overlap=3", "reread_cache_hints=2",
                          "attention_lazy_rescale=16"}) {
    absl::Status s = ApplyCudaEmitOverrides(absl::StrCat("min_blocks_per_sm=4,", bad), &o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(o.min_blocks_per_sm, before.min_blocks_per_sm) << bad;
  }
  EXPECT_TRUE(absl::StrContains(ApplyCudaEmitOverrides("warp_size=64", &o).message(),
                                "'warp_size=64': unknown key"));
}

}  // namespace
}  // namespace sluice::codegen::cuda
