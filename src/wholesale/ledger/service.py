"""Append to the ledger inside the caller's transaction (written as it commits), and verify a partner's chain."""

import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from wholesale.db.session import core
from wholesale.kit import clock
from wholesale.kit.context import current_actor, current_tracking_id
from wholesale.kit.session_rows import SessionRows
from wholesale.ledger.chain import FIELDS, GENESIS, canonical, digest
from wholesale.ledger.models import LedgerHead, UsageEntry


class Kind:
    """What a row records."""

    SUBSCRIBER_ASSIGNED = "subscriber.assigned"  # a user took a unit of the package (create, package change, bulk)
    SUBSCRIBER_RELEASED = "subscriber.released"  # a user gave one back (delete, package change, customer removed)
    PACKAGE_ADDED = "package.added"  # the customer holds the package from now (0 units)
    PACKAGE_REMOVED = "package.removed"  # the customer no longer holds it
    LIMIT_CHANGED = "package.limit_changed"  # the package's cap changed
    OPENING = "opening"  # a package or an assignment that existed when the ledger began (migration 0005)
    # No units change (package "", delta 0, units_after 0); what billing reports show from now on:
    CUSTOMER_DETAILS = "customer.details"  # {name, externalId, orgId, internal}: created, externalId or org set
    SUBSCRIBER_DETAILS = "subscriber.details"  # {email} of a subscriber that existed at migration 0007


DETAILS_KINDS = frozenset({Kind.CUSTOMER_DETAILS, Kind.SUBSCRIBER_DETAILS})  # rows that hold no units


@dataclass(frozen=True)
class Change:
    """One change to record; the ledger adds time, actor, tracking id, sequence number and hashes."""

    partner_org_id: str
    customer_id: str
    package: str
    kind: str
    delta: int
    units_after: int
    subscriber_id: str | None = None
    quantity_limit: int | None = None
    details: Mapping[str, Any] | None = None  # stored as canonical JSON (`chain.canonical`)


# Prebuilt Core statements on the tables: an append runs these three, and the ORM's bulk path around them cost
# more than the statements themselves (the same change made the event rows 1.21 -> 0.99 of a create).
_ROWS = cast(sa.Table, UsageEntry.__table__)
_HEADS = cast(sa.Table, LedgerHead.__table__)
_INSERT_ROWS = sa.insert(_ROWS)
_READ_HEAD = (
    sa.select(_HEADS.c.seq, _HEADS.c.sha256).where(_HEADS.c.partner_org_id == sa.bindparam("partner")).with_for_update()
)
_MOVE_HEAD = (
    sa.update(_HEADS)
    .where(_HEADS.c.partner_org_id == sa.bindparam("partner"))
    .values(seq=sa.bindparam("new_seq"), sha256=sa.bindparam("new_sha256"))
)
# Moves the head only from the one this process last wrote (`_Heads`): it then locks the row as _READ_HEAD would.
_MOVE_HEAD_FROM = _MOVE_HEAD.where(
    _HEADS.c.seq == sa.bindparam("old_seq"), _HEADS.c.sha256 == sa.bindparam("old_sha256")
)


