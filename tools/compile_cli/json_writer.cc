#include "tools/compile_cli/json_writer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "ir/attribute.h"
#include "passes/lowering_plan.h"

namespace sluice::tools {

std::string JsonEscape(absl::string_view s) {
  std::string out;
  passes::AppendJsonString(&out, s);
  return out;
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_element_.empty()) {
    if (has_element_.back()) out_ += ",";
    has_element_.back() = true;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_ += "{";
  has_element_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_ += "}";
  has_element_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_ += "[";
  has_element_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_ += "]";
  has_element_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  out_ += JsonEscape(key);
  out_ += ":";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(absl::string_view v) {
  BeforeValue();
  out_ += JsonEscape(v);
  return *this;
}

JsonWriter& JsonWriter::Number(double v) {
  BeforeValue();
  if (!std::isfinite(v)) {
    out_ += "null";
  } else {
    // Shortest round-trip form; JSON has no "2.0" requirement but accepts it.
    out_ += ir::FormatDouble(v);
  }
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  BeforeValue();
  absl::StrAppend(&out_, v);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  BeforeValue();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

}  // namespace sluice::tools
