"""The offline strategy generator: a catalogue of causal indicator rules and two sources."""

from sixbtc.adapters.generator.sources import CatalogueStrategySource, GeneticStrategySource

__all__ = ["CatalogueStrategySource", "GeneticStrategySource"]
