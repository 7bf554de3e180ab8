// --device=cuda without a GPU: sluice::CompileCudaKernels generates and
// NVRTC-compiles (for sm_90) every kernel of every benchmark graph, exported
// model, example and the seed, with and without the fallback marks; rule 6
// works from NVRTC's errors; the MLP's matmul epilogue plan (and the marks
// that split it); Compile itself is Unavailable with the reason.
// Skips only where NVRTC cannot be loaded. (That a fused chain is one
// kernel, softmax one kernel reading its input once, and that a fallback
// splits kernels is checked on the emitted text by
// //codegen/cuda:cuda_emitter_test; here the same holds through Compile.)
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/lowering_plan.h"
#include "passes/memory_plan.h"
#include "runtime/cuda/symbols.h"
#include "sluice/compile.h"
#include "testing/scoped_env.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;
using sluice::testing::ScopedEnv;

#define SKIP_WITHOUT_NVRTC()                                                             \
  do {                                                                                   \
    absl::StatusOr<const runtime::cuda::NvrtcSymbols*> nvrtc = runtime::cuda::LoadNvrtc(); \
    if (!nvrtc.ok()) GTEST_SKIP() << "NVRTC unavailable: " << nvrtc.status().message();  \
  } while (false)

CompileOptions Sm90() {
  CompileOptions o;
  o.device = DeviceKind::kCuda;
  o.cuda.arch = "sm_90";
  if (const char* tmp = std::getenv("TEST_TMPDIR")) o.cache_dir = std::string(tmp) + "/cache";
  return o;
}

int CountOccurrences(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos;
       p = haystack.find(needle, p + needle.size())) {
    ++n;
  }
  return n;
}

// Every .graph file of the suites this test covers (from its runfiles).
std::vector<std::string> GraphFiles() {
  std::vector<std::string> files;
  for (const char* dir :
       {"benchmarks/graphs", "benchmarks/split_reduction", "examples", "testdata/models"}) {
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.path().extension() == ".graph") files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(CudaCompileTest, TheSuitesAreThere) {
  const std::vector<std::string> files = GraphFiles();
  EXPECT_GE(std::count_if(files.begin(), files.end(),
                          [](const std::string& f) { return absl::StartsWith(f, "benchmarks/"); }),
            14);
  EXPECT_GE(std::count_if(files.begin(), files.end(),
                          [](const std::string& f) { return absl::StartsWith(f, "testdata/"); }),
            8);
  EXPECT_THAT(files, ::testing::Contains("examples/seed.graph"));
}

class EveryGraphTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryGraphTest, EveryKernelCompilesForSm90) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile(GetParam());
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  for (const ir::Graph& g : *graphs) {
    SCOPED_TRACE(g.name());
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(g, Sm90());
    ASSERT_TRUE(k.ok()) << k.status();
    // sm_90a only where a kernel uses wgmma (the Hopper attention kernel).
    EXPECT_EQ(k->arch, absl::StrContains(k->source, "wgmma.") ? "sm_90a" : "sm_90");
    // Nothing fell back because its generated code did not compile.
    for (const passes::NodeDecision& d : k->plan.entries) {
      EXPECT_NE(d.rule, passes::Rule::kLoweringError) << d.node << ": " << d.detail;
    }
    const int kernel_steps = k->schedule.num_kernels();
    ASSERT_EQ(static_cast<int>(k->kernels.size()), kernel_steps);
    EXPECT_EQ(CountOccurrences(k->source, "__global__ void"), kernel_steps);
    if (kernel_steps > 0) {
      EXPECT_FALSE(k->cubin.empty());
      EXPECT_EQ(k->cubin.substr(0, 4), "\x7f" "ELF");
    }
    EXPECT_EQ(k->nvrtc_log.find("warning"), std::string::npos) << k->nvrtc_log;
  }
}

// What sluice::Compile compiles when it autotunes on a GPU: the benchmark
// suite's kernels with their other launch shapes (CudaEmitOptions::
// launch_variants) compile without warnings; the row reductions of a warp
// per row (softmax, layer_norm), the pointwise kernels (128-thread blocks;
// the two-stream ones also the other vector width) and the column sum have
// variants, nothing else.
class SuiteGraphTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SuiteGraphTest, LaunchVariantsCompileForSm90) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile(GetParam());
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  ScopedEnv env("SLUICE_CUDA_EMIT", "launch_variants=1");
  for (const ir::Graph& g : *graphs) {
    SCOPED_TRACE(g.name());
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(g, Sm90());
    ASSERT_TRUE(k.ok()) << k.status();
    for (const passes::NodeDecision& d : k->plan.entries) {
      EXPECT_NE(d.rule, passes::Rule::kLoweringError) << d.node << ": " << d.detail;
    }
    EXPECT_EQ(k->nvrtc_log.find("warning"), std::string::npos) << k->nvrtc_log;
    // Rows of a warp (1024 f32 or bf16) and pointwise kernels (seed_fallback's
    // generated mul is sluice_k1: the fallback add is step 0).
    const bool tunable = g.name() == "softmax_f32" || g.name() == "softmax_bf16" ||
                         g.name() == "layer_norm_f32" || g.name() == "layer_norm_bf16" ||
                         g.name() == "pointwise_chain" || g.name() == "seed" ||
                         g.name() == "bias_gelu" ||
                         g.name() == "col_sum";
    EXPECT_EQ(absl::StrContains(k->source, "sluice_k0_v1("), tunable);
  }
}

