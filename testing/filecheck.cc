#include "testing/filecheck.h"

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <map>
#include <optional>
#include <regex>  // NOLINT(build/c++11): no RE2 on this platform
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sluice::testing {
namespace {

enum class Kind { kCheck, kNext, kSame, kNot, kLabel, kEmpty };

constexpr struct {
  absl::string_view name;
  Kind kind;
} kDirectives[] = {
    {"CHECK", Kind::kCheck},       {"CHECK-NEXT", Kind::kNext},
    {"CHECK-SAME", Kind::kSame},   {"CHECK-NOT", Kind::kNot},
    {"CHECK-LABEL", Kind::kLabel}, {"CHECK-EMPTY", Kind::kEmpty},
};

struct Piece {
  enum Type { kLiteral, kRegex, kDef, kUse } type;
  std::string text;  // literal text or regex
  std::string name;  // variable, for kDef and kUse
};

struct Directive {
  Kind kind;
  std::string name;     // "CHECK-NEXT"
  std::string pattern;  // as written, trimmed
  int line;             // in the check file's numbering
  std::vector<Piece> pieces;
};

using Vars = std::map<std::string, std::string>;

// The output with its line structure. Line i is [start(i), end(i)), without
// the '\n'. A final '\n' does not open another line.
class OutputText {
 public:
  explicit OutputText(absl::string_view text) : text_(text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
    if (starts_.back() == text.size()) starts_.pop_back();
  }

  absl::string_view text() const { return text_; }
  size_t size() const { return text_.size(); }
  int num_lines() const { return static_cast<int>(starts_.size()); }
  size_t start(int line) const { return starts_[line]; }
  size_t end(int line) const {
    if (line + 1 < num_lines()) return starts_[line + 1] - 1;
    // The last line stops before a final '\n' too, so that `{{$}}` matches
    // at its end like at the end of every other line.
    return !text_.empty() && text_.back() == '\n' ? text_.size() - 1 : text_.size();
  }
  absl::string_view line_text(int line) const {
    return text_.substr(start(line), end(line) - start(line));
  }
  // The line holding offset `pos` (the last line for the end of the text).
  int LineOf(size_t pos) const {
    if (num_lines() == 0) return 0;
    auto it = std::upper_bound(starts_.begin(), starts_.end(), pos);
    return std::max(0, static_cast<int>(it - starts_.begin()) - 1);
  }

 private:
  absl::string_view text_;
  std::vector<size_t> starts_;
};

struct Match {
  size_t begin = 0;
  size_t end = 0;
  std::vector<std::pair<std::string, std::string>> bindings;
};

bool IsNameStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

std::string EscapeRegex(absl::string_view text, bool canonical_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (canonical_space && (c == ' ' || c == '\t')) {
      while (i + 1 < text.size() && (text[i + 1] == ' ' || text[i + 1] == '\t')) ++i;
      out += "[ \\t]+";
      continue;
    }
    if (absl::string_view("\\^$.|?*+()[]{}").find(c) != absl::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// Number of capture groups in `re`, or an error for an invalid expression.
absl::StatusOr<unsigned> CaptureGroups(const std::string& re) {
  try {
    return static_cast<unsigned>(std::regex(re, std::regex::ECMAScript).mark_count());
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regular expression {{", re, "}}: ", e.what()));
  }
}

// The "]]" closing a variable whose body starts at `from`: brackets inside
// the body's regex nest ("[[X:[a-z]]]"), and a backslash escapes.
size_t FindVarEnd(absl::string_view p, size_t from) {
  int depth = 0;
  for (size_t i = from; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
    } else if (p[i] == '[') {
      ++depth;
    } else if (p[i] == ']') {
      if (depth == 0) {
        return i + 1 < p.size() && p[i + 1] == ']' ? i : absl::string_view::npos;
      }
      --depth;
    }
  }
  return absl::string_view::npos;
}

absl::StatusOr<std::vector<Piece>> ParsePattern(absl::string_view p) {
  std::vector<Piece> pieces;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) pieces.push_back({Piece::kLiteral, literal, ""});
    literal.clear();
  };
  size_t i = 0;
  while (i < p.size()) {
    if (absl::StartsWith(p.substr(i), "{{")) {
      const size_t close = p.find("}}", i + 2);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError("unterminated '{{' in pattern");
      }
      std::string re(p.substr(i + 2, close - i - 2));
      if (re.empty()) return absl::InvalidArgumentError("empty regex '{{}}'");
      if (absl::StatusOr<unsigned> n = CaptureGroups(re); !n.ok()) return n.status();
      flush();
      pieces.push_back({Piece::kRegex, std::move(re), ""});
      i = close + 2;
    } else if (absl::StartsWith(p.substr(i), "[[")) {
      const size_t close = FindVarEnd(p, i + 2);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError("unterminated '[[' in pattern");
      }
      const absl::string_view body = p.substr(i + 2, close - i - 2);
      const size_t colon = body.find(':');
      const absl::string_view name = body.substr(0, colon);
      bool valid = !name.empty() && IsNameStart(name[0]);
      for (char c : name) valid = valid && IsNameChar(c);
      if (!valid) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid variable name '", name, "' in '[[", body, "]]'"));
      }
      flush();
      if (colon == absl::string_view::npos) {
        pieces.push_back({Piece::kUse, "", std::string(name)});
      } else {
        std::string re(body.substr(colon + 1));
        if (re.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("empty regex in '[[", body, "]]'"));
        }
        if (absl::StatusOr<unsigned> n = CaptureGroups(re); !n.ok()) return n.status();
        pieces.push_back({Piece::kDef, std::move(re), std::string(name)});
      }
      i = close + 2;
    } else {
      literal += p[i++];
    }
  }
  flush();
  return pieces;
}

