#include "passes/test_capabilities.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sluice::passes {

BackendCapabilities MakeTestCapabilities(TestBackendSpec spec) {
  BackendCapabilities caps;
  caps.backend = spec.backend;
  caps.split_reduction = spec.split_reduction;
  caps.classify = [spec = std::move(spec)](const ir::Node& node, std::string* why) {
    if (spec.unsupported_ops.contains(node.op())) {
      *why = absl::StrCat("backend '", spec.backend, "' has no lowering for ", node.op());
      return Decision::kFallback;
    }
    if (spec.unsupported_dtypes.contains(node.dtype())) {
      *why = absl::StrCat("backend '", spec.backend, "' has no lowering for ", node.op(), " on ",
                          ir::DTypeName(node.dtype()));
      return Decision::kFallback;
    }
    return spec.library_ops.contains(node.op()) ? Decision::kLibrary : Decision::kLower;
  };
  return caps;
}

BackendCapabilities AllLowerable(std::string backend) {
  TestBackendSpec spec;
  spec.backend = std::move(backend);
  return MakeTestCapabilities(std::move(spec));
}

BackendCapabilities WithoutLowerings(std::string backend,
                                     absl::flat_hash_set<std::string> unsupported_ops) {
  TestBackendSpec spec;
  spec.backend = std::move(backend);
  spec.unsupported_ops = std::move(unsupported_ops);
  return MakeTestCapabilities(std::move(spec));
}

}  // namespace sluice::passes
