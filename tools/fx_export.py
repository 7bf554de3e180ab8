"""Exports torch.fx graphs to sluice `.graph` files (issue 9).

Takes a torch.fx.GraphModule from `torch.fx.symbolic_trace`, from `make_fx`
(ATen-level), or a `torch.export` ExportedProgram, and writes:

* `<name>.graph`: every call node mapped to sluice ops (DESIGN.md section 4),
  with explicit types from shape propagation (FX's meta["val"] /
  meta["tensor_meta"], or ShapeProp over example inputs), so the C++ parser
  checks them;
* `<param>.npy` for every parameter, buffer and lifted constant the graph
  reads, declared as graph inputs named after them (after the user inputs).

Node metadata that users attach (`node.meta["should_fallback"] = True`, and
any other str/int/float/bool entry) is carried into the sluice node's
metadata; torch's own entries (val, stack_trace, nn_module_stack, ...) are
not, except that the last frame of stack_trace becomes `loc = "file.py:LINE"`.

An FX node that cannot be expressed in sluice's op set is an error that
lists every such node (name, target, source line), not a silent drop:
`UnsupportedOpsError`.

    gm = torch.fx.symbolic_trace(model)
    gm.graph.find_nodes(...)...meta["should_fallback"] = True
    result = export(gm, example_inputs=(x,))
    result.write("out/model.graph")   # + out/<param>.npy

Command line:
    python3 tools/fx_export.py PROGRAM.pt2 --out DIR/model.graph
    python3 tools/fx_export.py --factory pkg.mod:make_model --out DIR/model.graph
        [--mode symbolic|make_fx|export] [--fallback_ops softmax,gelu]
where make_model() returns (nn.Module, example_inputs tuple).
"""

import argparse
import importlib
import math
import operator
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_graph as sg  # noqa: E402
import torch_graph as tg  # noqa: E402

__all__ = ["export", "ExportResult", "UnsupportedOpsError", "mark_nodes_for_fallback",
           "INTERNAL_META_KEYS"]

aten = torch.ops.aten

# torch's own node.meta keys: never carried into sluice metadata.
INTERNAL_META_KEYS = frozenset("""
val tensor_meta stack_trace nn_module_stack source_fn_stack original_aten from_node seq_nr
torch_fn type example_value grapharg is_wrapped unbacked_bindings autograd_backward_hook
in_grad_fn mutation_region_id recompute ac_graph_id eager_input_vals quantization_tag
numeric_debug_handle nn_module_method source_fn fwd_nn_module_stack fwd_source_fn_stack
is_backward partitioner_tag custom desc tensor_dict
""".split())


class UnsupportedOpsError(ValueError):
    """Some FX nodes have no sluice equivalent; `problems` lists them all."""

    def __init__(self, problems: List[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} FX node(s) cannot be exported to sluice:\n" +
                         "\n".join(f"  {p}" for p in problems))


class _Unmappable(Exception):
    pass


