"""The generator's catalogue: entry rules per strategy type and optional filters, each a code
template with parameter ranges and the warm-up it needs.

Templates read their numbers from ``p = self.parameters``, so a strategy's genome is its
``parameters`` dict (rule names plus numbers) and the genetic source breeds by editing that dict.
Every template is causal (no negative shifts, no whole-column statistics) and declares a warm-up
long enough for its smoothers to forget their seed: generated strategies pass the lookahead and
warm-up checks by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs


@attrs.frozen
class Range:
    """Inclusive bounds of a numeric parameter; integers when both bounds are ints."""

    low: float
    high: float

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)


@attrs.frozen
class Rule:
    """An entry rule (``long``/``short`` boolean Series) or a filter (``long_ok``/``short_ok``)."""

    name: str
    ranges: Mapping[str, Range]
    lines: tuple[str, ...]
    warmup: Callable[[Mapping[str, float]], int]
    constraint: Callable[[Mapping[str, float]], bool] = lambda p: True


def _ewm(span: float) -> int:
    return int(20 * span) + 1


ENTRIES: dict[str, tuple[Rule, ...]] = {
    "MOM": (
        Rule(
            "roc",
            {"length": Range(3, 60), "threshold": Range(0.002, 0.06)},
            (
                'r = ta.roc(c, p["length"])',
                'long = r > p["threshold"]',
                'short = r < -p["threshold"]',
            ),
            lambda p: p["length"] + 1,
        ),
        Rule(
            "macd",
            {"fast": Range(5, 20), "slow": Range(21, 60), "signal": Range(5, 15)},
            (
                'line, trigger, hist = ta.macd(c, p["fast"], p["slow"], p["signal"])',
                "long = (hist > 0) & (hist.shift(1) <= 0)",
                "short = (hist < 0) & (hist.shift(1) >= 0)",
            ),
            lambda p: _ewm(p["slow"] + p["signal"]),
        ),
        Rule(
            "rsi_momentum",
            {"length": Range(5, 30), "level": Range(52.0, 75.0)},
            ('r = ta.rsi(c, p["length"])', 'long = r > p["level"]', 'short = r < 100 - p["level"]'),
            lambda p: _ewm(p["length"]),
        ),
    ),
    "REV": (
        Rule(
            "rsi_reversal",
            {"length": Range(3, 30), "level": Range(10.0, 40.0)},
            ('r = ta.rsi(c, p["length"])', 'long = r < p["level"]', 'short = r > 100 - p["level"]'),
            lambda p: _ewm(p["length"]),
        ),
        Rule(
            "bollinger",
            {"length": Range(10, 80), "width": Range(1.2, 3.5)},
            (
                'lower, middle, upper = ta.bollinger(c, p["length"], p["width"])',
                "long = c < lower",
                "short = c > upper",
            ),
            lambda p: p["length"],
        ),
        Rule(
            "zscore",
            {"length": Range(10, 120), "threshold": Range(0.8, 3.0)},
            (
                'z = ta.zscore(c, p["length"])',
                'long = z < -p["threshold"]',
                'short = z > p["threshold"]',
            ),
            lambda p: p["length"],
        ),
        Rule(
            "stochastic",
            {"length": Range(5, 40), "smooth": Range(2, 6), "level": Range(5.0, 30.0)},
            (
                'k, d = ta.stochastic(bars.high, bars.low, c, p["length"], p["smooth"])',
                'long = (k < p["level"]) & (k > d)',
                'short = (k > 100 - p["level"]) & (k < d)',
            ),
            lambda p: p["length"] + p["smooth"],
        ),
        Rule(
            "streak",
            {"length": Range(2, 6), "body": Range(0.0, 0.002)},
            (
                "move = (c - bars.open) / bars.open",
                'up = (move > p["body"]).astype(float).rolling(p["length"]).sum() == p["length"]',
                'down = (move < -p["body"]).astype(float).rolling(p["length"]).sum() == p["length"]',
                "long = down",
                "short = up",
            ),
            lambda p: p["length"],
        ),
        Rule(
            "cci",
            {"length": Range(10, 60), "level": Range(60.0, 250.0)},
            (
                'x = ta.cci(bars.high, bars.low, c, p["length"])',
                'long = x < -p["level"]',
                'short = x > p["level"]',
            ),
            lambda p: p["length"],
        ),
    ),
    "TRN": (
        Rule(
            "ema_cross",
            {"fast": Range(3, 40), "slow": Range(10, 200)},
            (
                'fast, slow = ta.ema(c, p["fast"]), ta.ema(c, p["slow"])',
                "long = (fast > slow) & (fast.shift(1) <= slow.shift(1))",
                "short = (fast < slow) & (fast.shift(1) >= slow.shift(1))",
            ),
            lambda p: _ewm(p["slow"]),
            lambda p: p["fast"] < p["slow"],
        ),
        Rule(
            "sma_trend",
            {"fast": Range(3, 50), "slow": Range(20, 250)},
            (
                'fast, slow = ta.sma(c, p["fast"]), ta.sma(c, p["slow"])',
                "long = fast > slow",
                "short = fast < slow",
            ),
            lambda p: p["slow"],
            lambda p: p["fast"] < p["slow"],
        ),
        Rule(
            "price_band",
            {"length": Range(10, 150), "band": Range(0.0, 0.05)},
            (
                'm = ta.ema(c, p["length"])',
                'long = c > m * (1 + p["band"])',
                'short = c < m * (1 - p["band"])',
            ),
            lambda p: _ewm(p["length"]),
        ),
    ),
    "BRK": (
        Rule(
            "donchian",
            {"length": Range(5, 120), "buffer": Range(0.0, 0.01)},
            (
                'low, high = ta.donchian(bars.high, bars.low, p["length"])',
                'long = c > high * (1 + p["buffer"])',
                'short = c < low * (1 - p["buffer"])',
            ),
            lambda p: p["length"] + 1,
        ),
        Rule(
            "keltner",
            {"length": Range(10, 80), "width": Range(1.0, 4.0)},
            (
                'lower, middle, upper = ta.keltner(bars.high, bars.low, c, p["length"], p["width"])',
                "long = c > upper",
                "short = c < lower",
            ),
            lambda p: _ewm(p["length"]),
        ),
    ),
    "VOL": (
        Rule(
            "volume_spike",
            {"length": Range(10, 100), "factor": Range(1.3, 5.0)},
            (
                'spike = ta.volume_ratio(bars.volume, p["length"]) > p["factor"]',
                "long = spike & (c > bars.open)",
                "short = spike & (c < bars.open)",
            ),
            lambda p: p["length"],
        ),
        Rule(
            "range_expansion",
            {"length": Range(5, 60), "factor": Range(1.2, 4.0)},
            (
                "tr = ta.true_range(bars.high, bars.low, c)",
                'wide = tr > p["factor"] * ta.atr(bars.high, bars.low, c, p["length"]).shift(1)',
                "long = wide & (c > bars.open)",
                "short = wide & (c < bars.open)",
            ),
            lambda p: _ewm(p["length"]),
        ),
        Rule(
            "obv_flow",
            {"length": Range(5, 80), "threshold": Range(0.1, 3.0)},
            (
                's = ta.obv_slope(c, bars.volume, p["length"])',
                'long = s > p["threshold"]',
                'short = s < -p["threshold"]',
            ),
            lambda p: p["length"] + 1,
        ),
    ),
}

FILTERS: tuple[Rule, ...] = (
    Rule("none", {}, ("long_ok = short_ok = True",), lambda p: 0),
    Rule(
        "trend",
        {"filter_length": Range(20, 300)},
        ('t = ta.sma(c, p["filter_length"])', "long_ok, short_ok = c > t, c < t"),
        lambda p: p["filter_length"],
    ),
    Rule(
        "volume",
        {"filter_length": Range(10, 100), "filter_factor": Range(0.8, 2.5)},
        (
            'long_ok = short_ok = ta.volume_ratio(bars.volume, p["filter_length"]) > p["filter_factor"]',
        ),
        lambda p: p["filter_length"],
    ),
    Rule(
        "volatility",
        {"filter_length": Range(5, 60), "filter_level": Range(0.002, 0.03)},
        (
            'long_ok = short_ok = ta.atr(bars.high, bars.low, c, p["filter_length"]) / c > p["filter_level"]',
        ),
        lambda p: _ewm(p["filter_length"]),
    ),
)

ENTRY_BY_NAME = {rule.name: (kind, rule) for kind, rules in ENTRIES.items() for rule in rules}
FILTER_BY_NAME = {rule.name: rule for rule in FILTERS}
