// A header reached by cuda_smoke.cu only through cuda_library's deps.

#ifndef SLUICE_THIRD_PARTY_SMOKE_SMOKE_CONSTANT_H_
#define SLUICE_THIRD_PARTY_SMOKE_SMOKE_CONSTANT_H_

namespace sluice::smoke {
inline constexpr int kSmokeConstant = 1234;
}  // namespace sluice::smoke

#endif  // SLUICE_THIRD_PARTY_SMOKE_SMOKE_CONSTANT_H_
