// The CUDA backend end to end, beyond what the device-parameterized seed,
// ops and differential tests cover: matmul through cuBLAS with torch.matmul
// semantics in every float dtype, fallback steps as GPU Eigen kernels and
// through the host (and the plan and steps saying which), f16/bf16 row
// reductions, the fused attention kernel, matmul + bias + relu/gelu as one
// cuBLASLt call (and the marks that keep it apart), and bad inputs (device
// tensors: device_tensor_test.cc; the exported models: models_test.cc,
// parameterized by device). Every test skips, with the reason, without a GPU.
#include <stdlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "fallback/interpreter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/lowering_plan.h"
#include "runtime/cuda/test_util.h"
#include "runtime/executable.h"
#include "sluice/compile.h"
#include "testing/allclose.h"
#include "testing/random.h"
#include "testing/scoped_env.h"

namespace sluice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override { SLUICE_SKIP_WITHOUT_CUDA(); }

  static CompileOptions Options() {
    CompileOptions o;
    o.device = DeviceKind::kCuda;
    if (const char* tmp = std::getenv("TEST_TMPDIR")) o.cache_dir = std::string(tmp) + "/cache";
    return o;
  }

  static bool HostFallbackForced() {
    const char* v = std::getenv("SLUICE_CUDA_FALLBACK");
    return v != nullptr && std::string(v) == "host";
  }

  // Compiles `text` for CUDA, runs it on random inputs and compares every
  // output with the reference interpreter.
  static absl::StatusOr<runtime::Executable> CompileRunAndCompare(
      const std::string& text, const CompileOptions& options = Options()) {
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
    if (!g.ok()) return g.status();
    absl::StatusOr<runtime::Executable> exe = Compile(*g, options);
    if (!exe.ok()) return exe.status();
    const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, 7);
    absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
    if (!out.ok()) return out.status();
    absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
    if (!ref.ok()) return ref.status();
    EXPECT_EQ(out->size(), ref->size());
    for (size_t i = 0; i < out->size() && i < ref->size(); ++i) {
      EXPECT_ALLCLOSE_TOL((*out)[i], (*ref)[i], ToleranceFor((*ref)[i].dtype()))
          << g->name() << " output " << i << "\n" << exe->StepsToString();
    }
    return exe;
  }

  // Generated kernels against the reference interpreter: f32 to 1e-4, f16
  // to 1e-2, bf16 to 6e-2 (relative and absolute), NaNs equal.
  static sluice::testing::Tolerance ToleranceFor(ir::DType dtype) {
    sluice::testing::Tolerance tol = sluice::testing::DefaultTolerance(dtype);
    if (dtype == ir::DType::kF32) tol = {1e-4, 1e-4};
    if (dtype == ir::DType::kF16) tol = {1e-2, 1e-2};
    if (dtype == ir::DType::kBF16) tol = {6e-2, 6e-2};
    tol.equal_nan = true;
    return tol;
  }

  // Parses and compiles `text` (every node lowered, none falling back) and
  // runs it on seeded random inputs as ExpectAlignedAndUnalignedRunsMatch.
  static void ExpectLoweredGraphMatchesOnAnyBuffers(const std::string& text, uint64_t seed) {
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
    ASSERT_TRUE(g.ok()) << g.status();
    absl::StatusOr<runtime::Executable> exe = Compile(*g, Options());
    ASSERT_TRUE(exe.ok()) << exe.status();
    EXPECT_TRUE(exe->plan().NodesWith(passes::Decision::kFallback).empty())
        << exe->plan().ToTable();
    const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, seed);
    absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
    ASSERT_TRUE(ref.ok()) << ref.status();
    ExpectAlignedAndUnalignedRunsMatch(*exe, *g, in, *ref);
  }

  // Runs `exe` (compiled from `g`) on `in` through Run (the executable's own,
  // aligned buffers) and RunOnUnalignedViews, and compares both with `ref`.
  static void ExpectAlignedAndUnalignedRunsMatch(runtime::Executable& exe, const ir::Graph& g,
                                                 const std::vector<runtime::Tensor>& in,
                                                 const std::vector<runtime::Tensor>& ref) {
    absl::StatusOr<std::vector<runtime::Tensor>> aligned = exe.Run(in);
    ASSERT_TRUE(aligned.ok()) << aligned.status();
    absl::StatusOr<std::vector<runtime::Tensor>> unaligned = RunOnUnalignedViews(exe, g, in);
    ASSERT_TRUE(unaligned.ok()) << unaligned.status();
    ASSERT_EQ(aligned->size(), ref.size());
    ASSERT_EQ(unaligned->size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      SCOPED_TRACE(i);
      const sluice::testing::Tolerance tol = ToleranceFor(ref[i].dtype());
      EXPECT_ALLCLOSE_TOL((*aligned)[i], ref[i], tol);
      EXPECT_ALLCLOSE_TOL((*unaligned)[i], ref[i], tol);
    }
  }

  // Runs `exe` (compiled from `g`) with every input and output a device view
  // one element into an allocation one element longer, so that no buffer is
  // 16-byte aligned; returns the outputs on the host.
  static absl::StatusOr<std::vector<runtime::Tensor>> RunOnUnalignedViews(
      runtime::Executable& exe, const ir::Graph& g, const std::vector<runtime::Tensor>& in) {
    auto bigger = [](const ir::TensorType& t) -> ir::TensorType {
      return {t.dtype, ir::Shape({t.shape.num_elements() + 1})};
    };
    auto view = [](const runtime::DeviceTensor& big, const ir::TensorType& t) {
      return runtime::DeviceTensor::Borrow(
          t.dtype, t.shape, static_cast<char*>(big.data()) + ir::DTypeSize(t.dtype));
    };
    std::vector<runtime::DeviceTensor> keep, inputs, outputs;
    for (const runtime::Tensor& t : in) {
      runtime::Tensor big = runtime::Tensor::Zeros(bigger(t.type()));
      std::memcpy(static_cast<char*>(big.data()) + ir::DTypeSize(t.dtype()), t.data(),
                  static_cast<size_t>(t.nbytes()));
      absl::StatusOr<runtime::DeviceTensor> dev = exe.ToDevice(big);
      if (!dev.ok()) return dev.status();
      keep.push_back(*dev);
      inputs.push_back(view(*dev, t.type()));
    }
    std::vector<runtime::DeviceTensor> out_big;
    for (const ir::Node* o : g.outputs()) {
      absl::StatusOr<runtime::DeviceTensor> dev = exe.AllocateDeviceTensor(bigger(o->type()));
      if (!dev.ok()) return dev.status();
      out_big.push_back(*dev);
      outputs.push_back(view(*dev, o->type()));
    }
    if (absl::Status st = exe.RunDeviceInto(inputs, absl::MakeSpan(outputs)); !st.ok()) return st;
    std::vector<runtime::Tensor> got;
    for (size_t i = 0; i < out_big.size(); ++i) {
      absl::StatusOr<runtime::Tensor> host = exe.ToHost(out_big[i]);
      if (!host.ok()) return host.status();
      const ir::TensorType type = g.outputs()[i]->type();
      got.push_back(runtime::Tensor::Zeros(type));
      std::memcpy(got.back().data(),
                  static_cast<const char*>(host->data()) + ir::DTypeSize(type.dtype),
                  static_cast<size_t>(got.back().nbytes()));
    }
    return got;
  }
};

