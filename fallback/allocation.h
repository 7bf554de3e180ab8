// Internal: how a failed allocation of a kernel temporary reaches RunNode.
//
// The typed kernel helpers are plain void functions that build Eigen
// expressions, and Eigen itself throws std::bad_alloc when one of its own
// temporaries (a reduction's or a contraction's buffers) cannot be allocated.
// So a temporary that cannot be allocated throws too, with its size, and the
// kernel entry points, RunNode (kernel_registry.cc) and RunNodeOnGpu
// (cuda/gpu_kernels.cc), turn either into a ResourceExhausted status through
// CatchAllocationFailures: no exception leaves the fallback library.
#ifndef SLUICE_FALLBACK_ALLOCATION_H_
#define SLUICE_FALLBACK_ALLOCATION_H_

#include <cstddef>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sluice::fallback {

// A kernel temporary (DeviceBuffer) of `bytes()` bytes could not be allocated.
class TemporaryAllocationError : public std::bad_alloc {
 public:
  explicit TemporaryAllocationError(size_t bytes) : bytes_(bytes) {}
  size_t bytes() const { return bytes_; }
  const char* what() const noexcept override {
    return "a fallback kernel temporary could not be allocated";
  }

 private:
  size_t bytes_;
};

// Runs `kernel` (a callable returning absl::Status) and returns its status,
// or ResourceExhausted when it could not allocate a temporary: its own
// (TemporaryAllocationError, with the size) or one of Eigen's.
template <typename Kernel>
absl::Status CatchAllocationFailures(Kernel&& kernel) {
  try {
    return std::forward<Kernel>(kernel)();
  } catch (const TemporaryAllocationError& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", e.bytes(), " bytes for a kernel temporary"));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory for a kernel temporary allocated inside Eigen");
  }
}

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_ALLOCATION_H_
