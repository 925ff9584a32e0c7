"""Configuration: ``config.yaml`` overridden by environment variables, validated on load.

Every key of the spec's section 8 is here with its default. An environment variable
``SIXBTC_<SECTION>__<KEY>`` (double underscore between levels, value parsed as YAML) overrides a key,
for example ``SIXBTC_ACTIVE_POOL__MAX_SIZE=200`` or ``SIXBTC_DATABASE__URL=postgresql+psycopg://...``.
Any error names the key, the value and what was expected, before anything runs.
"""

from __future__ import annotations

import datetime
import os
import re
import types
import typing
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from sixbtc.application.backtest import BacktestSettings
from sixbtc.application.pool import PoolRules
from sixbtc.domain.backtest import Costs, ParameterGrid
from sixbtc.domain.emergency import EmergencyLimits
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.retirement import RetirementPolicy
from sixbtc.domain.robustness import RobustnessPolicy
from sixbtc.domain.scoring import ScoringBounds, ScoringPolicy, ScoringWeights
from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.timeframe import Timeframe

ENV_PREFIX = "SIXBTC_"
#: The environment variable naming the configuration file (when --config is not given).
CONFIG_ENV = "SIXBTC_CONFIG"
#: The file read when neither --config nor SIXBTC_CONFIG names one, if it exists.
DEFAULT_FILE = Path("config") / "config.yaml"
_EXPONENT_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key, the value and the expectation."""


def _check(predicate: typing.Callable[[Any], bool], expected: str):
    def validator(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if not predicate(value):
            raise ConfigError(f"{attribute.name}: {value!r}; expected {expected}")

    return validator


positive = _check(lambda v: v > 0, "a number > 0")
non_negative = _check(lambda v: v >= 0, "a number >= 0")
at_least_one = _check(lambda v: v >= 1, "an integer >= 1")
score_range = _check(lambda v: 0 <= v <= 100, "a score between 0 and 100")
fraction = _check(lambda v: 0 <= v <= 1, "a fraction between 0 and 1")
non_empty = _check(lambda v: len(v) > 0, "a non-empty list")


_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg")
_EXPECTED_URL = "expected sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DATABASE"


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def database_url_problem(url: str) -> str | None:
    """What is wrong with a ``database.url`` before any connection (None: nothing): a scheme we
    do not speak, a PostgreSQL URL that cannot be parsed or names no database, a SQLite file in a
    folder that does not exist. Whatever it quotes of the URL has its password hidden."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return _EXPECTED_URL
    if scheme in ("postgres", "postgres+psycopg"):
        return (
            "the scheme postgres:// is not accepted (SQLAlchemy dropped it); write "
            f"{_hide_password('postgresql+psycopg://' + rest)}"
        )
    backend, _, driver = scheme.partition("+")
    if backend == "postgresql" and scheme not in _POSTGRES_SCHEMES:
        return (
            f"the PostgreSQL driver {driver!r} is not the one sixbtc uses (psycopg 3); write "
            f"{_hide_password('postgresql+psycopg://' + rest)}"
        )
    if scheme in _SQLITE_SCHEMES:
        return _sqlite_problem(rest)
    if scheme not in _POSTGRES_SCHEMES:
        return f"the database {scheme!r} is not supported; {_EXPECTED_URL}"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        return f"cannot be parsed ({error}); {_EXPECTED_URL}"
    if not parts.path.strip("/"):
        return f"no database name after the host; {_EXPECTED_URL}"
    return None


def _sqlite_problem(rest: str) -> str | None:
    """What is wrong with the part of a SQLite URL after ``sqlite://`` (None: nothing)."""
    path = rest[1:].split("?", 1)[0] if rest.startswith("/") else rest
    if path in ("", ":memory:"):
        return None
    file = Path(path).resolve()  # as SQLite will open it: relative to here, no ~ expansion
    if file.is_dir():
        return f"{file} is a folder; expected the path of a SQLite file (new or existing)"
    if not file.parent.is_dir():
        hint = " (~ is not expanded; write the full path)" if path.startswith("~") else ""
        return (
            f"the folder {file.parent} of the SQLite file does not exist{hint}; create it or fix "
            "the path"
        )
    return None


def _default(cls: type, name: str) -> Any:
    """The default of ``cls.name``: each default lives once, in the value object that uses it."""
    default = attrs.fields_dict(cls)[name].default
    return default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]


def _is_iso_date_or_empty(value: str) -> bool:
    try:
        return value == "" or bool(datetime.date.fromisoformat(value))
    except ValueError:
        return False


