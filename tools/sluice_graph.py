"""The sluice text format (DESIGN.md section 5) in Python: parser, IR, printer.

This is the one Python reader/writer of `.graph` files; tools/torch_graph.py
(running a graph in PyTorch), tools/fx_export.py (FX -> .graph) and the
benchmark script all use it. It follows ir/parser.cc and ir/printer.cc:

* the same grammar and the same error messages, rendered as
  `file:line:col: error: message`, then the source line and a caret;
* the same op set with the same operand counts and attribute schemas
  (ir/ops.cc), checked when a node is parsed;
* the same printed text for graphs whose nodes carry types: attributes and
  metadata in written order, floats in the shortest form that C++'s
  std::to_chars gives ("1e-05", "1e+05", "2.0").

Types of call nodes come from the file's annotations (`%a: f32[10] = ...`) or
from tools/torch_graph.py's `infer_types`, which runs the graph on PyTorch's
meta device; this module has no shape inference of its own.

Pure Python (no numpy, no torch).
"""

import math
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

__all__ = [
    "DType", "DTYPES", "TensorType", "Location", "ParseError", "Node", "Graph",
    "OpSchema", "AttrSpec", "OPS", "parse_module", "parse_graph", "parse_file",
    "print_graph", "print_module", "format_double", "format_attr", "check_call",
]


# ---- dtypes and types -------------------------------------------------------


class DType:
    """A sluice dtype; one instance per name (compare with `is` or ==)."""

    _by_name: Dict[str, "DType"] = {}

    def __init__(self, name: str, itemsize: int, is_float: bool):
        self.name = name
        self.itemsize = itemsize
        self.is_float = is_float
        DType._by_name[name] = self

    @staticmethod
    def parse(name: str) -> Optional["DType"]:
        return DType._by_name.get(name)

    def __repr__(self) -> str:
        return f"DType({self.name})"

    def __str__(self) -> str:
        return self.name


F32 = DType("f32", 4, True)
F16 = DType("f16", 2, True)
BF16 = DType("bf16", 2, True)
F64 = DType("f64", 8, True)
I32 = DType("i32", 4, False)
I64 = DType("i64", 8, False)
BOOL = DType("bool", 1, False)
DTYPES: Dict[str, DType] = dict(DType._by_name)


@dataclass(frozen=True)
class TensorType:
    dtype: DType
    shape: Tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.dtype.name}[{', '.join(str(d) for d in self.shape)}]"

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.num_elements * self.dtype.itemsize


# ---- locations and errors -----------------------------------------------------


@dataclass
class Location:
    file: str = ""
    line: int = 0
    col: int = 0
    line_text: str = ""

    def known(self) -> bool:
        return self.line > 0

    def __str__(self) -> str:
        if not self.known():
            return "<unknown>"
        return f"{self.file or '<input>'}:{self.line}:{self.col}"


def format_diagnostic(loc: Location, message: str) -> str:
    """`file:line:col: error: message`, the line and a caret (ir/location.cc)."""
    if not loc.known():
        return f"error: {message}"
    caret = "".join("\t" if c == "\t" else " "
                    for c in loc.line_text[:max(1, loc.col) - 1])
    return f"{loc}: error: {message}\n{loc.line_text}\n{caret}^"


class ParseError(ValueError):
    """A malformed or invalid graph text; str() is the full diagnostic."""

    def __init__(self, loc: Location, message: str):
        super().__init__(format_diagnostic(loc, message))
        self.location = loc
        self.message = message


# ---- op schemas (ir/ops.cc) ------------------------------------------------------

INT_MAX = 2**63 - 1


@dataclass(frozen=True)
class AttrSpec:
    name: str
    type: str  # "bool" "int" "float" "string" "dtype" "list of ints"
    default: object = None  # None: required
    choices: Tuple[str, ...] = ()


