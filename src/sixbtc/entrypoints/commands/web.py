"""``sixbtc web`` (and ``sixbtc-web``): the HTTP API and the dashboard on the configured database.

FastAPI, uvicorn and Jinja2 are imported when the server starts, never by ``sixbtc --help``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from sixbtc.application.errors import ApplicationError
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.console import bounded

log = logging.getLogger("sixbtc.web")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "web",
        help="serve the dashboard and the HTTP API (127.0.0.1:8080)",
        description="Serve the dashboard (overview, pool, LIVE, strategies, events, services) "
        "and the JSON API under /api on the configured database, with GET /health for an "
        "uptime monitor. Everything but /health needs a token from the environment: "
        "SIXBTC_WEB_TOKEN (operator: also halt, flatten, resume, retire) and "
        "SIXBTC_WEB_READ_TOKEN (read-only), sent as `Authorization: Bearer TOKEN` or given at "
        "the login form. It refuses to start without a token, unless --no-auth on a loopback "
        "address (a local read-only view: no action).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument("--port", type=bounded(int, 1), default=8080, help="port (default: 8080)")
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="without tokens, on a loopback address only: a read-only view, no action",
    )
    parser.add_argument(
        "--secure-cookies",
        action="store_true",
        help="send the session cookie over HTTPS only (behind a TLS proxy)",
    )
    parser.set_defaults(handler=serve, log_level=logging.INFO)


def serve(args: argparse.Namespace) -> int:
    from sixbtc.entrypoints.web.auth import WebAuth, WebConfigError

    try:
        auth = WebAuth.from_environment(os.environ, args.host, args.no_auth)
    except WebConfigError as error:
        raise ApplicationError(f"web: {error}") from None
    import uvicorn

    from sixbtc.entrypoints.web.app import create_app

    container = wiring.container(args.config)
    try:
        container.schema().require_current()
        app = create_app(wiring.use_cases(container), auth, secure_cookies=args.secure_cookies)
        mode = "no authentication (read-only)" if auth.no_auth else repr(auth)
        log.info("serving http://%s:%d (%s)", args.host, args.port, mode)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False)
    finally:
        container.shutdown_resources()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``sixbtc-web [OPTIONS]``: ``sixbtc web``."""
    from sixbtc.entrypoints.cli import main as sixbtc

    return sixbtc(["web", *(sys.argv[1:] if argv is None else argv)])