std::vector<std::string> StepStrings(const runtime::Executable& exe) {
  std::vector<std::string> out;
  for (const runtime::StepInfo& s : exe.steps()) out.push_back(s.ToString());
  return out;
}

TEST_F(CudaTest, MatmulIsCublasInEveryFloatDTypeWithTorchSemantics) {
  for (const char* dtype : {"f32", "f16", "bf16", "f64"}) {
    SCOPED_TRACE(dtype);
    const std::string text = absl::StrCat(R"(
graph mm(%a: )", dtype, R"([2, 3, 16, 8], %b: )", dtype, R"([8, 5], %c: )", dtype,
                                          R"([3, 8, 4], %d: )", dtype, R"([2, 1, 8, 4], %v: )",
                                          dtype, R"([8], %w: )", dtype, R"([4, 8, 6]) {
  %ab = matmul(%a, %b)
  %ac = matmul(%a, %c)
  %ad = matmul(%a, %d)
  %av = matmul(%a, %v)
  %va = matmul(%v, %w)
  %vv = matmul(%v, %v)
  return %ab, %ac, %ad, %av, %va, %vv
})");
    absl::StatusOr<runtime::Executable> exe = CompileRunAndCompare(text);
    ASSERT_TRUE(exe.ok()) << exe.status();
    EXPECT_EQ(exe->plan().NodesWith(passes::Decision::kLibrary).size(), 6u)
        << exe->plan().ToTable();
  }
}

TEST_F(CudaTest, IntegerMatmulFallsBackThroughTheHostAndThePlanSaysSo) {
  absl::StatusOr<runtime::Executable> exe = CompileRunAndCompare(R"(
graph im(%a: i32[3, 4], %b: i32[4, 2]) {
  %c = matmul(%a, %b)
  %d = add(%c, 1)
  return %d
})");
  ASSERT_TRUE(exe.ok()) << exe.status();
  const passes::NodeDecision* c = exe->plan().Find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->decision, passes::Decision::kFallback);
  EXPECT_EQ(c->rule, passes::Rule::kNoLowering);
  EXPECT_THAT(c->detail, HasSubstr("host copy"));
  EXPECT_THAT(StepStrings(*exe), ElementsAre("fallback matmul (host copy) [c]", "kernel k1 [d]"));
}

TEST_F(CudaTest, FallbacksRunAsGpuKernelsBetweenGeneratedOnes) {
  absl::StatusOr<runtime::Executable> exe = CompileRunAndCompare(R"(
graph fb(%x: f32[64, 100], %w: f32[100], %h: bf16[16, 40]) {
  %a = mul(%x, 2.0)
  %s = softmax(%a, dim = -1) {should_fallback = true}
  %n = layer_norm(%s, %w, normalized_shape = [100]) {should_fallback = true}
  %r = sum(%n, dims = [0]) {should_fallback = true}
  %t = transpose(%x, dim0 = 0, dim1 = 1) {should_fallback = true}
  %e = exp(%t)
  %hb = rms_norm(%h, normalized_shape = [40]) {should_fallback = true}
  %hc = cast(%hb, dtype = f32) {should_fallback = true}
  %m = argmax(%x, dim = 1) {should_fallback = true}
  return %r, %e, %hb, %hc, %m
})");
  ASSERT_TRUE(exe.ok()) << exe.status();
  int fallbacks = 0;
  for (const runtime::StepInfo& s : exe->steps()) {
    if (s.kind != passes::StepKind::kFallback) continue;
    ++fallbacks;
    EXPECT_EQ(s.note, HostFallbackForced() ? "host copy" : "") << s.ToString();
  }
  EXPECT_EQ(fallbacks, 7);  // s n r t hb hc m, each its own step
}

// The flash-attention kernel (passes/attention.h) against the reference
// interpreter's unfused matmul/softmax/matmul: f16 and bf16, head dims 32,
// 64 and 128, sequence lengths on and off the tiles, q and k one tensor.
TEST_F(CudaTest, FusedAttentionMatchesTheReference) {
  struct Case {
    const char* dtype;
    int batch, sq, sk, d;
  };
  for (const Case& c : {Case{"f16", 3, 256, 192, 64}, Case{"bf16", 2, 100, 77, 128},
                        Case{"f16", 4, 40, 130, 32}, Case{"bf16", 1, 64, 64, 64}}) {
    const std::string text = absl::StrCat(
        "graph attn(%q: ", c.dtype, "[", c.batch, ", ", c.sq, ", ", c.d, "], %k: ", c.dtype, "[",
        c.batch, ", ", c.sk, ", ", c.d, "], %v: ", c.dtype, "[", c.batch, ", ", c.sk, ", ", c.d,
        "]) {\n  %kt = transpose(%k, dim0 = 1, dim1 = 2)\n  %s = matmul(%q, %kt)\n",
        "  %x = mul(%s, 0.125)\n  %p = softmax(%x, dim = -1)\n  %o = matmul(%p, %v)\n",
        "  return %o\n}\n");
    SCOPED_TRACE(text);
    absl::StatusOr<runtime::Executable> exe = CompileRunAndCompare(text);
    ASSERT_TRUE(exe.ok()) << exe.status();
    EXPECT_THAT(StepStrings(*exe), ElementsAre(HasSubstr("kernel k0")));
    EXPECT_EQ(exe->plan().Find("p")->fused_pattern, "attention");
  }
  absl::StatusOr<runtime::Executable> self = CompileRunAndCompare(R"(
graph self(%x: f16[200, 64]) {
  %xt = transpose(%x, dim0 = 0, dim1 = 1)
  %s = matmul(%x, %xt)
  %p = softmax(%s, dim = 1)
  %o = matmul(%p, %x)
  return %o
})");
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(self->steps().size(), 1u) << self->StepsToString();
}