std::string FileTestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - 6);
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, EveryGraphTest, ::testing::ValuesIn(GraphFiles()), FileTestName);

std::vector<std::string> SuiteFiles() {
  std::vector<std::string> files;
  for (const std::string& f : GraphFiles()) {
    if (absl::StartsWith(f, "benchmarks/graphs/")) files.push_back(f);
  }
  return files;
}

INSTANTIATE_TEST_SUITE_P(Files, SuiteGraphTest, ::testing::ValuesIn(SuiteFiles()), FileTestName);

constexpr char kSeed[] = R"(
graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y)
  %b = mul(%a, 2.0)
  return %b
})";

TEST(CudaCompileTest, SeedIsOneKernelAndTheMarkedAddSplitsIt) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kSeed);
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<CudaKernels> all = CompileCudaKernels(*g, Sm90());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->kernels.size(), 1u);
  EXPECT_THAT(all->kernels[0].args, ::testing::ElementsAre("x", "y", "b"));
  EXPECT_EQ(CountOccurrences(all->source, "__global__ void"), 1);

  CompileOptions o = Sm90();
  o.lowering.fallback_nodes = {"a"};
  absl::StatusOr<CudaKernels> marked = CompileCudaKernels(*g, o);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_EQ(marked->plan.Find("a")->decision, passes::Decision::kFallback);
  ASSERT_EQ(marked->kernels.size(), 1u);
  EXPECT_EQ(marked->kernels[0].name, "k1");
  EXPECT_THAT(marked->kernels[0].args, ::testing::ElementsAre("a", "b"));
  EXPECT_THAT(marked->kernel_ir, ::testing::Not(HasSubstr("add(")));
}

// CudaCompileOptions::approx_math_half_outputs reaches the emitter: by
// default the bf16 softmax takes the approximate exp and one reciprocal a
// row, the f32 one stays exact; off, both are exact; SLUICE_CUDA_EMIT
// overrides the option (the experiments' switch).
TEST(CudaCompileTest, HalfOutputApproximateMathFollowsTheOption) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph sm(%h: bf16[64, 1024], %f: f32[64, 1024]) {
  %hs = softmax(%h, dim = -1)
  %fs = softmax(%f, dim = -1)
  return %hs, %fs
})");
  ASSERT_TRUE(g.ok()) << g.status();
  auto approx_kernels = [&](const CompileOptions& o) -> int {
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, o);
    EXPECT_TRUE(k.ok()) << k.status();
    if (!k.ok()) return -1;
    EXPECT_EQ(k->kernels.size(), 2u);
    // Kernels that call the helper (the preamble, which defines it, comes
    // before the first kernel; each kernel's text opens with its
    // "// k<N>: step" line).
    int n = 0;
    const size_t preamble_end = k->source.find("---- end of preamble ----");
    EXPECT_NE(preamble_end, std::string::npos);
    for (size_t at = k->source.find("\n// k", preamble_end); at != std::string::npos;) {
      const size_t next = k->source.find("\n// k", at + 1);
      if (absl::StrContains(k->source.substr(at, next - at), "sl_exp_approx(")) ++n;
      at = next;
    }
    return n;
  };
  EXPECT_EQ(approx_kernels(Sm90()), 1);
  CompileOptions exact = Sm90();
  exact.cuda.approx_math_half_outputs = false;
  EXPECT_EQ(approx_kernels(exact), 0);
  ScopedEnv env("SLUICE_CUDA_EMIT", "approx_math_half_outputs=1");
  EXPECT_EQ(approx_kernels(exact), 1);
}

