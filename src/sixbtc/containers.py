"""The composition root: builds adapters from the configuration and hands them to use cases.

Nothing is built at import time; entrypoints create a :class:`Container` from a loaded
:class:`~sixbtc.config.Config`.

The adapters whose imports take long (numba, pandas, pyarrow, ccxt, alembic, the sandbox's
processes) are imported inside the functions below that build them, on first use, so that a
command pays only for what it uses: ``sixbtc strategy add`` needs the database, not the engine or
the market. The others are imported here.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dependency_injector import containers, providers
from sqlalchemy.engine import Engine

from sixbtc.adapters.clock import SimulatedClock, SystemClock
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.paper import PaperExchange
from sixbtc.adapters.paper.book import MemoryPaperStore
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine
from sixbtc.adapters.sqlalchemy.paper import SqlAlchemyPaperStore
from sixbtc.application import pool
from sixbtc.application.backtest import Backtester, BacktestSettings
from sixbtc.application.backtest_worker import BacktestWorker
from sixbtc.application.claims import ClaimKeeper
from sixbtc.application.dashboard import DashboardQuery
from sixbtc.application.executor import Executor
from sixbtc.application.generate import AddStrategy, GenerateStrategies
from sixbtc.application.health import HealthQuery
from sixbtc.application.heartbeat import HeartbeatRecorder
from sixbtc.application.kill_switch import KillSwitchControl
from sixbtc.application.live import LiveReview
from sixbtc.application.markets import StrategyMarkets
from sixbtc.application.notifications import NotificationFeed
from sixbtc.application.operator import RetireByHand
from sixbtc.application.pipeline import PipelinePass
from sixbtc.application.pool import PoolRules
from sixbtc.application.ports import Clock, Notifier
from sixbtc.application.report import ReportQuery
from sixbtc.application.research import Research
from sixbtc.application.rotator import Rotator
from sixbtc.application.status import StatusQuery
from sixbtc.application.strategy_report import StrategyReports
from sixbtc.application.study import BacktestStudy
from sixbtc.application.validate import StrategyChecker, ValidateStrategies, ValidationSettings
from sixbtc.config import ClockConfig, Config, ConfigError
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.strategy import Status

if TYPE_CHECKING:
    from sixbtc.adapters.ccxt.exchange import CcxtExchange
    from sixbtc.adapters.ccxt.market_data import CcxtMarketData
    from sixbtc.adapters.engine import NumbaBacktestEngine
    from sixbtc.adapters.generator.sources import CatalogueStrategySource, GeneticStrategySource
    from sixbtc.adapters.inspection import AstCodeInspector
    from sixbtc.adapters.market import CachedMarketData, ParquetCandleCache, SyntheticMarketData
    from sixbtc.adapters.market.checks import DataReport
    from sixbtc.adapters.sandbox import SandboxSignalSource
    from sixbtc.adapters.sqlalchemy.schema import Schema


def _candle_cache(cache_dir: str) -> ParquetCandleCache:
    """The parquet cache of candles in ``market_data.cache_dir``."""
    from sixbtc.adapters.market import ParquetCandleCache

    return ParquetCandleCache(cache_dir)


def _import_candles(
    cache: ParquetCandleCache, source: str, symbol: str, path: str | Path
) -> DataReport:
    """Check the bars of the file at ``path`` and merge them into ``cache``."""
    from sixbtc.adapters.market.files import import_file

    return import_file(cache, source, symbol, path)


def _symbol_of_file(path: str | Path) -> str:
    """The coin a file name suggests (``BTCUSDT-5m-2024-01.zip`` is BTC)."""
    from sixbtc.adapters.market.files import symbol_from_name

    return symbol_from_name(path)


def _iso_time(ms: int) -> str:
    """UTC epoch milliseconds as ISO 8601."""
    from sixbtc.adapters.market.checks import iso

    return iso(ms)


def _ccxt_market_data(
    config: Config, clock: Clock, cache: ParquetCandleCache, symbols: tuple[str, ...] = ()
) -> CcxtMarketData:
    """History of ``market_data.exchange`` through the parquet cache; ``symbols`` (or
    ``market_data.symbols``) or else the top coins by quote volume."""
    from sixbtc.adapters.ccxt.market_data import CcxtMarketData, ccxt_exchange

    days = config.backtester.training_days + config.backtester.holdout_days
    return CcxtMarketData(
        ccxt_exchange(config.market_data.exchange),
        cache,
        clock,
        symbols=symbols or config.market_data.symbols,
        coins=config.backtester.coins,
        history_days=days,
    )


def _midnight(day: str) -> datetime | None:
    """00:00 UTC of the ISO date ``day``, None when empty."""
    return datetime.combine(date.fromisoformat(day), time(), UTC) if day else None


def _clock(settings: ClockConfig) -> Clock:
    """The wall clock, or a simulated one when ``clock.speed`` or ``clock.origin`` is set."""
    origin = settings.origin_time()
    if settings.speed == 1 and origin is None:
        return SystemClock()
    return SimulatedClock(origin or datetime.now(UTC), settings.speed, since=origin)


def _synthetic_market_data(config: Config, clock: Clock) -> SyntheticMarketData:
    """Synthetic markets ending at 00:00 UTC of ``market_data.synthetic_end`` (a fixed market for
    research), or else from 00:00 of ``clock.origin``'s day (when set: every process agrees) or of
    today, continuing with the clock (live trading has candles)."""
    from sixbtc.adapters.market import SyntheticMarketData
    from sixbtc.adapters.market.synthetic import COINS

    settings = config.market_data
    days = config.backtester.training_days + config.backtester.holdout_days
    coins = settings.symbols or COINS[: config.backtester.coins]
    if settings.synthetic_end:
        end = _midnight(settings.synthetic_end)
        return SyntheticMarketData(end, settings.seed, settings.synthetic_mode, days, coins)
    anchor = config.clock.origin_time() or clock.now()
    end = anchor.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return SyntheticMarketData(end, settings.seed, settings.synthetic_mode, days, coins, clock)


def _cached_market_data(config: Config, cache: ParquetCandleCache) -> CachedMarketData:
    """The cache of ``market_data.exchange``'s bars as they are (imported history)."""
    from sixbtc.adapters.market import CachedMarketData

    coins = [entry.split("/")[0] for entry in config.market_data.symbols]  # BTC/USDT:USDT is BTC
    return CachedMarketData(cache, config.market_data.exchange, coins)