// matmul + bias add + relu/gelu(tanh) as one cuBLASLt call with an epilogue
// (passes/matmul_epilogue.h) against the reference interpreter's unfused
// ops: f32, f16, bf16; with and without the bias and each activation; odd
// shapes, a batched left operand, the bias first; the MLP block; and the
// selective-lowering cases: a marked add keeps the matmul a plain cuBLAS
// call, a value also returned ends the fused chain there.
TEST_F(CudaTest, MatmulEpiloguesMatchTheReference) {
  struct Case {
    std::string text;
    std::vector<std::string> steps;  // StepInfo::ToString, prefixes
  };
  const auto mm = [](const std::string& dtype, const std::string& body,
                     const std::string& extra_inputs = "") {
    return absl::StrCat("graph e(%x: ", dtype, "[3, 5], %w: ", dtype, "[5, 7]", extra_inputs,
                        ") {\n  %h = matmul(%x, %w)\n", body, "}\n");
  };
  const std::vector<Case> cases = {
      {mm("f32",
          "  %hb = add(%h, %b)\n  %g = gelu(%hb, approximate = \"tanh\")\n  return %g\n",
          ", %b: f32[7]"),
       {"library matmul_epilogue (bias+gelu_tanh) [h, hb, g]"}},
      {mm("f32", "  %hb = add(%h, %b)\n  %r = relu(%hb)\n  return %r\n", ", %b: f32[7]"),
       {"library matmul_epilogue (bias+relu) [h, hb, r]"}},
      {mm("f32", "  %hb = add(%h, %b)\n  return %hb\n", ", %b: f32[7]"),
       {"library matmul_epilogue (bias) [h, hb]"}},
      {mm("f32", "  %r = relu(%h)\n  return %r\n"), {"library matmul_epilogue (relu) [h, r]"}},
      {mm("f32", "  %g = gelu(%h, approximate = \"tanh\")\n  return %g\n"),
       {"library matmul_epilogue (gelu_tanh) [h, g]"}},
      {mm("f16",
          "  %hb = add(%h, %b)\n  %g = gelu(%hb, approximate = \"tanh\")\n  return %g\n",
          ", %b: f16[7]"),
       {"library matmul_epilogue (bias+gelu_tanh) [h, hb, g]"}},
      {mm("bf16", "  %hb = add(%h, %b)\n  %r = relu(%hb)\n  return %r\n", ", %b: bf16[7]"),
       {"library matmul_epilogue (bias+relu) [h, hb, r]"}},
      // Tile-sized and odd, f16/bf16 with f32 accumulation.
      {R"(graph e(%x: bf16[64, 96], %w: bf16[96, 130], %b: bf16[130]) {
  %h = matmul(%x, %w)
  %hb = add(%h, %b)
  %g = gelu(%hb, approximate = "tanh")
  return %g
})",
       {"library matmul_epilogue (bias+gelu_tanh) [h, hb, g]"}},
      // A batched left operand (its batch is more rows), the bias first.
      {R"(graph e(%x: f32[2, 3, 5], %w: f32[5, 7], %b: f32[1, 7]) {
  %h = matmul(%x, %w)
  %hb = add(%b, %h)
  %r = relu(%hb)
  return %r
})",
       {"library matmul_epilogue (bias+relu) [h, hb, r]"}},
      // The MLP block, small.
      {R"(graph mlp(%x: f32[128, 64], %w1: f32[64, 256], %b1: f32[256], %w2: f32[256, 64]) {
  %h = matmul(%x, %w1)
  %hb = add(%h, %b1)
  %g = gelu(%hb, approximate = "tanh")
  %out = matmul(%g, %w2)
  return %out
})",
       {"library matmul_epilogue (bias+gelu_tanh) [h, hb, g]", "library matmul [out]"}},
      // A marked add: nothing fused across it.
      {mm("f32",
          "  %hb = add(%h, %b) {should_fallback = true}\n"
          "  %g = gelu(%hb, approximate = \"tanh\")\n  return %g\n",
          ", %b: f32[7]"),
       {"library matmul [h]", "fallback add", "kernel k2 ["}},
      // hb is also returned: matmul + bias fused, the gelu a kernel.
      {mm("f32",
          "  %hb = add(%h, %b)\n  %g = gelu(%hb, approximate = \"tanh\")\n"
          "  return %g, %hb\n",
          ", %b: f32[7]"),
       {"library matmul_epilogue (bias) [h, hb]", "kernel k1 ["}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(c.text);
    ASSERT_TRUE(g.ok()) << g.status();
    absl::StatusOr<runtime::Executable> exe = Compile(*g, Options());
    ASSERT_TRUE(exe.ok()) << exe.status();
    const std::vector<std::string> steps = StepStrings(*exe);
    ASSERT_EQ(steps.size(), c.steps.size()) << exe->StepsToString();
    for (size_t i = 0; i < steps.size(); ++i) {
      EXPECT_TRUE(absl::StartsWith(steps[i], c.steps[i])) << exe->StepsToString();
    }
    // Inputs in [-1, 1]: pre-activations of a few units, where a hardware
    // tanh in the GELU epilogue stays within the tolerance below.
    std::vector<runtime::Tensor> in;
    for (size_t i = 0; i < g->inputs().size(); ++i) {
      in.push_back(sluice::testing::RandomUniform(g->inputs()[i]->type(), 100 + i, -1.0, 1.0));
    }
    absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
    ASSERT_TRUE(out.ok()) << out.status();
    absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
    ASSERT_TRUE(ref.ok()) << ref.status();
    ASSERT_EQ(out->size(), ref->size());
    const bool gelu = absl::StrContains(c.text, "gelu");
    for (size_t i = 0; i < out->size(); ++i) {
      sluice::testing::Tolerance tol;  // {rtol, atol}
      switch ((*ref)[i].dtype()) {
        case ir::DType::kF16:
          tol = {1e-2, 1e-2};
          break;
        case ir::DType::kBF16:
          tol = {6e-2, 6e-2};
          break;
        default:
          tol = gelu ? sluice::testing::Tolerance{1e-3, 3e-3}
                     : sluice::testing::Tolerance{1e-4, 1e-4};
      }
      EXPECT_ALLCLOSE_TOL((*out)[i], (*ref)[i], tol) << "output " << i << "\n"
                                                     << exe->StepsToString();
    }
  }
}

