"""Tests of tools/torch_graph.py (running .graph files in PyTorch). Skipped
when torch or numpy is not importable."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_graph as sg  # noqa: E402

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import torch_graph as tg
except ImportError:
    torch = None

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(REPO, "tools")


def g(text):
    return sg.parse_graph(text, "test.graph")


@unittest.skipIf(torch is None, "torch is not installed")
class TorchGraphTest(unittest.TestCase):
    def test_every_op_is_implemented(self):
        self.assertEqual(set(tg.OP_IMPLS), set(sg.OPS))

    def test_cpp_inferred_types_match_pytorch(self):
        # all_ops.graph holds every op with the types ir/ops.cc infers;
        # PyTorch computes the same dtype and shape for each.
        for graph in sg.parse_file(os.path.join(REPO, "ir", "testdata", "all_ops.graph")):
            with self.subTest(graph=graph.name):
                tg.infer_types(graph)  # raises on any difference
                outs = tg.run_graph(graph, tg.make_inputs(graph, seed=1))
                self.assertEqual([tg._tensor_type(o) for o in outs],
                                 [n.type for n in graph.outputs])

    def test_module_matches_interpreter(self):
        for graph in sg.parse_file(os.path.join(REPO, "ir", "testdata", "all_ops.graph")):
            with self.subTest(graph=graph.name):
                inputs = tg.make_inputs(graph, seed=2)
                a = tg.run_graph(graph, inputs)
                b = tg.build_module(graph)(*inputs)
                self.assertEqual(len(a), len(b))
                for x, y in zip(a, b):
                    torch.testing.assert_close(x, y, equal_nan=True)

    def test_seed(self):
        graph = sg.parse_file(os.path.join(REPO, "examples", "seed.graph"))[0]
        x, y = torch.randn(10), torch.randn(10)
        (out,) = tg.run_graph(graph, {"x": x, "y": y})
        torch.testing.assert_close(out, (x + y) * 2.0)
        (out,) = tg.run_graph(graph, [x.numpy(), y.numpy()])
        torch.testing.assert_close(out, (x + y) * 2.0)

    def test_reduction_over_all_dims(self):
        graph = g("graph r(%x: f32[3, 4]) {\n  %s = sum(%x)\n  %k = amax(%x, dims = [], "
                  "keepdim = true)\n  %m = mean(%x, dims = [-1])\n  return %s, %k, %m\n}")
        x = torch.randn(3, 4)
        s, k, m = tg.run_graph(graph, [x])
        torch.testing.assert_close(s, x.sum())
        self.assertEqual(tuple(k.shape), (1, 1))
        torch.testing.assert_close(k, x.amax().reshape(1, 1))
        torch.testing.assert_close(m, x.mean(-1))

    def test_argmax_takes_the_first_index_on_ties(self):
        graph = g("graph a(%x: f32[2, 4]) {\n  %i = argmax(%x, dim = 1)\n  return %i\n}")
        x = torch.tensor([[1.0, 3.0, 3.0, 0.0], [5.0, 5.0, 5.0, 5.0]])
        (i,) = tg.run_graph(graph, [x])
        self.assertEqual(i.tolist(), [1, 0])
        self.assertEqual(i.dtype, torch.int64)

    def test_slice_clamps_like_python(self):
        graph = g("graph s(%x: f32[6]) {\n  %a = slice(%x, dim = 0, start = -4, end = 100, "
                  "step = 2)\n  %b = slice(%x, dim = 0, start = 5, end = 2)\n"
                  "  %c = slice(%x, dim = 0, start = -100)\n  return %a, %b, %c\n}")
        x = torch.arange(6.0)
        a, b, c = tg.run_graph(graph, [x])
        self.assertEqual(a.tolist(), [2.0, 4.0])
        self.assertEqual(b.numel(), 0)
        self.assertEqual(c.tolist(), x.tolist())
        tg.infer_types(graph)
        self.assertEqual([n.type.shape for n in graph.calls], [(2,), (0,), (6,)])

    def test_literals_promote_like_python_scalars(self):
        graph = g("graph p(%h: f16[3], %i: i32[3], %b: bool[3]) {\n"
                  "  %a = mul(%h, 3)\n  %c = add(%i, 1.5)\n  %d = div(%i, 2)\n"
                  "  %e = where(%b, 1, 0)\n  %f = where(%b, %h, 0.5)\n"
                  "  %g = maximum(%i, 2.5)\n  %k = minimum(%h, 0.25)\n  %l = pow(2, %h)\n"
                  "  return %a, %c, %d, %e, %f, %g, %k, %l\n}")
        tg.infer_types(graph)
        self.assertEqual([n.type.dtype.name for n in graph.calls],
                         ["f16", "f32", "f32", "i64", "f16", "f32", "f16", "f16"])
        h = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float16)
        i = torch.tensor([1, 2, 3], dtype=torch.int32)
        b = torch.tensor([True, False, True])
        outs = tg.run_graph(graph, [h, i, b])
        self.assertEqual(outs[3].tolist(), [1, 0, 1])
        self.assertEqual(outs[5].tolist(), [2.5, 2.5, 3.0])
        torch.testing.assert_close(outs[7], 2 ** h)

    def test_composites(self):
        graph = g("graph c(%x: f32[4, 8], %w: f32[8], %b: f32[8]) {\n"
                  "  %ln = layer_norm(%x, %w, %b, normalized_shape = [8], eps = 1e-3)\n"
                  "  %ln0 = layer_norm(%x, normalized_shape = [8])\n"
                  "  %rms = rms_norm(%x, %w, normalized_shape = [8])\n"
                  "  %gt = gelu(%x, approximate = \"tanh\")\n  %ge = gelu(%x)\n"
                  "  %sm = softmax(%x, dim = 0)\n  %ls = log_softmax(%x, dim = -1)\n"
                  "  return %ln, %ln0, %rms, %gt, %ge, %sm, %ls\n}")
        x, w, b = torch.randn(4, 8), torch.randn(8), torch.randn(8)
        outs = tg.run_graph(graph, [x, w, b])
        want = [F.layer_norm(x, [8], w, b, 1e-3), F.layer_norm(x, [8]),
                x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w,
                F.gelu(x, approximate="tanh"), F.gelu(x), torch.softmax(x, 0),
                torch.log_softmax(x, -1)]
        for o, e in zip(outs, want):
            torch.testing.assert_close(o, e)

    def test_layout_and_creation(self):
        graph = g("graph l(%x: f32[2, 3]) {\n  %t = transpose(%x, dim0 = 0, dim1 = 1)\n"
                  "  %p = permute(%t, dims = [1, 0])\n  %r = reshape(%p, shape = [-1])\n"
                  "  %u = unsqueeze(%r, dim = 0)\n  %e = expand(%u, shape = [2, -1])\n"
                  "  %c = concat(%e, %e, dim = 0)\n  %s = squeeze(%u)\n"
                  "  %f = full(shape = [2], value = 7, dtype = i32)\n  %m = matmul(%x, %t)\n"
                  "  %z = cast(%m, dtype = bf16)\n  return %c, %s, %f, %z\n}")
        x = torch.randn(2, 3)
        c, s, f, z = tg.run_graph(graph, [x])
        self.assertEqual(tuple(c.shape), (4, 6))
        torch.testing.assert_close(s, x.reshape(-1))
        self.assertEqual(f.tolist(), [7, 7])
        self.assertEqual(f.dtype, torch.int32)
        self.assertEqual(z.dtype, torch.bfloat16)
        torch.testing.assert_close(z, (x @ x.t()).bfloat16())

    def test_annotation_mismatch_is_reported(self):
        graph = g("graph m(%x: i32[3]) {\n  %a: i32[3] = exp(%x)\n  return %a\n}")
        with self.assertRaisesRegex(ValueError, r"test.graph:2:16: %a \(exp\) is annotated "
                                                r"i32\[3\] but PyTorch computes f32\[3\]"):
            tg.infer_types(graph)
        with self.assertRaisesRegex(ValueError, "annotated"):
            tg.run_graph(graph, [torch.ones(3, dtype=torch.int32)])

    def test_bad_inputs(self):
        graph = sg.parse_file(os.path.join(REPO, "examples", "seed.graph"))[0]
        with self.assertRaisesRegex(ValueError, r"missing: \['y'\]"):
            tg.run_graph(graph, {"x": torch.randn(10)})
        with self.assertRaisesRegex(ValueError, "takes 2 inputs, got 1"):
            tg.run_graph(graph, [torch.randn(10)])
        with self.assertRaisesRegex(ValueError, r"input %y: expected f32\[10\], got f64\[10\]"):
            tg.run_graph(graph, [torch.randn(10), torch.randn(10, dtype=torch.float64)])

    def test_runtime_error_names_the_node(self):
        graph = g("graph e(%x: i32[3]) {\n  %a: i32[3] = pow(%x, -1)\n  return %a\n}")
        with self.assertRaisesRegex(RuntimeError, r"test.graph:2:16: %a = pow\(...\) failed"):
            tg.run_graph(graph, [torch.ones(3, dtype=torch.int32)])

    def test_infer_types_then_print(self):
        graph = sg.parse_file(os.path.join(REPO, "examples", "seed.graph"))[0]
        tg.infer_types(graph)
        self.assertEqual(sg.print_graph(graph),
                         "graph foo(%x: f32[10], %y: f32[10]) {\n"
                         "  %a: f32[10] = add(%x, %y) {should_fallback = true}\n"
                         "  %b: f32[10] = mul(%a, 2.0)\n  return %b\n}\n")

    def test_npy_bf16_round_trip(self):
        t = torch.randn(3, 5).bfloat16()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t.npy")
            tg.save_npy(p, t)
            a = np.load(p)
            self.assertEqual(a.dtype.str, "|V2")
            self.assertTrue(torch.equal(tg.load_npy(p), t))

    def test_npy_keeps_rank_0_and_makes_views_contiguous(self):
        # A full reduction's output is 0-d (np.ascontiguousarray made it 1-d).
        with tempfile.TemporaryDirectory() as d:
            for t in (torch.tensor(2.5), torch.tensor(-1.0).bfloat16()):
                p = os.path.join(d, "s.npy")
                tg.save_npy(p, t)
                got = tg.load_npy(p)
                self.assertEqual(tuple(got.shape), ())
                self.assertEqual(got.dtype, t.dtype)
                self.assertTrue(torch.equal(got, t))
        a = np.arange(6, dtype=np.float32).reshape(2, 3).T
        got = tg.from_numpy(a)
        self.assertTrue(got.is_contiguous())
        self.assertTrue(torch.equal(got, torch.tensor(a.copy())))

    def test_torch_compile(self):
        graph = sg.parse_file(os.path.join(REPO, "benchmarks", "graphs", "pointwise_chain.graph"))[0]
        small = sg.Graph(graph.name)
        x = small.add_input("x", sg.TensorType(sg.F32, (64,)))
        y = small.add_input("y", sg.TensorType(sg.F32, (64,)))
        env = {"x": x, "y": y}
        for n in graph.calls:
            env[n.name] = small.add_call(n.name, n.op, [env[o.name] if isinstance(o, sg.Node)
                                                        else o for o in n.operands], n.attrs)
        small.set_outputs([env[n.name] for n in graph.outputs])
        inputs = tg.make_inputs(small, seed=3)
        want = tg.run_graph(small, inputs)
        compiled = torch.compile(tg.build_module(small))
        got = compiled(*inputs)
        torch.testing.assert_close(got[0], want[0])
        xx, yy = inputs
        torch.testing.assert_close(want[0], torch.sigmoid(torch.relu(xx * yy + 1)) * xx)

    def test_command_line(self):
        with tempfile.TemporaryDirectory() as d:
            x, y = torch.randn(10), torch.randn(10)
            tg.save_npy(os.path.join(d, "x.npy"), x)
            tg.save_npy(os.path.join(d, "y.npy"), y)
            out = os.path.join(d, "out")
            p = subprocess.run(
                [sys.executable, os.path.join(TOOLS, "torch_graph.py"),
                 os.path.join(REPO, "examples", "seed.graph"),
                 "--inputs", f"x={d}/x.npy,y={d}/y.npy", "--save_outputs", out],
                capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("output 0 (%b): f32[10]", p.stdout)
            torch.testing.assert_close(tg.load_npy(os.path.join(out, "b.npy")),
                                       (x + y) * 2.0)
            p = subprocess.run(
                [sys.executable, os.path.join(TOOLS, "torch_graph.py"),
                 os.path.join(REPO, "ir", "testdata", "all_ops.graph"), "--graph", "linalg",
                 "--random_inputs", "0", "--print_types"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("%bmm: f32[7, 5, 2, 4] = matmul(%a, %c)", p.stdout)
            p = subprocess.run(
                [sys.executable, os.path.join(TOOLS, "torch_graph.py"),
                 os.path.join(REPO, "ir", "testdata", "all_ops.graph")],
                capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("pick one with --graph", p.stderr)


if __name__ == "__main__":
    unittest.main()
