"""``sixbtc report [--out DIR]``: the factory's figures as PNG files and one self-contained HTML
page (the images inlined), from the database.

Figures are drawn with matplotlib (static PNGs that any viewer opens, no JavaScript, so the page
works offline and can be mailed as one file): the funnel over time, the pool's score
distribution, retirements by reason code, the best strategies' backtest equity (training then
holdout) and the live profit of every strategy that traded.
"""

from __future__ import annotations

import argparse
import base64
import html
from pathlib import Path

from sixbtc.application.report import Curve, FactoryReport
from sixbtc.domain.sensitivity import Robustness
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.console import bounded
from sixbtc.entrypoints.output import write_files

FIGURES = (
    ("funnel", "Strategies reaching each status"),
    ("scores", "ACTIVE pool: score distribution"),
    ("retirements", "Retirements by reason"),
    ("backtest_equity", "Best strategies: backtest equity (dashed: the holdout starts)"),
    ("live_profit", "Live trading: cumulative profit of closed trades"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="draw the factory's figures (PNG) and one self-contained HTML page",
        description="Read the configured database and write, in --out: funnel.png (strategies "
        "reaching each status over time), scores.png (the ACTIVE pool's score distribution), "
        "retirements.png (by reason code), backtest_equity.png (the latest backtest of the best "
        "ACTIVE or LIVE strategies, training then holdout), live_profit.png (cumulative profit of "
        "each strategy's closed live trades) and report.html with every figure inlined. Nothing "
        "in the database changes.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("report"), help="folder to write (default: ./report)"
    )
    parser.add_argument(
        "--top",
        type=bounded(int, 1),
        default=5,
        help="strategies in the backtest equity figure (default: 5)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    container = wiring.container(args.config)
    try:
        container.schema().require_current()
        report = wiring.use_cases(container).report(top=args.top)()
    finally:
        container.shutdown_resources()
    args.out.mkdir(parents=True, exist_ok=True)
    written, empty = draw(report, args.out)
    page = args.out / "report.html"
    write_files({page: html_page(report, written)}, replace=True)
    for name, path in written.items():
        print(f"{path} (nothing yet)" if name in empty else path)
    print(page)
    return 0


def draw(report: FactoryReport, folder: Path) -> tuple[dict[str, Path], set[str]]:
    """Every figure as a PNG file in ``folder``, by name, and the names of those with nothing to
    draw yet (a placeholder)."""
    from matplotlib.figure import Figure  # imported here: seconds, and only this command needs it

    painters = {
        "funnel": _funnel,
        "scores": _scores,
        "retirements": _retirements,
        "backtest_equity": lambda ax, r: _curves(ax, r.backtests, "equity (1 = start)"),
        "live_profit": lambda ax, r: _curves(ax, r.live, "profit (quote currency)"),
    }
    written, empty = {}, set()
    for name, title in FIGURES:
        figure = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
        ax = figure.subplots()
        ax.set_title(title)
        if not painters[name](ax, report):
            empty.add(name)
            ax.set_axis_off()
            ax.text(0.5, 0.5, "nothing yet", ha="center", va="center", fontsize=14)
        written[name] = folder / f"{name}.png"
        figure.savefig(written[name])
    return written, empty


def _funnel(ax, report: FactoryReport) -> bool:
    drawn = False
    for status, times in report.funnel.items():
        if times:
            times = sorted(times)
            ax.step(times, range(1, len(times) + 1), where="post", label=str(status))
            drawn = True
    if drawn:
        ax.set_ylabel("strategies (cumulative)")
        ax.legend()
        ax.tick_params(axis="x", labelrotation=30)
    return drawn


def _scores(ax, report: FactoryReport) -> bool:
    if not report.scores:
        return False
    ax.hist(report.scores, bins=min(30, max(5, len(report.scores))), color="tab:blue")
    ax.set_xlabel("backtest score")
    ax.set_ylabel("strategies")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return True


def _retirements(ax, report: FactoryReport) -> bool:
    if not report.retired:
        return False
    codes = report.retired.most_common()
    ax.barh([str(code) for code, _ in codes][::-1], [n for _, n in codes][::-1], color="tab:red")
    ax.set_xlabel("strategies")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return True


def _curves(ax, curves: list[Curve], label: str) -> bool:
    if not curves:
        return False
    for curve in curves:
        times, values = zip(*curve.points, strict=True)
        (line,) = ax.plot(times, values, label=f"{curve.name} ({curve.status})")
        if curve.holdout is not None:  # where the holdout starts, in the curve's colour
            ax.axvline(curve.holdout, color=line.get_color(), linestyle="--", alpha=0.5)
    values = [v for c in curves for _, v in c.points]
    if min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    ax.set_ylabel(label)
    ax.legend(fontsize="small")
    ax.tick_params(axis="x", labelrotation=30)
    return True


def _shape(robustness: Robustness | None) -> str:
    near = robustness.neighbourhood if robustness else None
    if near is None or near.median is None:
        return "-"
    return f"{near.shape} ({near.median:.1f} around {near.score:.1f})"


def _band(robustness: Robustness | None, name: str, spec: str) -> str:
    bands = robustness.bands if robustness else None
    if bands is None:
        return "-"
    band = getattr(bands, name)
    return f"{band.low:{spec}} .. {band.high:{spec}}"


def html_page(report: FactoryReport, figures: dict[str, Path]) -> str:
    """One HTML page with every figure inlined as a data URI and the counts as tables."""
    reached = "".join(
        f"<tr><td>{status}</td><td>{len(times)}</td></tr>"
        for status, times in report.funnel.items()
    )
    retired = "".join(
        f"<tr><td>{html.escape(str(code))}</td><td>{n}</td></tr>"
        for code, n in report.retired.most_common()
    )
    robust = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_shape(figures_of)}</td>"
        f"<td>{_band(figures_of, 'drawdown', '.1%')}</td>"
        f"<td>{_band(figures_of, 'sharpe', '.2f')}</td></tr>"
        for name, figures_of in report.robustness
    )
    images = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,'
        f'{base64.b64encode(figures[name].read_bytes()).decode()}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for name, title in FIGURES
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SixBTC report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 0 2em 1em 0; display: inline-table; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>SixBTC report</h1>
<p>Written {report.at:%Y-%m-%d %H:%M} UTC. ACTIVE pool: {len(report.scores)} strategies.</p>
<table><caption>Strategies that reached each status</caption>
<tr><th>status</th><th>strategies</th></tr>{reached}</table>
<table><caption>Retirements by reason</caption>
<tr><th>reason</th><th>strategies</th></tr>{retired}</table>
<table><caption>Robustness of the best strategies (latest backtest; bands: 5th to 95th percentile
of up to 1,000 resamplings of its trades)</caption>
<tr><th>strategy</th><th>grid neighbourhood</th><th>max drawdown</th><th>Sharpe</th></tr>{robust}
</table>
{images}
</body></html>
"""
