"""Charts as inline SVG drawn on the server with matplotlib: the pages load nothing from anywhere
and work offline; text stays text (selectable, small)."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import datetime

#: matplotlib's global state is not made for threads; the server draws one chart at a time.
_LOCK = threading.Lock()
WIDTH, HEIGHT = 6.4, 2.4
LINE = "#2563eb"


def _figure():
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"  # text as <text>, not glyph paths
    matplotlib.rcParams["svg.hashsalt"] = "sixbtc"  # the same figure gives the same SVG
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=100, layout="constrained")
    axes = figure.subplots()
    axes.grid(alpha=0.3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _svg(figure, label: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", transparent=True)
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)


def histogram(values: Sequence[float], label: str, bins: int = 20) -> str:
    """A histogram of ``values`` (the pool's scores)."""
    with _LOCK:
        figure, axes = _figure()
        if values:
            from matplotlib.ticker import MaxNLocator

            low, high = min(values), max(values)
            pad = max(1.0, (high - low) * 0.05)
            axes.hist(values, bins=bins, range=(low - pad, high + pad), color=LINE, alpha=0.8)
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            axes.text(0.5, 0.5, "(nothing yet)", ha="center", va="center")
        axes.set_xlabel(label)
        axes.set_ylabel("strategies")
        return _svg(figure, f"histogram of {label}")


def curve(
    points: Sequence[tuple[datetime, float]],
    label: str,
    marker: datetime | None = None,
    steps: bool = False,
) -> str:
    """A line through ``points`` (time, value); ``marker``: a vertical line (a holdout's start);
    ``steps``: the value holds until the next point (an account's closed trades)."""
    with _LOCK:
        figure, axes = _figure()
        if points:
            times, values = zip(*points, strict=True)
            axes.plot(
                times,
                values,
                color=LINE,
                linewidth=1.4,
                drawstyle="steps-post" if steps else "default",
            )
            if marker is not None:
                axes.axvline(marker, color="#dc2626", linestyle="--", linewidth=1)
            figure.autofmt_xdate()
        else:
            axes.text(0.5, 0.5, "(nothing yet)", ha="center", va="center")
        axes.set_ylabel(label)
        return _svg(figure, label)
