"""Shared pieces of the ``volarb`` commands: exit codes, input loaders, tables, JSON, progress, argparse types."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0


EXIT_ALERT = 1


EXIT_INPUT = 2


EXIT_INTERRUPT = 130

#: the data source is unreachable or returned data that must not be used (previous files kept)
EXIT_DATA = 3


class CliError(Exception):
    """An error the user can fix; printed as one line, exit status 2."""


def is_workbook(path: Path) -> bool:
    return path.suffix.lower() in (".xlsx", ".xlsm")


def load_input(path: str | None, what: str) -> tuple[Any, str]:
    """The config or the positions from a file, a report workbook's sheet, or the built-in example.

    ``what`` is "config" (TOML, or a workbook's Inputs sheet) or "positions" (CSV, or a
    workbook's Positions sheet).  Returns the value and a description of its source.
    """
    import engine.config as cfg_mod
    import engine.data.positions as pos_mod

    example, read_file, read_sheet, sheet, builtin = {
        "config": (
            cfg_mod.default_config,
            cfg_mod.load_config,
            "read_config_sheet",
            "Inputs",
            "built-in example (the plan's parameters)",
        ),
        "positions": (
            pos_mod.example_positions,
            pos_mod.read_positions,
            "read_positions_sheet",
            "Positions",
            "built-in example (the plan's 38 short puts and illustrative long calls)",
        ),
    }[what]
    if not path:
        return example(), builtin
    p = Path(path)
    if is_workbook(p):
        import workbook.io as wio  # openpyxl only when a workbook is read

        return (
            getattr(wio, read_sheet)(
                wio.load_user_workbook(p), str(p), values=wio.load_user_workbook(p, data_only=True)
            ),
            f"{p} (sheet {sheet})",
        )
    if not p.exists():
        raise CliError(f"{p}: {what} file not found")
    if what == "positions" and p.is_file():
        from engine.data.brokers import is_broker_file

        if is_broker_file(p):  # a broker export (volarb import layouts)
            from workbook.cli.brokers import broker_positions

            return broker_positions(p), f"{p} (broker export)"
    return read_file(p), str(p)


def load_config_arg(path: str | None) -> tuple[Any, str]:
    """Config from a TOML file, a report workbook's Inputs sheet, or the built-in example."""
    return load_input(path, "config")


def load_positions_arg(path: str | None) -> tuple[Any, str]:
    """Positions from a CSV, a report workbook's Positions sheet, or the built-in example."""
    return load_input(path, "positions")


def load_inputs(args: argparse.Namespace) -> tuple[Any, Any, dict[str, str]]:
    cfg, csrc = load_config_arg(getattr(args, "config", None))
    pos, psrc = load_positions_arg(getattr(args, "positions", None))
    return cfg, pos, {"config": csrc, "positions": psrc}


def read_data_file(path: str, reader: Any, what: str, flag: str, columns: str) -> Any:
    """Read one optional input file with ``reader``; every failure is one line naming the file."""
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise CliError(f"{p}: {what} file not found ({flag})")
    if p.is_dir():
        raise CliError(f"{p}: is a folder, expected a {what} CSV ({flag})")
    try:
        df = reader(p)
    except pd.errors.EmptyDataError:
        raise CliError(f"{p.name}: the file is empty (expected a header line: {columns})") from None
    except pd.errors.ParserError as exc:
        raise CliError(f"{p.name}: not a valid CSV ({one_line(exc)})") from None
    except UnicodeDecodeError:
        raise CliError(f"{p.name}: not UTF-8 text; save the CSV as UTF-8") from None
    if isinstance(df, pd.DataFrame) and df.empty:  # a chain reader returns a VolSurface
        raise CliError(f"{p.name}: no data rows after the header (expected {columns})")
    return df


def money_arg(text: str) -> float:
    """argparse type: a positive dollar amount (``4100``, ``$4,100.50``)."""
    try:
        v = float(str(text).replace("$", "").replace(",", "").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive dollar amount, got {text!r}") from None
    if not (v > 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive dollar amount, got {text!r}")
    return v


def flow_arg(text: str) -> float:
    """argparse type: a signed dollar amount (``4000``, ``-$1,500``): deposits +, withdrawals -."""
    raw = str(text).replace("$", "").replace(",", "").strip()
    try:
        v = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a dollar amount (negative for a withdrawal), got {text!r}"
        ) from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(
            f"expected a dollar amount (negative for a withdrawal), got {text!r}"
        )
    return v


def apply_overrides(args: argparse.Namespace, cfg: Any, builtin: bool = False) -> Any:
    """The config with ``--portfolio-value`` (``account.starting_value``), ``--spot``, ``--vol``
    and the valuation clock (``--as-of``, ``"today"``) applied.

    The clock (:func:`engine.data.clock.resolve_clock`) is kept as ``args.clock`` for the
    report's About sheet; its notes (a date moved to the previous session, a stale valuation
    date, the built-in example's fixed date) go to stderr after the command (:func:`clock_notes`).
    """
    pv = getattr(args, "portfolio_value", None)
    if pv is not None:
        cfg = cfg.replace(account__starting_value=float(pv))
    if getattr(args, "spot", None) is not None:
        cfg = cfg.replace(market__spot=float(args.spot))
    if getattr(args, "vol", None) is not None:
        cfg = cfg.replace(market__vol=float(args.vol))
    from engine.data.clock import resolve_clock

    cfg, clock = resolve_clock(cfg, getattr(args, "as_of", None), builtin=builtin)
    args.clock = clock
    return cfg


def clock_notes(args: argparse.Namespace) -> list[str]:
    """The clock's notes of a finished run, one stderr line each (printed by ``main`` after a
    command succeeded, so an error stays one line)."""
    clock = getattr(args, "clock", None)
    return [] if clock is None else [f"volarb {getattr(args, 'command', '')}: note: {n}" for n in clock.notes]


def is_builtin(sources: dict[str, str]) -> bool:
    """True when the config of a run is the built-in example."""
    return str(sources.get("config", "")).startswith("built-in")


def as_of_arg(text: str) -> Any:
    """argparse type: ``--as-of`` date ``YYYY-MM-DD`` (or ``today``)."""
    from engine.data.clock import parse_as_of

    try:
        return parse_as_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--as-of: ", "")) from None


def spot_arg(text: str) -> float:
    """argparse type: an underlying price > 0, $ per share (``3.15``, ``$3.15``)."""
    try:
        v = float(str(text).replace("$", "").replace(",", "").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a price in $ per share > 0, got {text!r}") from None
    if not (v > 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a price in $ per share > 0, got {text!r}")
    return v


#: above this a bare --vol is a percent without its % sign (1000% = 10.0, the config's maximum)
VOL_MAX = 10.0


def vol_arg(text: str) -> float:
    """argparse type: annualized vol as a decimal (``4.25``) or a percent (``425%``).

    A bare number above 10 (1000%) is refused with the two spellings that were likely meant,
    never priced as 42,500%.

    >>> vol_arg("425%"), vol_arg("4.25")
    (4.25, 4.25)
    """
    t = str(text).strip()
    pct = t.endswith("%")
    try:
        v = float(t[:-1] if pct else t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a vol as a decimal (4.25) or a percent (425%), got {text!r}"
        ) from None
    if pct:
        v /= 100.0
    if not (v > 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a vol > 0, got {text!r}")
    if v > VOL_MAX:
        raise argparse.ArgumentTypeError(
            f"{text!r} would be {v:.0%} vol; write {t}% for {v / 100:.2f} "
            f"({v:g}%) or a decimal up to {VOL_MAX:g} (1000%)"
        )
    return v


def add_clock_args(p: argparse.ArgumentParser, as_of: bool = True) -> None:
    """``--as-of``, ``--spot``, ``--vol`` of the commands that value the book."""
    g = p.add_argument_group("valuation")
    if as_of:
        g.add_argument(
            "--as-of",
            type=as_of_arg,
            metavar="DATE",
            help="value the book on DATE (YYYY-MM-DD) instead of market.valuation_date; a weekend or "
            "holiday moves to the previous session",
        )
    g.add_argument(
        "--spot", type=spot_arg, metavar="$", help="underlying price, $ per share (overrides market.spot)"
    )
    g.add_argument(
        "--vol",
        type=vol_arg,
        metavar="VOL",
        help="implied vol, decimal 4.25 or percent 425%% (overrides market.vol)",
    )


def load_market_inputs(args: argparse.Namespace, cfg: Any) -> Any:
    """The optional market data of a run (``--iv-history``, ``--prices``, ``--chain``, ...).

    Files are read and validated here, before any computation, so a bad file stops the run
    with one line naming the file, line and column (exit 2).
    """
    from workbook.compute import MarketInputs

    mi = MarketInputs(
        previous_value=getattr(args, "previous_value", None),
        contribution=getattr(args, "contribution", None) or 0.0,
        clock=getattr(args, "clock", None),
    )
    outcomes = getattr(args, "outcomes", None) or cfg.alerts.outcomes_file
    if outcomes:
        from engine.risk.expiry import read_outcomes

        mi.outcomes = read_outcomes(outcomes)
        mi.sources["outcomes"] = str(outcomes)
    if getattr(args, "iv_history", None):
        from engine.data.ivhistory import read_iv_history

        mi.iv_history = read_data_file(
            args.iv_history, read_iv_history, "IV history", "--iv-history", "date, iv"
        )
        mi.sources["iv_history"] = str(args.iv_history)
    if getattr(args, "prices", None):
        from engine.data.prices import read_price_history

        mi.prices = read_data_file(
            args.prices, read_price_history, "price history", "--prices", "date, close"
        )
        mi.sources["prices"] = str(args.prices)
    method = getattr(args, "var_method", None)
    if method is None:
        method = "historical" if mi.prices is not None else cfg.risk.var_method
    mi.var_method = method
    if method == "historical":
        if mi.prices is None:
            raise CliError("--var-method historical needs --prices CSV (daily closes: date, close)")
        need = cfg.risk.var_horizon_days + 20
        if len(mi.prices) < need:
            raise CliError(
                f"{Path(args.prices).name}: {len(mi.prices)} closes; historical VaR over "
                f"{cfg.risk.var_horizon_days} day(s) needs at least {need} (--prices)"
            )
    if getattr(args, "chain", None):
        from engine.pricing.surface import read_option_chain

        mi.surface = read_data_file(
            args.chain,
            lambda p: read_option_chain(p, cfg),
            "option chain",
            "--chain",
            "expiry, strike, kind, bid, ask",
        )
        mi.sources["chain"] = str(args.chain)
    return mi


def fmt_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v:
            return "nan"
        a = abs(v)
        if a >= 1000:
            return f"{v:,.2f}"
        if a >= 1 or a == 0:
            return f"{v:.4g}" if a < 10 else f"{v:.2f}"
        return f"{v:.4f}"
    return str(v)


def terminal_width() -> int:
    """Columns available for a table: the terminal's width, ``COLUMNS``, else 120 (pipes, files)."""
    import shutil

    return max(40, shutil.get_terminal_size((120, 24)).columns)


def _column_decimals(values: list[Any]) -> int | None:
    """One number of decimals for a column of floats: 2 when every nonzero value is >= 1 in
    size (dollars, days, counts), else 4; None for a column that is not all numbers."""
    nums = [v for v in values if v is not None]
    if not nums or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in nums):
        return None
    if all(isinstance(v, int) for v in nums):
        return 0
    small = any(v == v and 0 < abs(v) < 0.995 for v in nums)
    return 4 if small else 2


def _cell(v: Any, decimals: int | None) -> str:
    if decimals is None or v is None or isinstance(v, (bool, int)):
        return fmt_value(v)
    if v != v:
        return "nan"
    return f"{v:,.{decimals}f}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 3)] + "..."


def table(
    rows: list[dict[str, Any]],
    columns: list[str] | None = None,
    title: str | None = None,
    right: Any = (),
    width: int | None = None,
    per_column: bool = True,
) -> str:
    """Plain-text table of dict rows that fits ``width`` (default :func:`terminal_width`).

    Numbers (and the columns named in ``right``) are right-aligned, with one number of decimals
    per column (``per_column``; see :func:`_column_decimals`).  A table wider than ``width``
    first shortens its widest text columns (down to 24 characters, ending in ``...``), then is
    split into blocks of columns, each repeating the first column.
    """
    from workbook.compute import to_jsonable

    rows = [to_jsonable(r) for r in rows]
    width = width or terminal_width()
    if not rows:
        return (title + "\n" if title else "") + "(none)\n"
    columns = columns or list(rows[0].keys())
    decimals = [(_column_decimals([r.get(c) for r in rows]) if per_column else None) for c in columns]
    cells = [[_cell(r.get(c), d) for c, d in zip(columns, decimals)] for r in rows]
    numeric = [
        c in right or all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows)
        for c in columns
    ]
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    total = sum(widths) + 2 * (len(widths) - 1)
    while total > width:
        text_cols = [i for i, n in enumerate(numeric) if not n and widths[i] > 24]
        if not text_cols:
            break
        i = max(text_cols, key=lambda j: widths[j])
        cut = min(widths[i] - 24, total - width)
        widths[i] -= cut
        total -= cut
    cells = [[_clip(v, w) for v, w in zip(row, widths)] for row in cells]
    heads = [_clip(str(c), w) for c, w in zip(columns, widths)]
    blocks, cur, used = [], [0], widths[0]
    for i in range(1, len(columns)):
        if used + 2 + widths[i] > width and len(cur) > 1:
            blocks.append(cur)
            cur, used = [0], widths[0]
        cur.append(i)
        used += 2 + widths[i]
    blocks.append(cur)
    import textwrap

    out = textwrap.wrap(title, width) if title else []
    for b, idx in enumerate(blocks):
        if b:
            out.append("")
        out.append(
            "  ".join(heads[i].rjust(widths[i]) if numeric[i] else heads[i].ljust(widths[i]) for i in idx)
        )
        out.append("  ".join("-" * widths[i] for i in idx))
        for row in cells:
            out.append(
                "  ".join(row[i].rjust(widths[i]) if numeric[i] else row[i].ljust(widths[i]) for i in idx)
            )
    return "\n".join(line.rstrip() for line in out) + "\n"


def kv_table(d: dict[str, Any], title: str | None = None) -> str:
    return table(
        [{"quantity": k, "value": v} for k, v in d.items()], ["quantity", "value"], title, per_column=False
    )


def frame_records(df: Any) -> list[dict[str, Any]]:
    import pandas as pd

    return df.to_dict(orient="records") if isinstance(df, pd.DataFrame) else list(df)


def emit_json(obj: Any) -> None:
    from workbook.compute import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


class Progress:
    """tqdm bar on stderr, only when stderr is a terminal (and ``VOLARB_NO_PROGRESS`` is unset).

    ``bar(name)`` counts one finished step and shows its name; :meth:`label` shows what runs
    next without counting (the save of a large report); :meth:`to` moves a bar counted in
    units (paths) to an absolute position.
    """

    def __init__(self, total: int, desc: str, unit: str = "step") -> None:
        self.bar = None
        if sys.stderr.isatty() and not os.environ.get("VOLARB_NO_PROGRESS"):
            from tqdm import tqdm

            # ncols from terminal_width(): a terminal that reports 0 columns would get an empty bar
            self.bar = tqdm(
                total=total,
                desc=desc,
                file=sys.stderr,
                leave=False,
                unit=unit,
                unit_scale=unit != "step",
                ncols=min(terminal_width(), 100),
            )

    def __call__(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name)
            self.bar.update(1)

    def label(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def to(self, done: int, total: int | None = None) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def compute_data(
    args: argparse.Namespace, cfg: Any, pos: Any, sources: dict[str, str], bar: Progress | None = None
) -> Any:
    """Every engine step of a report; ``bar`` (owned by the caller, who closes it) counts them,
    else a bar of its own is shown and closed here."""
    from workbook.compute import STEPS, compute_report

    paths = getattr(args, "paths", None)
    seed = getattr(args, "seed", None)
    market = load_market_inputs(args, cfg)
    own = bar is None
    bar = bar if bar is not None else Progress(len(STEPS), "volarb")
    try:
        return compute_report(cfg, pos, paths=paths, seed=seed, sources=sources, progress=bar, market=market)
    finally:
        if own:
            bar.close()


def save_with_progress(
    args: argparse.Namespace, cfg: Any, pos: Any, sources: dict[str, str], make_wb: Any, save: Any
) -> Any:
    """Compute, write the sheets and save, with one bar over all of it (steps + sheets + save).

    ``make_wb(data)`` returns the workbook; ``save(wb)`` writes it.  Returns the data.
    """
    from workbook.compute import STEPS

    bar = Progress(len(STEPS) + 2, f"volarb {getattr(args, 'command', '')}".strip())
    try:
        data = compute_data(args, cfg, pos, sources, bar=bar)
        bar.label("writing sheets")
        wb = make_wb(data)
        bar("sheets written")
        bar.label("saving")
        save(wb)
        bar("saved")
    finally:
        bar.close()
    return data


def report_summary(data: Any, out: Path | None) -> str:
    """The short text summary ``volarb build`` / ``refresh`` print (a :class:`workbook.compute.ReportData`)."""
    lines = [f"wrote {out}"] if out is not None else []
    split, totals, acct = data.plan.split, data.book.totals, data.account
    d = {
        "as of": data.config.market.valuation_date,
        "positions": len(data.positions),
        "net liquidation $": acct.net_liquidation,
        "excess liquidity $ (EWL - maintenance)": acct.excess_liquidity,
        "buying power $ (EWL - initial)": acct.buying_power,
        "premium collected $": split.premium,
        "book value $": totals.value,
        "unrealized P&L $": totals.unrealized_pnl,
        "portfolio delta $": totals.delta_dollars,
        "call hedge budget $": split.call_hedge_budget,
        "put expansion budget $": split.put_expansion_budget,
        "hedge ratio": data.hedges.ratio,
        "full Kelly": data.kelly.full_kelly,
        f"VaR {data.risk.var.confidence:.0%} $": data.risk.var.var,
    }
    lines.append(kv_table(d).rstrip())
    alerts = data.risk.alerts
    if len(alerts):
        lines.append(
            table(frame_records(alerts), ["alert", "status", "value", "threshold"], "alerts").rstrip()
        )
    held = data.orders[data.orders["status"] == "HELD"] if len(data.orders) else data.orders
    if len(held):
        lines.append(
            f"{len(held)} of {len(data.orders)} order tickets HELD (first: {held['reason'].iloc[0]})"
        )
    return "\n".join(lines) + "\n"


def after_write(args: argparse.Namespace, data: Any, path: Path, backup: Path | None = None) -> int:
    """After a report is saved: ``--recalc`` through LibreOffice, then ``--json`` or the summary."""
    if args.recalc:
        from workbook.recalc import recalculate_in_place

        recalculate_in_place(path)
    if args.json:
        d = data.to_dict()
        d["meta"]["out"] = str(path)
        if backup is not None:
            d["meta"]["backup"] = str(backup)
        emit_json(d)
    else:
        sys.stdout.write(report_summary(data, path))
        if backup is not None:
            sys.stdout.write(f"backup of the previous file: {backup}\n")
    return EXIT_OK


def usage_examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {ln}" for ln in lines)


def add_common(p: argparse.ArgumentParser, inputs: bool = True, json_flag: bool = True) -> None:
    if inputs:
        p.add_argument(
            "--positions",
            metavar="CSV|XLSX",
            help="positions CSV, a broker export (volarb import layouts) or a report's Positions "
            "sheet; default: the plan's 38 short puts and illustrative long calls",
        )
        p.add_argument(
            "--config",
            metavar="TOML|XLSX",
            help="plan config TOML (or a report's Inputs sheet); default: the plan's parameters",
        )
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON (every figure) instead of tables")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")


def add_risk_args(p: argparse.ArgumentParser) -> None:
    """Market data of the daily risk check (risk, build, refresh)."""
    g = p.add_argument_group("risk-check inputs")
    g.add_argument(
        "--iv-history",
        metavar="CSV",
        help="implied-vol history (columns date, iv as a decimal): IV rank/percentile and the "
        "LOW_IV_ENVIRONMENT alert (N/A without it)",
    )
    g.add_argument(
        "--prices",
        metavar="CSV",
        help="daily closes of the underlying (columns date, close) for historical VaR; "
        "selects --var-method historical unless another method is given",
    )
    g.add_argument(
        "--var-method",
        choices=("full", "delta_gamma", "historical"),
        help="VaR method (default: config risk.var_method, or historical with --prices)",
    )
    g.add_argument(
        "--previous-value",
        type=money_arg,
        metavar="$",
        help="yesterday's portfolio value, $: the DAILY_PNL_ALERT (N/A without it)",
    )
    g.add_argument(
        "--contribution",
        type=flow_arg,
        metavar="$",
        help="money deposited since yesterday's value, $ (negative: withdrawn); the daily P&L "
        "nets it out, so the monthly deposit does not trip DAILY_PNL_ALERT",
    )
    g.add_argument(
        "--chain",
        metavar="CSV",
        help="option chain (expiry, strike, kind, bid, ask): its implied-vol surface marks "
        "positions that have no iv of their own (instead of market.vol)",
    )
    g.add_argument(
        "--outcomes",
        metavar="CSV",
        help="recorded expiry outcomes (underlying, kind, side, strike, expiry, outcome: "
        "expired_worthless/assigned/exercised/closed); default: config alerts.outcomes_file",
    )
    add_portfolio_arg(p)


def add_portfolio_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--portfolio-value",
        type=money_arg,
        metavar="$",
        help="today's portfolio value (net liquidation), $; overrides config account.starting_value",
    )


def add_market_args(p: argparse.ArgumentParser, with_vol: bool) -> None:
    p.add_argument("--kind", choices=("put", "call"), default="put", help="option kind (default put)")
    p.add_argument("--spot", type=float, help="underlying price $ (default: config market.spot, 3.15)")
    if with_vol:
        p.add_argument(
            "--vol",
            type=vol_arg,
            help="annualized vol, decimal 4.25 or percent 425%% (default: config market.vol)",
        )
    p.add_argument(
        "--rate", type=float, help="continuous risk-free rate, decimal (default: config market.rate)"
    )
    p.add_argument(
        "--q", type=float, help="continuous dividend yield (default: config market.dividend_yield)"
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--days", type=float, nargs="+", default=[30.0], help="calendar days to expiry (default 30)"
    )
    g.add_argument("--t", type=float, nargs="+", help="years to expiry (ACT/365)")
    g.add_argument("--expiry", nargs="+", help="expiry date(s) YYYY-MM-DD (days from config valuation date)")
    p.add_argument(
        "--style",
        choices=("american", "european"),
        default="american",
        help="exercise style (default american)",
    )
    p.add_argument("--config", metavar="TOML|XLSX", help="take market defaults from this config")


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}")
    return v


def nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return v


def one_line(exc: BaseException) -> str:
    """The error text for the terminal: one problem per line.

    Collected errors (several bad CSV cells, say) arrive as a heading line followed by one line
    per problem; each problem goes on its own indented line, so every one names its file, line
    and column and none is cut short.
    """
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else type(exc).__name__
    return "\n".join([lines[0], *("  " + ln for ln in lines[1:])])


#: (account key, terminal label naming the basis) of ``risk`` and ``plan``.
ACCOUNT_LABELS = (
    ("cash", "cash $"),
    ("net_liquidation", "net liquidation value $ (NLV)"),
    ("equity_with_loan_value", "equity with loan value $ (EWL)"),
    ("initial_requirement", "initial requirement $ (full basis, vs EWL)"),
    ("maintenance_requirement", "maintenance requirement $ (full basis, vs EWL)"),
    ("initial_requirement_net", "initial requirement $ (net of value, vs NLV)"),
    ("maintenance_requirement_net", "maintenance requirement $ (net of value, vs NLV)"),
    ("excess_liquidity", "excess liquidity $ (EWL - maintenance)"),
    ("buying_power", "buying power $ (available funds: EWL - initial)"),
)


def account_table(acct: dict[str, Any]) -> str:
    """The account figures as a two-column table, each label naming its basis."""
    return kv_table(
        {label: acct[key] for key, label in ACCOUNT_LABELS},
        f"account ({acct['account']} account; full basis vs equity with loan value, "
        "net basis vs net liquidation)",
    )
