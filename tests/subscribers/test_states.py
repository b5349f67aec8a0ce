"""The subscriber transition tables: every allowed and every forbidden transition."""

import itertools

import pytest

from wholesale.kit.errors import InvalidTransition
from wholesale.subscribers import states
from wholesale.subscribers.states import BulkStatus, SubscriberEvent, SubscriberStatus


@pytest.mark.parametrize("pair", list(itertools.product(SubscriberStatus, SubscriberEvent)), ids=str)
def test_every_subscriber_transition(pair):
    status, event = pair
    if pair in states.TRANSITIONS:
        assert states.apply(status, event) == states.TRANSITIONS[pair]
    else:
        with pytest.raises(InvalidTransition, match=status.value):
            states.apply(status, event)


def test_consent_is_the_only_way_from_pending_to_provisioned():
    into_provisioned = [
        (s, e) for (s, e), t in states.TRANSITIONS.items() if t == SubscriberStatus.PROVISIONED and s != t
    ]
    assert sorted(into_provisioned) == sorted(
        [
            (SubscriberStatus.NEW, SubscriberEvent.CREATED),
            (SubscriberStatus.PENDING_USER_MIGRATION, SubscriberEvent.CONSENT_ACCEPTED),
        ]
    )


@pytest.mark.parametrize("pair", list(itertools.product(BulkStatus, ["started", "finished"])), ids=str)
def test_every_bulk_transition(pair):
    if pair in states.BULK_TRANSITIONS:
        assert states.apply_bulk(*pair) == states.BULK_TRANSITIONS[pair]
    else:
        with pytest.raises(InvalidTransition):
            states.apply_bulk(*pair)
