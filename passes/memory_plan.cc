#include "passes/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace sluice::passes {

const BufferInfo* MemoryPlan::Find(const ir::Node* value) const {
  for (const BufferInfo& b : buffers) {
    if (b.value == value) return &b;
  }
  return nullptr;
}

std::string MemoryPlan::ToString() const {
  std::string out = absl::StrCat("arena ", arena_bytes, " bytes\n");
  for (const BufferInfo& b : buffers) {
    absl::StrAppend(&out, "  %", b.value->name(), ": ", b.bytes, " bytes @", b.offset, " steps [",
                    b.first_step, ", ", b.last_step, "]\n");
  }
  return out;
}

MemoryPlan PlanMemory(const Schedule& schedule) {
  MemoryPlan plan;
  auto is_output = [&](const ir::Node* n) {
    return schedule.graph != nullptr && schedule.graph->IsOutput(n);
  };
  absl::flat_hash_map<const ir::Node*, int> index;
  for (const Step& step : schedule.steps) {
    for (const ir::Node* out : step.outputs) {
      if (is_output(out)) continue;
      BufferInfo b;
      b.value = out;
      b.bytes = out->shape().num_elements() * ir::DTypeSize(out->dtype());
      b.first_step = b.last_step = step.id;
      index[out] = static_cast<int>(plan.buffers.size());
      plan.buffers.push_back(b);
    }
  }
  for (const Step& step : schedule.steps) {
    for (const ir::Node* in : step.inputs) {
      auto it = index.find(in);
      if (it != index.end()) {
        BufferInfo& b = plan.buffers[it->second];
        b.last_step = std::max(b.last_step, step.id);
      }
    }
  }
  std::vector<int> order(plan.buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return plan.buffers[a].bytes > plan.buffers[b].bytes;
  });
  std::vector<int> placed;
  for (int i : order) {
    BufferInfo& b = plan.buffers[i];
    const int64_t size = std::max<int64_t>(
        kArenaAlignment, (b.bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment);
    // Intervals already taken by buffers alive at the same time, by offset.
    std::vector<std::pair<int64_t, int64_t>> taken;
    for (int j : placed) {
      const BufferInfo& o = plan.buffers[j];
      if (o.first_step <= b.last_step && b.first_step <= o.last_step) {
        const int64_t osize = std::max<int64_t>(
            kArenaAlignment, (o.bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment);
        taken.push_back({o.offset, o.offset + osize});
      }
    }
    std::sort(taken.begin(), taken.end());
    int64_t offset = 0;
    for (const auto& [lo, hi] : taken) {
      if (offset + size <= lo) break;
      offset = std::max(offset, hi);
    }
    b.offset = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace sluice::passes