// softmax(Q Kᵀ / c) V is one flash-attention kernel (passes/attention.h):
// f16 with the suite's shape, bf16 with d = 128 and sequence lengths that
// are not multiples of the tiles; marking the softmax splits it again. For
// sm_90, head dims that are multiples of 64 get the wgmma kernel (compiled
// for sm_90a), others the mma.sync one.
TEST(CudaCompileTest, AttentionIsOneTensorCoreKernelUnlessMarked) {
  SKIP_WITHOUT_NVRTC();
  struct Case {
    const char* dtype;
    int sq, sk, d;
  };
  for (const Case& c : {Case{"f16", 1024, 1024, 64}, Case{"bf16", 100, 77, 128},
                        Case{"f16", 40, 130, 32}}) {
    const std::string text = absl::StrCat(
        "graph attn(%q: ", c.dtype, "[2, 3, ", c.sq, ", ", c.d, "], %k: ", c.dtype, "[2, 3, ", c.sk,
        ", ", c.d, "], %v: ", c.dtype, "[2, 3, ", c.sk, ", ", c.d, "]) {\n",
        "  %kt = transpose(%k, dim0 = -2, dim1 = -1)\n  %s = matmul(%q, %kt)\n",
        "  %x = div(%s, 8.0)\n  %p = softmax(%x, dim = -1)\n  %o = matmul(%p, %v)\n",
        "  return %o\n}\n");
    SCOPED_TRACE(text);
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
    ASSERT_TRUE(g.ok()) << g.status();
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, Sm90());
    ASSERT_TRUE(k.ok()) << k.status();
    ASSERT_EQ(k->schedule.steps.size(), 1u) << k->schedule.ToString();
    EXPECT_EQ(k->schedule.steps[0].pattern, "attention");
    ASSERT_EQ(k->kernels.size(), 1u);
    EXPECT_THAT(k->kernels[0].args, ::testing::ElementsAre("k", "q", "v", "o"));
    EXPECT_EQ(CountOccurrences(k->source, "__global__ void"), 1);
    if (c.d % 64 == 0) {
      EXPECT_THAT(k->source, HasSubstr(c.d == 64 ? "wgmma.mma_async.sync.aligned.m64n128k16.f32"
                                                 : "wgmma.mma_async.sync.aligned.m64n64k16.f32"));
      EXPECT_THAT(k->source, HasSubstr("wgmma.mma_async.sync.aligned.m64n64k16.f32"));
      EXPECT_THAT(k->source, ::testing::Not(HasSubstr("mma.sync")));
      EXPECT_EQ(k->arch, "sm_90a");
      EXPECT_GT(k->kernels[0].shared_bytes, 48u * 1024) << "dynamic shared memory, opted into";
      // The module holds the aligned instantiation only; the one for
      // unaligned buffers is a source of its own, compiled when needed.
      EXPECT_THAT(k->source, HasSubstr("sl_attention_k0<true>("));
      EXPECT_THAT(k->source, ::testing::Not(HasSubstr("sl_attention_k0<false>(")));
      EXPECT_EQ(k->kernels[0].unaligned_symbol, "sluice_k0_unaligned");
      const std::string& u = k->kernels[0].unaligned_source;
      EXPECT_THAT(u, HasSubstr("sl_attention_k0<false>("));
      EXPECT_THAT(u, ::testing::Not(HasSubstr("sl_attention_k0<true>(")));
      EXPECT_EQ(CountOccurrences(u, "__global__ void"), 1);
      EXPECT_THAT(u, HasSubstr("sluice_k0_unaligned("));  // NVRTC: cuda_emitter_test
    } else {
      EXPECT_TRUE(k->kernels[0].unaligned_symbol.empty());
      EXPECT_TRUE(k->kernels[0].unaligned_source.empty());
      EXPECT_THAT(k->source, HasSubstr("mma.sync.aligned.m16n8k16.row.col.f32"));
      EXPECT_THAT(k->source, ::testing::Not(HasSubstr("wgmma")));
      EXPECT_EQ(k->arch, "sm_90");
    }
    EXPECT_THAT(k->kernel_ir, HasSubstr("attention"));
    for (const char* n : {"kt", "s", "x", "p", "o"}) {
      EXPECT_EQ(k->plan.Find(n)->fused_pattern, "attention") << n;
      EXPECT_EQ(k->plan.Find(n)->kernel, 0) << n;
    }
    EXPECT_FALSE(k->cubin.empty());
    EXPECT_EQ(k->nvrtc_log.find("warning"), std::string::npos) << k->nvrtc_log;

    CompileOptions o = Sm90();
    o.lowering.fallback_nodes = {"p"};
    absl::StatusOr<CudaKernels> marked = CompileCudaKernels(*g, o);
    ASSERT_TRUE(marked.ok()) << marked.status();
    EXPECT_EQ(marked->plan.Find("p")->decision, passes::Decision::kFallback);
    for (const passes::Step& s : marked->schedule.steps) EXPECT_TRUE(s.pattern.empty());
    EXPECT_THAT(marked->source, ::testing::Not(HasSubstr("mma.sync")));
    EXPECT_EQ(marked->arch, "sm_90") << "nothing needs sm_90a once the pattern is split";
  }
}

