"""The paper exchange's books in the database (``paper_accounts``, ``paper_requests``,
``paper_fills``): one transaction per call of the exchange, the rows of its subaccounts locked for
it (in the order of their ids), so that a restart continues exactly where it was and a request id
is taken once."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from sixbtc.adapters.paper.book import Account, book_of, document
from sixbtc.adapters.sqlalchemy.tables import paper_accounts, paper_fills, paper_requests
from sixbtc.adapters.sqlalchemy.trading import fill_of, fill_values
from sixbtc.domain.orders import Fill


class SqlAlchemyPaperStore:
    """A :class:`~sixbtc.adapters.paper.book.PaperStore` on an engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    @contextmanager
    def accounts(self, subaccounts: Sequence[int]) -> Iterator[list[Account]]:
        with self._engine.begin() as connection:

            def known(request_id: str) -> bool:
                query = sa.select(paper_requests.c.request_id).where(
                    paper_requests.c.request_id == request_id
                )
                return connection.execute(query).first() is not None

            stored = {n: _locked_book(connection, n) for n in sorted(set(subaccounts))}
            accounts = [Account(n, book_of(stored[n]), known) for n in subaccounts]
            yield accounts
            for account in accounts:
                _keep(connection, account, stored[account.subaccount])

    def fills(self, subaccount: int, after: int) -> list[Fill]:
        query = (
            sa.select(paper_fills)
            .where(paper_fills.c.subaccount_id == subaccount, paper_fills.c.sequence > after)
            .order_by(paper_fills.c.sequence)
        )
        with self._engine.connect() as connection:
            return [fill_of(r) for r in connection.execute(query).mappings()]


def _locked_book(connection: sa.Connection, subaccount: int) -> dict:
    """The subaccount's book document, its row locked until the transaction ends (made empty the
    first time)."""
    row = paper_accounts.c.subaccount_id == subaccount
    locked = sa.select(paper_accounts.c.book).where(row).with_for_update()
    stored = connection.execute(locked).scalar_one_or_none()
    if stored is None:
        empty = document(book_of(None))
        try:
            with connection.begin_nested():
                connection.execute(
                    paper_accounts.insert().values(subaccount_id=subaccount, book=empty)
                )
        except sa.exc.IntegrityError:  # another process made it first
            pass
        stored = connection.execute(locked).scalar_one()
    return stored


def _text(book: dict) -> str:
    """A book document as text, for comparison (NaN, in an ATR not used, equals itself here)."""
    return json.dumps(book, sort_keys=True)


def _keep(connection: sa.Connection, account: Account, stored: dict) -> None:
    """Write what the block changed: the book (unless only read), the requests taken, the fills."""
    book = document(account.book)
    if _text(book) != _text(stored):
        connection.execute(
            paper_accounts.update()
            .where(paper_accounts.c.subaccount_id == account.subaccount)
            .values(book=book)
        )
    if account.seen:
        connection.execute(
            paper_requests.insert(),
            [
                {"request_id": key, "subaccount_id": account.subaccount, "request": what}
                for key, what in account.seen.items()
            ],
        )
    if account.made:
        connection.execute(paper_fills.insert(), [fill_values(f) for f in account.made])
