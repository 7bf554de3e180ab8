"""Tests of benchmarks/torch_bench.py's non-GPU parts: the suite files,
shrinking, the table, the fallback marking for Inductor, the check of sluice's
outputs, and a CPU smoke run of the whole script at tiny sizes. Skipped when
torch is not importable."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import sluice_graph as sg  # noqa: E402
import torch_bench as tb  # noqa: E402  (imports torch only when run)

try:
    import torch
    import torch_graph as tg
except ImportError:
    torch = None

GRAPHS = os.path.join(REPO, "benchmarks", "graphs")


class SuiteFilesTest(unittest.TestCase):
    """Needs no torch: the suite's files exist with issue 8's exact sizes."""

    def load(self, name):
        return sg.parse_file(os.path.join(GRAPHS, f"{name}.graph"))[0]

    def test_sizes(self):
        def sig(name):
            g = self.load(name)
            return ([str(n.type) for n in g.inputs], [n.op for n in g.calls],
                    [str(n.type) for n in g.outputs])
        m = 67108864
        self.assertEqual(sig("pointwise_chain"),
                         ([f"f32[{m}]"] * 2, ["mul", "add", "relu", "sigmoid", "mul"], [f"f32[{m}]"]))
        self.assertEqual(sig("bias_gelu"), (["f32[8192, 8192]", "f32[8192]"], ["add", "gelu"],
                                            ["f32[8192, 8192]"]))
        self.assertEqual(sig("softmax_f32")[0], ["f32[32768, 1024]"])
        self.assertEqual(sig("softmax_bf16")[0], ["bf16[32768, 1024]"])
        self.assertEqual(sig("softmax_vocab")[0], ["f32[4096, 32000]"])
        self.assertEqual(sig("layer_norm_f32")[0], ["f32[32768, 1024]", "f32[1024]", "f32[1024]"])
        self.assertEqual(sig("layer_norm_bf16")[0],
                         ["bf16[32768, 1024]", "bf16[1024]", "bf16[1024]"])
        self.assertEqual(sig("rms_norm")[0], ["f32[32768, 4096]", "f32[4096]"])
        self.assertEqual(sig("row_sum")[2], ["f32[16384]"])
        self.assertEqual(sig("col_sum")[2], ["f32[16384]"])
        self.assertEqual(sig("mlp"), (["f32[4096, 4096]", "f32[4096, 16384]", "f32[16384]",
                                       "f32[16384, 4096]"], ["matmul", "add", "gelu", "matmul"],
                                      ["f32[4096, 4096]"]))
        self.assertEqual(sig("attention"), (["f16[32, 16, 1024, 64]"] * 3,
                                            ["transpose", "matmul", "div", "softmax", "matmul"],
                                            ["f16[32, 16, 1024, 64]"]))
        self.assertEqual(sig("seed")[1], ["add", "mul"])
        seed_fallback = self.load("seed_fallback")
        self.assertEqual([n.meta for n in seed_fallback.calls], [{"should_fallback": True}, {}])
        self.assertEqual(self.load("seed").calls[0].meta, {})
        self.assertEqual(self.load("bias_gelu").calls[1].attrs, {"approximate": "tanh"})

    def test_graph_names_are_file_names(self):
        for f in os.listdir(GRAPHS):
            self.assertEqual(self.load(f[:-6]).name, f[:-6])

    def test_load_suite_takes_the_folders_graphs(self):
        with tempfile.TemporaryDirectory() as d:
            for name in ("softmax_f32", "seed"):
                with open(os.path.join(GRAPHS, name + ".graph")) as src, \
                        open(os.path.join(d, name + ".graph"), "w") as dst:
                    dst.write(src.read())
            with open(os.path.join(GRAPHS, "seed.graph")) as src, \
                    open(os.path.join(d, "my_seed.graph"), "w") as dst:
                dst.write(src.read().replace("graph seed(", "graph my_seed("))
            # The suite's graphs in the suite's order, then the others.
            self.assertEqual([g.name for g in tb.load_suite(d, [], None)],
                             ["softmax_f32", "seed", "my_seed"])
            self.assertEqual([g.name for g in tb.load_suite(d, ["my_seed"], None)], ["my_seed"])
            with self.assertRaisesRegex(SystemExit, "no layer_norm_f32.graph in"):
                tb.load_suite(d, ["layer_norm_f32"], None)

    def test_fourteen_files(self):
        self.assertEqual(sorted(tb.SUITE), sorted(f[:-6] for f in os.listdir(GRAPHS)))


class RoundsTest(unittest.TestCase):
    """Needs no torch: how several runs of each side become one figure."""

    def test_rounds(self):
        # Several gpu_bench runs: sluice's µs is their median, the first run
        # gives the rest; a graph missing from a later run is not counted there.
        first = {"seed": {"us": 266.4, "compile_cold_ms": 12.5, "inputs_npy_dir": "/x"},
                 "ln": {"us": 51.0}, "mlp": {"us": None}}
        merged = tb.merge_sluice_rounds([first, {"seed": {"us": 265.9}, "ln": {"us": 50.3}},
                                         {"seed": {"us": 267.0}}])
        self.assertEqual(merged["seed"]["us"], 266.4)
        self.assertEqual(merged["seed"]["us_rounds"], [266.4, 265.9, 267.0])
        self.assertEqual(merged["seed"]["compile_cold_ms"], 12.5)
        self.assertEqual(merged["seed"]["inputs_npy_dir"], "/x")
        self.assertAlmostEqual(merged["ln"]["us"], 50.65)
        self.assertEqual(merged["mlp"], {"us": None})
        self.assertEqual(first["seed"]["us"], 266.4, "the input is not modified")
        # One round: as read.
        self.assertEqual(tb.merge_sluice_rounds([first]), first)
        self.assertEqual(tb.median([3.0, 1.0, 2.0]), 2.0)
        self.assertEqual(tb.median([4.0, 1.0, 2.0, 3.0]), 2.5)
        calls = iter([50.9, 50.2, 50.3])
        self.assertEqual(tb.timed_rounds(lambda: next(calls), 3), (50.3, [50.9, 50.2, 50.3]))
        self.assertEqual(tb.timed_rounds(lambda: 7.0, 0), (7.0, [7.0]))
        # The clean-L2 timings are merged the same way.
        clean = tb.merge_sluice_rounds([
            {"sm": {"us": 38.0, "us_clean_l2": 34.0, "copy_gbs_clean_l2": 4200.0}},
            {"sm": {"us": 37.5, "us_clean_l2": 33.6, "copy_gbs_clean_l2": 4300.0}},
            {"sm": {"us": 37.9, "us_clean_l2": 34.4, "copy_gbs_clean_l2": 4250.0}}])["sm"]
        self.assertEqual((clean["us"], clean["us_clean_l2"], clean["copy_gbs_clean_l2"]),
                         (37.9, 34.0, 4250.0))
        self.assertEqual(clean["us_clean_l2_rounds"], [34.0, 33.6, 34.4])
        notes = tb.rounds_notes([{"graph": "seed", "sluice": merged["seed"],
                                  "inductor_us_rounds": [266.0, 265.5, 266.2]},
                                 {"graph": "mlp", "sluice": {"us": 1.0}}])
        self.assertEqual(notes, ["seed rounds (µs; the table has their medians): "
                                 "sluice 266.4, 265.9, 267.0; Inductor 266.0, 265.5, 266.2"])


class CleanL2Test(unittest.TestCase):
    """Needs no torch: the clean-L2 column's arithmetic."""

    def test_pct(self):
        floor = 128 << 20  # bytes read + written
        # 134.2 MB in 33.55 µs is 4000 GB/s; the larger copy figure is the yardstick.
        self.assertAlmostEqual(
            tb.clean_l2_pct_copy(floor, {"us_clean_l2": floor / 4000e3,
                                         "copy_gbs_clean_l2": 4000.0}, 3800.0), 100.0)
        self.assertAlmostEqual(
            tb.clean_l2_pct_copy(floor, {"us_clean_l2": floor / 4000e3,
                                         "copy_gbs_clean_l2": 3000.0}, 5000.0), 80.0)
        self.assertIsNone(tb.clean_l2_pct_copy(floor, {"us": 40.0}, 4000.0))
        row = tb.table_rows([{"graph": "sm", "floor_bytes": floor,
                              "sluice": {"us": 40.0}, "sluice_pct_copy_clean_l2": 91.4}])[0]
        self.assertEqual(row[tb.COLUMNS.index("sluice % copy, clean L2")], "91")
        compile_column = tb.COLUMNS.index("sluice compile ms (cold, warm, warm lowering again)")
        self.assertEqual(row[compile_column], "-, -, -")
        row = tb.table_rows([{"graph": "sm", "sluice": {
            "us": 40.0, "compile_cold_ms": 512.34, "compile_warm_ms": 0.0714,
            "compile_warm_disk_ms": 0.6049}}])[0]
        self.assertEqual(row[compile_column], "512.3, 0.071, 0.605")
        self.assertEqual(len(row), len(tb.COLUMNS))


