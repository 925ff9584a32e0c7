"""``sixbtc web``: the HTTP API and the dashboard, server-rendered (FastAPI, Jinja2, inline SVG
charts), on the use cases and read models of the container. Imported only by ``sixbtc web``."""
