"""One contract for live trading's safety records (halts, reconciliation issues, portfolio days),
run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.test_repository_contract import (  # noqa: F401 (the fixture)
    T0,
    new_uow,
)

from sixbtc.domain.emergency import PortfolioDay
from sixbtc.domain.halt import Halt, HaltCause, HaltKind
from sixbtc.domain.reconciliation import Issue, IssueKind


def test_halts_get_ids_and_are_listed_until_lifted(new_uow):  # noqa: F811
    with new_uow() as uow:
        first = Halt(HaltKind.HALT, HaltCause.OPERATOR, "maintenance", "operator:ana", T0)
        second = Halt(HaltKind.FLATTEN, HaltCause.DRAWDOWN, "26% below peak", "executor", T0)
        uow.halts.add(first)
        uow.halts.add(second)
        uow.commit()
    assert (first.id, second.id) == (1, 2)
    with new_uow() as uow:
        assert uow.halts.active() == [first, second]
        halt = uow.halts.active()[1]
        halt.flattened(T0 + timedelta(minutes=5))
        uow.halts.save(halt)
        lifted = uow.halts.active()[0]
        lifted.lift(T0 + timedelta(hours=1), "operator:ana")
        uow.halts.save(lifted)
        uow.commit()
    with new_uow() as uow:
        active = uow.halts.active()
        latest = uow.halts.latest(5)
    assert [h.id for h in active] == [2] and active[0].flattened_at == T0 + timedelta(minutes=5)
    assert [h.id for h in latest] == [2, 1]
    assert latest[1].lifted_by == "operator:ana" and latest[1].cause is HaltCause.OPERATOR


def test_issues_stay_unresolved_per_subaccount_until_resolved(new_uow):  # noqa: F811
    found = [
        Issue(1, IssueKind.UNKNOWN_POSITION, "BTC", "+0.5 BTC at 65000", T0),
        Issue(2, IssueKind.UNKNOWN_ORDER, "0xabc", "buy 1 ETH", T0),
    ]
    with new_uow() as uow:
        for issue in found:
            uow.issues.add(issue)
        uow.commit()
    with new_uow() as uow:
        assert uow.issues.unresolved() == found
        assert uow.issues.unresolved(2) == [found[1]]
        issue = uow.issues.unresolved(1)[0]
        issue.resolve(T0 + timedelta(minutes=1), "reconciliation")
        uow.issues.save(issue)
        uow.commit()
    with new_uow() as uow:
        assert [i.subaccount for i in uow.issues.unresolved()] == [2]
        assert uow.issues.unresolved(1) == []


def test_the_latest_portfolio_day_is_created_then_updated(new_uow):  # noqa: F811
    with new_uow() as uow:
        assert uow.portfolio.latest() is None
        uow.portfolio.save(PortfolioDay.first(1000.0, T0, None))
        uow.commit()
    later = T0 + timedelta(days=1)
    with new_uow() as uow:
        day = PortfolioDay.first(950.0, later, uow.portfolio.latest())
        day.mark(900.0, later + timedelta(hours=2))
        day.loss_halted = True
        uow.portfolio.save(day)
        uow.commit()
    with new_uow() as uow:
        latest = uow.portfolio.latest()
    assert latest == day
    assert (latest.opening, latest.peak, latest.low, latest.last) == (950.0, 1000.0, 900.0, 900.0)