class _V:
    """A sluice value under construction (its name may change until written)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"%{self.name}"


@dataclass
class _Call:
    out: _V
    op: str
    operands: list
    attrs: dict
    meta: dict = field(default_factory=dict)
    fx_node: Optional[str] = None


class _Bad:
    """A value that cannot be expressed in sluice; an error only if something uses it."""

    def __init__(self, why: str):
        self.why = why


class _Tuple(tuple):
    """A multi-output FX value (native_layer_norm, split, ...); None = unmappable item."""


@dataclass
class ExportResult:
    graph: sg.Graph
    text: str
    params: Dict[str, torch.Tensor]  # sluice input name -> tensor, in input order
    user_inputs: List[str]
    fallback_nodes: List[str]  # sluice nodes with should_fallback = true
    fx_to_sluice: Dict[str, str]  # FX node name -> sluice value that holds its result

    def write(self, graph_path: str, weights_dir: Optional[str] = None) -> List[str]:
        """Writes the graph and one .npy per parameter (next to the graph by
        default). Returns the paths written."""
        weights_dir = weights_dir if weights_dir is not None else os.path.dirname(graph_path)
        os.makedirs(os.path.dirname(os.path.abspath(graph_path)), exist_ok=True)
        os.makedirs(weights_dir or ".", exist_ok=True)
        with open(graph_path, "w") as f:
            f.write(self.text)
        written = [graph_path]
        for name, t in self.params.items():
            p = os.path.join(weights_dir, f"{name}.npy")
            tg.save_npy(p, t)
            written.append(p)
        return written


def mark_nodes_for_fallback(gm: torch.fx.GraphModule, predicate: Callable[[torch.fx.Node], bool]):
    """Sets meta["should_fallback"] = True on every call node the predicate
    accepts (the seed test's `_mark_nodes_for_fallback`). Returns their names."""
    marked = []
    for n in gm.graph.nodes:
        if n.op in ("call_function", "call_method", "call_module") and predicate(n):
            n.meta["should_fallback"] = True
            marked.append(n.name)
    return marked


# ---- helpers ---------------------------------------------------------------------------


def _target_name(n: torch.fx.Node, gm=None) -> str:
    t = n.target
    if n.op == "call_module" and gm is not None:
        try:
            return f"{type(gm.get_submodule(t)).__name__} module '{t}'"
        except AttributeError:
            return f"module '{t}'"
    if n.op == "call_method":
        return f"Tensor.{t}"
    if isinstance(t, torch._ops.OpOverload):
        return str(t)
    mod = getattr(t, "__module__", None) or ""
    return f"{mod + '.' if mod and mod != 'builtins' else ''}{getattr(t, '__name__', repr(t))}"


_FRAME_RE = re.compile(r'File "([^"]+)", line (\d+)')


def _loc(n: torch.fx.Node) -> Optional[str]:
    st = n.meta.get("stack_trace")
    if not st:
        return None
    frames = _FRAME_RE.findall(st)
    if not frames:
        return None
    # The innermost frame outside torch itself: the user's line, not nn.Linear's.
    torch_dir = os.path.dirname(torch.__file__)
    user = [f for f in frames if not os.path.abspath(f[0]).startswith(torch_dir)]
    path, line = (user or frames)[-1]
    return f"{os.path.basename(path)}:{line}"


def _user_meta(n: torch.fx.Node, include_loc: bool) -> Dict[str, Any]:
    out = {}
    for k, v in n.meta.items():
        if k in INTERNAL_META_KEYS or k.startswith("_"):
            continue
        if isinstance(v, (bool, int, float, str)):
            out[re.sub(r"[^A-Za-z0-9_.]", "_", k)] = v
    if include_loc:
        loc = _loc(n)
        if loc and "loc" not in out:
            out["loc"] = loc
    return out


def _fx_type(n: torch.fx.Node) -> Optional[sg.TensorType]:
    v = n.meta.get("val")
    if isinstance(v, torch.Tensor):
        return sg.TensorType(tg.to_sluice_dtype(v.dtype), tuple(int(d) for d in v.shape))
    tm = n.meta.get("tensor_meta")
    if tm is not None and hasattr(tm, "dtype") and hasattr(tm, "shape"):
        return sg.TensorType(tg.to_sluice_dtype(tm.dtype), tuple(int(d) for d in tm.shape))
    return None


def _sanitize(name: str) -> str:
    return sg.sanitize_name(name).replace(".", "_")


class _Args:
    def __init__(self, args, kwargs):
        self.args, self.kwargs = tuple(args), dict(kwargs)

    def get(self, i: int, name: str, default=None):
        if i is not None and i < len(self.args):
            return self.args[i]
        return self.kwargs.get(name, default)

    def has(self, i: int, name: str) -> bool:
        return (i is not None and i < len(self.args)) or name in self.kwargs

    def rest(self, i: int):
        return self.args[i:]


# ---- the exporter -------------------------------------------------------------------------


class _Exporter:
    def __init__(self, gm: torch.fx.GraphModule, graph_name: str, include_loc: bool,
                 param_names: Dict[int, str]):
        self.gm = gm
        self.graph_name = graph_name
        self.include_loc = include_loc
        self.param_names = param_names  # id(tensor) -> qualified name, for nicer input names
        self.env: Dict[torch.fx.Node, Any] = {}
        self.inputs: List[Tuple[_V, sg.TensorType]] = []
        self.user_inputs: List[str] = []
        self.params: Dict[str, torch.Tensor] = {}
        self.param_by_id: Dict[int, _V] = {}
        self.calls: List[_Call] = []
        self.names = set()
        self.problems: List[str] = []
        self.cur: Optional[torch.fx.Node] = None
        self.cur_calls: List[_Call] = []
        self.final: Dict[str, _V] = {}

    # -- names and values
    def fresh(self, hint: str) -> str:
        base = _sanitize(hint)
        name, i = base, 1
        while name in self.names:
            name = f"{base}_{i}"
            i += 1
        self.names.add(name)
        return name

    def add_user_input(self, name: str, t: sg.TensorType) -> _V:
        if getattr(self, "input_names", None):
            name = self.input_names[len(self.user_inputs)]
        v = _V(self.fresh(name))
        self.inputs.append((v, t))
        self.user_inputs.append(v.name)
        return v

    def param(self, tensor: torch.Tensor, name: str) -> _V:
        """A parameter/buffer/constant tensor as a graph input (deduplicated)."""
        if id(tensor) in self.param_by_id:
            return self.param_by_id[id(tensor)]
        name = self.param_names.get(id(tensor), name)
        if tensor.dtype not in tg.SLUICE_DTYPES:
            raise _Unmappable(f"tensor '{name}' has dtype {tensor.dtype}, which sluice lacks")
        v = _V(self.fresh(name))
        t = tensor.detach()
        self.params[v.name] = t
        self.inputs.append((v, sg.TensorType(tg.to_sluice_dtype(t.dtype),
                                             tuple(int(d) for d in t.shape))))
        self.param_by_id[id(tensor)] = v
        return v

    def emit(self, op: str, operands: Sequence, attrs: Optional[dict] = None) -> _V:
        hint = self.cur.name if self.cur is not None else op
        out = _V(self.fresh(f"{hint}_{op}"))
        call = _Call(out, op, list(operands), dict(attrs or {}),
                     fx_node=self.cur.name if self.cur is not None else None)
        try:
            sg.check_call(op, [o if not isinstance(o, _V) else sg.Node(o.name, "x")
                               for o in call.operands], call.attrs)
        except ValueError as e:
            raise _Unmappable(f"{op}: {e}") from None
        self.calls.append(call)
        self.cur_calls.append(call)
        return out

    def val(self, a):
        """An FX argument as a sluice operand: a value or a Python number."""
        if isinstance(a, torch.fx.Node):
            v = self.env.get(a)
            if isinstance(v, _V):
                return v
            if isinstance(v, bool):
                raise _Unmappable(f"bool scalar operand {a.name}")
            if isinstance(v, (int, float)):
                return v
            raise _Unmappable(f"operand {a.name} is not a tensor value")
        if isinstance(a, bool):
            raise _Unmappable("bool literal operands are not in the text format")
        if isinstance(a, (int, float)):
            return a
        if isinstance(a, torch.Tensor):
            return self.param(a, "constant")
        raise _Unmappable(f"unsupported operand {a!r}")

    def const(self, a):
        """A compile-time constant (ints, shapes, dims): FX nodes that computed
        sizes are folded."""
        if isinstance(a, torch.fx.Node):
            v = self.env.get(a)
            if isinstance(v, (_V, _Tuple)) or v is None:
                raise _Unmappable(f"{a.name} is used as a constant but is a tensor")
            return v
        if isinstance(a, (list, tuple)):
            return type(a)(self.const(x) for x in a) if not isinstance(a, torch.Size) \
                else tuple(self.const(x) for x in a)
        return a

    def rank(self, a) -> int:
        t = self.fx_type(a)
        return len(t.shape)

    def fx_type(self, a) -> sg.TensorType:
        if isinstance(a, torch.fx.Node):
            t = _fx_type(a)
            if t is not None:
                return t
        if isinstance(a, torch.Tensor):
            return sg.TensorType(tg.to_sluice_dtype(a.dtype), tuple(a.shape))
        raise _Unmappable(f"no shape known for {a}")

    # -- the walk
    def run(self, placeholders_first: List[torch.fx.Node], ep_inputs=None):
        for n in self.gm.graph.nodes:
            self.cur, self.cur_calls = n, []
            try:
                self.visit(n, ep_inputs)
            except _Unmappable as e:
                self.env[n] = None
                if not getattr(e, "quiet", False):
                    self.problems.append(self.describe(n, str(e)))
                continue
            result = self.env.get(n)
            if isinstance(result, _Tuple) and len([r for r in result if r is not None]) == 1:
                result = next(r for r in result if r is not None)  # native_layer_norm
            if self.cur_calls and isinstance(result, _V) and result is self.cur_calls[-1].out:
                # The value that holds the FX node's result takes the FX node's name.
                desired = _sanitize(n.name)
                if desired not in self.names:
                    self.names.discard(result.name)
                    self.names.add(desired)
                    result.name = desired
                self.final[n.name] = result
            meta = _user_meta(n, self.include_loc)
            for c in self.cur_calls:
                c.meta.update(meta)

    def describe(self, n: torch.fx.Node, why: str) -> str:
        loc = _loc(n)
        return (f"%{n.name} ({n.op} {_target_name(n, self.gm)})"
                f"{' at ' + loc if loc else ''}: {why}")

    def visit(self, n: torch.fx.Node, ep_inputs):
        if n.op == "placeholder":
            if ep_inputs is not None and n.name in ep_inputs:
                kind, value, target = ep_inputs[n.name]
                if kind == "user":
                    t = _fx_type(n)
                    if t is None:
                        raise _Unmappable("no type for the input")
                    self.env[n] = self.add_user_input(n.name, t)
                else:
                    self.env[n] = self.param(value, target)
                return
            t = _fx_type(n)
            if t is None:
                if n.type in (int, float) or isinstance(n.meta.get("val"), (int, float)):
                    raise _Unmappable("scalar (non-tensor) graph inputs are not supported")
                raise _Unmappable("no shape/dtype known: pass example_inputs")
            self.env[n] = self.add_user_input(n.name, t)
            return
        if n.op == "get_attr":
            obj = self.gm
            for part in n.target.split("."):
                obj = getattr(obj, part)
            if isinstance(obj, torch.Tensor):
                self.env[n] = self.param(obj, n.target)
            else:
                self.env[n] = obj
            return
        if n.op == "output":
            return
        # Constant folding of size arithmetic (x.size(0) // 2, ...).
        if n.op == "call_function" and n.target in _FOLDABLE:
            try:
                args = [self.const(a) for a in n.args]
            except _Unmappable:
                args = None
            if args is not None and not any(isinstance(a, torch.Tensor) for a in args):
                if all(not isinstance(a, (_V, _Tuple)) for a in args):
                    self.env[n] = n.target(*args)
                    return
        conv = self.find_converter(n)
        if conv is None:
            raise _Unmappable("no sluice mapping for this op")
        for a in n.all_input_nodes:
            if isinstance(self.env.get(a), _Bad):
                raise _Unmappable(self.env[a].why)
        if any(a in self.env and self.env[a] is None for a in n.all_input_nodes):
            # An input could not be mapped (already reported): skip quietly.
            e = _Unmappable("depends on an unmapped node")
            e.quiet = True
            raise e
        self.env[n] = conv(self, n, _Args(n.args, n.kwargs))

    def find_converter(self, n: torch.fx.Node):
        if n.op == "call_function":
            t = n.target
            if isinstance(t, torch._ops.OpOverload):
                conv = _ATEN.get(str(t).replace("aten.", "", 1))
                if conv is None:
                    conv = _ATEN.get(t.overloadpacket.__name__)
                return conv
            return _FUNCS.get(t)
        if n.op == "call_method":
            return _METHODS.get(n.target)
        if n.op == "call_module":
            mod = self.gm.get_submodule(n.target)
            for cls, conv in _MODULES:
                if type(mod) is cls:
                    return lambda ex, node, A, mod=mod, conv=conv: conv(ex, node, A, mod)
        return None


# ---- converters ------------------------------------------------------------------------------
# Each: conv(ex, fx_node, A) -> _V (or an identity: the operand's _V), a
# Python constant, or a _Tuple.


def _unary(op):
    def conv(ex, n, A):
        return ex.emit(op, [ex.val(A.get(0, "input", A.get(0, "self")))])

    return conv


def _x(A):
    return A.get(0, "input", A.kwargs.get("self"))


def _binary(op, reverse=False):
    def conv(ex, n, A):
        a = ex.val(A.get(0, "input", A.kwargs.get("self")))
        b = ex.val(A.get(1, "other"))
        alpha = A.kwargs.get("alpha", 1)
        if op in ("add", "sub") and alpha != 1:
            b = ex.emit("mul", [b, alpha]) if isinstance(b, _V) else b * alpha
        if A.kwargs.get("rounding_mode") is not None:
            raise _Unmappable(f"div with rounding_mode={A.kwargs['rounding_mode']!r}")
        if not isinstance(a, _V) and not isinstance(b, _V):
            raise _Unmappable("both operands are scalars")
        return ex.emit(op, [b, a] if reverse else [a, b])

    return conv


def _rsub(ex, n, A):
    a = ex.val(A.get(0, "self"))
    b = ex.val(A.get(1, "other"))
    alpha = A.get(2, "alpha", 1)
    if alpha != 1:
        a = ex.emit("mul", [a, alpha])
    return ex.emit("sub", [b, a])


def _inplace(conv):
    def c(ex, n, A):
        target = A.args[0]
        if isinstance(target, torch.fx.Node) and len(target.users) > 1:
            raise _Unmappable("in-place op on a value that has other users")
        return conv(ex, n, A)

    return c


def _identity(ex, n, A):
    x = A.get(0, "input", A.kwargs.get("self"))
    return ex.env[x] if isinstance(x, torch.fx.Node) else ex.val(x)


def _dropout(ex, n, A):
    training = A.get(2, "training", A.get(2, "train", False))
    p = A.get(1, "p", 0.5)
    if training and p > 0:
        raise _Unmappable("dropout in training mode (call model.eval() before export)")
    return _identity(ex, n, A)


def _cast_to(ex, x, dtype):
    if dtype is None:
        return ex.val(x)
    d = tg.to_sluice_dtype(dtype)
    if ex.fx_type(x).dtype is d:
        return ex.val(x)
    return ex.emit("cast", [ex.val(x)], {"dtype": d})


def _method_cast(dtype):
    return lambda ex, n, A: _cast_to(ex, A.args[0], dtype)


def _to(ex, n, A):
    """Tensor.to(dtype) / .to(device) / .to(device, dtype) / .to(other)."""
    dtype = A.kwargs.get("dtype")
    for a in A.args[1:]:
        if isinstance(a, torch.dtype):
            dtype = a
        elif isinstance(a, torch.fx.Node) and isinstance(ex.env.get(a), _V):
            dtype = tg.to_torch_dtype(ex.fx_type(a).dtype)
    return _cast_to(ex, A.args[0], dtype)


def _aten_to_copy(ex, n, A):
    return _cast_to(ex, A.args[0], A.kwargs.get("dtype", A.get(1, "dtype")))


def _aten_to_dtype(ex, n, A):
    return _cast_to(ex, A.args[0], A.get(1, "dtype"))


def _gelu(ex, n, A):
    approximate = A.get(1, "approximate", "none")
    return ex.emit("gelu", [ex.val(_x(A))],
                   {"approximate": approximate} if approximate != "none" else {})


def _softmax_like(op, dim_index=1):
    def conv(ex, n, A):
        x = _x(A)
        dim = A.get(dim_index, "dim")
        if dim is None:
            raise _Unmappable("softmax without dim (implicit dim is deprecated)")
        v = _cast_to(ex, x, A.kwargs.get("dtype"))
        return ex.emit(op, [v], {"dim": int(dim)})

    return conv


def _aten_softmax(op):
    def conv(ex, n, A):  # aten._softmax(self, dim, half_to_float)
        v = ex.val(A.args[0])
        if A.get(2, "half_to_float", False):
            v = ex.emit("cast", [v], {"dtype": sg.F32})
        return ex.emit(op, [v], {"dim": int(A.args[1])})

    return conv


def _aten_softmax_int(op):
    def conv(ex, n, A):  # aten.softmax.int(self, dim, dtype=None)
        v = _cast_to(ex, A.args[0], A.get(2, "dtype"))
        return ex.emit(op, [v], {"dim": int(A.args[1])})

    return conv


def _norm_operands(ex, x, weight, bias):
    ops = [ex.val(x)]
    if weight is not None:
        ops.append(ex.val(weight))
        if bias is not None:
            ops.append(ex.val(bias))
    return ops


def _layer_norm_impl(ex, x, shape, weight, bias, eps):
    shape = [int(s) for s in ex.const(shape)]
    v = ex.emit("layer_norm", _norm_operands(ex, x, weight, bias),
                {"normalized_shape": shape, "eps": float(eps)})
    if weight is None and bias is not None:
        v = ex.emit("add", [v, ex.val(bias)])
    return v


def _layer_norm(ex, n, A):  # F.layer_norm / aten.layer_norm
    return _layer_norm_impl(ex, _x(A), A.get(1, "normalized_shape"), A.get(2, "weight"),
                            A.get(3, "bias"), A.get(4, "eps", 1e-5))


def _native_layer_norm(ex, n, A):
    v = _layer_norm_impl(ex, A.args[0], A.args[1], A.args[2], A.args[3], A.args[4])
    return _Tuple((v, None, None))


def _rms_eps(ex, x, eps):
    if eps is None:  # torch uses the input dtype's machine epsilon
        return float(torch.finfo(tg.to_torch_dtype(ex.fx_type(x).dtype)).eps)
    return float(eps)


def _rms_norm(ex, n, A):  # F.rms_norm / aten.rms_norm(input, normalized_shape, weight, eps)
    x = _x(A)
    shape = [int(s) for s in ex.const(A.get(1, "normalized_shape"))]
    return ex.emit("rms_norm", _norm_operands(ex, x, A.get(2, "weight"), None),
                   {"normalized_shape": shape, "eps": _rms_eps(ex, x, A.get(3, "eps"))})


def _linear_impl(ex, x, weight, bias):
    w = ex.val(weight)
    if ex.rank(weight) == 2:
        w = ex.emit("transpose", [w], {"dim0": 0, "dim1": 1})
    v = ex.emit("matmul", [ex.val(x), w])
    if bias is not None:
        v = ex.emit("add", [v, ex.val(bias)])
    return v


def _linear(ex, n, A):
    return _linear_impl(ex, _x(A), A.get(1, "weight"), A.get(2, "bias"))


def _matmul(ex, n, A):
    return ex.emit("matmul", [ex.val(A.get(0, "input", A.kwargs.get("self"))),
                              ex.val(A.get(1, "other", A.kwargs.get("mat2")))])


def _addmm(ex, n, A):  # addmm(bias, a, b, beta=1, alpha=1) = beta*bias + alpha*(a@b)
    v = ex.emit("matmul", [ex.val(A.args[1]), ex.val(A.args[2])])
    alpha, beta = A.kwargs.get("alpha", 1), A.kwargs.get("beta", 1)
    if alpha != 1:
        v = ex.emit("mul", [v, alpha])
    if beta == 0:
        return v
    b = ex.val(A.args[0])
    if beta != 1:
        b = ex.emit("mul", [b, beta])
    return ex.emit("add", [v, b])


def _sizes(ex, A, start):
    """Sizes given as varargs (x.view(2, 3)) or one sequence (x.view((2, 3)))."""
    rest = A.rest(start)
    if len(rest) == 1 and isinstance(ex.const(rest[0]), (list, tuple)):
        sizes = ex.const(rest[0])
    elif rest:
        sizes = [ex.const(r) for r in rest]
    else:
        sizes = ex.const(A.kwargs.get("size", A.kwargs.get("shape", A.kwargs.get("dims"))))
    return [int(s) for s in sizes]


def _reshape(ex, n, A):
    return ex.emit("reshape", [ex.val(_x(A))], {"shape": _sizes(ex, A, 1)})


def _permute(ex, n, A):
    return ex.emit("permute", [ex.val(_x(A))], {"dims": _sizes(ex, A, 1)})


def _expand(ex, n, A):
    return ex.emit("expand", [ex.val(_x(A))], {"shape": _sizes(ex, A, 1)})


def _transpose(ex, n, A):
    return ex.emit("transpose", [ex.val(_x(A))],
                   {"dim0": int(ex.const(A.get(1, "dim0"))), "dim1": int(ex.const(A.get(2, "dim1")))})


def _t(ex, n, A):
    x = _x(A)
    if ex.rank(x) < 2:
        return ex.val(x)
    return ex.emit("transpose", [ex.val(x)], {"dim0": 0, "dim1": 1})


def _unsqueeze(ex, n, A):
    return ex.emit("unsqueeze", [ex.val(_x(A))], {"dim": int(ex.const(A.get(1, "dim")))})


def _squeeze(ex, n, A):
    dim = ex.const(A.get(1, "dim"))
    if dim is None:
        dims = []
    elif isinstance(dim, (list, tuple)):
        dims = [int(d) for d in dim]
    else:
        dims = [int(dim)]
    return ex.emit("squeeze", [ex.val(_x(A))], {"dims": dims} if dims else {})


def _flatten(ex, n, A):
    x = _x(A)
    shape = list(ex.fx_type(x).shape)
    r = len(shape)
    s = int(ex.const(A.get(1, "start_dim", 0)))
    e = int(ex.const(A.get(2, "end_dim", -1)))
    if r == 0:
        return ex.emit("reshape", [ex.val(x)], {"shape": [1]})
    s, e = s % r, e % r
    new = shape[:s] + [math.prod(shape[s:e + 1])] + shape[e + 1:]
    return ex.emit("reshape", [ex.val(x)], {"shape": new})


def _reduction(op, dim_index=1, keep_index=2, dtype_kw=True):
    def conv(ex, n, A):
        x = _x(A)
        dim = ex.const(A.get(dim_index, "dim"))
        keepdim = bool(A.get(keep_index, "keepdim", False))
        dtype = A.kwargs.get("dtype") if dtype_kw else None
        v = _cast_to(ex, x, dtype)
        if dim is None:
            dims = []
        elif isinstance(dim, (list, tuple)):
            dims = [int(d) for d in dim]
            if not dims and op in ("sum", "mean"):
                pass  # [] = all dims in sluice, as in aten.sum.dim_IntList
        else:
            dims = [int(dim)]
        attrs = {}
        if dims:
            attrs["dims"] = dims
        if keepdim:
            attrs["keepdim"] = True
        return ex.emit(op, [v], attrs)

    return conv


def _argmax(ex, n, A):
    x = _x(A)
    dim = ex.const(A.get(1, "dim"))
    keepdim = bool(A.get(2, "keepdim", False))
    v = ex.val(x)
    if dim is None:  # over the flattened tensor
        v = ex.emit("reshape", [v], {"shape": [-1]})
        dim, keepdim = 0, False
        if ex.rank(x) > 0 and bool(A.get(2, "keepdim", False)):
            raise _Unmappable("argmax(dim=None, keepdim=True)")
    return ex.emit("argmax", [v], {"dim": int(dim), **({"keepdim": True} if keepdim else {})})


def _where(ex, n, A):
    return ex.emit("where", [ex.val(A.get(0, "condition")), ex.val(A.get(1, "input", A.get(1, "self"))),
                             ex.val(A.get(2, "other"))])


def _masked_fill(ex, n, A):  # x.masked_fill(mask, value) = where(mask, value, x)
    x, mask, value = A.args[0], A.get(1, "mask"), A.get(2, "value")
    v = ex.val(value)
    if isinstance(v, _V) and len(ex.fx_type(value).shape) != 0:
        raise _Unmappable("masked_fill with a non-scalar value tensor")
    return ex.emit("where", [ex.val(mask), v, ex.val(x)])


def _invert(ex, n, A):
    x = A.args[0]
    if ex.fx_type(x).dtype is not sg.BOOL:
        raise _Unmappable("bitwise not of a non-bool tensor")
    return ex.emit("logical_not", [ex.val(x)])


def _bitwise_bool(op):
    def conv(ex, n, A):  # & | on bool tensors are logical_and / logical_or
        a, b = A.args[0], A.args[1]
        for x in (a, b):
            if not isinstance(x, torch.fx.Node) or ex.fx_type(x).dtype is not sg.BOOL:
                raise _Unmappable(f"bitwise {op[8:]} of non-bool values")
        return ex.emit(op, [ex.val(a), ex.val(b)])

    return conv


def _clamp(ex, n, A):  # clamp(x, min, max) = minimum(maximum(x, min), max)
    v = ex.val(_x(A))
    lo = A.get(1, "min")
    hi = A.get(2, "max")
    if n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload):
        name = n.target.overloadpacket.__name__
        if name == "clamp_max":
            lo, hi = None, A.get(1, "max")
    if lo is None and hi is None:
        raise _Unmappable("clamp without min or max")
    if lo is not None:
        v = ex.emit("maximum", [v, ex.val(lo)])
    if hi is not None:
        v = ex.emit("minimum", [v, ex.val(hi)])
    return v


