// The GPU fallback kernels: every case of testdata/fallback/cases.graph (one
// node each, inputs and NumPy's expected output as .npy files) runs on the
// GPU and must match NumPy with the tolerances of
// //fallback:expected_values_test; the GPU registry must cover the CPU
// registry (matmul aside). The GPU cases skip without a GPU.
#include "fallback/cuda/gpu_kernels.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fallback/kernel_registry.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/memory.h"
#include "runtime/cuda/stream.h"
#include "runtime/cuda/test_util.h"
#include "runtime/npy.h"
#include "testing/allclose.h"
#include "testing/random.h"

namespace sluice::fallback::cuda {
namespace {

namespace cu = ::sluice::runtime::cuda;

std::string DataDir() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/testdata/fallback");
  }
  return "testdata/fallback";
}

// As //fallback:expected_values_test (about two ulp of each dtype).
sluice::testing::Tolerance ToleranceFor(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::kF32: return {1e-5, 1e-6, true};
    case ir::DType::kF16: return {2e-3, 1e-4, true};
    case ir::DType::kBF16: return {1.6e-2, 1e-3, true};
    case ir::DType::kF64: return {1e-9, 1e-12, true};
    default: return {0, 0, true};
  }
}

TEST(GpuKernelsCoverage, EveryCpuKernelButMatmulHasAGpuKernel) {
  const KernelRegistry& cpu = KernelRegistry::Cpu();
  std::set<std::pair<std::string, ir::DType>> gpu;
  for (const auto& k : GpuKernelList()) gpu.insert(k);
  int expected = 0;
  for (const std::string& op : cpu.Ops()) {
    for (ir::DType dtype : cpu.DTypes(op)) {
      if (op == "matmul") {
        EXPECT_FALSE(HasGpuKernel(op, dtype));
        continue;
      }
      ++expected;
      EXPECT_TRUE(HasGpuKernel(op, dtype)) << op << " " << ir::DTypeName(dtype);
    }
  }
  EXPECT_EQ(static_cast<int>(gpu.size()), expected);
  EXPECT_FALSE(HasGpuKernel("no_such_op", ir::DType::kF32));
}

class GpuKernelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SLUICE_SKIP_WITHOUT_CUDA();
    absl::StatusOr<cu::CudaDevice*> device = cu::CudaDevice::Get(0);
    ASSERT_TRUE(device.ok()) << device.status();
    device_ = *device;
    absl::StatusOr<std::unique_ptr<cu::CudaStream>> stream = cu::CudaStream::Create(device_);
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::move(*stream);
    activate_ = std::make_unique<cu::ScopedActivateContext>(device_);
    ASSERT_TRUE(activate_->status().ok()) << activate_->status();
    absl::StatusOr<std::unique_ptr<GpuStream>> gpu = GpuStream::Create(stream_->handle(), 0);
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    gpu_ = std::move(*gpu);
  }
  void TearDown() override {
    gpu_.reset();
    activate_.reset();
  }

  // A device copy of `t` (kept alive in buffers_) and its device view,
  // `offset` elements into its allocation (1: not 16-byte aligned).
  runtime::Tensor ToDevice(const runtime::Tensor& t, int offset = 0) {
    const int64_t skip = offset * ir::DTypeSize(t.dtype());
    absl::StatusOr<cu::DeviceBuffer> b =
        cu::DeviceBuffer::Allocate(device_, std::max<int64_t>(t.nbytes() + skip, 1));
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) return {};
    char* p = b->as<char>() + skip;
    EXPECT_TRUE(
        stream_->CopyHostToDevice(reinterpret_cast<cu::DevicePtr>(p), t.data(), t.nbytes()).ok());
    buffers_.push_back(*std::move(b));
    return runtime::Tensor::Borrow(t.dtype(), t.shape(), p);
  }

  cu::CudaDevice* device_ = nullptr;
  std::unique_ptr<cu::CudaStream> stream_;
  std::unique_ptr<cu::ScopedActivateContext> activate_;
  std::unique_ptr<GpuStream> gpu_;
  std::vector<cu::DeviceBuffer> buffers_;
};

