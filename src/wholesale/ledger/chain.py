"""The hash of a ledger row: SHA-256 over its fields in a fixed order, the previous row's hash included."""

import hashlib
import json
from datetime import UTC, datetime

GENESIS = "0" * 64  # the "previous hash" of a partner's first row


def instant(at: datetime) -> str:
    """The instant as hashed: UTC, microseconds (what SQLite and PostgreSQL both keep)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def digest(
    *,
    partner_org_id: str,
    seq: int,
    at: datetime,
    kind: str,
    customer_id: str,
    subscriber_id: str | None,
    package: str,
    delta: int,
    units_after: int,
    quantity_limit: int | None,
    actor: str,
    tracking_id: str | None,
    prev_sha256: str,
) -> str:
    """Hex SHA-256 of one row (canonical JSON of its fields in this order)."""
    fields = [
        partner_org_id,
        seq,
        instant(at),
        kind,
        customer_id,
        subscriber_id,
        package,
        delta,
        units_after,
        quantity_limit,
        actor,
        tracking_id,
        prev_sha256,
    ]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()
