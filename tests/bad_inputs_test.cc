// Bad inputs of issue 10 that no other test covers, each with the exact error
// it must get and a check that the process keeps working afterwards: tensors
// that are not there, a truncated or foreign .npy given to the compile CLI, an
// allocation larger than the machine, a kernel cache directory that is a file
// or holds another graph's library, and a host compiler that does not exist.
// fuzz/BAD_INPUTS.md lists every bad input of the issue with the test that
// covers it (most live next to the code they test).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fallback/interpreter.h"
#include "fallback/kernel_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "passes/lowering_plan.h"
#include "runtime/executable.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"
#include "sluice/compile.h"
#include "testing/allclose.h"
#include "testing/random.h"

// Under ASan an over-large malloc must come back as nullptr (as it does from
// glibc) instead of aborting the process; only used when ASan is linked in.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace sluice {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string TmpDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

CompileOptions Options(const std::string& cache) {
  CompileOptions o;
  o.cache_dir = TmpDir() + "/" + cache;
  return o;
}

ir::Graph Parse(const std::string& text) {
  absl::StatusOr<ir::Graph> g = ir::ParseGraph(text, "bad_inputs.graph");
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

std::vector<runtime::Tensor> Inputs(const ir::Graph& g) {
  std::vector<runtime::Tensor> in;
  for (const ir::Node* n : g.inputs()) {
    in.push_back(sluice::testing::RandomNormal(n->type(), 11 + in.size()));
  }
  return in;
}

// Runs `exe` on random inputs and compares with the reference interpreter.
void ExpectMatchesReference(runtime::Executable& exe, const ir::Graph& g) {
  const std::vector<runtime::Tensor> in = Inputs(g);
  absl::StatusOr<std::vector<runtime::Tensor>> out = exe.Run(in);
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(g, in);
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(out->size(), ref->size());
  for (size_t i = 0; i < out->size(); ++i) EXPECT_ALLCLOSE((*out)[i], (*ref)[i]);
}

// A lowered kernel (mul, exp) and a fallback step (add).
constexpr char kSmall[] = R"(
graph g(%x: f32[8], %s: f32[]) {
  %a = mul(%x, %s)
  %b = exp(%a)
  %c = add(%b, %x) {should_fallback = true}
  return %c
})";

// ---- Sizes and literals the fuzzers found (other parser errors: ir/ir_test.cc) ----

struct ParseCase {
  std::string name;
  std::string text;
  std::string message;  // the first line of the error
};

