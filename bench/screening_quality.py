"""Screening quality benchmark (issue 13): the development set screened end to end, next to a rapidfuzz baseline.

Run: .venv/bin/python bench/screening_quality.py [--split holdout|tune|all] [--kinds KIND_OR_SET ...]
                                                [--country] [--innocents-in N] [--json PATH] [--examples 5]
                                                [--eval-files] [--legacy]

Every item of bench/screening_devset.py (real alias pairs, hard negatives, Faker innocents in every locale,
yente's person negatives, probes per failure class) is screened with `Screener.screen` at the default config
(review threshold 0.86) against its list set. Per set and kind it prints count, recall (alerted on the right
entity), precision and alert rates, and the same for the BASELINE of the issue computed in the same run:
rapidfuzz token_sort_ratio >= 80 between the query and every listed spelling (name and aliases), legal forms
removed on both sides by screening_devset.base_core (rigour's remove_org_types, ASCII, casefold, punctuation off,
bare Co/Corp/Ltd ... dropped), vectorised with rapidfuzz.process.cdist (fuzz.ratio over word-sorted cores,
which is token_sort_ratio), workers=1. Then up to --examples failures per kind (query -> hit, score).

--country screens every query with the country a real customer gives (screening_devset's Item.country: the listed
entity's address country for true pairs, positive probes and hard negatives, the Faker locale's country or yente's
nationality for innocents, none for negative probes). Without it (the headline figures) queries carry a name only.
--innocents-in N (a stress test of the rules the customer's country enables) screens every innocent once with each
of the N countries most listed organisations have, and counts it as alerted when any of those screenings alerts.

--eval-files adds the yente / watchman / nomenklatura evaluation files; --legacy the old generated-variant
section (typo / word order / legal form / transliteration of listed names against generated innocents).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import screening_devset as devset
from wholesale.compliance.screening import (
    Screener,
    ScreeningConfig,
    ScreeningQuery,
    default_list_paths,
    load_lists,
    normalize_name,
)
from wholesale.compliance.screening.model import ListSet

EVAL_DIR = devset.EVAL_DIR
BASELINE_CUTOFF = 80

# (label, what it is computed on, engine figure, goal test, goal text)
GOALS = (
    ("true company pairs alerted (recall)", "company_pairs", "recall", ">=", 0.90),
    ("  - of them: the same words", "company_pairs/alias_same_words", "recall", ">=", 0.90),
    ("precision on company pairs", "company_pairs + hard_negative_company", "precision", ">=", 0.90),
    ("innocent persons alerted", "innocent_persons", "alert_rate", "<=", 0.01),
    ("innocent companies alerted", "innocent_companies", "alert_rate", "<=", 0.01),
    ("one-word innocent companies alerted", "innocent_companies/one_word", "alert_rate", "<=", 0.01),
)


@dataclass
class Outcome:
    """What one screening (engine or baseline) did with one item."""

    alert: bool  # the query opens a case
    right: bool  # positives: alerted on an entity of item.accept
    false: bool  # negatives: alerted on an entity it must not alert on; positives: alerted, but not right
    hit: str  # best hit (or the best wrong one for a false alert), for examples
    score: float


def _judge(item: devset.Item, alerted: list[tuple[tuple[str, str], str, float]], alert: bool) -> Outcome:
    """alerted: (entity, name, score) of every hit at or above the threshold, best first."""
    best = alerted[0] if alerted else None
    if item.positive:
        right = any(k in item.accept for k, _, _ in alerted)
        return Outcome(alert, right, alert and not right, best[1] if best else "", best[2] if best else 0.0)
    # Made from one listed party: only alerts on it are judged; else every alert outside `accept` is false.
    bad = [a for a in alerted if (a[0] in item.blame if item.blame else a[0] not in item.accept)]
    shown = bad[0] if bad else best
    return Outcome(alert, False, bool(bad), shown[1] if shown else "", shown[2] if shown else 0.0)


def _shown(h) -> str:
    """The listed spelling that matched, and the entry's name when that is another one."""
    return repr(h.matched_variant) + ("" if h.matched_variant == h.name else f" [of {h.name!r}]")


