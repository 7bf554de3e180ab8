#include "runtime/npy.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "ir/dtype.h"
#include "ir/shape.h"

namespace sluice::runtime {
namespace {

constexpr absl::string_view kMagic("\x93NUMPY", 6);
constexpr size_t kHeaderAlignment = 64;
// NumPy's own limit (NPY_MAXDIMS) is 64.
constexpr int kMaxRank = 64;
// Bounds nesting in malformed headers so the parser cannot recurse deeply.
constexpr int kMaxNesting = 8;

struct DescrInfo {
  ir::DType dtype;
  absl::string_view descr;  // what the writer writes
};

constexpr DescrInfo kDescrs[] = {
    {ir::DType::kF32, "<f4"},  {ir::DType::kF16, "<f2"},
    {ir::DType::kF64, "<f8"},  {ir::DType::kI32, "<i4"},
    {ir::DType::kI64, "<i8"},  {ir::DType::kBool, "|b1"},
    {ir::DType::kBF16, "<V2"},
};

absl::string_view DescrFor(ir::DType dtype) {
  for (const DescrInfo& d : kDescrs) {
    if (d.dtype == dtype) return d.descr;
  }
  return "";
}

// A value of the Python literal subset .npy headers use.
struct PyValue {
  enum class Kind { kString, kBool, kInt, kTuple, kList, kDict };
  Kind kind = Kind::kInt;
  std::string str;
  bool boolean = false;
  int64_t integer = 0;
  std::vector<PyValue> items;                           // tuple / list
  std::vector<std::pair<std::string, PyValue>> fields;  // dict
};

absl::string_view KindName(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::kString:
      return "a string";
    case PyValue::Kind::kBool:
      return "a bool";
    case PyValue::Kind::kInt:
      return "an int";
    case PyValue::Kind::kTuple:
      return "a tuple";
    case PyValue::Kind::kList:
      return "a list";
    case PyValue::Kind::kDict:
      return "a dict";
  }
  return "a value";
}

// Recursive-descent parser over the header text. Errors say where.
class HeaderParser {
 public:
  HeaderParser(absl::string_view text, absl::string_view name)
      : text_(text), name_(name) {}

  absl::StatusOr<PyValue> ParseTopLevel() {
    SkipSpace();
    if (Peek() != '{') return Error("expected '{' opening the header dict");
    absl::StatusOr<PyValue> v = ParseValue(0);
    if (!v.ok()) return v;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the header dict");
    return v;
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= text_.size(); }

  void SkipSpace() {
    while (!AtEnd() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                        text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        name_, ": malformed .npy header at character ", pos_, ": ", what,
        " (header: ", absl::CEscape(text_.substr(0, 200)), ")"));
  }

  absl::StatusOr<PyValue> ParseValue(int depth) {
    if (depth > kMaxNesting) return Error("nesting too deep");
    SkipSpace();
    const char c = Peek();
    if (c == '\'' || c == '"') return ParseString();
    if (c == '{') return ParseDict(depth);
    if (c == '(') return ParseSequence(depth, ')', PyValue::Kind::kTuple);
    if (c == '[') return ParseSequence(depth, ']', PyValue::Kind::kList);
    if (c == '-' || (c >= '0' && c <= '9')) return ParseInt();
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      PyValue v;
      v.kind = PyValue::Kind::kBool;
      v.boolean = true;
      return v;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      PyValue v;
      v.kind = PyValue::Kind::kBool;
      return v;
    }
    if (AtEnd()) return Error("unexpected end of header");
    return Error(absl::StrCat("unexpected character '",
                              absl::CEscape(absl::string_view(&text_[pos_], 1)), "'"));
  }

  absl::StatusOr<PyValue> ParseString() {
    const char quote = text_[pos_++];
    PyValue v;
    v.kind = PyValue::Kind::kString;
    while (!AtEnd() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') return Error("escapes in strings are not supported");
      v.str.push_back(text_[pos_++]);
    }
    if (AtEnd()) return Error("unterminated string");
    ++pos_;
    return v;
  }

  absl::StatusOr<PyValue> ParseInt() {
    const size_t start = pos_;
    bool negative = false;
    if (Peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!(Peek() >= '0' && Peek() <= '9')) return Error("expected a digit");
    uint64_t value = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      const uint64_t digit = static_cast<uint64_t>(Peek() - '0');
      if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10) {
        pos_ = start;
        return Error("integer out of range");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (Peek() == 'L') ++pos_;  // Python 2 longs, as old NumPy wrote them.
    PyValue v;
    v.kind = PyValue::Kind::kInt;
    v.integer = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
    return v;
  }

  absl::StatusOr<PyValue> ParseSequence(int depth, char close, PyValue::Kind kind) {
    ++pos_;  // '(' or '['
    PyValue v;
    v.kind = kind;
    SkipSpace();
    while (Peek() != close) {
      if (AtEnd()) return Error(absl::StrCat("expected '", std::string(1, close), "'"));
      absl::StatusOr<PyValue> item = ParseValue(depth + 1);
      if (!item.ok()) return item.status();
      v.items.push_back(*std::move(item));
      if (v.items.size() > static_cast<size_t>(kMaxRank)) return Error("too many items");
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        SkipSpace();
      } else if (Peek() != close) {
        return Error(absl::StrCat("expected ',' or '", std::string(1, close), "'"));
      }
    }
    ++pos_;
    return v;
  }

  absl::StatusOr<PyValue> ParseDict(int depth) {
    ++pos_;  // '{'
    PyValue v;
    v.kind = PyValue::Kind::kDict;
    SkipSpace();
    while (Peek() != '}') {
      if (AtEnd()) return Error("expected '}'");
      if (Peek() != '\'' && Peek() != '"') return Error("expected a string key");
      absl::StatusOr<PyValue> key = ParseString();
      if (!key.ok()) return key.status();
      SkipSpace();
      if (Peek() != ':') return Error("expected ':' after a dict key");
      ++pos_;
      absl::StatusOr<PyValue> value = ParseValue(depth + 1);
      if (!value.ok()) return value.status();
      for (const auto& field : v.fields) {
        if (field.first == key->str) return Error(absl::StrCat("duplicate key '", key->str, "'"));
      }
      v.fields.emplace_back(key->str, *std::move(value));
      if (v.fields.size() > 16) return Error("too many keys");
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        SkipSpace();
      } else if (Peek() != '}') {
        return Error("expected ',' or '}'");
      }
    }
    ++pos_;
    return v;
  }

  absl::string_view text_;
  absl::string_view name_;
  size_t pos_ = 0;
};

