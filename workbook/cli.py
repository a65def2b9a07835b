"""The ``volarb`` command line: a thin layer over :mod:`workbook.compute`, :mod:`workbook.report`
and the engine (house style rule 10: tests call the same functions directly).

Every command prints a human-readable table on a terminal and JSON with ``--json``.  Errors in
inputs print one line naming the file, row/column, cell or key and the rule, and exit with
status 2 (``--debug`` shows the traceback); Ctrl-C exits with 130 and leaves no half-written
file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser", "load_inputs", "EXIT_OK", "EXIT_INPUT", "EXIT_ALERT", "EXIT_INTERRUPT"]

EXIT_OK = 0
EXIT_ALERT = 1
EXIT_INPUT = 2
EXIT_INTERRUPT = 130


class CliError(Exception):
    """An error the user can fix; printed as one line, exit status 2."""


# --- inputs ----------------------------------------------------------------------------------

def _is_workbook(path: Path) -> bool:
    return path.suffix.lower() in (".xlsx", ".xlsm")


def _load_input(path: str | None, what: str) -> tuple[Any, str]:
    """The config or the positions from a file, a report workbook's sheet, or the built-in example.

    ``what`` is "config" (TOML, or a workbook's Inputs sheet) or "positions" (CSV, or a
    workbook's Positions sheet).  Returns the value and a description of its source.
    """
    import engine.config as cfg_mod
    import engine.positions as pos_mod

    example, read_file, read_sheet, sheet, builtin = {
        "config": (cfg_mod.default_config, cfg_mod.load_config, "read_config_sheet", "Inputs",
                   "built-in example (the plan's parameters)"),
        "positions": (pos_mod.example_positions, pos_mod.read_positions, "read_positions_sheet",
                      "Positions", "built-in example (the plan's 38 short puts)"),
    }[what]
    if not path:
        return example(), builtin
    p = Path(path)
    if _is_workbook(p):
        import workbook.io as wio  # openpyxl only when a workbook is read

        return getattr(wio, read_sheet)(wio.load_user_workbook(p), str(p)), f"{p} (sheet {sheet})"
    if not p.exists():
        raise CliError(f"{p}: {what} file not found")
    return read_file(p), str(p)


def load_config_arg(path: str | None) -> tuple[Any, str]:
    """Config from a TOML file, a report workbook's Inputs sheet, or the built-in example."""
    return _load_input(path, "config")


def load_positions_arg(path: str | None) -> tuple[Any, str]:
    """Positions from a CSV, a report workbook's Positions sheet, or the built-in example."""
    return _load_input(path, "positions")


def load_inputs(args: argparse.Namespace) -> tuple[Any, Any, dict[str, str]]:
    cfg, csrc = load_config_arg(getattr(args, "config", None))
    pos, psrc = load_positions_arg(getattr(args, "positions", None))
    return cfg, pos, {"config": csrc, "positions": psrc}


def _read_data_file(path: str, reader: Any, what: str, flag: str, columns: str) -> Any:
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
        raise CliError(f"{p.name}: not a valid CSV ({_one_line(exc)})") from None
    except UnicodeDecodeError:
        raise CliError(f"{p.name}: not UTF-8 text; save the CSV as UTF-8") from None
    if hasattr(df, "__len__") and not hasattr(df, "times") and len(df) == 0:
        raise CliError(f"{p.name}: no data rows after the header (expected {columns})")
    return df


def _money_arg(text: str) -> float:
    """argparse type: a positive dollar amount (``4100``, ``$4,100.50``)."""
    try:
        v = float(str(text).replace("$", "").replace(",", "").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive dollar amount, got {text!r}") from None
    if not (v > 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive dollar amount, got {text!r}")
    return v


def _flow_arg(text: str) -> float:
    """argparse type: a signed dollar amount (``4000``, ``-$1,500``): deposits +, withdrawals -."""
    raw = str(text).replace("$", "").replace(",", "").strip()
    try:
        v = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a dollar amount (negative for a withdrawal), got {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a dollar amount (negative for a withdrawal), got {text!r}")
    return v


def apply_overrides(args: argparse.Namespace, cfg: Any) -> Any:
    """The config with ``--portfolio-value`` applied (``account.starting_value``)."""
    pv = getattr(args, "portfolio_value", None)
    if pv is not None:
        cfg = cfg.replace(account__starting_value=float(pv))
    return cfg


def load_market_inputs(args: argparse.Namespace, cfg: Any) -> Any:
    """The optional market data of a run (``--iv-history``, ``--prices``, ``--chain``, ...).

    Files are read and validated here, before any computation, so a bad file stops the run
    with one line naming the file, line and column (exit 2).
    """
    from workbook.compute import MarketInputs

    mi = MarketInputs(previous_value=getattr(args, "previous_value", None),
                      contribution=getattr(args, "contribution", None) or 0.0)
    if getattr(args, "iv_history", None):
        from engine.ivhistory import read_iv_history

        mi.iv_history = _read_data_file(args.iv_history, read_iv_history, "IV history", "--iv-history", "date, iv")
        mi.sources["iv_history"] = str(args.iv_history)
    if getattr(args, "prices", None):
        from engine.var import read_price_history

        mi.prices = _read_data_file(args.prices, read_price_history, "price history", "--prices", "date, close")
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
            raise CliError(f"{Path(args.prices).name}: {len(mi.prices)} closes; historical VaR over "
                           f"{cfg.risk.var_horizon_days} day(s) needs at least {need} (--prices)")
    if getattr(args, "chain", None):
        from engine.surface import read_option_chain

        mi.surface = _read_data_file(args.chain, lambda p: read_option_chain(p, cfg), "option chain", "--chain",
                                     "expiry, strike, kind, bid, ask")
        mi.sources["chain"] = str(args.chain)
    return mi


# --- output helpers --------------------------------------------------------------------------

def _fmt(v: Any) -> str:
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


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, title: str | None = None,
          right: Any = ()) -> str:
    """Plain-text table of dict rows (numbers, and the columns named in ``right``, right-aligned)."""
    from workbook.compute import to_jsonable

    rows = [to_jsonable(r) for r in rows]
    if not rows:
        return (title + "\n" if title else "") + "(none)\n"
    columns = columns or list(rows[0].keys())
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = [c in right or all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) for c in columns]
    out = [title] if title else []
    out.append("  ".join(str(c).rjust(w) if n else str(c).ljust(w) for c, w, n in zip(columns, widths, numeric)))
    out.append("  ".join("-" * w for w in widths))
    for row in cells:
        out.append("  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(row, widths, numeric)))
    return "\n".join(out) + "\n"


def kv_table(d: dict[str, Any], title: str | None = None) -> str:
    return table([{"quantity": k, "value": v} for k, v in d.items()], ["quantity", "value"], title)


def _records(df: Any) -> list[dict[str, Any]]:
    return df.to_dict(orient="records") if hasattr(df, "to_dict") else list(df)


def _emit_json(obj: Any) -> None:
    from workbook.compute import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


class _Progress:
    """tqdm bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, desc: str) -> None:
        self.bar = None
        if sys.stderr.isatty() and not os.environ.get("VOLARB_NO_PROGRESS"):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, unit="step")

    def __call__(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- commands --------------------------------------------------------------------------------

def _compute(args: argparse.Namespace, cfg: Any, pos: Any, sources: dict[str, str]) -> Any:
    from workbook.compute import STEPS, compute_report

    paths = getattr(args, "paths", None)
    seed = getattr(args, "seed", None)
    market = load_market_inputs(args, cfg)
    bar = _Progress(len(STEPS), "volarb")
    try:
        return compute_report(cfg, pos, paths=paths, seed=seed, sources=sources, progress=bar, market=market)
    finally:
        bar.close()


def _summary(data: Any, out: Path | None) -> str:
    res = data.results
    split = res.get("premium_split", {})
    lines = []
    if out is not None:
        lines.append(f"wrote {out}")
    book = res.get("book", {})
    kelly = res.get("kelly", {})
    var = res.get("var") or {}
    d = {
        "positions": len(data.positions),
        "premium collected $": split.get("premium"),
        "book value $": book.get("value"),
        "unrealized P&L $": book.get("unrealized_pnl"),
        "portfolio delta $": book.get("delta_dollars"),
        "call hedge budget $": split.get("call_hedge_budget"),
        "put expansion budget $": split.get("put_expansion_budget"),
        "hedge ratio": res.get("hedge_ratio"),
        "full Kelly": kelly.get("full_kelly"),
        "VaR 95% $": var.get("var"),
    }
    lines.append(kv_table({k: v for k, v in d.items() if v is not None}).rstrip())
    alerts = res.get("alerts")
    if alerts is not None and len(alerts):
        lines.append(table(_records(alerts), [c for c in ("alert", "status", "value", "threshold") if c in alerts.columns],
                           "alerts").rstrip())
    for name, why in data.missing.items():
        lines.append(f"note: {name} not computed: {why}")
    return "\n".join(lines) + "\n"


def _after_write(args: argparse.Namespace, data: Any, path: Path, backup: Path | None = None) -> int:
    """After a report is saved: ``--recalc`` through LibreOffice, then ``--json`` or the summary."""
    if args.recalc:
        from workbook.recalc import recalculate_in_place

        recalculate_in_place(path)
    if args.json:
        d = data.to_dict()
        d["meta"]["out"] = str(path)
        if backup is not None:
            d["meta"]["backup"] = str(backup)
        _emit_json(d)
    else:
        sys.stdout.write(_summary(data, path))
        if backup is not None:
            sys.stdout.write(f"backup of the previous file: {backup}\n")
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from workbook.io import atomic_save, check_not_locked
    from workbook.report import write_report

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise CliError(f"{out}: the report is an .xlsx workbook; give --out a name ending in .xlsx")
    check_not_locked(out)
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg)
    data = _compute(args, cfg, pos, sources)
    wb = write_report(data)
    atomic_save(wb, out)
    return _after_write(args, data, out)


def cmd_refresh(args: argparse.Namespace) -> int:
    from workbook.io import (
        atomic_save,
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
    cfg = read_config_sheet(wb, str(path))
    pos = read_positions_sheet(wb, str(path))
    sources = {"config": f"{path} (sheet Inputs)", "positions": f"{path} (sheet Positions)"}
    if args.portfolio_value is not None:
        # an explicit new portfolio value is written into the Inputs cell so the sheet and the
        # figures agree (the only Inputs cell refresh ever changes, and only when asked)
        from workbook import layout as L
        from workbook.io import inputs_key_cells

        cfg = apply_overrides(args, cfg)
        cell = inputs_key_cells(wb[L.SHEET_INPUTS]).get("account.starting_value")
        if cell is not None:
            wb[L.SHEET_INPUTS][cell].value = float(args.portfolio_value)
    from workbook.io import read_about_risk_inputs

    _dropped_risk_inputs(read_about_risk_inputs(wb), args)
    data = _compute(args, cfg, pos, sources)
    refresh_workbook(wb, data)
    backup = make_backup(path)
    atomic_save(wb, path)
    return _after_write(args, data, path, backup)


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
        notes.append(f"volarb refresh: note: the report was last computed with {flag} {path}; this refresh "
                     f"was not given {flag}, so its figures no longer use that file (pass {flag} {path} "
                     "again to keep them)")
    for line in notes:
        sys.stderr.write(line + "\n")
    return notes


def _t_from(args: argparse.Namespace, cfg: Any) -> Any:
    import numpy as np

    if args.t is not None:
        return np.asarray(args.t, dtype=float)
    if args.expiry:
        import datetime as dt

        vd = cfg.valuation_date
        days = []
        for e in args.expiry:
            try:
                days.append((dt.date.fromisoformat(e) - vd).days)
            except ValueError:
                raise CliError(f"--expiry: expected a date YYYY-MM-DD, got {e!r}") from None
        return np.asarray(days, dtype=float) / 365.0
    return np.asarray(args.days, dtype=float) / 365.0


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
        raise CliError(f"give one --days/--t/--expiry or one per strike ({len(args.strike)} strikes)") from None
    for name, arr in (("--strike", k), ("--days/--t", t)):
        bad = ~np.isfinite(arr) | (arr <= 0 if name == "--strike" else arr < 0)
        if bad.any():
            raise CliError(f"{name}: must be {'> 0' if name == '--strike' else '>= 0'}, got {arr[bad][0]:g}")
    for name, v, lo in (("--spot", spot, 0.0), ("--vol", vol, -1e-300)):
        if not np.isfinite(v) or v <= lo:
            raise CliError(f"{name}: must be > 0, got {v:g}" if name == "--spot" else f"{name}: must be >= 0, got {v:g}")
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
        rows.append({"kind": args.kind, "strike": float(k[i]), "days": float(t[i] * 365.0), "price": float(price[i]),
                     "per_contract": float(price[i]) * cfg.capital.contract_multiplier,
                     "delta": float(np.atleast_1d(g["delta"])[i]), "gamma": float(np.atleast_1d(g["gamma"])[i]),
                     "theta_per_day": float(np.atleast_1d(g["theta_per_day"])[i]),
                     "vega_per_point": float(np.atleast_1d(g["vega_per_point"])[i]), "prob_itm": float(p_itm[i]), "prob_touch": float(p_touch[i])})
    head = {"spot": spot, "vol": vol, "rate": rate, "q": q, "style": args.style}
    if args.json:
        _emit_json({"inputs": head, "options": rows})
    else:
        sys.stdout.write(f"{args.style} {args.kind}s on spot {spot:g}, vol {vol:.2%}, rate {rate:.2%}, q {q:.2%}\n")
        sys.stdout.write(table(rows, ["strike", "days", "price", "per_contract", "delta", "gamma", "theta_per_day",
                                      "vega_per_point", "prob_itm", "prob_touch"]))
    return EXIT_OK


def cmd_iv(args: argparse.Namespace) -> int:
    import numpy as np

    from engine import implied_vol
    from engine._validate import VolarbInputError
    from engine.impliedvol import iv_status_message

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
    rows = [{"kind": args.kind, "strike": float(k[i]), "days": float(t[i] * 365.0), "price": float(price[i]),
             "iv": float(vols[i]), "status": iv_status_message(codes[i])} for i in range(len(k))]
    if args.json:
        _emit_json({"inputs": {"spot": spot, "rate": rate, "q": q, "style": args.style}, "options": rows})
    else:
        sys.stdout.write(f"{args.style} implied vol, spot {spot:g}, rate {rate:.2%}\n")
        shown = [{**r, "iv %": "nan" if r["iv"] != r["iv"] else f"{r['iv']:.1%}"} for r in rows]
        sys.stdout.write(table(shown, ["strike", "days", "price", "iv", "iv %", "status"], right={"iv %"}))
    failed = [r for r in rows if r["iv"] != r["iv"]]
    if failed and len(failed) == len(rows) and not args.json:
        sys.stderr.write(f"volarb iv: no implied vol: {failed[0]['status']}\n")
        return EXIT_INPUT
    return EXIT_OK


#: Terminal labels (with units) of the portfolio Greeks of ``risk``; JSON keeps the keys.
_GREEK_LABELS = {
    "delta_shares": "delta (shares)",
    "delta_dollars": "delta $ (shares x spot)",
    "gamma": "gamma (shares per $1)",
    "theta_day": "theta $ per day",
    "vega_point": "vega $ per vol point",
    "rho_point": "rho $ per rate point",
    "value": "book value $ (model)",
    "obligation": "put obligation $ (if all assigned)",
    "margin": "margin $ (capital model)",
    "positions": "positions (lots)",
}


def cmd_risk(args: argparse.Namespace) -> int:
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg)
    market = load_market_inputs(args, cfg)
    from workbook.compute import risk_figures

    rep = risk_figures(pos, cfg, market)
    rep["sources"] = sources
    firing = list(rep["alerting"])
    sent = None
    if args.email:
        from engine.notify import send_alert_email

        if not cfg.email.enabled:
            raise CliError("--email: email.enabled is false in the config; set [email] enabled = true, "
                           "sender, recipients and smtp_host")
        sent = send_alert_email(rep, cfg)
    if args.json:
        _emit_json({**rep, "email": sent})
    else:
        var = rep["var"]
        sys.stdout.write(f"risk check {rep['valuation_date']}, portfolio value ${rep['portfolio_value']:,.2f}\n")
        sys.stdout.write(kv_table({_GREEK_LABELS.get(k, k): v for k, v in rep["greeks"].items()},
                                  f"portfolio Greeks (short negative; x {cfg.capital.contract_multiplier} shares "
                                  "per contract)"))
        sys.stdout.write(f"\nVaR {var['confidence']:.0%} {var['horizon_days']}-day ({var['method']}): "
                         f"${var['var']:,.2f}   ES: ${var['es']:,.2f}\n")
        if rep["iv"] is not None:
            iv = rep["iv"]
            cur = iv["current_iv"]
            cur_text = "n/a" if cur is None else f"{cur:.0%} ({_fmt(cur)})"
            sys.stdout.write(f"IV {cur_text}: rank {_fmt(iv['iv_rank'])}, percentile "
                             f"{_fmt(iv['iv_percentile'])} over {iv['observations']} days\n")
        if rep["surface"] is not None:
            srf = rep["surface"]
            sys.stdout.write(f"vol surface: {srf['expiries']} expiries, {len(srf['nodes'])} nodes from "
                             f"{srf['quotes']} quotes ({len(srf['dropped'])} dropped)\n")
        sys.stdout.write("\n" + table(rep["alerts"], ["alert", "status", "value", "threshold", "detail"],
                                      "daily risk check"))
        sys.stdout.write(f"{len(firing)} alert(s) firing" + (f": {', '.join(firing)}" if firing else "") + "\n")
        if sent:
            sys.stdout.write(f"emailed {', '.join(sent['recipients'])}\n")
    if args.fail_on_alert and firing:
        return EXIT_ALERT
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    cfg, pos, sources = load_inputs(args)
    cfg = apply_overrides(args, cfg)
    from workbook.compute import ReportData, _hedges, _kelly, _plan, _projection

    data = ReportData(config=cfg, positions=pos, meta={"sources": sources})
    for name, step in (("plan", _plan), ("hedges", _hedges), ("kelly", _kelly), ("projection", _projection)):
        try:
            step(data)
        except ImportError as exc:
            data.missing[name] = str(exc)
    res = data.results
    if args.json:
        _emit_json({k: res.get(k) for k in ("premium_split", "allocation", "reinvestment", "hedge_ratio",
                                            "hedge_ladder", "kelly", "projection", "audit")} | {"missing": data.missing})
        return EXIT_OK
    if "premium_split" in res:
        sys.stdout.write(kv_table(res["premium_split"], "premium split"))
        sys.stdout.write("\n" + table(_records(res["allocation"]), ["strike", "weight", "capital", "premium",
                                                                  "capital_per_contract", "contracts", "literal_contracts",
                                                                  "expected_premium", "leftover"],
                                      f"strike allocation ({cfg.capital.model})"))
    if "hedge_ladder" in res:
        sys.stdout.write(f"\nhedge ratio {res['hedge_ratio']:.4f}\n")
        sys.stdout.write(table(_records(res["hedge_ladder"]), ["rung", "strike", "dte", "budget", "price", "contracts",
                                                               "cost"], "hedge ladder"))
    if "kelly" in res:
        sys.stdout.write("\n" + kv_table(res["kelly"], "Kelly limits"))
    if "projection" in res:
        sys.stdout.write("\n" + table(_records(res["projection"]), None, "projection"))
    for name, why in data.missing.items():
        sys.stdout.write(f"note: {name} not computed: {why}\n")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    cfg, pos, _ = load_inputs(args)
    cfg = apply_overrides(args, cfg)
    try:
        from engine.simulate import simulate_plan
    except ImportError as exc:
        raise CliError(f"the simulation is not available in this build ({exc})") from None
    paths = args.paths if args.paths is not None else cfg.simulation.paths
    seed = args.seed if args.seed is not None else cfg.simulation.seed
    result = simulate_plan(cfg, pos, paths, seed)
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    if args.json:
        _emit_json({"paths": paths, "seed": seed, **d})
        return EXIT_OK
    sys.stdout.write(f"simulation: {paths:,} paths, seed {seed}\n")
    pct = getattr(result, "percentiles", None)
    if pct is not None:
        if "month" not in getattr(pct, "columns", ()) and hasattr(pct, "reset_index"):
            pct = pct.reset_index()  # the month is the index
        sys.stdout.write(table(_records(pct), None, "equity percentiles"))
    sys.stdout.write(_simulation_text(d))
    return EXIT_OK


#: (JSON key, terminal label, format) of the scalar figures of ``simulate``.
_SIM_SCALARS = (
    ("invested", "invested (start + additions) $", "money"),
    ("prob_loss", "probability of ending below invested", "pct"),
    ("prob_margin_call", "probability of a margin call", "pct"),
    ("share_with_assignment", "share of paths with an assignment", "pct"),
    ("mean_discounted_final", "mean discounted final equity $", "money"),
    ("se_discounted_final", "standard error of that mean $", "money"),
    ("discounted_invested", "discounted invested $", "money"),
)

#: (JSON key, terminal label, format) of the distributions across paths.
_SIM_DISTRIBUTIONS = (
    ("final_equity_summary", "final equity $", "money"),
    ("max_drawdown", "max drawdown", "pct"),
    ("annual_return", "annualized return", "pct"),
    ("sharpe", "Sharpe ratio (annualized)", "num"),
)


def _fmt_as(v: Any, how: str) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "n/a"
    if how == "pct":
        return f"{v:.1%}"
    if how == "money":
        return f"{v:,.2f}"
    return f"{v:.2f}"


def _simulation_text(d: dict[str, Any]) -> str:
    """The terminal summary of ``simulate``: probabilities, distributions and the plan's targets
    (every figure of the JSON except the tables already printed)."""
    out = []
    rows = [{"quantity": label, "value": _fmt_as(d.get(key), how)} for key, label, how in _SIM_SCALARS if key in d]
    out.append("\n" + table(rows, ["quantity", "value"], "summary", right={"value"}))
    dist = []
    for key, label, how in _SIM_DISTRIBUTIONS:
        s = d.get(key)
        if isinstance(s, dict):
            dist.append({"quantity": label, **{p: _fmt_as(s.get(p), how) for p in ("mean", "p5", "p25", "p50", "p75",
                                                                                    "p95")}})
    if dist:
        cols = ["quantity", "mean", "p5", "p25", "p50", "p75", "p95"]
        out.append("\n" + table(dist, cols, "distributions across paths", right=set(cols[1:])))
    targets = d.get("prob_targets")
    if isinstance(targets, dict) and targets:
        trows = [{"scenario": name, "final equity from $": _fmt_as(t.get("low"), "money"),
                  "to $": _fmt_as(t.get("high"), "money"), "P(in range)": _fmt_as(t.get("in_range"), "pct"),
                  "P(at least from)": _fmt_as(t.get("at_least"), "pct")} for name, t in targets.items()]
        out.append("\n" + table(trows, None, "probability of the plan's scenario targets",
                                 right=set(trows[0]) - {"scenario"}))
    return "".join(out)


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
    from engine.examples import example_path
    from engine.review import read_equity, read_journal, weekly_review

    cfg, csrc = load_config_arg(args.config)
    given = [f for f in (args.journal, args.equity) if f]
    if args.example and given:
        raise CliError("--example uses the built-in journal and equity files; drop --journal/--equity or --example")
    if len(given) == 1:
        raise CliError("give both --journal and --equity (or neither, for the built-in example)")
    example = not given
    journal = str(example_path("journal")) if example else args.journal
    equity = str(example_path("equity")) if example else args.equity
    iv = args.iv_history or (str(example_path("iv_history")) if example else None)
    second = args.second or (str(example_path("second")) if example else None)
    from engine.ivhistory import read_iv_history
    from engine.var import read_price_history

    # validated here (one line per bad file), then passed by path so messages keep the file name
    _read_data_file(journal, read_journal, "trade journal", "--journal",
                    "date, action, kind, strike, expiry, contracts, price")
    _read_data_file(equity, read_equity, "equity history", "--equity", "date, equity")
    if iv:
        _read_data_file(iv, read_iv_history, "IV history", "--iv-history", "date, iv")
    if second:
        _read_data_file(second, read_price_history, "second price series", "--second", "date, close")
    as_of = None
    if args.as_of:
        import datetime as dt

        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise CliError(f"--as-of: expected a date YYYY-MM-DD, got {args.as_of!r}") from None
    res = weekly_review(journal, equity, cfg, iv_history=iv, second_series=second, as_of=as_of)
    sources = {"journal": journal, "equity": equity, "iv_history": iv, "second": second, "config": csrc,
               "example": example}
    if args.json:
        _emit_json({**res, "sources": sources})
        return EXIT_OK
    if example:
        sys.stdout.write("weekly review of the built-in example (volarb example writes these files to edit)\n")
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
            text = _fmt(v)
        rows.append({"metric": label, "value": text, "key": key})
    sys.stdout.write(table(rows, ["metric", "value", "key"], "weekly review"))
    if res.get("allocation_by_strike"):
        alloc = [{"strike $": f"{r['strike']:.2f}", "target": f"{r['target']:.1%}", "actual": f"{r['actual']:.1%}",
                  "drift": f"{r['actual'] - r['target']:+.1%}"} for r in res["allocation_by_strike"]]
        sys.stdout.write("\n" + table(alloc, ["strike $", "target", "actual", "drift"],
                                      "allocation of open short-put obligation by strike"))
    return EXIT_OK


#: (example name, file written by `volarb example`)
EXAMPLE_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("positions", "positions.csv"), ("config", "plan.toml"), ("chain", "chain.csv"),
    ("iv_history", "iv-history.csv"), ("prices", "prices.csv"), ("journal", "journal.csv"),
    ("equity", "equity.csv"), ("second", "bitcoin.csv"),
)


def cmd_example(args: argparse.Namespace) -> int:
    import shutil

    from engine.examples import example_path

    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise CliError(f"{folder}: exists and is not a folder (--dir)")
    targets = [(name, folder / fname) for name, fname in EXAMPLE_OUTPUTS]
    existing = [str(t) for _, t in targets if t.exists()]
    if existing and not args.force:
        raise CliError(f"{existing[0]} already exists" + (f" (and {len(existing) - 1} more example files)"
                       if len(existing) > 1 else "") + "; not overwriting your files: use --force to replace "
                       "them, or --dir to write elsewhere")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, target in targets:
        shutil.copyfile(example_path(name), target)
        written.append(str(target))
    if args.json:
        _emit_json({"dir": str(folder), "files": written})
    else:
        sys.stdout.write("wrote " + ", ".join(written) + "\n")
        sys.stdout.write(f"try: volarb build --positions {targets[0][1]} --config {targets[1][1]} "
                         f"--chain {targets[2][1]} --iv-history {targets[3][1]}\n")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    cfg, pos, sources = load_inputs(args)
    out = {"config": sources["config"], "positions": sources["positions"], "n_positions": len(pos),
           "contracts": int(pos["contracts"].sum()), "valid": True}
    if args.json:
        _emit_json(out)
    else:
        sys.stdout.write(f"OK: config {sources['config']} is valid; {len(pos)} positions "
                         f"({out['contracts']} contracts) in {sources['positions']}\n")
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    try:
        from workbook.template import write_template
    except ImportError as exc:
        raise CliError(f"the Excel template builder is not available in this build (workbook.template: {exc})") from None
    cfg = pos = None
    if args.config:
        cfg, _ = load_config_arg(args.config)
    if args.positions:
        pos, _ = load_positions_arg(args.positions)
    out = Path(args.out or ("volarb-template.xlsm" if args.macro else "volarb-template.xlsx"))
    wanted = ".xlsm" if args.macro else ".xlsx"
    if out.suffix.lower() != wanted:
        raise CliError(f"{out}: the {'macro-enabled ' if args.macro else ''}template is an {wanted} workbook; "
                       f"give --out a name ending in {wanted}")
    from workbook.io import check_not_locked

    check_not_locked(out)
    result = write_template(out, config=cfg, positions=pos, macro=args.macro)
    path = result if result is not None else out
    if args.json:
        _emit_json({"out": str(path)})
    else:
        sys.stdout.write(f"wrote {path}\n")
    return EXIT_OK


# --- parser ----------------------------------------------------------------------------------

def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {ln}" for ln in lines)


def _common(p: argparse.ArgumentParser, inputs: bool = True, json_flag: bool = True) -> None:
    if inputs:
        p.add_argument("--positions", metavar="CSV|XLSX",
                       help="positions CSV (or a report's Positions sheet); default: the plan's 38 short puts")
        p.add_argument("--config", metavar="TOML|XLSX",
                       help="plan config TOML (or a report's Inputs sheet); default: the plan's parameters")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON (every figure) instead of tables")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")


def _risk_args(p: argparse.ArgumentParser) -> None:
    """Market data of the daily risk check (risk, build, refresh)."""
    g = p.add_argument_group("risk-check inputs")
    g.add_argument("--iv-history", metavar="CSV",
                   help="implied-vol history (columns date, iv as a decimal): IV rank/percentile and the "
                        "LOW_IV_ENVIRONMENT alert (N/A without it)")
    g.add_argument("--prices", metavar="CSV",
                   help="daily closes of the underlying (columns date, close) for historical VaR; "
                        "selects --var-method historical unless another method is given")
    g.add_argument("--var-method", choices=("full", "delta_gamma", "historical"),
                   help="VaR method (default: config risk.var_method, or historical with --prices)")
    g.add_argument("--previous-value", type=_money_arg, metavar="$",
                   help="yesterday's portfolio value, $: the DAILY_PNL_ALERT (N/A without it)")
    g.add_argument("--contribution", type=_flow_arg, metavar="$",
                   help="money deposited since yesterday's value, $ (negative: withdrawn); the daily P&L "
                        "nets it out, so the monthly deposit does not trip DAILY_PNL_ALERT")
    g.add_argument("--chain", metavar="CSV",
                   help="option chain (expiry, strike, kind, bid, ask): its implied-vol surface marks "
                        "positions that have no iv of their own (instead of market.vol)")
    _portfolio_arg(p)


def _portfolio_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--portfolio-value", type=_money_arg, metavar="$",
                   help="today's portfolio value (net liquidation), $; overrides config account.starting_value")


def _market_args(p: argparse.ArgumentParser, with_vol: bool) -> None:
    p.add_argument("--kind", choices=("put", "call"), default="put", help="option kind (default put)")
    p.add_argument("--spot", type=float, help="underlying price $ (default: config market.spot, 3.15)")
    if with_vol:
        p.add_argument("--vol", type=float, help="annualized vol, decimal: 4.25 = 425%% (default: config market.vol)")
    p.add_argument("--rate", type=float, help="continuous risk-free rate, decimal (default: config market.rate)")
    p.add_argument("--q", type=float, help="continuous dividend yield (default: config market.dividend_yield)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--days", type=float, nargs="+", default=[30.0], help="calendar days to expiry (default 30)")
    g.add_argument("--t", type=float, nargs="+", help="years to expiry (ACT/365)")
    g.add_argument("--expiry", nargs="+", help="expiry date(s) YYYY-MM-DD (days from config valuation date)")
    p.add_argument("--style", choices=("american", "european"), default="american", help="exercise style (default american)")
    p.add_argument("--config", metavar="TOML|XLSX", help="take market defaults from this config")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="volarb", formatter_class=fmt,
        description="Options-strategy engine for a systematic short-put plan: report workbook, pricing, risk.",
        epilog=_examples("volarb build                                  # the plan's example -> volarb-report.xlsx",
                         "volarb build --positions my.csv --config plan.toml --out report.xlsx",
                         "volarb refresh report.xlsx                    # after editing Inputs/Positions",
                         "volarb price --strike 2.5 3 --days 30",
                         "volarb risk --fail-on-alert                   # exit 1 when an alert fires",
                         "volarb <command> --help"))
    parser.add_argument("--version", action="version", version=f"volarb {_version()}")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("build", help="write the report workbook", formatter_class=fmt,
                       description="Compute the plan, risk and simulation and write the report workbook "
                                   "(atomically: an interrupted run leaves the previous file intact).",
                       epilog=_examples("volarb build", "volarb build --positions positions.csv --out today.xlsx",
                                        "volarb build --config plan.toml --paths 20000 --seed 7 --recalc",
                                        "volarb build --iv-history iv.csv --previous-value 3650 --chain chain.csv",
                                        "volarb build --json > report.json"))
    _common(p)
    p.add_argument("--out", default="volarb-report.xlsx", metavar="XLSX", help="output workbook (default volarb-report.xlsx)")
    p.add_argument("--paths", type=_positive_int, help="simulation paths (default: config simulation.paths)")
    p.add_argument("--seed", type=_nonneg_int, help="simulation seed (default: config simulation.seed)")
    p.add_argument("--recalc", action="store_true", help="store computed values with LibreOffice headless")
    _risk_args(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("refresh", help="recompute a report after editing its Inputs/Positions", formatter_class=fmt,
                       description="Read the Inputs and Positions sheets of REPORT, recompute, rewrite only the computed "
                                   "sheets (user sheets, edits and extra sheets are kept); the previous file is kept "
                                   "as REPORT.bak.xlsx.",
                       epilog=_examples("volarb refresh volarb-report.xlsx", "volarb refresh report.xlsx --recalc"))
    p.add_argument("report", metavar="REPORT.xlsx")
    _common(p, inputs=False)
    p.add_argument("--paths", type=_positive_int, help="simulation paths (default: the Inputs sheet's)")
    p.add_argument("--seed", type=_nonneg_int, help="simulation seed (default: the Inputs sheet's)")
    p.add_argument("--recalc", action="store_true", help="store computed values with LibreOffice headless")
    _risk_args(p)
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("price", help="price options and their Greeks", formatter_class=fmt,
                       description="Price options (American by default) with Greeks in display units "
                                   "(theta per day, vega per vol point).",
                       epilog=_examples("volarb price --strike 2.5", "volarb price --strike 2 2.5 3 4 5 --days 21",
                                        "volarb price --kind call --strike 4.5 --days 90 --vol 4.25 --json",
                                        "volarb price --strike 2.5 --expiry 2025-10-17 --style european"))
    p.add_argument("--strike", type=float, nargs="+", required=True, help="strike(s) $")
    _market_args(p, with_vol=True)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_price)

    p = sub.add_parser("iv", help="implied volatility from option prices", formatter_class=fmt,
                       description="Implied volatility (American by default) of option prices; a price no vol can "
                                   "produce gives nan with the reason.",
                       epilog=_examples("volarb iv --price 1.15 --strike 2.5 --days 30",
                                        "volarb iv --price 0.70 1.15 1.60 --strike 2 2.5 3 --days 30 --json"))
    p.add_argument("--price", type=float, nargs="+", required=True, help="option price(s) $ per share")
    p.add_argument("--strike", type=float, nargs="+", required=True, help="strike(s) $")
    _market_args(p, with_vol=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_iv)

    p = sub.add_parser("risk", help="daily risk check and alerts", formatter_class=fmt,
                       description="Portfolio Greeks and the plan's daily risk alerts.",
                       epilog=_examples("volarb risk", "volarb risk --positions positions.csv --fail-on-alert",
                                        "volarb risk --iv-history iv.csv --previous-value 3650 --portfolio-value 3792",
                                        "volarb risk --prices closes.csv            # historical VaR",
                                        "volarb risk --chain chain.csv --var-method delta_gamma --json",
                                        "volarb risk --email --config plan.toml   # needs [email] enabled"))
    _common(p)
    p.add_argument("--fail-on-alert", action="store_true", help="exit with status 1 when any alert fires")
    p.add_argument("--email", action="store_true", help="email the alert summary (config [email] section)")
    _risk_args(p)
    p.set_defaults(func=cmd_risk)

    p = sub.add_parser("plan", help="the plan: premium split, strike allocation, hedges, Kelly, projection",
                       formatter_class=fmt, epilog=_examples("volarb plan", "volarb plan --config plan.toml --json"))
    _common(p)
    _portfolio_arg(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("simulate", help="Monte Carlo of the plan", formatter_class=fmt,
                       epilog=_examples("volarb simulate", "volarb simulate --paths 100000 --seed 1 --json"))
    _common(p)
    p.add_argument("--paths", type=_positive_int, help="paths (default: config simulation.paths)")
    p.add_argument("--seed", type=_nonneg_int, help="seed (default: config simulation.seed)")
    _portfolio_arg(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("review", help="the plan's weekly review from a trade journal and daily equity",
                       formatter_class=fmt,
                       description="Weekly return, Sharpe, max drawdown, premium capture, assignment calibration "
                                   "(Brier score), allocation drift, hedge effectiveness, IV percentile trend and "
                                   "correlation with a second series. Without --journal/--equity: the built-in "
                                   "example (with its IV history and bitcoin series).",
                       epilog=_examples("volarb review                        # the built-in example",
                                        "volarb review --journal journal.csv --equity equity.csv",
                                        "volarb review --journal journal.csv --equity equity.csv "
                                        "--iv-history iv.csv --second bitcoin.csv --json"))
    p.add_argument("--journal", metavar="CSV", help="trade journal: date, action, kind, strike, expiry, contracts, "
                                                    "price[, predicted_prob_itm]")
    p.add_argument("--equity", metavar="CSV", help="daily equity: date, equity[, contribution]")
    p.add_argument("--iv-history", metavar="CSV", help="implied-vol history (date, iv): IV percentile trend")
    p.add_argument("--second", metavar="CSV", help="second price series (date, close), e.g. bitcoin: correlation")
    p.add_argument("--as-of", metavar="DATE", help="last day of the review week (default: the last equity date)")
    p.add_argument("--example", action="store_true", help="use the built-in example files (the default "
                                                          "when no --journal/--equity is given)")
    p.add_argument("--config", metavar="TOML|XLSX", help="plan config (strike weights, rate, IV window)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("example", help="write the example input files to edit", formatter_class=fmt,
                       description="Write the built-in example inputs as files you can edit: "
                                   + ", ".join(f for _, f in EXAMPLE_OUTPUTS) + ". Existing files are never "
                                   "overwritten unless --force is given.",
                       epilog=_examples("volarb example                    # into the current folder",
                                        "volarb example --dir my-plan", "volarb example --dir my-plan --force"))
    p.add_argument("--dir", default=".", metavar="DIR", help="folder to write into (default: the current folder)")
    p.add_argument("--force", action="store_true", help="overwrite existing files of the same names")
    p.add_argument("--json", action="store_true", help="print JSON (the files written)")
    p.add_argument("--debug", action="store_true", help="show the Python traceback on errors")
    p.set_defaults(func=cmd_example)

    p = sub.add_parser("check", help="validate the inputs only", formatter_class=fmt,
                       epilog=_examples("volarb check --positions positions.csv --config plan.toml",
                                        "volarb check --positions report.xlsx --config report.xlsx"))
    _common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("template", help="write the Excel template with the volarb add-in", formatter_class=fmt,
                       epilog=_examples("volarb template", "volarb template --macro --out volarb.xlsm"))
    _common(p)
    p.add_argument("--out", metavar="XLSX|XLSM", help="output (default volarb-template.xlsx, or .xlsm with --macro)")
    p.add_argument("--macro", action="store_true", help="macro-enabled workbook (.xlsm) for the xlwings add-in")
    p.set_defaults(func=cmd_template)
    return parser


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}")
    return v


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return v


def _version() -> str:
    try:
        from engine import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``volarb`` and ``python -m workbook``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    debug = getattr(args, "debug", False)
    from engine._validate import VolarbInputError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("volarb: interrupted; no file was changed\n")
        return EXIT_INTERRUPT
    except (VolarbInputError, CliError) as exc:
        if debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"volarb {args.command}: error: {_one_line(exc)}\n")
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


def _one_line(exc: BaseException) -> str:
    """The error text for the terminal: one problem per line.

    Collected errors (several bad CSV cells, say) arrive as a heading line followed by one line
    per problem; each problem goes on its own indented line, so every one names its file, line
    and column and none is cut short.
    """
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else type(exc).__name__
    return "\n".join([lines[0], *("  " + ln for ln in lines[1:])])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
