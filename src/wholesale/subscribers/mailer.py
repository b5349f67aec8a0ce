"""Where the consent-to-move email goes. No mail server is configured: the simulated mailer keeps the last
messages in this process's memory (`OUTBOX`), where tests read the link a free account's owner would click.

The link's token exists only in the email: the database keeps its SHA-256 (`subscribers.consent_token_hash`),
the audit row says to whom an email went but not its link, and the request log never shows the token.
"""

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

OUTBOX_SIZE = 200


@dataclass(frozen=True)
class ConsentEmail:
    """A consent-to-move email: to the free account's owner, with the link that accepts the move."""

    subscriber_id: str
    to: str
    link: str
    sent: datetime


class Outbox:
    """The simulated mailer: the last OUTBOX_SIZE emails sent by this process, oldest first."""

    def __init__(self, size: int = OUTBOX_SIZE) -> None:
        self._emails: deque[ConsentEmail] = deque(maxlen=size)
        self._lock = threading.Lock()

    def send(self, email: ConsentEmail) -> None:
        """Keep the email."""
        with self._lock:
            self._emails.append(email)

    def sent_to(self, subscriber_id: str) -> list[ConsentEmail]:
        """The emails sent about a subscriber, oldest first."""
        with self._lock:
            return [e for e in self._emails if e.subscriber_id == subscriber_id]


OUTBOX = Outbox()


def send(email: ConsentEmail) -> None:
    """Hand a consent email to the mailer (a real transport would plug in here)."""
    OUTBOX.send(email)
