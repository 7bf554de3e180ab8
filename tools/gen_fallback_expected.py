#!/usr/bin/env python3
"""Writes testdata/fallback: inputs and expected outputs for every fallback op.

The expected values come from NumPy (float64 math, then one rounding to the
output dtype), an implementation independent of sluice's Eigen kernels; the
semantics written here are PyTorch's. //fallback:expected_values_test reads
the files with sluice's .npy reader and compares with per-dtype tolerances.

Output, in testdata/fallback/:
  cases.graph        one single-node graph per case, in sluice's text format;
                     the graph name is the case name.
  <case>.in<i>.npy   the i-th graph input.
  <case>.out.npy     the expected output (its dtype and shape are what the
                     IR must infer for the node).

bf16 has no NumPy dtype: values are rounded to bf16 with bit manipulation
(round to nearest even) and saved as raw 2-byte voids ('|V2'), which sluice's
reader takes as bf16 bit patterns.

Usage: python3 tools/gen_fallback_expected.py [--out testdata/fallback]
Needs only NumPy (pip install numpy). The output is deterministic.
"""

import argparse
import math
import os
import sys

import numpy as np

RNG = np.random.default_rng(20240611)

FLOATS = ["f32", "f16", "bf16", "f64"]
INTS = ["i32", "i64"]
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ["bool"]

NP_STORAGE = {
    "f32": np.float32,
    "f16": np.float16,
    "f64": np.float64,
    "i32": np.int32,
    "i64": np.int64,
    "bool": np.bool_,
}


# ---- values and rounding -------------------------------------------------------


def bf16_bits(values):
    """float64 -> bf16 bit patterns (uint16), round to nearest even."""
    f = np.asarray(values, dtype=np.float64).astype(np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    quiet = ((bits >> 16) | 0x40).astype(np.uint16)
    return np.where(nan, quiet, rounded)


def bf16_values(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


class T:
    """A tensor of a sluice dtype: its exact values (float64 or int64 or bool)."""

    def __init__(self, dtype, values):
        self.dtype = dtype
        v = np.asarray(values)
        if dtype == "bool":
            self.values = v != 0
        elif dtype in INTS:
            self.values = np.asarray(v, dtype=np.int64).astype(NP_STORAGE[dtype]).astype(np.int64)
        elif dtype == "bf16":
            self.values = bf16_values(bf16_bits(v))
        else:
            self.values = np.asarray(v, dtype=np.float64).astype(NP_STORAGE[dtype]).astype(np.float64)

    @property
    def shape(self):
        return tuple(self.values.shape)

    def type_text(self):
        return "%s[%s]" % (self.dtype, ", ".join(str(d) for d in self.shape))

    def save(self, path):
        if self.dtype == "bf16":
            array = bf16_bits(self.values).view("V2")
        else:
            array = self.values.astype(NP_STORAGE[self.dtype])
        with open(path, "wb") as f:
            np.save(f, np.array(array, order="C"), allow_pickle=False)


def to(dtype, values):
    return T(dtype, values)


def randn(dtype, shape, scale=2.0):
    if dtype == "bool":
        return T(dtype, RNG.integers(0, 2, size=shape))
    if dtype in INTS:
        return T(dtype, RNG.integers(-9, 10, size=shape))
    return T(dtype, RNG.normal(0, scale, size=shape))


def uniform(dtype, shape, lo, hi):
    return T(dtype, RNG.uniform(lo, hi, size=shape))


def choice(dtype, shape, options):
    return T(dtype, RNG.choice(np.asarray(options, dtype=np.float64), size=shape))


NAN = float("nan")
INF = float("inf")

# ---- cases -----------------------------------------------------------------------

CASES = []


def fmt_number(v):
    if isinstance(v, bool):
        raise ValueError("no bool literals")
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    r = repr(float(v))
    return r if ("." in r or "e" in r) else r + ".0"


def fmt_attr(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt_attr(x) for x in v) + "]"
    if isinstance(v, str):
        return v if v in ALL else '"%s"' % v
    return fmt_number(v)


class Dtype(str):
    """An attribute value that prints as a bare dtype name."""


def add_case(name, op, operands, expected, attrs=None):
    """operands: T (graph inputs) or Python numbers (literals)."""
    attrs = attrs or {}
    assert all(c["name"] != name for c in CASES), name
    CASES.append(dict(name=name, op=op, operands=operands, expected=expected, attrs=attrs))


def graph_text(c):
    params, args, index = [], [], 0
    for o in c["operands"]:
        if isinstance(o, T):
            params.append("%%in%d: %s" % (index, o.type_text()))
            args.append("%%in%d" % index)
            index += 1
        else:
            args.append(fmt_number(o))
    for k, v in c["attrs"].items():
        args.append("%s = %s" % (k, fmt_attr(v)))
    return "graph %s(%s) {\n  %%out = %s(%s)\n  return %%out\n}\n" % (
        c["name"], ", ".join(params), c["op"], ", ".join(args))


# Scalar literals: arithmetic ops read them in opmath precision (float32 for
# f16/bf16/f32 math, like PyTorch's CPU kernels); comparisons and where
# convert them to the compute dtype first.
def opmath_literal(v, compute):
    if compute in ("f32", "f16", "bf16"):
        return float(np.float32(v))
    return v


def values(o, compute=None, literal_mode="opmath"):
    if isinstance(o, T):
        return o.values
    if compute is None:
        return o
    if literal_mode == "opmath":
        return opmath_literal(o, compute)
    return T(compute, o).values


def f64(x):
    return np.asarray(x, dtype=np.float64)


erf = np.vectorize(math.erf, otypes=[np.float64])


def with_errstate(fn):
    def wrapped(*a, **k):
        with np.errstate(all="ignore"):
            return fn(*a, **k)
    return wrapped


# ---- unary -------------------------------------------------------------------------

UNARY_FLOAT = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x),
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "erf": erf,
    "reciprocal": lambda x: 1 / x,
}


