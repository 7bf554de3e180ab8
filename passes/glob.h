// Shell-style glob matching for user-written node-name patterns
// (LoweringOptions::fallback_nodes, --fallback_nodes=): `*` matches any run of
// characters, `?` any one character, `[abc]`, `[a-z]` and `[!abc]` (or
// `[^abc]`) one character of (not of) a set. Everything else matches itself;
// there is no escaping, since value names are identifiers. A `[` with no
// closing `]` matches a literal `[`.
#ifndef SLUICE_PASSES_GLOB_H_
#define SLUICE_PASSES_GLOB_H_

#include "absl/strings/string_view.h"

namespace sluice::passes {

// True when `pattern` contains a glob metacharacter (`*`, `?` or `[`), i.e.
// when it is meant as a pattern rather than an exact name.
bool IsGlob(absl::string_view pattern);

// True when the whole of `text` matches `pattern`.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace sluice::passes

#endif  // SLUICE_PASSES_GLOB_H_
