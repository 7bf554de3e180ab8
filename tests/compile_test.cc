// End-to-end behaviour of sluice::Compile and runtime::Executable beyond the
// seed test: rule 6 (kernel compile failures), Run's input checks, the kernel
// cache seen from an Executable (hits, corrupt entries, concurrent
// processes), memory reuse and the golden shape of the generated code.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fallback/interpreter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "codegen/cuda/capabilities.h"
#include "passes/lowering_plan.h"
#include "passes/pipeline.h"
#include "runtime/executable.h"
#include "sluice/compile.h"
#include "testing/allclose.h"
#include "testing/random.h"

namespace sluice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
}

CompileOptions Options(const std::string& cache = "cache") {
  CompileOptions o;
  o.cache_dir = TestDir(cache);
  return o;
}

ir::Graph Parse(const std::string& text) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

std::vector<runtime::Tensor> Inputs(const ir::Graph& g, uint64_t seed = 7) {
  std::vector<runtime::Tensor> in;
  for (const ir::Node* n : g.inputs()) {
    in.push_back(sluice::testing::RandomNormal(n->type(), seed + in.size()));
  }
  return in;
}

void ExpectMatchesReference(runtime::Executable& exe, const ir::Graph& g) {
  const std::vector<runtime::Tensor> in = Inputs(g);
  absl::StatusOr<std::vector<runtime::Tensor>> out = exe.Run(in);
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(out->size(), ref->size());
  for (size_t i = 0; i < out->size(); ++i) EXPECT_ALLCLOSE((*out)[i], (*ref)[i]);
}

std::vector<std::string> StepStrings(const runtime::Executable& exe) {
  std::vector<std::string> out;
  for (const runtime::StepInfo& s : exe.steps()) out.push_back(s.ToString());
  return out;
}

constexpr char kChainWithSoftmax[] = R"(
graph g(%x: f32[16, 32]) {
  %a = mul(%x, 2.0)
  %s = softmax(%a, dim = 1)
  %t = tanh(%x)
  %o = add(%s, %t)
  return %o
})";

// ---- Rule 6 -------------------------------------------------------------------

TEST(Rule6Test, FailedKernelCompileFallsBackAndSaysSoInThePlan) {
  ir::Graph g = Parse(kChainWithSoftmax);
  CompileOptions o = Options();
  o.inject_compile_failure = {"s"};
  absl::StatusOr<runtime::Executable> exe = Compile(g, o);
  ASSERT_TRUE(exe.ok()) << exe.status();
  const passes::NodeDecision* s = exe->plan().Find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->decision, passes::Decision::kFallback);
  EXPECT_EQ(s->rule, passes::Rule::kLoweringError);
  EXPECT_THAT(s->detail, HasSubstr("injected compile failure"));
  // The whole failing kernel fell back (it also computed %a and %o); the
  // softmax now runs as one reference kernel.
  EXPECT_EQ(exe->plan().Find("a")->rule, passes::Rule::kLoweringError);
  bool softmax_fallback = false;
  for (const runtime::StepInfo& st : exe->steps()) {
    softmax_fallback |= st.kind == passes::StepKind::kFallback && st.op == "softmax";
  }
  EXPECT_TRUE(softmax_fallback) << exe->StepsToString();
  ExpectMatchesReference(*exe, g);
}

TEST(Rule6Test, FailedKernelCompileIsAnErrorWithKError) {
  ir::Graph g = Parse(kChainWithSoftmax);
  CompileOptions o = Options();
  o.inject_compile_failure = {"s"};
  o.lowering.on_lowering_error = passes::LoweringOptions::OnLoweringError::kError;
  absl::StatusOr<runtime::Executable> exe = Compile(g, o);
  ASSERT_FALSE(exe.ok());
  EXPECT_THAT(exe.status().message(), HasSubstr("%s"));
  EXPECT_THAT(exe.status().message(), HasSubstr("generated source kept at"));
  // The kept source is there and has the failing kernel in it.
  const std::string msg(exe.status().message());
  const size_t at = msg.find("kept at ") + 8;
  std::ifstream kept(msg.substr(at, msg.find_first_of(" \n:", at) - at));
  ASSERT_TRUE(kept.good()) << msg;
  std::string text((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("#error"));
}

// ---- Run's input checks ------------------------------------------------------------

TEST(RunTest, InputMismatchesNameTheInput) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[4], %y: f32[2, 4]) {
  %a = add(%x, %y)
  return %a
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  const runtime::Tensor x = runtime::Tensor::Zeros(ir::DType::kF32, {4});
  const runtime::Tensor y = runtime::Tensor::Zeros(ir::DType::kF32, {2, 4});
  auto count = exe->Run({x});
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(count.status().message(), HasSubstr("takes 2 inputs, got 1"));
  auto dtype = exe->Run({x, runtime::Tensor::Zeros(ir::DType::kF16, {2, 4})});
  ASSERT_FALSE(dtype.ok());
  EXPECT_THAT(dtype.status().message(), HasSubstr("input 1 (%y)"));
  EXPECT_THAT(dtype.status().message(), HasSubstr("expected f32[2, 4], got f16[2, 4]"));
  auto shape = exe->Run({runtime::Tensor::Zeros(ir::DType::kF32, {5}), y});
  ASSERT_FALSE(shape.ok());
  EXPECT_THAT(shape.status().message(), HasSubstr("input 0 (%x)"));
  EXPECT_THAT(shape.status().message(), HasSubstr("expected f32[4], got f32[5]"));
  EXPECT_TRUE(exe->Run({x, y}).ok());
}

