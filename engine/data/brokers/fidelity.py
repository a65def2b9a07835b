"""Fidelity: account activity ("Accounts_History.csv") in two generations, and positions
("Portfolio_Positions_Mmm-dd-yyyy.csv").

* ``fidelity-activity``: ``Run Date,Action,Symbol,Description,Type,Quantity,Price ($),
  Commission ($),Fees ($),Accrued Interest ($),Amount ($),Cash Balance ($),Settlement Date``
  (redstreet/beancount_reds_importers ``importers/fidelity/fidelity_brokerage_csv.py`` line 17);
* ``fidelity-activity-old``: ``Run Date,Action,Symbol,Security Description,Security Type,...``
  without ``Cash Balance ($)``, after five blank lines (same repository,
  ``fidelity_cma_csv_examples/History_for_Account_X8YYYYYYY.csv``);
* ``fidelity-all-accounts``: the 2025 all-accounts export ``Run Date,Account,Account Number,Action,
  Symbol,Description,Type,Exchange Quantity,Exchange Currency,Currency,Price,Quantity,Exchange Rate,
  Commission,Fees,Accrued Interest,Amount,Settlement Date`` (same repository,
  ``tests/fidelity_all_accounts_csv/fidelity_csv_all_accounts_transactions_20251204.csv``); accounts
  kept apart by ``Account Number``;
* ``fidelity-positions``: ``Account Number,Account Name,Symbol,Description,Quantity,...,
  Cost Basis Total,Average Cost Basis,Type``.

Both files are newest first, end with disclaimer lines, and spell an option
``" -ASST250815P2.5"`` (leading space and dash, YYMMDD, C/P, the strike as written).  The
``Action`` text says what happened: ``YOU SOLD OPENING TRANSACTION``, ``YOU BOUGHT CLOSING
TRANSACTION``, ``EXPIRED``, ``ASSIGNED as of Sep-19-2025``, ``YOU BOUGHT ASSIGNED PUTS``,
``YOU SOLD ASSIGNED CALLS``, ``YOU BOUGHT`` / ``YOU SOLD`` (shares); anything else (transfers,
dividends, interest, money-market) is skipped with the reason.  Quantity is signed (- sold).
"""

from __future__ import annotations

import datetime as _dt
import math
import re

from engine.data.brokers import (
    Effect,
    Event,
    Fill,
    Kind,
    Layout,
    ParsedFile,
    Side,
    Skipped,
    SnapshotRow,
    option_fill,
    stock_fill,
)
from engine.data.brokers._cells import Row, csv_rows, header_index, split_csv_line

__all__ = ["LAYOUTS", "parse_fidelity_option_symbol"]

ACT = (
    "Run Date",
    "Action",
    "Symbol",
    "Description",
    "Type",
    "Quantity",
    "Price ($)",
    "Commission ($)",
    "Fees ($)",
    "Accrued Interest ($)",
    "Amount ($)",
    "Cash Balance ($)",
    "Settlement Date",
)
ACT_OLD = (
    "Run Date",
    "Action",
    "Symbol",
    "Security Description",
    "Security Type",
    "Quantity",
    "Price ($)",
    "Commission ($)",
    "Fees ($)",
    "Accrued Interest ($)",
    "Amount ($)",
    "Settlement Date",
)
ACT_ALL = (
    "Run Date",
    "Account",
    "Account Number",
    "Action",
    "Symbol",
    "Description",
    "Type",
    "Exchange Quantity",
    "Exchange Currency",
    "Currency",
    "Price",
    "Quantity",
    "Exchange Rate",
    "Commission",
    "Fees",
    "Accrued Interest",
    "Amount",
    "Settlement Date",
)
POS = (
    "Account Number",
    "Account Name",
    "Symbol",
    "Description",
    "Quantity",
    "Last Price",
    "Last Price Change",
    "Current Value",
    "Today's Gain/Loss Dollar",
    "Today's Gain/Loss Percent",
    "Total Gain/Loss Dollar",
    "Total Gain/Loss Percent",
    "Percent Of Account",
    "Cost Basis Total",
    "Average Cost Basis",
    "Type",
)
_SYM = re.compile(r"^-?([A-Z0-9.]+?)(\d{6})([CP])([\d.]+)$")
_REF = "redstreet/beancount_reds_importers importers/fidelity (fidelity_brokerage_csv.py line 17, examples)"


def parse_fidelity_option_symbol(text: str) -> tuple[str, _dt.date, float, Kind] | None:
    """``" -ASST250815P2.5"`` -> (underlying, expiry, strike, kind); None for a ticker.

    >>> parse_fidelity_option_symbol(" -ASST250815P2.5")
    ('ASST', datetime.date(2025, 8, 15), 2.5, 'put')
    """
    t = text.strip().upper()
    if not t.startswith("-"):
        return None
    m = _SYM.match(t)
    if not m:
        return None
    y = m.group(2)
    return (
        m.group(1),
        _dt.date(2000 + int(y[:2]), int(y[2:4]), int(y[4:])),
        float(m.group(4)),
        "put" if m.group(3) == "P" else "call",
    )