@dataclass(frozen=True)
class OpSchema:
    name: str
    kind: str  # unary binary ternary reduction composite layout matmul creation
    min_operands: int
    max_operands: int  # -1: unbounded
    allows_literals: bool
    attrs: Tuple[AttrSpec, ...] = ()

    def find_attr(self, name: str) -> Optional[AttrSpec]:
        for a in self.attrs:
            if a.name == name:
                return a
        return None


def _build_ops() -> Dict[str, OpSchema]:
    ops: Dict[str, OpSchema] = {}

    def reg(*args, **kw):
        s = OpSchema(*args, **kw)
        ops[s.name] = s

    for name in ("neg abs relu exp log sqrt rsqrt sin cos tanh sigmoid silu erf "
                 "reciprocal logical_not").split():
        reg(name, "unary", 1, 1, False)
    reg("gelu", "unary", 1, 1, False, (AttrSpec("approximate", "string", "none", ("none", "tanh")),))
    reg("cast", "unary", 1, 1, False, (AttrSpec("dtype", "dtype"),))
    for name in ("add sub mul div pow maximum minimum eq ne lt le gt ge logical_and "
                 "logical_or").split():
        reg(name, "binary", 2, 2, True)
    reg("where", "ternary", 3, 3, True)
    reduce_attrs = (AttrSpec("dims", "list of ints", []), AttrSpec("keepdim", "bool", False))
    for name in ("sum", "mean", "amax", "amin"):
        reg(name, "reduction", 1, 1, False, reduce_attrs)
    reg("argmax", "reduction", 1, 1, False,
        (AttrSpec("dim", "int"), AttrSpec("keepdim", "bool", False)))
    reg("softmax", "composite", 1, 1, False, (AttrSpec("dim", "int"),))
    reg("log_softmax", "composite", 1, 1, False, (AttrSpec("dim", "int"),))
    reg("layer_norm", "composite", 1, 3, False,
        (AttrSpec("normalized_shape", "list of ints"), AttrSpec("eps", "float", 1e-5)))
    reg("rms_norm", "composite", 1, 2, False,
        (AttrSpec("normalized_shape", "list of ints"), AttrSpec("eps", "float", 1e-6)))
    reg("reshape", "layout", 1, 1, False, (AttrSpec("shape", "list of ints"),))
    reg("permute", "layout", 1, 1, False, (AttrSpec("dims", "list of ints"),))
    reg("transpose", "layout", 1, 1, False, (AttrSpec("dim0", "int"), AttrSpec("dim1", "int")))
    reg("expand", "layout", 1, 1, False, (AttrSpec("shape", "list of ints"),))
    reg("slice", "layout", 1, 1, False,
        (AttrSpec("dim", "int"), AttrSpec("start", "int", 0), AttrSpec("end", "int", INT_MAX),
         AttrSpec("step", "int", 1)))
    reg("concat", "layout", 1, -1, False, (AttrSpec("dim", "int", 0),))
    reg("squeeze", "layout", 1, 1, False, (AttrSpec("dims", "list of ints", []),))
    reg("unsqueeze", "layout", 1, 1, False, (AttrSpec("dim", "int"),))
    reg("matmul", "matmul", 2, 2, False)
    reg("full", "creation", 0, 0, False,
        (AttrSpec("shape", "list of ints"), AttrSpec("value", "float"),
         AttrSpec("dtype", "dtype", F32)))
    return ops


OPS: Dict[str, OpSchema] = _build_ops()


# ---- values ------------------------------------------------------------------------

AttrValue = Union[bool, int, float, str, DType, list]
Operand = Union["Node", int, float]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _attr_matches(type_name: str, v) -> bool:
    if type_name == "bool":
        return isinstance(v, bool)
    if type_name == "int":
        return _is_int(v)
    if type_name == "float":
        return _is_int(v) or isinstance(v, float)
    if type_name == "string":
        return isinstance(v, str)
    if type_name == "dtype":
        return isinstance(v, DType)
    if type_name == "list of ints":
        return isinstance(v, list) and all(_is_int(x) for x in v)
    return False


