"""``volarb`` plan: the premium split, strike allocation, hedges, Kelly limits and projection."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbook.cli.common import (
    EXIT_OK,
    account_table,
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
    from engine.risk.book import mark_book
    from workbook.compute import ReportData, _account, _hedges, _kelly, _plan, _projection

    data = ReportData(config=cfg, positions=pos, meta={"sources": sources})
    data.results["marked"] = mark_book(pos, cfg)  # the marked book only: a book may hold no short puts
    for step in (_account, _plan, _hedges, _kelly, _projection):
        step(data)
    res = data.results
    if args.json:
        emit_json({k: res.get(k) for k in ("account", "premium_split", "allocation", "reinvestment", "hedge_ratio",
                                            "hedge_ladder", "kelly", "projection", "audit")})
        return EXIT_OK
    if "account" in res:
        sys.stdout.write(account_table(res["account"]) + "\n")
    if "premium_split" in res:
        sys.stdout.write(kv_table(res["premium_split"], "premium split"))
        bp = res.get("account", {}).get("buying_power")
        cap_text = "" if bp is None else f", capped by buying power ${bp:,.0f}"
        sys.stdout.write("\n" + table(frame_records(res["allocation"]), ["strike", "weight", "capital", "premium",
                                                                  "capital_per_contract", "contracts_sized", "contracts",
                                                                  "literal_contracts", "bp_per_contract",
                                                                  "buying_power_used", "expected_premium", "leftover"],
                                      f"strike allocation ({cfg.capital.model}, capital per contract net of the "
                                      f"premium{cap_text}; literal = the plan's int(capital / (premium x 100)))"))
    if "hedge_ladder" in res:
        sys.stdout.write(f"\nhedge ratio {res['hedge_ratio']:.4f}\n")
        sys.stdout.write(table(frame_records(res["hedge_ladder"]), ["rung", "strike", "dte", "budget", "price", "contracts",
                                                               "cost"], "hedge ladder"))
    if "kelly" in res:
        sys.stdout.write("\n" + kv_table(res["kelly"], "Kelly limits"))
    if "projection" in res:
        sys.stdout.write("\n" + table(frame_records(res["projection"]), None, "projection"))
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
