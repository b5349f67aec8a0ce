"""The one lookup every lifecycle's pure transition table goes through."""

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from wholesale.kit.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


def transition(
    table: Mapping[tuple[S, str], S], status_type: type[S], status: str, event: str, subject: str, hint: str = ""
) -> S:
    """Return the status after `event`, or raise InvalidTransition naming the subject, status and event."""
    try:
        return table[(status_type(status), event)]
    except (KeyError, ValueError):
        raise InvalidTransition(f"{subject} in status '{status}' cannot take '{event}'{hint}.") from None
