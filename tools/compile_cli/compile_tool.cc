#include "tools/compile_cli/compile_tool.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <new>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/cpu/capabilities.h"
#include "codegen/cuda/capabilities.h"
#include "fallback/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pass_manager.h"
#include "passes/pass_registry.h"
#include "passes/plan_dot.h"
#include "runtime/cuda/symbols.h"
#include "runtime/npy.h"
#include "sluice/compile.h"
#include "testing/compare.h"
#include "testing/random.h"
#include "tools/compile_cli/flags.h"
#include "tools/compile_cli/json_writer.h"

namespace sluice::tools {
namespace {

// Whether a CUDA device can run compiled graphs here; `why` says why not.
bool CudaUsable(std::string* why) { return runtime::cuda::CudaAvailable(why); }

constexpr char kBuiltinName[] = "<built-in seed example>";
constexpr char kBuiltinGraph[] = R"(# The seed test (test/inductor/test_selective_lowering.py): add falls back to
# the reference kernel, mul is lowered into a generated kernel.
graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y) {should_fallback = true}
  %b = mul(%a, 2.0)
  return %b
}
)";

constexpr char kUsageHead[] = R"(usage: compile [GRAPH_FILE] [flags]

Compiles a sluice graph (text format, DESIGN §5): every call node is either
lowered into a generated kernel or falls back to its reference (Eigen) kernel,
by the rules of the lowering plan (meta.should_fallback, --fallback_nodes,
--fallback_ops, capabilities). With no GRAPH_FILE it compiles a built-in
example (the seed test's graph, add marked fallback), runs it with --check
and prints the plan and the result.

examples:
  compile examples/mlp.graph --emit=plan,kernels
  compile examples/softmax.graph --fallback_ops=softmax --run --check
  compile model.graph --inputs=x=x.npy --save_outputs=out/ --format=json
  compile examples/seed.graph --run --check --bench

flags:
)";

constexpr char kUsageTail[] = R"(
exit status: 0 success; 1 --check failed; 2 bad usage or bad input (unreadable
file, parse or verifier error, unknown flag value, input file missing or of the
wrong dtype/shape, a --strict violation); 3 a compiler or runtime failure.
)";

struct Options {
  std::string device = "auto";
  std::string fallback_ops;
  std::string fallback_nodes;
  bool strict = false;
  std::string on_lowering_error = "fallback";
  bool split_reductions = true;
  std::string emit = "plan";
  std::string out_dir;
  std::string format = "text";
  bool run = false;
  std::string inputs;
  int64_t seed = 0;
  std::string save_outputs;
  bool check = false;
  double rtol = -1;
  double atol = -1;
  std::string expected;
  bool bench = false;
  int64_t bench_runs = 20;
  std::string passes;
  std::string dump_after;
  std::string graph_name;
  std::string cache_dir;
  bool help = false;
};

// An error with the exit code it maps to.
struct ToolError {
  int code;
  std::string message;
};

ToolError BadInput(std::string msg) { return {kExitBadInput, std::move(msg)}; }

// Problems from the compiler that are the input's fault (a strict-mode
// violation, a verifier error) are InvalidArgument; everything else is
// internal.
ToolError FromStatus(const absl::Status& s, absl::string_view context = "") {
  std::string msg(s.message());
  if (!absl::StrContains(msg, "error:")) msg = absl::StrCat("error: ", msg);
  if (!context.empty()) msg = absl::StrCat(context, ": ", msg);
  const bool input_fault = s.code() == absl::StatusCode::kInvalidArgument ||
                           s.code() == absl::StatusCode::kNotFound ||
                           s.code() == absl::StatusCode::kFailedPrecondition;
  return {input_fault ? kExitBadInput : kExitInternal, msg};
}

absl::Status MakeDir(const std::string& dir) {
  // mkdir -p: create each prefix that ends at a '/', then the whole path.
  for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {
    const std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::InvalidArgumentError(
          absl::StrCat("error: cannot create directory '", prefix, "': ", strerror(errno)));
    }
    if (pos == std::string::npos) break;
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, absl::string_view text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) return absl::InvalidArgumentError(absl::StrCat("error: cannot write '", path, "'"));
  return absl::OkStatus();
}

// "x=a.npy,y=b.npy" -> {x: a.npy, y: b.npy}.
absl::StatusOr<std::map<std::string, std::string>> ParseNamedFiles(absl::string_view flag,
                                                                   absl::string_view list) {
  std::map<std::string, std::string> out;
  for (const std::string& item : SplitList(list)) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "error: --", flag, " takes name=file.npy pairs separated by commas, got '", item, "'"));
    }
    std::string name = item.substr(0, eq);
    if (!out.emplace(name, item.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("error: --", flag, " names '", name, "' twice"));
    }
  }
  return out;
}

// Compares one compiled output with its expected value.
struct OutputCheck {
  std::string name;
  testing::AllCloseResult result;
};

double MedianMs(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <typename F>
absl::StatusOr<double> TimeMedianMs(int runs, F&& f) {
  for (int i = 0; i < 2; ++i) {  // warm-up
    if (absl::Status s = f(); !s.ok()) return s;
  }
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (absl::Status s = f(); !s.ok()) return s;
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return MedianMs(std::move(times));
}

class Tool {
 public:
  Tool(std::ostream& out, std::ostream& err, bool tty) : out_(out), err_(err), tty_(tty) {}

  int Main(const std::vector<std::string>& args) {
    std::optional<ToolError> e = Run(args);
    if (!e) return kExitOk;
    if (!e->message.empty()) err_ << e->message << "\n";
    return e->code;
  }

 private:
  std::optional<ToolError> Run(const std::vector<std::string>& args);
  std::optional<ToolError> RunPassesOnly(ir::Graph graph);
  std::optional<ToolError> LoadInputs(const ir::Graph& graph, std::vector<runtime::Tensor>* inputs);
  void Progress(absl::string_view line) {
    if (!tty_) return;
    err_ << "\r\033[K" << line << std::flush;
  }
  void ProgressDone() {
    if (tty_) err_ << "\r\033[K" << std::flush;
  }

  std::ostream& out_;
  std::ostream& err_;
  bool tty_;
  Options o_;
  FlagSet flags_;
};

std::optional<ToolError> Tool::LoadInputs(const ir::Graph& graph,
                                          std::vector<runtime::Tensor>* inputs) {
  if (o_.inputs.empty()) {
    // RandomInputs allocates with Tensor::Zeros, which throws when the graph's
    // inputs are larger than the machine: say so rather than abort.
    try {
      *inputs = testing::RandomInputs(graph, static_cast<uint64_t>(o_.seed));
    } catch (const std::bad_alloc&) {
      const ir::Node* largest = nullptr;
      int64_t largest_bytes = -1;
      for (const ir::Node* in : graph.inputs()) {
        const int64_t bytes = in->shape().num_elements() * ir::DTypeSize(in->dtype());
        if (bytes > largest_bytes) {
          largest = in;
          largest_bytes = bytes;
        }
      }
      return ToolError{kExitInternal,
                       absl::StrCat("error: cannot allocate random inputs for graph ",
                                    graph.name(), ": out of memory (the largest, %",
                                    largest->name(), ": ", largest->type().ToString(), ", is ",
                                    largest_bytes, " bytes)")};
    }
    return std::nullopt;
  }
  absl::StatusOr<std::map<std::string, std::string>> files = ParseNamedFiles("inputs", o_.inputs);
  if (!files.ok()) return BadInput(std::string(files.status().message()));
  std::vector<std::string> missing;
  for (const ir::Node* in : graph.inputs()) {
    if (!files->count(in->name())) missing.push_back(in->name());
  }
  for (const auto& [name, path] : *files) {
    const ir::Node* n = graph.FindNode(name);
    if (n == nullptr || !n->is_input()) {
      std::vector<std::string> names;
      for (const ir::Node* in : graph.inputs()) names.push_back(in->name());
      return BadInput(absl::StrCat("error: --inputs names '", name, "', which is not an input of ",
                                   graph.name(), " (inputs: ", absl::StrJoin(names, ", "), ")"));
    }
  }
  if (!missing.empty()) {
    return BadInput(absl::StrCat("error: --inputs gives no file for input(s) ",
                                 absl::StrJoin(missing, ", ")));
  }
  for (const ir::Node* in : graph.inputs()) {
    const std::string& path = files->at(in->name());
    absl::StatusOr<runtime::Tensor> t = runtime::ReadNpy(path);
    if (!t.ok()) return FromStatus(t.status(), absl::StrCat("input ", in->name()));
    if (t->type() != in->type()) {
      return BadInput(absl::StrCat("error: input ", in->name(), ": ", path, " holds ",
                                   t->type().ToString(), " but the graph expects ",
                                   in->type().ToString()));
    }
    inputs->push_back(*std::move(t));
  }
  return std::nullopt;
}

std::optional<ToolError> Tool::RunPassesOnly(ir::Graph graph) {
  passes::PassContext context;
  context.options.fallback_ops = SplitList(o_.fallback_ops);
  context.options.fallback_nodes = SplitList(o_.fallback_nodes);
  context.options.strict = o_.strict;
  context.options.split_reductions = o_.split_reductions;
  // The passes need no GPU: --device=cuda shows what the CUDA backend's
  // capability table makes of the graph (e.g. split reductions).
  context.capabilities = o_.device == "cuda" ? codegen::cuda::CudaCapabilities()
                                             : codegen::cpu::CpuCapabilities();
  absl::StatusOr<std::vector<std::unique_ptr<passes::Pass>>> list =
      passes::CreatePasses(o_.passes, &context);
  if (!list.ok()) return FromStatus(list.status(), "--passes");
  passes::PassManager::Options pm_options;
  pm_options.verify_each = true;
  pm_options.dump_after = SplitList(o_.dump_after);
  pm_options.dump = passes::StreamDumpSink(&err_);
  passes::PassManager pm(pm_options);
  for (auto& p : *list) pm.Add(std::move(p));
  absl::StatusOr<bool> changed = pm.Run(&graph);
  if (!changed.ok()) return FromStatus(changed.status());
  out_ << ir::PrintGraph(graph);
  if (context.plan) out_ << "\n" << context.plan->ToTable();
  err_ << pm.TimingSummary();
  return std::nullopt;
}

std::optional<ToolError> Tool::Run(const std::vector<std::string>& args) {
  flags_.AddString("device", &o_.device, "cpu, cuda or auto (cuda when a GPU is usable)", "DEV");
  flags_.AddString("fallback_ops", &o_.fallback_ops,
                   "ops that run on reference kernels, e.g. add,softmax", "OPS");
  flags_.AddString("fallback_nodes", &o_.fallback_nodes,
                   "node names or globs that run on reference kernels, e.g. a,attn_*", "NAMES");
  flags_.AddBool("strict", &o_.strict,
                 "options that match nothing and ops without a lowering are errors");
  flags_.AddString("on_lowering_error", &o_.on_lowering_error,
                   "fallback or error: what a kernel that fails to compile does", "WHAT");
  flags_.AddBool("split_reductions", &o_.split_reductions,
                 "long reductions with few outputs run in two stages where the device asks "
                 "for it (CUDA)");
  flags_.AddString("emit", &o_.emit, "comma list of plan, graph, kernels, kernel_ir, dot",
                   "WHAT");
  flags_.AddString("out_dir", &o_.out_dir, "write kernels and DOT to files here, not stdout",
                   "DIR");
  flags_.AddString("format", &o_.format, "text, or json (one JSON document on stdout)", "FMT");
  flags_.AddBool("run", &o_.run, "run the compiled graph");
  flags_.AddString("inputs", &o_.inputs, "input files by name: x=x.npy,y=y.npy (else random)",
                   "LIST");
  flags_.AddInt("seed", &o_.seed, "seed of the random inputs");
  flags_.AddString("save_outputs", &o_.save_outputs, "write each output as DIR/<name>.npy",
                   "DIR");
  flags_.AddBool("check", &o_.check,
                 "compare with the reference interpreter (or --expected); exit 1 on mismatch");
  flags_.AddDouble("rtol", &o_.rtol, "relative tolerance of --check (default: per dtype)");
  flags_.AddDouble("atol", &o_.atol, "absolute tolerance of --check (default: per dtype)");
  flags_.AddString("expected", &o_.expected,
                   "compare outputs with these files instead: name=file.npy,...", "LIST");
  flags_.AddBool("bench", &o_.bench, "time the compiled graph and the reference interpreter");
  flags_.AddInt("bench_runs", &o_.bench_runs, "timed runs per measurement (median reported)");
  flags_.AddString("passes", &o_.passes,
                   "run only these passes (comma list, or 'list') and print the graph", "LIST");
  flags_.AddString("dump_after", &o_.dump_after, "dump the graph after these passes, or all",
                   "LIST");
  flags_.AddString("graph", &o_.graph_name, "which graph of a multi-graph file", "NAME");
  flags_.AddString("cache_dir", &o_.cache_dir, "kernel cache (default $SLUICE_CACHE_DIR)", "DIR");
  flags_.AddBool("help", &o_.help, "show this help");

  std::vector<std::string> positional;
  if (absl::Status s = flags_.Parse(args, &positional); !s.ok()) {
    return BadInput(absl::StrCat("error: ", s.message()));
  }
  if (o_.help) {
    out_ << kUsageHead << flags_.Usage() << kUsageTail;
    return std::nullopt;
  }
  if (positional.size() > 1) {
    return BadInput(absl::StrCat("error: expected at most one GRAPH_FILE, got ",
                                 positional.size(), " (see --help)"));
  }
  // Flag values.
  if (o_.format != "text" && o_.format != "json") {
    return BadInput(absl::StrCat("error: --format must be text or json, got '", o_.format, "'"));
  }
  if (o_.device != "auto" && o_.device != "cpu" && o_.device != "cuda") {
    return BadInput(
        absl::StrCat("error: --device must be cpu, cuda or auto, got '", o_.device, "'"));
  }
  if (o_.on_lowering_error != "fallback" && o_.on_lowering_error != "error") {
    return BadInput(absl::StrCat("error: --on_lowering_error must be fallback or error, got '",
                                 o_.on_lowering_error, "'"));
  }
  const std::vector<std::string> emit = SplitList(o_.emit);
  for (const std::string& e : emit) {
    if (e != "plan" && e != "graph" && e != "kernels" && e != "kernel_ir" && e != "dot") {
      return BadInput(absl::StrCat("error: --emit: unknown item '", e,
                                   "' (expected plan, graph, kernels, kernel_ir, dot)"));
    }
  }
  auto emits = [&emit](absl::string_view what) {
    return std::find(emit.begin(), emit.end(), what) != emit.end();
  };
  if (o_.bench_runs < 1) return BadInput("error: --bench_runs must be at least 1");
  if (o_.passes == "list") {
    for (const std::string& name : passes::RegisteredPassNames()) out_ << name << "\n";
    return std::nullopt;
  }

  // The graph.
  const bool builtin = positional.empty();
  std::string filename = builtin ? kBuiltinName : positional[0];
  absl::StatusOr<std::vector<ir::Graph>> graphs =
      builtin ? ir::ParseModule(kBuiltinGraph, kBuiltinName) : ir::ParseFile(filename);
  if (!graphs.ok()) return BadInput(std::string(graphs.status().message()));
  int chosen = 0;
  if (!o_.graph_name.empty()) {
    chosen = -1;
    for (size_t i = 0; i < graphs->size(); ++i) {
      if ((*graphs)[i].name() == o_.graph_name) chosen = static_cast<int>(i);
    }
    if (chosen < 0) {
      return BadInput(absl::StrCat("error: ", filename, " has no graph named '", o_.graph_name,
                                   "'"));
    }
  } else if (graphs->size() > 1) {
    std::vector<std::string> names;
    for (const ir::Graph& g : *graphs) names.push_back(g.name());
    return BadInput(absl::StrCat("error: ", filename, " holds ", graphs->size(),
                                 " graphs; pick one with --graph (", absl::StrJoin(names, ", "),
                                 ")"));
  }
  ir::Graph& graph = (*graphs)[chosen];
  if (builtin) o_.run = o_.check = true;
  if (o_.check || o_.bench || !o_.save_outputs.empty() || !o_.inputs.empty()) o_.run = true;

  if (!o_.passes.empty()) return RunPassesOnly(std::move(graph));

  // The device.
  std::string cuda_reason;
  const bool cuda_ok = CudaUsable(&cuda_reason);
  DeviceKind device = DeviceKind::kCpu;
  std::string device_note;
  if (o_.device == "cuda") {
    if (!cuda_ok) return BadInput(absl::StrCat("error: --device=cuda: ", cuda_reason));
    device = DeviceKind::kCuda;
  } else if (o_.device == "auto") {
    device = cuda_ok ? DeviceKind::kCuda : DeviceKind::kCpu;
    device_note = cuda_ok ? "auto: a GPU is usable" : absl::StrCat("auto: ", cuda_reason);
  }
  const std::string device_name = device == DeviceKind::kCuda ? "cuda" : "cpu";
  if (o_.format == "text") {
    err_ << "sluice: graph " << graph.name() << " from " << filename << " on " << device_name
         << (device_note.empty() ? "" : absl::StrCat(" (", device_note, ")")) << "\n";
  }

  // Compile.
  CompileOptions copts;
  copts.device = device;
  copts.lowering.fallback_ops = SplitList(o_.fallback_ops);
  copts.lowering.fallback_nodes = SplitList(o_.fallback_nodes);
  copts.lowering.strict = o_.strict;
  copts.lowering.split_reductions = o_.split_reductions;
  copts.lowering.on_lowering_error = o_.on_lowering_error == "error"
                                         ? passes::LoweringOptions::OnLoweringError::kError
                                         : passes::LoweringOptions::OnLoweringError::kFallback;
  copts.cache_dir = o_.cache_dir;
  copts.dump_after = SplitList(o_.dump_after);
  copts.dump = passes::StreamDumpSink(&err_);
  Progress(absl::StrCat("compiling ", graph.name(), " (", graph.calls().size(), " nodes)..."));
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<runtime::Executable> exe = Compile(graph, copts);
  const double compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ProgressDone();
  if (!exe.ok()) return FromStatus(exe.status());
  const passes::LoweringPlan& plan = exe->plan();
  if (o_.format == "text") {
    for (const std::string& w : plan.warnings) err_ << "warning: " << w << "\n";
  }

  // Emit.
  if (!o_.out_dir.empty()) {
    if (absl::Status s = MakeDir(o_.out_dir); !s.ok()) return BadInput(std::string(s.message()));
  }
  auto emit_text = [&](absl::string_view what, absl::string_view file,
                       absl::string_view text) -> std::optional<ToolError> {
    if (!o_.out_dir.empty()) {
      const std::string path = absl::StrCat(o_.out_dir, "/", file);
      if (absl::Status s = WriteFile(path, text); !s.ok()) {
        return BadInput(std::string(s.message()));
      }
      if (o_.format == "text") err_ << "wrote " << what << " to " << path << "\n";
    } else if (o_.format == "text") {
      out_ << text;
      if (!absl::EndsWith(text, "\n")) out_ << "\n";
    }
    return std::nullopt;
  };
  if (o_.format == "text" && emits("plan")) out_ << plan.ToTable();
  if (emits("graph")) {
    if (o_.format == "text") out_ << ir::PrintGraph(exe->graph());
  }
  if (emits("kernels")) {
    if (auto e = emit_text("kernels", device == DeviceKind::kCuda ? "kernels.cu" : "kernels.cc",
                           exe->generated_source())) {
      return e;
    }
  }
  if (emits("kernel_ir")) {
    if (auto e = emit_text("kernel IR", "kernels.kir", exe->kernel_ir())) return e;
  }
  if (emits("dot")) {
    if (auto e = emit_text("DOT", absl::StrCat(graph.name(), ".dot"),
                           passes::PlanToDot(graph, plan))) {
      return e;
    }
  }

  // Run, save, check, bench.
  std::vector<runtime::Tensor> inputs, outputs;
  std::vector<OutputCheck> checks;
  bool check_passed = true;
  std::optional<double> run_ms, reference_ms;
  if (o_.run) {
    if (auto e = LoadInputs(graph, &inputs)) return e;
    absl::StatusOr<std::vector<runtime::Tensor>> result = exe->Run(inputs);
    if (!result.ok()) return FromStatus(result.status(), "run");
    outputs = *std::move(result);
  }
  std::vector<std::string> output_names;
  for (const ir::Node* n : graph.outputs()) output_names.push_back(n->name());
  if (!o_.save_outputs.empty()) {
    if (absl::Status s = MakeDir(o_.save_outputs); !s.ok()) {
      return BadInput(std::string(s.message()));
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string path = absl::StrCat(o_.save_outputs, "/", output_names[i], ".npy");
      if (absl::Status s = runtime::WriteNpy(path, outputs[i]); !s.ok()) return FromStatus(s);
      if (o_.format == "text") err_ << "wrote output " << output_names[i] << " to " << path << "\n";
    }
  }
  if (o_.check) {
    std::vector<runtime::Tensor> expected;
    if (!o_.expected.empty()) {
      absl::StatusOr<std::map<std::string, std::string>> files =
          ParseNamedFiles("expected", o_.expected);
      if (!files.ok()) return BadInput(std::string(files.status().message()));
      for (const std::string& name : output_names) {
        if (!files->count(name)) {
          return BadInput(absl::StrCat("error: --expected gives no file for output ", name));
        }
        absl::StatusOr<runtime::Tensor> t = runtime::ReadNpy(files->at(name));
        if (!t.ok()) return FromStatus(t.status(), absl::StrCat("expected ", name));
        expected.push_back(*std::move(t));
      }
    } else {
      absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(graph, inputs);
      if (!ref.ok()) return FromStatus(ref.status(), "reference interpreter");
      expected = *std::move(ref);
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      testing::Tolerance tol = testing::OutputTolerance(graph.outputs()[i]);
      if (o_.rtol >= 0) tol.rtol = o_.rtol;
      if (o_.atol >= 0) tol.atol = o_.atol;
      OutputCheck c{output_names[i], testing::AllClose(outputs[i], expected[i], tol)};
      check_passed &= c.result.ok;
      checks.push_back(std::move(c));
    }
  }
  if (o_.bench) {
    absl::StatusOr<double> compiled = TimeMedianMs(static_cast<int>(o_.bench_runs), [&] {
      return exe->Run(inputs).status();
    });
    if (!compiled.ok()) return FromStatus(compiled.status(), "bench");
    absl::StatusOr<double> ref = TimeMedianMs(static_cast<int>(o_.bench_runs), [&] {
      return fallback::RunReference(graph, inputs).status();
    });
    if (!ref.ok()) return FromStatus(ref.status(), "bench (reference)");
    run_ms = *compiled;
    reference_ms = *ref;
  }

  // Report.
  double max_abs = 0, max_rel = 0;
  for (const OutputCheck& c : checks) {
    max_abs = std::max(max_abs, c.result.max_abs_err);
    max_rel = std::max(max_rel, c.result.max_rel_err);
  }
  if (o_.format == "json") {
    JsonWriter j;
    j.BeginObject();
    j.Key("graph").String(graph.name());
    j.Key("file").String(filename);
    j.Key("device").String(device_name);
    j.Key("nodes").BeginArray();
    for (const passes::NodeDecision& d : plan.entries) {
      j.BeginObject();
      j.Key("name").String(d.node);
      j.Key("op").String(d.op);
      j.Key("decision").String(passes::DecisionName(d.decision));
      j.Key("rule").Int(static_cast<int>(d.rule));
      j.Key("rule_name").String(passes::RuleName(d.rule));
      j.Key("detail").String(d.detail);
      if (d.kernel >= 0) {
        j.Key("kernel").Int(d.kernel);
      } else {
        j.Key("kernel").Null();
      }
      j.EndObject();
    }
    j.EndArray();
    j.Key("kernels").BeginArray();
    for (const runtime::StepInfo& s : exe->steps()) {
      j.BeginObject();
      j.Key("id").Int(s.id);
      j.Key("kind").String(passes::StepKindName(s.kind));
      if (!s.kernel.empty()) j.Key("name").String(s.kernel);
      j.Key("nodes").BeginArray();
      for (const std::string& n : s.nodes) j.String(n);
      j.EndArray();
      j.EndObject();
    }
    j.EndArray();
    j.Key("warnings").BeginArray();
    for (const std::string& w : plan.warnings) j.String(w);
    j.EndArray();
    if (emits("kernels")) j.Key("source").String(exe->generated_source());
    if (emits("graph")) j.Key("compiled_graph").String(ir::PrintGraph(exe->graph()));
    if (emits("dot") && o_.out_dir.empty()) j.Key("dot").String(passes::PlanToDot(graph, plan));
    if (o_.check) {
      j.Key("check").BeginObject();
      j.Key("passed").Bool(check_passed);
      j.Key("against").String(o_.expected.empty() ? "reference" : "expected");
      j.Key("max_abs_err").Number(max_abs);
      j.Key("max_rel_err").Number(max_rel);
      j.Key("outputs").BeginArray();
      for (const OutputCheck& c : checks) {
        j.BeginObject();
        j.Key("name").String(c.name);
        j.Key("passed").Bool(c.result.ok);
        j.Key("mismatched").Int(c.result.num_mismatched);
        j.Key("max_abs_err").Number(c.result.max_abs_err);
        j.Key("max_rel_err").Number(c.result.max_rel_err);
        j.EndObject();
      }
      j.EndArray();
      j.EndObject();
    }
    j.Key("timing").BeginObject();
    j.Key("compile_ms").Number(compile_ms);
    j.Key("cache_hit").Bool(exe->cache_hit());
    // Where compile_ms went (runtime::CompilePhases).
    const runtime::CompilePhases& phases = exe->compile_report().phases;
    j.Key("compile_phases").BeginObject();
    for (const auto& [name, field] : runtime::CompilePhases::Fields()) {
      j.Key(name).Number(phases.*field);
    }
    j.Key("attempts").Int(phases.attempts);
    j.EndObject();
    // CUDA autotuning: one line per kernel with several launch shapes.
    j.Key("tuning").BeginArray();
    for (const std::string& line : exe->compile_report().tuning) j.String(line);
    j.EndArray();
    if (run_ms) j.Key("run_ms").Number(*run_ms);
    if (reference_ms) j.Key("reference_ms").Number(*reference_ms);
    if (run_ms && reference_ms && *run_ms > 0) j.Key("speedup").Number(*reference_ms / *run_ms);
    j.EndObject();
    j.EndObject();
    out_ << j.str() << "\n";
  } else {
    err_ << "compiled in " << absl::StrFormat("%.1f", compile_ms) << " ms ("
         << (exe->cache_hit() ? "kernel cache hit" : "kernels built") << "), "
         << exe->steps().size() << " steps\n";
    for (const std::string& line : exe->compile_report().tuning) {
      err_ << "autotuned " << line << "\n";
    }
    if (o_.run && !o_.check && o_.save_outputs.empty() && !o_.bench) {
      for (size_t i = 0; i < outputs.size(); ++i) {
        out_ << "output " << output_names[i] << ": " << outputs[i].DebugString() << "\n";
      }
    }
    if (o_.check) {
      for (const OutputCheck& c : checks) {
        out_ << "check " << c.name << ": " << (c.result.ok ? "passed" : "FAILED") << " — "
             << c.result.message << "\n";
      }
      out_ << "check: " << (check_passed ? "passed" : "FAILED") << " against "
           << (o_.expected.empty() ? "the reference interpreter" : "--expected") << " (max abs err "
           << max_abs << ", max rel err " << max_rel << ")\n";
      if (builtin) {
        for (size_t i = 0; i < outputs.size(); ++i) {
          out_ << "output " << output_names[i] << ": " << outputs[i].DebugString() << "\n";
        }
      }
    }
    if (run_ms) {
      out_ << absl::StrFormat(
          "bench: compiled %.3f ms, reference %.3f ms (median of %d runs), speedup %.2fx\n",
          *run_ms, *reference_ms, o_.bench_runs, *reference_ms / std::max(*run_ms, 1e-9));
    }
  }
  if (!check_passed) return ToolError{kExitCheckFailed, ""};
  return std::nullopt;
}

}  // namespace

int RunCompileTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   bool stderr_is_tty) {
  Tool tool(out, err, stderr_is_tty);
  return tool.Main(args);
}

}  // namespace sluice::tools
