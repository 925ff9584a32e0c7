"""Who may use ``sixbtc web``: two tokens from the environment, one per role, sent as a bearer
token by API clients or exchanged at the login form for a signed session cookie; actions need the
operator role and, from a browser, the session's form token (CSRF)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Mapping

import attrs

#: The operator's token: read everything, halt, flatten, resume, retire.
TOKEN = "SIXBTC_WEB_TOKEN"
#: The read-only token: every page and GET endpoint, no action.
READ_TOKEN = "SIXBTC_WEB_READ_TOKEN"
#: Signs the session cookies (default: derived from the tokens, so changing a token logs
#: everyone out).
SECRET = "SIXBTC_WEB_SECRET"
#: The shortest token accepted.
MIN_TOKEN_LENGTH = 16
#: How a user's name may look in records (``web:<user>``).
USER_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,40}$")


class WebConfigError(Exception):
    """``sixbtc web`` cannot start safely as configured (the message says what to set)."""


class Role(enum.StrEnum):
    READ = "read"
    OPERATOR = "operator"


@attrs.frozen
class Principal:
    """Who is asking: a role, a name for the records and how they proved it (``token``,
    ``session`` or ``none`` for the local read-only view of ``--no-auth``)."""

    role: Role
    user: str
    via: str

    @property
    def by(self) -> str:
        """How actions record this person."""
        return f"web:{self.user}"


@attrs.frozen(repr=False)
class WebAuth:
    """The tokens of each role (None: not configured), the session secret, and ``no_auth``: the
    local read-only view without tokens."""

    operator_token: str | None
    read_token: str | None
    secret: str
    no_auth: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], host: str, no_auth: bool) -> WebAuth:
        """The tokens of ``environ`` for a server on ``host``; WebConfigError when it would be
        unsafe: a non-loopback address without a token, no token without ``--no-auth``, a short
        token, one token for both roles, ``--no-auth`` with tokens or off loopback."""
        operator, read = environ.get(TOKEN) or None, environ.get(READ_TOKEN) or None
        for name, token in ((TOKEN, operator), (READ_TOKEN, read)):
            if token is not None and len(token) < MIN_TOKEN_LENGTH:
                raise WebConfigError(
                    f"{name}: shorter than {MIN_TOKEN_LENGTH} characters; make one with "
                    "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
        if operator is not None and operator == read:
            raise WebConfigError(f"{TOKEN} and {READ_TOKEN} are the same; give each role its own")
        loopback = is_loopback(host)
        if no_auth:
            if operator or read:
                raise WebConfigError(
                    f"--no-auth with {TOKEN} or {READ_TOKEN} set; drop one or the other"
                )
            if not loopback:
                raise WebConfigError(
                    f"--no-auth serves only 127.0.0.1 (or ::1); {host} is reachable from other "
                    f"machines: set {TOKEN} (and {READ_TOKEN} for read-only users)"
                )
            return cls(None, None, secrets.token_hex(32), no_auth=True)
        if not (operator or read):
            where = "on 127.0.0.1" if loopback else f"on {host}, reachable from other machines"
            hint = " or pass --no-auth for a local read-only view" if loopback else ""
            raise WebConfigError(
                f"no token {where}: set {TOKEN} (operator) and/or {READ_TOKEN} (read-only) in "
                f"the environment{hint}"
            )
        secret = (
            environ.get(SECRET)
            or hmac.new(
                b"sixbtc-web-session", f"{operator or ''}\0{read or ''}".encode(), hashlib.sha256
            ).hexdigest()
        )
        return cls(operator, read, secret)

    def role_of(self, token: str) -> Role | None:
        """The role ``token`` proves (compared in constant time), None when it proves none."""
        found = None
        for role, expected in ((Role.OPERATOR, self.operator_token), (Role.READ, self.read_token)):
            if expected is not None and hmac.compare_digest(token.encode(), expected.encode()):
                found = role
        return found

    def fingerprint(self, role: Role) -> str:
        """What a session of ``role`` keeps of its token: valid while that token is unchanged."""
        token = self.operator_token if role is Role.OPERATOR else self.read_token
        return hmac.new(self.secret.encode(), (token or "").encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never the tokens
        return f"WebAuth(operator={self.operator_token is not None}, read={self.read_token is not None}, no_auth={self.no_auth})"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def user_name(text: str, fallback: str) -> str:
    """``text`` when it is a fit name for the records, else ``fallback``."""
    text = text.strip()
    return text if USER_PATTERN.match(text) else fallback
