#include "runtime/executable.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "passes/matmul_epilogue.h"

namespace sluice::runtime {
namespace {

// The fused library step `s` as a matmul epilogue; an error for a pattern
// no device runs as a library call.
absl::StatusOr<passes::MatmulEpilogueMatch> LibraryPattern(const passes::Step& s) {
  if (s.pattern != passes::kMatmulEpiloguePattern) {
    return absl::InvalidArgumentError(absl::StrCat("step ", s.id, ": no library call for pattern '",
                                                   s.pattern, "'"));
  }
  absl::StatusOr<passes::MatmulEpilogueMatch> m = passes::MatmulEpilogueFromNodes(s.nodes);
  if (!m.ok()) {
    return absl::Status(m.status().code(),
                        absl::StrCat("step ", s.id, " (", s.pattern, "): ", m.status().message()));
  }
  return m;
}

}  // namespace

std::string StepInfo::ToString() const {
  const std::string note_text = note.empty() ? "" : absl::StrCat(" (", note, ")");
  switch (kind) {
    case passes::StepKind::kKernel:
      return absl::StrCat("kernel ", kernel, " [", absl::StrJoin(nodes, ", "), "]");
    case passes::StepKind::kFallback:
      return absl::StrCat("fallback ", op, note_text, " [", absl::StrJoin(nodes, ", "), "]");
    case passes::StepKind::kLibrary:
      return absl::StrCat("library ", op, note_text, " [", absl::StrJoin(nodes, ", "), "]");
  }
  return "?";
}

struct Executable::State {
  absl::Mutex mu;
  void* arena = nullptr;
  int64_t arena_bytes = 0;
  // Device copies of the graph's inputs and outputs for Run/RunInto on a
  // device without host memory (allocated on first use).
  std::vector<void*> staged_inputs;
  std::vector<void*> staged_outputs;
  // Per schedule step (by position), the matmul epilogue a fused library
  // step stands for; nullopt for every other step. Derived once by Create
  // (which rejects a fused step it cannot derive), read by every run.
  std::vector<std::optional<passes::MatmulEpilogueMatch>> epilogues;
};

Executable::Executable(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)), state_(std::make_unique<State>()) {}

Executable::Executable(Executable&& other) noexcept = default;

Executable& Executable::operator=(Executable&& other) noexcept {
  if (this != &other) {
    FreeArena();
    parts_ = std::move(other.parts_);
    steps_ = std::move(other.steps_);
    device_name_ = std::move(other.device_name_);
    state_ = std::move(other.state_);
  }
  return *this;
}

void Executable::FreeArena() {
  if (state_ == nullptr || parts_ == nullptr || parts_->device == nullptr) return;
  Device& device = *parts_->device;
  const bool any = state_->arena != nullptr || !state_->staged_inputs.empty() ||
                   !state_->staged_outputs.empty();
  if (!any) return;
  // Queued work may still use the memory.
  (void)device.Synchronize();
  if (state_->arena != nullptr) device.Free(state_->arena);
  state_->arena = nullptr;
  state_->arena_bytes = 0;
  for (void* p : state_->staged_inputs) device.Free(p);
  for (void* p : state_->staged_outputs) device.Free(p);
  state_->staged_inputs.clear();
  state_->staged_outputs.clear();
}

Executable::~Executable() { FreeArena(); }

