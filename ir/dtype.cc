#include "ir/dtype.h"

namespace sluice::ir {

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kBool: return "bool";
    case DType::kI32: return "i32";
    case DType::kI64: return "i64";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kF32: return "f32";
    case DType::kF64: return "f64";
  }
  return "?";
}

std::optional<DType> ParseDType(absl::string_view name) {
  for (DType d : kAllDTypes) {
    if (DTypeName(d) == name) return d;
  }
  return std::nullopt;
}

int64_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kBool: return 1;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kI32:
    case DType::kF32: return 4;
    case DType::kI64:
    case DType::kF64: return 8;
  }
  return 0;
}

bool IsFloatingPoint(DType dtype) {
  return dtype == DType::kF16 || dtype == DType::kBF16 || dtype == DType::kF32 ||
         dtype == DType::kF64;
}

bool IsIntegral(DType dtype) { return dtype == DType::kI32 || dtype == DType::kI64; }

DType PromoteTypes(DType a, DType b) {
  if (a == b) return a;
  // f16 and bf16 have no common 16-bit type: torch gives f32.
  if ((a == DType::kF16 && b == DType::kBF16) || (a == DType::kBF16 && b == DType::kF16)) {
    return DType::kF32;
  }
  const bool fa = IsFloatingPoint(a), fb = IsFloatingPoint(b);
  if (fa != fb) return fa ? a : b;  // int/bool with float: the float type
  // Same category (or bool vs int): the wider in lattice order.
  return static_cast<uint8_t>(a) > static_cast<uint8_t>(b) ? a : b;
}

namespace {

std::optional<DType> PromoteOpt(std::optional<DType> a, std::optional<DType> b) {
  if (!a) return b;
  if (!b) return a;
  return PromoteTypes(*a, *b);
}

// c10's combine_categories: `higher` wins unless `lower` is of a higher
// category (bool < integral < floating).
std::optional<DType> CombineCategories(std::optional<DType> higher,
                                       std::optional<DType> lower) {
  if (higher && IsFloatingPoint(*higher)) return higher;
  if ((higher && *higher == DType::kBool) || (lower && IsFloatingPoint(*lower))) {
    return PromoteOpt(higher, lower);
  }
  if (higher) return higher;
  return lower;
}

}  // namespace

void ResultTypeState::AddTensor(DType dtype, bool zero_dim) {
  if (zero_dim) {
    zero_result_ = PromoteOpt(zero_result_, dtype);
  } else {
    dim_result_ = PromoteOpt(dim_result_, dtype);
  }
}

void ResultTypeState::AddLiteral(DType literal_kind) {
  // A float literal participates as the default float type, an int literal as
  // i64, like torch's wrapped numbers.
  DType d = IsFloatingPoint(literal_kind) ? kDefaultFloat : literal_kind;
  wrapped_result_ = PromoteOpt(wrapped_result_, d);
}

DType ResultTypeState::Result() const {
  std::optional<DType> r =
      CombineCategories(dim_result_, CombineCategories(zero_result_, wrapped_result_));
  return r.value_or(kDefaultFloat);
}

}  // namespace sluice::ir
