#include "passes/golden.h"

#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pass.h"
#include "passes/pass_manager.h"
#include "passes/pass_registry.h"
#include "passes/pipeline.h"
#include "passes/plan_dot.h"
#include "passes/selective_lowering.h"
#include "passes/test_capabilities.h"
#include "testing/filecheck.h"

namespace sluice::passes {
namespace {

std::vector<std::string> SplitList(absl::string_view s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

struct RunSpec {
  std::vector<std::string> passes = LoweringPipelinePasses();
  LoweringOptions options;
  absl::flat_hash_map<std::string, std::string> lowering_errors;
  TestBackendSpec backend;
  absl::flat_hash_set<std::string> mark_ops;
  std::vector<std::string> dump_after;
  std::vector<std::string> print = {"plan", "graph"};
};

absl::Status ApplyOption(absl::string_view option, RunSpec* spec) {
  std::pair<absl::string_view, absl::string_view> kv =
      absl::StrSplit(option, absl::MaxSplits('=', 1));
  const absl::string_view key = absl::StripAsciiWhitespace(kv.first);
  const absl::string_view value = absl::StripAsciiWhitespace(kv.second);
  if (key == "passes") {
    spec->passes = SplitList(value);
  } else if (key == "fallback_nodes") {
    spec->options.fallback_nodes = SplitList(value);
  } else if (key == "fallback_ops") {
    spec->options.fallback_ops = SplitList(value);
  } else if (key == "strict") {
    spec->options.strict = true;
  } else if (key == "on_lowering_error") {
    if (value == "error") {
      spec->options.on_lowering_error = LoweringOptions::OnLoweringError::kError;
    } else if (value == "fallback") {
      spec->options.on_lowering_error = LoweringOptions::OnLoweringError::kFallback;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("on_lowering_error=", value));
    }
  } else if (key == "lowering_error") {
    std::pair<absl::string_view, absl::string_view> nm =
        absl::StrSplit(value, absl::MaxSplits(':', 1));
    absl::string_view node = absl::StripAsciiWhitespace(nm.first);
    absl::ConsumePrefix(&node, "%");
    spec->lowering_errors[std::string(node)] = std::string(absl::StripAsciiWhitespace(nm.second));
  } else if (key == "unsupported_ops") {
    for (std::string& op : SplitList(value)) spec->backend.unsupported_ops.insert(std::move(op));
  } else if (key == "library_ops") {
    for (std::string& op : SplitList(value)) spec->backend.library_ops.insert(std::move(op));
  } else if (key == "unsupported_dtypes") {
    for (const std::string& d : SplitList(value)) {
      std::optional<ir::DType> dtype = ir::ParseDType(d);
      if (!dtype) return absl::InvalidArgumentError(absl::StrCat("unknown dtype ", d));
      spec->backend.unsupported_dtypes.insert(*dtype);
    }
  } else if (key == "mark_ops") {
    for (std::string& op : SplitList(value)) spec->mark_ops.insert(std::move(op));
  } else if (key == "split_reduction") {
    SplitReductionParams& p = spec->backend.split_reduction;
    for (const std::string& item : SplitList(value)) {
      std::pair<absl::string_view, absl::string_view> f = absl::StrSplit(item, ':');
      int64_t* field = f.first == "rows"          ? &p.parallel_rows
                       : f.first == "columns"     ? &p.parallel_columns
                       : f.first == "min_length"  ? &p.min_length
                       : f.first == "min_partial" ? &p.min_partial_length
                                                  : nullptr;
      if (field == nullptr || !absl::SimpleAtoi(f.second, field)) {
        return absl::InvalidArgumentError(absl::StrCat("split_reduction entry '", item, "'"));
      }
    }
  } else if (key == "no_split_reductions") {
    spec->options.split_reductions = false;
  } else if (key == "dump_after") {
    spec->dump_after = SplitList(value);
  } else if (key == "print") {
    spec->print = SplitList(value);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown RUN option '", key, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RunGoldenCase(absl::string_view case_text, absl::string_view filename) {
  // `//` lines (RUN lines and plain comments) become blank lines, so parse
  // errors keep their line numbers.
  RunSpec spec;
  std::vector<std::string> lines = absl::StrSplit(case_text, '\n');
  for (std::string& line : lines) {
    absl::string_view l = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::StartsWith(l, "//")) continue;
    if (absl::ConsumePrefix(&l, "// RUN:")) {
      if (absl::Status s = ApplyOption(l, &spec); !s.ok()) return s;
    }
    line.clear();
  }
  absl::StatusOr<ir::Graph> parsed = ir::ParseGraph(absl::StrJoin(lines, "\n"), filename);
  if (!parsed.ok()) return parsed.status();
  ir::Graph graph = *std::move(parsed);
  // Every case's input must round-trip, like every other .graph in the repo.
  const std::string printed = ir::PrintGraph(graph);
  absl::StatusOr<ir::Graph> reparsed = ir::ParseGraph(printed, "<printed case>");
  if (!reparsed.ok() || ir::PrintGraph(*reparsed) != printed) {
    return absl::InternalError(absl::StrCat("the case's graph does not round-trip:\n", printed));
  }
  if (!spec.mark_ops.empty()) {
    MarkNodesForFallback(graph, [&](const ir::Node& n) { return spec.mark_ops.contains(n.op()); });
  }

  PassContext context;
  context.options = spec.options;
  context.capabilities = MakeTestCapabilities(spec.backend);
  context.lowering_errors = spec.lowering_errors;

  std::ostringstream dumps;
  PassManager::Options pm_options;
  pm_options.verify_each = true;
  pm_options.check_unchanged = true;
  pm_options.dump_after = spec.dump_after;
  pm_options.dump = StreamDumpSink(&dumps);
  PassManager pm(std::move(pm_options));
  absl::StatusOr<std::vector<std::unique_ptr<Pass>>> passes =
      CreatePasses(absl::StrJoin(spec.passes, ","), &context);
  if (!passes.ok()) return passes.status();
  for (auto& p : *passes) pm.Add(std::move(p));
  if (absl::StatusOr<bool> changed = pm.Run(&graph); !changed.ok()) {
    return absl::StrCat(dumps.str(), "error: ", changed.status().message(), "\n");
  }

  std::string out = dumps.str();
  for (const std::string& what : spec.print) {
    if (what == "graph") {
      absl::StrAppend(&out, ir::PrintGraph(graph));
      continue;
    }
    if (what != "plan" && what != "json" && what != "dot") {
      return absl::InvalidArgumentError(absl::StrCat("unknown print=", what));
    }
    if (!context.plan.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("print=", what, " needs selective-lowering"));
    }
    if (what == "plan") absl::StrAppend(&out, "plan:\n", context.plan->ToTable());
    if (what == "json") absl::StrAppend(&out, context.plan->ToJson(), "\n");
    if (what == "dot") absl::StrAppend(&out, PlanToDot(graph, *context.plan));
  }
  return out;
}

absl::Status RunGoldenTestFile(const std::string& path) {
  return testing::RunGoldenFile(path, [&path](const testing::GoldenCase& c) {
    // Leading blank lines make parser diagnostics cite lines of the file.
    return RunGoldenCase(std::string(c.first_line - 1, '\n') + c.input, path);
  });
}

}  // namespace sluice::passes
