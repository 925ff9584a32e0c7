"""The services of the pipeline: one short ``main()`` per loop, on a shared :class:`ServiceRunner`.

``sixbtc-generator``, ``-validator``, ``-backtester``, ``-executor``, ``-scorer``, ``-rotator`` and
``-monitor`` (also ``sixbtc service NAME``) run until SIGTERM or SIGINT on the database of ``database.url``, which
they never migrate: they refuse to start unless it is at the latest revision (``sixbtc db
upgrade``). Each tick of a loop is one unit of work of a use case; the runner owns the schedule,
the signals and the failed ticks. A new service is a function that returns its loops, a
:class:`Service` and a three-line ``main()``.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from sixbtc import config as configuration
from sixbtc.application.backtest_worker import BacktestWorker
from sixbtc.application.claims import ClaimKeeper
from sixbtc.application.pipeline import describe
from sixbtc.config import Config, ConfigError
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.console import bounded, configure_logging, guarded
from sixbtc.entrypoints.runner import Loop, ServiceRunner, Tick

if TYPE_CHECKING:
    from sixbtc.containers import Pipeline

log = logging.getLogger(__name__)

#: Strategies the generator adds and the validator claims per tick.
GENERATOR_BATCH = 50
VALIDATOR_BATCH = 10
#: Seconds between two maintenances of the ACTIVE pool by the backtester service.
POOL_MAINTENANCE_SECONDS = 15 * 60


@attrs.frozen
class Service:
    """A service: its name, a one-line summary and what its ``--help`` says, its idle interval
    (seconds) and its loops."""

    name: str
    summary: str
    description: str
    interval: float
    loops: Callable[[Pipeline, Config], list[Loop]]

    def timed_loops(self, pipeline: Pipeline, config: Config) -> list[Loop]:
        """Its loops, their intervals (market time) turned into wall seconds for ``clock.speed``."""
        speed = config.clock.speed
        return [
            attrs.evolve(loop, interval=loop.interval / speed) if loop.interval else loop
            for loop in self.loops(pipeline, config)
        ]


def _generator_loops(pipeline: Pipeline, config: Config) -> list[Loop]:
    generate = pipeline.generate()

    def tick() -> bool:
        added = generate.run(batch=GENERATOR_BATCH)
        if added:
            log.info("generator: added %d strategies", added)
        return added > 0

    return [Loop("generator", tick)]


def _validator_loops(pipeline: Pipeline, config: Config) -> list[Loop]:
    validate = pipeline.validator_service()

    def tick() -> bool:
        outcome = validate.run(limit=VALIDATOR_BATCH)
        if any(outcome.values()):
            log.info(
                "validator: %d validated, %d retired", outcome["validated"], outcome["retired"]
            )
        return any(outcome.values())

    return [Loop("validator", tick)]


def _backtest_tick(name: str, worker: BacktestWorker) -> Tick:
    done = itertools.count(1)

    def tick() -> bool:
        outcome = worker.tick()
        if outcome is not None:
            log.info("%s: %s", name, describe(outcome, next(done)))
        return outcome is not None

    return tick


def _maintain_pool(pipeline: Pipeline) -> bool:
    """Retire ACTIVE members below the entry score and trim the pool to its size."""
    decisions = pipeline.maintain_pool()
    if decisions:
        log.info("pool maintenance retired %d strategies", len(decisions))
    return bool(decisions)


def _backtester_loops(pipeline: Pipeline, config: Config) -> list[Loop]:
    threads = config.backtester.threads
    if threads.validated + threads.retest == 0:
        raise ConfigError(
            "backtester.threads: validated 0 and retest 0; expected at least one worker thread"
        )
    _maintain_pool(pipeline)  # before any worker admits: trims a pool left over capacity
    names = [f"backtester-{n}" for n in range(1, threads.validated + 1)]
    retest_names = [f"retest-{n}" for n in range(1, threads.retest + 1)]

    def claims(name: str) -> ClaimKeeper:
        return pipeline.claim_keeper(owner=pipeline.owner(name))

    workers = [pipeline.backtest_worker(claims=claims(name)) for name in names]
    workers += [pipeline.retest_worker(claims=claims(name)) for name in retest_names]
    loops = [
        Loop(name, _backtest_tick(name, worker))
        for name, worker in zip(names + retest_names, workers, strict=True)
    ]
    maintain = Loop(
        "pool", lambda: _maintain_pool(pipeline), POOL_MAINTENANCE_SECONDS, delayed=True
    )
    return [*loops, maintain]


def _executor_loops(pipeline: Pipeline, config: Config) -> list[Loop]:
    executor = pipeline.executor()

    def tick() -> bool:
        done = executor.tick()
        if done.orders or done.fills or done.stopped or done.freed:
            log.info(
                "executor: %d subaccounts, %d orders sent, %d fills recorded%s%s",
                done.handled,
                done.orders,
                done.fills,
                f", stopped {', '.join(done.stopped)}" if done.stopped else "",
                f", freed subaccounts {done.freed}" if done.freed else "",
            )
        return bool(done.handled)

    return [Loop("executor", tick)]


def _rotator_loops(pipeline: Pipeline, config: Config) -> list[Loop]:
    rotator = pipeline.rotator()

    def tick() -> bool:
        for d in rotator.run():
            log.info("rotator: %s LIVE on subaccount %d with %.2f", d.name, d.subaccount, d.capital)
        return False  # the next check is rotator.check_interval_minutes away

    return [Loop("rotator", tick, config.rotator.check_interval_minutes * 60)]


def _live_review_loops(name: str, retire: bool) -> Callable[[Pipeline, Config], list[Loop]]:
    def loops(pipeline: Pipeline, config: Config) -> list[Loop]:
        review = pipeline.live_review(service=name)

        def tick() -> bool:
            verdicts = review.run(retire=retire)
            retired = [v for v in verdicts if v.retired]
            if verdicts:
                log.info(
                    "%s: %d LIVE strategies scored%s",
                    name,
                    len(verdicts),
                    "".join(f"; retired {v.name} ({v.retired})" for v in retired),
                )
            return False

        return [Loop(name, tick, config.monitor.check_interval_minutes * 60)]

    return loops


def _notifier_loops(pipeline: Pipeline, config: Config) -> list[Loop]:
    """The notifier's loop; none when no receiver is configured (``sixbtc run`` then has none,
    ``sixbtc service notifier`` refuses to start)."""
    if not pipeline.notifiers():
        return []
    feed = pipeline.notification_feed()

    def tick() -> bool:
        sent = feed.tick()
        if sent:
            log.info("notifier: %d notifications sent", sent)
        return False  # the next look is an interval away

    return [Loop("notifier", tick)]


GENERATOR = Service(
    "generator",
    "fill the GENERATED queue with new strategies",
    "Fill the GENERATED queue with new strategies (catalogue templates, then children of ACTIVE "
    "strategies), up to 50 per tick; pause while pipeline.queue_limits.generated strategies wait "
    "for the validator.",
    30.0,
    _generator_loops,
)
VALIDATOR = Service(
    "validator",
    "validate GENERATED strategies (VALIDATED or RETIRED)",
    "Check GENERATED strategies (syntax, safety, lookahead, shuffle and warm-up tests in the "
    "sandbox): each becomes VALIDATED or RETIRED with the failing check as its reason. Pauses "
    "while pipeline.queue_limits.validated strategies wait for the backtester (back-pressure).",
    10.0,
    _validator_loops,
)
BACKTESTER = Service(
    "backtester",
    "backtest and re-backtest strategies into the ACTIVE pool",
    "Backtest VALIDATED strategies and re-backtest ACTIVE ones that are due, then let the pool "
    "admit, keep or retire them: backtester.threads.validated worker threads take VALIDATED "
    "strategies, backtester.threads.retest elastic ones take a due re-backtest first. Maintains "
    f"the ACTIVE pool at start and every {POOL_MAINTENANCE_SECONDS // 60} minutes.",
    10.0,
    _backtester_loops,
)
EXECUTOR = Service(
    "executor",
    "trade LIVE strategies on their subaccounts (exchange.mode)",
    "On each closed candle of a LIVE strategy's timeframe: record the exchange's fills and the "
    "trades they open and close, compute the strategy's signals in the sandbox on the last "
    "validator.live_history_bars candles and place the orders they ask for on its subaccount, "
    "each recorded with its client id before it is sent (a restart never doubles one). A "
    "strategy whose code fails is retired and its positions closed; the subaccount of a "
    "strategy no longer LIVE is closed, its cash moved back and freed. Obeys the kill switch "
    "(sixbtc halt, flatten, resume) and the emergency stops (emergency.*) at every pass; "
    "reconciles each subaccount with the exchange at every candle and sends no entry on one "
    "that does not match. exchange.mode paper (the default) fills on the candles by the "
    "backtest's rules.",
    1.0,
    _executor_loops,
)
SCORER = Service(
    "scorer",
    "recompute the live score of LIVE strategies from their trades",
    "Every monitor.check_interval_minutes: each LIVE strategy's live metrics from its trades and "
    "its live score (the backtest's formula, degradation against its backtest's Sharpe), stored "
    "as score_live. The backtest score stays the backtester's.",
    60.0,
    _live_review_loops("scorer", retire=False),
)
ROTATOR = Service(
    "rotator",
    "deploy the best ACTIVE strategies to free LIVE slots",
    "Every rotator.check_interval_minutes: free slots = rotator.max_live_strategies minus LIVE; "
    "the best ACTIVE strategies scoring at least rotator.min_score_live, within "
    "rotator.selection.max_per_type and max_per_timeframe counted with LIVE, each funded on a "
    "free subaccount with an even share of the main account, then ACTIVE -> LIVE.",
    15 * 60.0,
    _rotator_loops,
)
MONITOR = Service(
    "monitor",
    "score LIVE strategies and retire those that degrade",
    "Every monitor.check_interval_minutes: score each LIVE strategy from its trades and retire it "
    "(LIVE -> RETIRED with the reason and figures) when monitor.retirement says so: live score "
    "below min_score or degradation above max_degradation after min_trades closed trades, or a "
    "drawdown on its subaccount above max_drawdown at any count. The executor then closes its "
    "positions and frees the subaccount; the rotator refills the slot.",
    15 * 60.0,
    _live_review_loops("monitor", retire=True),
)
NOTIFIER = Service(
    "notifier",
    "send notifications (webhook, Telegram) of what the factory does",
    "Every interval, from the database: strategies moved to LIVE and out of it, fills, halts and "
    "emergency stops set and lifted, stale data, services' new errors, and after 00:00 UTC a "
    "digest of the day; at most notifications.max_per_hour messages per topic, the rest counted "
    "in the next. Receivers: notifications.webhook_url (JSON POST) and "
    "notifications.telegram_chat_id with the bot token in SIXBTC_TELEGRAM_TOKEN. Nothing that "
    "happened before it started is sent; no secret is ever in a message.",
    30.0,
    _notifier_loops,
)
SERVICES = (GENERATOR, VALIDATOR, BACKTESTER, EXECUTOR, SCORER, ROTATOR, MONITOR, NOTIFIER)


def add_arguments(parser: argparse.ArgumentParser, service: Service) -> None:
    """The options every service takes: ``--once`` and ``--interval``."""
    parser.add_argument(
        "--once",
        action="store_true",
        help="run one tick of each loop and exit (for cron and tests)",
    )
    parser.add_argument(
        "--interval",
        type=bounded(float, 0, strict=True, unit="seconds"),
        default=service.interval,
        metavar="SECONDS",
        help="how long to wait after a tick that found nothing to do; a tick that did work is "
        f"followed at once by the next (default: {service.interval:g})",
    )


def serve(service: Service, config_path: str | None, *, once: bool, interval: float) -> int:
    """Run ``service`` on the configuration at ``config_path`` until a signal (or one tick)."""
    loaded = configuration.load(config_path)
    container = wiring.container(loaded)
    try:
        refused = container.schema().outdated()
        if refused:
            print(f"sixbtc {service.name}: {refused}", file=sys.stderr)
            return 1
        pipeline = wiring.use_cases(container)
        loops = service.timed_loops(pipeline, loaded)
        if not loops:
            raise ConfigError(
                f"{service.name}: nothing to do with this configuration; `sixbtc service "
                f"{service.name} --help` says what it needs"
            )
        heartbeat = pipeline.heartbeat(service=service.name)
        runner = ServiceRunner(
            service.name,
            interval=interval,
            on_tick=heartbeat.ticked,
            stop_flag=pipeline.stop_flag(),
        )
        failed = runner.run(loops, once=once)
        heartbeat.stopped()
    finally:
        container.shutdown_resources()
    return 1 if once and failed else 0


def main(service: Service, argv: Sequence[str] | None = None) -> int:
    """The ``sixbtc-<service>`` command."""
    parser = argparse.ArgumentParser(prog=f"sixbtc-{service.name}", description=service.description)
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="configuration file (YAML); default: $SIXBTC_CONFIG, else ./config/config.yaml when "
        "present, else the built-in values. SIXBTC_<SECTION>__<KEY> environment variables "
        "override it",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    add_arguments(parser, service)
    args = parser.parse_args(argv)
    args.config = configuration.discover(args.config)
    configure_logging(args.verbose)
    return guarded(
        lambda a: serve(service, a.config, once=a.once, interval=a.interval),
        args,
        f"sixbtc-{service.name}",
    )


def generator(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-generator``: fill the GENERATED queue."""
    return main(GENERATOR, argv)


def validator(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-validator``: decide GENERATED strategies."""
    return main(VALIDATOR, argv)


def backtester(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-backtester``: backtest, re-backtest and rank into the ACTIVE pool."""
    return main(BACKTESTER, argv)


def executor(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-executor``: trade LIVE strategies."""
    return main(EXECUTOR, argv)


def scorer(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-scorer``: live scores of LIVE strategies."""
    return main(SCORER, argv)


def rotator(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-rotator``: deploy ACTIVE strategies to LIVE."""
    return main(ROTATOR, argv)


def monitor(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-monitor``: retire LIVE strategies that degrade."""
    return main(MONITOR, argv)


def notifier(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-notifier``: send notifications."""
    return main(NOTIFIER, argv)
