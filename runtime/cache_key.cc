#include "runtime/cache_key.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace sluice::runtime {
namespace {

constexpr uint64_t kC1 = 0x87c37b91114253d5ull;
constexpr uint64_t kC2 = 0x4cf5ad432745937full;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t Fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// Little-endian load (x86-64 and AArch64 Linux, where sluice runs, are).
inline uint64_t Load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

void Murmur3x64_128::Block(const unsigned char* block) {
  uint64_t k1 = Load64(block);
  uint64_t k2 = Load64(block + 8);
  k1 *= kC1;
  k1 = Rotl(k1, 31);
  k1 *= kC2;
  h1_ ^= k1;
  h1_ = Rotl(h1_, 27);
  h1_ += h2_;
  h1_ = h1_ * 5 + 0x52dce729;
  k2 *= kC2;
  k2 = Rotl(k2, 33);
  k2 *= kC1;
  h2_ ^= k2;
  h2_ = Rotl(h2_, 31);
  h2_ += h1_;
  h2_ = h2_ * 5 + 0x38495ab5;
}

void Murmur3x64_128::Update(const void* data, size_t n) {
  if (n == 0) return;  // `data` may be null (an empty string_view)
  const auto* p = static_cast<const unsigned char*>(data);
  length_ += n;
  if (pending_ > 0) {
    const size_t take = std::min(n, sizeof(buffer_) - pending_);
    std::memcpy(buffer_ + pending_, p, take);
    pending_ += take;
    p += take;
    n -= take;
    if (pending_ < sizeof(buffer_)) return;
    Block(buffer_);
    pending_ = 0;
  }
  for (; n >= sizeof(buffer_); n -= sizeof(buffer_), p += sizeof(buffer_)) Block(p);
  std::memcpy(buffer_, p, n);
  pending_ = n;
}

std::pair<uint64_t, uint64_t> Murmur3x64_128::Finish() const {
  uint64_t h1 = h1_, h2 = h2_;
  // The tail: bytes 8..14 into k2, 0..7 into k1 (zero-padded; a zero k
  // leaves h unchanged, as the reference's switch does).
  unsigned char tail[16] = {};
  std::memcpy(tail, buffer_, pending_);
  uint64_t k1 = Load64(tail), k2 = Load64(tail + 8);
  k2 *= kC2;
  k2 = Rotl(k2, 33);
  k2 *= kC1;
  h2 ^= k2;
  k1 *= kC1;
  k1 = Rotl(k1, 31);
  k1 *= kC2;
  h1 ^= k1;

  h1 ^= length_;
  h2 ^= length_;
  h1 += h2;
  h2 += h1;
  h1 = Fmix(h1);
  h2 = Fmix(h2);
  h1 += h2;
  h2 += h1;
  return {h1, h2};
}

CacheKey CacheKey::Of(absl::Span<const absl::string_view> parts) {
  Murmur3x64_128 h;
  for (absl::string_view part : parts) {
    const uint64_t size = part.size();
    h.Update(&size, sizeof(size));
    h.Update(part.data(), part.size());
  }
  const auto [h1, h2] = h.Finish();
  return CacheKey{h1, h2};
}

std::string CacheKey::ToString() const { return absl::StrFormat("%016x%016x", hi, lo); }

}  // namespace sluice::runtime