def listed_countries(list_set: ListSet, n: int) -> list[str]:
    """The n countries that most listed organisations have (addresses or nationalities), most first."""
    counts: dict[str, int] = defaultdict(int)
    for e in list_set.entries:
        if e.entity_type != "person":
            for c in e.countries:
                counts[c] += 1
    return sorted(counts, key=lambda c: (-counts[c], c))[:n]


def screen_engine(
    screener: Screener, items: list[devset.Item], country: bool = False, innocents_in: list[str] | None = None
) -> list[Outcome]:
    """country: each query carries its item's country (Item.country), as a real customer's screening does.
    innocents_in: an innocent is screened once with each of these countries instead, and alerts when any does."""
    thr = screener.config.review_threshold
    out = []
    for i, item in enumerate(items):
        r = screener.screen(ScreeningQuery(str(i), item.query, country=item.country if country else None))
        if innocents_in and item.set.startswith("innocent"):
            for c in innocents_in:
                r = screener.screen(ScreeningQuery(str(i), item.query, country=c))
                if r.decision != "clear":
                    break
        alerted = [((h.source, h.entry_id), _shown(h), h.score) for h in r.hits if h.score >= thr]
        o = _judge(item, alerted, r.decision != "clear")
        if not o.hit and r.hits:  # a miss: show what came closest
            o.hit, o.score = _shown(r.hits[0]), r.hits[0].score
        out.append(o)
    return out


class Baseline:
    """token_sort_ratio >= 80 against every listed spelling, legal forms removed (base_core), vectorised."""

    def __init__(self, list_set: ListSet) -> None:
        self.keys: list[str] = []
        self.entity: list[int] = []
        self.entries = list_set.entries
        for ei, e in enumerate(list_set.entries):
            for name in dict.fromkeys((e.name, *e.aliases)):
                k = devset.sort_key(name)
                if k:
                    self.keys.append(k)
                    self.entity.append(ei)

    def screen(self, items: list[devset.Item]) -> list[Outcome]:
        queries = [devset.sort_key(it.query) for it in items]
        out: list[Outcome] = []
        for item, best in zip(
            items, devset.best_per_entity(queries, self.keys, self.entity, BASELINE_CUTOFF), strict=True
        ):
            alerted = [
                ((self.entries[ei].source, self.entries[ei].entry_id), repr(self.entries[ei].name), s / 100)
                for ei, s in sorted(best.items(), key=lambda x: -x[1])
            ]
            out.append(_judge(item, alerted, bool(alerted)))
        return out


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def figures(items: list[devset.Item], outcomes: list[Outcome]) -> dict[str, float | int | None]:
    """Count, recall, precision (positives' right alerts against every wrong or false alert) and alert rates."""
    pos = [(it, o) for it, o in zip(items, outcomes, strict=True) if it.positive]
    neg = [(it, o) for it, o in zip(items, outcomes, strict=True) if not it.positive]
    tp = sum(o.right for _, o in pos)
    wrong = sum(o.false for _, o in pos)
    false_neg = sum(o.false for _, o in neg)
    return {
        "n": len(items),
        "positives": len(pos),
        "negatives": len(neg),
        "recall": _ratio(tp, len(pos)),
        "precision": _ratio(tp, tp + wrong + false_neg) if pos else None,
        "wrong_entity_alerts": wrong,
        "alert_rate": _ratio(false_neg, len(neg)),  # negatives: share with a false alert
        "any_alert_rate": _ratio(sum(o.alert for _, o in neg), len(neg)),
    }


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "    -"
    return f"{100 * v:5.1f}%" if pct else f"{v:5.3f}"


def _row(label: str, n: int, f_e: dict, f_b: dict) -> str:
    def part(f: dict) -> str:
        return f"{_fmt(f['recall'])} {_fmt(f['precision'])} {_fmt(f['alert_rate'], True)}"

    return f"  {label:42s} {n:6d} | {part(f_e)} | {part(f_b)}"


def _examples(items: list[devset.Item], outcomes: list[Outcome], k: int) -> list[str]:
    bad = [
        (it, o)
        for it, o in zip(items, outcomes, strict=True)
        if (it.positive and it.counted and not o.right) or (not it.positive and o.false)
    ]
    bad.sort(key=lambda x: hashlib.sha1(x[0].query.encode()).hexdigest())
    lines = []
    for it, o in bad[:k]:
        if it.positive:
            what = "WRONG" if o.alert else "miss "
            hit = f"{o.hit} {o.score:.2f}" if o.hit else "no hit"
            lines.append(f"      {what} {it.query!r} -> {hit}   (listed: {it.origin!r})")
        else:
            lines.append(f"      FALSE {it.query!r} -> {o.hit} {o.score:.2f}   ({it.origin})")
    return lines


