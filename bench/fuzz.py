"""The long fuzz run of issue 16, one command: `.venv/bin/python bench/fuzz.py [--scale N] [--machine-scale M]
[--postgres]`.

Runs, on a fresh SQLite database (or a throw-away PostgreSQL) through the test suite's fixtures (pytest in a
subprocess):
- Cisco's official Webex Wholesale spec against our app (tests/reliability/test_fuzz_cisco.py), N times the
  test's examples per operation;
- our own OpenAPI: every partner-facing operation, and the stateful run over its links (templates, customers,
  subscribers, bulk imports, billing reports) (tests/reliability/test_fuzz_own_spec.py), N times the examples;
- the lifecycle state machines (customers, subscribers, compliance cases, caps) (tests/reliability/
  test_lifecycle_machines.py), M times the examples, random instead of derandomized.

Prints, per spec: operations, operations answered 2xx at least once, cases run, 5xx, schema violations and the
documented spec exceptions applied; per machine: examples, steps and failures; and each failure found. Exits 1
when anything failed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/reliability/test_fuzz_cisco.py",
    "tests/reliability/test_fuzz_own_spec.py",
    "tests/reliability/test_lifecycle_machines.py",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=25, help="times the tests' examples per operation (25)")
    parser.add_argument("--machine-scale", type=float, default=25, help="times the machines' examples (25)")
    parser.add_argument("-k", default=None, help="pytest -k expression, to run a part")
    parser.add_argument("--postgres", action="store_true", help="on a throw-away PostgreSQL (scripts/pg.sh)")
    args = parser.parse_args()
    pg_dir = None
    database: dict[str, str] = {}
    if args.postgres:
        started = subprocess.run(["scripts/pg.sh", "start"], cwd=ROOT, capture_output=True, text=True, check=True)
        assigned = dict(line.split("=", 1) for line in started.stdout.split())
        pg_dir = assigned["PG_DIR"]
        database = {"WHOLESALE_TEST_DATABASE_URL": assigned["WHOLESALE_TEST_DATABASE_URL"]}
    try:
        return fuzz(args, database)
    finally:
        if pg_dir:
            subprocess.run(["scripts/pg.sh", "stop", pg_dir], cwd=ROOT, check=False)


def fuzz(args: argparse.Namespace, database: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory(prefix="wholesale-fuzz-") as tmp:
        report = Path(tmp) / "report.jsonl"
        # The fuzz measures the API, not the rate limiter (its own tests cover it): at 100x a token sends more
        # than the default 6,000 requests a minute.
        limits = {"WHOLESALE_RATE_LIMIT_PER_MINUTE": "1000000", "WHOLESALE_RATE_LIMIT_BURST": "100000"}
        env = (
            limits
            | dict(os.environ)
            | database
            | {
                "WHOLESALE_FUZZ_SCALE": str(args.scale),
                "WHOLESALE_FUZZ_MACHINE_SCALE": str(args.machine_scale),
                "WHOLESALE_FUZZ_REPORT": str(report),
            }
        )
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--show-capture=no", *TESTS]
        if args.k:
            command += ["-k", args.k]
        on = "PostgreSQL" if database else "SQLite"
        print(f"== {' '.join(command[2:])}  (scale {args.scale:g}, machines {args.machine_scale:g}, {on})", flush=True)
        started = time.monotonic()
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        lines = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []

    specs = [r for r in lines if r["kind"] == "spec"]
    machines = [r for r in lines if r["kind"] == "machine"]
    print(
        f"\n{'spec':<14} {'ops':>4} {'ops 2xx':>8} {'cases':>7} {'5xx':>5} {'schema viol.':>13}  spec exceptions applied"
    )
    for s in specs:
        excepted = ", ".join(f"{n}x {reason[:60]}" for reason, n in s["excepted"].items()) or "-"
        print(
            f"{s['spec']:<14} {s['operations']:>4} {s['operations_with_2xx']:>8} {s['cases']:>7} "
            f"{s['server_errors']:>5} {s['schema_violations']:>13}  {excepted}"
        )
    for s in specs:
        print(f"  {s['spec']}: statuses {s['statuses']}, kinds {s['kinds']}")
        if s["without_2xx"]:
            print(f"  {s['spec']}: never 2xx: {', '.join(s['without_2xx'])}")
    print(f"\n{'machine':<22} {'examples':>9} {'steps':>7} {'seconds':>8} {'failures':>9}")
    for m in machines:
        print(
            f"{m['machine']:<22} {m['examples']:>9} {m.get('steps', '-'):>7} {m.get('seconds', '-'):>8} "
            f"{m['failures']:>9}"
        )
        print(f"  seen: {json.dumps(m.get('seen', {}))}")
        for error in m.get("error", []):
            print(f"  error: {error}")
    totals = {
        "cases": sum(s["cases"] for s in specs),
        "server_errors": sum(s["server_errors"] for s in specs),
        "schema_violations": sum(s["schema_violations"] for s in specs),
        "machine_examples": sum(m["examples"] for m in machines),
        "machine_steps": sum(m.get("steps", 0) for m in machines),
        "machine_failures": sum(m["failures"] for m in machines),
        "pytest_exit": run.returncode,
        "seconds": round(elapsed),
    }
    print(f"\ntotal: {json.dumps(totals)}")
    for s in specs:
        for example in s["examples"]:
            print(f"\n[{s['spec']}] {example}")
    if run.returncode != 0:
        noise = ('"level"', "WARNING ", "ERROR ", "INFO ")
        tail = "\n".join(line for line in run.stdout.splitlines() if not line.lstrip().startswith(noise))[-8000:]
        print(f"\n== pytest failed (exit {run.returncode}):\n{tail}\n{run.stderr[-2000:]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
