# The measurement behind benchmarks/NOTES.md §21: Inductor's compiled graphs
# timed three ways, as gpu_bench can time sluice's: triton.testing.do_bench
# (--timing=dobench), do_bench's procedure without the L2 flush
# (--flush=none) and 25 samples of back-to-back runs of ~2 ms each
# (--timing=back_to_back). On a GPU host, from the repository root:
#
#   python3 benchmarks/experiments/inductor_timing_modes.py pointwise_chain,attention
#
# Two rounds per graph, one line each. For graphs shorter than the Python
# wrapper's launch overhead (~60 us) the no-flush mode is host-bound.
import os, sys, statistics
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
sys.path.insert(0, os.path.join(REPO, "tools"))
import torch, triton.testing
import torch_bench as tb
import torch_graph as tg

def nofl(fn, warmup=25, rep=100):
    fn(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(True), torch.cuda.Event(True)
    s.record()
    for _ in range(5): fn()
    e.record(); torch.cuda.synchronize()
    est = s.elapsed_time(e) / 5
    nw, nr = max(1, int(warmup / est)), max(1, int(rep / est))
    for _ in range(nw): fn()
    ss = [torch.cuda.Event(True) for _ in range(nr)]; es = [torch.cuda.Event(True) for _ in range(nr)]
    for i in range(nr):
        ss[i].record(); fn(); es[i].record()
    torch.cuda.synchronize()
    return 1000 * statistics.median([a.elapsed_time(b) for a, b in zip(ss, es)])

def b2b(fn):
    fn(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(True), torch.cuda.Event(True)
    s.record()
    for _ in range(3): fn()
    e.record(); torch.cuda.synchronize()
    per = max(1, min(200, int(2.0 / (s.elapsed_time(e) / 3))))
    t = []
    for _ in range(25):
        s.record()
        for _ in range(per): fn()
        e.record(); torch.cuda.synchronize()
        t.append(1000 * s.elapsed_time(e) / per)
    return statistics.median(t)

names = sys.argv[1].split(",")
for g in tb.load_suite(os.path.join(REPO, "benchmarks", "graphs"), names, None):
    ins = tb.make_device_inputs(g, 0, torch.device("cuda"))
    m = tg.build_module(g, device=torch.device("cuda"))
    with torch.no_grad():
        c = tb.compile_module(m, g)
        c(*ins); torch.cuda.synchronize()
        f = lambda: c(*ins)
        for rnd in range(2):
            d = 1000 * triton.testing.do_bench(f, warmup=25, rep=100, return_mode="median")
            print(f"{g.name} round {rnd}: do_bench {d:.1f}  no_flush {nofl(f):.1f}  back_to_back {b2b(f):.1f}", flush=True)
