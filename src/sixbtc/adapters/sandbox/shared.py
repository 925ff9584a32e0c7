"""Candles handed to a sandbox worker through shared memory rather than a pipe.

Each worker gets a memory file (``memfd``) that its parent writes a request's candle columns into,
one after another, before sending the request's small header through the pipe. The parent maps it
writable, then seals it: no later mapping can be writable, nothing can write it through a
descriptor, and its size is fixed, whoever opens it and however. The worker maps it read-only from a
read-only descriptor before it locks itself down; its strategy processes inherit the mapping when
they are forked. Strategy code can read it but never write it, so no strategy can change the
candles another one is given. The parent writes only while the worker serves no request, and
clears what an earlier, longer request left beyond the current one, so that a request shows the
code nothing but its own bars; a strategy process copies its columns before its code runs.

Python's ``mmap`` keeps a duplicate of the descriptor it maps; the worker's lock-down closes that
duplicate, so the worker's mapping is never closed, resized or asked its size: it lasts as long as
the process.
"""

from __future__ import annotations

import fcntl
import mmap
import os

import numpy as np

from sixbtc.domain.candles import COLUMNS, Candles

#: Each column's type, in the order the columns are laid out.
DTYPES = {name: np.dtype(np.int64 if name == "time" else np.float64) for name in COLUMNS}
#: Bytes one bar takes in the buffer.
BAR_BYTES = sum(dtype.itemsize for dtype in DTYPES.values())
#: The smallest buffer: about 350,000 bars (three years of 5-minute candles).
MINIMUM_BYTES = 16 << 20
#: ``F_SEAL_FUTURE_WRITE`` (Linux 5.1): no new writable mapping or write; the parent's stays.
_SEAL_FUTURE_WRITE = getattr(fcntl, "F_SEAL_FUTURE_WRITE", 0x0010)
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | _SEAL_FUTURE_WRITE | fcntl.F_SEAL_SEAL


def capacity_for(bars: int) -> int:
    """The buffer size for requests of up to ``bars`` bars: a power of two, at least the minimum."""
    needed = max(bars * BAR_BYTES, MINIMUM_BYTES)
    return 1 << (needed - 1).bit_length()


def _offsets(bars: int) -> dict[str, int]:
    offsets, at = {}, 0
    for name, dtype in DTYPES.items():
        offsets[name] = at
        at += bars * dtype.itemsize
    return offsets


class CandleBuffer:
    """The parent's side: a memory file of ``size`` bytes it writes candles into, and a read-only
    descriptor of it to hand to the worker (:attr:`readonly_fd`, closed by :meth:`handed_over`)."""

    def __init__(self, size: int) -> None:
        self.size = size
        #: Bytes the last request used: what the next, if shorter, clears beyond its own.
        self._used = 0
        fd = os.memfd_create("sixbtc-candles", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
            try:
                fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
                # A new open file description, read-only, of the same memory file.
                self.readonly_fd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
            except BaseException:
                self._map.close()
                raise
        finally:
            os.close(fd)

    def fits(self, bars: int) -> bool:
        return bars * BAR_BYTES <= self.size

    def write(self, candles: Candles) -> None:
        """Lay ``candles``' columns out for the worker (the caller checked :meth:`fits`) and clear
        what a longer request left after them."""
        used = len(candles) * BAR_BYTES
        for name, at in _offsets(len(candles)).items():
            column = np.ascontiguousarray(getattr(candles, name), dtype=DTYPES[name])
            self._map[at : at + column.nbytes] = memoryview(column).cast("B")
        if self._used > used:
            self._map[used : self._used] = bytes(self._used - used)
        self._used = used

    def handed_over(self) -> None:
        """The worker holds the read-only descriptor now: close this process's copy."""
        os.close(self.readonly_fd)

    def close(self) -> None:
        self._map.close()


def map_readonly(fd: int, size: int) -> mmap.mmap:
    """The worker's side: ``fd`` (read-only) mapped, then closed (the mapping's own duplicate
    stays open until the lock-down closes it: see the module docstring)."""
    try:
        return mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def read_columns(mapping: mmap.mmap, bars: int) -> dict[str, np.ndarray]:
    """A private, writable copy of the ``bars`` bars the parent laid out in ``mapping``."""
    return {
        name: np.frombuffer(mapping, DTYPES[name], bars, at).copy()
        for name, at in _offsets(bars).items()
    }
