# Inductor's own Triton kernel for each graph named, written as the files
# `gpu_bench --external DIR` times next to sluice's kernels, on the same
# buffers, by the same procedure, in interleaved rounds: it separates "the
# kernel is slower" from "gpu_bench and triton.testing.do_bench time alike
# kernels differently" (benchmarks/NOTES.md §28).
#
# On a GPU host, from the repository root:
#   python3 benchmarks/experiments/inductor_kernels_for_gpu_bench.py /tmp/ext \
#       layer_norm_bf16,softmax_f32
#   bundle/run_all.sh --benchmarks-only --filter gpu_bench LOGS -- \
#       --graphs DIR_WITH_THOSE_GRAPHS --external /tmp/ext
#   grep -h '^external' LOGS/*.log
#
# For each graph: torch.compile (default mode) of the graph built by
# tools/torch_graph.py, one profiled run for the launched kernel's name, grid
# and block, Inductor's generated wrapper for its arguments (argN_1: graph
# input N; bufN: the graph output; integers), Triton's cache for its cubin,
# and cuFuncGetParamInfo for the parameters Triton adds after them (scratch
# pointers, passed as null). Writes OUT/<graph>.cubin and OUT/<graph>.kernels
# ("SYMBOL GRID BLOCK SHARED ARG..."). A graph compiled to more than one
# kernel, or whose kernel has several cubins of the launched block size in
# the cache, is skipped and says so.
import ctypes, glob, json, os, re, sys
os.environ["TORCHINDUCTOR_CACHE_DIR"] = "/tmp/ext_ind"
os.environ["TRITON_CACHE_DIR"] = "/tmp/ext_tri"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import torch
import sluice_graph as sg
import torch_graph as tg
import torch_bench as tb
out_dir, graphs = sys.argv[1], sys.argv[2].split(",")
os.makedirs(out_dir, exist_ok=True)
cu = ctypes.CDLL("libcuda.so.1")
for name in graphs:
    g = sg.parse_file(os.path.join(REPO, "benchmarks/graphs", name + ".graph"))[0]
    # This graph's cubins: those its compile adds to Triton's cache (another
    # graph's kernel may have the same name).
    cached = set(glob.glob("/tmp/ext_tri/**/*.cubin", recursive=True))
    inputs = tg.make_inputs(g, device="cuda")
    fn = tb.compile_module(tg.build_module(g), g)
    fn(*inputs); torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        fn(*inputs); torch.cuda.synchronize()
    trace = f"/tmp/ext_{name}.json"; prof.export_chrome_trace(trace)
    kernels = [e for e in json.load(open(trace))["traceEvents"] if e.get("cat") == "kernel"]
    if len(kernels) != 1 or not kernels[0]["name"].startswith("triton_"):
        print(name, "skipped: kernels", [k["name"] for k in kernels]); continue
    k = kernels[0]; kname = k["name"]; grid = k["args"]["grid"]; block = k["args"]["block"]
    code = [p for p in glob.glob("/tmp/ext_ind/**/*.py", recursive=True) if f"{kname}.run(" in open(p).read()]
    call = re.search(kname + r"\.run\((.*)\)", open(code[-1]).read()).group(1)
    args = [a.strip() for a in call.split(",") if "=" not in a]
    outs = [a for a in args if a.startswith("buf")]
    mapped = []
    for a in args:
        m = re.fullmatch(r"arg(\d+)_1", a)
        if m: mapped.append(g.inputs[int(m.group(1))].name)
        elif a.startswith("buf"): mapped.append(g.outputs[outs.index(a)].name)
        elif re.fullmatch(r"-?\d+", a): mapped.append("i32:" + a)
        else: raise SystemExit(f"{name}: cannot map argument {a} of {call}")
    cubins = [c for c in glob.glob(f"/tmp/ext_tri/**/{kname}.cubin", recursive=True)
              if c not in cached and json.load(open(c[:-6] + ".json"))["num_warps"] * 32 == block[0]]
    if len(cubins) != 1:
        print(name, "skipped: cubins", cubins); continue
    meta = json.load(open(cubins[0][:-6] + ".json"))
    image = open(cubins[0], "rb").read()
    mod, fnc = ctypes.c_void_p(), ctypes.c_void_p()
    assert cu.cuModuleLoadData(ctypes.byref(mod), image) == 0
    assert cu.cuModuleGetFunction(ctypes.byref(fnc), mod, kname.encode()) == 0
    sizes = []
    while True:
        off, size = ctypes.c_size_t(), ctypes.c_size_t()
        if cu.cuFuncGetParamInfo(fnc, len(sizes), ctypes.byref(off), ctypes.byref(size)) != 0: break
        sizes.append(size.value)
    mapped += ["null"] * (len(sizes) - len(mapped))
    want = [4 if a.startswith("i32:") else 8 for a in mapped]
    if want != sizes:
        print(name, "skipped: parameter sizes", sizes, "for", mapped); continue
    open(os.path.join(out_dir, name + ".cubin"), "wb").write(image)
    line = f"{kname} {','.join(map(str, grid))} {','.join(map(str, block))} {meta.get('shared', 0)} {' '.join(mapped)}"
    open(os.path.join(out_dir, name + ".kernels"), "w").write(f"# Inductor's kernel for {name}\n{line}\n")
    print(name, line)
