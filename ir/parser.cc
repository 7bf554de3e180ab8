#include "ir/parser.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ir/verifier.h"

namespace sluice::ir {
namespace {

enum class Tok {
  kEof, kIdent, kValue, kInt, kFloat, kString,
  kLParen, kRParen, kLBrace, kRBrace, kLBracket, kRBracket, kComma, kColon, kEqual,
  kError,
};

absl::string_view TokName(Tok t) {
  switch (t) {
    case Tok::kEof: return "end of input";
    case Tok::kIdent: return "identifier";
    case Tok::kValue: return "value (%name)";
    case Tok::kInt: return "integer";
    case Tok::kFloat: return "number";
    case Tok::kString: return "string";
    case Tok::kLParen: return "'('";
    case Tok::kRParen: return "')'";
    case Tok::kLBrace: return "'{'";
    case Tok::kRBrace: return "'}'";
    case Tok::kLBracket: return "'['";
    case Tok::kRBracket: return "']'";
    case Tok::kComma: return "','";
    case Tok::kColon: return "':'";
    case Tok::kEqual: return "'='";
    case Tok::kError: return "invalid token";
  }
  return "?";
}

struct Token {
  Tok kind = Tok::kEof;
  std::string text;  // identifier/value name (without %), string contents, number text
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1, col = 1;
  std::string error;  // for kError
};

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  Token Next() {
    SkipSpaceAndComments();
    Token t;
    t.line = line_;
    t.col = col_;
    if (pos_ >= text_.size()) return t;
    const char c = text_[pos_];
    auto single = [&](Tok k) {
      Advance();
      t.kind = k;
      return t;
    };
    switch (c) {
      case '(': return single(Tok::kLParen);
      case ')': return single(Tok::kRParen);
      case '{': return single(Tok::kLBrace);
      case '}': return single(Tok::kRBrace);
      case '[': return single(Tok::kLBracket);
      case ']': return single(Tok::kRBracket);
      case ',': return single(Tok::kComma);
      case ':': return single(Tok::kColon);
      case '=': return single(Tok::kEqual);
      case '"': return LexString(t);
      case '%': {
        Advance();
        size_t start = pos_;
        while (pos_ < text_.size() && IsIdentChar(text_[pos_])) Advance();
        if (pos_ == start) return Error(t, "expected a name after '%'");
        t.kind = Tok::kValue;
        t.text = std::string(text_.substr(start, pos_ - start));
        return t;
      }
      default: break;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' ||
        (c == '.' && pos_ + 1 < text_.size() &&
         std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      return LexNumber(t);
    }
    if (IsIdentStart(c)) {
      size_t start = pos_;
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) Advance();
      t.text = std::string(text_.substr(start, pos_ - start));
      // `inf` and `nan` stay identifiers (a graph or key may be named so);
      // the parser reads them as numbers where a number may stand.
      t.kind = Tok::kIdent;
      return t;
    }
    Advance();
    if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) {
      return Error(t, absl::StrCat("unexpected character '", std::string(1, c), "'"));
    }
    return Error(t, absl::StrCat("unexpected byte 0x",
                                 absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2)));
  }

 private:
  void Advance() {
    if (pos_ >= text_.size()) return;
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        Advance();
      } else if (c == '#' || (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/')) {
        while (pos_ < text_.size() && text_[pos_] != '\n') Advance();
      } else {
        break;
      }
    }
  }

  Token Error(Token t, std::string msg) {
    t.kind = Tok::kError;
    t.error = std::move(msg);
    return t;
  }

  Token LexString(Token t) {
    Advance();  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') {
        return Error(t, "unterminated string");
      }
      char c = text_[pos_];
      Advance();
      if (c == '"') break;
      if (c == '\\') {
        if (pos_ >= text_.size()) return Error(t, "unterminated string");
        char e = text_[pos_];
        Advance();
        switch (e) {
          case 'n': out.push_back('\n'); break;
          case 't': out.push_back('\t'); break;
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case 'x': {
            int v = 0;
            for (int i = 0; i < 2; ++i) {
              if (pos_ >= text_.size() || !std::isxdigit(static_cast<unsigned char>(text_[pos_]))) {
                return Error(t, "expected two hex digits after \\x");
              }
              const char h = text_[pos_];
              v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                                       : std::tolower(h) - 'a' + 10);
              Advance();
            }
            out.push_back(static_cast<char>(v));
            break;
          }
          default:
            return Error(t, absl::StrCat("unknown escape '\\", std::string(1, e), "' in string"));
        }
      } else {
        out.push_back(c);
      }
    }
    t.kind = Tok::kString;
    t.text = std::move(out);
    return t;
  }

  Token LexNumber(Token t) {
    size_t start = pos_;
    bool negative = false;
    if (text_[pos_] == '-' || text_[pos_] == '+') {
      negative = text_[pos_] == '-';
      Advance();
      if (text_.substr(pos_, 3) == "inf" &&
          (pos_ + 3 >= text_.size() || !IsIdentChar(text_[pos_ + 3]))) {
        Advance(); Advance(); Advance();
        t.kind = Tok::kFloat;
        t.float_value = negative ? -std::numeric_limits<double>::infinity()
                                 : std::numeric_limits<double>::infinity();
        t.text = std::string(text_.substr(start, pos_ - start));
        return t;
      }
      if (pos_ >= text_.size() || !(std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
                                    text_[pos_] == '.')) {
        return Error(t, "expected a number after the sign");
      }
    }
    bool is_float = false;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) Advance();
    if (pos_ < text_.size() && text_[pos_] == '.') {
      is_float = true;
      Advance();
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) Advance();
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      is_float = true;
      Advance();
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) Advance();
      if (pos_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        return Error(t, "expected digits in the exponent");
      }
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) Advance();
    }
    if (pos_ < text_.size() && IsIdentChar(text_[pos_])) {
      return Error(t, "invalid character in number");
    }
    std::string s(text_.substr(start, pos_ - start));
    t.text = s;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    const char* e = s.data() + s.size();
    if (is_float) {
      auto r = std::from_chars(b, e, t.float_value);
      if (r.ec == std::errc::result_out_of_range) {
        return Error(t, absl::StrCat("number ", s, " is out of range"));
      }
      if (r.ec != std::errc() || r.ptr != e) return Error(t, absl::StrCat("invalid number ", s));
      t.kind = Tok::kFloat;
    } else {
      auto r = std::from_chars(b, e, t.int_value);
      if (r.ec == std::errc::result_out_of_range) {
        return Error(t, absl::StrCat("integer ", s, " does not fit in 64 bits"));
      }
      if (r.ec != std::errc() || r.ptr != e) return Error(t, absl::StrCat("invalid number ", s));
      t.kind = Tok::kInt;
    }
    return t;
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
};

