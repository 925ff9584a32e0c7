"""The generator's use case: fill the GENERATED queue from strategy sources, and add strategies
written by hand (``sixbtc strategy add``), which then go the same way as generated ones."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from sixbtc.application.errors import DuplicateStrategy
from sixbtc.application.ports import Clock, CodeInspector, StrategySource, UnitOfWork
from sixbtc.domain.strategy import Status, Strategy


@attrs.frozen
class GenerateStrategies:
    """One tick adds up to ``batch`` drafts, asking ``sources`` in order for equal shares, but pauses (adds none)
    while ``queue_limit`` (``pipeline.queue_limits.generated``) strategies wait in GENERATED.
    Drafts whose code is already stored are skipped. One unit of work per tick."""

    unit_of_work: UnitOfWork
    clock: Clock
    sources: Sequence[StrategySource]
    queue_limit: int = 500

    def run(self, batch: int = 50) -> int:
        """How many strategies were added."""
        added = 0
        with self.unit_of_work as uow:
            room = min(batch, self.queue_limit - uow.strategies.count(Status.GENERATED))
            if room <= 0:
                return 0
            parents = uow.strategies.by_status(Status.ACTIVE)
            for index, source in enumerate(self.sources):
                # An equal share of what is left, so that no source crowds out the others; the
                # last source makes up for what the earlier ones could not propose.
                share = -(-(room - added) // (len(self.sources) - index))
                for draft in source.propose(share, parents):
                    strategy = Strategy(
                        name=draft.name,
                        code=draft.code,
                        strategy_type=draft.strategy_type,
                        created_at=self.clock.now(),
                    )
                    try:
                        uow.strategies.add(strategy)
                    except DuplicateStrategy:
                        continue
                    added += 1
                if added >= room:
                    break
            uow.commit()
        return added


@attrs.frozen
class AddStrategy:
    """Store hand-written strategy code as GENERATED, named after its class (or ``name``).

    Raises InvalidStrategyCode (``syntax_error: ...``) when the code does not define a strategy
    class with the interface, and DuplicateStrategy when the same code is already stored. Every
    other check is the validator's, as for generated strategies."""

    unit_of_work: UnitOfWork
    clock: Clock
    inspector: CodeInspector

    def __call__(self, code: str, name: str | None = None) -> Strategy:
        outline = self.inspector.outline(code)
        strategy = Strategy(
            name=name or outline.class_name,
            code=code,
            strategy_type=outline.strategy_type,
            created_at=self.clock.now(),
        )
        with self.unit_of_work as uow:
            uow.strategies.add(strategy)
            uow.commit()
        return strategy
