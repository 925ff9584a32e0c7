"""Check 3, static lookahead: code patterns that read bars after the one being decided.

Negative shifts and differences, ``np.roll``, centred rolling windows, backward fills and
interpolation, reads of later rows (``x[i + 1]``) or of the last row (``x[-1]``), and whole-column
statistics (``bars.close.max()``, ``np.mean(close)``, ranks and sorts) outside a rolling,
expanding or explicitly sliced window. The shuffle test catches what this misses.
"""

from __future__ import annotations

import ast

from sixbtc.adapters.inspection import outline

_SHIFTS = {"shift", "diff", "pct_change"}
_BACKWARD = {"bfill", "backfill", "interpolate"}
_WINDOWS = {"rolling", "expanding", "ewm"}
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


def _negative(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and node.value < 0


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_window(node: ast.expr, windows: set[str]) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in _WINDOWS
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Slice)
    return isinstance(node, ast.Name) and node.id in windows


def _window_names(tree: ast.Module) -> set[str]:
    """Names assigned a rolling/expanding/ewm window or an explicit slice."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_window(node.value, set()):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _modules(tree: ast.Module) -> set[str]:
    """Local names bound to imported modules (``np``, ``pd``)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }


def _call_problem(call: ast.Call, windows: set[str], modules: set[str]) -> str | None:
    if not isinstance(call.func, ast.Attribute):
        return None
    name = call.func.attr
    receiver = call.func.value
    if name in _SHIFTS:
        periods = call.args[0] if call.args else _keyword(call, "periods")
        if periods is not None and _negative(periods):
            return f"{name}({ast.unparse(periods)})"
    if name == "roll":
        return f"{ast.unparse(call.func)}() wraps the last bars to the start"
    if name == "rolling":
        center = _keyword(call, "center")
        if isinstance(center, ast.Constant) and center.value:
            return "rolling(center=True)"
    if name in _BACKWARD:
        return f"{name}()"
    if name == "fillna":
        method = _keyword(call, "method")
        if isinstance(method, ast.Constant) and method.value in ("bfill", "backfill"):
            return f"fillna(method={method.value!r})"
    if name in _WHOLE_COLUMN and _keyword(call, "axis") is None:
        on_module = isinstance(receiver, ast.Name) and receiver.id in modules
        column = call.args[0] if on_module and call.args else receiver
        if (not on_module or call.args) and not _is_window(column, windows):
            return f"whole-column statistic {ast.unparse(call)[:60]}"
    return None


def _subscript_problem(node: ast.Subscript) -> str | None:
    if not isinstance(node.ctx, ast.Load):
        return None
    index = node.slice
    if isinstance(index, ast.UnaryOp) and _negative(index):
        return f"read of row {ast.unparse(node)[:60]} (the last bars)"
    if (
        isinstance(index, ast.BinOp)
        and isinstance(index.op, ast.Add)
        and isinstance(index.right, ast.Constant)
        and isinstance(index.right.value, int)
        and index.right.value > 0
    ):
        return f"read of later row {ast.unparse(node)[:60]}"
    return None


def problem(tree: ast.Module) -> str | None:
    """``lookahead: <pattern> at line <n>`` for the first pattern found, None otherwise."""
    windows = _window_names(tree)
    modules = _modules(tree)
    for node in outline.innermost_first(tree):
        found = None
        if isinstance(node, ast.Call):
            found = _call_problem(node, windows, modules)
        elif isinstance(node, ast.Subscript):
            found = _subscript_problem(node)
        if found:
            return f"lookahead: {found} at line {node.lineno}"
    return None
