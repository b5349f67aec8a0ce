"""Candidate-generation index: name variants, token postings, typo and transliteration keys."""

from __future__ import annotations

import itertools
import math
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from .model import Entry, ListSet
from .normalize import (
    BUSINESS_WORDS,
    TRANSLATION_SOURCES,
    NormalizedName,
    fold_text,
    normalize_name,
    reverse_person_name,
    skeleton,
    strip_article,
    translit_key,
)

_MIN_FUZZY_LEN = 4  # shorter tokens only match exactly: "acme" vs "acne" is a different word
# In a short name a 4-letter word is most of the evidence, and "chen"/"cheng", "tara"/"tarak", "nova"/"neva"
# are different names, not typos; there a word needs this many letters to match fuzzily.
_MIN_FUZZY_LEN_SHORT_NAME = 5
# Words of very different lengths are different words even when one starts like the other: Jaro-Winkler
# rates "polar"/"polarstar" 0.91 and "star"/"software" 0.85. Allowed: ratio >= 0.7 or at most 2 letters more.
_MIN_LENGTH_RATIO = 0.7
# Words that may start with an article: "al"/"el", or its assimilated form ("Ed-Dine", "Ar-Rahman", "Ud-Din").
_ARTICLE_PREFIXES = ("a", "e", "u")
# A name with one distinctive word: that word may carry a typo only when it is this long.
_MIN_FUZZY_LEN_SINGLE = 7
# One typo (same first letter) in the only distinctive word of a name, 5+ letters: enough to review on its own.
# 0.85 (not enough) cost 2 points of recall on real alias pairs; 0.88 costs 0.3 % of ordinary companies an alert.
_WEAK_TYPO = 0.88
# A near-miss of the one distinctive word of a name: not a review on its own; with the customer's country one of
# the listed party's (+0.03) it is one, never a match.
NEAR_MISS = 0.85
_TRANSLITERATED = 0.93  # the same word in two transliterations (translit_key)
_PLURAL = 0.95  # a word and its plural with "s"
_LONG_WORD = 10  # an unknown word this long is also looked for two edits away
# Ordinary business words weigh this share of their rarity. Tuned: 1.0 -> 0.6 found 1.8 % more company alias
# pairs for 4 more wrong alerts in 1,000; 0.5 found 0.7 % more than 0.6 for 5 more wrong alerts.
_BUSINESS_WEIGHT = 0.6


@dataclass(frozen=True, slots=True)
class Variant:
    """One comparable spelling of an entry: primary name, alias, or reversed person name."""

    entry: int  # index into NameIndex.entries
    text: str  # as published (reversed form for 'LAST, First')
    norm: NormalizedName


def _deletes(token: str) -> set[str]:
    return {token[:i] + token[i + 1 :] for i in range(len(token))}


def _expand_entry(entry: Entry) -> list[tuple[str, bool]]:
    # Vessels and aircraft keep every word: "YK-AYD" is a registration, not a legal form and a name.
    is_person = entry.entity_type in ("person", "vessel", "aircraft")
    names: list[tuple[str, bool]] = []
    for raw in (entry.name, *entry.aliases):
        # DPL rows carry no type; a comma name could still be 'LAST, First'.
        person_like = entry.entity_type == "person" or (entry.entity_type == "unknown" and "," in raw)
        names.append((raw, is_person))
        if person_like and (rev := reverse_person_name(raw)):
            names.append((rev, is_person))
    return names