TEST(ParseLimitsTest, SizesAndLiteralsBeyondWhatIsExactAreLocatedErrors) {
  const std::vector<ParseCase> cases = {
      {"input_too_large", "graph g(%x: f32[9223372036854775807, 2]) {\n  return %x\n}\n",
       "bad_inputs.graph:1:9: error: f32[9223372036854775807, 2] has too many elements (at most "
       "1152921504606846975)"},
      {"zero_does_not_excuse", "graph g(%x: f32[0, 4611686018427387904, 4]) {\n  return %x\n}\n",
       "bad_inputs.graph:1:9: error: f32[0, 4611686018427387904, 4] has too many elements (at "
       "most 1152921504606846975)"},
      {"expand_too_large",
       "graph g(%x: f32[3]) {\n  %a = expand(%x, shape = [4611686018427387904, 3])\n  return "
       "%a\n}\n",
       "bad_inputs.graph:2:8: error: expand: the result f32[4611686018427387904, 3] has too many "
       "elements (at most 1152921504606846975)"},
      {"reshape_product_overflows",
       "graph g(%x: f32[2, 8]) {\n  %a = reshape(%x, shape = [2, 1441151880758558944, 8, -1])\n"
       "  return %a\n}\n",
       "bad_inputs.graph:2:8: error: reshape: shape [2, 1441151880758558944, 8, -1] is invalid "
       "for input of size 16"},
      {"concat_too_large",
       "graph g(%x: f32[1152921504606846975]) {\n  %a = concat(%x, %x, dim = 0)\n  return "
       "%a\n}\n",
       "bad_inputs.graph:2:8: error: concat: concat along dim 0 has more than "
       "1152921504606846975 elements"},
      {"int_literal_beyond_2p53",
       "graph g(%x: i64[3]) {\n  %a = mul(%x, 9007199254740993)\n  return %a\n}\n",
       "bad_inputs.graph:2:16: error: integer literal 9007199254740993 is not exact as a double "
       "(at most 2^53 = 9007199254740992 in magnitude)"},
      {"negative_int_literal_beyond_2p53",
       "graph g(%x: i64[3]) {\n  %a = add(%x, -9223372036854775808)\n  return %a\n}\n",
       "bad_inputs.graph:2:16: error: integer literal -9223372036854775808 is not exact as a "
       "double (at most 2^53 = 9007199254740992 in magnitude)"},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<ir::Graph> g = ir::ParseGraph(c.text, "bad_inputs.graph");
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string msg(g.status().message());
    EXPECT_EQ(msg.substr(0, msg.find('\n')), c.message);
  }
  // Right at the limits everything is accepted and exact.
  absl::StatusOr<ir::Graph> edge = ir::ParseGraph(R"(graph g(%x: i64[1152921504606846975]) {
  %a = mul(%x, -9007199254740992)
  %b = slice(%a, dim = 0, start = -9223372036854775808, end = 9223372036854775807,
             step = 9223372036854775807)
  return %b
})");
  ASSERT_TRUE(edge.ok()) << edge.status();
  EXPECT_EQ(edge->FindNode("a")->operand(1).literal().value, -9007199254740992.0);
  EXPECT_EQ(edge->FindNode("b")->type().ToString(), "i64[1]");
}

// ---- Run-time inputs (count, shape and dtype: tests/compile_test.cc) ----------

TEST(RunInputsTest, UndefinedTensorsAreAnErrorNotARead) {
  ir::Graph g = Parse(kSmall);
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options("cache-undefined"));
  ASSERT_TRUE(exe.ok()) << exe.status();
  const runtime::Tensor x = runtime::Tensor::Zeros(ir::DType::kF32, {8});
  // A default Tensor has type f32[] -- that of %s -- but no storage.
  absl::StatusOr<std::vector<runtime::Tensor>> scalar = exe->Run({x, runtime::Tensor()});
  ASSERT_FALSE(scalar.ok());
  EXPECT_EQ(scalar.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scalar.status().message(),
            "input 1 (%s) of graph g: expected f32[], got an undefined tensor");
  // A borrowed null pointer of the right type.
  const runtime::Tensor null_x = runtime::Tensor::Borrow(ir::DType::kF32, {8}, nullptr);
  absl::StatusOr<std::vector<runtime::Tensor>> borrowed =
      exe->Run({null_x, runtime::Tensor::Zeros(ir::DType::kF32, {})});
  ASSERT_FALSE(borrowed.ok());
  EXPECT_EQ(borrowed.status().message(),
            "input 0 (%x) of graph g: expected f32[8], got an undefined tensor");
  // RunInto checks caller outputs the same way, and their count.
  const std::vector<runtime::Tensor> in = Inputs(g);
  std::vector<runtime::Tensor> undefined_out = {
      runtime::Tensor::Borrow(ir::DType::kF32, {8}, nullptr)};
  EXPECT_EQ(exe->RunInto(in, absl::MakeSpan(undefined_out)).message(),
            "output 0 (%c) of graph g: expected f32[8], got an undefined tensor");
  std::vector<runtime::Tensor> two_out = {runtime::Tensor::Zeros(ir::DType::kF32, {8}),
                                          runtime::Tensor::Zeros(ir::DType::kF32, {8})};
  EXPECT_EQ(exe->RunInto(in, absl::MakeSpan(two_out)).message(),
            "graph g has 1 outputs, got 2");
  // Nothing broke: a good run still matches the reference.
  ExpectMatchesReference(*exe, g);
}

