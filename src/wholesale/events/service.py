"""Record audit rows, and the partner's events they imply, inside the caller's transaction: no change without its
record, no record without its change."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.db.session import core
from wholesale.events.catalog import PUBLISHED
from wholesale.events.models import AuditEvent, Event
from wholesale.kit import clock, ids
from wholesale.kit.context import current_actor, current_actor_org, current_actor_role, current_tracking_id
from wholesale.kit.session_rows import SessionRows

_AUDIT_INSERT = sa.insert(cast(sa.Table, AuditEvent.__table__))
_EVENT_INSERT = sa.insert(cast(sa.Table, Event.__table__))
# On PostgreSQL `txid` is the writing transaction's id (see `Event`); on SQLite it is 0.
_EVENT_INSERT_PG = _EVENT_INSERT.values(txid=sa.cast(sa.cast(sa.func.pg_current_xact_id(), sa.Text), sa.BigInteger))


def changed(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The fields that differ between two snapshots, each side (None for both when nothing changed); a one-sided
    snapshot is kept as it is."""
    if before is None or after is None:
        return before, after
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    if not keys:
        return None, None
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(
    session: Session,
    *,
    subject_type: str,
    subject_id: str,
    action: str,
    partner_org_id: str | None = None,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit row, and the partner's event when the action is one (`events.catalog`), to the session's
    transaction; they commit or roll back with the change they describe."""
    record_many(
        session,
        subject_type=subject_type,
        action=action,
        subjects=[(subject_id, data or {})],
        partner_org_id=partner_org_id,
        actor=actor,
        before=before,
        after=after,
    )


def record_many(
    session: Session,
    *,
    subject_type: str,
    action: str,
    subjects: list[tuple[str, dict[str, Any]]],
    partner_org_id: str | None = None,
    actor: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One audit row (and event) per (subject id, data), one INSERT each: the set-based `record`.

    `before` and `after` may be whole snapshots: the row keeps only the fields that differ between them."""
    if not subjects:
        return
    before, after = changed(before, after)
    now, tracking_id = clock.now(), current_tracking_id()
    actor = actor or current_actor()
    role, org = (current_actor_role(), current_actor_org()) if actor == current_actor() else (None, None)
    audit_rows = [
        {
            "occurred_at": now,
            "actor": actor,
            "actor_role": role,
            "actor_org_id": org,
            "partner_org_id": partner_org_id,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "action": action,
            "data": data,
            "before": before,
            "after": after,
            "tracking_id": tracking_id,
        }
        for subject_id, data in subjects
    ]
    published = PUBLISHED.get(action)
    on_postgres = session.get_bind().dialect.name == "postgresql"
    event_rows = (
        []
        if published is None or partner_org_id is None
        else [
            {
                **({} if on_postgres else {"txid": 0}),
                "partner_org_id": partner_org_id,
                "event_id": ids.new_id("EVENT"),
                "resource": published.resource,
                "event": published.event,
                "type": action,
                "subject_id": subject_id,
                "data": published.data(subject_id, data),
                "actor_id": actor,
                "tracking_id": tracking_id,
                "created": now,
            }
            for subject_id, data in subjects
        ]
    )
    if session.info.get(_DEFERRING):
        _WAITING.add(session, [(True, row) for row in audit_rows] + [(False, row) for row in event_rows])
        return
    _write(session, audit_rows, event_rows)


def _write(session: Session, audit_rows: list[dict[str, Any]], event_rows: list[dict[str, Any]]) -> None:
    # Core inserts on the tables (not the ORM classes): the ORM's bulk path costs more than the rows themselves.
    connection = core(session)
    if audit_rows:
        connection.execute(_AUDIT_INSERT, audit_rows)
    if event_rows:
        on_postgres = connection.dialect.name == "postgresql"
        connection.execute(_EVENT_INSERT_PG if on_postgres else _EVENT_INSERT, event_rows)


_DEFERRING = "wholesale.events.deferring"
_WAITING = SessionRows("wholesale.events.waiting")  # (is an audit row, row) in the order recorded


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Keep the audit rows and events recorded in the block and write them as it ends, one INSERT per table (a
    batch of provisioning runs records a few per customer). Nothing reads them before the commit; a savepoint
    inside the block that rolls back takes its own rows with it."""
    session.info[_DEFERRING] = True
    try:
        yield
        waiting = _WAITING.take(session)
        _write(session, [row for audit, row in waiting if audit], [row for audit, row in waiting if not audit])
    finally:
        session.info.pop(_DEFERRING, None)
        _WAITING.take(session)  # a block that raised writes nothing
