"""``sixbtc research`` on markets whose truth is known (issue 20; docs/research.md).

In the default run: a small null-market pass (3 coins, two timeframes, 60 + 15 days: minutes of
CPU would be needed for a meaningful false-discovery rate, so this checks the command's report
and that nothing enters) and the refusals. Behind ``slow`` (run by ``.ci/run``): each market at
the scale where its truth shows (10 coins, every timeframe, a year of training): the null market
keeps 100 strategies out of the pool; each planted edge gets strategies that exploit it into the
pool and at its top, and none of the opposite kind.
"""

from __future__ import annotations

import json

import pytest

from sixbtc.entrypoints.cli import main

SMALL = ["--coins", "3", "--timeframes", "15m,1h", "--training-days", "60", "--holdout-days", "15"]
#: Entry types that follow a move (momentum, trend, breakout, directional volume) and that fade it.
FOLLOWERS, FADERS = {"MOM", "TRN", "BRK", "VOL"}, {"REV"}
#: Types that cannot exploit a market's edge: reversal strategies bet against the momentum market.
#: (The planted reversal leaves six bars of drift after each streak, which a 5m entry in the
#: direction of a wide bar or a 30m trend can ride: followers may exploit it too, below REV.)
UNRELATED = {"momentum": FADERS, "mean-reversion": set()}


def research(capsys, *arguments: str) -> dict:
    assert main(["research", *arguments, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_small_null_run_reports_its_funnel_and_admits_nothing(capsys):
    report = research(capsys, "--market", "null", "--strategies", "12", "--seed", "3", *SMALL)

    assert (report["market"], report["seed"], report["generated"]) == ("null", 3, 12)
    assert report["validated"] + report["retired_by_validator"] == 12
    assert report["backtested"] == report["validated"]
    assert report["entered"] == 0 and report["would_go_live"] == [] and report["pool"] == []
    rejected = sum(len(r) for r in report["rejections"].values())
    assert report["candidates"] == rejected
    for gate, strategies in report["rejections"].items():
        for strategy in strategies:
            assert strategy["reason"].startswith(f"{gate}: ")
    assert set(report["step_seconds"]) == {"generate", "validate", "backtest"}
    assert 0.0 <= report["gate_share"] < 1.0


def test_the_text_report_names_the_market_and_the_gates(capsys):
    assert main(["research", "--strategies", "3", "--seed", "5", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "research: market null (clustered volatility" in out
    assert "funnel: generated 3, validated" in out
    for gate in ("min_trades_training", "min_trades_holdout", "deflated_sharpe", "permutation"):
        assert gate in out
    assert "would go LIVE: none" in out
    assert "of the pass" in out


def test_an_existing_database_is_refused_before_any_work(capsys, tmp_path):
    kept = tmp_path / "kept.db"
    kept.write_text("mine")
    assert main(["research", "--database", str(kept), *SMALL]) == 2
    err = capsys.readouterr().err
    assert f"--database {kept}: exists" in err and "Traceback" not in err
    assert kept.read_text() == "mine"


def test_an_unknown_timeframe_is_refused(capsys):
    assert main(["research", "--timeframes", "5m,7m", "--strategies", "1"]) == 2
    err = capsys.readouterr().err
    assert "7m" in err and "Traceback" not in err


@pytest.mark.slow
def test_the_null_market_keeps_a_hundred_strategies_out(capsys):
    report = research(capsys, "--market", "null", "--strategies", "100", "--coins", "10")
    assert report["backtested"] >= 90
    assert report["entered"] == 0 and report["would_go_live"] == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("market", "exploiters"), [("momentum", FOLLOWERS), ("mean-reversion", FADERS)]
)
def test_a_planted_edge_is_found_and_leads(capsys, market, exploiters):
    report = research(capsys, "--market", market, "--strategies", "40", "--coins", "10")
    types = [strategy["type"] for strategy in report["pool"]]
    assert len(types) >= 2, "strategies exploiting the edge enter the pool"
    assert types[0] in exploiters
    assert sum(t in exploiters for t in types) > len(types) / 2
    assert not UNRELATED[market] & set(types), types
    assert report["would_go_live"]