absl::StatusOr<ir::DType> DTypeFromDescr(absl::string_view descr,
                                         absl::string_view name) {
  if (descr.size() >= 2 && descr[0] == '>' && descr.substr(1) != "b1" &&
      descr.substr(1) != "V2") {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": big-endian data (descr '", descr,
        "') is not supported; save it little-endian (e.g. a.astype('<f4'))"));
  }
  std::string normalized(descr);
  if (!normalized.empty() && normalized[0] == '=') normalized[0] = '<';
  // One-byte types and raw voids have no byte order: any prefix is fine.
  if (normalized == "|b1" || normalized == "<b1" || normalized == ">b1") {
    return ir::DType::kBool;
  }
  if (normalized == "<V2" || normalized == "|V2" || normalized == ">V2") {
    return ir::DType::kBF16;
  }
  for (const DescrInfo& d : kDescrs) {
    if (normalized == d.descr) return d.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      name, ": unsupported dtype descr '", descr,
      "' (supported: '<f4', '<f2', '<f8', '<i4', '<i8', '|b1', and '<V2' for "
      "bfloat16)"));
}

std::string ShapeTuple(const std::vector<int64_t>& dims) {
  if (dims.size() == 1) return absl::StrCat("(", dims[0], ",)");
  return absl::StrCat("(", absl::StrJoin(dims, ", "), ")");
}

uint32_t ReadLittleEndian(absl::string_view bytes, size_t offset, int width) {
  uint32_t v = 0;
  for (int i = width - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[offset + i]);
  }
  return v;
}

}  // namespace

absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes,
                                absl::string_view name_for_errors) {
  const absl::string_view name = name_for_errors;
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": not a .npy file (it does not start with \"\\x93NUMPY\")"));
  }
  if (bytes.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": truncated .npy header: no format version"));
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  const int minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": unsupported .npy format version ", major, ".", minor,
                     " (supported: 1.0, 2.0, 3.0)"));
  }
  const int length_width = major == 1 ? 2 : 4;
  const size_t prefix = 8 + length_width;
  if (bytes.size() < prefix) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": truncated .npy header: no header length"));
  }
  const size_t header_len = ReadLittleEndian(bytes, 8, length_width);
  if (bytes.size() - prefix < header_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": truncated .npy header: it says ", header_len,
        " header bytes but the file has ", bytes.size() - prefix, " after the prefix"));
  }
  const absl::string_view header = bytes.substr(prefix, header_len);
  const absl::string_view data = bytes.substr(prefix + header_len);

  absl::StatusOr<PyValue> dict = HeaderParser(header, name).ParseTopLevel();
  if (!dict.ok()) return dict.status();

  const PyValue* descr = nullptr;
  const PyValue* fortran_order = nullptr;
  const PyValue* shape = nullptr;
  for (const auto& [key, value] : dict->fields) {
    if (key == "descr") {
      descr = &value;
    } else if (key == "fortran_order") {
      fortran_order = &value;
    } else if (key == "shape") {
      shape = &value;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": malformed .npy header: unexpected key '", key, "'"));
    }
  }
  if (descr == nullptr || fortran_order == nullptr || shape == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": malformed .npy header: it needs the keys 'descr', "
              "'fortran_order' and 'shape'"));
  }
  if (descr->kind != PyValue::Kind::kString) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": unsupported dtype: descr is ", KindName(descr->kind),
        " (structured dtypes are not supported)"));
  }
  if (fortran_order->kind != PyValue::Kind::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": malformed .npy header: fortran_order is ",
        KindName(fortran_order->kind), ", not True or False"));
  }
  if (fortran_order->boolean) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": fortran_order=True is not supported; save a C-ordered array "
              "(np.ascontiguousarray)"));
  }
  if (shape->kind != PyValue::Kind::kTuple && shape->kind != PyValue::Kind::kInt) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": malformed .npy header: shape is ", KindName(shape->kind),
        ", not a tuple of ints"));
  }
  absl::StatusOr<ir::DType> dtype = DTypeFromDescr(descr->str, name);
  if (!dtype.ok()) return dtype.status();

  std::vector<int64_t> dims;
  if (shape->kind == PyValue::Kind::kInt) {
    dims.push_back(shape->integer);
  } else {
    for (const PyValue& item : shape->items) {
      if (item.kind != PyValue::Kind::kInt) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": malformed .npy header: a shape entry is ", KindName(item.kind)));
      }
      dims.push_back(item.integer);
    }
  }
  // The element count, computed so that it cannot overflow: any dimension
  // beyond what the data could hold is already an error.
  const int64_t elem_size = ir::DTypeSize(*dtype);
  const int64_t max_elements = std::numeric_limits<int64_t>::max() / 8;
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (int64_t d : dims) {
    if (d < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": malformed .npy header: negative dimension in shape ", ShapeTuple(dims)));
    }
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (nonzero_product > max_elements / d) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": shape ", ShapeTuple(dims), " is too large"));
    }
    nonzero_product *= d;
  }
  const int64_t num_elements = has_zero ? 0 : nonzero_product;
  const uint64_t expected_bytes = static_cast<uint64_t>(num_elements) * elem_size;
  if (data.size() != expected_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": data size mismatch: shape ", ShapeTuple(dims), " of ",
        ir::DTypeName(*dtype), " needs ", expected_bytes, " bytes but the file has ",
        data.size(), data.size() < expected_bytes ? " (truncated)" : ""));
  }

  absl::StatusOr<Tensor> allocated = Tensor::TryZeros(*dtype, ir::Shape(std::move(dims)));
  if (!allocated.ok()) {
    return absl::Status(allocated.status().code(),
                        absl::StrCat(name, ": ", allocated.status().message()));
  }
  Tensor tensor = *std::move(allocated);
  if (!data.empty()) std::memcpy(tensor.data(), data.data(), data.size());
  if (*dtype == ir::DType::kBool) {
    auto* b = tensor.data_as<uint8_t>();
    for (int64_t i = 0; i < num_elements; ++i) b[i] = b[i] != 0 ? 1 : 0;
  }
  return tensor;
}

absl::StatusOr<Tensor> ReadNpy(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    const std::string message =
        absl::StrCat("cannot open '", path, "': ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message)
                         : absl::PermissionDeniedError(message);
  }
  std::string bytes;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) bytes.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::DataLossError(absl::StrCat("error reading '", path, "'"));
  return ParseNpy(bytes, path);
}

std::string SerializeNpy(const Tensor& tensor) {
  std::string dict = absl::StrCat("{'descr': '", DescrFor(tensor.dtype()),
                                  "', 'fortran_order': False, 'shape': ",
                                  ShapeTuple(tensor.shape().dims()), ", }");
  // Version 1.0 has a 16-bit header length; larger headers need 2.0.
  int major = 1;
  size_t prefix = 10;
  size_t total = prefix + dict.size() + 1;  // +1 for the final '\n'
  total = (total + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = prefix + dict.size() + 1;
    total = (total + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
  }
  const size_t header_len = total - prefix;
  std::string out(kMagic);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) {
    out.push_back(static_cast<char>((header_len >> (8 * i)) & 0xff));
  }
  out += dict;
  out.append(header_len - dict.size() - 1, ' ');
  out.push_back('\n');
  if (tensor.nbytes() > 0 && tensor.data() != nullptr) {
    out.append(static_cast<const char*>(tensor.data()),
               static_cast<size_t>(tensor.nbytes()));
  }
  return out;
}

absl::Status WriteNpy(const std::string& path, const Tensor& tensor) {
  if (!tensor.defined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': the tensor is undefined"));
  }
  const std::string bytes = SerializeNpy(tensor);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open '", path, "' for writing: ", std::strerror(errno)));
  }
  const bool wrote = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    return absl::DataLossError(absl::StrCat("error writing '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace sluice::runtime
