"""``volarb`` fetch and daily: today's market from the trader's source, and the one morning command.

``volarb fetch [SYMBOL]`` asks the configured provider (:mod:`connect.marketdata`) and writes
the market-data folder (:mod:`connect.marketdata.store`).  ``volarb daily`` runs the routine:
fetch (when a provider is configured) -> risk check -> report refresh -> notify, with the exit
status a scheduler can act on:

====  ========================================================================================
0     no alert
1     at least one alert or position event
2     an input error (file, key or flag named)
3     the data source is unreachable or returned unusable data: the previous files are kept and
      the run goes on with them; the message says how old they are (3 wins over 1)
====  ========================================================================================
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any

from workbook.cli.common import (
    EXIT_ALERT,
    EXIT_DATA,
    EXIT_OK,
    CliError,
    add_clock_args,
    add_common,
    add_risk_args,
    apply_overrides,
    compute_data,
    emit_json,
    is_builtin,
    load_config_arg,
    load_inputs,
    load_market_inputs,
    nonneg_int,
    positive_int,
    table,
    usage_examples,
)

__all__ = ["cmd_fetch", "cmd_daily", "register", "reference_now"]


def reference_now(clock: Any, as_of_given: bool, exchange: str = "XNYS") -> _dt.datetime:
    """The instant quotes are aged against: now, or the end of the ``--as-of`` day.

    With ``--as-of`` the run pretends to be on that day, so a quote is stale when it is older
    than ``data.max_quote_age_hours`` at the end of that day in the exchange's time zone (the
    same answer every time the run is repeated).
    """
    now = _dt.datetime.now(_dt.UTC)
    if not as_of_given:
        return now
    from engine.data.calendar import _calendar

    tz = _calendar(exchange).tz
    end = _dt.datetime.combine(clock.valuation_date, _dt.time(23, 59, 59), tzinfo=tz)
    return min(now, end.astimezone(_dt.UTC))


def _previous(folder: Path, now: _dt.datetime) -> str:
    from connect.marketdata.store import read_market_folder

    try:
        prev = read_market_folder(folder)
    except Exception:  # noqa: BLE001 - a broken snapshot is "no usable previous data" here
        prev = None
    if prev is None:
        return f"no previous market data in {folder}"
    return f"previous data kept in {folder}: {prev.age_text(now)}, valued {prev.valuation_date}"


def _fetch(args: argparse.Namespace, cfg: Any, symbol: str, provider_name: str | None) -> dict:
    """Fetch into the folder; MarketDataError carries the previous data's age in its message."""
    from connect.marketdata import fetch_to_folder, get_provider
    from engine.data.marketfiles import MarketDataError

    folder = Path(getattr(args, "folder", None) or cfg.data.folder)
    now = reference_now(args.clock, getattr(args, "as_of", None) is not None, cfg.execution.exchange)
    provider = get_provider(cfg, provider_name, getattr(args, "source", None))
    try:
        return fetch_to_folder(provider, symbol, cfg, folder, args.clock.valuation_date, now)
    except MarketDataError as exc:
        raise MarketDataError(exc.kind, f"{exc}; {_previous(folder, now)}") from None


def _expiry_rows(out: dict) -> list[dict[str, Any]]:
    import pandas as pd

    chain = out["chain"]
    earn = _dt.date.fromisoformat(out["next_earnings"]) if out.get("next_earnings") else None
    vd = _dt.date.fromisoformat(out["valuation_date"])
    rows = []
    for expiry, grp in chain.groupby("expiry", sort=True):
        e = expiry if isinstance(expiry, _dt.date) else pd.Timestamp(expiry).date()
        rows.append(
            {
                "expiry": e.isoformat(),
                "days": (e - vd).days,
                "quotes": len(grp),
                "earnings": "" if earn is None else (f"after earnings {earn}" if earn <= e else ""),
            }
        )
    return rows


