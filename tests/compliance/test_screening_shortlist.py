"""The candidate stage on small hand-made lists: what it must reach so that full scoring sees the listed party (issue 13).

Each case is a shape the acceptance test in test_screening_candidates.py found dropped on real alias pairs.
"""

from __future__ import annotations

from wholesale.compliance.screening import Screener, ScreeningQuery
from wholesale.compliance.screening.model import Entry, ListSet


def _screener(*entries: Entry) -> Screener:
    return Screener(ListSet(versions=(), entries=entries))


def _alerted(s: Screener, query: str) -> set[str]:
    r = s.screen(ScreeningQuery("q", query))
    return {h.entry_id for h in r.hits if h.score >= s.config.review_threshold}


def test_an_unknown_long_word_reaches_a_listed_word_two_substitutions_away():
    # "Mzenskprokat"/"Mtsenskprokat", "Elektronstandart"/"Electronstandard": two edits in a long word, which the
    # word comparison accepts but one deletion on each side does not reach.
    s = _screener(
        Entry("T", "1", "MTSENSKPROKAT", "company"),
        Entry("T", "2", "RNII ELECTRONSTANDARD", "company"),
        Entry("T", "3", "PUBLIC COMMERCIAL JOINT-STOCK BANK VERHNEVOLZHSKY", "company"),
    )
    assert _alerted(s, "MZENSKPROKAT") == {"1"}
    assert _alerted(s, "AO RNII ELEKTRONSTANDART") == {"2"}
    assert _alerted(s, "COMMERCIAL JOINT-STOCK BANK VERHNEVOLGSKY") == {"3"}


def test_a_long_word_three_edits_away_is_not_reached():
    s = _screener(Entry("T", "1", "MTSENSKPROKAT", "company"))
    assert _alerted(s, "MZENSKPRAKAD") == set()


def test_listed_persons_do_not_crowd_out_a_listed_company_for_a_company_name():
    # A company's name whose word has many listed persons' spellings ("Khaldi": KHALID, Khalid X, ...): the first
    # stage keeps the variants with the most overlap, and a person named "Khalid" overlaps a little more than the
    # company "AL-KHALIDI COMPANY"; the full score would refuse the persons (one-word alias, type penalty).
    persons = [
        Entry("T", f"p{i}", f"KHALID, {first}{suffix}", "person")
        for i, (first, suffix) in enumerate(
            (f, s)
            for f in ("Ahmad", "Omar", "Yusuf", "Hasan", "Karim", "Nabil", "Tariq", "Walid")
            for s in ("", " Ali", " Saleh", " Salim", " Umar", " Zaki", " Fadil", " Hadi", " Jamil")
        )
    ]
    persons += [Entry("T", "k", "KHALID", "person", aliases=("ABU KHALID",))]
    s = _screener(*persons, Entry("T", "c", "AL-KHALIDI COMPANY", "company"))
    assert len(persons) > s.config.estimate_pool
    assert "c" in _alerted(s, "AL KHALDI COMPANY LLC")
    # A person's name is not a company's: the persons keep their place ("Khalid Ahmad" finds its entry).
    assert "p0" in _alerted(s, "Ahmad Khalid")
