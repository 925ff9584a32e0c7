"""Entrypoints: the ``sixbtc`` command line and the service loops."""