// Device buffers that are not 16-byte aligned (views two bytes into larger
// allocations) take the attention kernels' element-copy instantiation: the
// wgmma kernel (d = 64, 128) and the mma.sync one (d = 32), against the
// reference interpreter on the same values.
TEST_F(CudaTest, FusedAttentionOnUnalignedDeviceBuffers) {
  for (int d : {32, 64, 128}) {
    const std::string text = absl::StrCat(
        "graph un(%q: f16[2, 70, ", d, "], %k: f16[2, 90, ", d, "], %v: f16[2, 90, ", d,
        "]) {\n  %kt = transpose(%k, dim0 = 1, dim1 = 2)\n  %s = matmul(%q, %kt)\n",
        "  %x = mul(%s, 0.125)\n  %p = softmax(%x, dim = -1)\n  %o = matmul(%p, %v)\n",
        "  return %o\n}\n");
    SCOPED_TRACE(text);
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
    ASSERT_TRUE(g.ok()) << g.status();
    absl::StatusOr<runtime::Executable> exe = Compile(*g, Options());
    ASSERT_TRUE(exe.ok()) << exe.status();
    ASSERT_EQ(exe->plan().Find("p")->fused_pattern, "attention");
    const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, 11);
    absl::StatusOr<std::vector<runtime::Tensor>> got = RunOnUnalignedViews(*exe, *g, in);
    ASSERT_TRUE(got.ok()) << got.status();
    absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
    ASSERT_TRUE(ref.ok()) << ref.status();
    sluice::testing::Tolerance tol{1e-2, 1e-2};
    EXPECT_ALLCLOSE_TOL((*got)[0], (*ref)[0], tol);
  }
}

// CudaEmitOptions::aligned_variants (through SLUICE_CUDA_EMIT): every
// kernel with vector accesses runs its aligned-only variant on the
// executable's own buffers and the general one, compiled on first need, on
// buffers that are not 16-byte aligned; both against the reference. With
// launch_variants too: the tuned shape (aligned-only as well) on aligned
// buffers, the general kernel on the others.
TEST_F(CudaTest, AlignedVariantsRunOnAlignedAndUnalignedBuffers) {
  for (const char* emit : {"aligned_variants=1", "aligned_variants=1,launch_variants=1"}) {
    SCOPED_TRACE(emit);
    sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", emit);
    ExpectLoweredGraphMatchesOnAnyBuffers(R"(
graph av(%x: f32[64, 1000], %w: f32[1000], %h: bf16[33, 1024], %y: f32[4099]) {
  %s = softmax(%x, dim = -1)
  %n = layer_norm(%s, %w, normalized_shape = [1000])
  %hn = layer_norm(%h, normalized_shape = [1024])
  %e = exp(%y)
  return %n, %hn, %e
})",
                                          5);
  }
}

// Pointwise launch shapes (CudaEmitOptions through SLUICE_CUDA_EMIT):
// unrolled block-contiguous groups with and without a tail (4099 and 8195
// f32 are not whole groups; 1M is), 128-thread blocks, 8-byte vectors,
// plain ld.global loads, a broadcast operand and bf16, on the executable's
// buffers and on unaligned views, against the reference.
TEST_F(CudaTest, PointwiseLaunchShapesMatchTheReference) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph pw(%x: f32[1024, 1024], %b: f32[1024], %y: f32[4099], %z: bf16[8195], %w: f32[8195]) {
  %s = add(%x, %b)
  %t = sigmoid(%s)
  %u = mul(%t, %x)
  %e = exp(%y)
  %zf = cast(%z, dtype = f32)
  %v = mul(%zf, %w)
  return %u, %e, %v
})");
  ASSERT_TRUE(g.ok()) << g.status();
  const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, 9);
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  for (const char* emit :
       {"pointwise_unroll=2", "pointwise_unroll=4,pointwise_block_threads=128",
        "pointwise_unroll=2,pointwise_block_threads=128,coherent_loads=1",
        "pointwise_unroll=2,aligned_variants=1,coherent_loads=1", "max_vector_bytes=8",
        "pointwise_unroll=3,pointwise_waves=1"}) {
    SCOPED_TRACE(emit);
    sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", emit);
    absl::StatusOr<runtime::Executable> exe = Compile(*g, Options());
    ASSERT_TRUE(exe.ok()) << exe.status();
    EXPECT_TRUE(exe->plan().NodesWith(passes::Decision::kFallback).empty())
        << exe->plan().ToTable();
    ExpectAlignedAndUnalignedRunsMatch(*exe, *g, in, *ref);
  }
}

