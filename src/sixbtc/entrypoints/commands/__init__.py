"""One module per ``sixbtc`` sub-command; each exposes ``register(subparsers)``."""
