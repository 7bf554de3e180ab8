#include "codegen/cuda/cuda_emitter.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "codegen/cuda/attention_emitter.h"
#include "codegen/cuda/emitter_fingerprint.h"
#include "codegen/cuda/preamble.h"
#include "codegen/cxx_text.h"

namespace sluice::codegen::cuda {
namespace {

using ir::DType;

// ---- Types and literals ---------------------------------------------------------

// The CUDA type a value of `d` is computed in.
const char* ValueType(DType d) {
  switch (d) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      return "float";
    case DType::kF64:
      return "double";
    case DType::kI32:
      return "int";
    case DType::kI64:
      return "sl_i64";
    case DType::kBool:
      return "bool";
  }
  return "float";
}

// The CUDA type a buffer of `d` holds.
const char* StorageType(DType d) {
  switch (d) {
    case DType::kF16:
      return "__half";
    case DType::kBF16:
      return "__nv_bfloat16";
    case DType::kBool:
      return "unsigned char";
    default:
      return ValueType(d);
  }
}

int64_t ValueSize(DType d) {
  switch (d) {
    case DType::kF64:
    case DType::kI64:
      return 8;
    case DType::kBool:
      return 1;
    default:
      return 4;
  }
}

bool IsFloat(DType d) { return ir::IsFloatingPoint(d); }

std::string Literal(double v, DType d) {
  if (d == DType::kBool) return v != 0 ? "true" : "false";
  if (IsFloat(d)) {
    const bool dbl = d == DType::kF64;
    if (std::isnan(v)) return dbl ? "sl_nan_d()" : "sl_nan_f()";
    if (std::isinf(v)) return absl::StrCat(v < 0 ? "-" : "", dbl ? "sl_inf_d()" : "sl_inf_f()");
    return absl::StrFormat("%s(%.17g)", ValueType(d), v);
  }
  // Integer literals saturate to the int64 range (the IR keeps them as doubles).
  const double clamped = std::max(-9.2233720368547758e18, std::min(v, 9.2233720368547748e18));
  if (clamped <= -9.2233720368547758e18) return absl::StrCat("SlLimits<", ValueType(d), ">::lowest()");
  return absl::StrFormat("static_cast<%s>(%.0fLL)", ValueType(d), std::trunc(clamped));
}

std::string V(int id) { return absl::StrCat("v", id); }

// ---- Index expressions --------------------------------------------------------------

// An index as CUDA text: min/max become the preamble's sl_imin/sl_imax and
// the variable r0 is renamed to `r0_name`.
std::string IndexText(const IndexExpr& e, const std::string& r0_name = "r0") {
  const std::string s = e.ToString();
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      const std::string tok = s.substr(i, j - i);
      if (tok == "min") {
        out += "sl_imin";
      } else if (tok == "max") {
        out += "sl_imax";
      } else if (tok == "r0") {
        out += r0_name;
      } else {
        out += tok;
      }
      i = j;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// Evaluates an IndexExpr from its printed form (IndexExpr has no evaluator
// of its own). Used only to pick a template, never for correctness.
class IndexEvaluator {
 public:
  explicit IndexEvaluator(const IndexExpr& e) : text_(e.ToString()) {}

  // nullopt when the text does not parse (then the caller assumes nothing).
  std::optional<int64_t> Eval(int64_t x0, int64_t r0) {
    x0_ = x0;
    r0_ = r0;
    pos_ = 0;
    ok_ = true;
    const int64_t v = Expr();
    SkipSpace();
    if (!ok_ || pos_ != text_.size()) return std::nullopt;
    return v;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  int64_t Number() {
    SkipSpace();
    int64_t v = 0;
    bool any = false;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      v = v * 10 + (text_[pos_++] - '0');
      any = true;
    }
    if (!any) ok_ = false;
    return v;
  }
  int64_t Expr() {
    int64_t v = Eat('-') ? -Term() : Term();
    while (ok_) {
      if (Eat('+')) {
        v += Term();
      } else if (Eat('-')) {
        v -= Term();
      } else {
        break;
      }
    }
    return v;
  }
  int64_t Term() {
    int64_t v = Primary();
    if (Eat('*')) v *= Number();
    return v;
  }
  int64_t Primary() {
    SkipSpace();
    if (pos_ >= text_.size()) {
      ok_ = false;
      return 0;
    }
    if (std::isdigit(static_cast<unsigned char>(text_[pos_]))) return Number();
    if (text_.compare(pos_, 2, "x0") == 0) {
      pos_ += 2;
      return x0_;
    }
    if (text_.compare(pos_, 2, "r0") == 0) {
      pos_ += 2;
      return r0_;
    }
    for (const char* fn : {"min", "max"}) {
      if (text_.compare(pos_, 3, fn) == 0) {
        pos_ += 3;
        if (!Eat('(')) break;
        const int64_t a = Expr();
        if (!Eat(',')) break;
        const int64_t b = Expr();
        if (!Eat(')')) break;
        return fn[1] == 'i' ? std::min(a, b) : std::max(a, b);
      }
    }
    if (Eat('(')) {
      const int64_t a = Expr();
      if (Eat('/')) {
        const int64_t c = Number();
        Eat(')');
        return c == 0 ? 0 : a / c;
      }
      if (Eat('%')) {
        const int64_t c = Number();
        Eat(')');
        return c == 0 ? 0 : a % c;
      }
      Eat(')');
      return a;
    }
    ok_ = false;
    return 0;
  }

  std::string text_;
  size_t pos_ = 0;
  bool ok_ = true;
  int64_t x0_ = 0, r0_ = 0;
};

// ---- Op text ------------------------------------------------------------------------

std::string CastText(DType from, DType to, const std::string& a) {
  return codegen::CastText(from, to, ValueType(to), a);
}

// `approx`: f32 exp, division, sigmoid, silu and gelu(tanh) through the
// preamble's *_approx functions (CudaEmitOptions::approx_math_half_outputs).
absl::StatusOr<std::string> OpText(const Kernel& k, const Expr& e, bool approx) {
  const DType d = e.dtype;
  const std::string T = ValueType(d);
  const std::string approx_suffix = approx && T == "float" ? "_approx" : "";
  const std::string& op = e.op;
  const bool integral = ir::IsIntegral(d);
  const size_t arity = e.args.size();
  auto need = [&](size_t n) -> absl::Status {
    if (arity == n) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("kernel ", k.name, ": op ", op, " of v", e.id,
                                            " has ", arity, " operands, expected ", n));
  };
  auto arg = [&](size_t i) { return V(e.args[i]); };
  auto one = [&] { return absl::StrCat(T, "(1)"); };
  static const absl::flat_hash_set<std::string>* const kUnary =
      new absl::flat_hash_set<std::string>{"cast", "neg", "abs", "relu", "exp", "log", "sqrt",
                                           "sin", "cos", "tanh", "erf", "rsqrt", "sigmoid",
                                           "silu", "reciprocal", "gelu", "gelu_tanh",
                                           "logical_not"};
  if (kUnary->contains(op)) {
    if (absl::Status s = need(1); !s.ok()) return s;
    if (op == "cast") return CastText(k.exprs[e.args[0]].dtype, d, arg(0));
    if (op == "logical_not") return absl::StrCat("(", arg(0), " == 0)");
    if (op == "neg") {
      if (integral) return absl::StrCat("sl_wrap_sub<", T, ">(0, ", arg(0), ")");
      if (d == DType::kBool) return arg(0);
      return absl::StrCat("(-", arg(0), ")");
    }
    if (op == "abs") {
      if (integral) return absl::StrCat("(", arg(0), " < 0 ? -", arg(0), " : ", arg(0), ")");
      if (d == DType::kBool) return arg(0);
      return absl::StrCat("sl_fabs(", arg(0), ")");
    }
    if (op == "relu") {
      if (d == DType::kBool) return arg(0);
      return absl::StrCat("(", arg(0), " < ", T, "(0) ? ", T, "(0) : ", arg(0), ")");
    }
    if (op == "reciprocal") return absl::StrCat("(", one(), " / ", arg(0), ")");
    if (!IsFloat(d)) {
      return absl::InternalError(absl::StrCat("kernel ", k.name, ": ", op, " of ",
                                              ir::DTypeName(d), " (v", e.id, ")"));
    }
    // exp log sqrt sin cos tanh erf rsqrt sigmoid silu gelu gelu_tanh.
    const bool has_approx = op == "exp" || op == "sigmoid" || op == "silu" || op == "gelu_tanh";
    return absl::StrCat("sl_", op, has_approx ? approx_suffix : "", "(", arg(0), ")");
  }
  if (op == "where") {
    if (absl::Status s = need(3); !s.ok()) return s;
    return absl::StrCat("(", arg(0), " ? ", arg(1), " : ", arg(2), ")");
  }
  if (absl::Status s = need(2); !s.ok()) return s;
  if (std::optional<std::string> text = BinaryOpText(op, d, T, arg(0), arg(1))) return *text;
  if (op == "div") {
    if (IsFloat(d)) return absl::StrCat("sl_div", approx_suffix, "(", arg(0), ", ", arg(1), ")");
    {
      // True division always has a floating result; guard against IR that
      // says otherwise instead of dividing by zero in integers.
      return absl::StrCat("static_cast<", T, ">(static_cast<double>(", arg(0),
                          ") / static_cast<double>(", arg(1), "))");
    }
  }
  if (op == "pow") {
    if (IsFloat(d)) return absl::StrCat("sl_pow(", arg(0), ", ", arg(1), ")");
    return absl::StrCat("sl_ipow<", T, ">(", arg(0), ", ", arg(1), ")");
  }
  return absl::InternalError(
      absl::StrCat("kernel ", k.name, ": the CUDA emitter has no code for op '", op, "'"));
}

// ---- Helpers ------------------------------------------------------------------------

int64_t CeilDiv(int64_t a, int64_t b) { return b <= 0 ? 0 : (a + b - 1) / b; }

int64_t Pow2Ceil(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

int64_t Pow2Floor(int64_t v) {
  int64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

// Whether identifier `tok` occurs in `text` as a whole token.
bool UsesToken(const std::string& text, const std::string& tok) {
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t pos = text.find(tok); pos != std::string::npos; pos = text.find(tok, pos + 1)) {
    const bool left = pos == 0 || !ident(text[pos - 1]);
    const bool right = pos + tok.size() >= text.size() || !ident(text[pos + tok.size()]);
    if (left && right) return true;
  }
  return false;
}

std::string LoadKey(const Expr& e) { return absl::StrCat(e.arg, "@", e.index.ToString()); }

// ---- The kernel emitter -------------------------------------------------------------------

class KernelEmitter {
 public:
  // `trap_unaligned`: the kernel's vector accesses assume 16-byte-aligned
  // buffers (no element-wise path) and its entry traps on others
  // (CudaEmitOptions::aligned_variants' aligned kernel).
  // `name`: the kernel's name in the text and launch (k.name when empty;
  // launch variants and unaligned variants are named apart without copying
  // the kernel).
  KernelEmitter(const Kernel& k, const CudaEmitOptions& o, bool trap_unaligned = false,
                std::string name = {})
      : k_(k), o_(o), trap_unaligned_(trap_unaligned),
        name_(name.empty() ? k.name : std::move(name)) {}

  // After Emit: whether the kernel has 16-byte vector accesses at all.
  bool vectorized() const { return vectorized_; }

  // The launch shape alone (no text), as Emit's launch will have it: for
  // AddLaunchVariants to skip a shape it already has before emitting it.
  CudaLaunchVariant Shape() {
    Layout();
    return {absl::StrCat("sluice_", name_),
            {static_cast<uint32_t>(grid_), 1, 1},
            {static_cast<uint32_t>(block_x_), static_cast<uint32_t>(block_y_), 1},
            0,
            config_};
  }

  absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> Emit() {
    Layout();
    EmitHeader();
    if (k_.outer_extent <= 0) {
      Line("return;  // no rows");
    } else {
      switch (kind_) {
        case CudaTemplate::kPointwise:
          EmitPointwise();
          break;
        case CudaTemplate::kRowReduction:
          EmitRowReduction();
          break;
        case CudaTemplate::kColumnReduction:
          EmitColumnReduction();
          break;
        case CudaTemplate::kAttention:  // EmitAttentionKernel's
          break;
      }
    }
    indent_ = 0;
    Line("}");
    if (dispatch_) {
      EmitDispatch();
      static_shared_ *= 2;  // each copy of the body has its own arrays
    }
    if (!status_.ok()) return status_;
    CudaKernelLaunch l;
    l.name = name_;
    l.symbol = absl::StrCat("sluice_", name_);
    l.kind = kind_;
    l.grid = {static_cast<uint32_t>(grid_), 1, 1};
    l.block = {static_cast<uint32_t>(block_x_), static_cast<uint32_t>(block_y_), 1};
    l.static_shared_bytes = static_cast<uint32_t>(static_shared_);
    l.args = k_.args;
    l.config = config_;
    return std::make_pair(out_, l);
  }

 private:
  // ---- analysis ----

  // Analyze and ChooseLayout, once.
  void Layout() {
    if (laid_out_) return;
    Analyze();
    ChooseLayout();
    laid_out_ = true;
  }

  void Analyze() {
    stage_of_.assign(k_.exprs.size(), -1);
    for (size_t s = 0; s < k_.stages.size(); ++s) {
      for (int id : k_.stages[s].exprs) stage_of_[id] = static_cast<int>(s);
      for (const ScratchStore& st : k_.stages[s].scratch_stores) {
        scratch_value_[st.slot] = st.value;
      }
    }
    r0_ = IndexExpr::Var(kInnerVar, "r0", k_.inner_extent);
    // Loads in loops that more than one loop makes: cached from the first.
    std::map<std::string, std::set<int>> stages_of_load;
    for (size_t s = 0; s < k_.stages.size(); ++s) {
      if (k_.stages[s].kind != Stage::Kind::kLoop) continue;
      for (int id : k_.stages[s].exprs) {
        const Expr& e = k_.exprs[id];
        if (e.kind == Expr::Kind::kLoad) stages_of_load[LoadKey(e)].insert(static_cast<int>(s));
      }
    }
    // A scratch value computed cheaply from loads narrower than itself (the
    // f32 upcast of a bf16 row, exp(x - max) of an f16 row) is recomputed
    // from the (register-cached) loads where it is read: the cached bf16/f16
    // row takes half the registers of an f32 scratch array.
    std::map<int, std::set<int>> read_stages;  // slot -> loops reading it
    for (size_t s = 0; s < k_.stages.size(); ++s) {
      for (int id : k_.stages[s].exprs) {
        if (k_.exprs[id].kind == Expr::Kind::kScratchLoad) {
          read_stages[k_.exprs[id].scratch].insert(static_cast<int>(s));
        }
      }
    }
    for (int slot = 0; o_.recompute_narrow_scratch && slot < static_cast<int>(k_.scratch.size());
         ++slot) {
      auto it = scratch_value_.find(slot);
      if (it == scratch_value_.end()) continue;
      const std::vector<int> closure = LoopClosure(it->second, /*all_scratch=*/false);
      int64_t load_bytes = 0;
      int cost = 0;
      for (int id : closure) {
        const Expr& e = k_.exprs[id];
        if (e.kind == Expr::Kind::kLoad) load_bytes += ir::DTypeSize(e.dtype);
        if (e.kind == Expr::Kind::kOp) cost += (e.op == "cast" || e.op == "add" ||
                                                e.op == "sub" || e.op == "mul") ? 1 : 4;
        if (e.kind == Expr::Kind::kScratchLoad && recomputed_.count(e.scratch) == 0) {
          load_bytes += ValueSize(e.dtype);  // a register array read
        }
      }
      if (load_bytes == 0 || load_bytes >= ValueSize(k_.scratch[slot]) || cost > 12) continue;
      recomputed_.insert(slot);
      for (int id : closure) {
        const Expr& e = k_.exprs[id];
        if (e.kind != Expr::Kind::kLoad) continue;
        for (int rs : read_stages[slot]) stages_of_load[LoadKey(e)].insert(rs);
      }
    }
    // hoist_broadcast_loads: a load every row reads that a later loop makes
    // is made in the first loop too (cached there; EmitChunk fills it).
    if (o_.hoist_broadcast_loads && k_.is_reduction) {
      int first_loop = -1;
      for (size_t s = 0; s < k_.stages.size() && first_loop < 0; ++s) {
        if (k_.stages[s].kind == Stage::Kind::kLoop) first_loop = static_cast<int>(s);
      }
      for (const Expr& e : k_.exprs) {
        if (e.kind != Expr::Kind::kLoad || stage_of_[&e - k_.exprs.data()] < 0) continue;
        const std::string key = LoadKey(e);
        auto it = stages_of_load.find(key);
        if (it == stages_of_load.end() || *it->second.begin() == first_loop ||
            k_.args[e.arg].numel >= k_.outer_extent * k_.inner_extent ||
            hoisted_.count(key) > 0) {
          continue;
        }
        it->second.insert(first_loop);
        hoisted_[key] = static_cast<int>(&e - k_.exprs.data());
      }
    }
    for (const auto& [key, stages] : stages_of_load) {
      if (stages.size() < 2) continue;
      const int slot = static_cast<int>(cache_first_stage_.size());
      cache_slot_[key] = slot;
      cache_first_stage_.push_back(*stages.begin());
      cache_last_stage_.push_back(*stages.rbegin());
    }
    // Approximate f32 math in this kernel: fast_math, or every value it
    // stores is f16 / bf16 (approx_math_half_outputs).
    bool half_stores = false, other_stores = false;
    for (const Stage& st : k_.stages) {
      for (const Store& store : st.stores) {
        const DType sd = k_.args[store.arg].dtype;
        (sd == DType::kF16 || sd == DType::kBF16 ? half_stores : other_stores) = true;
      }
    }
    approx_ = !o_.fast_math && o_.approx_math_half_outputs && half_stores && !other_stores;
    // fast_math, approx_ or row_divisor_reciprocal: an f32 division in a
    // loop by a value of the row (softmax's sum) multiplies by its
    // reciprocal, computed once per row.
    if (o_.fast_math || approx_ || o_.row_divisor_reciprocal) {
      for (const Stage& st : k_.stages) {
        if (st.kind != Stage::Kind::kLoop) continue;
        for (int id : st.exprs) {
          const Expr& e = k_.exprs[id];
          if (e.kind != Expr::Kind::kOp || e.op != "div" || e.args.size() != 2) continue;
          const Expr& b = k_.exprs[e.args[1]];
          const int bs = stage_of_[b.id];
          if (std::string(ValueType(e.dtype)) == "float" && bs >= 0 &&
              k_.stages[bs].kind == Stage::Kind::kRow) {
            rcp_.insert(b.id);
          }
        }
      }
    }
    // Index width.
    int64_t bound = k_.outer_extent * std::max<int64_t>(k_.inner_extent, 1);
    for (const KernelArg& a : k_.args) bound = std::max(bound, a.numel);
    auto cover = [&](const IndexExpr& e) {
      bound = std::max({bound, e.hi(), -e.lo(), e.lo()});
    };
    for (const Expr& e : k_.exprs) {
      if (e.kind == Expr::Kind::kLoad || e.kind == Expr::Kind::kIndex) cover(e.index);
    }
    for (const Stage& s : k_.stages) {
      for (const Store& st : s.stores) cover(st.index);
    }
    wide_ = bound >= (int64_t{1} << 30);
  }

  // Whether `index` is r0 + f(x0): V consecutive r0 are V consecutive
  // elements.
  bool RowContiguous(const IndexExpr& index) const {
    if (k_.inner_extent <= 1) return false;
    return !(index - r0_).DependsOnVar(kInnerVar);
  }

  // Whether an access at `index` is one vector access of vec_ elements: r0 +
  // f(x0) with f(x0) a multiple of vec_ (chunks start at multiples of vec_).
  bool Vectorized(const IndexExpr& index) const {
    if (vec_ <= 1) return false;
    auto [it, inserted] = vectorized_memo_.try_emplace(&index, vec_, false);
    if (!inserted && it->second.first == vec_) return it->second.second;
    bool v = RowContiguous(index);
    if (v) {
      const IndexExpr rem = (index - r0_).Mod(vec_);
      v = rem.is_const() && rem.constant() == 0;
    }
    it->second = {vec_, v};
    return v;
  }

  // Whether most samples of `index` step by one element when x0 does.
  bool ColumnContiguous(const IndexExpr& index) const {
    const int64_t outer = k_.outer_extent, inner = k_.inner_extent;
    if (outer < 2) return false;
    IndexEvaluator ev(index);
    int good = 0, total = 0;
    for (int64_t x : {int64_t{0}, int64_t{1}, outer / 3, outer / 2, outer - 2}) {
      for (int64_t r : {int64_t{0}, int64_t{1}, inner / 2, inner - 1}) {
        if (x < 0 || x + 1 >= outer || r < 0 || r >= inner) continue;
        std::optional<int64_t> a = ev.Eval(x, r), b = ev.Eval(x + 1, r);
        if (!a || !b) return false;
        ++total;
        if (*b - *a == 1) ++good;
      }
    }
    return total > 0 && 2 * good >= total;
  }

  // Whether `index` covers `t` consecutive elements for t consecutive x0
  // (from multiples of t, at sampled r0): a block of t columns then reads
  // whole row segments.
  bool ColumnRun(const IndexExpr& index, int64_t t) const {
    const int64_t outer = k_.outer_extent, inner = k_.inner_extent;
    IndexEvaluator ev(index);
    for (int64_t x : {int64_t{0}, t, (outer / 2) / t * t, (outer - t) / t * t}) {
      for (int64_t r : {int64_t{0}, inner / 2, inner - 1}) {
        if (x < 0 || x + t > outer || r < 0 || r >= inner) continue;
        std::optional<int64_t> a = ev.Eval(x, r), b = ev.Eval(x + t - 1, r);
        if (!a || !b || *b - *a != t - 1) return false;
      }
    }
    return true;
  }

  // Loads and stores in loops whose index depends on r0.
  template <typename F>
  void ForEachLoopAccess(F f) const {
    for (const Stage& s : k_.stages) {
      if (s.kind != Stage::Kind::kLoop) continue;
      for (int id : s.exprs) {
        const Expr& e = k_.exprs[id];
        if (e.kind == Expr::Kind::kLoad && e.index.DependsOnVar(kInnerVar)) {
          f(e.index, e.dtype, /*is_load=*/true);
        }
      }
      for (const Store& st : s.stores) {
        if (st.index.DependsOnVar(kInnerVar)) f(st.index, k_.args[st.arg].dtype, false);
      }
    }
  }

  // The widest element a loop of the kernel loads or stores, in bytes.
  int64_t MaxLoopAccessSize() {
    int64_t size = 1;
    ForEachLoopAccess([&](const IndexExpr&, DType d, bool) {
      size = std::max(size, ir::DTypeSize(d));
    });
    return size;
  }

  void ChooseVectorWidth() { ChooseVectorWidth(o_.max_vector_bytes); }
  void ChooseVectorWidth(int max_vector_bytes) {
    int64_t min_size = 16;
    bool any = false;
    ForEachLoopAccess([&](const IndexExpr& index, DType d, bool) {
      if (!RowContiguous(index)) return;
      any = true;
      min_size = std::min(min_size, ir::DTypeSize(d));
    });
    const int64_t max_bytes = std::clamp(max_vector_bytes, 1, 16);
    vec_ = any ? static_cast<int>(std::clamp<int64_t>(max_bytes / std::max<int64_t>(min_size, 1), 1, 8))
               : 1;
    vec_ = static_cast<int>(Pow2Floor(vec_));
    while (vec_ > 1 && k_.inner_extent % vec_ != 0) vec_ /= 2;
  }

  void ChooseLayout() {
    hints_ = o_.reread_cache_hints;
    const int64_t outer = k_.outer_extent, inner = k_.inner_extent;
    // Hoisted loads' arrays (hoist_broadcast_loads) are not counted: the
    // layout stays what it is without them, which only adds their registers.
    const int num_arrays = static_cast<int>(cache_first_stage_.size() - hoisted_.size() +
                                            k_.scratch.size() - recomputed_.size());
    const int per_array = std::max(1, o_.max_elements_per_thread);
    const int max_elems = std::max(1, std::min(per_array, 2 * per_array / std::max(1, num_arrays)));

    if (!k_.is_reduction) {
      kind_ = CudaTemplate::kPointwise;
      int streams = 0;  // full-size inputs: loads that move with x0 and r0
      ForEachLoopAccess([&](const IndexExpr& index, DType, bool is_load) {
        if (is_load && k_.outer_extent > 1 && index.DependsOnVar(kOuterVar)) ++streams;
      });
      ChooseVectorWidth(streams >= 2 && o_.pointwise_stream_vector_bytes > 0
                            ? std::min(o_.max_vector_bytes, o_.pointwise_stream_vector_bytes)
                            : o_.max_vector_bytes);
      const int64_t chunks = outer * inner / vec_;
      const int64_t block = Pow2Floor(std::clamp(o_.pointwise_block_threads, 32, 1024));
      block_x_ = chunks >= block ? block : std::max<int64_t>(32, CeilDiv(chunks, 32) * 32);
      const int64_t cap = std::max<int64_t>(
          1, int64_t{o_.num_sms} * std::max<int64_t>(1, o_.max_threads_per_sm / block) *
                 std::max(1, o_.pointwise_waves));
      // pointwise_unroll U > 1: a grid for U chunks per thread (sized for one
      // per thread under the wave cap, U would otherwise never apply).
      const int unroll = std::max(1, o_.pointwise_unroll);
      grid_ = std::max<int64_t>(1, std::min(CeilDiv(chunks, block_x_ * unroll), cap));
      config_ = absl::StrCat("pointwise: ", vec_, "-wide chunks, ", chunks, " chunks, ", block_x_,
                             " threads/block, grid-stride",
                             unroll > 1 ? absl::StrCat(", ", unroll, " per thread step") : "");
      return;
    }

    // Column or row reduction.
    bool row_contiguous = false;
    int column = 0, other = 0;
    ForEachLoopAccess([&](const IndexExpr& index, DType, bool is_load) {
      if (!is_load) return;
      if (RowContiguous(index)) {
        row_contiguous = true;
      } else if (ColumnContiguous(index)) {
        ++column;
      } else {
        ++other;
      }
    });
    if (!row_contiguous && column > 0 && column >= other && outer >= 2) {
      kind_ = CudaTemplate::kColumnReduction;
      vec_ = 1;
      // Consecutive columns per block: the widest up to column_block_x (32
      // at least) whose grid still has a block for 90% of the SMs and whose
      // columns are consecutive in memory, so that a block reads longer row
      // segments (on an H100, 16384^2 f32 summed over rows took 370 us with
      // 128, 373 with 64 and 381 with 32 columns per block; 256, a grid for
      // half the SMs, 422; an H200 was 1% faster with 32: benchmarks/
      // NOTES.md §25).
      int tx = 32;
      for (int t : {256, 128, 64}) {
        if (t > o_.column_block_x) continue;
        bool runs = CeilDiv(outer, t) * 10 >= int64_t{o_.num_sms} * 9;
        ForEachLoopAccess([&](const IndexExpr& index, DType, bool is_load) {
          if (is_load && ColumnContiguous(index)) runs = runs && ColumnRun(index, t);
        });
        if (runs) {
          tx = t;
          break;
        }
      }
      tx_ = static_cast<int>(std::min<int64_t>(tx, Pow2Ceil(outer)));
      const int64_t col_threads = CeilDiv(outer, tx_) * tx_;
      const int64_t target = int64_t{o_.num_sms} * o_.max_threads_per_sm;
      int64_t ty = Pow2Floor(std::max<int64_t>(1, target / col_threads));
      ty = std::min({ty, int64_t{1024} / tx_, int64_t{64}, Pow2Ceil(std::max<int64_t>(inner, 1))});
      group_ = static_cast<int>(std::max<int64_t>(ty, 1));
      chunks_ = CeilDiv(inner, group_);
      unrolled_ = chunks_ <= max_elems;
      block_x_ = tx_;
      block_y_ = group_;
      grid_ = std::max<int64_t>(1, CeilDiv(outer, tx_));
      config_ = absl::StrCat("column: ", tx_, " rows x ", group_, " threads/row per block, ",
                             unrolled_ ? absl::StrCat("unrolled x", chunks_, ", registers")
                                       : "rolled loop");
      return;
    }

    kind_ = CudaTemplate::kRowReduction;
    ChooseVectorWidth();
    const int64_t row_chunks = inner / vec_;
    const int64_t max_chunks = std::max(1, max_elems / vec_);
    const int64_t needed = Pow2Ceil(CeilDiv(row_chunks, max_chunks));
    int64_t reread = o_.row_reread_threads;
    int loops = 0;
    for (const Stage& st : k_.stages) loops += st.kind == Stage::Kind::kLoop ? 1 : 0;
    // Long rows that are reduced, then read again to write the output
    // (rms_norm's 4096 f32): 512 threads per row re-reading it from L2 with
    // cache hints beat keeping it in registers (128 threads x 32 values) on
    // the H100 and H200 (benchmarks/NOTES.md §17). Rows up to 64 KB, so
    // that the rows in flight stay well inside L2.
    if (reread == 0 && o_.reread_long_rows && loops == 2 && row_chunks >= 1024 &&
        inner * MaxLoopAccessSize() <= 64 * 1024) {
      reread = 512;
      hints_ = true;
    }
    if (reread >= 32 && row_chunks > reread) {
      group_ = static_cast<int>(reread);
      unrolled_ = false;
    } else if (needed <= 32) {
      group_ = static_cast<int>(std::max(needed, std::min<int64_t>(32, Pow2Ceil(row_chunks))));
      unrolled_ = true;
    } else if (needed <= 1024) {
      group_ = static_cast<int>(std::max<int64_t>(needed, 128));
      unrolled_ = true;
    } else {
      group_ = 1024;
      unrolled_ = false;
    }
    // row_threads: more threads per row than picked (fewer values each), up
    // to one chunk per thread.
    if (unrolled_ && o_.row_threads > group_) {
      group_ = static_cast<int>(
          std::min<int64_t>({Pow2Floor(o_.row_threads), 1024, Pow2Ceil(row_chunks)}));
    }
    chunks_ = CeilDiv(row_chunks, group_);
    if (group_ <= 32) {
      const int64_t threads = Pow2Floor(std::clamp(o_.row_block_threads, 32, 1024));
      block_x_ = std::min<int64_t>(threads, std::max<int64_t>(32, Pow2Ceil(outer * group_)));
      rows_per_block_ = block_x_ / group_;
      grid_ = std::max<int64_t>(1, CeilDiv(outer, rows_per_block_));
    } else {
      block_x_ = group_;
      rows_per_block_ = 1;
      grid_ = std::max<int64_t>(1, outer);
    }
    config_ = absl::StrCat(
        "row: ", group_, " threads/row, ", rows_per_block_, " rows/block, ", vec_, "-wide, ",
        unrolled_ ? absl::StrCat("unrolled x", chunks_, ", registers") : "rolled loop, re-reads");
  }

  // ---- text ----

  void Line(const std::string& s) {
    for (int i = 0; i < indent_; ++i) out_ += "  ";
    out_ += s;
    out_ += "\n";
  }
  void Open(const std::string& s) {
    Line(s);
    ++indent_;
  }
  void Close(const std::string& s = "}") {
    --indent_;
    Line(s);
  }
  // The text `f` emits at the current indentation, without emitting it.
  template <typename F>
  std::string Capture(F f) {
    std::string saved;
    std::swap(saved, out_);
    f();
    std::string text;
    std::swap(text, out_);
    out_ = std::move(saved);
    return text;
  }
  void Fail(absl::Status s) {
    if (status_.ok()) status_ = std::move(s);
  }

  std::string Arg(int i) const { return absl::StrCat("a", i); }
  std::string Idx() const { return wide_ ? "sl_i64" : "int"; }
  int64_t BlockThreads() const { return block_x_ * block_y_; }

  void EmitHeader() {
    Line(absl::StrCat("// ", name_, ": step ", k_.step, ", nodes: ", absl::StrJoin(k_.nodes, ", ")));
    Line(absl::StrCat("// ", config_));
    std::vector<std::string> params;
    for (size_t i = 0; i < k_.args.size(); ++i) {
      const KernelArg& a = k_.args[i];
      params.push_back(absl::StrCat(a.is_output ? "" : "const ", StorageType(a.dtype),
                                    "* __restrict__ ", Arg(static_cast<int>(i))));
    }
    // Alignment of the buffers that vector accesses use.
    std::set<int> vec_args;
    for (const Stage& s : k_.stages) {
      if (s.kind != Stage::Kind::kLoop) continue;
      for (int id : s.exprs) {
        const Expr& e = k_.exprs[id];
        if (e.kind == Expr::Kind::kLoad && Vectorized(e.index)) vec_args.insert(e.arg);
      }
      for (const Store& st : s.stores) {
        if (Vectorized(st.index)) vec_args.insert(st.arg);
      }
    }
    vectorized_ = !vec_args.empty();
    std::vector<std::string> checks;
    for (int a : vec_args) checks.push_back(absl::StrCat("sl_aligned16(", Arg(a), ")"));
    const std::string signature = absl::StrCat("(", absl::StrJoin(params, ", "), ")");
    // CudaEmitOptions::alignment_dispatch (row reductions): the body is a
    // template on vec_ok, instantiated twice by the kernel (EmitDispatch).
    dispatch_ = vectorized_ && kind_ == CudaTemplate::kRowReduction && o_.alignment_dispatch &&
                !o_.assume_aligned && !trap_unaligned_;
    if (dispatch_) {
      dispatch_signature_ = signature;
      dispatch_check_ = absl::StrJoin(checks, " && ");
      Line("template <bool vec_ok>");
      Open(absl::StrCat("__device__ __forceinline__ void sluice_", name_, "_body", signature,
                        " {"));
    } else {
      Open(absl::StrCat("extern \"C\" __global__ void ", LaunchBounds(), " sluice_", name_,
                        signature, " {"));
    }
    if (o_.poison_kernels.contains(name_)) {
      Line(absl::StrCat("#error \"sluice: injected compile failure in ", name_, "\""));
    }
    Line(absl::StrCat("typedef ", Idx(), " sl_idx;"));
    if (vectorized_ && !dispatch_) {
      if (o_.assume_aligned) {
        Line("constexpr bool vec_ok = true;  // CudaEmitOptions::assume_aligned");
      } else if (trap_unaligned_) {
        // The runtime sends launches with unaligned buffers to the
        // sluice_<name>_unaligned variant (CudaKernelLaunch::unaligned_source).
        Line(absl::StrCat("if (!(", absl::StrJoin(checks, " && "), ")) __trap();"));
        Line("constexpr bool vec_ok = true;  // CudaEmitOptions::aligned_variants");
      } else {
        Line(absl::StrCat("const bool vec_ok = ", absl::StrJoin(checks, " && "), ";"));
      }
    }
  }

  std::string LaunchBounds() const {
    const std::string min_blocks =
        o_.min_blocks_per_sm > 0 ? absl::StrCat(", ", o_.min_blocks_per_sm) : "";
    return absl::StrCat("__launch_bounds__(", BlockThreads(), min_blocks, ")");
  }

  // The kernel of an alignment_dispatch body: one check, then the body for
  // aligned buffers (vector accesses only) or for others (element-wise).
  void EmitDispatch() {
    std::vector<std::string> args;
    for (size_t i = 0; i < k_.args.size(); ++i) args.push_back(Arg(static_cast<int>(i)));
    const std::string call = absl::StrCat("(", absl::StrJoin(args, ", "), ");");
    Open(absl::StrCat("extern \"C\" __global__ void ", LaunchBounds(), " sluice_", name_,
                      dispatch_signature_, " {"));
    Open(absl::StrCat("if (", dispatch_check_, ") {"));
    Line(absl::StrCat("sluice_", name_, "_body<true>", call));
    Close("} else {");
    ++indent_;
    Line(absl::StrCat("sluice_", name_, "_body<false>", call));
    Close();
    Close();
  }

  // ---- expressions ----

  std::string ReductionType(const Reduction& r) const {
    const std::string t = ValueType(r.acc_dtype);
    return r.kind == ReduceKind::kArgmax ? absl::StrCat("SlArg<", t, ">") : t;
  }
  static const char* OpName(ReduceKind kind) {
    switch (kind) {
      case ReduceKind::kSum:
        return "SlSumOp()";
      case ReduceKind::kMax:
        return "SlMaxOp()";
      case ReduceKind::kMin:
        return "SlMinOp()";
      case ReduceKind::kArgmax:
        return "SlArgmaxOp()";
    }
    return "SlSumOp()";
  }
  std::string Identity(const Reduction& r) const {
    const DType d = r.acc_dtype;
    const std::string t = ValueType(d);
    const bool dbl = d == DType::kF64;
    switch (r.kind) {
      case ReduceKind::kSum:
        return absl::StrCat("static_cast<", t, ">(0)");
      case ReduceKind::kMax:
        if (d == DType::kBool) return "false";
        if (IsFloat(d)) return dbl ? "-sl_inf_d()" : "-sl_inf_f()";
        return absl::StrCat("SlLimits<", t, ">::lowest()");
      case ReduceKind::kMin:
        if (d == DType::kBool) return "true";
        if (IsFloat(d)) return dbl ? "sl_inf_d()" : "sl_inf_f()";
        return absl::StrCat("SlLimits<", t, ">::max()");
      case ReduceKind::kArgmax:
        return absl::StrCat("SlArg<", t, ">{static_cast<", t, ">(0), -1}");
    }
    return "0";
  }

  // `override_text`: how this chunk refers to loads and scratch loads.
  std::string ExprRhs(const Expr& e, const absl::flat_hash_map<int, std::string>& overrides) {
    auto it = overrides.find(e.id);
    if (it != overrides.end()) return it->second;
    switch (e.kind) {
      case Expr::Kind::kLoad:
        return absl::StrCat("sl_cvt(", Arg(e.arg), "[", IndexText(e.index), "])");
      case Expr::Kind::kConst:
        return Literal(e.value, e.dtype);
      case Expr::Kind::kIndex:
        return absl::StrCat("static_cast<", ValueType(e.dtype), ">(", IndexText(e.index), ")");
      case Expr::Kind::kOp: {
        if (e.op == "div" && rcp_.contains(e.args.size() == 2 ? e.args[1] : -1) &&
            stage_of_[e.id] != stage_of_[e.args[1]]) {
          return absl::StrCat("(", V(e.args[0]), " * rcp", e.args[1], ")");
        }
        absl::StatusOr<std::string> t = OpText(k_, e, approx_);
        if (!t.ok()) {
          Fail(t.status());
          return "0";
        }
        return *t;
      }
      case Expr::Kind::kReduceResult:
        return absl::StrCat("red", e.reduction);
      case Expr::Kind::kScratchLoad:
        Fail(absl::InternalError(absl::StrCat("kernel ", name_, ": scratch load v", e.id,
                                              " outside a loop")));
        return "0";
    }
    return "0";
  }

  void EmitExpr(const Expr& e, const absl::flat_hash_map<int, std::string>& overrides) {
    Line(absl::StrCat("const ", ValueType(e.dtype), " ", V(e.id), " = ", ExprRhs(e, overrides),
                      ";"));
  }

  // The value a store of `value` into a buffer of `d` converts: a cast to f16
  // or bf16 right before the store rounds exactly as the store does, so the
  // store takes the cast's operand (one conversion instead of three).
  std::string StoredValue(int value, DType d) const {
    const Expr& e = k_.exprs[value];
    if ((d == DType::kF16 || d == DType::kBF16) && e.kind == Expr::Kind::kOp && e.op == "cast" &&
        e.dtype == d && e.args.size() == 1 &&
        std::string(ValueType(k_.exprs[e.args[0]].dtype)) == "float") {
      return V(e.args[0]);
    }
    return V(value);
  }

  std::string StoreGuard() const {
    switch (kind_) {
      case CudaTemplate::kPointwise:
        return "";
      case CudaTemplate::kRowReduction:
        return "lane == 0";
      case CudaTemplate::kColumnReduction:
        return "ty == 0 && row_ok";
      case CudaTemplate::kAttention:
        return "";
    }
    return "";
  }

  void EmitRowStage(const Stage& s) {
    for (int id : s.exprs) {
      EmitExpr(k_.exprs[id], {});
      if (rcp_.contains(id)) Line(absl::StrCat("const float rcp", id, " = 1.0f / ", V(id), ";"));
    }
    const std::string guard = StoreGuard();
    for (const Store& st : s.stores) {
      const DType d = k_.args[st.arg].dtype;
      const std::string text = absl::StrCat(Arg(st.arg), "[", IndexText(st.index), "] = sl_to<",
                                            StorageType(d), ">(", StoredValue(st.value, d), ");");
      Line(guard.empty() ? text : absl::StrCat("if (", guard, ") ", text));
    }
  }

  // The exprs a chunk of loop stage `s` evaluates: its own, plus (rolled
  // loops, which keep no scratch arrays) every earlier-loop expr that a
  // scratch value it reads is computed from. Ids are topological.
  std::vector<int> ChunkExprs(int s) const {
    std::set<int> ids(k_.stages[s].exprs.begin(), k_.stages[s].exprs.end());
    for (int id : k_.stages[s].exprs) {
      const Expr& e = k_.exprs[id];
      if (e.kind != Expr::Kind::kScratchLoad || !Recomputed(e.scratch)) continue;
      for (int d : LoopClosure(scratch_value_.at(e.scratch), !unrolled_)) ids.insert(d);
    }
    return std::vector<int>(ids.begin(), ids.end());
  }

  // Whether scratch slot `slot` is recomputed where it is read (always in
  // rolled loops, which keep no register arrays).
  bool Recomputed(int slot) const { return !unrolled_ || recomputed_.count(slot) > 0; }

  // `value` and the loop exprs it is computed from, following scratch loads
  // (all of them, or those of recomputed slots); row values are in scope.
  std::vector<int> LoopClosure(int value, bool all_scratch) const {
    std::set<int> ids;
    std::vector<int> work = {value};
    while (!work.empty()) {
      const int id = work.back();
      work.pop_back();
      const int st = stage_of_[id];
      if (st < 0 || k_.stages[st].kind != Stage::Kind::kLoop || !ids.insert(id).second) continue;
      const Expr& e = k_.exprs[id];
      for (int d : e.args) work.push_back(d);
      if (e.kind == Expr::Kind::kScratchLoad &&
          (all_scratch || recomputed_.count(e.scratch) > 0)) {
        work.push_back(scratch_value_.at(e.scratch));
      }
    }
    return std::vector<int>(ids.begin(), ids.end());
  }

  // The cache hint of a vectorized load in loop stage `s` of a rolled row
  // loop (reread_cache_hints): "_keep" where a later loop reads the same
  // elements again or every row reads them (a buffer smaller than the
  // kernel's rows), "_last" at the last of several reads, else none.
  // In an unrolled row (broadcast_evict_last): "_keep" for a buffer every
  // row reads.
  std::string HintSuffix(const Expr& e, int s) const {
    if (kind_ != CudaTemplate::kRowReduction) return "";
    const bool every_row = k_.args[e.arg].numel < k_.outer_extent * k_.inner_extent;
    if (unrolled_) return o_.broadcast_evict_last && every_row ? "_keep" : "";
    if (!hints_) return "";
    auto cache = cache_slot_.find(LoadKey(e));
    if (cache != cache_slot_.end() && hoisted_.count(LoadKey(e)) == 0) {
      return cache_last_stage_[cache->second] == s ? "_last" : "_keep";
    }
    return every_row ? "_keep" : "";
  }

  // The text of a vector access's index in a chunk starting at r0 = rb:
  // x0 * inner + rb, or, in a pointwise kernel with
  // CudaEmitOptions::pointwise_linear_index, c * V where the access is the
  // whole contiguous tensor (x0 * inner + r0), without splitting c.
  std::string ChunkIndexText(const IndexExpr& index) const {
    if (kind_ == CudaTemplate::kPointwise && o_.pointwise_linear_index) {
      const IndexExpr x0 = IndexExpr::Var(kOuterVar, "x0", k_.outer_extent);
      const IndexExpr rest = index - r0_ - x0 * k_.inner_extent;
      if (rest.is_const() && rest.constant() == 0) return absl::StrCat("c * ", vec_);
    }
    return IndexText(index, "rb");
  }

  // One chunk of V elements of loop stage `s`, starting at r0 = rb. `k` is
  // the chunk's index in unrolled loops (register arrays), else empty.
  void EmitChunk(int s, const std::string& k) {
    const Stage& st = k_.stages[s];
    const std::vector<int> ids = ChunkExprs(s);
    const bool column = kind_ == CudaTemplate::kColumnReduction;
    absl::flat_hash_map<int, std::string> overrides;
    std::vector<std::string> in_loop;  // lines at the top of the element loop
    // Fills cache array `c` (a chunk's register copy of load `e`): one
    // vector load with `hint`, or an element per iteration of the loop.
    auto fill_cache = [&](const std::string& c, const Expr& e, absl::string_view hint) {
      if (Vectorized(e.index)) {
        Line(absl::StrCat(c, " = sl_ldv", hint, "<", vec_, ">(", Arg(e.arg), " + (",
                          IndexText(e.index, "rb"), "), vec_ok);"));
      } else {
        in_loop.push_back(absl::StrCat(c, ".v[j] = ", Arg(e.arg), "[", IndexText(e.index), "];"));
      }
    };
    // Loads hoisted into this loop (hoist_broadcast_loads), which its own
    // expressions do not read.
    for (const auto& [key, id] : hoisted_) {
      const int slot = cache_slot_.at(key);
      if (!unrolled_ || k.empty() || cache_first_stage_[slot] != s) continue;
      fill_cache(absl::StrCat("c", slot, "[", k, "]"), k_.exprs[id],
                 o_.broadcast_evict_last ? "_keep" : "");
    }
    for (int id : ids) {
      const Expr& e = k_.exprs[id];
      if (e.kind == Expr::Kind::kScratchLoad) {
        overrides[id] = Recomputed(e.scratch) ? V(scratch_value_.at(e.scratch))
                                              : absl::StrCat("s", e.scratch, "[", k, "][j]");
        continue;
      }
      if (e.kind != Expr::Kind::kLoad) continue;
      const std::string S = StorageType(e.dtype);
      auto cache = cache_slot_.find(LoadKey(e));
      const bool cached = unrolled_ && !k.empty() && cache != cache_slot_.end();
      if (cached) {
        const std::string c = absl::StrCat("c", cache->second, "[", k, "]");
        if (cache_first_stage_[cache->second] == s) fill_cache(c, e, "");
        overrides[id] = absl::StrCat("sl_cvt(", c, ".v[j])");
      } else if (Vectorized(e.index)) {
        const std::string l = absl::StrCat("l", id);
        Line(absl::StrCat("const SlVec<", S, ", ", vec_, "> ", l, " = sl_ldv", HintSuffix(e, s),
                          "<", vec_, ">(", Arg(e.arg), " + (", ChunkIndexText(e.index),
                          "), vec_ok);"));
        overrides[id] = absl::StrCat("sl_cvt(", l, ".v[j])");
      }
    }
    std::vector<int> vec_stores;
    for (size_t i = 0; i < st.stores.size(); ++i) {
      if (Vectorized(st.stores[i].index)) {
        vec_stores.push_back(static_cast<int>(i));
        Line(absl::StrCat("SlVec<", StorageType(k_.args[st.stores[i].arg].dtype), ", ", vec_,
                          "> o", i, ";"));
      }
    }
    // The element loop's body goes to `body` first, so that r0 and j are
    // declared only where used (NVRTC warns about unused variables).
    std::string saved;
    std::swap(saved, out_);
    const int saved_indent = indent_;
    indent_ += 1;
    for (const std::string& l : in_loop) Line(l);
    for (int id : ids) EmitExpr(k_.exprs[id], overrides);
    for (const Reduction& r : st.reductions) {
      const std::string acc = absl::StrCat("acc", r.id);
      if (r.kind == ReduceKind::kSum) {
        Line(absl::StrCat(acc, " += ", V(r.input), ";"));
      } else if (r.kind == ReduceKind::kArgmax) {
        Line(absl::StrCat(acc, " = SlArgmaxOp()(", acc, ", ", ReductionType(r), "{", V(r.input),
                          ", static_cast<sl_i64>(r0)});"));
      } else {
        Line(absl::StrCat(acc, " = ", OpName(r.kind), "(", acc, ", ", V(r.input), ");"));
      }
    }
    if (unrolled_ && !k.empty()) {
      for (const ScratchStore& ss : st.scratch_stores) {
        if (Recomputed(ss.slot)) continue;
        Line(absl::StrCat("s", ss.slot, "[", k, "][j] = ", V(ss.value), ";"));
      }
    }
    for (size_t i = 0; i < st.stores.size(); ++i) {
      const Store& store = st.stores[i];
      const std::string S = StorageType(k_.args[store.arg].dtype);
      if (std::find(vec_stores.begin(), vec_stores.end(), static_cast<int>(i)) !=
          vec_stores.end()) {
        const std::string v = StoredValue(store.value, k_.args[store.arg].dtype);
        Line(absl::StrCat("o", i, ".v[j] = sl_to<", S, ">(", v, ");"));
        continue;
      }
      const std::string text =
          absl::StrCat(Arg(store.arg), "[", IndexText(store.index), "] = sl_to<", S, ">(",
                       StoredValue(store.value, k_.args[store.arg].dtype), ");");
      Line(column ? absl::StrCat("if (row_ok) ", text) : text);
    }
    std::string body;
    std::swap(body, out_);
    out_ = std::move(saved);
    indent_ = saved_indent;
    if (vec_ > 1) {
      Line("#pragma unroll");
      Open(absl::StrCat("for (int j = 0; j < ", vec_, "; ++j) {"));
      if (UsesToken(body, "r0")) Line("const sl_idx r0 = rb + j;");
    } else {
      Open("{");
      if (UsesToken(body, "j")) Line("constexpr int j = 0;");
      if (UsesToken(body, "r0")) Line("const sl_idx r0 = rb;");
    }
    out_ += body;
    Close();
    for (int i : vec_stores) {
      const Store& store = st.stores[i];
      Line(absl::StrCat("sl_stv<", vec_, ">(", Arg(store.arg), " + (",
                        ChunkIndexText(store.index), "), o", i, ", vec_ok);"));
    }
  }

  void DeclareAccumulators(const Stage& st) {
    for (const Reduction& r : st.reductions) {
      Line(absl::StrCat(ReductionType(r), " acc", r.id, " = ", Identity(r), ";"));
    }
  }

  // After a loop: every thread of the row gets each reduction's result.
  void EmitCombine(const Stage& st) {
    for (const Reduction& r : st.reductions) {
      const std::string acc = absl::StrCat("acc", r.id), op = OpName(r.kind);
      const std::string T = ReductionType(r);
      const int64_t tsize = r.kind == ReduceKind::kArgmax ? 16 : ValueSize(r.acc_dtype);
      if (kind_ == CudaTemplate::kRowReduction) {
        if (group_ > 32) {
          const int64_t n = group_ / 32 + 1;
          Line(absl::StrCat("__shared__ ", T, " sm_red", r.id, "[", n, "];"));
          static_shared_ += n * tsize;
          Line(absl::StrCat(acc, " = sl_block_reduce<", group_, ">(", acc, ", sm_red", r.id, ", ",
                            op, ");"));
        } else if (group_ > 1) {
          Line(absl::StrCat(acc, " = sl_group_reduce<", group_, ">(", acc, ", gmask, ", op, ");"));
        }
      } else if (kind_ == CudaTemplate::kColumnReduction && group_ > 1) {
        Line(absl::StrCat("__shared__ ", T, " sm_red", r.id, "[", group_, "][", tx_, "];"));
        Line(absl::StrCat("__shared__ ", T, " sm_res", r.id, "[", tx_, "];"));
        static_shared_ += (group_ + 1) * tx_ * tsize;
        Line(absl::StrCat("sm_red", r.id, "[ty][tx] = ", acc, ";"));
        Line("__syncthreads();");
        Open("if (ty == 0) {");
        Line(absl::StrCat("for (int t = 1; t < ", group_, "; ++t) ", acc, " = ", op, "(", acc,
                          ", sm_red", r.id, "[t][tx]);"));
        Line(absl::StrCat("sm_res", r.id, "[tx] = ", acc, ";"));
        Close();
        Line("__syncthreads();");
        Line(absl::StrCat(acc, " = sm_res", r.id, "[tx];"));
      }
      if (r.kind == ReduceKind::kArgmax) {
        Line(absl::StrCat("const sl_i64 red", r.id, " = ", acc, ".i;"));
      } else {
        Line(absl::StrCat("const ", T, " red", r.id, " = ", acc, ";"));
      }
    }
  }

  // Register arrays of unrolled reductions: cached loads, scratch slots.
  void DeclareRegisterArrays() {
    if (!unrolled_ || chunks_ <= 0) return;
    for (const auto& [key, slot] : cache_slot_) {
      (void)key;
      // The dtype of the load (all loads with the key share the arg).
      DType d = DType::kF32;
      for (const Expr& e : k_.exprs) {
        if (e.kind == Expr::Kind::kLoad && LoadKey(e) == key) d = e.dtype;
      }
      cache_decls_[slot] = absl::StrCat("SlVec<", StorageType(d), ", ", vec_, "> c", slot, "[",
                                        chunks_, "];");
    }
    for (const auto& [slot, decl] : cache_decls_) {
      (void)slot;
      Line(decl);
    }
    for (size_t i = 0; i < k_.scratch.size(); ++i) {
      if (Recomputed(static_cast<int>(i))) continue;
      Line(absl::StrCat(ValueType(k_.scratch[i]), " s", i, "[", chunks_, "][", vec_, "];"));
    }
  }

  void EmitLoopStage(int s) {
    const Stage& st = k_.stages[s];
    const int64_t inner = k_.inner_extent;
    Line(absl::StrCat("// loop ", (s + 1) / 2));
    DeclareAccumulators(st);
    if (kind_ == CudaTemplate::kRowReduction) {
      if (unrolled_) {
        if (chunks_ > 0) {
          Line("#pragma unroll");
          Open(absl::StrCat("for (int k = 0; k < ", chunks_, "; ++k) {"));
          const bool exact = chunks_ * group_ * vec_ == inner;
          const std::string body = Capture([&] {
            if (!exact) Open(absl::StrCat("if (rb < ", inner, ") {"));
            EmitChunk(s, "k");
            if (!exact) Close();
          });
          if (UsesToken(body, "rb")) {
            Line(absl::StrCat("const sl_idx rb = (static_cast<sl_idx>(k) * ", group_,
                              " + lane) * ", vec_, ";"));
          }
          out_ += body;
          Close();
        }
      } else {
        Line("#pragma unroll 2");
        Open(absl::StrCat("for (sl_idx rb = static_cast<sl_idx>(lane) * ", vec_, "; rb < ", inner,
                          "; rb += ", group_ * vec_, ") {"));
        EmitChunk(s, "");
        Close();
      }
    } else {  // column
      if (unrolled_) {
        if (chunks_ > 0) {
          Line("#pragma unroll");
          Open(absl::StrCat("for (int k = 0; k < ", chunks_, "; ++k) {"));
          const bool exact = chunks_ * group_ == inner;
          const std::string body = Capture([&] {
            if (!exact) Open(absl::StrCat("if (rb < ", inner, ") {"));
            EmitChunk(s, "k");
            if (!exact) Close();
          });
          if (UsesToken(body, "rb")) {
            Line(absl::StrCat("const sl_idx rb = static_cast<sl_idx>(k) * ", group_, " + ty;"));
          }
          out_ += body;
          Close();
        }
      } else {
        Line("#pragma unroll 8");
        Open(absl::StrCat("for (sl_idx rb = ty; rb < ", inner, "; rb += ", group_, ") {"));
        EmitChunk(s, "");
        Close();
      }
    }
    EmitCombine(st);
  }

  // ---- templates ----

  void EmitPointwise() {
    const int64_t inner = k_.inner_extent;
    const int64_t chunks = k_.outer_extent * inner / vec_;
    for (const Stage& st : k_.stages) {
      if (!st.reductions.empty() || !st.scratch_stores.empty()) {
        Fail(absl::InternalError(
            absl::StrCat("kernel ", name_, ": a pointwise kernel with reductions")));
      }
    }
    // The work of one chunk, at one indentation level deeper than the caller.
    auto chunk_body = [&] {
      ++indent_;
      std::string body = Capture([&] {
        for (size_t s = 0; s < k_.stages.size(); ++s) {
          if (k_.stages[s].kind == Stage::Kind::kRow) {
            EmitRowStage(k_.stages[s]);
          } else {
            EmitChunk(static_cast<int>(s), "");
          }
        }
      });
      --indent_;
      return body;
    };
    // The chunk index `c` = `chunk` and the x0 / rb it splits into, as far
    // as `text` uses them.
    auto index_lines = [&](const std::string& text, const std::string& chunk) {
      if (UsesToken(text, "c") || UsesToken(text, "x0") || UsesToken(text, "rb")) {
        Line(absl::StrCat("const sl_idx c = ", chunk, ";"));
      }
      if (UsesToken(text, "x0")) {
        Line(absl::StrCat("const sl_idx x0 = (c * ", vec_, ") / ", inner, ";"));
      }
      if (UsesToken(text, "rb")) {
        Line(absl::StrCat("const sl_idx rb = (c * ", vec_, ") % ", inner, ";"));
      }
    };
    auto emit_chunk = [&](const std::string& chunk) {
      const std::string body = chunk_body();
      ++indent_;
      index_lines(body, chunk);
      --indent_;
      out_ += body;
    };
    const int unroll = std::max(1, o_.pointwise_unroll);
    const int64_t group = int64_t{unroll} * block_x_;
    const int64_t whole_groups = unroll > 1 ? chunks / group : 0;
    if (whole_groups > 0) {
      // Triton's layout: a block takes `unroll` x blockDim.x consecutive
      // chunks per step, thread t chunks t, t + blockDim.x, ..., so that a
      // block's accesses to each buffer are one contiguous span, and every
      // chunk's vector loads are issued (into arrays) before the first
      // chunk's math and stores. No bounds checks in these steps.
      const std::string chunk = absl::StrCat("g * ", group, " + u * ", block_x_, " + threadIdx.x");
      Open(absl::StrCat("for (sl_idx g = blockIdx.x; g < ", whole_groups,
                        "; g += gridDim.x) {"));
      const std::string body = chunk_body();
      // A chunk body's vector loads are lines of their own at its top
      // level, "const SlVec<T, N> lID = sl_ldv...(...);", that read only
      // arguments (distinct buffers: __restrict__) at c, x0, rb (EmitChunk),
      // so they can move ahead of everything else in the body.
      std::vector<std::string> decls, loads, rest;
      int depth = 0;
      for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
        absl::string_view t = absl::StripLeadingAsciiWhitespace(line);
        const size_t eq = t.find(" = sl_ldv");
        const int depth_before = depth;
        for (char ch : t) depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
        if (depth_before == 0 && absl::StartsWith(t, "const SlVec<") &&
            eq != absl::string_view::npos) {
          const size_t name_at = t.rfind(' ', eq - 1) + 1;
          const std::string type(t.substr(6, name_at - 1 - 6));  // "SlVec<T, N>"
          const std::string name(t.substr(name_at, eq - name_at));
          decls.push_back(absl::StrCat(type, " ", name, "_u[", unroll, "];"));
          loads.push_back(absl::StrCat(name, "_u[u]", t.substr(eq)));
          rest.push_back(absl::StrCat("  const ", type, " ", name, " = ", name, "_u[u];"));
          continue;
        }
        rest.push_back(std::string(line.substr(std::min(line.size(), 2 * static_cast<size_t>(indent_)))));
      }
      const std::string rest_text = absl::StrJoin(rest, "\n");
      for (const std::string& d : decls) Line(d);
      if (!loads.empty()) {
        Line("#pragma unroll");
        Open(absl::StrCat("for (int u = 0; u < ", unroll, "; ++u) {"));
        index_lines(absl::StrJoin(loads, "\n"), chunk);
        for (const std::string& l : loads) Line(l);
        Close();
      }
      Line("#pragma unroll");
      Open(absl::StrCat("for (int u = 0; u < ", unroll, "; ++u) {"));
      index_lines(rest_text, chunk);
      --indent_;
      for (const std::string& l : rest) Line(l);
      ++indent_;
      Close();
      Close();
    }
    if (whole_groups * group < chunks) {
      Line("const sl_idx stride = static_cast<sl_idx>(gridDim.x) * blockDim.x;");
      Line(absl::StrCat("sl_idx c0 = ",
                        whole_groups > 0 ? absl::StrCat(whole_groups * group, " + ") : "",
                        "static_cast<sl_idx>(blockIdx.x) * blockDim.x + threadIdx.x;"));
      Open(absl::StrCat("for (; c0 < ", chunks, "; c0 += stride) {"));
      --indent_;
      emit_chunk("c0");
      ++indent_;
      Close();
    }
  }

  void EmitRowReduction() {
    if (group_ <= 32) {
      Line(absl::StrCat("const int lane = threadIdx.x & ", group_ - 1, ";"));
      Line(absl::StrCat("const sl_idx x0 = static_cast<sl_idx>(blockIdx.x) * ", rows_per_block_,
                        " + threadIdx.x / ", group_, ";"));
      Line(absl::StrCat("if (x0 >= ", k_.outer_extent, ") return;"));
      if (group_ > 1) Line(absl::StrCat("const unsigned gmask = sl_group_mask<", group_, ">();"));
    }
    const std::string body = Capture([&] {
      DeclareRegisterArrays();
      for (size_t s = 0; s < k_.stages.size(); ++s) {
        if (k_.stages[s].kind == Stage::Kind::kRow) {
          EmitRowStage(k_.stages[s]);
        } else {
          EmitLoopStage(static_cast<int>(s));
        }
      }
    });
    if (group_ > 32) {
      Line("const int lane = threadIdx.x;");
      if (UsesToken(body, "x0")) Line("const sl_idx x0 = blockIdx.x;");
    }
    out_ += body;
  }

  void EmitColumnReduction() {
    const int64_t outer = k_.outer_extent;
    Line("const int tx = threadIdx.x, ty = threadIdx.y;");
    Line(absl::StrCat("const sl_idx xr = static_cast<sl_idx>(blockIdx.x) * ", tx_, " + tx;"));
    Line(absl::StrCat("const bool row_ok = xr < ", outer, ";"));
    Line(absl::StrCat("// Rows past the end compute row ", outer - 1,
                      " (so every thread reaches the barriers) and store nothing."));
    Line(absl::StrCat("const sl_idx x0 = row_ok ? xr : ", outer - 1, ";"));
    DeclareRegisterArrays();
    for (size_t s = 0; s < k_.stages.size(); ++s) {
      if (k_.stages[s].kind == Stage::Kind::kRow) {
        EmitRowStage(k_.stages[s]);
      } else {
        EmitLoopStage(static_cast<int>(s));
      }
    }
  }

  const Kernel& k_;
  const CudaEmitOptions& o_;
  const bool trap_unaligned_;
  bool vectorized_ = false;
  std::string out_;
  int indent_ = 0;
  absl::Status status_;

  std::vector<int> stage_of_;
  absl::flat_hash_map<int, int> scratch_value_;  // slot -> expr id
  std::map<std::string, int> cache_slot_;  // load key -> cache array
  std::vector<int> cache_first_stage_;     // cache array -> stage that fills it
  std::vector<int> cache_last_stage_;      // cache array -> last stage reading it
  std::map<int, std::string> cache_decls_;
  absl::flat_hash_set<int> rcp_;  // row values loops divide by (fast_math, approx_)
  bool approx_ = false;           // approximate f32 math: every store is f16 / bf16
  std::set<int> recomputed_;      // scratch slots recomputed instead of kept
  // hoist_broadcast_loads: load key -> an expression of that load, for the
  // loads cached from the first loop though only later loops read them.
  std::map<std::string, int> hoisted_;
  IndexExpr r0_;
  bool wide_ = false;

  CudaTemplate kind_ = CudaTemplate::kPointwise;
  bool hints_ = false;  // HintSuffix: reread_cache_hints, or chosen with the re-reading loop
  int vec_ = 1;
  int group_ = 1;  // row: threads per row; column: TY
  int tx_ = 1;     // column: rows per block
  int64_t chunks_ = 0;
  bool unrolled_ = false;
  int64_t rows_per_block_ = 1;
  int64_t block_x_ = 1, block_y_ = 1, grid_ = 1;
  const std::string name_;
  bool laid_out_ = false;
  // Vectorized's answers by index (the Kernel's, stable while emitting)
  // and the vector width they were for.
  mutable absl::flat_hash_map<const IndexExpr*, std::pair<int, bool>> vectorized_memo_;
  int64_t static_shared_ = 0;
  // CudaEmitOptions::alignment_dispatch taken: the kernel's parameters and
  // its alignment check, for EmitDispatch.
  bool dispatch_ = false;
  std::string dispatch_signature_;
  std::string dispatch_check_;
  std::string config_;
};

int CountLines(absl::string_view s) {
  int n = 0;
  const char* p = s.data();
  const char* const end = p + s.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr) {
    ++n;
    ++p;
  }
  return n;
}

