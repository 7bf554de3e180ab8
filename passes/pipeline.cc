#include "passes/pipeline.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"

namespace sluice::passes {

std::vector<std::string> LoweringPipelinePasses() {
  return {"selective-lowering", "match-attention", "match-matmul-epilogue", "decompose", "cse",
          "split-reduction", "dce"};
}

absl::StatusOr<LoweringPlan> RunLoweringPipeline(ir::Graph* graph, const LoweringOptions& options,
                                                 const BackendCapabilities& caps,
                                                 const PipelineOptions& pipeline) {
  PassContext context;
  context.options = options;
  context.capabilities = caps;
  context.lowering_errors = pipeline.lowering_errors;

  PassManager::Options pm_options;
  pm_options.verify_each = pipeline.verify_each;
  pm_options.check_unchanged = pipeline.verify_each;
  pm_options.dump_after = pipeline.dump_after;
  pm_options.dump = pipeline.dump;
  PassManager pm(std::move(pm_options));
  for (const std::string& name : LoweringPipelinePasses()) {
    absl::StatusOr<std::unique_ptr<Pass>> pass = CreatePass(name, &context);
    if (!pass.ok()) return pass.status();
    pm.Add(*std::move(pass));
  }
  absl::StatusOr<bool> changed = pm.Run(graph);
  if (pipeline.timings != nullptr) *pipeline.timings = pm.timings();
  if (!changed.ok()) return changed.status();
  if (!context.plan.has_value()) {
    return absl::InternalError("selective-lowering did not produce a plan");
  }
  return *std::move(context.plan);
}

}  // namespace sluice::passes
