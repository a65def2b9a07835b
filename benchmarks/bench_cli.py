"""End-to-end timing of the volarb command line (run: ``python benchmarks/bench_cli.py``).

Targets (issue 5): ``volarb build`` on the built-in example with the default simulation under
5 s, ``volarb price`` under 1 s.  Each command runs in a fresh process (``volarb`` if it is on
PATH, else ``python -m workbook``) so import time counts; the best and median of N runs are shown.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def _cmd() -> list[str]:
    exe = shutil.which("volarb")
    return [exe] if exe else [sys.executable, "-m", "workbook"]


def _time(args: list[str], cwd: str) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(REPO), VOLARB_NO_PROGRESS="1")
    out = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        proc = subprocess.run(_cmd() + args, cwd=cwd, env=env, capture_output=True, text=True)
        out.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"volarb {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return out


def main() -> int:
    cases = [
        ("volarb build (example, default simulation)", ["build", "--out", "bench.xlsx"], 5.0),
        ("volarb price --strike 2.5", ["price", "--strike", "2.5"], 1.0),
        ("volarb price (5 strikes, --json)", ["price", "--strike", "2", "2.5", "3", "4", "5", "--json"], 1.0),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, target in cases:
            times = _time(args, tmp)
            rows.append((name, min(times), statistics.median(times), target))
    w = max(len(r[0]) for r in rows)
    print(f"{'command'.ljust(w)}  {'best s':>7}  {'median s':>8}  {'target s':>8}  ok")
    print(f"{'-' * w}  -------  --------  --------  --")
    ok = True
    for name, best, med, target in rows:
        good = med < target
        ok &= good
        print(f"{name.ljust(w)}  {best:7.2f}  {med:8.2f}  {target:8.1f}  {'yes' if good else 'NO'}")
    print(f"({RUNS} runs each, {os.cpu_count()} CPUs, command: {' '.join(_cmd())})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
