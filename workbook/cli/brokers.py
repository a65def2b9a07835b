"""``volarb`` import: broker exports into positions.csv, journal.csv and equity.csv.

Also the loaders the other commands use when ``--positions`` (or review's ``--journal`` /
``--equity``) names a broker export instead of a volarb CSV: the layout is detected the same way
(:func:`engine.data.brokers.is_broker_file`).  See docs/import.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbook.cli.common import EXIT_OK, CliError, emit_json, table, usage_examples

__all__ = ["register", "cmd_import", "broker_import", "broker_positions", "review_broker_inputs"]

BROKER_CHOICES = ("auto", "tastytrade", "ibkr", "schwab", "tos", "fidelity", "robinhood", "etrade")


def broker_import(paths: list[str], broker: str = "auto", underlying: str | None = None) -> Any:
    """Read broker exports and run the lifecycle (:func:`engine.data.brokers.lifecycle.build_import`)."""
    from engine.config import default_config
    from engine.data.brokers import read_broker_file
    from engine.data.brokers.lifecycle import build_import

    parsed = []
    for f in paths:
        p = Path(f)
        if not p.exists():
            raise CliError(f"{p}: broker file not found")
        if p.is_dir():
            raise CliError(f"{p}: is a folder, expected a broker export file")
        parsed.append(read_broker_file(p, broker))
    und = underlying or default_config().market.underlying
    return build_import(parsed, und)


def broker_positions(path: Path) -> Any:
    """The positions table of a broker export: every open lot, options and share lots."""
    import csv
    import io

    import engine.data.positions as pos_mod

    res = broker_import([str(path)])
    rows = list(csv.DictReader(io.StringIO(res.positions_csv())))
    if not rows:
        raise CliError(f"{path.name}: the broker export has no open positions")
    return pos_mod.positions_from_records(rows, f"{path.name} (imported)")


def review_broker_inputs(journal: str, equity: str) -> tuple[Any, Any]:
    """A broker export given as review's --journal (or --equity) becomes the imported journal
    (equity) frame; other paths are returned unchanged."""
    import io

    import pandas as pd

    from engine.data.brokers import is_broker_file

    out: list[Any] = []
    for path, what in ((journal, "journal"), (equity, "equity")):
        if path and Path(path).is_file() and is_broker_file(path):
            res = broker_import([path])
            have = res.journal if what == "journal" else res.equity
            if not have:
                raise CliError(
                    f"{Path(path).name}: the broker export has no "
                    f"{'trades' if what == 'journal' else 'balances'} for --{what}"
                )
            text = res.journal_csv() if what == "journal" else res.equity_csv()
            out.append(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))
        else:
            out.append(path)
    return out[0], out[1]


def _backup_csv(path: Path) -> Path:
    """``journal.csv`` -> ``journal.bak.csv`` (atomic copy)."""
    import shutil

    from workbook.io import atomic_write_bytes

    dest = path.with_name(path.stem + ".bak" + path.suffix)

    def copy(tmp: Path) -> None:
        shutil.copyfile(path, tmp)

    atomic_write_bytes(dest, copy)
    return dest


def cmd_import(args: argparse.Namespace) -> int:
    from workbook.io import atomic_write_bytes, check_not_locked

    res = broker_import(
        args.files, args.broker, args.underlying
    )  # every file read before anything is written
    out = Path(args.out_dir)
    if not out.is_dir():
        raise CliError(f"--out-dir {out}: folder not found")
    targets = []
    if res.positions:
        targets.append(("positions.csv", res.positions_csv()))
    if res.journal:
        targets.append(("journal.csv", res.journal_csv()))
    if res.equity:
        targets.append(("equity.csv", res.equity_csv()))
    if not targets:
        raise CliError(
            f"{', '.join(Path(f).name for f in args.files)}: no trades, positions or balances to import"
        )
    for name, _ in targets:
        check_not_locked(out / name)
    backups = [str(_backup_csv(out / name)) for name, _ in targets if (out / name).exists()]
    written = []
    for name, text in targets:

        def write(tmp: Path, t: str = text) -> None:
            tmp.write_text(t, encoding="utf-8", newline="")

        atomic_write_bytes(out / name, write)
        written.append(str(out / name))
    rec = res.reconciliation
    if args.json:
        emit_json(
            {
                "written": written,
                "backups": backups,
                "underlying": res.underlying,
                "as_of": rec.as_of.isoformat() if rec.as_of else None,
                "positions": [
                    {
                        **{
                            k: getattr(p, k)
                            for k in (
                                "account",
                                "underlying",
                                "kind",
                                "side",
                                "strike",
                                "expiry",
                                "contracts",
                                "shares",
                                "premium",
                                "chain_id",
                                "note",
                            )
                        },
                        "open_costs": round(p.costs, 2),
                        "plan_basis_per_share": round(p.plan_basis, 6),
                    }
                    for p in res.positions
                ],
                "journal_lines": len(res.journal),
                "equity_points": len(res.equity),
                "chains": [
                    {
                        "chain_id": c.chain_id,
                        "account": c.account,
                        "underlying": c.underlying,
                        "kind": c.kind,
                        "legs": c.legs,
                        "rolls": c.rolls,
                        "premium": round(c.premium, 2),
                        "costs": round(c.costs, 2),
                        "status": c.status,
                        "break_even_per_share": round(c.break_even, 6),
                        "break_even_after_costs_per_share": round(c.break_even_after_costs, 6),
                    }
                    for c in res.chains
                    if c.rolls
                ],
                "reconciliation": {
                    "rows_read": rec.rows_read,
                    "rows_used": rec.rows_used,
                    "duplicates": rec.duplicates,
                    "lines": rec.lines(),
                },
            }
        )
        return EXIT_OK
    rows = [
        {
            "underlying": p.underlying,
            "kind": p.kind,
            "side": p.side,
            "strike $": f"{p.strike:.2f}",
            "expiry": p.expiry.isoformat(),
            "qty": f"{p.contracts:g} ct" if p.contracts else f"{p.shares:g} sh",
            "premium/cost $/sh": f"{p.premium:.4f}",
            "plan basis $/sh": f"{p.plan_basis:.4f}" if p.plan_basis == p.plan_basis else "",
            "account": p.account,
        }
        for p in res.positions
    ]
    sys.stdout.write(table(rows, None, f"open positions as of {rec.as_of}"))
    chains = [
        {
            "chain": c.chain_id,
            "legs": " -> ".join(c.legs),
            "premium $": f"{c.premium:.2f}",
            "costs $": f"{c.costs:.2f}",
            "break-even $/sh": f"{c.break_even:.4f}",
            "after costs $/sh": f"{c.break_even_after_costs:.4f}",
            "status": c.status,
        }
        for c in res.chains
        if c.rolls
    ]
    if chains:
        sys.stdout.write("\n" + table(chains, None, "roll chains (premium net of buybacks, gross of costs)"))
    sys.stdout.write("\nreconciliation\n" + "".join(f"  {ln}\n" for ln in rec.lines()))
    sys.stdout.write("".join(f"wrote {w}\n" for w in written) + "".join(f"backup {b}\n" for b in backups))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``import`` to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "import",
        help="read broker exports into positions.csv, journal.csv, equity.csv",
        formatter_class=fmt,
        description="Read broker exports (layout detected from the header line; docs/import.md lists "
        "them) and write positions.csv (open options and share lots), journal.csv (every "
        "open, close, expiration, assignment, exercise with premium, fees, commissions) and "
        "equity.csv (where the export carries net liquidation). Fills seen twice are booked "
        "once. Nothing is written unless every file reads; an existing file is kept as "
        "NAME.bak.csv.",
        epilog=usage_examples(
            "volarb import tastytrade-history.csv",
            "volarb import ibkr.xml --broker ibkr --out-dir data",
            "volarb import old.csv new.csv --underlying ASST --json",
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="broker export(s): CSV, or IBKR Flex Query XML")
    p.add_argument(
        "--broker",
        default="auto",
        choices=BROKER_CHOICES,
        help="refuse a file of another broker (default auto: detect)",
    )
    p.add_argument(
        "--underlying",
        metavar="TICKER",
        help="the plan's underlying; others are kept and flagged (default: config market.underlying)",
    )
    p.add_argument(
        "--out-dir", default=".", metavar="DIR", help="folder for positions.csv, journal.csv, equity.csv"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_import)
