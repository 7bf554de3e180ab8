// The kernel IR shared by every backend (CPU now, CUDA next): what one fused
// kernel of a schedule computes, independent of how a backend spells it.
//
// A kernel iterates over an outer index x0 in [0, outer_extent) — rows,
// run in parallel — and, inside each row, over r0 in [0, inner_extent) in
// one or more loops. Its body is a sequence of stages run per row:
//
//   row stage 0, loop 1, row stage 1, loop 2, row stage 2, ...
//
// A loop either reduces (accumulators combined over r0; their results are
// available from the next row stage on) or is a plain pointwise loop; both
// may store. A pointwise kernel is one loop with stores; softmax is a max
// loop, a sum loop and an epilogue loop that stores; a row sum is one loop
// and a store in the last row stage.
//
// Values are an expression DAG of Exprs (one SSA value each, computed once
// where it is placed: loop-invariant ones are hoisted into the row stage
// before the loop). Loads and stores address buffers (kernel args) with
// IndexExprs: affine combinations of x0 and r0 with floor division, modulo,
// min and max, simplified as they are built (constant folding, x*1, x+0,
// x/1, x%1, (a*c + b)/c with 0 <= b < c, mod of a value below its modulus,
// nested divisions). Layout ops (reshape, permute, slice, concat, expand,
// ...) are index transforms of loads, Inductor's inner_fn style.
//
// A value that a later loop needs again at the same r0 (softmax's
// exp(x - max), layer_norm's x - mean) is saved into a per-row scratch array
// by the loop that computed it and read back, so the input is read in the
// reduction loops only.
//
// DTypes are the graph's; a backend computes f16/bf16 values in f32 and
// converts at loads, stores and explicit casts. Reductions accumulate like
// PyTorch: f32 for f16/bf16 inputs, i64 for integer sums; max/min propagate
// NaN; argmax takes the first index of the maximum (a NaN counts as the
// maximum).
#ifndef SLUICE_CODEGEN_KERNEL_IR_H_
#define SLUICE_CODEGEN_KERNEL_IR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/dtype.h"
#include "ir/graph.h"
#include "passes/schedule.h"

namespace sluice::codegen {

struct IndexAtom;

// An affine combination of atoms (loop variables, divisions, moduli, min,
// max) plus a constant, kept canonical: terms sorted, no zero coefficients.
// Index values are never negative at run time, so `/` and `%` agree with
// C's integer division.
class IndexExpr {
 public:
  IndexExpr() = default;  // 0
  static IndexExpr Const(int64_t c);
  // A loop variable with values in [0, extent).
  static IndexExpr Var(int id, const std::string& name, int64_t extent);
  static IndexExpr Min(const IndexExpr& a, const IndexExpr& b);
  static IndexExpr Max(const IndexExpr& a, const IndexExpr& b);

  IndexExpr operator+(const IndexExpr& o) const;
  IndexExpr operator-(const IndexExpr& o) const;
  IndexExpr operator*(int64_t c) const;
  IndexExpr FloorDiv(int64_t c) const;  // c > 0
  IndexExpr Mod(int64_t c) const;       // c > 0

  bool is_const() const { return terms_.empty(); }
  int64_t constant() const { return constant_; }
  // Bounds over all loop-variable values.
  int64_t lo() const { return lo_; }
  int64_t hi() const { return hi_; }
  bool DependsOnVar(int id) const;

  // "x0*4096 + r0", "((r0 / 3) % 4)", "min(x0, 7)"; also valid C/CUDA with
  // int64 variables and min/max functions in scope.
  std::string ToString() const;
  bool operator==(const IndexExpr& o) const { return ToString() == o.ToString(); }
  bool operator!=(const IndexExpr& o) const { return !(*this == o); }

 private:
  using Term = std::pair<int64_t, std::shared_ptr<const IndexAtom>>;
  static IndexExpr FromAtom(std::shared_ptr<const IndexAtom> atom);
  static std::string Parenthesized(const IndexExpr& e);
  void Recompute();
  // The atom when this is exactly one atom with coefficient 1.
  const IndexAtom* SingleAtom() const;

