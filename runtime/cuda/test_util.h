// For GPU tests: skip (not fail) when CUDA is unavailable, saying why. CI
// machines have the CUDA toolkit but no driver, so every GPU test must start
// with this.
//
//   TEST(CudaFoo, Bar) {
//     SLUICE_SKIP_WITHOUT_CUDA();
//     ...
//   }
#ifndef SLUICE_RUNTIME_CUDA_TEST_UTIL_H_
#define SLUICE_RUNTIME_CUDA_TEST_UTIL_H_

#include <string>

#include "gtest/gtest.h"
#include "runtime/cuda/symbols.h"

#define SLUICE_SKIP_WITHOUT_CUDA()                                        \
  do {                                                                    \
    std::string sluice_cuda_reason_;                                      \
    if (!::sluice::runtime::cuda::CudaAvailable(&sluice_cuda_reason_)) {  \
      GTEST_SKIP() << "CUDA unavailable: " << sluice_cuda_reason_;        \
    }                                                                     \
  } while (false)

#endif  // SLUICE_RUNTIME_CUDA_TEST_UTIL_H_
