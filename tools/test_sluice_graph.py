"""Tests of tools/sluice_graph.py: round trip of every .graph file in the
repository, the C++ printer's float spelling, and every parser error with its
message and position (the same as ir/parser.cc's). Pure Python: runs without
torch; where torch is importable, graphs without annotations get their types
from tools/torch_graph.py and are printed too.

    python3 -m unittest discover -s tools -p 'test_*.py'    (or pytest tools/)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_graph as sg  # noqa: E402

try:
    import torch  # noqa: F401
    import torch_graph as tg
except ImportError:  # torch (or numpy) absent: the typed-printing parts skip
    tg = None


def repo_root() -> str:
    """The source tree: Bazel's runfiles when run as a py_test, else this checkout."""
    srcdir = os.environ.get("TEST_SRCDIR")
    workspace = os.environ.get("TEST_WORKSPACE")
    if srcdir and workspace and os.path.isdir(os.path.join(srcdir, workspace)):
        return os.path.join(srcdir, workspace)
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def all_graph_files():
    root = repo_root()
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(("bazel-", ".")) and d != "__pycache__")
        out += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".graph")]
    return out


def strip_comments(text: str) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    return "\n".join(lines) + "\n"


class RoundTripTest(unittest.TestCase):
    def test_finds_the_known_files(self):
        files = [os.path.relpath(f, repo_root()) for f in all_graph_files()]
        self.assertIn(os.path.join("examples", "seed.graph"), files)
        self.assertIn(os.path.join("ir", "testdata", "all_ops.graph"), files)
        self.assertIn(os.path.join("benchmarks", "graphs", "seed_fallback.graph"), files)
        self.assertIn(os.path.join("testdata", "models", "mlp", "mlp.graph"), files)

    def test_every_graph_file_round_trips(self):
        checked = 0
        for path in all_graph_files():
            with self.subTest(path=path):
                try:
                    graphs = sg.parse_file(path)
                except sg.ParseError:
                    if "invalid" in os.path.basename(path):
                        continue  # deliberate errors, like ir/roundtrip_test.cc
                    raise
                self.assertNotIn("invalid", os.path.basename(path), "parsed, but should not")
                if not all(n.type is not None for g in graphs for n in g.nodes):
                    if tg is None:
                        continue  # unannotated, and no torch to infer the types
                    for g in graphs:
                        tg.infer_types(g)
                printed = sg.print_module(graphs)
                again = sg.parse_module(printed, path + " (printed)")
                self.assertEqual(sg.print_module(again), printed)
                # Every annotation survives: the re-parsed graph verifies them.
                for g1, g2 in zip(graphs, again):
                    self.assertEqual([(n.name, n.type) for n in g1.nodes],
                                     [(n.name, n.type) for n in g2.nodes])
                checked += 1
        self.assertGreater(checked, 20)

    def test_generated_files_are_printer_output(self):
        # Files written by the printer (benchmarks, exported models) read back
        # to exactly their text: the Python printer writes what C++'s writes.
        root = repo_root()
        dirs = [os.path.join(root, "benchmarks", "graphs"), os.path.join(root, "testdata", "models")]
        n = 0
        for path in all_graph_files():
            if not any(path.startswith(d) for d in dirs):
                continue
            with open(path) as f:
                text = f.read()
            with self.subTest(path=path):
                printed = sg.print_module(sg.parse_module(text, path))
                self.assertEqual(strip_comments(printed), strip_comments(text))
                n += 1
        self.assertGreaterEqual(n, 22)

    def test_all_ops_prints_like_the_cpp_printer(self):
        path = os.path.join(repo_root(), "ir", "testdata", "all_ops.graph")
        with open(path) as f:
            text = f.read()
        printed = sg.print_module(sg.parse_module(text, path))
        # The only difference: C++ prints the literal -1e-3 as -0.001.
        self.assertEqual(strip_comments(printed), strip_comments(text).replace("-1e-3", "-0.001"))

    def test_ir(self):
        g = sg.parse_graph(
            "graph foo(%x: f32[10], %y: f32[10]) {\n"
            "  %a: f32[10] = add(%x, %y) {should_fallback = true, loc = \"m.py:3\"}\n"
            "  %b: f32[10] = mul(%a, 2.0)\n"
            "  %c: f32[10] = slice(%b, dim = 0, step = 2)\n"
            "  return %b, %a\n}\n", "seed.graph")
        self.assertEqual(g.name, "foo")
        self.assertEqual([n.name for n in g.inputs], ["x", "y"])
        a, b, c = g.calls
        self.assertEqual(a.meta, {"should_fallback": True, "loc": "m.py:3"})
        self.assertIs(a.operands[0], g.inputs[0])
        self.assertEqual(b.operands[1], 2.0)
        self.assertIsInstance(b.operands[1], float)
        self.assertEqual(c.attr("step"), 2)
        self.assertEqual(c.attr("start"), 0)  # the schema default
        self.assertEqual(c.attr("end"), sg.INT_MAX)
        self.assertEqual(g.outputs, [b, a])
        self.assertEqual(a.location.line, 2)
        self.assertEqual(a.location.col, 17)
        self.assertEqual(g.find("a"), a)
        self.assertEqual(str(a.type), "f32[10]")
        self.assertEqual(a.type.nbytes, 40)

    def test_attribute_values(self):
        g = sg.parse_graph(
            'graph g(%x: f32[2, 3]) {\n'
            '  %a: f16[2, 3] = cast(%x, dtype = f16) {k = [1, [2.5, "s\\n\\x01"], bf16], n = -3}\n'
            '  return %a\n}\n')
        a = g.calls[0]
        self.assertIs(a.attrs["dtype"], sg.F16)
        self.assertEqual(a.meta["k"], [1, [2.5, "s\n\x01"], sg.BF16])
        self.assertEqual(a.meta["n"], -3)
        self.assertIn('{k = [1, [2.5, "s\\n\\x01"], bf16], n = -3}', sg.print_graph(g))

    def test_int_and_float_literals_stay_apart(self):
        g = sg.parse_graph("graph g(%x: i32[2]) {\n  %a: i32[2] = mul(%x, 2)\n"
                           "  %b: f32[2] = mul(%x, 2.0)\n  %c: f32[2] = add(%x, -inf)\n"
                           "  return %a, %b, %c\n}\n")
        self.assertIsInstance(g.calls[0].operands[1], int)
        self.assertIsInstance(g.calls[1].operands[1], float)
        printed = sg.print_graph(g)
        self.assertIn("mul(%x, 2)\n", printed)
        self.assertIn("mul(%x, 2.0)\n", printed)
        self.assertIn("add(%x, -inf)\n", printed)

    def test_inf_and_nan_are_numbers_only_where_numbers_stand(self):
        g = sg.parse_graph("graph inf(%x: f32[2]) {\n  %a: f32[2] = add(%x, inf) "
                           "{nan = nan, k = [-inf, inf]}\n  %b: f32[2] = mul(%x, nan)\n"
                           "  return %a, %b\n}\n")
        self.assertEqual(g.name, "inf")
        a, b = g.calls
        self.assertEqual(a.operands[1], float("inf"))
        self.assertNotEqual(b.operands[1], b.operands[1])  # nan
        self.assertNotEqual(a.meta["nan"], a.meta["nan"])
        self.assertEqual(a.meta["k"], [float("-inf"), float("inf")])
        self.assertIn("add(%x, inf) {nan = nan, k = [-inf, inf]}", sg.print_graph(g))

    def test_builder_api(self):
        g = sg.Graph("built")
        x = g.add_input("x", sg.TensorType(sg.F32, (4,)))
        y = g.add_call("y", "relu", [x], type=sg.TensorType(sg.F32, (4,)))
        g.set_outputs([y])
        self.assertEqual(sg.print_graph(g),
                         "graph built(%x: f32[4]) {\n  %y: f32[4] = relu(%x)\n  return %y\n}\n")
        with self.assertRaisesRegex(sg.ParseError, "relu: expected 1 operand, got 2"):
            g.add_call("z", "relu", [x, y])
        with self.assertRaisesRegex(sg.ParseError, "graph inputs must be added before"):
            g.add_input("w", sg.TensorType(sg.F32, (4,)))
        with self.assertRaisesRegex(ValueError, "has no type"):
            sg.print_graph(sg.parse_graph("graph g(%x: f32[1]) {\n %a = neg(%x)\n return %a\n}"))