  std::vector<Term> terms_;
  int64_t constant_ = 0;
  int64_t lo_ = 0, hi_ = 0;
};

struct IndexAtom {
  enum class Kind { kVar, kDiv, kMod, kMin, kMax };
  Kind kind = Kind::kVar;
  int var = -1;
  std::string name;  // kVar
  int64_t extent = 0;
  IndexExpr a, b;    // operands (b: kMin/kMax)
  int64_t c = 0;     // divisor / modulus
  int64_t lo = 0, hi = 0;
  std::string key;   // the printed form; orders and identifies atoms
};

enum class ReduceKind { kSum, kMax, kMin, kArgmax };
absl::string_view ReduceKindName(ReduceKind kind);

struct KernelArg {
  std::string value;  // graph value name
  ir::DType dtype = ir::DType::kF32;
  int64_t numel = 0;
  bool is_output = false;
};

struct Expr {
  enum class Kind {
    kLoad,          // args[arg][index]
    kConst,         // value
    kIndex,         // the int64 value of `index`
    kOp,            // op(args...)
    kReduceResult,  // result of reductions[reduction] of the loop before
    kScratchLoad,   // element r0 of the row scratch array `scratch`
  };
  int id = -1;
  Kind kind = Kind::kOp;
  ir::DType dtype = ir::DType::kF32;
  // kOp: a graph op name ("add", "exp", "where", "maximum", "logical_not"),
  // "cast" (to dtype), "gelu_tanh" (gelu with approximate = "tanh").
  std::string op;
  std::vector<int> args;  // expr ids
  int arg = -1;           // kLoad: kernel arg
  IndexExpr index;        // kLoad, kIndex
  double value = 0;       // kConst
  int reduction = -1;     // kReduceResult: Reduction::id
  int scratch = -1;       // kScratchLoad: Kernel::scratch slot
};

struct Reduction {
  int id = -1;
  ReduceKind kind = ReduceKind::kSum;
  ir::DType acc_dtype = ir::DType::kF32;  // also the dtype of the value reduced
  int input = -1;                          // expr id (in the loop)
};

struct Store {
  int arg = -1;
  IndexExpr index;
  int value = -1;  // expr id, of the arg's dtype
};

// Saves a loop value at r0 into a row scratch array for a later loop.
struct ScratchStore {
  int slot = -1;
  int value = -1;
};

struct Stage {
  enum class Kind { kRow, kLoop };
  Kind kind = Kind::kRow;
  std::vector<int> exprs;  // in evaluation order
  std::vector<Reduction> reductions;
  std::vector<Store> stores;
  std::vector<ScratchStore> scratch_stores;  // kLoop
};

// A kernel made from the attention pattern (passes/attention.h): per batch
// index b, out[b] = softmax(scale * q[b] k[b]ᵀ) v[b] with q [sq, d], k and v
// [sk, d], row-major and contiguous, all of `dtype`. The fields name kernel
// args (q and k may be the same arg). No exprs or stages.
struct AttentionSpec {
  int q = -1, k = -1, v = -1, out = -1;  // arg indices
  ir::DType dtype = ir::DType::kF16;
  int64_t batch = 1, sq = 0, sk = 0, d = 0;
  double scale = 1;
};

struct Kernel {
  std::string name;  // a valid C identifier, unique in a module
  int step = -1;
  std::vector<KernelArg> args;  // inputs first, then outputs
  int64_t outer_extent = 1;     // x0
  int64_t inner_extent = 1;     // r0
  bool is_reduction = false;
  std::vector<Expr> exprs;    // by id
  std::vector<Stage> stages;  // alternating row, loop, row, ..., row
  std::vector<std::string> nodes;  // graph nodes computed here
  // Per-row scratch arrays of inner_extent values each (dtype per slot): a
  // value a reduction loop computed that a later loop of the same row needs
  // again is kept there instead of being recomputed from its inputs (so
  // softmax's epilogue reads exp(x - max) back instead of reading x).
  std::vector<ir::DType> scratch;
  // Set for a kernel built from the attention pattern (Step::pattern);
  // the loop-nest fields above are then unused.
  std::optional<AttentionSpec> attention;

  int num_reductions() const;
  // A readable dump, stable for golden tests.
  std::string ToString() const;
};

// The loop variable ids and names every kernel uses.
inline constexpr int kOuterVar = 0;
inline constexpr int kInnerVar = 1;

// Builds the kernel of a kKernel step. Errors (Internal) when the step is not
// something this IR can express, which a caller treats as a lowering failure
// of the step's nodes (DESIGN §3 rule 6).
absl::StatusOr<Kernel> BuildKernel(const ir::Graph& graph, const passes::Step& step,
                                   const std::string& name);

}  // namespace sluice::codegen

#endif  // SLUICE_CODEGEN_KERNEL_IR_H_
