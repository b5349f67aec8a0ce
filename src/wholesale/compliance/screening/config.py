"""Screening thresholds and weights; every tunable lives here so operators can override it."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class ScreeningConfig:
    """Decision thresholds and scoring weights for the screening engine."""

    # Final score at or above which a query opens a review case (R12).
    review_threshold: float = 0.86
    # Final score at or above which the result is reported as a likely true match.
    match_threshold: float = 0.95
    # Hits below this final score are not reported at all.
    report_threshold: float = 0.80
    max_hits: int = 5

    # Name features.
    token_min_similarity: float = 0.84  # Jaro-Winkler below this counts as a different word
    number_mismatch_penalty: float = 0.20  # "Trust 2007-1" is not "Trust 2007-2"
    number_missing_penalty: float = 0.10  # the listed name has a number the customer's lacks
    containment_factor: float = 0.94  # listed name fully inside the customer name
    missing_word_factor: float = 0.90  # customer name is the listed name with one word left out
    containment_min_weight: float = 9.0  # summed IDF a listed name needs before containment counts
    # A name with fewer letters than this is too little evidence to count as contained in a longer name
    # ("XU, Bin" inside "Bin Li Xu", "LI, Yi" inside "Ming Zong Yi Jun Li").
    short_name_letters: int = 8
    joined_max_edits_per_10: float = 1.0  # glued-name comparison tolerates this many edits per 10 letters
    # Letters of the words in sorted order this alike (0-1) vouch for names whose words are 70 % there.
    sorted_letters_min: float = 0.90
    type_mismatch_penalty: float = 0.10  # customer looks like a company, entry is a person (or reverse)
    vessel_penalty: float = 0.04  # customers are never vessels or aircraft

    # Context adjustments.
    country_match_boost: float = 0.03
    country_mismatch_penalty: float = 0.05
    city_match_boost: float = 0.02
    postal_match_boost: float = 0.03

    # Candidate generation.
    # A query word whose postings (all its spellings) exceed this only adds weight to variants found through
    # rarer words; it brings no new ones.
    max_candidates: int = 800
    rerank_candidates: int = 12  # candidates that get the full feature scoring
    estimate_pool: int = 64  # variants with the most word overlap whose first-stage estimate is computed
    # First-stage estimate (0-100: IDF-weighted word overlap as share of both names) below which a candidate
    # is not scored in full.
    prefilter_cutoff: float = 50.0

    def with_overrides(self, **overrides: Any) -> ScreeningConfig:
        """Return a copy with the given fields replaced (unknown names raise)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown screening config fields: {sorted(unknown)}")
        return replace(self, **overrides)

    def __post_init__(self) -> None:
        if not (0.0 <= self.review_threshold <= self.match_threshold <= 1.0):
            raise ValueError("need 0 <= review_threshold <= match_threshold <= 1")
