// Executable's device-tensor API (RunDevice, RunDeviceInto, ToDevice,
// ToHost, AllocateDeviceTensor) on each device: on "cpu" device memory is
// host memory; the "cuda" cases skip, with the reason, without a GPU.
#include <cstdlib>
#include <string>
#include <vector>

#include "fallback/interpreter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "runtime/cuda/test_util.h"
#include "runtime/executable.h"
#include "sluice/compile.h"
#include "testing/allclose.h"
#include "testing/random.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

class DeviceTensorTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "cuda") SLUICE_SKIP_WITHOUT_CUDA();
  }
  CompileOptions options() const {
    CompileOptions o;
    o.device = GetParam() == "cuda" ? DeviceKind::kCuda : DeviceKind::kCpu;
    if (const char* tmp = std::getenv("TEST_TMPDIR")) o.cache_dir = std::string(tmp) + "/cache";
    return o;
  }
};

TEST_P(DeviceTensorTest, RunWithoutHostCopies) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph dt(%x: f32[1000], %y: f16[1000]) {
  %a = cast(%y, dtype = f32)
  %b = add(%x, %a)
  %c = exp(%b) {should_fallback = true}
  return %c, %b, %x, %c
})");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<runtime::Executable> exe = Compile(*g, options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  const std::vector<runtime::Tensor> in = sluice::testing::RandomInputs(*g, 3);
  absl::StatusOr<std::vector<runtime::Tensor>> host = exe->Run(in);
  ASSERT_TRUE(host.ok()) << host.status();
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(*g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();

  std::vector<runtime::DeviceTensor> din;
  for (const runtime::Tensor& t : in) {
    absl::StatusOr<runtime::DeviceTensor> d = exe->ToDevice(t);
    ASSERT_TRUE(d.ok()) << d.status();
    din.push_back(*std::move(d));
  }
  absl::StatusOr<std::vector<runtime::DeviceTensor>> dout = exe->RunDevice(din);
  ASSERT_TRUE(dout.ok()) << dout.status();
  ASSERT_EQ(dout->size(), 4u);
  // The same value returned twice is the same device tensor.
  EXPECT_EQ((*dout)[0].data(), (*dout)[3].data());
  for (size_t i = 0; i < dout->size(); ++i) {
    absl::StatusOr<runtime::Tensor> t = exe->ToHost((*dout)[i]);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_ALLCLOSE_TOL(*t, (*host)[i], {0, 0}) << "output " << i;
    EXPECT_ALLCLOSE_TOL(*t, (*ref)[i], {1e-5, 1e-6}) << "output " << i;
  }
  // Into caller-provided device outputs, twice.
  std::vector<runtime::DeviceTensor> outs;
  for (const ir::Node* o : g->outputs()) {
    absl::StatusOr<runtime::DeviceTensor> d = exe->AllocateDeviceTensor(o->type());
    ASSERT_TRUE(d.ok()) << d.status();
    outs.push_back(*std::move(d));
  }
  for (int run = 0; run < 2; ++run) {
    ASSERT_TRUE(exe->RunDeviceInto(din, absl::MakeSpan(outs)).ok());
  }
  ASSERT_TRUE(exe->Synchronize().ok());
  absl::StatusOr<runtime::Tensor> last = exe->ToHost(outs[3]);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_ALLCLOSE_TOL(*last, (*host)[3], {0, 0});

  // Wrong device inputs are errors naming the input.
  std::vector<runtime::DeviceTensor> bad = {din[1], din[1]};
  absl::StatusOr<std::vector<runtime::DeviceTensor>> r = exe->RunDevice(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("input 0 (%x) of graph dt: expected f32[1000]"));
}


TEST_P(DeviceTensorTest, BorrowedMemoryAndCopies) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph b(%x: f32[64]) {
  %y = mul(%x, 3.0)
  return %y
})");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<runtime::Executable> exe = Compile(*g, options());
  ASSERT_TRUE(exe.ok()) << exe.status();
  runtime::Tensor x = sluice::testing::RandomNormal({ir::DType::kF32, {64}}, 5);
  absl::StatusOr<runtime::DeviceTensor> dx = exe->ToDevice(x);
  ASSERT_TRUE(dx.ok()) << dx.status();
  absl::StatusOr<runtime::DeviceTensor> dy = exe->AllocateDeviceTensor(g->outputs()[0]->type());
  ASSERT_TRUE(dy.ok()) << dy.status();
  // Views of memory someone else owns.
  std::vector<runtime::DeviceTensor> in = {
      runtime::DeviceTensor::Borrow(ir::DType::kF32, {64}, dx->data())};
  std::vector<runtime::DeviceTensor> out = {
      runtime::DeviceTensor::Borrow(ir::DType::kF32, {64}, dy->data())};
  ASSERT_TRUE(exe->RunDeviceInto(in, absl::MakeSpan(out)).ok());
  absl::StatusOr<runtime::Tensor> y = exe->ToHost(*dy);
  ASSERT_TRUE(y.ok()) << y.status();
  for (int i = 0; i < 64; ++i) {
    EXPECT_FLOAT_EQ(y->data_as<float>()[i], 3.0f * x.data_as<float>()[i]) << i;
  }
  EXPECT_FALSE(exe->ToHost(runtime::DeviceTensor::Borrow(ir::DType::kF32, {4}, nullptr)).ok());
  // Outputs of the wrong type are errors naming the output.
  std::vector<runtime::DeviceTensor> wrong = {
      runtime::DeviceTensor::Borrow(ir::DType::kF16, {64}, dy->data())};
  absl::Status s = exe->RunDeviceInto(in, absl::MakeSpan(wrong));
  EXPECT_THAT(s.message(), HasSubstr("output 0 (%y) of graph b: expected f32[64], got f16[64]"));
}

INSTANTIATE_TEST_SUITE_P(Devices, DeviceTensorTest, ::testing::Values("cpu", "cuda"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice
