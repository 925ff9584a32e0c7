"""The FastAPI application of ``sixbtc web``: JSON under ``/api``, pages everywhere else, ``/health``
for uptime monitors. Routes only call the container's queries and use cases and render what they
return; every action is logged with who asked."""

import logging
import secrets
from typing import Annotated, Any, Protocol
from urllib.parse import quote

import jinja2
from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.middleware.sessions import SessionMiddleware

from sixbtc.application.errors import ApplicationError, DatabaseUnavailable, NotFound
from sixbtc.application.operator import NotRetirable
from sixbtc.domain.halt import HaltKind
from sixbtc.domain.strategy import Status
from sixbtc.entrypoints.commands.strategy_views import robustness_text
from sixbtc.entrypoints.output import jsonable
from sixbtc.entrypoints.web import charts
from sixbtc.entrypoints.web.auth import Principal, Role, WebAuth, user_name

log = logging.getLogger("sixbtc.web")

#: A browser session lasts this long (seconds) before the login form asks again.
SESSION_SECONDS = 12 * 3600
#: Events listed on the events page and by default in the API.
EVENTS_SHOWN = 200
#: Every page and answer: nothing from elsewhere, no scripts, never in a frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
    "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Backend(Protocol):
    """What the web layer needs of the container's ``Pipeline``: each attribute builds a query or
    use case (dependency-injector providers)."""

    def dashboard(self) -> Any: ...
    def health(self) -> Any: ...
    def kill_switch(self) -> Any: ...
    def retire_by_hand(self) -> Any: ...
    def strategy_reports(self) -> Any: ...


class LoginRequired(Exception):
    """A page asked for without a session: the browser goes to the login form."""


class Note(BaseModel):
    """The body of ``POST /api/halt`` and ``/api/flatten``."""

    reason: str = ""


class Retirement(BaseModel):
    """The body of ``POST /api/strategies/{key}/retire``."""

    why: str