// ---- Allocations larger than the machine ------------------------------------------

// 2^48 f32 elements (1 PiB) in intermediates: more than an x86-64 or AArch64
// process can map, so the allocation fails whatever the overcommit setting;
// every node falls back so that the intermediates live in the arena.
constexpr char kHugeIntermediate[] = R"(
graph huge(%x: f32[1]) {
  %big = expand(%x, shape = [281474976710656]) {should_fallback = true}
  %s = sum(%big, dims = [0]) {should_fallback = true}
  return %s
})";

TEST(AllocationTest, ArenaLargerThanTheMachineIsResourceExhausted) {
  ir::Graph g = Parse(kHugeIntermediate);
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options("cache-huge"));
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_EQ(exe->peak_intermediate_bytes(), int64_t{1} << 50);
  const std::vector<runtime::Tensor> in = {runtime::Tensor::Zeros(ir::DType::kF32, {1})};
  for (int attempt = 0; attempt < 2; ++attempt) {  // the failure leaves no state behind
    absl::StatusOr<std::vector<runtime::Tensor>> out = exe->Run(in);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(out.status().message(),
              "graph huge: the arena for intermediates: cannot allocate 1125899906842624 bytes");
  }
  // The process keeps working.
  ir::Graph small = Parse(kSmall);
  absl::StatusOr<runtime::Executable> ok = Compile(small, Options("cache-huge"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  ExpectMatchesReference(*ok, small);
}

// A graph output larger than the machine: 2^48 f32 elements (1 PiB) is more
// than an x86-64 or AArch64 process can map, so the allocation fails whatever
// the overcommit setting. Run returns ResourceExhausted naming the output and
// its size (no exception escapes), fails the same way again, and leaves
// sluice working: an executable compiled before runs normally afterwards.
TEST(AllocationTest, OutputLargerThanTheMachineIsResourceExhaustedAndRunsGoOn) {
  ir::Graph small = Parse(kSmall);
  absl::StatusOr<runtime::Executable> before = Compile(small, Options("cache-huge"));
  ASSERT_TRUE(before.ok()) << before.status();
  ir::Graph g = Parse(R"(
graph huge_out(%x: f32[1]) {
  %big = expand(%x, shape = [281474976710656]) {should_fallback = true}
  return %x, %big
})");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options("cache-huge"));
  ASSERT_TRUE(exe.ok()) << exe.status();
  const std::vector<runtime::Tensor> in = {runtime::Tensor::Zeros(ir::DType::kF32, {1})};
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::vector<runtime::Tensor>> out;
    ASSERT_NO_THROW(out = exe->Run(in));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(out.status().message(),
              "output 1 (%big) of graph huge_out: cannot allocate 1125899906842624 bytes for "
              "f32[281474976710656]");
  }
  ExpectMatchesReference(*before, small);
  absl::StatusOr<runtime::Executable> after = Compile(small, Options("cache-huge"));
  ASSERT_TRUE(after.ok()) << after.status();
  ExpectMatchesReference(*after, small);
  // The reference interpreter answers the same way.
  absl::StatusOr<std::vector<runtime::Tensor>> ref = fallback::RunReference(g, in);
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ref.status().message(),
            "bad_inputs.graph:3:10: error: %big: cannot allocate 1125899906842624 bytes for "
            "f32[281474976710656]\n"
            "  %big = expand(%x, shape = [281474976710656]) {should_fallback = true}\n"
            "         ^");
}