def _database_engine(url: str) -> Iterator[Engine]:
    """The engine of ``database.url``, disposed when the container shuts its resources down."""
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _sandbox(workers: int, cpu_seconds: int, memory_mb: int) -> Iterator[SandboxSignalSource]:
    """The sandbox's worker pool (``workers`` 0: one per core), stopped with the container."""
    from sixbtc.adapters.sandbox import SandboxSignalSource

    with SandboxSignalSource(
        workers=workers or None, cpu_seconds=cpu_seconds, memory_mb=memory_mb
    ) as source:
        yield source


def _backtest_engine(workers: int) -> NumbaBacktestEngine:
    """The numba engine (``workers`` 0: one thread per core)."""
    from sixbtc.adapters.engine import NumbaBacktestEngine

    return NumbaBacktestEngine(workers=workers)


def _schema(url: str) -> Schema:
    """The schema of the database at ``url``: its revision and the migrations (alembic)."""
    from sixbtc.adapters.sqlalchemy.schema import Schema

    return Schema(url)


def _code_inspector() -> AstCodeInspector:
    """Reads strategy code without running it."""
    from sixbtc.adapters.inspection import AstCodeInspector

    return AstCodeInspector()


def _validation_settings(config: Config) -> ValidationSettings:
    """The live history, and the most bars a backtest asks signals for at once: training plus
    holdout days of the shortest timeframe (the validator's execution check runs at that length)."""
    days = config.backtester.training_days + config.backtester.holdout_days
    shortest = min(timeframe.minutes for timeframe in config.timeframes())
    return ValidationSettings(
        live_history_bars=config.validator.live_history_bars,
        production_bars=days * 24 * 60 // shortest,
    )


