"""``volarb`` plan: the premium split, strike allocation, hedges, Kelly limits and projection."""

from __future__ import annotations

import argparse
import dataclasses
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
    from workbook.compute import compute_plan

    data = compute_plan(cfg, pos)
    plan, hedges, proj = data.plan, data.hedges, data.projection
    account = data.account.summary()
    if args.json:
        emit_json(
            {
                "account": account,
                "premium_split": plan.split,
                "allocation": plan.allocation,
                "reinvestment": plan.reinvestment,
                "hedge_ratio": hedges.ratio,
                "hedge_ladder": hedges.ladder,
                "kelly": data.kelly,
                "projection": proj.table,
                "audit": proj.audit,
            }
        )
        return EXIT_OK
    sys.stdout.write(account_table(account) + "\n")
    sys.stdout.write(kv_table(dataclasses.asdict(plan.split), "premium split"))
    sys.stdout.write(
        "\n"
        + table(
            frame_records(plan.allocation),
            [
                "strike",
                "weight",
                "capital",
                "premium",
                "capital_per_contract",
                "contracts_sized",
                "contracts",
                "literal_contracts",
                "bp_per_contract",
                "buying_power_used",
                "expected_premium",
                "leftover",
            ],
            f"strike allocation ({cfg.capital.model}, capital per contract net of the premium, capped by buying power "
            f"${account['buying_power']:,.0f}; literal = the plan's int(capital / (premium x 100)))",
        )
    )
    sys.stdout.write(f"\nhedge ratio {hedges.ratio:.4f}\n")
    sys.stdout.write(
        table(
            frame_records(hedges.ladder),
            ["rung", "strike", "dte", "budget", "price", "contracts", "cost"],
            "hedge ladder",
        )
    )
    sys.stdout.write("\n" + kv_table(dataclasses.asdict(data.kelly), "Kelly limits"))
    sys.stdout.write("\n" + table(frame_records(proj.table), None, "projection"))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "plan",
        help="the plan: premium split, strike allocation, hedges, Kelly, projection",
        formatter_class=fmt,
        epilog=usage_examples("volarb plan", "volarb plan --config plan.toml --json"),
    )
    add_common(p)
    add_portfolio_arg(p)
    add_clock_args(p)
    p.set_defaults(func=cmd_plan)
