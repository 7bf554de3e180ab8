// Real models exported from PyTorch (testdata/models, written by
// tools/export_models.py): each compiles and runs on every device (cpu, and
// cuda where there is a GPU; it skips saying why elsewhere) and matches
// PyTorch's stored outputs; in the copies with FX nodes marked
// should_fallback, the plan reports exactly those nodes as rule-1 fallbacks
// and the executable runs each on its own fallback step.
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/lowering_plan.h"
#include "runtime/cuda/test_util.h"
#include "runtime/npy.h"
#include "sluice/compile.h"
#include "testing/allclose.h"

namespace sluice {
namespace {

struct ModelCase {
  std::string dir;    // testdata/models/<dir>
  std::string graph;  // <dir>/<graph>.graph
  bool marked;        // the copy with nodes marked in FX
};

using Param = std::tuple<ModelCase, std::string>;  // the model, the device

std::string Name(const ::testing::TestParamInfo<Param>& info) {
  return std::get<0>(info.param).graph + "_" + std::get<1>(info.param);
}

class ModelTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (std::get<1>(GetParam()) == "cuda") SLUICE_SKIP_WITHOUT_CUDA();
  }
};

TEST_P(ModelTest, CompilesRunsAndMatchesPyTorch) {
  const ModelCase& c = std::get<0>(GetParam());
  const std::string dir = "testdata/models/" + c.dir + "/";
  absl::StatusOr<std::vector<ir::Graph>> graphs = ir::ParseFile(dir + c.graph + ".graph");
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  ASSERT_EQ(graphs->size(), 1u);
  const ir::Graph& graph = (*graphs)[0];

  std::vector<std::string> marked;
  for (const ir::Node* n : graph.calls()) {
    const ir::AttrValue* v = n->meta().Find("should_fallback");
    if (v != nullptr && v->is_bool() && v->as_bool()) marked.push_back(n->name());
  }
  if (c.marked) {
    ASSERT_FALSE(marked.empty()) << "the marked copy has no should_fallback node";
  } else {
    ASSERT_TRUE(marked.empty());
  }

  std::vector<runtime::Tensor> inputs;
  for (const ir::Node* in : graph.inputs()) {
    absl::StatusOr<runtime::Tensor> t = runtime::ReadNpy(dir + in->name() + ".npy");
    ASSERT_TRUE(t.ok()) << t.status();
    inputs.push_back(*std::move(t));
  }

  CompileOptions options;
  options.device = std::get<1>(GetParam()) == "cuda" ? DeviceKind::kCuda : DeviceKind::kCpu;
  if (const char* tmp = std::getenv("TEST_TMPDIR")) options.cache_dir = std::string(tmp) + "/cache";
  absl::StatusOr<runtime::Executable> exe = Compile(graph, options);
  ASSERT_TRUE(exe.ok()) << exe.status();

  // The plan: the marked nodes, and only they, fall back, by rule 1.
  const passes::LoweringPlan& plan = exe->plan();
  EXPECT_THAT(plan.NodesWith(passes::Decision::kFallback),
              ::testing::UnorderedElementsAreArray(marked))
      << plan.ToTable();
  for (const std::string& name : marked) {
    const passes::NodeDecision* d = plan.Find(name);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->rule, passes::Rule::kMetaFallback) << name;
    ASSERT_GE(d->kernel, 0) << name;
    const runtime::StepInfo& step = exe->steps()[d->kernel];
    EXPECT_EQ(step.kind, passes::StepKind::kFallback) << step.ToString();
    EXPECT_THAT(step.nodes, ::testing::ElementsAre(name)) << step.ToString();
  }
  EXPECT_GT(exe->schedule().num_kernels(), 0) << "nothing was lowered";

  absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  const std::string base = c.graph.substr(0, c.graph.find("_fallback"));
  for (size_t i = 0; i < out->size(); ++i) {
    absl::StatusOr<runtime::Tensor> expected =
        runtime::ReadNpy(dir + base + ".expected." + std::to_string(i) + ".npy");
    ASSERT_TRUE(expected.ok()) << expected.status();
    // The exporter's recorded tolerance for f32 (testdata/models/manifest.json).
    EXPECT_ALLCLOSE_TOL((*out)[i], *expected, {1e-4, 1e-5}) << exe->StepsToString();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ModelTest,
    ::testing::Combine(
        ::testing::Values(ModelCase{"mlp", "mlp", false}, ModelCase{"mlp", "mlp_fallback", true},
                          ModelCase{"gpt2_block", "gpt2_block", false},
                          ModelCase{"gpt2_block", "gpt2_block_fallback", true},
                          ModelCase{"llama_block", "llama_block", false},
                          ModelCase{"llama_block", "llama_block_fallback", true},
                          ModelCase{"classifier", "classifier", false},
                          ModelCase{"classifier", "classifier_fallback", true}),
        ::testing::Values("cpu", "cuda")),
    Name);

}  // namespace
}  // namespace sluice
