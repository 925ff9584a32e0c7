"""Running untrusted strategy code: a pool of confined worker processes."""

from sixbtc.adapters.sandbox.signal_source import SandboxError, SandboxSignalSource

__all__ = ["SandboxError", "SandboxSignalSource"]
