import pytest

from sixbtc import config
from sixbtc.config import ConfigError
from sixbtc.containers import build, use_cases


def drafts(settings, count=5):
    (_genetic, catalogue) = use_cases(build(settings)).strategy_sources()
    return [d.code for d in catalogue.propose(count, [])]


def test_a_fixed_generator_seed_reproduces_the_proposals():
    pinned = config.load(None, environ={"SIXBTC_GENERATOR__SEED": "7"})
    assert drafts(pinned) == drafts(pinned)


def test_the_default_seed_proposes_new_strategies_in_every_process():
    fresh = config.load(None, environ={})
    assert fresh.generator.seed == 0
    assert drafts(fresh) != drafts(fresh)


def test_a_negative_generator_seed_is_refused():
    with pytest.raises(ConfigError, match=r"generator\.seed: -1"):
        config.load(None, environ={"SIXBTC_GENERATOR__SEED": "-1"})
