// The pass interface and the context passes share.
//
// A pass rewrites an ir::Graph in place and says whether it changed anything
// (XLA's HloPassInterface). Passes that need more than the graph (the
// lowering options, the backend's capability table, the lowering plan that
// selective-lowering builds and later passes read and extend) get it from a
// PassContext handed to them at construction; the context must outlive them.
#ifndef SLUICE_PASSES_PASS_H_
#define SLUICE_PASSES_PASS_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"

namespace sluice::passes {

class Pass {
 public:
  virtual ~Pass() = default;

  // A stable kebab-case id ("selective-lowering", "dce"): used by the pass
  // registry, --passes=, --dump_after= and in timings and errors.
  virtual absl::string_view name() const = 0;

  // Rewrites `graph` in place. Returns whether the printed graph changed; a
  // pass that returns false must leave ir::PrintGraph(*graph) unchanged (the
  // pass manager checks this in debug builds). An error leaves the graph in
  // an unspecified but destructible state.
  virtual absl::StatusOr<bool> Run(ir::Graph* graph) = 0;
};

// What passes of one compilation share.
struct PassContext {
  LoweringOptions options;
  BackendCapabilities capabilities;
  // DESIGN §3 rule 6: node name -> the compiler's error message for nodes
  // whose lowering or kernel compilation failed in an earlier attempt.
  absl::flat_hash_map<std::string, std::string> lowering_errors;
  // Set by the selective-lowering pass; decompose and cse read it, fusion
  // fills in each entry's kernel. Empty until selective-lowering has run.
  std::optional<LoweringPlan> plan;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_PASS_H_
