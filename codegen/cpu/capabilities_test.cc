#include "codegen/cpu/capabilities.h"

#include <string>

#include "gtest/gtest.h"
#include "ir/parser.h"

namespace sluice::codegen::cpu {
namespace {

TEST(CpuCapabilitiesTest, LowersEverythingButMatmulWhichIsALibraryCall) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph g(%x: f16[4, 8], %w: f16[8, 8]) {
  %a = exp(%x)
  %s = softmax(%a, dim = 1)
  %m = matmul(%s, %w)
  %i = argmax(%m, dim = 1)
  return %i
})");
  ASSERT_TRUE(g.ok()) << g.status();
  passes::BackendCapabilities caps = CpuCapabilities();
  EXPECT_EQ(caps.backend, "cpu");
  // No fused patterns on the CPU: matmul + bias + gelu stays a library
  // matmul and a kernel (passes/matmul_epilogue.h), attention is decomposed.
  EXPECT_FALSE(caps.fused_matmul_epilogue);
  EXPECT_FALSE(caps.fused_attention);
  for (const ir::Node* n : g->calls()) {
    std::string why;
    const passes::Decision d = caps.classify(*n, &why);
    EXPECT_EQ(d, n->op() == "matmul" ? passes::Decision::kLibrary : passes::Decision::kLower)
        << n->op();
  }
}

}  // namespace
}  // namespace sluice::codegen::cpu
