"""A strategy's source as a user hands it over: a file of bounded size, UTF-8 text that parses.

These checks are cheap and come first, so that a refusal answers at once, before anything heavy
is loaded; the full interface check is the inspector's (:class:`~.ports.CodeInspector`).
"""

from __future__ import annotations

import ast
from pathlib import Path

from sixbtc.application.errors import ApplicationError, InvalidStrategyCode
from sixbtc.domain.reasons import Code, Reason

#: The largest strategy file accepted: one class of signals needs far less.
MAX_BYTES = 256 * 1024


class StrategyFileError(ApplicationError):
    """The file cannot be taken as a strategy's source (missing, too large, not text)."""


def syntax_tree(code: str) -> ast.Module:
    """The parsed code; InvalidStrategyCode (``syntax_error``) when it does not parse."""
    try:
        return ast.parse(code, filename="<strategy>")
    except SyntaxError as error:
        reason = Reason(Code.SYNTAX_ERROR, f"{error.msg} at line {error.lineno}")
    except ValueError as error:  # null bytes
        reason = Reason(Code.SYNTAX_ERROR, str(error))
    raise InvalidStrategyCode(reason)


def read_source(path: Path) -> str:
    """The text of the strategy file at ``path``, checked to parse as Python."""
    if not path.is_file():
        raise StrategyFileError(
            f"strategy file {path}: {'is not a file' if path.exists() else 'not found'}"
        )
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise StrategyFileError(
            f"strategy file {path}: {size:,} bytes; expected at most {MAX_BYTES:,} (256 KB)"
        )
    try:
        code = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StrategyFileError(f"strategy file {path}: not UTF-8 text ({error})") from None
    except OSError as error:
        raise StrategyFileError(
            f"strategy file {path}: cannot be read ({error.strerror})"
        ) from None
    syntax_tree(code)
    return code