def cmd_fetch(args: argparse.Namespace) -> int:
    cfg, csrc = load_config_arg(args.config)
    cfg = apply_overrides(args, cfg, is_builtin({"config": csrc}))
    symbol = (args.symbol or cfg.data.symbol or cfg.market.underlying).upper()
    out = _fetch(args, cfg, symbol, args.provider)
    if args.json:
        emit_json({k: v for k, v in out.items() if k != "chain"} | {"expiry_table": _expiry_rows(out)})
        return EXIT_OK
    sys.stdout.write(
        f"{symbol} from {out['source']}: spot ${out['spot']:.2f} at {out['quote_time']}; "
        f"{out['target_dte']}-day ATM IV {out['atm_iv']:.1%} (appended to the IV history, "
        f"{out['iv_rows']} rows)\n"
    )
    sys.stdout.write(table(_expiry_rows(out), ["expiry", "days", "quotes", "earnings"], "expiries"))
    sys.stdout.write(f"next earnings: {out['next_earnings'] or 'not given by the provider'}\n")
    sys.stdout.write("wrote " + ", ".join(out["files"]) + "\n")
    return EXIT_OK


def _market_folder_inputs(args: argparse.Namespace, cfg: Any, now: _dt.datetime) -> tuple[Any, list[str]]:
    """Spot, vol and the data files of the market-data folder into this run (flags win)."""
    from connect.marketdata.store import read_market_folder

    folder = Path(args.folder or cfg.data.folder)
    mf = read_market_folder(folder)
    notes: list[str] = []
    if mf is None:
        notes.append(
            f"no market data in {folder} (run volarb fetch, or set [data] provider): using the config's "
            f"spot ${cfg.market.spot:.2f} and vol {cfg.market.vol:.0%}"
        )
        return cfg, notes
    want = (cfg.data.symbol or cfg.market.underlying).upper()
    if mf.symbol.upper() != want:
        raise CliError(
            f"{folder / 'spot.json'}: market data for {mf.symbol}, but the config trades {want} "
            "(market.underlying / data.symbol); fetch into another --folder"
        )
    if args.spot is None:
        cfg = cfg.replace(market__spot=mf.spot)
    if args.vol is None and mf.atm_iv is not None:
        cfg = cfg.replace(market__vol=mf.atm_iv)
    for attr, path in (("chain", mf.chain), ("iv_history", mf.iv_history), ("prices", mf.prices)):
        if getattr(args, attr, None) is None and path is not None:
            setattr(args, attr, str(path))
    if mf.valuation_date < args.clock.valuation_date:
        from engine.data.calendar import sessions_between

        n = sessions_between(mf.valuation_date, args.clock.valuation_date, cfg.execution.exchange)
        notes.append(
            f"market data in {folder} is from {mf.valuation_date} ({n} session(s) before "
            f"{args.clock.valuation_date}; {mf.age_text(now)})"
        )
    return cfg, notes


def _deliver(items: list, cfg: Any, rep: dict, channels: tuple[str, ...]) -> list[str]:
    """Send ``items`` on each channel; returns one line per channel used."""
    lines = []
    if "email" in channels:
        from connect.notify import send_alert_email

        mail = {
            "valuation_date": rep["valuation_date"],
            "alerts": [
                {
                    "alert": i.alert,
                    "status": "ALERT",
                    "value": None,
                    "threshold": None,
                    "detail": f"[{i.key}] {i.detail}",
                }
                for i in items
            ],
        }
        sent = send_alert_email(mail, cfg)
        lines.append(f"emailed {', '.join(sent['recipients'])}")
    if "push" in channels:
        from connect.push import apprise_urls, format_push, send_push

        title, body = format_push(items, cfg, rep["valuation_date"])
        sent = send_push(title, body, apprise_urls(cfg))
        lines.append(f"pushed to {', '.join(sent['services'])}")
    return lines