def gelu(x):
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


@with_errstate
def gen_unary():
    positive_ops = {"log", "sqrt", "rsqrt"}
    for op, fn in UNARY_FLOAT.items():
        for dt in FLOATS:
            x = uniform(dt, (3, 5), 0.05, 6) if op in positive_ops else randn(dt, (3, 5))
            add_case("%s_%s" % (op, dt), op, [x], to(dt, fn(f64(x.values))))
        # Special values propagate.
        special = to("f32", [NAN, INF, -INF, 0.0, -0.0, 1.0])
        add_case("%s_special_f32" % op, op, [special], to("f32", fn(f64(special.values))))
    # Integer and bool inputs compute in f32.
    for op, dt in [("exp", "i32"), ("sqrt", "i64"), ("sigmoid", "bool"), ("sin", "i64"),
                   ("reciprocal", "i32"), ("erf", "bool"), ("log", "i32")]:
        x = randn(dt, (4,)) if dt == "bool" else T(dt, RNG.integers(1, 6, size=(4,)))
        add_case("%s_from_%s" % (op, dt), op, [x], to("f32", UNARY_FLOAT[op](f64(x.values))))
    for dt in FLOATS:
        x = randn(dt, (2, 7))
        add_case("gelu_%s" % dt, "gelu", [x], to(dt, gelu(f64(x.values))))
        add_case("gelu_tanh_%s" % dt, "gelu", [x], to(dt, gelu_tanh(f64(x.values))),
                 {"approximate": "tanh"})
    add_case("gelu_from_i32", "gelu", [T("i32", [-2, -1, 0, 1, 2])],
             to("f32", gelu(f64([-2, -1, 0, 1, 2]))))
    for dt in NUMERIC:
        x = randn(dt, (3, 4))
        add_case("neg_%s" % dt, "neg", [x], to(dt, -x.values))
        add_case("abs_%s" % dt, "abs", [x], to(dt, np.abs(x.values)))
        add_case("relu_%s" % dt, "relu", [x], to(dt, np.maximum(x.values, 0)))
    nanny = to("f32", [NAN, -1.0, 2.0, -INF])
    add_case("relu_nan_f32", "relu", [nanny], to("f32", np.maximum(nanny.values, 0)))
    for dt in ["f32", "i64", "bool", "bf16"]:
        x = choice(dt, (2, 3), [0.0, -0.0, 1.5, NAN] if dt in FLOATS else [0, 1, -3])
        add_case("logical_not_%s" % dt, "logical_not", [x], to("bool", x.values == 0))


def trunc_to_int(v):
    return np.trunc(v).astype(np.int64)