class FormatDoubleTest(unittest.TestCase):
    def test_matches_std_to_chars(self):
        # Expected values: std::to_chars(double) from libstdc++ + ".0" when
        # there is no '.' or exponent (ir/attribute.cc FormatDouble).
        cases = [
            (1e5, "1e+05"), (-0.0, "-0.0"), (0.0, "0.0"),
        ] + list({
            1e5: "1e+05", 100.0: "100.0", 0.0001: "1e-04", 1e-5: "1e-05", 1e16: "1e+16",
            123456789012345680.0: "123456789012345680.0", 0.1: "0.1", 1.5: "1.5",
            1234567.0: "1234567.0", 1e22: "1e+22",
            3.14159e-7: "3.14159e-07", 0.001: "0.001", 65504.0: "65504.0", -1e30: "-1e+30",
            0.0025: "0.0025", 2.0: "2.0", 5e-324: "5e-324", float("inf"): "inf",
            float("-inf"): "-inf", float("nan"): "nan", 1.1920928955078125e-07:
            "1.1920928955078125e-07", 0.35355339059327373: "0.35355339059327373",
        }.items())
        for v, want in cases:
            with self.subTest(v=v):
                self.assertEqual(sg.format_double(v), want)

    def test_round_trips(self):
        import random
        rng = random.Random(7)
        for _ in range(2000):
            v = rng.choice([rng.uniform(-1e6, 1e6), 10 ** rng.uniform(-30, 30),
                            float(rng.randint(-10**9, 10**9))])
            s = sg.format_double(v)
            self.assertEqual(float(s), v, s)
            self.assertTrue(any(c in s for c in ".e"), s)


# (text, expected "line:col: error: message"); the messages and positions
# are ir/parser.cc's (checked against the C++ parser when these were written).
ERRORS = [
    ("", "1:1: error: expected 'graph', got end of input"),
    ("graph", "1:6: error: expected a graph name, got end of input"),
    ("graph g %x", "1:9: error: expected '(' after the graph name, got '%x'"),
    ("graph g(%x f32[2])", "1:12: error: expected ':' after the parameter name, got 'f32'"),
    ("graph g(%x: f33[2]) {", "1:13: error: unknown dtype 'f33' (expected f32, f16, bf16, f64, "
     "i32, i64 or bool)"),
    ("graph g(%x: f32[-2])", "1:17: error: dimension sizes must not be negative"),
    ("graph g(%x: f32[2.0])", "1:17: error: expected a dimension size, got '2.0'"),
    ("graph g(%x: f32[2], %x: f32[2])", "1:21: error: duplicate name '%x'"),
    ("graph g(%x: f32[2]) {\n  return %x\n}\n}", "4:1: error: expected 'graph', got '}'"),
    ("graph g(%x: f32[2]) {\n}", "2:1: error: missing 'return' at the end of the graph"),
    ("graph g(%x: f32[2]) {\n  return\n}", "3:1: error: expected a returned value (%name), "
     "got '}'"),
    ("graph g(%x: f32[2]) {\n  return %y\n}", "2:10: error: return of undefined value '%y'"),
    ("graph g(%x: f32[2]) {\n  %a = add(%x, %q)\n  return %a\n}",
     "2:16: error: use of undefined value '%q'"),
    ("graph g(%x: f32[2]) {\n  %x = neg(%x)\n  return %x\n}", "2:3: error: duplicate name '%x'"),
    ("graph g(%x: f32[2]) {\n  %a = foo(%x)\n  return %a\n}", "2:8: error: unknown op 'foo'"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x, %x)\n  return %a\n}",
     "2:8: error: neg: expected 1 operand, got 2"),
    ("graph g(%x: f32[2]) {\n  %a = layer_norm(normalized_shape = [2])\n  return %a\n}",
     "2:8: error: layer_norm: expected 1 to 3 operands, got 0"),
    ("graph g(%x: f32[2]) {\n  %a = concat(dim = 0)\n  return %a\n}",
     "2:8: error: concat: expected at least 1 operands, got 0"),
    ("graph g(%x: f32[2]) {\n  %a = neg(1.0)\n  return %a\n}",
     "2:8: error: neg: operand 0 is a scalar literal; this op takes only values"),
    ("graph g(%x: f32[2]) {\n  %a = add(1, 2)\n  return %a\n}",
     "2:8: error: add: at least one operand must be a value, not a literal"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x, foo = 1)\n  return %a\n}",
     "2:8: error: neg: unknown attribute 'foo' (this op takes no attributes)"),
    ("graph g(%x: f32[2]) {\n  %a = sum(%x, dim = 1)\n  return %a\n}",
     "2:8: error: sum: unknown attribute 'dim' (expected one of: dims, keepdim)"),
    ("graph g(%x: f32[2]) {\n  %a = softmax(%x, dim = 1.0)\n  return %a\n}",
     "2:8: error: softmax: attribute 'dim' must be a int, got 1.0"),
    ("graph g(%x: f32[2]) {\n  %a = sum(%x, dims = [1.5])\n  return %a\n}",
     "2:8: error: sum: attribute 'dims' must be a list of ints, got [1.5]"),
    ("graph g(%x: f32[2]) {\n  %a = gelu(%x, approximate = \"fast\")\n  return %a\n}",
     "2:8: error: gelu: attribute 'approximate' must be one of \"none\", \"tanh\", got \"fast\""),
    ("graph g(%x: f32[2]) {\n  %a = softmax(%x)\n  return %a\n}",
     "2:8: error: softmax: missing required attribute 'dim' (int)"),
    ("graph g(%x: f32[2]) {\n  %a = softmax(%x, dim = 0, dim = 0)\n  return %a\n}",
     "2:29: error: duplicate attribute 'dim'"),
    ("graph g(%x: f32[2]) {\n  %a = softmax(dim = 0, %x)\n  return %a\n}",
     "2:25: error: operands must come before attributes"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x) {k = 1, k = 2}\n  return %a\n}",
     "2:24: error: duplicate metadata key 'k'"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x) {1 = 2}\n  return %a\n}",
     "2:17: error: expected a metadata key, got '1'"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x) {k = %x}\n  return %a\n}",
     "2:21: error: expected an attribute value (number, true, false, string, dtype or list), "
     "got '%x'"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x) {k = \"abc}\n  return %a\n}",
     "2:21: error: unterminated string"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x) {k = \"\\q\"}\n  return %a\n}",
     "2:21: error: unknown escape '\\q' in string"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x) {k = \"\\x4\"}\n  return %a\n}",
     "2:21: error: expected two hex digits after \\x"),
    ("graph g(%x: f32[2]) {\n  %a = add(%x, 1 @)\n  return %a\n}",
     "2:18: error: unexpected character '@'"),
    ("graph g(%x: f32[2]) {\n  %a = add(%x, 12abc)\n  return %a\n}",
     "2:16: error: invalid character in number"),
    ("graph g(%x: f32[2]) {\n  %a = add(%x, 1e)\n  return %a\n}",
     "2:16: error: expected digits in the exponent"),
    ("graph g(%x: f32[2]) {\n  %a = add(%x, -)\n  return %a\n}",
     "2:16: error: expected a number after the sign"),
    ("graph g(%x: f32[2]) {\n  %a = add(%x, 99999999999999999999)\n  return %a\n}",
     "2:16: error: integer 99999999999999999999 does not fit in 64 bits"),
    ("graph g(%x: f32[2]) {\n  %a = add(%x, 1e999)\n  return %a\n}",
     "2:16: error: number 1e999 is out of range"),
    ("graph g(%x: f32[2]) {\n  % = neg(%x)\n  return %a\n}",
     "2:3: error: expected a name after '%'"),
    ("graph g(%x: f32[2]) {\n  %a neg(%x)\n  return %a\n}",
     "2:6: error: expected '=' or ':', got 'neg'"),
    ("graph g(%x: f32[2]) {\n  %a = neg %x\n  return %a\n}",
     "2:12: error: expected '(' after the op name, got '%x'"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x\n  return %a\n}",
     "3:3: error: expected ',' or ')', got 'return'"),
    ("graph g(%x: f32[2]) {\n  %a = neg(%x) {k = " + "[" * 40 + "]" * 40 + "}\n  return %a\n}",
     "2:53: error: lists are nested too deeply"),
    ("graph g(%x: f32[2]) {\n  neg(%x)\n  return %x\n}",
     "2:3: error: expected a statement (%name = op(...)) or 'return', got 'neg'"),
]