def _live_exchange(config: Config, engine: Engine, clock: Clock) -> CcxtExchange:
    """Hyperliquid's subaccounts through ccxt, signed with the keys of the environment or of
    ``exchange.keys_file``; transfers journalled in the database."""
    from sixbtc.adapters.ccxt.exchange import CcxtExchange, hyperliquid_client
    from sixbtc.adapters.ccxt.journal import SqlAlchemyTransferJournal
    from sixbtc.adapters.ccxt.keys import KeysError, load_keys

    settings = config.exchange
    if settings.name != "hyperliquid":
        raise ConfigError(f"exchange.name: {settings.name!r}; live trading speaks 'hyperliquid'")
    if not settings.subaccounts:
        raise ConfigError(
            "exchange.subaccounts: empty; live trading needs the subaccount addresses, one per "
            "LIVE strategy"
        )
    try:
        keys = load_keys(settings.keys_file)
    except KeysError as error:
        raise ConfigError(f"exchange.mode 'live': {error}") from None
    client = hyperliquid_client(
        keys,
        api_url=settings.api_url,
        testnet=settings.testnet,
        timeout_seconds=settings.timeout_seconds,
        slippage=settings.slippage,
    )
    journal = SqlAlchemyTransferJournal(engine)
    return CcxtExchange(client, settings.subaccounts, journal, clock)


#: The environment variable holding the Telegram bot's token (never in the configuration file).
TELEGRAM_TOKEN = "SIXBTC_TELEGRAM_TOKEN"


def _notifiers(config: Config) -> list[Notifier]:
    """The configured receivers of notifications (none: an empty list)."""
    from sixbtc.adapters.notify.telegram import TelegramNotifier
    from sixbtc.adapters.notify.webhook import WebhookNotifier

    wanted = config.notifications
    found: list[Notifier] = []
    if wanted.webhook_url:
        found.append(WebhookNotifier(wanted.webhook_url))
    if wanted.telegram_chat_id:
        token = os.environ.get(TELEGRAM_TOKEN, "")
        if not token:
            raise ConfigError(
                f"notifications.telegram_chat_id: {wanted.telegram_chat_id!r}; expected the bot's "
                f"token in the environment variable {TELEGRAM_TOKEN} (never in the file)"
            )
        found.append(TelegramNotifier(token, wanted.telegram_chat_id))
    return found


def _secrets(config: Config) -> tuple[str, ...]:
    """Values no notification may carry."""
    return tuple(v for v in (os.environ.get(TELEGRAM_TOKEN), config.notifications.webhook_url) if v)


