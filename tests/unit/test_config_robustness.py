"""The ``robustness`` keys: the permutation count and its validation against the p-value gate."""

from pathlib import Path

import pytest

from sixbtc import config
from sixbtc.config import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def test_shipped_file_runs_up_to_ninety_nine_permutations():
    loaded = config.load(SHIPPED, environ={})
    assert loaded.robustness.permutations == 99
    policy = loaded.robustness_policy()
    assert (policy.permutations, policy.max_permutation_p) == (99, 0.05)
    assert (policy.min_trades_training, policy.min_trades_holdout) == (30, 5)
    assert policy.min_deflated_sharpe == 0.95


def test_permutations_come_from_the_environment():
    loaded = config.load(SHIPPED, environ={"SIXBTC_ROBUSTNESS__PERMUTATIONS": "199"})
    assert loaded.robustness_policy().permutations == 199


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIXBTC_ROBUSTNESS__PERMUTATIONS": "-1"}, "robustness.permutations: -1"),
        (
            {"SIXBTC_ROBUSTNESS__PERMUTATIONS": "10"},
            r"robustness.permutations: 10; the smallest p-value 1/11 is above max_permutation_p "
            r"0.05, so no strategy could pass; expected >= 19",
        ),
        (
            {"SIXBTC_ROBUSTNESS__PERMUTATIONS": "0", "SIXBTC_ROBUSTNESS__MAX_PERMUTATION_P": "0.5"},
            "robustness.permutations: 0",
        ),
    ],
)
def test_unattainable_or_negative_permutation_counts_fail_at_load(env, message):
    with pytest.raises(ConfigError, match=message):
        config.load(SHIPPED, environ=env)


def test_zero_permutations_turn_the_test_off_when_any_p_value_passes():
    env = {"SIXBTC_ROBUSTNESS__PERMUTATIONS": "0", "SIXBTC_ROBUSTNESS__MAX_PERMUTATION_P": "1"}
    assert not config.load(SHIPPED, environ=env).robustness_policy().permutation_enabled