class _Heads:
    """The head this process last wrote for each partner, per engine: a guess of the head, checked by the UPDATE
    that moves it (`_MOVE_HEAD_FROM` matches only that exact sequence number and hash), so a write of the partner
    whose guess holds makes two statements instead of three (issue 15). A guess goes stale when another process
    wrote the partner's rows or the transaction that wrote it rolled back; the UPDATE then matches nothing and the
    rows are hashed again on the head read under its lock, as without a guess.

    SQLite only: a process's writers take turns there, so each reads the guess its predecessor left. On PostgreSQL
    the writes of one partner overlap: each read the guess before the one ahead of it in the head's lock queue
    moved it, and 194-196 of 200 guesses missed with 4-8 threads (each miss a statement more), 0 of 200 with one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[sa.Engine, dict[str, tuple[int, str]]] = weakref.WeakKeyDictionary()

    def get(self, engine: sa.Engine, partner_org_id: str) -> tuple[int, str] | None:
        with self._lock:
            return self._by_engine.get(engine, {}).get(partner_org_id)

    def put(self, engine: sa.Engine, partner_org_id: str, head: tuple[int, str]) -> None:
        with self._lock:
            self._by_engine.setdefault(engine, {})[partner_org_id] = head


_HEADS_WRITTEN = _Heads()


# A transaction's ledger rows wait in its session until it commits: the partner's head row is then locked for the
# last statements only (insert rows, move head, COMMIT) instead of from the first change to the end. Every write of
# one partner takes turns on that row, so how long each holds it bounds the partner's writes per second; measured
# with bench/scale_out.py --sample-waits, 20+ sessions were waiting on it when it was taken at the change.
_PENDING = SessionRows("ledger.pending")  # (change, actor, tracking id) in the order appended


def append(session: Session, changes: Sequence[Change]) -> None:
    """Record rows in the caller's transaction, chained per partner: they commit or roll back with the change
    (a savepoint rolled back takes its rows with it). Written when the transaction commits (`write_pending`)."""
    if not changes:
        return
    actor, tracking_id = current_actor(), current_tracking_id()
    _PENDING.add(session, [(change, actor, tracking_id) for change in changes])


def write_pending(session: Session) -> None:
    """Write the rows appended in this transaction now: per partner (in a fixed order, so two transactions never
    wait on each other's heads crosswise), lock its head, hash the rows in order, insert them in one statement,
    move the head. Runs before every commit; a reader of the ledger in the same transaction calls it first."""
    pending = _PENDING.take(session)
    if not pending:
        return
    by_partner: dict[str, list[tuple[Change, str, str | None]]] = {}
    for item in pending:
        by_partner.setdefault(item[0].partner_org_id, []).append(item)
    connection = core(session)
    engine = connection.engine
    guessing = engine.dialect.name == "sqlite"
    for partner_org_id in sorted(by_partner):
        items = by_partner[partner_org_id]
        guess = _HEADS_WRITTEN.get(engine, partner_org_id) if guessing else None
        rows = None
        if guess is not None:
            # The clock is read before the head is locked here; a guess that holds means no row of the partner was
            # written since this process wrote the guessed one, which it did before this clock read.
            rows = _chained(partner_org_id, items, *guess)
            moved = connection.execute(
                _MOVE_HEAD_FROM,
                {
                    "partner": partner_org_id,
                    "old_seq": guess[0],
                    "old_sha256": guess[1],
                    "new_seq": rows[-1]["seq"],
                    "new_sha256": rows[-1]["sha256"],
                },
            )
            if moved.rowcount != 1:
                rows = None  # stale: another process or a rolled-back transaction wrote the guess
        if rows is None:
            # Read under the head's lock: a partner's rows are in time order as well as seq order.
            rows = _chained(partner_org_id, items, *_lock_head(session, partner_org_id))
            connection.execute(
                _MOVE_HEAD, {"partner": partner_org_id, "new_seq": rows[-1]["seq"], "new_sha256": rows[-1]["sha256"]}
            )
        connection.execute(_INSERT_ROWS, rows)
        if guessing:
            _HEADS_WRITTEN.put(engine, partner_org_id, (rows[-1]["seq"], rows[-1]["sha256"]))


def _chained(
    partner_org_id: str, items: list[tuple[Change, str, str | None]], seq: int, prev: str
) -> list[dict[str, Any]]:
    """The rows of `items` numbered and hashed after the head (seq, prev), at the clock's time now."""
    now = clock.now()
    rows: list[dict[str, Any]] = []
    for change, actor, tracking_id in items:
        seq += 1
        row: dict[str, Any] = {
            "partner_org_id": partner_org_id,
            "seq": seq,
            "at": now,
            "kind": change.kind,
            "customer_id": change.customer_id,
            "subscriber_id": change.subscriber_id,
            "package": change.package,
            "delta": change.delta,
            "units_after": change.units_after,
            "quantity_limit": change.quantity_limit,
            "actor": actor,
            "tracking_id": tracking_id,
            "prev_sha256": prev,
            "details": canonical(change.details) if change.details is not None else None,
        }
        prev = row["sha256"] = digest(row)
        rows.append(row)
    return rows


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if session.in_nested_transaction() or not _PENDING.kept(session):
        return  # a savepoint's release: its rows go with the outer commit
    # This hook runs before the commit's own flush: flush the unit of work first, so the head is locked only for
    # the ledger's statements and the COMMIT (scale_out --sample-waits: 8-10 sessions still waited on it while the
    # holder flushed its customer, packages, audit and event rows).
    session.flush()
    write_pending(session)


def _lock_head(session: Session, partner_org_id: str) -> tuple[int, str]:
    """The partner's last sequence number and hash, its head row locked until commit (created on first use)."""
    head = session.execute(_READ_HEAD, {"partner": partner_org_id}).first()
    if head is None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(LedgerHead)
            .values(partner_org_id=partner_org_id, seq=0, sha256=GENESIS)
            .on_conflict_do_nothing(index_elements=["partner_org_id"])
        )
        head = session.execute(_READ_HEAD, {"partner": partner_org_id}).one()
    return head.seq, head.sha256


