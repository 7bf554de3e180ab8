// A minimal streaming JSON writer for the CLI's --format=json document:
// objects, arrays, strings (escaped), numbers (finite; NaN/inf as null),
// booleans. Commas are handled by the writer.
#ifndef SLUICE_TOOLS_COMPILE_CLI_JSON_WRITER_H_
#define SLUICE_TOOLS_COMPILE_CLI_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sluice::tools {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view v);
  JsonWriter& Number(double v);
  JsonWriter& Int(int64_t v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();

  std::string out_;
  // Per open container: whether it already holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// `s` as a JSON string literal (passes::AppendJsonString).
std::string JsonEscape(absl::string_view s);

}  // namespace sluice::tools

#endif  // SLUICE_TOOLS_COMPILE_CLI_JSON_WRITER_H_
