"""Rendering a genome (entry rule, filter, numbers) as strategy source code, and drawing random
genomes from the catalogue."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from sixbtc.adapters.generator.catalogue import (
    ENTRIES,
    ENTRY_BY_NAME,
    FILTER_BY_NAME,
    FILTERS,
    Range,
    Rule,
)
from sixbtc.application.ports import StrategyDraft

Genome = dict[str, Any]


def draw(value_range: Range, rng: np.random.Generator) -> float | int:
    if value_range.integer:
        return int(rng.integers(value_range.low, value_range.high + 1))
    return round(float(rng.uniform(value_range.low, value_range.high)), 4)


def draw_numbers(rule: Rule, rng: np.random.Generator) -> dict[str, float | int]:
    """Random numbers for ``rule`` within its ranges that satisfy its constraint."""
    while True:
        numbers = {name: draw(r, rng) for name, r in rule.ranges.items()}
        if rule.constraint(numbers):
            return numbers


def random_genome(strategy_type: str, rng: np.random.Generator) -> Genome:
    rules = ENTRIES[strategy_type]
    entry = rules[int(rng.integers(len(rules)))]
    screen = FILTERS[int(rng.integers(len(FILTERS)))]
    return (
        {"entry": entry.name, "filter": screen.name}
        | draw_numbers(entry, rng)
        | draw_numbers(screen, rng)
    )


def is_genome(parameters: Any) -> bool:
    """True for the parameters of a generated strategy (which can be bred)."""
    return (
        isinstance(parameters, dict)
        and parameters.get("entry") in ENTRY_BY_NAME
        and parameters.get("filter") in FILTER_BY_NAME
    )


def render(genome: Genome) -> StrategyDraft:
    """The strategy class for ``genome``; its name carries the type, the rule and a code digest."""
    strategy_type, entry = ENTRY_BY_NAME[genome["entry"]]
    screen = FILTER_BY_NAME[genome["filter"]]
    warmup = max(entry.warmup(genome), screen.warmup(genome)) + 2
    body = (
        "        p = self.parameters",
        "        c = bars.close",
        *(f"        {line}" for line in entry.lines + screen.lines),
        "        return np.where(long & long_ok, 1, np.where(short & short_ok, -1, 0))",
    )
    digest = hashlib.sha256(repr(sorted(genome.items())).encode()).hexdigest()[:10]
    name = f"{strategy_type.title()}{genome['entry'].title().replace('_', '')}{digest}"
    code = "\n".join(
        (
            "import numpy as np",
            "",
            "from sixbtc import indicators as ta",
            "",
            "",
            f"class {name}:",
            f'    """Generated {strategy_type}: {entry.name} entry, {screen.name} filter."""',
            "",
            f'    strategy_type = "{strategy_type}"',
            f"    parameters = {genome!r}",
            f"    warmup = {warmup}",
            "",
            "    def signals(self, bars):",
            *body,
            "",
        )
    )
    return StrategyDraft(name, code, strategy_type)