// The name of kernel `k`'s launch variant `index` (1, 2, ...).
std::string VariantName(const Kernel& k, size_t index) {
  return absl::StrCat(k.name, "_v", index);
}

// The launch shapes AddLaunchVariants gives a kernel whose own launch is
// `launch`: each with the options that emit it and its launch (no text
// made), each distinct from the kernel and from the others in grid, block
// and configuration, named VariantName(k, 1), (k, 2), ...
std::vector<std::pair<CudaEmitOptions, CudaLaunchVariant>> VariantShapes(
    const Kernel& k, const CudaEmitOptions& options, const CudaKernelLaunch& launch) {
  std::vector<CudaEmitOptions> shapes;
  if (launch.kind == CudaTemplate::kRowReduction) {
    // One row per block and eight, and 64 threads per row: on an H200 the
    // 1024-wide rows are 1-2% faster with one row per block than eight,
    // and 64 threads per row is faster again for layer_norm_bf16 and
    // softmax_f32 (benchmarks/NOTES.md §23); the H100 is indifferent. Each
    // shape is another unrolled row kernel for NVRTC (about +0.1 s a shape
    // on a 2-core host), so 2 and 4 rows per block are left out.
    for (int threads : {32, 256}) {
      shapes.push_back(options);
      shapes.back().row_block_threads = threads;
    }
    shapes.push_back(options);
    shapes.back().row_threads = 64;
  } else if (launch.kind == CudaTemplate::kPointwise) {
    // Kernels that stream two or more full-size inputs: 8- and 16-byte
    // vectors (an H100 prefers 8, an H200 16; NOTES.md §22). Every pointwise
    // kernel: 128-thread blocks (Triton's), at the kernel's own width: on an
    // H200 bias + gelu over 8192^2 f32 (one stream and a broadcast bias)
    // 1.3% faster than 256, on an H100 0.2% slower (§22, §30).
    for (int bytes : {8, 16}) {
      shapes.push_back(options);
      shapes.back().pointwise_stream_vector_bytes = bytes;
    }
    shapes.push_back(options);
    shapes.back().pointwise_block_threads = 128;
  } else if (launch.kind == CudaTemplate::kColumnReduction) {
    // 32, 64 and 128 consecutive columns per block at most (each shape
    // still leaves a block for 90% of the SMs): an H100 is 3% faster with
    // 128 than 32 on 16384 columns, an H200 1% slower (benchmarks/NOTES.md
    // §25). ApplyDeviceTuning's width stays the kernel's own, for when
    // nothing is timed. The rows are split over another number of threads
    // in each, so the sums come in another order (within f32 rounding).
    for (int x : {32, 64, 128}) {
      shapes.push_back(options);
      shapes.back().column_block_x = x;
    }
  }
  auto same = [](const auto& a, const auto& b) {
    return a.grid == b.grid && a.block == b.block && a.config == b.config;
  };
  std::vector<std::pair<CudaEmitOptions, CudaLaunchVariant>> out;
  for (CudaEmitOptions& o : shapes) {
    o.launch_variants = false;
    // A shape the kernel or an earlier variant has is not emitted at all.
    CudaLaunchVariant shape =
        KernelEmitter(k, o, /*trap_unaligned=*/false, VariantName(k, out.size() + 1)).Shape();
    if (same(shape, launch) || std::any_of(out.begin(), out.end(), [&](const auto& w) {
          return same(shape, w.second);
        })) {
      continue;
    }
    out.emplace_back(o, std::move(shape));
  }
  return out;
}