def _write_report(
    args: argparse.Namespace, cfg: Any, pos: Any, sources: dict, from_report: bool
) -> tuple[Any, Path]:
    from workbook.io import atomic_save, check_not_locked, load_user_workbook, make_backup
    from workbook.report import refresh_workbook, write_report

    out = Path(args.report)
    if out.suffix.lower() != ".xlsx":
        raise CliError(f"{out}: the report is an .xlsx workbook; give --report a name ending in .xlsx")
    check_not_locked(out)
    data = compute_data(args, cfg, pos, sources)
    if from_report:
        from workbook import layout as L
        from workbook.io import inputs_key_cells

        wb = load_user_workbook(out)
        # the Inputs cell says what the figures used: "today", or the --as-of date
        cell = inputs_key_cells(wb[L.SHEET_INPUTS]).get("market.valuation_date")
        if cell is not None:
            wb[L.SHEET_INPUTS][cell].value = cfg.market.valuation_date
        refresh_workbook(wb, data)
        make_backup(out)
    else:
        if out.exists():
            make_backup(out)
        wb = write_report(data)
    atomic_save(wb, out)
    return data, out


def cmd_daily(args: argparse.Namespace) -> int:
    from connect.alertstate import alert_items, load_state, mark_sent, save_state, unsent
    from engine.data.marketfiles import MarketDataError
    from workbook.compute import risk_figures

    report = Path(args.report)
    from_report = report.exists() and not args.config and not args.positions
    if from_report:
        from workbook.io import load_user_workbook, read_config_sheet, read_positions_sheet

        wb = load_user_workbook(report)
        cfg, pos = read_config_sheet(wb, str(report)), read_positions_sheet(wb, str(report))
        sources = {"config": f"{report} (sheet Inputs)", "positions": f"{report} (sheet Positions)"}
    else:
        cfg, pos, sources = load_inputs(args)
    notes: list[str] = []
    fixed = cfg.market.valuation_date
    if args.as_of is None and fixed.strip().lower() != "today" and not is_builtin(sources):
        # the morning routine values today's book: a date left in the config or the report's
        # Inputs sheet would freeze it (DTE never shrinking); --as-of re-runs a past day
        cfg = cfg.replace(market__valuation_date="today")
        notes.append(
            f"valued today, not at the config's fixed market.valuation_date {fixed} "
            "(use --as-of to re-run a past day)"
        )
    cfg = apply_overrides(args, cfg, is_builtin(sources))
    now = reference_now(args.clock, args.as_of is not None, cfg.execution.exchange)
    data_fault = None
    provider = args.provider or (cfg.data.provider if cfg.data.provider != "none" else None)
    if provider and not args.no_fetch:
        symbol = (cfg.data.symbol or cfg.market.underlying).upper()
        try:
            out = _fetch(args, cfg, symbol, provider)
            notes.append(
                f"fetched {symbol} from {out['source']}: spot ${out['spot']:.2f}, "
                f"{out['target_dte']}-day ATM IV {out['atm_iv']:.1%}"
            )
        except MarketDataError as exc:
            data_fault = str(exc)
    cfg, more = _market_folder_inputs(args, cfg, now)
    notes += more
    market = load_market_inputs(args, cfg)
    rep = risk_figures(pos, cfg, market)
    data, written = _write_report(args, cfg, pos, sources, from_report)
    items = alert_items(rep)
    state_path = Path(args.state or cfg.alerts.state_file)
    state = load_state(state_path)
    day = args.clock.valuation_date
    new = unsent(state, day, items)
    channels = tuple(args.channel) if args.channel else cfg.alerts.channels
    delivered = []
    if new and channels and not args.dry_run:
        delivered = _deliver(new, cfg, rep, channels)
        save_state(state_path, mark_sent(state, day, new))
    code = EXIT_DATA if data_fault else (EXIT_ALERT if items else EXIT_OK)
    summary = {
        "valuation_date": rep["valuation_date"],
        "exit": code,
        "report": str(written),
        "data_fault": data_fault,
        "notes": notes,
        "alerts": [i.__dict__ for i in items],
        "new_today": [i.__dict__ for i in new],
        "delivered": delivered,
        "channels": list(channels),
        "expired": rep["expired"],
        "state_file": str(state_path),
    }
    if args.json:
        emit_json(summary)
        return code
    if data_fault:
        sys.stderr.write(f"volarb daily: data source: {data_fault}\n")
    for n in notes:
        sys.stdout.write(f"note: {n}\n")
    sys.stdout.write(f"daily routine {rep['valuation_date']}: report {written}\n")
    sys.stdout.write(
        table(
            [{"alert": i.alert, "position": i.key, "new today": i in new, "detail": i.detail} for i in items],
            ["alert", "position", "new today", "detail"],
            "alerts and events",
        )
    )
    for a in rep["expired"]:
        sys.stdout.write(f"expired: {a['key']}: {a['action']}\n")
    if delivered:
        sys.stdout.write("; ".join(delivered) + "\n")
    elif new and not channels:
        sys.stdout.write("not sent: no alerts.channels configured (email, push)\n")
    elif items and not new:
        sys.stdout.write("already sent today; nothing new to send\n")
    return code


