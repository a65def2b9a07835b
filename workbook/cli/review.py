"""``volarb`` review: the weekly review from a trade journal and daily equity."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbook.cli.common import (
    EXIT_OK,
    CliError,
    add_clock_args,
    emit_json,
    fmt_value,
    load_config_arg,
    read_data_file,
    table,
    usage_examples,
)

_REVIEW_LABELS = (
    ("as_of", "review week ending"),
    ("weekly_return", "weekly return"),
    ("total_return", "total return (time-weighted, net of deposits)"),
    ("sharpe", "Sharpe ratio (annualized)"),
    ("max_drawdown", "max drawdown"),
    ("premium_capture_rate", "premium capture rate"),
    ("brier_score", "assignment calibration: Brier score"),
    ("brier_count", "settled puts with a prediction"),
    ("allocation_drift", "allocation drift vs strike weights"),
    ("hedge_effectiveness", "hedge effectiveness (return on hedge cost)"),
    ("iv_percentile", "IV percentile now"),
    ("iv_percentile_week_ago", "IV percentile a week ago"),
    ("iv_percentile_change", "IV percentile change"),
    ("correlation_second", "correlation with the second series"),
    ("observations", "equity observations"),
)


def cmd_review(args: argparse.Namespace) -> int:
    from engine.data.examples import example_path
    from engine.data.journal import read_equity, read_journal
    from engine.risk.review import weekly_review

    cfg, csrc = load_config_arg(args.config)
    if args.spot is not None:
        cfg = cfg.replace(market__spot=float(args.spot))
    if args.vol is not None:
        cfg = cfg.replace(market__vol=float(args.vol))
    given = [f for f in (args.journal, args.equity) if f]
    if args.example and given:
        raise CliError(
            "--example uses the built-in journal and equity files; drop --journal/--equity or --example"
        )
    if len(given) == 1:
        raise CliError("give both --journal and --equity (or neither, for the built-in example)")
    example = not given
    journal = str(example_path("journal")) if example else args.journal
    equity = str(example_path("equity")) if example else args.equity
    iv = args.iv_history or (str(example_path("iv_history")) if example else None)
    second = args.second or (str(example_path("second")) if example else None)
    from engine.data.ivhistory import read_iv_history
    from engine.data.prices import read_price_history
    from workbook.cli.brokers import review_broker_inputs

    journal, equity = review_broker_inputs(journal, equity)  # a broker export becomes its imported frame
    # validated here (one line per bad file), then passed by path so messages keep the file name
    if isinstance(journal, str):
        read_data_file(
            journal,
            read_journal,
            "trade journal",
            "--journal",
            "date, action, kind, strike, expiry, contracts, price",
        )
    if isinstance(equity, str):
        read_data_file(equity, read_equity, "equity history", "--equity", "date, equity")
    if iv:
        read_data_file(iv, read_iv_history, "IV history", "--iv-history", "date, iv")
    if second:
        read_data_file(second, read_price_history, "second price series", "--second", "date, close")
    as_of = None
    if args.as_of:
        import datetime as dt

        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise CliError(f"--as-of: expected a date YYYY-MM-DD, got {args.as_of!r}") from None
    res = weekly_review(journal, equity, cfg, iv_history=iv, second_series=second, as_of=as_of)
    sources = {
        "journal": journal,
        "equity": equity,
        "iv_history": iv,
        "second": second,
        "config": csrc,
        "example": example,
    }
    if args.json:
        emit_json({**res, "sources": sources})
        return EXIT_OK
    if example:
        sys.stdout.write(
            "weekly review of the built-in example (volarb example writes these files to edit)\n"
        )
    signed = {"weekly_return", "total_return", "hedge_effectiveness"}
    pct = {"max_drawdown", "premium_capture_rate", "allocation_drift"}
    rows = []
    for key, label in _REVIEW_LABELS:
        v = res.get(key)
        if v is None:
            text = "n/a (too little data)"
        elif key in signed:
            text = f"{v:+.2%}"
        elif key in pct:
            text = f"{v:.2%}"
        else:
            text = fmt_value(v)
        rows.append({"metric": label, "value": text, "key": key})
    sys.stdout.write(table(rows, ["metric", "value", "key"], "weekly review"))
    if res.get("allocation_by_strike"):
        alloc = [
            {
                "strike $": f"{r['strike']:.2f}"
                if isinstance(r["strike"], (int, float))
                else str(r["strike"]),
                "target": f"{r['target']:.1%}",
                "actual": f"{r['actual']:.1%}",
                "drift": f"{r['actual'] - r['target']:+.1%}",
            }
            for r in res["allocation_by_strike"]
        ]
        sys.stdout.write(
            "\n"
            + table(
                alloc,
                ["strike $", "target", "actual", "drift"],
                "allocation of open short-put obligation by strike",
            )
        )
    reb = res.get("rebalancing")
    if reb:
        sys.stdout.write(
            f"\nrebalancing recommendation ({reb['source']}; volarb rebalance --positions for the tickets):\n"
        )
        sys.stdout.write("".join(f"  {line}\n" for line in reb["recommendations"]))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "review",
        help="the plan's weekly review from a trade journal and daily equity",
        formatter_class=fmt,
        description="Weekly return, Sharpe, max drawdown, premium capture, assignment calibration "
        "(Brier score), allocation drift, hedge effectiveness, IV percentile trend and "
        "correlation with a second series. Without --journal/--equity: the built-in "
        "example (with its IV history and bitcoin series).",
        epilog=usage_examples(
            "volarb review                        # the built-in example",
            "volarb review --journal journal.csv --equity equity.csv",
            "volarb review --journal journal.csv --equity equity.csv "
            "--iv-history iv.csv --second bitcoin.csv --json",
        ),
    )
    p.add_argument(
        "--journal",
        metavar="CSV",
        help="trade journal: date, action, kind, strike, expiry, contracts, "
        "price[, predicted_prob_itm], or a broker export",
    )
    p.add_argument("--equity", metavar="CSV", help="daily equity: date, equity[, contribution]")
    p.add_argument("--iv-history", metavar="CSV", help="implied-vol history (date, iv): IV percentile trend")
    p.add_argument(
        "--second", metavar="CSV", help="second price series (date, close), e.g. bitcoin: correlation"
    )
    p.add_argument(
        "--as-of", metavar="DATE", help="last day of the review week (default: the last equity date)"
    )
    p.add_argument(
        "--example",
        action="store_true",
        help="use the built-in example files (the default when no --journal/--equity is given)",
    )
    p.add_argument("--config", metavar="TOML|XLSX", help="plan config (strike weights, rate, IV window)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    add_clock_args(p, as_of=False)  # review's own --as-of is the last day of the review week
    p.set_defaults(func=cmd_review)
