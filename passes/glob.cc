#include "passes/glob.h"

#include <cstddef>

namespace sluice::passes {

bool IsGlob(absl::string_view pattern) {
  return pattern.find_first_of("*?[") != absl::string_view::npos;
}

namespace {

// Matches the bracket expression starting at pattern[p] == '[' against `c`.
// Sets *next to the index after the closing ']'; returns false with
// *next = p when the bracket is not closed (it is then a literal '[').
bool MatchBracket(absl::string_view pattern, size_t p, char c, size_t* next, bool* closed) {
  size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  // A ']' right after '[' or '[!' is a member, as in fnmatch.
  while (i < pattern.size() && (first || pattern[i] != ']')) {
    first = false;
    char lo = pattern[i];
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      char hi = pattern[i + 2];
      if (lo <= c && c <= hi) matched = true;
      i += 3;
    } else {
      if (c == lo) matched = true;
      ++i;
    }
  }
  if (i >= pattern.size()) {
    *closed = false;
    *next = p;
    return false;
  }
  *closed = true;
  *next = i + 1;
  return matched != negate;
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative matcher with single-star backtracking: linear in practice and
  // never exponential.
  size_t p = 0, t = 0;
  size_t star_p = absl::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        size_t next;
        bool closed;
        bool ok = MatchBracket(pattern, p, text[t], &next, &closed);
        if (!closed) {
          if (text[t] == '[') {
            ++p;
            ++t;
            continue;
          }
        } else if (ok) {
          p = next;
          ++t;
          continue;
        }
      } else if (pc == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == absl::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace sluice::passes