absl::StatusOr<Executable> Executable::Create(Parts parts) {
  const auto start = std::chrono::steady_clock::now();
  if (parts.graph == nullptr || parts.device == nullptr) {
    return absl::InvalidArgumentError("Executable needs a graph and a device");
  }
  int kernels = 0;
  for (const passes::Step& s : parts.schedule.steps) kernels += s.kind == passes::StepKind::kKernel;
  if (kernels != static_cast<int>(parts.kernel_args.size()) ||
      kernels != static_cast<int>(parts.kernel_names.size()) ||
      (kernels > 0 && (parts.module == nullptr || parts.module->num_kernels() != kernels))) {
    return absl::InvalidArgumentError(
        absl::StrCat("Executable: ", kernels, " kernel steps but ", parts.kernel_args.size(),
                     " kernel argument lists"));
  }
  Executable e(std::make_unique<Parts>(std::move(parts)));
  e.device_name_ = e.parts_->device->name();
  int k = 0;
  e.state_->epilogues.resize(e.parts_->schedule.steps.size());
  for (size_t i = 0; i < e.parts_->schedule.steps.size(); ++i) {
    const passes::Step& s = e.parts_->schedule.steps[i];
    StepInfo info;
    info.id = s.id;
    info.kind = s.kind;
    for (const ir::Node* n : s.nodes) info.nodes.push_back(n->name());
    for (const ir::Node* n : s.inputs) info.inputs.push_back(n->name());
    for (const ir::Node* n : s.outputs) info.outputs.push_back(n->name());
    if (s.kind == passes::StepKind::kKernel) {
      info.kernel = e.parts_->kernel_names[k++];
    } else if (!s.pattern.empty()) {
      absl::StatusOr<passes::MatmulEpilogueMatch> m = LibraryPattern(s);
      if (!m.ok()) return m.status();
      info.op = s.pattern;
      info.note = m->Describe();
      e.state_->epilogues[i] = *std::move(m);
    } else {
      info.op = s.nodes[0]->op();
    }
    if (s.kind == passes::StepKind::kFallback) {
      info.note = e.parts_->device->FallbackNote(*s.nodes[0]);
      // The plan says it too.
      passes::NodeDecision* d = e.parts_->plan.FindMutable(s.nodes[0]->name());
      if (!info.note.empty() && d != nullptr &&
          d->detail.find(info.note) == std::string::npos) {
        absl::StrAppend(&d->detail, d->detail.empty() ? "" : "; ", "runs as ", info.note,
                        " on ", e.device_name_);
      }
    }
    e.steps_.push_back(std::move(info));
  }
  CompilePhases& phases = e.parts_->compile_report.phases;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  phases.executable_ms += ms;
  phases.total_ms += ms;
  return e;
}

std::string Executable::StepsToString() const {
  std::string out;
  for (const StepInfo& s : steps_) absl::StrAppend(&out, s.id, ": ", s.ToString(), "\n");
  return out;
}

