"""Benchmark of full-revaluation VaR: 100,000 scenarios on the built-in example ladder.

The example book is the plan's 38 short puts (7 lots, 5 strikes, 3 expiries) and its 4 illustrative
long-call lots.  Each scenario
reprices every lot with the American pricer (exact European + early-exercise premium
interpolated from a grid priced once per expiry), see engine/risk/var.py.  Target: < 1 s.
Prints a Markdown table (best of 5 runs, and the first, cold run).

Run from the repository root::

    python benchmarks/bench_var.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import default_config  # noqa: E402
from engine.data.positions import example_positions  # noqa: E402
from engine.risk.var import value_at_risk  # noqa: E402


def main() -> None:
    cfg = default_config()
    pos = example_positions()
    rows = []
    for method, style in (("full", "american"), ("full", "european"), ("delta_gamma", "american")):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            r = value_at_risk(pos, cfg, method, scenarios=100_000, seed=1, style=style)
            times.append(time.perf_counter() - t0)
        rows.append((method, style, times[0], min(times), r["var"], r["es"]))
    print("## VaR, 100,000 scenarios, example book (38 puts / 5 strikes, 6 long calls), 95% 1-day\n")
    print("| method | pricer | first run | best of 5 | VaR $ | ES $ | target |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for m, s, first, best, var, es in rows:
        print(
            f"| {m} | {s} | {first * 1e3:.0f} ms | {best * 1e3:.0f} ms | {var:,.0f} | {es:,.0f} | "
            f"{'< 1 s' if m == 'full' else ''} |"
        )


if __name__ == "__main__":
    main()
