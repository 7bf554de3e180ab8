"""Builds small real-model graphs and exports them to testdata/models/ (issue 9).

    python3 tools/export_models.py [--out testdata/models] [--check]

For each model (random weights from a fixed config and seed; nothing is
downloaded) it writes, under <out>/<model>/:

  <model>.graph             the exported graph (explicit types)
  <model>_fallback.graph    the same model with some FX nodes marked
                            should_fallback = True before export
  <param>.npy               every parameter/buffer, one file each (shared by both graphs)
  <input>.npy               the user inputs
  <model>.expected.<i>.npy  PyTorch's outputs (f32), from the eager nn.Module

and <out>/manifest.json listing per graph: the graph file, its inputs in order
with their .npy, the expected outputs, the names of the nodes marked fallback,
how it was traced, and tolerances. The script is deterministic: running it
again rewrites identical files. With --check it also re-runs every exported
graph through tools/torch_graph.py and compares with the expected outputs.

The models, each traced a different way so all three FX front ends are covered:
  mlp         Linear-ReLU-Linear-GELU-Linear                   make_fx (ATen)
  gpt2_block  pre-LN block: layer_norm, causal attention with  symbolic_trace
              where(mask, scores, -inf), softmax, gelu(tanh) MLP
  llama_block rms_norm, rotary embedding (slice, concat, mul,  torch.export
              add), causal mask added as an input, silu-gated MLP
  classifier  Linear-tanh-Linear-log_softmax                   symbolic_trace
"""

import argparse
import json
import math
import os
import sys
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fx_export  # noqa: E402
import sluice_graph as sg  # noqa: E402
import torch_graph as tg  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- models ------------------------------------------------------------------------


class MLP(nn.Module):
    def __init__(self, d_in=16, d_hidden=32, d_out=8):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_hidden)
        self.fc3 = nn.Linear(d_hidden, d_out)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.gelu(self.fc2(x))
        return self.fc3(x)


