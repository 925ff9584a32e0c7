"""``sixbtc data``: download history, import candle files, show what the cache holds."""

from __future__ import annotations

import argparse
import sys

from sixbtc import config as configuration
from sixbtc.application.errors import ApplicationError, MarketDataUnavailable
from sixbtc.entrypoints import wiring


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="download, import and inspect the candle cache",
        description="The local cache of 5m candles (market_data.cache_dir), one parquet file per "
        "source and coin. Everything entering it is checked: gaps are reported, exact duplicates "
        "removed and reported, any other defect refuses the whole batch.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    download = actions.add_parser(
        "download",
        help="download or update history from market_data.exchange",
        description="Bring the cache up to date for each coin: the closed 5m bars after the "
        "cached ones, or the whole training + holdout history for a new coin.",
    )
    download.add_argument(
        "symbols",
        nargs="*",
        help="coins (BTC) or ccxt symbols (BTC/USDT:USDT); default: market_data.symbols, or "
        "the backtester.coins coins with the largest quote volume",
    )
    download.set_defaults(handler=_download)
    imports = actions.add_parser(
        "import",
        help="import candle files (CSV, CSV.gz, parquet) or Binance kline archives (.zip)",
        description="Columns time (UTC open time, ISO 8601 or epoch ms), open, high, low, close, "
        "volume; or Binance monthly kline archives (12 columns, with or without header, ms or "
        "us times). A malformed file is refused with its line; nothing of it is stored.",
    )
    imports.add_argument("files", nargs="+", help="files to import")
    imports.add_argument(
        "--symbol",
        help="the coin to store the bars as (default: the file name up to its first '-'; for a "
        "Binance archive without its USDT or USDC quote: BTCUSDT-5m-2024-01.zip -> BTC)",
    )
    imports.add_argument(
        "--source", help="the cache source to store into (default: market_data.exchange)"
    )
    imports.set_defaults(handler=_import)
    show = actions.add_parser(
        "show",
        help="list the cached coins, their ranges and gaps",
        description="List the coins in the cache of one source (market_data.exchange, or "
        "--source): first and last candle, count, and the gaps in the 5m series. Reads only.",
    )
    show.add_argument("--source", help="the cache source (default: market_data.exchange)")
    show.set_defaults(handler=_show)


def _download(args: argparse.Namespace) -> int:
    container = wiring.container(args.config)
    try:
        market = container.ccxt_market_data(symbols=tuple(args.symbols))
    except ValueError as error:
        print(f"sixbtc data download: {error}", file=sys.stderr)
        return 2
    failed = 0
    try:
        symbols = market.symbols()
    except MarketDataUnavailable as error:
        print(f"sixbtc data download: {error}", file=sys.stderr)
        return 1
    for symbol in symbols:
        try:
            report = market.update(symbol)
        except MarketDataUnavailable as error:
            failed += 1
            print(f"{symbol}: {error}", file=sys.stderr)
            continue
        print(report if report is not None else f"{symbol}: up to date")
    return 1 if failed else 0


def _import(args: argparse.Namespace) -> int:
    settings = configuration.load(args.config)
    container = wiring.container(settings)
    source = args.source or settings.market_data.exchange
    failed = 0
    for path in args.files:
        symbol = args.symbol or container.symbol_of_file()(path)
        try:
            report = container.import_candles(source, symbol, path)
        except (ApplicationError, OSError) as error:
            failed += 1
            print(f"refused: {error}", file=sys.stderr)
            continue
        print(report)
    return 1 if failed else 0


def _show(args: argparse.Namespace) -> int:
    settings = configuration.load(args.config)
    container = wiring.container(settings)
    cache, iso = container.candle_cache(), container.iso_time()
    source = args.source or settings.market_data.exchange
    holdings = cache.holdings(source)
    if not holdings:
        print(f"no candles cached for {source} in {cache.root}")
        return 0
    print(f"{source} in {cache.root}: {len(holdings)} coins")
    print(f"{'coin':<12} {'bars':>8}  {'first open':<20}  {'last open':<20}  gaps (bars missing)")
    for h in holdings:
        print(
            f"{h.symbol:<12} {h.bars:>8}  {iso(h.first):<20}  {iso(h.last):<20}  "
            f"{h.gaps} ({h.missing_bars})"
        )
    return 0