def _classify(action: str) -> tuple[Event, Side | None, Effect | None] | None:
    a = action.upper()
    if "ASSIGNED" in a and ("YOU BOUGHT" in a or "YOU SOLD" in a):
        return "assign", "buy" if "YOU BOUGHT" in a else "sell", None  # the share delivery
    if a.startswith("ASSIGNED"):
        return "assign", None, "close"
    if a.startswith("EXPIRED"):
        return "expire", None, "close"
    if a.startswith("EXERCISED") or "EXERCISE" in a and "YOU" not in a:
        return "exercise", None, "close"
    if a.startswith("YOU SOLD") or a.startswith("YOU BOUGHT"):
        side: Side = "sell" if a.startswith("YOU SOLD") else "buy"
        effect: Effect | None = "open" if "OPENING" in a else "close" if "CLOSING" in a else None
        return "trade", side, effect
    return None


def _as_of(action: str) -> _dt.date | None:
    m = re.search(r"AS OF ([A-Za-z]{3}-\d{2}-\d{4}|\d{2}-\d{2}-\d{2})", action, re.I)
    if not m:
        return None
    t = m.group(1)
    fmt = "%b-%d-%Y" if t[0].isalpha() else "%m-%d-%y"
    return _dt.datetime.strptime(t.title() if t[0].isalpha() else t, fmt).date()


def _first(header: list[str], *names: str) -> str:
    return next((n for n in names if n in header), names[0])


def _parse_activity(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    c_price, c_comm = _first(header, "Price ($)", "Price"), _first(header, "Commission ($)", "Commission")
    c_fees, c_amount = _first(header, "Fees ($)", "Fees"), _first(header, "Amount ($)", "Amount")
    fills: list[Fill] = []
    for line, cells in csv_rows(lines, idx + 1, out.path):
        if len(cells) < 6:
            continue  # disclaimer / "Date downloaded" lines at the end
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        spec = _classify(r.text("Action"))
        if spec is None:
            out.skipped.append(Skipped(r.where, f"{_reason(r.text('Action'))} (not a trade)"))
            continue
        event, side, effect = spec
        when = r.when("Run Date")
        eff = _as_of(r.text("Action"))
        if eff is not None:
            when = _dt.datetime.combine(eff, when.time())
        q = r.number("Quantity")
        if q == 0:
            raise r.error("Quantity", "a non-zero quantity (negative for a sale)")
        price = abs(r.money(c_price))
        comm, fees = abs(r.money(c_comm)), abs(r.money(c_fees))
        amount = r.money(c_amount)
        acct = r.text("Account Number")
        o = parse_fidelity_option_symbol(r.text("Symbol"))
        if o is None:
            if side is None:
                raise r.error("Symbol", "an option symbol like ' -ASST250815P2.5' on an option event")
            ticker = r.text("Symbol").upper()
            fills.append(
                stock_fill(
                    out, r.where, acct, when, ticker, event, side, effect, abs(q), price, comm, fees, amount
                )
            )
            continue
        und, exp, k, kind = o
        fills.append(
            option_fill(
                out,
                r.where,
                acct,
                when,
                und,
                kind,
                k,
                exp,
                event,
                side if event == "trade" else None,
                effect,
                abs(q),
                price if event == "trade" else 0.0,
                comm,
                fees,
                amount,
            )
        )
    if len(fills) > 1 and fills[0].when > fills[-1].when:
        fills.reverse()
    out.fills.extend(fills)


def _reason(action: str) -> str:
    a = action.lower()
    for word in ("dividend", "interest", "transfer", "reinvestment", "fee", "journal"):
        if word in a:
            return word
    return (a[:40] or "blank action").strip()


def _parse_positions(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    for line, cells in csv_rows(lines, idx + 1, out.path):
        if len(cells) < 6:
            continue
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        sym = r.text("Symbol")
        if sym.endswith("**") or r.blank("Quantity") or r.text("Type") == "Cash" and not sym.startswith("-"):
            out.skipped.append(Skipped(r.where, "cash / money market"))
            continue
        q = r.number("Quantity")
        total = abs(r.money("Cost Basis Total", default=math.nan))
        acct = r.text("Account Number")
        o = parse_fidelity_option_symbol(sym)
        if o is None:
            avg = abs(r.money("Average Cost Basis", default=math.nan))
            out.snapshot.append(
                SnapshotRow(
                    r.where,
                    acct,
                    sym.upper(),
                    "stock",
                    None,
                    None,
                    None,
                    q,
                    avg if math.isfinite(avg) else total / abs(q),
                )
            )
        else:
            und, exp, k, kind = o
            out.snapshot.append(
                SnapshotRow(r.where, acct, und, "option", kind, k, exp, q, total / (abs(q) * 100))
            )


LAYOUTS = (
    Layout(
        "fidelity-activity",
        "fidelity",
        "Fidelity account activity / history CSV",
        ACT,
        lambda lines: header_index(lines, ACT),
        _parse_activity,
        _REF,
    ),
    Layout(
        "fidelity-activity-old",
        "fidelity",
        "Fidelity account history CSV, older (Security Description)",
        ACT_OLD,
        lambda lines: header_index(lines, ACT_OLD),
        _parse_activity,
        _REF,
    ),
    Layout(
        "fidelity-all-accounts",
        "fidelity",
        "Fidelity all-accounts transactions CSV (2025, Account Number column)",
        ACT_ALL,
        lambda lines: header_index(lines, ACT_ALL),
        _parse_activity,
        "beancount_reds_importers tests/fidelity_all_accounts_csv (fidelity_csv_all_accounts_transactions_20251204.csv)",
    ),
    Layout(
        "fidelity-positions",
        "fidelity",
        "Fidelity portfolio positions CSV",
        POS,
        lambda lines: header_index(lines, POS),
        _parse_positions,
        "open-portfolio/FINporterFido README (0e28f92)",
    ),
)
