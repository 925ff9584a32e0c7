"""Check 2, safety: an allow-list on the syntax tree.

Imports only of numpy, pandas, math and :mod:`sixbtc.indicators` (and only their allowed names);
no name or attribute outside :mod:`.allowlist`; no dunder or private names; no ``global``,
``nonlocal``, async code, generators, decorators, nested classes or assignment to attributes other
than ``self.<name>``. This is the first barrier only: the sandbox must hold without it.
"""

from __future__ import annotations

import ast

from sixbtc.adapters.inspection import allowlist, outline

_FORBIDDEN_NODES = (
    ast.Global,
    ast.Nonlocal,
    ast.AsyncFunctionDef,
    ast.AsyncFor,
    ast.AsyncWith,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
)


def _bound_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.partition(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _class_attributes(cls: ast.ClassDef) -> set[str]:
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef) and node in cls.body:
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
    return names


def _import_problem(node: ast.Import | ast.ImportFrom) -> str | None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in allowlist.MODULES:
                return f"import {alias.name}"
        return None
    module = node.module or ""
    if node.level:
        return f"relative import from {'.' * node.level}{module}"
    for alias in node.names:
        if module == "sixbtc" and alias.name == "indicators":
            continue
        allowed = allowlist.MODULES.get(module)
        if allowed is None:
            return f"import from {module}"
        if alias.name not in allowed:
            return f"from {module} import {alias.name}"
    return None


def _dunder(name: str) -> bool:
    return name.startswith("__")


def problem(tree: ast.Module, cls: ast.ClassDef) -> str | None:
    """``unsafe: <what> at line <n>`` for the first disallowed construct, None if all allowed."""
    bound = _bound_names(tree)
    own = _class_attributes(cls)
    for node in outline.innermost_first(tree):
        line = getattr(node, "lineno", 0)
        found = _node_problem(node, bound, own, cls)
        if found:
            return f"unsafe: {found} at line {line}"
    return None


def _node_problem(node: ast.AST, bound: set[str], own: set[str], cls: ast.ClassDef) -> str | None:
    if isinstance(node, _FORBIDDEN_NODES):
        return type(node).__name__.lower()
    if isinstance(node, ast.Import | ast.ImportFrom):
        return _import_problem(node)
    if isinstance(node, ast.ClassDef) and node is not cls:
        return f"nested class {node.name}"
    if isinstance(node, ast.FunctionDef | ast.Lambda):
        if isinstance(node, ast.FunctionDef) and (node.decorator_list or _dunder(node.name)):
            return f"def {node.name} (decorated or dunder)"
        return None
    if isinstance(node, ast.arg) and _dunder(node.arg):
        return f"argument {node.arg}"
    if isinstance(node, ast.Name):
        if _dunder(node.id):
            return f"name {node.id}"
        if (
            isinstance(node.ctx, ast.Load)
            and node.id not in bound
            and node.id not in allowlist.BUILTINS
        ):
            return f"name {node.id}"
        return None
    if isinstance(node, ast.Attribute):
        return _attribute_problem(node, own)
    return None


def _attribute_problem(node: ast.Attribute, own: set[str]) -> str | None:
    on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
    text = ast.unparse(node)
    if node.attr.startswith("_"):
        return f"attribute {text}"
    if not isinstance(node.ctx, ast.Load) and not on_self:
        return f"assignment to attribute {text}"
    if on_self and node.attr in own:
        return None
    if node.attr not in allowlist.ALL_ATTRIBUTES:
        return f"attribute {text}"
    return None