// The wgmma kernel's variants (warpgroups, key tile, stages; SLUICE_CUDA_EMIT
// for sluice::Compile) all compile without warnings, and attention_wgmma=0
// gives the mma.sync kernel on sm_90 too; a variant that needs more shared
// memory than an SM has is a lowering failure of the attention nodes, which
// fall back by rule 6 (or fail with on_lowering_error = error).
TEST(CudaCompileTest, WgmmaAttentionVariantsCompile) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph attn(%q: f16[2, 200, 128], %k: f16[2, 150, 128], %v: f16[2, 150, 128]) {
  %kt = transpose(%k, dim0 = 1, dim1 = 2)
  %s = matmul(%q, %kt)
  %x = mul(%s, 0.125)
  %p = softmax(%x, dim = -1)
  %o = matmul(%p, %v)
  return %o
})");
  ASSERT_TRUE(g.ok()) << g.status();
  for (const char* spec :
       {"attention_block_n=64", "attention_stages=3", "attention_overlap=1", "attention_overlap=2",
        "attention_warpgroups=1,attention_block_n=64,attention_stages=4,attention_overlap=2",
        "attention_warpgroups=3,attention_block_n=64,attention_stages=3", "attention_lazy_rescale=8",
        "attention_overlap=2,attention_lazy_rescale=8", "attention_warpgroups=3,attention_overlap=2",
        "attention_mbarrier=0", "attention_mbarrier=1,attention_warpgroups=4,attention_stages=3",
        "attention_mbarrier=1,attention_lazy_rescale=8", "attention_mbarrier=1,attention_pingpong=1",
        "attention_rowsum_mma=1", "attention_rowsum_mma=1,attention_overlap=2",
        "attention_rowsum_mma=1,attention_mbarrier=0,attention_lazy_rescale=8",
        "attention_producer=1", "attention_producer=1,attention_warpgroups=3,attention_overlap=2",
        "attention_exp2_fma=4", "attention_exp2_fma=8,attention_overlap=2",
        "attention_split_pv=1", "attention_split_pv=1,attention_rowsum_mma=1",
        "attention_tma=0", "attention_tma=0,attention_overlap=2",
        "attention_tma=0,attention_pingpong=1,attention_block_n=64",
        "attention_tma=0,attention_producer=1", "attention_producer=1,attention_overlap=2",
        "attention_wgmma=0",
        "attention_wgmma=0,attention_lazy_rescale=8"}) {
    SCOPED_TRACE(spec);
    ScopedEnv env("SLUICE_CUDA_EMIT", spec);
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, Sm90());
    ASSERT_TRUE(k.ok()) << k.status();
    ASSERT_EQ(k->kernels.size(), 1u);
    EXPECT_EQ(k->nvrtc_log.find("warning"), std::string::npos) << k->nvrtc_log;
    // ptxas's note that it serialized the wgmmas (C7510-C7515).
    EXPECT_EQ(k->nvrtc_log.find("Performance Loss"), std::string::npos) << k->nvrtc_log;
    const bool wgmma = !absl::StrContains(spec, "attention_wgmma=0");
    EXPECT_EQ(absl::StrContains(k->source, "wgmma.mma_async"), wgmma);
    EXPECT_EQ(k->arch, wgmma ? "sm_90a" : "sm_90");
  }
  ScopedEnv env("SLUICE_CUDA_EMIT", "attention_warpgroups=3,attention_block_n=128,attention_stages=4");
  CompileOptions o = Sm90();
  o.lowering.on_lowering_error = passes::LoweringOptions::OnLoweringError::kFallback;
  absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, o);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->plan.Find("p")->decision, passes::Decision::kFallback);
  EXPECT_EQ(k->plan.Find("p")->rule, passes::Rule::kLoweringError);
  EXPECT_THAT(k->source, ::testing::Not(HasSubstr("wgmma")));
}

TEST(CudaCompileTest, MatmulIsALibraryCallAndIntegerMatmulFallsBack) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph mm(%a: f16[4, 8], %b: f16[8, 2], %i: i32[3, 3]) {
  %c = matmul(%a, %b)
  %d = relu(%c)
  %j = matmul(%i, %i)
  return %d, %j
})");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, Sm90());
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->plan.Find("c")->decision, passes::Decision::kLibrary);
  EXPECT_EQ(k->plan.Find("j")->decision, passes::Decision::kFallback);
  EXPECT_EQ(k->plan.Find("j")->rule, passes::Rule::kNoLowering);
  EXPECT_EQ(k->plan.Find("d")->decision, passes::Decision::kLower);
}