std::string LineRef(const FileCheckOptions& options, int line) {
  return absl::StrCat(options.check_file, ":", line);
}

// Parses the directives; non-directive lines are ignored.
absl::StatusOr<std::vector<Directive>> ParseDirectives(
    absl::string_view check_text, const FileCheckOptions& options) {
  std::vector<Directive> directives;
  int line_no = options.first_line - 1;
  for (absl::string_view line : absl::StrSplit(check_text, '\n')) {
    ++line_no;
    absl::string_view s = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&s, "//") || absl::ConsumePrefix(&s, "#")) {
      s = absl::StripLeadingAsciiWhitespace(s);
    }
    if (!absl::StartsWith(s, "CHECK") || s.size() == 5 ||
        (s[5] != ':' && s[5] != '-')) {
      continue;
    }
    size_t name_len = 5;
    while (name_len < s.size() &&
           (absl::ascii_isupper(s[name_len]) || s[name_len] == '-')) {
      ++name_len;
    }
    const absl::string_view name = s.substr(0, name_len);
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(LineRef(options, line_no), ": error: ", what, "\n  ",
                       absl::StripAsciiWhitespace(line)));
    };
    const auto* known = std::find_if(
        std::begin(kDirectives), std::end(kDirectives),
        [&](const auto& d) { return d.name == name; });
    if (known == std::end(kDirectives)) {
      return error(absl::StrCat("unknown directive '", name, "'"));
    }
    if (name_len >= s.size() || s[name_len] != ':') {
      return error(absl::StrCat("expected ':' after '", name, "'"));
    }
    Directive d;
    d.kind = known->kind;
    d.name = std::string(name);
    d.pattern = std::string(absl::StripAsciiWhitespace(s.substr(name_len + 1)));
    d.line = line_no;
    if (d.kind == Kind::kEmpty) {
      if (!d.pattern.empty()) return error("CHECK-EMPTY takes no pattern");
    } else {
      if (d.pattern.empty()) return error(absl::StrCat(name, " has an empty pattern"));
      absl::StatusOr<std::vector<Piece>> pieces = ParsePattern(d.pattern);
      if (!pieces.ok()) return error(pieces.status().message());
      d.pieces = *std::move(pieces);
      if (d.kind == Kind::kNot) {
        for (const Piece& piece : d.pieces) {
          if (piece.type == Piece::kDef) {
            return error("CHECK-NOT cannot bind variables");
          }
        }
      }
    }
    directives.push_back(std::move(d));
  }
  return directives;
}