// CudaEmitOptions::approx_math_half_outputs (on by default): kernels
// storing only bf16 / f16 (softmax, sigmoid, silu, gelu(tanh), division)
// with approximate f32 math, against the reference at the half types'
// tolerances; an f32 output of the same graph stays exact (1e-4). The same
// graph with the option off (exact math everywhere) as well, and with
// row_divisor_reciprocal off (the f32 softmax's division per element; by
// default it is products by one correctly rounded reciprocal a row).
TEST_F(CudaTest, ApproximateMathInHalfOutputKernelsMatchesTheReference) {
  for (const char* emit : {"approx_math_half_outputs=1", "approx_math_half_outputs=0",
                           "row_divisor_reciprocal=0"}) {
    SCOPED_TRACE(emit);
    sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", emit);
    ExpectLoweredGraphMatchesOnAnyBuffers(R"(
graph am(%h: bf16[33, 1000], %m: f16[4099], %d: bf16[64, 512], %f: f32[64, 512]) {
  %hs = softmax(%h, dim = -1)
  %ms = sigmoid(%m)
  %mu = silu(%m)
  %mg = gelu(%m, approximate = "tanh")
  %q = div(%d, 3.0)
  %fs = softmax(%f, dim = -1)
  return %hs, %ms, %mu, %mg, %q, %fs
})",
                                          11);
  }
}

// CudaEmitOptions::row_threads: rows kept in registers spread over 64 or
// 128 threads (a block per row) instead of a warp, against the reference on
// aligned and unaligned buffers (softmax, layer_norm, a sum; ragged widths).
TEST_F(CudaTest, RowsOverMoreThreadsMatchTheReference) {
  for (const char* emit : {"row_threads=64", "row_threads=128"}) {
    SCOPED_TRACE(emit);
    sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", emit);
    ExpectLoweredGraphMatchesOnAnyBuffers(R"(
graph rt(%h: bf16[77, 1024], %w: bf16[1024], %b: bf16[1024], %f: f32[45, 1000], %g: f32[9, 520]) {
  %hs = softmax(%h, dim = -1)
  %hn = layer_norm(%h, %w, %b, normalized_shape = [1024])
  %fs = softmax(%f, dim = -1)
  %gs = sum(%g, dims = [1])
  return %hs, %hn, %fs, %gs
})",
                                          13);
  }
}

// CudaCompileOptions::autotune (on by default): the bf16 softmax (a warp
// per row with 1 or 8 rows per block, or 64 threads per row) and the
// two-stream multiply (8- or 16-byte vectors, 256-thread blocks, or 16 bytes
// in 128-thread blocks) are timed in every shape on a
// cold compile, and the report says which shape each runs and the times; a
// warm compile takes the choice from the cache. The tuned outputs match the
// reference; every fixed shape (SLUICE_CUDA_EMIT, which turns tuning off)
// with the chosen threads per row gives the same bits, the others agree to
// bf16 rounding, and the multiply is the same bits in every shape.
TEST_F(CudaTest, AutotunedLaunchShapesAreCachedAndAgreeWithEveryFixedShape) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph tune(%h: bf16[1000, 1000], %x: f32[300, 1024], %y: f32[300, 1024]) {
  %hs = softmax(%h, dim = -1)
  %p = mul(%x, %y)
  return %hs, %p
})");
  ASSERT_TRUE(g.ok()) << g.status();
  CompileOptions o = Options();
  char dir[] = "/tmp/sluice-autotune-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  o.cache_dir = dir;
  absl::StatusOr<runtime::Executable> cold = Compile(*g, o);
  ASSERT_TRUE(cold.ok()) << cold.status();
  const std::vector<std::string>& tuned = cold->compile_report().tuning;
  EXPECT_GT(cold->compile_report().phases.tune_ms, 0);
  EXPECT_THAT(tuned, ::testing::UnorderedElementsAre(
                         ::testing::AllOf(::testing::StartsWith("k0: row: "),
                                          HasSubstr("(3 shapes, us "),
                                          HasSubstr("; chosen by timing)")),
                         ::testing::AllOf(::testing::StartsWith("k1: pointwise: "),
                                          HasSubstr("(3 shapes, us "),
                                          HasSubstr("; chosen by timing)"))));
  absl::StatusOr<runtime::Executable> warm = Compile(*g, o);
  ASSERT_TRUE(warm.ok()) << warm.status();
  EXPECT_TRUE(warm->cache_hit());
  const std::vector<std::string>& cached = warm->compile_report().tuning;
  ASSERT_EQ(cached.size(), tuned.size());
  for (size_t i = 0; i < tuned.size(); ++i) {
    // The same kernel and shape ("k0: <config> ("), from the cache.
    EXPECT_EQ(cached[i].substr(0, cached[i].find(" (")), tuned[i].substr(0, tuned[i].find(" (")));
    EXPECT_THAT(cached[i], HasSubstr("; chosen from the cache)"));
  }
  std::filesystem::remove_all(dir);

  const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, 5);
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  absl::StatusOr<std::vector<runtime::Tensor>> out = warm->Run(in);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_ALLCLOSE_TOL((*out)[i], (*ref)[i], ToleranceFor((*ref)[i].dtype())) << i;
  }
  // The softmax's threads per row as tuned: 32 (either rows per block) or 64.
  const bool tuned_64 = absl::StrContains(cached[0] + cached[1], "k0: row: 64 threads/row");
  for (const std::string rows : {"row_block_threads=32", "row_block_threads=64",
                                 "row_block_threads=256", "row_threads=64"}) {
    for (const char* pointwise : {"pointwise_stream_vector_bytes=8",
                                  "pointwise_stream_vector_bytes=16",
                                  "pointwise_block_threads=128"}) {
      const std::string emit = absl::StrCat(rows, ",", pointwise);
      SCOPED_TRACE(emit);
      sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", emit.c_str());
      absl::StatusOr<runtime::Executable> fixed = Compile(*g, Options());
      ASSERT_TRUE(fixed.ok()) << fixed.status();
      EXPECT_THAT(fixed->compile_report().tuning, ::testing::IsEmpty());
      absl::StatusOr<std::vector<runtime::Tensor>> got = fixed->Run(in);
      ASSERT_TRUE(got.ok()) << got.status();
      for (size_t i = 0; i < 2; ++i) {
        ASSERT_EQ((*got)[i].nbytes(), (*out)[i].nbytes());
        const bool same_order = i == 1 || (rows == "row_threads=64") == tuned_64;
        if (same_order) {
          EXPECT_EQ(std::memcmp((*got)[i].data(), (*out)[i].data(), (*out)[i].nbytes()), 0)
              << "output " << i << " differs from the tuned executable's";
        } else {
          EXPECT_ALLCLOSE_TOL((*got)[i], (*out)[i], ToleranceFor((*out)[i].dtype())) << i;
        }
      }
    }
  }
}