def create_app(backend: Backend, auth: WebAuth, *, secure_cookies: bool = False) -> FastAPI:
    """The application on ``backend``'s queries, guarded by ``auth``."""
    app = FastAPI(title="SixBTC", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.add_middleware(
        SessionMiddleware,
        secret_key=auth.secret,
        session_cookie="sixbtc_session",
        max_age=SESSION_SECONDS,
        same_site="strict",
        https_only=secure_cookies,
    )
    templates = jinja2.Environment(
        loader=jinja2.PackageLoader("sixbtc.entrypoints.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    templates.filters["num"] = _number
    templates.filters["when"] = _when
    templates.filters["ago"] = _ago

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    # --- who is asking --------------------------------------------------------------------

    def principal(request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            role = auth.role_of(token.strip()) if scheme.lower() == "bearer" else None
            if role is None:
                return None  # a wrong token is refused, whatever cookie comes with it
            fallback = f"api-{role}"
            return Principal(
                role, user_name(request.headers.get("x-sixbtc-user", ""), fallback), "token"
            )
        session = request.session
        role = session.get("role")
        if role in (Role.OPERATOR, Role.READ) and secrets.compare_digest(
            str(session.get("key", "")), auth.fingerprint(Role(role))
        ):
            return Principal(Role(role), session.get("user", role), "session")
        if auth.no_auth:
            return Principal(Role.READ, "local", "none")
        return None

    def api_reader(request: Request) -> Principal:
        found = principal(request)
        if found is None:
            raise HTTPException(
                401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        return found

    async def api_operator(request: Request) -> Principal:
        found = api_reader(request)
        await _require_action(request, found)
        return found

    def page_reader(request: Request) -> Principal:
        found = principal(request)
        if found is None:
            raise LoginRequired
        return found

    async def page_operator(request: Request) -> Principal:
        found = page_reader(request)
        await _require_action(request, found)
        return found

    Reader = Annotated[Principal, Depends(api_reader)]
    Operator = Annotated[Principal, Depends(api_operator)]
    PageReader = Annotated[Principal, Depends(page_reader)]
    PageOperator = Annotated[Principal, Depends(page_operator)]

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        return page(
            request,
            None,
            "error.html",
            error.status_code,
            code=error.status_code,
            message=error.detail,
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound):
        return _error(request, 404, str(error))

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(request: Request, error: DatabaseUnavailable):
        return _error(request, 503, str(error))

    @app.exception_handler(ApplicationError)
    async def refused(request: Request, error: ApplicationError):
        return _error(request, 409 if isinstance(error, NotRetirable) else 400, str(error))

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=status)
        return page(request, None, "error.html", status, code=status, message=message)

    def page(
        request: Request, who: Principal | None, name: str, http_status: int = 200, **values: Any
    ) -> HTMLResponse:
        flash = request.session.pop("flash", None) if who and who.via == "session" else None
        html = templates.get_template(name).render(
            who=who,
            csrf=request.session.get("csrf", ""),
            path=request.url.path,
            flash=flash,
            no_auth=auth.no_auth,
            **values,
        )
        return HTMLResponse(html, status_code=http_status)

    # --- health, for uptime monitors (no authentication) ----------------------------------

    @app.get("/health")
    def health() -> JSONResponse:
        found = backend.health()()
        body = jsonable(found)
        body["services"] = [_service_json(s) for s in found.services]
        return JSONResponse(body, status_code=200 if found.ok else 503)

    # --- the JSON API ---------------------------------------------------------------------

    @app.get("/api/me")
    def me(who: Reader) -> dict:
        return {"user": who.user, "role": who.role.value, "via": who.via}

    @app.get("/api/overview")
    def api_overview(who: Reader) -> dict:
        overview = backend.dashboard().overview()
        body = jsonable(overview)
        body["services"] = [_service_json(s) for s in overview.services]
        body["halted"] = bool(overview.status.halts)
        return body

    @app.get("/api/pool")
    def api_pool(who: Reader, limit: int | None = None) -> list:
        return jsonable(backend.dashboard().pool(limit))

    @app.get("/api/live")
    def api_live(who: Reader) -> list:
        return jsonable(backend.dashboard().live())

    @app.get("/api/strategies/{key}")
    def api_strategy(who: Reader, key: str) -> dict:
        report = backend.strategy_reports().report(key)
        return jsonable(report) | {"robustness": robustness_text(report)}

    @app.get("/api/events")
    def api_events(who: Reader, limit: int = EVENTS_SHOWN) -> dict:
        log_ = backend.dashboard().events(limit)
        return {
            "events": [{"name": row.name, **jsonable(row.event)} for row in log_.events],
            "retirements": jsonable(log_.retirements),
        }

    @app.get("/api/services")
    def api_services(who: Reader) -> list:
        return [_service_json(s) for s in backend.dashboard().services()]

    @app.post("/api/halt")
    def api_halt(who: Operator, body: Note | None = None) -> dict:
        return jsonable(_halt(who, HaltKind.HALT, body.reason if body else ""))

    @app.post("/api/flatten")
    def api_flatten(who: Operator, body: Note | None = None) -> dict:
        return jsonable(_halt(who, HaltKind.FLATTEN, body.reason if body else ""))

    @app.post("/api/resume")
    def api_resume(who: Operator) -> dict:
        return {"lifted": jsonable(_resume(who))}

    @app.post("/api/strategies/{key}/retire")
    def api_retire(who: Operator, key: str, body: Retirement) -> dict:
        return jsonable(_retire(who, key, body.why))

    # --- actions (one path for the API and the pages) -------------------------------------

    def _halt(who: Principal, kind: HaltKind, reason: str):
        halt = backend.kill_switch().halt(who.by, reason.strip(), kind)
        log.warning("web: %s by %s (halt %s): %s", kind, who.by, halt.id, reason or "no note")
        return halt

    def _resume(who: Principal):
        lifted = backend.kill_switch().resume(who.by)
        log.warning("web: resume by %s lifted %d halt(s)", who.by, len(lifted))
        return lifted

    def _retire(who: Principal, key: str, why: str):
        event = backend.retire_by_hand()(key, why, who.by)
        log.warning("web: %s retired by %s: %s", key, who.by, event.reason)
        return event

    # --- login ----------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, None, "login.html", next=_local(next), error=None)

    @app.post("/login")
    def login(
        request: Request,
        token: Annotated[str, Form()],
        user: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        role = auth.role_of(token.strip())
        if role is None:
            log.warning("web: refused login of %r from %s", user[:40], _client(request))
            return page(request, None, "login.html", 401, next=_local(next), error="wrong token")
        name = user_name(user, role.value)
        request.session.clear()
        request.session.update(
            role=role.value, user=name, key=auth.fingerprint(role), csrf=secrets.token_urlsafe(32)
        )
        log.info("web: %s logged in as %s from %s", name, role, _client(request))
        return RedirectResponse(_local(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # --- pages ----------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def overview_page(request: Request, who: PageReader) -> HTMLResponse:
        overview = backend.dashboard().overview()
        funnel = overview.status.statuses
        return page(
            request,
            who,
            "overview.html",
            overview=overview,
            status=overview.status,
            funnel=funnel,
            widest=max(funnel.values(), default=0) or 1,
            scores_chart=charts.histogram(overview.scores, "backtest score"),
        )

    @app.get("/pool", response_class=HTMLResponse)
    def pool_page(request: Request, who: PageReader) -> HTMLResponse:
        rows = backend.dashboard().pool()
        return page(request, who, "pool.html", rows=rows)

    @app.get("/live", response_class=HTMLResponse)
    def live_page(request: Request, who: PageReader) -> HTMLResponse:
        rows = backend.dashboard().live()
        equity = {r.id: charts.curve(r.equity, "equity", steps=True) for r in rows}
        return page(request, who, "live.html", rows=rows, equity=equity)

    @app.get("/strategies/{key}", response_class=HTMLResponse)
    def strategy_page(request: Request, who: PageReader, key: str) -> HTMLResponse:
        report = backend.strategy_reports().report(key)
        latest = report.backtests[-1] if report.backtests else None
        chart = None
        if latest is not None and latest.equity:
            from sixbtc.domain.candles import from_ms

            points = [(from_ms(t), v) for t, v in latest.equity]
            chart = charts.curve(points, "backtest equity", latest.holdout_window.start)
        return page(
            request,
            who,
            "strategy.html",
            report=report,
            s=report.strategy,
            latest=latest,
            equity_chart=chart,
            robustness=robustness_text(report),
            retirable=report.strategy.status in (Status.LIVE, Status.ACTIVE),
        )

    @app.get("/events", response_class=HTMLResponse)
    def events_page(request: Request, who: PageReader) -> HTMLResponse:
        return page(request, who, "events.html", log=backend.dashboard().events(EVENTS_SHOWN))

    @app.get("/services", response_class=HTMLResponse)
    def services_page(request: Request, who: PageReader) -> HTMLResponse:
        return page(request, who, "services.html", services=backend.dashboard().services())

    @app.post("/actions/{action}")
    def action_form(
        request: Request,
        who: PageOperator,
        action: str,
        reason: Annotated[str, Form()] = "",
        confirm: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        if action == "halt":
            halt = _halt(who, HaltKind.HALT, reason)
            message = f"halt {halt.id} set: no new entries"
        elif action == "flatten":
            if confirm != "yes":
                raise ApplicationError("flatten: tick the box to confirm closing every position")
            halt = _halt(who, HaltKind.FLATTEN, reason)
            message = f"flatten {halt.id} set: every position closes at the next pass"
        elif action == "resume":
            lifted = _resume(who)
            message = f"{len(lifted)} halt(s) lifted" if lifted else "trading was not halted"
        else:
            raise HTTPException(404, f"no action {action!r}")
        request.session["flash"] = message
        return RedirectResponse(_local(next), status_code=303)

    @app.post("/strategies/{key}/retire")
    def retire_form(
        request: Request, who: PageOperator, key: str, why: Annotated[str, Form()] = ""
    ) -> Response:
        event = _retire(who, key, why)
        request.session["flash"] = f"{key} retired ({event.from_status} -> RETIRED)"
        return RedirectResponse(f"/strategies/{quote(key)}", status_code=303)

    return app


async def _require_action(request: Request, who: Principal) -> None:
    """Actions need the operator role; from a browser session also the session's form token
    (the CSRF check: SameSite=Strict cookies and this token)."""
    if who.role is not Role.OPERATOR:
        raise HTTPException(403, "this action needs the operator role (SIXBTC_WEB_TOKEN)")
    if who.via == "session":
        sent = request.headers.get("x-csrf-token")
        if sent is None and "form" in request.headers.get("content-type", ""):
            sent = (await request.form()).get("csrf")
        expected = request.session.get("csrf", "")
        if not (expected and isinstance(sent, str) and secrets.compare_digest(sent, expected)):
            raise HTTPException(403, "the form's token is missing or stale; reload the page")


def _service_json(health) -> dict:
    return jsonable(health.heartbeat) | {"age_seconds": health.age_seconds, "state": health.state}


def _local(target: str) -> str:
    """``target`` when it is a path of this site, else ``/`` (never redirect elsewhere)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _when(value) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"
