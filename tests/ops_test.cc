// Op coverage of the backends: each graph below packs a family of ops (in
// several dtypes, f16 and bf16 included) into one compiled module, run
// against the reference interpreter with torch.testing's default
// tolerances, on each device ("cpu", "cuda"; the cuda cases skip, with the
// reason, without a GPU). The plan must lower every node (a silent fallback
// would make these tests vacuous).
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fallback/interpreter.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/lowering_plan.h"
#include "runtime/cuda/test_util.h"
#include "runtime/executable.h"
#include "sluice/compile.h"
#include "testing/allclose.h"
#include "testing/random.h"

namespace sluice {
namespace {

struct OpCase {
  std::string name;
  std::string text;
};

class OpsTest : public ::testing::TestWithParam<std::tuple<OpCase, std::string>> {
 protected:
  void SetUp() override {
    if (device() == "cuda") SLUICE_SKIP_WITHOUT_CUDA();
  }
  const OpCase& op_case() const { return std::get<0>(GetParam()); }
  const std::string& device() const { return std::get<1>(GetParam()); }
};

TEST_P(OpsTest, MatchesReference) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(op_case().text);
  ASSERT_TRUE(g.ok()) << g.status();
  CompileOptions o;
  o.device = device() == "cuda" ? DeviceKind::kCuda : DeviceKind::kCpu;
  if (const char* tmp = std::getenv("TEST_TMPDIR")) o.cache_dir = std::string(tmp) + "/cache";
  absl::StatusOr<runtime::Executable> exe = Compile(*g, o);
  ASSERT_TRUE(exe.ok()) << exe.status();
  for (const passes::NodeDecision& e : exe->plan().entries) {
    EXPECT_TRUE(passes::IsLowered(e.decision)) << e.node << " fell back: " << e.detail;
  }
  std::vector<runtime::Tensor> in;
  for (const ir::Node* n : g->inputs()) {
    in.push_back(sluice::testing::RandomNormal(n->type(), 100 + in.size(), 0.5, 1.0));
  }
  absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(out->size(), ref->size());
  for (size_t i = 0; i < out->size(); ++i) {
    sluice::testing::Tolerance tol = sluice::testing::DefaultTolerance((*ref)[i].dtype());
    tol.equal_nan = true;
    // f16/bf16: sluice keeps fused intermediates in f32 (like Inductor) while
    // the reference rounds after every op.
    if ((*ref)[i].dtype() == ir::DType::kF16) tol = {1e-2, 1e-2, true};
    if ((*ref)[i].dtype() == ir::DType::kBF16) tol = {5e-2, 5e-2, true};
    EXPECT_ALLCLOSE_TOL((*out)[i], (*ref)[i], tol)
        << "output " << i << " (%" << g->outputs()[i]->name() << ")\n"
        << exe->generated_source();
  }
}

const OpCase kCases[] = {
    {"unary_f32", R"(
graph unary(%x: f32[33, 17]) {
  %p = abs(%x)
  %q = add(%p, 0.5)
  %a = neg(%x)
  %b = exp(%x)
  %c = log(%q)
  %d = sqrt(%q)
  %e = rsqrt(%q)
  %f = sin(%x)
  %g = cos(%x)
  %h = tanh(%x)
  %i = sigmoid(%x)
  %j = relu(%x)
  %k = silu(%x)
  %l = erf(%x)
  %m = reciprocal(%q)
  %n = gelu(%x)
  %o = gelu(%x, approximate = "tanh")
  return %a, %b, %c, %d, %e, %f, %g, %h, %i, %j, %k, %l, %m, %n, %o, %p
})"},
    {"binary_broadcast", R"(
graph binary(%x: f32[8, 1, 5], %y: f32[3, 5], %z: f32[]) {
  %a = add(%x, %y)
  %b = sub(%x, %y)
  %c = mul(%x, %z)
  %q = abs(%y)
  %r = add(%q, 1.0)
  %d = div(%x, %r)
  %e = pow(%r, %x)
  %f = maximum(%x, %y)
  %g = minimum(%x, %y)
  %h = sub(2.0, %x)
  %i = div(1, %r)
  %j = pow(%x, 2)
  return %a, %b, %c, %d, %e, %f, %g, %h, %i, %j
})"},
    {"compare_logical_where", R"(
graph cmp(%x: f32[6, 7], %y: f32[7], %n: i32[6, 7]) {
  %a = eq(%x, %y)
  %b = ne(%x, 0.5)
  %c = lt(%x, %y)
  %d = le(%n, 0)
  %e = gt(%x, %n)
  %f = ge(%n, %x)
  %g = logical_and(%a, %c)
  %h = logical_or(%b, %d)
  %i = logical_not(%e)
  %j = where(%c, %x, %y)
  %k = where(%f, %n, 3)
  %l = logical_not(%x)
  return %a, %b, %c, %d, %e, %f, %g, %h, %i, %j, %k, %l
})"},
    {"integers_and_casts", R"(
graph ints(%x: f32[4, 9], %n: i32[4, 9], %m: i64[9]) {
  %a = add(%n, %m)
  %b = mul(%n, 3)
  %c = sub(%n, %m)
  %d = div(%n, 2)
  %e = neg(%n)
  %f = abs(%n)
  %g = relu(%n)
  %h = maximum(%n, %m)
  %i = cast(%x, dtype = i32)
  %j = cast(%n, dtype = f64)
  %k = cast(%x, dtype = bool)
  %l = cast(%k, dtype = f16)
  %o = exp(%n)
  %p = mul(%n, 0.5)
  %q = sum(%n, dims = [1])
  %r = amax(%n, dims = [0])
  return %a, %b, %c, %d, %e, %f, %g, %h, %i, %j, %k, %l, %o, %p, %q, %r
})"},
    {"half_and_bfloat", R"(
graph half(%x: f16[16, 24], %y: bf16[16, 24], %z: f64[24]) {
  %a = mul(%x, 2.0)
  %b = add(%a, 1.0)
  %c = exp(%y)
  %d = cast(%x, dtype = bf16)
  %e = cast(%y, dtype = f32)
  %f = add(%z, %e)
  %g = sum(%x, dims = [1])
  %h = amax(%y, dims = [0], keepdim = true)
  %i = mean(%x, dims = [0, 1])
  %j = softmax(%y, dim = 1)
  %k = layer_norm(%x, normalized_shape = [24])
  return %b, %c, %d, %f, %g, %h, %i, %j, %k
})"},
    {"reductions", R"(
graph red(%x: f32[5, 6, 7]) {
  %a = sum(%x)
  %b = sum(%x, dims = [1])
  %c = mean(%x, dims = [0, 2], keepdim = true)
  %d = amax(%x, dims = [-1])
  %e = amin(%x, dims = [0])
  %f = argmax(%x, dim = 1)
  %g = argmax(%x, dim = -1, keepdim = true)
  %h = sum(%x, dims = [2], keepdim = true)
  %i = sub(%x, %h)
  %j = mul(%i, %i)
  %k = sum(%j, dims = [2])
  return %a, %b, %c, %d, %e, %f, %g, %i, %k
})"},
    {"composites", R"(
graph comp(%x: f32[12, 40], %w: f32[40], %b: f32[40], %y: f32[3, 4, 10]) {
  %a = softmax(%x, dim = 1)
  %c = log_softmax(%x, dim = -1)
  %d = layer_norm(%x, %w, %b, normalized_shape = [40])
  %e = rms_norm(%x, %w, normalized_shape = [40])
  %f = softmax(%y, dim = 1)
  %g = layer_norm(%y, normalized_shape = [4, 10])
  %h = softmax(%x, dim = 0)
  return %a, %c, %d, %e, %f, %g, %h
})"},
    {"layout", R"(
graph layout(%x: f32[4, 6], %y: f32[6, 4], %z: f32[2, 4], %v: f32[3]) {
  %t = transpose(%x, dim0 = 0, dim1 = 1)
  %a = add(%t, %y)
  %s = slice(%a, dim = 0, start = 1, end = 6, step = 2)
  %c = concat(%s, %z, %s, dim = 0)
  %r = reshape(%c, shape = [-1, 2])
  %p = permute(%r, dims = [1, 0])
  %u = unsqueeze(%v, dim = 0)
  %e = expand(%u, shape = [5, 3])
  %q = squeeze(%u)
  %w = reshape(%x, shape = [2, 12])
  %k = exp(%w)
  %m = slice(%k, dim = 1, start = -5)
  return %p, %e, %q, %m
})"},
    {"layout_before_reduction", R"(
graph lr(%x: f32[8, 16], %y: f32[16, 8]) {
  %t = transpose(%y, dim0 = 0, dim1 = 1)
  %a = mul(%x, %t)
  %s = sum(%a, dims = [1], keepdim = true)
  %d = div(%a, %s)
  %r = reshape(%d, shape = [4, 32])
  %m = amax(%r, dims = [1])
  return %d, %m
})"},
    {"nan_ties_and_bool_reductions", R"(
graph nan(%x: f32[6, 8], %b: bool[6, 8]) {
  %p = abs(%x)
  %n = neg(%p)
  %l = log(%n)
  %m = where(%b, %l, %x)
  %a = amax(%m, dims = [1])
  %c = amin(%m, dims = [0])
  %i = argmax(%m, dim = 1)
  %r = relu(%x)
  %t = argmax(%r, dim = 0)
  %u = amax(%b, dims = [1])
  %v = amin(%b, dims = [0])
  %w = sum(%b, dims = [1])
  %mx = maximum(%m, %x)
  %mn = minimum(%x, %m)
  return %a, %c, %i, %t, %u, %v, %w, %mx, %mn
})"},
    {"full_and_scalars", R"(
graph full(%x: f32[], %y: f32[4]) {
  %f = full(shape = [4], value = 1.5)
  %a = add(%y, %f)
  %b = mul(%x, %a)
  %c = full(shape = [2, 2], value = 3, dtype = i64)
  %d = sum(%x)
  %e = exp(%x)
  return %b, %c, %d, %e
})"},
};

INSTANTIATE_TEST_SUITE_P(Cases, OpsTest,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Values("cpu", "cuda")),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace sluice
