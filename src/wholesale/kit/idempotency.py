"""Idempotency-Key (Stripe semantics): a replay with the same key and body returns the stored response."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from wholesale.db.base import Base
from wholesale.kit import clock
from wholesale.kit.errors import BadRequest, Conflict

MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("location", "content-type")


class IdempotencyKey(Base):
    """A key a caller sent, the request it named and, once committed, the response it got."""

    __tablename__ = "idempotency_keys"

    org_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(2000))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    response_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class StoredResponse:
    """A response to send again."""

    status_code: int
    body: bytes
    headers: dict[str, str]


def fingerprint(method: str, path: str, query: str, body: bytes, caller: str = "") -> str:
    """Hash what makes two requests the same; JSON bodies compare by content, not by spacing or key order.

    `caller` names who asks (role and scopes): a key replays only to a caller with the same rights, so a
    reviewer reusing an operator's key gets a 409, never the operator's response.
    """
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body  # not JSON, or nested too deep to re-encode: the bytes as sent
    digest = hashlib.sha256()
    parts = (method.upper().encode(), path.encode(), "&".join(sorted(query.split("&"))).encode(), caller.encode())
    for part in (*parts, canonical):
        digest.update(part + b"\0")
    return digest.hexdigest()


def claim(session: Session, *, org_id: str, key: str, method: str, path: str, fp: str) -> StoredResponse | None:
    """Claim a key inside the request's transaction; return the stored response when it is a replay.

    The claim row is inserted first, so a concurrent request with the same key waits on it and then
    sees the committed response; a failed request rolls the claim back and the key can be used again.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(f"Idempotency-Key: must be 1 to {MAX_KEY_LENGTH} characters.")
    for _ in range(3):
        try:
            with session.begin_nested():
                session.add(
                    IdempotencyKey(
                        org_id=org_id, key=key, fingerprint=fp, method=method, path=path, created=clock.now()
                    )
                )
            return None
        except IntegrityError as exc:
            existing = session.get(IdempotencyKey, (org_id, key), populate_existing=True)
            if existing is None:
                continue  # the other request rolled back between our insert and our read
            if existing.fingerprint != fp:
                raise Conflict(
                    "Idempotency-Key was already used with a different request "
                    f"({existing.method} {existing.path}); use a new key for a new request.",
                    error_code=409100,
                ) from exc
            if existing.status_code is None:
                raise Conflict(
                    "A request with this Idempotency-Key is still in progress; retry later.", error_code=409101
                ) from exc
            return StoredResponse(
                status_code=existing.status_code,
                body=(existing.response_body or "").encode(),
                headers=dict(existing.response_headers or {}),
            )
    raise Conflict("Idempotency-Key could not be claimed; retry.", error_code=409101)


def store(session: Session, *, org_id: str, key: str, status_code: int, body: bytes, headers: dict[str, str]) -> None:
    """Save the response under the claimed key; it commits with the work it describes."""
    row = session.get(IdempotencyKey, (org_id, key))
    if row is None:
        return
    row.status_code = status_code
    row.response_body = body.decode("utf-8", errors="replace")
    row.response_headers = {k: v for k, v in headers.items() if k.lower() in REPLAYED_HEADERS}


def purge_older_than(session: Session, cutoff: datetime) -> int:
    """Delete keys older than a cutoff (run daily; Stripe keeps keys for 24 hours)."""
    # A DML statement's result is a CursorResult (Session.execute is typed as returning the base Result).
    result = cast(CursorResult[Any], session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created < cutoff)))
    return result.rowcount or 0
