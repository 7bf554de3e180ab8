"""Runs the CUDA kernels sluice generates on a GPU and checks them against PyTorch.

A developer tool for the CUDA emitter (codegen/cuda), for a GPU host with
PyTorch and CuPy. Emit the modules first, on any machine:

    bazel run //codegen/cuda:emit_cuda_main -- $PWD/codegen/cuda/testdata/ops.graph /tmp/emitted

which writes <graph>.cu (the NVRTC translation unit) and <graph>.json (the
steps in order: kernels with grid/block/args, fallback and library steps).
Then on the GPU host:

    python3 codegen/cuda/gpu_check.py --emitted /tmp/emitted codegen/cuda/testdata/ops.graph
    python3 codegen/cuda/gpu_check.py --emitted /tmp/emitted --bench \
        codegen/cuda/testdata/benchmarks.graph

For every graph: seeded random inputs on the GPU; the PyTorch reference of
the original graph (tools/torch_graph.py) in the graph's own dtypes; the
generated kernels run in step order (fallback and library steps take the
reference's value of their node); every graph output compared with the
reference (per-dtype tolerances, NaN == NaN). Each kernel runs twice, its
outputs first filled with two different poison patterns, and must write the
same bytes both times (so every element is written, deterministically).

--bench also times every kernel (CUDA events around batches of back-to-back
launches, median) and prints its
bandwidth (bytes of its arguments, each read or written once) against a
device-to-device copy measured in the same run, and PyTorch eager's time for
the whole graph; --inductor adds torch.compile's.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import sluice_graph as sg  # noqa: E402
import torch_graph as tg  # noqa: E402

import cupy  # noqa: E402

SIZES = {"f32": 4, "f16": 2, "bf16": 2, "f64": 8, "i32": 4, "i64": 8, "bool": 1}
TOL = {"f64": (1e-9, 1e-9), "f32": (1e-4, 1e-4), "f16": (1e-2, 1e-2), "bf16": (2e-2, 2e-2)}


def make_inputs(graph, seed):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    out = {}
    for n in graph.inputs:
        dtype = tg.to_torch_dtype(n.type.dtype)
        shape = list(n.type.shape)
        if dtype.is_floating_point:
            t = torch.randn(shape, generator=gen, device="cuda", dtype=torch.float32).to(dtype)
        elif dtype == torch.bool:
            t = torch.rand(shape, generator=gen, device="cuda") < 0.5
        else:
            t = torch.randint(0, 10, shape, generator=gen, device="cuda", dtype=dtype)
        out[n.name] = t
    return out


def poison(t, pattern):
    t.view(torch.uint8).fill_(pattern)


class Runner:
    def __init__(self, emitted, name):
        with open(os.path.join(emitted, name + ".json")) as f:
            self.manifest = json.load(f)
        with open(os.path.join(emitted, name + ".cu")) as f:
            self.source = f.read()
        t0 = time.time()
        self.module = cupy.RawModule(code=self.source,
                                     options=("-std=c++17", "-I/usr/local/cuda/include"))
        self.kernels = {}
        for step in self.manifest["steps"]:
            if step["kind"] == "kernel":
                if step.get("tensor_maps"):
                    # CuPy cannot encode a CUtensorMap; sluice's runtime does.
                    raise SystemExit(f"{name}: kernel {step['symbol']} takes tensor maps; emit "
                                     "with --emit=attention_tma=0 to check it here")
                self.kernels[step["symbol"]] = self.module.get_function(step["symbol"])
        self.compile_s = time.time() - t0

    def launch(self, step, bufs):
        kern = self.kernels[step["symbol"]]
        args = tuple(np.uint64(bufs[a["value"]].data_ptr()) for a in step["args"])
        kern(tuple(step["grid"]), tuple(step["block"]), args, shared_mem=step["smem"])

    def run(self, inputs, env, check_writes=True):
        bufs = {k: v.contiguous().reshape(-1) for k, v in inputs.items()}
        problems = []
        for step in self.manifest["steps"]:
            if step["kind"] != "kernel":
                bufs[step["node"]] = env[step["node"]].contiguous().reshape(-1)
                continue
            outs = []
            for a in step["args"]:
                if a["out"]:
                    t = torch.empty(a["numel"], dtype=tg.TORCH_DTYPES[a["dtype"]], device="cuda")
                    bufs[a["value"]] = t
                    outs.append(t)
                elif a["value"] not in bufs:
                    raise RuntimeError(f"{step['symbol']}: input %{a['value']} was never written")
            for t in outs:
                poison(t, 0xA5)
            self.launch(step, bufs)
            if check_writes and outs:
                first = [t.clone() for t in outs]
                for t in outs:
                    poison(t, 0x3C)
                self.launch(step, bufs)
                torch.cuda.synchronize()
                for a, t0, t1 in zip([a for a in step["args"] if a["out"]], first, outs):
                    if not torch.equal(t0.view(torch.uint8), t1.view(torch.uint8)):
                        bad = (t0.view(torch.uint8) != t1.view(torch.uint8)).sum().item()
                        problems.append(f"{step['symbol']}: %{a['value']} has {bad} bytes that "
                                        "depend on the poison (unwritten or racy)")
        torch.cuda.synchronize()
        return bufs, problems


def compare(name, got, ref, dtype, chunk=1 << 24):
    """None when `got` matches `ref` within the dtype's tolerance, else a
    message naming the worst element. Works through slices of `chunk`
    elements so that multi-GiB outputs fit next to their float64 copies."""
    got, ref = got.reshape(-1), ref.reshape(-1)
    if got.numel() != ref.numel():
        return f"%{name}: {got.numel()} elements, want {ref.numel()}"
    if dtype in ("i32", "i64", "bool"):
        bad = sum((got[i:i + chunk] != ref[i:i + chunk]).sum().item()
                  for i in range(0, ref.numel(), chunk))
        return None if bad == 0 else f"%{name}: {bad} of {ref.numel()} elements differ"
    rtol, atol = TOL[dtype]
    # Sums of many terms: absolute error grows with the terms' magnitude,
    # which the result's RMS stands in for (a column sum near 0 of terms ~1).
    sq, n = 0.0, 0
    for i in range(0, ref.numel(), chunk):
        r = ref[i:i + chunk].double()
        r = r[torch.isfinite(r)]
        sq += r.pow(2).sum().item()
        n += r.numel()
    if n:
        atol *= max(1.0, (sq / n) ** 0.5)
    worst, where = 0.0, 0
    for i in range(0, ref.numel(), chunk):
        g, r = got[i:i + chunk].double(), ref[i:i + chunk].double()
        both_nan = torch.isnan(g) & torch.isnan(r)
        same_inf = torch.isinf(g) & torch.isinf(r) & (g == r)
        err = (g - r).abs() / (atol + rtol * r.abs())
        err = torch.where(both_nan | same_inf, torch.zeros_like(err), err)
        err = torch.nan_to_num(err, nan=float("inf"))
        m = err.max().item() if err.numel() else 0.0
        if m > worst:
            worst, where = m, i + int(err.argmax().item())
    if worst <= 1.0:
        return None
    return (f"%{name} ({dtype}): error {worst:.3g}x tolerance at flat index {where}: "
            f"got {got[where].item()!r}, want {ref[where].item()!r}")


def median_time_us(fn, reps=20, warmup=3, batch=10):
    """Median over `reps` of the mean time of `batch` back-to-back calls,
    timed with CUDA events around the batch: the GPU queue stays full, so the
    host's launch overhead (CuPy's is ~10 us a launch) is not counted."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(batch):
            fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e) * 1000.0 / batch)
    return statistics.median(times)


