// CheckNpy: the .npy fuzz target's body (see fuzz_targets.h).
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_targets.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"

namespace sluice::fuzz {

std::string CheckNpy(absl::string_view data) {
  absl::StatusOr<runtime::Tensor> t = runtime::ParseNpy(data, "fuzz.npy");
  if (!t.ok()) {
    const absl::Status& s = t.status();
    if (s.code() != absl::StatusCode::kInvalidArgument) {
      return absl::StrCat("a rejected input is not InvalidArgument: ", s.ToString());
    }
    if (!absl::StartsWith(s.message(), "fuzz.npy: ")) {
      return absl::StrCat("an error that does not name the input: ", s.message());
    }
    return "";
  }
  if (!t->defined()) return "ParseNpy returned an undefined tensor";
  const std::string bytes = runtime::SerializeNpy(*t);
  absl::StatusOr<runtime::Tensor> again = runtime::ParseNpy(bytes, "serialized.npy");
  if (!again.ok()) {
    return absl::StrCat("SerializeNpy's bytes do not parse: ", again.status().message());
  }
  if (again->type() != t->type()) {
    return absl::StrCat("round trip changed the type: ", t->type().ToString(), " -> ",
                        again->type().ToString());
  }
  if (t->nbytes() > 0 &&
      std::memcmp(t->data(), again->data(), static_cast<size_t>(t->nbytes())) != 0) {
    return absl::StrCat("round trip changed the data of a ", t->type().ToString(), " tensor");
  }
  if (runtime::SerializeNpy(*again) != bytes) {
    return "serializing the round-tripped tensor gives different bytes";
  }
  return "";
}

}  // namespace sluice::fuzz
