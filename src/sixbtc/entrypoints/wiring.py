"""The one way entrypoints reach the adapters: the container of a configuration file.

The composition root imports every adapter (numba, ccxt, pandas, SQLAlchemy: seconds), so it is
imported here on first use, not when the command line starts: ``sixbtc --help``, configuration
errors and refused input answer at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sixbtc import config as configuration

if TYPE_CHECKING:
    from sixbtc.config import Config
    from sixbtc.containers import Container, Pipeline


def container(config: str | Config | None) -> Container:
    """The container of ``config`` (a loaded Config, or a file path; None: the defaults)."""
    from sixbtc.containers import build

    loaded = config if isinstance(config, configuration.Config) else configuration.load(config)
    return build(loaded)


def use_cases(adapters: Container) -> Pipeline:
    """The pipeline's use cases on ``adapters``."""
    from sixbtc.containers import use_cases as pipeline

    return pipeline(adapters)
