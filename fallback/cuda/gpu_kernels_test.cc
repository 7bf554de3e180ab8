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

  // A device copy of `t` (kept alive in buffers_) and its device view.
  runtime::Tensor ToDevice(const runtime::Tensor& t) {
    absl::StatusOr<cu::DeviceBuffer> b =
        cu::DeviceBuffer::Allocate(device_, std::max<int64_t>(t.nbytes(), 1));
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) return {};
    EXPECT_TRUE(stream_->CopyHostToDevice(b->ptr(), t.data(), t.nbytes()).ok());
    void* p = b->as<void>();
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