// The text of one launch variant (VariantShapes' options and name), checked
// against the launch VariantShapes gave it; `trap_unaligned` as the
// kernel's own (CudaEmitOptions::aligned_variants: every shape is for
// aligned buffers, the kernel's unaligned variant serves the rest).
absl::StatusOr<std::string> EmitVariant(const Kernel& k, const CudaEmitOptions& o,
                                        const CudaLaunchVariant& shape, int index,
                                        bool trap_unaligned) {
  absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> e =
      KernelEmitter(k, o, trap_unaligned, VariantName(k, index)).Emit();
  if (!e.ok()) return e.status();
  const CudaKernelLaunch& l = e->second;
  if (l.symbol != shape.symbol || l.grid != shape.grid || l.block != shape.block ||
      l.shared_bytes != shape.shared_bytes || l.config != shape.config) {
    return absl::InternalError(absl::StrCat("launch variant ", shape.symbol, " of kernel ", k.name,
                                            " emitted as ", l.symbol, " (", l.config,
                                            "), not as its shape said (", shape.config, ")"));
  }
  return std::move(e->first);
}

// CudaEmitOptions::launch_variants: `launch`'s other shapes, their text
// after the kernel's in `text` (CudaEmitOptions::defer_variant_text: their
// launches only, the text left to EmitCudaVariantText).
absl::Status AddLaunchVariants(const Kernel& k, const CudaEmitOptions& options,
                               std::string* text, CudaKernelLaunch* launch,
                               bool trap_unaligned = false) {
  int index = 0;
  for (auto& [o, shape] : VariantShapes(k, options, *launch)) {
    ++index;
    if (!options.defer_variant_text) {
      absl::StatusOr<std::string> t = EmitVariant(k, o, shape, index, trap_unaligned);
      if (!t.ok()) return t.status();
      absl::StrAppend(text, "\n", *t);
    }
    launch->variants.push_back(std::move(shape));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> EmitOne(const Kernel& k,
                                                                 const CudaEmitOptions& options) {
  if (k.attention.has_value()) return EmitAttentionKernel(k, options);
  if (!options.aligned_variants || options.assume_aligned) {
    absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> e = KernelEmitter(k, options).Emit();
    if (e.ok() && options.launch_variants) {
      if (absl::Status s = AddLaunchVariants(k, options, &e->first, &e->second); !s.ok()) return s;
    }
    return e;
  }
  // CudaEmitOptions::aligned_variants: the module's kernel for aligned
  // buffers, the general one (run-time check, element-wise path) in a
  // translation unit of its own for the runtime to compile on first need.
  // Launch variants are for aligned buffers too; unaligned ones take the
  // general kernel, in the kernel's own shape.
  KernelEmitter aligned(k, options, /*trap_unaligned=*/true);
  absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> main = aligned.Emit();
  if (!main.ok()) return main;
  if (aligned.vectorized()) {
    // It runs on unaligned buffers only: no aligned copy of its body.
    CudaEmitOptions general = options;
    general.alignment_dispatch = false;
    absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> u =
        KernelEmitter(k, general, /*trap_unaligned=*/false, absl::StrCat(k.name, "_unaligned"))
            .Emit();
    if (!u.ok()) return u.status();
    main->second.unaligned_symbol = u->second.symbol;
    main->second.unaligned_source = UnalignedVariantSource(options, k.name, u->first);
  }  // else no vector accesses: one kernel, for any buffers
  if (options.launch_variants) {
    if (absl::Status s = AddLaunchVariants(k, options, &main->first, &main->second,
                                           /*trap_unaligned=*/aligned.vectorized());
        !s.ok()) {
      return s;
    }
  }
  return main;
}

// The first line(s) of a generated translation unit, before the preamble.
std::string UnitHeader(const CudaEmitOptions& options, absl::string_view what) {
  return absl::StrCat("// Generated by sluice (codegen/cuda): ", what, "\n",
                      options.fast_math ? "#define SLUICE_FAST_MATH 1\n" : "",
                      options.coherent_loads ? "#define SLUICE_COHERENT_LOADS 1\n" : "");
}

}  // namespace

void ApplyDeviceTuning(absl::string_view device_name, CudaEmitOptions* options) {
  if (absl::StrContains(device_name, "H100") && absl::StrContains(device_name, "HBM3")) {
    options->pointwise_stream_vector_bytes = 8;
    options->column_block_x = 128;
  }
}

absl::Status ApplyCudaEmitOverrides(absl::string_view spec, CudaEmitOptions* options) {
  CudaEmitOptions o = *options;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    std::vector<absl::string_view> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    const absl::string_view key = absl::StripAsciiWhitespace(kv[0]);
    const absl::string_view value = kv.size() == 2 ? absl::StripAsciiWhitespace(kv[1]) : "";
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("CUDA emit option '", entry, "': ", why));
    };
    int* int_field = key == "pointwise_waves"           ? &o.pointwise_waves
                     : key == "pointwise_unroll"        ? &o.pointwise_unroll
                     : key == "pointwise_block_threads" ? &o.pointwise_block_threads
                     : key == "max_vector_bytes"        ? &o.max_vector_bytes
                     : key == "pointwise_stream_vector_bytes" ? &o.pointwise_stream_vector_bytes
                     : key == "max_elements_per_thread" ? &o.max_elements_per_thread
                     : key == "row_block_threads"       ? &o.row_block_threads
                     : key == "column_block_x"          ? &o.column_block_x
                     : key == "row_threads"             ? &o.row_threads
                     : key == "row_reread_threads"      ? &o.row_reread_threads
                     : key == "min_blocks_per_sm"       ? &o.min_blocks_per_sm
                     : key == "attention_m_tiles"       ? &o.attention_m_tiles
                     : key == "attention_block_n"       ? &o.attention_block_n
                     : key == "attention_warpgroups"    ? &o.attention_warpgroups
                     : key == "attention_stages"        ? &o.attention_stages
                     : key == "attention_overlap"       ? &o.attention_overlap
                     : key == "attention_lazy_rescale"  ? &o.attention_lazy_rescale
                     : key == "attention_exp2_fma"      ? &o.attention_exp2_fma
                                                        : nullptr;
    // attention_producer: 0/1/true/false like a bool, or -1 (the pick).
    if (key == "attention_producer") {
      if (value == "1" || value == "true") {
        o.attention_producer = 1;
      } else if (value == "0" || value == "false") {
        o.attention_producer = 0;
      } else if (value == "-1") {
        o.attention_producer = -1;
      } else {
        return bad("expected 0, 1, true, false or -1 (the pick)");
      }
      continue;
    }
    bool* bool_field = key == "fast_math"                  ? &o.fast_math
                       : key == "assume_aligned"           ? &o.assume_aligned
                       : key == "recompute_narrow_scratch" ? &o.recompute_narrow_scratch
                       : key == "attention_wgmma"          ? &o.attention_wgmma
                       : key == "attention_mbarrier"       ? &o.attention_mbarrier
                       : key == "attention_pingpong"       ? &o.attention_pingpong
                       : key == "attention_rowsum_mma"     ? &o.attention_rowsum_mma
                       : key == "attention_split_pv"       ? &o.attention_split_pv
                       : key == "attention_tma"            ? &o.attention_tma
                       : key == "reread_cache_hints"       ? &o.reread_cache_hints
                       : key == "reread_long_rows"         ? &o.reread_long_rows
                       : key == "aligned_variants"         ? &o.aligned_variants
                       : key == "alignment_dispatch"       ? &o.alignment_dispatch
                       : key == "coherent_loads"           ? &o.coherent_loads
                       : key == "broadcast_evict_last"     ? &o.broadcast_evict_last
                       : key == "hoist_broadcast_loads"    ? &o.hoist_broadcast_loads
                       : key == "pointwise_linear_index"   ? &o.pointwise_linear_index
                       : key == "approx_math_half_outputs" ? &o.approx_math_half_outputs
                       : key == "launch_variants"          ? &o.launch_variants
                       : key == "row_divisor_reciprocal"   ? &o.row_divisor_reciprocal
                                                           : nullptr;
    if (int_field != nullptr) {
      int v = 0;
      if (!absl::SimpleAtoi(value, &v) || v < 0 || v > (1 << 20)) {
        return bad("expected an integer in [0, 2^20]");
      }
      *int_field = v;
    } else if (bool_field != nullptr) {
      if (value == "1" || value == "true") {
        *bool_field = true;
      } else if (value == "0" || value == "false") {
        *bool_field = false;
      } else {
        return bad("expected 0, 1, true or false");
      }
    } else {
      return bad(
          "unknown key (pointwise_waves, pointwise_unroll, pointwise_block_threads, max_vector_bytes, "
          "pointwise_stream_vector_bytes, "
          "max_elements_per_thread, "
          "row_block_threads, row_threads, row_reread_threads, min_blocks_per_sm, column_block_x, "
          "attention_m_tiles, "
          "attention_block_n, "
          "attention_warpgroups, attention_stages, attention_overlap, attention_lazy_rescale, "
          "attention_exp2_fma, "
          "fast_math, assume_aligned, "
          "recompute_narrow_scratch, attention_wgmma, attention_mbarrier, attention_pingpong, "
          "attention_rowsum_mma, attention_producer, attention_split_pv, attention_tma, "
          "reread_cache_hints, reread_long_rows, aligned_variants, alignment_dispatch, "
          "coherent_loads, broadcast_evict_last, hoist_broadcast_loads, pointwise_linear_index, approx_math_half_outputs, launch_variants, row_divisor_reciprocal)");
    }
  }
  auto block_threads = [](int v) { return v >= 32 && v <= 1024 && (v & (v - 1)) == 0; };
  auto vector_bytes = [](int v) { return v == 4 || v == 8 || v == 16; };
  if (o.pointwise_waves < 1 || o.pointwise_unroll < 1 || o.max_elements_per_thread < 1 ||
      !block_threads(o.row_block_threads) || !block_threads(o.pointwise_block_threads) ||
      !vector_bytes(o.max_vector_bytes) ||
      (o.pointwise_stream_vector_bytes != 0 && !vector_bytes(o.pointwise_stream_vector_bytes)) ||
      (o.row_reread_threads != 0 && !block_threads(o.row_reread_threads)) ||
      (o.row_threads != 0 && !block_threads(o.row_threads)) ||
      !block_threads(o.column_block_x) || o.column_block_x > 256 ||
      o.attention_m_tiles > 2 ||
      (o.attention_block_n != 0 && o.attention_block_n != 16 && o.attention_block_n != 32 &&
       o.attention_block_n != 64 && o.attention_block_n != 128) ||
      o.attention_warpgroups > 4 || o.attention_stages == 1 || o.attention_stages > 4 ||
      o.attention_overlap > 2 || o.attention_lazy_rescale > 15) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CUDA emit options '", spec,
        "': waves, unroll and elements per thread must be at least 1, row_block_threads and "
        "pointwise_block_threads powers of two in [32, 1024] (row_reread_threads and row_threads too, or 0), column_block_x a power of two in [32, 256], attention_m_tiles 0, 1 or 2, attention_block_n 0, 16, 32, 64 or "
        "128, attention_warpgroups 0..4, attention_stages 0 or 2..4, attention_overlap 0..2, attention_lazy_rescale 0..15, max_vector_bytes 4, 8 or 16, pointwise_stream_vector_bytes 0, 4, 8 or 16"));
  }
  *options = o;
  return absl::OkStatus();
}

