// Runs the `compile` binary as a user would (a child process, real argv,
// stdout/stderr/exit code captured) and checks each flag, the JSON document,
// --check's verdicts and the located errors with exit status 2 for bad input.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/shape.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"

namespace sluice::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string TmpDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t ? t : "/tmp";
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs tools/compile with `args`; stdout and stderr go to files.
Result RunTool(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string base = TmpDir() + "/run" + std::to_string(counter++);
  const std::string out_path = base + ".out", err_path = base + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    FILE* o = freopen(out_path.c_str(), "w", stdout);
    FILE* e = freopen(err_path.c_str(), "w", stderr);
    (void)o;
    (void)e;
    std::vector<char*> argv;
    std::string bin = "tools/compile";
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadAll(out_path);
  r.err = ReadAll(err_path);
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = TmpDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

class CompileCliTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("SLUICE_CACHE_DIR", (TmpDir() + "/cache").c_str(), 1); }
};

TEST_F(CompileCliTest, BuiltInExampleShowsTheFallbackAndChecks) {
  Result r = RunTool({"--device=cpu"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("a     add  fallback  1:meta.should_fallback=true"));
  EXPECT_THAT(r.out, HasSubstr("b     mul  lower     7:default"));
  EXPECT_THAT(r.out, HasSubstr("check: passed against the reference interpreter"));
  EXPECT_THAT(r.out, HasSubstr("output b: f32[10]"));
  EXPECT_THAT(r.err, HasSubstr("<built-in seed example> on cpu"));
}

TEST_F(CompileCliTest, HelpListsEveryFlagWithAnExample) {
  Result r = RunTool({"--help"});
  ASSERT_EQ(r.code, 0);
  for (const char* flag :
       {"--device", "--fallback_ops", "--fallback_nodes", "--strict", "--on_lowering_error",
        "--emit", "--out_dir", "--format", "--run", "--inputs", "--seed", "--save_outputs",
        "--check", "--rtol", "--atol", "--bench", "--passes", "--dump_after",
        "--split_reductions", "examples:",
        "exit status"}) {
    EXPECT_THAT(r.out, HasSubstr(flag));
  }
}

TEST_F(CompileCliTest, DeviceAutoSaysWhichWasChosen) {
  Result r = RunTool({"examples/seed.graph"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(" on cpu (auto: ")) ;
}

TEST_F(CompileCliTest, FallbackOpsAndGlobNodes) {
  Result ops = RunTool({"examples/attention.graph", "--device=cpu", "--fallback_ops=div"});
  ASSERT_EQ(ops.code, 0) << ops.err;
  EXPECT_THAT(ops.out, HasSubstr("scaled      div        fallback  4:fallback_ops"));
  Result nodes = RunTool({"examples/attention.graph", "--device=cpu", "--fallback_nodes=attn_*",
                          "--check"});
  ASSERT_EQ(nodes.code, 0) << nodes.err;
  EXPECT_THAT(nodes.out, HasSubstr("attn_probs  softmax    fallback  3:fallback_nodes"));
  EXPECT_THAT(nodes.out, HasSubstr("check: passed"));
}

TEST_F(CompileCliTest, StrictTurnsUnmatchedOptionsIntoExit2) {
  Result warn = RunTool({"examples/seed.graph", "--device=cpu", "--fallback_nodes=nosuch"});
  ASSERT_EQ(warn.code, 0) << warn.err;
  EXPECT_THAT(warn.err, HasSubstr("warning:"));
  EXPECT_THAT(warn.err, HasSubstr("nosuch"));
  Result strict =
      RunTool({"examples/seed.graph", "--device=cpu", "--fallback_nodes=nosuch", "--strict"});
  EXPECT_EQ(strict.code, 2);
  EXPECT_THAT(strict.err, HasSubstr("nosuch"));
}

TEST_F(CompileCliTest, JsonHoldsEveryCallNodeOnceAndTheCheck) {
  Result r = RunTool({"examples/attention.graph", "--device=cpu", "--format=json", "--check",
                      "--fallback_nodes=attn_*"});
  ASSERT_EQ(r.code, 0) << r.err;
  // Exactly one JSON document on stdout, nothing on stderr but warnings.
  EXPECT_EQ(r.out.front(), '{');
  EXPECT_EQ(r.out.substr(r.out.size() - 2), "}\n");
  const size_t nodes_begin = r.out.find("\"nodes\":[");
  const size_t nodes_end = r.out.find("],\"kernels\"");
  ASSERT_NE(nodes_begin, std::string::npos);
  ASSERT_NE(nodes_end, std::string::npos);
  const std::string nodes = r.out.substr(nodes_begin, nodes_end - nodes_begin);
  for (const char* node : {"kt", "s", "scaled", "attn_probs", "o"}) {
    const std::string key = std::string("{\"name\":\"") + node + "\",";
    const size_t first = nodes.find(key);
    ASSERT_NE(first, std::string::npos) << node;
    EXPECT_EQ(nodes.find(key, first + 1), std::string::npos) << node << " appears twice";
  }
  EXPECT_EQ(std::count(nodes.begin(), nodes.end(), '{'), 5);
  EXPECT_THAT(r.out, HasSubstr("\"decision\":\"fallback\",\"rule\":3"));
  EXPECT_THAT(r.out, HasSubstr("\"check\":{\"passed\":true"));
  EXPECT_THAT(r.out, HasSubstr("\"kernels\":[{\"id\":0"));
  EXPECT_THAT(r.out, HasSubstr("\"timing\":{\"compile_ms\":"));
  EXPECT_THAT(r.out, HasSubstr("\"compile_phases\":{\"device_ms\":"));
  EXPECT_THAT(r.out, HasSubstr("\"attempts\":1}"));
  // CPU: nothing is autotuned.
  EXPECT_THAT(r.out, HasSubstr("\"tuning\":[]"));
  // A Python json.loads would accept it: balanced braces outside strings.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < r.out.size(); ++i) {
    const char c = r.out[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
      ASSERT_GE(depth, 0);
    }
  }
  EXPECT_EQ(depth, 0);
}

TEST_F(CompileCliTest, EmitGraphKernelsAndDot) {
  Result r = RunTool({"examples/softmax.graph", "--device=cpu", "--emit=plan,graph,kernels,dot"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("= amax("));          // the decomposed graph
  EXPECT_THAT(r.out, HasSubstr("extern \"C\""));     // the generated C++
  EXPECT_THAT(r.out, HasSubstr("subgraph cluster_k0"));  // DOT
  const std::string dir = TmpDir() + "/emit_out";
  Result files = RunTool({"examples/softmax.graph", "--device=cpu", "--emit=kernels,dot",
                          "--out_dir=" + dir});
  ASSERT_EQ(files.code, 0) << files.err;
  EXPECT_THAT(ReadAll(dir + "/kernels.cc"), HasSubstr("extern \"C\""));
  EXPECT_THAT(ReadAll(dir + "/softmax_rows.dot"), HasSubstr("digraph"));
  EXPECT_THAT(files.out, Not(HasSubstr("extern \"C\"")));
}

TEST_F(CompileCliTest, InputsFromNpyAndSavedOutputs) {
  runtime::Tensor x = runtime::Tensor::Zeros(ir::DType::kF32, ir::Shape{10});
  runtime::Tensor y = runtime::Tensor::Zeros(ir::DType::kF32, ir::Shape{10});
  for (int i = 0; i < 10; ++i) {
    x.SetFromDouble(i, i);
    y.SetFromDouble(i, 100);
  }
  const std::string xp = TmpDir() + "/x.npy", yp = TmpDir() + "/y.npy";
  ASSERT_TRUE(runtime::WriteNpy(xp, x).ok());
  ASSERT_TRUE(runtime::WriteNpy(yp, y).ok());
  const std::string out = TmpDir() + "/outs";
  Result r = RunTool({"examples/seed.graph", "--device=cpu", "--inputs=x=" + xp + ",y=" + yp,
                      "--save_outputs=" + out, "--check"});
  ASSERT_EQ(r.code, 0) << r.err;
  absl::StatusOr<runtime::Tensor> b = runtime::ReadNpy(out + "/b.npy");
  ASSERT_TRUE(b.ok()) << b.status();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b->GetAsDouble(i), (i + 100) * 2.0);

  // Expected outputs from a file: right passes, wrong fails with exit 1.
  Result right = RunTool({"examples/seed.graph", "--device=cpu",
                          "--inputs=x=" + xp + ",y=" + yp, "--check",
                          "--expected=b=" + out + "/b.npy"});
  EXPECT_EQ(right.code, 0) << right.err;
  Result wrong = RunTool({"examples/seed.graph", "--device=cpu",
                          "--inputs=x=" + xp + ",y=" + xp, "--check",
                          "--expected=b=" + out + "/b.npy"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_THAT(wrong.out, HasSubstr("check: FAILED against --expected"));

  // A file of the wrong shape, a missing file, a missing input.
  runtime::Tensor small = runtime::Tensor::Zeros(ir::DType::kF32, ir::Shape{3});
  const std::string sp = TmpDir() + "/small.npy";
  ASSERT_TRUE(runtime::WriteNpy(sp, small).ok());
  Result shape = RunTool({"examples/seed.graph", "--device=cpu", "--inputs=x=" + sp + ",y=" + yp});
  EXPECT_EQ(shape.code, 2);
  EXPECT_THAT(shape.err, HasSubstr("input x: " + sp + " holds f32[3] but the graph expects f32[10]"));
  Result missing =
      RunTool({"examples/seed.graph", "--device=cpu", "--inputs=x=/nonexistent.npy,y=" + yp});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent.npy"));
  Result partial = RunTool({"examples/seed.graph", "--device=cpu", "--inputs=x=" + xp});
  EXPECT_EQ(partial.code, 2);
  EXPECT_THAT(partial.err, HasSubstr("no file for input(s) y"));
}

TEST_F(CompileCliTest, EveryExampleChecks) {
  for (const char* g : {"examples/seed.graph", "examples/mlp.graph", "examples/softmax.graph",
                        "examples/layer_norm.graph", "examples/attention.graph"}) {
    Result r = RunTool({g, "--device=cpu", "--check"});
    EXPECT_EQ(r.code, 0) << g << "\n" << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("check: passed")) << g;
  }
}

TEST_F(CompileCliTest, BenchPrintsBothTimesAndTheRatio) {
  Result r = RunTool({"examples/seed.graph", "--device=cpu", "--bench", "--bench_runs=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("bench: compiled "));
  EXPECT_THAT(r.out, HasSubstr("reference "));
  EXPECT_THAT(r.out, HasSubstr("speedup "));
}

TEST_F(CompileCliTest, PassesAndDumps) {
  Result list = RunTool({"--passes=list"});
  ASSERT_EQ(list.code, 0);
  EXPECT_THAT(list.out, HasSubstr("selective-lowering"));
  EXPECT_THAT(list.out, HasSubstr("decompose"));
  Result some = RunTool({"examples/softmax.graph", "--passes=selective-lowering,decompose"});
  ASSERT_EQ(some.code, 0) << some.err;
  EXPECT_THAT(some.out, HasSubstr("= amax("));
  EXPECT_THAT(some.out, HasSubstr("decomposed_from = \"y\""));
  Result dump = RunTool({"examples/softmax.graph", "--device=cpu", "--dump_after=all"});
  ASSERT_EQ(dump.code, 0) << dump.err;
  EXPECT_THAT(dump.err, HasSubstr("after decompose"));
}

// --passes with --device=cuda runs the passes with the CUDA capability table
// (no GPU needed): a whole-tensor sum is split in two stages, and the plan
// says so, unless --split_reductions=false.
TEST_F(CompileCliTest, PassesForCudaShowSplitReductions) {
  const std::string path = WriteTemp(
      "allsum.graph", "graph allsum(%x: f32[4096, 4096]) { %s = sum(%x) return %s }\n");
  const std::vector<std::string> args = {path, "--device=cuda",
                                         "--passes=selective-lowering,decompose,split-reduction"};
  Result split = RunTool(args);
  ASSERT_EQ(split.code, 0) << split.err;
  EXPECT_THAT(split.out, HasSubstr("%s_split_view: f32[512, 32768] = reshape(%x"));
  EXPECT_THAT(split.out, HasSubstr("%s: f32[] = sum(%s_split_partial, dims = [0]"));
  EXPECT_THAT(split.out, HasSubstr("- (split 512)"));
  std::vector<std::string> off = args;
  off.push_back("--split_reductions=false");
  Result whole = RunTool(off);
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_THAT(whole.out, HasSubstr("%s: f32[] = sum(%x)"));
  EXPECT_THAT(whole.out, Not(HasSubstr("split")));
  Result cpu = RunTool({path, "--device=cpu", "--passes=selective-lowering,split-reduction"});
  ASSERT_EQ(cpu.code, 0) << cpu.err;
  EXPECT_THAT(cpu.out, Not(HasSubstr("split")));
}

TEST_F(CompileCliTest, MultiGraphFilesNeedGraph) {
  const std::string path = WriteTemp(
      "two.graph",
      "graph a(%x: f32[2]) { %y = neg(%x) return %y }\ngraph b(%x: f32[2]) { %y = exp(%x) return %y }\n");
  Result both = RunTool({path, "--device=cpu"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("pick one with --graph (a, b)"));
  Result one = RunTool({path, "--device=cpu", "--graph=b", "--check"});
  EXPECT_EQ(one.code, 0) << one.err;
  Result none = RunTool({path, "--device=cpu", "--graph=c"});
  EXPECT_EQ(none.code, 2);
}

struct BadCase {
  std::vector<std::string> args;
  std::string message;
};

TEST_F(CompileCliTest, BadInputExits2WithAClearMessage) {
  const std::string parse_error = WriteTemp(
      "bad.graph", "graph g(%x: f32[2]) {\n  %y = add(%x, %nope)\n  return %y\n}\n");
  const std::string type_error = WriteTemp(
      "badtype.graph", "graph g(%x: f32[2], %z: f32[3]) {\n  %y = add(%x, %z)\n  return %y\n}\n");
  const std::vector<BadCase> cases = {
      {{parse_error}, parse_error + ":2:16: error: use of undefined value '%nope'"},
      {{type_error}, type_error + ":2:8: error: add: shapes [2] and [3] do not broadcast"},
      {{"/nonexistent/g.graph"}, "/nonexistent/g.graph: error: cannot open file"},
      {{"--frobnicate"}, "error: unknown flag '--frobnicate'"},
      {{"--emit=assembly"}, "error: --emit: unknown item 'assembly'"},
      {{"--format=yaml"}, "error: --format must be text or json"},
      {{"--device=tpu"}, "error: --device must be cpu, cuda or auto"},
      {{"--on_lowering_error=ignore"}, "error: --on_lowering_error must be fallback or error"},
      {{"--seed=abc"}, "error: --seed takes an integer"},
      {{"a.graph", "b.graph"}, "error: expected at most one GRAPH_FILE"},
      {{"examples/seed.graph", "--inputs=x"}, "takes name=file.npy pairs"},
      {{"examples/seed.graph", "--inputs=q=/tmp/q.npy"}, "which is not an input of foo"},
      {{"examples/seed.graph", "--passes=nosuchpass"}, "nosuchpass"},
  };
  for (const BadCase& c : cases) {
    Result r = RunTool(c.args);
    EXPECT_EQ(r.code, 2) << c.args[0] << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args[0];
    EXPECT_TRUE(r.out.empty() || c.args[0] == "examples/seed.graph") << r.out;
  }
}

TEST_F(CompileCliTest, CudaWithoutAGpuIsAClearError) {
  if (access("/dev/nvidia0", F_OK) == 0) GTEST_SKIP() << "a GPU is present";
  Result r = RunTool({"examples/seed.graph", "--device=cuda"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: --device=cuda: "));
}

}  // namespace
}  // namespace sluice::tools
