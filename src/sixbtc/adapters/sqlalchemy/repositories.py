"""Strategy and backtest repositories over one SQLAlchemy connection (its transaction is the unit
of work's). Rows and domain objects are converted explicitly here, so the domain knows no ORM."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from sixbtc.adapters.sqlalchemy.tables import (
    backtest_results,
    strategies,
    strategy_events,
)
from sixbtc.application.errors import ConcurrentChange, DuplicateStrategy, NotFound
from sixbtc.application.ports import StrategyFilter
from sixbtc.domain.backtest import BacktestResult, ExecutionParameters, RunKind, Window
from sixbtc.domain.coin_figures import CoinFigures
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.sensitivity import Band, Neighbourhood, Robustness, TradeBands
from sixbtc.domain.strategy import Standing, Status, StatusChange, Strategy, code_hash
from sixbtc.domain.timeframe import Timeframe


def _timeframe(label: str | None) -> Timeframe | None:
    # Old rows may carry timeframes the pipeline does not trade; they read as "none chosen".
    return Timeframe(label) if label in Timeframe.__members__.values() else None


def _status(label: str) -> Status | str:
    # Events written by the migration name old statuses (TESTED, SELECTED, FAILED) that are not
    # statuses any more; they are returned as the plain label.
    return Status(label) if label in Status.__members__.values() else label


def _to_strategy(row: RowMapping) -> Strategy:
    return Strategy(
        id=row["id"],
        name=row["name"],
        code=row["code"],
        strategy_type=row["strategy_type"],
        created_at=row["created_at"],
        status=Status(row["status"]),
        timeframe=_timeframe(row["optimal_timeframe"]) or _timeframe(row["timeframe"]),
        execution=_execution(row["parameters"]),
        coins=row["backtest_coins"] or (),
        score_backtest=row["score_backtest"],
        score_live=row["score_live"],
        last_backtested_at=row["last_backtested_at"],
        live_since=row["live_since"],
        retired_reason=row["retired_reason"],
        retired_at=row["retired_at"],
        code_hash=row["code_hash"] or code_hash(row["code"]),
    )


def _execution(stored: Any) -> ExecutionParameters | None:
    """The execution parameters stored as JSON; None for none, or for what the original system
    stored there (its rows keep it: a row is only written where it changed)."""
    try:
        return ExecutionParameters(**stored) if isinstance(stored, dict) else None
    except (TypeError, ValueError):
        return None


def _text(reason: str | None) -> str | None:
    """A reason as the plain text stored."""
    return None if reason is None else str(reason)


def _mutable_values(strategy: Strategy) -> dict[str, Any]:
    return {
        "status": strategy.status.value,
        "optimal_timeframe": strategy.timeframe.value if strategy.timeframe else None,
        "parameters": strategy.execution.as_dict() if strategy.execution else None,
        "backtest_coins": list(strategy.coins) or None,
        "score_backtest": strategy.score_backtest,
        "score_live": strategy.score_live,
        "last_backtested_at": strategy.last_backtested_at,
        "live_since": strategy.live_since,
        "retired_reason": _text(strategy.retired_reason),
        "retired_at": strategy.retired_at,
    }


def _event_row(event: StatusChange) -> dict[str, Any]:
    return {
        "strategy_id": event.strategy_id,
        "from_status": str(event.from_status),
        "to_status": str(event.to_status),
        "reason": str(event.reason),
        "at": event.at,
        "service": event.service,
    }


@attrs.define
class _Loaded:
    """A strategy handed out by this repository, with what is already written of it."""

    strategy: Strategy
    written: dict[str, Any]
    events_written: int = 0


class SqlAlchemyStrategyRepository:
    """The :class:`~sixbtc.application.ports.StrategyRepository` port on the ``strategies`` and
    ``strategy_events`` tables. Loaded strategies are kept in an identity map; :meth:`save` (and
    the unit of work's commit, for every loaded strategy) writes only what changed."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._loaded: dict[uuid.UUID, _Loaded] = {}

    def adopt(self, rows: Iterable[RowMapping]) -> list[Strategy]:
        """The strategies of ``rows``, loaded into this unit of work (those already loaded as
        they are)."""
        adopted = []
        for row in rows:
            entry = self._loaded.get(row["id"])
            if entry is None:
                strategy = _to_strategy(row)
                entry = _Loaded(strategy, _mutable_values(strategy))
                self._loaded[strategy.id] = entry
            adopted.append(entry.strategy)
        return adopted

    def _select(self, *conditions: sa.ColumnElement[bool]) -> list[Strategy]:
        self.flush()
        query = (
            sa.select(strategies)
            .where(*conditions)
            .order_by(strategies.c.created_at, strategies.c.id)
        )
        return self.adopt(self._connection.execute(query).mappings())

    def add(self, strategy: Strategy) -> None:
        if strategy.id in self._loaded:
            raise DuplicateStrategy(f"strategy {strategy.id} already exists")
        same = self._connection.execute(
            sa.select(strategies.c.id, strategies.c.name).where(
                (strategies.c.id == strategy.id) | (strategies.c.code_hash == strategy.code_hash)
            )
        ).first()
        if same is not None:
            raise DuplicateStrategy(
                f"strategy {strategy.name!r}: same id or code as {same.name!r} ({same.id})"
            )
        values = _mutable_values(strategy)
        insert = strategies.insert().values(
            id=strategy.id,
            name=strategy.name,
            code=strategy.code,
            code_hash=strategy.code_hash,
            strategy_type=strategy.strategy_type,
            timeframe=values["optimal_timeframe"],
            created_at=strategy.created_at,
            **values,
        )
        try:
            # A savepoint, so that losing a race with a concurrent add keeps this unit of work.
            with self._connection.begin_nested():
                self._connection.execute(insert)
        except sa.exc.IntegrityError as error:
            raise DuplicateStrategy(
                f"strategy {strategy.name!r}: its id, name or code is already stored ({error.orig})"
            ) from None
        self._loaded[strategy.id] = _Loaded(strategy, values)
        self._write_events(self._loaded[strategy.id])

    def get(self, strategy_id: uuid.UUID) -> Strategy:
        if strategy_id in self._loaded:
            return self._loaded[strategy_id].strategy
        found = self._select(strategies.c.id == strategy_id)
        if not found:
            raise NotFound(f"strategy {strategy_id} does not exist")
        return found[0]

    def save(self, strategy: Strategy) -> None:
        entry = self._loaded.get(strategy.id)
        if entry is None or entry.strategy is not strategy:
            raise NotFound(f"strategy {strategy.id} was not loaded in this unit of work")
        values = _mutable_values(strategy)
        changed = {k: v for k, v in values.items() if entry.written[k] != v}
        if changed:
            written = self._connection.execute(
                strategies.update()
                .where(strategies.c.id == strategy.id)
                .where(strategies.c.status == entry.written["status"])
                .values(**changed)
            )
            if written.rowcount != 1:
                raise ConcurrentChange(
                    f"strategy {strategy.id}: status is no longer {entry.written['status']} "
                    "(changed by another unit of work since it was loaded)"
                )
            entry.written = values
        self._write_events(entry)

    def _write_events(self, entry: _Loaded) -> None:
        pending = entry.strategy.events[entry.events_written :]
        if pending:
            self._connection.execute(strategy_events.insert(), [_event_row(e) for e in pending])
            entry.events_written = len(entry.strategy.events)

    def flush(self) -> None:
        """Write every loaded strategy's changes (the unit of work calls it before committing)."""
        for entry in self._loaded.values():
            self.save(entry.strategy)

    def committed(self) -> None:
        """Forget written events once durable, as the in-memory store does on commit."""
        for entry in self._loaded.values():
            entry.strategy.events.clear()

    def by_status(self, status: Status) -> list[Strategy]:
        return self._select(strategies.c.status == status.value)

    def search(self, wanted: StrategyFilter) -> list[Strategy]:
        self.flush()
        c = strategies.c
        conditions = []
        if wanted.statuses:
            conditions.append(c.status.in_([s.value for s in wanted.statuses]))
        if wanted.types:
            conditions.append(c.strategy_type.in_(sorted(wanted.types)))
        if wanted.timeframes:
            chosen = sa.func.coalesce(c.optimal_timeframe, c.timeframe)
            conditions.append(chosen.in_([t.value for t in wanted.timeframes]))
        if wanted.reasons:
            # the stored text is "code" or "code: figures" (Reason); compared exactly, no LIKE
            conditions.append(
                sa.or_(
                    *(
                        (c.retired_reason == code.value)
                        | (
                            sa.func.substr(c.retired_reason, 1, len(code.value) + 1)
                            == f"{code.value}:"
                        )
                        for code in wanted.reasons
                    )
                )
            )
        query = (
            sa.select(strategies)
            .where(*conditions)
            .order_by(sa.nulls_last(c.score_backtest.desc()), c.created_at, c.id)
            .limit(wanted.limit)
        )
        return self.adopt(self._connection.execute(query).mappings())

    def named(self, name: str) -> Strategy | None:
        found = self._select(strategies.c.name == name)
        return found[0] if found else None

    def count(self, status: Status) -> int:
        self.flush()
        query = sa.select(sa.func.count()).where(strategies.c.status == status.value)
        return self._connection.execute(query).scalar_one()

    def standings(self, status: Status = Status.ACTIVE) -> list[Standing]:
        self.flush()
        query = sa.select(
            strategies.c.id, strategies.c.score_backtest, strategies.c.last_backtested_at
        ).where(strategies.c.status == status.value)
        return [Standing(*row) for row in self._connection.execute(query)]

    def reached(self, status: Status) -> int:
        query = sa.select(sa.func.count(sa.distinct(strategy_events.c.strategy_id))).where(
            strategy_events.c.to_status == status.value
        )
        return self._connection.execute(query).scalar_one()

    def recent_events(self, limit: int | None) -> list[tuple[str, StatusChange]]:
        query = (
            sa.select(strategies.c.name, strategy_events)
            .join(strategies, strategies.c.id == strategy_events.c.strategy_id)
            .order_by(strategy_events.c.id.desc())
            .limit(limit)
        )
        rows = self._connection.execute(query).mappings()
        return [(row["name"], _event(row)) for row in rows]

    def live_events(self, since: datetime) -> list[tuple[str, StatusChange]]:
        live = Status.LIVE.value
        query = (
            sa.select(strategies.c.name, strategy_events)
            .join(strategies, strategies.c.id == strategy_events.c.strategy_id)
            .where(
                strategy_events.c.at > since,
                sa.or_(strategy_events.c.to_status == live, strategy_events.c.from_status == live),
            )
            .order_by(strategy_events.c.id)
        )
        rows = self._connection.execute(query).mappings()
        return [(row["name"], _event(row)) for row in rows]

    def events(self, strategy_id: uuid.UUID) -> list[StatusChange]:
        query = (
            sa.select(strategy_events)
            .where(strategy_events.c.strategy_id == strategy_id)
            .order_by(strategy_events.c.id)
        )
        stored = [_event(row) for row in self._connection.execute(query).mappings()]
        entry = self._loaded.get(strategy_id)
        pending = entry.strategy.events[entry.events_written :] if entry else []
        return stored + list(pending)


def _event(row: RowMapping) -> StatusChange:
    return StatusChange(
        row["strategy_id"],
        _status(row["from_status"]),
        _status(row["to_status"]),
        row["reason"],
        row["at"],
        row["service"],
    )


class SqlAlchemyBacktestRepository:
    """The :class:`~sixbtc.application.ports.BacktestRepository` port on ``backtest_results``.

    Runs recorded by the original system (no ``run_kind``) stay in the table for audit but are not
    returned: they lack the windows, parameters and metrics a :class:`BacktestResult` carries.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, result: BacktestResult) -> None:
        training, holdout = result.training_window, result.holdout_window
        self._connection.execute(
            backtest_results.insert().values(
                id=result.id,
                strategy_id=result.strategy_id,
                lookback_days=(holdout.end - training.start).days,
                initial_capital=1.0,
                start_date=training.start,
                end_date=holdout.end,
                total_trades=result.training.trades + result.holdout.trades,
                timeframe_tested=result.timeframe.value,
                is_optimal_tf=True,
                created_at=result.run_at,
                run_kind=result.kind.value,
                training_end=training.end,
                holdout_start=holdout.start,
                execution_parameters=result.parameters.as_dict(),
                training_metrics=attrs.asdict(result.training),
                holdout_metrics=attrs.asdict(result.holdout),
                score=result.score,
                equity_curve=[list(point) for point in result.equity],
                coin_results=[attrs.asdict(coin) for coin in result.coins],
                robustness=attrs.asdict(result.robustness) if result.robustness else None,
            )
        )

    def for_strategy(self, strategy_id: uuid.UUID) -> list[BacktestResult]:
        query = (
            sa.select(backtest_results)
            .where(
                backtest_results.c.strategy_id == strategy_id,
                backtest_results.c.run_kind.is_not(None),
            )
            .order_by(backtest_results.c.created_at, backtest_results.c.id)
        )
        return [
            BacktestResult(
                id=row["id"],
                strategy_id=row["strategy_id"],
                kind=RunKind(row["run_kind"]),
                run_at=row["created_at"],
                timeframe=Timeframe(row["timeframe_tested"]),
                parameters=ExecutionParameters(**row["execution_parameters"]),
                training_window=Window(row["start_date"], row["training_end"]),
                holdout_window=Window(row["holdout_start"], row["end_date"]),
                training=Metrics(**row["training_metrics"]),
                holdout=Metrics(**row["holdout_metrics"]),
                score=row["score"],
                equity=tuple((int(t), v) for t, v in row["equity_curve"] or ()),
                coins=tuple(CoinFigures(**coin) for coin in row["coin_results"] or ()),
                robustness=_robustness(row["robustness"]),
            )
            for row in self._connection.execute(query).mappings()
        ]


def _robustness(stored: dict | None) -> Robustness | None:
    """The robustness figures of a stored result (None: recorded without them)."""
    if stored is None:
        return None
    near, bands = stored["neighbourhood"], stored["bands"]
    return Robustness(
        Neighbourhood(**near) if near else None,
        TradeBands(
            bands["trades"], bands["draws"], Band(**bands["drawdown"]), Band(**bands["sharpe"])
        )
        if bands
        else None,
    )
