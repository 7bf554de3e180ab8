#include "codegen/cpu/capabilities.h"

#include <string>

#include "ir/op_registry.h"

namespace sluice::codegen::cpu {

passes::BackendCapabilities CpuCapabilities() {
  passes::BackendCapabilities caps;
  caps.backend = "cpu";
  caps.classify = [](const ir::Node& node, std::string* why) {
    if (node.schema() == nullptr) {
      if (why != nullptr) *why = "not a call node";
      return passes::Decision::kFallback;
    }
    if (node.schema()->kind == ir::OpKind::kMatmul) return passes::Decision::kLibrary;
    return passes::Decision::kLower;
  };
  return caps;
}

}  // namespace sluice::codegen::cpu
