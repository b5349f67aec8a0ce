"""The one lookup every lifecycle's pure transition table goes through."""

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from wholesale.kit.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=str)  # an event enum, or plain str for a table keyed by strings


def transition(
    table: Mapping[tuple[S, E], S], status_type: type[S], status: str, event: E, subject: str, hint: str = ""
) -> S:
    """Return the status after `event`, or raise InvalidTransition naming the subject, status and event."""
    try:
        return table[(status_type(status), event)]
    except (KeyError, ValueError):
        raise InvalidTransition(f"{subject} in status '{status}' cannot take '{event}'{hint}.") from None
