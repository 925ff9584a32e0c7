"""The paper exchange: the default exchange, filling on closed candles by the backtest's rules."""

from sixbtc.adapters.paper.exchange import PaperExchange

__all__ = ["PaperExchange"]