class Parser {
 public:
  Parser(absl::string_view text, absl::string_view filename)
      : lexer_(text), filename_(filename) {
    lines_ = absl::StrSplit(text, '\n');
    tok_ = lexer_.Next();
  }

  absl::StatusOr<std::vector<Graph>> ParseModule() {
    std::vector<Graph> graphs;
    do {
      absl::StatusOr<Graph> g = ParseOneGraph();
      if (!g.ok()) return g.status();
      graphs.push_back(*std::move(g));
    } while (tok_.kind != Tok::kEof);
    return graphs;
  }

 private:
  static constexpr int kMaxListDepth = 32;

  Location Loc(const Token& t) const {
    Location loc;
    loc.file = filename_;
    loc.line = t.line;
    loc.col = t.col;
    if (t.line >= 1 && t.line <= static_cast<int>(lines_.size())) {
      loc.line_text = std::string(lines_[t.line - 1]);
      if (!loc.line_text.empty() && loc.line_text.back() == '\r') loc.line_text.pop_back();
    }
    return loc;
  }

  absl::Status ErrorHere(absl::string_view msg) const { return ErrorAt(Loc(tok_), msg); }

  absl::Status Unexpected(absl::string_view expected) const {
    if (tok_.kind == Tok::kError) return ErrorHere(tok_.error);
    std::string got = std::string(TokName(tok_.kind));
    if (tok_.kind == Tok::kIdent) got = absl::StrCat("'", tok_.text, "'");
    if (tok_.kind == Tok::kValue) got = absl::StrCat("'%", tok_.text, "'");
    if (tok_.kind == Tok::kInt || tok_.kind == Tok::kFloat) got = absl::StrCat("'", tok_.text, "'");
    return ErrorHere(absl::StrCat("expected ", expected, ", got ", got));
  }