// The MLP block (benchmarks/graphs/mlp.graph): matmul + bias + gelu(tanh) is
// one cuBLASLt call with the GELU_BIAS epilogue (passes/matmul_epilogue.h),
// the second matmul a plain cuBLAS call: no generated kernel at all. The
// selective-lowering contract: a marked add is never swallowed (the matmul
// stays a plain call, the gelu a kernel); a marked gelu leaves matmul + bias.
TEST(CudaCompileTest, MlpIsTwoLibraryCallsAndMarksSplitTheEpilogue) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile("benchmarks/graphs/mlp.graph");
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  const ir::Graph& g = graphs->front();
  absl::StatusOr<CudaKernels> k = CompileCudaKernels(g, Sm90());
  ASSERT_TRUE(k.ok()) << k.status();
  ASSERT_EQ(k->schedule.steps.size(), 2u) << k->schedule.ToString();
  const passes::Step& fused = k->schedule.steps[0];
  EXPECT_EQ(fused.kind, passes::StepKind::kLibrary);
  EXPECT_EQ(fused.pattern, "matmul_epilogue");
  ASSERT_EQ(fused.nodes.size(), 3u);
  EXPECT_EQ(fused.nodes[2]->name(), "g");
  EXPECT_EQ(fused.nodes[2]->op(), "gelu");  // not decomposed
  EXPECT_EQ(k->schedule.steps[1].kind, passes::StepKind::kLibrary);
  EXPECT_TRUE(k->schedule.steps[1].pattern.empty());
  EXPECT_TRUE(k->kernels.empty());
  EXPECT_TRUE(k->cubin.empty());
  for (const char* n : {"h", "hb", "g"}) {
    EXPECT_EQ(k->plan.Find(n)->fused_pattern, "matmul_epilogue") << n;
    EXPECT_EQ(k->plan.Find(n)->kernel, 0) << n;
  }
  EXPECT_EQ(k->plan.Find("out")->kernel, 1);
  EXPECT_THAT(k->plan.ToTable(), HasSubstr("0 (matmul_epilogue)"));
  // h never goes to memory: the arena holds g alone (256 MiB), not h and g.
  const int64_t g_bytes = int64_t{4096} * 16384 * 4;
  EXPECT_EQ(passes::PlanMemory(k->schedule).arena_bytes, g_bytes);

  CompileOptions marked_add = Sm90();
  marked_add.lowering.fallback_nodes = {"hb"};
  absl::StatusOr<CudaKernels> a = CompileCudaKernels(g, marked_add);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->plan.Find("hb")->decision, passes::Decision::kFallback);
  EXPECT_EQ(a->plan.Find("hb")->rule, passes::Rule::kFallbackNode);
  for (const passes::Step& s : a->schedule.steps) EXPECT_TRUE(s.pattern.empty());
  for (const passes::NodeDecision& d : a->plan.entries) EXPECT_TRUE(d.fused_pattern.empty());
  ASSERT_EQ(a->kernels.size(), 1u);  // the gelu, decomposed
  EXPECT_THAT(a->kernels[0].args, ::testing::ElementsAre("hb", "g"));
  EXPECT_EQ(a->plan.Find("h")->decision, passes::Decision::kLibrary);
  // Unfused, two such values are alive at once (h and hb, then hb and g).
  EXPECT_EQ(passes::PlanMemory(a->schedule).arena_bytes, 2 * g_bytes);

  CompileOptions marked_gelu = Sm90();
  marked_gelu.lowering.fallback_nodes = {"g"};
  absl::StatusOr<CudaKernels> m = CompileCudaKernels(g, marked_gelu);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->schedule.steps.size(), 3u) << m->schedule.ToString();
  EXPECT_EQ(m->schedule.steps[0].pattern, "matmul_epilogue");
  EXPECT_EQ(m->schedule.steps[0].nodes.size(), 2u);  // h, hb
  EXPECT_EQ(m->schedule.steps[1].kind, passes::StepKind::kFallback);
  EXPECT_TRUE(m->kernels.empty());
}

// DESIGN §3 rule 6 from NVRTC: a kernel that does not compile falls back
// (its nodes recompiled as fallbacks), or is an error naming its nodes.
TEST(CudaCompileTest, NvrtcErrorsFallBackOrFailByRule6) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph r6(%x: f32[64, 32]) {
  %a = exp(%x)
  %b = softmax(%a, dim = -1)
  %c = neg(%b) {should_fallback = true}
  %d = mul(%c, 3.0)
  return %d
})");
  ASSERT_TRUE(g.ok()) << g.status();
  CompileOptions o = Sm90();
  o.inject_compile_failure = {"d"};
  absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, o);
  ASSERT_TRUE(k.ok()) << k.status();
  const passes::NodeDecision* d = k->plan.Find("d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->decision, passes::Decision::kFallback);
  EXPECT_EQ(d->rule, passes::Rule::kLoweringError);
  EXPECT_THAT(d->detail, HasSubstr("NVRTC compile of kernel"));
  EXPECT_EQ(k->plan.Find("b")->decision, passes::Decision::kLower);
  EXPECT_EQ(k->kernels.size(), 1u);  // exp + softmax

  o.lowering.on_lowering_error = passes::LoweringOptions::OnLoweringError::kError;
  absl::StatusOr<CudaKernels> err = CompileCudaKernels(*g, o);
  ASSERT_FALSE(err.ok());
  EXPECT_THAT(err.status().message(), HasSubstr("lowering failed for node(s) %d"));
  EXPECT_THAT(err.status().message(), HasSubstr("injected compile failure"));
  EXPECT_THAT(err.status().message(), HasSubstr("generated source kept at "));
}

