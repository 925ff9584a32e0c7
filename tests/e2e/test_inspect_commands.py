"""The inspection commands (``sixbtc status``, ``strategy list``, ``strategy show``, ``backtest``
and ``report``, text and --json) on a small factory's database: six strategies validated and backtested into a pool of four
(the rest retired), two deployed LIVE and traded, one claim held, and a service's heartbeat
recorded by running it once."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from tests.e2e.test_lifecycle import VARIANTS, small_factory, traded_factory
from tests.e2e.test_pipeline_pass import NOW

from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.domain.strategy import Status
from sixbtc.entrypoints.cli import main


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    """The environment of a small factory's database, and its container."""
    environment = small_factory(tmp_path_factory.mktemp("factory"))
    container, _, clock, _ = traded_factory(environment)
    container.add_strategy()(VARIANTS["RevThree"].replace("class PlantedReversal", "class Queued"))
    with container.unit_of_work() as uow:  # a worker holds the newcomer
        uow.claims.claim(
            Status.GENERATED, 1, "host:42:validator", clock.now(), timedelta(days=3650)
        )
        uow.commit()
    container.shutdown_resources()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        assert main(["service", "rotator", "--once"]) == 0  # records its heartbeat
        yield container


def run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_status_shows_the_funnel_pool_slots_queues_claims_and_services(factory, capsys):
    out = run(capsys, "status")
    assert "funnel: GENERATED 1, VALIDATED 0, ACTIVE 2, LIVE 2, RETIRED 2" in out
    assert "pool: 2 / 4, score min" in out
    assert "re-backtests due 2" in out  # status reads the wall clock: NOW is days ago
    assert "queues: GENERATED 1 / 500, VALIDATED 0 / 50" in out
    assert "LIVE: 2 / 2 slots" in out
    assert "Queued" in out and "host:42:validator" in out
    assert "rotator" in out and "stopped" in out


def test_status_json_holds_every_figure(factory, capsys):
    status = json.loads(run(capsys, "status", "--json"))
    assert status["statuses"] == {
        "GENERATED": 1, "VALIDATED": 0, "ACTIVE": 2, "LIVE": 2, "RETIRED": 2
    }  # fmt: skip
    assert status["pool"]["size"] == 2 and status["pool"]["max_size"] == 4
    assert status["pool"]["min_score"] <= status["pool"]["median_score"]
    assert status["pool"]["median_score"] <= status["pool"]["max_score"]
    assert [s["status"] for s in status["slots"]] == ["LIVE", "LIVE"]
    assert all(s["capital"] > 0 for s in status["slots"])
    [claim] = status["claims"]
    assert claim["name"] == "Queued" and claim["owner"] == "host:42:validator"
    [beat] = status["services"]
    assert beat["service"] == "rotator" and beat["ticks"] == 1 and beat["failures"] == 0
    assert beat["stopped_at"] is not None  # it stopped cleanly after its one tick


def test_strategy_list_ranks_and_filters(factory, capsys):
    rows = json.loads(run(capsys, "strategy", "list", "--json"))
    assert len(rows) == 7
    scores = [r["score_backtest"] for r in rows if r["score_backtest"] is not None]
    assert scores == sorted(scores, reverse=True) and rows[-1]["name"] == "Queued"
    live = json.loads(run(capsys, "strategy", "list", "--status", "LIVE", "--json"))
    assert [r["status"] for r in live] == ["LIVE", "LIVE"]
    retired = json.loads(
        run(capsys, "strategy", "list", "--reason", "pool_full", "--reason", "evicted", "--json")
    )
    assert retired and all(
        r["retired_reason"].split(":")[0] in ("pool_full", "evicted") for r in retired
    )
    assert len(json.loads(run(capsys, "strategy", "list", "--limit", "1", "--json"))) == 1
    text = run(capsys, "strategy", "list", "--type", "MOM", "--timeframe", "15m")
    assert "MomThree" in text and "RevThree" not in text


def test_strategy_list_refuses_unknown_values_naming_the_accepted_ones(factory, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["strategy", "list", "--status", "TESTED"])
    assert exit_.value.code == 2
    assert "'TESTED'; expected one of GENERATED, VALIDATED, ACTIVE, LIVE, RETIRED" in (
        capsys.readouterr().err
    )


