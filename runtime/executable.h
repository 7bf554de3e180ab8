// A compiled graph, ready to run: the ordered steps (generated-kernel
// launches, fallback calls through the Eigen kernel registry, library
// calls, a matmul with its fused bias/activation epilogue among them), the
// buffers they read and write (graph inputs used in place, fresh output
// tensors, intermediates in one arena laid out by the memory plan), the
// lowering plan and the generated source. Built by sluice::Compile
// (sluice/compile.h).
//
// Host tensors in and out (Run, RunInto) work on every device: on a device
// whose memory is not host memory (CUDA) the inputs are copied to device
// buffers the executable keeps, and the outputs back, and Run returns once
// they are on the host. Device tensors in and out (RunDevice,
// RunDeviceInto) skip the copies:
//
//   absl::StatusOr<runtime::DeviceTensor> x = exe->ToDevice(host_x);
//   absl::StatusOr<std::vector<runtime::DeviceTensor>> y = exe->RunDevice({*x});
//   absl::StatusOr<runtime::Tensor> host_y = exe->ToHost((*y)[0]);
//
// RunDevice only queues the work on a CUDA device (the executable's stream):
// inputs must stay valid, and outputs are ready, after Synchronize() (ToHost
// synchronizes). Device tensors may also borrow memory of the same device
// (DeviceTensor::Borrow), e.g. another framework's CUDA tensors.
#ifndef SLUICE_RUNTIME_EXECUTABLE_H_
#define SLUICE_RUNTIME_EXECUTABLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ir/graph.h"
#include "passes/lowering_plan.h"
#include "passes/memory_plan.h"
#include "passes/schedule.h"
#include "runtime/device.h"
#include "runtime/kernel_cache.h"
#include "runtime/tensor.h"

namespace sluice::runtime {

// What one step runs, for tests, the CLI and logs.
struct StepInfo {
  int id = -1;
  passes::StepKind kind = passes::StepKind::kKernel;
  std::vector<std::string> nodes;  // node names it computes
  std::string kernel;              // kernel name (kernel steps)
  // The op (fallback/library steps), or the pattern of a fused library step
  // ("matmul_epilogue").
  std::string op;
  // How a fallback step runs where that is worth saying, e.g. "host copy"
  // (Device::FallbackNote); what a fused library step's epilogue computes,
  // e.g. "bias+gelu_tanh".
  std::string note;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;

  // "kernel k1 [mul]", "fallback add [a]", "fallback add (host copy) [a]",
  // "library matmul [h]", "library matmul_epilogue (bias+gelu_tanh) [h, hb, g]".
  std::string ToString() const;
};

class Executable {
 public:
  // Everything a backend hands over. `schedule` and `memory` point into
  // `graph`; `kernel_args[i]` are the buffers (values) of the i-th kernel
  // step's kernel, in launch order, and module kernel i is that step's.
  struct Parts {
    std::unique_ptr<ir::Graph> graph;
    passes::LoweringPlan plan;
    passes::Schedule schedule;
    passes::MemoryPlan memory;
    std::vector<std::string> kernel_names;
    std::vector<std::vector<const ir::Node*>> kernel_args;
    // Shared with the device tensors allocated on it.
    std::shared_ptr<Device> device;
    std::unique_ptr<DeviceModule> module;
    std::string source;
    std::string kernel_ir;  // readable dump of every kernel
    HostCompileReport compile_report;
  };

  static absl::StatusOr<Executable> Create(Parts parts);

  Executable(Executable&& other) noexcept;
  Executable& operator=(Executable&& other) noexcept;
  ~Executable();

  // Runs the graph. Checks the inputs' count, dtypes and shapes first; an
  // error names the offending input. Safe to call from several threads (runs
  // are serialized).
  absl::StatusOr<std::vector<Tensor>> Run(absl::Span<const Tensor> inputs);
  // Like Run, writing into caller-provided output tensors (one per graph
  // output, each of the output's type; checked like the inputs), so repeated
  // runs need not allocate. Outputs must not alias inputs or each other.
  absl::Status RunInto(absl::Span<const Tensor> inputs, absl::Span<Tensor> outputs);

  // Device tensors (see the file comment): inputs of the graph's input
  // types in this executable's device memory; fresh device outputs (or
  // caller-provided ones, checked like RunInto's). Asynchronous on CUDA.
  absl::StatusOr<std::vector<DeviceTensor>> RunDevice(absl::Span<const DeviceTensor> inputs);
  absl::Status RunDeviceInto(absl::Span<const DeviceTensor> inputs,
                             absl::Span<DeviceTensor> outputs);
  // Device memory of this executable's device, and copies to and from it
  // (ToHost waits for queued work first).
  absl::StatusOr<DeviceTensor> AllocateDeviceTensor(const ir::TensorType& type) const;
  absl::StatusOr<DeviceTensor> ToDevice(const Tensor& host) const;
  absl::StatusOr<Tensor> ToHost(const DeviceTensor& device) const;
  // Waits for the work RunDevice queued; errors of that work surface here.
  absl::Status Synchronize();

  const passes::LoweringPlan& plan() const { return parts_->plan; }
  const std::vector<StepInfo>& steps() const { return steps_; }
  // The C++ (or CUDA) source of all generated kernels (on a CUDA cache hit
  // without the autotuner's other launch shapes, whose text a warm compile
  // does not make: CudaEmitOptions::defer_variant_text).
  const std::string& generated_source() const { return parts_->source; }
  const std::string& kernel_ir() const { return parts_->kernel_ir; }
  // The graph as compiled (after decomposition, cse and dce).
  const ir::Graph& graph() const { return *parts_->graph; }
  const passes::Schedule& schedule() const { return parts_->schedule; }
  const passes::MemoryPlan& memory_plan() const { return parts_->memory; }
  int64_t peak_intermediate_bytes() const { return parts_->memory.arena_bytes; }
  // Whether the kernels came from the kernel cache without compiling.
  bool cache_hit() const { return parts_->compile_report.cache_hit; }
  // How the kernels were compiled, and where the compile's time went
  // (compile_report().phases; Create adds its own time to them).
  const HostCompileReport& compile_report() const { return parts_->compile_report; }
  const std::string& device_name() const { return device_name_; }
  Device& device() const { return *parts_->device; }
  // One line per step.
  std::string StepsToString() const;

 private:
  struct State;
  explicit Executable(std::unique_ptr<Parts> parts);
  void FreeArena();
  // Checks count and types of tensors (inputs or outputs) against `values`.
  template <typename T>
  absl::Status CheckTensors(absl::Span<const T> tensors, const std::vector<ir::Node*>& values,
                            const char* what) const;
  // Runs the steps on device pointers (one per graph input and output);
  // `state_->mu` must be held.
  absl::Status Execute(const std::vector<void*>& inputs, const std::vector<void*>& outputs);
  // Run/RunInto on a device without host memory: through staging buffers.
  absl::Status RunStaged(absl::Span<const Tensor> inputs, absl::Span<Tensor> outputs);

  std::unique_ptr<Parts> parts_;
  std::vector<StepInfo> steps_;
  std::string device_name_;
  std::unique_ptr<State> state_;
};

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_EXECUTABLE_H_
