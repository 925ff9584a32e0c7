"""The allow-list's copy of the indicator helpers' names stays the helpers' own list."""

from sixbtc import indicators
from sixbtc.adapters.inspection.allowlist import INDICATORS


def test_the_allowed_indicator_names_are_exactly_those_the_module_exports():
    assert frozenset(indicators.__all__) == INDICATORS