@with_errstate
def gen_cast():
    src = {
        "f32": ("f64", lambda: randn("f64", (6,), 50)),
        "f16": ("f32", lambda: randn("f32", (6,), 1000)),
        "bf16": ("f32", lambda: randn("f32", (6,), 10)),
        "f64": ("bool", lambda: randn("bool", (6,))),
        "i32": ("f32", lambda: to("f32", [2.7, -2.7, 0.5, -0.5, 1e6 + 0.25, -100.9])),
        "i64": ("f16", lambda: to("f16", [3.9, -3.9, 65504, -0.0, 0.75, 7.0])),
        "bool": ("f32", lambda: to("f32", [0.0, -0.0, NAN, 1e-30, -2.0, INF])),
    }
    for out, (dt, make) in src.items():
        x = make()
        if out in INTS:
            expected = trunc_to_int(x.values)
        elif out == "bool":
            expected = x.values != 0
        else:
            expected = f64(x.values)
        add_case("cast_%s_to_%s" % (dt, out), "cast", [x], to(out, expected),
                 {"dtype": Dtype(out)})
    x = T("i64", [1 << 40, -3, 0, 123456789])
    add_case("cast_i64_to_f32", "cast", [x], to("f32", f64(x.values)), {"dtype": Dtype("f32")})
    x = randn("bf16", (5,))
    add_case("cast_bf16_to_f16", "cast", [x], to("f16", x.values), {"dtype": Dtype("f16")})
    x = T("i32", [5, -1, 0, 2])
    add_case("cast_i32_to_bool", "cast", [x], to("bool", x.values != 0), {"dtype": Dtype("bool")})


# ---- binary ------------------------------------------------------------------------


def int_pow(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
    out = np.empty(a.shape, dtype=np.int64)
    for i in np.ndindex(a.shape):
        base, e = int(a[i]), int(b[i])
        if e < 0:
            r = 1 if base == 1 else ((-1 if e % 2 else 1) if base == -1 else 0)
        else:
            r = base ** e
        r = (r + (1 << 63)) % (1 << 64) - (1 << 63)
        out[i] = r
    return out


ARITH = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: f64(a) / f64(b),
    "maximum": np.maximum,
    "minimum": np.minimum,
}


def arith_bool(op, a, b):
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return {"add": a | b, "mul": a & b, "maximum": a | b, "minimum": a & b}[op]


