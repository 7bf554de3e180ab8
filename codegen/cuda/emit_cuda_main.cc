// A developer tool (test-only): prints the CUDA module sluice generates for
// every graph of a .graph file, with each kernel's launch, and optionally
// writes each graph's source and a launch manifest for running the kernels
// elsewhere (e.g. with CuPy on a GPU host):
//
//   emit_cuda_main [--fast_math] [--assume_aligned] [--recompute_narrow_scratch]
//                  [--pointwise_unroll=N] [--pointwise_waves=N] [--row_block_threads=N]
//                  [--min_blocks_per_sm=N] [--max_elements_per_thread=N]
//                  [--hopper] [--emit=key=value,...] [--num_sms=N]
//                  [--no_split_reductions] FILE.graph [OUT_DIR]
//
// --hopper emits for sm_90a (the wgmma attention kernel); --emit takes
// sluice::Compile's SLUICE_CUDA_EMIT syntax (ApplyCudaEmitOverrides);
// --num_sms sizes grids and split reductions for another GPU (default 132,
// an H100 SXM); --no_split_reductions keeps every reduction one kernel
// (passes/split_reduction.h), to compare.
//
// OUT_DIR/<graph>.cu and OUT_DIR/<graph>.json: the steps in order, kernels
// with their launch ({"kind": "kernel", "symbol", "grid", "block", "smem",
// "config", "args": [{"value", "dtype", "numel", "out"}], and for a kernel
// that takes tensor maps after its buffers "tensor_maps": [{"arg",
// "element_bytes", "dims", "strides", "box", "swizzle"}]}), fallback and
// library steps with their node ({"kind", "node"}); codegen/cuda/gpu_check.py
// reads them.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/cuda/test_util.h"
#include "ir/parser.h"
#include "passes/lowering_plan.h"
#include "passes/schedule.h"

