"""Run every benchmark in turn (`make bench`); each prints its own figures and baseline ratio."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHES = [
    "api_overhead.py",
    "jobs_throughput.py",
    "customers_create.py",
    "screening_speed.py",
    "screening_quality.py",
    "subscribers_bulk.py",
    "crash.py",
    "fuzz.py",
]

failed = []
for name in BENCHES:
    path = HERE / name
    if not path.exists():
        continue
    print(f"\n=== {name}", flush=True)
    if subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode != 0:
        failed.append(name)
sys.exit(f"failed: {', '.join(failed)}" if failed else 0)
