#include "codegen/cpu/cpu_emitter.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/cpu/prologue.h"
#include "codegen/cxx_text.h"
#include "glog/logging.h"

namespace sluice::codegen::cpu {
namespace {

using ir::DType;

// The C++ type a value of `d` is computed in.
const char* ValueType(DType d) {
  switch (d) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      return "float";
    case DType::kF64:
      return "double";
    case DType::kI32:
      return "int32_t";
    case DType::kI64:
      return "int64_t";
    case DType::kBool:
      return "bool";
  }
  return "float";
}

// The C++ type a buffer of `d` is stored as.
const char* StorageType(DType d) {
  switch (d) {
    case DType::kF16:
    case DType::kBF16:
      return "uint16_t";
    case DType::kBool:
      return "uint8_t";
    default:
      return ValueType(d);
  }
}

bool IsFloat(DType d) { return ir::IsFloatingPoint(d); }

std::string Literal(double v, DType d) {
  if (d == DType::kBool) return v != 0 ? "true" : "false";
  if (IsFloat(d)) {
    const char* t = ValueType(d);
    if (std::isnan(v)) return absl::StrCat("std::numeric_limits<", t, ">::quiet_NaN()");
    if (std::isinf(v)) {
      return absl::StrCat(v < 0 ? "-" : "", "std::numeric_limits<", t, ">::infinity()");
    }
    return absl::StrFormat("%s(%.17g)", t, v);
  }
  return absl::StrFormat("%s(%.0f)", ValueType(d), v);
}

std::string V(int id) { return absl::StrCat("v", id); }

std::string LoadText(DType d, const std::string& ref) {
  switch (d) {
    case DType::kF16:
      return absl::StrCat("sl_h2f(", ref, ")");
    case DType::kBF16:
      return absl::StrCat("sl_bf2f(", ref, ")");
    case DType::kBool:
      return absl::StrCat("(", ref, " != 0)");
    default:
      return ref;
  }
}

std::string StoreText(DType d, const std::string& v) {
  switch (d) {
    case DType::kF16:
      return absl::StrCat("sl_f2h(", v, ")");
    case DType::kBF16:
      return absl::StrCat("sl_f2bf(", v, ")");
    case DType::kBool:
      return absl::StrCat("static_cast<uint8_t>(", v, ")");
    default:
      return v;
  }
}

std::string CastText(DType from, DType to, const std::string& a) {
  return codegen::CastText(from, to, ValueType(to), a);
}

std::string OpText(const Kernel& k, const Expr& e) {
  const DType d = e.dtype;
  const char* T = ValueType(d);
  auto arg = [&](int i) { return V(e.args[i]); };
  const std::string& op = e.op;
  const bool integral = ir::IsIntegral(d);
  auto one = [&] { return absl::StrCat(T, "(1)"); };
  if (op == "cast") {
    // A low-precision value leaving its dtype is rounded to it first, so a
    // fused chain agrees with per-op rounding where the precision changes
    // (values loaded from memory are already exact).
    const Expr& src = k.exprs[e.args[0]];
    std::string a = arg(0);
    if (src.kind != Expr::Kind::kLoad) {
      if (src.dtype == DType::kF16) a = absl::StrCat("sl_round_h(", a, ")");
      if (src.dtype == DType::kBF16) a = absl::StrCat("sl_round_bf(", a, ")");
    }
    return CastText(src.dtype, d, a);
  }
  if (op == "neg") return integral ? absl::StrCat("sl_wrap_sub<", T, ">(0, ", arg(0), ")")
                                   : absl::StrCat("(-", arg(0), ")");
  if (op == "abs") return integral ? absl::StrCat("(", arg(0), " < 0 ? -", arg(0), " : ", arg(0), ")")
                                   : absl::StrCat("std::fabs(", arg(0), ")");
  if (op == "relu") return absl::StrCat("(", arg(0), " < 0 ? ", T, "(0) : ", arg(0), ")");
  if (op == "exp" || op == "log" || op == "sqrt" || op == "sin" || op == "cos" || op == "tanh" ||
      op == "erf") {
    return absl::StrCat("std::", op, "(", arg(0), ")");
  }
  if (op == "rsqrt") return absl::StrCat("(", one(), " / std::sqrt(", arg(0), "))");
  if (op == "sigmoid") return absl::StrCat("(", one(), " / (", one(), " + std::exp(-", arg(0), ")))");
  if (op == "silu") return absl::StrCat("(", arg(0), " / (", one(), " + std::exp(-", arg(0), ")))");
  if (op == "reciprocal") return absl::StrCat("(", one(), " / ", arg(0), ")");
  if (op == "gelu") {
    return absl::StrCat("(", T, "(0.5) * ", arg(0), " * (", one(), " + std::erf(", arg(0), " * ", T,
                        "(0.70710678118654752440))))");
  }
  if (op == "gelu_tanh") {
    return absl::StrCat("(", T, "(0.5) * ", arg(0), " * (", one(), " + std::tanh(", T,
                        "(0.79788456080286535588) * (", arg(0), " + ", T, "(0.044715) * ", arg(0),
                        " * ", arg(0), " * ", arg(0), "))))");
  }
  if (op == "logical_not") return absl::StrCat("(", arg(0), " == 0)");
  if (e.args.size() == 2) {
    if (std::optional<std::string> text = BinaryOpText(op, d, T, arg(0), arg(1))) return *text;
  }
  if (op == "div") return absl::StrCat("(", arg(0), " / ", arg(1), ")");
  if (op == "pow") {
    if (IsFloat(d)) return absl::StrCat("std::pow(", arg(0), ", ", arg(1), ")");
    return absl::StrCat("sl_ipow<", T, ">(", arg(0), ", ", arg(1), ")");
  }
  if (op == "where") return absl::StrCat("(", arg(0), " ? ", arg(1), " : ", arg(2), ")");
  LOG(FATAL) << "cpu emitter: unknown op " << op;
  return "";
}

class KernelEmitter {
 public:
  KernelEmitter(const Kernel& k, bool poison) : k_(k), poison_(poison) {}

  std::string Emit() {
    Line(absl::StrCat("// ", k_.name, ": step ", k_.step, ", nodes: ", absl::StrJoin(k_.nodes, ", ")));
    std::vector<std::string> params;
    for (size_t i = 0; i < k_.args.size(); ++i) {
      const KernelArg& a = k_.args[i];
      params.push_back(absl::StrCat(a.is_output ? "" : "const ", StorageType(a.dtype),
                                    "* __restrict a", i));
    }
    Line(absl::StrCat("static void ", k_.name, "_impl(", absl::StrJoin(params, ", "), ") {"));
    if (poison_) Line(absl::StrCat("#error \"sluice: injected compile failure in ", k_.name, "\""));
    indent_ = 1;
    const int64_t work = k_.outer_extent * k_.inner_extent;
    const bool parallel = k_.outer_extent > 1 && work >= 65536;
    if (!k_.scratch.empty()) {
      // Per-thread row scratch arrays, allocated once per thread.
      if (parallel) Line("#pragma omp parallel");
      Line("{");
      ++indent_;
      for (size_t i = 0; i < k_.scratch.size(); ++i) {
        const char* t = ValueType(k_.scratch[i]);
        const int64_t bytes = (k_.inner_extent * static_cast<int64_t>(ir::DTypeSize(ir::DType::kF64)) + 63) / 64 * 64;
        Line(absl::StrCat(t, "* __restrict s", i, " = static_cast<", t,
                          "*>(std::aligned_alloc(64, ", bytes, "));"));
      }
      if (parallel) Line("#pragma omp for schedule(static)");
    } else if (parallel) {
      Line("#pragma omp parallel for schedule(static)");
    }
    Line(absl::StrCat("for (int64_t x0 = 0; x0 < ", k_.outer_extent, "; ++x0) {"));
    ++indent_;
    for (const Stage& s : k_.stages) {
      if (s.kind == Stage::Kind::kRow) {
        EmitExprs(s);
        EmitStores(s);
      } else {
        EmitLoop(s);
      }
    }
    --indent_;
    Line("}");
    if (!k_.scratch.empty()) {
      for (size_t i = 0; i < k_.scratch.size(); ++i) Line(absl::StrCat("std::free(s", i, ");"));
      --indent_;
      Line("}");
    }
    indent_ = 0;
    Line("}");
    std::vector<std::string> casts;
    for (size_t i = 0; i < k_.args.size(); ++i) {
      const KernelArg& a = k_.args[i];
      casts.push_back(absl::StrCat("static_cast<", a.is_output ? "" : "const ",
                                   StorageType(a.dtype), "*>(args[", i, "])"));
    }
    Line(absl::StrCat("extern \"C\" void sluice_", k_.name, "(void* const* args) { ", k_.name,
                      "_impl(", absl::StrJoin(casts, ", "), "); }"));
    return out_;
  }

 private:
  void Line(const std::string& s) {
    for (int i = 0; i < indent_; ++i) out_ += "  ";
    out_ += s;
    out_ += "\n";
  }

  void EmitExprs(const Stage& s) {
    for (int id : s.exprs) {
      const Expr& e = k_.exprs[id];
      std::string rhs;
      switch (e.kind) {
        case Expr::Kind::kLoad:
          rhs = LoadText(e.dtype, absl::StrCat("a", e.arg, "[", e.index.ToString(), "]"));
          break;
        case Expr::Kind::kConst:
          rhs = Literal(e.value, e.dtype);
          break;
        case Expr::Kind::kIndex:
          rhs = absl::StrCat("static_cast<int64_t>(", e.index.ToString(), ")");
          break;
        case Expr::Kind::kOp:
          rhs = OpText(k_, e);
          break;
        case Expr::Kind::kReduceResult:
          rhs = ReduceResult(e.reduction);
          break;
        case Expr::Kind::kScratchLoad:
          rhs = absl::StrCat("s", e.scratch, "[r0]");
          break;
      }
      Line(absl::StrCat("const ", ValueType(e.dtype), " ", V(id), " = ", rhs, ";",
                        e.kind == Expr::Kind::kOp ? absl::StrCat("  // ", e.op) : ""));
    }
  }

  void EmitStores(const Stage& s) {
    for (const Store& st : s.stores) {
      Line(absl::StrCat("a", st.arg, "[", st.index.ToString(), "] = ",
                        StoreText(k_.args[st.arg].dtype, V(st.value)), ";"));
    }
  }

  const Reduction* FindReduction(int id) const {
    for (const Stage& s : k_.stages) {
      for (const Reduction& r : s.reductions) {
        if (r.id == id) return &r;
      }
    }
    return nullptr;
  }

  std::string ReduceResult(int id) const {
    const Reduction& r = *FindReduction(id);
    const std::string acc = absl::StrCat("acc", id);
    if (r.kind == ReduceKind::kArgmax) return absl::StrCat("idx", id);
    if ((r.kind == ReduceKind::kMax || r.kind == ReduceKind::kMin) && IsFloat(r.acc_dtype)) {
      return absl::StrCat("(nan", id, " ? std::numeric_limits<", ValueType(r.acc_dtype),
                          ">::quiet_NaN() : ", acc, ")");
    }
    return acc;
  }

  void EmitLoop(const Stage& s) {
    bool simd = true;
    std::string clauses;
    for (const Reduction& r : s.reductions) {
      const char* T = ValueType(r.acc_dtype);
      const std::string acc = absl::StrCat("acc", r.id);
      const bool flt = IsFloat(r.acc_dtype);
      const bool is_bool = r.acc_dtype == DType::kBool;
      switch (r.kind) {
        case ReduceKind::kSum:
          Line(absl::StrCat(T, " ", acc, " = 0;"));
          absl::StrAppend(&clauses, " reduction(+:", acc, ")");
          if (is_bool) simd = false;
          break;
        case ReduceKind::kMax:
        case ReduceKind::kMin: {
          const bool mx = r.kind == ReduceKind::kMax;
          std::string init;
          if (is_bool) {
            init = mx ? "false" : "true";
            simd = false;
          } else if (flt) {
            init = absl::StrCat(mx ? "-" : "", "std::numeric_limits<", T, ">::infinity()");
          } else {
            init = absl::StrCat("std::numeric_limits<", T, ">::", mx ? "lowest()" : "max()");
          }
          Line(absl::StrCat(T, " ", acc, " = ", init, ";"));
          absl::StrAppend(&clauses, " reduction(", mx ? "max" : "min", ":", acc, ")");
          if (flt) {
            Line(absl::StrCat("int nan", r.id, " = 0;"));
            absl::StrAppend(&clauses, " reduction(|:nan", r.id, ")");
          }
          break;
        }
        case ReduceKind::kArgmax:
          Line(absl::StrCat(T, " best", r.id, " = 0;"));
          Line(absl::StrCat("int64_t idx", r.id, " = -1;"));
          simd = false;
          break;
      }
    }
    if (simd && k_.inner_extent > 1) Line(absl::StrCat("#pragma omp simd", clauses));
    Line(absl::StrCat("for (int64_t r0 = 0; r0 < ", k_.inner_extent, "; ++r0) {"));
    ++indent_;
    EmitExprs(s);
    for (const Reduction& r : s.reductions) {
      const std::string acc = absl::StrCat("acc", r.id), v = V(r.input);
      const bool is_bool = r.acc_dtype == DType::kBool;
      switch (r.kind) {
        case ReduceKind::kSum:
          Line(is_bool ? absl::StrCat(acc, " = ", acc, " || ", v, ";")
                       : absl::StrCat(acc, " += ", v, ";"));
          break;
        case ReduceKind::kMax:
        case ReduceKind::kMin: {
          const bool mx = r.kind == ReduceKind::kMax;
          if (is_bool) {
            Line(absl::StrCat(acc, " = ", acc, mx ? " || " : " && ", v, ";"));
          } else {
            Line(absl::StrCat(acc, " = ", v, mx ? " > " : " < ", acc, " ? ", v, " : ", acc, ";"));
          }
          if (IsFloat(r.acc_dtype)) Line(absl::StrCat("nan", r.id, " |= ", v, " != ", v, ";"));
          break;
        }
        case ReduceKind::kArgmax:
          Line(absl::StrCat("if (idx", r.id, " < 0 || (!(best", r.id, " != best", r.id, ") && (",
                            v, " > best", r.id, " || ", v, " != ", v, "))) { best", r.id, " = ",
                            v, "; idx", r.id, " = r0; }"));
          break;
      }
    }
    EmitStores(s);
    for (const ScratchStore& st : s.scratch_stores) {
      Line(absl::StrCat("s", st.slot, "[r0] = ", V(st.value), ";"));
    }
    --indent_;
    Line("}");
  }

  const Kernel& k_;
  bool poison_;
  int indent_ = 0;
  std::string out_;
};

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

const char* Prologue() { return kPrologue; }

std::string EmitKernel(const Kernel& kernel, const EmitOptions& options) {
  return KernelEmitter(kernel, options.poison_kernels.contains(kernel.name)).Emit();
}

const EmittedKernel* EmittedModule::KernelAtLine(int line) const {
  for (const EmittedKernel& k : kernels) {
    if (line >= k.first_line && line <= k.last_line) return &k;
  }
  return nullptr;
}

EmittedModule EmitModule(const std::vector<Kernel>& kernels, const EmitOptions& options) {
  EmittedModule m;
  m.source = absl::StrCat("// Generated by sluice (codegen/cpu): ", kernels.size(),
                          " kernel(s).\n", kPrologue, "\n");
  for (const Kernel& k : kernels) {
    EmittedKernel ek;
    ek.name = k.name;
    ek.symbol = absl::StrCat("sluice_", k.name);
    ek.first_line = CountLines(m.source) + 1;
    m.source += EmitKernel(k, options);
    ek.last_line = CountLines(m.source);
    m.source += "\n";
    m.kernels.push_back(ek);
  }
  return m;
}

}  // namespace sluice::codegen::cpu
