"""Labelled development set of real data for the screening engine (issue 13).

Every item is one query with a label, a split and the failure class (`kind`) it probes:

- company_pairs / person_pairs: two spellings of the SAME listed entity (its aliases, from the shipped lists and
  from the richer OFAC reference files: SDN 2021-07 alt.csv, consolidated non-SDN cons_alt.csv). The query is one
  spelling; it is screened against the `eval` list set, in which that spelling is removed from the entity, so
  the engine has to find the entity through its other spellings. Kinds by how the two spellings relate
  (pair_kind): alias_same_words, alias_words_missing, alias_words_differ; unrelated_alias when they share
  nothing (token_set_ratio < 40 on the cores: acronyms, former names; reported apart, not counted).
- hard_negatives: a listed name whose nearest OTHER listed entity is close (token_sort_ratio 70-91, or more when
  only a number differs), screened against the `eval` set WITHOUT that entity: every alert is a false alert.
  Left out as ambiguous: entities listed twice (same spelling elsewhere), and names that hold another listed
  name of two words or more, or sit inside one (a reviewer has to look at "Abdul Kader Ibrahim Mohamed" when
  "Mohammed IBRAHIM" is listed).
- innocent_companies / innocent_persons: Faker names of every Faker locale with a company provider (one-word
  `<Surname> PLC` names too) and yente's global person negatives, against the shipped lists.
- probes: listed companies changed the way the issue's failure classes describe, against the shipped lists.
  MISS_KINDS must alert on their listed company (a number added, "Al" dropped or glued, abbreviations, a word
  missing, typos, EU legal forms, ...); FALSE_ALERT_KINDS must not alert (one-word surname companies, acronyms,
  "... Holding", person names inside longer names, generic listed names inside long ones, another Roman
  numeral, another place name); those made from one listed party only count an alert on that party (`blame`).

Labels do not depend on the engine: names are compared on `base_core` (rigour's remove_org_types, ASCII,
casefold, punctuation removed, bare legal-form words such as Co/Corp/Ltd dropped), the same form the bench's
rapidfuzz baseline uses. Probes whose label would be ambiguous (the changed name is as close to another listed
party as to its source, or an innocent name that is itself on the lists) are dropped and counted in `stats`.

Splits are by a hash of the listed entity (source:entry_id) or of the innocent name: `tune` to tune on,
`holdout` to report. Everything is seeded: the same seed and the same lists give the same items.

Every item also carries the country a real customer would be screened with (`Item.country`, used only when the
bench runs with --country): true pairs, positive probes and hard negatives the address country of their own
listed entity (its nationality when it has no address country; one picked by a hash of the query when it has
several; none when the lists give none), Faker innocents their locale's country, yente's persons their
nationality. Negative probes are made from listed names and stand for no customer of a country: none.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import random
import re
import warnings
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np
from rapidfuzz import fuzz, process
from rigour.names import remove_org_types
from rigour.text import ascii_text

from wholesale.compliance.screening import default_list_paths, load_lists
from wholesale.compliance.screening.model import Entry, ListSet
from wholesale.compliance.screening.normalize import country_code

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference" / "screening-data"
REFERENCE_LISTS = (
    SHARED / "ofac-sdn" / "2021-07_sdn-add-alt" / "sdn.csv",
    SHARED / "ofac-consolidated-nonsdn" / "cons_prim.csv",
)
EVAL_DIR = SHARED / "eval"
HOLDOUT_PERCENT = 50

SETS = ("company_pairs", "person_pairs", "hard_negatives", "innocent_companies", "innocent_persons", "probes")
MISS_KINDS = (
    "number_added",
    "al_glued",
    "abbreviation",
    "word_missing",
    "first_letter_typo",
    "typo",
    "legal_form_eu",
    "general_prefix",
    "ordinal",
    "roman_as_digit",
)
FALSE_ALERT_KINDS = (
    "one_word_company",
    "acronym",
    "holding",
    "person_contained",
    "generic_long",
    "roman_numeral",
    "long_word_lenient",
)


E = TypeVar("E")


@dataclass(frozen=True)
class Item:
    """One labelled query."""

    set: str  # one of SETS
    kind: str  # failure class / sub-population
    split: str  # "tune" | "holdout"
    query: str
    positive: bool  # True: must alert on an entity of `accept`; False: must not alert (except on `accept`)
    index: str  # "eval" | "shipped": the list set the query is screened against
    target: tuple[str, str] | None = None  # (source, entry_id) of the listed entity the query stands for
    accept: frozenset[tuple[str, str]] = frozenset()  # hits that are right: the target and the same party
    target_variants: tuple[str, ...] = ()  # the target's spellings in its index (for pair scores)
    target_is_person: bool = False
    origin: str = ""  # what the query was made from, for examples
    counted: bool = True  # False: reported apart, not part of recall / precision (unrelated aliases)
    # Negatives made from one listed party: only an alert on these counts as false (others are not judged).
    blame: frozenset[tuple[str, str]] = frozenset()
    country: str | None = None  # alpha-2 a real customer would be screened with (bench --country)


@dataclass(frozen=True)
class Sizes:
    """How many items to build, over both splits (the holdout gets about half)."""

    company_pairs: int = 2400
    person_pairs: int = 1600
    hard_negative_companies: int = 500
    hard_negative_persons: int = 300
    faker_companies_per_locale: int = 60
    one_word_companies: int = 1200
    person_named_companies: int = 400
    faker_persons: int = 1000
    per_probe_kind: int = 400


@dataclass
class DevSet:
    """Items plus the list sets they are screened against ("shipped" and "eval")."""

    seed: int
    items: list[Item]
    lists: dict[str, ListSet]
    stats: dict[str, Counter] = field(default_factory=dict)

    def select(self, split: str = "holdout", kinds: Iterable[str] | None = None) -> list[Item]:
        """Items of one split ("all" for both), optionally only some kinds or sets."""
        wanted = set(kinds or ())
        return [
            it
            for it in self.items
            if (split == "all" or it.split == split) and (not wanted or it.kind in wanted or it.set in wanted)
        ]


# --- normalisation used for labels and the baseline ------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ROMAN_WORD = re.compile(r"\b(II|III|IV|VI|VII)\b", re.I)
_ROMAN_GUARD = re.compile(r"^zq([ivx]+)qz$")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# rigour's table leaves these alone when they stand without the rest of their phrase ("X Trading Co").
_BARE_FORMS = _word_set(
    "co corp corporation company cos inc incorporated ltd limited llc plc lp llp pte pvt pty gmbh ag kg sa sas sarl "
    "srl spa bv nv oy oyj ab aps ou sia uab eood ood ead jsc ojsc cjsc pjsc ooo oao zao pao est establishment kft doo "
    "dd lda ltda fze fzco fzc fzllc sro"
)
_LEADING_FORMS = _word_set("ooo oao zao pao ao jsc ojsc cjsc pjsc tov too ip")
_FORM_PAIRS = (("s", "a"), ("a", "s"), ("r", "l"), ("s", "l"), ("b", "v"), ("n", "v"), ("a", "g"), ("s", "p", "a"))


@cache
def _strip_forms(text: str) -> str:
    """Casefolded ASCII words of `text` with legal forms removed ('' when only forms are left)."""
    # rigour takes a standalone "II" for the Lithuanian form "IĮ": Roman numerals are kept out of its reach.
    text = _ROMAN_WORD.sub(lambda m: f"zq{m.group(1).lower()}qz", text)
    stripped = remove_org_types(text, replacement=" ")
    stripped = remove_org_types(ascii_text(stripped), replacement=" ")
    words = [_ROMAN_GUARD.sub(r"\1", w) for w in _NON_ALNUM.sub(" ", stripped.casefold()).split()]
    changed = True
    while words and changed:
        changed = False
        if words[-1] in _BARE_FORMS:
            words.pop()
            changed = True
        elif words[0] in _LEADING_FORMS:
            words.pop(0)
            changed = True
        else:
            for pair in _FORM_PAIRS:
                if len(words) > len(pair) and tuple(words[-len(pair) :]) == pair:
                    del words[-len(pair) :]
                    changed = True
                    break
    return " ".join(words)


def fold_keep_hyphen(text: str) -> str:
    """Like fold, but "Al-Rawda" keeps its hyphen."""
    return " ".join(re.sub(r"[^a-z0-9-]+", " ", ascii_text(text).casefold()).split())


def fold(text: str) -> str:
    """ASCII, casefold, punctuation to spaces."""
    return " ".join(_NON_ALNUM.sub(" ", ascii_text(text).casefold()).split())


_CORE_CACHE: dict[str, str] = {}


def base_core(text: str) -> str:
    """The name without legal forms, as the labels and the baseline compare it (never empty for a name)."""
    got = _CORE_CACHE.get(text)
    if got is None:
        got = _strip_forms(text) or fold(text)
        _CORE_CACHE[text] = got
    return got


def sort_key(text: str) -> str:
    """base_core with its words sorted: fuzz.ratio on two of these is token_sort_ratio on the cores."""
    return " ".join(sorted(base_core(text).split()))


def consonant_key(word: str) -> str:
    """First letter and the consonants after it, doubles collapsed: Mohamed / Mohammed / Muhammad -> mhmd."""
    out = word[:1]
    for ch in word[1:]:
        if ch not in "aeiouyhw" and ch != out[-1]:
            out += ch
    return out


def split_of(key: str) -> str:
    """Deterministic split of an entity key or an innocent name."""
    return "holdout" if int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 100 < HOLDOUT_PERCENT else "tune"


def reverse_comma_name(name: str) -> str | None:
    """'LAST, First' -> 'First LAST' (None without exactly one comma)."""
    if name.count(",") != 1:
        return None
    last, first = (p.strip() for p in name.split(","))
    return f"{first} {last}" if last and first else None


def entry_key(e: Entry) -> tuple[str, str]:
    return (e.source, e.entry_id)


def entry_variants(e: Entry) -> tuple[str, ...]:
    """The spellings the engine indexes for an entry: name, aliases, and 'First LAST' of comma names."""
    out: list[str] = []
    person_like = e.entity_type == "person"
    for raw in (e.name, *e.aliases):
        if raw not in out:
            out.append(raw)
        rev = reverse_comma_name(raw) if person_like or (e.entity_type == "unknown" and "," in raw) else None
        if rev and rev not in out:
            out.append(rev)
    return tuple(out)


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def _title(text: str) -> str:
    """A listed ALL-CAPS name as a customer would type it."""
    return " ".join(w.capitalize() if w.isupper() and len(w) > 3 else w for w in text.split())


# --- the lists --------------------------------------------------------------------------------------------------


class Lists:
    """The shipped lists plus the richer reference aliases, with the lookups the builders need."""

    def __init__(self, shipped: ListSet, reference: ListSet | None) -> None:
        self.shipped = shipped
        self.entries: dict[tuple[str, str], Entry] = {entry_key(e): e for e in shipped.entries}
        ref = {entry_key(e): e for e in reference.entries} if reference else {}
        # Every known spelling per entity: shipped name and aliases first, then reference-only aliases.
        self.spellings: dict[tuple[str, str], list[str]] = {}
        for k, e in self.entries.items():
            names = list(dict.fromkeys((e.name, *e.aliases)))
            if (r := ref.get(k)) is not None:
                names += [n for n in dict.fromkeys((r.name, *r.aliases)) if n not in names]
            self.spellings[k] = names
        self.reference_only = sum(
            len(v) - len(dict.fromkeys((self.entries[k].name, *self.entries[k].aliases)))
            for k, v in self.spellings.items()
        )
        self.keys: dict[tuple[str, str], set[str]] = {
            k: {sort_key(n) for n in names} - {""} for k, names in self.spellings.items()
        }
        self.by_key: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for k, ks in self.keys.items():
            for sk in ks:
                self.by_key[sk].add(k)
        # Flat arrays of every spelling (shipped and reference) for nearest-neighbour look-ups.
        self.flat_keys: list[str] = []
        self.flat_entity: list[tuple[str, str]] = []
        for k, ks in self.keys.items():
            for sk in sorted(ks):
                self.flat_keys.append(sk)
                self.flat_entity.append(k)
        self.flat_person = np.array([self.entries[k].entity_type == "person" for k in self.flat_entity])
        df: Counter[str] = Counter()
        for ks in self.keys.values():
            df.update({t for sk in ks for t in sk.split()})
        self.df = df
        # Spellings of two words or more as sets of consonant keys, for "is one name inside the other".
        self.word_sets: dict[frozenset[str], set[tuple[str, str]]] = defaultdict(set)
        self._spelling_entity: list[tuple[str, str]] = []
        self._word_postings: dict[str, set[int]] = defaultdict(set)
        for k, names in self.spellings.items():
            for n in names:
                ws = frozenset(consonant_key(w) for w in name_words(n))
                if len(ws) >= 2:
                    self.word_sets[ws].add(k)
                    for w in ws:
                        self._word_postings[w].add(len(self._spelling_entity))
                    self._spelling_entity.append(k)

    def containment(self, query: str, exclude: tuple[str, str]) -> bool:
        """Whether a listed name of two words or more (of another entity) is inside the query, or the reverse."""
        q = frozenset(consonant_key(w) for w in name_words(query))
        if len(q) >= 2:
            ids = set.intersection(*(self._word_postings.get(w, set()) for w in q))
            if any(self._spelling_entity[i] != exclude for i in ids):
                return True
        words = sorted(q)[:12]
        for size in range(2, min(len(words), 4) + 1):  # listed names of up to four words
            for sub in itertools.combinations(words, size):
                if self.word_sets.get(frozenset(sub), set()) - {exclude}:
                    return True
        return False

    def party(self, k: tuple[str, str]) -> frozenset[tuple[str, str]]:
        """The entity and every other entity that shares one of its spellings (or its OFAC ent_num)."""
        out = {k}
        for sk in self.keys.get(k, ()):
            out |= self.by_key[sk]
        if k[0].startswith("OFAC"):
            out |= {o for o in (("OFAC-SDN", k[1]), ("OFAC-CONS", k[1])) if o in self.entries}
        return frozenset(out)

    def neighbours(self, queries: list[str], cutoff: int) -> list[dict[tuple[str, str], int]]:
        """For each query, the entities with a spelling of token_sort_ratio >= cutoff, with the best score."""
        return best_per_entity([sort_key(q) for q in queries], self.flat_keys, self.flat_entity, cutoff)


def best_per_entity(queries: list[str], keys: list[str], entity_of: list[E], cutoff: int) -> list[dict[E, int]]:
    """For each query key, the best `fuzz.ratio` (>= cutoff) per entity over every key, vectorised with cdist.

    The keys are word-sorted, so `fuzz.ratio` on them is `token_sort_ratio`.
    """
    out: list[dict[E, int]] = []
    for start in range(0, len(queries), 1000):
        m = process.cdist(
            queries[start : start + 1000], keys, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8, workers=1
        )
        for row in m:
            found: dict[E, int] = {}
            for j in np.flatnonzero(row):
                ent, score = entity_of[j], int(row[j])
                if score > found.get(ent, -1):
                    found[ent] = score
            out.append(found)
    return out


def load(shipped_paths: Iterable[Path] | None = None, reference_paths: Iterable[Path] | None = None) -> Lists:
    """Shipped lists (default_list_paths) plus the reference OFAC files that exist on this machine."""
    shipped = load_lists(list(shipped_paths) if shipped_paths is not None else default_list_paths())
    refs = [p for p in (REFERENCE_LISTS if reference_paths is None else reference_paths) if Path(p).exists()]
    return Lists(shipped, load_lists(refs) if refs else None)


# --- true pairs and hard negatives ------------------------------------------------------------------------------


def _pair_group(e: Entry) -> str | None:
    if e.entity_type == "person":
        return "person_pairs"
    if e.entity_type in ("company", "unknown"):
        return "company_pairs"
    return None  # vessels and aircraft: customers are neither


PAIR_KINDS = ("alias_same_words", "alias_words_missing", "alias_words_differ")


def name_words(text: str) -> list[str]:
    """The words of base_core that carry the name (no stopwords, no stray legal-form words)."""
    return [t for t in base_core(text).split() if t not in STOPWORDS and t not in LEGAL_WORDS]


def _covered(a: list[str], b: list[str]) -> bool:
    return bool(a) and all(any(t == u or fuzz.ratio(t, u) >= 80 for u in b) for t in a)


def pair_kind(query: str, others: list[str]) -> tuple[str, str]:
    """How a query spelling relates to the nearest other spelling of its entity, engine-independent:
    alias_same_words    every word on each side has a close partner (spelling, order, legal form, typo,
                        words split or merged);
    alias_words_missing one side's words are all in the other (a word or a middle name more or less);
    alias_words_differ  both sides have words the other lacks (translation, transliteration, other name).
    """
    q = name_words(query)
    best = (2, others[0])
    for o in others:
        w = name_words(o)
        # Words split or merged ("Abdul Patta" / "Abdulpatta", "N P C" / "NPC") are the same words.
        glued = bool(q and w) and fuzz.ratio("".join(q), "".join(w)) >= 85
        same = glued or (_covered(q, w) and _covered(w, q))
        rank = 0 if same else 1 if _covered(q, w) or _covered(w, q) else 2
        if rank < best[0]:
            best = (rank, o)
    return PAIR_KINDS[best[0]], best[1]


def entity_country(e: Entry, query: str) -> str | None:
    """The country a customer that is this listed entity gives: an address country (a nationality when there is
    none), picked by a hash of the query when there are several; None when the lists give none."""
    found = sorted({a.country for a in e.addresses if a.country}) or sorted(e.nationalities)
    if not found:
        return None
    return found[int(hashlib.sha1(query.encode()).hexdigest(), 16) % len(found)]


def locale_country(loc: str) -> str | None:
    """The country of a Faker locale ("de_DE" -> "DE"); None for a language-only one ("ar_AA")."""
    tail = loc.rsplit("_", 1)[-1]
    return country_code(tail) if len(tail) == 2 and tail.isalpha() and tail != "AA" else None


def true_pairs(
    lists: Lists, seed: int, sizes: Sizes, stats: dict[str, Counter]
) -> tuple[list[Item], dict[tuple[str, str], Entry]]:
    """One pair per sampled entity; returns the items and the entries changed for the eval list set."""
    rng = _rng(seed, "pairs")
    keys = sorted(lists.entries)
    rng.shuffle(keys)
    quota = {"company_pairs": sizes.company_pairs, "person_pairs": sizes.person_pairs}
    made: Counter[str] = Counter()
    items: list[Item] = []
    changed: dict[tuple[str, str], Entry] = {}
    for k in keys:
        e = lists.entries[k]
        group = _pair_group(e)
        if group is None or made[group] >= quota[group]:
            continue
        spellings = lists.spellings[k]
        if len(spellings) < 2:
            continue
        st = stats[group]
        shipped_names = list(dict.fromkeys((e.name, *e.aliases)))
        options: list[tuple[str, list[str], bool]] = []
        for q in spellings:
            rest = [n for n in shipped_names if n != q]
            if not rest:
                continue
            qk = sort_key(q)
            if qk in {sort_key(n) for n in rest}:
                st["skipped_trivial (same core as a remaining spelling)"] += 1
                continue
            if lists.by_key[qk] - {k}:
                st["skipped_spelling_on_another_entry (duplicate or homonym)"] += 1
                continue
            related = max(fuzz.token_set_ratio(base_core(q), base_core(n)) for n in rest) >= 40
            options.append((q, rest, related))
        if not options:
            continue
        q, rest, related = rng.choice(options)
        kind, closest = pair_kind(q, rest) if related else ("unrelated_alias", rest[0])
        new = replace(e, name=rest[0], aliases=tuple(rest[1:])) if q == e.name else e
        if q in e.aliases:
            new = replace(e, aliases=tuple(a for a in e.aliases if a != q))
        if new is not e:
            changed[k] = new
        is_person = e.entity_type == "person"
        query = (reverse_comma_name(q) or q) if is_person else q
        st[f"pairs_{kind}"] += 1
        made[group] += 1
        items.append(
            Item(
                set=group,
                kind=kind,
                split=split_of(f"{k[0]}:{k[1]}"),
                query=query,
                positive=True,
                index="eval",
                target=k,
                accept=lists.party(k),
                target_variants=entry_variants(new),
                target_is_person=is_person,
                origin=closest,
                counted=related,
                country=entity_country(e, query),
            )
        )
    return items, changed


def _numbers(key: str) -> set[str]:
    return {t for t in key.split() if any(c.isdigit() for c in t)}


def _contained(a: list[str], b: list[str]) -> bool:
    """Every word of the shorter name (two words at least) has a close word in the longer one."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 2 and all(any(fuzz.ratio(t, u) >= 80 for u in long) for t in short)


