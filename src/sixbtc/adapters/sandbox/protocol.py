"""Framing between the parent, the fork server and strategy processes: 4-byte big-endian length,
then the payload.

A request is two frames: a pickle of ``(nonce, code, cpu_seconds, bars, fresh)``, then a pickle
of the candle arrays, which the server passes on to a strategy process without unpickling them.
The server and the strategy processes trust their parent. A reply starts with the request's nonce
(:data:`NONCE_SIZE` random bytes), so that it can never be taken for the answer to another
request, then one status byte and raw int8 signals or a UTF-8 message. Replies are never
unpickled: a strategy process runs untrusted code and could forge any of its replies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import time

HEADER = struct.Struct(">I")
NONCE_SIZE = 8
READY = b"R"
#: Sent by a strategy process (and passed on by the server).
SIGNALS = b"S"
ERROR = b"E"
#: Sent by the server about the strategy process: out of time, dead, or a reply not to this request.
TIMEOUT = b"T"
DIED = b"D"
MALFORMED = b"M"
#: Sent by the server when it could not start a confined strategy process (not the strategy's fault).
BROKEN = b"X"
#: Replies longer than this are refused: no legitimate reply is that large.
MAX_REPLY = 64 * 1024 * 1024


class ChannelClosed(Exception):
    """The other end closed the pipe (the worker died or was killed)."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


def widen(fd: int) -> None:
    """Give a pipe a 1 MiB buffer where allowed (fewer switches between the two processes)."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def new_nonce() -> bytes:
    return os.urandom(NONCE_SIZE)


def _wait(fd: int, deadline: float | None, readable: bool, what: str) -> None:
    """Wait until ``fd`` is readable (or writable), or raise ChannelTimeout at ``deadline``."""
    if deadline is None:
        return
    left = deadline - time.monotonic()
    watched = ([fd], []) if readable else ([], [fd])
    if left <= 0 or not any(select.select(*watched, [], left)[:2]):
        raise ChannelTimeout(f"{what} within the time limit")


def write_frame(fd: int, payload: bytes, deadline: float | None = None) -> None:
    """Write one frame; with a ``deadline``, ``fd`` must be non-blocking."""
    for part in (HEADER.pack(len(payload)), payload):
        data = memoryview(part)
        while data:
            _wait(fd, deadline, readable=False, what=f"could not write {len(data)} bytes")
            try:
                written = os.write(fd, data)
            except BlockingIOError:
                continue
            data = data[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    while view:
        _wait(fd, deadline, readable=True, what=f"no reply ({len(view)} bytes missing)")
        count = os.readv(fd, [view])
        if not count:
            raise ChannelClosed("the other end closed the channel")
        view = view[count:]
    return buffer


def read_frame(fd: int, deadline: float | None = None, limit: int = MAX_REPLY) -> bytearray:
    """One frame's payload; ``deadline`` is a ``time.monotonic()`` value (None: wait forever)."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if size > limit:
        raise ChannelClosed(f"frame of {size} bytes exceeds the limit of {limit}")
    return _read_exact(fd, size, deadline)
