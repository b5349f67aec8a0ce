"""R18: locations, their default countries and the country -> location mapping."""

from __future__ import annotations

import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wholesale.dialin.locations import (
    LOCATION_DEFAULT_COUNTRY,
    LOCATIONS,
    LocationFileError,
    UnknownCountryError,
    build_location_map,
    default_location_map,
    dump_location_overrides,
    load_location_overrides,
    location_for,
)

ALL_COUNTRIES = sorted(c.alpha_2 for c in pycountry.countries)


def test_location_table_matches_r18() -> None:
    # R18 location table: #1 AMER +1 US, #2 APAC +65 SG, #3 ANZ +61 AU, #4 EMEA +44 GB, #5 EURO +49 DE.
    assert LOCATIONS == ("AMER", "APAC", "ANZ", "EMEA", "EURO")
    assert dict(LOCATION_DEFAULT_COUNTRY) == {"AMER": "US", "APAC": "SG", "ANZ": "AU", "EMEA": "GB", "EURO": "DE"}


def test_every_pycountry_country_maps_to_a_location() -> None:
    mapping = default_location_map()  # R18: every ISO-3166 country maps somewhere
    assert sorted(mapping) == ALL_COUNTRIES
    assert set(mapping.values()) == set(LOCATIONS)


def test_default_countries_map_to_their_own_location() -> None:
    mapping = default_location_map()
    for location, country in LOCATION_DEFAULT_COUNTRY.items():
        assert mapping[country] == location


EU = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]


@pytest.mark.parametrize(
    ("countries", "location"),
    [
        ([*EU, "IS", "LI", "NO", "CH"], "EURO"),
        (["GB", "RS", "UA", "TR", "AE", "SA", "IL", "ZA", "NG", "KE", "EG", "MA"], "EMEA"),
        (["US", "CA", "MX", "BR", "AR", "CL", "PA", "CR", "JM", "PR", "TT", "CU"], "AMER"),
        (["AU", "NZ"], "ANZ"),
        (["SG", "JP", "CN", "HK", "IN", "KR", "ID", "PH", "TW", "VN", "FJ", "PG"], "APAC"),
    ],
)
def test_default_mapping_follows_issue_regions(countries: list[str], location: str) -> None:
    mapping = default_location_map()  # R18 default mapping from issue 4
    assert {c: mapping[c] for c in countries} == dict.fromkeys(countries, location)


@pytest.mark.parametrize(
    ("country", "location"),
    [
        # Territories: the decisions documented in locations.py.
        ("AX", "EURO"),
        ("RE", "EURO"),
        ("GF", "EURO"),
        ("SJ", "EURO"),
        ("GG", "EMEA"),
        ("GI", "EMEA"),
        ("IO", "EMEA"),
        ("TF", "EMEA"),
        ("BV", "EMEA"),
        ("BL", "AMER"),
        ("PM", "AMER"),
        ("GL", "AMER"),
        ("UM", "AMER"),
        ("GS", "AMER"),
        ("CX", "ANZ"),
        ("HM", "ANZ"),
        ("CK", "ANZ"),
        ("AQ", "ANZ"),
        ("GU", "APAC"),
        ("PF", "APAC"),
        ("PN", "APAC"),
    ],
)
def test_territory_decisions(country: str, location: str) -> None:
    assert default_location_map()[country] == location


def test_default_map_is_a_fresh_copy() -> None:
    default_location_map()["US"] = "EURO"
    assert default_location_map()["US"] == "AMER"


def test_location_for_normalises_and_falls_back_to_default() -> None:
    assert location_for(" fr ", {}) == "EURO"  # override-only mapping still places a valid country
    assert location_for("FR", {"FR": "EMEA"}) == "EMEA"
    with pytest.raises(UnknownCountryError):
        location_for("XX", default_location_map())


def test_overrides_apply_on_top_of_defaults() -> None:
    overrides = load_location_overrides("country,location\nAE,euro\nnz,APAC\n")
    assert overrides == {"AE": "EURO", "NZ": "APAC"}
    mapping = build_location_map(overrides)
    assert (mapping["AE"], mapping["NZ"], mapping["US"]) == ("EURO", "APAC", "AMER")


def test_header_only_override_file_means_no_overrides() -> None:
    assert load_location_overrides("country,location\n") == {}


def test_bad_override_file_lists_every_bad_line() -> None:
    text = "country,location\nFR,EURO\nXX,EMEA\nDE,MARS\nFR,EMEA\nUS\n"
    with pytest.raises(LocationFileError) as err:
        load_location_overrides(text)
    assert err.value.errors == [
        "line 3: unknown country 'XX'; expected an ISO-3166-1 alpha-2 code",
        "line 4: unknown location 'MARS'; expected one of AMER, APAC, ANZ, EMEA, EURO",
        "line 5: duplicate country FR (first on line 2)",
        "line 6: expected 2 fields, got 1",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "line 1: file is empty"),
        ("country,region\nFR,EURO\n", "line 1: header must be exactly"),
        (b"country,location\nFR,EURO\n\xff\xfe,EMEA\n", "line 3: file is not valid UTF-8"),
    ],
)
def test_override_file_structure_errors(data: str | bytes, message: str) -> None:
    with pytest.raises(LocationFileError) as err:
        load_location_overrides(data)
    assert len(err.value.errors) == 1 and err.value.errors[0].startswith(message)


@given(st.dictionaries(st.sampled_from(ALL_COUNTRIES), st.sampled_from(LOCATIONS), max_size=30))
def test_override_dump_round_trips(overrides: dict[str, str]) -> None:
    assert load_location_overrides(dump_location_overrides(overrides)) == overrides
