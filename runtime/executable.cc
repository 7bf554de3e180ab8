#include "runtime/executable.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace sluice::runtime {

std::string StepInfo::ToString() const {
  switch (kind) {
    case passes::StepKind::kKernel:
      return absl::StrCat("kernel ", kernel, " [", absl::StrJoin(nodes, ", "), "]");
    case passes::StepKind::kFallback:
      return absl::StrCat("fallback ", op, " [", absl::StrJoin(nodes, ", "), "]");
    case passes::StepKind::kLibrary:
      return absl::StrCat("library ", op, " [", absl::StrJoin(nodes, ", "), "]");
  }
  return "?";
}

struct Executable::State {
  absl::Mutex mu;
  void* arena = nullptr;
  int64_t arena_bytes = 0;
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
  if (state_ != nullptr && state_->arena != nullptr && parts_ != nullptr &&
      parts_->device != nullptr) {
    parts_->device->Free(state_->arena);
    state_->arena = nullptr;
    state_->arena_bytes = 0;
  }
}

Executable::~Executable() { FreeArena(); }

absl::StatusOr<Executable> Executable::Create(Parts parts) {
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
  for (const passes::Step& s : e.parts_->schedule.steps) {
    StepInfo info;
    info.id = s.id;
    info.kind = s.kind;
    for (const ir::Node* n : s.nodes) info.nodes.push_back(n->name());
    for (const ir::Node* n : s.inputs) info.inputs.push_back(n->name());
    for (const ir::Node* n : s.outputs) info.outputs.push_back(n->name());
    if (s.kind == passes::StepKind::kKernel) {
      info.kernel = e.parts_->kernel_names[k++];
    } else {
      info.op = s.nodes[0]->op();
    }
    e.steps_.push_back(std::move(info));
  }
  return e;
}

std::string Executable::StepsToString() const {
  std::string out;
  for (const StepInfo& s : steps_) absl::StrAppend(&out, s.id, ": ", s.ToString(), "\n");
  return out;
}

absl::Status Executable::CheckInputs(absl::Span<const Tensor> inputs) const {
  const ir::Graph& g = *parts_->graph;
  if (inputs.size() != g.inputs().size()) {
    return absl::InvalidArgumentError(absl::StrCat("graph ", g.name(), " takes ", g.inputs().size(),
                                                   " inputs, got ", inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::Node* in = g.inputs()[i];
    if (inputs[i].type() != in->type() || !inputs[i].defined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", i, " (%", in->name(), ") of graph ", g.name(), ": expected ",
          in->type().ToString(), ", got ",
          inputs[i].defined() ? inputs[i].type().ToString() : "an undefined tensor"));
    }
  }
  if (!parts_->device->is_host()) {
    return absl::UnimplementedError("running on a non-host device is not implemented yet");
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

}  // namespace

absl::StatusOr<std::vector<Tensor>> Executable::Run(absl::Span<const Tensor> inputs) {
  if (absl::Status s = CheckInputs(inputs); !s.ok()) return s;
  const ir::Graph& g = *parts_->graph;
  std::vector<Tensor> outputs;
  absl::flat_hash_map<const ir::Node*, size_t> first;
  for (const ir::Node* o : g.outputs()) {
    if (auto it = first.find(o); it != first.end()) {
      outputs.push_back(outputs[it->second]);
      continue;
    }
    first[o] = outputs.size();
    outputs.push_back(Tensor::Zeros(o->type()));
    AdviseHugePages(outputs.back());
  }
  if (absl::Status s = Execute(inputs, absl::MakeSpan(outputs)); !s.ok()) return s;
  return outputs;
}

absl::Status Executable::RunInto(absl::Span<const Tensor> inputs, absl::Span<Tensor> outputs) {
  if (absl::Status s = CheckInputs(inputs); !s.ok()) return s;
  const ir::Graph& g = *parts_->graph;
  if (outputs.size() != g.outputs().size()) {
    return absl::InvalidArgumentError(absl::StrCat("graph ", g.name(), " has ", g.outputs().size(),
                                                   " outputs, got ", outputs.size()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::Node* o = g.outputs()[i];
    if (outputs[i].type() != o->type() || !outputs[i].defined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output ", i, " (%", o->name(), ") of graph ", g.name(), ": expected ",
          o->type().ToString(), ", got ",
          outputs[i].defined() ? outputs[i].type().ToString() : "an undefined tensor"));
    }
  }
  return Execute(inputs, outputs);
}

absl::Status Executable::Execute(absl::Span<const Tensor> inputs, absl::Span<Tensor> outputs) {
  const ir::Graph& g = *parts_->graph;
  Device& device = *parts_->device;
  absl::MutexLock lock(&state_->mu);
  absl::flat_hash_map<const ir::Node*, void*> ptr;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ptr[g.inputs()[i]] = const_cast<void*>(inputs[i].data());
  }
  // Outputs that are graph inputs are copies; a value returned twice is
  // computed into the first of its output tensors and copied to the others.
  std::vector<std::pair<size_t, const ir::Node*>> copies;
  for (size_t j = 0; j < outputs.size(); ++j) {
    const ir::Node* o = g.outputs()[j];
    if (o->is_input() || ptr.contains(o)) {
      if (outputs[j].data() != ptr[o]) copies.push_back({j, o});
    } else {
      ptr[o] = outputs[j].data();
    }
  }
  const passes::MemoryPlan& mem = parts_->memory;
  if (mem.arena_bytes > state_->arena_bytes) {
    if (state_->arena != nullptr) device.Free(state_->arena);
    state_->arena = nullptr;
    absl::StatusOr<void*> a = device.Allocate(mem.arena_bytes);
    if (!a.ok()) return a.status();
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
  for (const passes::Step& s : parts_->schedule.steps) {
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
    absl::Status st = device.CopyToHost(outputs[j].data(), ptr[o], outputs[j].nbytes());
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace sluice::runtime