// CompileOptions::lowering_cache: a repeat compile in the process skips
// the lowering and gives an executable of its own that computes the same
// bits; both run, each after the other is gone.
TEST_F(CudaTest, ARepeatCompileReusesTheLoweringAndRunsAlike) {
  ClearLoweringCache();
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph cached(%x: f32[300, 1024], %w: f32[1024], %y: f32[300, 1024]) {
  %n = layer_norm(%x, %w, %w, normalized_shape = [1024], eps = 1e-5)
  %s = sigmoid(%y) {should_fallback = true}
  %o = add(%n, %s)
  return %o
})");
  ASSERT_TRUE(g.ok()) << g.status();
  const CompileOptions o = Options();
  auto first = std::make_unique<absl::StatusOr<runtime::Executable>>(Compile(*g, o));
  ASSERT_TRUE(first->ok()) << first->status();
  EXPECT_FALSE((*first)->compile_report().lowering_cache_hit);
  absl::StatusOr<runtime::Executable> second = Compile(*g, o);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->compile_report().lowering_cache_hit);
  EXPECT_TRUE(second->cache_hit());
  EXPECT_EQ(second->compile_report().phases.attempts, 0);
  EXPECT_TRUE(second->plan().IsFallback("s"));
  EXPECT_EQ(second->plan().ToJson(), (*first)->plan().ToJson());
  EXPECT_EQ(second->generated_source(), (*first)->generated_source());
  CompileOptions off = o;
  off.lowering_cache = false;
  absl::StatusOr<runtime::Executable> lowered = Compile(*g, off);
  ASSERT_TRUE(lowered.ok()) << lowered.status();
  EXPECT_FALSE(lowered->compile_report().lowering_cache_hit);

  const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, 11);
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  absl::StatusOr<std::vector<runtime::Tensor>> a = (*first)->Run(in);
  ASSERT_TRUE(a.ok()) << a.status();
  first.reset();  // the cached lowering does not depend on the first executable
  absl::StatusOr<std::vector<runtime::Tensor>> b = second->Run(in);
  ASSERT_TRUE(b.ok()) << b.status();
  absl::StatusOr<std::vector<runtime::Tensor>> c = lowered->Run(in);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_ALLCLOSE_TOL((*a)[0], (*ref)[0], ToleranceFor((*ref)[0].dtype()));
  ASSERT_EQ((*b)[0].nbytes(), (*a)[0].nbytes());
  EXPECT_EQ(std::memcmp((*b)[0].data(), (*a)[0].data(), (*a)[0].nbytes()), 0);
  EXPECT_EQ(std::memcmp((*c)[0].data(), (*a)[0].data(), (*a)[0].nbytes()), 0);
  // A third from the cache after the second is gone, run on device tensors.
  second = absl::UnknownError("dropped");
  absl::StatusOr<runtime::Executable> third = Compile(*g, o);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(third->compile_report().lowering_cache_hit);
  absl::StatusOr<std::vector<runtime::Tensor>> d = third->Run(in);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(std::memcmp((*d)[0].data(), (*a)[0].data(), (*a)[0].nbytes()), 0);
  ClearLoweringCache();
}

// Column reductions are autotuned over their width (32, 64 or 128
// consecutive columns per block): the report names the shape chosen; the
// tuned sum matches the reference; a fixed shape (SLUICE_CUDA_EMIT) of the
// chosen width gives the same bits, the other widths (their rows summed
// over another number of threads) agree to f32 rounding.
TEST_F(CudaTest, ColumnReductionWidthsAreTuned) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph cols(%w: f32[1000, 16384]) {
  %t = sum(%w, dims = [0])
  return %t
})");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<runtime::Executable> tuned = Compile(*g, Options());
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  const std::vector<std::string>& report = tuned->compile_report().tuning;
  ASSERT_EQ(report.size(), 1u);
  EXPECT_THAT(report[0], ::testing::AllOf(::testing::StartsWith("k0: column: "),
                                          HasSubstr("(3 shapes, us "),
                                          HasSubstr("; chosen by timing)")));
  int width = 0;
  ASSERT_TRUE(absl::SimpleAtoi(report[0].substr(12, report[0].find(' ', 12) - 12), &width))
      << report[0];
  EXPECT_THAT(width, ::testing::AnyOf(32, 64, 128)) << report[0];
  const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, 17);
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  absl::StatusOr<std::vector<runtime::Tensor>> out = tuned->Run(in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_ALLCLOSE_TOL((*out)[0], (*ref)[0], ToleranceFor(ir::DType::kF32));
  for (int x : {32, 64, 128}) {
    SCOPED_TRACE(x);
    sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", absl::StrCat("column_block_x=", x).c_str());
    absl::StatusOr<runtime::Executable> fixed = Compile(*g, Options());
    ASSERT_TRUE(fixed.ok()) << fixed.status();
    EXPECT_THAT(fixed->compile_report().tuning, ::testing::IsEmpty());
    absl::StatusOr<std::vector<runtime::Tensor>> got = fixed->Run(in);
    ASSERT_TRUE(got.ok()) << got.status();
    if (x == width) {
      EXPECT_EQ(std::memcmp((*got)[0].data(), (*out)[0].data(), (*out)[0].nbytes()), 0);
    } else {
      EXPECT_ALLCLOSE_TOL((*got)[0], (*out)[0], ToleranceFor(ir::DType::kF32));
    }
  }
}

