// Element types of sluice tensors and PyTorch's type-promotion rules over them.
#ifndef SLUICE_IR_DTYPE_H_
#define SLUICE_IR_DTYPE_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace sluice::ir {

// The order is the promotion lattice order used by PromoteTypes; keep it.
enum class DType : uint8_t { kBool, kI32, kI64, kF16, kBF16, kF32, kF64 };

inline constexpr DType kAllDTypes[] = {DType::kF32,  DType::kF16, DType::kBF16,
                                       DType::kF64,  DType::kI32, DType::kI64,
                                       DType::kBool};

// Text-format spelling: "f32", "f16", "bf16", "f64", "i32", "i64", "bool".
absl::string_view DTypeName(DType dtype);
std::optional<DType> ParseDType(absl::string_view name);

// Bytes per element (bool is one byte).
int64_t DTypeSize(DType dtype);

bool IsFloatingPoint(DType dtype);  // f16 bf16 f32 f64
bool IsIntegral(DType dtype);       // i32 i64 (not bool)

// The dtype torch uses for Python float scalars and int->float results.
inline constexpr DType kDefaultFloat = DType::kF32;

// torch.promote_types for two tensor dtypes.
DType PromoteTypes(DType a, DType b);

// The category-aware rule of torch.result_type: zero-dim tensors and scalar
// literals only raise the result's category, never its width within one.
class ResultTypeState {
 public:
  void AddTensor(DType dtype, bool zero_dim);
  // A Python-style scalar literal: bool, int (i64) or float (f64 wrapped).
  void AddLiteral(DType literal_kind);
  DType Result() const;

 private:
  std::optional<DType> dim_result_;
  std::optional<DType> zero_result_;
  std::optional<DType> wrapped_result_;
};

}  // namespace sluice::ir

#endif  // SLUICE_IR_DTYPE_H_
