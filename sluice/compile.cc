#include "sluice/compile.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/cpu/capabilities.h"
#include "codegen/cpu/cpu_emitter.h"
#include "codegen/kernel_ir.h"
#include "glog/logging.h"
#include "passes/fuse.h"
#include "passes/memory_plan.h"
#include "passes/pipeline.h"
#include "runtime/cpu_device.h"
#include "runtime/kernel_cache.h"

namespace sluice {
namespace {

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

}  // namespace

absl::StatusOr<runtime::Executable> Compile(const ir::Graph& graph, const CompileOptions& options) {
  if (options.device != DeviceKind::kCpu) {
    return absl::UnimplementedError("sluice::Compile: only the cpu device is implemented");
  }
  const passes::BackendCapabilities caps = codegen::cpu::CpuCapabilities();
  absl::flat_hash_map<std::string, std::string> lowering_errors;
  const absl::flat_hash_set<std::string> inject(options.inject_compile_failure.begin(),
                                                options.inject_compile_failure.end());
  const int max_attempts = static_cast<int>(graph.nodes().size()) + 2;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    auto g = std::make_unique<ir::Graph>(graph.Clone());
    passes::PipelineOptions po;
    po.lowering_errors = lowering_errors;
    po.dump_after = options.dump_after;
    po.dump = options.dump;
    absl::StatusOr<passes::LoweringPlan> plan =
        passes::RunLoweringPipeline(g.get(), options.lowering, caps, po);
    if (!plan.ok()) return plan.status();
    absl::StatusOr<passes::Schedule> schedule = passes::Fuse(*g, &*plan);
    if (!schedule.ok()) return schedule.status();

    // Kernel IR; a step the IR cannot express is a lowering failure (rule 6).
    std::vector<codegen::Kernel> kernels;
    std::vector<const passes::Step*> kernel_steps;
    std::vector<std::pair<const passes::Step*, std::string>> failures;
    for (const passes::Step& step : schedule->steps) {
      if (step.kind != passes::StepKind::kKernel) continue;
      absl::StatusOr<codegen::Kernel> k =
          codegen::BuildKernel(*g, step, absl::StrCat("k", step.id));
      if (!k.ok()) {
        failures.push_back({&step, std::string(k.status().message())});
        continue;
      }
      kernels.push_back(*std::move(k));
      kernel_steps.push_back(&step);
    }
    codegen::cpu::EmitOptions eo;
    for (size_t i = 0; i < kernels.size(); ++i) {
      for (const std::string& n : OriginalNames(*kernel_steps[i])) {
        if (inject.contains(n)) eo.poison_kernels.insert(kernels[i].name);
      }
      for (const ir::Node* n : kernel_steps[i]->nodes) {
        if (inject.contains(n->name())) eo.poison_kernels.insert(kernels[i].name);
      }
    }
    codegen::cpu::EmittedModule module;
    std::shared_ptr<runtime::LoadedLibrary> library;
    runtime::HostCompileReport report;
    std::string kept_source;
    if (failures.empty() && !kernels.empty()) {
      module = codegen::cpu::EmitModule(kernels, eo);
      std::vector<std::string> symbols;
      for (const auto& k : module.kernels) symbols.push_back(k.symbol);
      runtime::HostCompileOptions ho;
      ho.cache_dir = options.cache_dir;
      ho.compiler = options.compiler;
      runtime::HostCompileError error;
      absl::StatusOr<std::shared_ptr<runtime::LoadedLibrary>> lib =
          runtime::CompileAndLoad(module.source, symbols, ho, &report, &error);
      if (!lib.ok()) {
        if (error.log.empty()) return lib.status();
        kept_source = error.source_path;
        absl::flat_hash_set<std::string> blamed;
        for (int line : error.error_lines) {
          if (const auto* ek = module.KernelAtLine(line); ek != nullptr) blamed.insert(ek->name);
        }
        if (blamed.empty()) {
          return absl::InternalError(absl::StrCat(
              "compiling the generated code failed outside any kernel; source kept at ",
              error.source_path, ":\n", error.log));
        }
        for (size_t i = 0; i < kernels.size(); ++i) {
          if (blamed.contains(kernels[i].name)) {
            failures.push_back({kernel_steps[i], absl::StrCat("host compile of kernel ",
                                                              kernels[i].name, " failed: ",
                                                              FirstErrorLine(error.log))});
          }
        }
      } else {
        library = *std::move(lib);
      }
    }
    if (!failures.empty()) {
      std::vector<std::string> nodes;
      for (const auto& [step, why] : failures) {
        for (const std::string& n : OriginalNames(*step)) {
          if (std::find(nodes.begin(), nodes.end(), n) == nodes.end()) nodes.push_back(n);
          if (!lowering_errors.contains(n)) lowering_errors[n] = why;
        }
      }
      if (options.lowering.on_lowering_error == passes::LoweringOptions::OnLoweringError::kError) {
        return absl::InternalError(absl::StrCat(
            "lowering failed for node(s) ", Percented(nodes), ": ", failures[0].second,
            kept_source.empty() ? "" : absl::StrCat("; generated source kept at ", kept_source)));
      }
      LOG(WARNING) << "sluice: lowering failed for " << Percented(nodes)
                   << "; recompiling them as fallbacks (rule 6): " << failures[0].second;
      continue;
    }

    runtime::Executable::Parts parts;
    for (size_t i = 0; i < kernels.size(); ++i) {
      parts.kernel_names.push_back(kernels[i].name);
      std::vector<const ir::Node*> args;
      for (const ir::Node* n : kernel_steps[i]->inputs) args.push_back(n);
      for (const ir::Node* n : kernel_steps[i]->outputs) args.push_back(n);
      parts.kernel_args.push_back(std::move(args));
      absl::StrAppend(&parts.kernel_ir, kernels[i].ToString());
    }
    parts.memory = passes::PlanMemory(*schedule);
    parts.plan = *std::move(plan);
    parts.schedule = *std::move(schedule);
    parts.graph = std::move(g);
    parts.device = std::make_unique<runtime::CpuDevice>();
    if (library != nullptr) {
      std::vector<std::string> symbols;
      for (const auto& k : module.kernels) symbols.push_back(k.symbol);
      absl::StatusOr<std::unique_ptr<runtime::CpuModule>> m =
          runtime::CpuModule::Create(library, symbols);
      if (!m.ok()) return m.status();
      parts.module = *std::move(m);
    }
    parts.source = std::move(module.source);
    parts.compile_report = std::move(report);
    return runtime::Executable::Create(std::move(parts));
  }
  return absl::InternalError("sluice::Compile: too many rule-6 recompilations");
}

}  // namespace sluice