// The online softmax's conditional rescaling (CudaEmitOptions::
// attention_lazy_rescale): keys in blocks of 48 scaled by factors that jump
// (a row's maximum grows by more than 2^8 on later tiles: O and the sums
// are rescaled there) or creep (it grows by less: P's values exceed 1, up to
// 2^8, and nothing is rescaled), against the reference interpreter; with
// thresholds 8 and 3, and 0 (every tile, the default), on the wgmma
// kernel's mbarrier loop and its block-barrier loop, with its row sums on
// the tensor cores (rescaled with O), with a producer warpgroup and with
// exponentials on the FMA pipe (P up to 2^8, keys masked to -inf), and
// with P V issued in halves (O rescaled before the first), and with the
// tiles loaded by cp.async instead of the tensor memory accelerator. Both kernels: d 32 is
// the mma.sync one, 64 and 128 the wgmma one on Hopper.
TEST_F(CudaTest, FusedAttentionRescalesWhenARowMaximumGrows) {
  struct Schedule {
    const char* name;
    std::vector<double> factors;  // of key blocks 0, 1, ... (48 keys each)
  };
  const std::vector<Schedule> schedules = {{"jumps", {1, 6, 2, 14, 3, 30}},
                                           {"creeps", {1, 1.3, 1.7, 2.2, 1.1, 2.8}}};
  for (const char* emit :
       {"attention_lazy_rescale=8", "attention_lazy_rescale=3", "",
        "attention_mbarrier=0,attention_lazy_rescale=8", "attention_mbarrier=0",
        "attention_rowsum_mma=1,attention_lazy_rescale=8", "attention_rowsum_mma=1",
        "attention_producer=1,attention_warpgroups=3,attention_overlap=2,attention_lazy_rescale=8",
        "attention_producer=1", "attention_exp2_fma=8,attention_lazy_rescale=8",
        "attention_exp2_fma=3", "attention_split_pv=1,attention_lazy_rescale=8",
        "attention_split_pv=1,attention_rowsum_mma=1", "attention_tma=0",
        "attention_tma=0,attention_lazy_rescale=8", "attention_tma=0,attention_producer=1"}) {
    sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", emit);
    for (const auto& [dtype, d] : std::vector<std::pair<std::string, int>>{
             {"f16", 32}, {"f16", 64}, {"bf16", 64}, {"bf16", 128}}) {
      const std::string text = absl::StrCat(
          "graph lazy(%q: ", dtype, "[2, 100, ", d, "], %k: ", dtype, "[2, 288, ", d, "], %v: ",
          dtype, "[2, 288, ", d,
          "]) {\n  %kt = transpose(%k, dim0 = 1, dim1 = 2)\n  %s = matmul(%q, %kt)\n",
          "  %x = mul(%s, 0.125)\n  %p = softmax(%x, dim = -1)\n  %o = matmul(%p, %v)\n",
          "  return %o\n}\n");
      absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
      ASSERT_TRUE(g.ok()) << g.status();
      absl::StatusOr<runtime::Executable> exe = Compile(*g, Options());
      ASSERT_TRUE(exe.ok()) << exe.status();
      ASSERT_EQ(exe->plan().Find("p")->fused_pattern, "attention") << exe->plan().ToTable();
      for (const Schedule& schedule : schedules) {
        SCOPED_TRACE(absl::StrCat(emit, " ", dtype, " d ", d, " ", schedule.name));
        std::vector<runtime::Tensor> in;
        for (size_t i = 0; i < 3; ++i) {
          in.push_back(
              sluice::testing::RandomUniform(g->inputs()[i]->type(), 40 + i, -1.0, 1.0));
        }
        runtime::Tensor& k = in[1];
        for (int64_t i = 0; i < k.num_elements(); ++i) {
          const int64_t key = (i / d) % 288;
          k.SetFromDouble(i, k.GetAsDouble(i) * schedule.factors[key / 48]);
        }
        absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
        ASSERT_TRUE(out.ok()) << out.status();
        absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
        ASSERT_TRUE(ref.ok()) << ref.status();
        const sluice::testing::Tolerance tol =
            dtype == "f16" ? sluice::testing::Tolerance{1e-2, 1e-2}
                           : sluice::testing::Tolerance{6e-2, 6e-2};
        EXPECT_ALLCLOSE_TOL((*out)[0], (*ref)[0], tol);
      }
    }
  }
}