def check_call(op: str, operands: Sequence[Operand], attrs: Dict[str, AttrValue]) -> None:
    """Raises ValueError with ir/op_registry.cc's message if the call is invalid
    for the op's schema (operand count, literals, attribute names and types)."""
    schema = OPS.get(op)
    if schema is None:
        raise ValueError(f"unknown op '{op}'")
    n = len(operands)
    if n < schema.min_operands or (schema.max_operands >= 0 and n > schema.max_operands):
        if schema.max_operands < 0:
            expected = f"at least {schema.min_operands}"
        elif schema.min_operands == schema.max_operands:
            expected = str(schema.min_operands)
        else:
            expected = f"{schema.min_operands} to {schema.max_operands}"
        raise ValueError(f"expected {expected} operand{'' if expected == '1' else 's'}, got {n}")
    any_tensor = False
    for i, o in enumerate(operands):
        if isinstance(o, Node):
            any_tensor = True
        elif not schema.allows_literals:
            raise ValueError(f"operand {i} is a scalar literal; this op takes only values")
    if n > 0 and not any_tensor:
        raise ValueError("at least one operand must be a value, not a literal")
    for name, value in attrs.items():
        spec = schema.find_attr(name)
        if spec is None:
            known = ", ".join(a.name for a in schema.attrs)
            raise ValueError(f"unknown attribute '{name}'" +
                             (" (this op takes no attributes)" if not known
                              else f" (expected one of: {known})"))
        if not _attr_matches(spec.type, value):
            raise ValueError(f"attribute '{name}' must be a {spec.type}, got {format_attr(value)}")
        if spec.choices and value not in spec.choices:
            raise ValueError(f"attribute '{name}' must be one of \"" + '", "'.join(spec.choices) +
                             f"\", got {format_attr(value)}")
    for spec in schema.attrs:
        if spec.name not in attrs and spec.default is None:
            raise ValueError(f"missing required attribute '{spec.name}' ({spec.type})")


class Node:
    """A graph input (op is None) or a call node. Every node is one value."""

    def __init__(self, name: str, op: Optional[str] = None,
                 operands: Optional[List[Operand]] = None,
                 attrs: Optional[Dict[str, AttrValue]] = None,
                 meta: Optional[Dict[str, AttrValue]] = None,
                 type: Optional[TensorType] = None,
                 location: Optional[Location] = None):
        self.name = name
        self.op = op
        self.operands: List[Operand] = list(operands or [])
        self.attrs: Dict[str, AttrValue] = dict(attrs or {})
        self.meta: Dict[str, AttrValue] = dict(meta or {})
        self.type = type
        self.location = location or Location()

    @property
    def is_input(self) -> bool:
        return self.op is None

    @property
    def schema(self) -> Optional[OpSchema]:
        return OPS.get(self.op) if self.op else None

    def attr(self, name: str):
        """The attribute, or the schema's default (like Node::attr in C++)."""
        if name in self.attrs:
            return self.attrs[name]
        spec = self.schema.find_attr(name) if self.schema else None
        if spec is None:
            raise KeyError(f"%{self.name} ({self.op}) has no attribute '{name}'")
        return spec.default

    def value_operands(self) -> List["Node"]:
        return [o for o in self.operands if isinstance(o, Node)]

    def to_text(self) -> str:
        if self.type is None:
            raise ValueError(f"%{self.name} has no type; annotate it or run "
                             "torch_graph.infer_types(graph) before printing")
        if self.is_input:
            return f"%{self.name}: {self.type}"
        args = [f"%{o.name}" if isinstance(o, Node) else format_scalar(o) for o in self.operands]
        args += [f"{k} = {format_attr(v)}" for k, v in self.attrs.items()]
        s = f"%{self.name}: {self.type} = {self.op}({', '.join(args)})"
        if self.meta:
            s += " " + format_dict(self.meta)
        return s

    def __repr__(self) -> str:
        return f"Node(%{self.name}, {self.op or 'input'})"


class Graph:
    """Inputs, call nodes in order, returned values (ir/graph.h)."""

    def __init__(self, name: str, location: Optional[Location] = None):
        self.name = name
        self.inputs: List[Node] = []
        self.calls: List[Node] = []
        self.outputs: List[Node] = []
        self.location = location or Location()
        self._by_name: Dict[str, Node] = {}

    @property
    def nodes(self) -> List[Node]:
        return self.inputs + self.calls

    def find(self, name: str) -> Optional[Node]:
        return self._by_name.get(name)

    def add_input(self, name: str, type: TensorType, location: Optional[Location] = None) -> Node:
        loc = location or Location()
        if name in self._by_name:
            raise ParseError(loc, f"duplicate name '%{name}'")
        if self.calls:
            raise ParseError(loc, "graph inputs must be added before call nodes")
        node = Node(name, type=type, location=loc)
        self.inputs.append(node)
        self._by_name[name] = node
        return node

    def add_call(self, name: str, op: str, operands: Sequence[Operand] = (),
                 attrs: Optional[Dict[str, AttrValue]] = None,
                 meta: Optional[Dict[str, AttrValue]] = None,
                 type: Optional[TensorType] = None,
                 location: Optional[Location] = None) -> Node:
        """Appends a call node after checking it against the op's schema."""
        loc = location or Location()
        if op not in OPS:
            raise ParseError(loc, f"unknown op '{op}'")
        if name in self._by_name:
            raise ParseError(loc, f"duplicate name '%{name}'")
        for o in operands:
            if isinstance(o, Node) and self._by_name.get(o.name) is not o:
                raise ParseError(loc, f"operand '%{o.name}' is not defined before its use in "
                                 "this graph")
        attrs = dict(attrs or {})
        try:
            check_call(op, operands, attrs)
        except ValueError as e:
            raise ParseError(loc, f"{op}: {e}") from None
        node = Node(name, op, list(operands), attrs, meta, type, loc)
        self.calls.append(node)
        self._by_name[name] = node
        return node

    def set_outputs(self, outputs: Sequence[Node], location: Optional[Location] = None) -> None:
        loc = location or Location()
        if not outputs:
            raise ParseError(loc, "a graph must return at least one value")
        for n in outputs:
            if self._by_name.get(n.name) is not n:
                raise ParseError(loc, f"returned value '%{n.name}' is not defined")
        self.outputs = list(outputs)

    def fresh_name(self, hint: str = "t") -> str:
        i = 0
        while f"{hint}{i}" in self._by_name:
            i += 1
        return f"{hint}{i}"

    def __repr__(self) -> str:
        return f"Graph({self.name}, {len(self.inputs)} inputs, {len(self.calls)} calls)"


# ---- printing ------------------------------------------------------------------------


