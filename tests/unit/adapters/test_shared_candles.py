"""The shared candle buffer: what the parent writes the worker reads, and nothing but the parent
can write it."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os

import numpy as np
import pytest
from tests.strategy_samples import random_walk

from sixbtc.adapters.sandbox.shared import (
    BAR_BYTES,
    MINIMUM_BYTES,
    CandleBuffer,
    capacity_for,
    map_readonly,
    read_columns,
)
from sixbtc.domain.candles import COLUMNS


@pytest.fixture
def buffer():
    shared = CandleBuffer(MINIMUM_BYTES)
    mapping = map_readonly(os.dup(shared.readonly_fd), shared.size)
    shared.handed_over()
    yield shared, mapping
    mapping.close()
    shared.close()


def test_the_worker_reads_the_candles_the_parent_wrote_as_private_writable_copies(buffer):
    shared, mapping = buffer
    for bars, seed in ((900, 1), (300, 2)):  # a shorter request after a longer one
        candles = random_walk(bars, seed=seed)
        shared.write(candles)
        columns = read_columns(mapping, bars)
        for name in COLUMNS:
            np.testing.assert_array_equal(columns[name], getattr(candles, name))
            assert columns[name].flags.writeable
        columns["close"][:] = 0.0  # a strategy's own copy: the buffer is untouched
        np.testing.assert_array_equal(read_columns(mapping, bars)["close"], candles.close)


def test_a_shorter_request_leaves_nothing_of_a_longer_one_in_the_buffer(buffer):
    shared, mapping = buffer
    shared.write(random_walk(900, seed=1))
    shared.write(random_walk(300, seed=2))
    rest = np.frombuffer(mapping, np.uint8)[300 * BAR_BYTES :]
    assert not rest.any()


def test_the_memory_file_refuses_writes_whoever_opens_it():
    shared = CandleBuffer(MINIMUM_BYTES)
    writable = os.open(f"/proc/self/fd/{shared.readonly_fd}", os.O_RDWR)
    try:
        with pytest.raises(PermissionError):
            mmap.mmap(writable, shared.size)
        with pytest.raises(PermissionError):
            os.write(writable, b"x")
        with pytest.raises(PermissionError):
            os.ftruncate(writable, 0)
    finally:
        os.close(writable)
        shared.handed_over()
        shared.close()


def test_the_workers_mapping_cannot_be_written_or_made_writable(buffer):
    _, mapping = buffer
    with pytest.raises(TypeError):
        mapping[0:8] = bytes(8)
    view = np.frombuffer(mapping, np.uint8)
    with pytest.raises(ValueError):
        view.setflags(write=True)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(view.ctypes.data, view.size, 3) == -1  # PROT_READ | PROT_WRITE
    assert ctypes.get_errno() == errno.EACCES


def test_buffers_are_sized_in_powers_of_two_from_the_minimum():
    assert capacity_for(0) == MINIMUM_BYTES
    assert capacity_for(MINIMUM_BYTES // BAR_BYTES) == MINIMUM_BYTES
    bigger = capacity_for(MINIMUM_BYTES // BAR_BYTES + 1)
    assert bigger == 2 * MINIMUM_BYTES
    assert CandleBuffer(bigger).fits(bigger // BAR_BYTES)