  void Consume() { tok_ = lexer_.Next(); }

  absl::Status Expect(Tok kind, absl::string_view what = "") {
    if (tok_.kind != kind) return Unexpected(what.empty() ? TokName(kind) : what);
    Consume();
    return absl::OkStatus();
  }

  bool IsKeyword(absl::string_view kw) const { return tok_.kind == Tok::kIdent && tok_.text == kw; }

  // Where a number may stand, `inf` and `nan` are numbers.
  void NumberFromKeyword() {
    if (IsKeyword("inf") || IsKeyword("nan")) {
      tok_.float_value = tok_.text == "inf" ? std::numeric_limits<double>::infinity()
                                            : std::numeric_limits<double>::quiet_NaN();
      tok_.kind = Tok::kFloat;
    }
  }

  absl::StatusOr<TensorType> ParseType() {
    if (tok_.kind != Tok::kIdent) return Unexpected("a type such as f32[10]");
    std::optional<DType> dtype = ParseDType(tok_.text);
    if (!dtype) {
      return ErrorHere(absl::StrCat("unknown dtype '", tok_.text,
                                    "' (expected f32, f16, bf16, f64, i32, i64 or bool)"));
    }
    Consume();
    if (absl::Status s = Expect(Tok::kLBracket, "'[' after the dtype"); !s.ok()) return s;
    std::vector<int64_t> dims;
    if (tok_.kind != Tok::kRBracket) {
      while (true) {
        if (tok_.kind != Tok::kInt) return Unexpected("a dimension size");
        if (tok_.int_value < 0) return ErrorHere("dimension sizes must not be negative");
        dims.push_back(tok_.int_value);
        Consume();
        if (tok_.kind == Tok::kComma) {
          Consume();
          continue;
        }
        break;
      }
    }
    if (absl::Status s = Expect(Tok::kRBracket, "',' or ']'"); !s.ok()) return s;
    return TensorType{*dtype, Shape(std::move(dims))};
  }

  absl::StatusOr<AttrValue> ParseAttrValue(int depth = 0) {
    NumberFromKeyword();
    switch (tok_.kind) {
      case Tok::kInt: {
        AttrValue v(tok_.int_value);
        Consume();
        return v;
      }
      case Tok::kFloat: {
        AttrValue v(tok_.float_value);
        Consume();
        return v;
      }
      case Tok::kString: {
        AttrValue v(tok_.text);
        Consume();
        return v;
      }
      case Tok::kIdent: {
        if (tok_.text == "true" || tok_.text == "false") {
          AttrValue v(tok_.text == "true");
          Consume();
          return v;
        }
        if (std::optional<DType> d = ParseDType(tok_.text)) {
          Consume();
          return AttrValue(*d);
        }
        return Unexpected("an attribute value (number, true, false, string, dtype or list)");
      }
      case Tok::kLBracket: {
        if (depth >= kMaxListDepth) return ErrorHere("lists are nested too deeply");
        Consume();
        AttrValue::List list;
        if (tok_.kind != Tok::kRBracket) {
          while (true) {
            absl::StatusOr<AttrValue> v = ParseAttrValue(depth + 1);
            if (!v.ok()) return v.status();
            list.push_back(*std::move(v));
            if (tok_.kind == Tok::kComma) {
              Consume();
              continue;
            }
            break;
          }
        }
        if (absl::Status s = Expect(Tok::kRBracket, "',' or ']'"); !s.ok()) return s;
        return AttrValue(std::move(list));
      }
      default:
        return Unexpected("an attribute value (number, true, false, string, dtype or list)");
    }
  }

