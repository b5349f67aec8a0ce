"""Every customer and package transition, allowed and forbidden (pure table)."""

import itertools

import pytest

from wholesale.customers import states
from wholesale.customers.states import CustomerEvent as E
from wholesale.customers.states import CustomerStatus as S
from wholesale.customers.states import PackageStatus as P
from wholesale.kit.errors import InvalidTransition

ALLOWED = {
    (S.PROVISIONING, E.SUCCEEDED): S.PROVISIONED,
    (S.UPDATING, E.SUCCEEDED): S.PROVISIONED,
    (S.PROVISIONING, E.PARTIALLY_SUCCEEDED): S.PROVISIONED_WITH_ERRORS,
    (S.UPDATING, E.PARTIALLY_SUCCEEDED): S.PROVISIONED_WITH_ERRORS,
    (S.PROVISIONING, E.FAILED): S.ERROR,
    (S.UPDATING, E.FAILED): S.ERROR,
    (S.PROVISIONED, E.UPDATE_REQUESTED): S.UPDATING,
    (S.PROVISIONED_WITH_ERRORS, E.UPDATE_REQUESTED): S.UPDATING,
    (S.ERROR, E.UPDATE_REQUESTED): S.UPDATING,
    (S.PROVISIONED, E.DELETE_REQUESTED): S.DELETING,
    (S.PROVISIONED_WITH_ERRORS, E.DELETE_REQUESTED): S.DELETING,
    (S.ERROR, E.DELETE_REQUESTED): S.DELETING,
    (S.PROVISIONING, E.DELETE_REQUESTED): S.DELETING,
    (S.UPDATING, E.DELETE_REQUESTED): S.DELETING,
    (S.DELETING, E.DELETED): S.DELETED,
}


@pytest.mark.parametrize(("status", "event"), list(ALLOWED))
def test_allowed_transitions(status, event):
    assert states.apply(status, event) == ALLOWED[(status, event)]


FORBIDDEN = [pair for pair in itertools.product(list(S), list(E)) if pair not in ALLOWED]


@pytest.mark.parametrize(("status", "event"), FORBIDDEN)
def test_forbidden_transitions_raise(status, event):
    with pytest.raises(InvalidTransition) as info:
        states.apply(status, event)
    assert status.value in info.value.message and info.value.status_code == 409


def test_the_table_is_exactly_the_allowed_set():
    assert dict(states.TRANSITIONS) == ALLOWED


PACKAGE_ALLOWED = {
    (P.PROVISIONING, "granted"): P.PROVISIONED,
    (P.PROVISIONING, "failed"): P.ERROR,
    (P.ERROR, "retry"): P.PROVISIONING,
    (P.PROVISIONED, "remove"): P.DELETING,
    (P.PROVISIONING, "remove"): P.DELETING,
    (P.ERROR, "remove"): P.DELETING,
}


@pytest.mark.parametrize(
    ("status", "event"), list(itertools.product(list(P), ["granted", "failed", "retry", "remove"]))
)
def test_package_transitions(status, event):
    if (status, event) in PACKAGE_ALLOWED:
        assert states.apply_package(status, event) == PACKAGE_ALLOWED[(status, event)]
    else:
        with pytest.raises(InvalidTransition):
            states.apply_package(status, event)


@pytest.mark.parametrize(
    ("packages", "event"),
    [
        ([], E.SUCCEEDED),
        (["provisioned", "provisioned"], E.SUCCEEDED),
        (["provisioned", "error"], E.PARTIALLY_SUCCEEDED),
        (["error", "error"], E.FAILED),
    ],
)
def test_outcome_from_package_statuses(packages, event):
    assert states.outcome_event(packages) == event
