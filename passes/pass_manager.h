// Runs a sequence of passes over a graph (Halide's LoweringLogger and XLA's
// HloPassPipeline in one): after each pass it can verify the graph, check
// that a pass reporting "unchanged" really left the printed graph alone,
// dump the graph, and it times every pass.
//
//   PassManager pm;
//   pm.Add(std::make_unique<DcePass>());
//   PassManager::Options o;
//   o.dump_after = {"all"};
//   o.dump = StreamDumpSink(&std::cerr);
//   pm.set_options(o);
//   absl::StatusOr<bool> changed = pm.Run(&graph);
#ifndef SLUICE_PASSES_PASS_MANAGER_H_
#define SLUICE_PASSES_PASS_MANAGER_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ir/graph.h"
#include "passes/pass.h"

namespace sluice::passes {

// Receives the printed graph after a pass: (pass name, graph text).
using DumpSink = std::function<void(absl::string_view pass, absl::string_view graph_text)>;

// A sink that writes "// ----- after <pass> -----" and the graph to `os`
// (which must outlive the sink). The separator makes a dump of several
// passes readable as golden-test cases.
DumpSink StreamDumpSink(std::ostream* os);

// True in builds without NDEBUG: the pass manager then verifies and checks
// "unchanged" after every pass whatever the options say.
bool IsDebugBuild();

struct PassTiming {
  std::string pass;
  absl::Duration duration;
  bool changed = false;
};

class PassManager {
 public:
  struct Options {
    // Run ir::Verify after each pass (always on in debug builds).
    bool verify_each = false;
    // Fail when a pass returns "unchanged" but the printed graph differs
    // (always on in debug builds). Costs two prints per pass.
    bool check_unchanged = false;
    // Pass names after which to dump the graph, or "all". A name that is
    // not one of the manager's passes is an error when Run starts.
    std::vector<std::string> dump_after;
    // Where dumps go; required when dump_after is not empty.
    DumpSink dump;
  };

  PassManager() = default;
  explicit PassManager(Options options) : options_(std::move(options)) {}

  void set_options(Options options) { options_ = std::move(options); }
  const Options& options() const { return options_; }

  void Add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  const std::vector<std::unique_ptr<Pass>>& passes() const { return passes_; }

  // Runs every pass in order; returns whether any changed the graph. Stops at
  // the first error, which names the pass.
  absl::StatusOr<bool> Run(ir::Graph* graph);

  // One entry per pass run by the last Run (including a pass that failed).
  const std::vector<PassTiming>& timings() const { return timings_; }
  // "pass  time  changed" lines, as logged at VLOG(1).
  std::string TimingSummary() const;

 private:
  bool ShouldDump(absl::string_view pass) const;

  Options options_;
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassTiming> timings_;
};

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_PASS_MANAGER_H_