// A whole-tensor sum through Compile (passes/split_reduction.h): two
// kernels, the first on 512 blocks, both NVRTC-compiled; the plan says the
// sum was split. Turned off, marked fallback, or failing to compile (rule 6),
// it stays one node: one kernel of one block, or one reference kernel.
TEST(CudaCompileTest, AWholeTensorSumRunsInTwoStagesUnlessKeptWhole) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph allsum(%x: f32[4096, 4096]) {
  %s = sum(%x, dims = [0, 1])
  return %s
})");
  ASSERT_TRUE(g.ok()) << g.status();
  CompileOptions h100 = Sm90();
  h100.cuda.num_sms = 132;  // the same split with or without a GPU here
  absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, h100);
  ASSERT_TRUE(k.ok()) << k.status();
  ASSERT_EQ(k->kernels.size(), 2u) << k->schedule.ToString();
  EXPECT_EQ(k->kernels[0].grid[0], 512u);
  EXPECT_EQ(k->kernels[0].block[0], 1024u);
  EXPECT_THAT(k->kernels[0].args, ::testing::ElementsAre("x", "s_split_partial"));
  EXPECT_EQ(k->kernels[1].grid[0], 1u);
  EXPECT_THAT(k->kernels[1].args, ::testing::ElementsAre("s_split_partial", "s"));
  EXPECT_EQ(k->cubin.substr(0, 4), "\x7f" "ELF");
  EXPECT_EQ(CountOccurrences(k->source, "__global__ void"), 2);
  const passes::NodeDecision* s = k->plan.Find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->decision, passes::Decision::kLower);
  EXPECT_EQ(s->split, 512);
  EXPECT_THAT(k->plan.ToTable(), HasSubstr("0 (split 512)"));

  CompileOptions off = h100;
  off.lowering.split_reductions = false;
  absl::StatusOr<CudaKernels> one = CompileCudaKernels(*g, off);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->kernels.size(), 1u);
  EXPECT_EQ(one->kernels[0].grid[0], 1u);
  EXPECT_EQ(one->plan.Find("s")->split, 0);

  CompileOptions marked = h100;
  marked.lowering.fallback_nodes = {"s"};
  absl::StatusOr<CudaKernels> fb = CompileCudaKernels(*g, marked);
  ASSERT_TRUE(fb.ok()) << fb.status();
  EXPECT_TRUE(fb->kernels.empty());
  ASSERT_EQ(fb->schedule.steps.size(), 1u);
  EXPECT_EQ(fb->schedule.steps[0].kind, passes::StepKind::kFallback);
  EXPECT_EQ(fb->plan.Find("s")->rule, passes::Rule::kFallbackNode);

  // Both stages' kernels are the sum's: a compile error in them makes the
  // sum a rule-6 fallback, unsplit.
  CompileOptions broken = h100;
  broken.inject_compile_failure = {"s"};
  absl::StatusOr<CudaKernels> r6 = CompileCudaKernels(*g, broken);
  ASSERT_TRUE(r6.ok()) << r6.status();
  EXPECT_TRUE(r6->kernels.empty());
  ASSERT_EQ(r6->schedule.steps.size(), 1u);
  EXPECT_EQ(r6->schedule.steps[0].kind, passes::StepKind::kFallback);
  EXPECT_EQ(r6->schedule.steps[0].nodes[0]->name(), "s");
  EXPECT_EQ(r6->plan.Find("s")->rule, passes::Rule::kLoweringError);
  EXPECT_EQ(r6->plan.Find("s")->split, 0);
}

// The phases of the kernel-only path: no device to create beyond finding
// the architecture, nothing loaded; the rest took time and adds up to at
// most the whole, on a miss (NVRTC) and on a cubin cache hit.
TEST(CudaCompileTest, PhasesAreFilledAndAddUpToAtMostTheTotal) {
  SKIP_WITHOUT_NVRTC();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kSeed);
  ASSERT_TRUE(g.ok()) << g.status();
  CompileOptions o = Sm90();
  const char* tmp = std::getenv("TEST_TMPDIR");
  o.cache_dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/phases-", getpid());
  o.lowering_cache = false;  // the second compile lowers again and hits the cubin cache
  for (const bool hit : {false, true}) {
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(*g, o);
    ASSERT_TRUE(k.ok()) << k.status();
    ASSERT_EQ(k->cache_hit, hit);
    const runtime::CompilePhases& p = k->phases;
    SCOPED_TRACE(p.ToString());
    EXPECT_EQ(p.attempts, 1);
    for (double ms : {p.device_ms, p.lower_ms, p.passes_ms, p.fuse_ms, p.kernel_ir_ms,
                      p.emit_ms, p.kernel_cache_ms, p.total_ms}) {
      EXPECT_GT(ms, 0);
    }
    EXPECT_EQ(p.load_ms, 0);
    EXPECT_EQ(p.executable_ms, 0);
    EXPECT_EQ(p.memory_plan_ms, 0);
    if (!hit) {
      EXPECT_GE(p.kernel_cache_ms, 1e3 * k->nvrtc_seconds);
    }
    constexpr double kRounding = 1e-9;
    EXPECT_LE(p.passes_ms + p.fuse_ms + p.kernel_ir_ms, p.lower_ms + kRounding);
    EXPECT_LE(p.device_ms + p.lower_ms + p.emit_ms + p.kernel_cache_ms, p.total_ms + kRounding);
  }
}

