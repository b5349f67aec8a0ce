"""Candidate generation against real alias pairs (issue 13), and a number added to a listed name (its class 0).

The pairs come from bench/screening_devset.py: one spelling of a listed entity is the query, and the list set the
screener indexes has that spelling removed from the entity, so the engine must find it through the others.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from wholesale.compliance.screening import Screener, ScreeningQuery, default_list_paths, load_lists

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import screening_devset  # lives in bench/, which is run as scripts


@pytest.fixture(scope="module")
def pairs_and_screener() -> tuple[list[screening_devset.Item], Screener]:
    # Only the pairs part of the development set (no Faker, no probes); the index takes a few seconds.
    ds = screening_devset.build(seed=13, parts=["pairs"])
    pairs = [it for it in ds.items if it.set in ("company_pairs", "person_pairs")]
    return pairs, Screener(ds.lists["eval"])


def test_the_shortlist_keeps_every_true_pair_the_pair_score_alerts_on(pairs_and_screener):
    """For every labelled true pair, the end-to-end decision equals the pair score's decision.

    The pair score is `score_pair(query, spelling, is_person)` at the target's best remaining spelling; when it
    reaches the review threshold, `screen(query)` must alert on the target (or on an entry of the same party).
    The only excuse: the hit list is full of entries that score at least as high (then nothing was dropped).

    Measured at the end of issue 13: 8 of 1,775 pairs still miss (0.45 %; 17 of 1,595 before the shortlist work;
    the same 8 of 1,882 after the translation table, and of 1,911 after the rules for codes and places); 6 of
    1,911 since an unknown long word reaches listed words two edits away ("Elektronstandart"/"Electronstandard",
    "Verhnevolgsky"/"Verhnevolzhsky" are found). Left: a transliteration the keys do not fold ("Volfovits"/
    "Volfovich", "Auramenka"/"Avramenko"), a four-letter word one letter off ("Lamo"/"Lanmo"), a first-letter
    change in a glued word ("Haegu'mgang"/"Naegu'ngang"), and common Arabic names whose many spellings fill the
    shortlist ("Ali Abdollahi", "Abderahmane"). The test holds that line: at most 0.5 % of the pairs.
    """
    pairs, screener = pairs_and_screener
    cfg = screener.config
    checked, failures = 0, []
    for it in pairs:
        best, spelling = max((screener.score_pair(it.query, v, it.target_is_person), v) for v in it.target_variants)
        if best < cfg.review_threshold:
            continue
        checked += 1
        r = screener.screen(ScreeningQuery("q", it.query))
        alerted = {(h.source, h.entry_id) for h in r.hits if h.score >= cfg.review_threshold}
        if alerted & it.accept:
            continue
        if len(r.hits) >= cfg.max_hits and min(h.score for h in r.hits) >= best:
            continue
        top = f"{r.hits[0].matched_variant!r} {r.hits[0].score:.2f}" if r.hits else "no hit"
        failures.append(
            f"{it.kind}: {it.query!r} pair score {best:.2f} with {spelling!r}; screen: {r.decision} ({top})"
        )
    assert checked > 500, f"only {checked} pairs reach the threshold as pairs: the development set shrank"
    assert len(failures) * 200 <= checked, (
        f"{len(failures)} of {checked} true pairs that score >= {cfg.review_threshold} as a pair are not alerted "
        "on their entity end to end (the shortlist dropped them):\n" + "\n".join(failures[:25])
    )


@pytest.fixture(scope="module")
def shipped() -> Screener:
    return Screener(load_lists(default_list_paths()))


@pytest.mark.parametrize(
    "query",
    [
        "Banco Nacional de Cuba 2",
        "Banco Nacional de Cuba (9)",
        "Banco Nacional de Cuba No 1",
        "Banco Nacional de Cuba 1959",
    ],
)
def test_a_number_added_to_a_listed_name_is_not_clear(shipped, query):
    # The listed name has no number: one added by the customer must not clear a sanctioned bank.
    r = shipped.screen(ScreeningQuery("q", query))
    assert r.decision != "clear", r
    assert any(h.name == "BANCO NACIONAL DE CUBA" and h.score >= shipped.config.review_threshold for h in r.hits), r
