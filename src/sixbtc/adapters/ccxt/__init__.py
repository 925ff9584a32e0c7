"""ccxt adapters: market data history (and the live exchange) through the ccxt library."""
