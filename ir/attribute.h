// Typed attribute and metadata values, and the insertion-ordered dictionary
// that holds them on a node. Attributes are part of an op's meaning;
// metadata (should_fallback, source locations, user keys) is not, and every
// pass carries it along.
#ifndef SLUICE_IR_ATTRIBUTE_H_
#define SLUICE_IR_ATTRIBUTE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "ir/dtype.h"

namespace sluice::ir {

class AttrValue {
 public:
  using List = std::vector<AttrValue>;
  enum class Kind { kBool, kInt, kFloat, kString, kDType, kList };

  AttrValue() : v_(false) {}
  AttrValue(bool b) : v_(b) {}                      // NOLINT
  AttrValue(int v) : v_(int64_t{v}) {}              // NOLINT
  AttrValue(int64_t v) : v_(v) {}                   // NOLINT
  AttrValue(double v) : v_(v) {}                    // NOLINT
  AttrValue(std::string v) : v_(std::move(v)) {}    // NOLINT
  AttrValue(const char* v) : v_(std::string(v)) {}  // NOLINT
  AttrValue(DType v) : v_(v) {}                     // NOLINT
  AttrValue(List v) : v_(std::move(v)) {}           // NOLINT
  static AttrValue IntList(const std::vector<int64_t>& values);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_dtype() const { return kind() == Kind::kDType; }
  bool is_list() const { return kind() == Kind::kList; }
  // True for a list whose elements are all ints (the empty list included).
  bool is_int_list() const;

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  // An int converts to float; anything else is a programming error.
  double as_float() const;
  const std::string& as_string() const { return std::get<std::string>(v_); }
  DType as_dtype() const { return std::get<DType>(v_); }
  const List& as_list() const { return std::get<List>(v_); }
  std::vector<int64_t> as_int_list() const;

  // Text-format spelling; floats always print so that they re-parse as floats
  // and to the same value ("2.0", "1e-05").
  std::string ToString() const;
  bool operator==(const AttrValue& o) const { return v_ == o.v_; }
  bool operator!=(const AttrValue& o) const { return !(*this == o); }

 private:
  std::variant<bool, int64_t, double, std::string, DType, List> v_;
};

absl::string_view AttrKindName(AttrValue::Kind kind);

// Shortest text that parses back to exactly `v`, always with a '.' or an
// exponent so it reads as a float ("2.0", "0.1", "1e-05", "inf", "nan").
std::string FormatDouble(double v);

// An ordered string -> AttrValue map. Small; lookups are linear on purpose.
class AttrDict {
 public:
  using Entry = std::pair<std::string, AttrValue>;

  bool Has(absl::string_view key) const { return Find(key) != nullptr; }
  const AttrValue* Find(absl::string_view key) const;
  // Replaces an existing key in place (keeping its position) or appends.
  void Set(absl::string_view key, AttrValue value);
  bool Erase(absl::string_view key);

  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  // "{a = 1, b = true}" ("" when empty).
  std::string ToString() const;
  bool operator==(const AttrDict& o) const { return entries_ == o.entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace sluice::ir

#endif  // SLUICE_IR_ATTRIBUTE_H_
