"""``sixbtc web``'s HTTP API on a SQLite database (FastAPI's TestClient): every endpoint refuses a
request without credentials, the read-only token reads and cannot act, the operator's token acts
and is recorded, the browser's session needs its form token for actions, /health answers without
credentials (200 or 503), and the server refuses to start where it would be unsafe."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from tests.factories import make_strategy
from tests.integration.test_command_line_imports import loaded_modules

from sixbtc import config as configuration
from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryMarketData
from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.containers import build, use_cases
from sixbtc.domain.candles import Candles, to_ms
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.strategy import Status
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.timeframe import Timeframe
from sixbtc.entrypoints.cli import main
from sixbtc.entrypoints.web.app import create_app
from sixbtc.entrypoints.web.auth import Role, WebAuth, WebConfigError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OPERATOR = "operator-token-0123456789"
READER = "reader-token-0123456789ab"
AUTH = WebAuth(OPERATOR, READER, "a-test-secret")
#: Every GET of the API and its JSON type.
READS = ["/api/me", "/api/overview", "/api/pool", "/api/live", "/api/events", "/api/services"]
ACTIONS = ["/api/halt", "/api/flatten", "/api/resume"]


def market(until: datetime) -> InMemoryMarketData:
    """BTC's 5m candles for the day before ``until`` (the last one closing at ``until``)."""
    times = [until - timedelta(minutes=5 * (i + 1)) for i in reversed(range(288))]
    ones = np.ones(len(times))
    return InMemoryMarketData(
        [Candles("BTC", Timeframe.M5, [to_ms(t) for t in times], *[ones] * 5)]
    )


