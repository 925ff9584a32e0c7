"""Reasons: a code from one list plus figures, stored and compared as their text."""

from __future__ import annotations

import copy
import pickle

import pytest

from sixbtc.domain.reasons import MAX_LENGTH, Code, Reason


def test_a_reason_is_its_stored_text_with_its_parts() -> None:
    reason = Reason(Code.POOL_FULL, "20 <= pool minimum 21")
    assert reason == "pool_full: 20 <= pool minimum 21"
    assert (reason.code, reason.figures) == (Code.POOL_FULL, "20 <= pool minimum 21")
    assert Reason(Code.TIMEOUT) == "timeout" and Reason(Code.TIMEOUT).figures == ""


@pytest.mark.parametrize(
    "text, code, figures",
    [
        ("lookahead: shift(-1) at line 10", Code.LOOKAHEAD, "shift(-1) at line 10"),
        ("timeout", Code.TIMEOUT, ""),
        ("failed", Code.FAILED, ""),
        ("backtest_error: strategy code on BTC 4h: a: b", Code.BACKTEST_ERROR,
         "strategy code on BTC 4h: a: b"),
        ("stopped by hand", Code.OTHER, "stopped by hand"),
    ],
)  # fmt: skip
def test_stored_text_parses_back_to_its_code(text: str, code: Code, figures: str) -> None:
    reason = Reason.parse(text)
    assert (reason, reason.code, reason.figures) == (text, code, figures)


def test_a_long_reason_is_cut_and_copies_keep_the_parts() -> None:
    reason = Reason(Code.RUNTIME_ERROR, "x" * 2000)
    assert len(reason) == MAX_LENGTH and reason.code is Code.RUNTIME_ERROR
    for clone in (copy.copy(reason), copy.deepcopy(reason), pickle.loads(pickle.dumps(reason))):
        assert clone == reason and clone.code is Code.RUNTIME_ERROR
