"""Scoring and decisions: name features, context adjustment, thresholds, explanations."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from functools import lru_cache
from heapq import nlargest
from operator import itemgetter
from typing import IO

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .config import ScreeningConfig
from .explain import explain
from .index import (
    NEAR_MISS,
    NameIndex,
    closest,
    token_similarity,
    token_similarity_near,
    token_similarity_near_places,
    token_similarity_places,
    token_similarity_single,
    token_similarity_single_places,
    token_similarity_strict,
)
from .model import Decision, Entry, Hit, ListSet, ScreeningQuery, ScreeningResult
from .normalize import (
    BUSINESS_WORDS,
    GENERIC_LEGAL_FORMS,
    PLACE_WORDS,
    REGION_NAMES,
    NormalizedName,
    country_code,
    fold_text,
    normalize_name,
)


def _coverage(
    src: tuple[tuple[str, float], ...], dst: tuple[str, ...], min_sim: float, similarity=token_similarity
) -> float:
    """Weighted share of the words of `src` paired one-to-one with a close word in `dst`."""
    total = got = 0.0
    free = list(dst)
    # Heaviest words pick first; a word of `dst` can vouch for one word of `src` only ("Anthony Anthony").
    for a, w in src:
        total += w
        if a in free:  # an equal word is the best partner there is
            got += w
            free.remove(a)
            continue
        best, best_j = closest(a, free, similarity)
        if best >= min_sim:
            got += w * best
            free.pop(best_j)
    return got / total if total else 0.0


_SAME_NAME_WORDS = 0.88
_GLUED_TYPO_LETTERS = 8  # a name with one distinctive word written glued or split, with a typo: this long at least
_PERSON_BEHIND = 1.0  # first-stage overlap (IDF units) a listed person starts behind for a company's name
_UNIQUE_NAME_WORD = 8.5  # IDF: in at most ~3 listed spellings
_LONG_NAME_WORD = 8  # letters of a lone name word that may lose a listed code or place ("Purelogic")
_SHORT_NAME_WORD = 5  # letters of a lone name word that may lose a listed code or place with the country (R10)
_RARE_NAME_WORD = 7.5  # IDF: in at most ~1 in 1,800 listed entries (the shipped lists: "Koryo", "Daxie", "Rata")
_UNIQUE_WORD_LETTERS = 8  # letters of a listed name's word to which a customer adds business words, names only
# Letters in sorted word order this alike let one word of 5+ letters on each side of a name of 4+ words go unpaired.
_SPARE_SORTED_LETTERS = 0.92


def _no_name_evidence() -> dict[str, float]:
    return dict.fromkeys(
        ("tokenSort", "softTokens", "joined", "listedCovered", "queryCovered", "containment", "numberPenalty", "name"),
        0.0,
    )


def _long_words_paired(a: tuple[str, ...], b: tuple[str, ...], similarity, min_sim: float, spare: int = 0) -> bool:
    """Every word of 5+ letters on either side has a close word on the other: only short words differ; `spare`: so
    many on each side may lack one."""
    return all(
        sum(len(x) >= 5 and not any(x == y or similarity(x, y) >= min_sim for y in other) for x in side) <= spare
        for side, other in ((a, b), (b, a))
    )


@lru_cache(maxsize=100_000)
def _codes_and_places(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The words of a name that say where or what kind, not who: codes of two or three letters ("LTD-BZE", "AKB",
    "UK") and places ("... Cyprus", "Korea ...")."""
    return tuple(t for t in tokens if 2 <= len(t) <= 3 or t in PLACE_WORDS)


def _long_core(n: NormalizedName) -> tuple[str, ...]:
    return tuple(t for t in n.tokens if len(t) > 3) or n.tokens


def _distinctive(tokens: tuple[str, ...]) -> int:
    """Words of a name that are not ordinary business words: the evidence a name carries."""
    return sum(t not in BUSINESS_WORDS for t in tokens)


def _listed_words_with_a_unique_word(
    q: NormalizedName, q_weighted, v: NormalizedName, letters: int = 5, more: bool = True
) -> bool:
    """R10, with the customer's country the listed organisation's: a company-looking customer name holds every
    distinctive word of the listed name, one of them nearly unique on the lists (not a place), whatever business
    words either adds ("Kraverton LP" / "KRAVERTON CONSTRUCTION AND DEVELOPMENT LP", "Sanovera Pharm Company SARL" /
    "SANOVERA"); the customer may add one more distinctive word to a listed name of two or more.
    Names only (more=False, letters=8): no distinctive word added, and the word is not a region's name either."""
    if not q.company:
        return False
    q_names = {t for t in q.tokens if t not in BUSINESS_WORDS}
    v_names = {t for t in v.tokens if t not in BUSINESS_WORDS}
    if not v_names or not v_names <= q_names or len(q_names) - len(v_names) > (1 if len(v_names) >= 2 and more else 0):
        return False
    return any(
        t in v_names and len(t) >= letters and w >= _UNIQUE_NAME_WORD and t not in PLACE_WORDS
        and (more or t not in REGION_NAMES)
        for t, w in q_weighted
    )  # fmt: skip


class Screener:
    """Screens names against a ListSet; build once, reuse for many queries."""

    def __init__(self, list_set: ListSet | NameIndex, config: ScreeningConfig | None = None) -> None:
        self.index = list_set if isinstance(list_set, NameIndex) else NameIndex(list_set)
        self.config = config or ScreeningConfig()
        cfg, idx = self.config, self.index
        # Per variant, for the first-stage estimate: may it count as contained in a longer query name?
        self._containable: list[bool] = [
            len(v.norm.tokens) >= 2
            and total >= cfg.containment_min_weight
            and len(v.norm.core) - v.norm.core.count(" ") >= cfg.short_name_letters
            and _distinctive(v.norm.tokens) >= 2
            for v, total in zip(idx.variants, idx.total_weight, strict=False)
        ]
        self._person: list[bool] = [idx.entries[v.entry].entity_type == "person" for v in idx.variants]
        self._words: list[int] = [len(v.norm.tokens) for v in idx.variants]
        self._distinct: list[int] = [_distinctive(v.norm.tokens) for v in idx.variants]
        self._shorter_first: list[float] = [-1e-6 * t for t in idx.total_weight]
        # For a company's name, listed persons start this much overlap behind (taken back out for the estimate):
        # among variants with about the same overlap the listed organisations fill the pool first.
        self._companies_first: list[float] = [
            s - _PERSON_BEHIND * p for s, p in zip(self._shorter_first, self._person, strict=True)
        ]

    @property
    def list_set(self) -> ListSet:
        """The lists this screener screens against."""
        return self.index.list_set

    # -- candidates --------------------------------------------------------------------------

    def _candidates(self, norm: NormalizedName) -> list[int]:
        """Shortlist of variant indices for full scoring, best first.

        First stage: the postings of the query's words (and glued word pairs), rare words first, give each
        variant an IDF-weighted overlap; that overlap, as a share of the query's and of the variant's weight,
        estimates the word-alignment score. Only the best `rerank_candidates` are scored in full.
        """
        idx, cfg = self.index, self.config
        toks = norm.tokens
        weights = [idx.weight(t) for t in toks]
        # Query words reach listed words and listed glued pairs; glued query pairs reach listed words only.
        keys = [(t, w, idx.postings) for t, w in zip(toks, weights, strict=False)]
        keys += [(a + b, wa + wb, idx.word_postings) for (a, wa, _), (b, wb, _) in itertools.pairwise(keys)]
        # An unknown long word may be listed words written together ("Royalroomdress", "Jinghe"): its two
        # halves, when both are listed words (or a listed glued pair), are keys of their own.
        for t, w in zip(toks, weights, strict=False):
            if len(t) >= 6 and t not in idx.postings:
                for i in range(2, len(t) - 1):
                    head, tail = t[:i], t[i:]
                    if head in idx.postings and tail in idx.postings:
                        keys += [(head, w / 2, idx.postings), (tail, w / 2, idx.postings)]
                        break
        expand = idx.expand_token
        per_token: list[tuple[int, list[tuple[float, tuple[int, ...]]]]] = []
        n_words, n_pairs = len(toks), max(len(toks) - 1, 0)
        for i, (t, w, postings) in enumerate(keys):
            # A glued pair looks for the listed word as written ("gaz prom" -> "gazprom"); a typo inside a glued
            # pair is left to the words themselves.
            glued = n_words <= i < n_words + n_pairs
            found = (((t, 1.0),) if t in postings else ()) if glued else expand(t, cfg.token_min_similarity)
            lists = [(w * sim, postings[u]) for u, sim in found if u in postings]
            if lists:
                per_token.append((sum(len(p) for _, p in lists), lists))
        if not per_token:
            return []
        per_token.sort(key=lambda x: x[0])
        acc: dict[int, float] = {}
        get = acc.get
        short = self._companies_first if norm.company else self._shorter_first
        if per_token[0][0] <= cfg.max_candidates:
            for size, lists in per_token:
                if size <= cfg.max_candidates or not acc:
                    # Every word that is not among the most common brings its variants in: a distinctive word
                    # with many spellings ("Nasir": Naser, Nasser, Nasr ...) is still counted.
                    for w, p in lists:
                        for vi in p:
                            # Starting a little below zero for long names: among equal overlaps the shorter
                            # listed name comes first into the estimate pool.
                            acc[vi] = get(vi, short[vi]) + w
                else:
                    # A very common word ("bank", "airlines") only adds to the variants already found.
                    for w, p in lists:
                        for vi in idx.posting_set(p).intersection(acc):
                            acc[vi] += w
        else:
            # Only common words: keep variants that share at least two of the three rarest.
            sets = [(set().union(*(p for _, p in lists)), max(w for w, _ in lists)) for _, lists in per_token[:3]]
            keep = (sets[0][0] & sets[1][0]) if len(sets) > 1 else sets[0][0]
            if len(keep) > cfg.max_candidates and len(sets) > 2:
                keep &= sets[2][0]
            if norm.numbers and len(keep) > cfg.max_candidates:
                # "Group 99", "Technology 5": the number is what tells such names apart.
                numbered = keep.intersection(*(idx.number_postings.get(n, ()) for n in norm.numbers))
                keep = numbered or keep
            # Each variant counts the closest spelling of each word it has ("Khaldi": "khalidi" before "khalid"),
            # shorter names first among equals: a common word's many spellings otherwise fill the pool in any order.
            best_w = []
            for _, lists in per_token[:3]:
                found_w: dict[int, float] = {}
                for w, p in sorted(lists, key=itemgetter(0)):
                    found_w.update(dict.fromkeys(p, w))
                best_w.append(found_w)
            for vi in keep:
                acc[vi] = sum(found_w.get(vi, 0.0) for found_w in best_w) + short[vi]
        for n in norm.numbers:
            # A number both names have ("Group 99") lifts those variants above the ones without it.
            for vi in idx.number_postings.get(n, frozenset()).intersection(acc):
                acc[vi] += 1.0
        total_q = sum(weights)
        totals, listed_in, person = idx.total_weight, self._containable, self._person
        q_in = (
            len(toks) >= 2 and total_q >= cfg.containment_min_weight and sum(map(len, toks)) >= cfg.short_name_letters
        )
        n_distinct = _distinctive(toks)
        q_distinct = n_distinct >= 2 or (n_distinct >= 1 and len(toks) >= 3)
        factor, missing_factor, n_q = cfg.containment_factor, cfg.missing_word_factor, len(toks)
        words, distinct = self._words, self._distinct
        left_out = norm.company and n_distinct >= 2  # a company's business words may all be left out
        q_company, type_penalty = norm.company, cfg.type_mismatch_penalty
        scored: list[tuple[float, int]] = []
        append = scored.append
        # The estimate only for the variants with the most overlap: one outside these shares less of the query
        # than 64 others (the acceptance test measures what this drops: 0.45 % of real alias pairs, all causes).
        pool = (
            acc.items()
            if len(acc) <= cfg.estimate_pool
            else nlargest(cfg.estimate_pool, acc.items(), key=itemgetter(1))
        )
        for vi, a in pool:
            if q_company and person[vi]:
                # A company's name is not a one-word person alias, and a listed person costs the type penalty: the
                # full score ranks them so, and they would take the places of the listed companies ("Al Khaldi
                # Company" is not "KHALID" or "Khalid MAHMUD" but may be "AL-KHALIDI COMPANY").
                if words[vi] == 1:
                    continue
                a += _PERSON_BEHIND
            cl = a / totals[vi]
            cq = a / total_q
            if cl > 1.0:
                cl = 1.0
            if cq > 1.0:
                cq = 1.0
            est = 2 * cl * cq / (cl + cq)
            # Containment paths of the full score: the listed name inside the query, or the query inside the
            # listed name with one word left out.
            if listed_in[vi] and factor * cl > est:
                est = factor * cl
            if (
                q_in
                and (q_distinct or person[vi])
                and (words[vi] <= n_q + 1 or (left_out and not person[vi] and distinct[vi] <= n_distinct + 1))
                and missing_factor * cq > est
            ):
                est = missing_factor * cq
            append((est - type_penalty, vi) if q_company and person[vi] else (est, vi))
        best = nlargest(cfg.rerank_candidates, scored)
        cutoff = cfg.prefilter_cutoff / 100.0
        return [vi for est, vi in best if est >= cutoff]

    def _near_candidates(self, q: NormalizedName, country: str, have: list[int]) -> list[int]:
        """R10: for a name with one distinctive word, the listed organisations of the customer's country whose words
        are a near-miss of it ("Elessa Group" / "ELLISSA GROUP SA"), which the shortlist does not reach; full
        scoring with the country decides (a review at most)."""
        names = [t for t in q.tokens if t not in BUSINESS_WORDS]
        if len(names) != 1:
            return []
        idx, seen, out = self.index, set(have), []
        for u in idx.near_words(names[0]):
            for vi in idx.word_postings[u]:
                if vi in seen or self._person[vi]:
                    continue
                seen.add(vi)
                if country in idx.entries[idx.variants[vi].entry].countries:
                    out.append(vi)
        return out[: self.config.rerank_candidates]

    # -- scoring -----------------------------------------------------------------------------

    def _name_features(
        self, q: NormalizedName, q_weighted, v: NormalizedName, v_weighted, kind: str = "company", near: bool = False
    ) -> dict[str, float]:
        cfg = self.config
        q_glued, v_glued = q.core.replace(" ", ""), v.core.replace(" ", "")
        # Short names carry little evidence: their short words must match exactly, and they do not count
        # as found inside a longer name ("XU, Bin" in "Bin Li Xu").
        q_long, v_long = len(q_glued) >= cfg.short_name_letters, len(v_glued) >= cfg.short_name_letters
        min_sim = cfg.token_min_similarity
        is_person = kind == "person"
        q_distinct, v_distinct = _distinctive(q.tokens), _distinctive(v.tokens)
        if (v_distinct == 0 or q_distinct == 0) and sorted(_long_core(q)) != sorted(_long_core(v)):
            # Only ordinary words ("STG Group" is "Group"): equal or nothing, but for a code of up to three
            # letters ("Global United Shipping Ltd-BZE").
            return _no_name_evidence()
        weak = min(q_distinct, v_distinct) <= 1
        if q.company and ((kind == "person" and len(v.tokens) == 1) or (weak and kind in ("vessel", "aircraft"))):
            # A company is not named by a one-word person alias or a vessel ("Hassan PLC", "Mena SA").
            return _no_name_evidence()
        similarity = self._similarity(q, v, weak, kind, near)
        cover_listed = _coverage(v_weighted, q.tokens, min_sim, similarity)
        cover_query = _coverage(q_weighted, v.tokens, min_sim, similarity)
        soft = 2 * cover_listed * cover_query / (cover_listed + cover_query) if cover_listed and cover_query else 0.0
        sort = fuzz.token_sort_ratio(q.core, v.core) / 100.0
        joined = fuzz.ratio(q_glued, v_glued) / 100.0
        # Word-level alignment decides; the glued comparison only rescues split or merged words ("Gaz Prom"),
        # with a typo at most, never a missing word ("Silver Partners" is not "Silver Bay Partners").
        if len(q.tokens) != len(v.tokens):
            edits = 0 if weak else max(1, int(cfg.joined_max_edits_per_10 * min(len(q_glued), len(v_glued)) / 10))
            if Levenshtein.distance(q_glued, v_glued, score_cutoff=edits + 1) <= edits:
                soft = max(soft, joined)
            elif (
                weak
                and min(len(q_glued), len(v_glued)) >= _GLUED_TYPO_LETTERS
                and q_glued[0] == v_glued[0]
                and q_glued[-1] == v_glued[-1]  # a letter added at the end is a code ("Angstrem" / "ANGSTREM-T")
                and Levenshtein.distance(q_glued, v_glued, score_cutoff=2) <= 1
            ):
                # Split or merged words with one typo in a long name ("Madkandalou" / "MAD KANDALU"): a review at
                # most, as a typo in a name's one distinctive word is.
                soft = max(soft, min(joined, _SAME_NAME_WORDS))
        # In names of four words or more, one word on each side may be spelt too differently to pair when the letters
        # in word order are nearly the same ("Yaftar Pazhohan Pishtaz Rayanesh" / "YAFTAR PAJOOHAN PISHTAZ RAYANESH").
        spare = int(len(q.tokens) == len(v.tokens) >= 4 and sort >= _SPARE_SORTED_LETTERS)
        if (
            not weak
            and sort >= cfg.sorted_letters_min
            and soft >= 0.70
            and _long_words_paired(q.tokens, v.tokens, similarity, min_sim, spare)
        ):
            # Every word there but spelt a little differently in several places ("OJE PARVAZ MADO NAFAR" /
            # "OWJ PARVAZ ..."): the letters in word order carry it when the words nearly do.
            soft = max(soft, sort - 0.03)
        name = soft
        q_names = {t for t in q.tokens if t not in BUSINESS_WORDS}
        if (
            q.company
            and kind != "person"
            and len(q_names) >= 2
            and q_names == {t for t in v.tokens if t not in BUSINESS_WORDS}
            and max(w for t, w in q_weighted if t in q_names) >= _RARE_NAME_WORD
        ):
            # The same name words, only the business words differ ("Pro Rata Consulting" / "Pro Rata Trading"),
            # one of them rare: "Russian Federation" or "Syrian Arab" are the name words of many listed parties.
            name = max(name, _SAME_NAME_WORDS)
        contained = 0.0
        if (
            v_long
            and cover_listed >= 0.97
            and len(v.tokens) >= 2
            and sum(w for _, w in v_weighted) >= cfg.containment_min_weight
            and v_distinct >= 2
        ):
            # The listed name inside a longer customer name ("Banco Nacional de Cuba Trading Services"), unless
            # the listed name is only business words ("Industrial Bank") that many ordinary names contain.
            contained = cfg.containment_factor * cover_listed
            name = max(name, contained)
        elif (
            q_long
            and cover_query >= 0.97
            and len(q.tokens) >= 2
            and (
                len(q.tokens) >= len(v.tokens) - 1
                # A company's business words may all be left out ("Khedri Jahan Darya Co" for "... Shipping Port
                # Commercial Company"): one distinctive word at most.
                or (q.company and q_distinct >= 2 and not is_person and v_distinct <= q_distinct + 1)
            )
            and sum(w for _, w in q_weighted) >= cfg.containment_min_weight
            and (is_person or q_distinct >= 2 or (q_distinct and len(q.tokens) >= 3))
        ):
            # One word of the listed name left out: a patronymic ("Vladimir Putin" for "PUTIN, Vladimir
            # Vladimirovich") or a company word ("... Production and Construction" for "... Corps"). Only one:
            # two common names inside a long listed name are not evidence ("Andrea Vasquez").
            contained = cfg.missing_word_factor * cover_query
            name = max(name, contained)
        if name < cfg.review_threshold and kind != "person":
            name = max(name, self._without_aside(q, q_weighted, v, v_weighted, similarity, near))
            if near and name < NEAR_MISS and _listed_words_with_a_unique_word(q, q_weighted, v):
                name = NEAR_MISS
            elif (
                not near
                and name < _SAME_NAME_WORDS
                and _listed_words_with_a_unique_word(q, q_weighted, v, _UNIQUE_WORD_LETTERS, more=False)
            ):
                # Names only, the same with a word of 8+ letters and no distinctive word added (not a place: "Washington
                # Group"): "Kraverton LP" / "KRAVERTON CONSTRUCTION AND DEVELOPMENT LP" is a review, never a match.
                name = _SAME_NAME_WORDS
        # Numbers: a different number is a different party ("Trust 2007-1" / "2007-2"); a number the listed
        # name does not have is not a contradiction ("Banco Nacional de Cuba 2"); a listed number missing is.
        missing = v.numbers - q.numbers
        if weak and v.numbers and v.numbers != q.numbers:
            number_penalty = cfg.number_mismatch_penalty  # one word and a number: the number is half the name
        elif not missing:
            number_penalty = 0.0
        elif q.numbers - v.numbers:
            number_penalty = cfg.number_mismatch_penalty
        else:
            number_penalty = cfg.number_missing_penalty
        return {
            "tokenSort": sort,
            "softTokens": soft,
            "joined": joined,
            "listedCovered": cover_listed,
            "queryCovered": cover_query,
            "containment": contained,
            "numberPenalty": -number_penalty,
            "name": max(0.0, name - number_penalty),
        }

    def _without_aside(
        self, q: NormalizedName, q_weighted, v: NormalizedName, v_weighted, similarity, near: bool = False
    ) -> float:
        """R10: the names without the codes and places one of them adds ("Otkritie Capital Cyprus" / "Otkritie
        Capital", "AKB Mosoblbank" / "Mosoblbank", "Global United Shipping Ltd-BZE"), when all the rest pairs up
        and carries a rare name word; 0.90 x the share paired, a review and never a match on its own.
        near: the customer's country is the listed organisation's (the caller caps the score at NEAR_MISS): one
        rare name word left may be short ("Veles Management" / "UK VELES MANAGEMENT", "Reyco GmbH" / "REYCO GMBH
        GERMANY") and the customer's name need not look like a company's ("Irasco Italy" / "IRASCO S.R.L.")."""
        q_aside, v_aside = _codes_and_places(q.tokens), _codes_and_places(v.tokens)
        if not q_aside and not v_aside:
            return 0.0
        q_extra = [t for t in q_aside if t not in v.tokens]
        v_extra = [t for t in v_aside if t not in q.tokens]
        if bool(q_extra) == bool(v_extra) or len(q_extra) + len(v_extra) > 2:
            return 0.0  # nothing set aside, or on both sides (a different code is a different name)
        q_rest = tuple((t, w) for t, w in q_weighted if t not in q_extra)
        v_rest = tuple((t, w) for t, w in v_weighted if t not in v_extra)
        if not q_rest or not v_rest:
            return 0.0
        names = [(w, t) for t, w in q_rest if t not in BUSINESS_WORDS and t not in PLACE_WORDS and len(t) >= 4]
        if not names or max(names)[0] < _RARE_NAME_WORD:
            return 0.0  # "Russian National Commercial Bank" / "National Commercial Bank": no name left
        lone = names[0][1] if len(names) == 1 else None
        # The customer lost a listed code or place and one long name word is left, written as listed ("Purelogic"
        # for "PURELOGIC R&D", "Yuganskneftegaz" for "RN-YUGANSKNEFTEGAZ"): a listed "Johnson HU" or "U-Stone" is
        # not every "Johnson GmbH" or "Stone PLC", an "OKB SIMONOV" not a "Simeonov".
        # With the customer's country the listed organisation's (near), a lone name word written as listed may be
        # shorter, only a little rarer when what is set aside is a place, and the customer's name need not look
        # like a company's; a code stays what tells parties apart ("MMZ Avangard", "ZAO SI Proekt", "Johnson HU").
        near = near and lone is not None and lone in v.tokens
        places_only = all(t in PLACE_WORDS for t in (*q_extra, *v_extra))
        lost = (
            bool(v_extra)
            and lone is not None
            and (len(lone) >= _LONG_NAME_WORD or (near and len(lone) >= _SHORT_NAME_WORD))
            and lone in v.tokens
        )
        # The customer added a code (not a place) to one long name word written as listed, and the listed name has no
        # code of a kind of organisation the customer's could contradict ("PKF Gazneftemash" / "GAZNEFTEMASH LLC", "Purelogic R&D";
        # "SKB Optolink" is not "NPK OPTOLINK").
        added = (
            bool(q_extra)
            and not any(t in PLACE_WORDS for t in q_extra)  # a place, only with the country ("Irasco Italy")
            and lone is not None
            and len(lone) >= _LONG_NAME_WORD
            and lone in v.tokens
            and all(f in GENERIC_LEGAL_FORMS or len(f) > 4 for f in v.legal_forms)
        )
        if not (q.company or len(q_rest) >= 2 or lost or added or near):
            return 0.0
        unique = _RARE_NAME_WORD if near and places_only else _UNIQUE_NAME_WORD
        if lone is not None and (names[0][0] < unique or (v_extra and not lost)):
            # With one name word left, the word must be nearly unique on the lists: "MMZ Avangard", "RPE Almaz" are
            # other parties than "Avangard JSC", "NPO Almaz"; the customer may add a code or place ("AK Alrosa"),
            # and lose one only as above.
            return 0.0
        min_sim = self.config.token_min_similarity
        cover = min(
            _coverage(q_rest, tuple(t for t, _ in v_rest), min_sim, similarity),
            _coverage(v_rest, tuple(t for t, _ in q_rest), min_sim, similarity),
        )
        return self.config.missing_word_factor * cover if cover >= 0.97 else 0.0

    def _similarity(self, q: NormalizedName, v: NormalizedName, weak: bool, kind: str = "company", near: bool = False):
        """The word similarity for this pair of names. Names of listed organisations also pair a place name with
        its Russian adjective ("Yaroslavl"/"Yaroslavsky", R10); persons' names do not ("Kowal"/"Kowalski").
        near: the customer's country is the listed organisation's, so a near-miss of a name's one distinctive word
        counts (NEAR_MISS, capped there by the caller)."""
        places = kind != "person"
        if weak and not (q.numbers and q.numbers == v.numbers):  # an equal number is evidence of its own
            # One distinctive word is all the evidence there is: equal, or one typo in a long word, never a
            # look-alike ("Schneider"/"Sikander", "Smith"/"Smooth", "Davis Group"/"NAVIS GRUPP").
            if near and places:
                return token_similarity_near
            return token_similarity_single_places if places else token_similarity_single
        if near and places:
            return token_similarity_near_places
        short = self.config.short_name_letters
        if len(q.core) - q.core.count(" ") >= short and len(v.core) - v.core.count(" ") >= short:
            return token_similarity_places if places else token_similarity
        return token_similarity_strict

    def _context(self, query: ScreeningQuery, q: NormalizedName, entry: Entry) -> dict[str, float]:
        cfg = self.config
        out: dict[str, float] = {}
        qc = country_code(query.country) if query.country else None
        countries = entry.countries
        if qc and countries:
            out["country"] = cfg.country_match_boost if qc in countries else -cfg.country_mismatch_penalty
        if query.city and entry.addresses:
            city = fold_text(query.city)
            if any(a.city and fold_text(a.city).startswith(city) for a in entry.addresses):
                out["city"] = cfg.city_match_boost
        if query.postal_code and entry.addresses:
            pc = fold_text(query.postal_code).replace(" ", "")
            if any(a.postal_code and fold_text(a.postal_code).replace(" ", "") == pc for a in entry.addresses):
                out["postalCode"] = cfg.postal_match_boost
        if entry.entity_type == "person" and q.company:  # customers are organisations
            out["entityType"] = -cfg.type_mismatch_penalty
        elif entry.entity_type == "vessel":
            out["entityType"] = -cfg.vessel_penalty
        return out

    def score_pair(self, query_name: str, listed_name: str, listed_is_person: bool = False) -> float:
        """Name-only score of two names, for pairwise evaluation (no lists involved)."""
        q = normalize_name(query_name)
        v = normalize_name(listed_name, listed_is_person)
        # Pair scoring borrows the index's word weights only.
        kind = "person" if listed_is_person else "company"
        return self._name_features(q, self.index.weigh(q.tokens), v, self.index.weigh(v.tokens), kind)["name"]

    def screen(self, query: ScreeningQuery) -> ScreeningResult:
        """Screen one query and decide clear / review / match (R10)."""
        cfg, idx = self.config, self.index
        q = normalize_name(query.name)
        cands = self._candidates(q) if q.tokens else []
        qc = country_code(query.country) if query.country and q.tokens else None
        if qc:
            cands += self._near_candidates(q, qc, cands)
        best: dict[int, Hit] = {}
        if cands:
            q_weighted = idx.weigh(q.tokens)
            scored: set[tuple[int, tuple[str, ...]]] = set()
            n_q = len(q.tokens)
            for vi in cands:
                key = idx.word_keys[vi] if self._words[vi] == n_q else idx.ordered_keys[vi]
                if key in scored:
                    continue
                scored.add(key)
                variant = idx.variants[vi]
                entry = idx.entries[variant.entry]
                feats = self._name_features(q, q_weighted, variant.norm, idx.weighted[vi], entry.entity_type)
                ctx = self._context(query, q, entry)
                near = False
                if (
                    ctx.get("country", 0.0) > 0.0
                    and entry.entity_type != "person"
                    and feats["name"] < NEAR_MISS
                    and feats["name"] + sum(ctx.values()) < cfg.review_threshold
                ):
                    # R10: the customer's country is the listed organisation's: a near-miss of a name's one
                    # distinctive word ("Elessa Group" / "ELLISSA GROUP SA"), a listed code or place lost with a
                    # short name word left ("Veles Management" / "UK VELES MANAGEMENT") is a review, never a match.
                    lenient = self._name_features(
                        q, q_weighted, variant.norm, idx.weighted[vi], entry.entity_type, near=True
                    )
                    if lenient["name"] > feats["name"]:
                        feats, near = {**lenient, "name": min(lenient["name"], NEAR_MISS)}, True
                score = min(1.0, max(0.0, feats["name"] + sum(ctx.values())))
                if score < cfg.report_threshold:
                    continue
                prev = best.get(variant.entry)
                if prev is None or score > prev.score:
                    v = variant.norm
                    weak = min(_distinctive(q.tokens), _distinctive(v.tokens)) <= 1
                    why = explain(
                        q, v, {**feats, **ctx}, entry, self._similarity(q, v, weak, entry.entity_type, near),
                        cfg.token_min_similarity,
                        country_code(query.country) if query.country else None,
                    )  # fmt: skip
                    best[variant.entry] = Hit(
                        source=entry.source,
                        entry_id=entry.entry_id,
                        name=entry.name,
                        matched_variant=variant.text,
                        score=score,
                        features={**feats, **ctx},
                        list_version=entry.list_version,
                        entity_type=entry.entity_type,
                        explanation=why,
                    )
        if qc and len(q.tokens) == 1 and not q.numbers and q.tokens[0] in idx.initials:
            self._acronym_hits(query, q, qc, best)
        hits = sorted(best.values(), key=lambda h: (-h.score, h.source, h.entry_id))[: cfg.max_hits]
        top = hits[0].score if hits else 0.0
        decision: Decision = (
            "match" if top >= cfg.match_threshold else "review" if top >= cfg.review_threshold else "clear"
        )
        return ScreeningResult(id=query.id, decision=decision, score=top, hits=hits)

    def _acronym_hits(self, query: ScreeningQuery, q: NormalizedName, country: str, best: dict[int, Hit]) -> None:
        """R10: a name of one word that is the initials of a listed organisation of the customer's country ("MODAFL"
        for "MINISTRY OF DEFENSE AND ARMED FORCES LOGISTICS", "RIRA"): NEAR_MISS, so with the country a review,
        never a match. Without the country an acronym is too little evidence (one-word innocents alert)."""
        idx = self.index
        for ei, text in idx.initials[q.tokens[0]]:
            entry = idx.entries[ei]
            if country not in entry.countries:
                continue
            ctx = self._context(query, q, entry)
            score = min(1.0, NEAR_MISS + sum(ctx.values()))
            prev = best.get(ei)
            if prev is not None and prev.score >= score:
                continue
            feats = {**_no_name_evidence(), "name": NEAR_MISS, "acronym": 1.0, **ctx}
            best[ei] = Hit(
                source=entry.source,
                entry_id=entry.entry_id,
                name=entry.name,
                matched_variant=text,
                score=score,
                features=feats,
                list_version=entry.list_version,
                entity_type=entry.entity_type,
                explanation=f"customer name is the initials of the listed name ({q.tokens[0]}); "
                f"country {country} matches the listed address",
            )

    def screen_many(self, queries: Iterable[ScreeningQuery]) -> list[ScreeningResult]:
        """Screen several queries in order."""
        return [self.screen(q) for q in queries]


def screen_jsonl(in_stream: IO[str], out_stream: IO[str], screener: Screener) -> int:
    """Read JSON lines queries, write one JSON line result each; return the number screened."""
    count = 0
    for lineno, line in enumerate(in_stream, 1):
        if not line.strip():
            continue
        try:
            query = ScreeningQuery.from_dict(json.loads(line))
        except (json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"stdin line {lineno}: {exc}") from exc
        out_stream.write(screener.screen(query).to_json() + "\n")
        count += 1
    out_stream.flush()
    return count
