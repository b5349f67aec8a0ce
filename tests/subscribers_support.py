"""Helpers for subscriber tests (importable as `subscribers_support`)."""

import uuid
from typing import Any


def new_email() -> str:
    """A fresh subscriber email."""
    return f"sub-{uuid.uuid4().hex[:12]}@example.com"


def sub_body(customer_id: str, package: str = "webex_meetings", **params: Any) -> dict[str, Any]:
    """A create body with one package and the given provisioningParameters."""
    return {
        "customerId": customer_id,
        "email": params.pop("email", None) or new_email(),
        "packages": [package],
        "provisioningParameters": {"firstName": "Ada", "lastName": "Lovelace", **params},
    }