def devset_report(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    ds = devset.build(seed=args.seed)
    items = ds.select(args.split, args.kinds)
    t_build = time.perf_counter() - t0
    print("\n".join(devset.summary(ds)))
    print(f"(development set built in {t_build:.1f}s)")

    config = ScreeningConfig()
    engine: list[Outcome | None] = [None] * len(items)
    base: list[Outcome | None] = [None] * len(items)
    timings = {"devset_build_s": round(t_build, 1)}
    for index in ("shipped", "eval"):
        idx = [i for i, it in enumerate(items) if it.index == index]
        if not idx:
            continue
        sub = [items[i] for i in idx]
        t = time.perf_counter()
        screener = Screener(ds.lists[index], config)
        t_index = time.perf_counter() - t
        t = time.perf_counter()
        innocents_in = listed_countries(ds.lists[index], args.innocents_in) if args.innocents_in else None
        if innocents_in:
            print(f"[{index} lists] innocents screened with each of {', '.join(innocents_in)}")
        for i, o in zip(idx, screen_engine(screener, sub, args.country, innocents_in), strict=True):
            engine[i] = o
        t_screen = time.perf_counter() - t
        t = time.perf_counter()
        for i, o in zip(idx, Baseline(ds.lists[index]).screen(sub), strict=True):
            base[i] = o
        t_base = time.perf_counter() - t
        timings |= {
            f"{index}_index_s": round(t_index, 1),
            f"{index}_engine_s": round(t_screen, 1),
            f"{index}_baseline_s": round(t_base, 1),
        }
        print(
            f"[{index} lists: {len(ds.lists[index].entries)} entries] index {t_index:.1f}s; {len(sub)} queries: "
            f"engine {t_screen:.1f}s ({len(sub) / t_screen:.0f}/s), baseline {t_base:.1f}s"
        )

    cfg = config
    with_country = ", every query with its country (--country)" if args.country else ", names only"
    if args.innocents_in:
        with_country += f"; innocents with each of the {args.innocents_in} most listed countries"
    print(
        f"\nsplit {args.split}; engine: Screener.screen{with_country}, review threshold {cfg.review_threshold} (match "
        f"{cfg.match_threshold}); baseline: token_sort_ratio >= {BASELINE_CUTOFF} on base_core (rigour "
        "remove_org_types + bare forms), cdist over every listed spelling"
    )
    print(
        "recall: positives alerted on the right entity (or the same party); precision: those against every "
        "alert on a wrong entity and every false alert of the set; alert: negatives with a false alert"
    )
    print(f"\n  {'set / kind':42s} {'count':>6s} | {'engine recall prec alert':26s}| baseline recall prec alert")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        groups[it.set].append(i)
        groups[f"{it.set}/{it.kind}"].append(i)
    result: dict = {
        "split": args.split,
        "seed": args.seed,
        "country": args.country,
        "innocents_in": args.innocents_in,
        "sets": {},
        "examples": {},
        "timings": timings,
    }

    def fig(ix: list[int]) -> tuple[dict, dict]:
        return figures([items[i] for i in ix], [engine[i] for i in ix]), figures(
            [items[i] for i in ix], [base[i] for i in ix]
        )

    for s in devset.SETS:
        if s not in groups:
            continue
        counted = [i for i in groups[s] if items[i].counted]
        f_e, f_b = fig(counted)
        print(_row(s + " (all counted)", len(counted), f_e, f_b))
        result["sets"][s] = {"engine": f_e, "baseline": f_b}
        kinds = sorted({items[i].kind for i in groups[s]}, key=lambda k: (not items[groups[f"{s}/{k}"][0]].positive, k))
        for kind in kinds:
            ix = groups[f"{s}/{kind}"]
            f_e, f_b = fig(ix)
            note = "" if items[ix[0]].counted else " (not counted)"
            print(_row(f"  {kind}{note}", len(ix), f_e, f_b))
            result["sets"][f"{s}/{kind}"] = {"engine": f_e, "baseline": f_b}

    # Goals of the issue.
    hn = groups.get("hard_negatives/hard_negative_company", [])
    company_precision_ix = [i for i in groups.get("company_pairs", []) if items[i].counted] + hn
    print(f"\ngoals (issue 13) on the {args.split} split     engine   baseline   goal")
    result["goals"] = []
    for label, where, metric, op, goal in GOALS:
        ix = company_precision_ix if "+" in where else [i for i in groups.get(where, []) if items[i].counted]
        if not ix:
            continue
        f_e, f_b = fig(ix)
        ve, vb = f_e[metric], f_b[metric]
        ok = ve is not None and (ve >= goal if op == ">=" else ve <= goal)
        pct = metric == "alert_rate"
        goal_s = f"{op} {100 * goal:.0f} %" if pct else f"{op} {goal:.2f}"
        print(
            f"  {label:38s} {_fmt(ve, pct):>7s}  {_fmt(vb, pct):>7s}    {goal_s:8s} {'met' if ok else 'NOT MET'}"
            f"   [{where}, n={len(ix)}]"
        )
        result["goals"].append(
            {"goal": label, "on": where, "metric": metric, "engine": ve, "baseline": vb, "target": f"{op} {goal}"}
        )
        result["goals"][-1]["met"] = ok

    if args.examples:
        print(f"\nexample failures of the engine (up to {args.examples} per kind)")
        for s in devset.SETS:
            for kind in sorted({items[i].kind for i in groups.get(s, [])}):
                ix = groups[f"{s}/{kind}"]
                lines = _examples([items[i] for i in ix], [engine[i] for i in ix], args.examples)
                if lines:
                    print(f"  {s}/{kind}")
                    print("\n".join(lines))
                result["examples"][f"{s}/{kind}"] = [line.strip() for line in lines]
    result["devset"] = {g: dict(c) for g, c in ds.stats.items()}
    return result


# --- optional: public evaluation files -------------------------------------------------------------------------


def _ratio_f(a: int, b: int) -> float:
    return a / b if b else float("nan")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#") and line.strip()))


def eval_files(screener: Screener, eval_dir: Path) -> dict[str, dict[str, float]]:
    cfg = screener.config
    out: dict[str, dict[str, float]] = {}
    for name in (
        "yente_negatives_global_1000.csv",
        "yente_negatives_us_1000.csv",
        "yente_positives_us_congress_untreated.csv",
    ):
        p = eval_dir / name
        if p.exists():
            rows = read_csv(p)
            alerts = [
                r["full_name"] for r in rows if screener.screen(ScreeningQuery("x", r["full_name"])).decision != "clear"
            ]
            out[name] = {"names": len(rows), "alert_rate": _ratio_f(len(alerts), len(rows))}
            out[name]["examples"] = "; ".join(alerts[:5])  # type: ignore[assignment]
    treated, untreated = eval_dir / "yente_positives_un_treated.csv", eval_dir / "yente_positives_un_untreated.csv"
    if treated.exists() and untreated.exists():
        t_rows, u_rows = read_csv(treated), read_csv(untreated)
        listed = found = 0
        for t, u in zip(t_rows, u_rows, strict=False):
            ru = screener.screen(ScreeningQuery("u", u["full_name"], country=u.get("nationality") or None))
            if ru.decision == "clear":
                continue  # the UN person is not on the lists: nothing to find
            listed += 1
            ids = {h.entry_id for h in ru.hits}
            rt = screener.screen(ScreeningQuery("t", t["full_name"], country=t.get("nationality") or None))
            found += rt.decision != "clear" and bool(ids & {h.entry_id for h in rt.hits})
        out["yente_positives_un (treated, on the lists)"] = {
            "pairs": listed,
            "recall": _ratio_f(found, listed),
            "share_on_lists": _ratio_f(listed, len(u_rows)),
        }
    p = eval_dir / "watchman_cross_script_pairs.csv"
    if p.exists():
        rows = [
            r
            for r in csv.reader(line for line in p.open(encoding="utf-8") if line.strip() and not line.startswith("#"))
            if len(r) >= 2
        ]
        hits = sum(screener.score_pair(r[0], r[1]) >= cfg.review_threshold for r in rows)
        out["watchman_cross_script_pairs"] = {"pairs": len(rows), "recall": _ratio_f(hits, len(rows))}
    p = eval_dir / "nomenklatura_ofac_parity_fixtures.csv"
    if p.exists():
        rows = read_csv(p)
        agree = sum(
            (screener.score_pair(r["query_name"], r["result_name"], "," in r["result_name"]) >= cfg.review_threshold)
            == (int(r["ofac_score"]) >= 95)
            for r in rows
        )
        out["ofac_parity (agree with OFAC score>=95)"] = {"pairs": len(rows), "agreement": _ratio_f(agree, len(rows))}
    p = eval_dir / "nomenklatura_name_bench_cases.csv"
    if p.exists():  # held out from this repo; picked up when present
        rows = [r for r in read_csv(p) if r.get("quality") != "WEAK"]
        for schema in sorted({r["schema"] for r in rows}):
            sub = [r for r in rows if r["schema"] == schema]
            is_person = schema == "Person"
            tp = fp = fn = 0
            for r in sub:
                pred = screener.score_pair(r["name1"], r["name2"], is_person) >= cfg.review_threshold
                gold = r["is_match"].strip().lower() in ("true", "1", "yes")
                tp += pred and gold
                fp += pred and not gold
                fn += gold and not pred
            out[f"nomenklatura_name_bench {schema}"] = {
                "pairs": len(sub),
                "recall": _ratio_f(tp, tp + fn),
                "precision": _ratio_f(tp, tp + fp),
            }
    return out


# --- optional: the earlier generated-variant benchmark ---------------------------------------------------------

LEGAL_FORMS = ["LLC", "Ltd", "Limited", "GmbH", "S.A.", "Co., Ltd.", "Inc.", "JSC", "Corporation", "AG", "S.R.L."]
LEGAL_FORMS += ["Limited Liability Company", "PLC", "OOO", "FZE", "B.V."]
CYRILLIC = dict(zip("abvgdezijklmnoprstufhcqwxy", "абвгдезийклмнопрстуфхкквкы", strict=False))
RU_FORMS = ["ООО", "АО", "ЗАО", "ПАО", "ТОО"]
WORDS_A = [
    "Northern",
    "Blue",
    "Green",
    "Silver",
    "Pacific",
    "Atlantic",
    "Alpine",
    "Summit",
    "Bright",
    "Clear",
    "Modern",
    "Urban",
    "Rapid",
    "Prime",
    "Golden",
]
WORDS_B = [
    "Logistics",
    "Software",
    "Telecom",
    "Networks",
    "Solutions",
    "Systems",
    "Consulting",
    "Foods",
    "Textiles",
    "Media",
    "Energy",
    "Partners",
]
SURNAMES = [
    "Hoffmann",
    "Schneider",
    "Dubois",
    "Rossi",
    "Janssen",
    "Novak",
    "Kowalski",
    "Lindqvist",
    "Andersen",
    "Murphy",
    "Tanaka",
    "Silva",
]


def _legacy_split(entry_id: str) -> str:
    return "holdout" if int(hashlib.sha1(entry_id.encode()).hexdigest(), 16) % 5 == 0 else "tune"


def _typo(name: str, rng: random.Random) -> str:
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()] or [
        i for i, w in enumerate(words) if len(w) >= 4
    ]
    if not long:
        return name
    i = rng.choice(long)
    w = words[i]
    p = rng.randrange(1, len(w) - 1)
    op = rng.choice(["sub", "del", "swap", "ins"])
    if op == "sub":
        w = w[:p] + rng.choice("aeiourstnl") + w[p + 1 :]
    elif op == "del":
        w = w[:p] + w[p + 1 :]
    elif op == "swap":
        w = w[:p] + w[p + 1] + w[p] + w[p + 2 :]
    else:
        w = w[:p] + rng.choice("aeiourstnl") + w[p:]
    words[i] = w
    return " ".join(words)


