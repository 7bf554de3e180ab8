#include "passes/pass_registry.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "passes/attention.h"
#include "passes/cse.h"
#include "passes/dce.h"
#include "passes/decompose.h"
#include "passes/matmul_epilogue.h"
#include "passes/selective_lowering.h"
#include "passes/split_reduction.h"

namespace sluice::passes {
namespace {

struct Registry {
  absl::Mutex mu;
  std::map<std::string, PassFactory, std::less<>> factories ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry;
    absl::MutexLock lock(&r->mu);
    r->factories["selective-lowering"] = [](PassContext* c) {
      return std::make_unique<SelectiveLoweringPass>(c);
    };
    r->factories["match-attention"] = [](PassContext* c) {
      return std::make_unique<MatchAttentionPass>(c);
    };
    r->factories["match-matmul-epilogue"] = [](PassContext* c) {
      return std::make_unique<MatchMatmulEpiloguePass>(c);
    };
    r->factories["decompose"] = [](PassContext* c) { return std::make_unique<DecomposePass>(c); };
    r->factories["split-reduction"] = [](PassContext* c) {
      return std::make_unique<SplitReductionPass>(c);
    };
    r->factories["cse"] = [](PassContext* c) { return std::make_unique<CsePass>(c); };
    r->factories["dce"] = [](PassContext*) { return std::make_unique<DcePass>(); };
    return r;
  }();
  return *registry;
}

bool IsKebabCase(absl::string_view name) {
  if (name.empty() || name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return name.find("--") == absl::string_view::npos;
}

}  // namespace

absl::Status RegisterPass(absl::string_view name, PassFactory factory) {
  if (!IsKebabCase(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pass name '", name, "' is not kebab-case (a-z, 0-9, single '-')"));
  }
  if (!factory) {
    return absl::InvalidArgumentError(absl::StrCat("pass '", name, "' has no factory"));
  }
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  if (!r.factories.emplace(std::string(name), std::move(factory)).second) {
    return absl::AlreadyExistsError(absl::StrCat("a pass named '", name, "' is registered"));
  }
  return absl::OkStatus();
}

std::vector<std::string> RegisteredPassNames() {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  std::vector<std::string> names;
  for (const auto& [name, factory] : r.factories) names.push_back(name);
  return names;
}

absl::StatusOr<std::unique_ptr<Pass>> CreatePass(absl::string_view name, PassContext* context) {
  PassFactory factory;
  {
    Registry& r = GetRegistry();
    absl::MutexLock lock(&r.mu);
    auto it = r.factories.find(name);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    return absl::NotFoundError(absl::StrCat("unknown pass '", name, "'; registered passes: ",
                                            absl::StrJoin(RegisteredPassNames(), ", ")));
  }
  return factory(context);
}

absl::StatusOr<std::vector<std::unique_ptr<Pass>>> CreatePasses(absl::string_view names,
                                                                PassContext* context) {
  std::vector<std::unique_ptr<Pass>> passes;
  for (absl::string_view name : absl::StrSplit(names, ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty pass name in '", names, "'"));
    }
    absl::StatusOr<std::unique_ptr<Pass>> pass = CreatePass(name, context);
    if (!pass.ok()) return pass.status();
    passes.push_back(*std::move(pass));
  }
  return passes;
}

}  // namespace sluice::passes