class ErrorTest(unittest.TestCase):
    def test_every_error_with_its_position(self):
        for text, want in ERRORS:
            with self.subTest(want=want):
                with self.assertRaises(sg.ParseError) as cm:
                    sg.parse_module(text, "t.graph")
                first = str(cm.exception).split("\n")[0]
                self.assertEqual(first, "t.graph:" + want)

    def test_diagnostic_has_the_line_and_a_caret(self):
        with self.assertRaises(sg.ParseError) as cm:
            sg.parse_module("graph g(%x: f32[2]) {\n\t%a = foo(%x)\n  return %a\n}", "t.graph")
        self.assertEqual(str(cm.exception),
                         "t.graph:2:7: error: unknown op 'foo'\n\t%a = foo(%x)\n\t     ^")
        self.assertEqual(cm.exception.location.line, 2)
        self.assertEqual(cm.exception.message, "unknown op 'foo'")

    def test_no_file_name(self):
        with self.assertRaisesRegex(sg.ParseError, "^<input>:1:1: error: expected 'graph'"):
            sg.parse_module("x")

    def test_parse_graph_wants_one_graph(self):
        two = "graph a(%x: f32[1]) {\n  return %x\n}\ngraph b(%x: f32[1]) {\n  return %x\n}\n"
        self.assertEqual(len(sg.parse_module(two)), 2)
        with self.assertRaisesRegex(sg.ParseError, "4:1: error: expected exactly one graph, found 2"):
            sg.parse_graph(two)

    def test_missing_file(self):
        with self.assertRaisesRegex(sg.ParseError, "no/such.graph: cannot open file"):
            sg.parse_file("no/such.graph")


if __name__ == "__main__":
    unittest.main()