@with_errstate
def gen_binary():
    for op in ["add", "sub", "mul", "div", "maximum", "minimum", "pow"]:
        dtypes = {"sub": NUMERIC, "div": FLOATS}.get(op, ALL)
        for dt in dtypes:
            if op == "pow" and dt in FLOATS:
                a, b = uniform(dt, (3, 4), 0.2, 3), uniform(dt, (4,), -2, 3)
            elif op == "pow" and dt in INTS:
                a, b = randn(dt, (3, 4)), T(dt, RNG.integers(-2, 6, size=(4,)))
            elif op == "div" or dt in FLOATS:
                a, b = randn(dt, (3, 4)), randn(dt, (4,))
                if op in ("maximum", "minimum"):
                    a.values[0, 0] = NAN
                    b.values[2] = NAN
            else:
                a, b = randn(dt, (3, 4)), randn(dt, (4,))
            if dt == "bool" and op == "pow":
                # torch: "pow" not implemented for 'Bool'; sluice's IR rejects
                # it too. The operands are still drawn above so that every
                # later case keeps its values.
                continue
            if dt == "bool":
                expected = arith_bool(op, a.values, b.values)
            elif op == "pow":
                expected = (np.power(f64(a.values), f64(b.values)) if dt in FLOATS
                            else int_pow(a.values, b.values))
            else:
                expected = ARITH[op](a.values, b.values)
            out = dt
            add_case("%s_%s" % (op, dt), op, [a, b], to(out, expected))
        # Size-1 dims on both sides, and a missing dim: [3, 1] x [1, 2, 4] -> [1, 2, 3, 4]? no:
        # [2, 1, 4] with [3, 1] -> [2, 3, 4].
        a, b = randn("f32", (2, 1, 4)), randn("f32", (3, 1))
        if op == "pow":
            a, b = uniform("f32", (2, 1, 4), 0.5, 2), uniform("f32", (3, 1), -1, 2)
            expected = np.power(f64(a.values), f64(b.values))
        else:
            expected = ARITH[op](a.values, b.values)
        add_case("%s_bcast_f32" % op, op, [a, b], to("f32", expected))
        # A scalar literal on the right and on the left.
        literals = [("f32", 0.1), ("f16", 1.7), ("bf16", -0.3), ("f64", 2.5), ("i64", 3)]
        if op == "div":
            literals = literals[:4]
        # Two literal dtypes per op (rotating), literal on the left for the first.
        k = sorted(ARITH.keys() | {"pow"}).index(op)
        chosen = [literals[k % len(literals)], literals[(k + 2) % len(literals)]]
        for j, (dt, lit) in enumerate(chosen):
            if op == "pow" and dt in FLOATS:
                x = uniform(dt, (5,), 0.5, 2)
            else:
                x = randn(dt, (5,))
            lv = values(lit, dt, "opmath")
            if op == "pow":
                expected = (np.power(f64(x.values), lv) if dt in FLOATS
                            else int_pow(x.values, lv))
                expected_left = (np.power(lv, f64(x.values)) if dt in FLOATS else None)
            else:
                expected = ARITH[op](x.values, lv)
                expected_left = ARITH[op](lv, x.values)
            add_case("%s_%s_literal" % (op, dt), op, [x, lit], to(dt, expected))
            if expected_left is not None and j == 0:
                add_case("literal_%s_%s" % (op, dt), op, [lit, x], to(dt, expected_left))
    # Promotion: int tensor with a float literal computes in f32; i32 / i32 is
    # true division in f32; f16 + f32 is f32.
    x = T("i32", [1, 2, 3, -4])
    add_case("mul_i32_float_literal", "mul", [x, 0.5], to("f32", x.values * 0.5))
    y = T("i32", [2, -3, 5, 7])
    add_case("div_i32_i32", "div", [x, y], to("f32", f64(x.values) / f64(y.values)))
    h, f = randn("f16", (4,)), randn("f32", (4,))
    add_case("add_f16_f32", "add", [h, f], to("f32", h.values + f.values))
    b = T("bool", [1, 0, 1, 1])
    add_case("add_bool_int_literal", "add", [b, 2], to("i64", b.values.astype(np.int64) + 2))
    add_case("sub_i64_i32_0d", "sub", [T("i64", [5, 6]), T("i32", 1)],
             to("i64", np.array([4, 5])))


COMPARE = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal}


@with_errstate
def gen_compare():
    for k, (op, fn) in enumerate(COMPARE.items()):
        # eq and lt in every compute dtype, the others in three of them.
        dtypes = ALL if op in ("eq", "lt") else [ALL[(k + j) % len(ALL)] for j in (0, 2, 4)]
        for dt in dtypes:
            if dt in FLOATS:
                opts = [-1.0, 0.0, 0.5, 2.0, NAN, INF]
            elif dt == "bool":
                opts = [0, 1]
            else:
                opts = [-2, 0, 3]
            a, b = choice(dt, (3, 4), opts), choice(dt, (4,), opts)
            add_case("%s_%s" % (op, dt), op, [a, b], to("bool", fn(a.values, b.values)))
        # Compute in the promoted dtype: i32 vs a float literal (f32), f16 vs
        # a literal converted to f16.
        x = T("i32", [1, 2, 3])
        add_case("%s_i32_float_literal" % op, op, [x, 2.5], to("bool", fn(x.values, 2.5)))
        if op in ("eq", "ne", "le"):
            h = to("f16", [0.1, 0.2, 0.1001])
            lit = values(0.1, "f16", "compute")
            add_case("%s_f16_literal" % op, op, [h, 0.1], to("bool", fn(h.values, lit)))
        if op in ("lt", "ge"):
            i, f = T("i64", [1, 2, 3]), to("f64", [1.0, 2.5, 2.0])
            add_case("%s_i64_f64" % op, op, [i, f], to("bool", fn(f64(i.values), f.values)))
    for op, fn in [("logical_and", np.logical_and), ("logical_or", np.logical_or)]:
        a, b = choice("f32", (2, 3), [0.0, -0.0, NAN, 2.0]), T("i64", [[0], [5]])
        add_case("%s_f32_i64" % op, op, [a, b], to("bool", fn(a.values != 0, b.values != 0)))
        c, d = randn("bool", (4,)), randn("bool", (4,))
        add_case("%s_bool" % op, op, [c, d], to("bool", fn(c.values, d.values)))
        add_case("%s_bool_literal" % op, op, [c, 0], to("bool", fn(c.values, False)))


