"""Runs sluice `.graph` files in PyTorch (DESIGN.md sections 4 and 5).

The one PyTorch interpreter of the text format: the benchmark script
(benchmarks/torch_bench.py, issue 8) and the FX bridge tests (issue 9) use it.

    graph = sluice_graph.parse_file("examples/seed.graph")[0]
    outs = run_graph(graph, {"x": x, "y": y}, device="cpu")    # eager
    module = build_module(graph, device="cuda")                 # an fx.GraphModule
    compiled = torch.compile(module)
    outs = compiled(x, y)                                       # inputs in graph order

Semantics per op follow DESIGN §4, which follows PyTorch: scalar literals stay
Python numbers so type promotion is torch's; reductions with dims = [] reduce
all dims; argmax takes the first index on ties; slice clamps like Python;
composites are the torch.nn.functional calls (layer_norm, rms_norm with their
optional weight/bias and eps, gelu with `approximate`).

`infer_types(graph)` fills in (or checks) every node's type by running the
graph on the meta device, so graphs written without annotations can be printed.

Command line:
    python3 tools/torch_graph.py GRAPH [--graph NAME] [--inputs x=x.npy,y=y.npy]
        [--random_inputs SEED] [--save_outputs DIR] [--device cpu] [--print_types]
writes DIR/<output name>.npy, as tools/compile does (bf16 as the '<V2' layout
runtime/npy.h reads).
"""

import argparse
import math
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_graph as sg  # noqa: E402

__all__ = [
    "TORCH_DTYPES", "SLUICE_DTYPES", "OP_IMPLS", "run_graph", "build_module", "infer_types",
    "make_inputs", "load_npy", "save_npy", "to_torch_dtype", "to_sluice_dtype",
]

TORCH_DTYPES: Dict[str, torch.dtype] = {
    "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64,
    "i32": torch.int32, "i64": torch.int64, "bool": torch.bool,
}
SLUICE_DTYPES: Dict[torch.dtype, sg.DType] = {v: sg.DTYPES[k] for k, v in TORCH_DTYPES.items()}


def to_torch_dtype(d: sg.DType) -> torch.dtype:
    return TORCH_DTYPES[d.name]


def to_sluice_dtype(d: torch.dtype) -> sg.DType:
    if d not in SLUICE_DTYPES:
        raise ValueError(f"torch dtype {d} has no sluice equivalent "
                         "(sluice has f32 f16 bf16 f64 i32 i64 bool)")
    return SLUICE_DTYPES[d]


# ---- op implementations ---------------------------------------------------------
#
# Each takes the operands (tensors or Python numbers) positionally and the
# node's full attributes (schema defaults filled in, dtypes as torch dtypes)
# as keyword arguments. They are plain functions so that torch.compile traces
# straight through them.


def _float_input(x: torch.Tensor) -> torch.Tensor:
    # exp/sin/silu/... of int or bool tensors compute in the default float type.
    return x if x.is_floating_point() else x.to(torch.get_default_dtype())


def _unary_to_float(fn: Callable) -> Callable:
    return lambda x: fn(_float_input(x))


