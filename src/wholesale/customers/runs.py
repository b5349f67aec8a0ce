"""The queue of provisioning runs: one row per accepted create or update, in the customer's own transaction.

A row waiting here is a run not yet done; the batch that does it deletes the row in the transaction that does
the work, so a crash anywhere leaves either the row (the run is redone) or the work (the row is gone), never
both and never neither. The rows are taken in the order they were queued; a row whose revision is not the
customer's any more was superseded by a later change (or a deletion) and is dropped without work.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from wholesale.customers.models import Customer
from wholesale.db.base import Base
from wholesale.db.session import core
from wholesale.jobs import pump
from wholesale.kit import clock

PUMP = "customers.runs"  # the pump that takes the queue's rows in batches (`wholesale.jobs.pump`)


class QueuedRun(Base):
    """A provisioning run (create or update) waiting for a batch."""

    __tablename__ = "customer_run_queue"

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    # True for a create: the run also makes the customer's full administrator.
    new: Mapped[bool]
    # Why the customer must be screened (R10: "created", "address_changed"), or None: the batch enqueues it.
    screen: Mapped[str | None] = mapped_column(sa.String(40))
    queued_at: Mapped[datetime]


@dataclass(frozen=True)
class Run:
    """A run taken from the queue: the customer, the revision it converges to, whether it is a create, and the
    screenings its rows asked for ((revision, trigger), R10)."""

    customer_id: str
    revision: int
    new: bool
    screens: tuple[tuple[int, str], ...] = ()


_INSERT_RUN = sa.insert(cast(sa.Table, QueuedRun.__table__))  # built once: every create and update queues
_INSERT_RUN_NOTIFYING = _INSERT_RUN.returning(pump.notifying(PUMP))  # PostgreSQL: the wake in the same round trip


def queue(session: Session, customer: Customer, *, new: bool, screen: str | None = None) -> None:
    """Queue the run of the customer's current revision (and its screening), in the caller's transaction, and wake
    the provisioning pump when it commits."""
    row = {"customer_id": customer.id, "revision": customer.revision, "new": new, "screen": screen}
    notifying = pump.notify_to_return(session, PUMP)
    core(session).execute(_INSERT_RUN_NOTIFYING if notifying else _INSERT_RUN, {**row, "queued_at": clock.now()})
    pump.wake_after_commit(session, PUMP, notified=notifying)


def waiting(session: Session) -> bool:
    """True when some run waits (a cheap look before starting a batch)."""
    return session.scalar(sa.select(QueuedRun.seq).limit(1)) is not None


def take(session: Session, limit: int) -> list[Run]:
    """Take up to `limit` waiting rows, oldest first, and delete them in the caller's transaction; return one run
    per customer (its latest revision, a create when any of its rows was one).

    On PostgreSQL the rows are locked with SKIP LOCKED, so batches of other processes take other rows; the
    delete commits with the batch's work, and a batch that rolls back leaves its rows for the next one.
    """
    query = sa.select(QueuedRun.seq, QueuedRun.customer_id, QueuedRun.revision, QueuedRun.new, QueuedRun.screen)
    query = query.order_by(QueuedRun.seq).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return []
    session.execute(sa.delete(QueuedRun).where(QueuedRun.seq.in_([r.seq for r in rows])))
    runs: dict[str, Run] = {}
    for row in rows:
        earlier = runs.get(row.customer_id)
        screens = ((row.revision, row.screen),) if row.screen else ()
        if earlier is None:
            runs[row.customer_id] = Run(row.customer_id, row.revision, row.new, screens)
            continue
        runs[row.customer_id] = Run(
            row.customer_id,
            max(row.revision, earlier.revision),
            row.new or earlier.new,
            earlier.screens + screens,
        )
    return list(runs.values())