def _is_utc_time_or_empty(value: str) -> bool:
    try:
        return value == "" or datetime.datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


@attrs.frozen
class ActivePoolConfig:
    max_size: int = attrs.field(default=_default(PoolRules, "max_size"), validator=at_least_one)
    min_score_entry: float = attrs.field(
        default=_default(PoolRules, "min_score_entry"), validator=score_range
    )


@attrs.frozen
class ThreadsConfig:
    validated: int = attrs.field(default=4, validator=non_negative)
    retest: int = attrs.field(default=1, validator=non_negative)


@attrs.frozen
class GridConfig:
    stop_loss: tuple[float, ...] = attrs.field(
        default=_default(ParameterGrid, "stop_loss"), validator=non_empty
    )
    take_profit: tuple[float, ...] = attrs.field(
        default=_default(ParameterGrid, "take_profit"), validator=non_empty
    )
    leverage: tuple[float, ...] = attrs.field(
        default=_default(ParameterGrid, "leverage"), validator=non_empty
    )
    max_hold_bars: tuple[int, ...] = attrs.field(
        default=_default(ParameterGrid, "max_hold_bars"), validator=non_empty
    )
    stop_unit: str = "percent"  # or "atr": stop_loss and take_profit as ATR multiples
    atr_period: int = attrs.field(
        default=_default(ParameterGrid, "atr_period"), validator=at_least_one
    )


