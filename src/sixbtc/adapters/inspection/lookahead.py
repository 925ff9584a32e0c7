"""Check 3, static lookahead: code patterns that read bars after the one being decided.

Negative shifts and differences (also through a name or a parameter bound to a negative number,
``periods=`` or a list of periods), ``np.roll``, centred rolling windows, backward fills and
interpolation, reads of later rows (``x[i + 1]``) or of the last rows (``x[-1]``,
``x[len(x) - 1]``), reversed order (``x[::-1]``), and whole-column statistics
(``bars.close.max()``, ``np.mean(close)``, ``max(close)``, ranks and sorts) outside a rolling,
expanding, resampling or explicitly sliced window. The shuffle test catches what this misses
(an open last bucket of a resample, a centred convolution, a fit over the whole series).
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Mapping

import attrs

from sixbtc.adapters.inspection import outline
from sixbtc.domain.reasons import Code, Reason

_SHIFTS = {"shift", "diff", "pct_change"}
_BACKWARD = {"bfill", "backfill", "interpolate"}
_WINDOWS = {"rolling", "expanding", "ewm", "resample"}
_WHOLE_COLUMN = {
    "argmax",
    "argmin",
    "idxmax",
    "idxmin",
    "kurt",
    "max",
    "mean",
    "median",
    "min",
    "nanmax",
    "nanmean",
    "nanmedian",
    "nanmin",
    "nanstd",
    "nansum",
    "nlargest",
    "nsmallest",
    "percentile",
    "prod",
    "quantile",
    "rank",
    "skew",
    "sort",
    "sort_values",
    "std",
    "sum",
    "var",
}


class _Unknown:
    """A value the check cannot work out without running the code."""


UNKNOWN = _Unknown()
_FOLDED = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}
_FOLDED[ast.FloorDiv] = lambda a, b: a // b


@attrs.frozen
class _Scope:
    """What the check knows about the code: the names bound to windows, to modules, to the length
    of a column, and to constant values (including ``self.parameters`` and its entries)."""

    windows: set[str]
    modules: set[str]
    lengths: set[str]
    constants: dict[str, object]

    def value(self, node: ast.expr | None) -> object:
        """The constant ``node`` evaluates to, or UNKNOWN."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id, UNKNOWN)
        if isinstance(node, ast.Attribute) and ast.unparse(node) == "self.parameters":
            return self.constants.get("self.parameters", UNKNOWN)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.value(node.operand)
            if not _number(operand):
                return UNKNOWN
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _FOLDED:
            left, right = self.value(node.left), self.value(node.right)
            if not (_number(left) and _number(right)) or (
                isinstance(node.op, ast.FloorDiv) and right == 0
            ):
                return UNKNOWN
            return _FOLDED[type(node.op)](left, right)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.value(item) for item in node.elts]
            return UNKNOWN if any(item is UNKNOWN for item in items) else items
        if isinstance(node, ast.Subscript):
            mapping, key = self.value(node.value), self.value(node.slice)
            if isinstance(mapping, dict) and not isinstance(key, _Unknown) and key in mapping:
                return mapping[key]
        return UNKNOWN

    def negative(self, node: ast.expr) -> bool:
        """``node`` is, or holds, a negative number (also ``-x`` whatever ``x`` is)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return True
        value = self.value(node)
        values = value if isinstance(value, list) else [value]
        return any(_number(v) and v < 0 for v in values)

    def is_length(self, node: ast.expr) -> bool:
        """``len(...)`` or a name bound to it."""
        if isinstance(node, ast.Name):
            return node.id in self.lengths
        return isinstance(node, ast.Call) and ast.unparse(node.func) == "len"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    """The argument passed at ``position`` or as ``name``."""
    return call.args[position] if len(call.args) > position else _keyword(call, name)


def _is_window(node: ast.expr, windows: set[str]) -> bool:
    """A window, or an array computed from one as first argument (``np.gradient(w)``,
    ``np.fft.rfft(w)``): its last rows are the window's, not the last bars."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in _WINDOWS:
            return True
        return bool(node.args) and _is_window(node.args[0], windows)
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Slice)
    return isinstance(node, ast.Name) and node.id in windows


