"""The customer's country and names with one distinctive word (issue 13, R10).

A name with one distinctive word ("<Word> Holding") whose word is only nearly the listed one is not a review on its
name alone (ordinary surnames are one letter from listed one-word names). When the customer's country is the
listed organisation's, that near-miss is a review, never a match.
"""

from __future__ import annotations

import pytest

from wholesale.compliance.screening import Screener, ScreeningQuery
from wholesale.compliance.screening.model import Address, Entry, ListSet


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener(
        ListSet(
            versions=(),
            entries=(
                Entry("T", "1", "NOUR HOLDING SAL", "company", addresses=(Address(country="LB"),)),
                Entry("T", "2", "BILD GROUP", "company", addresses=(Address(country="BG"),)),
            ),
        )
    )


@pytest.mark.parametrize(
    ("query", "country", "entry_id"),
    [
        ("Noor Holding", "LB", "1"),  # the same transliteration key in four letters
        ("Build Group", "BG", "2"),  # the same consonants, a letter more
    ],
)
def test_a_near_miss_of_the_one_distinctive_word_is_a_review_with_the_listed_country(
    screener, query, country, entry_id
):
    same = screener.screen(ScreeningQuery("q", query, country=country))
    assert same.decision == "review", same
    assert same.hits[0].entry_id == entry_id
    assert same.score < screener.config.match_threshold
    assert f"country {country} matches" in same.hits[0].explanation
    # Without a country, or with another one, the name alone decides: not a review.
    assert screener.screen(ScreeningQuery("q", query)).decision == "clear"
    assert screener.screen(ScreeningQuery("q", query, country="DE")).decision == "clear"