TEST(RunTest, RunIntoWritesCallerOutputsAndChecksThem) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[4]) {
  %a = exp(%x)
  %b = neg(%a) {should_fallback = true}
  return %b, %x, %b
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  const std::vector<runtime::Tensor> in = Inputs(g);
  std::vector<runtime::Tensor> out = {runtime::Tensor::Zeros(ir::DType::kF32, {4}),
                                      runtime::Tensor::Zeros(ir::DType::kF32, {4}),
                                      runtime::Tensor::Zeros(ir::DType::kF32, {4})};
  ASSERT_TRUE(exe->RunInto(in, absl::MakeSpan(out)).ok());
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  for (int i = 0; i < 3; ++i) EXPECT_ALLCLOSE(out[i], (*ref)[i]);
  std::vector<runtime::Tensor> wrong = {runtime::Tensor::Zeros(ir::DType::kF32, {4}),
                                        runtime::Tensor::Zeros(ir::DType::kF32, {4}),
                                        runtime::Tensor::Zeros(ir::DType::kI32, {4})};
  absl::Status s = exe->RunInto(in, absl::MakeSpan(wrong));
  EXPECT_THAT(s.message(), HasSubstr("output 2 (%b)"));
  EXPECT_THAT(s.message(), HasSubstr("expected f32[4], got i32[4]"));
}

TEST(RunTest, OutputsThatAreInputsOrRepeatedWork) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[3]) {
  %a = exp(%x)
  return %a, %x, %a
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  ExpectMatchesReference(*exe, g);
}

TEST(RunTest, EverythingFallsBackWithoutCompilingAnything) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[3]) {
  %a = exp(%x) {should_fallback = true}
  %b = neg(%a) {should_fallback = true}
  return %b
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_TRUE(exe->generated_source().empty());
  EXPECT_THAT(StepStrings(*exe), ElementsAre("fallback exp [a]", "fallback neg [b]"));
  ExpectMatchesReference(*exe, g);
}

TEST(RunTest, IntermediatesShareTheArena) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[256]) {
  %a = exp(%x) {should_fallback = true}
  %b = neg(%a) {should_fallback = true}
  %c = sin(%b) {should_fallback = true}
  %d = cos(%c) {should_fallback = true}
  return %d
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  // Three 1 KiB intermediates, at most two alive at once.
  EXPECT_EQ(exe->peak_intermediate_bytes(), 2048);
  ExpectMatchesReference(*exe, g);
}

TEST(RunTest, MatmulIsALibraryStep) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[8, 16], %w: f32[16, 4], %b: f32[4]) {
  %m = matmul(%x, %w)
  %y = add(%m, %b)
  %z = relu(%y)
  return %z
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_THAT(StepStrings(*exe), ElementsAre("library matmul [m]", "kernel k1 [y, z]"));
  EXPECT_EQ(exe->plan().Find("m")->decision, passes::Decision::kLibrary);
  ExpectMatchesReference(*exe, g);
}

// ---- Golden text of the generated code -----------------------------------------------

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(GeneratedCodeTest, FallbackNodeSplitsKernels) {
  ir::Graph g = Parse(R"(
graph g(%x: f32[64]) {
  %a = exp(%x)
  %b = mul(%a, 3.0)
  %c = sigmoid(%b) {should_fallback = true}
  %d = add(%c, 1.0)
  %e = sqrt(%d)
  return %e
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_THAT(StepStrings(*exe),
              ElementsAre("kernel k0 [a, b]", "fallback sigmoid [c]", "kernel k2 [d, e]"));
  EXPECT_EQ(Count(exe->generated_source(), "extern \"C\" void sluice_k"), 2);
  EXPECT_EQ(Count(exe->generated_source(), "std::exp"), 1);
  ExpectMatchesReference(*exe, g);
}

// ---- The kernel cache, end to end ------------------------------------------------------

// passes/split_reduction.h on the CPU. The CPU backend keeps long
// reductions whole (its capability table does not ask for the split), and
// the two-stage graph the CUDA pipeline makes of the same graph compiles and
// runs on it too, with the first stage's many rows: both match the
// reference of the original.
// Tensors with a dimension of size 0 compile and run (the kernel IR divided
// by a stride of 0 on them: a SIGFPE in the compiler) and agree with the
// reference interpreter (sums of nothing 0, means NaN).
TEST(GeneratedCodeTest, ZeroSizeTensorsCompileAndRun) {
  absl::StatusOr<std::vector<ir::Graph>> graphs =
      ir::ParseFile("codegen/cuda/testdata/empty.graph");
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  ASSERT_GE(graphs->size(), 8u);
  for (const ir::Graph& g : *graphs) {
    SCOPED_TRACE(g.name());
    absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
    ASSERT_TRUE(exe.ok()) << exe.status();
    const std::vector<runtime::Tensor> in = Inputs(g);
    absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
    ASSERT_TRUE(out.ok()) << out.status();
    absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(g, in);
    ASSERT_TRUE(ref.ok()) << ref.status();
    ASSERT_EQ(out->size(), ref->size());
    sluice::testing::Tolerance nan_equal;
    nan_equal.equal_nan = true;  // the mean of nothing
    for (size_t i = 0; i < out->size(); ++i) {
      EXPECT_EQ((*out)[i].shape(), (*ref)[i].shape());
      const sluice::testing::AllCloseResult r =
          sluice::testing::AllClose((*out)[i], (*ref)[i], nan_equal);
      EXPECT_TRUE(r.ok) << r.message;
    }
  }
}

TEST(GeneratedCodeTest, SplitReductionsOnTheCpu) {
  const ir::Graph g = Parse(R"(
graph loss(%a: f32[512, 512], %b: f32[512, 512], %r: f32[4, 65536], %h: f16[256, 256]) {
  %d = sub(%a, %b)
  %q = mul(%d, %d)
  %mse = mean(%q)
  %rows = amax(%r, dims = [1], keepdim = true)
  %sh = sum(%h)
  return %mse, %rows, %sh
})");
  ir::Graph split = g.Clone();
  absl::StatusOr<passes::LoweringPlan> cuda_plan =
      passes::RunLoweringPipeline(&split, {}, codegen::cuda::CudaCapabilities());
  ASSERT_TRUE(cuda_plan.ok()) << cuda_plan.status();
  EXPECT_EQ(cuda_plan->Find("mse")->split, 256);
  EXPECT_EQ(cuda_plan->Find("rows")->split, 64);
  EXPECT_EQ(cuda_plan->Find("sh")->split, 64);

  const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(g, 3);
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  for (const ir::Graph* graph : {&g, static_cast<const ir::Graph*>(&split)}) {
    SCOPED_TRACE(graph == &g ? "as given" : "split for CUDA");
    absl::StatusOr<runtime::Executable> exe = Compile(*graph, Options());
    ASSERT_TRUE(exe.ok()) << exe.status();
    for (const passes::NodeDecision& d : exe->plan().entries) EXPECT_EQ(d.split, 0) << d.node;
    // Unsplit, the whole-tensor sums are single-row kernels; split, their
    // first stages have 256 and 64 rows of 1024.
    EXPECT_EQ(absl::StrContains(exe->kernel_ir(), "x0 in [0, 256), r0 in [0, 1024)"),
              graph == &split)
        << exe->kernel_ir();
    EXPECT_EQ(absl::StrContains(exe->kernel_ir(), "x0 in [0, 64), r0 in [0, 1024)"),
              graph == &split)
        << exe->kernel_ir();
    absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), 3u);
    EXPECT_ALLCLOSE_TOL((*out)[0], (*ref)[0], {1e-5, 1e-5});
    EXPECT_ALLCLOSE_TOL((*out)[1], (*ref)[1], {0, 0});
    EXPECT_ALLCLOSE_TOL((*out)[2], (*ref)[2], {2e-3, 1e-2});
  }
}

TEST(CacheTest, SecondCompileOfTheSameGraphHitsTheCache) {
  ir::Graph g = Parse(kChainWithSoftmax);
  CompileOptions o = Options("cache-hit");
  absl::StatusOr<runtime::Executable> first = Compile(g, o);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->cache_hit());
  absl::StatusOr<runtime::Executable> second = Compile(g, o);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->cache_hit());
  EXPECT_EQ(second->compile_report().key, first->compile_report().key);
  ExpectMatchesReference(*second, g);
}