// One loop over all cases (one process-wide CUDA context), with a summary
// of the failing (op, dtype) pairs at the end.
TEST_F(GpuKernelsTest, EveryCaseMatchesNumPy) {
  const std::string dir = DataDir();
  absl::StatusOr<std::vector<ir::Graph>> cases = ir::ParseFile(dir + "/cases.graph");
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_GT(cases->size(), 300u);
  std::map<std::string, std::string> failures;  // case -> why
  int ran = 0;
  for (const ir::Graph& g : *cases) {
    SCOPED_TRACE(g.name());
    const ir::Node& node = *g.calls().front();
    if (!HasGpuKernel(node.op(), node.dtype())) continue;
    std::vector<runtime::Tensor> args(node.num_operands());
    for (int i = 0; i < node.num_operands(); ++i) {
      if (node.operand(i).is_literal()) continue;
      absl::StatusOr<runtime::Tensor> t = runtime::ReadNpy(
          absl::StrCat(dir, "/", g.name(), ".in", node.operand_node(i)->index(), ".npy"));
      ASSERT_TRUE(t.ok()) << t.status();
      args[i] = ToDevice(*t);
    }
    absl::StatusOr<runtime::Tensor> expected =
        runtime::ReadNpy(absl::StrCat(dir, "/", g.name(), ".out.npy"));
    ASSERT_TRUE(expected.ok()) << expected.status();
    runtime::Tensor out_host = runtime::Tensor::Zeros(node.type());
    runtime::Tensor out = ToDevice(out_host);
    absl::Status s = RunNodeOnGpu(*gpu_, node, args, out);
    if (s.ok()) s = stream_->CopyDeviceToHost(out_host.data(), reinterpret_cast<cu::DevicePtr>(out.data()),
                                               out_host.nbytes());
    if (s.ok()) s = stream_->Synchronize();
    ++ran;
    if (!s.ok()) {
      failures[g.name()] = std::string(s.message());
      ADD_FAILURE() << s;
      continue;
    }
    const sluice::testing::AllCloseResult r =
        sluice::testing::AllClose(out_host, *expected, ToleranceFor(node.dtype()));
    if (!r.ok) {
      failures[g.name()] = r.message;
      ADD_FAILURE() << node.ToString() << ": " << r.message;
    }
    buffers_.clear();
  }
  EXPECT_GT(ran, 300);
  std::vector<std::string> names;
  for (const auto& [name, why] : failures) names.push_back(name);
  std::cout << "GPU fallback cases run: " << ran << ", failed: " << failures.size()
            << (names.empty() ? "" : absl::StrCat(" (", absl::StrJoin(names, " "), ")")) << "\n";
}

