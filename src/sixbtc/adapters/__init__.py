"""Technology behind the ports: SQL, ccxt, numba, paper trading, in-memory fakes."""
