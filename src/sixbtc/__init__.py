"""SixBTC: an automated factory of crypto trading strategies.

The package is hexagonal: :mod:`sixbtc.domain` holds the pure rules (strategy lifecycle, the ACTIVE
pool, scoring, retirement, selection), :mod:`sixbtc.application` the use cases and the ports they
need, :mod:`sixbtc.adapters` the technology behind those ports, and :mod:`sixbtc.entrypoints` the
command line and the service loops. :mod:`sixbtc.containers` wires them from :mod:`sixbtc.config`.
"""

__version__ = "0.1.0"