class GPT2Block(nn.Module):
    """nanoGPT's Block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, d_model=32, n_head=4, seq=8):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d_model)
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.attn_proj = nn.Linear(d_model, d_model)
        self.ln_2 = nn.LayerNorm(d_model)
        self.c_fc = nn.Linear(d_model, 4 * d_model)
        self.mlp_proj = nn.Linear(4 * d_model, d_model)
        self.register_buffer("causal_mask", torch.tril(torch.ones(seq, seq, dtype=torch.bool)))

    def attn(self, x):
        B, T, C = x.size()
        hd = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, hd).transpose(1, 2)
        k = k.view(B, T, self.n_head, hd).transpose(1, 2)
        v = v.view(B, T, self.n_head, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = torch.where(self.causal_mask, att, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.attn_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        h = F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")
        return x + self.mlp_proj(h)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaBlock(nn.Module):
    """A LLaMA decoder layer: RMSNorm, rotary attention, SwiGLU MLP."""

    def __init__(self, d_model=32, n_head=4, seq=8, d_ff=64, eps=1e-6):
        super().__init__()
        self.n_head = n_head
        self.input_norm = nn.RMSNorm(d_model, eps=eps)
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)
        self.o_proj = nn.Linear(d_model, d_model, bias=False)
        self.post_norm = nn.RMSNorm(d_model, eps=eps)
        self.gate_proj = nn.Linear(d_model, d_ff, bias=False)
        self.up_proj = nn.Linear(d_model, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d_model, bias=False)
        hd = d_model // n_head
        inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(seq, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("rope_cos", emb.cos())
        self.register_buffer("rope_sin", emb.sin())

    def forward(self, x, mask):
        B, T, C = x.shape
        hd = C // self.n_head
        h = self.input_norm(x)
        q = self.q_proj(h).view(B, T, self.n_head, hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.n_head, hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.n_head, hd).transpose(1, 2)
        q = q * self.rope_cos + rotate_half(q) * self.rope_sin
        k = k * self.rope_cos + rotate_half(k) * self.rope_sin
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd) + mask
        att = F.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, C)
        x = x + self.o_proj(y)
        h = self.post_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Classifier(nn.Module):
    def __init__(self, d_in=32, d_hidden=32, n_classes=10):
        super().__init__()
        self.dense = nn.Linear(d_in, d_hidden)
        self.out = nn.Linear(d_hidden, n_classes)

    def forward(self, x):
        return F.log_softmax(self.out(torch.tanh(self.dense(x))), dim=-1)


# ---- specs ------------------------------------------------------------------------------


def _causal_additive_mask(seq):
    return torch.triu(torch.full((seq, seq), float("-inf")), diagonal=1)


MODELS: List[Dict] = [
    dict(name="mlp", seed=1, build=lambda: MLP(), mode="make_fx",
         inputs=lambda g: {"x": torch.randn(4, 16, generator=g)},
         fallback=lambda n: "gelu" in str(n.target) or "relu" in str(n.target)),
    dict(name="gpt2_block", seed=2, build=lambda: GPT2Block(), mode="symbolic",
         inputs=lambda g: {"x": torch.randn(2, 8, 32, generator=g)},
         fallback=lambda n: n.target in (F.softmax, F.gelu)),
    dict(name="llama_block", seed=3, build=lambda: LlamaBlock(), mode="export",
         inputs=lambda g: {"x": torch.randn(2, 8, 32, generator=g),
                           "mask": _causal_additive_mask(8)},
         fallback=lambda n: "softmax" in str(n.target) or "silu" in str(n.target)),
    dict(name="classifier", seed=4, build=lambda: Classifier(), mode="symbolic",
         inputs=lambda g: {"x": torch.randn(4, 32, generator=g)},
         fallback=lambda n: n.target is F.log_softmax),
]

# Per-dtype tolerances for comparing a sluice run with the stored outputs
# (everything here is f32; matmul/reduction order differs between libraries).
TOLERANCE = {"f32": {"rtol": 1e-4, "atol": 1e-5}}


def _trace(model: nn.Module, mode: str, example: Tuple[torch.Tensor, ...]):
    if mode == "symbolic":
        return torch.fx.symbolic_trace(model)
    if mode == "make_fx":
        from torch.fx.experimental.proxy_tensor import make_fx
        return make_fx(model)(*example)
    if mode == "export":
        return torch.export.export(model, example)
    raise ValueError(mode)


def _fx_graph_module(obj):
    return obj.graph_module if isinstance(obj, torch.export.ExportedProgram) else obj


def export_model(spec: Dict, out_dir: str, check: bool) -> List[Dict]:
    torch.manual_seed(spec["seed"])
    model = spec["build"]().eval()
    gen = torch.Generator().manual_seed(1000 + spec["seed"])
    inputs = spec["inputs"](gen)
    example = tuple(inputs.values())
    with torch.no_grad():
        expected = model(*example)
    expected = list(expected) if isinstance(expected, (tuple, list)) else [expected]

    name = spec["name"]
    model_dir = os.path.join(out_dir, name)
    os.makedirs(model_dir, exist_ok=True)
    for input_name, t in inputs.items():
        tg.save_npy(os.path.join(model_dir, f"{input_name}.npy"), t)
    expected_files = []
    for i, t in enumerate(expected):
        path = os.path.join(model_dir, f"{name}.expected.{i}.npy")
        tg.save_npy(path, t.float())
        expected_files.append(path)

    entries = []
    for marked in (False, True):
        graph_name = f"{name}_fallback" if marked else name
        obj = _trace(model, spec["mode"], example)
        gm = _fx_graph_module(obj)
        fx_marked = fx_export.mark_nodes_for_fallback(gm, spec["fallback"]) if marked else []
        if marked and not fx_marked:
            raise AssertionError(f"{graph_name}: the fallback predicate marked nothing")
        result = fx_export.export(obj, example, graph_name=graph_name, include_loc=False,
                                  input_names=list(inputs), module=model)
        graph_path = os.path.join(model_dir, f"{graph_name}.graph")
        result.write(graph_path)
        with open(graph_path) as f:
            text = f.read()
        with open(graph_path, "w") as f:
            f.write(f"# {graph_name}: generated by tools/export_models.py ({spec['mode']}); "
                    "do not edit.\n" + text)
        input_files = []
        for n in result.graph.inputs:
            path = os.path.join(model_dir, f"{n.name}.npy")
            if not os.path.exists(path):
                raise AssertionError(f"no .npy for input {n.name}")
            input_files.append({"name": n.name, "npy": os.path.relpath(path, out_dir),
                                "type": str(n.type)})
        if check:
            graph = sg.parse_file(graph_path)[0]
            got = tg.run_graph(graph, {i["name"]: tg.load_npy(os.path.join(out_dir, i["npy"]))
                                       for i in input_files})
            for i, (g, e) in enumerate(zip(got, expected)):
                torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6,
                                           msg=lambda m: f"{graph_name} output {i}: {m}")
        entries.append({
            "name": graph_name,
            "graph": os.path.relpath(graph_path, out_dir),
            "graph_name": graph_name,
            "traced_with": spec["mode"],
            "inputs": input_files,
            "expected_outputs": [{"npy": os.path.relpath(p, out_dir),
                                  "type": str(result.graph.outputs[i].type)}
                                 for i, p in enumerate(expected_files)],
            "fallback_nodes": result.fallback_nodes,
            "fx_nodes_marked": fx_marked,
            "tolerance": TOLERANCE,
        })
        if marked and not result.fallback_nodes:
            raise AssertionError(f"{graph_name}: no exported node carries should_fallback")
    return entries


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "testdata", "models"))
    p.add_argument("--check", action="store_true",
                   help="re-run each written graph in PyTorch and compare with the expected outputs")
    p.add_argument("--only", default="", help="comma-separated model names")
    args = p.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    entries = []
    for spec in MODELS:
        if only and spec["name"] not in only:
            continue
        entries += export_model(spec, args.out, args.check)
        print(f"exported {spec['name']}")
    if not only:
        manifest = {
            "generated_by": "tools/export_models.py",
            "torch_version": torch.__version__.split("+")[0],
            "models": entries,
        }
        with open(os.path.join(args.out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
