"""The numba kernel's exit codes as the domain's exit reasons."""

from __future__ import annotations

from sixbtc.domain.position import ExitReason

#: Integer codes used by the numba kernel, in the order of the kernel's constants.
EXIT_CODES = (
    None,
    ExitReason.STOP_LOSS,
    ExitReason.TAKE_PROFIT,
    ExitReason.SIGNAL,
    ExitReason.MAX_HOLD,
    ExitReason.END,
)
