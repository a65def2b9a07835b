"""Benchmark of the plan's Monte Carlo: 100,000 paths x 6 months of daily steps.

The run is the default config (example book of 38 puts) with American early exercise at the
boundary and the trading costs on (``simulation.costs``, the defaults of ``execution.*``), as
issue 9 requires.  Prints a Markdown table: wall time and CPU time, paths/s, peak resident
memory (``resource.getrusage`` ``ru_maxrss``: the whole process, so it includes Python and the
libraries), and the speed-up over a straightforward per-path loop of the same model (the same
plan code run one path at a time, on a few hundred paths, its time per path extrapolated to
the full count; the table says so).  Targets (issues 4 and 9): < 20 s and < 2 GiB on the
2-core machine.

Run from the repository root::

    python benchmarks/bench_simulate.py            # 100,000 paths
    python benchmarks/bench_simulate.py --quick    # 10,000 paths
    python benchmarks/bench_simulate.py --sizing full_requirement   # fewer margin calls: more work
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import default_config  # noqa: E402
from engine.data.positions import example_positions  # noqa: E402
from engine.risk.simulate import _American, _book, _draws, _model, _put_table_keys, _run_chunk, simulate_plan  # noqa: E402


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def per_path_loop(cfg, positions, n: int, seed: int, months: int) -> float:
    """Seconds per path when the same model runs one path at a time (draws made once per block)."""
    model = _model(cfg, months)
    book = _book(positions, cfg)
    s = cfg.simulation
    amer = _American(
        model.rate,
        model.q,
        min(cfg.market.vol, s.iv_long_run) * 0.999,
        max(cfg.market.vol, s.iv_long_run) * 1.001,
        fixed_vol=model.nu == 0,
    )
    if amer.fixed:
        amer.prepare(_put_table_keys(cfg, model, book, months))  # the pricing tables, built once
    draws = _draws(model, seed, 0, n)
    t0 = time.perf_counter()
    for i in range(n):
        _run_chunk(
            cfg,
            model,
            seed,
            i,
            i + 1,
            book,
            months,
            "american",
            cfg.margin,
            amer,
            draws={k: v[:, i : i + 1] for k, v in draws.items()},
        )
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--loop-paths", type=int, default=300)
    ap.add_argument("--sizing", default="plan", choices=("plan", "full_requirement", "buying_power"))
    args = ap.parse_args()
    paths = 10_000 if args.quick else 100_000
    cfg = default_config().replace(simulation__sizing=args.sizing)
    pos = example_positions()
    months = 6
    t0, c0 = time.perf_counter(), time.process_time()
    res = simulate_plan(cfg, pos, paths=paths, seed=cfg.simulation.seed, months=months, deterministic=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_mib()
    loop = per_path_loop(cfg, pos, args.loop_paths, cfg.simulation.seed, months)
    loop_total = loop * paths
    print(
        f"## simulate_plan: {paths:,} paths x {months} months x 21 daily steps "
        f"(chunk {cfg.simulation.chunk_size:,}, example book of 38 puts and 6 long calls, American early exercise, costs on)\n"
    )
    print(f"{res.sizing}; {res.costs}\n")
    print("| measure | value | target |")
    print("|---|---:|---:|")
    print(f"| wall time | {wall:.2f} s | < 20 s |")
    print(f"| CPU time of the process | {cpu:.2f} s | |")
    print(f"| paths per second | {paths / wall:,.0f} | |")
    print(f"| peak resident memory (whole process) | {peak:,.0f} MiB | < 2048 MiB |")
    print(f"| per-path loop, measured on {args.loop_paths} paths | {loop * 1e3:.2f} ms/path | |")
    print(f"| per-path loop extrapolated to {paths:,} paths | {loop_total:,.0f} s | |")
    print(f"| speed-up of the vectorized run | {loop_total / wall:,.0f}x | |")
    print(
        f"\nprob_loss {res.prob_loss:.3f}, prob_margin_call {res.prob_margin_call:.3f}, "
        f"median final equity {res.percentiles['p50'].iloc[-1]:,.0f} $, early assignment on "
        f"{res.share_with_early_assignment:.1%} of paths, mean discounted costs {res.mean_discounted_costs:,.0f} $"
    )


if __name__ == "__main__":
    main()