def gen_where():
    for dt in ALL:
        cond = randn("bool", (3, 1))
        a, b = randn(dt, (3, 4)), randn(dt, (4,))
        add_case("where_%s" % dt, "where", [cond, a, b],
                 to(dt, np.where(cond.values, a.values, b.values)))
    cond = randn("bool", (2, 3))
    x = randn("f16", (2, 3))
    add_case("where_f16_literal", "where", [cond, x, -INF],
             to("f16", np.where(cond.values, x.values, -INF)))
    i = randn("i32", (2, 3))
    add_case("where_i32_float_literal", "where", [cond, 0.5, i],
             to("f32", np.where(cond.values, 0.5, f64(i.values))))


def gen_full():
    for dt, value in [("f32", 1.5), ("f16", -2.25), ("bf16", 0.1), ("f64", INF), ("i32", -7.9),
                      ("i64", 3.0), ("bool", 0.5)]:
        shape = (2, 3) if dt != "f64" else ()
        if dt in INTS:
            v = np.full(shape, math.trunc(value))
        elif dt == "bool":
            v = np.full(shape, value != 0)
        else:
            v = np.full(shape, value)
        add_case("full_%s" % dt, "full", [], to(dt, v),
                 {"shape": list(shape), "value": float(value), "dtype": Dtype(dt)})


# ---- reductions ------------------------------------------------------------------


@with_errstate
def gen_reductions():
    for op, fn in [("sum", np.sum), ("mean", np.mean), ("amax", np.max), ("amin", np.min)]:
        dtypes = {"sum": ALL, "mean": FLOATS}.get(op, ALL)
        for dt in dtypes:
            x = randn(dt, (2, 3, 4))
            if dt in FLOATS and op in ("amax", "amin"):
                x.values[1, 2, 3] = NAN
            out = dt
            vals = x.values
            if op == "sum" and dt not in FLOATS:
                out, vals = "i64", x.values.astype(np.int64)
            variants = [("all", [], False), ("last", [-1], False), ("split", [0, 2], True),
                        ("mid", [1], False)]
            if dt != "f32":  # every variant for f32, one (rotating) for the others
                variants = [variants[(ALL.index(dt) + len(op)) % len(variants)]]
            for tag, dims, keep in variants:
                axis = tuple(range(3)) if not dims else tuple(d % 3 for d in dims)
                expected = fn(f64(vals) if dt in FLOATS else vals, axis=axis, keepdims=keep)
                attrs = {"dims": dims}
                if keep:
                    attrs["keepdim"] = True
                add_case("%s_%s_%s" % (op, tag, dt), op, [x], to(out, expected), attrs)
    # Empty reduced dims: sum is 0, mean NaN.
    e = T("f32", np.zeros((2, 0)))
    add_case("sum_empty_f32", "sum", [e], to("f32", np.zeros(2)), {"dims": [1]})
    add_case("mean_empty_f32", "mean", [e], to("f32", np.full(2, NAN)), {"dims": [1]})
    # Large rows (tree / multi-threaded paths).
    x = randn("f32", (2, 2048))
    add_case("sum_long_rows_f32", "sum", [x], to("f32", np.sum(x.values, axis=1)), {"dims": [1]})
    x = randn("bf16", (1024, 2))
    add_case("mean_long_cols_bf16", "mean", [x], to("bf16", np.mean(x.values, axis=0)),
             {"dims": [0]})
    for dt in NUMERIC:
        if dt in FLOATS:
            x = choice(dt, (3, 6), [-1.0, 0.5, 2.0, 3.0])
            x.values[2, 4] = NAN
            x.values[2, 1] = NAN
        else:
            x = T(dt, RNG.integers(-3, 4, size=(3, 6)))
        add_case("argmax_%s" % dt, "argmax", [x], to("i64", np.argmax(x.values, axis=1)),
                 {"dim": 1})
        add_case("argmax_dim0_keepdim_%s" % dt, "argmax", [x],
                 to("i64", np.argmax(x.values, axis=0)[None, :]), {"dim": -2, "keepdim": True})


# ---- composites -------------------------------------------------------------------


@with_errstate
def softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


