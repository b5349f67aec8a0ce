"""A webhook's filter: key=value pairs joined by &, all matched against the delivered data."""

import pytest

from wholesale.webhooks import filters

DATA = {
    "id": "c1",
    "type": "customer.settled",
    "eventId": "e1",
    "status": "provisioned",
    "packages": ["webex_calling", "webex_meetings"],
    "internal": False,
    "rows": 12,
    "address": {"country": "FR"},
    "error": None,
}


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("type=customer.settled", True),
        ("type=customer.settled&status=provisioned", True),
        ("type=customer.settled&status=error", False),
        ("packages=webex_meetings", True),
        ("packages=webex_suite", False),
        ("internal=false", True),
        ("rows=12", True),
        ("address.country=FR", True),
        ("error=null", True),
        ("missing=null", True),
        ("missing=x", False),
        ("id=c%31", True),
        ("eventId=e1", True),
    ],
)
def test_matching(text, hit):
    assert filters.matches(filters.parse(text), DATA) is hit


@pytest.mark.parametrize("text", ["type", "=x", "a=1&&b=2", "&".join(f"k{i}=v" for i in range(11))])
def test_a_filter_that_does_not_parse_says_why(text):
    with pytest.raises(ValueError):
        filters.parse(text)


def test_no_filter_matches_everything():
    assert filters.parse(None) == filters.parse("  ") == ()
    assert filters.matches((), DATA)