// The elementwise kernels at sizes with whole blocks and a ragged tail
// (cases.graph's tensors are smaller than one block of the GPU executor,
// 1024 packets), on 16-byte-aligned buffers (the packet path) and on views one
// element into their allocations (the element path), against the CPU kernels.
TEST_F(GpuKernelsTest, ElementwiseOnWholeBlocksAndUnalignedViewsMatchesTheCpu) {
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseModule(R"(
graph exp_f32(%x: f32[12295]) {
  %o = exp(%x)
  return %o
}
graph gelu_f32(%x: f32[12295]) {
  %o = gelu(%x)
  return %o
}
graph add_f32(%x: f32[12295], %y: f32[12295]) {
  %o = add(%x, %y)
  return %o
}
graph mul_scalar_f32(%x: f32[12295]) {
  %o = mul(%x, 2.0)
  return %o
}
graph sub_bcast_f32(%x: f32[3, 4099], %y: f32[4099]) {
  %o = sub(%x, %y)
  return %o
}
graph max_f32(%x: f32[12295], %y: f32[12295]) {
  %o = maximum(%x, %y)
  return %o
}
graph lt_f32(%x: f32[12295], %y: f32[12295]) {
  %o = lt(%x, %y)
  return %o
}
graph where_f32(%c: bool[12295], %x: f32[12295], %y: f32[12295]) {
  %o = where(%c, %x, %y)
  return %o
}
graph cast_f32_bf16(%x: f32[12295]) {
  %o = cast(%x, dtype = bf16)
  return %o
}
graph cast_f32_i32(%x: f32[12295]) {
  %o = cast(%x, dtype = i32)
  return %o
}
graph add_f16(%x: f16[12295], %y: f16[12295]) {
  %o = add(%x, %y)
  return %o
}
graph sigmoid_f16(%x: f16[12295]) {
  %o = sigmoid(%x)
  return %o
}
graph add_bf16(%x: bf16[12295], %y: bf16[12295]) {
  %o = add(%x, %y)
  return %o
}
graph tanh_bf16(%x: bf16[12295]) {
  %o = tanh(%x)
  return %o
}
graph add_f64(%x: f64[12295], %y: f64[12295]) {
  %o = add(%x, %y)
  return %o
}
graph neg_f64(%x: f64[12295]) {
  %o = neg(%x)
  return %o
}
graph mul_i32(%x: i32[12295], %y: i32[12295]) {
  %o = mul(%x, %y)
  return %o
}
graph not_bool(%x: bool[12295]) {
  %o = logical_not(%x)
  return %o
}
graph and_bool(%x: bool[12295], %y: bool[12295]) {
  %o = logical_and(%x, %y)
  return %o
}
graph full_f32() {
  %o = full(shape = [12295], value = 1.5, dtype = f32)
  return %o
}
)");
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  ASSERT_EQ(graphs->size(), 20u);
  for (const ir::Graph& g : *graphs) {
    const ir::Node& node = *g.calls().front();
    SCOPED_TRACE(g.name());
    const std::vector<runtime::Tensor> graph_inputs = sluice::testing::RandomInputs(g, /*seed=*/7);
    std::vector<runtime::Tensor> inputs(node.num_operands());  // Literals stay empty.
    for (int i = 0; i < node.num_operands(); ++i) {
      if (!node.operand(i).is_literal()) inputs[i] = graph_inputs[node.operand_node(i)->index()];
    }
    runtime::Tensor expected = runtime::Tensor::Zeros(node.type());
    const absl::Status cpu = RunNode(node, inputs, expected);
    ASSERT_TRUE(cpu.ok()) << cpu;
    for (const int offset : {0, 1}) {  // elements into the allocation
      SCOPED_TRACE(offset == 0 ? "aligned" : "unaligned");
      std::vector<runtime::Tensor> args;
      for (const runtime::Tensor& t : inputs) {
        args.push_back(t.data() == nullptr ? runtime::Tensor() : ToDevice(t, offset));
      }
      runtime::Tensor out_host = runtime::Tensor::Zeros(node.type());
      runtime::Tensor out = ToDevice(out_host, offset);
      const absl::Status gpu = RunNodeOnGpu(*gpu_, node, args, out);
      ASSERT_TRUE(gpu.ok()) << gpu;
      ASSERT_TRUE(stream_->CopyDeviceToHost(out_host.data(),
                                            reinterpret_cast<cu::DevicePtr>(out.data()),
                                            out_host.nbytes())
                      .ok());
      ASSERT_TRUE(stream_->Synchronize().ok());
      sluice::testing::Tolerance tol = ToleranceFor(node.dtype());
      tol.rtol *= 2;
      tol.atol *= 2;
      const sluice::testing::AllCloseResult r = sluice::testing::AllClose(out_host, expected, tol);
      EXPECT_TRUE(r.ok) << r.message;
      buffers_.clear();
    }
  }
}

TEST_F(GpuKernelsTest, MissingKernelIsNotFound) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph m(%a: i32[2, 2], %b: i32[2, 2]) {
  %c = matmul(%a, %b)
  return %c
})");
  ASSERT_TRUE(g.ok()) << g.status();
  runtime::Tensor a = ToDevice(runtime::Tensor::Zeros({ir::DType::kI32, {2, 2}}));
  runtime::Tensor c = ToDevice(runtime::Tensor::Zeros({ir::DType::kI32, {2, 2}}));
  absl::Status s = RunNodeOnGpu(*gpu_, *g->calls().front(), {a, a}, c);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
}

}  // namespace
}  // namespace sluice::fallback::cuda
