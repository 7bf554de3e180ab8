// C++ text that both C++ emitters (codegen/cpu for the host compiler,
// codegen/cuda for NVRTC) write the same way. `t` is the emitter's own name
// for the value type (the CPU's int32_t is CUDA's int); `a` and `b` are the
// operands' text. Helpers such as sl_wrap_add and sl_maximum are defined by
// each emitter's preamble.
#ifndef SLUICE_CODEGEN_CXX_TEXT_H_
#define SLUICE_CODEGEN_CXX_TEXT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "ir/dtype.h"

namespace sluice::codegen {

// add sub mul (wrapping for integers, logical for bool), maximum minimum,
// eq ne lt le gt ge, logical_and logical_or: the expression, or nullopt for
// any other op (div and pow, among others, differ per target).
std::optional<std::string> BinaryOpText(absl::string_view op, ir::DType d, absl::string_view t,
                                        const std::string& a, const std::string& b);

// `a`, a value of dtype `from`, converted to `to` (value type `t`): bool as
// != 0, f16/bf16 rounded to their precision, float to integer saturating
// (sl_f2i).
std::string CastText(ir::DType from, ir::DType to, absl::string_view t, const std::string& a);

}  // namespace sluice::codegen

#endif  // SLUICE_CODEGEN_CXX_TEXT_H_
