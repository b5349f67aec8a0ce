"""The hash of a ledger row: SHA-256 over its fields in a fixed order, the previous row's hash included."""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of a partner's first row


def instant(at: datetime) -> str:
    """The instant as hashed: UTC, microseconds (what SQLite and PostgreSQL both keep)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


# The fields a row's hash covers, in this order (the previous row's hash last).
FIELDS = (
    "partner_org_id",
    "seq",
    "at",
    "kind",
    "customer_id",
    "subscriber_id",
    "package",
    "delta",
    "units_after",
    "quantity_limit",
    "actor",
    "tracking_id",
    "prev_sha256",
)


def digest(row: Mapping[str, Any]) -> str:
    """Hex SHA-256 of one row: canonical JSON of its FIELDS in order, the instant as `instant` writes it."""
    values = [instant(row[f]) if f == "at" else row[f] for f in FIELDS]
    return hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()