def copy_bandwidth():
    src = torch.empty(1 << 28, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    t = median_time_us(lambda: dst.copy_(src), reps=30)
    return 2 * src.numel() * 4 / (t * 1e-6) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("graphs", nargs="+")
    ap.add_argument("--emitted", required=True)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--inductor", action="store_true",
                    help="with --bench, also time torch.compile (default mode) on each graph")
    ap.add_argument("--selftest", action="store_true",
                    help="also check that a corrupted output fails the comparison")
    args = ap.parse_args()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"cupy {cupy.__version__}", flush=True)
    copy_gbs = copy_bandwidth() if args.bench else None
    if copy_gbs:
        print(f"device copy bandwidth: {copy_gbs:.0f} GB/s (read + write)", flush=True)
    failures, passed, rows = [], 0, []
    for path in args.graphs:
        for graph in sg.parse_file(path):
            if args.only and graph.name not in args.only.split(","):
                continue
            try:
                runner = Runner(args.emitted, graph.name)
            except Exception as e:  # noqa: BLE001
                failures.append(f"{graph.name}: compile/load failed: {e}")
                print(f"FAIL {graph.name}: compile/load: {str(e)[:2000]}", flush=True)
                continue
            inputs = make_inputs(graph, seed=1)
            env = tg._bind_inputs(graph, inputs, "cuda", True)
            try:
                tg._execute(graph, env, "cuda")
            except Exception as e:  # noqa: BLE001
                print(f"SKIP {graph.name}: PyTorch reference failed: {e}", flush=True)
                continue
            bufs, problems = runner.run(inputs, env)
            for out in graph.outputs:
                if out.is_input or out.name not in bufs:
                    continue
                ref = env[out.name]
                got = bufs[out.name]
                if got.dtype != ref.dtype:
                    problems.append(f"%{out.name}: sluice computes {got.dtype}, PyTorch {ref.dtype}")
                    continue
                msg = compare(out.name, got, ref, tg.to_sluice_dtype(ref.dtype).name)
                if msg:
                    problems.append(msg)
            if args.selftest and not problems:
                for out in graph.outputs:
                    ref = env.get(out.name)
                    if ref is None or out.is_input or not ref.is_floating_point():
                        continue
                    bad = bufs[out.name].clone().reshape(-1)
                    bad[bad.numel() // 2] += 1.0 + bad[bad.numel() // 2].abs()
                    if compare(out.name, bad, ref, tg.to_sluice_dtype(ref.dtype).name) is None:
                        problems.append(f"selftest: a corrupted %{out.name} was not caught")
                    break
            if problems:
                failures.append(f"{graph.name}: " + "; ".join(problems[:5]))
                print(f"FAIL {graph.name}: " + "\n    ".join(problems[:8]), flush=True)
            else:
                passed += 1
                print(f"ok   {graph.name} ({runner.compile_s:.2f} s NVRTC)", flush=True)
            if args.bench:
                for step in runner.manifest["steps"]:
                    if step["kind"] != "kernel":
                        continue
                    nbytes = sum(a["numel"] * SIZES[a["dtype"]] for a in step["args"])
                    t = median_time_us(lambda: runner.launch(step, bufs))
                    gbs = nbytes / (t * 1e-6) / 1e9
                    rows.append((graph.name, step["symbol"], step["config"], t, gbs,
                                 100 * gbs / copy_gbs))
                eager = median_time_us(lambda: tg._execute(graph, dict(inputs), "cuda"), reps=10)
                rows.append((graph.name, "torch eager (whole graph)", "", eager, 0, 0))
                if args.inductor:
                    module = tg.build_module(graph, device="cuda")
                    compiled = torch.compile(module)
                    ordered = [inputs[n.name] for n in graph.inputs]
                    t0 = time.time()
                    compiled(*ordered)
                    torch.cuda.synchronize()
                    cold = time.time() - t0
                    t = median_time_us(lambda: compiled(*ordered), reps=30)
                    rows.append((graph.name, "torch.compile (Inductor)", f"compile {cold:.1f} s",
                                 t, 0, 0))
            del bufs, env, inputs
            torch.cuda.empty_cache()
    if rows:
        print(f"\n{'graph':<18} {'kernel':<26} {'us':>9} {'GB/s':>7} {'%copy':>6}  config")
        for g, k, c, t, gbs, pct in rows:
            print(f"{g:<18} {k:<26} {t:9.1f} {gbs:7.0f} {pct:5.0f}%  {c}")
    print(f"\n{passed} passed, {len(failures)} failed")
    for f in failures:
        print("  " + f[:400])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
