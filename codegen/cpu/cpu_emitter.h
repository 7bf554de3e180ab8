// The CPU backend's code generator: emits the kernels of a graph as ONE C++
// translation unit, one `extern "C" void <symbol>(void* const* args)` entry
// per kernel (args: the kernel's buffers in KernelArg order). Rows run under
// `#pragma omp parallel for`; inner loops are `#pragma omp simd` over
// restrict-qualified pointers, so the host compiler vectorizes contiguous
// ones. f16/bf16 values are computed in f32. The helper prologue comes from
// prologue.template.cc, embedded at build time.
#ifndef SLUICE_CODEGEN_CPU_CPU_EMITTER_H_
#define SLUICE_CODEGEN_CPU_CPU_EMITTER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "codegen/kernel_ir.h"

namespace sluice::codegen::cpu {

struct EmitOptions {
  // Test hook (DESIGN §3 rule 6): kernels with these names get an `#error`,
  // so compiling the module really fails inside them.
  absl::flat_hash_set<std::string> poison_kernels;
};

struct EmittedKernel {
  std::string name;
  std::string symbol;  // the extern "C" entry
  int first_line = 0;  // 1-based, inclusive: the kernel's lines in `source`
  int last_line = 0;
};

struct EmittedModule {
  std::string source;
  std::vector<EmittedKernel> kernels;

  // The kernel whose lines contain `line`, or null.
  const EmittedKernel* KernelAtLine(int line) const;
};

EmittedModule EmitModule(const std::vector<Kernel>& kernels, const EmitOptions& options = {});

// The C++ text of one kernel (no prologue); for golden tests and dumps.
std::string EmitKernel(const Kernel& kernel, const EmitOptions& options = {});

// The prologue every module starts with.
const char* Prologue();

}  // namespace sluice::codegen::cpu

#endif  // SLUICE_CODEGEN_CPU_CPU_EMITTER_H_