def hard_negatives(
    lists: Lists, seed: int, sizes: Sizes, stats: dict[str, Counter], taken: set[tuple[str, str]]
) -> tuple[list[Item], set[tuple[str, str]]]:
    """Listed names close to ANOTHER listed party, screened without their own entity; returns items, removed."""
    rng = _rng(seed, "hard")
    st = stats["hard_negatives"]
    items: list[Item] = []
    removed: set[tuple[str, str]] = set()
    protected: set[tuple[str, str]] = set()
    for kind, types, quota in (
        ("hard_negative_company", ("company", "unknown"), sizes.hard_negative_companies),
        ("hard_negative_person", ("person",), sizes.hard_negative_persons),
    ):
        pool = sorted(
            k
            for k, e in lists.entries.items()
            if e.entity_type in types and k not in taken and lists.party(k) == {k} and len(base_core(e.name)) >= 4
        )
        rng.shuffle(pool)
        pool = pool[: quota * 8]
        queries = []
        for k in pool:
            e = lists.entries[k]
            queries.append((reverse_comma_name(e.name) or e.name) if e.entity_type == "person" else e.name)
        near = lists.neighbours(queries, 70)
        cands = []
        for k, q, found in zip(pool, queries, near, strict=True):
            others = {o: s for o, s in found.items() if o != k}
            if not others:
                continue
            best_other, best = max(others.items(), key=lambda x: x[1])
            if best >= 92 and not any(_numbers(sort_key(q)) != _numbers(sk) for sk in lists.keys[best_other]):
                st["skipped_near_duplicate (>= 92, could be the same party)"] += 1
                continue
            qt = base_core(q).split()
            if lists.containment(q, k) or any(_contained(qt, sk.split()) for o in others for sk in lists.keys[o]):
                # "Muhammed Ibrahim Isa" holds the whole of a listed "IBRAHIM, Muhammad": a reviewer must look.
                st["skipped_contains_or_inside_another_listed_name"] += 1
                continue
            cands.append((k, q, others, best_other, best))
        # Half from the closest (token_sort_ratio >= 80), half from the rest, alternating.
        close = [c for c in cands if c[4] >= 80]
        far = [c for c in cands if c[4] < 80]
        ordered = [c for pair in itertools.zip_longest(close, far) for c in pair if c is not None]
        made = 0
        for k, q, others, best_other, best in ordered:
            if made >= quota:
                break
            if k in protected or any(o in removed for o in others):
                continue
            removed.add(k)
            protected |= set(others)
            made += 1
            items.append(
                Item(
                    set="hard_negatives",
                    kind=kind,
                    split=split_of(f"{k[0]}:{k[1]}"),
                    query=q,
                    positive=False,
                    index="eval",
                    target=k,
                    accept=frozenset({k}),
                    origin=f"nearest other: {max(lists.spellings[best_other], key=lambda n: fuzz.ratio(sort_key(q), sort_key(n)))} ({best})",
                    country=entity_country(lists.entries[k], q),
                )
            )
        st[kind] = made
    return items, removed


# --- innocents --------------------------------------------------------------------------------------------------


def faker_locales(provider: str) -> list[str]:
    """Faker locales that ship their own provider of this kind (company, person)."""
    import importlib.util

    from faker.config import AVAILABLE_LOCALES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated locales (fr_QC) warn on import
        return [loc for loc in AVAILABLE_LOCALES if importlib.util.find_spec(f"faker.providers.{provider}.{loc}")]


def _faker(loc: str, seed: int, what: str):
    from faker import Faker

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fk = Faker(loc)
    fk.seed_instance(zlib.crc32(f"{seed}:{what}:{loc}".encode()))
    return fk


ONE_WORD_FORMS = (" PLC", " Group", " GmbH", " & Sons", " Holding")


def _ambiguous_innocent(
    lists: Lists, names: list[str], person: bool, stats: Counter, what: str, cutoff: int = 95
) -> list[bool]:
    """An innocent name that is (nearly) a listed name of its own kind is not innocent: drop it."""
    near = lists.neighbours(names, cutoff)
    out = []
    for found in near:
        amb = any((lists.entries[o].entity_type == "person") == person for o in found)
        stats[f"skipped_{what}_on_the_lists"] += amb
        out.append(amb)
    return out


def innocent_companies(lists: Lists, seed: int, sizes: Sizes, stats: dict[str, Counter]) -> list[Item]:
    locales = faker_locales("company")
    surname_locales = [*locales, *(x for x in ("en_GB", "ar_AA") if x not in locales)]
    stats["innocent_companies"]["faker_company_locales"] = len(locales)
    made: list[tuple[str, str]] = []
    country: dict[tuple[str, str], str | None] = {}  # the locale's country, of the first locale that made it
    for loc in locales:
        fk = _faker(loc, seed, "company")
        names = list(dict.fromkeys(fk.company() for _ in range(sizes.faker_companies_per_locale * 2)))
        made += [("faker_company", n) for n in names[: sizes.faker_companies_per_locale]]
        for n in names[: sizes.faker_companies_per_locale]:
            country.setdefault(("faker_company", n), locale_country(loc))
    rng = _rng(seed, "one_word")
    per_loc = -(-sizes.one_word_companies // len(surname_locales))
    per_loc_named = -(-sizes.person_named_companies // len(surname_locales))
    for loc in surname_locales:
        fk = _faker(loc, seed, "surname")
        for _ in range(per_loc):
            made.append(("one_word", f"{fk.last_name()}{rng.choice(ONE_WORD_FORMS)}"))
            country.setdefault(made[-1], locale_country(loc))
        for _ in range(per_loc_named):
            made.append(("person_named", f"{fk.first_name()} {fk.last_name()} Ltd"))
            country.setdefault(made[-1], locale_country(loc))
    made = list(dict.fromkeys(made))
    amb = _ambiguous_innocent(lists, [n for _, n in made], False, stats["innocent_companies"], "company")
    return [
        Item(
            "innocent_companies",
            kind,
            split_of(name),
            name,
            False,
            "shipped",
            origin="Faker",
            country=country.get((kind, name)),
        )
        for (kind, name), a in zip(made, amb, strict=True)
        if not a
    ]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#") and line.strip()))


def innocent_persons(lists: Lists, seed: int, sizes: Sizes, stats: dict[str, Counter]) -> list[Item]:
    made: list[tuple[str, str]] = []
    country: dict[tuple[str, str], str | None] = {}  # nationality (yente) or the locale's country (Faker)
    p = EVAL_DIR / "yente_negatives_global_1000.csv"
    if p.exists():
        for r in _read_csv(p):
            if r.get("full_name", "").strip():
                made.append(("yente_global", r["full_name"].strip()))
                country.setdefault(made[-1], country_code(r.get("nationality")))
    locales = faker_locales("person")
    per_loc = -(-sizes.faker_persons // len(locales))
    for loc in locales:
        fk = _faker(loc, seed, "person")
        for _ in range(per_loc):
            made.append(("faker_person", f"{fk.first_name()} {fk.last_name()}"))
            country.setdefault(made[-1], locale_country(loc))
    made = list(dict.fromkeys(made))
    amb = _ambiguous_innocent(lists, [n for _, n in made], True, stats["innocent_persons"], "person")
    return [
        Item(
            "innocent_persons",
            kind,
            split_of(name),
            name,
            False,
            "shipped",
            origin=kind,
            country=country.get((kind, name)),
        )
        for (kind, name), a in zip(made, amb, strict=True)
        if not a
    ]


# --- probes -----------------------------------------------------------------------------------------------------

STOPWORDS = _word_set("of and the de del la le les des du da do dos di y e et for in on at to an a")
GENERIC = _word_set("""bank banks industrial industry industries trading trade trades company general international group holding
    holdings investment investments development commercial national construction engineering services service
    import export oil gas petroleum petrochemical shipping finance financial insurance exchange energy power
    electric electronics technology technologies technical industrial manufacturing production products
    equipment machinery metals steel mining chemical chemicals pharmaceutical trust fund capital resources
    logistics transport transportation airlines airline aviation air marine maritime ocean navigation
    agency office center centre institute organization organisation association foundation enterprise
    enterprises establishment corporation agricultural foods food commerce business supply supplies systems
    global world east west north south middle central first new united joint cooperative credit savings
    development research science sciences""")
# Words of legal-form phrases that rigour only removes as a whole phrase ("Limited Liability Company").
LEGAL_WORDS = _word_set(
    "joint stock liability closed open public private limited company companies corporation incorporated "
    "obshchestvo ogranichennoy ogranichennoi otvetstvennostyu aktsionernoe aktsionernoye zakrytoe otkrytoe "
    "publichnoe tovarystvo tovaryshestvo sociedad anonima responsabilidad limitada compania societe anonyme "
    "obschestvo obshestvo illc "
    "gesellschaft haftung spolka akcyjna"
)
ARAB_COUNTRIES = _word_set("AE SA IQ SY LB JO YE KW QA BH OM EG LY SD DZ MA TN PS MR")

ABBREVIATIONS: tuple[tuple[str, str, bool], ...] = (
    # (word, abbreviation, is a legal-form word)
    ("General", "Gen.", False),
    ("International", "Intl", False),
    ("Company", "Co", True),
    ("Manufacturing", "Mfg", False),
    ("Brothers", "Bros", False),
    ("Corporation", "Corp", True),
    ("Trading", "Trdg", False),
    ("Industries", "Inds", False),
    ("Industrial", "Indl", False),
    ("Engineering", "Eng", False),
    ("Development", "Dev", False),
    ("Technology", "Tech", False),
    ("Technologies", "Tech", False),
    ("Limited", "Ltd", True),
    ("Incorporated", "Inc", True),
    ("National", "Natl", False),
    ("Services", "Svcs", False),
    ("Management", "Mgmt", False),
    ("Equipment", "Equip", False),
    ("Electronics", "Elec", False),
    ("Association", "Assn", False),
    ("Department", "Dept", False),
    ("Construction", "Constr", False),
    ("Establishment", "Est", True),
    ("Import", "Imp", False),
    ("Export", "Exp", False),
    ("Chemical", "Chem", False),
    ("Chemicals", "Chems", False),
    ("Laboratory", "Lab", False),
    ("Laboratories", "Labs", False),
    ("Institute", "Inst", False),
    ("University", "Univ", False),
    ("Organization", "Org", False),
    ("Shipping", "Shpg", False),
    ("Enterprises", "Ents", False),
    ("Commercial", "Coml", False),
    ("Marketing", "Mktg", False),
    ("Systems", "Sys", False),
    ("Group", "Grp", False),
    ("Holding", "Hldg", False),
    ("Holdings", "Hldgs", False),
    ("Communications", "Comms", False),
    ("Investment", "Invt", False),
    ("Petroleum", "Petr", False),
    ("Mechanical", "Mech", False),
    ("Center", "Ctr", False),
    ("Centre", "Ctr", False),
    ("Transport", "Transp", False),
)
_EXPAND = {
    "intl": "International",
    "int'l": "International",
    "mfg": "Manufacturing",
    "bros": "Brothers",
    "inds": "Industries",
    "natl": "National",
    "svcs": "Services",
    "mgmt": "Management",
    "trdg": "Trading",
    "assn": "Association",
    "dept": "Department",
    "gen": "General",
    "mktg": "Marketing",
    "hldgs": "Holdings",
}
EU_FORMS = (
    "Gesellschaft mit beschränkter Haftung",
    "GmbH",
    "Aktiengesellschaft",
    "GmbH & Co. KG",
    "UG (haftungsbeschränkt)",
    "Sp. z o.o.",
    "spółka z ograniczoną odpowiedzialnością",
    "spółka akcyjna",
    "spol. s r.o.",
    "s.r.o.",
    "společnost s ručením omezeným",
    "a.s.",
    "spoločnosť s ručením obmedzeným",
    "S.à r.l.",
    "Société à responsabilité limitée",
    "Société anonyme",
    "SAS",
    "B.V.",
    "Besloten Vennootschap",
    "N.V.",
    "Naamloze Vennootschap",
    "Oy",
    "Oyj",
    "Osakeyhtiö",
    "AB",
    "Aktiebolag",
    "A/S",
    "ApS",
    "Anpartsselskab",
    "Kft.",
    "Korlátolt Felelősségű Társaság",
    "Zrt.",
    "d.o.o.",
    "društvo s ograničenom odgovornošću",
    "S.R.L.",
    "Societate cu răspundere limitată",
    "S.r.l.",
    "Società a responsabilità limitata",
    "S.p.A.",
    "S.L.",
    "Sociedad Limitada",
    "Sociedad Anónima",
    "Lda.",
    "Sociedade por Quotas",
    "OÜ",
    "Osaühing",
    "Aktsiaselts",
    "SIA",
    "Sabiedrība ar ierobežotu atbildību",
    "UAB",
    "Uždaroji akcinė bendrovė",
    "EOOD",
    "OOD",
    "ЕООД",
    "A.E.",
    "E.P.E.",
    "DAC",
    "Teoranta",
)
COMMON_FORMS = ("LLC", "Ltd", "GmbH", "S.A.", "Co.", "Inc.", "JSC", "Limited")
ORDINALS = {
    "1st": "First",
    "2nd": "Second",
    "3rd": "Third",
    "4th": "Fourth",
    "5th": "Fifth",
    "6th": "Sixth",
    "7th": "Seventh",
    "8th": "Eighth",
    "9th": "Ninth",
    "10th": "Tenth",
}
ROMAN = {"II": 2, "III": 3, "IV": 4, "VI": 6, "VII": 7}
# Long place names that differ by more than a typo (a name that holds only generic words besides them is another
# party): Jaro-Winkler rates "Armenia"/"America" as close as a spelling variant.
CONFUSABLE_LONG_WORDS = (
    ("Armenia", "America"),
    ("Armenian", "American"),
    ("Syria", "Serbia"),
    ("Syrian", "Serbian"),
    ("Korea", "Kenya"),
    ("Korean", "Kenyan"),
    ("Pyongyang", "Pyeongchang"),
    ("Tehran", "Tirana"),
    ("Venezuela", "Venezia"),
    ("Austria", "Australia"),
    ("Austrian", "Australian"),
    ("Colombia", "Columbia"),
    ("Slovenia", "Slovakia"),
    ("Nigeria", "Algeria"),
    ("Nigerian", "Algerian"),
    ("Gambia", "Zambia"),
    ("Mauritania", "Mauritius"),
    ("Guinea", "Guyana"),
    ("Mongolia", "Magnolia"),
    ("Serbia", "Siberia"),
    ("Kazakhstan", "Uzbekistan"),
    ("Tajikistan", "Kazakhstan"),
    ("Malaysia", "Malawi"),
    ("Caspian", "Carpathian"),
    ("Libyan", "Lydian"),
    ("Moscow", "Morocco"),
    ("Iranian", "Ukrainian"),
    ("Crimea", "Croatia"),
    ("Crimean", "Croatian"),
    ("Belarus", "Belize"),
)
_CONFUSE_FIRST = dict(zip("ckszyiaeoubpdtgfvwmnq", "kczsiyeauopbtdkpwvnmk", strict=True))


@cache
def _content(word: str) -> str:
    """The folded word when it carries the name (not a stopword, not a legal form), else ''."""
    f = fold(word)
    if " " in f:  # "AL-QAIDA", "RN-YUGANSKNEFTEGAZ": one word of the name unless every part is filler
        parts = [p for p in f.split() if p not in STOPWORDS and p not in LEGAL_WORDS]
        return "".join(f.split()) if parts and _strip_forms(word) else ""
    if not f or f in STOPWORDS or f in LEGAL_WORDS or not _strip_forms(word):
        return ""
    return f


def split_legal_form(name: str) -> tuple[str, bool]:
    """(name without its leading/trailing legal form, whether there was one)."""
    words = name.split()
    i, j = 0, len(words)

    def is_form(seg: list[str]) -> bool:
        text = " ".join(seg)
        return bool(re.search(r"[A-Za-z]", text)) and _strip_forms(text) == ""

    changed = True
    while changed and j - i > 1:
        changed = False
        for k in range(min(5, j - i - 1), 0, -1):
            if is_form(words[j - k : j]):
                j -= k
                changed = True
                break
        if not changed:
            for k in range(min(4, j - i - 1), 0, -1):
                if is_form(words[i : i + k]):
                    i += k
                    changed = True
                    break
    base = " ".join(words[i:j]).strip(" ,;-&/")
    return base, (i, j) != (0, len(words))


def _case_like(model: str, word: str) -> str:
    return word.upper() if model.isupper() else word


def _probe_sources(lists: Lists) -> list[tuple[tuple[str, str], str]]:
    """(entity, shipped spelling) of listed companies, the material of the probes."""
    out = []
    for k, e in sorted(lists.entries.items()):
        # Only typed companies: the DPL's untyped names are persons as often as companies.
        if e.entity_type == "company":
            out += [(k, n) for n in dict.fromkeys((e.name, *e.aliases))]
    return out


Gen = Callable[[tuple[str, str], str, random.Random], Iterator[tuple[str, str]]]


def _gen_number_added(k, name, rng):
    if not any(c.isdigit() for c in name) and len(base_core(name)) >= 4:
        yield f"{name}{rng.choice((' 2', ' (9)', ' No 1', ' 1959'))}", name


_ARTICLE = re.compile(r"^(al|el)(?:-(.+))?$", re.I)


def _gen_al_glued(lists: Lists) -> Gen:
    article_words = {
        m.group(1) or m.group(2)
        for names in lists.spellings.values()
        for n in names
        for m in re.finditer(r"\b(?:al|el)(?:-(\w+)|\s+(\w+))", fold_keep_hyphen(n))
    } - GENERIC

    def gen(k, name, rng):
        words = name.split()
        for i, w in enumerate(words):
            m = _ARTICLE.match(w)
            if not m:
                continue
            rest = m.group(2)
            if rest is None:
                if i + 1 >= len(words):
                    break
                nxt = words[i + 1]
                dropped = [*words[:i], *words[i + 1 :]]
                glued = [*words[:i], m.group(1) + nxt.lower() if w.istitle() else m.group(1) + nxt, *words[i + 2 :]]
            else:
                dropped = [*words[:i], rest, *words[i + 1 :]]
                glued = [*words[:i], m.group(1) + rest, *words[i + 1 :]]
            op = rng.choice(("drop", "glue"))
            out = dropped if op == "drop" else glued
            if sum(bool(_content(x)) for x in out) >= 1 and len(out) >= 2:
                yield " ".join(out), name
            return
        e = lists.entries[k]
        if not (e.countries & ARAB_COUNTRIES):
            return
        for i, w in enumerate(words):
            c = _content(w)
            if c:
                # Only words that take the article somewhere on the lists ("Rawda"), not "Longford".
                if c not in article_words or not w.isalpha() or len(w) < 3 or i > 0:
                    return
                art = rng.choice(("Al-", "Al ", "El-", "Al"))
                art = art.upper() if w.isupper() else art
                yield " ".join([*words[:i], art + w, *words[i + 1 :]]), name
                return

    return gen


def _gen_abbreviation(k, name, rng):
    words = name.split()
    out, non_legal = [], 0
    for w in words:
        bare = w.strip(",.")
        hit = next((a for a in ABBREVIATIONS if a[0].lower() == bare.lower()), None)
        if hit:
            short = hit[1]
            if short.endswith(".") and rng.random() < 0.5:
                short = short[:-1]
            elif (
                not short.endswith(".")
                and hit[0] in ("International", "Manufacturing", "Brothers")
                and rng.random() < 0.3
            ):
                short += "."
            out.append(_case_like(bare, short) + w[len(bare) :] if w.startswith(bare) else _case_like(bare, short))
            non_legal += not hit[2]
        else:
            out.append(w)
    if non_legal:
        yield " ".join(out), name
        return
    # The other direction: a listed abbreviation written out.
    out, expanded = [], 0
    for w in words:
        bare = w.strip(",.").lower()
        if bare in _EXPAND:
            out.append(_case_like(w, _EXPAND[bare]))
            expanded += 1
        else:
            out.append(w)
    if expanded:
        yield " ".join(out), name


def _gen_word_missing(lists: Lists) -> Gen:
    def gen(k, name, rng):
        words = name.split()
        content = [(i, _content(w)) for i, w in enumerate(words) if _content(w)]
        if len(content) < 3:
            return
        rarest = min(content, key=lambda x: (lists.df[x[1]], -len(x[1])))
        # Not a number (another class), and what is left must keep a distinctive word ("Aircraft Industries"
        # without "Iran" is anyone's name).
        choices = [
            c
            for c in content
            if c != rarest
            and not any(ch.isdigit() for ch in c[1])
            and any(w not in GENERIC for j, w in content if j != c[0])
        ]
        if not choices:
            return
        i, _ = rng.choice(choices)
        out = [*words[:i], *words[i + 1 :]]
        yield " ".join(out).replace(" ,", ","), name

    return gen


def _typo_word(w: str, rng: random.Random, first: bool) -> str | None:
    if first:
        c = w[0].lower()
        op = rng.choice(("sub", "sub", "del", "swap"))
        if op == "sub":
            new = _CONFUSE_FIRST.get(c) or rng.choice("aeiou" if c not in "aeiou" else "bdgkmnprst")
            return (new.upper() if w[0].isupper() else new) + w[1:]
        if op == "del":
            return (w[1].upper() if w[0].isupper() else w[1]) + w[2:]
        if w.isupper() or not w[0].isupper():
            return w[1] + w[0] + w[2:]
        return w[1].upper() + w[0].lower() + w[2:]
    p = rng.randrange(1, len(w) - 1)
    op = rng.choice(("sub", "del", "swap", "ins"))
    letter = rng.choice("aeiourstnl")
    letter = letter.upper() if w.isupper() else letter
    if op == "sub":
        if w[p].lower() == letter.lower():
            letter = "E" if w.isupper() else "e"
        return w[:p] + letter + w[p + 1 :]
    if op == "del":
        return w[:p] + w[p + 1 :]
    if op == "swap":
        return None if w[p] == w[p + 1] else w[:p] + w[p + 1] + w[p] + w[p + 2 :]
    return w[:p] + letter + w[p:]


def _gen_typo(first: bool) -> Gen:
    def gen(k, name, rng):
        words = name.split()
        cands = [i for i, w in enumerate(words) if w.isalpha() and w.isascii() and len(w) >= (6 if first else 5)]
        cands = [i for i in cands if _content(words[i])]
        # The distinctive words are where a typo hurts; generic ones only when there is nothing else.
        cands = [i for i in cands if _content(words[i]) not in GENERIC] or cands
        if not cands:
            return
        i = rng.choice(cands)
        new = _typo_word(words[i], rng, first)
        if new and new != words[i]:
            yield " ".join([*words[:i], new, *words[i + 1 :]]), name

    return gen


def _gen_legal_form_eu(k, name, rng):
    base, had = split_legal_form(name)
    if had and base and sum(bool(_content(w)) for w in base.split()) >= 1:
        yield f"{base} {rng.choice(EU_FORMS)}", name


def _gen_general_prefix(k, name, rng):
    if not re.match(r"general\b", name, re.I):
        return
    base, had = split_legal_form(name)
    form = rng.choice([f for f in COMMON_FORMS if not had or f.lower() not in name.lower()])
    yield f"{base} {form}", name
    words = name.split()
    cands = [i for i, w in enumerate(words) if i > 0 and w.isalpha() and len(w) >= 5 and _content(w)]
    if cands:
        i = rng.choice(cands)
        new = _typo_word(words[i], rng, False)
        if new:
            yield " ".join([*words[:i], new, *words[i + 1 :]]), name


def _gen_ordinal(k, name, rng):
    words = name.split()
    rev = {v.lower(): n for n, v in ORDINALS.items()}
    for i, w in enumerate(words):
        low = w.lower()
        if low in ORDINALS:
            yield " ".join([*words[:i], _case_like(w, ORDINALS[low]), *words[i + 1 :]]), name
            return
        if low in rev:
            yield " ".join([*words[:i], _case_like(w, rev[low]), *words[i + 1 :]]), name
            return


def _gen_roman(positive: bool) -> Gen:
    def gen(k, name, rng):
        words = name.rstrip(".").replace(",", " ,").split()
        for i, w in enumerate(words):
            # A numeral ends the name ("SPARTA III", "... II CORP."); "NAMED AFTER VI CHAPAEV" holds initials.
            if w.upper() in ROMAN and w.isupper() and i > 0 and not any(_content(x) for x in words[i + 1 :]):
                n = ROMAN[w.upper()]
                if positive:
                    yield " ".join([*words[:i], str(n), *words[i + 1 :]]).replace(" ,", ","), name
                else:
                    others = [r for r, v in ROMAN.items() if v != n and abs(v - n) <= 2]
                    yield " ".join([*words[:i], rng.choice(others), *words[i + 1 :]]).replace(" ,", ","), name
                    digit = rng.choice([v for v in range(1, 6) if v != n])
                    yield " ".join([*words[:i], str(digit), *words[i + 1 :]]).replace(" ,", ","), name
                return

    return gen


def _gen_long_word(k, name, rng):
    words = name.split()
    table = {}
    for a, b in CONFUSABLE_LONG_WORDS:
        table.setdefault(a.lower(), b)
        table.setdefault(b.lower(), a)
    for i, w in enumerate(words):
        bare = w.strip(",.()")
        if bare.lower() in table:
            # Only where the swapped word is what identifies the name ("Central Bank of Armenia"): with another
            # distinctive word left ("Rosneft Armenia") the changed name is still close to the listed party.
            others = [_content(x) for j, x in enumerate(words) if j != i]
            if any(c and c not in GENERIC for c in others):
                return
            new = _case_like(bare, table[bare.lower()])
            yield " ".join([*words[:i], w.replace(bare, new), *words[i + 1 :]]), name
            return


def _round_robin(cands: list[tuple[tuple[str, str], str, str]], rng: random.Random) -> list:
    """Candidates ordered so that every entity gets one before any gets a second."""
    by_entity: dict[tuple[str, str], list] = defaultdict(list)
    for c in cands:
        by_entity[c[0]].append(c)
    ents = sorted(by_entity)
    rng.shuffle(ents)
    out, depth = [], 0
    while True:
        layer = [by_entity[e][depth] for e in ents if len(by_entity[e]) > depth]
        if not layer:
            return out
        out += layer
        depth += 1


def _positive_probes(lists: Lists, seed: int, sizes: Sizes, stats: dict[str, Counter]) -> list[Item]:
    sources = _probe_sources(lists)
    gens: dict[str, Gen] = {
        "number_added": _gen_number_added,
        "al_glued": _gen_al_glued(lists),
        "abbreviation": _gen_abbreviation,
        "word_missing": _gen_word_missing(lists),
        "first_letter_typo": _gen_typo(True),
        "typo": _gen_typo(False),
        "legal_form_eu": _gen_legal_form_eu,
        "general_prefix": _gen_general_prefix,
        "ordinal": _gen_ordinal,
        "roman_as_digit": _gen_roman(True),
    }
    items: list[Item] = []
    st = stats["probes"]
    for kind, gen in gens.items():
        rng = _rng(seed, kind)
        cands = []
        for k, name in sources:
            for q, origin in gen(k, name, rng):
                if q.strip() and q != origin:
                    cands.append((k, q, origin))
        cands = _round_robin(cands, rng)[: sizes.per_probe_kind * 3 // 2]
        near = lists.neighbours([q for _, q, _ in cands], 75)
        made = 0
        for (k, q, origin), found in zip(cands, near, strict=True):
            if made >= sizes.per_probe_kind:
                break
            accept = lists.party(k)
            qk = sort_key(q)
            folded = " ".join(sorted(fold(q).split()))
            if any(" ".join(sorted(fold(n).split())) == folded for n in lists.spellings[k]):
                st[f"{kind}: skipped_trivial (a listed spelling)"] += 1
                continue
            mine = max(fuzz.ratio(qk, sk) for sk in lists.keys[k])  # below 75 any neighbour found is closer
            other = max((s for o, s in found.items() if o not in accept), default=0)
            if other >= mine or other >= 95:
                st[f"{kind}: skipped_ambiguous (as close to another party)"] += 1
                continue
            made += 1
            e = lists.entries[k]
            items.append(
                Item(
                    set="probes",
                    kind=kind,
                    split=split_of(f"{k[0]}:{k[1]}"),
                    query=q,
                    positive=True,
                    index="shipped",
                    target=k,
                    accept=accept,
                    target_variants=entry_variants(e),
                    target_is_person=e.entity_type == "person",
                    origin=origin,
                    country=entity_country(e, q),
                )
            )
        st[f"{kind}: made"] = made
    return items


def _name_pools(seed: int) -> tuple[list[str], list[str]]:
    """Common first names and surnames (ASCII, as written) from Latin-script Faker locales."""
    firsts: Counter[str] = Counter()
    lasts: Counter[str] = Counter()
    for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL", "pl_PL", "tr_TR", "ru_RU"):
        fk = _faker(loc, seed, "pools")
        for _ in range(300):
            firsts[ascii_text(fk.first_name())] += 1
            lasts[ascii_text(fk.last_name())] += 1
    keep = lambda c: sorted(n for n in c if n.isalpha() and len(n) >= 3)  # noqa: E731
    return keep(firsts), keep(lasts)


BUSINESS_WORDS = ("Trading", "Consulting", "Services", "Logistics", "Engineering", "Construction", "Imports", "Design")


def _numeral_free(key: str) -> str:
    return " ".join(t for t in key.split() if t.upper() not in ROMAN and not t.isdigit())


def _numerals(key: str) -> frozenset[int]:
    return frozenset(
        ROMAN[t.upper()] if t.upper() in ROMAN else int(t) for t in key.split() if t.upper() in ROMAN or t.isdigit()
    )


def _negative_probes(lists: Lists, seed: int, sizes: Sizes, stats: dict[str, Counter]) -> list[Item]:
    st = stats["probes"]
    firsts, lasts = _name_pools(seed)
    first_set, last_set = {fold(f) for f in firsts}, {fold(x) for x in lasts}
    persons = [(k, e) for k, e in sorted(lists.entries.items()) if e.entity_type == "person"]
    companies = [(k, e) for k, e in sorted(lists.entries.items()) if e.entity_type == "company"]
    # Common names are the risk: Faker's common names plus the given names and surnames frequent on the lists.
    listed_firsts: Counter[str] = Counter()
    listed_lasts: Counter[str] = Counter()
    for _, e in persons:
        if "," in e.name:
            last, first = (fold(p) for p in e.name.split(",", 1))
            if first and last:
                listed_firsts[first.split()[0]] += 1
                listed_lasts[last.split()[-1]] += 1
    first_set |= {n for n, c in listed_firsts.items() if c >= 5 and len(n) >= 3}
    last_set |= {n for n, c in listed_lasts.items() if c >= 3 and len(n) >= 3}
    # kind -> (query, origin, origin entity or None, who is to blame for an alert: "any" | "origin" | "numeral")
    cands: dict[str, list[tuple[str, str, tuple[str, str] | None, str]]] = defaultdict(list)
    forms = (" PLC", " Group", " GmbH", " & Sons", " Holding", " Ltd", " LLC", " S.A.", " Inc.")

    rng = _rng(seed, "one_word_company")
    seen: set[str] = set()
    for k, e in persons:
        for n in (e.name, *e.aliases):
            last = n.split(",")[0].strip() if "," in n else (n.strip() if " " not in n.strip() else "")
            if last.isalpha() and len(last) >= 3 and last.lower() not in seen:
                seen.add(last.lower())
                cands["one_word_company"].append((f"{last.capitalize()}{rng.choice(forms)}", n, k, "any"))

    rng = _rng(seed, "acronym")
    acr = sorted(
        {(n.strip(), k) for k, e in companies for n in (e.name, *e.aliases) if re.fullmatch(r"[A-Z]{3,6}", n.strip())}
    )
    for n, k in acr:
        p = rng.randrange(len(n))
        letter = rng.choice([c for c in "ABCDEFGHIKLMNOPRSTUVZ" if c != n[p]])
        cands["acronym"].append((f"{n[:p]}{letter}{n[p + 1 :]} {rng.choice(COMMON_FORMS)}", n, k, "any"))
    for _ in range(len(acr)):
        a = "".join(rng.choice("ABCDEFGHIKLMNOPRSTUVZ") for _ in range(rng.choice((3, 3, 4))))
        cands["acronym"].append((f"{a} {rng.choice(COMMON_FORMS)}", "random letters", None, "any"))

    rng = _rng(seed, "holding")
    one_word_cores = {base_core(n) for _, e in companies for n in (e.name, *e.aliases) if " " not in base_core(n)}
    hard_firsts = [f for f in firsts if f.lower() in one_word_cores] or firsts
    for _ in range(sizes.per_probe_kind * 2):
        f = rng.choice(hard_firsts if rng.random() < 0.5 else firsts)
        q = f"{f} Holding" if rng.random() < 0.6 else f"{f} {rng.choice(lasts)} Holding"
        cands["holding"].append((q, "person-like name", None, "any"))

    rng = _rng(seed, "person_contained")
    for k, e in companies:
        toks = [t for t in base_core(e.name).split() if t not in STOPWORDS]
        if len(toks) >= 3 and toks[0] in first_set and toks[1] in (first_set | last_set):
            cands["person_contained"].append((f"{toks[0].capitalize()} {toks[1].capitalize()}", e.name, k, "origin"))
    for k, e in persons:
        toks = fold(reverse_comma_name(e.name) or e.name).split()
        # Middle names and patronymics dropped: the customer is "John Smith Trading", not "John Paul Smith ...".
        if len(toks) >= 2 and toks[0] != toks[-1] and toks[0] in first_set and toks[-1] in last_set:
            toks = [toks[0], toks[-1]]
            q = f"{toks[0].capitalize()} {toks[1].capitalize()} {rng.choice(BUSINESS_WORDS)}{rng.choice(forms)}"
            cands["person_contained"].append((q, e.name, k, "origin"))

    rng = _rng(seed, "generic_long")
    phrases = ["Industrial Bank", "Trading Company", "Export Import", "General Trading", "Commercial Bank"]
    for _, e in companies:
        toks = base_core(e.name).split()
        if 2 <= len(toks) <= 3 and all(t in GENERIC or t in STOPWORDS for t in toks):
            phrases.append(_title(split_legal_form(e.name)[0]))
    for phrase in dict.fromkeys(phrases):
        for _ in range(3):
            extra = rng.choice(("Services", "Solutions", "Partners", "Logistics", "Consulting", "Group"))
            q = f"{rng.choice(lasts)} {phrase} {extra} {rng.choice(COMMON_FORMS)}"
            cands["generic_long"].append((q, phrase, None, "any"))

    for kind, gen, blame in (
        ("roman_numeral", _gen_roman(False), "numeral"),
        ("long_word_lenient", _gen_long_word, "origin"),
    ):
        rng = _rng(seed, kind)
        for k, e in sorted(lists.entries.items()):
            if kind == "long_word_lenient" and e.entity_type not in ("company", "unknown"):
                continue
            for n in dict.fromkeys((e.name, *e.aliases)):
                cands[kind] += [(q, origin, k, blame) for q, origin in gen(k, n, rng)]

    numeral_free: dict[str, set[tuple[tuple[str, str], frozenset[int]]]] = defaultdict(set)
    if cands["roman_numeral"]:
        for k, ks in lists.keys.items():
            for sk in ks:
                numeral_free[_numeral_free(sk)].add((k, _numerals(sk)))

    items: list[Item] = []
    for kind in FALSE_ALERT_KINDS:
        rng = _rng(seed, f"{kind}:pick")
        pool = list({c[0]: c for c in reversed(cands.get(kind, []))}.values())[::-1]  # one item per query
        rng.shuffle(pool)
        pool = pool[: sizes.per_probe_kind * 3]
        near = lists.neighbours([q for q, *_ in pool], 90)
        made = 0
        for (q, origin, k, blame_mode), found in zip(pool, near, strict=True):
            if made >= sizes.per_probe_kind:
                break
            qk = sort_key(q)
            is_company_query = base_core(q) != fold(q) or kind in ("holding", "acronym")
            # A probe that is (nearly) a listed name of its own kind is no false alert: screening must show it.
            if kind == "holding":
                folded = " ".join(sorted(fold(q).split()))
                amb = [o for o in found if any(" ".join(sorted(fold(n).split())) == folded for n in lists.spellings[o])]
            elif kind in ("roman_numeral", "long_word_lenient", "acronym"):
                amb = [o for o in found if qk in lists.keys[o]]
            elif is_company_query:
                amb = [o for o, s in found.items() if s >= 95 and lists.entries[o].entity_type != "person"]
            else:
                amb = [o for o, s in found.items() if s >= 95 and lists.entries[o].entity_type == "person"]
                amb += [o for o in found if qk in lists.keys[o]]
            if amb:
                st[f"{kind}: skipped_ambiguous (the probe is a listed name)"] += 1
                continue
            blame: frozenset[tuple[str, str]] = frozenset()
            if blame_mode == "origin" and k:
                blame = lists.party(k)
            elif blame_mode == "numeral":
                # Entries of the same name with ANOTHER number; one without a number may alert (number_added).
                nums, group = _numerals(qk), numeral_free[_numeral_free(qk)]
                unnumbered = {o for o, n in group if not n}
                blame = frozenset(o for o, n in group if n and n != nums and o not in unnumbered)
            made += 1
            key = f"{k[0]}:{k[1]}" if k else q
            items.append(Item("probes", kind, split_of(key), q, False, "shipped", target=k, origin=origin, blame=blame))
        st[f"{kind}: made"] = made
    return items


# --- the whole set ----------------------------------------------------------------------------------------------


def eval_list_set(shipped: ListSet, changed: dict[tuple[str, str], Entry], removed: set[tuple[str, str]]) -> ListSet:
    """The shipped lists with the queried spellings taken out and the hard-negative entities removed."""
    entries = tuple(changed.get(entry_key(e), e) for e in shipped.entries if entry_key(e) not in removed)
    return ListSet(versions=shipped.versions, entries=entries)


def build(
    seed: int = 13,
    sizes: Sizes | None = None,
    parts: Iterable[str] = ("pairs", "hard", "innocents", "probes"),
    lists: Lists | None = None,
) -> DevSet:
    """Build the development set; `parts` limits it (the pair test only needs "pairs")."""
    sizes = sizes or Sizes()
    parts = set(parts)
    lists = lists or load()
    stats: dict[str, Counter] = defaultdict(Counter)
    stats["lists"]["shipped_entries"] = len(lists.entries)
    stats["lists"]["reference_only_spellings"] = lists.reference_only
    items: list[Item] = []
    changed: dict[tuple[str, str], Entry] = {}
    removed: set[tuple[str, str]] = set()
    if "pairs" in parts:
        pair_items, changed = true_pairs(lists, seed, sizes, stats)
        items += pair_items
    if "hard" in parts:
        hard, removed = hard_negatives(lists, seed, sizes, stats, {it.target for it in items if it.target})
        items += hard
    if "innocents" in parts:
        items += innocent_companies(lists, seed, sizes, stats)
        items += innocent_persons(lists, seed, sizes, stats)
    if "probes" in parts:
        items += _positive_probes(lists, seed, sizes, stats)
        items += _negative_probes(lists, seed, sizes, stats)
    return DevSet(
        seed=seed,
        items=items,
        lists={"shipped": lists.shipped, "eval": eval_list_set(lists.shipped, changed, removed)},
        stats=dict(stats),
    )


def summary(devset: DevSet) -> list[str]:
    """Lines describing the set: counts per set, kind and split, and what was skipped."""
    counts: Counter[tuple[str, str, str]] = Counter((it.set, it.kind, it.split) for it in devset.items)
    lines = [f"development set (seed {devset.seed}): {len(devset.items)} items"]
    for s, kind in sorted({(a, b) for a, b, _ in counts}, key=lambda x: (SETS.index(x[0]), x[1])):
        lines.append(
            f"  {s:19s} {kind:24s} tune {counts[(s, kind, 'tune')]:5d}  holdout {counts[(s, kind, 'holdout')]:5d}"
        )
    for group, c in devset.stats.items():
        for what, n in sorted(c.items()):
            lines.append(f"  [{group}] {what}: {n}")
    return lines


if __name__ == "__main__":
    import time

    t = time.perf_counter()
    ds = build()
    print("\n".join(summary(ds)))
    rng = random.Random(1)
    by_kind: dict[str, list[Item]] = defaultdict(list)
    for it in ds.items:
        by_kind[it.kind].append(it)
    for kind, its in by_kind.items():
        for it in rng.sample(its, min(4, len(its))):
            print(f"  {kind:22s} {it.query!r}  <- {it.origin!r}")
    print(f"({time.perf_counter() - t:.1f}s)")