class Container(containers.DeclarativeContainer):
    """Adapters and policies wired from one Config. Entrypoints call :meth:`shutdown_resources`
    when done: it stops the sandbox and disposes of the database engine."""

    config = providers.Dependency(instance_of=Config)
    clock = providers.Singleton(_clock, config.provided.clock)
    #: Wall time whatever ``clock`` runs: heartbeats are about processes, not markets.
    wall_clock = providers.Singleton(SystemClock)
    #: The in-memory store, for tests: ``unit_of_work.override(in_memory_unit_of_work)``.
    store = providers.Singleton(InMemoryStore)
    in_memory_unit_of_work = providers.Factory(InMemoryUnitOfWork, store=store)
    engine = providers.Resource(_database_engine, config.provided.database.url)
    #: The schema of ``database.url``: its revision and the migrations.
    schema = providers.Factory(_schema, config.provided.database.url)
    unit_of_work = providers.Factory(SqlAlchemyUnitOfWork, engine=engine)
    selection = providers.Singleton(config.provided.live_selection.call())
    candle_cache = providers.Singleton(_candle_cache, config.provided.market_data.cache_dir)
    #: ``import_candles(source, symbol, path)``: check a file's bars and merge them into the cache.
    import_candles = providers.Callable(_import_candles, candle_cache)
    #: The coin a file name suggests (``BTCUSDT-5m-2024-01.zip`` is BTC).
    symbol_of_file = providers.Object(_symbol_of_file)
    #: UTC epoch milliseconds as ISO 8601, for reports.
    iso_time = providers.Object(_iso_time)
    #: ccxt history whatever ``market_data.source`` says (``sixbtc data download``).
    ccxt_market_data = providers.Factory(_ccxt_market_data, config, clock, candle_cache)
    #: ``market_data.source``: synthetic (offline, deterministic), ccxt with the parquet cache, or
    #: the parquet cache alone.
    market_data = providers.Selector(
        config.provided.market_data.source,
        synthetic=providers.Singleton(_synthetic_market_data, config, clock),
        cache=providers.Singleton(_cached_market_data, config, candle_cache),
        ccxt=providers.Singleton(ccxt_market_data),
    )
    backtest_engine = providers.Singleton(
        _backtest_engine, workers=config.provided.backtester.workers
    )
    #: Strategy code runs only in these confined worker processes (backtester and executor).
    signal_source = providers.Resource(
        _sandbox,
        workers=config.provided.sandbox.workers,
        cpu_seconds=config.provided.sandbox.cpu_seconds,
        memory_mb=config.provided.sandbox.memory_mb,
    )
    #: The paper exchange's books: in the database (a restart continues where it was); tests
    #: override ``paper_store`` with ``in_memory_paper_store``.
    paper_store = providers.Singleton(SqlAlchemyPaperStore, engine)
    in_memory_paper_store = providers.Singleton(MemoryPaperStore)
    #: ``exchange.mode``: paper (the default: simulated fills by the backtest's rules) or live.
    exchange = providers.Selector(
        config.provided.exchange.mode,
        paper=providers.Singleton(
            PaperExchange,
            config.provided.costs.call(),
            paper_store,
            config.provided.exchange.initial_capital,
        ),
        live=providers.Singleton(_live_exchange, config, engine, clock),
    )
    code_inspector = providers.Singleton(_code_inspector)
    add_strategy = providers.Factory(
        AddStrategy, unit_of_work=unit_of_work, clock=clock, inspector=code_inspector
    )
    validation_settings = providers.Singleton(_validation_settings, config)
    strategy_checker = providers.Singleton(
        StrategyChecker, code_inspector, signal_source, validation_settings
    )