absl::string_view CudaTemplateName(CudaTemplate t) {
  switch (t) {
    case CudaTemplate::kPointwise:
      return "pointwise";
    case CudaTemplate::kRowReduction:
      return "row";
    case CudaTemplate::kColumnReduction:
      return "column";
    case CudaTemplate::kAttention:
      return "attention";
  }
  return "?";
}

const char* CudaPreamble() { return kPreamble; }

std::string UnalignedVariantSource(const CudaEmitOptions& options, absl::string_view kernel_name,
                                   absl::string_view kernel_text) {
  return absl::StrCat(
      UnitHeader(options,
                 absl::StrCat("kernel ", kernel_name, " for buffers that are not 16-byte aligned.")),
      kPreamble, "\n", kernel_text);
}

const CudaKernelLaunch* CudaModuleSource::KernelAtLine(int line) const {
  for (const CudaKernelLaunch& k : kernels) {
    if (line >= k.first_line && line <= k.last_line) return &k;
  }
  return nullptr;
}

absl::StatusOr<CudaModuleSource> EmitCudaKernel(const Kernel& kernel,
                                                const CudaEmitOptions& options) {
  absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> k = EmitOne(kernel, options);
  if (!k.ok()) return k.status();
  CudaModuleSource m;
  m.source = std::move(k->first);
  k->second.first_line = 1;
  k->second.last_line = CountLines(m.source);
  m.needs_sm90a = k->second.needs_sm90a;
  m.kernels.push_back(std::move(k->second));
  return m;
}