def _reorder(name: str, rng: random.Random) -> str:
    words = name.replace(",", " ").split()
    if len(words) < 2:
        return name
    k = rng.randrange(1, len(words))
    return " ".join(words[k:] + words[:k])


def _change_legal_form(name: str, rng: random.Random) -> str:
    norm = normalize_name(name)
    base = " ".join(w for w in name.replace(",", " ").split() if normalize_name(w).legal_forms == ())
    forms = [f for f in LEGAL_FORMS if normalize_name("x " + f).legal_forms != norm.legal_forms]
    return f"{base or name} {rng.choice(forms)}"


def _transliterate(name: str, rng: random.Random) -> str:
    words = [w for w in name.replace(",", " ").split() if not normalize_name("x " + w).legal_forms]
    if len(words) >= 2 and " ".join(words).upper().startswith(("JOINT STOCK", "LIMITED LIABILITY", "OPEN JOINT")):
        words = normalize_name(name).core.split()
    cyr = " ".join("".join(CYRILLIC.get(c, c) for c in w.lower()) for w in words)
    return f"{rng.choice(RU_FORMS)} {cyr}" if normalize_name(name).legal_forms else cyr


TRANSFORMS = {
    "typo": _typo,
    "word_order": _reorder,
    "legal_form": _change_legal_form,
    "transliteration": _transliterate,
}


