#include "codegen/cuda/test_util.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "codegen/cuda/capabilities.h"
#include "ir/parser.h"
#include "passes/fuse.h"
#include "passes/pipeline.h"

namespace sluice::codegen::cuda {

const CudaKernelLaunch* EmittedGraph::Launch(const std::string& name) const {
  for (const CudaKernelLaunch& k : module.kernels) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string EmittedGraph::KernelSource(const std::string& name) const {
  const CudaKernelLaunch* k = Launch(name);
  if (k == nullptr) return "";
  std::string out;
  int line = 1;
  for (absl::string_view l : absl::StrSplit(module.source, '\n')) {
    if (line >= k->first_line && line <= k->last_line) absl::StrAppend(&out, l, "\n");
    ++line;
  }
  return out;
}

absl::StatusOr<EmittedGraph> EmitGraph(const ir::Graph& graph,
                                       const passes::LoweringOptions& lowering,
                                       const CudaEmitOptions& options) {
  EmittedGraph out;
  out.graph = std::make_unique<ir::Graph>(graph.Clone());
  absl::StatusOr<passes::LoweringPlan> plan =
      passes::RunLoweringPipeline(out.graph.get(), lowering, CudaCapabilities(options.num_sms));
  if (!plan.ok()) return plan.status();
  out.plan = *std::move(plan);
  absl::StatusOr<passes::Schedule> schedule = passes::Fuse(*out.graph, &out.plan);
  if (!schedule.ok()) return schedule.status();
  out.schedule = *std::move(schedule);
  for (const passes::Step& step : out.schedule.steps) {
    if (step.kind != passes::StepKind::kKernel) continue;
    absl::StatusOr<Kernel> k = BuildKernel(*out.graph, step, absl::StrCat("k", step.id));
    if (!k.ok()) return k.status();
    out.kernels.push_back(*std::move(k));
  }
  absl::StatusOr<CudaModuleSource> m = EmitCuda(out.kernels, options);
  if (!m.ok()) return m.status();
  out.module = *std::move(m);
  return out;
}

absl::StatusOr<EmittedGraph> EmitGraphText(const std::string& text,
                                           const passes::LoweringOptions& lowering,
                                           const CudaEmitOptions& options) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text);
  if (!g.ok()) return g.status();
  return EmitGraph(*g, lowering, options);
}

int CountOccurrences(const std::string& haystack, const std::string& needle) {
  if (needle.empty()) return 0;
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace sluice::codegen::cuda
