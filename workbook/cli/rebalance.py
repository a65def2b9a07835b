"""``volarb`` rebalance: the book moved toward the plan (put adjustments and the call-hedge restructure)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from workbook.cli.common import (
    EXIT_OK,
    add_common,
    add_risk_args,
    apply_overrides,
    emit_json,
    frame_records,
    load_inputs,
    load_market_inputs,
    table,
    usage_examples,
)


def rebalance_figures(pos: Any, cfg: Any, market: Any = None) -> dict[str, Any]:
    """The rebalance of a book with this run's risk alerts gating its orders (JSON-ready parts).

    Returns ``{"rebalance": Rebalance, "alerting": [...], "risk_inputs": {...}}``: the alerts
    come from the same daily risk check as ``volarb risk`` (so the same inputs hold the same
    orders), the listed call strikes from the chain when one is given.
    """
    from engine.plan.rebalance import rebalance
    from workbook.compute import listed_call_strikes, risk_figures

    rep = risk_figures(pos, cfg, market)
    surface = getattr(market, "surface", None)
    rb = rebalance(
        pos, cfg, alerts=list(rep["alerting"]), surface=surface, listed_strikes=listed_call_strikes(surface)
    )
    return {"rebalance": rb, "alerting": list(rep["alerting"]), "risk_inputs": rep["inputs"]}


def _rows(items: Any) -> list[dict[str, Any]]:
    return [dataclasses.asdict(x) for x in items]


def rebalance_text(rb: Any, alerting: list[str]) -> str:
    """The terminal tables of a :class:`engine.plan.rebalance.Rebalance`."""
    bp = rb.buying_power
    out = [
        f"rebalance {rb.valuation_date}: ${rb.obligation:,.2f} of short-put obligation (strike x 100 x "
        f"contracts) shared by the strike weights\n",
        f"buying power ${bp.available:,.2f} = {bp.basis}; after the placed orders ${rb.buying_power_left:,.2f}\n",
        f"risk alerts firing: {', '.join(alerting) if alerting else 'none'}\n\n",
    ]
    out.append(
        table(
            _rows(rb.strikes),
            [
                "strike",
                "weight",
                "held",
                "exact_target",
                "target",
                "difference",
                "action",
                "sell",
                "sell_held",
                "close",
                "kept",
                "obligation_held",
                "obligation_target",
                "obligation_difference",
                "premium_difference",
                "note",
            ],
            "put strikes: contracts; obligation $ (strike x 100 x contracts); premium $ at the model mid "
            "(+ received, - paid to buy back)",
        )
    )
    if rb.lots:
        out.append(
            "\n"
            + table(
                _rows(rb.lots),
                [
                    "position_row",
                    "strike",
                    "expiry",
                    "contracts",
                    "premium",
                    "buyback",
                    "close",
                    "keep",
                    "pnl_if_closed",
                    "reason",
                ],
                "lots at over-weight strikes (premium / buy-back $ per share; P&L $)",
            )
        )
    out.append(
        f"\ncall hedge: budget ${rb.hedge_budget:,.2f} = {rb.hedge_ratio:.2%} of ${rb.put_premium:,.2f} "
        f"premium received on the short puts\n"
    )
    out.append(
        table(
            _rows(rb.rungs),
            [
                "rung",
                "strike",
                "expiry",
                "share",
                "budget",
                "price",
                "exact_target",
                "target",
                "held",
                "difference",
                "buy",
                "cost",
                "leftover",
                "status",
                "reason",
            ],
            "hedge rungs (budget, cost, leftover $; price $ per share)",
        )
    )
    if rb.calls:
        out.append(
            "\n"
            + table(
                _rows(rb.calls),
                [
                    "position_row",
                    "side",
                    "strike",
                    "expiry",
                    "contracts",
                    "mark",
                    "value",
                    "action",
                    "rung",
                    "reason",
                ],
                "open calls (value $ at the model mark)",
            )
        )
    out.append(
        f"\nhedge coverage (call notional $ per short-put contract): {rb.coverage_before:,.2f} before, "
        f"{rb.coverage_after:,.2f} after\n"
        f"net cash at the model mid: call restructure ${rb.restructure_net_cash:,.2f}, put orders "
        f"${rb.puts_net_cash:,.2f}\n\n"
    )
    if len(rb.tickets):
        out.append(
            table(
                frame_records(rb.tickets),
                [
                    "sequence",
                    "status",
                    "action",
                    "kind",
                    "strike",
                    "expiry",
                    "contracts",
                    "mid",
                    "limit",
                    "worst",
                    "purpose",
                    "reason",
                ],
                "rebalance order tickets (HELD: not to be placed, see the reason; limit/worst $ per share; DAY, the plan's windows)",
            )
        )
    else:
        out.append("no rebalance orders: every strike and rung is on target or within the tolerance band\n")
    for w in rb.warnings:
        out.append(f"warning: {w}\n")
    return "".join(out)


def cmd_rebalance(args: argparse.Namespace) -> int:
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg)
    market = load_market_inputs(args, cfg)
    res = rebalance_figures(pos, cfg, market)
    rb = res["rebalance"]
    if args.json:
        emit_json(
            {
                "rebalance": rb.to_dict(),
                "alerting": res["alerting"],
                "inputs": res["risk_inputs"],
                "sources": sources,
            }
        )
    else:
        sys.stdout.write(rebalance_text(rb, res["alerting"]))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "rebalance",
        help="move the book toward the plan: put adjustments and the call-hedge restructure",
        formatter_class=fmt,
        description="Target vs book per put strike and hedge rung, and the orders that close the gap "
        "(close-if-profitable reductions, a tolerance band, held orders with reasons). "
        "Config: [rebalance]; see docs/rebalance.md.",
        epilog=usage_examples(
            "volarb rebalance",
            "volarb rebalance --positions my.csv --json",
            "volarb rebalance --chain chain.csv   # listed call strikes and smile",
        ),
    )
    add_common(p)
    add_risk_args(p)
    p.set_defaults(func=cmd_rebalance)
