"""The dashboard in headless Chromium (Debian's ``chromium`` driven by Playwright; no browser
download) on a small factory's database filled by a short simulated run: strategies validated and
backtested into the pool, two deployed LIVE that traded six hours on the paper exchange. An
operator logs in, every page shows the database's figures without a console error (screenshots in
/tmp/web-*.png), and a click on halt stops the executor's entries until resume."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.e2e.test_lifecycle import small_factory, traded_factory

from sixbtc.adapters.sqlalchemy.tables import orders
from sixbtc.application.ports import StrategyFilter
from sixbtc.domain.strategy import Status
from sixbtc.entrypoints.web.app import create_app
from sixbtc.entrypoints.web.auth import WebAuth

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OPERATOR = "operator-token-for-the-browser"
READER = "reader-token-for-the-browser"

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)",
)


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    """A small factory after six hours of paper trading, its clock and its use cases."""
    environment = small_factory(tmp_path_factory.mktemp("web"))
    beats: dict = {}

    def beat(pipeline) -> None:  # the executor's heartbeat, as its service records it
        beats.setdefault("executor", pipeline.heartbeat(service="executor")).ticked("executor")

    container, pipeline, clock, executor = traded_factory(environment, on_pass=beat)
    yield container, pipeline, clock, executor
    container.shutdown_resources()


@pytest.fixture(scope="module")
def server(factory):
    """The dashboard served by uvicorn on a free local port, in a thread."""
    import uvicorn

    pipeline = factory[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(pipeline, WebAuth(OPERATOR, READER, "browser-test-secret"))
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser(server):
    """A logged-in operator's page, and the console errors and failed requests it met."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
        page.on(
            "response",
            lambda r: errors.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
        )
        page.goto(server + "/live")
        assert page.url.startswith(server + "/login")
        page.fill("input[name=user]", "alice")
        page.fill("input[name=token]", OPERATOR)
        page.click("button[type=submit]")
        page.wait_for_url(server + "/live")
        yield page, server, errors
        chromium.close()


def entries_since(when):
    """How many entry orders (not reduce-only) were recorded after ``when``."""
    return (
        sa.select(sa.func.count())
        .select_from(orders)
        .where(orders.c.reduce_only.is_(False), orders.c.created_at > when)
    )