template <typename T>
absl::Status Executable::CheckTensors(absl::Span<const T> tensors,
                                      const std::vector<ir::Node*>& values,
                                      const char* what) const {
  const ir::Graph& g = *parts_->graph;
  const bool inputs = std::string(what) == "input";
  if (tensors.size() != values.size()) {
    return absl::InvalidArgumentError(
        inputs ? absl::StrCat("graph ", g.name(), " takes ", values.size(), " inputs, got ",
                              tensors.size())
               : absl::StrCat("graph ", g.name(), " has ", values.size(), " outputs, got ",
                              tensors.size()));
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const ir::Node* v = values[i];
    if (tensors[i].type() != v->type() || !tensors[i].defined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", i, " (%", v->name(), ") of graph ", g.name(), ": expected ",
          v->type().ToString(), ", got ",
          tensors[i].defined() ? tensors[i].type().ToString() : "an undefined tensor"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Fresh output tensors are zero pages the kernels fault in on first write; for
// large ones ask for transparent huge pages (where the kernel only grants
// them on request), which turns ~16K page faults per 64 MiB into ~32.
void AdviseHugePages(Tensor& t) {
#ifdef MADV_HUGEPAGE
  constexpr int64_t kHuge = int64_t{2} << 20;
  if (t.nbytes() < 2 * kHuge) return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(t.data());
  const uintptr_t start = (begin + kHuge - 1) / kHuge * kHuge;
  const uintptr_t end = (begin + static_cast<uintptr_t>(t.nbytes())) / kHuge * kHuge;
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#else
  (void)t;
#endif
}

// `status` (an allocation failure) said of input/output `index` (%name) of
// graph `g`, keeping its code.
absl::Status ValueError(const absl::Status& status, const char* what, size_t index,
                        const ir::Node& value, const ir::Graph& g) {
  return absl::Status(status.code(), absl::StrCat(what, " ", index, " (%", value.name(),
                                                  ") of graph ", g.name(), ": ", status.message()));
}

// One tensor per graph output, made by `make(node)` (an output returned
// twice is one tensor, shared); a failure names the output.
template <typename T, typename Make>
absl::StatusOr<std::vector<T>> MakeOutputs(const ir::Graph& g, Make make) {
  std::vector<T> outputs;
  absl::flat_hash_map<const ir::Node*, size_t> first;
  for (const ir::Node* o : g.outputs()) {
    if (auto it = first.find(o); it != first.end()) {
      outputs.push_back(outputs[it->second]);
      continue;
    }
    first[o] = outputs.size();
    absl::StatusOr<T> t = make(*o);
    if (!t.ok()) return ValueError(t.status(), "output", outputs.size(), *o, g);
    outputs.push_back(*std::move(t));
  }
  return outputs;
}

}  // namespace

absl::StatusOr<std::vector<Tensor>> Executable::Run(absl::Span<const Tensor> inputs) {
  const ir::Graph& g = *parts_->graph;
  if (absl::Status s = CheckTensors(inputs, g.inputs(), "input"); !s.ok()) return s;
  // An output larger than the machine is an error the caller can act on
  // (and the Executable stays usable), not an exception.
  absl::StatusOr<std::vector<Tensor>> made =
      MakeOutputs<Tensor>(g, [](const ir::Node& o) -> absl::StatusOr<Tensor> {
        absl::StatusOr<Tensor> t = Tensor::TryZeros(o.type());
        if (t.ok()) AdviseHugePages(*t);
        return t;
      });
  if (!made.ok()) return made.status();
  std::vector<Tensor>& outputs = *made;
  absl::Status s = parts_->device->is_host() ? [&] {
    std::vector<void*> in, out;
    for (const Tensor& t : inputs) in.push_back(const_cast<void*>(t.data()));
    for (Tensor& t : outputs) out.push_back(t.data());
    absl::MutexLock lock(&state_->mu);
    return Execute(in, out);
  }()
                                             : RunStaged(inputs, absl::MakeSpan(outputs));
  if (!s.ok()) return s;
  return made;
}

absl::Status Executable::RunInto(absl::Span<const Tensor> inputs, absl::Span<Tensor> outputs) {
  const ir::Graph& g = *parts_->graph;
  if (absl::Status s = CheckTensors(inputs, g.inputs(), "input"); !s.ok()) return s;
  if (absl::Status s = CheckTensors(absl::Span<const Tensor>(outputs), g.outputs(), "output");
      !s.ok()) {
    return s;
  }
  if (!parts_->device->is_host()) return RunStaged(inputs, outputs);
  std::vector<void*> in, out;
  for (const Tensor& t : inputs) in.push_back(const_cast<void*>(t.data()));
  for (Tensor& t : outputs) out.push_back(t.data());
  absl::MutexLock lock(&state_->mu);
  return Execute(in, out);
}

absl::Status Executable::RunStaged(absl::Span<const Tensor> inputs, absl::Span<Tensor> outputs) {
  const ir::Graph& g = *parts_->graph;
  Device& device = *parts_->device;
  absl::MutexLock lock(&state_->mu);
  auto stage = [&](const std::vector<ir::Node*>& values, std::vector<void*>& buffers,
                   const char* what) -> absl::Status {
    if (!buffers.empty()) return absl::OkStatus();
    for (size_t i = 0; i < values.size(); ++i) {
      const ir::Node& v = *values[i];
      absl::StatusOr<void*> p =
          device.Allocate(v.shape().num_elements() * ir::DTypeSize(v.dtype()));
      if (!p.ok()) {
        // All or none: a later Run starts again from scratch.
        for (void* q : buffers) device.Free(q);
        buffers.clear();
        return ValueError(p.status(), what, i, v, g);
      }
      buffers.push_back(*p);
    }
    return absl::OkStatus();
  };
  if (absl::Status s = stage(g.inputs(), state_->staged_inputs, "input"); !s.ok()) return s;
  if (absl::Status s = stage(g.outputs(), state_->staged_outputs, "output"); !s.ok()) return s;
  for (size_t i = 0; i < inputs.size(); ++i) {
    absl::Status s =
        device.CopyToDevice(state_->staged_inputs[i], inputs[i].data(), inputs[i].nbytes());
    if (!s.ok()) return s;
  }
  if (absl::Status s = Execute(state_->staged_inputs, state_->staged_outputs); !s.ok()) {
    return s;
  }
  for (size_t j = 0; j < outputs.size(); ++j) {
    absl::Status s =
        device.CopyToHost(outputs[j].data(), state_->staged_outputs[j], outputs[j].nbytes());
    if (!s.ok()) return s;
  }
  return device.Synchronize();
}

absl::StatusOr<std::vector<DeviceTensor>> Executable::RunDevice(
    absl::Span<const DeviceTensor> inputs) {
  const ir::Graph& g = *parts_->graph;
  if (absl::Status s = CheckTensors(inputs, g.inputs(), "input"); !s.ok()) return s;
  absl::StatusOr<std::vector<DeviceTensor>> made = MakeOutputs<DeviceTensor>(
      g, [this](const ir::Node& o) { return AllocateDeviceTensor(o.type()); });
  if (!made.ok()) return made.status();
  std::vector<DeviceTensor>& outputs = *made;
  std::vector<void*> in, out;
  for (const DeviceTensor& t : inputs) in.push_back(t.data());
  for (const DeviceTensor& t : outputs) out.push_back(t.data());
  absl::MutexLock lock(&state_->mu);
  if (absl::Status s = Execute(in, out); !s.ok()) return s;
  return made;
}

absl::Status Executable::RunDeviceInto(absl::Span<const DeviceTensor> inputs,
                                       absl::Span<DeviceTensor> outputs) {
  const ir::Graph& g = *parts_->graph;
  if (absl::Status s = CheckTensors(inputs, g.inputs(), "input"); !s.ok()) return s;
  if (absl::Status s =
          CheckTensors(absl::Span<const DeviceTensor>(outputs), g.outputs(), "output");
      !s.ok()) {
    return s;
  }
  std::vector<void*> in, out;
  for (const DeviceTensor& t : inputs) in.push_back(t.data());
  for (const DeviceTensor& t : outputs) out.push_back(t.data());
  absl::MutexLock lock(&state_->mu);
  return Execute(in, out);
}

absl::StatusOr<DeviceTensor> Executable::AllocateDeviceTensor(const ir::TensorType& type) const {
  return DeviceTensor::Allocate(parts_->device, type);
}

absl::StatusOr<DeviceTensor> Executable::ToDevice(const Tensor& host) const {
  if (!host.defined()) return absl::InvalidArgumentError("ToDevice of an undefined tensor");
  absl::StatusOr<DeviceTensor> t = AllocateDeviceTensor(host.type());
  if (!t.ok()) return t.status();
  if (absl::Status s = parts_->device->CopyToDevice(t->data(), host.data(), host.nbytes());
      !s.ok()) {
    return s;
  }
  // The host tensor may go away once this returns.
  if (absl::Status s = parts_->device->Synchronize(); !s.ok()) return s;
  return t;
}

absl::StatusOr<Tensor> Executable::ToHost(const DeviceTensor& device) const {
  if (!device.defined()) return absl::InvalidArgumentError("ToHost of an undefined tensor");
  if (absl::Status s = parts_->device->Synchronize(); !s.ok()) return s;
  absl::StatusOr<Tensor> t = Tensor::TryZeros(device.type());
  if (!t.ok()) return t.status();
  if (absl::Status s = parts_->device->CopyToHost(t->data(), device.data(), device.nbytes());
      !s.ok()) {
    return s;
  }
  return t;
}

absl::Status Executable::Synchronize() { return parts_->device->Synchronize(); }

absl::Status Executable::Execute(const std::vector<void*>& inputs,
                                 const std::vector<void*>& outputs) {
  const ir::Graph& g = *parts_->graph;
  Device& device = *parts_->device;
  absl::flat_hash_map<const ir::Node*, void*> ptr;
  for (size_t i = 0; i < inputs.size(); ++i) ptr[g.inputs()[i]] = inputs[i];
  // Outputs that are graph inputs are copies; a value returned twice is
  // computed into the first of its output buffers and copied to the others.
  std::vector<std::pair<size_t, const ir::Node*>> copies;
  for (size_t j = 0; j < outputs.size(); ++j) {
    const ir::Node* o = g.outputs()[j];
    if (o->is_input() || ptr.contains(o)) {
      if (outputs[j] != ptr[o]) copies.push_back({j, o});
    } else {
      ptr[o] = outputs[j];
    }
  }
  const passes::MemoryPlan& mem = parts_->memory;
  if (mem.arena_bytes > state_->arena_bytes) {
    if (state_->arena != nullptr) {
      (void)device.Synchronize();
      device.Free(state_->arena);
    }
    state_->arena = nullptr;
    absl::StatusOr<void*> a = device.Allocate(mem.arena_bytes);
    if (!a.ok()) {
      return absl::Status(a.status().code(),
                          absl::StrCat("graph ", g.name(), ": the arena for intermediates: ",
                                       a.status().message()));
    }
    state_->arena = *a;
    state_->arena_bytes = mem.arena_bytes;
  }
  for (const passes::BufferInfo& b : mem.buffers) {
    ptr[b.value] = static_cast<char*>(state_->arena) + b.offset;
  }
  auto lookup = [&](const ir::Node* n) -> absl::StatusOr<void*> {
    auto it = ptr.find(n);
    if (it == ptr.end()) {
      return absl::InternalError(absl::StrCat("no buffer for %", n->name()));
    }
    return it->second;
  };
  int kernel = 0;
  for (size_t i = 0; i < parts_->schedule.steps.size(); ++i) {
    const passes::Step& s = parts_->schedule.steps[i];
    if (s.kind == passes::StepKind::kKernel) {
      std::vector<void*> args;
      for (const ir::Node* n : parts_->kernel_args[kernel]) {
        absl::StatusOr<void*> p = lookup(n);
        if (!p.ok()) return p.status();
        args.push_back(*p);
      }
      absl::Status st = parts_->module->Launch(kernel, args);
      if (!st.ok()) return st;
      ++kernel;
      continue;
    }
    if (const std::optional<passes::MatmulEpilogueMatch>& m = state_->epilogues[i];
        m.has_value()) {  // A fused library step.
      auto borrow = [&](const ir::Node* v) -> absl::StatusOr<Tensor> {
        absl::StatusOr<void*> p = lookup(v);
        if (!p.ok()) return p.status();
        return Tensor::Borrow(v->dtype(), v->shape(), *p);
      };
      absl::StatusOr<Tensor> a = borrow(m->a);
      if (!a.ok()) return a.status();
      absl::StatusOr<Tensor> b = borrow(m->b);
      if (!b.ok()) return b.status();
      absl::StatusOr<Tensor> out = borrow(m->root());
      if (!out.ok()) return out.status();
      absl::StatusOr<Tensor> bias;
      if (m->bias != nullptr) {
        bias = borrow(m->bias);
        if (!bias.ok()) return bias.status();
      }
      absl::Status st = device.RunMatmulEpilogue(*m->matmul, *a, *b,
                                                 m->bias != nullptr ? &*bias : nullptr,
                                                 m->act, *out);
      if (!st.ok()) {
        return absl::Status(st.code(), absl::StrCat("step ", s.id, " (library ", s.pattern, " %",
                                                    m->root()->name(), "): ", st.message()));
      }
      continue;
    }
    const ir::Node& n = *s.nodes[0];
    std::vector<Tensor> in;
    for (const ir::Operand& o : n.operands()) {
      if (o.is_literal()) {
        in.emplace_back();
        continue;
      }
      absl::StatusOr<void*> p = lookup(o.node());
      if (!p.ok()) return p.status();
      in.push_back(Tensor::Borrow(o.node()->dtype(), o.node()->shape(), *p));
    }
    absl::StatusOr<void*> p = lookup(&n);
    if (!p.ok()) return p.status();
    Tensor out = Tensor::Borrow(n.dtype(), n.shape(), *p);
    absl::Status st = s.kind == passes::StepKind::kFallback ? device.RunFallback(n, in, out)
                                                             : device.RunLibrary(n, in, out);
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat("step ", s.id, " (", StepKindName(s.kind), " %",
                                                  n.name(), "): ", st.message()));
    }
  }
  for (const auto& [j, o] : copies) {
    const int64_t bytes = o->shape().num_elements() * ir::DTypeSize(o->dtype());
    absl::Status st = device.CopyOnDevice(outputs[j], ptr[o], bytes);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace sluice::runtime
