#include "passes/pass_registry.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "passes/pass.h"

namespace sluice::passes {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

class NopPass : public Pass {
 public:
  absl::string_view name() const override { return "test-nop"; }
  absl::StatusOr<bool> Run(ir::Graph*) override { return false; }
};

TEST(PassRegistryTest, BuiltinsAreRegisteredSorted) {
  std::vector<std::string> names = RegisteredPassNames();
  EXPECT_THAT(names, IsSupersetOf({"cse", "dce", "decompose", "selective-lowering"}));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(PassRegistryTest, CreatedPassesCarryTheirRegisteredName) {
  PassContext context;
  for (const std::string& name : RegisteredPassNames()) {
    absl::StatusOr<std::unique_ptr<Pass>> pass = CreatePass(name, &context);
    ASSERT_TRUE(pass.ok()) << pass.status();
    EXPECT_EQ((*pass)->name(), name);
  }
}

TEST(PassRegistryTest, UnknownPassListsTheKnownOnes) {
  PassContext context;
  absl::StatusOr<std::unique_ptr<Pass>> pass = CreatePass("dse", &context);
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(pass.status().message(), HasSubstr("unknown pass 'dse'"));
  EXPECT_THAT(pass.status().message(), HasSubstr("cse, dce, decompose"));
}

TEST(PassRegistryTest, RegisterPass) {
  EXPECT_TRUE(
      RegisterPass("test-nop", [](PassContext*) { return std::make_unique<NopPass>(); }).ok());
  EXPECT_EQ(
      RegisterPass("test-nop", [](PassContext*) { return std::make_unique<NopPass>(); }).code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RegisterPass("Bad_Name", nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RegisterPass("trailing-", nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RegisterPass("", nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RegisterPass("no-factory", nullptr).code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> names = RegisteredPassNames();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_NE(std::find(names.begin(), names.end(), "test-nop"), names.end());
  PassContext context;
  absl::StatusOr<std::unique_ptr<Pass>> pass = CreatePass("test-nop", &context);
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ((*pass)->name(), "test-nop");
}

TEST(PassRegistryTest, CreatePassesFromAList) {
  PassContext context;
  auto passes = CreatePasses("selective-lowering, decompose,cse,dce", &context);
  ASSERT_TRUE(passes.ok()) << passes.status();
  std::vector<std::string> names;
  for (const auto& p : *passes) names.emplace_back(p->name());
  EXPECT_EQ(names, (std::vector<std::string>{"selective-lowering", "decompose", "cse", "dce"}));
  EXPECT_EQ(CreatePasses("cse,,dce", &context).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreatePasses("cse,nope", &context).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice::passes
