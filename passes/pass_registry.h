// The one sorted registry of passes by name, shared by the pass manager's
// pipelines and `tools/compile --passes=`. Built-in: selective-lowering,
// match-attention, match-matmul-epilogue, decompose, cse, split-reduction,
// dce. Other libraries add theirs with RegisterPass (e.g.
// from a static initializer in a cc_library with alwayslink = True).
#ifndef SLUICE_PASSES_PASS_REGISTRY_H_
#define SLUICE_PASSES_PASS_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "passes/pass.h"

namespace sluice::passes {

// Makes a pass for one compilation; `context` outlives the pass.
using PassFactory = std::function<std::unique_ptr<Pass>(PassContext* context)>;

// Adds a pass under `name` (kebab-case, equal to the pass's name()). Error
// if the name is taken or not kebab-case, or `factory` is empty. Thread-safe.
absl::Status RegisterPass(absl::string_view name, PassFactory factory);

// Every registered name, sorted.
std::vector<std::string> RegisteredPassNames();

// A new pass by name; NotFound (listing the registered names) when unknown.
absl::StatusOr<std::unique_ptr<Pass>> CreatePass(absl::string_view name, PassContext* context);

// CreatePass for each name of a comma-separated list ("decompose,cse,dce"),
// as --passes= takes it. Empty entries are an error.
absl::StatusOr<std::vector<std::unique_ptr<Pass>>> CreatePasses(absl::string_view names,
                                                                PassContext* context);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_PASS_REGISTRY_H_