class NameIndex:
    """Inverted index over every name variant of a ListSet, built once and shared by screeners."""

    def __init__(self, list_set: ListSet) -> None:
        started = time.perf_counter()
        self.list_set = list_set
        self.entries: tuple[Entry, ...] = list_set.entries
        self.variants: list[Variant] = []
        seen: set[tuple[int, str]] = set()
        for ei, entry in enumerate(self.entries):
            for text, is_person in _expand_entry(entry):
                norm = normalize_name(text, is_person)
                if not norm.core or ((ei, norm.core) in seen and text != entry.name):
                    continue
                seen.add((ei, norm.core))
                self.variants.append(Variant(ei, text, norm))
        self.cores: list[str] = [v.norm.core for v in self.variants]
        # Words in sorted order: the cheap first-stage comparison is a plain ratio on these.
        self.sorted_cores: list[str] = [" ".join(sorted(v.norm.tokens)) for v in self.variants]

        postings: dict[str, set[int]] = {}
        for vi, v in enumerate(self.variants):
            toks = v.norm.tokens
            for t in toks:
                postings.setdefault(t, set()).add(vi)
        # Word postings alone: a glued query pair looks only for a listed word ("gaz prom" -> "gazprom"),
        # so a name with both words separately is not counted twice.
        self.word_postings: dict[str, tuple[int, ...]] = {t: tuple(sorted(s)) for t, s in postings.items()}
        numbered: dict[str, set[int]] = {}
        for vi, v in enumerate(self.variants):
            for n in v.norm.numbers:
                numbered.setdefault(n, set()).add(vi)
        # "99" -> the variants whose name has that number.
        self.number_postings: dict[str, frozenset[int]] = {n: frozenset(s) for n, s in numbered.items()}
        for vi, v in enumerate(self.variants):
            toks = v.norm.tokens
            # Glued neighbours let "gaz prom" find "gazprom" and the reverse.
            for a, b in itertools.pairwise(toks):
                postings.setdefault(a + b, set()).add(vi)
        self.postings: dict[str, tuple[int, ...]] = {t: tuple(sorted(s)) for t, s in postings.items()}
        n_entries = max(len(self.entries), 1)
        entry_df = {t: len({self.variants[i].entry for i in s}) for t, s in postings.items()}
        self.idf: dict[str, float] = {t: math.log(1 + n_entries / df) for t, df in entry_df.items()}
        # Ordinary business words weigh less than their rarity among listed names says: "Alrosa Group" is
        # "ALROSA", "Marshall Capital Partners" is "MARSHALL CAPITAL".
        for t in BUSINESS_WORDS.intersection(self.idf):
            self.idf[t] *= _BUSINESS_WEIGHT
        self.max_idf = math.log(1 + n_entries)
        # Heaviest word first, with its weight: the order the one-to-one alignment consumes them in.
        # Variants of one entry with the same words score alike ("PUTIN, Vladimir" / "Vladimir PUTIN"), unless
        # the query has another number of words: then the glued comparison reads them in order ("Abdul Patta
        # Escalon" is "ABDULPATTA ESCALON ABUBAKAR", not "ABDULPATTA ABUBAKAR ESCALON").
        self.word_keys: list[tuple[int, tuple[str, ...]]] = [
            (v.entry, tuple(sorted(v.norm.tokens))) for v in self.variants
        ]
        self.ordered_keys: list[tuple[int, tuple[str, ...]]] = [(v.entry, v.norm.tokens) for v in self.variants]
        self.weighted: list[tuple[tuple[str, float], ...]] = [self.weigh(v.norm.tokens) for v in self.variants]
        self.total_weight: list[float] = [sum(w for _, w in ws) or 1.0 for ws in self.weighted]

        self.deletes: dict[str, list[str]] = {}
        self.articled: dict[str, list[str]] = {}
        self.translit: dict[str, list[str]] = {}  # transliteration key -> listed words that have it
        self.skeletons: dict[str, list[str]] = {}
        for t in self.postings:
            if len(t) >= _MIN_FUZZY_LEN and not t.isdigit():
                keys = _deletes(t) | {t}
                if (bare := strip_article(t)) != t:
                    self.articled.setdefault(bare, []).append(t)  # "alnaser" is reached from "naser"
                for d in keys:
                    self.deletes.setdefault(d, []).append(t)
                self.skeletons.setdefault(skeleton(t), []).append(t)
                if (tk := translit_key(t)) != t:
                    self.translit.setdefault(tk, []).append(t)
            # A translated word is reached from its sources' spellings too ("Grpo" -> "Grupo" -> "group").
            for src in TRANSLATION_SOURCES.get(t, ()):
                for d in _deletes(src) | {src}:
                    self.deletes.setdefault(d, []).append(t)
                self.translit.setdefault(translit_key(src), []).append(t)
        # A place name and its Russian adjective reach each other ("Yaroslavl"/"Yaroslavsky"): listed adjectives
        # by their stems, listed words of 5+ letters by themselves less their last letter.
        self.adjectives: dict[str, list[str]] = {}
        self.heads: dict[str, list[str]] = {}
        for t in self.word_postings:
            if len(t) >= 5 and t.isalpha():
                if (stem := _adjective_stem(t)) is not None:
                    for x in _adjective_stems(stem):
                        self.adjectives.setdefault(x, []).append(t)
                else:
                    self.heads.setdefault(t[:-1], []).append(t)
        # Listed words of 10+ letters by first letter and length: an unknown long query word reaches those two edits
        # away ("Mzenskprokat"/"Mtsenskprokat", "Elektronstandart"/"Electronstandard"), which its deletions do not.
        # Words only, not glued pairs: 4,233 words against 52,000 with the pairs, a sixth of the time per look-up.
        self.long_words: dict[tuple[str, int], list[str]] = {}
        for t in self.word_postings:
            if len(t) >= _LONG_WORD and t.isalpha():
                self.long_words.setdefault((t[0], len(t)), []).append(t)
        # The initials of listed organisations' names of 3+ words, with and without "of", "and", ... ("MINISTRY OF
        # DEFENSE AND ARMED FORCES LOGISTICS": "modafl", "mdafl"): with the customer's country, a name written as
        # its acronym (R10).
        self.initials: dict[str, list[tuple[int, str]]] = {}  # acronym -> (entry, the spelling it abbreviates)
        for ei, entry in enumerate(self.entries):
            if entry.entity_type in ("person", "vessel"):
                continue
            for text in (entry.name, *entry.aliases):
                for key in acronyms(text):
                    found = self.initials.setdefault(key, [])
                    if all(e != ei for e, _ in found):
                        found.append((ei, text))
        self._posting_sets: dict[int, frozenset[int]] = {}
        self.build_seconds = time.perf_counter() - started
        self.expand_token = lru_cache(maxsize=100_000)(self._expand_token)
        self.near_words = lru_cache(maxsize=20_000)(self._near_words)

    def posting_set(self, postings: tuple[int, ...]) -> frozenset[int]:
        """The same postings as a set, for membership tests against a common word's long list."""
        found = self._posting_sets.get(id(postings))
        if found is None:
            found = self._posting_sets[id(postings)] = frozenset(postings)
        return found

    def weight(self, token: str) -> float:
        """Return the IDF weight of a token (unknown tokens are as rare as possible).

        Measured: weighing unknown 2-3 letter codes less ("LTD-BZE", "R&D") found 1 more alias pair in 400
        but alerted on 16 % of acronym-named companies instead of none.
        """
        return self.idf.get(token, self.max_idf)

    def weigh(self, tokens: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
        """Return (token, IDF weight) pairs, heaviest first."""
        return tuple(sorted(((t, self.idf.get(t, self.max_idf)) for t in tokens), key=lambda p: -p[1]))

    def _expand_token(self, token: str, min_sim: float) -> tuple[tuple[str, float], ...]:
        """Vocabulary words close to `token`: equal, one edit apart (two for an unknown word of 10+ letters), the
        same consonant skeleton or transliteration key, or the same word with a glued article; each accepted by
        `token_similarity`, the rule full scoring uses, so the candidate stage never reaches a word the scorer
        would refuse. It can miss one the scorer would accept (two substitutions in a 9-letter word): the
        acceptance test in tests/compliance/test_screening_candidates.py measures how often that matters."""
        found: dict[str, float] = {}
        if token in self.postings:
            found[token] = 1.0
        for u in self.articled.get(token, ()):  # "taf" reaches "attaf" (Al-Taf), "naser" "alnaser"
            if (sim := token_similarity(token, u)) >= min_sim:
                found[u] = sim
        for u in (token[:-2],) if len(token) >= 7 and token.endswith("co") else (token + "co",):
            if u in self.word_postings and _same_but_co(token, u):  # "Sadafco" reaches "sadaf", "sadaf" "sadafco"
                found[u] = 0.95
        if len(token) >= _MIN_FUZZY_LEN and not token.isdigit():
            near: set[str] = set()
            get = self.deletes.get
            for d in _deletes(token):
                near.update(get(d, ()))
            near.update(get(token, ()))
            if (bare := strip_article(token)) != token:
                near.update(get(bare, ()))
                if bare in self.postings:
                    near.add(bare)
            if len(token) >= _LONG_WORD and token not in self.postings:
                # An unknown long word may be two edits from a listed one ("Transservice"/"Transservis"): two
                # deletions of it, and the listed words of its first letter two edits away (two substitutions).
                for d in _deletes(token):
                    for dd in _deletes(d):
                        near.update(get(dd, ()))
                for n in range(len(token) - 2, len(token) + 3):
                    if bucket := self.long_words.get((token[0], n)):
                        near.update(u for u, _, _ in process.extract(
                            token, bucket, scorer=Levenshtein.distance, processor=None, score_cutoff=2, limit=None
                        ))  # fmt: skip
            tk = translit_key(token)
            for u in (*self.translit.get(tk, ()), *((tk,) if tk != token and tk in self.postings else ())):
                if u != token and (sim := token_similarity(token, u)) >= min_sim:
                    found[u] = sim
            alike = self.skeletons.get(skeleton(token), ())
            near.discard(token)
            if bare != token and bare in near and (sim := token_similarity(token, bare)) >= min_sim:
                found[bare] = sim  # "alnaser" -> "naser": no Jaro-Winkler prefilter for these
            for u in self.articled.get(bare, ()) if bare != token else ():
                if u != token and (sim := token_similarity(token, u)) >= min_sim:
                    found[u] = sim
            # Every other path of token_similarity needs Jaro-Winkler >= min_sim, or >= 0.78 for the same consonant
            # skeleton: one C call each drops the rest.
            for u in near.intersection(TRANSLATION_SOURCES):  # compared through their sources, no prefilter
                if u not in found and u != token and (sim := token_similarity(token, u)) >= min_sim:
                    found[u] = sim
            jw = JaroWinkler.normalized_similarity
            for words, cutoff in ((near, min_sim), (alike, 0.78)):
                for u, _, _ in process.extract(
                    token, words, scorer=jw, processor=None, score_cutoff=cutoff, limit=None
                ):
                    if u not in found and u != token and (sim := token_similarity(token, u)) >= min_sim:
                        found[u] = sim
            if (stem := _adjective_stem(token)) is not None:
                places = [u for x in _adjective_stems(stem) for u in (*self.heads.get(x, ()), x)]
            else:
                places = [*self.adjectives.get(token, ()), *self.adjectives.get(token[:-1], ())]
            for u in places:
                if u not in found and u in self.postings and _place_adjective(token, u):
                    found[u] = _PLACE_ADJECTIVE_SIMILARITY
        return tuple(found.items())

    def _near_words(self, token: str) -> tuple[str, ...]:
        """Listed words (not glued pairs) a near-miss away from `token` that the usual reach refuses: the same
        transliteration key in four letters ("Noor"/"Nour"), the same consonants two letters apart ("Elessa"/
        "Ellissa", "Yupel"/"Upel"). With the customer's country a listed organisation's, the one distinctive word
        of a name reaches these too (R10; token_similarity_near decides, capped at NEAR_MISS). Not from a word of
        four letters: "Russ" would reach "Rossi", "UMMC" "UIMC"."""
        if len(token) <= _MIN_FUZZY_LEN or not token.isalpha() or token in BUSINESS_WORDS:
            return ()
        tk = translit_key(token)
        pool = {*self.skeletons.get(skeleton(token), ()), *self.translit.get(tk, ()), tk}
        cons = _consonants(token)
        return tuple(sorted(
            u for u in pool
            if u != token and u in self.word_postings and (u == tk or _consonants(u) == cons)
            and token_similarity_near(token, u) >= NEAR_MISS
        ))  # fmt: skip


_ACRONYM_LETTERS = (4, 8)  # an acronym this long: "RNKB", "MODAFL" (three letters name too many parties)
_NOT_IN_ACRONYMS = frozenset(
    ["of", "and", "the", "for", "de", "del", "la", "el", "al", "y", "et", "des", "du", "on", "in"]
)
_WORD = re.compile(r"[a-z0-9]+")


def acronyms(text: str) -> set[str]:
    """The initials of a name of three or more words, all words and without "of", "and", ... ("Ministry of Defense
    and Armed Forces Logistics": "modafl" and "mdafl"), of 4-8 letters."""
    words = _WORD.findall(fold_text(text))
    out: set[str] = set()
    for ws in (words, [w for w in words if w not in _NOT_IN_ACRONYMS]):
        if len(ws) >= 3 and _ACRONYM_LETTERS[0] <= len(ws) <= _ACRONYM_LETTERS[1]:
            out.add("".join(w[0] for w in ws))
    return out


def _consonants(word: str) -> str:
    """The consonants of a word in order, a doubled letter once ("Ellissa" and "Elessa": "ls"; "Russtan": "rstn",
    "Rustitan": "rsttn"): stricter than `skeleton`, which also merges consonants that only vowels separate."""
    return "".join(ch for ch, _ in itertools.groupby(word) if ch not in "aeiouy")


def _same_but_co(a: str, b: str) -> bool:
    """One word is the other with "co" glued on ("Sadafco" / "Sadaf", "Khaybarco" / "Khaybar"), 5+ letters before it,
    not an ordinary word ("Firmaco" is not "La Firma")."""
    if len(a) < len(b):
        a, b = b, a
    return len(a) == len(b) + 2 and len(b) >= 5 and a.endswith("co") and a.startswith(b) and b not in _ORDINARY


_ORDINARY = BUSINESS_WORDS | frozenset(w for ws in TRANSLATION_SOURCES.values() for w in ws)


def _same_but_article(a: str, b: str) -> bool:
    """The same word with or without a glued article ("Alnaser"/"Naser", "Eddine"/"Dine")."""
    return (a.startswith(_ARTICLE_PREFIXES) or b.startswith(_ARTICLE_PREFIXES)) and strip_article(a) == strip_article(b)


@lru_cache(maxsize=500_000)
def token_similarity(a: str, b: str) -> float:
    """_word_similarity, and for a translated word the best of its sources: "Grpo" is a typo of "Grupo", which is
    "Group" here; "Sanat" is one letter from "Sanaat" (industry)."""
    sim = _word_similarity(a, b)
    if sim < 1.0 and (a in TRANSLATION_SOURCES or b in TRANSLATION_SOURCES):
        for x, src in _near_sources(a, b):
            sim = max(sim, _word_similarity(x, src))
    return sim


def _near_sources(a: str, b: str) -> list[tuple[str, str]]:
    """(word, source) pairs worth comparing when one of `a`, `b` is a translated word and the other is not a
    canonical word itself: the sources within the edit distance any path of the word comparison accepts."""
    out: list[tuple[str, str]] = []
    for x, y in ((a, b), (b, a)):
        sources = TRANSLATION_SOURCES.get(y)
        if not sources or len(x) < _MIN_FUZZY_LEN or x in TRANSLATION_SOURCES or x in BUSINESS_WORDS:
            continue
        edits = max(2, len(x) // 4 + 2)
        out += [(x, src) for src, _, _ in process.extract(
            x, sources, scorer=Levenshtein.distance, processor=None, score_cutoff=edits, limit=None
        ) if src != x]  # fmt: skip
    return out


def _word_similarity(a: str, b: str) -> float:
    """Similarity of two words: exact for short words, Jaro-Winkler within an edit budget otherwise.

    Typos cost one edit (two in words of 9+ letters; a transposition is one edit): "Armenia" is three edits
    from "America" and "Austria" two from "Australia", so they are different words however alike they look.
    Transliteration variants share a consonant skeleton and may differ a little more ("Mohamed"/"Muhammad").
    A first-letter typo ("Vanco"/"Banco") gets no Jaro-Winkler prefix bonus, so it is scored on its own.
    """
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if _same_but_article(a, b) or (abs(la - lb) == 2 and _same_but_co(a, b)):
        return 0.95  # "Alnaser" / "Naser": the article glued to the word; "Sadafco" / "Sadaf"
    if la < _MIN_FUZZY_LEN or lb < _MIN_FUZZY_LEN:
        return 0.0
    if (la == lb + 1 and a[-1] == "s" and a.startswith(b)) or (lb == la + 1 and b[-1] == "s" and b.startswith(a)):
        return _PLURAL  # "Tile"/"Tiles", "Pearl"/"Pearls": the plural of the same word
    if not a.isalpha() or not b.isalpha():
        # A word with digits ("YV2944", "72nd") is equal or different, never a typo; "Veb3" is "Web3".
        return _TRANSLITERATED if translit_key(a) == translit_key(b) else 0.0
    sim = JaroWinkler.normalized_similarity(a, b)
    if sim >= 0.7 and translit_key(a) == translit_key(b):
        return _TRANSLITERATED
    if abs(la - lb) > 2 and min(la, lb) < _MIN_LENGTH_RATIO * max(la, lb):
        return 0.0
    shorter = min(la, lb)
    ska = skeleton(a)
    if (
        len(ska) >= 3
        and abs(la - lb) <= 2
        and ska == skeleton(b)
        and sim >= 0.78
        and Levenshtein.distance(a, b) <= (2 if shorter < 7 else shorter // 4 + 2)
    ):
        # Vowel-only differences are the usual transliteration noise (Mohammed/Muhammad, Yusuf/Yousef).
        return max(sim, 0.92)
    edits = OSA.distance(a, b, score_cutoff=3)
    if edits > (1 if shorter < 9 else 2) or shorter < 5:
        return 0.0  # a 4-letter word differs by a vowel at most ("Tekh"/"Tech"): "Rafi" is not "Rami"
    if a[0] != b[0] and edits == 1 and shorter >= 5:
        return max(sim, 0.90)
    return sim


@lru_cache(maxsize=200_000)
def token_similarity_strict(a: str, b: str) -> float:
    """token_similarity for words of short names: words under 5 letters must be equal."""
    if a != b and (len(a) < _MIN_FUZZY_LEN_SHORT_NAME or len(b) < _MIN_FUZZY_LEN_SHORT_NAME):
        return 0.0
    return token_similarity(a, b)


@lru_cache(maxsize=200_000)
def token_similarity_single(a: str, b: str) -> float:
    """_single_similarity, for a translated word the best of its sources (see token_similarity)."""
    sim = _single_similarity(a, b)
    if sim < 1.0 and (a in TRANSLATION_SOURCES or b in TRANSLATION_SOURCES):
        for x, src in _near_sources(a, b):
            sim = max(sim, _single_similarity(x, src))
    return sim


def _single_similarity(a: str, b: str) -> float:
    """token_similarity for the distinctive word of a name that has only one: equal, or a typo in a long word.

    Measured on ordinary company names from 111 locales: with one typo allowed from 5 letters, "Baker Inc" met
    "BAJER S.R.L.", "Cisco" "VISCO", "Davis Group" "NAVIS GRUPP", "Wanger Group" "WAGNER GROUP" (issue 13).
    A vowel difference ("Nasir"/"Naser") scores 0.85: below review on its own, enough with other equal words.
    """
    if a == b:
        return 1.0
    if _same_but_article(a, b) or (abs(len(a) - len(b)) == 2 and _same_but_co(a, b)):
        return 0.95
    if a in BUSINESS_WORDS or b in BUSINESS_WORDS:
        return token_similarity(a, b)  # "Airlines"/"Eirlains": ordinary words keep the usual rule
    shorter = min(len(a), len(b))
    if shorter >= _MIN_FUZZY_LEN_SHORT_NAME and translit_key(a) == translit_key(b):
        # "Kholv"/"Holv", "Vindek"/"Windeq", "Veb3"/"Web3": one name in two transliterations. Not under five
        # letters: "Noor"/"Nour" would also make "KCSK" "KZSK" and "Scott" "SCOT".
        return _TRANSLITERATED
    if shorter < _MIN_FUZZY_LEN_SHORT_NAME or not a.isalpha() or not b.isalpha():
        return 0.0
    edits = OSA.distance(a, b, score_cutoff=3)
    if (edits <= 1 and shorter >= _MIN_FUZZY_LEN_SINGLE) or (edits <= 2 and shorter >= 10):
        sim = JaroWinkler.normalized_similarity(a, b)
        return max(sim, 0.90) if a[0] != b[0] else max(sim, 0.86)
    if edits == 1 and a[0] == b[0]:
        # "Turira"/"Turrira", "Trober"/"Trover" are the same name often enough; a five-letter word one letter off
        # is as often another acronym ("CNODC"/"CNOOC", "Basim"/"BASIJ"): that takes another equal word.
        return _WEAK_TYPO if shorter >= 6 else 0.85
    ska = skeleton(a)
    if (
        len(ska) >= 3
        and abs(len(a) - len(b)) <= 2
        and ska == skeleton(b)
        and Levenshtein.distance(a, b, score_cutoff=3) <= 2
        and JaroWinkler.normalized_similarity(a, b) >= 0.78
    ):
        return 0.85
    return 0.0


# A Russian adjective made from a place name: "-sky", "-skiy", "-skoe", "-skaya", "-skogo" ("Yaroslavsky" from
# "Yaroslavl", "Arzamasskoe" from "Arzamas", "Mytishchinski" from "Mytishchi", "Dubnensky" from "Dubna").
_PLACE_ADJECTIVE = re.compile(r"(?:sk|ck)(?:iy|ii|yi|ij|y|i|aya|aia|aja|oe|oye|oie|ogo|ie|iye)$")
_PLACE_ADJECTIVE_SIMILARITY = 0.92


def _adjective_stem(word: str) -> str | None:
    m = _PLACE_ADJECTIVE.search(word)
    return word[: m.start()] if m and m.start() >= 4 else None


@lru_cache(maxsize=100_000)
def _place_adjective(a: str, b: str) -> bool:
    """One word is the Russian adjective of the other, a place name: its stem, less a linking "n"/"en"/"in",
    is the name or the name less its last letter ("Yaroslav-sky"/"Yaroslav-l", "Dubn-en-sky"/"Dubn-a")."""
    for adj, noun in ((a, b), (b, a)):
        stem = _adjective_stem(adj)
        if stem is None or _adjective_stem(noun) is not None or len(noun) < 5:
            continue
        if any(noun == x or (len(noun) == len(x) + 1 and noun.startswith(x)) for x in _adjective_stems(stem)):
            return True
    return False


def _adjective_stems(stem: str) -> list[str]:
    """The stem of a place adjective, and without a linking "n"/"en"/"in"/"an" ("Dubnen-" -> "Dubn")."""
    out = [stem]
    if stem.endswith("n"):
        out.append(stem[:-1])
        if stem[-2:] in ("en", "in", "an"):
            out.append(stem[:-2])
    return [x for x in out if len(x) >= 4]


@lru_cache(maxsize=500_000)
def token_similarity_places(a: str, b: str) -> float:
    """token_similarity for two company names (R10): a place name and its Russian adjective are one word."""
    return _with_places(token_similarity(a, b), a, b)


def _with_places(sim: float, a: str, b: str) -> float:
    """A word similarity raised to the place-adjective score when one word is the other's place adjective."""
    if sim < _PLACE_ADJECTIVE_SIMILARITY and _may_be_adjective(a, b) and _place_adjective(a, b):
        return _PLACE_ADJECTIVE_SIMILARITY
    return sim


def _may_be_adjective(a: str, b: str) -> bool:
    """A cheap test before _place_adjective: one word has "sk"/"ck" among its last five letters, both 5+ long."""
    return (
        a != b
        and len(a) >= 5
        and len(b) >= 5
        and ("sk" in a[-5:] or "sk" in b[-5:] or "ck" in a[-5:] or "ck" in b[-5:])
    )


@lru_cache(maxsize=200_000)
def token_similarity_single_places(a: str, b: str) -> float:
    """token_similarity_single for two company names: a place name and its Russian adjective are one word."""
    return _with_places(token_similarity_single(a, b), a, b)


@lru_cache(maxsize=200_000)
def token_similarity_near(a: str, b: str) -> float:
    """token_similarity_single_places, and NEAR_MISS for what it refuses as too little evidence on its own: the
    same transliteration key in four letters ("Noor"/"Nour"), or the same consonants two letters apart ("Elessa"/
    "Ellissa", "Build"/"Bild"). Used only when the customer's country is one of the listed party's (R10)."""
    sim = token_similarity_single_places(a, b)
    return sim or _near_miss(a, b)


@lru_cache(maxsize=200_000)
def token_similarity_near_places(a: str, b: str) -> float:
    """token_similarity_places, and NEAR_MISS for a near-miss it refuses (see token_similarity_near): the words of a
    name with two or more distinctive words when the customer's country is the listed organisation's ("Ard al-Kher"
    / "ARD AL-KHAIR", R10)."""
    sim = token_similarity_places(a, b)
    return sim if sim >= NEAR_MISS else max(sim, _near_miss(a, b))


def _near_miss(a: str, b: str) -> float:
    if a in BUSINESS_WORDS or b in BUSINESS_WORDS or not a.isalpha() or not b.isalpha():
        return 0.0
    if min(len(a), len(b)) < _MIN_FUZZY_LEN or abs(len(a) - len(b)) > 2:
        return 0.0
    if translit_key(a) == translit_key(b):
        return NEAR_MISS
    ska = skeleton(a)
    if (
        len(ska) >= 2
        and ska == skeleton(b)
        and Levenshtein.distance(a, b, score_cutoff=3) <= 2
        and JaroWinkler.normalized_similarity(a, b) >= 0.78
    ):
        return NEAR_MISS
    return 0.0


def closest(word: str, others: list[str], similarity) -> tuple[float, int]:
    """The most similar of `others` to `word` by `similarity`: (score, index), (0.0, -1) for none."""
    best, best_j = 0.0, -1
    for j, other in enumerate(others):
        score = similarity(word, other)
        if score > best:
            best, best_j = score, j
    return best, best_j