// A temporary of a fallback kernel larger than the machine: sum of i32
// accumulates in i64, so the reference kernel first converts its input to a
// 2^48-element i64 temporary (2 PiB, more than an x86-64 or AArch64 process
// can map). The input is a 4-byte buffer presented as 2^48 elements; the
// kernel never reads it, as the allocation comes first and fails. RunNode,
// the reference interpreter and Executable::Run each return
// ResourceExhausted naming the node and the size (it used to be a
// std::bad_alloc out of Eigen, ending the process), and runs go on.
TEST(AllocationTest, FallbackKernelTemporaryLargerThanTheMachineIsResourceExhausted) {
  ir::Graph g = Parse(R"(
graph huge_tmp(%x: i32[281474976710656]) {
  %s = sum(%x, dims = [0]) {should_fallback = true}
  return %s
})");
  int32_t one = 1;
  const std::vector<runtime::Tensor> in = {
      runtime::Tensor::Borrow(ir::DType::kI32, {int64_t{1} << 48}, &one)};
  const std::string expected =
      "fallback kernel for %s (sum): cannot allocate 2251799813685248 bytes for a kernel "
      "temporary";
  runtime::Tensor out = runtime::Tensor::Zeros(ir::DType::kI64, {});
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::Status status;
    ASSERT_NO_THROW(status = fallback::RunNode(*g.FindNode("s"), in, out));
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(status.message(), expected);
  }
  absl::StatusOr<std::vector<runtime::Tensor>> ref;
  ASSERT_NO_THROW(ref = fallback::RunReference(g, in));
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ref.status().message(), "bad_inputs.graph:3:8: error: " + expected +
                                        "\n  %s = sum(%x, dims = [0]) {should_fallback = true}\n"
                                        "       ^");
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options("cache-huge"));
  ASSERT_TRUE(exe.ok()) << exe.status();
  absl::StatusOr<std::vector<runtime::Tensor>> run;
  ASSERT_NO_THROW(run = exe->Run(in));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(run.status().message(), HasSubstr(expected));
  // The process keeps working.
  ir::Graph small = Parse(kSmall);
  absl::StatusOr<runtime::Executable> ok = Compile(small, Options("cache-huge"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  ExpectMatchesReference(*ok, small);
}

// ---- The kernel cache -------------------------------------------------------------

TEST(CacheDirTest, CacheDirThatIsAFileCompilesWithoutACache) {
  const std::string file = TmpDir() + "/cache-is-a-file";
  WriteAll(file, "not a directory\n");
  ir::Graph g = Parse(kSmall);
  CompileOptions o;
  o.cache_dir = file;
  absl::StatusOr<runtime::Executable> exe = Compile(g, o);
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_FALSE(exe->compile_report().cached);
  EXPECT_FALSE(exe->cache_hit());
  EXPECT_THAT(exe->compile_report().warnings,
              ::testing::ElementsAre("kernel cache directory " + file +
                                     " is not writable; compiling without a cache"));
  EXPECT_EQ(ReadAll(file), "not a directory\n");  // left alone
  ExpectMatchesReference(*exe, g);
}

TEST(CacheDirTest, ReadOnlyCacheDirCompilesWithoutACache) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "running as root, which may write to a read-only (0555) directory; "
                    "the cache-below-a-file case above covers the same code path";
  }
  const std::string dir = TmpDir() + "/cache-read-only";
  ASSERT_EQ(mkdir(dir.c_str(), 0555), 0);
  ir::Graph g = Parse(kSmall);
  CompileOptions o;
  o.cache_dir = dir;
  absl::StatusOr<runtime::Executable> exe = Compile(g, o);
  ASSERT_TRUE(exe.ok()) << exe.status();
  EXPECT_FALSE(exe->compile_report().cached);
  EXPECT_THAT(exe->compile_report().warnings,
              ::testing::ElementsAre("kernel cache directory " + dir +
                                     " is not writable; compiling without a cache"));
  ExpectMatchesReference(*exe, g);
}

