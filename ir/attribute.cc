#include "ir/attribute.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice::ir {

AttrValue AttrValue::IntList(const std::vector<int64_t>& values) {
  List list;
  list.reserve(values.size());
  for (int64_t v : values) list.emplace_back(v);
  return AttrValue(std::move(list));
}

bool AttrValue::is_int_list() const {
  if (!is_list()) return false;
  for (const AttrValue& v : as_list()) {
    if (!v.is_int()) return false;
  }
  return true;
}

double AttrValue::as_float() const {
  if (is_int()) return static_cast<double>(as_int());
  return std::get<double>(v_);
}

std::vector<int64_t> AttrValue::as_int_list() const {
  std::vector<int64_t> out;
  for (const AttrValue& v : as_list()) out.push_back(v.as_int());
  return out;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

namespace {

std::string QuoteString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char hex[8];
          snprintf(hex, sizeof(hex), "\\x%02x", static_cast<unsigned char>(c));
          out += hex;
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

}  // namespace

std::string AttrValue::ToString() const {
  switch (kind()) {
    case Kind::kBool: return as_bool() ? "true" : "false";
    case Kind::kInt: return absl::StrCat(as_int());
    case Kind::kFloat: return FormatDouble(std::get<double>(v_));
    case Kind::kString: return QuoteString(as_string());
    case Kind::kDType: return std::string(DTypeName(as_dtype()));
    case Kind::kList: {
      std::vector<std::string> parts;
      for (const AttrValue& v : as_list()) parts.push_back(v.ToString());
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
  }
  return "?";
}

absl::string_view AttrKindName(AttrValue::Kind kind) {
  switch (kind) {
    case AttrValue::Kind::kBool: return "bool";
    case AttrValue::Kind::kInt: return "int";
    case AttrValue::Kind::kFloat: return "float";
    case AttrValue::Kind::kString: return "string";
    case AttrValue::Kind::kDType: return "dtype";
    case AttrValue::Kind::kList: return "list";
  }
  return "?";
}

const AttrValue* AttrDict::Find(absl::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.first == key) return &e.second;
  }
  return nullptr;
}

void AttrDict::Set(absl::string_view key, AttrValue value) {
  for (Entry& e : entries_) {
    if (e.first == key) {
      e.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::string(key), std::move(value));
}

bool AttrDict::Erase(absl::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

std::string AttrDict::ToString() const {
  if (entries_.empty()) return "";
  std::vector<std::string> parts;
  for (const Entry& e : entries_) parts.push_back(absl::StrCat(e.first, " = ", e.second.ToString()));
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

}  // namespace sluice::ir
