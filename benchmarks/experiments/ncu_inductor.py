# Runs Inductor's compiled graphs a few times between cudaProfilerStart and
# cudaProfilerStop, so that Nsight Compute profiles only the compiled
# graph's kernels, not autotuning's or the warm-up's. Beside a profile of
# sluice's kernel for the same graph, it answers "what does Triton's kernel
# do differently" (benchmarks/NOTES.md §22). On a GPU host, from the
# repository root:
#
#   ncu --profile-from-start off --section SpeedOfLight --section Occupancy \
#       python3 benchmarks/experiments/ncu_inductor.py softmax_bf16
import os, sys
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
sys.path.insert(0, os.path.join(REPO, "tools"))
import torch
import torch_bench as tb
import torch_graph as tg

runs = int(os.environ.get("NCU_RUNS", "1"))
for g in tb.load_suite(os.path.join(REPO, "benchmarks", "graphs"), sys.argv[1].split(","), None):
    ins = tb.make_device_inputs(g, 0, torch.device("cuda"))
    m = tg.build_module(g, device=torch.device("cuda"))
    with torch.no_grad():
        c = tb.compile_module(m, g)
        for _ in range(3):
            c(*ins)
        torch.cuda.synchronize()
        torch.cuda.cudart().cudaProfilerStart()
        for _ in range(runs):
            c(*ins)
        torch.cuda.synchronize()
        torch.cuda.cudart().cudaProfilerStop()
    print(g.name, "profiled", runs, "run(s)", flush=True)