struct CompiledPattern {
  std::regex re;
  std::vector<std::pair<std::string, unsigned>> defs;  // name -> group
};

absl::StatusOr<CompiledPattern> Compile(const Directive& d, const Vars& vars) {
  std::string re;
  unsigned groups = 0;
  CompiledPattern out;
  for (const Piece& piece : d.pieces) {
    switch (piece.type) {
      case Piece::kLiteral:
        re += EscapeRegex(piece.text, /*canonical_space=*/true);
        break;
      case Piece::kRegex:
        re += absl::StrCat("(?:", piece.text, ")");
        groups += *CaptureGroups(piece.text);
        break;
      case Piece::kDef:
        re += absl::StrCat("(", piece.text, ")");
        out.defs.emplace_back(piece.name, ++groups);
        groups += *CaptureGroups(piece.text);
        break;
      case Piece::kUse: {
        auto local = std::find_if(out.defs.begin(), out.defs.end(),
                                  [&](const auto& def) { return def.first == piece.name; });
        if (local != out.defs.end()) {
          re += absl::StrCat("\\", local->second);
        } else if (auto it = vars.find(piece.name); it != vars.end()) {
          re += EscapeRegex(it->second, /*canonical_space=*/false);
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("undefined variable '", piece.name, "'"));
        }
        break;
      }
    }
  }
  try {
    out.re = std::regex(re, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("pattern does not compile (", e.what(), ")"));
  }
  return out;
}

// The first match of `pattern` in [from, to), line by line.
std::optional<Match> Search(const CompiledPattern& pattern, const OutputText& out,
                            size_t from, size_t to) {
  if (out.num_lines() == 0 || from > to) return std::nullopt;
  for (int line = out.LineOf(from); line < out.num_lines(); ++line) {
    const size_t ls = out.start(line);
    const size_t le = out.end(line);
    if (ls > to || (ls == to && line != out.LineOf(from))) break;
    const size_t b = std::max(from, ls);
    const size_t e = std::min(to, le);
    if (b > e) continue;
    auto flags = std::regex_constants::match_default;
    if (b > ls) flags |= std::regex_constants::match_prev_avail;
    if (e < le) flags |= std::regex_constants::match_not_eol;
    std::match_results<absl::string_view::const_iterator> m;
    const auto text_begin = out.text().begin();
    if (std::regex_search(text_begin + b, text_begin + e, m, pattern.re, flags)) {
      Match match;
      match.begin = static_cast<size_t>(m[0].first - text_begin);
      match.end = static_cast<size_t>(m[0].second - text_begin);
      for (const auto& [name, group] : pattern.defs) {
        match.bindings.emplace_back(name, m[group].str());
      }
      return match;
    }
  }
  return std::nullopt;
}

class Checker {
 public:
  Checker(absl::string_view output, const FileCheckOptions& options)
      : out_(output), options_(options) {}

  absl::Status Run(const std::vector<Directive>& directives);

 private:
  // The region [from, to) as numbered lines; `mark` (if >= 0) gets a '>'.
  std::string ShowRegion(size_t from, size_t to, int mark = -1) const;

  // A NotFound status for directive `d`.
  absl::Status Fail(const Directive& d, absl::string_view what, size_t from,
                    size_t to, int mark = -1, bool hint = true) const;
  absl::Status Syntax(const Directive& d, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        LineRef(options_, d.line), ": error: ", d.name, ": ", what, "\n  ",
        d.name, ": ", d.pattern));
  }

  absl::StatusOr<std::optional<Match>> Find(const Directive& d, size_t from,
                                            size_t to) const {
    absl::StatusOr<CompiledPattern> pattern = Compile(d, vars_);
    if (!pattern.ok()) return Syntax(d, pattern.status().message());
    return Search(*pattern, out_, from, to);
  }
  void Bind(const Match& m) {
    for (const auto& [name, value] : m.bindings) vars_[name] = value;
  }
  absl::Status CheckNots(std::vector<const Directive*>& nots, size_t from,
                         size_t to) const;
  absl::Status RunBlock(const std::vector<Directive>& directives, size_t first,
                        size_t last, size_t region_begin, size_t region_end,
                        int prev_line);

  OutputText out_;
  const FileCheckOptions& options_;
  Vars vars_;
};

std::string Checker::ShowRegion(size_t from, size_t to, int mark) const {
  if (out_.num_lines() == 0) return "searched output: (the output is empty)\n";
  const int first = out_.LineOf(from);
  const int last = std::max(first, out_.LineOf(to > from ? to - 1 : from));
  std::string s = first == last
                      ? absl::StrCat("searched output (line ", first + 1, "):\n")
                      : absl::StrCat("searched output (lines ", first + 1, "-",
                                     last + 1, "):\n");
  constexpr int kMaxShown = 40;
  for (int line = first; line <= last; ++line) {
    if (last - first + 1 > kMaxShown && line == first + kMaxShown / 2) {
      const int skip_to = last - kMaxShown / 2 + 1;
      absl::StrAppend(&s, "  ... (", skip_to - line, " lines) ...\n");
      line = skip_to - 1;
      continue;
    }
    absl::StrAppend(&s, line == mark ? ">" : " ",
                    absl::StrFormat("%5d | ", line + 1), out_.line_text(line), "\n");
  }
  return s;
}

absl::Status Checker::Fail(const Directive& d, absl::string_view what,
                           size_t from, size_t to, int mark, bool hint) const {
  std::string msg = absl::StrCat(LineRef(options_, d.line), ": error: ", d.name,
                                 ": ", what, "\n  ", d.name, ": ", d.pattern, "\n");
  std::vector<std::string> used;
  for (const Piece& piece : d.pieces) {
    if (piece.type != Piece::kUse) continue;
    if (auto it = vars_.find(piece.name); it != vars_.end()) {
      used.push_back(absl::StrCat(piece.name, " = \"", it->second, "\""));
    }
  }
  if (!used.empty()) absl::StrAppend(&msg, "  with ", absl::StrJoin(used, ", "), "\n");
  absl::StrAppend(&msg, ShowRegion(from, to, mark));
  if (hint) {
    absl::StatusOr<std::optional<Match>> anywhere = Find(d, 0, out_.size());
    if (anywhere.ok() && anywhere->has_value()) {
      const int line = out_.LineOf((*anywhere)->begin);
      absl::StrAppend(&msg, "note: the pattern does occur at output line ", line + 1,
                      ": ", out_.line_text(line), "\n");
    }
  }
  return absl::NotFoundError(msg);
}

absl::Status Checker::CheckNots(std::vector<const Directive*>& nots, size_t from,
                                size_t to) const {
  for (const Directive* d : nots) {
    absl::StatusOr<std::optional<Match>> m = Find(*d, from, to);
    if (!m.ok()) return m.status();
    if (m->has_value()) {
      const int line = out_.LineOf((*m)->begin);
      return Fail(*d, absl::StrCat("excluded string found in output at line ", line + 1),
                  from, to, line, /*hint=*/false);
    }
  }
  nots.clear();
  return absl::OkStatus();
}

