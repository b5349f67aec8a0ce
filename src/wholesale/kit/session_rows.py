"""Rows a transaction keeps in its session until it writes them in one go, savepoint-aware.

The ledger keeps its rows until the transaction commits (its head row is then locked for the last statements
only); a batch of provisioning runs keeps its audit rows and events until the batch ends (one INSERT per table).
Either way a savepoint rolled back takes the rows added inside it with it, and a transaction that ends without
committing leaves none behind.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction


class SessionRows:
    """A list of rows kept in `session.info[key]` in the order added, with the savepoint bookkeeping."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.marks_key = f"{key}.marks"  # {savepoint: how many rows were kept when it began}
        event.listen(Session, "after_transaction_create", self._mark_savepoint)
        event.listen(Session, "after_soft_rollback", self._forget_rolled_back)
        event.listen(Session, "after_transaction_end", self._forget_all)

    def add(self, session: Session, rows: list[Any]) -> None:
        """Keep rows until `take`."""
        session.info.setdefault(self.key, []).extend(rows)

    def kept(self, session: Session) -> bool:
        """True when rows are kept."""
        return bool(session.info.get(self.key))

    def take(self, session: Session) -> list[Any]:
        """The rows kept, in the order added; none are kept after."""
        return session.info.pop(self.key, None) or []

    def _mark_savepoint(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            session.info.setdefault(self.marks_key, {})[transaction] = len(session.info.get(self.key, ()))

    def _forget_rolled_back(self, session: Session, previous: SessionTransaction) -> None:
        # Fired after the transaction closed (after_transaction_end), so the savepoint's mark is still here to read.
        mark = session.info.get(self.marks_key, {}).pop(previous, None) if previous.nested else 0
        if mark is not None and session.info.get(self.key):
            del session.info[self.key][mark:]

    def _forget_all(self, session: Session, transaction: SessionTransaction) -> None:
        if _outermost(transaction):
            session.info.pop(self.key, None)  # a transaction that ended without commit (closed) writes nothing
            session.info.pop(self.marks_key, None)  # marks of savepoints released inside it


class TransactionMemo:
    """A dict kept in `session.info[key]` for one transaction: what a transaction read once and asks again (a batch
    of provisioning runs). Forgotten when the session's outermost transaction ends, committed or not, so nothing
    read in one transaction answers in the next one of the same session."""

    def __init__(self, key: str) -> None:
        self.key = key
        event.listen(Session, "after_transaction_end", self._forget_at_end)

    def of(self, session: Session) -> dict[Any, Any]:
        """The transaction's memo (made empty on first use)."""
        memo: dict[Any, Any] = session.info.setdefault(self.key, {})
        return memo

    def peek(self, session: Session) -> dict[Any, Any] | None:
        """The memo when something was kept in it, else None."""
        return session.info.get(self.key)

    def forget(self, session: Session) -> None:
        """Drop what was kept (what it was read from changed in this transaction)."""
        session.info.pop(self.key, None)

    def _forget_at_end(self, session: Session, transaction: SessionTransaction) -> None:
        if _outermost(transaction):
            session.info.pop(self.key, None)


def _outermost(transaction: SessionTransaction) -> bool:
    """True for the session's outermost transaction (not a savepoint, not a subtransaction)."""
    return transaction.parent is None and not transaction.nested


class SessionLookups:
    """Rows a block read for many keys at once, kept in `session.info[key]` while it runs (`reading`), so a lookup of
    one key answers from them instead of a query each: a batch of provisioning runs reads every customer's meetings
    site in one statement. A key the block did not read is not `known` and is looked up as usual; rows the block
    creates or removes are noted (`note`) so later lookups see them."""

    def __init__(self, key: str) -> None:
        self.key = key

    @contextmanager
    def reading(self, session: Session, rows: dict[Any, Any]) -> Iterator[None]:
        """Answer lookups of these keys from `rows` (a None value: read, and there is none) until the block ends."""
        session.info[self.key] = rows
        try:
            yield
        finally:
            session.info.pop(self.key, None)

    def known(self, session: Session, key: Any) -> bool:
        """True when the block read `key`."""
        return key in session.info.get(self.key, ())

    def get(self, session: Session, key: Any) -> Any:
        """The row the block read (or noted) for `key`: None when there is none."""
        return session.info.get(self.key, {}).get(key)

    def note(self, session: Session, key: Any, row: Any) -> None:
        """A row created (or None: removed) for a key the block read."""
        if self.known(session, key):
            session.info[self.key][key] = row