const char* CudaEmitterFingerprint() { return kCudaEmitterFingerprint; }

absl::StatusOr<std::string> EmitCudaVariantText(const std::vector<Kernel>& kernels,
                                                const CudaModuleSource& module,
                                                const CudaEmitOptions& options) {
  if (kernels.size() != module.kernels.size()) {
    return absl::InvalidArgumentError(absl::StrCat("EmitCudaVariantText: ", kernels.size(),
                                                   " kernels for a module of ",
                                                   module.kernels.size()));
  }
  std::string text;
  for (size_t i = 0; i < kernels.size(); ++i) {
    const CudaKernelLaunch& launch = module.kernels[i];
    if (launch.variants.empty()) continue;
    const std::vector<std::pair<CudaEmitOptions, CudaLaunchVariant>> shapes =
        VariantShapes(kernels[i], options, launch);
    if (shapes.size() != launch.variants.size()) {
      return absl::InternalError(absl::StrCat("kernel ", launch.name, " has ",
                                              launch.variants.size(), " launch variants, now ",
                                              shapes.size()));
    }
    // Variants of a kernel that has an unaligned variant are for aligned
    // buffers only, as the kernel is (CudaEmitOptions::aligned_variants).
    const bool trap = !launch.unaligned_symbol.empty();
    for (size_t j = 0; j < shapes.size(); ++j) {
      absl::StatusOr<std::string> t = EmitVariant(kernels[i], shapes[j].first, launch.variants[j],
                                                  static_cast<int>(j + 1), trap);
      if (!t.ok()) return t.status();
      absl::StrAppend(&text, "\n", *t);
    }
  }
  return text;
}

