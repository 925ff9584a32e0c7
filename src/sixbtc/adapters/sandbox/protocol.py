"""Framing between the parent and a sandbox worker: 4-byte big-endian length, then the payload.

Requests (parent to worker) are pickles: the worker trusts its parent. Replies (worker to parent)
are never unpickled: one status byte, then raw int8 signals or a UTF-8 message, because a worker
runs untrusted code and could forge any reply.
"""

from __future__ import annotations

import os
import select
import struct
import time

HEADER = struct.Struct(">I")
READY = b"R"
SIGNALS = b"S"
ERROR = b"E"
#: Replies longer than this are refused: no legitimate reply is that large.
MAX_REPLY = 64 * 1024 * 1024


class ChannelClosed(Exception):
    """The other end closed the pipe (the worker died or was killed)."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


def write_frame(fd: int, payload: bytes) -> None:
    data = memoryview(HEADER.pack(len(payload)) + payload)
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ChannelTimeout(f"no reply within the time limit ({remaining} bytes missing)")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ChannelClosed("the other end closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None, limit: int = MAX_REPLY) -> bytes:
    """One frame's payload; ``deadline`` is a ``time.monotonic()`` value (None: wait forever)."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if size > limit:
        raise ChannelClosed(f"frame of {size} bytes exceeds the limit of {limit}")
    return _read_exact(fd, size, deadline)
