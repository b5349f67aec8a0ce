"""Dial-in fixtures: the global telephony domain and location overrides are saved and restored around a test."""

from collections.abc import Callable

import pytest

from dialin_support import TEST_DOMAIN_CSV


@pytest.fixture
def telephony(db) -> Callable[[str], None]:
    """Replace the global telephony domain for the test (CSV text); the previous domain comes back afterwards."""
    from wholesale.dialin import service
    from wholesale.dialin.telephony import parse_telephony_csv

    with db.session(write=False) as s:
        saved = service.current_numbers(s)

    def load(csv_text: str = TEST_DOMAIN_CSV) -> None:
        with db.transaction() as s:
            service.replace_numbers(s, parse_telephony_csv(csv_text))

    yield load
    with db.transaction() as s:
        service.replace_numbers(s, saved)


@pytest.fixture
def overrides_restored(db):
    """Save and restore the operator's location overrides around a test."""
    from wholesale.dialin import service

    with db.session(write=False) as s:
        saved = {i["country"]: i["location"] for i in service.read_overrides(s)["items"]}
    yield
    with db.transaction() as s:
        service.replace_overrides(s, saved)