  // '{' [IDENT '=' attr {',' IDENT '=' attr}] '}'
  absl::Status ParseMeta(AttrDict* meta) {
    Consume();  // '{'
    if (tok_.kind != Tok::kRBrace) {
      while (true) {
        if (tok_.kind != Tok::kIdent) return Unexpected("a metadata key");
        Token key = tok_;
        Consume();
        if (absl::Status s = Expect(Tok::kEqual, "'=' after the metadata key"); !s.ok()) return s;
        absl::StatusOr<AttrValue> v = ParseAttrValue();
        if (!v.ok()) return v.status();
        if (meta->Has(key.text)) {
          return ErrorAt(Loc(key), absl::StrCat("duplicate metadata key '", key.text, "'"));
        }
        meta->Set(key.text, *std::move(v));
        if (tok_.kind == Tok::kComma) {
          Consume();
          continue;
        }
        break;
      }
    }
    return Expect(Tok::kRBrace, "',' or '}'");
  }

  absl::Status ParseStatement(Graph& g) {
    Token value = tok_;
    Consume();
    CallSpec spec;
    spec.name = value.text;
    if (g.FindNode(value.text) != nullptr) {
      return ErrorAt(Loc(value), absl::StrCat("duplicate name '%", value.text, "'"));
    }
    if (tok_.kind == Tok::kColon) {
      Consume();
      absl::StatusOr<TensorType> t = ParseType();
      if (!t.ok()) return t.status();
      spec.declared_type = *std::move(t);
    }
    if (absl::Status s = Expect(Tok::kEqual, "'=' or ':'"); !s.ok()) return s;
    if (tok_.kind != Tok::kIdent) return Unexpected("an op name");
    Token op = tok_;
    spec.op = op.text;
    Consume();
    if (absl::Status s = Expect(Tok::kLParen, "'(' after the op name"); !s.ok()) return s;
    bool in_attrs = false;
    if (tok_.kind != Tok::kRParen) {
      while (true) {
        // `inf`/`nan` followed by '=' would be an attribute named so.
        if (!in_attrs) NumberFromKeyword();
        if (tok_.kind == Tok::kValue) {
          if (in_attrs) return ErrorHere("operands must come before attributes");
          Node* n = g.FindNode(tok_.text);
          if (n == nullptr) {
            return ErrorHere(absl::StrCat("use of undefined value '%", tok_.text, "'"));
          }
          spec.operands.emplace_back(n);
          Consume();
        } else if (tok_.kind == Tok::kInt || tok_.kind == Tok::kFloat) {
          if (in_attrs) return ErrorHere("operands must come before attributes");
          // Literal operands are doubles (ir::Scalar): larger integers would
          // silently change value.
          constexpr int64_t kMaxExactInt = int64_t{1} << 53;
          if (tok_.kind == Tok::kInt &&
              (tok_.int_value > kMaxExactInt || tok_.int_value < -kMaxExactInt)) {
            return ErrorHere(absl::StrCat("integer literal ", tok_.text,
                                          " is not exact as a double (at most 2^53 = ",
                                          kMaxExactInt, " in magnitude)"));
          }
          spec.operands.emplace_back(tok_.kind == Tok::kInt ? Scalar::Int(tok_.int_value)
                                                            : Scalar::Float(tok_.float_value));
          Consume();
        } else if (tok_.kind == Tok::kIdent) {
          Token key = tok_;
          Consume();
          if (absl::Status s = Expect(Tok::kEqual, absl::StrCat("'=' after attribute name '",
                                                                key.text, "'"));
              !s.ok()) {
            return s;
          }
          absl::StatusOr<AttrValue> v = ParseAttrValue();
          if (!v.ok()) return v.status();
          if (spec.attrs.Has(key.text)) {
            return ErrorAt(Loc(key), absl::StrCat("duplicate attribute '", key.text, "'"));
          }
          spec.attrs.Set(key.text, *std::move(v));
          in_attrs = true;
        } else {
          return Unexpected("an operand (%name or number) or an attribute (name = value)");
        }
        if (tok_.kind == Tok::kComma) {
          Consume();
          continue;
        }
        break;
      }
    }
    if (absl::Status s = Expect(Tok::kRParen, "',' or ')'"); !s.ok()) return s;
    if (tok_.kind == Tok::kLBrace) {
      if (absl::Status s = ParseMeta(&spec.meta); !s.ok()) return s;
    }
    // The node's location is its op name: errors in the op's use (unknown op,
    // operand count, attributes, types) point there.
    spec.location = Loc(op);
    absl::StatusOr<Node*> node = g.AddCall(std::move(spec));
    if (!node.ok()) return node.status();
    return absl::OkStatus();
  }