def test_strategy_show_gives_the_whole_record_of_a_live_strategy(factory, capsys):
    (name,) = [r["name"] for r in json.loads(run(capsys, "strategy", "list", "--json"))][:1]
    live = json.loads(run(capsys, "strategy", "list", "--status", "LIVE", "--json"))[0]
    record = json.loads(run(capsys, "strategy", "show", live["id"], "--json"))
    assert record["strategy"]["name"] == live["name"]
    assert [e["to_status"] for e in record["events"]] == ["VALIDATED", "ACTIVE", "LIVE"]
    (backtest,) = record["backtests"]
    assert backtest["training"]["trades"] > 0 and backtest["holdout"]["trades"] > 0
    holdout_coins = [c for c in backtest["coins"] if c["window"] == "holdout"]
    assert sum(c["trades"] for c in holdout_coins) == backtest["holdout"]["trades"]
    assert len(backtest["equity"]) == 300 and backtest["equity"][0][1] == 1.0
    neighbourhood, bands = backtest["robustness"]["neighbourhood"], backtest["robustness"]["bands"]
    assert neighbourhood["score"] > 0 and 2 <= len(neighbourhood["neighbours"]) <= 8
    assert bands["trades"] == backtest["training"]["trades"] + backtest["holdout"]["trades"]
    assert bands["drawdown"]["low"] <= bands["drawdown"]["median"] <= bands["drawdown"]["high"]
    admitted = record["events"][1]["reason"]
    assert admitted.startswith("admitted: score ") and "gates passed: deflated Sharpe" in admitted
    assert record["parameters"]["streak"] in (2, 3, 4, 5)
    assert record["subaccount"]["strategy_id"] == live["id"]
    assert record["trades"] and record["live"]["trades"] == sum(
        t["exit_time"] is not None for t in record["trades"]
    )
    text = run(capsys, "strategy", "show", live["name"])
    for part in (
        "history",
        "training and holdout",
        "per coin",
        "research gates: deflated Sharpe",
        "grid neighbourhood: ",
        "Monte Carlo: 1000 resamplings of",
        "subaccount",
        "live trades",
        "def ",
    ):
        assert part in text, part
    assert re.search(r"grid neighbourhood: (plateau|ridge|spike): the \d neighbours'", text)
    assert "def " not in run(capsys, "strategy", "show", name, "--no-code")


def test_strategy_show_names_what_it_could_not_find(factory, capsys):
    assert main(["strategy", "show", "Nobody"]) == 1
    assert "no strategy with the id or name 'Nobody'" in capsys.readouterr().err


def test_backtest_reruns_a_stored_strategy_and_searches_a_file(factory, capsys, tmp_path):
    live = json.loads(run(capsys, "strategy", "list", "--status", "LIVE", "--json"))[0]
    rerun = json.loads(run(capsys, "backtest", live["name"], "--json"))
    assert rerun["searched"] == 1 and rerun["timeframe"] == "15m"
    assert rerun["training"]["trades"] > 0 and rerun["holdout"]["trades"] > 0
    per_coin = [c for c in rerun["coins"] if c["window"] == "holdout"]
    assert sum(c["trades"] for c in per_coin) == rerun["holdout"]["trades"]
    assert {t["window"] for t in rerun["trades"]} == {"training", "holdout"}

    source = tmp_path / "reversal.py"
    source.write_text(VARIANTS["RevThree"])
    trades, equity = tmp_path / "trades.csv", tmp_path / "equity.csv"
    text = run(
        capsys, "backtest", str(source), "--coins", "BTC", "ETH", "--holdout-days", "5",
        "--trades", str(trades), "--equity", str(equity),
    )  # fmt: skip
    flat = " ".join(text.split())  # rich wraps at the terminal's width
    assert "chosen 15m" in flat and "(of 300 tried)" in flat and "training and holdout" in flat
    rows = trades.read_text().splitlines()
    assert rows[0].startswith("window,symbol,direction,entry_time") and len(rows) > 10
    assert {row.split(",")[1] for row in rows[1:]} == {"BTC", "ETH"}
    points = equity.read_text().splitlines()
    assert points[0] == "time,equity" and float(points[1].split(",")[1]) == 1.0  # no trade yet


