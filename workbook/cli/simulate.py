"""``volarb`` simulate: the Monte Carlo of the plan."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbook.cli.common import (
    EXIT_OK,
    Progress,
    add_clock_args,
    add_common,
    add_portfolio_arg,
    apply_overrides,
    emit_json,
    frame_records,
    is_builtin,
    load_inputs,
    nonneg_int,
    positive_int,
    table,
    usage_examples,
)


def cmd_simulate(args: argparse.Namespace) -> int:
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg, is_builtin(sources))
    from engine.risk.simulate import simulate_plan

    paths = args.paths if args.paths is not None else cfg.simulation.paths
    seed = args.seed if args.seed is not None else cfg.simulation.seed
    # about ten chunks so the bar moves (chunking does not change results), none below 5,000
    # paths (each chunk costs a fixed overhead: 2,000 paths in chunks of 500 take 3x as long)
    chunk = min(cfg.simulation.chunk_size, max(5000, -(-paths // 10)))
    bar = Progress(paths, "volarb simulate", unit="path")
    try:
        result = simulate_plan(cfg, pos, paths, seed, chunk_size=chunk, progress=bar.to)
    finally:
        bar.close()
    d = result.to_dict()
    if args.json:
        emit_json({"paths": paths, "seed": seed, **d})
        return EXIT_OK
    sys.stdout.write(f"simulation: {paths:,} paths, seed {seed}\n")
    for key in ("sizing", "costs"):  # the rule and costs behind every figure below
        if d.get(key):
            sys.stdout.write(f"{d[key]}\n")
    pct = result.percentiles
    if "month" not in pct.columns:
        pct = pct.reset_index()  # the month is the index
    sys.stdout.write(table(frame_records(pct), None, "equity percentiles"))
    sys.stdout.write(_simulation_text(d))
    return EXIT_OK


_SIM_SCALARS = (
    ("invested", "invested (start + additions) $", "money"),
    ("prob_loss", "probability of ending below invested", "pct"),
    ("prob_margin_call", "probability of a margin call", "pct"),
    ("share_with_assignment", "share of paths with an assignment", "pct"),
    ("share_with_early_assignment", "share of paths with an early assignment", "pct"),
    ("mean_discounted_costs", "mean discounted trading costs $", "money"),
    ("mean_discounted_final", "mean discounted final equity $", "money"),
    ("se_discounted_final", "standard error of that mean $", "money"),
    ("discounted_invested", "discounted invested $", "money"),
)


_SIM_DISTRIBUTIONS = (
    ("final_equity_summary", "final equity $", "money"),
    ("max_drawdown", "max drawdown", "pct"),
    ("annual_return", "annualized return", "pct"),
    ("sharpe", "Sharpe ratio (annualized)", "num"),
)


def _fmt_as(v: Any, how: str) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "n/a"
    if how == "pct":
        return f"{v:.1%}"
    if how == "money":
        return f"{v:,.2f}"
    return f"{v:.2f}"


def _simulation_text(d: dict[str, Any]) -> str:
    """The terminal summary of ``simulate``: probabilities, distributions and the plan's targets
    (every figure of the JSON except the tables already printed)."""
    out = []
    rows = [
        {"quantity": label, "value": _fmt_as(d.get(key), how)} for key, label, how in _SIM_SCALARS if key in d
    ]
    out.append("\n" + table(rows, ["quantity", "value"], "summary", right={"value"}))
    dist = []
    for key, label, how in _SIM_DISTRIBUTIONS:
        s = d.get(key)
        if isinstance(s, dict):
            dist.append(
                {
                    "quantity": label,
                    **{p: _fmt_as(s.get(p), how) for p in ("mean", "p5", "p25", "p50", "p75", "p95")},
                }
            )
    if dist:
        cols = ["quantity", "mean", "p5", "p25", "p50", "p75", "p95"]
        out.append("\n" + table(dist, cols, "distributions across paths", right=set(cols[1:])))
    targets = d.get("prob_targets")
    if isinstance(targets, dict) and targets:
        trows = [
            {
                "scenario": name,
                "final equity from $": _fmt_as(t.get("low"), "money"),
                "to $": _fmt_as(t.get("high"), "money"),
                "P(in range)": _fmt_as(t.get("in_range"), "pct"),
                "P(at least from)": _fmt_as(t.get("at_least"), "pct"),
            }
            for name, t in targets.items()
        ]
        out.append(
            "\n"
            + table(
                trows, None, "probability of the plan's scenario targets", right=set(trows[0]) - {"scenario"}
            )
        )
    return "".join(out)


def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "simulate",
        help="Monte Carlo of the plan",
        formatter_class=fmt,
        epilog=usage_examples("volarb simulate", "volarb simulate --paths 100000 --seed 1 --json"),
    )
    add_common(p)
    p.add_argument("--paths", type=positive_int, help="paths (default: config simulation.paths)")
    p.add_argument("--seed", type=nonneg_int, help="seed (default: config simulation.seed)")
    add_portfolio_arg(p)
    add_clock_args(p)
    p.set_defaults(func=cmd_simulate)
