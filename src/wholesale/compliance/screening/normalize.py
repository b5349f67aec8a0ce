"""Name normalisation: script, case, punctuation, legal forms, stopwords, country names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pycountry
from anyascii import anyascii
from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel
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
GENERIC_LEGAL_FORMS = _EXTRA_LEGAL  # forms that say nothing of what kind of organisation it is ("LLC", not "NPK")
# Words of legal-form phrases that survive when the phrase is abbreviated, reordered or misspelt
# ("Joint Stock Co", "Obshchestvo s Ogranichennoi Otvetstvennostyu", "Cia. Ltda.").
_LEGAL_WORDS = frozenset(
    [
        "anstalt",
        "aksiyadorlik",
        "jamiyatiga",
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
        "tavarystva",
        "adkaznastsyu",
        "abmezhavanay",
        "dadatkovay",
        "adkrytaye",
        "zakrytaye",
        "aktsyyanernaye",
        "aktsionernaya",
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
        "ve",  # Turkish and Persian "and": "Sanayi ve Ticaret", "Haml va Naql" ("wa" is also West Africa's)
        "va",
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
    "the gambia": "GM",
    "north macedonia, the republic of": "MK",
    "north macedonia": "MK",
    "region: gaza": "PS",
    "region: west bank": "PS",
    "region: northern mali": "ML",
    "prc": "CN",
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


# Legal forms written before transliteration: the transliterator would turn them into name-like syllables
# ("有限公司" -> "you xian gong si", "株式会社" -> "zhu shi hui she").
_CJK_LEGAL = re.compile(
    "股份有限公司|有限责任公司|有限責任公司|有限公司|集团公司|集團公司|集团|集團|公司|株式会社|有限会社|合同会社|合資会社|合名会社|주식회사|유한회사"
)


def fold_text(text: str) -> str:
    """NFKC, transliterate to ASCII, casefold, '&' to 'and', punctuation to spaces."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _CJK_LEGAL.sub(" ltd ", text)
        # Runs of up to 3 Han characters are person-name words; longer runs (company names) stay
        # syllable-split so that "hua wei" can still reach "Huawei" through the glued-pair keys.
        text = _HAN_RUN.sub(_glue_han, text)
    ascii_form = ascii_text(text)
    if "?" in ascii_form and "?" not in text:
        ascii_form = anyascii(text)  # scripts rigour's transliterator leaves as "?" (Sinhala, Ethiopic)
    text = ascii_form.casefold()
    text = text.replace("&", " and ")
    text = _APOSTROPHES.sub("", text)  # O'Brien and Abu-'Umar spell the same without the mark
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    return " ".join(_NON_ALNUM.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class NormalizedName:
    """A name in comparable form: the identifying words, what was stripped, numbers, and what kind it looks."""

    full: str
    core: str
    tokens: tuple[str, ...]  # name words, numbers excluded (they are compared on their own)
    legal_forms: tuple[str, ...]
    numbers: frozenset[str]
    # Looks like a company: a legal form, or a business word ("Group", "Trading", "Bank") among its words.
    company: bool = False


# Legal forms of the EU/EEA countries (and a few others), written out and abbreviated, as folded word sequences.
# rigour's table knows many abbreviations; these are the ones it leaves alone. Removed only at the end of a name
# (or its start: "OOO Romashka", "Sp. z o.o."-first registries), where a legal form stands; in the middle "AS",
# "AB", "AD" may be name words.
_EU_LEGAL_PHRASES = (
    # DE / AT / CH / LI
    "gesellschaft mit beschrankter haftung",
    "gesellschaft mbh",
    "gmbh and co kg",
    "gmbh co kg",
    "mbh",
    "aktiengesellschaft",
    "kommanditgesellschaft auf aktien",
    "kommanditgesellschaft",
    "kgaa",
    "offene handelsgesellschaft",
    "gesellschaft burgerlichen rechts",
    "gbr",
    "unternehmergesellschaft",
    "haftungsbeschrankt",
    "eingetragener verein",
    "eingetragene genossenschaft",
    "eingetragener kaufmann",
    "ev",
    "eg",
    "ek",
    "ug",
    "ohg",
    "kg",
    # FR / BE / LU
    "societe anonyme",
    "societe a responsabilite limitee",
    "societe par actions simplifiee",
    "sasu",
    "eurl",
    "societe en nom collectif",
    "societe civile immobiliere",
    "sci",
    "snc",
    "sca",
    "scs",
    "s a r l",
    "s a rl",
    "sa rl",
    "sarl",
    "sprl",
    "srl",
    "scrl",
    "asbl",
    "secs",
    # IT
    "societa per azioni",
    "societa a responsabilita limitata",
    "societa in accomandita semplice",
    "srls",
    "scarl",
    "sapa",
    "spa",
    "sas",
    # ES / PT
    "sociedad anonima",
    "sociedad limitada",
    "sociedad de responsabilidad limitada",
    "sociedad cooperativa",
    "slu",
    "sau",
    "sl",
    "sc",
    "sociedade anonima",
    "sociedade limitada",
    "unipessoal lda",
    "unipessoal",
    "lda",
    "sgps",
    # NL / BE
    "besloten vennootschap",
    "naamloze vennootschap",
    "vennootschap onder firma",
    "commanditaire vennootschap",
    "bvba",
    "cvba",
    "vof",
    "vzw",
    "bv",
    "nv",
    "cv",
    # PL
    "spolka z ograniczona odpowiedzialnoscia",
    "spolka akcyjna",
    "spolka jawna",
    "spolka komandytowa",
    "spolka komandytowo akcyjna",
    "spolka cywilna",
    "sp z oo",
    "sp z o o",
    "spzoo",
    "sp zoo",
    "z oo",
    "sp j",
    "sp k",
    "ska",
    # CZ / SK
    "spolecnost s rucenim omezenym",
    "spolocnost s rucenim obmedzenym",
    "akciova spolecnost",
    "akciova spolocnost",
    "spol s r o",
    "spol s ro",
    "spol sro",
    "s r o",
    "sro",
    "a s",
    "vos",
    "ks",
    # HU
    "korlatolt felelossegu tarsasag",
    "reszvenytarsasag",
    "zartkoruen mukodo reszvenytarsasag",
    "kft",
    "zrt",
    "nyrt",
    "bt",
    "kkt",
    "rt",
    # RO / MD
    "societate cu raspundere limitata",
    "societate pe actiuni",
    # BG
    "ednolichno druzhestvo s ogranichena otgovornost",
    "druzhestvo s ogranichena otgovornost",
    "aktsionerno druzhestvo",
    "eood",
    "ood",
    "ead",
    "ad",
    # HR / SI / RS / BA / ME / MK
    "drustvo s ogranicenom odgovornoscu",
    "druzba z omejeno odgovornostjo",
    "dionicko drustvo",
    "d o o",
    "doo",
    "dooel",
    "dd",
    # GR / CY
    "anonymi etaireia",
    "etaireia periorismenis efthynis",
    "idiotiki kefalaiouchiki etaireia",
    "ae",
    "epe",
    "ike",
    "oe",
    # IE / UK / MT
    "designated activity company",
    "company limited by guarantee",
    "unlimited company",
    "dac",
    "clg",
    "cic",
    "limited partnership",
    # DK / NO / SE / FI / IS
    "anpartsselskab",
    "aktieselskab",
    "aktieselskap",
    "allmennaksjeselskap",
    "aktiebolag",
    "aktiebolaget",
    "handelsbolag",
    "kommanditbolag",
    "osakeyhtio",
    "julkinen osakeyhtio",
    "kommandiittiyhtio",
    "avoin yhtio",
    "aps",
    "asa",
    "ivs",
    "hb",
    "kb",
    "oyj",
    "oy",
    "ky",
    "ab",
    "as",
    "a s",
    "ehf",
    "hf",
    # EE / LV / LT
    "osauhing",
    "aktsiaselts",
    "sabiedriba ar ierobezotu atbildibu",
    "akciju sabiedriba",
    "uzdaroji akcine bendrove",
    "akcine bendrove",
    "ou",
    "sia",
    "uab",
    "ab",
    # Gulf free zones, Lebanon, Latin America, Ireland, Russia/CIS registries' short forms
    "fzc",
    "fze",
    "fzco",
    "fz llc",
    "fzllc",
    "sal",
    "sal off shore",
    "sal offshore",
    "off shore",
    "offshore",
    "saca",
    "sacv",
    "saic",
    "sapi de cv",
    "s de rl",
    "s de rl de cv",
    "s en c",
    "s en ca",
    "s en cs",
    "spr de rl",
    "s p r de r l",
    "sc de rl",
    "sociedad civil",
    "teoranta",
    "cuideachta",
    "pjs",
    "jsb",
    "mkooo",
    "chp",
    # Belarusian and Ukrainian registries: TAA (LLC), AAT / ZAAT (OJSC / CJSC), ODO (ALC), PAT / PRAT (PJSC /
    # private JSC), OSOO (Kyrgyz LLC)
    "taa",
    "aat",
    "zaat",
    "odo",
    "pat",
    "prat",
    "osoo",
    "ip",
    "tk",
    "npk",
    "npf",
    "npp",
    "nii",
    "fgup",
    "gup",
    "mup",
    "ao np",
    "np",
    # Ukrainian ZAT / VAT / TOV / TDV (CJSC, OJSC, LLC, ALC; PAT and PRAT above), Belarusian TDA (ALC), Liechtenstein's
    # Anstalt, Persian "sahami khass" / "sahami aam" (private / public joint stock), Uzbek "aksiyadorlik jamiyati" (JSC)
    # and MChJ (LLC)
    "zat",
    "vat",
    "tda",
    "tov",
    "tdv",
    "anstalt",
    "sahami khass",
    "sahami khas",
    "sahami aam",
    "sahami am",
    "aksiyadorlik jamiyati",
    "aksiyadorlik jamiyatiga",
    "mchj",
    # Turkish
    "anonim sirketi",
    "limited sirketi",
    "ltd sti",
    "sti",
    "as",
    # Vietnamese
    "cong ty trach nhiem huu han",
    "cong ty co phan",
    "cong ty tnhh",
    "tnhh",
    "cong ty",
    "co phan",
    # Pinyin / romanised Japanese and Korean legal forms
    "youxian gongsi",
    "gufen youxian gongsi",
    "youxian zeren gongsi",
    "jituan",
    "gongsi",
    "kabushiki kaisha",
    "kabushikigaisha",
    "yugen kaisha",
    "godo kaisha",
    "kk",
    "jusik hoesa",
    "chusik hoesa",
)
_PHRASES: dict[int, frozenset[tuple[str, ...]]] = {}
for _p in _EU_LEGAL_PHRASES:
    _t = tuple(_p.split())
    _PHRASES[len(_t)] = _PHRASES.get(len(_t), frozenset()) | {_t}
_PHRASE_LENGTHS = sorted(_PHRASES, reverse=True)


_LONG_LEGAL_WORDS = sorted(w for w in _LEGAL_WORDS if len(w) >= 6)


# Name words one letter from a legal word: "Otkritie"/"Otkrytie" ("discovery", a bank) is not "Otkrytoe" (open).
_NAMES_NEAR_LEGAL_WORDS = frozenset(("otkritie", "otkrytie"))


@lru_cache(maxsize=100_000)
def _is_legal_word(token: str) -> bool:
    if token in _EXTRA_LEGAL or token in _LEGAL_WORDS:
        return True
    # Misspelt legal words ("Compnay", "Limted") are still legal words, not name words.
    # Indel ratio, not Jaro-Winkler: a shared prefix ("Corporativo") must not make a legal word.
    if len(token) < 6 or token in _NAMES_NEAR_LEGAL_WORDS:
        return False
    return any(
        abs(len(w) - len(token)) <= 2
        for w, _, _ in process.extract(
            token, _LONG_LEGAL_WORDS, scorer=Indel.normalized_similarity, processor=None, score_cutoff=0.85, limit=None
        )
    )


def _strip_edge_forms(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Remove legal-form phrases from the end (repeatedly, "GmbH & Co. KG") and the start of a name."""
    removed: list[str] = []

    def trailing() -> bool:
        if len(tokens) > 1 and tokens[-1] in _EXTRA_LEGAL:  # "... Offshore Company": the form behind the form
            removed.append(tokens.pop())
            return True
        for n in _PHRASE_LENGTHS:
            if len(tokens) > n and tuple(tokens[-n:]) in _PHRASES[n]:
                removed.extend(tokens[-n:])
                del tokens[-n:]
                while len(tokens) > 1 and tokens[-1] in ("and", "und", "et", "y", "e", "i", "co"):
                    removed.append(tokens.pop())
                return True
        return False

    while trailing():
        pass
    for n in _PHRASE_LENGTHS:
        if len(tokens) > n and tuple(tokens[:n]) in _PHRASES[n]:
            removed.extend(tokens[:n])
            del tokens[:n]
            break
    return tokens, removed


def _strip_legal(folded: str) -> tuple[str, tuple[str, ...]]:
    tokens, removed = _strip_edge_forms(folded.split())
    stripped = remove_org_types(" ".join(tokens), replacement=" ")
    kept = stripped.split()
    kept_set = set(kept)
    removed += [t for t in tokens if t not in kept_set]
    legal = [_is_legal_word(t) for t in kept]
    # A lone letter between legal words is part of them ("Obshchestvo s Ogranichennoi Otvetstvennostyu").
    legal = [
        is_legal
        or (
            len(t) == 1
            and (i == 0 or legal[i - 1])
            and (i + 1 == len(kept) or legal[i + 1])
            and (i > 0 or i + 1 < len(kept))
        )
        for i, (t, is_legal) in enumerate(zip(kept, legal, strict=True))
    ]
    out = [t for t, is_legal in zip(kept, legal, strict=True) if not is_legal]
    removed += [t for t, is_legal in zip(kept, legal, strict=True) if is_legal]
    return " ".join(out), tuple(removed)


# Abbreviations that registries and customers write for ordinary business words ("Gen. Trading", "Intl").
_ABBREVIATIONS = {
    # One spelling per business word: plural and singular, English and transliterated Russian, derived forms
    # ("ASASI FOODS" / "ASASI FOOD", "TRANSSERVIS" is not split but "SERVIS" alone is "SERVICE").
    "services": "service",
    "servis": "service",
    "systems": "system",
    "sistema": "system",
    "sistemy": "system",
    "sistem": "system",
    "technologies": "technology",
    "tekhnologii": "technology",
    "tekhnologiya": "technology",
    "teknologiya": "technology",
    "teknoloji": "technology",
    "tekhnolodzhi": "technology",
    "tekh": "technology",
    "industries": "industry",
    "industrial": "industry",
    "indl": "industry",
    "indus": "industry",
    "inds": "industry",
    "foods": "food",
    "products": "product",
    "ships": "ship",
    "lines": "line",
    "chemicals": "chemical",
    "khimiya": "chemical",
    "investments": "investment",
    "holdings": "holding",
    "kholding": "holding",
    "hldgs": "holding",
    "enterprises": "enterprise",
    "resources": "resource",
    "networks": "network",
    "solutions": "solution",
    "electronics": "electric",
    "electronic": "electric",
    "electrical": "electric",
    "elektrik": "electric",
    "elektronika": "electric",
    "elect": "electric",
    "motors": "motor",
    "stores": "store",
    "trading": "trade",
    "traders": "trade",
    "trdg": "trade",
    "trd": "trade",
    "tradg": "trade",
    "treid": "trade",
    "treyd": "trade",
    # English business words written in Russian and transliterated back ("Трейдинг", "Консалтинг"): the lists
    # spell a party's name both ways ("PYATYI ELEMENT TRADING" / "PYATY ELEMENT TREIDING").
    "treiding": "trade",
    "treyding": "trade",
    "konsalting": "consulting",
    "inzhiniring": "engineering",
    "interneshnl": "international",
    "interneshnal": "international",
    "enerdzhi": "energy",
    "eksport": "export",
    "lotteries": "lottery",
    "works": "plant",  # "Tula Cartridge Works" / "Tula Cartridge Plant"
    "communications": "communication",
    "comms": "communication",
    "kommunikatsii": "communication",
    "kontsern": "concern",
    "tsentr": "center",
    "centr": "center",
    "gruppa": "group",
    "grupp": "group",
    "grp": "group",
    "kompaniya": "company",
    "kampani": "company",
    "gk": "group",  # Russian "gruppa kompaniy", group of companies ("AO GK Elektroninvest")
    "kapital": "capital",
    "menedzhment": "management",
    "finans": "finance",
    "energia": "energy",
    "energiya": "energy",
    "fond": "fund",
    "bank": "bank",
    "gen": "general",
    "genl": "general",
    "intl": "international",
    "internat": "international",
    "intern": "international",
    "mfg": "manufacturing",
    "mfr": "manufacturer",
    "mfrs": "manufacturers",
    "bros": "brothers",
    "fdn": "foundation",
    "eng": "engineering",
    "engg": "engineering",
    "engr": "engineering",
    "dev": "development",
    "devt": "development",
    "tech": "technology",
    "inst": "institute",
    "techn": "technology",
    "technol": "technology",
    "natl": "national",
    "nat": "national",
    "assn": "association",
    "assoc": "association",
    "svc": "service",
    "svcs": "service",
    "servs": "service",
    "sys": "system",
    "hldg": "holding",
    "mgmt": "management",
    "mgt": "management",
    "invt": "investment",
    "invest": "investment",
    "univ": "university",
    "ctr": "center",
    "centre": "center",
    "dept": "department",
    "elec": "electric",
    "prods": "products",
    "pharm": "pharmaceutical",
    "pharma": "pharmaceutical",
    "chem": "chemical",
    "mach": "machinery",
    "equip": "equipment",
    "transp": "transport",
    "constr": "construction",
    "petrochem": "petrochemical",
    "shpg": "shipping",
    "navig": "navigation",
    "exp": "export",
    "imp": "import",
    # "I/E", "IMPANDEXP" (as listed), "IMPEXP": import and export.
    "ie": "import export",
    "impandexp": "import export",
    "impexp": "import export",
    "agents": "agency",
    "agent": "agency",
    "agencies": "agency",
    # Russian codes of kinds of organisation and their English ones: NPK = SPC/RPC (scientific or research and
    # production company), NPF = SPF/RPF (firm), NPP = SPE/RPE (enterprise), NTTS/NTC = STC (scientific and
    # technical centre), NPO = RPA (association; "NPO" and "SPA" are dropped as legal forms).
    "spc": "npk",
    "rpc": "npk",
    "spf": "npf",
    "rpf": "npf",
    "spe": "npp",
    "rpe": "npp",
    "stc": "ntc",
    "ntts": "ntc",
    "rpa": "npo",
    "impex": "import export",
    "organisation": "organization",
}
# The same business and institution word in the languages of the lists (Russian, Belarusian and Ukrainian
# transliterated, Spanish, Portuguese, French, German, Turkish, Persian and Arabic transliterated, Chinese Pinyin,
# Korean): registries publish a name and its translation as aliases ("Limited Liability Company Oktyabr" /
# "... October", "Mytishchinskii Priborostroitelnyi Zavod" / "Mytishchi Instrument Plant"). Each is one English
# word here, so translated aliases share words. Found in the tune split's misses (issue 13); typos of the long
# ones are caught like misspelt business words. Only words that name a kind of organisation, an activity, a
# quality or a month: a proper name is never translated ("Zvezda" stays "Zvezda").
_TRANSLATED = {
    "plant": "zavod zavoda zavody factory factories fabrika fabriki fabryka fabrica fabricas fabrik fabriek werk "
    "werke usine",
    "combine": "kombinat kombinata",
    "enterprise": "predpriyatie predpriyatiye predpriiatie predpriyatiya predpriiatiia empresa empresas entreprise "
    "unternehmen",
    "association": "obedinenie obedineniye obyedinenie obyedineniye obyedinenye obedinenye obieedinenie "
    "asociacion associacao associazione society jamiyat jamiya jamia jamiyya jamiat jamiyyat jameyat verein "
    "verband",
    "scientific": "nauchno nauchnyy nauchnyi nauchny nauchnaya nauchnoe nauchnoye cientifico cientifica scientifique",
    "research": "issledovatelskiy issledovatelskii issledovatelski issledovatelsky issledovatelskaya "
    "issledovatelskoe issledovatelskoye issledovatelskogo investigacion recherche recherches forschung "
    "pazhouheshi pazhoheshi pajouheshi",
    "production": "proizvodstvennoe proizvodstvennoye proizvodstvennaya proizvodstvennyy proizvodstvennyi "
    "proizvodstvenny proizvodstvo produccion producao uretim",
    "design": "konstruktorskoe konstruktorskoye konstruktorskiy konstruktorskii konstruktorskoi proektnyy proektny",
    "bureau": "byuro biuro buro",
    "special": "spetsialnoe spetsialnoye spetsialnyy spetsialnyi spetsialny spetsialnaya osoboe osoboye especial",
    "state": "gosudarstvennyy gosudarstvennyi gosudarstvenny gosudarstvennaya gosudarstvennoe gosudarstvennoye "
    "gosudarstvennogo kazennoe kazennoye kazennyy estatal",
    "federal": "federalnoe federalnoye federalnyy federalnyi federalny federalnaya federalnogo",
    "unitary": "unitarnoe unitarnoye unitarnyy",
    "institute": "institut instituta instituto istituto",
    "center": "tsentra centro",
    "central": "tsentralnyy tsentralny tsentralnaya tsentralnoe tsentralnyi tsentralnogo",
    "mechanical": "mekhanicheskiy mekhanicheskii mekhanicheski mekhanichesky mekhanicheskaya mekhanicheskoe "
    "mecanica mecanico mechanic",
    "machine building": "mashinostroitelnyy mashinostroitelnyi mashinostroitelny mashinostroitelniy "
    "mashinostroitelnaya mashinostroitelnoe mashinostroeniya mashinostroenie machinebuilding mashinostroyeniya "
    "mashinostroyenia mashinostroeniia",
    "instrument": "priborostroitelnyy priborostroitelny priborostroitelnyi priborostroeniya priborostroeniia "
    "priborostroenie",
    "aviation": "aircraft aviatsionnyy aviatsionnyi aviatsionny aviatsionnaya aviatsionnoe aviatsii aviacion aviacao "
    "havacilik",
    "automobile": "avtomobilnyy avtomobilnyi avtomobilny avtomobilnaya avtomobilnoe automobilnyi",
    "shipbuilding": "sudostroitelnyy sudostroitelny sudostroitelnaya sudostroitelnoe sudostroitelnyi",
    "repair": "remontnyy remontny remontnaya remontnoe remonta remontnyi",
    "tobacco": "tabachnaya tabachnyy tytunyovaya tabakka tobakko tabaco",
    "marine": "morskoy morskoi morskaya morskoe marinha maritima",
    "trade": "torgovyy torgovyi torgovy torgovaya torgovoe torgovo torgovli comercializadora comercio handel "
    "handels tejarat tejarati tijara tijarat tijariya ticaret bazargani maoyi muyok commerce trgovina trgovinu "
    "trgovine",
    "commercial": "kommercheskiy kommercheskii kommercheski kommercheskaya kommercheskoe comercial commerciale "
    "kommerzial",
    "investment": "investitsii investitsionnaya investitsionnyy investitsionnoe inversiones inversion inversora touzi "
    "yatirim",
    "finance": "finansovaya finansovyy finansovoe financiera financiero",
    "insurance": "strakhovaya strakhovoy strakhovoe seguros aseguradora",
    "management": "upravlyayushchaya upravlyayushchaia managing",
    "oil": "neftyanaya neftyanoy neftyanoi neftyanoe",
    "chemical": "khimicheskiy khimicheskii khimicheskaya khimicheskoe quimica quimicos kimya huagong",
    "information": "informatsionnye informatsionnyye informatsionnyy informatsionnaya informatsii informacion",
    "innovation": "innovatsionnye innovatsionnyy innovatsionnaya innovatsionnyi innovatsii innovative innovacion",
    "technology": "tekhnologicheskiy tekhnologicheskii tekhnologicheskaya technological tecnologia tecnologias "
    "technologie keji fanavaran fanavari",
    # The adjective only: "Rossiya" is a name of its own ("Bank Rossiya" is not the Bank of Russia).
    "russian": "rossiyskiy rossiiskii rossiski rossiyskaya rossiskoi rossiiskoi rossiyskoy rossiyskoi rossiiskaya "
    "rossiskaya russkie russkiy russkaya",
    "federation": "federatsii federatsiya federacion",
    "academy": "akademii akademiya akademia academia academie",
    "science": "sciences nauk ciencias",
    "university": "universitet universidad universite universitat daneshgah",
    # "Severnoe" / "North", "Vostochnaya" / "Eastern": one word for the direction, whatever its form.
    "east": "eastern vostok vostochnaya vostochnyy vostochnyi vostochny vostochnoe vostochnoye",
    "west": "western zapad zapadnyy zapadnaya zapadnoe zapadnoye",
    "north": "northern sever severnyy severnaya severnoe severnoye",
    "south": "southern yuzhnyy yuzhnaya yuzhnoe yuzhnoye",
    "new": "novaya novyy novyi novye novoe nuevo nueva nuevos nuevas nouveau nouvelle neue",
    "international": "mezhdunarodnyy mezhdunarodnaya mezhdunarodny mezhdunarodnoe internacional internationale "
    "internazionale",
    "national": "natsionalnyy natsionalny natsionalnaya natsionalnoe natsionalnyi natsionalniy melli",
    "military": "voenno voyenno voennyy voennaya voyennyy militar militaire",
    "industry": "promyshlennaya promyshlennyy promyshlennosti promyshlenny industria industrias industrie "
    "industriel sanaye sanayi sanaee sanaei sanayie sanaat sanate sanati sanaati gongye",
    "construction": "stroitelnaya stroitelnyy stroitelny stroitelstvo construcciones construccion constructora "
    "construcoes insaat sakhtemani",
    "transport": "transportnaya transportnyy transportny transportnoe transportation transportes transporte jiaotong",
    "complex": "kompleks complejo complexe",
    "agency": "agentstvo agencia agence",
    "service": "serv servicios servicio servicos sluzhba khadamat usluge usluga",
    "group": "grupo gruppo groupe majmuat",
    "development": "desarrollo desenvolvimento developpement gostaresh gostareshe ghostareshe tosee toseh",
    "agricultural": "agricola agricultura agropecuaria agricole",
    "engineering": "ingenieria ingenieros ingenierie mohandesi muhendislik gongcheng",
    "petroleum": "petroleos petroleo petrolera",
    "shipping": "naviera kashtirani denizcilik",
    "mining": "minera mineria madencilik kuangye",
    "pharmaceutical": "farmaceutica farmaceuticos",
    "ministry": "ministerio ministere ministerstvo",
    "police": "policia policiya politsiya",
    "revolutionary": "revolucionaria revolucionario revolutionnaire",
    "army": "ejercito jaysh jaish",
    "movement": "movimiento harakat harakah",
    "fund": "fondo fonds",
    "foundation": "fundacion fondation stiftung bonyad bonyade",
    "charitable": "charity khayriya khairiya khayriyya khairiyya",
    "bank": "banque banka bankasi yinhang unhaeng masraf",
    "energy": "enerji",
    "logistics": "lojistik wuliu lodzhistiks lodzhistik logistika",
    "electric": "dianzi",
    "machinery": "jixie",
    "import export": "jinchukou",
    "korea": "korean choson chosun joson",
    "iran": "iranian irans",
    "china": "chinese zhongguo",
    "islamic": "islamiya islamiyya islamiyah",
    "province": "wilayat",
    "brigade": "brigades saraya kataib katibat katiba",
    "committee": "lajna lajnat komitet comite",
    "company": "firm firma sherkat sherkate sharikat sharikah sharika shirkat kompania",
    "post": "pochta pochtovyy",
    "airlines": "airline airways aviakompaniya",
    "market": "marketplace",
    "global": "globalnye globalnyy globalnaya globalnyi globalnoe",
    "resource": "resursy resurs",
    "infrastructure": "infrastrukturnye infrastrukturnyy infrastrukturnaya infrastructural",
    "navigation": "navigatsionnye navigatsionnyy navigatsionnaya",
    "foreign": "zamezhnaye inostrannoe inostrannoye vneshney vneshnei vneshnyaya vneshnego",
    "resort": "kurort",
    "institution": "uchrezhdenie uchrezhdeniye uchrezhdeniya",
    "budgetary": "byudzhetnoe byudzhetnoye byudzhetnogo",
    "education": "obrazovaniya obrazovatelnoe obrazovatelnoye educational",
    "metallurgical": "metallurgicheskiy metallurgicheskii metallurgicheski metallurgicheskaya metallurgicheskoe",
    "real estate": "nedvizhimost nedvizhimosti",
    "far east": "dalnevostochnyy dalnevostochnyi dalnevostochny dalnevostochnaya dalnevostochnoe",
    "ship repair": "sudoremontnyy sudoremontny sudoremontnaya sudoremontnoe sudoremonta",
    "economic": "ekonomicheskiy ekonomicheskii ekonomicheskaya ekonomicheskoe",
    "rocket": "raketnyy raketny raketnaya raketnoe",
    "nuclear": "yadernoy yadernyy yadernaya yadernoe yadernoi",
    "space": "kosmicheskiy kosmicheskii kosmicheskaya kosmicheskoe",
    "experimental": "opytnoe opytnoye opytno opytnyy",
    "pipe": "trubnyy trubnaya trubnoe trubny",
    "october": "oktyabr oktiabr oktyabrya oktyabrskiy oktyabrsky oktyabrskaya oktyabrskoe",
    "january": "yanvar",
    "february": "fevral",
    "april": "aprel",
    "june": "iyun",
    "july": "iyul",
    "august": "avgust",
    "september": "sentyabr",
    "november": "noyabr",
    "december": "dekabr",
}
_TRANSLATIONS = {source: target for target, sources in _TRANSLATED.items() for source in sources.split()}
# The words each English word stands for, for the word comparison: a typo of "Grupo" is a typo of "Group".
TRANSLATION_SOURCES: dict[str, tuple[str, ...]] = {
    target: tuple(w for w in sources.split() if len(w) >= 4)
    for target, sources in _TRANSLATED.items()
    if " " not in target
}
# Ordinals and number words: "1st" and "First" are the same name word; Roman numerals are numbers ("II" = "2").
_ORDINALS = {
    "first": "1", "1st": "1", "second": "2", "2nd": "2", "third": "3", "3rd": "3", "fourth": "4", "4th": "4",
    "fifth": "5", "5th": "5", "sixth": "6", "6th": "6", "seventh": "7", "7th": "7", "eighth": "8", "8th": "8",
    "ninth": "9", "9th": "9", "tenth": "10", "10th": "10",
}  # fmt: skip
_ROMAN = {
    "ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11", "xii": "12",
    "xiii": "13", "xiv": "14", "xv": "15", "xvi": "16", "xvii": "17", "xviii": "18", "xix": "19", "xx": "20",
}  # fmt: skip
_ORDINAL_ENDINGS = frozenset(("st", "nd", "rd", "th"))
# "No. 1", "Nr 9", "Number 2": the word only announces the number.
_NUMBER_WORDS = frozenset(("no", "nr", "num", "number", "n"))
_CHINESE_CITIES = (
    "beijing", "shanghai", "tianjin", "chongqing", "hongkong", "shenzhen", "guangzhou", "dalian",
    "qingdao", "xiamen", "ningbo", "yantai", "wuhan", "hangzhou", "nanjing", "suzhou", "dongguan", "foshan",
    "changsha", "chengdu", "harbin", "shenyang", "zhuhai", "dandong", "zhengzhou", "jinan", "hefei", "kunming",
    "nanning", "fuzhou", "wuxi", "changzhou",
    "zhongshan", "shantou", "tangshan", "weifang", "zibo", "shijiazhuang", "taiyuan", "lanzhou", "urumqi",
)  # fmt: skip
# Words that make a name look like a company's (with legal forms): a person is not called "Trading".
BUSINESS_WORDS = frozenset(
    [
        "group", "holding", "trade", "bank", "banco", "banque", "industry", "international", "enterprise",
        "investment", "service", "import", "export", "manufacturing", "technology", "system", "solution",
        "logistics", "shipping", "ship", "line", "airlines", "airways", "petroleum", "oil", "gas", "energy", "mining",
        "construction", "engineering", "development", "consulting", "partners", "associates", "brothers", "sons",
        "exchange", "capital", "finance", "financial", "insurance", "agency", "factory", "plant", "work",
        "pharmaceutical", "chemical", "electric", "software", "media", "food", "product", "resource", "ventures",
        "corp", "store", "shop", "market", "center", "institute", "university", "association", "foundation",
        "network", "telecom", "communication", "transport", "marine", "maritime", "navigation", "motor",
        "equipment", "machinery", "general", "national", "commercial", "management", "concern", "company",
        # Words so common in company names that they identify nothing on their own.
        "global", "united", "world", "universal", "new", "modern", "star", "royal", "east", "west",
        "north", "south", "central", "asia", "euro", "trans", "inter", "agricultural", "cooperative",
        "real", "estate", "business", "office", "research", "design", "project", "projects", "scientific",
        "production", "limited", "joint", "venture", "special", "state", "federal", "union", "public",
        # Kinds of organisation and activity that translated names share ("Kombinat", "Byuro", "Unitarnoe").
        "bureau", "unitary", "mechanical", "aviation", "shipbuilding", "innovation", "information",
        "complex", "organization", "making",
        # Large Chinese cities that open a company's name ("Guangzhou Syriss Logistics" is listed as "Syriss
        # Logistics", "Yantai Iray Technology" as "Iray Technology"): a place, not the company's name. Not the
        # provinces: "Xinjiang Production and Construction Corps" is a name.
        *_CHINESE_CITIES,
    ]
)  # fmt: skip
# Honorifics a company name may start with that are name words there ("General Trading", "Captain Cook
# Seafood"): rigour strips them from person names only. Companies lose only these.
_COMPANY_HONORIFICS = frozenset(("mr", "mrs", "ms", "mister", "dr", "doctor", "prof", "professor", "herr", "frau"))


def _canonical_words(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for i, t in enumerate(tokens):
        if t in _ABBREVIATIONS:
            out.extend(_ABBREVIATIONS[t].split())
        elif t in _TRANSLATIONS:
            out.extend(_TRANSLATIONS[t].split())
        elif (
            t == "imeni"
            or (t == "named" and tokens[i + 1 : i + 2] == ["after"])
            or (t == "after" and i and tokens[i - 1] == "named")
        ):
            continue  # "Zavod imeni Kulakova" is "Plant named after Kulakov": the words only introduce a name
        elif t == "hk" or (t == "hong" and tokens[i + 1 : i + 2] == ["kong"]):
            # Behind the name Hong Kong is where the company is ("Kings Romans International (HK)"): a business
            # word; opening it, it is the name ("Hong Kong Electronics").
            out.extend(("hongkong",) if i else ("hong", "kong"))
        elif t == "kong" and i and tokens[i - 1] == "hong":
            continue
        elif (t == "san" and tokens[i + 1 : i + 2] in (["ve"], ["tic"])) or (
            t == "tic" and i and tokens[i - 1] in ("ve", "san")
        ):
            out.append("industry" if t == "san" else "trade")  # Turkish "San. ve Tic." is "Sanayi ve Ticaret"
        elif t in _ORDINALS:
            out.append(_ORDINALS[t])
        elif t[-2:] in _ORDINAL_ENDINGS and t[:-2].isdigit():
            out.append(t[:-2].lstrip("0") or "0")  # "140th" is 140, "72nd" 72: a number, not a name word
        elif t in _ROMAN and i > 0:  # "Banco II" is "Banco 2"; a first word "Vi" or "Ix" stays a name
            out.append(_ROMAN[t])
        elif t in _NUMBER_WORDS and i + 1 < len(tokens) and _DIGITS.search(tokens[i + 1]):
            continue
        else:
            out.extend(_translated_spelling(_business_spelling(t)).split())
    for i in range(len(out) - 2):
        if tuple(out[i : i + 3]) == _NPO_WORDS:
            out[i : i + 3] = ["npo"]  # "Nauchno-Proizvodstvennoe Obedinenie Optika" is "NPO Optika": a kind, not a name
            break
    return out


# "Nauchno-proizvodstvennoe obedinenie" (scientific production association) written out, as its translated words: the
# registries' NPO, which is dropped like a legal form wherever it stands (rigour's table).
_NPO_WORDS = ("scientific", "production", "association")


_LONG_BUSINESS: dict[str, str] = {}  # filled below: long business words and their canonical form


@lru_cache(maxsize=100_000)
def _business_spelling(token: str) -> str:
    """A misspelt business word is that word ("Sevrices", "Eltectrical"): a letter missing, added or swapped in
    7+ letters ("Energo" is a name word, not a misspelt "Energy").

    Without it a typo in an ordinary word would make it the name's distinctive word, and the canonical spelling
    on the other side ("trading" -> "trade") would put it further away still.
    """
    if len(token) < 7 or token in _LONG_BUSINESS or token.isdigit():
        return _LONG_BUSINESS.get(token, token)
    key = translit_key(token)
    if (same := _LONG_BUSINESS_TRANSLIT.get(key)) is not None:
        return same  # "Elektroniks" is "Electronics" in another transliteration
    for found in _LONG_BUSINESS_TRANSLIT_NEAR.within_one(key):
        if len(found) != len(key):  # a letter missing or added (Indel distance 1)
            return _LONG_BUSINESS_TRANSLIT[found]  # "Logistik" is "Logistic(s)"
    # A letter missing, doubled or two letters swapped; not a letter replaced: "Nacional" is a word of its own
    # (mapping it to "national" would put its own typos out of reach).
    near = _LONG_BUSINESS_NEAR.within_one(token)
    for found in near:
        if len(found) != len(token):
            return _LONG_BUSINESS[found]
    if near and sorted(near[0]) == sorted(token):
        return _LONG_BUSINESS[near[0]]
    return token


@lru_cache(maxsize=100_000)
def _translated_spelling(token: str) -> str:
    """A translated word with the article glued on ("Alharakat", "Allajna") or a typo ("Zavdo", "Ynformatsionnye")
    is that word: two letters swapped in 5+ letters, one missing or added with 6+ on both sides, one replaced in 8+;
    the first letter kept unless the word has 9+. Names stay names: "Barakat" is not a misspelt "Harakat", "Katina"
    not "Katiba", "Russtan" not "Russian"; legal words stay legal words ("Societe" is not "Society")."""
    if len(token) < 5 or token.isdigit() or token in BUSINESS_WORDS or token in _LEGAL_PHRASE_WORDS:
        return token
    if (bare := strip_article(token)) != token and bare in _TRANSLATIONS:
        return _TRANSLATIONS[bare]
    n = len(token)
    for found in _TRANSLATED_NEAR.within_one(token):
        if found[0] != token[0] and n < 9:
            continue
        if (
            (n >= 8 and len(found) == n)
            or (len(found) != n and min(len(found), n) >= 6)
            or sorted(found) == sorted(token)
        ):
            return _TRANSLATIONS[found]
    return token


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


# Spelling differences of transliteration (Russian, Arabic, Persian into Latin letters): "Kholv"/"Holv",
# "Vindek"/"Windeq", "Nour"/"Noor", "Inttrafik"/"Inttraffic", "Boldreks"/"Boldrex", "Yupel"/"Upel".
_CONSONANTS = {
    "sch": "sh", "kh": "h", "zh": "j", "ts": "k", "tz": "k", "ck": "k", "ph": "f", "qu": "kv",
    "q": "k", "w": "v", "x": "ks", "c": "k", "z": "s", "dj": "j",
}  # fmt: skip
_VOWELS = {"ey": "ei", "iy": "i", "yi": "i", "ij": "i", "ee": "i", "ou": "u", "oo": "u"}
# Inside a word only: "Yupel"/"Upel" yes, but a first "Ja" or "Yu" is a letter of the name ("Jaman" is not "Aman").
_INNER = {"yu": "u", "ju": "u", "iu": "u", "ya": "a", "ja": "a", "y": "i"}
# A first "Iu"/"Ia" is the "Yu"/"Ya" of another transliteration ("Iurii"/"Yurii", "Iakovlev"/"Yakovlev").
_INITIAL = {"iu": "yu", "ia": "ya"}


def _alternation(table: dict[str, str]) -> re.Pattern[str]:
    return re.compile("|".join(sorted(map(re.escape, table), key=len, reverse=True)))


_CONSONANTS_RE, _VOWELS_RE, _INNER_RE = _alternation(_CONSONANTS), _alternation(_VOWELS), _alternation(_INNER)
_DOUBLE = re.compile(r"(.)\1+")
_GH_VOWEL = re.compile(r"gh(?=[aeiouy])")


@lru_cache(maxsize=200_000)
def translit_key(token: str) -> str:
    """The word with transliteration choices folded: two spellings of one name get one key."""
    token = _GH_VOWEL.sub("q", token)  # Persian/Arabic "gh" before a vowel is "q" ("Gholizadeh"), not "Singh"
    if token[:2] in _INITIAL:
        token = _INITIAL[token[:2]] + token[2:]
    elif token[0] == "g" and len(token) >= 6 and token[1] in "aeiou":
        # Russian writes a foreign first "H" as "G" ("Gelios"/"Helios", "Gassan"/"Hassan"); not in short words,
        # where "Gill"/"Hill" and "Gale"/"Hale" are different names.
        token = "h" + token[1:]
    token = token.replace("yy", "y")  # one "y" before the vowels are read: "Ayyad"/"Ayad" ("yy" is not "y" + "ya")
    token = _CONSONANTS_RE.sub(lambda m: _CONSONANTS[m.group(0)], token)
    token = _VOWELS_RE.sub(lambda m: _VOWELS[m.group(0)], token)
    token = token[:1] + _INNER_RE.sub(lambda m: _INNER[m.group(0)], token[1:])
    if token.startswith("yu"):
        token = token[1:]  # Russian "Ю" first: "Yumirs"/"Umirs", "Yusupov"/"Usupov"
    return _DOUBLE.sub(r"\1", token)


def _glue_letters(words: list[str]) -> list[str]:
    """Runs of single letters are one word: "N P C International" is "NPC International", "M D S" is "MDS".
    Two letters joined by "and" (or Spanish "y") are one word too: "G&G", "G y G" and "GG"; "R&D" and "RD"."""
    if len(words) >= 3:
        words = _join_letter_pairs(words)
    out: list[str] = []
    run = False
    for w in words:
        if len(w) == 1 and w.isalpha():
            if run:
                out[-1] += w
            else:
                out.append(w)
            run = True
        else:
            out.append(w)
            run = False
    return out


def _join_letter_pairs(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        if (
            i + 2 < n
            and len(w) == 1
            and words[i + 1] in ("and", "y")
            and len(words[i + 2]) == 1
            and w.isalpha()
            and words[i + 2].isalpha()
            and (i == 0 or len(words[i - 1]) > 1)
        ):
            out.append(w + words[i + 2])
            i += 3
            continue
        out.append(w)
        i += 1
    return out


def strip_article(token: str) -> str:
    """'alnaser' -> 'naser': the Arabic article written glued to its word (only for words long enough)."""
    if len(token) >= 5 and token[:2] in _ARTICLES:
        return token[2:]  # "alexander" -> "exander" is harmless: it only ever equals a listed "exander"
    if len(token) >= 5 and token[0] in "aeu" and token[1] == token[2] and token[1] not in "aeiouy":
        return token[2:]  # the article assimilated: "Ed-Dine", "Ar-Rahman", "Ash-Sham" written glued
    return token


_ARTICLES = frozenset(("al", "el"))


# A jurisdiction code the lists write behind a legal form ("... LTD-BZE": Belize, "LTD.-MAI", "CO-HKG"): where,
# not who.
_FORM_JURISDICTION = re.compile(r"(?i)(\b(?:ltd|limited|inc|corp|co|llc)\.?)\s*-\s*[a-z]{3}\s*$")


@lru_cache(maxsize=100_000)
def normalize_name(text: str, is_person: bool = False) -> NormalizedName:
    """Return the comparable form of a name; persons lose honorifics, companies lose legal forms."""
    folded = fold_text(_FORM_JURISDICTION.sub(r"\1", text))
    words = _glue_letters(folded.split())
    if is_person:
        unprefixed = " ".join(_glue_letters(fold_text(remove_person_prefixes(folded)).split())) or folded
    else:
        raw = folded.split()
        # "M and S Trading" is "MS Trading": letters joined by "and" are a name, not the honorific "Ms".
        letters_joined = len(raw) >= 3 and len(raw[0]) == len(raw[2]) == 1 and raw[1] in ("and", "y")
        while len(words) > 1 and words[0] in _COMPANY_HONORIFICS and not letters_joined:
            words = words[1:]
        # Before legal forms: rigour's table would take a Roman numeral ("II") for a legal form.
        unprefixed = " ".join(_canonical_words(words))
    forms: tuple[str, ...]
    if is_person:
        core, forms = unprefixed, ()
    else:
        core, forms = _strip_legal(unprefixed)
    # Only a short list of articles: rigour's full stopword list drops real name words ("sem", "van").
    # "Al-Naser", "Al Naser" and "Naser" are one name: the article goes; "Alnaser" is matched by strip_article.
    all_tokens = [t for t in core.split() if t not in _ORG_STOPWORDS and t not in _ARTICLES]
    if all(t in BUSINESS_WORDS for t in all_tokens):
        # Nothing distinctive left: the stripped words were the name ("Lê Group", "STG Group").
        all_tokens = [
            t
            for t in unprefixed.split()
            if t not in _ARTICLES and t not in _ORG_STOPWORDS and not _is_legal_word(t) and (t,) not in _PHRASES[1]
        ] or folded.split()
    # Numbers are words of digits only; "Web3", "3D", "T1" are name words.
    numbers = frozenset(t for t in all_tokens if t.isdigit())
    tokens = [t for t in all_tokens if t not in numbers] or all_tokens
    company = not is_person and (bool(forms) or any(t in BUSINESS_WORDS for t in tokens))
    return NormalizedName(folded, " ".join(tokens), tuple(tokens), forms, numbers, company)


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


_LONG_BUSINESS.update({w: w for w in BUSINESS_WORDS if len(w) >= 7})
_LONG_BUSINESS.update(
    {k: v for k, v in (*_ABBREVIATIONS.items(), *_TRANSLATIONS.items()) if len(k) >= 7 and " " not in v}
)


class _OneEdit:
    """The words one edit (a letter missing, added, replaced, or two swapped) from a token, found through the
    deletions they share (a dictionary look-up per letter, not a scan of every word)."""

    def __init__(self, words: Iterable[str]) -> None:
        self._by_delete: dict[str, set[str]] = {}
        for w in words:
            for d in {w[:i] + w[i + 1 :] for i in range(len(w))} | {w}:
                self._by_delete.setdefault(d, set()).add(w)

    def within_one(self, token: str) -> list[str]:
        """The words other than `token` at most one edit away, in sorted order."""
        found: set[str] = set()
        get = self._by_delete.get
        for d in {token[:i] + token[i + 1 :] for i in range(len(token))} | {token}:
            found.update(get(d, ()))
        found.discard(token)
        return sorted(w for w in found if OSA.distance(token, w, score_cutoff=1) <= 1)


_LONG_BUSINESS_NEAR = _OneEdit(_LONG_BUSINESS)
_TRANSLATED_NEAR = _OneEdit(w for w in _TRANSLATIONS if len(w) >= 5)
# Words of legal forms: never read as a misspelt translated word.
_LEGAL_PHRASE_WORDS = frozenset(w for p in _EU_LEGAL_PHRASES for w in p.split()) | _LEGAL_WORDS | _EXTRA_LEGAL
_LONG_BUSINESS_TRANSLIT = {translit_key(k): v for k, v in _LONG_BUSINESS.items()}
_LONG_BUSINESS_TRANSLIT_NEAR = _OneEdit(_LONG_BUSINESS_TRANSLIT)


def _single_word_countries() -> set[str]:
    out: set[str] = set()
    for c in pycountry.countries:
        for attr in ("name", "common_name"):
            words = fold_text(getattr(c, attr, "") or "").split()
            if len(words) == 1 and len(words[0]) >= 4:
                out.add(words[0])
    return out - {"jordan", "georgia", "chad", "israel", "jersey"}  # also names of persons


# Names of states, provinces and regions (ISO 3166-2) in one word: places, not who ("Washington Group"). Built once at
# import (0.2 s), not per query: the speed bench empties every lru_cache before its timed rounds.
REGION_NAMES = frozenset(words[0] for d in pycountry.subdivisions if len(words := fold_text(d.name).split()) == 1)


# Places a listed party's branch or office adds to its name, or an alias leaves out ("Otkritie Capital Cyprus",
# "Gooryong Shipping Bangkok", "Korea Kumbyol Trading"): countries named in one word, the usual adjectives of
# the countries of the sanctions programmes, and the cities where listed parties keep branches.
PLACE_WORDS = frozenset(
    _single_word_countries()
    | set(_CHINESE_CITIES)
    | {
        "korea", "korean", "russia", "russian", "rossii", "iranian", "chinese", "syrian", "cuban", "iraqi",
        "lebanese", "belarusian", "ukrainian", "turkish", "emirates", "uae", "venezuelan", "libyan", "sudanese",
        "yemeni", "afghan", "pakistani", "burmese", "nicaraguan", "dprk", "usa", "britain", "england", "london",
        "moscow", "moskva", "kiev", "kyiv", "minsk", "tehran", "beirut", "damascus", "baghdad", "caracas", "havana",
        "bangkok", "dubai", "sharjah", "istanbul", "belgrade", "beograd", "limassol", "nicosia", "tbilisi",
        "yerevan", "baku", "almaty", "tashkent", "bishkek", "pyongyang", "vladivostok", "petersburg", "riga",
        "vilnius", "tallinn", "bucharest", "athens", "piraeus", "geneva", "zurich", "vienna", "frankfurt",
        "hamburg", "rotterdam", "antwerp", "madrid", "panama", "kabul", "karachi", "lahore",
        "mumbai", "delhi", "kuala", "lumpur", "jakarta", "manila", "taipei", "seoul", "tokyo", "labuan", "doha",
        "muscat", "kuwait", "amman", "cairo", "khartoum", "tripoli", "benghazi", "erbil", "basra", "mosul",
        "skopje", "zagreb", "sarajevo", "ljubljana", "podgorica", "tirana", "sofia", "pristina", "chisinau",
        # Countries as their own languages name them ("BT Nederland"): pycountry's names are English.
        "nederland", "deutschland", "espana", "italia", "polska", "osterreich", "schweiz", "suisse", "svizzera",
        "sverige", "norge", "danmark", "suomi", "eesti", "latvija", "lietuva", "hrvatska", "srbija", "slovensko",
        "magyarorszag", "ellada", "brasil", "belgique", "belgie",
    }
)  # fmt: skip