def _pow(ex, n, A):
    a = ex.val(A.get(0, "input", A.kwargs.get("self")))
    b = ex.val(A.get(1, "exponent", A.kwargs.get("other")))
    return ex.emit("pow", [a, b])


def _cat(ex, n, A):
    xs = A.get(0, "tensors")
    return ex.emit("concat", [ex.val(x) for x in xs], {"dim": int(A.get(1, "dim", 0))})


def _full_impl(ex, shape, value, dtype):
    if isinstance(value, torch.fx.Node):
        value = ex.const(value)
    if dtype is None:
        dtype = (torch.bool if isinstance(value, bool) else
                 torch.int64 if isinstance(value, int) else torch.get_default_dtype())
    attrs = {"shape": [int(s) for s in shape], "value": float(value)}
    if dtype != torch.float32:
        attrs["dtype"] = tg.to_sluice_dtype(dtype)
    if isinstance(value, (int, bool)) and math.isfinite(value):
        attrs["value"] = int(value)
    return ex.emit("full", [], attrs)


def _full(ex, n, A):
    return _full_impl(ex, ex.const(A.get(0, "size")), A.get(1, "fill_value"), A.kwargs.get("dtype"))


def _const_fill(value):
    def conv(ex, n, A):  # zeros/ones: the default float type unless dtype is given
        shape = _sizes(ex, A, 0)
        return _full_impl(ex, shape, value, A.kwargs.get("dtype") or torch.get_default_dtype())

    return conv