int main(int argc, char** argv) {
  using sluice::codegen::cuda::CudaKernelLaunch;
  sluice::codegen::cuda::CudaEmitOptions options;
  sluice::passes::LoweringOptions lowering;
  std::vector<char*> positional = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const std::string& flag, int* out) {
      if (a.rfind(flag + "=", 0) != 0) return false;
      *out = std::atoi(a.c_str() + flag.size() + 1);
      return true;
    };
    if (a == "--fast_math") {
      options.fast_math = true;
    } else if (a == "--recompute_narrow_scratch") {
      options.recompute_narrow_scratch = true;
    } else if (a == "--assume_aligned") {
      options.assume_aligned = true;
    } else if (a == "--hopper") {
      options.hopper = true;
    } else if (a == "--no_split_reductions") {
      lowering.split_reductions = false;
    } else if (a.rfind("--emit=", 0) == 0) {
      absl::Status s = sluice::codegen::cuda::ApplyCudaEmitOverrides(a.substr(7), &options);
      if (!s.ok()) {
        std::cerr << s << "\n";
        return 2;
      }
    } else if (value("--pointwise_unroll", &options.pointwise_unroll) ||
               value("--row_block_threads", &options.row_block_threads) ||
               value("--min_blocks_per_sm", &options.min_blocks_per_sm) ||
               value("--pointwise_waves", &options.pointwise_waves) ||
               value("--max_elements_per_thread", &options.max_elements_per_thread) ||
               value("--num_sms", &options.num_sms)) {
    } else if (a.rfind("--", 0) == 0) {
      std::cerr << "unknown flag " << a << "\n";
      return 2;
    } else {
      positional.push_back(argv[i]);
    }
  }
  argc = static_cast<int>(positional.size());
  argv = positional.data();
  if (argc < 2) {
    std::cerr << "usage: emit_cuda_main FILE.graph [OUT_DIR]\n";
    return 2;
  }
  absl::StatusOr<std::vector<sluice::ir::Graph>> graphs = sluice::ir::ParseFile(argv[1]);
  if (!graphs.ok()) {
    std::cerr << graphs.status() << "\n";
    return 1;
  }
  int failures = 0;
  for (const sluice::ir::Graph& g : *graphs) {
    absl::StatusOr<sluice::codegen::cuda::EmittedGraph> e =
        sluice::codegen::cuda::EmitGraph(g, lowering, options);
    if (!e.ok()) {
      std::cerr << g.name() << ": " << e.status() << "\n";
      ++failures;
      continue;
    }
    std::string manifest;
    std::vector<std::string> steps;
    for (const sluice::passes::Step& step : e->schedule.steps) {
      if (step.kind != sluice::passes::StepKind::kKernel) {
        steps.push_back(absl::StrCat("{\"kind\": \"", sluice::passes::StepKindName(step.kind),
                                     "\", \"node\": \"", step.nodes[0]->name(), "\"}"));
        continue;
      }
      const CudaKernelLaunch* k = e->Launch(absl::StrCat("k", step.id));
      if (k == nullptr) continue;
      std::vector<std::string> args;
      for (const auto& a : k->args) {
        args.push_back(absl::StrCat("{\"value\": \"", a.value, "\", \"dtype\": \"",
                                    sluice::ir::DTypeName(a.dtype), "\", \"numel\": ", a.numel,
                                    ", \"out\": ", a.is_output ? "true" : "false", "}"));
      }
      std::vector<std::string> maps;
      for (const auto& m : k->tensor_maps) {
        maps.push_back(absl::StrCat(
            "{\"arg\": ", m.arg, ", \"element_bytes\": ", m.element_bytes, ", \"dims\": [",
            absl::StrJoin(m.dims, ", "), "], \"strides\": [", absl::StrJoin(m.strides, ", "),
            "], \"box\": [", absl::StrJoin(m.box, ", "), "], \"swizzle\": ", m.swizzle_bytes,
            "}"));
      }
      steps.push_back(absl::StrCat(
          "{\"kind\": \"kernel\", \"symbol\": \"", k->symbol, "\", \"grid\": [",
          absl::StrJoin(k->grid, ", "), "], \"block\": [", absl::StrJoin(k->block, ", "),
          "], \"smem\": ", k->shared_bytes, ", \"config\": \"", k->config,
          "\", \"args\": [", absl::StrJoin(args, ", "), "]",
          maps.empty() ? "" : absl::StrCat(", \"tensor_maps\": [", absl::StrJoin(maps, ", "), "]"),
          "}"));
    }
    const std::string json =
        absl::StrCat("{\"graph\": \"", g.name(), "\", \"steps\": [\n  ",
                     absl::StrJoin(steps, ",\n  "), "\n]}\n");
    for (const CudaKernelLaunch& k : e->module.kernels) {
      std::vector<std::string> args;
      for (const auto& a : k.args) {
        args.push_back(absl::StrCat(a.value, ":", sluice::ir::DTypeName(a.dtype), ":", a.numel,
                                    ":", a.is_output ? "out" : "in"));
      }
      absl::StrAppend(&manifest, k.symbol, " grid=", absl::StrJoin(k.grid, ","),
                      " block=", absl::StrJoin(k.block, ","), " smem=", k.shared_bytes,
                      " args=", absl::StrJoin(args, ","), "\n");
    }
    if (argc >= 3) {
      std::ofstream(absl::StrCat(argv[2], "/", g.name(), ".cu")) << e->module.source;
      std::ofstream(absl::StrCat(argv[2], "/", g.name(), ".json")) << json;
    } else {
      std::cout << "// ===== graph " << g.name() << "\n" << e->plan.ToTable() << "\n"
                << e->schedule.ToString() << "\n" << manifest;
      for (const auto& k : e->kernels) std::cout << k.ToString();
      const std::string src = e->module.source;
      std::cout << src.substr(src.find("// ---- end of preamble ----")) << "\n";
    }
  }
  return failures == 0 ? 0 : 1;
}
