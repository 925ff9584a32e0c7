"""Check 1, syntax: the code compiles and defines exactly one strategy class with the interface.

The interface (see ``docs/strategies.md``): module-level imports and one class without bases or
decorators, whose body sets ``strategy_type`` (an upper-case code such as ``"MOM"``), ``warmup``
(bars, an integer >= 0) and optionally ``parameters`` (a literal dict), and defines
``signals(self, bars)``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from sixbtc.application.errors import InvalidStrategyCode
from sixbtc.application.ports import StrategyOutline
from sixbtc.application.strategy_file import syntax_tree
from sixbtc.domain.reasons import Code, Reason


def _refuse(message: str) -> InvalidStrategyCode:
    return InvalidStrategyCode(Reason(Code.SYNTAX_ERROR, message))


parse = syntax_tree


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def strategy_class(tree: ast.Module) -> ast.ClassDef:
    """The one class of the module, after checking the module holds nothing else."""
    classes = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes.append(node)
        elif not isinstance(node, ast.Import | ast.ImportFrom) and not _is_docstring(node):
            raise _refuse(
                f"{type(node).__name__} at line {node.lineno} outside the strategy class; "
                "expected only imports and one class"
            )
    if len(classes) != 1:
        raise _refuse(f"found {len(classes)} classes; expected exactly one strategy class")
    return classes[0]


def _declarations(cls: ast.ClassDef) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in cls.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node.value
    return found


def _literal(name: str, node: ast.expr | None, default=None):
    if node is None:
        if default is None:
            raise _refuse(f"class attribute {name} is missing")
        return default
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise _refuse(f"{name} at line {node.lineno} must be a literal value") from None


def outline(code: str) -> StrategyOutline:
    """The declared interface of ``code``; InvalidStrategyCode with a ``syntax_error`` reason."""
    tree = parse(code)
    try:
        compile(tree, "<strategy>", "exec")
    except SyntaxError as error:
        raise _refuse(f"{error.msg} at line {error.lineno}") from None
    cls = strategy_class(tree)
    if cls.bases or cls.keywords or cls.decorator_list:
        raise _refuse(f"class {cls.name} must have no base classes, keywords or decorators")
    declared = _declarations(cls)
    strategy_type = _literal("strategy_type", declared.get("strategy_type"))
    if (
        not isinstance(strategy_type, str)
        or not strategy_type.isalnum()
        or not strategy_type.isupper()
    ):
        raise _refuse(f"strategy_type {strategy_type!r}; expected an upper-case code such as 'MOM'")
    warmup = _literal("warmup", declared.get("warmup"))
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise _refuse(f"warmup {warmup!r}; expected an integer number of bars >= 0")
    parameters = _literal("parameters", declared.get("parameters"), default={})
    if not isinstance(parameters, dict):
        raise _refuse(f"parameters {parameters!r}; expected a dict")
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    signals = methods.get("signals")
    if signals is None:
        raise _refuse(f"class {cls.name} has no signals(self, bars) method")
    arguments = signals.args
    if (
        len(arguments.args) != 2
        or arguments.vararg
        or arguments.kwarg
        or arguments.kwonlyargs
        or arguments.posonlyargs
    ):
        raise _refuse(f"signals at line {signals.lineno} must take exactly (self, bars)")
    return StrategyOutline(cls.name, strategy_type, warmup, parameters)


def innermost_first(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, children before their parent, in source order: the first problem found is the
    one a reader sees first (``open`` before ``open(...).write``)."""
    for child in ast.iter_child_nodes(tree):
        yield from innermost_first(child)
    yield tree