  absl::StatusOr<Graph> ParseOneGraph() {
    if (!IsKeyword("graph")) return Unexpected("'graph'");
    Token graph_tok = tok_;
    Consume();
    if (tok_.kind != Tok::kIdent) return Unexpected("a graph name");
    Graph g(tok_.text);
    g.set_location(Loc(graph_tok));
    Consume();
    if (absl::Status s = Expect(Tok::kLParen, "'(' after the graph name"); !s.ok()) return s;
    if (tok_.kind != Tok::kRParen) {
      while (true) {
        if (tok_.kind != Tok::kValue) return Unexpected("a parameter (%name: type)");
        Token p = tok_;
        Consume();
        if (absl::Status s = Expect(Tok::kColon, "':' after the parameter name"); !s.ok()) return s;
        absl::StatusOr<TensorType> t = ParseType();
        if (!t.ok()) return t.status();
        if (g.FindNode(p.text) != nullptr) {
          return ErrorAt(Loc(p), absl::StrCat("duplicate name '%", p.text, "'"));
        }
        absl::StatusOr<Node*> in = g.AddInput(p.text, *t, Loc(p));
        if (!in.ok()) return in.status();
        if (tok_.kind == Tok::kComma) {
          Consume();
          continue;
        }
        break;
      }
    }
    if (absl::Status s = Expect(Tok::kRParen, "',' or ')'"); !s.ok()) return s;
    if (absl::Status s = Expect(Tok::kLBrace, "'{' to open the graph body"); !s.ok()) return s;
    while (tok_.kind == Tok::kValue) {
      if (absl::Status s = ParseStatement(g); !s.ok()) return s;
    }
    if (!IsKeyword("return")) {
      if (tok_.kind == Tok::kRBrace) return ErrorHere("missing 'return' at the end of the graph");
      return Unexpected("a statement (%name = op(...)) or 'return'");
    }
    Token ret = tok_;
    Consume();
    std::vector<Node*> outs;
    while (true) {
      if (tok_.kind != Tok::kValue) return Unexpected("a returned value (%name)");
      Node* n = g.FindNode(tok_.text);
      if (n == nullptr) {
        return ErrorHere(absl::StrCat("return of undefined value '%", tok_.text, "'"));
      }
      outs.push_back(n);
      Consume();
      if (tok_.kind == Tok::kComma) {
        Consume();
        continue;
      }
      break;
    }
    if (absl::Status s = g.SetOutputs(std::move(outs), Loc(ret)); !s.ok()) return s;
    if (absl::Status s = Expect(Tok::kRBrace, "'}' after the returned values"); !s.ok()) return s;
    if (absl::Status s = Verify(g); !s.ok()) return s;
    return g;
  }

  Lexer lexer_;
  std::string filename_;
  std::vector<absl::string_view> lines_;
  Token tok_;
};

}  // namespace

absl::StatusOr<std::vector<Graph>> ParseModule(absl::string_view text,
                                               absl::string_view filename) {
  Parser p(text, filename);
  return p.ParseModule();
}

absl::StatusOr<Graph> ParseGraph(absl::string_view text, absl::string_view filename) {
  absl::StatusOr<std::vector<Graph>> graphs = ParseModule(text, filename);
  if (!graphs.ok()) return graphs.status();
  if (graphs->size() != 1) {
    Location loc = (*graphs)[1].location();
    return ErrorAt(loc, absl::StrCat("expected exactly one graph, found ", graphs->size()));
  }
  return std::move((*graphs)[0]);
}

absl::StatusOr<std::vector<Graph>> ParseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": error: cannot open file"));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": error: read failed"));
  return ParseModule(ss.str(), path);
}

}  // namespace sluice::ir
