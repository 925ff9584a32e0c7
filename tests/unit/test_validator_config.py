"""The ``validator:`` settings the container builds: the live history and the production length."""

from pathlib import Path

from sixbtc import config, containers
from sixbtc.application.validate import PRODUCTION_BARS

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def test_execution_check_runs_at_the_backtests_longest_request():
    """Training plus holdout days of the shortest timeframe: 70 days of 15m bars."""
    loaded = config.from_mapping(
        {
            "validator": {"live_history_bars": 3000},
            "backtester": {"training_days": 60, "holdout_days": 10, "timeframes": ["4h", "15m"]},
        }
    )
    settings = containers.build(loaded).validation_settings()
    assert (settings.live_history_bars, settings.production_bars) == (3000, 70 * 96)


def test_shipped_file_checks_a_year_and_a_month_of_5m_bars():
    settings = containers.build(config.load(SHIPPED, environ={})).validation_settings()
    assert settings.production_bars == PRODUCTION_BARS == 113_760
