"""The validator's checks on a corpus of bad strategies (each refused with its expected reason,
none able to touch the file system or the network) and of clean ones (all accepted)."""

from __future__ import annotations

import os
import socket

import pytest
from tests.strategy_samples import EMA_CROSS, strategy

from sixbtc.adapters.inspection import AstCodeInspector
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.validate import StrategyChecker, ValidationSettings

NP_PD = "import numpy as np\nimport pandas as pd"
TA = "import numpy as np\nfrom sixbtc import indicators as ta"
FLAT = "return np.zeros(len(bars))"
MARKER = "/tmp/sixbtc-validator-corpus-marker"

BAD = [
    # 1. syntax and interface
    ("def signals(self, bars)\n    return 0", "syntax_error: expected ':'"),
    (
        strategy(FLAT).replace('strategy_type = "MOM"', 'strategy_type = "mom"'),
        "syntax_error: strategy_type",
    ),
    (
        strategy(FLAT).replace("    warmup = 60\n", ""),
        "syntax_error: class attribute warmup is missing",
    ),
    (strategy(FLAT).replace("warmup = 60", "warmup = -5"), "syntax_error: warmup -5"),
    (
        strategy(FLAT).replace("def signals(self, bars)", "def run(self, bars)"),
        "syntax_error: class Sample has no signals",
    ),
    (strategy(FLAT) + "\n\nclass Other:\n    pass\n", "syntax_error: found 2 classes"),
    (strategy(FLAT) + "\nprint('loaded')\n", "syntax_error: Expr at line"),
    (
        strategy(FLAT).replace("class Sample:", "class Sample(object):"),
        "syntax_error: class Sample must have no base",
    ),
    (
        strategy(FLAT).replace("(self, bars)", "(self, bars, extra)"),
        "syntax_error: signals at line",
    ),
    # 2. safety: imports, builtins, dunders, numpy/pandas escapes
    (strategy(FLAT, imports="import numpy as np\nimport os"), "unsafe: import os at line 2"),
    (strategy(FLAT, imports="import numpy as np\nimport subprocess"), "unsafe: import subprocess"),
    (strategy(FLAT, imports="import numpy as np\nimport socket"), "unsafe: import socket"),
    (strategy(FLAT, imports="import numpy as np\nfrom os import path"), "unsafe: import from os"),
    (
        strategy(FLAT, imports="import numpy as np\nimport numpy.ctypeslib"),
        "unsafe: import numpy.ctypeslib",
    ),
    (
        strategy(FLAT, imports="import numpy as np\nfrom numpy import load"),
        "unsafe: from numpy import load",
    ),
    (
        strategy(FLAT, imports="import numpy as np\nfrom numpy import *"),
        "unsafe: from numpy import *",
    ),
    (strategy(f"open({MARKER!r}, 'w').write('x')\n{FLAT}"), "unsafe: name open"),
    (strategy(f"eval('1 + 1')\n{FLAT}"), "unsafe: name eval"),
    (strategy(f"exec('x = 1')\n{FLAT}"), "unsafe: name exec"),
    (strategy(f"compile('1', 's', 'eval')\n{FLAT}"), "unsafe: name compile"),
    (strategy(f"__import__('os')\n{FLAT}"), "unsafe: name __import__"),
    (strategy(f"getattr(np, 'lo' + 'ad')\n{FLAT}"), "unsafe: name getattr"),
    (strategy(f"bars.__class__.__mro__\n{FLAT}"), "unsafe: attribute bars.__class__"),
    (strategy(f"bars._mgr\n{FLAT}"), "unsafe: attribute bars._mgr"),
    (strategy(f"np.save({MARKER!r}, bars.close.to_numpy())\n{FLAT}"), "unsafe: attribute np.save"),
    (strategy(f"np.load('/etc/passwd')\n{FLAT}"), "unsafe: attribute np.load"),
    (strategy(f"np.fromfile('/etc/passwd')\n{FLAT}"), "unsafe: attribute np.fromfile"),
    (
        strategy(f"bars.close.to_numpy().tofile({MARKER!r})\n{FLAT}"),
        "unsafe: attribute bars.close.to_numpy().tofile",
    ),
    (strategy(f"bars.to_csv({MARKER!r})\n{FLAT}"), "unsafe: attribute bars.to_csv", NP_PD),
    (
        strategy(f"pd.read_csv('/etc/passwd')\n{FLAT}", imports=NP_PD),
        "unsafe: attribute pd.read_csv",
    ),
    (strategy(f"bars.eval('close * 2')\n{FLAT}"), "unsafe: attribute bars.eval"),
    (strategy(f"bars.query('close > 0')\n{FLAT}"), "unsafe: attribute bars.query"),
    (strategy(f"pd.io.common\n{FLAT}", imports=NP_PD), "unsafe: attribute pd.io"),
    (strategy(f"np.lib.format.open_memmap({MARKER!r})\n{FLAT}"), "unsafe: attribute np.lib"),
    (
        strategy(f"'{{0.__class__}}'.format(bars)\n{FLAT}"),
        "unsafe: attribute '{0.__class__}'.format",
    ),
    (strategy(f"global leak\n{FLAT}"), "unsafe: global"),
    (strategy(f"np.mean = np.max\n{FLAT}"), "unsafe: assignment to attribute np.mean"),
    (strategy(f"type(bars)\n{FLAT}"), "unsafe: name type"),
    # Escapes through allowed names used in another context
    (
        strategy(f"bars.close.apply('to_csv', args=({MARKER!r},))\n{FLAT}"),
        "unsafe: bars.close.apply without a lambda",
    ),
    (
        strategy(f"write = bars.apply\nwrite('to_pickle', args=({MARKER!r},))\n{FLAT}"),
        "unsafe: bars.apply without a lambda",
    ),
    (
        strategy(f"self = bars\nself.to_csv({MARKER!r})\n{FLAT}").replace(
            "warmup = 60", "warmup = 60\n    to_csv = 0"
        ),
        "unsafe: self bound to something other than the instance at line 11",
    ),
    (
        strategy(f"(lambda self: self.to_csv({MARKER!r}))(bars)\n{FLAT}").replace(
            "warmup = 60", "warmup = 60\n    to_csv = 0"
        ),
        "unsafe: self bound to something other than the instance",
    ),
    (
        strategy(f"Sample.write(bars)\n{FLAT}").replace(
            "warmup = 60",
            f"warmup = 60\n    to_csv = 0\n\n    def write(self):\n        self.to_csv({MARKER!r})",
        ),
        "unsafe: name Sample (call methods through self)",
    ),
    (
        strategy(
            f"w = 0\nmatch bars:\n    case pd.DataFrame(to_csv=w):\n        w({MARKER!r})\n{FLAT}",
            imports=NP_PD,
        ),
        "unsafe: match at line 12",
    ),
    (
        strategy(
            f"bars.close.resample('1h').apply('to_csv', args=({MARKER!r},))\n{FLAT}",
            imports=NP_PD,
        ),
        "unsafe: bars.close.resample('1h').apply without a lambda",
    ),
    (strategy(f"bars.close.agg('to_csv', {MARKER!r})\n{FLAT}"), "unsafe: attribute bars.close.agg"),
    (
        strategy(f"bars.close.aggregate('to_csv', {MARKER!r})\n{FLAT}"),
        "unsafe: attribute bars.close.aggregate",
    ),
    (
        strategy(f"bars.pipe(lambda b: 0)\nbars.transform('to_csv')\n{FLAT}"),
        "unsafe: attribute bars.pipe",
    ),
    (
        strategy(
            f"t = pd.to_datetime(bars.time, unit='ms')\nt.dt.strftime('%Y')\n{FLAT}", imports=NP_PD
        ),
        "unsafe: attribute t.dt.strftime",
    ),
    (strategy(f"np.fft._pocketfft\n{FLAT}"), "unsafe: attribute np.fft._pocketfft"),
    (strategy(f"np.fft.helper\n{FLAT}"), "unsafe: attribute np.fft.helper"),
    (
        strategy(f"print('x', file=open({MARKER!r}, 'w'))\n{FLAT}"),
        "unsafe: name open",
    ),
    # 3. static lookahead
    (
        strategy("return np.sign(bars.close.shift(-1) - bars.close).fillna(0)"),
        "lookahead: shift(-1) at line 10",
    ),
    (strategy("return np.sign(bars.close.diff(-3)).fillna(0)"), "lookahead: diff(-3)"),
    (
        strategy(
            "return np.sign(bars.close.rolling(5, center=True).mean() - bars.close).fillna(0)"
        ),
        "lookahead: rolling(center=True)",
    ),
    (
        strategy("return np.sign(bars.close.rolling(5).mean().bfill() - bars.close)"),
        "lookahead: bfill()",
    ),
    (strategy("return np.sign(bars.close.interpolate() - bars.close)"), "lookahead: interpolate()"),
    (
        strategy("return np.where(bars.close > bars.close.max() * 0.9, 1, 0)"),
        "lookahead: whole-column statistic bars.close.max()",
    ),
    (
        strategy("return np.where(bars.close > np.mean(bars.close), 1, -1)"),
        "lookahead: whole-column statistic np.mean(bars.close)",
    ),
    (
        strategy("return np.where(bars.close.rank(pct=True) > 0.8, 1, 0)"),
        "lookahead: whole-column statistic bars.close.rank",
    ),
    (
        strategy("return np.where(bars.close < bars.close.iloc[-1], 1, 0)"),
        "lookahead: read of row bars.close.iloc[-1]",
    ),
    (
        strategy(
            "x = bars.close.to_numpy()\nout = np.zeros(len(x))\nfor i in range(len(x) - 1):\n    out[i] = 1 if x[i + 1] > x[i] else 0\nreturn out"
        ),
        "lookahead: read of later row x[i + 1]",
    ),
    (
        strategy("return np.sign(np.roll(bars.close.to_numpy(), -1) - bars.close.to_numpy())"),
        "lookahead: np.roll()",
    ),
    (
        strategy("return np.sign(bars.close.shift(periods=-1) - bars.close).fillna(0)"),
        "lookahead: shift(-1) at line 10",
    ),
    (
        strategy("k = -2\nreturn np.sign(bars.close.shift(k) - bars.close).fillna(0)"),
        "lookahead: shift(k) at line 11",
    ),
    (
        strategy(
            'p = self.parameters\nreturn np.sign(bars.close.shift(p["lag"]) - bars.close).fillna(0)'
        ).replace('{"length": 20}', '{"lag": -1}'),
        "lookahead: shift(p['lag'])",
    ),
    (
        strategy("return np.sign(bars.close.rolling(5, None, True).mean() - bars.close).fillna(0)"),
        "lookahead: rolling(center=True)",
    ),
    (
        strategy("c = bars.close.values[::-1].cumsum()[::-1]\nreturn np.where(c > c[0] / 2, 1, 0)"),
        "lookahead: reversed order bars.close.values[::-1]",
    ),
    (
        strategy("x = bars.close.to_numpy()\nreturn np.where(x < x[len(x) - 1], 1, -1)"),
        "lookahead: read of row x[len(x) - 1] (the last bars)",
    ),
    (
        strategy("x = bars.close.to_numpy()\nreturn np.where(x > x[-50:].mean(), 1, -1)"),
        "lookahead: read of rows x[-50:] (the last bars)",
    ),
    (
        strategy("return np.where(bars.close > max(bars.close) * 0.9, 1, 0)"),
        "lookahead: whole-column statistic max(bars.close)",
    ),
    (
        strategy(
            "x = bars.close.to_numpy()\nout = np.zeros(len(x))\nfor i in range(len(x) - 2):\n    out[i] = np.sign(x[2 + i] - x[i])\nreturn out"
        ),
        "lookahead: read of later row x[2 + i]",
    ),
    # 4. dynamic lookahead (shuffle)
    (
        strategy(
            "k = int(np.floor(-1.5))\nreturn np.sign(bars.close.shift(k) - bars.close).fillna(0)"
        ),
        "lookahead_shuffle: ",
    ),
    (
        strategy(
            "top = bars.close.nlargest(1).iloc[0]\nreturn np.where(bars.close * 1.05 > top, 1, 0)"
        ),
        "lookahead: whole-column statistic",
    ),
    (
        strategy(
            "x = bars.close.to_numpy()\nlast = x[x.size - 1]\nreturn np.where(x < last, 1, -1)"
        ),
        "lookahead_shuffle: ",
    ),
    (
        strategy(
            "x = bars.close.to_numpy()\nreturn np.where(np.append(np.diff(x), 0.0) > 0, 1, 0)"
        ),
        "lookahead_shuffle: ",
    ),
    # Honest numeric functions used over the whole series: caught by the shuffle test, not unsafe
    (
        strategy(
            "x = bars.close.to_numpy()\nm = np.convolve(x, np.ones(9) / 9, mode='same')\n"
            "return np.where(x > m, 1, -1)"
        ),
        "lookahead_shuffle: ",
    ),
    (
        strategy("return np.where(np.gradient(bars.close.to_numpy()) > 0, 1, -1)"),
        "lookahead_shuffle: ",
    ),
    (
        strategy(
            "x = bars.close.to_numpy()\nn = np.arange(len(x))\n"
            "slope, level = np.polyfit(n, x, 1)\nreturn np.where(x > level + slope * n, 1, -1)"
        ),
        "lookahead_shuffle: ",
    ),
    (
        strategy(
            "x = bars.close.to_numpy()\nspectrum = np.fft.rfft(x)\nspectrum[20:] = 0\n"
            "smooth = np.fft.irfft(spectrum, len(x))\nreturn np.where(x > smooth, 1, -1)"
        ),
        "lookahead_shuffle: ",
    ),
    (
        strategy(
            "t = pd.to_datetime(bars.time, unit='ms')\n"
            "close = pd.Series(bars.close.to_numpy(), index=t)\n"
            "bucket = close.resample('4h').last().reindex(t, method='ffill')\n"
            "return np.where(close.to_numpy() < bucket.to_numpy(), 1, -1)",
            imports=NP_PD,
        ),
        "lookahead_shuffle: ",
    ),
    # 5. warm-up dependence
    (
        strategy("m = bars.close.expanding().mean()\nreturn np.where(bars.close > m, 1, -1)"),
        "warmup_dependent: ",
    ),
    (
        strategy("c = bars.close.diff().fillna(0).cumsum()\nreturn np.where(c > 0, 1, -1)"),
        "warmup_dependent: ",
    ),
    (strategy(FLAT, warmup=5000), "warmup_dependent: warm-up of 5000 bars leaves no signal"),
    # 6. execution
    (strategy("while True:\n    pass"), "timeout"),
    (
        strategy("hoard = []\nwhile True:\n    hoard.append(np.ones(10**7))"),
        "runtime_error: MemoryError",
    ),
    (strategy("return np.zeros(len(bars) - 1)"), "runtime_error: signals have shape"),
    (
        strategy("return np.full(len(bars), np.nan)"),
        "runtime_error: signal nan at bar 0 is not finite",
    ),
    (
        strategy("return np.full(len(bars), 2)"),
        "runtime_error: signal 2.0 at bar 0 is not -1, 0 or +1",
    ),
    (strategy("raise ValueError('boom')"), "runtime_error: ValueError: boom at line 10"),
    (strategy("raise RuntimeError('boom')"), "runtime_error: RuntimeError: boom at line 10"),
    (strategy("raise SystemExit(1)"), "runtime_error: SystemExit: 1 at line 10"),
    (strategy("raise NotImplementedError"), "runtime_error: NotImplementedError:  at line 10"),
    (
        # Fine on the shuffle test's short histories; too slow at production length (each bar
        # takes the differences of the whole history again).
        strategy(
            "x = bars.close.to_numpy()\nout = np.zeros(len(x))\nfor i in range(20, len(x)):\n"
            "    trend = np.diff(x[: i + 1])[i - 20 :].mean()\n"
            "    out[i] = 1 if trend > 0 else -1\nreturn out"
        ),
        "timeout",
    ),
    (strategy('return "long"'), "runtime_error: signals are not numeric"),
    (
        strategy("return bars.missing_column", imports="import numpy as np"),
        "unsafe: attribute bars.missing_column",
    ),
    (
        strategy("return np.sign(bars.close - ta.sma(bars.close, 20))", imports=TA),
        "runtime_error: signal nan",
    ),
]

