#include "passes/pass_manager.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace sluice::passes {

DumpSink StreamDumpSink(std::ostream* os) {
  return [os](absl::string_view pass, absl::string_view graph_text) {
    *os << "// ----- after " << pass << " -----\n" << graph_text;
    if (!graph_text.empty() && graph_text.back() != '\n') *os << "\n";
  };
}

bool IsDebugBuild() {
#ifdef NDEBUG
  return false;
#else
  return true;
#endif
}

bool PassManager::ShouldDump(absl::string_view pass) const {
  for (const std::string& d : options_.dump_after) {
    if (d == "all" || d == pass) return true;
  }
  return false;
}

absl::StatusOr<bool> PassManager::Run(ir::Graph* graph) {
  timings_.clear();
  for (const std::string& d : options_.dump_after) {
    if (d == "all") continue;
    bool known =
        std::any_of(passes_.begin(), passes_.end(), [&](const auto& p) { return p->name() == d; });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& p : passes_) names.emplace_back(p->name());
      return absl::InvalidArgumentError(absl::StrCat("dump_after names '", d,
                                                     "', which is not a pass of this pipeline (",
                                                     absl::StrJoin(names, ", "), ")"));
    }
  }
  if (!options_.dump_after.empty() && !options_.dump) {
    return absl::InvalidArgumentError("dump_after is set but no dump sink is");
  }
  const bool verify = options_.verify_each || IsDebugBuild();
  const bool check_unchanged = options_.check_unchanged || IsDebugBuild();

  bool any_changed = false;
  for (const auto& pass : passes_) {
    const std::string name(pass->name());
    std::string before;
    if (check_unchanged) before = ir::PrintGraph(*graph);

    const absl::Time start = absl::Now();
    absl::StatusOr<bool> changed = pass->Run(graph);
    timings_.push_back({name, absl::Now() - start, changed.ok() && *changed});
    VLOG(2) << "pass " << name << ": " << absl::FormatDuration(timings_.back().duration);
    if (!changed.ok()) {
      return absl::Status(changed.status().code(),
                          absl::StrCat("pass '", name, "' failed: ", changed.status().message()));
    }
    any_changed |= *changed;

    if (check_unchanged && !*changed) {
      std::string after = ir::PrintGraph(*graph);
      if (after != before) {
        return absl::InternalError(absl::StrCat(
            "pass '", name, "' reported no change but the printed graph changed; before:\n", before,
            "after:\n", after));
      }
    }
    if (verify) {
      absl::Status st = ir::Verify(*graph);
      if (!st.ok()) {
        return absl::InternalError(
            absl::StrCat("pass '", name, "' left an invalid graph: ", st.message()));
      }
    }
    if (ShouldDump(name)) options_.dump(name, ir::PrintGraph(*graph));
  }
  VLOG(1) << "pass timings for graph " << graph->name() << ":\n" << TimingSummary();
  return any_changed;
}

std::string PassManager::TimingSummary() const {
  size_t width = 4;
  absl::Duration total;
  for (const PassTiming& t : timings_) {
    width = std::max(width, t.pass.size());
    total += t.duration;
  }
  std::string out;
  for (const PassTiming& t : timings_) {
    absl::StrAppendFormat(&out, "  %-*s  %10.3f ms  %s\n", static_cast<int>(width), t.pass,
                          absl::ToDoubleMilliseconds(t.duration),
                          t.changed ? "changed" : "unchanged");
  }
  absl::StrAppendFormat(&out, "  %-*s  %10.3f ms\n", static_cast<int>(width), "total",
                        absl::ToDoubleMilliseconds(total));
  return out;
}

}  // namespace sluice::passes
