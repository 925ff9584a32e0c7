"""Framing between the parent, the fork server and strategy processes: 4-byte big-endian length,
then the payload.

A request is one frame: a pickle of ``(nonce, code, cpu_seconds, bars, fresh)``; its ``bars``
candles are in the worker's shared buffer (:mod:`.shared`).
The server and the strategy processes trust their parent. A reply starts with the request's nonce
(:data:`NONCE_SIZE` random bytes), so that it can never be taken for the answer to another
request, then one status byte and raw int8 signals or a UTF-8 message. Replies are never
unpickled: a strategy process runs untrusted code and could forge any of its replies.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
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


class FrameTooLarge(ChannelClosed):
    """A frame announced more bytes than its limit (the sender broke the protocol)."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


class Hangup(Exception):
    """While waiting on one channel, another one that must stay quiet became readable: the fork
    server's parent closed its end (it is gone) while the server waited on a strategy process."""


def widen(fd: int) -> None:
    """Give a pipe a 1 MiB buffer where allowed (fewer switches between the two processes)."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def new_nonce() -> bytes:
    return os.urandom(NONCE_SIZE)


def _wait(fd: int, deadline: float | None, readable: bool, what: str, hangup: int | None) -> None:
    """Wait until ``fd`` is readable (or writable), or raise ChannelTimeout at ``deadline`` and
    Hangup as soon as ``hangup`` (the read end of a pipe) is readable."""
    if deadline is None and hangup is None:
        return
    poller = select.poll()  # not select(): a service may hold descriptors above FD_SETSIZE
    poller.register(fd, select.POLLIN if readable else select.POLLOUT)
    if hangup is not None:
        poller.register(hangup, select.POLLIN)
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left <= 0:
        raise ChannelTimeout(f"{what} within the time limit")
    ready = dict(poller.poll(None if left is None else math.ceil(left * 1000)))
    if hangup is not None and ready.get(hangup):
        raise Hangup("the watched channel became readable (its writer is gone)")
    if not ready:
        raise ChannelTimeout(f"{what} within the time limit")


def write_frame(
    fd: int, payload: bytes, deadline: float | None = None, hangup: int | None = None
) -> None:
    """Write one frame; with a ``deadline`` or ``hangup``, ``fd`` must be non-blocking."""
    for part in (HEADER.pack(len(payload)), payload):
        data = memoryview(part)
        while data:
            _wait(fd, deadline, False, f"could not write {len(data)} bytes", hangup)
            try:
                written = os.write(fd, data)
            except BlockingIOError:
                continue
            data = data[written:]


def _read_exact(fd: int, size: int, deadline: float | None, hangup: int | None) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    while view:
        _wait(fd, deadline, True, f"no reply ({len(view)} bytes missing)", hangup)
        count = os.readv(fd, [view])
        if not count:
            raise ChannelClosed("the other end closed the channel")
        view = view[count:]
    return buffer


def read_frame(
    fd: int, deadline: float | None = None, limit: int = MAX_REPLY, hangup: int | None = None
) -> bytearray:
    """One frame's payload; ``deadline`` is a ``time.monotonic()`` value (None: wait forever);
    ``hangup``: a pipe watched meanwhile (see :func:`_wait`)."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline, hangup))
    if size > limit:
        raise FrameTooLarge(f"frame of {size} bytes exceeds the limit of {limit}")
    return _read_exact(fd, size, deadline, hangup)
