"""Name normalisation: script, case, punctuation, legal forms, stopwords, country names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pycountry
from rapidfuzz.distance import Indel
from rigour.names import remove_org_types, remove_person_prefixes
from rigour.text import ascii_text

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u02bc\u02bb\u00b4]")
# "S.A.", "L.L.C.", "C.V." -> "sa", "llc", "cv" so rigour's org-type table recognises them.
_DOTTED = re.compile(r"\b(?:[a-z0-9]\.){2,}|\b[a-z]\.(?=\s|$)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\d")

# rigour's table leaves these generic English forms alone; they carry no identity either.
_EXTRA_LEGAL = frozenset(
    [
        "co",
        "corp",
        "corporation",
        "company",
        "companies",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "kg",
        "ohg",
        "ooo",
        "oao",
        "zao",
        "pao",
        "jsc",
        "ojsc",
        "cjsc",
        "pte",
        "pvt",
        "pty",
        "lp",
        "establishment",
        "est",
    ]
)
# Words of legal-form phrases that survive when the phrase is abbreviated, reordered or misspelt
# ("Joint Stock Co", "Obshchestvo s Ogranichennoi Otvetstvennostyu", "Cia. Ltda.").
_LEGAL_WORDS = frozenset(
    [
        "joint",
        "stock",
        "liability",
        "limited",
        "public",
        "open",
        "closed",
        "private",
        "company",
        "corporation",
        "incorporated",
        "obshchestvo",
        "ogranichennoy",
        "ogranichennoi",
        "otvetstvennostyu",
        "otvetstvennostiu",
        "otvetstvennostju",
        "aktsionernoe",
        "aktsionernoye",
        "zakrytoe",
        "zakrytoye",
        "otkrytoe",
        "otkrytoye",
        "publichnoe",
        "publichnoye",
        "tovarystvo",
        "tovaryshestvo",
        "sociedad",
        "anonima",
        "responsabilidad",
        "limitada",
        "ltda",
        "cia",
        "compania",
        "societe",
        "anonyme",
        "gesellschaft",
        "beschrankter",
        "haftung",
        "aktiengesellschaft",
        "spolka",
        "akcyjna",
        "zoo",
        "pao",
        "zao",
        "ao",
        "tov",
        "too",
        "pjsc",
        "ojsc",
        "cjsc",
        "ooo",
        "jsc",
        "llc",
    ]
)
# Words that appear in so many company names that they identify nothing.
_ORG_STOPWORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "for",
        "und",
        "et",
        "y",
        "e",
        "de",
        "del",
        "la",
        "le",
        "les",
        "el",
        "al",
        "das",
        "der",
        "die",
        "group",
        "holding",
        "holdings",
    ]
)

# Country names used by OFAC/BIS that pycountry does not resolve on its own.
_COUNTRY_ALIASES = {
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "north korea": "KP",
    "korea, north": "KP",
    "south korea": "KR",
    "korea, south": "KR",
    "burma": "MM",
    "venezuela": "VE",
    "bolivia": "BO",
    "tanzania": "TZ",
    "taiwan": "TW",
    "moldova": "MD",
    "kosovo": "XK",
    "laos": "LA",
    "vietnam": "VN",
    "macau": "MO",
    "turkey": "TR",
    "czech republic": "CZ",
    "palestinian": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo, republic of the": "CG",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "region: crimea": "UA",
    "crimea": "UA",
    "uk": "GB",
    "united kingdom": "GB",
    "usa": "US",
    "united states": "US",
    "the bahamas": "BS",
    "bahamas, the": "BS",
    "gambia, the": "GM",
    "micronesia, federated states of": "FM",
    "brunei": "BN",
    "cape verde": "CV",
    "swaziland": "SZ",
    "macedonia": "MK",
    "holland": "NL",
    "netherlands antilles": "AN",
    "serbia and montenegro": "RS",
    "yugoslavia": "RS",
    "zaire": "CD",
}


# Han characters; a short run of them is one name word (given name or surname).
_HAN_WORD = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]{1,3}(?![\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff])"
)
_HAN_RUN = re.compile(r"(?<![\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff])" + _HAN_WORD.pattern)


def _glue_han(match: re.Match[str]) -> str:
    # Pinyin writes a given name as one word ("Mingzong", not "Ming Zong"); the transliterator spaces every
    # syllable, which would turn a three-part Chinese name into five one-syllable "words".
    return " " + "".join(ascii_text(match.group(0)).split()) + " "


def fold_text(text: str) -> str:
    """NFKC, transliterate to ASCII, casefold, '&' to 'and', punctuation to spaces."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        # Runs of up to 3 Han characters are person-name words; longer runs (company names) stay
        # syllable-split so that "hua wei" can still reach "Huawei" through the glued-pair keys.
        text = _HAN_RUN.sub(_glue_han, text)
    text = ascii_text(text).casefold()
    text = text.replace("&", " and ")
    text = _APOSTROPHES.sub("", text)  # O'Brien and Abu-'Umar spell the same without the mark
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    return " ".join(_NON_ALNUM.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class NormalizedName:
    """A name in comparable form: all tokens, the identifying core, and what was stripped."""

    full: str
    core: str
    tokens: tuple[str, ...]
    legal_forms: tuple[str, ...]
    numbers: frozenset[str]


@lru_cache(maxsize=100_000)
def _is_legal_word(token: str) -> bool:
    if token in _EXTRA_LEGAL or token in _LEGAL_WORDS:
        return True
    # Misspelt legal words ("Compnay", "Limted") are still legal words, not name words.
    # Indel ratio, not Jaro-Winkler: a shared prefix ("Corporativo") must not make a legal word.
    return len(token) >= 6 and any(
        len(w) >= 6 and abs(len(w) - len(token)) <= 2 and Indel.normalized_similarity(token, w) >= 0.85
        for w in _LEGAL_WORDS
    )


def _strip_legal(folded: str) -> tuple[str, tuple[str, ...]]:
    stripped = remove_org_types(folded, replacement=" ")
    kept = stripped.split()
    kept_set = set(kept)
    removed = [t for t in folded.split() if t not in kept_set]
    tokens = [t for t in kept if not _is_legal_word(t)]
    removed += [t for t in kept if _is_legal_word(t)]
    return " ".join(tokens), tuple(removed)


_ARTICLES = frozenset(("al", "el"))


def _join_articles(tokens: list[str]) -> list[str]:
    # "Al-Naser", "Al Naser" and "Alnaser" are one name; gluing the article makes them one token.
    out: list[str] = []
    glue = False
    for t in tokens:
        if glue:
            out[-1] += t
            glue = False
        else:
            out.append(t)
            glue = t in _ARTICLES
    return out


_PHONETIC = (("ph", "f"), ("ck", "k"), ("c", "k"), ("q", "k"), ("w", "v"), ("x", "ks"), ("z", "s"), ("j", "y"))


@lru_cache(maxsize=200_000)
def skeleton(token: str) -> str:
    """Return a consonant skeleton so that transliteration variants (Mohammed/Muhammad) collide."""
    for a, b in _PHONETIC:
        token = token.replace(a, b)
    out: list[str] = []
    # Vowels go everywhere, the first letter too: "Eirlains" and "Airlines" are one spelling apart.
    for ch in token:
        if ch in "aeiouyhw":
            continue
        if not out or ch != out[-1]:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=200_000)
