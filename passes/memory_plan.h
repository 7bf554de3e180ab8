// Arena planning for the intermediate buffers of a schedule: every value a
// step materializes that is not a graph output gets a 64-byte aligned offset
// in one arena, reusing the memory of buffers whose lifetime (producing step
// to last reading step, inclusive) is over. Greedy by size, largest first.
// Graph inputs and outputs live outside the arena.
#ifndef SLUICE_PASSES_MEMORY_PLAN_H_
#define SLUICE_PASSES_MEMORY_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/schedule.h"

namespace sluice::passes {

inline constexpr int64_t kArenaAlignment = 64;

struct BufferInfo {
  const ir::Node* value = nullptr;
  int64_t bytes = 0;
  int first_step = 0;  // the step that writes it
  int last_step = 0;   // the last step that reads it (first_step if none)
  int64_t offset = -1; // in the arena
};

struct MemoryPlan {
  std::vector<BufferInfo> buffers;  // in order of first_step
  int64_t arena_bytes = 0;          // peak intermediate bytes

  // The buffer of `value`, or null when it is not in the arena.
  const BufferInfo* Find(const ir::Node* value) const;
  std::string ToString() const;
};

// Buffers are the step outputs that are not graph outputs.
MemoryPlan PlanMemory(const Schedule& schedule);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_MEMORY_PLAN_H_
