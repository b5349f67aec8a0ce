"""Screening quality benchmark: recall, precision and alert rates on eval/ files and generated variants.

Run: .venv/bin/python bench/screening_quality.py [--eval-dir DIR] [--n 1500]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import sys
import time
from pathlib import Path

from wholesale.compliance.screening import (
    Screener,
    ScreeningConfig,
    ScreeningQuery,
    default_list_paths,
    load_lists,
    normalize_name,
)

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared/reference/screening-data/eval"
LEGAL_FORMS = [
    "LLC",
    "Ltd",
    "Limited",
    "GmbH",
    "S.A.",
    "Co., Ltd.",
    "Inc.",
    "JSC",
    "Corporation",
    "AG",
    "S.R.L.",
    "Limited Liability Company",
    "PLC",
    "OOO",
    "FZE",
    "B.V.",
]
CYRILLIC = dict(zip("abvgdezijklmnoprstufhcqwxy", "абвгдезийклмнопрстуфхкквкы", strict=False))
# Innocent company names: words chosen from ordinary business vocabulary, combined at random.
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
    "Crystal",
    "Coastal",
    "Highland",
    "Riverside",
    "Evergreen",
    "Sunrise",
    "Polar",
    "Harbor",
    "Granite",
    "Maple",
    "Cedar",
    "Oak",
    "Willow",
    "Falcon",
    "Phoenix",
    "Lotus",
    "Orion",
    "Vertex",
    "Nova",
    "Zenith",
    "Horizon",
    "Meridian",
    "Sterling",
    "Apex",
    "Cobalt",
    "Amber",
    "Ivory",
    "Emerald",
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
    "Analytics",
    "Labs",
    "Robotics",
    "Dental",
    "Bakery",
    "Furniture",
    "Printing",
    "Cloud",
    "Data",
    "Security",
    "Travel",
    "Health",
    "Pharma",
    "Motors",
    "Plastics",
    "Packaging",
    "Studios",
    "Ventures",
    "Capital",
    "Recycling",
    "Engineering",
    "Electric",
    "Optics",
    "Farms",
    "Water",
    "Design",
    "Fitness",
    "Education",
    "Interiors",
    "Marine",
    "Aviation",
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
    "O'Brien",
    "Tanaka",
    "Yamamoto",
    "Kim",
    "Nguyen",
    "Silva",
    "Santos",
    "Costa",
    "Fischer",
    "Weber",
    "Becker",
    "Moreau",
    "Laurent",
    "Bianchi",
    "Ferrari",
    "Horvat",
    "Nielsen",
    "Virtanen",
    "Kovacs",
    "Popescu",
    "Papadopoulos",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Clarke",
    "Baker",
]


def split_of(entry_id: str) -> str:
    """Deterministic 80/20 split: tuning was done only on 'tune' entities."""
    return "holdout" if int(hashlib.sha1(entry_id.encode()).hexdigest(), 16) % 5 == 0 else "tune"


def typo(name: str, rng: random.Random) -> str:
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


def reorder(name: str, rng: random.Random) -> str:
    words = name.replace(",", " ").split()
    if len(words) < 2:
        return name
    k = rng.randrange(1, len(words))
    return " ".join(words[k:] + words[:k])


def change_legal_form(name: str, rng: random.Random) -> str:
    norm = normalize_name(name)
    base = " ".join(w for w in name.replace(",", " ").split() if normalize_name(w).legal_forms == ())
    forms = [f for f in LEGAL_FORMS if normalize_name("x " + f).legal_forms != norm.legal_forms]
    return f"{base or name} {rng.choice(forms)}"


RU_FORMS = ["ООО", "АО", "ЗАО", "ПАО", "ТОО"]


def transliterate(name: str, rng: random.Random) -> str:
    """Spell the name as a Cyrillic registry would: words in Cyrillic letters, a Russian legal form."""
    words = [w for w in name.replace(",", " ").split() if not normalize_name("x " + w).legal_forms]
    if len(words) >= 2 and " ".join(words).upper().startswith(("JOINT STOCK", "LIMITED LIABILITY", "OPEN JOINT")):
        words = normalize_name(name).core.split()
    cyr = " ".join("".join(CYRILLIC.get(c, c) for c in w.lower()) for w in words)
    return f"{rng.choice(RU_FORMS)} {cyr}" if normalize_name(name).legal_forms else cyr


TRANSFORMS = {"typo": typo, "word_order": reorder, "legal_form": change_legal_form, "transliteration": transliterate}


def innocent_companies(n: int, rng: random.Random) -> list[str]:
    out = set()
    while len(out) < n:
        kind = rng.random()
        if kind < 0.5:
            name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
        elif kind < 0.8:
            name = f"{rng.choice(SURNAMES)} {rng.choice(WORDS_B)}"
        else:
            name = f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {rng.choice(WORDS_B)}"
        out.add(f"{name} {rng.choice(LEGAL_FORMS)}")
    return sorted(out)


def ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def company_benchmark(screener: Screener, n: int, seed: int) -> dict[str, dict[str, float]]:
    """Generated company variants vs innocent company names, per split, at the review threshold."""
    rng = random.Random(seed)
    companies = [e for e in screener.list_set.entries if e.entity_type == "company" and len(e.name) >= 6]
    rng.shuffle(companies)
    innocents = innocent_companies(n, random.Random(seed + 1))
    report = {}
    for split in ("tune", "holdout"):
        pool = [e for e in companies if split_of(e.entry_id) == split][: n // len(TRANSFORMS) + 1]
        tp = fn = wrong = 0
        per_kind: dict[str, list[int]] = {k: [0, 0] for k in TRANSFORMS}
        for e in pool:
            cores = {normalize_name(x).core for x in (e.name, *e.aliases)}
            for kind, fn_t in TRANSFORMS.items():
                q = fn_t(e.name, rng)
                r = screener.screen(ScreeningQuery(e.entry_id, q))
                ok = r.decision != "clear" and any(
                    h.entry_id == e.entry_id or normalize_name(h.name).core in cores for h in r.hits
                )
                per_kind[kind][0] += ok
                per_kind[kind][1] += 1
                if ok:
                    tp += 1
                else:
                    fn += 1
                    if r.decision != "clear":
                        wrong += 1
        half = innocents[: len(innocents) // 2] if split == "tune" else innocents[len(innocents) // 2 :]
        fp_innocent = sum(screener.screen(ScreeningQuery("x", name)).decision != "clear" for name in half)
        # Precision with one innocent query per generated positive query (base rate 1:1).
        scale = (tp + fn) / len(half)
        fp = wrong + fp_innocent * scale
        report[split] = {
            "positives": tp + fn,
            "recall": ratio(tp, tp + fn),
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "innocent_companies": len(half),
            "innocent_alert_rate": ratio(fp_innocent, len(half)),
            **{f"recall_{k}": ratio(v[0], v[1]) for k, v in per_kind.items()},
        }
    return report


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
            out[name] = {"names": len(rows), "alert_rate": ratio(len(alerts), len(rows))}
            out[name]["examples"] = "; ".join(alerts[:5])  # type: ignore[assignment]
    treated, untreated = eval_dir / "yente_positives_un_treated.csv", eval_dir / "yente_positives_un_untreated.csv"
    if treated.exists() and untreated.exists():
        t_rows, u_rows = read_csv(treated), read_csv(untreated)
        listed = found = 0
        for t, u in zip(t_rows, u_rows, strict=False):
            ru = screener.screen(ScreeningQuery("u", u["full_name"], country=u.get("nationality") or None))
            if ru.decision == "clear":
                continue  # the UN person is not on DPL/SDN: nothing to find
            listed += 1
            ids = {h.entry_id for h in ru.hits}
            rt = screener.screen(ScreeningQuery("t", t["full_name"], country=t.get("nationality") or None))
            found += rt.decision != "clear" and bool(ids & {h.entry_id for h in rt.hits})
        out["yente_positives_un (treated, on DPL/SDN)"] = {
            "pairs": listed,
            "recall": ratio(found, listed),
            "share_on_lists": ratio(listed, len(u_rows)),
        }
    p = eval_dir / "watchman_cross_script_pairs.csv"
    if p.exists():
        rows = [
            r
            for r in csv.reader(line for line in p.open(encoding="utf-8") if line.strip() and not line.startswith("#"))
            if len(r) >= 2
        ]
        hits = sum(screener.score_pair(r[0], r[1]) >= cfg.review_threshold for r in rows)
        out["watchman_cross_script_pairs"] = {"pairs": len(rows), "recall": ratio(hits, len(rows))}
    p = eval_dir / "nomenklatura_ofac_parity_fixtures.csv"
    if p.exists():
        rows = read_csv(p)
        agree = sum(
            (screener.score_pair(r["query_name"], r["result_name"], "," in r["result_name"]) >= cfg.review_threshold)
            == (int(r["ofac_score"]) >= 95)
            for r in rows
        )
        out["ofac_parity (agree with OFAC score>=95)"] = {"pairs": len(rows), "agreement": ratio(agree, len(rows))}
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
                "recall": ratio(tp, tp + fn),
                "precision": ratio(tp, tp + fp),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    ap.add_argument("--lists", nargs="*", type=Path, default=None, help="list files (default: shipped DPL + SDN)")
    ap.add_argument("--n", type=int, default=1200, help="generated company queries per split (approx.)")
    ap.add_argument("--seed", type=int, default=6)
    args = ap.parse_args(argv)
    list_set = load_lists(args.lists or default_list_paths())
    screener = Screener(list_set, ScreeningConfig())
    cfg = screener.config
    print(f"lists: {', '.join(f'{v.source} {v.entry_count} entries {v.sha256[:12]}' for v in list_set.versions)}")
    print(f"thresholds: review {cfg.review_threshold}  match {cfg.match_threshold}")
    started = time.perf_counter()
    for split, m in company_benchmark(screener, args.n, args.seed).items():
        print(f"\ncompany variants [{split}]")
        for k, v in m.items():
            print(f"  {k:28s} {v:.4f}" if isinstance(v, float) else f"  {k:28s} {v}")
    if args.eval_dir.exists():
        for name, m in eval_files(screener, args.eval_dir).items():
            print(f"\n{name}")
            for k, v in m.items():
                print(f"  {k:28s} {v:.4f}" if isinstance(v, float) else f"  {k:28s} {v}")
    print(f"\n({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
