"""When work on a strategy failed for a reason that is not the strategy's (our machinery: a
database error, a sandbox worker that died, missing market data), when to try it again.

The strategy keeps its status; only its claim is dropped and it waits, doubling its wait after each
failure in a row, so that one strategy that keeps failing never blocks the queue and never costs a
strategy its place. A success clears the record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

#: Longest message kept of the error (the whole traceback goes to the log).
MAX_ERROR_LENGTH = 500


@attrs.frozen
class WorkFailure:
    """Failures in a row of work on one strategy: how many, the last error and when, and the time
    before which no worker claims the strategy again."""

    count: int
    error: str
    at: datetime
    retry_after: datetime


@attrs.frozen
class RetryPolicy:
    """Wait ``first`` after a first failure, doubled after each further one, at most ``longest``."""

    first: timedelta = timedelta(minutes=1)
    longest: timedelta = timedelta(hours=6)

    def __attrs_post_init__(self) -> None:
        if not timedelta(0) < self.first <= self.longest:
            raise ValueError(
                f"retry waits: first {self.first}, longest {self.longest}; expected "
                "0 < first <= longest"
            )

    def after(self, previous: WorkFailure | None, error: str, now: datetime) -> WorkFailure:
        """The record after one more failure with ``error`` at ``now``."""
        count = 1 if previous is None else previous.count + 1
        wait = min(self.first * 2 ** min(count - 1, 32), self.longest)
        return WorkFailure(count, error[:MAX_ERROR_LENGTH], now, now + wait)
