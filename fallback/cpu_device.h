// The process-wide Eigen CPU device the fallback kernels run on: one thread
// pool sized to the hardware, created on first use and never destroyed (so
// kernels may run during static destruction of other objects).
#ifndef SLUICE_FALLBACK_CPU_DEVICE_H_
#define SLUICE_FALLBACK_CPU_DEVICE_H_

#include "fallback/eigen.h"

namespace sluice::fallback {

const Eigen::ThreadPoolDevice& CpuDevice();

}  // namespace sluice::fallback

#endif  // SLUICE_FALLBACK_CPU_DEVICE_H_
