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


def consent_links(subscriber_id: str, count: int) -> list[str]:
    """The links of the consent emails sent about a subscriber, oldest first, once `count` of them were sent (the
    simulated mailer's outbox: the link exists nowhere else)."""
    from helpers import wait_for
    from wholesale.subscribers.mailer import OUTBOX

    sent = wait_for(lambda: OUTBOX.sent_to(subscriber_id), lambda emails: len(emails) >= count)
    assert len(sent) == count, sent
    return [e.link for e in sent]


def consent_path(link: str) -> str:
    """A consent link's path, to post with the test client."""
    return link[link.index("/v1/") :]
