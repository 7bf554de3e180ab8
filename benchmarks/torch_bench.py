"""PyTorch side of the benchmark suite (issue 8): eager and Inductor vs sluice.

Runs on the GPU host (PyTorch + Triton, no internet; only this repo):

    python3 benchmarks/torch_bench.py --sluice_json sluice.json --markdown benchmarks/RESULTS.md

For every graph of benchmarks/graphs/ (read with tools/sluice_graph.py and
built in PyTorch by tools/torch_graph.py, the same interpreter the FX bridge
uses) it:

* builds seeded standard-normal inputs on the device;
* times PyTorch eager and torch.compile (Inductor, default mode) with
  triton.testing.do_bench medians (return_mode="median"); on the CPU (smoke
  tests) a perf_counter median stands in;
* measures the device copy bandwidth in the same run (one large
  device-to-device copy; bytes read + written over time) and reports each
  graph's floor bytes (inputs read once + outputs written once, DESIGN §6) as
  a percentage of it; with sluice's timings, also times a copy of each
  graph's floor bytes and reports it over sluice's time (what moving those
  bytes costs at that size: launch, ramp-up and tail included);
* measures Inductor's cold compile time in a fresh process with empty
  TORCHINDUCTOR_CACHE_DIR / TRITON_CACHE_DIR (first call, compile + one run);
* with --sluice_json, reads sluice's timings, format
    {"<graph>": {"us": float, "compile_cold_ms": float, "compile_warm_ms": float,
                 "outputs_npy_dir": "optional dir with <output name>.npy
                                     (as tools/compile --save_outputs writes them)",
                 "inputs_npy_dir": "optional dir with <input>.npy"}}
  and, where outputs are given, checks them against PyTorch eager on the same
  inputs (allclose with per-dtype tolerances). Where inputs_npy_dir is given,
  eager and Inductor are also timed on those inputs (--own_inputs: on inputs
  drawn here), so that both sides run on the same data. Without inputs_npy_dir the
  inputs are the ones this script generates (--save_inputs DIR writes them as
  DIR/<graph>/<input>.npy for the sluice binary to read);
* prints one table and writes it as Markdown (--markdown) and JSON (--json_out).

Rounds: --sluice_json takes several files, comma-separated (one gpu_bench run
each; tools/bundle/gpu_suite.sh's ROUNDS); sluice's µs is then the median of
their figures (the first file gives the rest: inputs, outputs, compile
times), and --inductor_rounds N times eager and Inductor N times (the
median of N do_bench medians). A 50 µs kernel's do_bench median moves by one
~0.7 µs step from run to run, 1.4%: one run's ratio cannot tell 1.00 from
1.01. Each graph's per-round figures are listed under the table.

Graphs with nodes marked should_fallback are compiled by Inductor with those
ops marked fallback too (a post-grad custom pass sets node.meta
["should_fallback"] on the matching ATen nodes: by op, which is exact for the
suite's seed_fallback graph).

Smoke test without a GPU: --device cpu --small (sizes shrunk to about their
square roots) or --scale N (every dimension divided by N).
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))

import sluice_graph as sg  # noqa: E402

# The suite, in issue 8's order (file stem = graph name).
SUITE = [
    "pointwise_chain", "bias_gelu", "softmax_f32", "softmax_bf16", "softmax_vocab",
    "layer_norm_f32", "layer_norm_bf16", "rms_norm", "row_sum", "col_sum", "mlp", "attention",
    "seed", "seed_fallback",
]

# allclose tolerances for sluice vs PyTorch eager, per output dtype (see close()).
TOLERANCES = {
    "f32": (1e-3, 1e-3), "f64": (1e-6, 1e-6), "f16": (1e-2, 1e-2), "bf16": (2e-2, 2e-2),
    "i32": (0, 0), "i64": (0, 0), "bool": (0, 0),
}

def close(got, ref, dtype_name):
    """allclose(got, ref) with the dtype's (rtol, atol), atol raised to rtol x the
    reference's RMS: an element of a long reduction (a GEMM over 16384 terms)
    carries rounding error in proportion to the terms it sums, not to its own
    value, so two correct GEMM algorithms differ by more than rtol x |element|
    on the elements near zero."""
    import torch
    rtol, atol = TOLERANCES[dtype_name]
    if ref.is_floating_point() and ref.numel():
        atol = max(atol, rtol * ref.double().pow(2).mean().sqrt().item())
    return torch.allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True)


# sluice op -> ATen op names that Inductor sees for it (for fallback marking).
ATEN_NAMES = {
    "softmax": ["_softmax"], "log_softmax": ["_log_softmax"], "layer_norm": ["native_layer_norm"],
    "matmul": ["mm", "bmm"], "transpose": ["permute", "transpose"], "reshape": ["view"],
    "concat": ["cat"], "cast": ["_to_copy", "convert_element_type"], "rms_norm": ["rms_norm"],
}


def shrink_graph(graph: sg.Graph, dim_fn) -> sg.Graph:
    """A copy of `graph` with every input dimension d replaced by dim_fn(d)
    (and normalized_shape/shape attributes alike), types re-inferred."""
    import torch_graph as tg
    text = sg.print_graph(graph) if all(n.type for n in graph.nodes) else None
    g = sg.parse_graph(text) if text else graph
    for n in g.inputs:
        n.type = sg.TensorType(n.type.dtype, tuple(dim_fn(d) for d in n.type.shape))
    for n in g.calls:
        for key in ("normalized_shape", "shape"):
            if key in n.attrs:
                n.attrs[key] = [d if d < 0 else dim_fn(d) for d in n.attrs[key]]
        n.type = None
    tg.infer_types(g)
    return g


def load_suite(graph_dir: str, only: List[str], dim_fn) -> List[sg.Graph]:
    """The .graph files of graph_dir (all of them, or those named in only):
    the suite's in the suite's order, then any others by name. A folder with
    some of the suite's graphs (or none) is fine; a name in only that has no
    file is an error."""
    present = {f[:-6] for f in os.listdir(graph_dir) if f.endswith(".graph")}
    missing = sorted(n for n in only if n not in present)
    if missing:
        raise SystemExit(f"torch_bench: no {', '.join(m + '.graph' for m in missing)} "
                         f"in {graph_dir}")
    names = [n for n in SUITE if n in present and (not only or n in only)]
    names += sorted(n for n in present - set(SUITE) if not only or n in only)
    graphs = []
    for name in names:
        g = sg.parse_file(os.path.join(graph_dir, f"{name}.graph"))[0]
        if dim_fn is not None:
            g = shrink_graph(g, dim_fn)
        graphs.append(g)
    return graphs


# ---- timing --------------------------------------------------------------------------


def _sync(device):
    import torch
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def bench_us(fn, device, warmup_ms=25, rep_ms=100) -> float:
    """Median time of fn() in microseconds."""
    if str(device).startswith("cuda"):
        import triton.testing
        return 1000.0 * triton.testing.do_bench(fn, warmup=warmup_ms, rep=rep_ms,
                                                return_mode="median")
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-6)
    n = max(3, min(200, int(rep_ms / 1000 / once)))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e6 * statistics.median(times)


def copy_us(device, nbytes: int) -> float:
    """The median time of a device-to-device copy of nbytes (read, and as
    many written)."""
    import torch
    src = torch.empty(max(1, nbytes // 4), dtype=torch.float32, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    return bench_us(lambda: dst.copy_(src), device)


def copy_bandwidth_gbs(device, nbytes: int) -> float:
    """Bytes read + written per second by one large device-to-device copy."""
    return 2 * (max(1, nbytes // 4) * 4) / (copy_us(device, nbytes) * 1e-6) / 1e9


def floor_bytes(graph: sg.Graph) -> int:
    return sum(n.type.nbytes for n in graph.inputs) + sum(n.type.nbytes for n in graph.outputs)


# ---- building the PyTorch side ---------------------------------------------------------


def fallback_ops(graph: sg.Graph) -> List[str]:
    return sorted({n.op for n in graph.calls if n.meta.get("should_fallback") is True})


def compile_module(module, graph: sg.Graph):
    """torch.compile(module) (default mode); marked ops fall back in Inductor."""
    import torch
    ops = fallback_ops(graph)
    compiled = torch.compile(module)
    if not ops:
        return compiled
    from torch._inductor import config as inductor_config
    from torch._inductor.custom_graph_pass import CustomGraphPass
    names = {a for op in ops for a in ATEN_NAMES.get(op, [op])}
    marked = []

    class MarkFallback(CustomGraphPass):
        def __call__(self, g):
            for node in g.nodes:
                packet = getattr(node.target, "_overloadpacket", None) or \
                    getattr(node.target, "overloadpacket", None)
                if node.op == "call_function" and packet is not None and \
                        packet.__name__ in names:
                    node.meta["should_fallback"] = True
                    marked.append(str(node.target))

        def uuid(self):
            return None

    state = {"compiled": False}

    def run(*args):
        # Inductor compiles on the first call; patching the config on every
        # call would cost a config save/restore per call.
        if state["compiled"]:
            return compiled(*args)
        with inductor_config.patch(post_grad_custom_pre_pass=MarkFallback()):
            out = compiled(*args)
        state["compiled"] = True
        return out

    run.marked = marked  # the ATen nodes marked, for tests and the log
    return run


def make_device_inputs(graph: sg.Graph, seed: int, device):
    import torch
    import torch_graph as tg
    gen = torch.Generator(device=device).manual_seed(seed)
    out = []
    for n in graph.inputs:
        dtype = tg.to_torch_dtype(n.type.dtype)
        if dtype.is_floating_point:
            out.append(torch.randn(n.type.shape, generator=gen, device=device, dtype=dtype))
        elif dtype == torch.bool:
            out.append(torch.rand(n.type.shape, generator=gen, device=device) < 0.5)
        else:
            out.append(torch.randint(0, 10, n.type.shape, generator=gen, device=device,
                                     dtype=dtype))
    return out


def cold_compile_s(graph_path: str, graph_name: str, args) -> Optional[float]:
    """Inductor's first-call time in a fresh process with empty caches."""
    with tempfile.TemporaryDirectory(prefix="inductor_cold_") as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache,
                   TRITON_CACHE_DIR=os.path.join(cache, "triton"))
        cmd = [sys.executable, os.path.abspath(__file__), "--_probe_compile", graph_path,
               "--graph_name", graph_name, "--device", args.device]
        if args.small:
            cmd.append("--small")
        if args.scale != 1:
            cmd += ["--scale", str(args.scale)]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.probe_timeout)
    if p.returncode != 0:
        print(f"  cold compile probe failed for {graph_name}:\n{p.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])["compile_s"]


def _probe_compile(args) -> int:
    import torch
    import torch_graph as tg
    graph = _load_one(args._probe_compile, args)
    inputs = make_device_inputs(graph, args.seed, args.device)
    module = tg.build_module(graph, device=args.device)
    with torch.no_grad():
        _sync(args.device)
        t0 = time.perf_counter()
        fn = compile_module(module, graph)
        fn(*inputs)
        _sync(args.device)
        t = time.perf_counter() - t0
    print(json.dumps({"compile_s": t}))
    return 0


def _dim_fn(args):
    if args.small:
        return lambda d: d if d <= 2 else max(2, int(round(math.sqrt(d))))
    if args.scale != 1:
        return lambda d: max(1, int(d // args.scale))
    return None


def _load_one(path, args) -> sg.Graph:
    g = sg.parse_file(path)[0]
    fn = _dim_fn(args)
    return shrink_graph(g, fn) if fn else g


# ---- checking sluice's outputs -----------------------------------------------------------


def load_sluice_inputs(graph: sg.Graph, inputs_dir: str, device):
    """The inputs gpu_bench ran `graph` on (DIR/<input>.npy)."""
    import torch_graph as tg
    return [tg.load_npy(os.path.join(inputs_dir, f"{n.name}.npy")).to(device)
            for n in graph.inputs]


def check_sluice_outputs(graph: sg.Graph, entry: Dict, inputs, device,
                         inputs_are_sluices: bool = False) -> str:
    """sluice's outputs against eager PyTorch on sluice's inputs (read from
    inputs_npy_dir unless `inputs` already are them)."""
    import torch
    import torch_graph as tg
    out_dir = entry.get("outputs_npy_dir")
    if not out_dir:
        return "-"
    if entry.get("inputs_npy_dir") and not inputs_are_sluices:
        inputs = load_sluice_inputs(graph, entry["inputs_npy_dir"], device)
    with torch.no_grad():
        ref = tg.run_graph(graph, inputs, device=device)
    worst = 0.0
    for i, (r, n) in enumerate(zip(ref, graph.outputs)):
        path = next((os.path.join(out_dir, f) for f in
                     (f"{n.name}.npy", f"output.{i}.npy", f"{i}.npy", f"{graph.name}.{i}.npy")
                     if os.path.exists(os.path.join(out_dir, f))), None)
        if path is None:
            return f"no output {i}"
        got = tg.load_npy(path).to(device)
        if tuple(got.shape) != tuple(r.shape) or got.dtype != r.dtype:
            return f"output {i}: {tuple(got.shape)} {got.dtype} vs {tuple(r.shape)} {r.dtype}"
        if not close(got, r, n.type.dtype.name):
            err = (got.double() - r.double()).abs().max().item()
            return f"MISMATCH output {i} (max abs err {err:.3g})"
        if r.is_floating_point() and r.numel():
            worst = max(worst, (got.double() - r.double()).abs().max().item())
    return f"ok ({worst:.1e})"


# ---- the table -----------------------------------------------------------------------------

COLUMNS = ["graph", "sluice µs", "eager µs", "Inductor µs", "sluice/Inductor",
           "sluice % copy", "Inductor % copy", "sluice % same-size copy",
           "sluice % copy, clean L2",
           "sluice compile ms (cold, warm, warm lowering again)",
           "Inductor compile s", "check"]


def median(values: List[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


# gpu_bench's timings that several rounds turn into their median.
ROUND_MEDIANS = ("us", "us_clean_l2", "copy_gbs_clean_l2")


def merge_sluice_rounds(rounds: List[Dict]) -> Dict:
    """One entry per graph: the first round's, with "us" (and the clean-L2
    figures, ROUND_MEDIANS) the median of every round that has the graph and
    "us_rounds" (and "us_clean_l2_rounds") their figures in order."""
    merged = {}
    for name, entry in (rounds[0] if rounds else {}).items():
        if not isinstance(entry, dict):
            merged[name] = entry
            continue
        entry = dict(entry)
        for key in ROUND_MEDIANS:
            values = [r[name][key] for r in rounds
                      if isinstance(r.get(name), dict) and r[name].get(key) is not None]
            if len(rounds) > 1 and values:
                entry[key] = median(values)
                if key != "copy_gbs_clean_l2":
                    entry[key + "_rounds"] = values
        merged[name] = entry
    return merged


def clean_l2_pct_copy(floor: int, entry: Dict, bw: float) -> Optional[float]:
    """sluice's % of the copy bandwidth when each run follows a read-only L2
    flush (gpu_bench's us_clean_l2), over the larger of the two copy figures
    (this script's 1 GiB copy, gpu_bench's after the same flush)."""
    us = entry.get("us_clean_l2")
    if not us:
        return None
    copy = max(bw, entry.get("copy_gbs_clean_l2") or 0)
    return 100 * floor / (us * 1e-6) / 1e9 / copy


def timed_rounds(fn, n: int):
    """(median, [each]) of n calls of fn."""
    each = [fn() for _ in range(max(1, n))]
    return median(each), each


def rounds_notes(results: List[Dict]) -> List[str]:
    """One line per graph timed in several rounds: each side's figures."""
    out = []
    for r in results:
        s = r.get("sluice") or {}
        parts = []
        if len(s.get("us_rounds", [])) > 1:
            parts.append("sluice " + ", ".join(f"{u:.1f}" for u in s["us_rounds"]))
        if len(r.get("inductor_us_rounds", [])) > 1:
            parts.append("Inductor " + ", ".join(f"{u:.1f}" for u in r["inductor_us_rounds"]))
        if parts:
            out.append(f"{r['graph']} rounds (µs; the table has their medians): "
                       + "; ".join(parts))
    return out


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table_rows(results: List[Dict]) -> List[List[str]]:
    rows = []
    for r in results:
        s = r.get("sluice") or {}
        ratio = s["us"] / r["inductor_us"] if s.get("us") and r.get("inductor_us") else None
        rows.append([
            r["graph"], _fmt(s.get("us"), ".1f"), _fmt(r.get("eager_us"), ".1f"),
            _fmt(r.get("inductor_us"), ".1f"), _fmt(ratio, ".2f"),
            _fmt(r.get("sluice_pct_copy"), ".0f"), _fmt(r.get("inductor_pct_copy"), ".0f"),
            _fmt(r.get("sluice_pct_same_copy"), ".0f"),
            _fmt(r.get("sluice_pct_copy_clean_l2"), ".0f"),
            ("-" if not s else f"{_fmt(s.get('compile_cold_ms'), '.1f')}, "
                               f"{_fmt(s.get('compile_warm_ms'), '.3f')}, "
                               f"{_fmt(s.get('compile_warm_disk_ms'), '.3f')}"),
            _fmt(r.get("inductor_compile_s"), ".1f"), r.get("check", "-"),
        ])
    return rows


def format_text(rows) -> str:
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c)
              for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def parts_notes(results: List[Dict]) -> List[str]:
    """One line per graph whose sluice figures have parts_us (gpu_bench times
    each fallback node alone and the rest of the graph separately)."""
    out = []
    for r in results:
        s = r.get("sluice") or {}
        if s.get("parts_us") and s.get("us"):
            out.append(f"{r['graph']}: sluice {s['us']:.1f} µs; its parts timed alone "
                       f"({s.get('parts', '')}) {s['parts_us']:.1f} µs; "
                       f"boundary cost {s['us'] - s['parts_us']:+.1f} µs")
    return out


def format_markdown(rows, header: Dict, notes: Optional[List[str]] = None) -> str:
    out = ["# Benchmark results (issue 8)", ""]
    out += [f"- {k}: {v}" for k, v in header.items()]
    out += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out += ["", "Times are medians (triton.testing.do_bench on the GPU). '% copy' = (bytes of",
            "the inputs read once + outputs written once) / time, over the copy bandwidth",
            "measured in the same run; '% same-size copy' = the time of a copy of those bytes",
            "(half read, half written) over sluice's time: what a kernel moving them can reach",
            "at that size. '% copy, clean L2': sluice's runs each after a read-only L2 flush",
            "(gpu_bench --flush=read) instead of do_bench's memset, whose dirty lines the",
            "next run must write back, over the larger of the copy figures (this 1 GiB copy;",
            "gpu_bench's 1 GiB copy after the same flush). sluice compile: cold = empty",
            "caches; warm = the same graph again (the in-process lowering cache and the",
            "kernel cache); warm lowering again = without the lowering cache, the cubin from",
            "the disk cache (a new process's compile). Inductor compile = first call in a",
            "fresh process with empty caches. check = sluice's outputs vs PyTorch eager",
            "(allclose).", ""]
    out += [f"- {n}" for n in (notes or [])]
    return "\n".join(out) + ("\n" if notes else "")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Time the benchmark graphs in PyTorch eager and "
                                "Inductor, next to sluice's numbers.")
    p.add_argument("--graphs", default=os.path.join(REPO, "benchmarks", "graphs"))
    p.add_argument("--only", default="", help="comma-separated graph names")
    p.add_argument("--device", default="cuda")
    p.add_argument("--small", action="store_true", help="shrink every dim to ~its square root")
    p.add_argument("--scale", type=float, default=1, help="divide every dim by this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sluice_json", help="sluice's timings (see the module docstring); "
                   "several files, comma-separated: rounds, their median taken")
    p.add_argument("--inductor_rounds", type=int, default=1,
                   help="time eager and Inductor this many times (median of the medians)")
    p.add_argument("--save_inputs", metavar="DIR", help="write DIR/<graph>/<input>.npy")
    p.add_argument("--markdown", help="write the table as Markdown to this file")
    p.add_argument("--json_out", help="write all numbers as JSON to this file")
    p.add_argument("--no_compile", action="store_true", help="skip torch.compile entirely")
    p.add_argument("--no_cold_compile", action="store_true",
                   help="skip the fresh-process compile-time probes")
    p.add_argument("--own_inputs", action="store_true",
                   help="time PyTorch on inputs drawn here even where sluice's are given")
    p.add_argument("--copy_mib", type=int, default=1024, help="size of the bandwidth copy")
    p.add_argument("--probe_timeout", type=int, default=900)
    p.add_argument("--graph_name", help=argparse.SUPPRESS)
    p.add_argument("--_probe_compile", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args._probe_compile:
        return _probe_compile(args)

    import torch
    import torch_graph as tg

    device = torch.device(args.device)
    only = [s for s in args.only.split(",") if s]
    graphs = load_suite(args.graphs, only, _dim_fn(args))
    if not graphs:
        print("no graphs selected", file=sys.stderr)
        return 1
    sluice = {}
    if args.sluice_json:
        rounds = []
        for path in [p for p in args.sluice_json.split(",") if p]:
            with open(path) as f:
                rounds.append(json.load(f))
        sluice = merge_sluice_rounds(rounds)

    copy_bytes = args.copy_mib << 20
    if args.small or args.scale != 1:
        copy_bytes = min(copy_bytes, 64 << 20)  # shrunk sizes: a smaller copy is enough
    bw = copy_bandwidth_gbs(device, copy_bytes)
    header = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "device": (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"CPU ({platform.processor() or platform.machine()})"),
        "torch": torch.__version__,
        "triton": _triton_version(),
        "copy bandwidth (read+write)": f"{bw:.0f} GB/s ({copy_bytes / 2**20:.3g} MiB copy)",
        "sizes": ("small (~sqrt of each dim)" if args.small else
                  f"each dim / {args.scale:g}" if args.scale != 1 else "full (issue 8)"),
        "command": "python3 benchmarks/torch_bench.py " + " ".join(argv if argv is not None
                                                                   else sys.argv[1:]),
    }
    timings = sorted({v.get("timing", "back_to_back") for v in sluice.values()
                      if isinstance(v, dict)})
    if timings:
        # gpu_bench's --timing: "dobench" times sluice as do_bench times PyTorch.
        header["sluice timing (gpu_bench --timing)"] = ", ".join(timings)
    print("\n".join(f"{k}: {v}" for k, v in header.items()), flush=True)

    results = []
    for graph in graphs:
        print(f"== {graph.name}", flush=True)
        r = {"graph": graph.name, "floor_bytes": floor_bytes(graph)}
        entry = sluice.get(graph.name)
        inputs_dir = (entry or {}).get("inputs_npy_dir")
        if inputs_dir and not args.own_inputs:
            # The inputs sluice ran on: both sides timed on the same data (the
            # GEMMs' clocks on a power-limited GPU depend on the values).
            inputs = load_sluice_inputs(graph, inputs_dir, device)
            r["inputs"] = "sluice's"
        else:
            inputs = make_device_inputs(graph, args.seed, device)
            r["inputs"] = "torch_bench's"
        if args.save_inputs:
            d = os.path.join(args.save_inputs, graph.name)
            os.makedirs(d, exist_ok=True)
            for n, t in zip(graph.inputs, inputs):
                tg.save_npy(os.path.join(d, f"{n.name}.npy"), t)
        module = tg.build_module(graph, device=device)
        with torch.no_grad():
            r["eager_us"], _ = timed_rounds(lambda: bench_us(lambda: module(*inputs), device),
                                            args.inductor_rounds)
            if not args.no_compile:
                compiled = compile_module(module, graph)
                _sync(device)
                t0 = time.perf_counter()
                got = compiled(*inputs)
                _sync(device)
                r["inductor_first_call_s"] = time.perf_counter() - t0
                ref = module(*inputs)
                for a, b, n in zip(got, ref, graph.outputs):
                    if not close(a.float(), b.float(), n.type.dtype.name):
                        print(f"  warning: Inductor and eager differ on {graph.name}",
                              file=sys.stderr)
                r["inductor_us"], each = timed_rounds(
                    lambda: bench_us(lambda: compiled(*inputs), device), args.inductor_rounds)
                if len(each) > 1:
                    r["inductor_us_rounds"] = each
            if entry:
                r["sluice"] = entry
                r["check"] = check_sluice_outputs(graph, entry, inputs, device,
                                                  inputs_are_sluices=r["inputs"] == "sluice's")
        gbs = lambda us: r["floor_bytes"] / (us * 1e-6) / 1e9  # noqa: E731
        if r.get("inductor_us"):
            r["inductor_pct_copy"] = 100 * gbs(r["inductor_us"]) / bw
        if r.get("sluice", {}).get("us"):
            r["sluice_pct_copy"] = 100 * gbs(r["sluice"]["us"]) / bw
            # The same bytes through a copy: small graphs cannot reach the
            # large copy's bandwidth (launch, ramp-up and tail are fixed costs).
            r["copy_us"] = copy_us(device, r["floor_bytes"] // 2)
            r["sluice_pct_same_copy"] = 100 * r["copy_us"] / r["sluice"]["us"]
            r["sluice_pct_copy_clean_l2"] = clean_l2_pct_copy(r["floor_bytes"], r["sluice"], bw)
        if not args.no_compile and not args.no_cold_compile:
            r["inductor_compile_s"] = cold_compile_s(
                os.path.join(args.graphs, f"{graph.name}.graph"), graph.name, args)
        del inputs, module
        results.append(r)
        print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in r.items() if k not in ("graph", "sluice")), flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()

    rows = table_rows(results)
    print()
    print(format_text(rows))
    notes = parts_notes(results) + rounds_notes(results)
    for n in notes:
        print(n)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(format_markdown(rows, header, notes))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"header": header, "results": results}, f, indent=2, default=str)
    mismatches = [r["graph"] for r in results if str(r.get("check", "")).startswith(("MIS", "no ",
                                                                                     "output"))]
    if mismatches:
        print(f"sluice outputs differ from PyTorch on: {', '.join(mismatches)}", file=sys.stderr)
        return 1
    return 0


def _triton_version() -> str:
    try:
        import triton
        return triton.__version__
    except ImportError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