def _as_tensor(v, other: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v.to(dtype)
    return torch.tensor(v, dtype=dtype, device=other.device)


def _promoting(fn: Callable) -> Callable:
    """For torch functions that take no Python numbers (maximum, logical_and):
    converts operands to torch.result_type of the call, literals included."""

    def impl(a, b):
        tensor = a if isinstance(a, torch.Tensor) else b
        dtype = torch.result_type(a, b)
        return fn(_as_tensor(a, tensor, dtype), _as_tensor(b, tensor, dtype))

    return impl


def _logical(fn: Callable) -> Callable:
    def impl(a, b):
        tensor = a if isinstance(a, torch.Tensor) else b
        if not isinstance(a, torch.Tensor):
            a = torch.tensor(bool(a), device=tensor.device)
        if not isinstance(b, torch.Tensor):
            b = torch.tensor(bool(b), device=tensor.device)
        return fn(a, b)

    return impl


def _reduce_dims(x: torch.Tensor, dims: Sequence[int]) -> List[int]:
    return list(dims) if dims else list(range(x.dim()))


def _reduction(fn: Callable) -> Callable:
    def impl(x, dims=(), keepdim=False):
        d = _reduce_dims(x, dims)
        if not d:  # a 0-dim tensor reduced over all (no) dims
            return fn(x.unsqueeze(0), dim=[0], keepdim=False)
        return fn(x, dim=d, keepdim=keepdim)

    return impl


def _sum(x, dims=(), keepdim=False):
    return _reduction(torch.sum)(x, dims, keepdim)


def _mean(x, dims=(), keepdim=False):
    return _reduction(torch.mean)(x, dims, keepdim)


def _amax(x, dims=(), keepdim=False):
    return _reduction(torch.amax)(x, dims, keepdim)


def _amin(x, dims=(), keepdim=False):
    return _reduction(torch.amin)(x, dims, keepdim)


def _argmax(x, dim, keepdim=False):
    # torch returns the first index among equal maxima (documented since 1.7).
    return torch.argmax(x, dim=dim, keepdim=keepdim)


def _gelu(x, approximate="none"):
    return F.gelu(_float_input(x), approximate=approximate)


def _cast(x, dtype):
    return x.to(dtype)


def _where(cond, a, b):
    return torch.where(cond, a, b)


def _softmax(x, dim):
    return torch.softmax(x, dim=dim)


def _log_softmax(x, dim):
    return torch.log_softmax(x, dim=dim)


def _layer_norm(x, weight=None, bias=None, normalized_shape=(), eps=1e-5):
    return F.layer_norm(x, list(normalized_shape), weight, bias, eps)


def _rms_norm(x, weight=None, normalized_shape=(), eps=1e-6):
    return F.rms_norm(x, list(normalized_shape), weight, eps)


def _reshape(x, shape):
    return x.reshape(shape)


def _permute(x, dims):
    return x.permute(dims)


def _transpose(x, dim0, dim1):
    if x.dim() == 0:
        return x
    return x.transpose(dim0, dim1)


def _expand(x, shape):
    return x.expand(shape)


def _slice(x, dim, start=0, end=sg.INT_MAX, step=1):
    index = [slice(None)] * x.dim()
    index[dim] = slice(start, end, step)  # Python clamping, like DESIGN §4
    return x[tuple(index)]


def _concat(*xs, dim=0):
    return torch.cat(xs, dim=dim)


def _squeeze(x, dims=()):
    if not dims or x.dim() == 0:
        return x.squeeze()
    return x.squeeze(tuple(dims))


def _unsqueeze(x, dim):
    return x.unsqueeze(dim)


def _matmul(a, b):
    return torch.matmul(a, b)


def _full(shape, value, dtype=torch.float32, device="cpu"):
    return torch.full(list(shape), value, dtype=dtype, device=device)


OP_IMPLS: Dict[str, Callable] = {
    "neg": torch.neg,
    "abs": torch.abs,
    "relu": torch.relu,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "silu": _unary_to_float(F.silu),
    "erf": torch.erf,
    "reciprocal": torch.reciprocal,
    "logical_not": torch.logical_not,
    "gelu": _gelu,
    "cast": _cast,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": _promoting(torch.maximum),
    "minimum": _promoting(torch.minimum),
    "eq": lambda a, b: a == b if isinstance(a, torch.Tensor) else b == a,
    "ne": lambda a, b: a != b if isinstance(a, torch.Tensor) else b != a,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "logical_and": _logical(torch.logical_and),
    "logical_or": _logical(torch.logical_or),
    "where": _where,
    "sum": _sum,
    "mean": _mean,
    "amax": _amax,
    "amin": _amin,
    "argmax": _argmax,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "layer_norm": _layer_norm,
    "rms_norm": _rms_norm,
    "reshape": _reshape,
    "permute": _permute,
    "transpose": _transpose,
    "expand": _expand,
    "slice": _slice,
    "concat": _concat,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "matmul": _matmul,
    "full": _full,
}
assert set(OP_IMPLS) == set(sg.OPS), set(OP_IMPLS) ^ set(sg.OPS)


def _torch_attr(v):
    if isinstance(v, sg.DType):
        return to_torch_dtype(v)
    if isinstance(v, list):
        return [_torch_attr(x) for x in v]
    return v


def node_kwargs(node: sg.Node, device=None) -> Dict[str, object]:
    """The node's attributes with schema defaults, as the impl's kwargs."""
    kw = {spec.name: _torch_attr(node.attr(spec.name)) for spec in node.schema.attrs}
    if node.op == "full":
        kw["device"] = device if device is not None else "cpu"
        kw["value"] = float(kw["value"]) if not isinstance(kw["value"], bool) else kw["value"]
    return kw


def _call(node: sg.Node, args: list, device) -> torch.Tensor:
    try:
        return OP_IMPLS[node.op](*args, **node_kwargs(node, device))
    except Exception as e:  # re-raised with the node and its location
        raise RuntimeError(f"{node.location}: %{node.name} = {node.op}(...) failed in "
                           f"PyTorch: {e}") from e


# ---- running ---------------------------------------------------------------------------

InputsT = Union[Dict[str, object], Sequence[object]]


def _to_tensor(v, device) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v.to(device) if device is not None else v
    if isinstance(v, np.ndarray):
        return from_numpy(v).to(device or "cpu")
    return torch.as_tensor(v, device=device)


def _bind_inputs(graph: sg.Graph, inputs: InputsT, device, check: bool) -> Dict[str, torch.Tensor]:
    if isinstance(inputs, dict):
        missing = [n.name for n in graph.inputs if n.name not in inputs]
        extra = [k for k in inputs if graph.find(k) is None or not graph.find(k).is_input]
        if missing or extra:
            raise ValueError(f"graph {graph.name}: inputs do not match the parameters "
                             f"(missing: {missing}, unknown: {extra})")
        values = [inputs[n.name] for n in graph.inputs]
    else:
        values = list(inputs)
        if len(values) != len(graph.inputs):
            raise ValueError(f"graph {graph.name} takes {len(graph.inputs)} inputs, "
                             f"got {len(values)}")
    env = {}
    for n, v in zip(graph.inputs, values):
        t = _to_tensor(v, device)
        if check:
            want = (to_torch_dtype(n.type.dtype), tuple(n.type.shape))
            if (t.dtype, tuple(t.shape)) != want:
                raise ValueError(f"input %{n.name}: expected {n.type}, got "
                                 f"{to_sluice_dtype(t.dtype) if t.dtype in SLUICE_DTYPES else t.dtype}"
                                 f"{list(t.shape)}")
        env[n.name] = t
    return env


def _tensor_type(t: torch.Tensor) -> sg.TensorType:
    return sg.TensorType(to_sluice_dtype(t.dtype), tuple(int(d) for d in t.shape))


def _execute(graph: sg.Graph, env: Dict[str, torch.Tensor], device, on_node=None):
    for node in graph.calls:
        args = [env[o.name] if isinstance(o, sg.Node) else o for o in node.operands]
        out = _call(node, args, device)
        if on_node is not None:
            on_node(node, out)
        env[node.name] = out
    return [env[n.name] for n in graph.outputs]


def run_graph(graph: sg.Graph, inputs: InputsT, device=None,
              check_types: bool = True) -> List[torch.Tensor]:
    """Runs `graph` eagerly. `inputs`: a dict by parameter name or a list in
    parameter order, of tensors or numpy arrays (moved to `device` if given).
    With check_types, inputs must match the parameter types and annotated
    nodes must get exactly their annotated type."""
    env = _bind_inputs(graph, inputs, device, check_types)
    if device is None:
        device = next(iter(env.values())).device if env else "cpu"

    def check(node, out):
        if check_types and node.type is not None and _tensor_type(out) != node.type:
            raise ValueError(f"{node.location}: %{node.name} ({node.op}) is annotated "
                             f"{node.type} but PyTorch computes {_tensor_type(out)}")

    return _execute(graph, env, device, check)


def infer_types(graph: sg.Graph, overwrite: bool = False) -> sg.Graph:
    """Sets every call node's type by running the graph on the meta device.
    Raises ValueError if an annotated type differs from PyTorch's (unless
    overwrite). Returns the graph."""
    env = {n.name: torch.empty(n.type.shape, dtype=to_torch_dtype(n.type.dtype), device="meta")
           for n in graph.inputs}

    def record(node, out):
        t = _tensor_type(out)
        if node.type is not None and node.type != t and not overwrite:
            raise ValueError(f"{node.location}: %{node.name} ({node.op}) is annotated "
                             f"{node.type} but PyTorch computes {t}")
        node.type = t

    _execute(graph, env, "meta", record)
    return graph


class _GraphModule(torch.nn.Module):
    pass


def build_module(graph: sg.Graph, device=None) -> torch.fx.GraphModule:
    """An fx.GraphModule computing `graph`: forward(*inputs in parameter order)
    returns a tuple of the outputs. Suitable for torch.compile; print(m.code)
    shows it. `device` is where `full` creates tensors (default: the device of
    the first input, else cpu)."""
    fx_graph = torch.fx.Graph()
    env = {}
    for n in graph.inputs:
        env[n.name] = fx_graph.placeholder(sg.sanitize_name(n.name).replace(".", "_"))
    first_input = env[graph.inputs[0].name] if graph.inputs else None
    for node in graph.calls:
        args = tuple(env[o.name] if isinstance(o, sg.Node) else o for o in node.operands)
        kwargs = node_kwargs(node, device)
        if node.op == "full" and device is None and first_input is not None:
            kwargs["device"] = fx_graph.call_function(getattr, (first_input, "device"))
        fx_node = fx_graph.call_function(OP_IMPLS[node.op], args, kwargs)
        fx_node.name = "v_" + sg.sanitize_name(node.name).replace(".", "_")
        env[node.name] = fx_node
    fx_graph.output(tuple(env[n.name] for n in graph.outputs))
    module = torch.fx.GraphModule(_GraphModule(), fx_graph, class_name=f"sluice_{graph.name}")
    return module


# ---- inputs and .npy ----------------------------------------------------------------------


def make_inputs(graph: sg.Graph, seed: int = 0, device="cpu") -> List[torch.Tensor]:
    """Seeded inputs in parameter order: floats standard normal, ints in
    [0, 10), bools fair coins. Generated on the CPU so that they are the same
    on every device."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for n in graph.inputs:
        dtype = to_torch_dtype(n.type.dtype)
        shape = list(n.type.shape)
        if dtype.is_floating_point:
            t = torch.randn(shape, generator=gen, dtype=torch.float32).to(dtype)
        elif dtype == torch.bool:
            t = torch.rand(shape, generator=gen) < 0.5
        else:
            t = torch.randint(0, 10, shape, generator=gen, dtype=dtype)
        out.append(t.to(device))
    return out


def from_numpy(a: np.ndarray) -> torch.Tensor:
    """numpy -> torch; a '<V2' (void, 2 bytes) array is bf16, as runtime/npy.h writes it."""
    # np.array(order="C") rather than np.ascontiguousarray, which makes a
    # 0-d array (a full reduction's output) 1-d.
    a = np.array(a, order="C", copy=True)
    if a.dtype.kind == "V" and a.dtype.itemsize == 2:
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.dtype("V2"))
    return t.numpy()


def load_npy(path: str) -> torch.Tensor:
    return from_numpy(np.load(path, allow_pickle=False))


def save_npy(path: str, t: torch.Tensor) -> None:
    np.save(path, to_numpy(t), allow_pickle=False)


# ---- command line ---------------------------------------------------------------------------


def _select_graph(graphs: List[sg.Graph], name: Optional[str]) -> sg.Graph:
    if name is None:
        if len(graphs) != 1:
            raise SystemExit(f"the file holds {len(graphs)} graphs "
                             f"({', '.join(g.name for g in graphs)}): pick one with --graph")
        return graphs[0]
    for g in graphs:
        if g.name == name:
            return g
    raise SystemExit(f"no graph named {name} (have {', '.join(g.name for g in graphs)})")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description="Run a sluice .graph file in PyTorch.")
    p.add_argument("graph_file")
    p.add_argument("--graph", help="which graph of the file (default: the only one)")
    p.add_argument("--inputs", default="",
                   help="NAME=FILE.npy,... for every parameter (or use --random_inputs)")
    p.add_argument("--random_inputs", type=int, metavar="SEED",
                   help="seeded random inputs for parameters not given in --inputs")
    p.add_argument("--save_inputs", metavar="DIR", help="write the inputs used as DIR/NAME.npy")
    p.add_argument("--save_outputs", metavar="DIR", help="write DIR/<output name>.npy")
    p.add_argument("--device", default="cpu")
    p.add_argument("--print_types", action="store_true",
                   help="print the graph with every type inferred by PyTorch")
    args = p.parse_args(argv)
    try:
        graph = _select_graph(sg.parse_file(args.graph_file), args.graph)
    except sg.ParseError as e:
        print(e, file=sys.stderr)
        return 1
    if args.print_types:
        infer_types(graph)
        sys.stdout.write(sg.print_graph(graph))
    given = {}
    for item in filter(None, args.inputs.split(",")):
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"--inputs: expected NAME=FILE.npy, got {item!r}")
        given[name] = load_npy(path)
    if args.random_inputs is not None:
        for n, t in zip(graph.inputs, make_inputs(graph, args.random_inputs)):
            given.setdefault(n.name, t)
    if not args.print_types or given or graph.inputs == []:
        outs = run_graph(graph, given, device=args.device)
        if args.save_inputs:
            os.makedirs(args.save_inputs, exist_ok=True)
            for name, t in given.items():
                save_npy(os.path.join(args.save_inputs, f"{name}.npy"), t)
        seen = set()
        for i, (t, n) in enumerate(zip(outs, graph.outputs)):
            print(f"output {i} (%{n.name}): {_tensor_type(t)}")
            if args.save_outputs:
                # DIR/<name>.npy, as tools/compile --save_outputs writes them.
                os.makedirs(args.save_outputs, exist_ok=True)
                name = n.name if n.name not in seen else f"{n.name}.{i}"
                seen.add(n.name)
                save_npy(os.path.join(args.save_outputs, f"{name}.npy"), t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