def _like(value):
    def conv(ex, n, A):
        x = A.args[0]
        t = ex.fx_type(x)
        v = value if value is not None else A.get(1, "fill_value")
        dtype = A.kwargs.get("dtype") or tg.to_torch_dtype(t.dtype)
        return _full_impl(ex, list(t.shape), v, dtype)

    return conv


def _scalar_tensor(ex, n, A):
    return _full_impl(ex, [], A.args[0], A.kwargs.get("dtype", torch.float32))


def _slice_impl(ex, v, dim, start, end, step):
    attrs = {"dim": int(dim)}
    if start not in (None, 0):
        attrs["start"] = int(start)
    if end is not None and end < sg.INT_MAX:
        attrs["end"] = int(end)
    if step not in (None, 1):
        if step <= 0:
            raise _Unmappable("slice step must be positive")
        attrs["step"] = int(step)
    return ex.emit("slice", [v], attrs)


def _aten_slice(ex, n, A):  # slice.Tensor(self, dim=0, start=None, end=None, step=1)
    return _slice_impl(ex, ex.val(A.args[0]), A.get(1, "dim", 0), ex.const(A.get(2, "start")),
                       ex.const(A.get(3, "end")), ex.const(A.get(4, "step", 1)))


def _select_impl(ex, v, dim, index, size):
    index = int(index)
    if index < -size or index >= size:
        raise _Unmappable(f"index {index} out of range for size {size}")
    index %= size
    s = ex.emit("slice", [v], {"dim": int(dim), "start": index, "end": index + 1})
    return ex.emit("squeeze", [s], {"dims": [int(dim)]})