@with_errstate
def log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def layer_norm(x, k, w, b, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def rms_norm(x, k, w, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    y = x / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + eps)
    return y * w if w is not None else y


def gen_composites():
    for op, fn in [("softmax", softmax), ("log_softmax", log_softmax)]:
        for dt in FLOATS:
            x = randn(dt, (3, 7), 3)
            add_case("%s_%s" % (op, dt), op, [x], to(dt, fn(f64(x.values), -1)), {"dim": -1})
            y = randn(dt, (2, 5, 3), 3)
            add_case("%s_mid_%s" % (op, dt), op, [y], to(dt, fn(f64(y.values), 1)), {"dim": 1})
        big = to("f32", [[1000.0, 1001.0, 999.0, 1000.0], [-1000.0, -1001.0, -2000.0, -1000.5]])
        add_case("%s_large_f32" % op, op, [big], to("f32", fn(f64(big.values), 1)), {"dim": 1})
        big = to("f16", [[60000.0, 60000.0, -60000.0], [1.0, 2.0, 3.0]])
        add_case("%s_large_f16" % op, op, [big], to("f16", fn(f64(big.values), 0)), {"dim": 0})
        masked = to("f32", [[0.5, -INF, 1.0], [NAN, 1.0, 2.0]])
        add_case("%s_masked_f32" % op, op, [masked], to("f32", fn(f64(masked.values), 1)),
                 {"dim": 1})
        if op == "softmax":
            x = randn("f32", (1, 1024))
            add_case("%s_long_f32" % op, op, [x], to("f32", fn(f64(x.values), 1)), {"dim": -1})
    for dt in FLOATS:
        x = randn(dt, (3, 2, 4), 3)
        w, b = randn(dt, (2, 4)), randn(dt, (2, 4))
        add_case("layer_norm_%s" % dt, "layer_norm", [x, w, b],
                 to(dt, layer_norm(f64(x.values), 2, w.values, b.values, 1e-5)),
                 {"normalized_shape": [2, 4]})
        add_case("layer_norm_noaffine_%s" % dt, "layer_norm", [x],
                 to(dt, layer_norm(f64(x.values), 1, None, None, 0.1)),
                 {"normalized_shape": [4], "eps": 0.1})
        w1 = randn(dt, (4,))
        add_case("layer_norm_weight_%s" % dt, "layer_norm", [x, w1],
                 to(dt, layer_norm(f64(x.values), 1, w1.values, None, 1e-5)),
                 {"normalized_shape": [4]})
        add_case("rms_norm_%s" % dt, "rms_norm", [x, w1],
                 to(dt, rms_norm(f64(x.values), 1, w1.values, 1e-6)),
                 {"normalized_shape": [4]})
        add_case("rms_norm_noweight_%s" % dt, "rms_norm", [x],
                 to(dt, rms_norm(f64(x.values), 2, None, 1e-3)),
                 {"normalized_shape": [2, 4], "eps": 1e-3})
    # f16 statistics in f32: large values must not overflow.
    x = to("f16", [[30000.0, 30010.0, 29990.0, 30000.0]])
    add_case("layer_norm_large_f16", "layer_norm", [x],
             to("f16", layer_norm(f64(x.values), 1, None, None, 1e-5)),
             {"normalized_shape": [4]})
    x = to("bf16", [[300.0, 200.0, 100.0, 400.0]])
    add_case("rms_norm_large_bf16", "rms_norm", [x],
             to("bf16", rms_norm(f64(x.values), 1, None, 1e-6)), {"normalized_shape": [4]})


# ---- layout ----------------------------------------------------------------------------


def gen_layout():
    for dt in ALL:
        x = randn(dt, (2, 3, 4))
        add_case("reshape_%s" % dt, "reshape", [x], to(dt, x.values.reshape(4, 6)),
                 {"shape": [4, -1]})
        add_case("permute_%s" % dt, "permute", [x], to(dt, x.values.transpose(2, 0, 1)),
                 {"dims": [2, 0, 1]})
        add_case("transpose_%s" % dt, "transpose", [x], to(dt, np.swapaxes(x.values, 0, 2)),
                 {"dim0": 0, "dim1": -1})
        y = randn(dt, (3, 1))
        add_case("expand_%s" % dt, "expand", [y], to(dt, np.broadcast_to(y.values, (2, 3, 5))),
                 {"shape": [2, -1, 5]})
        add_case("slice_%s" % dt, "slice", [x], to(dt, x.values[:, :, -3:100:2]),
                 {"dim": 2, "start": -3, "end": 100, "step": 2})
        z = randn(dt, (2, 2, 4))
        add_case("concat_%s" % dt, "concat", [x, z], to(dt, np.concatenate([x.values, z.values], 1)),
                 {"dim": 1})
        s = randn(dt, (1, 3, 1, 2))
        add_case("squeeze_%s" % dt, "squeeze", [s], to(dt, s.values.reshape(3, 2)))
        if dt == "f32":
            add_case("squeeze_dims_%s" % dt, "squeeze", [s], to(dt, s.values.reshape(1, 3, 2)),
                     {"dims": [-2, 1]})
        add_case("unsqueeze_%s" % dt, "unsqueeze", [x], to(dt, x.values[:, None]), {"dim": 1})
    # A permutation of rank 5 that keeps 5 dims after collapsing, a
    # broadcast with alternating dims, slices of the first dim.
    x = randn("f32", (2, 3, 2, 3, 2))
    add_case("permute_rank5_f32", "permute", [x], to("f32", x.values.transpose(4, 2, 0, 3, 1)),
             {"dims": [4, 2, 0, 3, 1]})
    y = randn("i64", (2, 1, 3, 1, 2))
    add_case("expand_alternating_i64", "expand", [y],
             to("i64", np.broadcast_to(y.values, (4, 2, 5, 3, 4, 2))),
             {"shape": [4, 2, 5, 3, 4, 2]})
    x = randn("bf16", (7, 3))
    add_case("slice_dim0_bf16", "slice", [x], to("bf16", x.values[1:6:3]),
             {"dim": 0, "start": 1, "end": 6, "step": 3})
    a, b, c = randn("i32", (2, 3)), randn("f32", (1, 3)), randn("f16", (2, 3))
    add_case("concat_promote_f32", "concat", [a, b, c],
             to("f32", np.concatenate([f64(a.values), b.values, c.values], 0)), {"dim": 0})


# ---- matmul -------------------------------------------------------------------------------


def gen_matmul():
    shapes = [((3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
              ((4,), (4,)), ((5, 2, 3), (3, 6))]
    for k, dt in enumerate(NUMERIC):
        # Every shape for f32, two (rotating) for the other dtypes.
        for i, (sa, sb) in enumerate(shapes):
            if dt != "f32" and i not in (k % len(shapes), (k + 3) % len(shapes)):
                continue
            if dt in INTS:
                a, b = T(dt, RNG.integers(-4, 5, size=sa)), T(dt, RNG.integers(-4, 5, size=sb))
                expected = np.matmul(a.values, b.values)
            else:
                a, b = randn(dt, sa, 1), randn(dt, sb, 1)
                expected = np.matmul(f64(a.values), f64(b.values))
            add_case("matmul%d_%s" % (i, dt), "matmul", [a, b], to(dt, expected))
    a, b = randn("f16", (4, 300), 1), randn("f16", (300, 3), 1)
    add_case("matmul_long_k_f16", "matmul", [a, b],
             to("f16", np.matmul(f64(a.values), f64(b.values))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "fallback"))
    args = parser.parse_args()

    gen_unary()
    gen_cast()
    gen_binary()
    gen_compare()
    gen_where()
    gen_full()
    gen_reductions()
    gen_composites()
    gen_layout()
    gen_matmul()

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.endswith(".npy") or name == "cases.graph":
            os.remove(os.path.join(args.out, name))
    with open(os.path.join(args.out, "cases.graph"), "w") as f:
        f.write("# Generated by tools/gen_fallback_expected.py; do not edit.\n")
        f.write("# One graph per case: %<case>.in<i>.npy are its inputs, <case>.out.npy the\n")
        f.write("# expected output (computed with NumPy).\n\n")
        for c in CASES:
            f.write(graph_text(c))
            f.write("\n")
            tensors = [o for o in c["operands"] if isinstance(o, T)]
            for i, t in enumerate(tensors):
                t.save(os.path.join(args.out, "%s.in%d.npy" % (c["name"], i)))
            c["expected"].save(os.path.join(args.out, "%s.out.npy" % c["name"]))
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print("wrote %d cases (%d bytes) to %s" % (len(CASES), total, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
