"""R17/R18: the telephony domain file (operator data) is validated whole, with line-numbered errors."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wholesale.dialin.locations import LOCATION_DEFAULT_COUNTRY
from wholesale.dialin.telephony import (
    CallInNumber,
    TelephonyFileError,
    dump_csv,
    load_demo_numbers,
    parse_telephony_csv,
)

HEADER = "country,number,label,tollType,available\n"


def errors_of(data: str | bytes) -> list[str]:
    """Return the errors a refused file produces (fails the test when the file is accepted)."""
    with pytest.raises(TelephonyFileError) as err:
        parse_telephony_csv(data)
    assert str(err.value).startswith("telephony file refused:")
    return err.value.errors


def test_parses_rows_in_file_order_and_normalises_to_e164() -> None:
    numbers = parse_telephony_csv(
        HEADER
        + "US,+1 (408) 555-0142,US Toll (San Jose),toll,true\n"
        + "gb,020 7946 0958,UK Toll,toll,No\n"
        + "\n"  # blank lines are ignored, but still count for line numbers
        + "DE,0800 181 4430,DE Free,tollFree,1\n"
    )
    assert numbers == [
        CallInNumber("US", "+14085550142", "US Toll (San Jose)", "toll", True, 1),
        CallInNumber("GB", "+442079460958", "UK Toll", "toll", False, 2),
        CallInNumber("DE", "+498001814430", "DE Free", "tollFree", True, 3),
    ]
    assert numbers[0].country_calling_code == "+1"


def test_call_in_number_is_frozen() -> None:
    number = parse_telephony_csv(HEADER + "US,+14085550142,US,toll,true\n")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        number.available = False  # type: ignore[misc]


def test_accepts_bytes_with_bom_and_crlf() -> None:
    data = ("\ufeff" + HEADER + "FR,+33170918646,Paris,toll,yes\n").replace("\n", "\r\n").encode()
    assert parse_telephony_csv(data)[0].number == "+33170918646"


def test_bad_rows_are_all_reported_with_line_numbers() -> None:
    text = (
        HEADER
        + "US,+14085550142,US Toll,toll,true\n"  # 2 ok
        + "US,+1 408 555,US short,toll,true\n"  # 3 bad number
        + "XX,+14085550143,Nowhere,toll,true\n"  # 4 unknown country
        + "FR,+442079460958,Paris?,toll,true\n"  # 5 valid number of another country
        + "US,+1 408 555 0142,Dup,toll,true\n"  # 6 duplicate of line 2 after normalisation
        + "DE,+496922225781,,toll-free,maybe\n"  # 7 three problems in one row
        + "DE,+496922225781\n"  # 8 wrong field count
        + "JP,not a number,JP,toll,true\n"  # 9 unparseable
    )
    errors = errors_of(text)
    assert [e.split(":", 1)[0] for e in errors] == [
        "line 3",
        "line 4",
        "line 5",
        "line 6",
        "line 7",
        "line 7",
        "line 7",
        "line 8",
        "line 9",
    ]
    assert "not a valid phone number for US" in errors[0]
    assert "unknown country 'XX'" in errors[1]
    assert "belongs to GB, not to FR" in errors[2]
    assert errors[3] == "line 6: duplicate number +14085550142 for US (first on line 2)"
    assert errors[4:7] == [
        "line 7: label must not be empty",
        "line 7: tollType 'toll-free' must be one of toll, tollFree",
        "line 7: available 'maybe' must be one of true, false, 1, 0, yes, no",
    ]
    assert errors[7] == "line 8: expected 5 fields, got 2"
    assert "cannot be parsed for JP" in errors[8]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", "line 1: file is empty"),
        ("\n\n", "line 1: file is empty"),
        (HEADER, "line 2: no call-in numbers after the header"),
        ("country,number,label,available,tollType\nUS,+14085550142,US,true,toll\n", "line 1: header must be exactly"),
        ("country,number,label,tollType\nUS,+14085550142,US,toll\n", "line 1: header must be exactly"),
        ("Country,Number,Label,TollType,Available\n", "line 1: header must be exactly"),
        (HEADER.encode() + b"US,+14085550142,S\xe3o Paulo,toll,true\n", "line 2: file is not valid UTF-8"),
        (HEADER + 'US,+14085550142,"unterminated,toll,true\n', "line 2: malformed CSV"),
    ],
)
def test_structurally_bad_files_are_refused(data: str | bytes, expected: str) -> None:
    errors = errors_of(data)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_duplicate_is_per_country_and_number() -> None:
    errors = errors_of(HEADER + "GB,+442079460958,A,toll,true\nGB,+442079460958,B,tollFree,false\n")
    assert errors == ["line 3: duplicate number +442079460958 for GB (first on line 2)"]


def test_line_numbers_count_quoted_multiline_fields() -> None:
    errors = errors_of(HEADER + 'US,+14085550142,"two\nlines",toll,true\nXX,+1,x,toll,true\n')
    assert errors[0].startswith("line 4: unknown country")


def test_demo_domain_parses_and_fits_issue_4() -> None:
    numbers = load_demo_numbers()
    countries = {n.country for n in numbers}
    assert set(LOCATION_DEFAULT_COUNTRY.values()) <= countries  # R18 fallbacks exist
    assert {"US", "FR", "JP", "AE", "CA"} <= countries and "NZ" not in countries
    assert any(not n.available for n in numbers)
    assert {n.toll_type for n in numbers} == {"toll", "tollFree"}
    assert parse_telephony_csv(dump_csv(numbers)) == numbers


_ROWS = [
    ("US", "+14085550142"),
    ("US", "+18555550123"),
    ("CA", "+14165550177"),
    ("GB", "+442079460958"),
    ("DE", "+496922225781"),
    ("FR", "+33805101473"),
    ("AU", "+61255501234"),
    ("SG", "+6567031330"),
    ("JP", "+81345781488"),
    ("AE", "+97145217710"),
]
_label = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and s != ""
)


@settings(deadline=None)  # phonenumbers loads region metadata lazily on first use
@given(
    st.lists(
        st.tuples(st.sampled_from(_ROWS), _label, st.sampled_from(["toll", "tollFree"]), st.booleans()),
        min_size=1,
        max_size=10,
        unique_by=lambda row: row[0],
    )
)
def test_dump_round_trips(rows: list) -> None:
    numbers = [
        CallInNumber(country, number, label, toll_type, available, order=i + 1)
        for i, ((country, number), label, toll_type, available) in enumerate(rows)
    ]
    text = dump_csv(numbers)
    assert parse_telephony_csv(text) == numbers
    assert parse_telephony_csv(text.encode("utf-8")) == numbers


@settings(deadline=None)  # phonenumbers loads region metadata lazily on first use
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    # The loader either accepts or refuses with TelephonyFileError; nothing else escapes.
    try:
        parse_telephony_csv(HEADER.encode() + data)
    except TelephonyFileError as err:
        assert err.errors and all(e.startswith("line ") for e in err.errors)


def test_a_label_with_a_nul_or_too_long_is_refused_with_its_line():
    """The label is the one free-text cell; it must fit its column and PostgreSQL (no NUL)."""
    good = "US,+14085550142,San Jose,toll,true"
    for bad in ("US,+18555550123,Bad\x00Label,tollFree,true", "US,+18555550123," + "x" * 201 + ",tollFree,true"):
        with pytest.raises(TelephonyFileError) as info:
            parse_telephony_csv("country,number,label,tollType,available\n" + good + "\n" + bad + "\n")
        assert any(e.startswith("line 3: label") for e in info.value.errors), info.value.errors