def _aten_select(ex, n, A):
    x = A.args[0]
    dim = int(A.args[1]) % max(1, ex.rank(x))
    return _select_impl(ex, ex.val(x), dim, A.args[2], ex.fx_type(x).shape[dim])


def _getitem(ex, n, A):
    obj, idx = A.args[0], A.args[1]
    base = ex.env.get(obj) if isinstance(obj, torch.fx.Node) else obj
    if isinstance(base, _Tuple):
        item = base[idx]
        if item is None:
            return _Bad(f"uses output {idx} of %{obj.name}, which has no sluice equivalent")
        return item
    if not isinstance(base, _V):
        return ex.const(obj)[ex.const(idx)]  # size arithmetic
    # Tensor indexing with ints, slices, None and Ellipsis.
    shape = list(ex.fx_type(obj).shape)
    idx = ex.const(idx)
    items = list(idx) if isinstance(idx, tuple) else [idx]
    if any(isinstance(i, (torch.Tensor, list, _V, torch.fx.Node)) for i in items):
        raise _Unmappable("advanced (tensor/list) indexing")
    n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + [slice(None)] * (len(shape) - n_real) + items[k + 1:]
    v, dim = base, 0
    squeeze = []
    out_dim = 0
    for i in items:
        if i is None:
            v = ex.emit("unsqueeze", [v], {"dim": out_dim})
            out_dim += 1
            continue
        if isinstance(i, slice):
            if i != slice(None):
                step = 1 if i.step is None else ex.const(i.step)
                v = _slice_impl(ex, v, out_dim, ex.const(i.start), ex.const(i.stop), step)
            out_dim += 1
            dim += 1
            continue
        if isinstance(i, int):
            size = shape[dim]
            if i < -size or i >= size:
                raise _Unmappable(f"index {i} out of range for size {size}")
            j = i % size
            v = ex.emit("slice", [v], {"dim": out_dim, "start": j, "end": j + 1})
            squeeze.append(out_dim)
            out_dim += 1
            dim += 1
            continue
        raise _Unmappable(f"unsupported index {i!r}")
    if squeeze:
        v = ex.emit("squeeze", [v], {"dims": squeeze})
    return v if v is not base else base


def _split_impl(ex, x, sizes, dim):
    v = ex.val(x)
    rank = ex.rank(x)
    dim = int(dim) % rank
    outs, start = [], 0
    for s in sizes:
        outs.append(ex.emit("slice", [v], {"dim": dim, "start": start, "end": start + s}))
        start += s
    return _Tuple(outs)


def _split(ex, n, A):
    x = A.args[0]
    size_or_sizes = ex.const(A.get(1, "split_size_or_sections", A.kwargs.get("split_size")))
    dim = ex.const(A.get(2, "dim", 0))
    total = ex.fx_type(x).shape[int(dim)]
    if isinstance(size_or_sizes, int):
        sizes = [min(size_or_sizes, total - i) for i in range(0, total, size_or_sizes)]
    else:
        sizes = list(size_or_sizes)
    return _split_impl(ex, x, sizes, dim)


