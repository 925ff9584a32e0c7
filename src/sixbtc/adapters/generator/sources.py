"""Strategy sources of the generator: random composition from the catalogue, and genetic breeding
of ACTIVE strategies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sixbtc.adapters.generator.catalogue import ENTRIES, ENTRY_BY_NAME, FILTER_BY_NAME
from sixbtc.adapters.generator.composer import (
    Genome,
    draw_numbers,
    is_genome,
    random_genome,
    render,
)
from sixbtc.adapters.inspection import outline
from sixbtc.application.errors import InvalidStrategyCode
from sixbtc.application.ports import StrategyDraft
from sixbtc.domain.strategy import Strategy


class CatalogueStrategySource:
    """Random strategies composed from the catalogue, cycling through the types; the sequence is
    fixed by ``seed`` (None: fresh entropy)."""

    def __init__(self, seed: int | None = 0, types: Sequence[str] = tuple(ENTRIES)) -> None:
        self._rng = np.random.default_rng(seed)
        self._types = tuple(types)
        self._next = 0

    def propose(self, count: int, parents: Sequence[Strategy] = ()) -> list[StrategyDraft]:
        drafts = []
        for _ in range(count):
            strategy_type = self._types[self._next % len(self._types)]
            self._next += 1
            drafts.append(render(random_genome(strategy_type, self._rng)))
        return drafts


class GeneticStrategySource:
    """Children of generated ACTIVE strategies: crossover (the entry of one parent with the
    filter of another) with probability ``crossover_rate``, then one number, and each other with
    probability ``mutation_rate``, redrawn near its value. Each parent is the best-scored of
    ``tournament`` members drawn at random, so better strategies breed more. Proposes nothing
    without a breedable parent."""

    def __init__(
        self,
        seed: int | None = 0,
        crossover_rate: float = 0.5,
        mutation_rate: float = 0.3,
        tournament: int = 3,
    ) -> None:
        self._rng = np.random.default_rng(seed)
        self.crossover_rate = crossover_rate
        self.mutation_rate = mutation_rate
        self.tournament = tournament

    @staticmethod
    def _genome(strategy: Strategy) -> Genome | None:
        try:
            parameters = outline.outline(strategy.code).parameters
        except InvalidStrategyCode:
            return None
        return parameters if is_genome(parameters) else None

    def _mutate(self, genome: Genome) -> Genome:
        _, entry = ENTRY_BY_NAME[genome["entry"]]
        screen = FILTER_BY_NAME[genome["filter"]]
        ranges = {**entry.ranges, **screen.ranges}
        child = dict(genome)
        forced = list(ranges)[int(self._rng.integers(len(ranges)))]  # a child never clones
        for name, value_range in ranges.items():
            if name == forced or self._rng.random() < self.mutation_rate:
                span = (value_range.high - value_range.low) * 0.2
                nudged = child[name] + self._rng.normal(0.0, span)
                clipped = min(max(nudged, value_range.low), value_range.high)
                child[name] = round(clipped) if value_range.integer else round(float(clipped), 4)
        if not entry.constraint(child):
            child.update(draw_numbers(entry, self._rng))
        return child

    def _cross(self, mother: Genome, father: Genome) -> Genome:
        screen = FILTER_BY_NAME[father["filter"]]
        child = {k: v for k, v in mother.items() if not k.startswith("filter")}
        child["filter"] = screen.name
        child.update({name: father[name] for name in screen.ranges})
        return child

    def _select(self, pool: list[tuple[float, Genome]]) -> Genome:
        drawn = self._rng.integers(len(pool), size=self.tournament)
        return pool[max(drawn, key=lambda i: pool[i][0])][1]

    def propose(self, count: int, parents: Sequence[Strategy]) -> list[StrategyDraft]:
        pool = [
            (parent.score_backtest or 0.0, genome)
            for parent in parents
            if (genome := self._genome(parent)) is not None
        ]
        if not pool:
            return []
        drafts = []
        for _ in range(count):
            child = dict(self._select(pool))
            if len(pool) > 1 and self._rng.random() < self.crossover_rate:
                child = self._cross(child, self._select(pool))
            drafts.append(render(self._mutate(child)))
        return drafts
