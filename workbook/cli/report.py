"""``volarb`` build, refresh, example, check, template: the report and template workbooks and the example inputs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbook.cli.common import (
    EXIT_OK,
    CliError,
    add_clock_args,
    add_common,
    add_risk_args,
    after_write,
    apply_overrides,
    compute_data,
    emit_json,
    is_builtin,
    load_config_arg,
    load_inputs,
    load_positions_arg,
    nonneg_int,
    positive_int,
    save_with_progress,
    usage_examples,
)


def save_report_file(args: argparse.Namespace, wb: Any, path: Path) -> Path:
    """Save a report atomically, with cached values in its formula cells (:mod:`workbook.cached`).

    With ``--recalc`` LibreOffice stores its own values afterwards, so the cached-value step is
    skipped; ``VOLARB_NO_CACHED_VALUES=1`` skips it too (the test suite's CLI runs, for speed).
    """
    import os

    from workbook.io import atomic_save

    if args.recalc or os.environ.get("VOLARB_NO_CACHED_VALUES") == "1":
        return atomic_save(wb, path)
    from workbook.cached import save_report

    def note(rep: Any) -> None:
        if rep.missing:
            sys.stderr.write(
                f"volarb: note: {len(rep.missing)} formula cells have no stored value (first: "
                f"{rep.missing[0]}); a spreadsheet computes them on open\n"
            )

    return save_report(wb, path, on_report=note)


def cmd_build(args: argparse.Namespace) -> int:
    from workbook.io import backup_path, check_not_locked, make_backup
    from workbook.report import write_report

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise CliError(f"{out}: the report is an .xlsx workbook; give --out a name ending in .xlsx")
    check_not_locked(out)
    if out.exists() and not args.force:
        raise CliError(
            f"{out} already exists: not overwriting a report you may have edited; run `volarb refresh "
            f"{out}` to recompute it keeping your edits, or `volarb build --force` to replace it "
            f"(the old file is kept as {backup_path(out).name})"
        )
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg, is_builtin(sources))
    backup = make_backup(out) if out.exists() else None  # --force: the old report is kept first
    data = save_with_progress(
        args, cfg, pos, sources, write_report, lambda wb: save_report_file(args, wb, out)
    )
    return after_write(args, data, out, backup)


def cmd_refresh(args: argparse.Namespace) -> int:
    from workbook.io import (
        check_not_locked,
        load_user_workbook,
        make_backup,
        read_config_sheet,
        read_positions_sheet,
    )
    from workbook.report import refresh_workbook

    path = Path(args.report)
    check_not_locked(path)
    wb = load_user_workbook(path)
    values = load_user_workbook(
        path, data_only=True
    )  # cached values of formula cells a writer left in inputs
    cfg = read_config_sheet(wb, str(path), values=values)
    pos = read_positions_sheet(wb, str(path), values=values)
    sources = {"config": f"{path} (sheet Inputs)", "positions": f"{path} (sheet Positions)"}
    if args.portfolio_value is not None:
        # an explicit new portfolio value is written into the Inputs cell so the sheet and the
        # figures agree (the only Inputs cell refresh ever changes, and only when asked)
        from workbook import layout as L
        from workbook.io import inputs_key_cells

        cell = inputs_key_cells(wb[L.SHEET_INPUTS]).get("account.starting_value")
        if cell is not None:
            wb[L.SHEET_INPUTS][cell].value = float(args.portfolio_value)
    cfg = apply_overrides(args, cfg)
    if args.as_of is not None:
        # the date asked for is written into the Inputs cell too, so the sheet and the figures agree
        from workbook import layout as L
        from workbook.io import inputs_key_cells

        cell = inputs_key_cells(wb[L.SHEET_INPUTS]).get("market.valuation_date")
        if cell is not None:
            wb[L.SHEET_INPUTS][cell].value = cfg.market.valuation_date
    from workbook.io import read_about_risk_inputs

    _dropped_risk_inputs(read_about_risk_inputs(wb), args)
    saved: dict[str, Any] = {}

    def refresh(data: Any) -> Any:
        refresh_workbook(wb, data)
        return wb

    def save(book: Any) -> None:
        saved["backup"] = make_backup(path)
        save_report_file(args, book, path)

    data = save_with_progress(args, cfg, pos, sources, refresh, save)
    return after_write(args, data, path, saved["backup"])


def _dropped_risk_inputs(before: dict[str, str], args: argparse.Namespace) -> list[str]:
    """Notes (on stderr) for the risk-input files a report used last time but this refresh was
    not given: a refresh reads only the workbook, so without them the chain's vols, the measured
    IV percentile or historical VaR silently give way to the config's figures."""
    from workbook import layout as L

    notes = []
    for key, path in before.items():
        if getattr(args, key, None):
            continue
        flag = L.ABOUT_RISK_INPUTS[key][1]
        notes.append(
            f"volarb refresh: note: the report was last computed with {flag} {path}; this refresh "
            f"was not given {flag}, so its figures no longer use that file (pass {flag} {path} "
            "again to keep them)"
        )
    for line in notes:
        sys.stderr.write(line + "\n")
    return notes


EXAMPLE_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("positions", "positions.csv"),
    ("config", "plan.toml"),
    ("chain", "chain.csv"),
    ("iv_history", "iv-history.csv"),
    ("prices", "prices.csv"),
    ("journal", "journal.csv"),
    ("equity", "equity.csv"),
    ("second", "bitcoin.csv"),
)


