#include "testing/differential.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "fallback/interpreter.h"
#include "ir/printer.h"
#include "testing/random.h"

namespace sluice::testing {
namespace {

bool SameBytes(const runtime::Tensor& a, const runtime::Tensor& b) {
  return a.type() == b.type() &&
         (a.nbytes() == 0 || std::memcmp(a.data(), b.data(), a.nbytes()) == 0);
}

// What a reader needs to replay a failure.
std::string ReplayInfo(const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs,
                       std::optional<uint64_t> seed) {
  std::string s = seed.has_value()
                      ? absl::StrCat("inputs: testing::RandomInputs(graph, /*seed=*/", *seed, ")\n")
                      : std::string("inputs:\n");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name =
        i < graph.inputs().size() ? absl::StrCat("%", graph.inputs()[i]->name()) : "(extra)";
    absl::StrAppend(&s, "  ", name, " = ", inputs[i].DebugString(), "\n");
  }
  absl::StrAppend(&s, "graph:\n", ir::PrintGraph(graph));
  return s;
}

absl::Status Compare(const ir::Graph& graph, const std::vector<runtime::Tensor>& inputs,
                     const CompileAndRunFn& run, std::optional<Tolerance> tol,
                     std::optional<uint64_t> seed) {
  auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return absl::Status(code, absl::StrCat(what, "\n", ReplayInfo(graph, inputs, seed)));
  };
  std::vector<runtime::Tensor> snapshot;
  snapshot.reserve(inputs.size());
  for (const runtime::Tensor& t : inputs) snapshot.push_back(t.defined() ? t.Clone() : t);
  auto changed_input = [&]() -> std::string {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].defined() && !SameBytes(inputs[i], snapshot[i])) {
        return i < graph.inputs().size() ? absl::StrCat("%", graph.inputs()[i]->name())
                                         : absl::StrCat("#", i);
      }
    }
    return "";
  };

  absl::StatusOr<std::vector<runtime::Tensor>> reference =
      fallback::RunReference(graph, inputs);
  if (!reference.ok()) {
    return fail(reference.status().code(),
                absl::StrCat("the reference interpreter failed: ", reference.status().message()));
  }
  if (std::string name = changed_input(); !name.empty()) {
    return fail(absl::StatusCode::kInternal,
                absl::StrCat("the reference interpreter changed input ", name));
  }
  absl::StatusOr<std::vector<runtime::Tensor>> compiled = run(graph, inputs);
  if (!compiled.ok()) {
    return fail(compiled.status().code(),
                absl::StrCat("compiled run failed: ", compiled.status().ToString()));
  }
  if (std::string name = changed_input(); !name.empty()) {
    return fail(absl::StatusCode::kInternal,
                absl::StrCat("the compiled run changed input ", name));
  }
  const std::vector<ir::Node*>& outputs = graph.outputs();
  if (compiled->size() != outputs.size()) {
    return fail(absl::StatusCode::kInternal,
                absl::StrCat("the compiled run returned ", compiled->size(),
                             " outputs; the graph has ", outputs.size()));
  }
  int mismatched = 0;
  std::string details;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tolerance t = tol.value_or(OutputTolerance(outputs[i]));
    const AllCloseResult r = AllClose((*compiled)[i], (*reference)[i], t);
    const std::string label = absl::StrCat("output ", i, " (%", outputs[i]->name(), ")");
    if (r.ok) {
      absl::StrAppend(&details, label, ": matches: ", r.message, "\n");
      continue;
    }
    ++mismatched;
    absl::StrAppend(&details, label, ": MISMATCH: ", r.message,
                    "\n  compiled:  ", (*compiled)[i].DebugString(),
                    "\n  reference: ", (*reference)[i].DebugString(), "\n");
  }
  if (mismatched == 0) return absl::OkStatus();
  return fail(absl::StatusCode::kInternal,
              absl::StrCat("compiled outputs differ from the reference in ", mismatched, " of ",
                           outputs.size(), " outputs\n", details));
}

::testing::AssertionResult ToAssertion(const absl::Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}

}  // namespace

absl::Status CompareWithReference(const ir::Graph& graph,
                                  const std::vector<runtime::Tensor>& inputs,
                                  const CompileAndRunFn& run, std::optional<Tolerance> tol) {
  return Compare(graph, inputs, run, tol, std::nullopt);
}

absl::Status CompareWithReferenceOnRandomInputs(const ir::Graph& graph, uint64_t seed,
                                                const CompileAndRunFn& run,
                                                std::optional<Tolerance> tol) {
  return Compare(graph, RandomInputs(graph, seed), run, tol, seed);
}

::testing::AssertionResult CompiledMatchesReference(const ir::Graph& graph,
                                                    const std::vector<runtime::Tensor>& inputs,
                                                    const CompileAndRunFn& run,
                                                    std::optional<Tolerance> tol) {
  return ToAssertion(CompareWithReference(graph, inputs, run, tol));
}

::testing::AssertionResult CompiledMatchesReferenceOnRandomInputs(const ir::Graph& graph,
                                                                  uint64_t seed,
                                                                  const CompileAndRunFn& run,
                                                                  std::optional<Tolerance> tol) {
  return ToAssertion(CompareWithReferenceOnRandomInputs(graph, seed, run, tol));
}

}  // namespace sluice::testing