TEST(CacheDirTest, EntryHoldingAnotherGraphsKernelsIsRebuilt) {
  const CompileOptions o = Options("cache-swapped");
  ir::Graph g = Parse(kSmall);
  ir::Graph other = Parse(R"(
graph g(%x: f32[8], %s: f32[]) {
  %a = sub(%x, %s)
  %b = tanh(%a)
  %c = add(%b, %x) {should_fallback = true}
  return %c
})");
  std::string path, other_path;
  {
    absl::StatusOr<runtime::Executable> a = Compile(g, o);
    ASSERT_TRUE(a.ok()) << a.status();
    absl::StatusOr<runtime::Executable> b = Compile(other, o);
    ASSERT_TRUE(b.ok()) << b.status();
    path = a->compile_report().library_path;
    other_path = b->compile_report().library_path;
    ASSERT_NE(path, other_path);
  }  // unloads both libraries
  // A complete, loadable library with the same kernel symbols, under the
  // wrong key: it must not be trusted.
  WriteAll(path, ReadAll(other_path));
  absl::StatusOr<runtime::Executable> again = Compile(g, o);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->cache_hit());
  EXPECT_TRUE(again->compile_report().rebuilt);
  ASSERT_EQ(again->compile_report().warnings.size(), 1u);
  EXPECT_THAT(again->compile_report().warnings[0],
              StartsWith("kernel cache entry " + path + " failed to load ("));
  ExpectMatchesReference(*again, g);
}

// ---- A host compiler that does not exist -----------------------------------------

TEST(HostCompilerTest, MissingCompilerIsAnErrorThatKeepsTheSource) {
  ir::Graph g = Parse(kSmall);
  for (auto mode : {passes::LoweringOptions::OnLoweringError::kFallback,
                    passes::LoweringOptions::OnLoweringError::kError}) {
    CompileOptions o = Options("cache-no-compiler");
    o.compiler = "/nonexistent/c++";
    o.lowering.on_lowering_error = mode;
    absl::StatusOr<runtime::Executable> exe = Compile(g, o);
    // Not a per-kernel failure (no kernel is to blame), so no rule-6
    // fallback either: the error says what ran and keeps the source.
    ASSERT_FALSE(exe.ok());
    EXPECT_EQ(exe.status().code(), absl::StatusCode::kInternal);
    const std::string msg(exe.status().message());
    EXPECT_THAT(msg, StartsWith("compiling the generated code failed outside any kernel; "
                                "source kept at " + o.cache_dir + "/"));
    EXPECT_THAT(msg, HasSubstr("/nonexistent/c++"));
    const size_t at = msg.find("kept at ") + 8;
    const std::string kept = msg.substr(at, msg.find(":\n", at) - at);
    EXPECT_THAT(kept, EndsWith(".failed.cc"));
    EXPECT_THAT(ReadAll(kept), HasSubstr("extern \"C\"")) << kept;
  }
  // The default compiler still works in the same process.
  absl::StatusOr<runtime::Executable> exe = Compile(g, Options("cache-no-compiler"));
  ASSERT_TRUE(exe.ok()) << exe.status();
  ExpectMatchesReference(*exe, g);
}

