"""``volarb`` plan: the premium split, strike allocation, hedges, Kelly limits and projection."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbook.cli.common import (
    EXIT_OK,
    add_clock_args,
    add_common,
    add_portfolio_arg,
    apply_overrides,
    emit_json,
    frame_records,
    is_builtin,
    kv_table,
    load_inputs,
    table,
    usage_examples,
)


def cmd_plan(args: argparse.Namespace) -> int:
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg, is_builtin(sources))
    from workbook.compute import ReportData, _hedges, _kelly, _plan, _projection

    data = ReportData(config=cfg, positions=pos, meta={"sources": sources})
    for name, step in (("plan", _plan), ("hedges", _hedges), ("kelly", _kelly), ("projection", _projection)):
        try:
            step(data)
        except ImportError as exc:
            data.missing[name] = str(exc)
    res = data.results
    if args.json:
        emit_json({k: res.get(k) for k in ("premium_split", "allocation", "reinvestment", "hedge_ratio",
                                            "hedge_ladder", "kelly", "projection", "audit")} | {"missing": data.missing})
        return EXIT_OK
    if "premium_split" in res:
        sys.stdout.write(kv_table(res["premium_split"], "premium split"))
        sys.stdout.write("\n" + table(frame_records(res["allocation"]), ["strike", "weight", "capital", "premium",
                                                                  "capital_per_contract", "contracts", "literal_contracts",
                                                                  "expected_premium", "leftover"],
                                      f"strike allocation ({cfg.capital.model})"))
    if "hedge_ladder" in res:
        sys.stdout.write(f"\nhedge ratio {res['hedge_ratio']:.4f}\n")
        sys.stdout.write(table(frame_records(res["hedge_ladder"]), ["rung", "strike", "dte", "budget", "price", "contracts",
                                                               "cost"], "hedge ladder"))
    if "kelly" in res:
        sys.stdout.write("\n" + kv_table(res["kelly"], "Kelly limits"))
    if "projection" in res:
        sys.stdout.write("\n" + table(frame_records(res["projection"]), None, "projection"))
    for name, why in data.missing.items():
        sys.stdout.write(f"note: {name} not computed: {why}\n")
    return EXIT_OK



def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("plan", help="the plan: premium split, strike allocation, hedges, Kelly, projection",
                       formatter_class=fmt, epilog=usage_examples("volarb plan", "volarb plan --config plan.toml --json"))
    add_common(p)
    add_portfolio_arg(p)
    add_clock_args(p)
    p.set_defaults(func=cmd_plan)
