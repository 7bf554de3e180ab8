// Dead-code elimination: removes call nodes whose value reaches no graph
// output. Metadata plays no part (a dead node marked should_fallback is still
// dead); surviving nodes keep theirs. Graph inputs stay, used or not: they are
// the graph's signature.
//
// Can run anywhere; the lowering pipeline runs it last, after cse. Leaves the
// order, names, attributes and metadata of live nodes untouched.
#ifndef SLUICE_PASSES_DCE_H_
#define SLUICE_PASSES_DCE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "passes/pass.h"

namespace sluice::passes {

// Returns whether any node was removed.
absl::StatusOr<bool> EliminateDeadCode(ir::Graph* graph);

class DcePass : public Pass {
 public:
  absl::string_view name() const override { return "dce"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override { return EliminateDeadCode(graph); }
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_DCE_H_
