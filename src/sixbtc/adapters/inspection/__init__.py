"""Static inspection of strategy code: the validator's checks that need no execution."""

from sixbtc.adapters.inspection.inspector import AstCodeInspector

__all__ = ["AstCodeInspector"]
