#include "fallback/cpu_device.h"

#include <algorithm>
#include <thread>

namespace sluice::fallback {

const Eigen::ThreadPoolDevice& CpuDevice() {
  static const Eigen::ThreadPoolDevice* device = [] {
    const int threads = std::max(1u, std::thread::hardware_concurrency());
    auto* pool = new Eigen::ThreadPool(threads);
    return new Eigen::ThreadPoolDevice(pool, threads);
  }();
  return *device;
}

}  // namespace sluice::fallback
