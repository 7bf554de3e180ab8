#include "passes/pass_manager.h"

#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pass.h"

namespace sluice::passes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ir::Graph SeedGraph() {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(R"(
graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y)
  %b = mul(%a, 2.0)
  return %b
})");
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

// Tags every call node with `key = true`; reports the change honestly
// unless told to lie.
class TagPass : public Pass {
 public:
  explicit TagPass(std::string name, std::string key, bool lie = false)
      : name_(std::move(name)), key_(std::move(key)), lie_(lie) {}
  absl::string_view name() const override { return name_; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override {
    bool changed = false;
    for (ir::Node* n : graph->calls()) {
      if (n->meta().Has(key_)) continue;
      n->mutable_meta().Set(key_, true);
      changed = true;
    }
    return lie_ ? false : changed;
  }

 private:
  std::string name_, key_;
  bool lie_;
};

// Makes %a's users use %b, which is defined after them (and uses %a): a
// graph the verifier must reject.
class BreakPass : public Pass {
 public:
  absl::string_view name() const override { return "break-graph"; }
  absl::StatusOr<bool> Run(ir::Graph* graph) override {
    graph->ReplaceAllUsesWith(graph->FindNode("a"), graph->FindNode("b"));
    return true;
  }
};

class FailPass : public Pass {
 public:
  absl::string_view name() const override { return "fail"; }
  absl::StatusOr<bool> Run(ir::Graph*) override { return absl::UnimplementedError("not today"); }
};

TEST(PassManagerTest, RunsPassesInOrderAndReportsChange) {
  ir::Graph g = SeedGraph();
  PassManager pm;
  pm.Add(std::make_unique<TagPass>("tag-one", "one"));
  pm.Add(std::make_unique<TagPass>("tag-again", "one"));  // nothing left to do
  absl::StatusOr<bool> changed = pm.Run(&g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_THAT(ir::PrintGraph(g), HasSubstr("%b: f32[10] = mul(%a, 2.0) {one = true}"));
  ASSERT_EQ(pm.timings().size(), 2u);
  EXPECT_EQ(pm.timings()[0].pass, "tag-one");
  EXPECT_TRUE(pm.timings()[0].changed);
  EXPECT_EQ(pm.timings()[1].pass, "tag-again");
  EXPECT_FALSE(pm.timings()[1].changed);
  for (const PassTiming& t : pm.timings()) EXPECT_GE(t.duration, absl::ZeroDuration());
  const std::string summary = pm.TimingSummary();
  EXPECT_THAT(summary, HasSubstr("tag-one"));
  EXPECT_THAT(summary, HasSubstr("unchanged"));
  EXPECT_THAT(summary, HasSubstr("total"));

  // Nothing to do the second time round.
  changed = pm.Run(&g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
}

TEST(PassManagerTest, DumpsAfterEveryPass) {
  ir::Graph g = SeedGraph();
  PassManager::Options o;
  o.dump_after = {"all"};
  std::vector<std::pair<std::string, std::string>> dumps;
  o.dump = [&](absl::string_view pass, absl::string_view text) {
    dumps.emplace_back(std::string(pass), std::string(text));
  };
  PassManager pm(o);
  pm.Add(std::make_unique<TagPass>("tag-one", "one"));
  pm.Add(std::make_unique<TagPass>("tag-two", "two"));
  ASSERT_TRUE(pm.Run(&g).ok());
  ASSERT_EQ(dumps.size(), 2u);
  EXPECT_EQ(dumps[0].first, "tag-one");
  EXPECT_THAT(dumps[0].second, HasSubstr("{one = true}"));
  EXPECT_THAT(dumps[0].second, ::testing::Not(HasSubstr("two")));
  EXPECT_EQ(dumps[1].first, "tag-two");
  EXPECT_THAT(dumps[1].second, HasSubstr("{one = true, two = true}"));
  EXPECT_EQ(dumps[1].second, ir::PrintGraph(g));
}

TEST(PassManagerTest, DumpsAfterANamedPassToAStream) {
  ir::Graph g = SeedGraph();
  std::ostringstream os;
  PassManager::Options o;
  o.dump_after = {"tag-two"};
  o.dump = StreamDumpSink(&os);
  PassManager pm(o);
  pm.Add(std::make_unique<TagPass>("tag-one", "one"));
  pm.Add(std::make_unique<TagPass>("tag-two", "two"));
  ASSERT_TRUE(pm.Run(&g).ok());
  EXPECT_EQ(os.str(), "// ----- after tag-two -----\n" + ir::PrintGraph(g));
}

TEST(PassManagerTest, DumpAfterAnUnknownPassIsAnError) {
  ir::Graph g = SeedGraph();
  PassManager::Options o;
  o.dump_after = {"tag-tow"};
  o.dump = [](absl::string_view, absl::string_view) {};
  PassManager pm(o);
  pm.Add(std::make_unique<TagPass>("tag-two", "two"));
  absl::StatusOr<bool> changed = pm.Run(&g);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(changed.status().message(), HasSubstr("'tag-tow'"));
  EXPECT_THAT(changed.status().message(), HasSubstr("tag-two"));
  // Nothing ran.
  EXPECT_THAT(ir::PrintGraph(g), ::testing::Not(HasSubstr("two = true")));
}

TEST(PassManagerTest, DumpWithoutSinkIsAnError) {
  ir::Graph g = SeedGraph();
  PassManager::Options o;
  o.dump_after = {"all"};
  PassManager pm(o);
  pm.Add(std::make_unique<TagPass>("tag-two", "two"));
  EXPECT_FALSE(pm.Run(&g).ok());
}

TEST(PassManagerTest, VerificationCatchesABrokenGraph) {
  ir::Graph g = SeedGraph();
  PassManager::Options o;
  o.verify_each = true;
  PassManager pm(o);
  pm.Add(std::make_unique<BreakPass>());
  pm.Add(std::make_unique<TagPass>("after", "after"));
  absl::StatusOr<bool> changed = pm.Run(&g);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(changed.status().message(), HasSubstr("pass 'break-graph' left an invalid graph"));
  // The pass after it did not run.
  ASSERT_EQ(pm.timings().size(), 1u);
}

TEST(PassManagerTest, UnchangedCheckCatchesALyingPass) {
  ir::Graph g = SeedGraph();
  PassManager::Options o;
  o.check_unchanged = true;
  PassManager pm(o);
  pm.Add(std::make_unique<TagPass>("liar", "sneaky", /*lie=*/true));
  absl::StatusOr<bool> changed = pm.Run(&g);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(changed.status().message(),
              HasSubstr("pass 'liar' reported no change but the printed graph changed"));
  EXPECT_THAT(changed.status().message(), HasSubstr("{sneaky = true}"));
}

TEST(PassManagerTest, DebugBuildsCheckWithoutBeingAsked) {
  if (!IsDebugBuild()) GTEST_SKIP() << "checks are opt-in under NDEBUG";
  ir::Graph g = SeedGraph();
  PassManager pm;  // default options
  pm.Add(std::make_unique<TagPass>("liar", "sneaky", /*lie=*/true));
  EXPECT_FALSE(pm.Run(&g).ok());
  ir::Graph g2 = SeedGraph();
  PassManager pm2;
  pm2.Add(std::make_unique<BreakPass>());
  EXPECT_FALSE(pm2.Run(&g2).ok());
}

TEST(PassManagerTest, PassErrorsNameThePass) {
  ir::Graph g = SeedGraph();
  PassManager pm;
  pm.Add(std::make_unique<TagPass>("tag", "t"));
  pm.Add(std::make_unique<FailPass>());
  absl::StatusOr<bool> changed = pm.Run(&g);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(changed.status().message(), "pass 'fail' failed: not today");
  ASSERT_EQ(pm.timings().size(), 2u);
  EXPECT_EQ(pm.timings()[1].pass, "fail");
}

}  // namespace
}  // namespace sluice::passes