def normalize_name(text: str, is_person: bool = False) -> NormalizedName:
    """Return the comparable form of a name; persons lose honorifics, companies lose legal forms."""
    folded = fold_text(text)
    # Honorifics never identify anyone, whatever the kind of name.
    unprefixed = fold_text(remove_person_prefixes(folded)) or folded
    forms: tuple[str, ...]
    if is_person:
        core, forms = unprefixed, ()
    else:
        core, forms = _strip_legal(unprefixed)
    # Only a short list of articles: rigour's full stopword list drops real name words ("sem", "van").
    tokens = [t for t in _join_articles(core.split()) if t not in _ORG_STOPWORDS]
    if not tokens:  # a name made only of legal forms or stopwords is still a name
        tokens = core.split() or folded.split()
    numbers = frozenset(t for t in tokens if _DIGITS.search(t))
    return NormalizedName(folded, " ".join(tokens), tuple(tokens), forms, numbers)


def reverse_person_name(name: str) -> str | None:
    """Turn the list convention 'LAST, First' into 'First LAST'; None when there is no comma."""
    if name.count(",") != 1:
        return None
    last, first = (p.strip() for p in name.split(","))
    if not last or not first:
        return None
    return f"{first} {last}"


@lru_cache(maxsize=4096)
def country_code(value: str | None) -> str | None:
    """Map a country name or code to ISO 3166 alpha-2, or None when it cannot be derived."""
    if not value:
        return None
    raw = value.strip()
    if not raw:
        return None
    key = " ".join(raw.casefold().replace(".", "").split())
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    if len(raw) == 2 and raw.isalpha():
        found = pycountry.countries.get(alpha_2=raw.upper())
        return found.alpha_2 if found else (raw.upper() if raw.upper() == "XK" else None)
    try:
        return pycountry.countries.lookup(raw).alpha_2
    except LookupError:
        pass
    if "," in raw:  # "Korea, Republic of" style inverted names
        a, b = raw.split(",", 1)
        return country_code(f"{b.strip()} {a.strip()}") if b.strip() else None
    return None