def process_owner() -> str:
    """This process: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_owner(thread: str | None = None) -> str:
    """Who holds a claim: ``host:pid:thread`` (the current thread's name unless ``thread`` is
    given), so that the claims of machines, processes and worker threads never mix."""
    return f"{process_owner()}:{thread or threading.current_thread().name}"


def _seed(seed: int) -> int | None:
    return seed or None


def _signal_concurrency(config: Config) -> int:
    """Signal requests in flight at once: one per sandbox worker."""
    return config.sandbox.workers or os.cpu_count() or 1


def _pool_rules(config: Config) -> PoolRules:
    return PoolRules(config.active_pool.max_size, config.active_pool.min_score_entry)


def _backtest_settings(config: Config) -> BacktestSettings:
    b = config.backtester
    return BacktestSettings(
        timeframes=tuple(config.timeframes()),
        grid=config.parameter_grid(),
        costs=config.costs(),
        scoring=config.scoring_policy(),
        pool=_pool_rules(config),
        training_days=b.training_days,
        holdout_days=b.holdout_days,
        coins=b.coins,
        signal_concurrency=_signal_concurrency(config),
        robustness=config.robustness_policy(),
        window_end=_midnight(b.window_end),
    )


def _genetic_source(seed: int | None) -> GeneticStrategySource:
    """Children of ACTIVE strategies."""
    from sixbtc.adapters.generator.sources import GeneticStrategySource

    return GeneticStrategySource(seed=seed)


def _catalogue_source(seed: int | None) -> CatalogueStrategySource:
    """Strategies composed from the catalogue."""
    from sixbtc.adapters.generator.sources import CatalogueStrategySource

    return CatalogueStrategySource(seed=seed)


def _queue_limits(config: Config) -> dict[Status, int]:
    limits = config.pipeline.queue_limits
    return {Status.GENERATED: limits.generated, Status.VALIDATED: limits.validated}


def _silent_after(config: Config) -> dict[str, timedelta]:
    """How long a running service may go without a heartbeat before it is silent: the rotator
    and the monitor wait their check interval between ticks (twice it, and a minute)."""
    return {
        "rotator": timedelta(minutes=2 * config.rotator.check_interval_minutes + 1),
        "monitor": timedelta(minutes=2 * config.monitor.check_interval_minutes + 1),
    }


class Pipeline(containers.DeclarativeContainer):
    """The use cases of the pipeline, built on the adapters of a :class:`Container`."""

    adapters = providers.DependenciesContainer()
    config = adapters.config
    pool_rules = providers.Singleton(_pool_rules, config)
    retest_schedule = providers.Singleton(
        RetestSchedule,
        providers.Factory(timedelta, days=config.provided.backtester.retest_interval_days),
    )
    lease = providers.Singleton(timedelta, minutes=config.provided.backtester.claim_lease_minutes)
    backtest_settings = providers.Singleton(_backtest_settings, config)
    #: ``generator.seed``; 0: fresh entropy in every process.
    seed = providers.Callable(_seed, config.provided.generator.seed)
    #: The catalogue first; children of ACTIVE strategies once the pool has some (genetic).
    strategy_sources = providers.List(
        providers.Singleton(_genetic_source, seed=seed),
        providers.Singleton(_catalogue_source, seed=seed),
    )
    generate = providers.Factory(
        GenerateStrategies,
        unit_of_work=adapters.unit_of_work,
        clock=adapters.clock,
        sources=strategy_sources,
        queue_limit=config.provided.pipeline.queue_limits.generated,
    )
    #: Who holds a claim: ``owner(thread_name)`` is ``host:pid:thread_name``.
    owner = providers.Callable(claim_owner)
    #: The claims of one worker (``owner=owner(name)`` names its thread): renewed while it
    #: works, deferred with a back-off when our machinery fails.
    claim_keeper = providers.Factory(
        ClaimKeeper,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        owner=providers.Callable(claim_owner),
        lease=lease,
    )
    #: A service process's heartbeat: ``heartbeat(service=name)``.
    heartbeat = providers.Factory(
        HeartbeatRecorder,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.wall_clock,
        owner=providers.Callable(process_owner),
    )
    validate = providers.Factory(
        ValidateStrategies,
        unit_of_work=adapters.unit_of_work,
        clock=adapters.clock,
        checker=adapters.strategy_checker,
        claims=providers.Factory(
            claim_keeper,
            lease=providers.Factory(
                timedelta, minutes=config.provided.validator.claim_lease_minutes
            ),
        ),
    )
    #: The validator service's use case: it pauses while ``pipeline.queue_limits.validated``
    #: strategies wait for the backtester (back-pressure).
    validator_service = providers.Factory(
        validate, queue_limit=config.provided.pipeline.queue_limits.validated
    )
    #: Retire members below the entry score and trim the pool to its size, committed.
    maintain_pool = providers.Callable(
        pool.maintain_now, adapters.unit_of_work, pool_rules, adapters.clock
    )
    #: Set when the process is asked to stop (the runner's flag): long work checks it.
    stop_flag = providers.Singleton(threading.Event)
    backtester = providers.Factory(
        Backtester,
        uow=adapters.unit_of_work,
        market_data=adapters.market_data,
        signal_source=adapters.signal_source,
        engine=adapters.backtest_engine,
        clock=adapters.clock,
        settings=backtest_settings,
        stopping=stop_flag.provided.is_set,
    )
    #: A worker that only takes VALIDATED strategies; ``claims=claim_keeper(owner=claim_owner(name))``
    #: names its thread.
    backtest_worker = providers.Factory(
        BacktestWorker,
        unit_of_work=adapters.unit_of_work,
        backtester=backtester,
        clock=adapters.clock,
        schedule=retest_schedule,
        claims=claim_keeper,
    )
    #: The elastic worker: a due re-backtest first, else a VALIDATED strategy.
    retest_worker = providers.Factory(backtest_worker, elastic=True)
    #: The kill switch and the emergency stops (``emergency.*``): ``sixbtc halt/flatten/resume``
    #: and every executor.
    kill_switch = providers.Factory(
        KillSwitchControl,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        limits=config.provided.emergency,
    )
    #: Tells the operator what the factory did (notifications.*); no receiver: nothing to send.
    notifiers = providers.Singleton(_notifiers, config)
    notification_feed = providers.Factory(
        NotificationFeed,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        notifiers=notifiers,
        max_per_hour=config.provided.notifications.max_per_hour,
        secrets=providers.Callable(_secrets, config),
    )
    #: Trades the subaccounts of LIVE strategies on ``exchange``; strategy code runs only in the
    #: sandbox.
    executor = providers.Factory(
        Executor,
        unit_of_work=adapters.unit_of_work.provider,
        exchange=adapters.exchange,
        market_data=adapters.market_data,
        signal_source=adapters.signal_source,
        clock=adapters.clock,
        history_bars=config.provided.validator.live_history_bars,
        kill_switch=kill_switch,
        concurrency=providers.Callable(_signal_concurrency, config),
    )
    #: Deploys the best ACTIVE strategies to free subaccounts (rotator.*).
    rotator = providers.Factory(
        Rotator,
        unit_of_work=adapters.unit_of_work.provider,
        exchange=adapters.exchange,
        clock=adapters.clock,
        selection=adapters.selection,
    )
    #: Scores LIVE strategies from their trades; ``run(retire=True)`` is the monitor.
    live_review = providers.Factory(
        LiveReview,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        scoring=providers.Callable(lambda c: c.scoring_policy(), config),
        retirement=config.provided.monitor.retirement,
    )
    pipeline_pass = providers.Factory(
        PipelinePass,
        unit_of_work=adapters.unit_of_work,
        clock=adapters.clock,
        rules=pool_rules,
        generate=generate,
        validate=validate,
        backtest=retest_worker,
        selection=adapters.selection,
    )
    #: ``sixbtc research``: a pass, then the gates' rejections and the pool.
    research = providers.Factory(
        Research, unit_of_work=adapters.unit_of_work, pipeline=pipeline_pass
    )
    #: ``sixbtc strategy list/show``: listings and one strategy's record.
    strategy_reports = providers.Factory(
        StrategyReports,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        inspector=adapters.code_inspector,
    )
    #: ``sixbtc backtest``: one strategy on demand, on the factory's engine, grid and scoring.
    study = providers.Factory(
        BacktestStudy,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        markets=providers.Factory(
            StrategyMarkets,
            market_data=adapters.market_data,
            signal_source=adapters.signal_source,
            engine=adapters.backtest_engine,
            costs=providers.Callable(lambda c: c.costs(), config),
            concurrency=providers.Callable(_signal_concurrency, config),
        ),
        settings=backtest_settings,
    )
    #: ``sixbtc report``: the factory's history and standing, for figures.
    report = providers.Factory(
        ReportQuery, unit_of_work=adapters.unit_of_work.provider, clock=adapters.clock
    )
    #: ``sixbtc status``: the factory at a glance.
    status = providers.Factory(
        StatusQuery,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        wall_clock=adapters.wall_clock,
        schedule=retest_schedule,
        selection=adapters.selection,
        pool_size=config.provided.active_pool.max_size,
        queue_limits=providers.Callable(_queue_limits, config),
    )
    #: ``sixbtc web``: the dashboard's read models.
    dashboard = providers.Factory(
        DashboardQuery,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        wall_clock=adapters.wall_clock,
        status=status,
        silent_after=providers.Callable(_silent_after, config),
    )
    #: ``GET /health``: database, data freshness, services (one per process: it caches).
    health = providers.Singleton(
        HealthQuery,
        unit_of_work=adapters.unit_of_work.provider,
        clock=adapters.clock,
        wall_clock=adapters.wall_clock,
        market_data=adapters.market_data.provider,
        stale_data_minutes=config.provided.emergency.stale_data_minutes,
        silent_after=providers.Callable(_silent_after, config),
    )
    #: An operator retires a LIVE or ACTIVE strategy by hand (``sixbtc web``).
    retire_by_hand = providers.Factory(
        RetireByHand, unit_of_work=adapters.unit_of_work.provider, clock=adapters.clock
    )


def build(config: Config) -> Container:
    """A container for ``config``."""
    return Container(config=config)


def use_cases(container: Container) -> Pipeline:
    """The pipeline's use cases on the adapters of ``container``."""
    return Pipeline(adapters=container)
