# Times sluice's generated kernels inside PyTorch, with PyTorch's buffers,
# stream and triton.testing.do_bench, next to Inductor's compiled graph, in
# interleaved rounds: it separates "sluice's kernel is slower" from "gpu_bench
# times it differently" (benchmarks/NOTES.md §22).
#
# Emit and compile the kernels first (any machine with the CUDA toolkit):
#   emit_cuda_main benchmarks/graphs/pointwise_chain.graph DIR   # DIR/<graph>.cu, .json
#   nvcc -cubin -arch=sm_90 -std=c++17 -O3 DIR/pointwise_chain.cu -o DIR/pointwise_chain.cubin
# then on a GPU host, from the repository root:
#   python3 benchmarks/experiments/sluice_kernels_in_torch.py DIR[,DIR2...] pointwise_chain,seed
#
# Several folders (variants of the same kernels, say emitted with different
# SLUICE_CUDA_EMIT options or edited by hand) are timed in turn in each
# round; a folder without a graph's files is skipped for it. A manifest
# argument may also be {"i32": N} (a scalar) or {"null": true} (a null
# pointer), so that other compilers' kernels (a Triton cubin) run the same way.
#
# Graphs whose steps are all kernels with at most 48 KB of dynamic shared
# memory (not attention, MLP or fallback graphs). Kernels are launched with the
# driver API (ctypes) on PyTorch's current stream; sluice's outputs are
# checked against Inductor's. SIDE_STREAM=1 times every round a second time
# on a non-blocking stream (sluice's executables run on one).
import contextlib, ctypes, json, os, sys
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
sys.path.insert(0, os.path.join(REPO, "tools"))
import torch, triton.testing
import torch_bench as tb
import torch_graph as tg

cu = ctypes.CDLL("libcuda.so.1")
# do_bench's warm-up and measured spans, ms (REP_MS / WARMUP_MS in the
# environment; do_bench's defaults otherwise).
REP = float(os.environ.get("REP_MS", "100"))
WARMUP = float(os.environ.get("WARMUP_MS", "25"))

def check(rc, what):
    if rc != 0:
        raise RuntimeError(f"{what}: CUDA driver error {rc}")

def load_kernels(folder, name):
    manifest = json.load(open(os.path.join(folder, name + ".json")))
    mod = ctypes.c_void_p()
    check(cu.cuModuleLoadData(ctypes.byref(mod),
                              open(os.path.join(folder, name + ".cubin"), "rb").read()), "load")
    steps = []
    for s in manifest["steps"]:
        if s["kind"] != "kernel" or s["smem"] > 48 * 1024:
            raise SystemExit(f"{name}: step {s} is not a kernel with at most 48 KB of "
                             "dynamic shared memory")
        fn = ctypes.c_void_p()
        check(cu.cuModuleGetFunction(ctypes.byref(fn), mod, s["symbol"].encode()), s["symbol"])
        steps.append((fn, s))
    return mod, steps

def make_launches(steps, bufs, dev):
    launches = []
    for fn, s in steps:
        vals = []
        for a in s["args"]:
            if "i32" in a:
                vals.append(ctypes.c_int32(a["i32"]))
            elif a.get("null"):
                vals.append(ctypes.c_void_p(None))
            else:
                if a["value"] not in bufs:
                    bufs[a["value"]] = torch.empty(a["numel"], dtype=tg.TORCH_DTYPES[a["dtype"]],
                                                   device=dev)
                vals.append(ctypes.c_void_p(bufs[a["value"]].data_ptr()))
        argv = (ctypes.c_void_p * len(vals))(
            *[ctypes.cast(ctypes.pointer(v), ctypes.c_void_p) for v in vals])
        launches.append((fn, s["grid"], s["block"], s["smem"], vals, argv))
    return launches


def streams():
    """Where each round is timed: PyTorch's current stream (the legacy
    default stream) and, with SIDE_STREAM=1 in the environment, also a
    stream of PyTorch's pool (non-blocking, as sluice's own streams are)."""
    out = [("", contextlib.nullcontext())]
    if os.environ.get("SIDE_STREAM") == "1":
        out.append((" (side stream)", torch.cuda.stream(torch.cuda.Stream())))
    return out


def main():
    folders, names = sys.argv[1].split(","), sys.argv[2].split(",")
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    dev = torch.device("cuda")
    for g in tb.load_suite(os.path.join(REPO, "benchmarks", "graphs"), names, None):
        ins = tb.make_device_inputs(g, 0, dev)
        by_name = {n.name: t for n, t in zip(g.inputs, ins)}
        variants = []
        for folder in folders:
            if not os.path.exists(os.path.join(folder, g.name + ".cubin")):
                continue
            _, steps = load_kernels(folder, g.name)
            bufs = dict(by_name)
            launches = make_launches(steps, bufs, dev)

            def run(launches=launches):
                stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
                for fn, gr, bl, smem, _, argv in launches:
                    check(cu.cuLaunchKernel(fn, gr[0], gr[1], gr[2], bl[0], bl[1], bl[2], smem,
                                            stream, argv, None), "launch")
            variants.append((folder, run, bufs))
        m = tg.build_module(g, device=dev)
        with torch.no_grad():
            ind = tb.compile_module(m, g)
            want = ind(*ins)
            want = list(want) if isinstance(want, (list, tuple)) else [want]
            for folder, run, bufs in variants:
                run()
                torch.cuda.synchronize()
                for o, w in zip(g.outputs, want):
                    got = bufs[o.name].view(w.shape)
                    ok = torch.allclose(got.float(), w.float(), rtol=2e-2, atol=2e-2)
                    print(f"{g.name} {folder}: output {o.name} {'ok' if ok else 'MISMATCH'}",
                          flush=True)
            for r in range(rounds):
                for where, ctx in streams():
                    with ctx:
                        i = 1000 * triton.testing.do_bench(lambda: ind(*ins), warmup=WARMUP,
                                                           rep=REP, return_mode="median")
                        line = [f"{g.name} round {r}{where}: Inductor {i:.1f}"]
                        for folder, run, _ in variants:
                            s = 1000 * triton.testing.do_bench(run, warmup=WARMUP, rep=REP,
                                                               return_mode="median")
                            line.append(f"{os.path.basename(folder)} {s:.1f} ({s / i:.3f})")
                    print("  ".join(line), flush=True)


if __name__ == "__main__":
    main()
