// The lowering plan: for every call node of a graph, one decision (lowered
// into a generated kernel, a library call, or the reference fallback kernel)
// and the DESIGN §3 rule that made it. Produced by SelectiveLowering; the
// fusion pass fills in the kernel (step) each node ends up in.
#ifndef SLUICE_PASSES_LOWERING_PLAN_H_
#define SLUICE_PASSES_LOWERING_PLAN_H_

#include <cstdint>
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
  // Set by split-reduction (passes/split_reduction.h) on a reduction it split
  // into two stages: the partial results per output element of the first
  // stage (whose kernel `kernel` is; the second follows). 0 otherwise.
  int64_t split = 0;
};

// When split-reduction (passes/split_reduction.h) splits a long reduction
// with few outputs into two stages on a backend, in the backend's terms. The
// defaults never split.
struct SplitReductionParams {
  // Output rows (reductions over the innermost dimension) the backend runs
  // at once when each row gets its own group of threads (CUDA: two
  // 1024-thread blocks per SM). A reduction with at most half this many rows
  // is split into about twice this many partial rows. 0: never split.
  int64_t parallel_rows = 0;
  // The same for column reductions (the innermost dimension kept; CUDA runs
  // 32 columns per block).
  int64_t parallel_columns = 0;
  // Reductions over fewer elements stay whole: the second kernel costs more
  // than the idle device loses.
  int64_t min_length = 65536;
  // Each partial result reduces at least this many elements.
  int64_t min_partial_length = 1024;
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
  // Which reductions to split into two stages (passes/split_reduction.h).
  SplitReductionParams split_reduction;
};

struct LoweringOptions {
  std::vector<std::string> fallback_nodes;  // exact names or globs (* ? [..])
  std::vector<std::string> fallback_ops;
  // Unknown names in the lists above and rule-5 fallbacks become errors.
  bool strict = false;
  enum class OnLoweringError { kFallback, kError };
  OnLoweringError on_lowering_error = OnLoweringError::kFallback;
  // Split long reductions with few outputs into two stages where the backend
  // asks for it (BackendCapabilities::split_reduction); false leaves every
  // reduction one node.
  bool split_reductions = true;
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
  // fused pattern, "0 (attention)", "1 (matmul_epilogue)", for nodes of one,
  // or the split, "0 (split 512)", for a split reduction).
  std::string ToTable() const;
  // {"graph":..,"backend":..,"nodes":[{"name","op","decision","rule",
  //  "rule_id","detail","kernel"[,"fused"][,"split"]}],"warnings":[..]}
  //  ("fused": the pattern a node was fused into, e.g. "attention", when
  //  there is one; "split": NodeDecision::split, when it is set)
  std::string ToJson() const;
};

// Appends `s` as a JSON string literal: quoted, with '"', '\\' and control
// characters escaped (\n \r \t \b \f, else \u00XX; DEL too). ToJson and the
// compile CLI's JSON writer both use it.
void AppendJsonString(std::string* out, absl::string_view s);

// The metadata key decompose writes on each node it makes from a composite:
// the composite's name.
inline constexpr absl::string_view kDecomposedFromKey = "decomposed_from";

// The plan entry that governs `node`: the entry of the composite it was
// decomposed from (its `decomposed_from` metadata) or else its own, by name.
// Null when neither is in the plan. Here, beside the plan, so that every pass
// that reads a plan (fusion included, which does not depend on selective
// lowering) uses this one lookup.
const NodeDecision* DecisionFor(const LoweringPlan& plan, const ir::Node& node);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_LOWERING_PLAN_H_
