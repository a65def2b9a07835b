"""``volarb`` risk: the daily risk check and its alerts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbook.cli.common import (
    EXIT_ALERT,
    EXIT_OK,
    CliError,
    account_table,
    add_clock_args,
    add_common,
    add_risk_args,
    apply_overrides,
    emit_json,
    fmt_value,
    is_builtin,
    kv_table,
    load_inputs,
    load_market_inputs,
    table,
    usage_examples,
)

_GREEK_LABELS = {
    "delta_shares": "delta (shares)",
    "delta_dollars": "delta $ (shares x spot)",
    "gamma": "gamma (shares per $1)",
    "theta_day": "theta $ per day",
    "vega_point": "vega $ per vol point",
    "rho_point": "rho $ per rate point",
    "value": "book value $ (model)",
    "obligation": "put obligation $ (if all assigned)",
    "margin": "margin $ (requirement net of value, vs net liquidation)",
    "positions": "positions (lots)",
}


def cmd_risk(args: argparse.Namespace) -> int:
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg, is_builtin(sources))
    market = load_market_inputs(args, cfg)
    from workbook.compute import risk_figures

    rep = risk_figures(pos, cfg, market)
    rep["sources"] = sources
    firing = list(rep["alerting"])
    sent = None
    if args.email:
        from connect.notify import send_alert_email

        if not cfg.email.enabled:
            raise CliError(
                "--email: email.enabled is false in the config; set [email] enabled = true, "
                "sender, recipients and smtp_host"
            )
        sent = send_alert_email(rep, cfg)
    if args.json:
        emit_json({**rep, "email": sent})
    else:
        var = rep["var"]
        sys.stdout.write(
            f"risk check {rep['valuation_date']}, portfolio value ${rep['portfolio_value']:,.2f}\n"
        )
        sys.stdout.write(
            kv_table(
                {_GREEK_LABELS.get(k, k): v for k, v in rep["greeks"].items()},
                f"portfolio Greeks (short negative; x {cfg.capital.contract_multiplier} shares per contract)",
            )
        )
        if rep.get("account"):
            sys.stdout.write("\n" + account_table(rep["account"]))
        sys.stdout.write(
            f"\nVaR {var['confidence']:.0%} {var['horizon_days']}-day ({var['method']}): "
            f"${var['var']:,.2f}   ES: ${var['es']:,.2f}\n"
        )
        if rep["iv"] is not None:
            iv = rep["iv"]
            cur = iv["current_iv"]
            cur_text = "n/a" if cur is None else f"{cur:.0%} ({fmt_value(cur)})"
            sys.stdout.write(
                f"IV {cur_text}: rank {fmt_value(iv['iv_rank'])}, percentile "
                f"{fmt_value(iv['iv_percentile'])} over {iv['observations']} days\n"
            )
        if rep["surface"] is not None:
            srf = rep["surface"]
            sys.stdout.write(
                f"vol surface: {srf['expiries']} expiries, {len(srf['nodes'])} nodes from "
                f"{srf['quotes']} quotes ({len(srf['dropped'])} dropped)\n"
            )
        sys.stdout.write(
            "\n"
            + table(rep["alerts"], ["alert", "status", "value", "threshold", "detail"], "daily risk check")
        )
        sys.stdout.write(
            f"{len(firing)} alert(s) firing" + (f": {', '.join(firing)}" if firing else "") + "\n"
        )
        if rep["expired_lots"]:
            sys.stdout.write(f"\n{rep['expired_lots']} lot(s) past expiry, left out of every figure above:\n")
            for a in rep["expired"]:
                sys.stdout.write(f"  {a['key']}: {a['action']}\n")
        if rep["events"]:
            sys.stdout.write("\n" + table(rep["events"], ["alert", "key", "detail"], "position events"))
        if sent:
            sys.stdout.write(f"emailed {', '.join(sent['recipients'])}\n")
    if args.fail_on_alert and firing:
        return EXIT_ALERT
    return EXIT_OK


def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "risk",
        help="daily risk check and alerts",
        formatter_class=fmt,
        description="Portfolio Greeks and the plan's daily risk alerts.",
        epilog=usage_examples(
            "volarb risk",
            "volarb risk --positions positions.csv --fail-on-alert",
            "volarb risk --iv-history iv.csv --previous-value 3650 --portfolio-value 3792",
            "volarb risk --prices closes.csv            # historical VaR",
            "volarb risk --chain chain.csv --var-method delta_gamma --json",
            "volarb risk --email --config plan.toml   # needs [email] enabled",
        ),
    )
    add_common(p)
    p.add_argument("--fail-on-alert", action="store_true", help="exit with status 1 when any alert fires")
    p.add_argument("--email", action="store_true", help="email the alert summary (config [email] section)")
    add_clock_args(p)
    add_risk_args(p)
    p.set_defaults(func=cmd_risk)