absl::Status Checker::RunBlock(const std::vector<Directive>& directives,
                               size_t first, size_t last, size_t region_begin,
                               size_t region_end, int prev_line) {
  size_t pos = region_begin;
  std::vector<const Directive*> nots;
  for (size_t i = first; i < last; ++i) {
    const Directive& d = directives[i];
    if (d.kind == Kind::kNot) {
      nots.push_back(&d);
      continue;
    }
    if (d.kind != Kind::kCheck && prev_line < 0) {
      return Syntax(d, "needs a previous match (a CHECK or CHECK-LABEL before it)");
    }
    if (d.kind == Kind::kEmpty) {
      const int line = prev_line + 1;
      if (line >= out_.num_lines() || out_.start(line) >= region_end) {
        return Fail(d, absl::StrCat("no line after output line ", prev_line + 1),
                    out_.start(prev_line), region_end, -1, false);
      }
      if (out_.start(line) != out_.end(line)) {
        return Fail(d, absl::StrCat("output line ", line + 1, " is not empty"),
                    out_.start(line), out_.end(line), line, false);
      }
      if (absl::Status s = CheckNots(nots, pos, out_.start(line)); !s.ok()) return s;
      pos = out_.start(line);
      prev_line = line;
      continue;
    }
    size_t from = pos, to = region_end;
    std::string what = "expected string not found in output";
    if (d.kind == Kind::kNext) {
      const int line = prev_line + 1;
      if (line >= out_.num_lines() || out_.start(line) >= region_end) {
        return Fail(d, absl::StrCat("no line after output line ", prev_line + 1),
                    out_.start(prev_line), region_end);
      }
      from = out_.start(line);
      to = std::min(out_.end(line), region_end);
      what = absl::StrCat("expected string not found on the line after the "
                          "previous match (output line ", line + 1, ")");
    } else if (d.kind == Kind::kSame) {
      to = std::min(out_.end(prev_line), region_end);
      what = absl::StrCat("expected string not found after the previous match "
                          "on its line (output line ", prev_line + 1, ")");
    }
    absl::StatusOr<std::optional<Match>> m = Find(d, from, to);
    if (!m.ok()) return m.status();
    if (!m->has_value()) return Fail(d, what, from, to);
    if (absl::Status s = CheckNots(nots, pos, (*m)->begin); !s.ok()) return s;
    Bind(**m);
    pos = (*m)->end;
    prev_line = out_.LineOf((*m)->begin);
  }
  return CheckNots(nots, pos, region_end);
}

absl::Status Checker::Run(const std::vector<Directive>& directives) {
  // Labels first, in order; they cut the output into independent blocks.
  std::vector<size_t> label_index;
  std::vector<Match> label_match;
  size_t pos = 0;
  for (size_t i = 0; i < directives.size(); ++i) {
    const Directive& d = directives[i];
    if (d.kind != Kind::kLabel) continue;
    absl::StatusOr<std::optional<Match>> m = Find(d, pos, out_.size());
    if (!m.ok()) return m.status();
    if (!m->has_value()) {
      return Fail(d, "expected string not found in output", pos, out_.size());
    }
    Bind(**m);
    label_index.push_back(i);
    label_match.push_back(**m);
    pos = (*m)->end;
  }
  const size_t first_label_begin =
      label_match.empty() ? out_.size() : label_match[0].begin;
  const size_t first_block_end = label_index.empty() ? directives.size() : label_index[0];
  if (absl::Status s = RunBlock(directives, 0, first_block_end, 0,
                                first_label_begin, -1);
      !s.ok()) {
    return s;
  }
  for (size_t k = 0; k < label_index.size(); ++k) {
    const bool last = k + 1 == label_index.size();
    const size_t end_index = last ? directives.size() : label_index[k + 1];
    const size_t region_end = last ? out_.size() : label_match[k + 1].begin;
    if (absl::Status s = RunBlock(directives, label_index[k] + 1, end_index,
                                  label_match[k].end, region_end,
                                  out_.LineOf(label_match[k].begin));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::string_view StripCheckMarker(absl::string_view line, bool* had_marker) {
  absl::string_view s = absl::StripLeadingAsciiWhitespace(line);
  *had_marker = absl::ConsumePrefix(&s, "//") || absl::ConsumePrefix(&s, "#");
  return absl::StripLeadingAsciiWhitespace(s);
}

bool IsSeparator(absl::string_view line) {
  const absl::string_view s = absl::StripTrailingAsciiWhitespace(line);
  return s == "// -----" || s == "# -----";
}

}  // namespace

absl::Status FileCheck(absl::string_view output, absl::string_view check_text,
                       const FileCheckOptions& options) {
  absl::StatusOr<std::vector<Directive>> directives =
      ParseDirectives(check_text, options);
  if (!directives.ok()) return directives.status();
  if (directives->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.check_file, ": error: no CHECK directives in the check text"));
  }
  return Checker(output, options).Run(*directives);
}

