"""Candles handed to a sandbox worker through shared memory rather than a pipe.

Each worker gets a memory file (``memfd``) that its parent writes a request's candle columns into,
one after another, before sending the request's small header through the pipe. The worker maps it
read-only, from a descriptor opened read-only, before it locks itself down and closes that
descriptor; its strategy processes inherit the mapping when they are forked. Strategy code can read
it but never write it (a mapping of a read-only descriptor cannot be made writable), so no strategy
can change the candles another one is given. The parent writes only while the worker serves no
request; a strategy process gets its own copy of the columns before its code runs.
"""

from __future__ import annotations

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
        fd = os.memfd_create("sixbtc-candles", os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
            # A new open file description, read-only, of the same memory file.
            self.readonly_fd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            os.close(fd)

    def fits(self, bars: int) -> bool:
        return bars * BAR_BYTES <= self.size

    def write(self, candles: Candles) -> None:
        """Lay ``candles``' columns out for the worker (the caller checked :meth:`fits`)."""
        for name, at in _offsets(len(candles)).items():
            column = np.ascontiguousarray(getattr(candles, name), dtype=DTYPES[name])
            self._map[at : at + column.nbytes] = memoryview(column).cast("B")

    def handed_over(self) -> None:
        """The worker holds the read-only descriptor now: close this process's copy."""
        os.close(self.readonly_fd)

    def close(self) -> None:
        self._map.close()


def map_readonly(fd: int, size: int) -> mmap.mmap:
    """The worker's side: ``fd`` (read-only) mapped, then closed."""
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
