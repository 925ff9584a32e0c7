"""Use cases and the ports they depend on; no framework, no I/O of its own."""