std::vector<std::string> SplitCases(absl::string_view file_text) {
  std::vector<std::string> cases;
  size_t case_begin = 0;
  size_t line_begin = 0;
  while (line_begin <= file_text.size()) {
    size_t line_end = file_text.find('\n', line_begin);
    if (line_end == absl::string_view::npos) line_end = file_text.size();
    if (IsSeparator(file_text.substr(line_begin, line_end - line_begin))) {
      cases.emplace_back(file_text.substr(case_begin, line_begin - case_begin));
      case_begin = std::min(line_end + 1, file_text.size());
    }
    if (line_end == file_text.size()) break;
    line_begin = line_end + 1;
  }
  cases.emplace_back(file_text.substr(case_begin));
  return cases;
}

bool IsCheckLine(absl::string_view line) {
  bool had_marker = false;
  const absl::string_view s = StripCheckMarker(line, &had_marker);
  return had_marker && absl::StartsWith(s, "CHECK") && s.size() > 5 &&
         (s[5] == ':' || s[5] == '-');
}

std::vector<GoldenCase> ParseGoldenCases(absl::string_view file_text) {
  std::vector<GoldenCase> cases;
  int line_no = 1;
  for (const std::string& text : SplitCases(file_text)) {
    GoldenCase c;
    c.first_line = line_no;
    const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
    for (size_t i = 0; i < lines.size(); ++i) {
      const bool check = IsCheckLine(lines[i]);
      absl::StrAppend(&c.input, check ? "" : lines[i]);
      absl::StrAppend(&c.checks, check ? lines[i] : "");
      if (i + 1 < lines.size()) {
        c.input += '\n';
        c.checks += '\n';
      }
    }
    // The case's lines plus the separator line after it.
    line_no += static_cast<int>(lines.size());
    if (!absl::StripAsciiWhitespace(text).empty()) cases.push_back(std::move(c));
  }
  return cases;
}

absl::Status RunGoldenCases(absl::string_view file_text,
                            absl::string_view filename,
                            const GoldenTransform& transform) {
  const std::vector<GoldenCase> cases = ParseGoldenCases(file_text);
  if (cases.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(filename, ": error: no test cases"));
  }
  std::vector<std::string> failures;
  for (size_t i = 0; i < cases.size(); ++i) {
    const GoldenCase& c = cases[i];
    const std::string where = absl::StrCat(filename, ":", c.first_line, ": case ", i);
    absl::StatusOr<std::string> output = transform(c);
    if (!output.ok()) {
      failures.push_back(absl::StrCat(where, ": the transform failed: ",
                                      output.status().ToString()));
      continue;
    }
    FileCheckOptions options;
    options.check_file = std::string(filename);
    options.first_line = c.first_line;
    if (absl::Status s = FileCheck(*output, c.checks, options); !s.ok()) {
      failures.push_back(absl::StrCat(where, ":\n", s.message()));
    }
  }
  if (failures.empty()) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(failures.size(), " of ", cases.size(),
                                          " cases failed\n",
                                          absl::StrJoin(failures, "\n")));
}

absl::Status RunGoldenFile(const std::string& path,
                           const GoldenTransform& transform) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << file.rdbuf();
  if (file.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return RunGoldenCases(buffer.str(), path, transform);
}

}  // namespace sluice::testing
