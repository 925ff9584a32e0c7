"""The domain is pure: it imports only the standard library, attrs, numpy and itself."""

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sixbtc"
DOMAIN_ALLOWED = {"attrs", "numpy", "sixbtc"}
APPLICATION_ALLOWED = DOMAIN_ALLOWED


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    ("layer", "allowed"), [("domain", DOMAIN_ALLOWED), ("application", APPLICATION_ALLOWED)]
)
def test_layer_imports_only_what_it_may(layer, allowed):
    offenders = {}
    for path in (SRC / layer).rglob("*.py"):
        foreign = imported_roots(path) - allowed - set(sys.stdlib_module_names) - {"__future__"}
        if foreign:
            offenders[str(path.relative_to(SRC))] = sorted(foreign)
    assert offenders == {}
    domain_reaching_up = [
        p
        for p in (SRC / "domain").rglob("*.py")
        if any(m in p.read_text() for m in ("sixbtc.application", "sixbtc.adapters"))
    ]
    assert domain_reaching_up == []