TEST(CacheTest, CorruptEntryIsRebuilt) {
  ir::Graph g = Parse(kChainWithSoftmax);
  CompileOptions o = Options("cache-corrupt");
  std::string path;
  {
    absl::StatusOr<runtime::Executable> first = Compile(g, o);
    ASSERT_TRUE(first.ok()) << first.status();
    path = first->compile_report().library_path;
  }  // unloads the library
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "\x7f" "ELF but not really";
  }
  absl::StatusOr<runtime::Executable> again = Compile(g, o);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->cache_hit());
  EXPECT_TRUE(again->compile_report().rebuilt);
  ExpectMatchesReference(*again, g);
}

TEST(CacheTest, TwoProcessesCompilingTheSameGraphAtOnceBothSucceed) {
  ir::Graph g = Parse(kChainWithSoftmax);
  const CompileOptions o = Options("cache-concurrent");
  // The reference runs here, before forking: the children only compile and
  // run generated kernels (no thread pools to inherit half-alive).
  const std::vector<runtime::Tensor> in = Inputs(g);
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  pid_t pids[2];
  for (pid_t& pid : pids) {
    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      absl::StatusOr<runtime::Executable> exe = Compile(g, o);
      bool ok = exe.ok();
      if (ok) {
        auto out = exe->Run(in);
        ok = out.ok() && sluice::testing::AllClose((*out)[0], (*ref)[0]).ok;
      }
      _exit(ok ? 0 : 1);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  absl::StatusOr<runtime::Executable> exe = Compile(g, o);
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_TRUE(exe->cache_hit());
}

// ---- The compile report's phases ----------------------------------------------------

// Every phase the CPU backend went through took some time (`loaded`: the
// executable has generated kernels, so a library was loaded), the parts of
// lower_ms add up to at most lower_ms, and all phases to at most the whole.
void ExpectCpuPhases(const runtime::CompilePhases& p, bool loaded = true) {
  SCOPED_TRACE(p.ToString());
  for (double ms : {p.device_ms, p.lower_ms, p.passes_ms, p.fuse_ms, p.kernel_ir_ms,
                    p.memory_plan_ms, p.emit_ms, p.kernel_cache_ms, p.executable_ms,
                    p.total_ms}) {
    EXPECT_GT(ms, 0);
  }
  if (loaded) {
    EXPECT_GT(p.load_ms, 0);
  } else {
    EXPECT_EQ(p.load_ms, 0);
  }
  constexpr double kRounding = 1e-9;
  EXPECT_LE(p.passes_ms + p.fuse_ms + p.kernel_ir_ms + p.memory_plan_ms, p.lower_ms + kRounding);
  EXPECT_LE(p.device_ms + p.lower_ms + p.emit_ms + p.kernel_cache_ms + p.load_ms + p.tune_ms +
                p.executable_ms,
            p.total_ms + kRounding);
}

TEST(CompileReportTest, PhasesAreFilledAndAddUpToAtMostTheTotal) {
  ir::Graph g = Parse(kChainWithSoftmax);
  CompileOptions o = Options("phases");
  absl::StatusOr<runtime::Executable> cold = Compile(g, o);
  ASSERT_TRUE(cold.ok()) << cold.status();
  ASSERT_FALSE(cold->cache_hit());
  const runtime::CompilePhases& c = cold->compile_report().phases;
  ExpectCpuPhases(c);
  EXPECT_EQ(c.attempts, 1);
  // The host compiler ran inside the kernel-cache phase.
  EXPECT_GE(c.kernel_cache_ms, 1e3 * cold->compile_report().compile_seconds);

  absl::StatusOr<runtime::Executable> warm = Compile(g, o);
  ASSERT_TRUE(warm.ok()) << warm.status();
  ASSERT_TRUE(warm->cache_hit());
  ExpectCpuPhases(warm->compile_report().phases);
  EXPECT_EQ(warm->compile_report().phases.attempts, 1);
  EXPECT_THAT(warm->compile_report().phases.ToString(), HasSubstr("total "));
}

TEST(CompileReportTest, ARule6RecompilationCountsBothAttempts) {
  ir::Graph g = Parse(kChainWithSoftmax);
  CompileOptions o = Options("phases-rule6");
  o.inject_compile_failure = {"s"};
  absl::StatusOr<runtime::Executable> exe = Compile(g, o);
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_EQ(exe->compile_report().phases.attempts, 2);
  // The first attempt's host compile failed (time in kernel_cache_ms); the
  // second has no generated kernel left to load.
  ASSERT_EQ(exe->schedule().num_kernels(), 0);
  ExpectCpuPhases(exe->compile_report().phases, /*loaded=*/false);
}

}  // namespace
}  // namespace sluice