// The node of `g` named as `n`, and that it is `n` itself (not another
// graph's node of that name).
bool Owns(const ir::Graph& g, const ir::Node* n) { return g.FindNode(n->name()) == n; }

TEST(CudaCompileTest, ARepeatCompileTakesACopyOfTheCachedLowering) {
  SKIP_WITHOUT_NVRTC();
  ClearLoweringCache();
  absl::StatusOr<std::vector<ir::Graph>> graphs =
      ir::ParseFile("benchmarks/graphs/seed_fallback.graph");
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  const ir::Graph& g = graphs->front();
  const CompileOptions o = Sm90();
  absl::StatusOr<CudaKernels> first = CompileCudaKernels(g, o);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->lowering_cache_hit);
  EXPECT_EQ(first->phases.attempts, 1);

  absl::StatusOr<CudaKernels> second = CompileCudaKernels(g, o);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->lowering_cache_hit);
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->nvrtc_seconds, 0);
  // Nothing was lowered or emitted.
  EXPECT_EQ(second->phases.attempts, 0);
  EXPECT_EQ(second->phases.passes_ms, 0);
  EXPECT_EQ(second->phases.fuse_ms, 0);
  EXPECT_EQ(second->phases.emit_ms, 0);
  EXPECT_EQ(second->phases.kernel_cache_ms, 0);
  EXPECT_GT(second->phases.lowering_cache_ms, 0);
  // The same result: the plan (add fell back, by its mark), the schedule,
  // the kernels and their code.
  ASSERT_NE(second->plan.Find("a"), nullptr);
  EXPECT_TRUE(second->plan.IsFallback("a"));
  EXPECT_EQ(second->plan.Find("a")->rule, first->plan.Find("a")->rule);
  EXPECT_EQ(second->plan.ToJson(), first->plan.ToJson());
  EXPECT_EQ(second->schedule.ToString(), first->schedule.ToString());
  EXPECT_EQ(ir::PrintGraph(*second->graph), ir::PrintGraph(*first->graph));
  EXPECT_EQ(second->kernel_ir, first->kernel_ir);
  EXPECT_EQ(second->source, first->source);
  EXPECT_EQ(second->cubin, first->cubin);
  ASSERT_EQ(second->kernels.size(), first->kernels.size());
  for (size_t i = 0; i < first->kernels.size(); ++i) {
    EXPECT_EQ(second->kernels[i].symbol, first->kernels[i].symbol);
    EXPECT_EQ(second->kernels[i].grid, first->kernels[i].grid);
    EXPECT_EQ(second->kernels[i].args, first->kernels[i].args);
  }
  // A graph of its own, which its schedule points into.
  ASSERT_NE(second->graph.get(), first->graph.get());
  EXPECT_EQ(second->schedule.graph, second->graph.get());
  for (const passes::Step& step : second->schedule.steps) {
    for (const auto* list : {&step.nodes, &step.inputs, &step.outputs}) {
      for (const ir::Node* n : *list) EXPECT_TRUE(Owns(*second->graph, n)) << n->name();
    }
  }
  for (const auto& [n, step] : second->schedule.producer) {
    EXPECT_TRUE(Owns(*second->graph, n)) << n->name();
  }
  // The cached copy outlives what was handed out.
  const std::string text = ir::PrintGraph(*first->graph);
  first = absl::UnknownError("dropped");
  second = absl::UnknownError("dropped");
  absl::StatusOr<CudaKernels> third = CompileCudaKernels(g, o);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(third->lowering_cache_hit);
  EXPECT_EQ(ir::PrintGraph(*third->graph), text);
  ClearLoweringCache();
  absl::StatusOr<CudaKernels> cleared = CompileCudaKernels(g, o);
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_FALSE(cleared->lowering_cache_hit);
  EXPECT_EQ(cleared->phases.attempts, 1);
}