absl::StatusOr<CudaModuleSource> EmitCuda(const std::vector<Kernel>& kernels,
                                          const CudaEmitOptions& options) {
  absl::flat_hash_set<std::string> names;
  for (const Kernel& k : kernels) {
    if (!names.insert(k.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("EmitCuda: two kernels named ", k.name));
    }
  }
  CudaModuleSource m;
  const std::string header = UnitHeader(options, absl::StrCat(kernels.size(), " kernel(s)."));
  m.source = absl::StrCat(header, kPreamble, "\n");
  // Lines so far, counted as text is appended (recounting the whole source
  // per kernel was quadratic), the preamble's once per process.
  static const int preamble_lines = CountLines(kPreamble);
  int lines = CountLines(header) + preamble_lines + 1;
  for (const Kernel& k : kernels) {
    absl::StatusOr<std::pair<std::string, CudaKernelLaunch>> e = EmitOne(k, options);
    if (!e.ok()) return e.status();
    e->second.first_line = lines + 1;
    m.source += e->first;
    lines += CountLines(e->first);
    e->second.last_line = lines;
    m.source += "\n";
    ++lines;
    m.needs_sm90a = m.needs_sm90a || e->second.needs_sm90a;
    m.kernels.push_back(std::move(e->second));
  }
  if (options.defer_variant_text) {
    // What the left-out text is a function of, besides `source`: the
    // emitter's code and each variant's name and shape.
    for (const CudaKernelLaunch& k : m.kernels) {
      for (const CudaLaunchVariant& v : k.variants) {
        absl::StrAppend(&m.variant_identity, v.symbol, " ", absl::StrJoin(v.grid, ","), " ",
                        absl::StrJoin(v.block, ","), " ", v.shared_bytes, " ", v.config, "\n");
      }
    }
    if (!m.variant_identity.empty()) {
      m.variant_identity = absl::StrCat("emitter ", kCudaEmitterFingerprint, "\n",
                                        m.variant_identity);
    }
  }
  return m;
}

}  // namespace sluice::codegen::cuda