def register(sub: Any) -> None:
    """Add ``fetch`` and ``daily`` to the ``volarb`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "fetch",
        help="today's spot, option chain, ATM IV and closes from the data provider",
        formatter_class=fmt,
        description="Ask the configured provider (config [data] provider: folder, yahoo, tastytrade) "
        "for SYMBOL and write data.folder: spot.json, chain.csv (expiry, strike, kind, bid, "
        "ask, iv, open_interest), today's 30-day ATM IV appended to iv-history.csv and the "
        "closes to prices.csv. Unreachable, rate-limited, empty or stale data: exit 3 and "
        "the previous files are untouched.",
        epilog=usage_examples(
            "volarb fetch --provider folder --source inbox",
            "volarb fetch ASST --config plan.toml",
            "volarb fetch --provider yahoo   # personal use (Yahoo terms)",
        ),
    )
    p.add_argument("symbol", nargs="?", help="ticker (default: config data.symbol, else market.underlying)")
    p.add_argument(
        "--config", metavar="TOML|XLSX", help="plan config ([data] provider, folder, max_quote_age_hours)"
    )
    _data_args(p)
    add_clock_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser(
        "daily",
        help="the morning routine: fetch, risk check, report, notify (exit 0/1/2/3)",
        formatter_class=fmt,
        description="fetch (when [data] provider is set) -> risk check -> refresh the report -> "
        "notify ([alerts] channels; each alert once per day per position). Exit 0 no "
        "alert, 1 alert, 2 input error, 3 data source unreachable (the previous data "
        "are used and the message says how old they are).",
        epilog=usage_examples(
            "volarb daily --config plan.toml --positions positions.csv",
            "volarb daily --report volarb-report.xlsx   # its own Inputs/Positions",
            "volarb daily --config plan.toml --as-of 2025-10-17 --dry-run",
        ),
    )
    add_common(p)
    p.add_argument(
        "--report",
        default="volarb-report.xlsx",
        metavar="XLSX",
        help="report to refresh (built when missing; default volarb-report.xlsx)",
    )
    _data_args(p)
    p.add_argument("--no-fetch", action="store_true", help="skip the fetch step (use the folder as it is)")
    p.add_argument(
        "--channel",
        action="append",
        choices=("email", "push"),
        help="deliver on this channel (repeatable; default: config alerts.channels)",
    )
    p.add_argument("--state", metavar="JSON", help="alert state file (default: config alerts.state_file)")
    p.add_argument("--dry-run", action="store_true", help="do not send or record alerts")
    p.add_argument("--paths", type=positive_int, help="simulation paths of the report (default: config)")
    p.add_argument("--seed", type=nonneg_int, help="simulation seed of the report (default: config)")
    p.add_argument("--recalc", action="store_true", help=argparse.SUPPRESS)
    add_clock_args(p)
    add_risk_args(p)
    p.set_defaults(func=cmd_daily)


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--provider",
        choices=("folder", "yahoo", "tastytrade"),
        help="data provider (default: config data.provider; none means folder for fetch)",
    )
    p.add_argument(
        "--source", metavar="DIR", help="folder provider: folder to read (default: data.source_folder)"
    )
    p.add_argument("--folder", metavar="DIR", help="market-data folder to write/read (default: data.folder)")