// The wgmma kernel's other schedules (SLUICE_CUDA_EMIT): a tile's softmax
// overlapped with the previous tile's P V (FlashAttention-3; 2 and 3
// warpgroups, 3 and 4 stages, with conditional rescaling), P V waited for
// with the next S, 3 warpgroups unpipelined; the unpipelined loop with a
// block-wide barrier per tile (attention_mbarrier=0) and with per-stage
// mbarriers (the default; 2 stages loading one tile ahead, 3 and 4 stages
// letting warpgroups drift two tiles apart), and with the two warpgroups
// taking turns at the tensor cores (ping-pong); with the row sums on the
// tensor cores (attention_rowsum_mma); with a producer warpgroup loading
// for 1 to 3 computing ones (attention_producer; its first thread by TMA,
// or all its threads by cp.async); with exponentials on the
// FMA pipe (attention_exp2_fma); with P V issued in two halves
// (attention_split_pv); with Q and K/V tiles loaded by cp.async instead
// of the tensor memory accelerator (attention_tma=0); against the reference on
// ragged lengths (a last key tile and a last query block part full), f16 d
// 64 and bf16 d 128, on the executable's buffers and on unaligned views (the
// lazily compiled general kernel). The mma.sync kernel (no Hopper) ignores
// these options; the cases pass there too.
TEST_F(CudaTest, PipelinedAttentionSchedulesMatchTheReference) {
  for (const char* emit :
       {"attention_overlap=2", "attention_warpgroups=3,attention_overlap=2",
        "attention_warpgroups=3,attention_overlap=2,attention_stages=4",
        "attention_warpgroups=3,attention_overlap=2,attention_lazy_rescale=8",
        "attention_overlap=1", "attention_warpgroups=3", "attention_mbarrier=0",
        "attention_mbarrier=0,attention_warpgroups=3",
        "attention_mbarrier=1,attention_pingpong=1",
        "attention_mbarrier=1,attention_pingpong=1,attention_stages=3,attention_lazy_rescale=8",
        "attention_mbarrier=1,attention_warpgroups=4,attention_stages=3",
        "attention_mbarrier=1,attention_warpgroups=3,attention_stages=4,attention_lazy_rescale=8",
        "attention_rowsum_mma=1", "attention_rowsum_mma=1,attention_mbarrier=0",
        "attention_rowsum_mma=1,attention_warpgroups=3,attention_overlap=2",
        "attention_producer=1", "attention_producer=1,attention_warpgroups=3,attention_overlap=2",
        "attention_producer=1,attention_overlap=2,attention_stages=3",
        "attention_producer=1,attention_pingpong=1", "attention_producer=1,attention_warpgroups=1",
        "attention_producer=1,attention_warpgroups=3,attention_rowsum_mma=1",
        "attention_exp2_fma=4", "attention_exp2_fma=8,attention_warpgroups=3,attention_overlap=2",
        "attention_split_pv=1", "attention_split_pv=1,attention_rowsum_mma=1",
        "attention_split_pv=1,attention_warpgroups=3,attention_mbarrier=0",
        "attention_split_pv=1,attention_producer=1", "attention_tma=0",
        "attention_tma=0,attention_warpgroups=3,attention_overlap=2",
        "attention_tma=0,attention_pingpong=1", "attention_warpgroups=1",
        "attention_tma=0,attention_producer=1",
        "attention_tma=0,attention_producer=1,attention_warpgroups=3,attention_overlap=2",
        "attention_producer=1,attention_block_n=128,attention_overlap=2",
        "attention_producer=1,attention_block_n=128,attention_warpgroups=3",
        "attention_warpgroups=3,attention_block_n=128",
        "attention_rowsum_mma=1,attention_stages=3", "attention_tma=0,attention_split_pv=1"}) {
    sluice::testing::ScopedEnv env("SLUICE_CUDA_EMIT", emit);
    for (const auto& [dtype, d] :
         std::vector<std::pair<std::string, int>>{{"f16", 64}, {"bf16", 128}}) {
      SCOPED_TRACE(absl::StrCat(emit, " ", dtype, " d ", d));
      ExpectLoweredGraphMatchesOnAnyBuffers(
          absl::StrCat("graph pipe(%q: ", dtype, "[3, 200, ", d, "], %k: ", dtype, "[3, 333, ", d,
                       "], %v: ", dtype, "[3, 333, ", d,
                       "]) {\n  %kt = transpose(%k, dim0 = 1, dim1 = 2)\n",
                       "  %s = matmul(%q, %kt)\n  %x = mul(%s, 0.125)\n",
                       "  %p = softmax(%x, dim = -1)\n  %o = matmul(%p, %v)\n  return %o\n}\n"),
          11);
    }
  }
}

TEST_F(CudaTest, WrongHostInputsAreErrors) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph w(%x: f32[8]) {
  %a = neg(%x)
  return %a
})");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<runtime::Executable> exe = Compile(*g, Options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  absl::StatusOr<std::vector<runtime::Tensor>> r =
      exe->Run({runtime::Tensor::Zeros({ir::DType::kF32, {9}})});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("input 0 (%x) of graph w: expected f32[8]"));
  // The executable still works afterwards.
  EXPECT_TRUE(exe->Run({runtime::Tensor::Zeros({ir::DType::kF32, {8}})}).ok());
}

TEST_F(CudaTest, LargeHalfAndBfloatReductionsAndSoftmax) {
  absl::StatusOr<runtime::Executable> exe = CompileRunAndCompare(R"(
graph big(%x: f16[256, 4096], %y: bf16[512, 1024], %z: f32[4096, 64]) {
  %s = softmax(%x, dim = -1)
  %l = layer_norm(%y, normalized_shape = [1024])
  %c = sum(%z, dims = [0])
  %m = amax(%y, dims = [1])
  return %s, %l, %c, %m
})");
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_TRUE(exe->plan().NodesWith(passes::Decision::kFallback).empty());
}

// Long reductions with few outputs run in two stages (passes/split_reduction.h):
// whole-tensor sum, max and min, a bf16 loss with its producers fused into
// the first stage, an f16 sum (f32 partials), an integer sum, few rows, few
// columns, keepdim and a softmax over one long row match the reference, and
// the plan says each was split. Unsplit, the same graph gives the same
// results.
TEST_F(CudaTest, SplitReductionsMatchTheReference) {
  constexpr char kGraph[] = R"(
graph split(%x: f32[4096, 4096], %h: f16[2048, 4096], %a: bf16[2048, 2048], %b: bf16[2048, 2048],
            %r: f32[8, 1048576], %c: f32[1048576, 8], %i: i32[1024, 1024], %v: f32[1, 1048576]) {
  %s = sum(%x)
  %mx = amax(%x, keepdim = true)
  %mn = amin(%x, dims = [1, 0])
  %sh = sum(%h)
  %d = sub(%a, %b)
  %q = mul(%d, %d)
  %mse = mean(%q)
  %rows = sum(%r, dims = [1])
  %cols = amin(%c, dims = [0], keepdim = true)
  %si = sum(%i)
  %sm = softmax(%v, dim = 1)
  return %s, %mx, %mn, %sh, %mse, %rows, %cols, %si, %sm
})";
  absl::StatusOr<runtime::Executable> exe = CompileRunAndCompare(kGraph);
  ASSERT_TRUE(exe.ok()) << exe.status();
  for (const char* n : {"s", "mx", "mn", "sh", "mse", "rows", "cols", "si", "sm"}) {
    const passes::NodeDecision* d = exe->plan().Find(n);
    ASSERT_NE(d, nullptr) << n;
    EXPECT_EQ(d->decision, passes::Decision::kLower) << n;
    EXPECT_GT(d->split, 1) << n << "\n" << exe->plan().ToTable();
  }
  CompileOptions unsplit = Options();
  unsplit.lowering.split_reductions = false;
  absl::StatusOr<runtime::Executable> whole = CompileRunAndCompare(kGraph, unsplit);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->plan().Find("s")->split, 0);
}

}  // namespace
}  // namespace sluice