def cmd_example(args: argparse.Namespace) -> int:
    import shutil

    from engine.data.examples import example_path

    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise CliError(f"{folder}: exists and is not a folder (--dir)")
    targets = [(name, folder / fname) for name, fname in EXAMPLE_OUTPUTS]
    existing = [str(t) for _, t in targets if t.exists()]
    if existing and not args.force:
        raise CliError(
            f"{existing[0]} already exists"
            + (f" (and {len(existing) - 1} more example files)" if len(existing) > 1 else "")
            + "; not overwriting your files: use --force to replace "
            "them, or --dir to write elsewhere"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, target in targets:
        shutil.copyfile(example_path(name), target)
        written.append(str(target))
    if args.json:
        emit_json({"dir": str(folder), "files": written})
    else:
        sys.stdout.write("wrote " + ", ".join(written) + "\n")
        sys.stdout.write(
            f"try: volarb build --positions {targets[0][1]} --config {targets[1][1]} "
            f"--chain {targets[2][1]} --iv-history {targets[3][1]}\n"
        )
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the inputs by running every step ``build`` runs (engine and sheet writer, nothing
    saved), so a file ``check`` passes is a file ``build`` takes; then warn about lots past
    expiry and lots close to it."""
    from workbook.report import write_report

    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg, is_builtin(sources))
    if getattr(args, "paths", None) is None:
        args.paths = min(cfg.simulation.paths, CHECK_PATHS)  # the rules do not depend on the path count
    data = compute_data(args, cfg, pos, sources)
    write_report(data)  # the writer's rules too (in memory; nothing is saved)
    warnings = [
        f"{a['key']} expired on {a['expiry']}: {a['action']}"
        for a in data.risk.expired or ()
        if a["recorded_outcome"] is None
    ]
    warnings += [e["detail"] for e in data.risk.events or () if e["alert"] == "SHORT_NEAR_EXPIRY"]
    out = {
        "config": sources["config"],
        "positions": sources["positions"],
        "n_positions": len(pos),
        "contracts": int(pos["contracts"].sum()),
        "valid": True,
        "valuation_date": data.meta["valuation_date"],
        "warnings": warnings,
    }
    if args.json:
        emit_json(out)
    else:
        sys.stdout.write(
            f"OK: config {sources['config']} is valid; {len(pos)} positions "
            f"({out['contracts']} contracts) in {sources['positions']}; every build step ran "
            f"(valued {out['valuation_date']})\n"
        )
        for w in warnings:
            sys.stdout.write(f"warning: {w}\n")
    return EXIT_OK


#: simulation paths of ``volarb check`` (it runs the simulation for its input rules only)
CHECK_PATHS = 50


def cmd_template(args: argparse.Namespace) -> int:
    from workbook.template import write_template

    cfg = pos = None
    if args.config:
        cfg, _ = load_config_arg(args.config)
    if args.positions:
        pos, _ = load_positions_arg(args.positions)
    out = Path(args.out or ("volarb-template.xlsm" if args.macro else "volarb-template.xlsx"))
    wanted = ".xlsm" if args.macro else ".xlsx"
    if out.suffix.lower() != wanted:
        raise CliError(
            f"{out}: the {'macro-enabled ' if args.macro else ''}template is an {wanted} workbook; "
            f"give --out a name ending in {wanted}"
        )
    from workbook.io import check_not_locked

    check_not_locked(out)
    result = write_template(out, config=cfg, positions=pos, macro=args.macro)
    path = result if result is not None else out
    if args.json:
        emit_json({"out": str(path)})
    else:
        sys.stdout.write(f"wrote {path}\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add this family's subcommands to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "build",
        help="write the report workbook",
        formatter_class=fmt,
        description="Compute the plan, risk and simulation and write the report workbook "
        "(atomically: an interrupted run leaves the previous file intact). An existing "
        "file is never replaced without --force, and then it is backed up first.",
        epilog=usage_examples(
            "volarb build",
            "volarb build --positions positions.csv --out today.xlsx",
            "volarb build --config plan.toml --paths 20000 --seed 7 --recalc",
            "volarb build --iv-history iv.csv --previous-value 3650 --chain chain.csv",
            "volarb build --json > report.json",
        ),
    )
    add_common(p)
    p.add_argument(
        "--out",
        default="volarb-report.xlsx",
        metavar="XLSX",
        help="output workbook (default volarb-report.xlsx)",
    )
    p.add_argument("--paths", type=positive_int, help="simulation paths (default: config simulation.paths)")
    p.add_argument("--seed", type=nonneg_int, help="simulation seed (default: config simulation.seed)")
    p.add_argument("--recalc", action="store_true", help="store computed values with LibreOffice headless")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --out file (it is first copied to NAME.bak.xlsx)",
    )
    add_clock_args(p)
    add_risk_args(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "refresh",
        help="recompute a report after editing its Inputs/Positions",
        formatter_class=fmt,
        description="Read the Inputs and Positions sheets of REPORT, recompute, rewrite only the computed "
        "sheets (user sheets, edits and extra sheets are kept); the previous file is kept "
        "as REPORT.bak.xlsx.",
        epilog=usage_examples("volarb refresh volarb-report.xlsx", "volarb refresh report.xlsx --recalc"),
    )
    p.add_argument("report", metavar="REPORT.xlsx")
    add_common(p, inputs=False)
    p.add_argument("--paths", type=positive_int, help="simulation paths (default: the Inputs sheet's)")
    p.add_argument("--seed", type=nonneg_int, help="simulation seed (default: the Inputs sheet's)")
    p.add_argument("--recalc", action="store_true", help="store computed values with LibreOffice headless")
    add_clock_args(p)
    add_risk_args(p)
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser(
        "example",
        help="write the example input files to edit",
        formatter_class=fmt,
        description="Write the built-in example inputs as files you can edit: "
        + ", ".join(f for _, f in EXAMPLE_OUTPUTS)
        + ". Existing files are never "
        "overwritten unless --force is given.",
        epilog=usage_examples(
            "volarb example                    # into the current folder",
            "volarb example --dir my-plan",
            "volarb example --dir my-plan --force",
        ),
    )
    p.add_argument(
        "--dir", default=".", metavar="DIR", help="folder to write into (default: the current folder)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files of the same names")
    p.add_argument("--json", action="store_true", help="print JSON (the files written)")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_example)

    p = sub.add_parser(
        "check",
        help="validate the inputs only",
        formatter_class=fmt,
        epilog=usage_examples(
            "volarb check --positions positions.csv --config plan.toml",
            "volarb check --positions report.xlsx --config report.xlsx",
        ),
    )
    add_common(p)
    add_clock_args(p)
    add_risk_args(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "template",
        help="write the Excel template with the volarb add-in",
        formatter_class=fmt,
        epilog=usage_examples("volarb template", "volarb template --macro --out volarb.xlsm"),
    )
    add_common(p)
    p.add_argument(
        "--out", metavar="XLSX|XLSM", help="output (default volarb-template.xlsx, or .xlsm with --macro)"
    )
    p.add_argument(
        "--macro", action="store_true", help="macro-enabled workbook (.xlsm) for the xlwings add-in"
    )
    p.set_defaults(func=cmd_template)
