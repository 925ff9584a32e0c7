from pathlib import Path

import pytest
import yaml

from sixbtc import config
from sixbtc.config import Config, ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def test_shipped_file_holds_the_spec_defaults():
    loaded = config.load(SHIPPED, environ={})
    assert loaded == Config()
    assert loaded.active_pool.max_size == 300
    assert loaded.active_pool.min_score_entry == 15
    assert loaded.backtester.retest_interval_days == 3
    assert (loaded.backtester.threads.validated, loaded.backtester.threads.retest) == (4, 1)
    assert loaded.rotator.max_live_strategies == 10 and loaded.rotator.min_score_live == 50
    assert loaded.rotator.selection.max_per_type == 3
    assert loaded.monitor.retirement.max_drawdown == 0.30
    assert loaded.pipeline.queue_limits.generated == 500
    assert loaded.validator.live_history_bars == 5000
    assert loaded.robustness.min_deflated_sharpe == 0.95
    assert len(loaded.parameter_grid()) == 300


SPEC_SECTION_8 = {
    "active_pool.max_size": 300,
    "active_pool.min_score_entry": 15,
    "backtester.retest_interval_days": 3,
    "backtester.threads.validated": 4,
    "backtester.threads.retest": 1,
    "rotator.check_interval_minutes": 15,
    "rotator.max_live_strategies": 10,
    "rotator.min_score_live": 50,
    "rotator.selection.max_per_type": 3,
    "rotator.selection.max_per_timeframe": 3,
    "monitor.check_interval_minutes": 15,
    "monitor.retirement.min_score": 30,
    "monitor.retirement.max_degradation": 0.50,
    "monitor.retirement.max_drawdown": 0.30,
    "monitor.retirement.min_trades": 10,
    "pipeline.queue_limits.generated": 500,
    "pipeline.queue_limits.validated": 50,
    "validator.live_history_bars": 5000,
    "robustness.min_deflated_sharpe": 0.95,
    "robustness.max_permutation_p": 0.05,
    "robustness.min_trades_training": 30,
    "robustness.min_trades_holdout": 5,
}


@pytest.mark.parametrize(("key", "value"), sorted(SPEC_SECTION_8.items()))
def test_every_spec_key_is_written_in_the_shipped_file_with_its_default(key, value):
    written = yaml.safe_load(SHIPPED.read_text())
    loaded = config.load(SHIPPED, environ={})
    for part in key.split("."):
        written, loaded = written[part], getattr(loaded, part)
    assert written == value and loaded == value


def test_atr_grid_takes_stop_multiples_beyond_the_percent_liquidation_bound():
    env = {"SIXBTC_BACKTESTER__GRID__STOP_UNIT": "atr", "SIXBTC_BACKTESTER__GRID__STOP_LOSS": "[2]"}
    grid = config.load(SHIPPED, environ=env).parameter_grid()
    assert {(p.stop_unit, p.atr_period, p.stop_loss) for p in grid.combinations()} == {
        ("atr", 14, 2.0)
    }


def test_environment_overrides_the_file():
    env = {"SIXBTC_ACTIVE_POOL__MAX_SIZE": "200", "SIXBTC_DATABASE__URL": "sqlite:///x.db"}
    loaded = config.load(SHIPPED, environ=env)
    assert loaded.active_pool.max_size == 200
    assert loaded.database.url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SIXBTC_ACTIVE_POOL__MAX_SIZE": "-1"},
            "active_pool.max_size: -1; expected an integer >= 1",
        ),
        (
            {"SIXBTC_ACTIVE_POOL__MAX_SIZE": "lots"},
            "active_pool.max_size: 'lots' (str); expected int",
        ),
        ({"SIXBTC_BACKTESTER__THREADS__RETEST": "-2"}, "backtester.threads.retest: -2"),
        (
            {"SIXBTC_ROTATOR__MIN_SCORE_LIVE": "10"},
            "rotator.min_score_live: 10.0; expected >= active_pool.min_score_entry",
        ),
        (
            {"SIXBTC_MONITOR__RETIREMENT__MAX_DRAWDOWN": "1.5"},
            "monitor.retirement.max_drawdown: 1.5",
        ),
        ({"SIXBTC_SCORING__WEIGHTS__SHARPE": "0.5"}, "scoring.weights: they sum to"),
        (
            {"SIXBTC_BACKTESTER__TIMEFRAMES": "[5m, 2h]"},
            "backtester.timeframes: unknown timeframe '2h'",
        ),
        ({"SIXBTC_BACKTESTER__GRID__STOP_LOSS": "[0.4]"}, "backtester.grid: stop_loss * leverage"),
        (
            {"SIXBTC_BACKTESTER__GRID__STOP_UNIT": "pips"},
            "backtester.grid: stop_unit: 'pips'; expected one of percent, atr",
        ),
        ({"SIXBTC_MARKET_DATA__SOURCE": "bloomberg"}, "market_data.source: 'bloomberg'"),
        ({"SIXBTC_ACTIVE_POOL__SIZE": "3"}, "active_pool.size: unknown key"),
        (
            {"SIXBTC_ACTIVE_POOL__MAX_SIZE": "true"},
            "active_pool.max_size: True (bool); expected int",
        ),
        (
            {"SIXBTC_ACTIVE_POOL__MAX_SIZE": "1e3"},
            "active_pool.max_size: '1e3' (str); expected int",
        ),
        (
            {"SIXBTC_ACTIVE_POOL__MIN_SCORE_ENTRY": "1e3"},
            "active_pool.min_score_entry: 1000.0; expected a score between 0 and 100",
        ),
        (
            {"SIXBTC_BACKTESTER__TIMEFRAMES": "[]"},
            "backtester.timeframes: []; expected a non-empty list of 5m, 15m",
        ),
        (
            {"SIXBTC_SCORING__MIN_TRADES": "{5m: -4}"},
            "scoring.min_trades.5m: -4; expected a count >= 0",
        ),
        ({"SIXBTC_CLOCK__SPEED": "0"}, "clock.speed: 0.0; expected a number > 0"),
        (
            {"SIXBTC_CLOCK__ORIGIN": "2026-01-01 08:00"},
            "clock.origin: '2026-01-01 08:00'; expected an ISO time with its offset",
        ),
        (
            {"SIXBTC_CLOCK__SPEED": "60", "SIXBTC_EXCHANGE__MODE": "live"},
            "clock.speed: 60; expected 1 with exchange.mode 'live'",
        ),
    ],
)
def test_invalid_values_fail_at_load_naming_key_value_and_expectation(env, message):
    with pytest.raises(ConfigError) as error:
        config.load(SHIPPED, environ=env)
    assert message in str(error.value)


def test_missing_or_malformed_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "absent.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("active_pool: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(bad, environ={})


def test_keys_left_out_keep_their_defaults(tmp_path):
    partial = tmp_path / "partial.yaml"
    partial.write_text("active_pool: {max_size: 50}\n")
    loaded = config.load(partial, environ={})
    assert loaded.active_pool.max_size == 50
    assert loaded.active_pool.min_score_entry == 15


def test_policies_are_built_from_configuration():
    loaded = config.load(SHIPPED, environ={"SIXBTC_MONITOR__RETIREMENT__MIN_SCORE": "35"})
    assert loaded.retirement_policy().min_score == 35
    assert loaded.live_selection().max_live == 10
    assert loaded.scoring_policy().weights.expectancy == 0.40


def test_floats_in_exponent_notation_are_numbers(tmp_path):
    # YAML 1.1 reads 5e-4 (no dot) as text; the configuration takes it as the number it means
    file = tmp_path / "costs.yaml"
    file.write_text("backtester: {costs: {fee: 5e-4}}\n")
    loaded = config.load(file, environ={"SIXBTC_BACKTESTER__COSTS__SLIPPAGE": "1E-3"})
    assert (loaded.backtester.costs.fee, loaded.backtester.costs.slippage) == (0.0005, 0.001)
    with pytest.raises(ConfigError, match=r"backtester.costs.fee: 'five' \(str\); expected float"):
        config.load(file, environ={"SIXBTC_BACKTESTER__COSTS__FEE": "five"})


def test_processes_given_one_clock_origin_share_market_time_and_the_market_s_day():
    from datetime import UTC, datetime, timedelta

    from sixbtc.containers import _synthetic_market_data, build
    from sixbtc.domain.candles import to_ms

    origin = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    env = {"SIXBTC_CLOCK__SPEED": "360", "SIXBTC_CLOCK__ORIGIN": origin.isoformat()}
    settings = config.load(SHIPPED, environ=env)
    clocks = [build(settings).clock() for _ in range(2)]
    first, second = (c.now() for c in clocks)
    assert timedelta(0) <= second - first < timedelta(seconds=360)  # within a wall second
    assert origin + timedelta(hours=1) <= first < origin + timedelta(hours=2)  # 10 s x 360
    market = _synthetic_market_data(settings, clocks[0])
    midnight = origin.replace(hour=0, minute=0, second=0)
    assert market.end_ms == to_ms(midnight)  # the origin's day, whenever the process starts
