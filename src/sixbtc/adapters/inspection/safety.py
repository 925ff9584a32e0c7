"""Check 2, safety: an allow-list on the syntax tree.

Imports only of numpy, pandas, math and :mod:`sixbtc.indicators` (and only their allowed names);
no name or attribute outside :mod:`.allowlist`; no dunder or private names; no ``global``,
``nonlocal``, async code, generators, ``match`` (class patterns read attributes by name),
decorators, nested classes or assignment to attributes other than ``self.<name>``.

Two allowed names need their context checked. ``self`` is only ever a method's first parameter,
and the class never names itself (otherwise another object could become ``self``, and
``self.<own name>`` would read that attribute of it). ``apply`` only takes a lambda (given a
string, pandas calls the method of that name: ``bars.apply("to_csv", args=(path,))``).

This is the first barrier only: the sandbox must hold without it.
"""

from __future__ import annotations

import ast

import attrs

from sixbtc.adapters.inspection import allowlist, outline
from sixbtc.domain.reasons import Code, Reason

_FORBIDDEN_NODES = (
    ast.Global,
    ast.Nonlocal,
    ast.AsyncFunctionDef,
    ast.AsyncFor,
    ast.AsyncWith,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.Match,
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


def _method_selves(cls: ast.ClassDef) -> set[ast.arg]:
    """The first parameter of each method: the only places ``self`` may be bound."""
    return {
        node.args.args[0]
        for node in cls.body
        if isinstance(node, ast.FunctionDef) and node.args.args
    }


def _lambda_applies(tree: ast.Module) -> set[ast.Attribute]:
    """The ``.apply`` attributes called with a lambda as their function."""
    return {
        node.func
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "apply"
        and node.args
        and isinstance(node.args[0], ast.Lambda)
    }


@attrs.frozen
class _Context:
    bound: set[str]
    own: set[str]
    cls: ast.ClassDef
    selves: set[ast.arg]
    applies: set[ast.Attribute]


def problem(tree: ast.Module, cls: ast.ClassDef) -> Reason | None:
    """``unsafe: <what> at line <n>`` for the first disallowed construct, None if all allowed."""
    context = _Context(
        _bound_names(tree), _class_attributes(cls), cls, _method_selves(cls), _lambda_applies(tree)
    )
    for node in outline.innermost_first(tree):
        line = getattr(node, "lineno", 0)
        found = _node_problem(node, context)
        if found:
            return Reason(Code.UNSAFE, f"{found} at line {line}")
    return None


def _rebinds_self(node: ast.AST, selves: set[ast.arg]) -> bool:
    if isinstance(node, ast.arg):
        return node.arg == "self" and node not in selves
    if isinstance(node, ast.Name):
        return node.id == "self" and not isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.ExceptHandler):
        return node.name == "self"
    return isinstance(node, ast.alias) and (node.asname or node.name) == "self"


def _node_problem(node: ast.AST, context: _Context) -> str | None:
    if isinstance(node, _FORBIDDEN_NODES):
        return type(node).__name__.lower()
    if _rebinds_self(node, context.selves):
        return "self bound to something other than the instance"
    if isinstance(node, ast.Import | ast.ImportFrom):
        return _import_problem(node)
    if isinstance(node, ast.ClassDef) and node is not context.cls:
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
        if node.id == context.cls.name:  # Sample.method(other) would make other its self
            return f"name {node.id} (call methods through self)"
        if (
            isinstance(node.ctx, ast.Load)
            and node.id not in context.bound
            and node.id not in allowlist.BUILTINS
        ):
            return f"name {node.id}"
        return None
    if isinstance(node, ast.Attribute):
        if node.attr == "apply" and node not in context.applies:
            return f"{ast.unparse(node)[:60]} without a lambda as its function"
        return _attribute_problem(node, context.own)
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