def test_backtest_refuses_a_period_it_cannot_split_and_a_window_without_candles(factory, capsys):
    live = json.loads(run(capsys, "strategy", "list", "--status", "LIVE", "--json"))[0]
    assert main(["backtest", live["name"], "--start", "2026-11-20", "--holdout-days", "30"]) == 1
    assert "no training before the holdout of 30 days" in capsys.readouterr().err
    assert main(["backtest", live["name"], "--start", "2001-01-01", "--end", "2001-03-01"]) == 1
    assert "no 15m candles for any coin in the training window" in capsys.readouterr().err


def test_report_draws_every_figure_and_one_page_that_a_browser_opens_cleanly(
    factory, capsys, tmp_path
):
    out = tmp_path / "report"
    written = run(capsys, "report", "--out", str(out)).splitlines()
    names = ("funnel", "scores", "retirements", "backtest_equity", "live_profit")
    # every figure has something to draw (an empty one says "(nothing yet)")
    assert written == [str(out / f"{n}.png") for n in names] + [str(out / "report.html")]
    for path in map(Path, written):
        assert path.stat().st_size > 5_000, path
    for name in names:
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert "Robustness of the best strategies" in page
    assert page.count("plateau (") + page.count("ridge (") + page.count("spike (") >= 2
    errors, images = open_in_chromium(out / "report.html")
    assert errors == [] and images == len(names)


def open_in_chromium(page_path: Path) -> tuple[list[str], int]:
    """Console errors and failed loads of the page in headless Chromium, and how many of its
    images decoded (natural width > 0)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
        page.goto(page_path.as_uri())
        images = page.evaluate(
            "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
        browser.close()
    return errors, images


def test_backtest_recomputes_a_stored_result_exactly_with_its_trades(factory, capsys, monkeypatch):
    monkeypatch.setenv("SIXBTC_CLOCK__ORIGIN", NOW.isoformat())  # the fixture's synthetic market
    live = json.loads(run(capsys, "strategy", "list", "--status", "LIVE", "--json"))[0]
    (stored,) = json.loads(run(capsys, "strategy", "show", live["name"], "--json"))["backtests"]
    again = json.loads(run(capsys, "backtest", live["name"], "--result", "1", "--json"))
    assert again["training_window"] == stored["training_window"]
    assert again["holdout_window"] == stored["holdout_window"]
    assert again["parameters"] == stored["parameters"] and again["timeframe"] == stored["timeframe"]
    for window in ("training", "holdout"):
        assert again[window] == pytest.approx(stored[window], rel=1e-9), window
    assert again["score"] == pytest.approx(stored["score"], rel=1e-9)
    assert len(again["trades"]) == stored["training"]["trades"] + stored["holdout"]["trades"]
    assert main(["backtest", live["name"], "--result", "2"]) == 1
    assert "has 1 backtest results" in capsys.readouterr().err


def test_backtest_says_when_the_strategy_fails_and_refuses_a_missing_folder_first(
    factory, capsys, tmp_path
):
    source = tmp_path / "broken.py"
    source.write_text(VARIANTS["RevThree"].replace("streak = self.parameters", "streak = 1 / 0 +"))
    assert main(["backtest", str(source), "--coins", "BTC"]) == 1
    assert "the strategy failed: strategy code on BTC" in capsys.readouterr().err
    missing = tmp_path / "nowhere" / "trades.csv"
    assert main(["backtest", str(source), "--trades", str(missing)]) == 1
    assert f"folder {missing.parent} does not exist; nothing written" in capsys.readouterr().err


def test_every_command_reads_an_empty_database(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrations.upgrade(url)
    monkeypatch.setenv("SIXBTC_DATABASE__URL", url)
    assert "funnel: GENERATED 0, VALIDATED 0, ACTIVE 0, LIVE 0, RETIRED 0" in run(capsys, "status")
    assert json.loads(run(capsys, "strategy", "list", "--json")) == []
    written = run(capsys, "report", "--out", str(tmp_path / "report")).splitlines()
    assert sum(line.endswith("(nothing yet)") for line in written) == 5
