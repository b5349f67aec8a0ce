"""Read a partner's events after a cursor, in commit order, without ever skipping one that commits late.

The cursor is the (`txid`, `id`) of the last event handed out, as an opaque string. On PostgreSQL ids are
allocated before commit, so a transaction that started earlier can commit a smaller id after a larger one was
read; the feed therefore shows only rows of transactions older than every transaction still running
(`pg_snapshot_xmin`), in (`txid`, `id`) order: a row that becomes visible later always sorts after every row
already shown. On SQLite one writer at a time allocates ids and commits, so `id` order is commit order.
"""

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.events.models import Event
from wholesale.kit.errors import field_error

START = (-1, 0)


def encode(position: tuple[int, int]) -> str:
    """The opaque cursor of a feed position."""
    return base64.urlsafe_b64encode(f"v1:{position[0]}:{position[1]}".encode()).decode().rstrip("=")


def decode(cursor: str | None, name: str = "after") -> tuple[int, int]:
    """A feed position from a cursor this feed handed out (None or empty: the beginning)."""
    if not cursor:
        return START
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, txid, row_id = text.split(":")
        if version != "v1":
            raise ValueError(version)
        return int(txid), int(row_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise field_error(name, "is not a cursor this feed handed out; pass the `cursor` of a previous page.") from None


def read(
    session: Session, partner_org_id: str, after: tuple[int, int], limit: int
) -> tuple[Sequence[Event], tuple[int, int]]:
    """Up to `limit` of the partner's committed events after a position, and the position after the last one
    (the same position when there is none: poll again with it)."""
    query = sa.select(Event).where(
        Event.partner_org_id == partner_org_id, sa.tuple_(Event.txid, Event.id) > sa.tuple_(*after)
    )
    if session.get_bind().dialect.name == "postgresql":
        horizon = sa.cast(sa.cast(sa.func.pg_snapshot_xmin(sa.func.pg_current_snapshot()), sa.Text), sa.BigInteger)
        query = query.where(Event.txid < horizon)
    rows = session.scalars(query.order_by(Event.txid, Event.id).limit(limit)).all()
    return rows, ((rows[-1].txid, rows[-1].id) if rows else after)


def purge(session: Session, older_than: datetime) -> int:
    """Delete events created before an instant (retention); returns how many."""
    result = session.execute(sa.delete(Event).where(Event.created < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