@attrs.frozen
class BacktesterConfig:
    retest_interval_days: float = attrs.field(
        default=_default(RetestSchedule, "interval") / datetime.timedelta(days=1),
        validator=positive,
    )
    threads: ThreadsConfig = ThreadsConfig()
    workers: int = attrs.field(default=0, validator=non_negative)  # 0: every core
    training_days: int = attrs.field(
        default=_default(BacktestSettings, "training_days"), validator=at_least_one
    )
    holdout_days: int = attrs.field(
        default=_default(BacktestSettings, "holdout_days"), validator=at_least_one
    )
    #: The UTC date at whose 00:00 the backtest windows end (for history that ends earlier, such
    #: as imported files with `market_data.source: cache`); empty: now.
    window_end: str = attrs.field(
        default="",
        validator=_check(_is_iso_date_or_empty, "an ISO date (2025-01-01) or empty for now"),
    )
    timeframes: tuple[str, ...] = attrs.field(default=("5m", "15m", "30m", "1h", "4h", "1d"))
    coins: int = attrs.field(default=_default(BacktestSettings, "coins"), validator=at_least_one)
    claim_lease_minutes: float = attrs.field(default=5.0, validator=positive)
    costs: Costs = attrs.field(factory=Costs)
    grid: GridConfig = GridConfig()

    @timeframes.validator
    def _known(self, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
        if not value:
            accepted = ", ".join(t.value for t in Timeframe)
            raise ConfigError(f"{attribute.name}: []; expected a non-empty list of {accepted}")
        for label in value:
            try:
                Timeframe.parse(label)
            except ValueError as error:
                raise ConfigError(f"{attribute.name}: {error}") from None


@attrs.frozen
class SelectionConfig:
    max_per_type: int = attrs.field(
        default=_default(LiveSelection, "max_per_type"), validator=at_least_one
    )
    max_per_timeframe: int = attrs.field(
        default=_default(LiveSelection, "max_per_timeframe"), validator=at_least_one
    )


@attrs.frozen
class RotatorConfig:
    check_interval_minutes: float = attrs.field(default=15.0, validator=positive)
    max_live_strategies: int = attrs.field(
        default=_default(LiveSelection, "max_live"), validator=non_negative
    )
    min_score_live: float = attrs.field(
        default=_default(LiveSelection, "min_score"), validator=score_range
    )
    selection: SelectionConfig = SelectionConfig()


@attrs.frozen
class MonitorConfig:
    check_interval_minutes: float = attrs.field(default=15.0, validator=positive)
    retirement: RetirementPolicy = attrs.field(factory=RetirementPolicy)


@attrs.frozen
class QueueLimitsConfig:
    generated: int = attrs.field(default=500, validator=at_least_one)
    validated: int = attrs.field(default=50, validator=at_least_one)


@attrs.frozen
class PipelineConfig:
    queue_limits: QueueLimitsConfig = QueueLimitsConfig()


@attrs.frozen
class GeneratorConfig:
    #: Seed of the strategy sources; 0 draws a new one in every process, so that each run
    #: proposes new strategies. A fixed seed reproduces the same proposals (already stored ones are
    #: skipped as duplicates).
    seed: int = attrs.field(default=0, validator=non_negative)


@attrs.frozen
class ValidatorConfig:
    live_history_bars: int = attrs.field(default=5000, validator=at_least_one)
    claim_lease_minutes: float = attrs.field(default=5.0, validator=positive)


@attrs.frozen
class SandboxConfig:
    """Limits of the processes that run strategy code."""

    cpu_seconds: int = attrs.field(default=10, validator=at_least_one)  # CPU per signal request
    memory_mb: int = attrs.field(
        default=1024, validator=_check(lambda v: v >= 64, "an integer >= 64 (MiB)")
    )
    workers: int = attrs.field(default=0, validator=non_negative)  # 0: one per core


def _default_min_trades() -> dict[str, int]:
    return {"5m": 50, "15m": 40, "30m": 30, "1h": 20, "4h": 10, "1d": 5}


@attrs.frozen
class ScoringConfig:
    weights: ScoringWeights = attrs.field(factory=ScoringWeights)
    bounds: ScoringBounds = attrs.field(factory=ScoringBounds)
    training_weight: float = attrs.field(
        default=_default(ScoringPolicy, "training_weight"), validator=fraction
    )
    holdout_weight: float = attrs.field(
        default=_default(ScoringPolicy, "holdout_weight"), validator=fraction
    )
    min_trades: dict[str, int] = attrs.field(factory=_default_min_trades)

    @min_trades.validator
    def _counts(self, attribute: attrs.Attribute, value: dict[str, int]) -> None:
        for label, count in value.items():
            if count < 0:
                raise ConfigError(f"{attribute.name}.{label}: {count}; expected a count >= 0")


@attrs.frozen
class DatabaseConfig:
    url: str = attrs.field(default="sqlite:///sixbtc.db")

    @url.validator
    def _known(self, attribute: attrs.Attribute, value: str) -> None:
        problem = database_url_problem(value)
        if problem:
            raise ConfigError(f"{attribute.name}: {_hide_password(value)!r}; {problem}")


@attrs.frozen
class MarketDataConfig:
    source: str = attrs.field(
        default="synthetic",
        validator=_check(
            lambda v: v in ("synthetic", "ccxt", "cache"), "'synthetic', 'ccxt' or 'cache'"
        ),
    )
    seed: int = 42
    synthetic_mode: str = attrs.field(
        default="planted_edge",
        validator=_check(
            lambda v: v in ("realistic", "null", "momentum", "random_walk", "planted_edge"),
            "'realistic', 'null', 'momentum', 'random_walk' or 'planted_edge'",
        ),
    )
    #: The UTC date at whose 00:00 the synthetic market ends; empty: today (the data then move
    #: by a day every day). Pin it, with a clock at or after it, to replay a run exactly.
    synthetic_end: str = attrs.field(
        default="",
        validator=_check(_is_iso_date_or_empty, "an ISO date (2025-01-01) or empty for today"),
    )
    exchange: str = "binanceusdm"
    cache_dir: str = "data/cache"
    symbols: tuple[str, ...] = ()


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@attrs.frozen
class ExchangeConfig:
    """The venue: ``paper`` (simulated) or ``live`` (Hyperliquid through ccxt). Live keys are
    never configured here: they come from the environment or a keys file (``keys_file``)."""

    #: Keys refused in the file, whatever their value: secrets have no place in it.
    SECRETS: typing.ClassVar[tuple[str, ...]] = ("private_key", "secret", "api_key", "apikey")

    mode: str = attrs.field(
        default="paper", validator=_check(lambda v: v in ("paper", "live"), "'paper' or 'live'")
    )
    name: str = "hyperliquid"
    initial_capital: float = attrs.field(default=1000.0, validator=positive)
    #: Live: the subaccount addresses, subaccount i being the i-th (0x and 40 hex digits).
    subaccounts: tuple[str, ...] = attrs.field(
        default=(),
        validator=_check(
            lambda v: all(_ADDRESS.fullmatch(a) for a in v), "addresses of 0x and 40 hex digits"
        ),
    )
    #: Live: a YAML/JSON file with wallet_address and private_key, outside the repository and
    #: readable by its owner only (empty: the environment's SIXBTC_EXCHANGE_* variables).
    keys_file: str = ""
    #: Live: the API's base URL (empty: Hyperliquid's own, or its testnet's).
    api_url: str = ""
    testnet: bool = False
    #: Live: how far from the reference price a market order may fill (a fraction).
    slippage: float = attrs.field(default=0.05, validator=fraction)
    timeout_seconds: float = attrs.field(default=10.0, validator=positive)


@attrs.frozen
class NotificationsConfig:
    #: Each notification is POSTed here as JSON (empty: no webhook). It may hold a token: prefer
    #: SIXBTC_NOTIFICATIONS__WEBHOOK_URL in the environment to the file.
    webhook_url: str = ""
    #: The Telegram chat to send to (empty: no Telegram); the bot's token comes from
    #: SIXBTC_TELEGRAM_TOKEN, never from this file.
    telegram_chat_id: str = ""
    max_per_hour: int = attrs.field(default=20, validator=positive)


@attrs.frozen
class ClockConfig:
    #: Market seconds per wall second: 1 is the wall clock; more runs a simulated market fast
    #: (demos and tests on the paper exchange; intervals of services are market time).
    speed: float = attrs.field(default=1.0, validator=positive)
    #: The wall time (ISO with its UTC offset) at which market time equals it; the synthetic
    #: market's history then ends at 00:00 of its day. Give every process of one factory the same
    #: origin so that they agree on the time. Empty: when the process starts.
    origin: str = attrs.field(
        default="",
        validator=_check(
            _is_utc_time_or_empty,
            "an ISO time with its offset (2026-01-01T00:00:00+00:00) or empty",
        ),
    )

    def origin_time(self) -> datetime.datetime | None:
        """The origin as a time, or None when not set."""
        return datetime.datetime.fromisoformat(self.origin) if self.origin else None


@attrs.frozen
class Config:
    """The whole configuration; see ``config/config.yaml`` for every key and its meaning."""

    active_pool: ActivePoolConfig = ActivePoolConfig()
    backtester: BacktesterConfig = BacktesterConfig()
    rotator: RotatorConfig = RotatorConfig()
    monitor: MonitorConfig = MonitorConfig()
    pipeline: PipelineConfig = PipelineConfig()
    generator: GeneratorConfig = GeneratorConfig()
    validator: ValidatorConfig = ValidatorConfig()
    sandbox: SandboxConfig = SandboxConfig()
    robustness: RobustnessPolicy = attrs.field(factory=RobustnessPolicy)
    scoring: ScoringConfig = ScoringConfig()
    database: DatabaseConfig = DatabaseConfig()
    market_data: MarketDataConfig = MarketDataConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    emergency: EmergencyLimits = attrs.field(factory=EmergencyLimits)
    notifications: NotificationsConfig = NotificationsConfig()
    clock: ClockConfig = ClockConfig()

    def __attrs_post_init__(self) -> None:
        if self.clock.speed != 1 and self.exchange.mode == "live":
            raise ConfigError(
                f"clock.speed: {self.clock.speed:g}; expected 1 with exchange.mode 'live' (a "
                "simulated clock is for the paper exchange)"
            )
        if self.rotator.min_score_live < self.active_pool.min_score_entry:
            raise ConfigError(
                f"rotator.min_score_live: {self.rotator.min_score_live}; expected >= "
                f"active_pool.min_score_entry ({self.active_pool.min_score_entry})"
            )
        for key in self.scoring.min_trades:
            try:
                Timeframe.parse(key)
            except ValueError as error:
                raise ConfigError(f"scoring.min_trades: {error}") from None
        try:
            self.scoring_policy()
        except ValueError as error:
            raise ConfigError(f"scoring.{error}") from None
        try:
            self.parameter_grid().combinations()
        except ValueError as error:
            raise ConfigError(f"backtester.grid: {error}") from None

    def scoring_policy(self) -> ScoringPolicy:
        s = self.scoring
        return ScoringPolicy(
            weights=s.weights,
            bounds=s.bounds,
            training_weight=s.training_weight,
            holdout_weight=s.holdout_weight,
            min_trades={Timeframe.parse(k): v for k, v in s.min_trades.items()},
        )

    def robustness_policy(self) -> RobustnessPolicy:
        return self.robustness

    def retirement_policy(self) -> RetirementPolicy:
        return self.monitor.retirement

    def live_selection(self) -> LiveSelection:
        r = self.rotator
        return LiveSelection(
            max_live=r.max_live_strategies,
            min_score=r.min_score_live,
            max_per_type=r.selection.max_per_type,
            max_per_timeframe=r.selection.max_per_timeframe,
        )

    def parameter_grid(self) -> ParameterGrid:
        return ParameterGrid(**attrs.asdict(self.backtester.grid))

    def costs(self) -> Costs:
        return self.backtester.costs

    def timeframes(self) -> list[Timeframe]:
        return [Timeframe.parse(label) for label in self.backtester.timeframes]


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def _structure(kind: Any, value: Any, path: str) -> Any:
    """Convert a YAML value to ``kind``, or raise ConfigError naming ``path``."""
    if attrs.has(kind):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: {value!r}; expected a mapping of keys")
        return _build(kind, value, path)
    origin = typing.get_origin(kind)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: {value!r}; expected a list")
        (item,) = [a for a in typing.get_args(kind) if a is not Ellipsis]
        return tuple(_structure(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: {value!r}; expected a mapping")
        key_kind, value_kind = typing.get_args(kind)
        return {
            _structure(key_kind, k, path): _structure(value_kind, v, f"{path}.{k}")
            for k, v in value.items()
        }
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"{path}: unions are not supported in the configuration schema")
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, str) and _EXPONENT_FLOAT.fullmatch(value):
        return float(value)  # YAML 1.1 reads 1e-3 (no dot) as text
    if kind is bool and isinstance(value, bool):
        return value
    if kind in (int, str) and type(value) is kind:
        return value
    if kind is str and type(value) in (datetime.date, datetime.datetime):
        return value.isoformat()  # YAML reads an unquoted 2025-01-01 as a date (with a time too)
    if kind is str and type(value) is int:
        return str(value)  # an unquoted number where text is wanted (a Telegram chat id)
    raise ConfigError(f"{path}: {value!r} ({type(value).__name__}); expected {_type_name(kind)}")


def _build(cls: type, data: Mapping[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in attrs.fields(cls)}
    secrets = sorted(set(data) & set(getattr(cls, "SECRETS", ())))
    if secrets:
        raise ConfigError(
            f"{path}.{secrets[0]}: a secret in the configuration; give the exchange's keys in the "
            "environment (SIXBTC_EXCHANGE_WALLET_ADDRESS, SIXBTC_EXCHANGE_PRIVATE_KEY) or in a "
            "keys file (exchange.keys_file or SIXBTC_EXCHANGE_KEYS_FILE), never in this file"
        )
    unknown = sorted(set(data) - fields)
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(
            f"{where}{unknown[0]}: unknown key; expected one of {', '.join(sorted(fields))}"
        )
    kwargs = {
        name: _structure(hints[name], value, f"{path}.{name}" if path else name)
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except (ConfigError, ValueError) as error:  # a value object refusing a value names its field
        raise ConfigError(_within(path, str(error), fields)) from None


def _within(path: str, message: str, fields: set[str]) -> str:
    """``message`` of a section at ``path``: ``path.field: ...`` when it names a field."""
    if not path:
        return message
    named = message.split(":", 1)[0].split(".", 1)[0] in fields
    return f"{path}.{message}" if named else f"{path}: {message}"


def _set_path(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        node = tree.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(keys)}: cannot override inside a non-mapping")
        tree = node
    tree[keys[-1]] = value


def environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """The nested overrides that ``SIXBTC_A__B=value`` variables describe."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        keys = name[len(ENV_PREFIX) :].lower().split("__")
        try:
            value = yaml.safe_load(raw)
        except (yaml.YAMLError, ValueError):  # ValueError: a date-like value such as 2025-02-30
            value = raw
        _set_path(tree, keys, value)
    return tree


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def from_mapping(data: Mapping[str, Any]) -> Config:
    """Build and validate a Config from nested plain data (as YAML gives it)."""
    return _build(Config, data, "")


def discover(given: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The configuration file a command reads: ``given`` (--config), else ``$SIXBTC_CONFIG``,
    else ``./config/config.yaml`` when it exists; None: the built-in defaults."""
    if given:
        return given
    named = (os.environ if environ is None else environ).get(CONFIG_ENV)
    if named:
        return named
    return str(DEFAULT_FILE) if DEFAULT_FILE.is_file() else None


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load ``path`` (defaults only when None), apply environment overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"config file {file}: not found")
        try:
            loaded = yaml.safe_load(file.read_text()) or {}
        except (yaml.YAMLError, ValueError) as error:  # ValueError: a bad date (2025-02-30)
            raise ConfigError(f"config file {file}: not valid YAML ({error})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {file}: expected a mapping at the top level")
        data = loaded
    overrides = environment_overrides(os.environ if environ is None else environ)
    return from_mapping(_merge(data, overrides))