def _chunk(ex, n, A):
    x = A.args[0]
    chunks = int(ex.const(A.get(1, "chunks")))
    dim = int(ex.const(A.get(2, "dim", 0)))
    total = ex.fx_type(x).shape[dim]
    each = -(-total // chunks)
    sizes = [min(each, total - i) for i in range(0, total, each)]
    return _split_impl(ex, x, sizes, dim)


def _size(ex, n, A):
    shape = ex.fx_type(A.args[0]).shape
    dim = A.get(1, "dim")
    return tuple(shape) if dim is None else shape[int(dim)]


def _getattr(ex, n, A):
    obj, attr = A.args
    if attr == "shape":
        return tuple(ex.fx_type(obj).shape)
    if attr == "dtype":
        return tg.to_torch_dtype(ex.fx_type(obj).dtype)
    if attr == "ndim":
        return len(ex.fx_type(obj).shape)
    if attr == "T" and ex.rank(obj) == 2:
        return ex.emit("transpose", [ex.val(obj)], {"dim0": 0, "dim1": 1})
    raise _Unmappable(f"getattr {attr}")


def _dim(ex, n, A):
    return len(ex.fx_type(A.args[0]).shape)


def _skip(ex, n, A):
    if n.users:
        raise _Unmappable("an assertion used as a value")
    return None


_FOLDABLE = {operator.add, operator.sub, operator.mul, operator.floordiv, operator.truediv,
             operator.mod, operator.neg, operator.getitem, math.sqrt}

U = _unary
_FUNCS: Dict[Any, Callable] = {
    operator.add: _binary("add"), operator.sub: _binary("sub"), operator.mul: _binary("mul"),
    operator.truediv: _binary("div"), operator.pow: _pow, operator.neg: U("neg"),
    operator.abs: U("abs"), operator.matmul: _matmul, operator.getitem: _getitem,
    operator.eq: _binary("eq"), operator.ne: _binary("ne"), operator.lt: _binary("lt"),
    operator.le: _binary("le"), operator.gt: _binary("gt"), operator.ge: _binary("ge"),
    operator.invert: _invert, operator.and_: _bitwise_bool("logical_and"),
    operator.or_: _bitwise_bool("logical_or"), getattr: _getattr,
    torch.add: _binary("add"), torch.sub: _binary("sub"), torch.subtract: _binary("sub"),
    torch.mul: _binary("mul"), torch.multiply: _binary("mul"), torch.div: _binary("div"),
    torch.divide: _binary("div"), torch.true_divide: _binary("div"), torch.pow: _pow,
    torch.maximum: _binary("maximum"), torch.minimum: _binary("minimum"),
    torch.eq: _binary("eq"), torch.ne: _binary("ne"), torch.lt: _binary("lt"),
    torch.le: _binary("le"), torch.gt: _binary("gt"), torch.ge: _binary("ge"),
    torch.logical_and: _binary("logical_and"), torch.logical_or: _binary("logical_or"),
    torch.logical_not: U("logical_not"), torch.where: _where,
    torch.relu: U("relu"), F.relu: U("relu"), torch.sigmoid: U("sigmoid"),
    F.sigmoid: U("sigmoid"), torch.tanh: U("tanh"), F.tanh: U("tanh"), torch.exp: U("exp"),
    torch.log: U("log"), torch.sqrt: U("sqrt"), torch.rsqrt: U("rsqrt"), torch.sin: U("sin"),
    torch.cos: U("cos"), torch.erf: U("erf"), torch.special.erf: U("erf"), torch.neg: U("neg"),
    torch.negative: U("neg"), torch.abs: U("abs"), torch.reciprocal: U("reciprocal"),
    F.silu: U("silu"), F.gelu: _gelu, torch.matmul: _matmul, torch.mm: _matmul,
    torch.bmm: _matmul, F.linear: _linear, F.softmax: _softmax_like("softmax"),
    torch.softmax: _softmax_like("softmax"), F.log_softmax: _softmax_like("log_softmax"),
    torch.log_softmax: _softmax_like("log_softmax"), F.layer_norm: _layer_norm,
    torch.reshape: _reshape, torch.permute: _permute, torch.transpose: _transpose,
    torch.t: _t, torch.unsqueeze: _unsqueeze, torch.squeeze: _squeeze, torch.flatten: _flatten,
    torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat, torch.full: _full,
    torch.zeros: _const_fill(0), torch.ones: _const_fill(1), torch.zeros_like: _like(0),
    torch.ones_like: _like(1), torch.full_like: _like(None), torch.sum: _reduction("sum"),
    torch.mean: _reduction("mean"), torch.amax: _reduction("amax", dtype_kw=False),
    torch.amin: _reduction("amin", dtype_kw=False), torch.argmax: _argmax,
    torch.split: _split, torch.chunk: _chunk, F.dropout: _dropout,
    torch.masked_fill: _masked_fill, torch.clamp: _clamp, torch.clip: _clamp,
}
if hasattr(F, "rms_norm"):
    _FUNCS[F.rms_norm] = _rms_norm

_METHODS: Dict[str, Callable] = {
    "add": _binary("add"), "sub": _binary("sub"), "mul": _binary("mul"), "div": _binary("div"),
    "pow": _pow, "maximum": _binary("maximum"), "minimum": _binary("minimum"),
    "eq": _binary("eq"), "ne": _binary("ne"), "lt": _binary("lt"), "le": _binary("le"),
    "gt": _binary("gt"), "ge": _binary("ge"), "logical_and": _binary("logical_and"),
    "logical_or": _binary("logical_or"), "logical_not": U("logical_not"),
    "relu": U("relu"), "sigmoid": U("sigmoid"), "tanh": U("tanh"), "exp": U("exp"),
    "log": U("log"), "sqrt": U("sqrt"), "rsqrt": U("rsqrt"), "sin": U("sin"), "cos": U("cos"),
    "erf": U("erf"), "neg": U("neg"), "abs": U("abs"), "reciprocal": U("reciprocal"),
    "matmul": _matmul, "view": _reshape, "reshape": _reshape, "permute": _permute,
    "transpose": _transpose, "t": _t, "expand": _expand, "unsqueeze": _unsqueeze,
    "squeeze": _squeeze, "flatten": _flatten, "sum": _reduction("sum"),
    "mean": _reduction("mean"), "amax": _reduction("amax", dtype_kw=False),
    "amin": _reduction("amin", dtype_kw=False), "argmax": _argmax,
    "softmax": _softmax_like("softmax"), "log_softmax": _softmax_like("log_softmax"),
    "float": _method_cast(torch.float32), "half": _method_cast(torch.float16),
    "bfloat16": _method_cast(torch.bfloat16), "double": _method_cast(torch.float64),
    "int": _method_cast(torch.int32), "long": _method_cast(torch.int64),
    "bool": _method_cast(torch.bool), "to": _to, "type_as": _to,
    "contiguous": _identity, "clone": _identity, "detach": _identity,
    "masked_fill": _masked_fill, "clamp": _clamp, "clip": _clamp, "size": _size, "dim": _dim, "split": _split,
    "chunk": _chunk,
}

_MODULES: List[Tuple[type, Callable]] = [
    (nn.Linear, lambda ex, n, A, m: _linear_impl(
        ex, A.args[0], m.weight, m.bias)),
    (nn.LayerNorm, lambda ex, n, A, m: _layer_norm_impl(
        ex, A.args[0], list(m.normalized_shape), m.weight, m.bias, m.eps)),
    (nn.ReLU, lambda ex, n, A, m: ex.emit("relu", [ex.val(A.args[0])])),
    (nn.SiLU, lambda ex, n, A, m: ex.emit("silu", [ex.val(A.args[0])])),
    (nn.Sigmoid, lambda ex, n, A, m: ex.emit("sigmoid", [ex.val(A.args[0])])),
    (nn.Tanh, lambda ex, n, A, m: ex.emit("tanh", [ex.val(A.args[0])])),
    (nn.GELU, lambda ex, n, A, m: ex.emit("gelu", [ex.val(A.args[0])],
                                          {"approximate": m.approximate})),
    (nn.Softmax, lambda ex, n, A, m: ex.emit("softmax", [ex.val(A.args[0])],
                                             {"dim": _module_dim(m)})),
    (nn.LogSoftmax, lambda ex, n, A, m: ex.emit("log_softmax", [ex.val(A.args[0])],
                                                {"dim": _module_dim(m)})),
    (nn.Identity, lambda ex, n, A, m: _identity(ex, n, A)),
    (nn.Dropout, lambda ex, n, A, m: _identity(ex, n, A) if not m.training or m.p == 0
     else (_ for _ in ()).throw(_Unmappable("nn.Dropout in training mode"))),
    (nn.Flatten, lambda ex, n, A, m: _flatten(ex, n, _Args((A.args[0], m.start_dim, m.end_dim),
                                                             {}))),
]
if hasattr(nn, "RMSNorm"):
    _MODULES.append((nn.RMSNorm, lambda ex, n, A, m: ex.emit(
        "rms_norm", _norm_operands(ex, A.args[0], m.weight, None),
        {"normalized_shape": list(m.normalized_shape), "eps": _rms_eps(ex, A.args[0], m.eps)})))


def _module_dim(m):
    if m.dim is None:
        raise _Unmappable(f"{type(m).__name__} without dim")
    return int(m.dim)


# ATen: keyed by "name.overload" or by the packet name (all overloads).
_ATEN: Dict[str, Callable] = {
    "add.Tensor": _binary("add"), "add.Scalar": _binary("add"),
    "sub.Tensor": _binary("sub"), "sub.Scalar": _binary("sub"), "rsub.Scalar": _rsub,
    "rsub.Tensor": _rsub,
    "mul.Tensor": _binary("mul"), "mul.Scalar": _binary("mul"),
    "div.Tensor": _binary("div"), "div.Scalar": _binary("div"),
    "pow.Tensor_Scalar": _pow, "pow.Tensor_Tensor": _pow, "pow.Scalar": _pow,
    "maximum": _binary("maximum"), "minimum": _binary("minimum"),
    "eq": _binary("eq"), "ne": _binary("ne"), "lt": _binary("lt"), "le": _binary("le"),
    "gt": _binary("gt"), "ge": _binary("ge"), "logical_and": _binary("logical_and"),
    "logical_or": _binary("logical_or"), "logical_not": U("logical_not"),
    "bitwise_not": _invert, "bitwise_and.Tensor": _bitwise_bool("logical_and"),
    "bitwise_or.Tensor": _bitwise_bool("logical_or"), "__and__.Tensor":
    _bitwise_bool("logical_and"), "__or__.Tensor": _bitwise_bool("logical_or"),
    "__invert__": _invert,
    "neg": U("neg"), "abs": U("abs"), "relu": U("relu"), "exp": U("exp"), "log": U("log"),
    "sqrt": U("sqrt"), "rsqrt": U("rsqrt"), "sin": U("sin"), "cos": U("cos"),
    "tanh": U("tanh"), "sigmoid": U("sigmoid"), "silu": U("silu"), "erf": U("erf"),
    "reciprocal": U("reciprocal"), "gelu": _gelu,
    "where.self": _where, "where.ScalarSelf": _where, "where.ScalarOther": _where,
    "where.Scalar": _where, "masked_fill.Scalar": _masked_fill,
    "masked_fill.Tensor": _masked_fill,
    "sum.dim_IntList": _reduction("sum"), "sum.default": _reduction("sum", dim_index=None),
    "mean.dim": _reduction("mean"), "mean.default": _reduction("mean", dim_index=None),
    "amax": _reduction("amax", dtype_kw=False), "amin": _reduction("amin", dtype_kw=False),
    "argmax": _argmax,
    "_softmax": _aten_softmax("softmax"), "_log_softmax": _aten_softmax("log_softmax"),
    "softmax.int": _aten_softmax_int("softmax"),
    "log_softmax.int": _aten_softmax_int("log_softmax"),
    "layer_norm": _layer_norm, "native_layer_norm": _native_layer_norm,
    "rms_norm": _rms_norm, "linear": _linear,
    "mm": _matmul, "bmm": _matmul, "matmul": _matmul, "addmm": _addmm,
    "t": _t, "view": _reshape, "_unsafe_view": _reshape, "reshape": _reshape,
    "permute": _permute, "transpose.int": _transpose, "expand": _expand,
    "unsqueeze": _unsqueeze, "squeeze.dim": _squeeze, "squeeze.dims": _squeeze,
    "squeeze.default": _squeeze, "flatten.using_ints": _flatten,
    "clone": _identity, "contiguous": _identity, "alias": _identity, "detach": _identity,
    "lift_fresh_copy": _identity, "detach_": _identity, "dropout": _dropout,
    "clamp": _clamp, "clamp_min": _clamp, "clamp_max": _clamp,
    "_to_copy": _aten_to_copy, "to.dtype": _aten_to_dtype, "_assert_tensor_metadata": _skip,
    "full": _full, "zeros": _const_fill(0), "ones": _const_fill(1),
    "zeros_like": _like(0), "ones_like": _like(1), "full_like": _like(None),
    "scalar_tensor": _scalar_tensor, "slice.Tensor": _aten_slice, "select.int": _aten_select,
    "cat": _cat, "split.Tensor": _split, "split_with_sizes": _split, "chunk": _chunk,
}
# In-place variants (make_fx keeps some, e.g. add_ in rms_norm's decomposition).
for _k in ["add.Tensor", "add.Scalar", "sub.Tensor", "sub.Scalar", "mul.Tensor", "mul.Scalar",
           "div.Tensor", "div.Scalar", "pow.Tensor_Scalar", "relu", "sigmoid", "tanh", "exp",
           "rsqrt", "sqrt", "neg", "masked_fill.Scalar", "silu", "gelu"]:
    _name, _, _ov = _k.partition(".")
    _ATEN[f"{_name}_{'.' + _ov if _ov else ''}"] = _inplace(_ATEN[_k])


# ---- entry points ---------------------------------------------------------------------------


def _shape_prop(gm: torch.fx.GraphModule, example_inputs):
    from torch.fx.passes.shape_prop import ShapeProp
    ShapeProp(gm).propagate(*example_inputs)


def _needs_types(gm: torch.fx.GraphModule) -> bool:
    for n in gm.graph.nodes:
        if n.op == "placeholder" and _fx_type(n) is None:
            return True
        if n.op in ("call_function", "call_method", "call_module") and \
                "val" not in n.meta and "tensor_meta" not in n.meta:
            return True
    return False


def export(obj, example_inputs: Optional[Sequence[torch.Tensor]] = None,
           graph_name: str = "main", include_loc: bool = True,
           check_types: bool = True, input_names: Optional[Sequence[str]] = None,
           module: Optional[nn.Module] = None) -> ExportResult:
    """Converts an fx.GraphModule, an ExportedProgram or an nn.Module (traced
    with symbolic_trace) to a sluice graph.

    example_inputs: needed when the FX graph has no shape metadata
      (symbolic_trace output): ShapeProp runs on them.
    input_names: names for the user inputs, in order (default: the FX
      placeholders' names; make_fx calls them arg0_1, ...).
    module: the nn.Module the graph came from, to name parameters after their
      qualified names (make_fx calls them _param_constant0, ...).
    Raises UnsupportedOpsError listing every node that cannot be mapped."""
    ep_inputs = None
    param_names: Dict[int, str] = {}
    if module is not None:
        for name, p in list(module.named_parameters()) + list(module.named_buffers()):
            param_names[id(p)] = name
    user_output_names = None
    if isinstance(obj, torch.export.ExportedProgram):
        gm = obj.graph_module
        ep_inputs = {}
        sig = obj.graph_signature
        state = dict(obj.state_dict)
        constants = dict(getattr(obj, "constants", {}) or {})
        for spec in sig.input_specs:
            kind = spec.kind.name
            name = spec.arg.name
            if kind == "USER_INPUT":
                ep_inputs[name] = ("user", None, name)
            elif kind in ("PARAMETER", "BUFFER", "CONSTANT_TENSOR"):
                value = state.get(spec.target, constants.get(spec.target))
                if value is None:
                    raise UnsupportedOpsError([f"%{name}: {kind} '{spec.target}' has no value"])
                ep_inputs[name] = ("param", value, spec.target)
            else:
                raise UnsupportedOpsError([f"%{name}: input kind {kind} is not supported"])
        problems = [f"output %{s.arg.name}: {s.kind.name} outputs (mutations) are not supported"
                    for s in sig.output_specs if s.kind.name != "USER_OUTPUT"]
        if problems:
            raise UnsupportedOpsError(problems)
    elif isinstance(obj, torch.fx.GraphModule):
        gm = obj
    elif isinstance(obj, nn.Module):
        for name, p in list(obj.named_parameters()) + list(obj.named_buffers()):
            param_names[id(p)] = name
        gm = torch.fx.symbolic_trace(obj)
    else:
        raise TypeError(f"expected a GraphModule, ExportedProgram or nn.Module, got {type(obj)}")
    if ep_inputs is None and _needs_types(gm):
        if example_inputs is None:
            raise ValueError("the FX graph has no shape metadata (meta['val'] or "
                             "meta['tensor_meta']): pass example_inputs")
        _shape_prop(gm, example_inputs)
    if not param_names:
        for name, p in list(gm.named_parameters()) + list(gm.named_buffers()):
            param_names[id(p)] = name

    if input_names is not None:
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder" and
                        (ep_inputs is None or ep_inputs[n.name][0] == "user")]
        if len(input_names) != len(placeholders):
            raise ValueError(f"input_names has {len(input_names)} names for "
                             f"{len(placeholders)} inputs")
    source = module if module is not None else (obj if isinstance(obj, nn.Module) and
                                                 not isinstance(obj, torch.fx.GraphModule)
                                                 else None)
    if input_names is None and source is not None:
        input_names = _forward_arg_names(source, gm, ep_inputs)
    ex = _Exporter(gm, graph_name, include_loc, param_names)
    ex.input_names = list(input_names) if input_names is not None else None
    ex.run([], ep_inputs)
    output_node = next(n for n in gm.graph.nodes if n.op == "output")
    outs = []

    def collect(a):
        if isinstance(a, dict):
            a = list(a.values())
        if isinstance(a, (list, tuple)):
            for x in a:
                collect(x)
        elif isinstance(a, torch.fx.Node):
            v = ex.env.get(a)
            if isinstance(v, _V):
                outs.append(v)
            elif isinstance(v, _Bad):
                ex.problems.append(f"output %{a.name}: {v.why}")
            elif v is not None and not isinstance(v, _Tuple):
                ex.problems.append(f"output %{a.name} is not a tensor")
            elif isinstance(v, _Tuple):
                for item in v:
                    if item is None:
                        ex.problems.append(f"output %{a.name} holds an unmappable item")
                    else:
                        outs.append(item)
        elif a is not None:
            ex.problems.append(f"output {a!r} is not a tensor")

    collect(output_node.args[0])
    if ex.problems:
        raise UnsupportedOpsError(ex.problems)

    g = sg.Graph(graph_name)
    user = [(v, t) for v, t in ex.inputs if v.name in ex.user_inputs]
    params = [(v, t) for v, t in ex.inputs if v.name not in ex.user_inputs]
    for v, t in user + params:
        g.add_input(v.name, t)
    for c in ex.calls:
        operands = [g.find(o.name) if isinstance(o, _V) else o for o in c.operands]
        g.add_call(c.out.name, c.op, operands, c.attrs, c.meta)
    g.set_outputs([g.find(v.name) for v in outs])
    _remove_dead(g)
    tg.infer_types(g)
    if check_types:
        mismatches = []
        for fx_name, v in ex.final.items():
            node = g.find(v.name)
            fx_node = next(n for n in gm.graph.nodes if n.name == fx_name)
            want = _fx_type(fx_node)
            if node is not None and want is not None and node.type != want:
                mismatches.append(f"%{fx_name} ({_target_name(fx_node, gm)}): FX says {want}, "
                                  f"the exported %{v.name} is {node.type}")
        if mismatches:
            raise AssertionError("exported types differ from FX's:\n  " + "\n  ".join(mismatches))
    text = sg.print_graph(g)
    sg.parse_graph(text)  # what we write must parse
    return ExportResult(
        graph=g, text=text,
        params={v.name: ex.params[v.name] for v, _ in params},
        user_inputs=[v.name for v, _ in user],
        fallback_nodes=[n.name for n in g.calls if n.meta.get("should_fallback") is True],
        fx_to_sluice={k: v.name for k, v in ex.final.items()})


def _forward_arg_names(module: nn.Module, gm, ep_inputs) -> Optional[List[str]]:
    """The names of module.forward's parameters, when they line up with the
    graph's user inputs (make_fx calls them arg0_1, ...)."""
    import inspect
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder" and
                    (ep_inputs is None or ep_inputs[n.name][0] == "user")]
    if len(params) != len(placeholders):
        return None
    return [p.name for p in params]


def _remove_dead(g: sg.Graph) -> None:
    """Drops call nodes nothing uses (e.g. intermediate results of skipped
    tuple items); inputs stay so the signature is what the user passed."""
    live = {id(n) for n in g.outputs}
    for n in reversed(g.calls):
        if id(n) in live:
            live.update(id(o) for o in n.value_operands())
    g.calls = [n for n in g.calls if id(n) in live]
    g._by_name = {n.name: n for n in g.inputs + g.calls}


# ---- command line ----------------------------------------------------------------------------


def _load_factory(spec: str):
    mod_name, _, fn_name = spec.partition(":")
    if not fn_name:
        raise SystemExit(f"--factory: expected module:function, got {spec!r}")
    return getattr(importlib.import_module(mod_name), fn_name)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Export a PyTorch model/FX graph to a sluice .graph")
    p.add_argument("program", nargs="?", help="an ExportedProgram saved with torch.export.save")
    p.add_argument("--factory", help="module:function returning (nn.Module, example_inputs)")
    p.add_argument("--mode", choices=["symbolic", "make_fx", "export"], default="symbolic")
    p.add_argument("--out", required=True, help="path of the .graph file to write")
    p.add_argument("--weights_dir", help="where the parameter .npy files go (default: --out's dir)")
    p.add_argument("--name", default=None, help="graph name (default: the file's stem)")
    p.add_argument("--fallback_ops", default="",
                   help="mark FX nodes whose target name contains one of these (comma-separated)")
    p.add_argument("--save_inputs", action="store_true",
                   help="also write the example inputs as <input>.npy (factory only)")
    args = p.parse_args(argv)
    name = args.name or sg.sanitize_name(os.path.splitext(os.path.basename(args.out))[0])
    example = model = None
    if args.program:
        obj = torch.export.load(args.program)
    elif args.factory:
        model, example = _load_factory(args.factory)()
        model.eval()
        if args.mode == "symbolic":
            obj = torch.fx.symbolic_trace(model)
        elif args.mode == "make_fx":
            from torch.fx.experimental.proxy_tensor import make_fx
            obj = make_fx(model)(*example)
        else:
            obj = torch.export.export(model, tuple(example))
    else:
        p.error("give a .pt2 program or --factory")
    if args.fallback_ops:
        words = [w for w in args.fallback_ops.split(",") if w]
        gm = obj.graph_module if isinstance(obj, torch.export.ExportedProgram) else obj
        marked = mark_nodes_for_fallback(
            gm, lambda n: any(w in _target_name(n, gm) for w in words))
        print(f"marked for fallback: {', '.join(marked) or '(none)'}")
    try:
        result = export(obj, example, graph_name=name,
                        module=model if args.factory else None)
    except UnsupportedOpsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    written = result.write(args.out, args.weights_dir)
    if args.save_inputs and example is not None:
        for n, t in zip(result.user_inputs, example):
            path = os.path.join(os.path.dirname(args.out), f"{n}.npy")
            tg.save_npy(path, t)
            written.append(path)
    print("\n".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
