"""R17/R18: the default global call-in number rule, table-driven."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wholesale.dialin.locations import (
    LOCATION_DEFAULT_COUNTRY,
    LOCATIONS,
    UnknownCountryError,
    build_location_map,
    default_location_map,
)
from wholesale.dialin.rules import CallInDecision, derive_default_call_in
from wholesale.dialin.telephony import CallInNumber, load_demo_numbers, parse_telephony_csv

# A small domain: every location default country, plus FR and JP; FR's first entry is unavailable.
DOMAIN_CSV = """\
country,number,label,tollType,available
US,+14085550142,US Toll,toll,true
US,+18555550123,US Toll Free,tollFree,true
SG,+6567031330,SG Toll,toll,true
AU,+61255501234,AU Toll,toll,true
GB,+442079460958,GB Toll,toll,true
DE,+496922225781,DE Toll,toll,true
FR,+33170918646,FR Toll Paris,toll,false
FR,+33805101473,FR Toll Free,tollFree,true
JP,+81345781488,JP Toll,toll,true
"""
DOMAIN = parse_telephony_csv(DOMAIN_CSV)
MAP = default_location_map()


def number_of(country: str, domain: list[CallInNumber] = DOMAIN) -> str:
    """Return the E.164 of the first listed number of `country` in `domain`."""
    return next(n.number for n in domain if n.country == country)


# R18: (org country, expected location, expected source, expected number or None)
CASES = [
    # Own country present.
    ("US", "AMER", "orgCountry", "+14085550142"),
    ("JP", "APAC", "orgCountry", "+81345781488"),
    ("DE", "EURO", "orgCountry", "+496922225781"),
    # Own country present but its first number unavailable: next available of the same country wins.
    ("FR", "EURO", "orgCountry", "+33805101473"),
    # Own country absent -> default country of the location, one per location.
    ("CA", "AMER", "locationDefault", "+14085550142"),
    ("IN", "APAC", "locationDefault", "+6567031330"),
    ("NZ", "ANZ", "locationDefault", "+61255501234"),
    ("AE", "EMEA", "locationDefault", "+442079460958"),
    ("NL", "EURO", "locationDefault", "+496922225781"),
]


@pytest.mark.parametrize(("country", "location", "source", "number"), CASES)
def test_rule_picks_number_per_r18(country: str, location: str, source: str, number: str) -> None:
    decision = derive_default_call_in(country, DOMAIN, MAP, pstn_enabled=True)  # R18
    assert decision.location == location
    assert decision.source == source
    assert decision.number is not None and decision.number.number == number
    assert decision.warning is None


def test_own_country_all_unavailable_falls_back_to_location_default() -> None:
    domain = parse_telephony_csv(
        "country,number,label,tollType,available\n"
        "FR,+33170918646,FR Toll,toll,false\n"
        "DE,+496922225781,DE Toll,toll,true\n"
    )
    decision = derive_default_call_in("FR", domain, MAP, pstn_enabled=True)  # R18
    assert (decision.source, decision.number.number if decision.number else None) == (
        "locationDefault",
        "+496922225781",
    )


@pytest.mark.parametrize("location", LOCATIONS)
def test_nothing_available_warns_without_crashing(location: str) -> None:
    default_country = LOCATION_DEFAULT_COUNTRY[location]
    other = next(c for c, loc in MAP.items() if loc == location and c != default_country)
    domain = [n for n in DOMAIN if n.country not in {default_country, other}]
    for country in (other, default_country):
        decision = derive_default_call_in(country, domain, MAP, pstn_enabled=True)  # R18
        assert decision == CallInDecision(location=location, number=None, source="none", warning=decision.warning)
        assert decision.warning and country in decision.warning and location in decision.warning


def test_unavailable_location_default_is_not_used() -> None:
    domain = parse_telephony_csv("country,number,label,tollType,available\nGB,+442079460958,GB Toll,toll,no\n")
    decision = derive_default_call_in("KE", domain, MAP, pstn_enabled=True)  # R18
    assert decision.source == "none" and decision.number is None
    assert "KE" in decision.warning and "GB" in decision.warning


def test_empty_domain_warns() -> None:
    decision = derive_default_call_in("US", [], MAP, pstn_enabled=True)  # R18
    assert decision.source == "none" and decision.number is None and decision.warning


@pytest.mark.parametrize("country", ["US", "FR", "NZ", "KE", "AQ"])
def test_pstn_disabled_gives_no_number_and_no_warning(country: str) -> None:
    decision = derive_default_call_in(country, DOMAIN, MAP, pstn_enabled=False)  # R17
    assert decision == CallInDecision(location=MAP[country], number=None, source="none", warning=None)


def test_lowest_order_wins_regardless_of_input_order() -> None:
    decision = derive_default_call_in("US", list(reversed(DOMAIN)), MAP, pstn_enabled=True)  # R18
    assert decision.number is not None and decision.number.order == 1


def test_operator_override_moves_the_site() -> None:
    mapping = build_location_map({"AE": "EURO"})
    decision = derive_default_call_in("AE", DOMAIN, mapping, pstn_enabled=True)  # R18: mapping is operator data
    assert (decision.location, decision.source, decision.number.country) == ("EURO", "locationDefault", "DE")


def test_lower_case_country_is_accepted() -> None:
    assert derive_default_call_in("fr", DOMAIN, MAP, True).number.country == "FR"


def test_unknown_country_is_refused() -> None:
    with pytest.raises(UnknownCountryError):
        derive_default_call_in("XX", DOMAIN, MAP, pstn_enabled=True)


@pytest.mark.parametrize(
    ("country", "location", "source"),
    [
        # The end-to-end countries of issue 4 against the demo domain.
        ("US", "AMER", "orgCountry"),
        ("FR", "EURO", "orgCountry"),
        ("JP", "APAC", "orgCountry"),
        ("NZ", "ANZ", "locationDefault"),
        ("AE", "EMEA", "orgCountry"),
        ("CA", "AMER", "orgCountry"),
    ],
)
def test_demo_domain_serves_issue_countries(country: str, location: str, source: str) -> None:
    decision = derive_default_call_in(country, load_demo_numbers(), MAP, pstn_enabled=True)  # R18
    assert (decision.location, decision.source) == (location, source)
    expected_country = country if source == "orgCountry" else LOCATION_DEFAULT_COUNTRY[location]
    assert decision.number is not None and decision.number.country == expected_country


_entries = st.builds(
    lambda country, available: (country, available),
    st.sampled_from(["US", "CA", "GB", "DE", "FR", "AU", "SG", "JP"]),
    st.booleans(),
)
_NUMBERS = {
    "US": "+1408555{:04d}",
    "CA": "+1416555{:04d}",
    "GB": "+44207946{:04d}",
    "DE": "+496922{:04d}",
    "FR": "+3317091{:04d}",
    "AU": "+612555{:04d}",
    "SG": "+656703{:04d}",
    "JP": "+813457{:04d}",
}


@given(entries=st.lists(_entries, max_size=20), country=st.sampled_from(sorted(MAP)), pstn=st.booleans())
def test_rule_invariants(entries: list[tuple[str, bool]], country: str, pstn: bool) -> None:
    # R18 invariants over arbitrary domains: the chosen number is available, belongs to the org or the
    # location default country, has the lowest order among its peers, and a warning appears iff no number.
    domain = [
        CallInNumber(c, _NUMBERS[c].format(i), f"{c} {i}", "toll", available, order=i + 1)
        for i, (c, available) in enumerate(entries)
    ]
    decision = derive_default_call_in(country, domain, MAP, pstn_enabled=pstn)
    assert decision.location == MAP[country]
    if not pstn:  # R17
        assert (decision.number, decision.source, decision.warning) == (None, "none", None)
        return
    own = [n for n in domain if n.country == country and n.available]
    fallback_country = LOCATION_DEFAULT_COUNTRY[decision.location]
    fallback = [n for n in domain if n.country == fallback_country and n.available]
    if own:
        assert decision.source == "orgCountry" and decision.number == min(own, key=lambda n: n.order)
    elif fallback:
        assert decision.source == "locationDefault" and decision.number == min(fallback, key=lambda n: n.order)
    else:
        assert decision.source == "none" and decision.number is None
    assert (decision.warning is None) == (decision.number is not None)
