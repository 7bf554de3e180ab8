// The CPU backend's capability table (DESIGN §3 rule 5): every primitive op
// in every dtype is lowered into generated kernels, composites are lowered
// through decomposition, and matmul becomes a library call (Eigen).
#ifndef SLUICE_CODEGEN_CPU_CAPABILITIES_H_
#define SLUICE_CODEGEN_CPU_CAPABILITIES_H_

#include "passes/lowering_plan.h"

namespace sluice::codegen::cpu {

passes::BackendCapabilities CpuCapabilities();

}  // namespace sluice::codegen::cpu

#endif  // SLUICE_CODEGEN_CPU_CAPABILITIES_H_
