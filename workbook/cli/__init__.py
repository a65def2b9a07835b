"""The ``volarb`` command line: a thin layer over :mod:`workbook.compute`, :mod:`workbook.report`
and the engine (house style rule 10: tests call the same functions directly).

Every command prints a human-readable table on a terminal and JSON with ``--json``.  Errors in
inputs print one line naming the file, row/column, cell or key and the rule, and exit with
status 2 (``--debug`` shows the traceback); Ctrl-C exits with 130 and leaves no half-written
file.

One module per command family, each with ``register(sub)`` adding its subcommands (and their
``func``) to the parser; :mod:`workbook.cli.common` holds what they share (exit codes, input
loaders, tables, JSON, progress bars, argparse types).  A new command is a new module listed in
:data:`FAMILIES`.
"""

from __future__ import annotations

import argparse
import sys

from workbook.cli import brokers, daily, plan, pricing, rebalance, report, review, risk, simulate
from workbook.cli.common import (
    EXIT_ALERT,
    EXIT_DATA,
    EXIT_INPUT,
    EXIT_INTERRUPT,
    EXIT_OK,
    CliError,
    clock_notes,
    load_inputs,
    one_line,
    usage_examples,
)
from workbook.cli.report import EXAMPLE_OUTPUTS

__all__ = [
    "main",
    "build_parser",
    "load_inputs",
    "CliError",
    "FAMILIES",
    "EXAMPLE_OUTPUTS",
    "EXIT_OK",
    "EXIT_INPUT",
    "EXIT_ALERT",
    "EXIT_DATA",
    "EXIT_INTERRUPT",
]

#: the command families, in the order their commands are listed by ``volarb --help``
FAMILIES = (report, pricing, risk, plan, rebalance, simulate, review, brokers, daily)


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="volarb",
        formatter_class=fmt,
        description="Options-strategy engine for a systematic short-put plan: report workbook, pricing, risk.",
        epilog=usage_examples(
            "volarb build                                  # the plan's example -> volarb-report.xlsx",
            "volarb build --positions my.csv --config plan.toml --out report.xlsx",
            "volarb refresh report.xlsx                    # after editing Inputs/Positions",
            "volarb price --strike 2.5 3 --days 30",
            "volarb risk --fail-on-alert                   # exit 1 when an alert fires",
            "volarb <command> --help",
        ),
    )
    parser.add_argument("--version", action="version", version=f"volarb {_version()}")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for family in FAMILIES:
        family.register(sub)
    return parser


def _version() -> str:
    from engine import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``volarb`` and ``python -m workbook``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    # `volarb --debug CMD`: the subcommand's own --debug default must not hide the global flag
    debug = getattr(args, "debug", False) or "--debug" in (sys.argv[1:] if argv is None else argv)
    from engine._validate import VolarbInputError
    from engine.data.marketfiles import MarketDataError

    try:
        code = int(args.func(args) or 0)
        for line in clock_notes(args):
            sys.stderr.write(line + "\n")
        return code
    except KeyboardInterrupt:
        sys.stderr.write("volarb: interrupted; no file was changed\n")
        return EXIT_INTERRUPT
    except MarketDataError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"volarb {args.command}: data source: {one_line(exc)}\n")
        return EXIT_DATA
    except (VolarbInputError, CliError) as exc:
        if debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"volarb {args.command}: error: {one_line(exc)}\n")
        return EXIT_INPUT
    except BrokenPipeError:  # pragma: no cover - e.g. `volarb build --json | head`
        return EXIT_OK
    except OSError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"volarb {args.command}: error: {where}{exc.strerror or exc}\n")
        return EXIT_INPUT