def format_double(v: float) -> str:
    """C++ `std::to_chars(double)` (shortest round trip, fixed or scientific,
    whichever is shorter, fixed on ties), then ".0" if it has no '.' or
    exponent: ir/attribute.cc FormatDouble."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    r = repr(abs(v))
    if r in ("0.0", "0"):
        return sign + "0.0"
    mant, _, exp = r.partition("e")
    exp10 = int(exp) if exp else 0
    int_part, _, frac_part = mant.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + exp10  # value = 0.<digits> * 10^(point - len(digits) + ...)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    n = len(digits)
    if point <= 0:
        fixed = "0." + "0" * (-point) + digits
    elif point >= n:
        fixed = digits + "0" * (point - n)
    else:
        fixed = digits[:point] + "." + digits[point:]
    e = point - 1
    sci = digits[0] + ("." + digits[1:] if n > 1 else "") + \
        ("e-" if e < 0 else "e+") + f"{abs(e):02d}"
    s = fixed if len(fixed) <= len(sci) else sci
    if not any(c in s for c in ".eE"):
        s += ".0"
    return sign + s


def format_scalar(v) -> str:
    if _is_int(v):
        return str(v)
    return format_double(float(v))


def _quote(s: str) -> str:
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def format_attr(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_int(v):
        return str(v)
    if isinstance(v, float):
        return format_double(v)
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, DType):
        return v.name
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_attr(x) for x in v) + "]"
    raise TypeError(f"not an attribute value: {v!r} ({type(v).__name__})")


def format_dict(d: Dict[str, AttrValue]) -> str:
    if not d:
        return ""
    return "{" + ", ".join(f"{k} = {format_attr(v)}" for k, v in d.items()) + "}"


def print_graph(graph: Graph) -> str:
    """The text ir/printer.cc PrintGraph writes (every node must have a type)."""
    params = ", ".join(n.to_text() for n in graph.inputs)
    out = [f"graph {graph.name}({params}) {{\n"]
    for n in graph.calls:
        out.append(f"  {n.to_text()}\n")
    out.append("  return " + ", ".join(f"%{n.name}" for n in graph.outputs) + "\n}\n")
    return "".join(out)


def print_module(graphs: Sequence[Graph]) -> str:
    return "\n".join(print_graph(g) for g in graphs)


# ---- lexer ----------------------------------------------------------------------------

_TOK_NAMES = {
    "eof": "end of input", "ident": "identifier", "value": "value (%name)", "int": "integer",
    "float": "number", "string": "string", "(": "'('", ")": "')'", "{": "'{'", "}": "'}'",
    "[": "'['", "]": "']'", ",": "','", ":": "':'", "=": "'='", "error": "invalid token",
}


@dataclass
class _Token:
    kind: str = "eof"
    text: str = ""
    value: object = None
    line: int = 1
    col: int = 1
    error: str = ""


def _ident_start(c: str) -> bool:
    return c.isascii() and (c.isalpha() or c == "_")


def _ident_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "_.")


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.col = 1

    def _peek(self, k: int = 0) -> str:
        p = self.pos + k
        return self.text[p] if p < len(self.text) else ""

    def _advance(self) -> None:
        if self.pos >= len(self.text):
            return
        if self.text[self.pos] == "\n":
            self.line += 1
            self.col = 1
        else:
            self.col += 1
        self.pos += 1

    def _skip(self) -> None:
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r\n":
                self._advance()
            elif c == "#" or (c == "/" and self._peek(1) == "/"):
                while self.pos < len(self.text) and self.text[self.pos] != "\n":
                    self._advance()
            else:
                break

    @staticmethod
    def _error(t: _Token, msg: str) -> _Token:
        t.kind = "error"
        t.error = msg
        return t

    def next(self) -> _Token:
        self._skip()
        t = _Token(line=self.line, col=self.col)
        if self.pos >= len(self.text):
            return t
        c = self.text[self.pos]
        if c in "(){}[],:=":
            self._advance()
            t.kind = c
            return t
        if c == '"':
            return self._string(t)
        if c == "%":
            self._advance()
            start = self.pos
            while self.pos < len(self.text) and _ident_char(self.text[self.pos]):
                self._advance()
            if self.pos == start:
                return self._error(t, "expected a name after '%'")
            t.kind = "value"
            t.text = self.text[start:self.pos]
            return t
        if _digit(c) or c in "-+" or (c == "." and _digit(self._peek(1))):
            return self._number(t)
        if _ident_start(c):
            start = self.pos
            while self.pos < len(self.text) and _ident_char(self.text[self.pos]):
                self._advance()
            t.text = self.text[start:self.pos]
            # `inf` and `nan` stay identifiers (a graph or key may be named so);
            # the parser reads them as numbers where a number may stand.
            t.kind = "ident"
            return t
        self._advance()
        if 0x20 <= ord(c) < 0x7F:
            return self._error(t, f"unexpected character '{c}'")
        if ord(c) < 0x100:
            return self._error(t, f"unexpected byte 0x{ord(c):02x}")
        return self._error(t, f"unexpected byte 0x{c.encode('utf-8')[0]:02x}")

    def _string(self, t: _Token) -> _Token:
        self._advance()
        out = []
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] == "\n":
                return self._error(t, "unterminated string")
            c = self.text[self.pos]
            self._advance()
            if c == '"':
                break
            if c == "\\":
                if self.pos >= len(self.text):
                    return self._error(t, "unterminated string")
                e = self.text[self.pos]
                self._advance()
                if e == "n":
                    out.append("\n")
                elif e == "t":
                    out.append("\t")
                elif e in '"\\':
                    out.append(e)
                elif e == "x":
                    h = self.text[self.pos:self.pos + 2]
                    if len(h) < 2 or not all(ch in "0123456789abcdefABCDEF" for ch in h):
                        return self._error(t, "expected two hex digits after \\x")
                    self._advance()
                    self._advance()
                    out.append(chr(int(h, 16)))
                else:
                    return self._error(t, f"unknown escape '\\{e}' in string")
            else:
                out.append(c)
        t.kind = "string"
        t.text = "".join(out)
        t.value = t.text
        return t

    def _number(self, t: _Token) -> _Token:
        start = self.pos
        if self.text[self.pos] in "-+":
            negative = self.text[self.pos] == "-"
            self._advance()
            if self.text[self.pos:self.pos + 3] == "inf" and not _ident_char(self._peek(3)):
                for _ in range(3):
                    self._advance()
                t.kind = "float"
                t.value = -math.inf if negative else math.inf
                t.text = self.text[start:self.pos]
                return t
            if not (_digit(self._peek()) or self._peek() == "."):
                return self._error(t, "expected a number after the sign")
        is_float = False
        while _digit(self._peek()):
            self._advance()
        if self._peek() == ".":
            is_float = True
            self._advance()
            while _digit(self._peek()):
                self._advance()
        if self._peek() in ("e", "E"):
            is_float = True
            self._advance()
            if self._peek() in ("+", "-"):
                self._advance()
            if not _digit(self._peek()):
                return self._error(t, "expected digits in the exponent")
            while _digit(self._peek()):
                self._advance()
        if self._peek() and _ident_char(self._peek()):
            return self._error(t, "invalid character in number")
        s = self.text[start:self.pos]
        t.text = s
        body = s[1:] if s.startswith("+") else s
        if is_float:
            try:
                v = float(body)
            except ValueError:
                return self._error(t, f"invalid number {s}")
            if math.isinf(v):
                return self._error(t, f"number {s} is out of range")
            t.kind = "float"
            t.value = v
        else:
            try:
                v = int(body, 10)
            except ValueError:
                return self._error(t, f"invalid number {s}")
            if not -2**63 <= v < 2**63:
                return self._error(t, f"integer {s} does not fit in 64 bits")
            t.kind = "int"
            t.value = v
        return t


# ---- parser -----------------------------------------------------------------------------

_MAX_LIST_DEPTH = 32


class _Parser:
    def __init__(self, text: str, filename: str):
        self.lexer = _Lexer(text)
        self.filename = filename
        self.lines = text.split("\n")
        self.tok = self.lexer.next()

    def loc(self, t: _Token) -> Location:
        text = self.lines[t.line - 1] if 1 <= t.line <= len(self.lines) else ""
        if text.endswith("\r"):
            text = text[:-1]
        return Location(self.filename, t.line, t.col, text)

    def error_here(self, msg: str) -> ParseError:
        return ParseError(self.loc(self.tok), msg)

    def unexpected(self, expected: str) -> ParseError:
        t = self.tok
        if t.kind == "error":
            return self.error_here(t.error)
        got = _TOK_NAMES[t.kind]
        if t.kind == "ident" or t.kind in ("int", "float"):
            got = f"'{t.text}'"
        elif t.kind == "value":
            got = f"'%{t.text}'"
        return self.error_here(f"expected {expected}, got {got}")

    def consume(self) -> None:
        self.tok = self.lexer.next()

    def expect(self, kind: str, what: str = "") -> None:
        if self.tok.kind != kind:
            raise self.unexpected(what or _TOK_NAMES[kind])
        self.consume()

    def is_keyword(self, kw: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text == kw

    def number_from_keyword(self) -> None:
        """Where a number may stand, `inf` and `nan` are numbers."""
        if self.is_keyword("inf") or self.is_keyword("nan"):
            self.tok.kind = "float"
            self.tok.value = math.inf if self.tok.text == "inf" else math.nan

    def parse_type(self) -> TensorType:
        if self.tok.kind != "ident":
            raise self.unexpected("a type such as f32[10]")
        dtype = DType.parse(self.tok.text)
        if dtype is None:
            raise self.error_here(f"unknown dtype '{self.tok.text}' (expected f32, f16, bf16, "
                                  "f64, i32, i64 or bool)")
        self.consume()
        self.expect("[", "'[' after the dtype")
        dims = []
        if self.tok.kind != "]":
            while True:
                if self.tok.kind != "int":
                    raise self.unexpected("a dimension size")
                if self.tok.value < 0:
                    raise self.error_here("dimension sizes must not be negative")
                dims.append(self.tok.value)
                self.consume()
                if self.tok.kind == ",":
                    self.consume()
                    continue
                break
        self.expect("]", "',' or ']'")
        return TensorType(dtype, tuple(dims))

    def parse_attr(self, depth: int = 0):
        self.number_from_keyword()
        t = self.tok
        what = "an attribute value (number, true, false, string, dtype or list)"
        if t.kind in ("int", "float", "string"):
            self.consume()
            return t.value
        if t.kind == "ident":
            if t.text in ("true", "false"):
                self.consume()
                return t.text == "true"
            d = DType.parse(t.text)
            if d is not None:
                self.consume()
                return d
            raise self.unexpected(what)
        if t.kind == "[":
            if depth >= _MAX_LIST_DEPTH:
                raise self.error_here("lists are nested too deeply")
            self.consume()
            items = []
            if self.tok.kind != "]":
                while True:
                    items.append(self.parse_attr(depth + 1))
                    if self.tok.kind == ",":
                        self.consume()
                        continue
                    break
            self.expect("]", "',' or ']'")
            return items
        raise self.unexpected(what)

    def parse_meta(self) -> Dict[str, AttrValue]:
        self.consume()  # '{'
        meta: Dict[str, AttrValue] = {}
        if self.tok.kind != "}":
            while True:
                if self.tok.kind != "ident":
                    raise self.unexpected("a metadata key")
                key = self.tok
                self.consume()
                self.expect("=", "'=' after the metadata key")
                v = self.parse_attr()
                if key.text in meta:
                    raise ParseError(self.loc(key), f"duplicate metadata key '{key.text}'")
                meta[key.text] = v
                if self.tok.kind == ",":
                    self.consume()
                    continue
                break
        self.expect("}", "',' or '}'")
        return meta

    def parse_statement(self, g: Graph) -> None:
        value = self.tok
        self.consume()
        if g.find(value.text) is not None:
            raise ParseError(self.loc(value), f"duplicate name '%{value.text}'")
        declared = None
        if self.tok.kind == ":":
            self.consume()
            declared = self.parse_type()
        self.expect("=", "'=' or ':'")
        if self.tok.kind != "ident":
            raise self.unexpected("an op name")
        op = self.tok
        self.consume()
        self.expect("(", "'(' after the op name")
        operands: List[Operand] = []
        attrs: Dict[str, AttrValue] = {}
        in_attrs = False
        if self.tok.kind != ")":
            while True:
                if not in_attrs:  # `inf`/`nan` followed by '=' would be an attribute
                    self.number_from_keyword()
                t = self.tok
                if t.kind == "value":
                    if in_attrs:
                        raise self.error_here("operands must come before attributes")
                    n = g.find(t.text)
                    if n is None:
                        raise self.error_here(f"use of undefined value '%{t.text}'")
                    operands.append(n)
                    self.consume()
                elif t.kind in ("int", "float"):
                    if in_attrs:
                        raise self.error_here("operands must come before attributes")
                    operands.append(t.value)
                    self.consume()
                elif t.kind == "ident":
                    key = t
                    self.consume()
                    self.expect("=", f"'=' after attribute name '{key.text}'")
                    v = self.parse_attr()
                    if key.text in attrs:
                        raise ParseError(self.loc(key), f"duplicate attribute '{key.text}'")
                    attrs[key.text] = v
                    in_attrs = True
                else:
                    raise self.unexpected(
                        "an operand (%name or number) or an attribute (name = value)")
                if self.tok.kind == ",":
                    self.consume()
                    continue
                break
        self.expect(")", "',' or ')'")
        meta = self.parse_meta() if self.tok.kind == "{" else {}
        g.add_call(value.text, op.text, operands, attrs, meta, declared, self.loc(op))

    def parse_graph(self) -> Graph:
        if not self.is_keyword("graph"):
            raise self.unexpected("'graph'")
        graph_tok = self.tok
        self.consume()
        if self.tok.kind != "ident":
            raise self.unexpected("a graph name")
        g = Graph(self.tok.text, self.loc(graph_tok))
        self.consume()
        self.expect("(", "'(' after the graph name")
        if self.tok.kind != ")":
            while True:
                if self.tok.kind != "value":
                    raise self.unexpected("a parameter (%name: type)")
                p = self.tok
                self.consume()
                self.expect(":", "':' after the parameter name")
                t = self.parse_type()
                if g.find(p.text) is not None:
                    raise ParseError(self.loc(p), f"duplicate name '%{p.text}'")
                g.add_input(p.text, t, self.loc(p))
                if self.tok.kind == ",":
                    self.consume()
                    continue
                break
        self.expect(")", "',' or ')'")
        self.expect("{", "'{' to open the graph body")
        while self.tok.kind == "value":
            self.parse_statement(g)
        if not self.is_keyword("return"):
            if self.tok.kind == "}":
                raise self.error_here("missing 'return' at the end of the graph")
            raise self.unexpected("a statement (%name = op(...)) or 'return'")
        ret = self.tok
        self.consume()
        outs = []
        while True:
            if self.tok.kind != "value":
                raise self.unexpected("a returned value (%name)")
            n = g.find(self.tok.text)
            if n is None:
                raise self.error_here(f"return of undefined value '%{self.tok.text}'")
            outs.append(n)
            self.consume()
            if self.tok.kind == ",":
                self.consume()
                continue
            break
        g.set_outputs(outs, self.loc(ret))
        g.return_location = self.loc(ret)
        self.expect("}", "'}' after the returned values")
        return g

    def parse_module(self) -> List[Graph]:
        graphs = [self.parse_graph()]
        while self.tok.kind != "eof":
            graphs.append(self.parse_graph())
        return graphs


def parse_module(text: str, filename: str = "") -> List[Graph]:
    """Parses one or more graphs; raises ParseError."""
    return _Parser(text, filename).parse_module()


def parse_graph(text: str, filename: str = "") -> Graph:
    graphs = parse_module(text, filename)
    if len(graphs) != 1:
        raise ParseError(graphs[1].location, f"expected exactly one graph, found {len(graphs)}")
    return graphs[0]


def parse_file(path: str) -> List[Graph]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise ParseError(Location(), f"{path}: cannot open file") from None
    return parse_module(data.decode("utf-8", errors="surrogateescape"), path)


def sanitize_name(name: str) -> str:
    """A valid value/graph name (IDENT chars: letters, digits, '_' and '.')."""
    s = re.sub(r"[^A-Za-z0-9_.]", "_", name)
    if not s or not _ident_start(s[0]):
        s = "_" + s
    return s


def _main(argv: List[str]) -> int:
    """`python3 tools/sluice_graph.py FILE...`: parses and prints each file."""
    if len(argv) < 2:
        print("usage: sluice_graph.py FILE.graph...", file=sys.stderr)
        return 2
    rc = 0
    for path in argv[1:]:
        try:
            sys.stdout.write(print_module(parse_file(path)))
        except (ParseError, ValueError) as e:
            print(e, file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