@pytest.fixture
def factory(tmp_path):
    """A container on a SQLite database: three ACTIVE strategies, one LIVE on subaccount 1, one
    retired; a running executor and a stopped rotator; fresh candles."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    migrations.upgrade(url)
    container = build(configuration.load(None, environ={"SIXBTC_DATABASE__URL": url}))
    clock = ManualClock(NOW)
    container.clock.override(providers.Object(clock))
    container.wall_clock.override(providers.Object(clock))
    container.market_data.override(providers.Object(market(NOW)))
    with container.unit_of_work() as uow:
        for score in (40.0, 70.0, 55.0):
            uow.strategies.add(make_strategy(Status.ACTIVE, score=score))
        live = make_strategy(Status.LIVE, score=80.0)
        live.live_since, live.coins = NOW - timedelta(hours=5), ("BTC",)
        uow.strategies.add(live)
        account = Subaccount(1, NOW - timedelta(days=1))
        account.assign(live.id, 1000.0)
        account.record_balance(1012.5)
        uow.subaccounts.add(account)
        gone = make_strategy(Status.ACTIVE, score=30.0)
        gone.retire(Reason(Code.EVICTED, "score 30.00"), at=NOW - timedelta(hours=1), service="x")
        uow.strategies.add(gone)
        uow.heartbeats.record(Heartbeat("executor", "h:1", NOW - timedelta(hours=2), NOW))
        uow.heartbeats.record(
            Heartbeat("rotator", "h:2", NOW - timedelta(hours=3), NOW, stopped_at=NOW)
        )
        uow.commit()
    yield container, clock, live
    container.shutdown_resources()


def client(container, auth: WebAuth = AUTH) -> TestClient:
    return TestClient(create_app(use_cases(container), auth), base_url="http://127.0.0.1")


def bearer(token: str, user: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} | ({"X-SixBTC-User": user} if user else {})


def test_every_endpoint_but_health_refuses_a_request_without_credentials(factory):
    web = client(factory[0])
    for path in [*READS, "/api/strategies/s1"]:
        for headers in ({}, bearer("wrong-token-0123456789"), {"Authorization": "Basic x"}):
            answer = web.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers)
            assert answer.headers["www-authenticate"] == "Bearer"
    for path in [*ACTIONS, "/api/strategies/s1/retire"]:
        assert web.post(path, json={"why": "x"}).status_code == 401, path
    for path in ["/", "/pool", "/live", "/events", "/services", "/strategies/s1"]:
        answer = web.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    for action in ("halt", "flatten", "resume"):
        assert web.post(f"/actions/{action}", follow_redirects=False).status_code == 303
    assert web.get("/health").status_code == 200


def test_the_read_only_token_reads_everything_and_cannot_act(factory):
    container, _, live = factory
    web = client(container)
    for path in [*READS, f"/api/strategies/{live.name}"]:
        assert web.get(path, headers=bearer(READER)).status_code == 200, path
    assert web.get("/api/me", headers=bearer(READER)).json()["role"] == "read"
    for path in ACTIONS:
        answer = web.post(path, headers=bearer(READER))
        assert answer.status_code == 403 and "operator role" in answer.json()["detail"]
    retire = web.post(
        f"/api/strategies/{live.name}/retire", headers=bearer(READER), json={"why": "x"}
    )
    assert retire.status_code == 403
    with container.unit_of_work() as uow:
        assert uow.halts.active() == [] and uow.strategies.get(live.id).status is Status.LIVE


def test_the_json_answers_hold_the_databases_figures(factory):
    container, _, live = factory
    web = client(container)
    get = lambda path: web.get(path, headers=bearer(READER)).json()  # noqa: E731
    overview = get("/api/overview")
    assert overview["status"]["statuses"] == {
        "GENERATED": 0, "VALIDATED": 0, "ACTIVE": 3, "LIVE": 1, "RETIRED": 1
    }  # fmt: skip
    assert overview["scores"] == [40.0, 55.0, 70.0]
    assert (
        overview["status"]["pool"]["size"] == 3
        and overview["status"]["pool"]["median_score"] == 55.0
    )
    assert overview["capital"] == 1000.0 and overview["equity"] == 1012.5
    assert overview["halted"] is False and overview["status"]["halts"] == []
    states = {s["service"]: s["state"] for s in overview["services"]}
    assert states == {"executor": "running", "rotator": "stopped"}
    pool = get("/api/pool")
    assert [r["score"] for r in pool] == [70.0, 55.0, 40.0] and [r["rank"] for r in pool] == [
        1,
        2,
        3,
    ]
    assert len(get("/api/pool?limit=2")) == 2
    [row] = get("/api/live")
    assert row["name"] == live.name and row["subaccount"] == 1 and row["balance"] == 1012.5
    assert row["positions"] == [] and row["closed_trades"] == 0 and row["score_backtest"] == 80.0
    record = get(f"/api/strategies/{live.id}")
    assert record["strategy"]["name"] == live.name and record["subaccount"]["id"] == 1
    assert record["robustness"].startswith("robustness:")
    assert web.get("/api/strategies/Nobody", headers=bearer(READER)).status_code == 404
    events = get("/api/events")
    assert events["retirements"] == {"evicted": 1}
    assert (
        events["events"][0]["to_status"] == "RETIRED"
        and events["events"][0]["reason"] == "evicted: score 30.00"
    )
    services = get("/api/services")
    assert {s["service"] for s in services} == {"executor", "rotator"}
    assert all({"age_seconds", "state", "beat_at", "last_error"} <= s.keys() for s in services)


def test_the_operators_actions_are_recorded_with_who_and_why(factory):
    container, _, live = factory
    web = client(container)
    as_alice = bearer(OPERATOR, "alice")
    halt = web.post("/api/halt", headers=as_alice, json={"reason": "exchange maintenance"})
    assert halt.status_code == 200
    assert halt.json()["set_by"] == "web:alice" and halt.json()["detail"] == "exchange maintenance"
    assert web.get("/api/overview", headers=as_alice).json()["halted"] is True
    flatten = web.post("/api/flatten", headers=bearer(OPERATOR)).json()
    assert flatten["kind"] == "flatten" and flatten["set_by"] == "web:api-operator"
    lifted = web.post("/api/resume", headers=as_alice).json()["lifted"]
    assert {h["kind"] for h in lifted} == {"halt", "flatten"}
    assert {h["lifted_by"] for h in lifted} == {"web:alice"}
    retired = web.post(
        f"/api/strategies/{live.name}/retire", headers=as_alice, json={"why": "odd fills"}
    )
    assert retired.status_code == 200
    assert retired.json()["reason"] == "operator: odd fills (by web:alice)"
    with container.unit_of_work() as uow:
        strategy = uow.strategies.get(live.id)
        assert strategy.status is Status.RETIRED and strategy.retired_reason.code is Code.OPERATOR
        assert uow.halts.active() == []
    again = web.post(f"/api/strategies/{live.name}/retire", headers=as_alice, json={"why": "x"})
    assert again.status_code == 409 and "only LIVE or ACTIVE" in again.json()["detail"]
    blank = web.post("/api/strategies/s1/retire", headers=as_alice, json={"why": "  "})
    assert blank.status_code in (400, 404)
    assert (
        web.post("/api/strategies/Nobody/retire", headers=as_alice, json={"why": "x"}).status_code
        == 404
    )
    events = web.get("/api/events", headers=as_alice).json()
    assert events["retirements"] == {"operator": 1, "evicted": 1}


def test_a_browser_session_logs_in_and_needs_its_form_token_to_act(factory):
    container, _, _ = factory
    web = client(container)
    refused = web.post("/login", data={"token": "wrong-token-0123456789", "user": "eve"})
    assert refused.status_code == 401 and "wrong token" in refused.text
    login = web.post(
        "/login", data={"token": OPERATOR, "user": "bob", "next": "/pool"}, follow_redirects=False
    )
    assert login.status_code == 303 and login.headers["location"] == "/pool"
    cookie = login.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = web.get("/")
    assert page.status_code == 200 and "bob (operator)" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert web.post("/actions/halt", data={"reason": "x"}).status_code == 403  # no form token
    assert web.post("/actions/halt", data={"reason": "x", "csrf": "forged"}).status_code == 403
    assert web.post("/api/halt", json={}).status_code == 403  # the API from a session: same rule
    done = web.post(
        "/actions/halt",
        data={"reason": "by hand", "csrf": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert "halt 1 set" in web.get("/").text
    with container.unit_of_work() as uow:
        [halt] = uow.halts.active()
    assert halt.set_by == "web:bob" and halt.detail == "by hand"
    assert web.post("/actions/flatten", data={"csrf": csrf}).status_code == 400  # not confirmed
    assert web.post("/api/resume", headers={"X-CSRF-Token": csrf}).status_code == 200
    web.post("/logout")
    assert web.get("/", follow_redirects=False).status_code == 303


def test_a_read_only_session_sees_no_actions_and_is_refused_them(factory):
    web = client(factory[0])
    web.post("/login", data={"token": READER, "user": "carol"})
    page = web.get("/")
    assert "carol (read)" in page.text and 'action="/actions/halt"' not in page.text
    csrf = web.cookies.get("sixbtc_session")
    assert web.post("/actions/halt", data={"csrf": csrf or ""}).status_code == 403


def test_a_session_ends_when_its_token_changes(factory):
    container = factory[0]
    web = client(container)
    web.post("/login", data={"token": READER})
    assert web.get("/", follow_redirects=False).status_code == 200
    rotated = WebAuth(OPERATOR, "another-reader-token-xyz", "a-test-secret")
    again = client(container, rotated)
    again.cookies = web.cookies  # the same cookie, a new token
    assert again.get("/", follow_redirects=False).status_code == 303


def test_health_answers_without_credentials_and_fails_on_stale_data_or_a_silent_service(factory):
    container, clock, _ = factory
    body = client(container).get("/health").json()
    assert body["ok"] is True and body["database"] is True
    assert body["data"]["coins"] == ["BTC"] and body["data"]["lag_minutes"] == 0.0
    assert body["data"]["limit_minutes"] == 30.0 and body["data"]["fresh"] is True
    assert [(s["service"], s["state"]) for s in body["services"]] == [
        ("executor", "running"), ("rotator", "stopped")
    ]  # fmt: skip
    clock.advance(timedelta(minutes=45))  # the candles stop; the executor is silent
    late = client(container).get("/health")
    assert late.status_code == 503
    body = late.json()
    assert body["ok"] is False and body["data"]["fresh"] is False
    assert body["data"]["lag_minutes"] == 45.0
    assert [s["state"] for s in body["services"]] == ["silent", "stopped"]


def test_health_says_when_the_database_does_not_answer(factory):
    container = factory[0]

    class Unreachable:
        def __enter__(self):
            raise OSError("connection refused")

        def __exit__(self, *exc):
            return False

    container.unit_of_work.override(providers.Factory(Unreachable))
    answer = client(container).get("/health")
    assert answer.status_code == 503
    assert answer.json()["database"] is False and answer.json()["database_error"] == "OSError"


@pytest.mark.parametrize(
    ("environ", "host", "no_auth", "named"),
    [
        ({}, "0.0.0.0", False, "SIXBTC_WEB_TOKEN"),
        ({}, "127.0.0.1", False, "--no-auth"),
        ({}, "0.0.0.0", True, "SIXBTC_WEB_TOKEN"),
        ({"SIXBTC_WEB_TOKEN": "short"}, "127.0.0.1", False, "shorter than 16"),
        ({"SIXBTC_WEB_TOKEN": OPERATOR, "SIXBTC_WEB_READ_TOKEN": OPERATOR}, "::1", False, "same"),
        ({"SIXBTC_WEB_TOKEN": OPERATOR}, "127.0.0.1", True, "--no-auth with"),
    ],
)
def test_the_server_refuses_to_start_where_it_would_be_unsafe(environ, host, no_auth, named):
    with pytest.raises(WebConfigError, match=re.escape(named)):
        WebAuth.from_environment(environ, host, no_auth)


def test_the_tokens_give_their_roles_and_never_show_in_a_repr():
    auth = WebAuth.from_environment(
        {"SIXBTC_WEB_TOKEN": OPERATOR, "SIXBTC_WEB_READ_TOKEN": READER}, "0.0.0.0", False
    )
    assert auth.role_of(OPERATOR) is Role.OPERATOR and auth.role_of(READER) is Role.READ
    assert auth.role_of(OPERATOR[:-1]) is None and auth.role_of("") is None
    assert OPERATOR not in repr(auth) and READER not in repr(auth) and auth.secret not in repr(auth)
    local = WebAuth.from_environment({}, "127.0.0.1", True)
    assert local.no_auth and local.role_of("") is None


def test_the_local_view_without_tokens_reads_and_never_acts(factory):
    web = client(factory[0], WebAuth.from_environment({}, "127.0.0.1", True))
    assert web.get("/api/me").json() == {"user": "local", "role": "read", "via": "none"}
    assert web.get("/").status_code == 200 and web.get("/pool").status_code == 200
    assert web.post("/api/halt").status_code == 403


def test_sixbtc_web_refuses_an_open_address_without_a_token_naming_the_variable(
    monkeypatch, capsys
):
    monkeypatch.delenv("SIXBTC_WEB_TOKEN", raising=False)
    monkeypatch.delenv("SIXBTC_WEB_READ_TOKEN", raising=False)
    assert main(["web", "--host", "0.0.0.0"]) == 1
    error = capsys.readouterr().err
    assert "SIXBTC_WEB_TOKEN" in error and "0.0.0.0" in error


def test_the_command_line_loads_no_web_library_until_the_server_starts(tmp_path):
    code = "from sixbtc.entrypoints.cli import build_parser\nbuild_parser()"
    heavy = ["fastapi", "starlette", "uvicorn", "jinja2", "pydantic", "sixbtc.entrypoints.web"]
    assert loaded_modules(tmp_path, code, heavy, {}) == []


def test_every_page_renders_for_a_reader(factory):
    web = client(factory[0])
    web.post("/login", data={"token": READER, "user": "dan"})
    for path in ["/", "/pool", "/live", "/events", "/services", f"/strategies/{factory[2].name}"]:
        answer = web.get(path)
        assert answer.status_code == 200, (path, answer.text[-2000:])
        assert "dan (read)" in answer.text
    assert web.get("/strategies/Nobody").status_code == 404