// ---- The compile CLI with a bad .npy ----------------------------------------------

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs tools/compile with `args`, as compile_cli_test does.
CliResult RunCli(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string base = TmpDir() + "/cli" + std::to_string(counter++);
  const pid_t pid = fork();
  if (pid == 0) {
    if (std::freopen((base + ".out").c_str(), "w", stdout) == nullptr ||
        std::freopen((base + ".err").c_str(), "w", stderr) == nullptr) {
      _exit(126);
    }
    std::vector<std::string> copy = args;
    std::string bin = "tools/compile";
    std::vector<char*> argv = {bin.data()};
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadAll(base + ".out");
  r.err = ReadAll(base + ".err");
  return r;
}

TEST(CliNpyTest, TruncatedOrForeignNpyExits2NamingTheInputAndFile) {
  setenv("SLUICE_CACHE_DIR", (TmpDir() + "/cache-cli").c_str(), 1);
  const std::string graph = TmpDir() + "/seed.graph";
  WriteAll(graph, R"(graph foo(%x: f32[10], %y: f32[10]) {
  %a = add(%x, %y) {should_fallback = true}
  %b = mul(%a, 2.0)
  return %b
}
)");
  const std::string good = TmpDir() + "/good.npy";
  ASSERT_TRUE(runtime::WriteNpy(good, runtime::Tensor::Zeros(ir::DType::kF32, {10})).ok());
  const std::string bytes = ReadAll(good);
  ASSERT_EQ(bytes.size(), 128u + 40u);  // a 128-byte header, then 10 floats

  struct Case {
    std::string name;
    std::string bytes;
    std::string message;  // after "input x: error: <path>: "
  };
  const std::vector<Case> cases = {
      {"data_cut.npy", bytes.substr(0, 128 + 20),
       "data size mismatch: shape (10,) of f32 needs 40 bytes but the file has 20 "
       "(truncated)"},
      {"header_cut.npy", bytes.substr(0, 60),
       "truncated .npy header: it says 118 header bytes but the file has 50 after the prefix"},
      {"prefix_cut.npy", bytes.substr(0, 9), "truncated .npy header: no header length"},
      {"empty.npy", "", "not a .npy file (it does not start with \"\\x93NUMPY\")"},
      {"graph_as.npy", ReadAll(graph), "not a .npy file (it does not start with \"\\x93NUMPY\")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = TmpDir() + "/" + c.name;
    WriteAll(path, c.bytes);
    CliResult r = RunCli({graph, "--device=cpu", "--inputs=x=" + path + ",y=" + good});
    EXPECT_EQ(r.code, 2) << r.err;
    // The CLI has compiled (and printed the plan) before it reads the inputs;
    // its last word is the error.
    EXPECT_THAT(r.err,
                EndsWith(absl::StrCat("\ninput x: error: ", path, ": ", c.message, "\n")));
    EXPECT_THAT(r.out, Not(HasSubstr("check:")));
  }
  // The same files are fine once whole.
  CliResult ok = RunCli({graph, "--device=cpu", "--inputs=x=" + good + ",y=" + good, "--check"});
  EXPECT_EQ(ok.code, 0) << ok.err;
}

TEST(CliAllocationTest, InputsOrOutputsLargerThanTheMachineExit3WithAClearMessage) {
  setenv("SLUICE_CACHE_DIR", (TmpDir() + "/cache-cli").c_str(), 1);
  // Random inputs of 1 PiB (see AllocationTest): the CLI cannot make them.
  const std::string huge_in = TmpDir() + "/huge_in.graph";
  WriteAll(huge_in, R"(graph huge_in(%x: f32[2], %y: f32[281474976710656]) {
  %a = neg(%y) {should_fallback = true}
  return %a
}
)");
  CliResult in = RunCli({huge_in, "--device=cpu", "--run"});
  EXPECT_EQ(in.code, 3) << in.err;
  EXPECT_THAT(in.err, EndsWith("\nerror: cannot allocate random inputs for graph huge_in: out "
                               "of memory (the largest, %y: f32[281474976710656], is "
                               "1125899906842624 bytes)\n"));
  // An output of 1 PiB: Run's ResourceExhausted, as a runtime failure.
  const std::string huge_out = TmpDir() + "/huge_out.graph";
  WriteAll(huge_out, R"(graph huge_out(%x: f32[1]) {
  %big = expand(%x, shape = [281474976710656]) {should_fallback = true}
  return %big
}
)");
  CliResult out = RunCli({huge_out, "--device=cpu", "--run", "--check"});
  EXPECT_EQ(out.code, 3) << out.err;
  EXPECT_THAT(out.err, EndsWith("\nrun: error: output 0 (%big) of graph huge_out: cannot "
                                "allocate 1125899906842624 bytes for f32[281474976710656]\n"));
  EXPECT_THAT(out.out, Not(HasSubstr("check:")));
}

}  // namespace
}  // namespace sluice
