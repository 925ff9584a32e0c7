"""Is the factory healthy? (``GET /health`` of ``sixbtc web``, for an external uptime monitor): the
database answers, the market data is fresh and no running service process has gone silent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from sixbtc.application.dashboard import ServiceHealth, service_health
from sixbtc.application.ports import Clock, MarketData, UnitOfWork
from sixbtc.domain.candles import from_ms
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe

log = logging.getLogger(__name__)

#: Candles looked at for freshness: the last day of 5m bars of each coin checked.
FRESHNESS_WINDOW = timedelta(days=1)


@attrs.frozen
class DataFreshness:
    """The latest closed 5m candle of the stalest of ``coins`` (the LIVE strategies' coins, else
    the market's first; None: a coin has none in the last day), how many minutes it is behind
    ``now`` (the factory's clock), the stale-data limit in minutes (0: off) and whether it
    is within it; ``error`` when the market data could not be read."""

    coins: list[str]
    newest: datetime | None
    lag_minutes: float | None
    limit_minutes: float
    fresh: bool
    error: str | None = None


@attrs.frozen
class Health:
    """The whole answer: ``ok`` when the database is reachable, the data fresh and no service
    silent. A failing or stopped service is shown but does not make it unhealthy (a failed tick is
    retried; a stopped process was stopped)."""

    ok: bool
    at: datetime
    database: bool
    database_error: str | None
    data: DataFreshness | None
    services: list[ServiceHealth]


@attrs.define
class HealthQuery:
    """Builds :class:`Health`; the data's freshness is measured at most every ``cache`` (a
    market-data source may go to the network)."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    wall_clock: Clock
    market_data: Callable[[], MarketData]
    stale_data_minutes: float
    silent_after: dict[str, timedelta] = attrs.field(factory=dict)
    cache: timedelta = timedelta(seconds=30)
    _freshness: tuple[datetime, DataFreshness] | None = attrs.field(default=None, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def __call__(self) -> Health:
        wall = self.wall_clock.now()
        try:
            with self.unit_of_work() as uow:
                beats = uow.heartbeats.all()
                coins = sorted({c for s in uow.strategies.by_status(Status.LIVE) for c in s.coins})
        except Exception as error:  # the answer is "unreachable", never a crash
            log.warning("health: the database did not answer: %s", type(error).__name__)
            return Health(False, wall, False, type(error).__name__, None, [])
        services = service_health(beats, wall, self.silent_after)
        data = self._fresh(coins)
        latest: dict[str, ServiceHealth] = {}
        for health in services:  # the newest process of each service speaks for it
            latest.setdefault(health.heartbeat.service, health)
        silent = any(h.state == "silent" for h in latest.values())
        return Health(not silent and data.fresh, wall, True, None, data, services)

    def _fresh(self, coins: list[str]) -> DataFreshness:
        with self._lock:
            wall = self.wall_clock.now()
            if self._freshness is not None and wall - self._freshness[0] < self.cache:
                return self._freshness[1]
            data = self._measure(coins)
            self._freshness = (wall, data)
            return data

    def _measure(self, coins: list[str]) -> DataFreshness:
        limit = self.stale_data_minutes
        now = self.clock.now()
        try:
            market = self.market_data()
            coins = coins or market.symbols()[:1]
            latest: list[datetime | None] = []
            for coin in coins:
                candles = market.candles(coin, Timeframe.M5, now - FRESHNESS_WINDOW, now)
                latest.append(
                    from_ms(int(candles.time[-1])) + Timeframe.M5.duration if len(candles) else None
                )
            newest = None if None in latest or not latest else min(latest)
        except Exception as error:  # stale for the monitor, with what failed
            log.warning("health: market data not read: %s: %s", type(error).__name__, error)
            return DataFreshness(coins, None, None, limit, False, f"{type(error).__name__}")
        if newest is None:
            return DataFreshness(coins, None, None, limit, not limit)
        lag = max(0.0, (now - newest).total_seconds() / 60)
        return DataFreshness(coins, newest, lag, limit, not limit or lag <= limit)
