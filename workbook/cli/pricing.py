"""``volarb`` price, iv: option prices, Greeks and implied vol from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbook.cli.common import (
    EXIT_INPUT,
    EXIT_OK,
    CliError,
    add_market_args,
    emit_json,
    load_config_arg,
    table,
    usage_examples,
)


def _t_from(args: argparse.Namespace, cfg: Any) -> Any:
    import numpy as np

    if args.t is not None:
        return np.asarray(args.t, dtype=float)
    if args.expiry:
        import datetime as dt

        from engine.units import days_to_years

        vd = cfg.valuation_date
        days = []
        for e in args.expiry:
            try:
                days.append((dt.date.fromisoformat(e) - vd).days)
            except ValueError:
                raise CliError(f"--expiry: expected a date YYYY-MM-DD, got {e!r}") from None
        return np.asarray(days_to_years(np.asarray(days, dtype=float)))
    from engine.units import days_to_years

    return np.asarray(days_to_years(np.asarray(args.days, dtype=float)))


def _market(args: argparse.Namespace) -> tuple[Any, float, float, float, float]:
    cfg, _ = load_config_arg(args.config)
    m = cfg.market
    spot = m.spot if args.spot is None else args.spot
    vol = m.vol if getattr(args, "vol", None) is None else args.vol
    rate = m.rate if args.rate is None else args.rate
    q = m.dividend_yield if args.q is None else args.q
    return cfg, spot, vol, rate, q


def cmd_price(args: argparse.Namespace) -> int:
    import numpy as np

    from engine import american_price, bs_price, greeks, prob_itm, prob_touch
    from engine._validate import VolarbInputError

    cfg, spot, vol, rate, q = _market(args)
    k = np.asarray(args.strike, dtype=float)
    t = _t_from(args, cfg)
    try:
        k, t = np.broadcast_arrays(k, t)
    except ValueError:
        raise CliError(
            f"give one --days/--t/--expiry or one per strike ({len(args.strike)} strikes)"
        ) from None
    for name, arr in (("--strike", k), ("--days/--t", t)):
        bad = ~np.isfinite(arr) | (arr <= 0 if name == "--strike" else arr < 0)
        if bad.any():
            raise CliError(f"{name}: must be {'> 0' if name == '--strike' else '>= 0'}, got {arr[bad][0]:g}")
    for name, v, lo in (("--spot", spot, 0.0), ("--vol", vol, -1e-300)):
        if not np.isfinite(v) or v <= lo:
            raise CliError(
                f"{name}: must be > 0, got {v:g}" if name == "--spot" else f"{name}: must be >= 0, got {v:g}"
            )
    pricer = american_price if args.style == "american" else bs_price
    try:
        price = np.atleast_1d(pricer(spot, k, t, rate, vol, args.kind, q))
        g = greeks(spot, k, t, rate, vol, args.kind, q, style=args.style)
        p_itm = np.atleast_1d(prob_itm(spot, k, t, rate, vol, args.kind, q))
        p_touch = np.atleast_1d(prob_touch(spot, k, t, rate, vol, args.kind, q))
    except VolarbInputError as exc:
        raise CliError(str(exc)) from None
    rows = []
    for i in range(len(k)):
        rows.append(
            {
                "kind": args.kind,
                "strike": float(k[i]),
                "days": float(t[i] * 365.0),
                "price": float(price[i]),
                "per_contract": float(price[i]) * cfg.capital.contract_multiplier,
                "delta": float(np.atleast_1d(g["delta"])[i]),
                "gamma": float(np.atleast_1d(g["gamma"])[i]),
                "theta_per_day": float(np.atleast_1d(g["theta_per_day"])[i]),
                "vega_per_point": float(np.atleast_1d(g["vega_per_point"])[i]),
                "prob_itm": float(p_itm[i]),
                "prob_touch": float(p_touch[i]),
            }
        )
    head = {"spot": spot, "vol": vol, "rate": rate, "q": q, "style": args.style}
    if args.json:
        emit_json({"inputs": head, "options": rows})
    else:
        sys.stdout.write(
            f"{args.style} {args.kind}s on spot {spot:g}, vol {vol:.2%}, rate {rate:.2%}, q {q:.2%}\n"
        )
        sys.stdout.write(
            table(
                rows,
                [
                    "strike",
                    "days",
                    "price",
                    "per_contract",
                    "delta",
                    "gamma",
                    "theta_per_day",
                    "vega_per_point",
                    "prob_itm",
                    "prob_touch",
                ],
            )
        )
    return EXIT_OK


def cmd_iv(args: argparse.Namespace) -> int:
    import numpy as np

    from engine import implied_vol
    from engine._validate import VolarbInputError
    from engine.pricing.impliedvol import iv_status_message

    cfg, spot, _, rate, q = _market(args)
    price = np.asarray(args.price, dtype=float)
    k = np.asarray(args.strike, dtype=float)
    t = _t_from(args, cfg)
    try:
        price, k, t = np.broadcast_arrays(price, k, t)
    except ValueError:
        raise CliError("give one --price per --strike (or a single value of either)") from None
    if not np.isfinite(spot) or spot <= 0:
        raise CliError(f"--spot: must be > 0, got {spot:g}")
    try:
        res = implied_vol(price, spot, k, t, rate, args.kind, q, style=args.style, full_output=True)
    except VolarbInputError as exc:
        raise CliError(str(exc)) from None
    vols = np.atleast_1d(res.vol)
    codes = np.atleast_1d(res.status)
    rows = [
        {
            "kind": args.kind,
            "strike": float(k[i]),
            "days": float(t[i] * 365.0),
            "price": float(price[i]),
            "iv": float(vols[i]),
            "status": iv_status_message(codes[i]),
        }
        for i in range(len(k))
    ]
    if args.json:
        emit_json({"inputs": {"spot": spot, "rate": rate, "q": q, "style": args.style}, "options": rows})
    else:
        sys.stdout.write(f"{args.style} implied vol, spot {spot:g}, rate {rate:.2%}\n")
        shown = [{**r, "iv %": "nan" if r["iv"] != r["iv"] else f"{r['iv']:.1%}"} for r in rows]
        sys.stdout.write(table(shown, ["strike", "days", "price", "iv", "iv %", "status"], right={"iv %"}))
    failed = [r for r in rows if r["iv"] != r["iv"]]
    if failed and len(failed) == len(rows) and not args.json:
        sys.stderr.write(f"volarb iv: no implied vol: {failed[0]['status']}\n")
        return EXIT_INPUT
    return EXIT_OK


def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "price",
        help="price options and their Greeks",
        formatter_class=fmt,
        description="Price options (American by default) with Greeks in display units "
        "(theta per day, vega per vol point).",
        epilog=usage_examples(
            "volarb price --strike 2.5",
            "volarb price --strike 2 2.5 3 4 5 --days 21",
            "volarb price --kind call --strike 4.5 --days 90 --vol 4.25 --json",
            "volarb price --strike 2.5 --expiry 2025-10-17 --style european",
        ),
    )
    p.add_argument("--strike", type=float, nargs="+", required=True, help="strike(s) $")
    add_market_args(p, with_vol=True)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_price)

    p = sub.add_parser(
        "iv",
        help="implied volatility from option prices",
        formatter_class=fmt,
        description="Implied volatility (American by default) of option prices; a price no vol can "
        "produce gives nan with the reason.",
        epilog=usage_examples(
            "volarb iv --price 1.15 --strike 2.5 --days 30",
            "volarb iv --price 0.70 1.15 1.60 --strike 2 2.5 3 --days 30 --json",
        ),
    )
    p.add_argument("--price", type=float, nargs="+", required=True, help="option price(s) $ per share")
    p.add_argument("--strike", type=float, nargs="+", required=True, help="strike(s) $")
    add_market_args(p, with_vol=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_iv)
