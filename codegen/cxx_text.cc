#include "codegen/cxx_text.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sluice::codegen {

std::optional<std::string> BinaryOpText(absl::string_view op, ir::DType d, absl::string_view t,
                                        const std::string& a, const std::string& b) {
  const bool integral = ir::IsIntegral(d);
  const bool boolean = d == ir::DType::kBool;
  auto infix = [&](absl::string_view sym) { return absl::StrCat("(", a, " ", sym, " ", b, ")"); };
  auto wrap = [&](absl::string_view name) {
    return absl::StrCat("sl_wrap_", name, "<", t, ">(", a, ", ", b, ")");
  };
  if (op == "add") return boolean ? infix("||") : integral ? wrap("add") : infix("+");
  if (op == "sub") return boolean ? infix("!=") : integral ? wrap("sub") : infix("-");
  if (op == "mul") return boolean ? infix("&&") : integral ? wrap("mul") : infix("*");
  if (op == "maximum" || op == "minimum") {
    if (boolean) return infix(op == "maximum" ? "||" : "&&");
    return absl::StrCat("sl_", op, "<", t, ">(", a, ", ", b, ")");
  }
  static const std::pair<const char*, const char*> kInfix[] = {
      {"eq", "=="}, {"ne", "!="}, {"lt", "<"},           {"le", "<="},
      {"gt", ">"},  {"ge", ">="}, {"logical_and", "&&"}, {"logical_or", "||"}};
  for (const auto& [name, sym] : kInfix) {
    if (op == name) return infix(sym);
  }
  return std::nullopt;
}

std::string CastText(ir::DType from, ir::DType to, absl::string_view t, const std::string& a) {
  if (to == ir::DType::kBool) return absl::StrCat("(", a, " != 0)");
  if (to == ir::DType::kF16) return absl::StrCat("sl_round_h(static_cast<float>(", a, "))");
  if (to == ir::DType::kBF16) return absl::StrCat("sl_round_bf(static_cast<float>(", a, "))");
  if (ir::IsFloatingPoint(from) && ir::IsIntegral(to)) {
    return absl::StrCat("sl_f2i<", t, ">(", a, ")");
  }
  return absl::StrCat("static_cast<", t, ">(", a, ")");
}

}  // namespace sluice::codegen
