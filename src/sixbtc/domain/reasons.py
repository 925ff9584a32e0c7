"""Why a strategy changed status: a code from one enumerated list, plus its figures.

A :class:`Reason` is stored as the text ``code: figures`` (``code`` alone without figures), the
format the original system and every report read; it is a ``str`` with its parts attached, so that
reports group by :attr:`Reason.code` and nobody splits text. Text read back from storage is parsed
once, by :meth:`Reason.parse`; text that starts with no known code (written by hand or by the
original system) keeps its words under :attr:`Code.OTHER`.
"""

from __future__ import annotations

import enum
from typing import Self

#: Longest reason kept (figures are cut to fit).
MAX_LENGTH = 500
#: What reports show for a retirement that recorded no reason (the original system's, before
#: its revision 775182bcf916 added one).
NOT_RECORDED = "(no reason recorded)"


class Code(enum.StrEnum):
    """Every reason code; the values are the stored labels."""

    # The validator.
    VALIDATED = "validated"
    SYNTAX_ERROR = "syntax_error"
    UNSAFE = "unsafe"
    LOOKAHEAD = "lookahead"
    LOOKAHEAD_SHUFFLE = "lookahead_shuffle"
    WARMUP_DEPENDENT = "warmup_dependent"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    # The backtester: the strategy's own failure, the research gates.
    BACKTEST_ERROR = "backtest_error"
    MIN_TRADES_TRAINING = "min_trades_training"
    MIN_TRADES_HOLDOUT = "min_trades_holdout"
    DEFLATED_SHARPE = "deflated_sharpe"
    PERMUTATION = "permutation"
    # The pool.
    ADMITTED = "admitted"
    RETEST = "retest"
    BELOW_ENTRY = "below_entry"
    POOL_FULL = "pool_full"
    EVICTED = "evicted"
    POOL_TRIM = "pool_trim"
    RETEST_BELOW_ENTRY = "retest_below_entry"
    RETEST_BELOW_POOL_MIN = "retest_below_pool_min"
    # Live trading and the monitor.
    #: The rotator deployed it to a subaccount.
    DEPLOYED = "deployed"
    LIVE_SCORE = "live_score"
    DEGRADATION = "degradation"
    DRAWDOWN = "drawdown"
    #: The strategy's code failed while it traded.
    LIVE_ERROR = "live_error"
    # The migration of the original system's FAILED strategies.
    FAILED = "failed"
    #: A strategy of the original system, written for its interface: retired at its first
    #: re-backtest (no backtest of ours chose its execution parameters).
    LEGACY_INTERFACE = "legacy_interface"
    #: An operator retired it by hand (``sixbtc web``): why, and by whom.
    OPERATOR = "operator"
    #: Text that names no known code.
    OTHER = "other"


class Reason(str):
    """A reason code and its figures, equal to (and stored as) its text."""

    code: Code
    figures: str

    def __new__(cls, code: Code, figures: str = "") -> Self:
        text = f"{code.value}: {figures}" if figures else code.value
        return cls._made(text[:MAX_LENGTH], code, figures)

    @classmethod
    def _made(cls, text: str, code: Code, figures: str) -> Self:
        reason = str.__new__(cls, text)
        reason.code, reason.figures = code, figures
        return reason

    @classmethod
    def parse(cls, text: str) -> Reason:
        """The reason stored as ``text``."""
        if isinstance(text, Reason):
            return text
        label, colon, figures = text.partition(":")
        try:
            code = Code(label.strip())
        except ValueError:
            return cls._made(text, Code.OTHER, text)
        if code is Code.OTHER:
            return cls._made(text, Code.OTHER, figures.strip())
        return cls._made(text, code, figures.strip() if colon else "")

    def __reduce__(self):  # copies and pickles keep the parts
        return (Reason.parse, (str(self),))
