"""Errors the application reports; adapters map their technology's errors onto these."""

from sixbtc.domain.reasons import Reason


class ApplicationError(Exception):
    """Base class of the errors a use case may surface to an entrypoint."""


class Interrupted(Exception):
    """A stop was asked while a use case ran: its work is dropped, nothing is recorded, and the
    work is taken up again after the restart. Neither a failure of ours nor the strategy's."""


class NotFound(ApplicationError):
    """The requested record does not exist."""


class DuplicateRecord(ApplicationError):
    """A record with the same key is already stored (a subaccount id, an order's client id)."""


class DuplicateStrategy(ApplicationError):
    """A strategy with the same normalised code hash is already stored."""


class ConcurrentChange(ApplicationError):
    """Another unit of work changed the strategy's status since this one loaded it; nothing of
    this unit of work is kept (retry the tick)."""


class DatabaseUnavailable(ApplicationError):
    """The database could not be reached or refused the work for a reason of its own (connection
    lost, server restarting, read-only, locked): nothing of the unit of work was kept; retry
    shortly."""


class SchemaError(ApplicationError):
    """The database's schema cannot be used or changed as asked (an unknown revision, a migration
    refused or cancelled); nothing was changed."""


class MarketDataUnavailable(ApplicationError):
    """Candles could not be obtained (unknown symbol, no data in range, exchange down)."""


class ExchangeError(ApplicationError):
    """The exchange refused or failed an operation; nothing is assumed to have happened."""


class ExchangeUnavailable(ExchangeError):
    """The exchange could not be reached or asked us to slow down (timeout, disconnect, rate
    limit): whether the request took effect is unknown until it is looked up; retry later."""


class OrderRejected(ExchangeError):
    """The exchange refused an order for what it is (size, margin, price): sending it again would
    be refused again."""


class NotificationFailed(ApplicationError):
    """A notification could not be delivered (receiver down, refused, timed out)."""


class StrategyFailed(ApplicationError):
    """Strategy code raised, or returned something other than one -1/0/+1 signal per bar."""


class StrategyTimeout(StrategyFailed):
    """Strategy code used up its CPU or wall-clock time limit."""


class InvalidStrategyCode(ApplicationError):
    """Strategy code is refused; ``reason`` is the validator's reason (``syntax_error: ...``)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason
