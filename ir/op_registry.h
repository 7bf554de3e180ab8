// The op registry: one schema per op (DESIGN §4) with operand counts,
// attribute specs with defaults, and shape/dtype inference following
// PyTorch. Adding an op is one entry in ops.cc.
#ifndef SLUICE_IR_OP_REGISTRY_H_
#define SLUICE_IR_OP_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/attribute.h"
#include "ir/shape.h"

namespace sluice::ir {

// Broad op classes that passes and codegen switch on.
enum class OpKind {
  kUnary,       // elementwise, one operand
  kBinary,      // elementwise with broadcasting, literals allowed
  kTernary,     // where
  kReduction,   // sum mean amax amin argmax
  kComposite,   // softmax log_softmax layer_norm rms_norm (gelu/silu are kUnary)
  kLayout,      // reshape permute transpose expand slice concat squeeze unsqueeze
  kMatmul,      // matmul
  kCreation,    // full
};

enum class AttrType { kBool, kInt, kFloat, kString, kDType, kIntList };
absl::string_view AttrTypeName(AttrType type);

struct AttrSpec {
  std::string name;
  AttrType type;
  // nullopt: required.
  std::optional<AttrValue> default_value;
  // For kString: allowed values (empty: any).
  std::vector<std::string> choices;
};

// One operand as inference sees it.
struct OperandInfo {
  TensorType type;         // for literals: a rank-0 type of the literal's kind
  bool is_literal = false; // a scalar literal (weakly typed, like a Python number)
};

// What shape inference gets: operand types and attributes with defaults
// already filled in.
struct InferContext {
  absl::string_view op;
  std::vector<OperandInfo> operands;
  const AttrDict* attrs = nullptr;

  const AttrValue& attr(absl::string_view name) const;
  int64_t attr_int(absl::string_view name) const { return attr(name).as_int(); }
  double attr_float(absl::string_view name) const { return attr(name).as_float(); }
  bool attr_bool(absl::string_view name) const { return attr(name).as_bool(); }
  std::vector<int64_t> attr_ints(absl::string_view name) const {
    return attr(name).as_int_list();
  }
};

using InferFn = std::function<absl::StatusOr<TensorType>(const InferContext&)>;

struct OpSchema {
  std::string name;
  OpKind kind;
  int min_operands = 1;
  int max_operands = 1;          // -1: variadic
  bool allows_literals = false;  // binary ops and where's value operands
  std::vector<AttrSpec> attrs;
  InferFn infer;
  std::string summary;  // one line, for --help and docs

  const AttrSpec* FindAttr(absl::string_view name) const;
};

class OpRegistry {
 public:
  // The registry with every built-in op.
  static const OpRegistry& Global();

  const OpSchema* Find(absl::string_view name) const;
  // Op names, sorted.
  std::vector<std::string> Names() const;

  void Register(OpSchema schema);

 private:
  std::map<std::string, std::unique_ptr<OpSchema>, std::less<>> ops_;
};

// Checks operand count, literal placement, attribute names and types (and
// string choices) against the schema, fills in defaults, and runs inference.
// The error message has no location; callers add one.
absl::StatusOr<TensorType> CheckAndInfer(const OpSchema& schema,
                                         const std::vector<OperandInfo>& operands,
                                         const AttrDict& attrs);

// Registers the DESIGN §4 op set (called once by Global()).
void RegisterBuiltinOps(OpRegistry& registry);

}  // namespace sluice::ir

#endif  // SLUICE_IR_OP_REGISTRY_H_
