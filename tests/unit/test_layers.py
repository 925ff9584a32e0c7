"""The domain is pure: it imports only the standard library, attrs, numpy and itself; the
application adds only itself. Neither reads the system clock (time comes from the Clock port)."""

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sixbtc"
THIRD_PARTY = {"attrs", "numpy"}
OWN = {"domain": {"sixbtc.domain"}, "application": {"sixbtc.domain", "sixbtc.application"}}
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}


def imported_modules(tree: ast.AST) -> set[str]:
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def clock_reads(tree: ast.AST) -> list[str]:
    return [
        f"{node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and (node.value.id, node.attr) in CLOCK_READS
    ]


def sources(layer: str):
    for path in sorted((SRC / layer).rglob("*.py")):
        yield str(path.relative_to(SRC)), ast.parse(path.read_text())


@pytest.mark.parametrize("layer", sorted(OWN))
def test_layer_imports_only_what_it_may(layer):
    def allowed(module: str) -> bool:
        root = module.split(".")[0]
        if root == "sixbtc":
            return any(module == own or module.startswith(f"{own}.") for own in OWN[layer])
        return root in THIRD_PARTY or root in sys.stdlib_module_names or root == "__future__"

    offenders = {
        name: sorted(m for m in imported_modules(tree) if not allowed(m))
        for name, tree in sources(layer)
    }
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize("layer", sorted(OWN))
def test_layer_never_reads_the_system_clock(layer):
    offenders = {name: clock_reads(tree) for name, tree in sources(layer)}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_checks_see_what_they_forbid():
    tree = ast.parse(
        "import yaml\nfrom sixbtc.config import load\nfrom datetime import datetime\n"
        "x = datetime.now()\n"
    )
    assert imported_modules(tree) == {"yaml", "sixbtc.config", "datetime"}
    assert clock_reads(tree) == ["datetime.now"]
