"""The plain-address shortcut of email validation (`customers.validation.plain_email`): every address it accepts is
one email_validator accepts, normalised to the same lower-case string; anything else still goes through
email_validator. Checked on generated addresses built from the characters and lengths where the two could differ."""

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from wholesale.customers.validation import check_email, plain_email
from wholesale.kit.errors import BadRequest

# Mostly near the plain shape (dot-separated atoms, letter-digit-hyphen labels, up to and past the length limits),
# sometimes anything from characters the shape refuses.
_LOCAL = st.one_of(
    st.lists(st.text(alphabet="aZ09_%+-", min_size=1, max_size=24), min_size=1, max_size=4).map(".".join),
    st.text(alphabet='aZ09._%+-!#é"', min_size=0, max_size=70),
)
_LABEL = st.one_of(st.text(alphabet="aZ09-", min_size=1, max_size=65), st.text(alphabet="aZ09-_xné", max_size=66))
_TLD = st.sampled_from(["com", "COM", "de", "c", "x1", "123", "test", "local", "onion", "arpa", "xn--p1ai", "example"])


def _email_validator(value: str) -> str | None:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


@settings(max_examples=2000, deadline=None)
@given(_LOCAL, st.lists(_LABEL, min_size=0, max_size=4), _TLD)
def test_what_the_shortcut_accepts_email_validator_accepts_the_same(local, labels, tld):
    value = f"{local}@{'.'.join([*labels, tld])}"
    fast = plain_email(value)
    if fast is not None:
        assert _email_validator(value) == fast, value


@pytest.mark.parametrize(
    "value",
    [
        "Anna.Smith@Example.COM",
        "a+b%c_d-e@sub-1.mail.example.co",
        f"{'a' * 64}@example.com",
        f"x@{'a' * 63}.example.com",
    ],
)
def test_plain_addresses_take_the_shortcut(value):
    assert plain_email(value) == value.lower() == _email_validator(value)


@pytest.mark.parametrize(
    "value",
    [
        f"{'a' * 65}@example.com",  # a local part longer than 64
        "a@b.test",  # special-use domains
        "a@host.local",
        "a@xn--p1ai.xn--p1ai",  # IDNA: email_validator decides
        "ö@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@example",
        "a@example.123",
    ],
)
def test_other_addresses_go_through_email_validator(value):
    assert plain_email(value) is None
    expected = _email_validator(value)
    if expected is None:
        with pytest.raises(BadRequest):
            check_email("email", value)
    else:
        assert check_email("email", value) == expected
