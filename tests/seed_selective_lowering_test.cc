// The seed test, test/inductor/test_selective_lowering.py, ported: selective
// lowering end to end (parse -> plan -> fuse -> emit -> host compile -> run),
// checked against the reference interpreter AND against the plan and the
// generated code, so a fallback that never happened fails. Parameterized by
// device like the seed's GPU_TYPE: "cpu" and "cuda" (generated CUDA kernels,
// the fallback add as an Eigen kernel on the GPU); the cuda cases skip, with
// the reason, without a GPU.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "fallback/interpreter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/builder.h"
#include "passes/lowering_plan.h"
#include "passes/selective_lowering.h"
#include "runtime/cuda/test_util.h"
#include "runtime/executable.h"
#include "sluice/compile.h"
#include "testing/allclose.h"
#include "testing/random.h"

namespace sluice {
namespace {

using ::testing::ElementsAre;

// foo(x, y) = (x + y) * 2 on 10-element inputs, as the seed test's `foo`.
ir::Graph Foo() {
  ir::GraphBuilder b("foo");
  ir::Node* x = b.Input("x", {ir::DType::kF32, {10}});
  ir::Node* y = b.Input("y", {ir::DType::kF32, {10}});
  ir::Node* a = b.Call("add", {x, y}, {}, {}, "a");
  b.Return({b.Call("mul", {a, ir::Scalar::Int(2)}, {}, {}, "b")});
  absl::StatusOr<ir::Graph> g = b.Build();
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

class SelectiveLoweringTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "cuda") SLUICE_SKIP_WITHOUT_CUDA();
  }
  bool cuda() const { return GetParam() == "cuda"; }
  CompileOptions Options() const {
    CompileOptions o;
    o.device = cuda() ? DeviceKind::kCuda : DeviceKind::kCpu;
    if (const char* tmp = std::getenv("TEST_TMPDIR")) o.cache_dir = std::string(tmp) + "/cache";
    return o;
  }
  std::vector<runtime::Tensor> Inputs() const {
    return {sluice::testing::RandomNormal({ir::DType::kF32, {10}}, 1),
            sluice::testing::RandomNormal({ir::DType::kF32, {10}}, 2)};
  }
};

// The generated kernels, without the shared prologue (C++) or preamble
// (CUDA).
std::string Kernels(const runtime::Executable& exe) {
  const std::string& src = exe.generated_source();
  size_t at = src.find("// ---- end of prologue ----");
  if (at == std::string::npos) at = src.find("// ---- end of preamble ----");
  return at == std::string::npos ? src : src.substr(at);
}

// How the fallback add runs on the device: on the GPU as an Eigen kernel,
// or through the host when SLUICE_CUDA_FALLBACK=host says so.
std::string FallbackAdd(const std::string& device) {
  const char* mode = std::getenv("SLUICE_CUDA_FALLBACK");
  const bool host = device == "cuda" && mode != nullptr && std::string(mode) == "host";
  return host ? "fallback add (host copy) [a]" : "fallback add [a]";
}

std::vector<std::string> StepStrings(const runtime::Executable& exe) {
  std::vector<std::string> out;
  for (const runtime::StepInfo& s : exe.steps()) out.push_back(s.ToString());
  return out;
}

TEST_P(SelectiveLoweringTest, test_basic_selective_lowering) {
  ir::Graph g = Foo();
  // The seed's custom backend: mark aten.add for fallback, then compile.
  passes::MarkNodesForFallback(g, [](const ir::Node& n) { return n.op() == "add"; });
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();

  const std::vector<runtime::Tensor> in = Inputs();
  absl::StatusOr<std::vector<runtime::Tensor>> result = exe->Run(in);
  ASSERT_TRUE(result.ok()) << result.status();
  absl::StatusOr<std::vector<runtime::Tensor>> expected = fallback::RunReference(g, in);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_EQ(result->size(), 1u);
  EXPECT_ALLCLOSE((*result)[0], (*expected)[0]);

  // The plan: add on the fallback path by rule 1, mul lowered into a kernel.
  const passes::LoweringPlan& plan = exe->plan();
  ASSERT_NE(plan.Find("a"), nullptr);
  EXPECT_EQ(plan.Find("a")->decision, passes::Decision::kFallback);
  EXPECT_EQ(plan.Find("a")->rule, passes::Rule::kMetaFallback);
  EXPECT_EQ(plan.Find("b")->decision, passes::Decision::kLower);
  EXPECT_EQ(plan.Find("a")->kernel, 0);
  EXPECT_EQ(plan.Find("b")->kernel, 1);
  // The steps: the reference add, then one generated kernel with the mul.
  EXPECT_EQ(exe->device_name(), cuda() ? "cuda:0" : "cpu");
  EXPECT_THAT(StepStrings(*exe), ElementsAre(FallbackAdd(GetParam()), "kernel k1 [b]"));
  // The generated code: a mul and no add.
  const std::string src = Kernels(*exe);
  EXPECT_TRUE(absl::StrContains(exe->kernel_ir(), "mul(")) << exe->kernel_ir();
  EXPECT_FALSE(absl::StrContains(exe->kernel_ir(), "add(")) << exe->kernel_ir();
  if (cuda()) {
    EXPECT_TRUE(absl::StrContains(src, "nodes: b")) << src;
    EXPECT_TRUE(absl::StrContains(src, "extern \"C\" __global__")) << src;
  } else {
    EXPECT_TRUE(absl::StrContains(src, "// mul")) << src;
    EXPECT_FALSE(absl::StrContains(src, "// add")) << src;
    EXPECT_FALSE(absl::StrContains(src, "sl_wrap_add")) << src;
  }
  EXPECT_TRUE(absl::StrContains(src, " * ")) << src;
  EXPECT_FALSE(absl::StrContains(src, " + v")) << src;
  EXPECT_FALSE(absl::StrContains(src, "nodes: a")) << src;
}

TEST_P(SelectiveLoweringTest, test_no_fallback_when_unmarked) {
  ir::Graph g = Foo();
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  const std::vector<runtime::Tensor> in = Inputs();
  absl::StatusOr<std::vector<runtime::Tensor>> result = exe->Run(in);
  ASSERT_TRUE(result.ok()) << result.status();
  absl::StatusOr<std::vector<runtime::Tensor>> expected = fallback::RunReference(g, in);
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_ALLCLOSE((*result)[0], (*expected)[0]);

  EXPECT_TRUE(exe->plan().NodesWith(passes::Decision::kFallback).empty());
  // One generated kernel computes both.
  EXPECT_THAT(StepStrings(*exe), ElementsAre("kernel k0 [a, b]"));
  const std::string src = Kernels(*exe);
  EXPECT_TRUE(absl::StrContains(exe->kernel_ir(), "add(")) << exe->kernel_ir();
  EXPECT_TRUE(absl::StrContains(exe->kernel_ir(), "mul(")) << exe->kernel_ir();
  if (cuda()) {
    EXPECT_TRUE(absl::StrContains(src, "nodes: a, b")) << src;
    EXPECT_EQ(src.find("__global__"), src.rfind("__global__")) << src;
  } else {
    EXPECT_TRUE(absl::StrContains(src, "// add")) << src;
    EXPECT_TRUE(absl::StrContains(src, "// mul")) << src;
    EXPECT_EQ(exe->generated_source().find("extern \"C\" void sluice_k0"),
              exe->generated_source().rfind("extern \"C\" void sluice_k"));
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, SelectiveLoweringTest, ::testing::Values("cpu", "cuda"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice
