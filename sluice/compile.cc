#include "sluice/compile.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/cpu/capabilities.h"
#include "codegen/cpu/cpu_emitter.h"
#include "codegen/cuda/capabilities.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/kernel_ir.h"
#include "glog/logging.h"
#include "ir/printer.h"
#include "passes/fuse.h"
#include "passes/memory_plan.h"
#include "passes/pipeline.h"
#include "runtime/cpu_device.h"
#include "runtime/cuda/symbols.h"
#include "runtime/kernel_cache.h"

#if SLUICE_HAVE_CUDA
#include "runtime/cuda/cubin_cache.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/execution_device.h"
#include "runtime/cuda/nvrtc.h"
#endif

namespace sluice {
namespace {

using LoweringErrors = absl::flat_hash_map<std::string, std::string>;

// Wall time for the compile report's phases (runtime::CompilePhases).
class Stopwatch {
 public:
  // Milliseconds since construction or the previous Lap.
  double Lap() {
    const auto now = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
    return ms;
  }
  // Milliseconds since construction.
  double Total() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

// Original (pre-decomposition) names of the nodes a step computes.
std::vector<std::string> OriginalNames(const passes::Step& step) {
  std::vector<std::string> names;
  for (const ir::Node* n : step.nodes) {
    std::string o = passes::OriginalNodeName(*n);
    if (std::find(names.begin(), names.end(), o) == names.end()) names.push_back(o);
  }
  return names;
}

std::string FirstErrorLine(const std::string& log) {
  for (absl::string_view l : absl::StrSplit(log, '\n')) {
    if (l.find("error") != absl::string_view::npos) return std::string(l);
  }
  return log.substr(0, 200);
}

std::string Percented(const std::vector<std::string>& names) {
  return absl::StrJoin(names, ", ", [](std::string* o, const std::string& n) {
    absl::StrAppend(o, "%", n);
  });
}

// One pass through the pipeline: the lowered graph, its plan and schedule,
// and the kernel IR of every kernel step (or why it could not be built).
struct Attempt {
  std::unique_ptr<ir::Graph> graph;
  passes::LoweringPlan plan;
  passes::Schedule schedule;  // points into *graph
  std::vector<codegen::Kernel> kernels;
  std::vector<const passes::Step*> kernel_steps;  // kernels[i] is kernel_steps[i]'s
  // Kernel steps whose code could not be built, and why (DESIGN §3 rule 6).
  std::vector<std::pair<const passes::Step*, std::string>> failures;
};

absl::StatusOr<std::unique_ptr<Attempt>> Lower(const ir::Graph& graph,
                                               const CompileOptions& options,
                                               const passes::BackendCapabilities& caps,
                                               const LoweringErrors& lowering_errors,
                                               runtime::CompilePhases* phases) {
  Stopwatch watch;
  ++phases->attempts;
  auto a = std::make_unique<Attempt>();
  a->graph = std::make_unique<ir::Graph>(graph.Clone());
  passes::PipelineOptions po;
  po.lowering_errors = lowering_errors;
  po.dump_after = options.dump_after;
  po.dump = options.dump;
  absl::StatusOr<passes::LoweringPlan> plan =
      passes::RunLoweringPipeline(a->graph.get(), options.lowering, caps, po);
  if (!plan.ok()) return plan.status();
  a->plan = *std::move(plan);
  phases->passes_ms += watch.Lap();
  absl::StatusOr<passes::Schedule> schedule = passes::Fuse(*a->graph, &a->plan);
  if (!schedule.ok()) return schedule.status();
  a->schedule = *std::move(schedule);
  phases->fuse_ms += watch.Lap();
  // Kernel IR; a step the IR cannot express is a lowering failure (rule 6).
  for (const passes::Step& step : a->schedule.steps) {
    if (step.kind != passes::StepKind::kKernel) continue;
    absl::StatusOr<codegen::Kernel> k =
        codegen::BuildKernel(*a->graph, step, absl::StrCat("k", step.id));
    if (!k.ok()) {
      a->failures.push_back({&step, std::string(k.status().message())});
      continue;
    }
    a->kernels.push_back(*std::move(k));
    a->kernel_steps.push_back(&step);
  }
  phases->kernel_ir_ms += watch.Lap();
  phases->lower_ms += watch.Total();
  return a;
}

// Kernels that compute a node named in options.inject_compile_failure.
absl::flat_hash_set<std::string> KernelsToPoison(const Attempt& a,
                                                 const CompileOptions& options) {
  const absl::flat_hash_set<std::string> inject(options.inject_compile_failure.begin(),
                                                options.inject_compile_failure.end());
  absl::flat_hash_set<std::string> poison;
  for (size_t i = 0; i < a.kernels.size(); ++i) {
    for (const std::string& n : OriginalNames(*a.kernel_steps[i])) {
      if (inject.contains(n)) poison.insert(a.kernels[i].name);
    }
    for (const ir::Node* n : a.kernel_steps[i]->nodes) {
      if (inject.contains(n->name())) poison.insert(a.kernels[i].name);
    }
  }
  return poison;
}

// The kernels whose lines contain an error line, as failures of their steps.
template <typename Module>
void BlameKernels(const Attempt& a, const Module& module, const std::vector<int>& error_lines,
                  const std::string& what, const std::string& log,
                  std::vector<std::pair<const passes::Step*, std::string>>* failures) {
  absl::flat_hash_set<std::string> blamed;
  for (int line : error_lines) {
    if (const auto* ek = module.KernelAtLine(line); ek != nullptr) blamed.insert(ek->name);
  }
  for (size_t i = 0; i < a.kernels.size(); ++i) {
    if (blamed.contains(a.kernels[i].name)) {
      failures->push_back({a.kernel_steps[i], absl::StrCat(what, " of kernel ", a.kernels[i].name,
                                                           " failed: ", FirstErrorLine(log))});
    }
  }
}

// DESIGN §3 rule 6 after a failed attempt: records why each node of a failed
// kernel failed (the next attempt makes them fallbacks), or, with
// on_lowering_error = kError, the error naming them.
absl::Status HandleFailures(
    const std::vector<std::pair<const passes::Step*, std::string>>& failures,
    const CompileOptions& options, const std::string& kept_source,
    LoweringErrors* lowering_errors) {
  std::vector<std::string> nodes;
  for (const auto& [step, why] : failures) {
    for (const std::string& n : OriginalNames(*step)) {
      if (std::find(nodes.begin(), nodes.end(), n) == nodes.end()) nodes.push_back(n);
      if (!lowering_errors->contains(n)) (*lowering_errors)[n] = why;
    }
  }
  if (options.lowering.on_lowering_error == passes::LoweringOptions::OnLoweringError::kError) {
    return absl::InternalError(absl::StrCat(
        "lowering failed for node(s) ", Percented(nodes), ": ", failures[0].second,
        kept_source.empty() ? "" : absl::StrCat("; generated source kept at ", kept_source)));
  }
  LOG(WARNING) << "sluice: lowering failed for " << Percented(nodes)
               << "; recompiling them as fallbacks (rule 6): " << failures[0].second;
  return absl::OkStatus();
}

// DESIGN §3 rule 6's loop, shared by the backends: lowers `graph` and lets
// `build(attempt, &kept_source)` emit and compile the attempt's kernels and
// make the result; when it records failures instead (Attempt::failures, and
// where the generated source was kept) and returns nullopt, the failed
// kernels' nodes are recompiled as fallbacks (or, with on_lowering_error =
// kError, Compile fails naming them). `build` may move the attempt out.
template <typename Result, typename Build>
absl::StatusOr<Result> WithRule6Retries(const ir::Graph& graph, const CompileOptions& options,
                                        const passes::BackendCapabilities& caps,
                                        runtime::CompilePhases* phases, Build&& build) {
  LoweringErrors lowering_errors;
  const int max_attempts = static_cast<int>(graph.nodes().size()) + 2;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    absl::StatusOr<std::unique_ptr<Attempt>> lowered =
        Lower(graph, options, caps, lowering_errors, phases);
    if (!lowered.ok()) return lowered.status();
    std::unique_ptr<Attempt> a = *std::move(lowered);
    std::string kept_source;
    if (a->failures.empty()) {
      absl::StatusOr<std::optional<Result>> built = build(a, &kept_source);
      if (!built.ok()) return built.status();
      if (built->has_value()) return **std::move(built);
      if (a->failures.empty()) {
        return absl::InternalError("sluice::Compile: a backend gave no result and no failure");
      }
    }
    absl::Status s = HandleFailures(a->failures, options, kept_source, &lowering_errors);
    if (!s.ok()) return s;
  }
  return absl::InternalError("sluice::Compile: too many rule-6 recompilations");
}

// The executable's parts every backend shares (the memory plan and kernel IR
// text counted in `phases`).
runtime::Executable::Parts PartsOf(Attempt& a, runtime::CompilePhases* phases) {
  Stopwatch watch;
  runtime::Executable::Parts parts;
  for (size_t i = 0; i < a.kernels.size(); ++i) {
    parts.kernel_names.push_back(a.kernels[i].name);
    std::vector<const ir::Node*> args;
    for (const ir::Node* n : a.kernel_steps[i]->inputs) args.push_back(n);
    for (const ir::Node* n : a.kernel_steps[i]->outputs) args.push_back(n);
    parts.kernel_args.push_back(std::move(args));
    absl::StrAppend(&parts.kernel_ir, a.kernels[i].ToString());
  }
  phases->kernel_ir_ms += watch.Lap();
  parts.memory = passes::PlanMemory(a.schedule);
  phases->memory_plan_ms += watch.Lap();
  phases->lower_ms += watch.Total();
  parts.plan = std::move(a.plan);
  parts.schedule = std::move(a.schedule);
  parts.graph = std::move(a.graph);
  return parts;
}

absl::StatusOr<runtime::Executable> CompileForCpu(const ir::Graph& graph,
                                                  const CompileOptions& options) {
  Stopwatch total;
  runtime::CompilePhases phases;
  using Result = runtime::Executable;
  return WithRule6Retries<Result>(
      graph, options, codegen::cpu::CpuCapabilities(), &phases,
      [&](std::unique_ptr<Attempt>& attempt,
          std::string* kept_source) -> absl::StatusOr<std::optional<Result>> {
        Attempt& a = *attempt;
        codegen::cpu::EmitOptions eo;
        eo.poison_kernels = KernelsToPoison(a, options);
        codegen::cpu::EmittedModule module;
        std::shared_ptr<runtime::LoadedLibrary> library;
        runtime::HostCompileReport report;
        if (!a.kernels.empty()) {
          Stopwatch watch;
          module = codegen::cpu::EmitModule(a.kernels, eo);
          phases.emit_ms += watch.Lap();
          std::vector<std::string> symbols;
          for (const auto& k : module.kernels) symbols.push_back(k.symbol);
          runtime::HostCompileOptions ho;
          ho.cache_dir = options.cache_dir;
          ho.compiler = options.compiler;
          runtime::HostCompileError error;
          absl::StatusOr<std::shared_ptr<runtime::LoadedLibrary>> lib =
              runtime::CompileAndLoad(module.source, symbols, ho, &report, &error);
          phases.kernel_cache_ms += watch.Lap();
          if (!lib.ok()) {
            if (error.log.empty()) return lib.status();
            *kept_source = error.source_path;
            BlameKernels(a, module, error.error_lines, "host compile", error.log, &a.failures);
            if (a.failures.empty()) {
              return absl::InternalError(absl::StrCat(
                  "compiling the generated code failed outside any kernel; source kept at ",
                  error.source_path, ":\n", error.log));
            }
            return std::optional<Result>();
          }
          library = *std::move(lib);
        }

        runtime::Executable::Parts parts = PartsOf(a, &phases);
        Stopwatch watch;
        parts.device = std::make_shared<runtime::CpuDevice>();
        phases.device_ms += watch.Lap();
        if (library != nullptr) {
          std::vector<std::string> symbols;
          for (const auto& k : module.kernels) symbols.push_back(k.symbol);
          absl::StatusOr<std::unique_ptr<runtime::CpuModule>> m =
              runtime::CpuModule::Create(library, symbols);
          if (!m.ok()) return m.status();
          parts.module = *std::move(m);
          phases.load_ms += watch.Lap();
        }
        parts.source = std::move(module.source);
        parts.compile_report = std::move(report);
        phases.total_ms = total.Total();
        parts.compile_report.phases = phases;
        absl::StatusOr<Result> exe = runtime::Executable::Create(std::move(parts));
        if (!exe.ok()) return exe.status();
        return std::optional<Result>(*std::move(exe));
      });
}

#if SLUICE_HAVE_CUDA

// The 1-based lines NVRTC's log blames ("<program>.cu(123): error: ...").
std::vector<int> NvrtcErrorLines(absl::string_view log) {
  std::vector<int> lines;
  for (absl::string_view l : absl::StrSplit(log, '\n')) {
    const size_t open = l.find(".cu(");
    if (open == absl::string_view::npos) continue;
    const size_t close = l.find("): ", open);
    if (close == absl::string_view::npos) continue;
    if (l.substr(close).find("error") == absl::string_view::npos) continue;
    int line = 0;
    if (absl::SimpleAtoi(l.substr(open + 4, close - open - 4), &line)) lines.push_back(line);
  }
  return lines;
}

// "...; source kept at PATH; ..." in CompileCuda's error.
std::string KeptSourcePath(absl::string_view message) {
  constexpr absl::string_view kAt = "source kept at ";
  const size_t at = message.find(kAt);
  if (at == absl::string_view::npos) return "";
  const size_t end = message.find(';', at);
  return std::string(message.substr(at + kAt.size(), end == absl::string_view::npos
                                                          ? absl::string_view::npos
                                                          : end - at - kAt.size()));
}

// How the generated CUDA is compiled for `arch` (the module, and later the
// variants compiled on first need: CudaKernelLaunch::unaligned_source).
runtime::cuda::NvrtcOptions NvrtcOptionsFor(const CompileOptions& options,
                                            const std::string& arch) {
  runtime::cuda::NvrtcOptions no;
  no.arch = arch;
  no.fast_math = false;  // the emitter applies fast_math where it is safe
  no.line_info = options.cuda.line_info;
  if (!options.cache_dir.empty()) no.cache_dir = options.cache_dir + "/cuda";
  return no;
}

// Everything of CudaKernels (but its kernel_ir, which Compile makes as the
// Executable's) plus the attempt it came from (for Compile).
struct CudaResult {
  CudaKernels kernels;
  std::unique_ptr<Attempt> attempt;  // graph/plan/schedule moved to `kernels` by the caller
  codegen::cuda::CudaModuleSource module;
};

// `autotune`: the kernels come with their other launch shapes (Compile
// times them on its GPU).
absl::StatusOr<CudaResult> GenerateCuda(const ir::Graph& graph, const CompileOptions& options,
                                        const std::string& arch, int num_sms,
                                        absl::string_view device_name, bool autotune,
                                        runtime::CompilePhases* phases) {
  codegen::cuda::CudaEmitOptions eo;
  eo.num_sms = num_sms;
  eo.fast_math = options.cuda.fast_math;
  eo.approx_math_half_outputs = options.cuda.approx_math_half_outputs;
  eo.row_divisor_reciprocal = options.cuda.row_divisor_reciprocal;
  eo.hopper = arch == "sm_90" || arch == "sm_90a";
  eo.launch_variants = autotune;
  codegen::cuda::ApplyDeviceTuning(device_name, &eo);
  // The variants' text only when NVRTC must compile it (a warm compile finds
  // the cubin by the kernels' text and the variants' identity).
  eo.defer_variant_text = true;
  if (const char* spec = std::getenv("SLUICE_CUDA_EMIT"); spec != nullptr && *spec != '\0') {
    // An experiment's fixed shape is not tuned away, unless it asks.
    if (!absl::StrContains(spec, "launch_variants")) eo.launch_variants = false;
    if (absl::Status s = codegen::cuda::ApplyCudaEmitOverrides(spec, &eo); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("SLUICE_CUDA_EMIT: ", s.message()));
    }
  }
  return WithRule6Retries<CudaResult>(
      graph, options, codegen::cuda::CudaCapabilities(num_sms), phases,
      [&](std::unique_ptr<Attempt>& attempt,
          std::string* kept_source) -> absl::StatusOr<std::optional<CudaResult>> {
        Attempt& a = *attempt;
        eo.poison_kernels = KernelsToPoison(a, options);
        codegen::cuda::CudaModuleSource module;
        runtime::cuda::CompiledCuda compiled;
        if (!a.kernels.empty()) {
          Stopwatch watch;
          absl::StatusOr<codegen::cuda::CudaModuleSource> emitted =
              codegen::cuda::EmitCuda(a.kernels, eo);
          phases->emit_ms += watch.Lap();
          if (!emitted.ok()) {
            // IR the emitter does not know: find the kernels, one by one.
            for (size_t i = 0; i < a.kernels.size(); ++i) {
              absl::StatusOr<codegen::cuda::CudaModuleSource> one =
                  codegen::cuda::EmitCudaKernel(a.kernels[i], eo);
              if (!one.ok()) {
                a.failures.push_back({a.kernel_steps[i], std::string(one.status().message())});
              }
            }
            phases->emit_ms += watch.Lap();
            if (a.failures.empty()) return emitted.status();
            return std::optional<CudaResult>();
          }
          module = *std::move(emitted);
          // wgmma (the Hopper attention kernel) exists only in sm_90a code.
          const runtime::cuda::NvrtcOptions no = NvrtcOptionsFor(
              options, module.needs_sm90a && arch == "sm_90" ? "sm_90a" : arch);
          const std::vector<codegen::Kernel>& kernels = a.kernels;
          const runtime::cuda::DeferredCudaText variants{
              module.variant_identity, [&kernels, &module, &eo]() {
                return codegen::cuda::EmitCudaVariantText(kernels, module, eo);
              }};
          absl::StatusOr<runtime::cuda::CompiledCuda> c =
              runtime::cuda::CompileCuda(module.source, graph.name(), no, variants);
          phases->kernel_cache_ms += watch.Lap();
          if (!c.ok() && absl::IsInvalidArgument(c.status()) && !module.variant_identity.empty()) {
            // NVRTC's error lines are of source + variants, which lie past
            // every kernel's lines: emit the module whole (each kernel's
            // variants within its lines) and compile that, to blame.
            codegen::cuda::CudaEmitOptions whole_options = eo;
            whole_options.defer_variant_text = false;
            absl::StatusOr<codegen::cuda::CudaModuleSource> whole =
                codegen::cuda::EmitCuda(a.kernels, whole_options);
            if (!whole.ok()) return whole.status();
            module = *std::move(whole);
            c = runtime::cuda::CompileCuda(module.source, graph.name(), no);
            phases->kernel_cache_ms += watch.Lap();
          }
          if (!c.ok()) {
            if (!absl::IsInvalidArgument(c.status())) return c.status();
            const std::string message(c.status().message());
            *kept_source = KeptSourcePath(message);
            BlameKernels(a, module, NvrtcErrorLines(message), "NVRTC compile", message,
                         &a.failures);
            if (a.failures.empty()) {
              return absl::InternalError(absl::StrCat(
                  "NVRTC failed to compile the generated CUDA outside any kernel: ", message));
            }
            return std::optional<CudaResult>();
          }
          compiled = *std::move(c);
        }
        CudaResult r;
        // The whole program compiled (a cache hit's leaves the variants'
        // text out: it was never made); module keeps the launches and the
        // source the tuning cache is keyed by.
        r.kernels.source = absl::StrCat(module.source, compiled.deferred_text);
        r.kernels.arch = compiled.arch.empty() ? arch : compiled.arch;
        r.kernels.cubin = std::move(compiled.cubin);
        r.kernels.nvrtc_log = std::move(compiled.log);
        r.kernels.cache_hit = compiled.cache_hit;
        r.kernels.nvrtc_seconds = compiled.compile_seconds;
        for (const codegen::cuda::CudaKernelLaunch& k : module.kernels) {
          CudaKernels::Kernel out;
          out.name = k.name;
          out.symbol = k.symbol;
          out.grid = k.grid;
          out.block = k.block;
          out.shared_bytes = k.shared_bytes;
          out.config = k.config;
          out.unaligned_symbol = k.unaligned_symbol;
          out.unaligned_source = k.unaligned_source;
          for (const codegen::KernelArg& arg : k.args) out.args.push_back(arg.value);
          r.kernels.kernels.push_back(std::move(out));
        }
        r.module = std::move(module);
        r.attempt = std::move(attempt);
        return std::optional<CudaResult>(std::move(r));
      });
}

// ---- The in-process lowering cache (CompileOptions::lowering_cache) ----

// A copy of `a`'s graph, plan, schedule and kernels, whose schedule and
// kernel_steps point into the copy's own graph.
std::unique_ptr<Attempt> CopyAttempt(const Attempt& a) {
  auto c = std::make_unique<Attempt>();
  c->graph = std::make_unique<ir::Graph>(a.graph->Clone());
  // Clone keeps nodes() in order: the i-th node's copy is the copy's i-th.
  const std::vector<ir::Node*>& from = a.graph->nodes();
  const std::vector<ir::Node*>& to = c->graph->nodes();
  absl::flat_hash_map<const ir::Node*, const ir::Node*> map;
  map.reserve(from.size());
  for (size_t i = 0; i < from.size(); ++i) map[from[i]] = to[i];
  auto remap = [&map](std::vector<const ir::Node*>& nodes) {
    for (const ir::Node*& n : nodes) n = map.at(n);
  };
  c->plan = a.plan;
  c->schedule.graph = c->graph.get();
  c->schedule.steps = a.schedule.steps;
  for (passes::Step& step : c->schedule.steps) {
    remap(step.nodes);
    remap(step.inputs);
    remap(step.outputs);
  }
  c->schedule.producer.reserve(a.schedule.producer.size());
  for (const auto& [n, step] : a.schedule.producer) c->schedule.producer[map.at(n)] = step;
  c->kernels = a.kernels;
  for (const passes::Step* step : a.kernel_steps) {
    c->kernel_steps.push_back(&c->schedule.steps[step - a.schedule.steps.data()]);
  }
  return c;
}

// Everything a compile's result is a function of, or nullopt when the
// cache is not to be used. The graph's text has its names, types,
// attributes and metadata; its locations (which the lowered graph keeps,
// for messages) are added.
std::optional<std::string> LoweringCacheKey(const ir::Graph& graph, const CompileOptions& o,
                                            const std::string& arch, int num_sms,
                                            absl::string_view device_name, bool autotune) {
  if (!o.lowering_cache || !o.dump_after.empty() || o.dump || !o.inject_compile_failure.empty()) {
    return std::nullopt;
  }
  std::string key = absl::StrCat("sluice-lowering-v1\n", ir::PrintGraph(graph), "\n",
                                 graph.location().ToString(), "|", graph.location().line_text,
                                 "\n", graph.return_location().ToString());
  for (const ir::Node* n : graph.nodes()) {
    absl::StrAppend(&key, "\n", n->location().ToString(), "|", n->location().line_text);
  }
  const char* emit = std::getenv("SLUICE_CUDA_EMIT");
  const passes::LoweringOptions& l = o.lowering;
  const CudaCompileOptions& c = o.cuda;
  absl::StrAppend(&key, "\nfallback_nodes ", absl::StrJoin(l.fallback_nodes, "\x1f"),
                  "\nfallback_ops ", absl::StrJoin(l.fallback_ops, "\x1f"), "\nstrict ",
                  l.strict, " on_lowering_error ", static_cast<int>(l.on_lowering_error),
                  " split_reductions ", l.split_reductions, "\ncache_dir ", o.cache_dir,
                  "\ngpu ", c.device_ordinal, " ", device_name, " ", arch, " ", num_sms,
                  "\nfast_math ", c.fast_math, " approx_math_half_outputs ",
                  c.approx_math_half_outputs, " row_divisor_reciprocal ",
                  c.row_divisor_reciprocal, " autotune ", autotune, " line_info ", c.line_info,
                  " allow_tf32 ", c.allow_tf32, "\nSLUICE_CUDA_EMIT ",
                  emit == nullptr ? "" : emit);
  return key;
}

// One successful compile's lowering and kernels, as GenerateCuda made them.
struct LoweredCuda {
  std::unique_ptr<Attempt> attempt;  // copied for each hit, never handed out
  codegen::cuda::CudaModuleSource module;
  std::vector<CudaKernels::Kernel> kernels;
  std::string source, arch, cubin, nvrtc_log;
  size_t bytes = 0;  // about what the entry holds
};

// The cache: least recently used entries go first once their sizes pass
// kMaxBytes.
class LoweringCache {
 public:
  static constexpr size_t kMaxBytes = size_t{256} << 20;

  static LoweringCache& Get() {
    static auto* cache = new LoweringCache();
    return *cache;
  }

  std::shared_ptr<const LoweredCuda> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    order_.splice(order_.end(), order_, it->second.position);
    return it->second.entry;
  }

  void Insert(std::string key, std::shared_ptr<const LoweredCuda> entry) {
    const size_t bytes = entry->bytes + key.size();
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) Erase(it);
    if (bytes > kMaxBytes) return;
    while (bytes_ + bytes > kMaxBytes && !order_.empty()) Erase(entries_.find(order_.front()));
    order_.push_back(key);
    bytes_ += bytes;
    entries_.emplace(std::move(key), Slot{std::move(entry), std::prev(order_.end()), bytes});
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
    order_.clear();
    bytes_ = 0;
  }

 private:
  struct Slot {
    std::shared_ptr<const LoweredCuda> entry;
    std::list<std::string>::iterator position;  // in order_
    size_t bytes = 0;
  };
  using Map = absl::flat_hash_map<std::string, Slot>;

  void Erase(Map::iterator it) {
    bytes_ -= it->second.bytes;
    order_.erase(it->second.position);
    entries_.erase(it);
  }

  std::mutex mu_;
  Map entries_;
  std::list<std::string> order_;  // least recently used first
  size_t bytes_ = 0;
};

std::shared_ptr<const LoweredCuda> ToCache(const CudaResult& r) {
  auto e = std::make_shared<LoweredCuda>();
  e->attempt = CopyAttempt(*r.attempt);
  e->module = r.module;
  e->kernels = r.kernels.kernels;
  e->source = r.kernels.source;
  e->arch = r.kernels.arch;
  e->cubin = r.kernels.cubin;
  e->nvrtc_log = r.kernels.nvrtc_log;
  e->bytes = e->source.size() + e->module.source.size() + e->cubin.size() +
             e->nvrtc_log.size() + 512 * e->attempt->graph->nodes().size();
  for (const CudaKernels::Kernel& k : e->kernels) {
    e->bytes += k.unaligned_source.size() + 2 * k.config.size() + 256;
  }
  return e;
}

CudaResult FromCache(const LoweredCuda& e) {
  CudaResult r;
  r.attempt = CopyAttempt(*e.attempt);
  r.module = e.module;
  r.kernels.kernels = e.kernels;
  r.kernels.source = e.source;
  r.kernels.arch = e.arch;
  r.kernels.cubin = e.cubin;
  r.kernels.nvrtc_log = e.nvrtc_log;
  r.kernels.cache_hit = true;
  r.kernels.lowering_cache_hit = true;
  r.kernels.nvrtc_seconds = 0;
  return r;
}

// GenerateCuda through the lowering cache.
absl::StatusOr<CudaResult> GenerateCudaCached(const ir::Graph& graph,
                                              const CompileOptions& options,
                                              const std::string& arch, int num_sms,
                                              absl::string_view device_name, bool autotune,
                                              runtime::CompilePhases* phases) {
  Stopwatch watch;
  std::optional<std::string> key =
      LoweringCacheKey(graph, options, arch, num_sms, device_name, autotune);
  if (key.has_value()) {
    if (std::shared_ptr<const LoweredCuda> hit = LoweringCache::Get().Find(*key)) {
      CudaResult r = FromCache(*hit);
      phases->lowering_cache_ms += watch.Lap();
      return r;
    }
  }
  phases->lowering_cache_ms += watch.Lap();
  absl::StatusOr<CudaResult> r =
      GenerateCuda(graph, options, arch, num_sms, device_name, autotune, phases);
  watch.Lap();
  if (r.ok() && key.has_value()) {
    LoweringCache::Get().Insert(*std::move(key), ToCache(*r));
    phases->lowering_cache_ms += watch.Lap();
  }
  return r;
}

// Autotuning (CudaCompileOptions::autotune): the launch shape of every
// kernel of `module` that has several, from the tuning cache (keyed by the
// source and the GPU) or by timing them all (CudaKernelModule::Tune), then
// cached. Returns the report's lines (HostCompileReport::tuning).
absl::StatusOr<std::vector<std::string>> ChooseLaunchShapes(
    const codegen::cuda::CudaModuleSource& module, const CompileOptions& options,
    const std::string& gpu_name, const std::string& arch,
    runtime::cuda::CudaKernelModule& loaded) {
  std::vector<std::vector<runtime::cuda::CudaKernelModule::TuneArg>> args;
  bool any = false;
  for (const codegen::cuda::CudaKernelLaunch& k : module.kernels) {
    any = any || !k.variants.empty();
    args.emplace_back();
    for (const codegen::KernelArg& a : k.args) args.back().push_back({a.numel, a.dtype});
  }
  if (!any) return std::vector<std::string>();
  // Next to the cubin: the directory NVRTC's cache uses for this compile.
  const std::string dir = NvrtcOptionsFor(options, arch).cache_dir;
  const runtime::cuda::CubinCache cache(dir.empty() ? runtime::cuda::CubinCache::DefaultDir()
                                                    : dir);
  const runtime::cuda::CacheKey key =
      runtime::cuda::CacheKey::Of({"sluice-launch-shapes-v2", module.source,
                                   module.variant_identity, gpu_name, arch});
  // The cached choice: one line "kernel shape" per kernel with variants.
  std::vector<std::pair<int, int>> cached;
  std::string data;
  if (cache.Lookup(key, &data) == runtime::cuda::CubinCache::LookupResult::kHit) {
    for (absl::string_view line : absl::StrSplit(data, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
      int kernel = 0, shape = 0;
      if (f.size() != 2 || !absl::SimpleAtoi(f[0], &kernel) || !absl::SimpleAtoi(f[1], &shape) ||
          kernel < 0 || kernel >= loaded.num_kernels() || shape < 0 ||
          shape >= loaded.num_shapes(kernel)) {
        cached.clear();  // not this module's: time again
        break;
      }
      cached.push_back({kernel, shape});
    }
  }
  auto config = [&](int kernel, int shape) {
    const codegen::cuda::CudaKernelLaunch& k = module.kernels[kernel];
    return shape == 0 ? k.config : k.variants[shape - 1].config;
  };
  std::vector<std::string> report;
  if (!cached.empty()) {
    for (const auto& [kernel, shape] : cached) {
      if (absl::Status s = loaded.Choose(kernel, shape); !s.ok()) return s;
      report.push_back(absl::StrCat(module.kernels[kernel].name, ": ", config(kernel, shape),
                                    " (", loaded.num_shapes(kernel),
                                    " shapes; chosen from the cache)"));
    }
    return report;
  }
  absl::StatusOr<std::vector<runtime::cuda::KernelTuning>> tuned = loaded.Tune(args);
  if (!tuned.ok()) return tuned.status();
  std::string lines;
  bool all_timed = true;
  for (const runtime::cuda::KernelTuning& t : *tuned) {
    absl::StrAppend(&lines, t.kernel, " ", t.chosen, "\n");
    all_timed = all_timed && !t.us.empty();
    std::string times;
    for (double us : t.us) absl::StrAppend(&times, " ", absl::StrFormat("%.1f", us));
    report.push_back(absl::StrCat(
        module.kernels[t.kernel].name, ": ", config(t.kernel, t.chosen), " (",
        loaded.num_shapes(t.kernel), " shapes",
        t.us.empty() ? "; not timed: no memory for scratch buffers, the default kept"
                     : absl::StrCat(", us", times, "; chosen by timing"),
        ")"));
  }
  // A kernel left untimed (no memory) is timed again by the next compile;
  // a cache that cannot be written only costs the next compile the timing.
  if (!all_timed) return report;
  if (absl::Status s = cache.Store(key, lines); !s.ok()) {
    LOG(WARNING) << "sluice: the launch-shape choice was not cached: " << s;
  }
  return report;
}

absl::StatusOr<runtime::Executable> CompileForCuda(const ir::Graph& graph,
                                                   const CompileOptions& options) {
  Stopwatch total;
  runtime::CompilePhases phases;
  std::string why;
  if (!runtime::cuda::CudaAvailable(&why)) {
    return absl::UnavailableError(absl::StrCat(
        "sluice::Compile for cuda: ", why,
        " (sluice::CompileCudaKernels generates and compiles the kernels without a GPU)"));
  }
  runtime::cuda::CudaExecutionDevice::Options device_options;
  device_options.ordinal = options.cuda.device_ordinal;
  device_options.allow_tf32 = options.cuda.allow_tf32;
  absl::StatusOr<std::unique_ptr<runtime::cuda::CudaExecutionDevice>> device =
      runtime::cuda::CudaExecutionDevice::Create(device_options);
  if (!device.ok()) return device.status();
  phases.device_ms = total.Total();
  runtime::cuda::CudaDevice* gpu = (*device)->device();
  const std::string arch = options.cuda.arch.empty() ? gpu->arch() : options.cuda.arch;
  const int num_sms =
      options.cuda.num_sms > 0 ? options.cuda.num_sms : gpu->multiprocessor_count();
  absl::StatusOr<CudaResult> r = GenerateCudaCached(graph, options, arch, num_sms, gpu->name(),
                                                    options.cuda.autotune, &phases);
  if (!r.ok()) return r.status();
  Attempt& a = *r->attempt;

  runtime::Executable::Parts parts = PartsOf(a, &phases);
  // The kernel's parameters are its KernelArgs (step inputs, then outputs),
  // as the executable's kernel_args.
  std::vector<runtime::cuda::KernelLaunchSpec> specs;
  for (size_t i = 0; i < r->module.kernels.size(); ++i) {
    const codegen::cuda::CudaKernelLaunch& k = r->module.kernels[i];
    if (k.args.size() != parts.kernel_args[i].size()) {
      return absl::InternalError(absl::StrCat("kernel ", k.name, " has ", k.args.size(),
                                              " parameters for ", parts.kernel_args[i].size(),
                                              " buffers"));
    }
    for (size_t j = 0; j < k.args.size(); ++j) {
      if (k.args[j].value != parts.kernel_args[i][j]->name()) {
        return absl::InternalError(absl::StrCat("kernel ", k.name, " parameter ", j, " is %",
                                                k.args[j].value, ", expected %",
                                                parts.kernel_args[i][j]->name()));
      }
    }
    runtime::cuda::KernelLaunchSpec spec;
    spec.symbol = k.symbol;
    spec.grid = {k.grid[0], k.grid[1], k.grid[2]};
    spec.block = {k.block[0], k.block[1], k.block[2]};
    spec.shared_bytes = k.shared_bytes;
    spec.num_args = static_cast<int>(k.args.size());
    for (const codegen::cuda::CudaTensorMap& m : k.tensor_maps) {
      spec.tensor_maps.push_back(
          {m.arg, {m.element_bytes, m.dims, m.strides, m.box, m.swizzle_bytes}});
    }
    for (const codegen::cuda::CudaLaunchVariant& v : k.variants) {
      spec.variants.push_back({v.symbol,
                               {v.grid[0], v.grid[1], v.grid[2]},
                               {v.block[0], v.block[1], v.block[2]},
                               v.shared_bytes});
    }
    if (!k.unaligned_symbol.empty()) {
      spec.unaligned_symbol = k.unaligned_symbol;
      spec.unaligned_cubin = [source = k.unaligned_source, name = k.unaligned_symbol,
                              no = NvrtcOptionsFor(options, r->kernels.arch)]()
          -> absl::StatusOr<std::string> {
        absl::StatusOr<runtime::cuda::CompiledCuda> c =
            runtime::cuda::CompileCuda(source, name, no);
        if (!c.ok()) return c.status();
        return std::move(c->cubin);
      };
    }
    specs.push_back(std::move(spec));
  }
  if (!specs.empty()) {
    Stopwatch watch;
    absl::StatusOr<std::unique_ptr<runtime::cuda::CudaKernelModule>> m =
        runtime::cuda::CudaKernelModule::Load(device->get(), r->kernels.cubin, graph.name(),
                                              std::move(specs));
    if (!m.ok()) return m.status();
    phases.load_ms = watch.Lap();
    absl::StatusOr<std::vector<std::string>> tuning =
        ChooseLaunchShapes(r->module, options, gpu->name(), r->kernels.arch, **m);
    if (!tuning.ok()) return tuning.status();
    parts.compile_report.tuning = *std::move(tuning);
    phases.tune_ms = watch.Lap();
    parts.module = *std::move(m);
  }
  parts.device = std::shared_ptr<runtime::Device>(std::move(*device));
  parts.source = std::move(r->kernels.source);
  parts.compile_report.cache_hit = r->kernels.cache_hit;
  parts.compile_report.lowering_cache_hit = r->kernels.lowering_cache_hit;
  parts.compile_report.compile_seconds = r->kernels.nvrtc_seconds;
  phases.total_ms = total.Total();
  parts.compile_report.phases = phases;
  return runtime::Executable::Create(std::move(parts));
}

absl::StatusOr<CudaKernels> CompileCudaKernelsImpl(const ir::Graph& graph,
                                                   const CompileOptions& options) {
  Stopwatch total;
  runtime::CompilePhases phases;
  // NVRTC needs no GPU; with one, compile for it.
  const std::string arch =
      options.cuda.arch.empty() ? runtime::cuda::DefaultCudaArch() : options.cuda.arch;
  int num_sms = options.cuda.num_sms;
  std::string device_name;  // none: the defaults of no particular GPU
  if (num_sms <= 0) {
    num_sms = 132;  // an H100 SXM
    if (runtime::cuda::CudaAvailable()) {
      absl::StatusOr<runtime::cuda::CudaDevice*> gpu =
          runtime::cuda::CudaDevice::Get(options.cuda.device_ordinal);
      if (gpu.ok()) {
        num_sms = (*gpu)->multiprocessor_count();
        device_name = (*gpu)->name();
      }
    }
  }
  phases.device_ms = total.Total();
  absl::StatusOr<CudaResult> r =
      GenerateCudaCached(graph, options, arch, num_sms, device_name, /*autotune=*/false, &phases);
  if (!r.ok()) return r.status();
  CudaKernels out = std::move(r->kernels);
  Stopwatch watch;
  for (const codegen::Kernel& k : r->attempt->kernels) {
    absl::StrAppend(&out.kernel_ir, k.ToString());
  }
  phases.kernel_ir_ms += watch.Lap();
  phases.lower_ms += watch.Total();
  out.graph = std::move(r->attempt->graph);
  out.plan = std::move(r->attempt->plan);
  out.schedule = std::move(r->attempt->schedule);
  out.phases = phases;
  out.phases.total_ms = total.Total();
  return out;
}

#else  // !SLUICE_HAVE_CUDA

constexpr char kNoCuda[] =
    "sluice was built without the CUDA toolkit, so it has no CUDA backend "
    "(@local_cuda found none at build time)";

absl::StatusOr<runtime::Executable> CompileForCuda(const ir::Graph&, const CompileOptions&) {
  return absl::UnavailableError(absl::StrCat("sluice::Compile for cuda: ", kNoCuda));
}

absl::StatusOr<CudaKernels> CompileCudaKernelsImpl(const ir::Graph&, const CompileOptions&) {
  return absl::UnavailableError(absl::StrCat("sluice::CompileCudaKernels: ", kNoCuda));
}

#endif  // SLUICE_HAVE_CUDA

}  // namespace

absl::StatusOr<runtime::Executable> Compile(const ir::Graph& graph, const CompileOptions& options) {
  switch (options.device) {
    case DeviceKind::kCpu: return CompileForCpu(graph, options);
    case DeviceKind::kCuda: return CompileForCuda(graph, options);
  }
  return absl::InvalidArgumentError("sluice::Compile: unknown device");
}

absl::StatusOr<CudaKernels> CompileCudaKernels(const ir::Graph& graph,
                                               const CompileOptions& options) {
  return CompileCudaKernelsImpl(graph, options);
}

void ClearLoweringCache() {
#if SLUICE_HAVE_CUDA
  LoweringCache::Get().Clear();
#endif
}

}  // namespace sluice
