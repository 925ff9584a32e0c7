"""``AstCodeInspector``: the validator's static checks (syntax, safety, lookahead) on the syntax
tree, in that order."""

from __future__ import annotations

from sixbtc.adapters.inspection import lookahead, outline, safety
from sixbtc.application.errors import InvalidStrategyCode
from sixbtc.application.ports import StrategyOutline
from sixbtc.domain.reasons import Reason


class AstCodeInspector:
    """Implements :class:`~sixbtc.application.ports.CodeInspector` with :mod:`ast`."""

    def outline(self, code: str) -> StrategyOutline:
        return outline.outline(code)

    def problem(self, code: str) -> Reason | None:
        try:
            declared = outline.outline(code)
        except InvalidStrategyCode as refused:
            return refused.reason
        tree = outline.parse(code)
        return safety.problem(tree, outline.strategy_class(tree)) or lookahead.problem(
            tree, declared.parameters
        )
