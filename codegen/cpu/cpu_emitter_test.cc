#include "codegen/cpu/cpu_emitter.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codegen/cpu/capabilities.h"
#include "codegen/kernel_ir.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/fuse.h"
#include "passes/lowering_plan.h"
#include "passes/pipeline.h"
#include "testing/filecheck.h"

namespace sluice::codegen::cpu {
namespace {

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

EmittedModule EmitText(const std::string& text, const EmitOptions& options = {}) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  absl::StatusOr<passes::LoweringPlan> plan =
      passes::RunLoweringPipeline(&*g, passes::LoweringOptions(), CpuCapabilities());
  EXPECT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<passes::Schedule> s = passes::Fuse(*g, &*plan);
  EXPECT_TRUE(s.ok()) << s.status();
  std::vector<Kernel> kernels;
  for (const passes::Step& step : s->steps) {
    if (step.kind != passes::StepKind::kKernel) continue;
    absl::StatusOr<Kernel> k = BuildKernel(*g, step, absl::StrCat("k", step.id));
    EXPECT_TRUE(k.ok()) << k.status();
    kernels.push_back(*k);
  }
  return EmitModule(kernels, options);
}

TEST(CpuEmitterTest, FusedChainIsOneEntryPoint) {
  EmittedModule m = EmitText(R"(
graph g(%x: f32[1024, 64], %y: f32[1024, 64]) {
  %a = mul(%x, %y)
  %b = add(%a, 1.0)
  %c = relu(%b)
  %d = sigmoid(%c)
  %e = mul(%d, %x)
  return %e
})");
  EXPECT_EQ(Count(m.source, "extern \"C\" void sluice_"), 1) << m.source;
  ASSERT_EQ(m.kernels.size(), 1u);
  EXPECT_EQ(m.kernels[0].symbol, "sluice_k0");
  absl::Status s = testing::FileCheck(m.source, R"(
CHECK: static void k0_impl(const float* __restrict a0, const float* __restrict a1, float* __restrict a2) {
CHECK-NEXT: #pragma omp parallel for schedule(static)
CHECK-NEXT: for (int64_t x0 = 0; x0 < 4; ++x0) {
CHECK: #pragma omp simd
CHECK-NEXT: for (int64_t r0 = 0; r0 < 16384; ++r0) {
CHECK-NEXT: const float v0 = a0[r0 + x0*16384];
CHECK: a2[r0 + x0*16384] = v7;
CHECK: extern "C" void sluice_k0(void* const* args)
)");
  EXPECT_TRUE(s.ok()) << s;
}

TEST(CpuEmitterTest, SoftmaxIsOneKernelReadingItsInputInReductionLoopsOnly) {
  EmittedModule m = EmitText(R"(
graph g(%x: f32[64, 256]) {
  %s = softmax(%x, dim = 1)
  return %s
})");
  EXPECT_EQ(Count(m.source, "extern \"C\" void sluice_"), 1) << m.source;
  // Three loops over the row: max, sum (both reductions, vectorized with
  // omp simd reductions), then the epilogue that reads the scratch row.
  absl::Status s = testing::FileCheck(m.source, R"(
CHECK: #pragma omp simd reduction(max:acc0) reduction(|:nan0)
CHECK-NEXT: for (int64_t r0 = 0; r0 < 256; ++r0) {
CHECK-NEXT: const float v0 = a0[r0 + x0*256];
CHECK: #pragma omp simd reduction(+:acc1)
CHECK-NEXT: for (int64_t r0 = 0; r0 < 256; ++r0) {
CHECK-NEXT: const float v2 = a0[r0 + x0*256];
CHECK: std::exp
CHECK: s0[r0] = v4;
CHECK: #pragma omp simd
CHECK-NEXT: for (int64_t r0 = 0; r0 < 256; ++r0) {
CHECK-NOT: a0[
CHECK: a1[r0 + x0*256] =
)");
  EXPECT_TRUE(s.ok()) << s << "\n" << m.source;
  EXPECT_EQ(Count(m.source, "a0["), 2) << m.source;
}

TEST(CpuEmitterTest, FallbackSplitsKernels) {
  EmittedModule m = EmitText(R"(
graph g(%x: f32[32]) {
  %a = exp(%x)
  %b = mul(%a, 3.0)
  %c = neg(%b) {should_fallback = true}
  %d = add(%c, 1.0)
  return %d
})");
  EXPECT_EQ(Count(m.source, "extern \"C\" void sluice_"), 2) << m.source;
  EXPECT_EQ(Count(m.source, "std::exp"), 1);
  EXPECT_EQ(Count(m.source, "(-v"), 0) << "neg must not be generated: it falls back";
}

TEST(CpuEmitterTest, Float16IsComputedInFloat) {
  EmittedModule m = EmitText(R"(
graph g(%x: f16[8, 8], %y: bf16[8, 8]) {
  %a = add(%x, 1.0)
  %b = cast(%a, dtype = f32)
  %c = mul(%y, 2.0)
  return %b, %c
})");
  EXPECT_TRUE(absl::StrContains(m.source, "sl_h2f(a0[")) << m.source;
  EXPECT_TRUE(absl::StrContains(m.source, "sl_f2bf(")) << m.source;
  EXPECT_TRUE(absl::StrContains(m.source, "const uint16_t* __restrict a0")) << m.source;
}

TEST(CpuEmitterTest, PoisonedKernelGetsAnErrorDirectiveInsideItsLines) {
  EmitOptions o;
  o.poison_kernels = {"k0"};
  EmittedModule m = EmitText(R"(
graph g(%x: f32[4]) {
  %a = exp(%x)
  return %a
})",
                             o);
  ASSERT_EQ(m.kernels.size(), 1u);
  const size_t at = m.source.find("#error");
  ASSERT_NE(at, std::string::npos);
  int line = 1;
  for (size_t i = 0; i < at; ++i) line += m.source[i] == '\n';
  ASSERT_NE(m.KernelAtLine(line), nullptr);
  EXPECT_EQ(m.KernelAtLine(line)->name, "k0");
  EXPECT_EQ(m.KernelAtLine(1), nullptr);  // the prologue belongs to no kernel
}

TEST(CpuEmitterTest, PrologueIsEmbeddedFromItsTemplate) {
  EXPECT_TRUE(absl::StrContains(Prologue(), "sluice CPU kernel prologue"));
  EXPECT_TRUE(absl::StrContains(Prologue(), "inline float sl_bf2f"));
}

}  // namespace
}  // namespace sluice::codegen::cpu