TEST(CudaCompileTest, TheLoweringCacheMissesWhenAnythingItDependsOnDiffers) {
  SKIP_WITHOUT_NVRTC();
  ClearLoweringCache();
  constexpr char kMarked[] = R"(graph seed(%x: f32[1024], %y: f32[1024]) {
  %a: f32[1024] = add(%x, %y) {should_fallback = true}
  %b: f32[1024] = mul(%a, 2.0)
  return %b
}
)";
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kMarked, "marked.graph");
  ASSERT_TRUE(g.ok()) << g.status();
  const CompileOptions o = Sm90();
  auto hit = [](const ir::Graph& graph, const CompileOptions& options) {
    absl::StatusOr<CudaKernels> k = CompileCudaKernels(graph, options);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() && k->lowering_cache_hit;
  };
  EXPECT_FALSE(hit(*g, o));
  EXPECT_TRUE(hit(*g, o));

  // Other metadata: no mark, so nothing falls back.
  std::string unmarked = kMarked;
  unmarked.replace(unmarked.find(" {should_fallback = true}"), 25, "");
  absl::StatusOr<ir::Graph> u = ir::ParseGraph(unmarked, "marked.graph");
  ASSERT_TRUE(u.ok()) << u.status();
  absl::StatusOr<CudaKernels> uk = CompileCudaKernels(*u, o);
  ASSERT_TRUE(uk.ok()) << uk.status();
  EXPECT_FALSE(uk->lowering_cache_hit);
  EXPECT_FALSE(uk->plan.IsFallback("a"));
  // The same text from another file: its locations differ.
  absl::StatusOr<ir::Graph> elsewhere = ir::ParseGraph(kMarked, "other.graph");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_FALSE(hit(*elsewhere, o));
  // Each option that changes the result.
  std::vector<std::pair<std::string, CompileOptions>> variants;
  auto variant = [&](const std::string& what, auto&& change) {
    CompileOptions v = o;
    change(v);
    variants.push_back({what, v});
  };
  variant("fallback_ops", [](CompileOptions& v) { v.lowering.fallback_ops = {"mul"}; });
  variant("fallback_nodes", [](CompileOptions& v) { v.lowering.fallback_nodes = {"b"}; });
  variant("strict", [](CompileOptions& v) { v.lowering.strict = true; });
  variant("fast_math", [](CompileOptions& v) { v.cuda.fast_math = true; });
  variant("row_divisor_reciprocal",
          [](CompileOptions& v) { v.cuda.row_divisor_reciprocal = false; });
  variant("line_info", [](CompileOptions& v) { v.cuda.line_info = true; });
  variant("num_sms", [](CompileOptions& v) { v.cuda.num_sms = 66; });
  variant("cache_dir", [](CompileOptions& v) { v.cache_dir += "-other"; });
  for (const auto& [what, v] : variants) {
    EXPECT_FALSE(hit(*g, v)) << what;
    EXPECT_TRUE(hit(*g, v)) << what << ", compiled again";
  }
  // fallback_ops = {mul}: both nodes fall back, by their rules.
  absl::StatusOr<CudaKernels> ops = CompileCudaKernels(*g, variants[0].second);
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_TRUE(ops->plan.IsFallback("b"));
  EXPECT_EQ(ops->schedule.num_kernels(), 0);
  {
    ScopedEnv emit("SLUICE_CUDA_EMIT", "pointwise_block_threads=128");
    EXPECT_FALSE(hit(*g, o)) << "SLUICE_CUDA_EMIT";
    EXPECT_TRUE(hit(*g, o)) << "SLUICE_CUDA_EMIT, compiled again";
  }
  EXPECT_TRUE(hit(*g, o)) << "SLUICE_CUDA_EMIT unset again";
  // Bypassed: off, dumps, injected failures.
  CompileOptions off = o;
  off.lowering_cache = false;
  EXPECT_FALSE(hit(*g, off));
  CompileOptions dump = o;
  int dumps = 0;
  dump.dump_after = {"dce"};
  dump.dump = [&dumps](absl::string_view, absl::string_view) { ++dumps; };
  EXPECT_FALSE(hit(*g, dump));
  EXPECT_FALSE(hit(*g, dump));
  EXPECT_EQ(dumps, 2) << "each compile dumps";
  ClearLoweringCache();
}

TEST(CudaCompileTest, CompileWithoutAGpuIsUnavailableWithTheReason) {
  std::string why;
  if (runtime::cuda::CudaAvailable(&why)) GTEST_SKIP() << "a GPU is present";
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(kSeed);
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<runtime::Executable> exe = Compile(*g, Sm90());
  ASSERT_FALSE(exe.ok());
  EXPECT_EQ(exe.status().code(), absl::StatusCode::kUnavailable) << exe.status();
  EXPECT_THAT(exe.status().message(), HasSubstr("sluice::Compile for cuda: "));
  EXPECT_THAT(exe.status().message(), HasSubstr(why));
}

}  // namespace
}  // namespace sluice