@unittest.skipIf(torch is None, "torch is not installed")
class TorchBenchTest(unittest.TestCase):
    def test_shrink(self):
        g = sg.parse_file(os.path.join(GRAPHS, "layer_norm_f32.graph"))[0]
        small = tb.shrink_graph(g, lambda d: max(2, int(d ** 0.5)))
        self.assertEqual([str(n.type) for n in small.inputs], ["f32[181, 32]", "f32[32]",
                                                               "f32[32]"])
        self.assertEqual(small.calls[0].attrs["normalized_shape"], [32])
        self.assertEqual(str(small.outputs[0].type), "f32[181, 32]")
        self.assertEqual(str(g.inputs[0].type), "f32[32768, 1024]")  # the original is untouched

    def test_floor_bytes(self):
        g = sg.parse_file(os.path.join(GRAPHS, "seed.graph"))[0]
        self.assertEqual(tb.floor_bytes(g), 3 * 67108864 * 4)

    def test_inductor_marks_the_fallback_add(self):
        g = tb.shrink_graph(sg.parse_file(os.path.join(GRAPHS, "seed_fallback.graph"))[0],
                            lambda d: 64)
        inputs = tg.make_inputs(g)
        fn = tb.compile_module(tg.build_module(g), g)
        out = fn(*inputs)
        self.assertEqual(fn.marked, ["aten.add.Tensor"])
        torch.testing.assert_close(out[0], (inputs[0] + inputs[1]) * 2)
        self.assertEqual(tb.fallback_ops(g), ["add"])

    def test_check_sluice_outputs(self):
        g = tb.shrink_graph(sg.parse_file(os.path.join(GRAPHS, "softmax_bf16.graph"))[0],
                            lambda d: 16)
        inputs = tb.make_device_inputs(g, 0, "cpu")
        (ref,) = tg.run_graph(g, inputs)
        with tempfile.TemporaryDirectory() as d:
            tg.save_npy(os.path.join(d, "output.0.npy"), ref)
            self.assertTrue(tb.check_sluice_outputs(g, {"outputs_npy_dir": d}, inputs, "cpu")
                            .startswith("ok"))
            tg.save_npy(os.path.join(d, "output.0.npy"), ref + 0.5)
            self.assertTrue(tb.check_sluice_outputs(g, {"outputs_npy_dir": d}, inputs, "cpu")
                            .startswith("MISMATCH"))
            tg.save_npy(os.path.join(d, "output.0.npy"), ref.float())
            self.assertIn("torch.float32", tb.check_sluice_outputs(g, {"outputs_npy_dir": d},
                                                                   inputs, "cpu"))
            # Inputs given by sluice's side are used instead of ours.
            idir = os.path.join(d, "in")
            os.makedirs(idir)
            other = [t + 1 for t in inputs]
            tg.save_npy(os.path.join(idir, "x.npy"), other[0])
            tg.save_npy(os.path.join(d, "output.0.npy"), tg.run_graph(g, other)[0])
            self.assertTrue(tb.check_sluice_outputs(
                g, {"outputs_npy_dir": d, "inputs_npy_dir": idir}, inputs, "cpu").startswith("ok"))
        self.assertEqual(tb.check_sluice_outputs(g, {"us": 1.0}, inputs, "cpu"), "-")

    def test_table(self):
        rows = tb.table_rows([
            {"graph": "seed", "eager_us": 450.0, "inductor_us": 266.0, "inductor_pct_copy": 101.0,
             "sluice_pct_copy": 99.0, "sluice_pct_same_copy": 104.0, "inductor_compile_s": 10.4,
             "check": "ok",
             "sluice": {"us": 250.0, "compile_cold_ms": 12.5, "compile_warm_ms": 0.25}},
            {"graph": "mlp", "eager_us": 21636.0},
        ])
        self.assertEqual(rows[0], ["seed", "250.0", "450.0", "266.0", "0.94", "99", "101", "104",
                                   "12.5, 0.250", "10.4", "ok"])
        self.assertEqual(rows[1], ["mlp", "-", "21636.0", "-", "-", "-", "-", "-", "-", "-", "-"])
        md = tb.format_markdown(rows, {"device": "X"})
        self.assertIn("| graph | sluice µs | eager µs | Inductor µs | sluice/Inductor |", md)
        self.assertIn("| seed | 250.0 | 450.0 | 266.0 | 0.94 |", md)
        self.assertIn("- device: X", md)
        self.assertIn("seed", tb.format_text(rows))

    def test_cpu_smoke_run(self):
        # The whole script on the CPU at tiny sizes, with a sluice JSON whose
        # outputs are PyTorch's own (must check ok) and the cold-compile probe.
        with tempfile.TemporaryDirectory() as d:
            inputs_dir = os.path.join(d, "inputs")
            run = [sys.executable, os.path.join(REPO, "benchmarks", "torch_bench.py"),
                   "--device", "cpu", "--scale", "65536", "--only", "seed_fallback,row_sum"]
            p = subprocess.run(run + ["--no_compile", "--save_inputs", inputs_dir],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            sluice = {}
            for name in ("seed_fallback", "row_sum"):
                g = tb._load_one(os.path.join(GRAPHS, f"{name}.graph"),
                                 type("A", (), {"small": False, "scale": 65536})())
                ins = [tg.load_npy(os.path.join(inputs_dir, name, f"{n.name}.npy"))
                       for n in g.inputs]
                out_dir = os.path.join(d, "sluice", name)
                os.makedirs(out_dir)
                for i, t in enumerate(tg.run_graph(g, ins)):
                    tg.save_npy(os.path.join(out_dir, f"{g.outputs[i].name}.npy"), t)
                sluice[name] = {"us": 5.0, "compile_cold_ms": 3.0, "compile_warm_ms": 0.1,
                                "outputs_npy_dir": out_dir, "timing": "dobench"}
            with open(os.path.join(d, "sluice.json"), "w") as f:
                json.dump(sluice, f)
            md, js = os.path.join(d, "r.md"), os.path.join(d, "r.json")
            p = subprocess.run(run + ["--sluice_json", os.path.join(d, "sluice.json"),
                                      "--markdown", md, "--json_out", js, "--only", "seed_fallback"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("seed_fallback", p.stdout)
            # How gpu_bench timed sluice is in the header.
            self.assertIn("sluice timing (gpu_bench --timing): dobench", p.stdout)
            with open(js) as f:
                (r,) = json.load(f)["results"]
            self.assertEqual(r["graph"], "seed_fallback")
            self.assertTrue(r["check"].startswith("ok"), r)
            for key in ("eager_us", "inductor_us", "inductor_compile_s", "sluice_pct_copy",
                        "copy_us", "sluice_pct_same_copy"):
                self.assertGreater(r[key], 0, key)
            with open(md) as f:
                self.assertIn("| seed_fallback | 5.0 |", f.read())
            self.assertEqual(r["inputs"], "torch_bench's")
            # Given sluice's inputs, PyTorch is timed (and checked) on them.
            sluice["seed_fallback"]["inputs_npy_dir"] = os.path.join(inputs_dir, "seed_fallback")
            with open(os.path.join(d, "sluice.json"), "w") as f:
                json.dump(sluice, f)
            p = subprocess.run(run + ["--sluice_json", os.path.join(d, "sluice.json"),
                                      "--json_out", js, "--only", "seed_fallback", "--no_compile"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(js) as f:
                (r,) = json.load(f)["results"]
            self.assertEqual(r["inputs"], "sluice's")
            self.assertTrue(r["check"].startswith("ok"), r)


if __name__ == "__main__":
    unittest.main()