CLEAN = [
    EMA_CROSS,
    # An EWM converges: stable signals whatever warm-up is declared (5 bars here).
    strategy(
        "f = bars.close.ewm(span=50, adjust=False).mean()\nreturn np.where(bars.close > f, 1, -1)",
        warmup=5,
    ),
    # Printing is allowed: the output is dropped, the signals come through.
    strategy(
        "print('computing', len(bars), 'bars')\nfor i in range(2000):\n    print('x' * 100, i)\n"
        "return np.sign(bars.close.diff().fillna(0))"
    ),
    # Raising is allowed (here never reached).
    strategy(
        "if len(bars) == 0:\n    raise RuntimeError('no bars')\n"
        "return np.sign(bars.close.diff().fillna(0))"
    ),
    # Causal uses of the numeric functions: on a window, or the causal part of a convolution.
    strategy(
        "x = bars.close.to_numpy()\nm = np.convolve(x, np.ones(9) / 9, mode='full')[: len(x)]\n"
        "return np.where(x > m, 1, -1)"
    ),
    strategy(
        "g = bars.close.rolling(10).apply(lambda w: np.gradient(w)[-1], raw=True)\n"
        "return np.where(g > 0, 1, np.where(g < 0, -1, 0))"
    ),
    strategy(
        "n = np.arange(30)\n"
        "slope = bars.close.rolling(30).apply(lambda w: np.polyfit(n, w, 1)[0], raw=True)\n"
        "return np.where(slope > 0, 1, np.where(slope < 0, -1, 0))"
    ),
    strategy(
        "power = bars.close.rolling(32).apply(\n"
        "    lambda w: np.abs(np.fft.rfft(w - w.mean()))[1], raw=True\n)\n"
        "return np.where(power > power.rolling(100).mean(), 1, 0)"
    ),
    # Resampling to 4h using only closed buckets, and the hour and weekday of each bar.
    strategy(
        "t = pd.to_datetime(bars.time, unit='ms')\n"
        "close = pd.Series(bars.close.to_numpy(), index=t)\n"
        "previous = close.resample('4h').last().shift(1).reindex(t, method='ffill')\n"
        "return np.where(close.to_numpy() > previous.to_numpy(), 1, -1)",
        imports=NP_PD,
    ),
    strategy(
        "t = pd.to_datetime(bars.time, unit='ms')\nhours = t.dt.hour.to_numpy()\n"
        "days = pd.to_datetime(bars.time.to_numpy(), unit='ms').day_of_week\n"
        "move = np.sign(bars.close.diff().fillna(0)).to_numpy()\n"
        "return np.where((hours >= 8) & (hours < 16) & (days < 5), move, 0)",
        imports=NP_PD,
    ),
    # A loop over the bars that does constant work per bar: fast enough at production length.
    strategy(
        "x = bars.close.to_numpy()\nout = np.zeros(len(x))\nfor i in range(20, len(x)):\n"
        "    out[i] = 1 if x[i] > x[i - 20] else -1\nreturn out"
    ),
    strategy(FLAT, warmup=4900),  # 100 bars left to check: live trading has 5,000
    strategy(
        "rng = bars.close.rolling(10).apply(lambda w: w[-1] - w.min(), raw=True)\n"
        "return np.where(rng > 0.02 * bars.close, 1, 0)",
    ),
    strategy(
        "low, mid, up = ta.bollinger(bars.close, 20, 2.0)\n"
        "return np.where(bars.close < low, 1, np.where(bars.close > up, -1, 0))",
        imports=TA,
    ),
    strategy(
        "r = ta.rsi(bars.close, 14)\nreturn np.where(r < 30, 1, np.where(r > 70, -1, 0))",
        imports=TA,
        warmup=280,
    ),
    strategy(
        "low, high = ta.donchian(bars.high, bars.low, 20)\n"
        "return np.select([bars.close > high, bars.close < low], [1, -1], 0)",
        imports=TA,
    ),
    strategy(
        "z = (bars.close - bars.close.rolling(30).mean()) / bars.close.rolling(30).std()\n"
        "return np.where(z < -2, 1, np.where(z > 2, -1, 0))",
    ),
    strategy(
        "x = bars.close.to_numpy()\nout = np.zeros(len(x))\nfor i in range(20, len(x)):\n"
        "    window = x[i - 20 : i]\n    if x[i] > window.max():\n        out[i] = 1\n"
        "    elif x[i] < window.min():\n        out[i] = -1\nreturn out",
    ),
    strategy(
        "k, d = ta.stochastic(bars.high, bars.low, bars.close, 14, 3)\n"
        "up = (k > d) & (k.shift(1) <= d.shift(1))\n"
        "return np.where(up & (k < 20), 1, np.where(~up & (k > 80), -1, 0))",
        imports=TA,
    ),
]


@pytest.fixture(scope="module")
def checker():
    with SandboxSignalSource(workers=2, cpu_seconds=1, memory_mb=256) as sandbox:
        yield StrategyChecker(AstCodeInspector(), sandbox, ValidationSettings(history_bars=1000))


@pytest.fixture(scope="module")
def production_checker():
    """The default limits (``sandbox.cpu_seconds`` 10): clean code is accepted as in production."""
    with SandboxSignalSource(workers=2) as sandbox:
        yield StrategyChecker(AstCodeInspector(), sandbox, ValidationSettings(history_bars=1000))


def test_corpus_is_large_enough():
    assert len(BAD) >= 40


@pytest.mark.parametrize(("code", "expected"), [case[:2] for case in BAD], ids=range(len(BAD)))
def test_bad_strategy_is_refused_with_its_reason(checker, code, expected):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0)
    reason = checker.reason(code)
    assert reason is not None and reason.startswith(expected), reason
    with pytest.raises(BlockingIOError):
        listener.accept()
    listener.close()
    assert not os.path.exists(MARKER)


@pytest.mark.parametrize("code", CLEAN, ids=range(len(CLEAN)))
def test_clean_strategy_is_accepted(production_checker, code):
    assert production_checker.reason(code) is None