def legacy_benchmark(screener: Screener, n: int, seed: int) -> dict[str, dict[str, float]]:
    """Generated company variants vs generated innocent names, per split (the pre-issue-13 benchmark)."""
    rng = random.Random(seed)
    companies = [e for e in screener.list_set.entries if e.entity_type == "company" and len(e.name) >= 6]
    rng.shuffle(companies)
    r2 = random.Random(seed + 1)
    innocents = sorted(
        {f"{r2.choice(WORDS_A + SURNAMES)} {r2.choice(WORDS_B)} {r2.choice(LEGAL_FORMS)}" for _ in range(n)}
    )
    report = {}
    for split in ("tune", "holdout"):
        pool = [e for e in companies if _legacy_split(e.entry_id) == split][: n // len(TRANSFORMS) + 1]
        per_kind: dict[str, list[int]] = {k: [0, 0] for k in TRANSFORMS}
        for e in pool:
            cores = {normalize_name(x).core for x in (e.name, *e.aliases)}
            for kind, fn_t in TRANSFORMS.items():
                r = screener.screen(ScreeningQuery(e.entry_id, fn_t(e.name, rng)))
                ok = r.decision != "clear" and any(
                    h.entry_id == e.entry_id or normalize_name(h.name).core in cores for h in r.hits
                )
                per_kind[kind][0] += ok
                per_kind[kind][1] += 1
        half = innocents[: len(innocents) // 2] if split == "tune" else innocents[len(innocents) // 2 :]
        fp = sum(screener.screen(ScreeningQuery("x", name)).decision != "clear" for name in half)
        report[split] = {
            **{f"recall_{k}": _ratio_f(v[0], v[1]) for k, v in per_kind.items()},
            "generated_innocent_alert_rate": _ratio_f(fp, len(half)),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("holdout", "tune", "all"), default="holdout")
    ap.add_argument("--kinds", nargs="*", default=None, help="only these kinds or sets (default: all)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument(
        "--country",
        action="store_true",
        help="the engine screens each query with its country (a listed entity's address country for true pairs and "
        "hard negatives, the Faker locale's or yente's nationality for innocents); the baseline has no country",
    )
    ap.add_argument(
        "--innocents-in",
        type=int,
        default=0,
        metavar="N",
        help="stress test of the country rules: every innocent is screened with each of the N countries most listed "
        "organisations have (RU, IR, CN, US, MX, ...) and counts as alerted when any alerts",
    )
    ap.add_argument("--examples", type=int, default=5, help="failures shown per kind")
    ap.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    ap.add_argument("--eval-files", action="store_true", help="also the public evaluation files")
    ap.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    ap.add_argument("--legacy", action="store_true", help="also the earlier generated-variant benchmark")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    result = devset_report(args)
    if args.eval_files or args.legacy:
        screener = Screener(load_lists(default_list_paths()), ScreeningConfig())
        sections = {}
        if args.eval_files and args.eval_dir.exists():
            sections |= eval_files(screener, args.eval_dir)
        if args.legacy:
            sections |= {f"generated variants [{k}]": v for k, v in legacy_benchmark(screener, 1200, 6).items()}
        for name, m in sections.items():
            print(f"\n{name}")
            for k, v in m.items():
                print(f"  {k:28s} {v:.4f}" if isinstance(v, float) else f"  {k:28s} {v}")
        result["extra"] = sections
    result["timings"]["total_s"] = round(time.perf_counter() - started, 1)
    print(f"\n({result['timings']['total_s']:.1f}s)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