@dataclass(frozen=True)
class Problem:
    """Something `verify` found: which partner, which row (id and sequence number) and what."""

    partner_org_id: str
    row_id: int | None
    seq: int | None
    what: str

    def __str__(self) -> str:
        where = f"row {self.row_id} (seq {self.seq})" if self.row_id is not None else f"after seq {self.seq}"
        return f"partner {self.partner_org_id}: {where}: {self.what}"


def verify(session: Session, partner_org_id: str | None = None) -> tuple[int, list[Problem]]:
    """Walk each partner's chain; return how many rows were checked and every problem found.

    A changed row no longer matches its own hash; a removed row leaves a gap in the sequence or a broken link;
    an inserted row breaks the link of the row after it, or lies beyond the head.
    """
    write_pending(session)
    heads = {h.partner_org_id: h for h in session.scalars(sa.select(LedgerHead))}
    partners = set(heads) | set(session.scalars(sa.select(UsageEntry.partner_org_id).distinct()))
    if partner_org_id is not None:
        partners &= {partner_org_id}
    checked, problems = 0, []
    for partner in sorted(partners):
        expected_seq, prev = 1, GENESIS
        last_row_id: int | None = None
        query = sa.select(UsageEntry).where(UsageEntry.partner_org_id == partner).order_by(UsageEntry.seq)
        for row in session.scalars(query.execution_options(yield_per=5000)):
            checked += 1
            if row.seq != expected_seq:
                problems.append(
                    Problem(partner, row.id, row.seq, f"expected seq {expected_seq}: rows are missing before it")
                )
            if row.prev_sha256 != prev:
                problems.append(Problem(partner, row.id, row.seq, "its link to the previous row is broken"))
            recomputed = digest({field: getattr(row, field) for field in FIELDS})
            if recomputed != row.sha256:
                problems.append(Problem(partner, row.id, row.seq, "was changed: it no longer matches its hash"))
            expected_seq, prev, last_row_id = row.seq + 1, row.sha256, row.id
        head = heads.get(partner)
        last_seq = expected_seq - 1
        if head is None:
            problems.append(Problem(partner, last_row_id, last_seq, "the partner's chain has no head row"))
        elif head.seq != last_seq or head.sha256 != prev:
            what = (
                f"the head says seq {head.seq}: rows after seq {last_seq} were removed"
                if head.seq > last_seq
                else f"the head says seq {head.seq}: rows after it were inserted"
                if head.seq < last_seq
                else "the last row does not match the head's hash"
            )
            problems.append(Problem(partner, None, last_seq, what))
    return checked, problems
