#include "ir/op_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice::ir {

absl::string_view AttrTypeName(AttrType type) {
  switch (type) {
    case AttrType::kBool: return "bool";
    case AttrType::kInt: return "int";
    case AttrType::kFloat: return "float";
    case AttrType::kString: return "string";
    case AttrType::kDType: return "dtype";
    case AttrType::kIntList: return "list of ints";
  }
  return "?";
}

const AttrValue& InferContext::attr(absl::string_view name) const {
  const AttrValue* v = attrs->Find(name);
  if (v == nullptr) {
    // CheckAndInfer fills every declared attribute; a miss is a schema bug.
    fprintf(stderr, "internal error: op %s: inference asked for undeclared attribute '%s'\n",
            std::string(op).c_str(), std::string(name).c_str());
    abort();
  }
  return *v;
}

const AttrSpec* OpSchema::FindAttr(absl::string_view attr_name) const {
  for (const AttrSpec& a : attrs) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

const OpRegistry& OpRegistry::Global() {
  static const OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    RegisterBuiltinOps(*r);
    return r;
  }();
  return *registry;
}

const OpSchema* OpRegistry::Find(absl::string_view name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, schema] : ops_) names.push_back(name);
  return names;
}

void OpRegistry::Register(OpSchema schema) {
  std::string name = schema.name;
  ops_[name] = std::make_unique<OpSchema>(std::move(schema));
}

namespace {

bool Matches(AttrType type, const AttrValue& v) {
  switch (type) {
    case AttrType::kBool: return v.is_bool();
    case AttrType::kInt: return v.is_int();
    case AttrType::kFloat: return v.is_number();
    case AttrType::kString: return v.is_string();
    case AttrType::kDType: return v.is_dtype();
    case AttrType::kIntList: return v.is_int_list();
  }
  return false;
}

}  // namespace

absl::StatusOr<TensorType> CheckAndInfer(const OpSchema& schema,
                                         const std::vector<OperandInfo>& operands,
                                         const AttrDict& attrs) {
  const int n = static_cast<int>(operands.size());
  if (n < schema.min_operands || (schema.max_operands >= 0 && n > schema.max_operands)) {
    std::string expected =
        schema.max_operands < 0
            ? absl::StrCat("at least ", schema.min_operands)
            : schema.min_operands == schema.max_operands
                  ? absl::StrCat(schema.min_operands)
                  : absl::StrCat(schema.min_operands, " to ", schema.max_operands);
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", expected, " operand", expected == "1" ? "" : "s", ", got ", n));
  }
  bool any_tensor = false;
  for (int i = 0; i < n; ++i) {
    if (!operands[i].is_literal) {
      any_tensor = true;
    } else if (!schema.allows_literals) {
      return absl::InvalidArgumentError(
          absl::StrCat("operand ", i, " is a scalar literal; this op takes only values"));
    }
  }
  if (n > 0 && !any_tensor) {
    return absl::InvalidArgumentError("at least one operand must be a value, not a literal");
  }
  AttrDict full;
  for (const auto& [name, value] : attrs) {
    const AttrSpec* spec = schema.FindAttr(name);
    if (spec == nullptr) {
      std::vector<std::string> known;
      for (const AttrSpec& a : schema.attrs) known.push_back(a.name);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown attribute '", name, "'",
          known.empty() ? std::string(" (this op takes no attributes)")
                        : absl::StrCat(" (expected one of: ", absl::StrJoin(known, ", "), ")")));
    }
    if (!Matches(spec->type, value)) {
      return absl::InvalidArgumentError(absl::StrCat("attribute '", name, "' must be a ",
                                                     AttrTypeName(spec->type), ", got ",
                                                     value.ToString()));
    }
    if (!spec->choices.empty()) {
      bool ok = false;
      for (const std::string& c : spec->choices) ok |= c == value.as_string();
      if (!ok) {
        return absl::InvalidArgumentError(absl::StrCat("attribute '", name, "' must be one of \"",
                                                       absl::StrJoin(spec->choices, "\", \""),
                                                       "\", got ", value.ToString()));
      }
    }
  }
  for (const AttrSpec& spec : schema.attrs) {
    if (const AttrValue* v = attrs.Find(spec.name)) {
      full.Set(spec.name, spec.type == AttrType::kFloat && v->is_int()
                              ? AttrValue(v->as_float())
                              : *v);
    } else if (spec.default_value) {
      full.Set(spec.name, *spec.default_value);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("missing required attribute '", spec.name, "' (", AttrTypeName(spec.type),
                       ")"));
    }
  }
  InferContext ctx{schema.name, operands, &full};
  return schema.infer(ctx);
}

}  // namespace sluice::ir
