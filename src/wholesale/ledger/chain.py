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


def canonical(details: Mapping[str, Any]) -> str:
    """A row's `details` as stored and hashed: JSON, keys sorted, no spaces."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"))


# The fields a row's hash covers, in this order; `append` and `verify` both hash exactly these.
# Rule: every field is hashed (None too), except `details`, which is hashed only when it is not None. Rows
# written before migration 0007 have no details column value and keep the hashes they were written with; a row
# whose details were set, cleared or changed afterwards no longer matches its hash.
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
    "details",  # canonical JSON or None; last, and only when not None (above)
)
_WHEN_PRESENT = "details"


def digest(row: Mapping[str, Any]) -> str:
    """Hex SHA-256 of one row: canonical JSON of its FIELDS in order, the instant as `instant` writes it,
    `details` left out when None."""
    values = [instant(row[f]) if f == "at" else row[f] for f in FIELDS if not (f == _WHEN_PRESENT and row[f] is None)]
    return hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()
