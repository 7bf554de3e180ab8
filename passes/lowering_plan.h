// The lowering plan: for every call node of a graph, one decision (lowered
// into a generated kernel, a library call, or the reference fallback kernel)
// and the DESIGN §3 rule that made it. Produced by SelectiveLowering; the
// fusion pass fills in the kernel (step) each node ends up in.
#ifndef SLUICE_PASSES_LOWERING_PLAN_H_
#define SLUICE_PASSES_LOWERING_PLAN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ir/graph.h"

namespace sluice::passes {

enum class Decision { kLower, kLibrary, kFallback };

// DESIGN §3 rules, numbered as there; the first that matches wins.
enum class Rule {
  kMetaFallback = 1,   // meta.should_fallback = true
  kMetaLower = 2,      // meta.should_fallback = false
  kFallbackNode = 3,   // name in options.fallback_nodes (exact or glob)
  kFallbackOp = 4,     // op in options.fallback_ops
  kNoLowering = 5,     // backend cannot lower this op/dtype
  kLoweringError = 6,  // lowering or kernel compilation failed
  kDefault = 7,        // lowered
};

absl::string_view DecisionName(Decision d);  // "lower", "library", "fallback"
absl::string_view RuleName(Rule r);          // "meta.should_fallback=true", ...
bool IsLowered(Decision d);                  // kLower or kLibrary

struct NodeDecision {
  std::string node;  // value name, without '%'
  std::string op;
  Decision decision = Decision::kLower;
  Rule rule = Rule::kDefault;
  std::string detail;  // why, in words: "matches fallback_nodes glob 'attn_*'"
  int kernel = -1;     // the schedule step that runs it; -1 until fused
  // Set by match-attention (passes/attention.h) and match-matmul-epilogue
  // (passes/matmul_epilogue.h) on the nodes of a pattern the backend runs as
  // one step: "attention" (one kernel) or "matmul_epilogue" (one library
  // call), and the name of the pattern's final node (one per fused
  // instance). Empty otherwise.
  std::string fused_pattern;
  std::string fused_root;
};

// What a backend can lower (rule 5). Backends (codegen/cpu, codegen/cuda)
// provide one; passes only see this interface.
struct BackendCapabilities {
  std::string backend;  // "cpu", "cuda"
  // Decision::kLower or kLibrary when the backend can lower `node`; kFallback
  // with `*why` set when it cannot.
  std::function<Decision(const ir::Node& node, std::string* why)> classify;
  // Whether softmax(Q Kᵀ · scale) V may become one attention kernel
  // (passes/attention.h; the CUDA backend, f16/bf16).
  bool fused_attention = false;
  // Whether matmul + bias add + relu/gelu(tanh) may become one library call
  // (passes/matmul_epilogue.h; the CUDA backend, through cuBLASLt).
  bool fused_matmul_epilogue = false;
};

struct LoweringOptions {
  std::vector<std::string> fallback_nodes;  // exact names or globs (* ? [..])
  std::vector<std::string> fallback_ops;
  // Unknown names in the lists above and rule-5 fallbacks become errors.
  bool strict = false;
  enum class OnLoweringError { kFallback, kError };
  OnLoweringError on_lowering_error = OnLoweringError::kFallback;
};

class LoweringPlan {
 public:
  std::string graph_name;
  std::string backend;
  std::vector<NodeDecision> entries;  // one per call node, in graph order
  std::vector<std::string> warnings;  // e.g. an option that matched nothing

  const NodeDecision* Find(absl::string_view node) const;
  NodeDecision* FindMutable(absl::string_view node);
  bool IsFallback(absl::string_view node) const;
  // Names of nodes with the given decision, in graph order.
  std::vector<std::string> NodesWith(Decision d) const;

  // Aligned text table: node, op, decision, rule, kernel (followed by the
  // fused pattern, "0 (attention)", "1 (matmul_epilogue)", for nodes of one).
  std::string ToTable() const;
  // {"graph":..,"backend":..,"nodes":[{"name","op","decision","rule",
  //  "rule_id","detail","kernel"[,"fused"]}],"warnings":[..]} ("fused": the
  //  pattern a node was fused into, e.g. "attention", when there is one)
  std::string ToJson() const;
};

// Appends `s` as a JSON string literal: quoted, with '"', '\\' and control
// characters escaped (\n \r \t \b \f, else \u00XX; DEL too). ToJson and the
// compile CLI's JSON writer both use it.
void AppendJsonString(std::string* out, absl::string_view s);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_LOWERING_PLAN_H_
