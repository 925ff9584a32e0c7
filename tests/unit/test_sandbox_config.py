"""The ``sandbox:`` configuration section and the signal source the container builds from it."""

from pathlib import Path

import pytest

from sixbtc import config, containers
from sixbtc.config import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def test_shipped_file_holds_the_sandbox_defaults():
    sandbox = config.load(SHIPPED, environ={}).sandbox
    assert (sandbox.cpu_seconds, sandbox.memory_mb, sandbox.workers) == (10, 1024, 0)


def test_container_builds_the_signal_source_with_the_configured_limits():
    env = {
        "SIXBTC_SANDBOX__CPU_SECONDS": "3",
        "SIXBTC_SANDBOX__MEMORY_MB": "512",
        "SIXBTC_SANDBOX__WORKERS": "5",
    }
    source = containers.build(config.load(SHIPPED, environ=env)).signal_source()
    try:
        assert (source.cpu_seconds, source.memory_mb, source.size) == (3, 512, 5)
    finally:
        source.close()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIXBTC_SANDBOX__CPU_SECONDS": "0"}, "sandbox.cpu_seconds: 0; expected an integer >= 1"),
        (
            {"SIXBTC_SANDBOX__CPU_SECONDS": "2.5"},
            "sandbox.cpu_seconds: 2.5 (float); expected int",
        ),
        (
            {"SIXBTC_SANDBOX__MEMORY_MB": "32"},
            "sandbox.memory_mb: 32; expected an integer >= 64 (MiB)",
        ),
        ({"SIXBTC_SANDBOX__WORKERS": "-1"}, "sandbox.workers: -1; expected a number >= 0"),
        ({"SIXBTC_SANDBOX__THREADS": "2"}, "sandbox.threads: unknown key"),
    ],
)
def test_invalid_sandbox_values_fail_at_load_naming_key_value_and_expectation(env, message):
    with pytest.raises(ConfigError) as error:
        config.load(SHIPPED, environ=env)
    assert message in str(error.value)