def cells(page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def test_the_overview_shows_the_funnel_pool_slots_equity_and_services(factory, browser):
    container = factory[0]
    page, server, errors = browser
    page.goto(server + "/")
    with container.unit_of_work() as uow:
        counts = {status: uow.strategies.count(status) for status in Status}
        accounts = [a for a in uow.subaccounts.all() if a.strategy_id]
    assert counts[Status.LIVE] == 2 and counts[Status.ACTIVE] >= 1
    shown = {
        row.get_attribute("data-status"): row.locator(".count").inner_text()
        for row in page.locator("#funnel tr[data-status]").all()
    }
    assert shown == {str(s): str(n) for s, n in counts.items()}
    assert page.inner_text("#pool-size") == f"{counts[Status.ACTIVE]} / 4"
    assert page.inner_text("#live-slots") == "2 / 2"
    assert page.inner_text("#equity") == money(sum(a.current_balance for a in accounts))
    assert page.inner_text("#capital") == money(sum(a.allocated_capital for a in accounts))
    assert "Trading running (no halt)" in page.inner_text("#halt-state")
    assert page.locator("svg.chart").count() == 1
    assert "executor running" in page.inner_text("main")
    page.screenshot(path="/tmp/web-overview.png", full_page=True)
    assert errors == []


def test_the_pool_lists_the_active_strategies_best_first(factory, browser):
    container = factory[0]
    page, server, errors = browser
    page.goto(server + "/pool")
    with container.unit_of_work() as uow:
        active = uow.strategies.search(StrategyFilter(statuses=frozenset({Status.ACTIVE})))
    rows = page.locator("#pool tr[data-name]")
    assert [r.get_attribute("data-name") for r in rows.all()] == [s.name for s in active]
    assert cells(page, "#pool .score") == [money(s.score_backtest) for s in active]
    page.screenshot(path="/tmp/web-pool.png", full_page=True)
    assert errors == []


def test_the_live_page_shows_each_strategys_trades_positions_and_scores(factory, browser):
    container = factory[0]
    page, server, errors = browser
    page.goto(server + "/live")
    with container.unit_of_work() as uow:
        live = {s.name: s for s in uow.strategies.by_status(Status.LIVE)}
        trades = {name: uow.trades.for_strategy(s.id) for name, s in live.items()}
    rows = page.locator("#live tr[data-name]").all()
    assert sorted(r.get_attribute("data-name") for r in rows) == sorted(live)
    for row in rows:
        name = row.get_attribute("data-name")
        closed = [t for t in trades[name] if not t.is_open]
        assert closed, name  # six hours of the planted edge: they traded
        assert row.locator(".trades").inner_text() == str(len(closed))
        assert row.locator(".positions").inner_text() == str(sum(t.is_open for t in trades[name]))
        assert row.locator(".profit").inner_text() == money(sum(t.pnl for t in closed))
    assert page.locator("svg.chart").count() == len(live)
    page.screenshot(path="/tmp/web-live.png", full_page=True)
    assert errors == []


def test_a_strategys_page_shows_its_history_backtest_robustness_and_code(factory, browser):
    container = factory[0]
    page, server, errors = browser
    with container.unit_of_work() as uow:
        strategy = uow.strategies.by_status(Status.LIVE)[0]
        events = uow.strategies.events(strategy.id)
        trades = uow.trades.for_strategy(strategy.id)
    page.goto(f"{server}/strategies/{strategy.name}")
    assert page.inner_text("#status") == "LIVE"
    assert page.inner_text("#score-backtest") == money(strategy.score_backtest)
    assert page.locator("#history tr").count() == len(events) + 1
    assert page.locator("#trades tr").count() == min(len(trades), 50) + 1
    assert "grid neighbourhood" in page.inner_text("#robustness")
    assert "def signals" in page.inner_text("#code")
    assert page.locator("svg.chart").count() == 1 and page.locator("#retire").count() == 1
    page.screenshot(path="/tmp/web-strategy.png", full_page=True)
    assert errors == []


def test_the_events_page_counts_retirements_by_reason(factory, browser):
    container = factory[0]
    page, server, errors = browser
    page.goto(server + "/events")
    with container.unit_of_work() as uow:
        retired = uow.strategies.by_status(Status.RETIRED)
    expected: dict[str, int] = {}
    for strategy in retired:
        code = str(strategy.retired_reason.code)
        expected[code] = expected.get(code, 0) + 1
    shown = {
        row.get_attribute("data-code"): int(row.locator(".count").inner_text())
        for row in page.locator("#retirements tr[data-code]").all()
    }
    assert shown == expected and sum(shown.values()) == len(retired) > 0
    page.screenshot(path="/tmp/web-events.png", full_page=True)
    assert errors == []


def test_the_services_page_shows_the_heartbeats(factory, browser):
    page, server, errors = browser
    page.goto(server + "/services")
    with factory[0].unit_of_work() as uow:
        [beat] = uow.heartbeats.all()  # written at most every 10 s: the first tick's
    row = page.locator("#services tr[data-service=executor]")
    assert row.locator(".ticks").inner_text() == str(beat.ticks)
    assert beat.owner in row.inner_text()
    assert "running" in row.inner_text()
    page.screenshot(path="/tmp/web-services.png", full_page=True)
    assert errors == []


def test_a_click_on_halt_stops_the_executors_entries_until_resume(factory, browser):
    container, _, clock, executor = factory
    page, server, errors = browser
    page.goto(server + "/")
    page.fill("input[name=reason][aria-label='halt reason']", "checking the browser")
    page.click("#halt")
    page.wait_for_url(server + "/")
    assert "Trading HALTED" in page.inner_text("#halt-state")
    assert "set by web:alice" in page.inner_text("#halt-state")
    page.screenshot(path="/tmp/web-halted.png", full_page=True)
    halted_at = clock.now()
    for _ in range(24):  # six more hours: the planted edge signals; no entry goes out
        clock.advance(timedelta(minutes=15))
        executor.tick()
    with container.engine().connect() as connection:
        assert connection.execute(entries_since(halted_at)).scalar() == 0
    page.click("#resume")
    page.wait_for_url(server + "/")
    assert "Trading running" in page.inner_text("#halt-state")
    resumed_at = clock.now()
    for _ in range(24):
        clock.advance(timedelta(minutes=15))
        executor.tick()
    with container.engine().connect() as connection:
        assert connection.execute(entries_since(resumed_at)).scalar() > 0
    assert errors == []