def _scope(tree: ast.Module, parameters: Mapping[str, object]) -> _Scope:
    """Names bound to windows (a rolling, expanding, ewm or resample window, an explicit slice, the
    argument of a lambda applied to a window), to modules, to ``len(...)`` and, when bound once,
    to constants."""
    scope = _Scope(set(), set(), set(), {"self.parameters": dict(parameters)})
    stores = Counter(
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            scope.modules.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if not isinstance(target, ast.Name):
                continue
            if _is_window(node.value, set()):
                scope.windows.add(target.id)
            elif scope.is_length(node.value):
                scope.lengths.add(target.id)
            elif stores[target.id] == 1:
                scope.constants[target.id] = scope.value(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "apply"
            and node.args
            and isinstance(node.args[0], ast.Lambda)
            and _is_window(node.func.value, scope.windows)
        ):
            scope.windows.update(a.arg for a in node.args[0].args.args)
    return scope


def _call_problem(call: ast.Call, scope: _Scope) -> str | None:
    if isinstance(call.func, ast.Name):
        return _builtin_problem(call, scope)
    if not isinstance(call.func, ast.Attribute):
        return None
    name = call.func.attr
    receiver = call.func.value
    if name in _SHIFTS:
        periods = _argument(call, 0, "periods")
        if periods is not None and scope.negative(periods):
            return f"{name}({ast.unparse(periods)})"
    if name == "roll":
        return f"{ast.unparse(call.func)}() wraps the last bars to the start"
    if name == "rolling":
        center = _argument(call, 2, "center")
        if center is not None and scope.value(center) not in (False, None, 0):
            return f"rolling(center={ast.unparse(center)})"
    if name in _BACKWARD:
        return f"{name}()"
    if name == "fillna":
        method = _argument(call, 1, "method")
        if method is not None and scope.value(method) not in ("ffill", "pad", None):
            return f"fillna(method={ast.unparse(method)})"
    if name in _WHOLE_COLUMN and _keyword(call, "axis") is None:
        on_module = isinstance(receiver, ast.Name) and receiver.id in scope.modules
        column = call.args[0] if on_module and call.args else receiver
        if (not on_module or call.args) and not _is_window(column, scope.windows):
            return f"whole-column statistic {ast.unparse(call)[:60]}"
    return None


def _builtin_problem(call: ast.Call, scope: _Scope) -> str | None:
    """``max(column)``, ``min(column)``, ``sum(column)``: one argument that is not a window."""
    if call.func.id not in ("max", "min", "sum") or len(call.args) != 1:
        return None
    column = call.args[0]
    if isinstance(column, ast.Name | ast.Attribute | ast.Subscript | ast.Call) and not _is_window(
        column, scope.windows
    ):
        return f"whole-column statistic {ast.unparse(call)[:60]}"
    return None


def _later_row(index: ast.expr, scope: _Scope) -> bool:
    """``i + k`` or ``k + i`` with a positive constant ``k`` and a variable ``i``."""
    if not (isinstance(index, ast.BinOp) and isinstance(index.op, ast.Add)):
        return False
    left, right = scope.value(index.left), scope.value(index.right)
    return any(
        _number(constant) and constant > 0 and other is UNKNOWN
        for constant, other in ((left, right), (right, left))
    )


def _last_row(index: ast.expr, scope: _Scope) -> bool:
    """A negative index, or ``len(x) - k``."""
    if scope.negative(index):
        return True
    return (
        isinstance(index, ast.BinOp)
        and isinstance(index.op, ast.Sub)
        and scope.is_length(index.left)
    )


def _subscript_problem(node: ast.Subscript, scope: _Scope) -> str | None:
    if not isinstance(node.ctx, ast.Load):
        return None
    text = ast.unparse(node)[:60]
    indexes = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    # The last rows of a window (``x[i - 20 : i][-1]``) are not the last bars.
    of_window = _is_window(node.value, scope.windows)
    for index in indexes:
        if isinstance(index, ast.Slice):
            if index.step is not None and scope.negative(index.step):
                return f"reversed order {text}"
            bounds = [b for b in (index.lower, index.upper) if b is not None]
            if not of_window and any(_last_row(b, scope) for b in bounds):
                return f"read of rows {text} (the last bars)"
        elif of_window:
            continue
        elif _last_row(index, scope):
            return f"read of row {text} (the last bars)"
        elif _later_row(index, scope):
            return f"read of later row {text}"
    return None


def problem(tree: ast.Module, parameters: Mapping[str, object] | None = None) -> Reason | None:
    """``lookahead: <pattern> at line <n>`` for the first pattern found, None otherwise.
    ``parameters`` is the strategy's declared ``parameters`` dict (for ``shift(p["lag"])``)."""
    scope = _scope(tree, parameters or {})
    for node in outline.innermost_first(tree):
        found = None
        if isinstance(node, ast.Call):
            found = _call_problem(node, scope)
        elif isinstance(node, ast.Subscript):
            found = _subscript_problem(node, scope)
        if found:
            return Reason(Code.LOOKAHEAD, f"{found} at line {node.lineno}")
    return None
