// The golden-text test driver for passes (test-only): each case of a
// passes/testdata/*.graph file is a graph plus `// RUN:` lines saying what to
// run, and CHECK lines (testing/filecheck.h) over what it prints. Like
// `mlir-opt --pass-pipeline=...`:
//
//   // RUN: passes=selective-lowering,decompose
//   // RUN: fallback_ops=add
//   // CHECK: add  fallback  4:fallback_ops
//   graph g(%x: f32[4]) { ... }
//
// RUN options, one per line:
//   passes=a,b,..           registered pass names (default: the lowering
//                           pipeline, LoweringPipelinePasses())
//   fallback_nodes=a,b*     LoweringOptions::fallback_nodes
//   fallback_ops=add,mul    LoweringOptions::fallback_ops
//   strict                  LoweringOptions::strict
//   on_lowering_error=error|fallback
//   lowering_error=NODE: MESSAGE   one rule-6 compile error (repeatable)
//   unsupported_ops=a,b     the backend cannot lower these (rule 5)
//   unsupported_dtypes=f16  ... nor nodes with these result dtypes
//   library_ops=matmul      the backend lowers these as library calls
//   mark_ops=add            MarkNodesForFallback on nodes of these ops first
//   split_reduction=rows:8,columns:64,min_length:64,min_partial:8
//                           the backend's SplitReductionParams (omitted
//                           keys keep their defaults)
//   no_split_reductions     LoweringOptions::split_reductions = false
//   dump_after=all|pass,..  the output is the dumps (and then the final graph)
//   print=plan,graph,json,dot   what to print, in this order (default
//                           plan,graph); plan/json/dot need selective-lowering
//
// The output is "plan:" + the plan table, then the printed graph (or the
// JSON / DOT), or "error: <message>" when a pass fails. Every pass runs with
// verification and the "unchanged" check on. Other `//` lines are comments.
#ifndef SLUICE_PASSES_GOLDEN_H_
#define SLUICE_PASSES_GOLDEN_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::passes {

// What one case prints (see above); an error for malformed RUN lines or
// input the parser rejects. `filename` names the input in parse errors.
absl::StatusOr<std::string> RunGoldenCase(absl::string_view case_text,
                                          absl::string_view filename = "<case>");

// Runs every case of a golden file (a runfiles-relative path such as
// "passes/testdata/cse.graph").
absl::Status RunGoldenTestFile(const std::string& path);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_GOLDEN_H_
