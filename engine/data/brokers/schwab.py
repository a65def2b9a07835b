"""Charles Schwab: transactions CSV and positions CSV; thinkorswim Account Statement.

* ``schwab-transactions``: a preamble line ``"Transactions  for account ... as of ..."`` then
  ``"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"``
  (redstreet/beancount_reds_importers 2d7770d, schwab_csv_brokerage test file; GammaLedger
  ``schwab.ts``).  Newest first; dates ``MM/DD/YYYY`` or ``"08/18/2025 as of 08/15/2025"`` (the
  as-of date is the event's); option symbols ``"HIMS 01/23/2026 31.50 P"`` (gregtee2/WheelHouse
  ``js/broker-import.js``); actions ``Sell to Open``, ``Buy to Close``, ``Buy to Open``,
  ``Sell to Close``, ``Expired``, ``Assigned``, ``Exchange or Exercise``, ``Buy``/``Sell`` for
  shares; money ``$1,234.56`` / ``-$1.00``; a closing ``"Transactions Total"`` line.
  ``Fees & Comm`` holds commission and fees together (read into ``commission``).
* ``schwab-positions``: ``"Positions for account ... as of ..."``, a blank line, then
  ``"Symbol","Description","Qty (Quantity)",...,"Cost Basis",...,"Security Type"`` (vroonhof/
  opensteuerauszug ``importers/schwab/formats.md``); the older ``Quantity`` spelling and a final
  ``Asset Type`` column are accepted too.  ``Cost Basis`` is the lot's total cost, $.
* ``tos-statement``: thinkorswim Monitor -> Account Statement export: sections, each a title
  line then its header (jabontz09/thinkorswim-statement-converter 1bf9ce0).  Fills come from
  ``Cash Balance`` (``TRD`` trades and ``RAD`` removals/deliveries, with ``Misc Fees`` and
  ``Commissions & Fees``); ``Account Trade History`` repeats the same fills without costs and is
  counted, not booked; ``Options`` and ``Equities`` are the snapshot; ``Account Summary`` ->
  ``Net Liquidating Value`` (equity at the statement end).
"""

from __future__ import annotations

import datetime as _dt
import math
import re

from engine.data.brokers import (
    Effect,
    EquityPoint,
    Event,
    Fill,
    Kind,
    Layout,
    ParsedFile,
    Side,
    Skipped,
    SnapshotRow,
    kind_of,
    option_fill,
    stock_fill,
)
from engine.data.brokers._cells import Row, csv_rows, header_index, parse_expiry, parse_money, split_csv_line

__all__ = ["LAYOUTS", "parse_schwab_option_symbol"]

TX = ("Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount")
_SYM_RE = re.compile(r"^([A-Z0-9.]+)\s+(\d{2}/\d{2}/\d{4})\s+([\d.]+)\s+([PC])$")
_ACTIONS: dict[str, tuple[Event, Side | None, Effect | None]] = {
    "sell to open": ("trade", "sell", "open"),
    "buy to close": ("trade", "buy", "close"),
    "buy to open": ("trade", "buy", "open"),
    "sell to close": ("trade", "sell", "close"),
    "expired": ("expire", None, "close"),
    "assigned": ("assign", None, "close"),
    "exchange or exercise": ("exercise", None, "close"),
    "buy": ("trade", "buy", None),
    "sell": ("trade", "sell", None),
}


def parse_schwab_option_symbol(text: str) -> tuple[str, _dt.date, float, Kind] | None:
    """``"HIMS 01/23/2026 31.50 P"`` -> (underlying, expiry, strike, kind); None for a ticker.

    >>> parse_schwab_option_symbol("ASST 08/15/2025 2.50 P")
    ('ASST', datetime.date(2025, 8, 15), 2.5, 'put')
    """
    m = _SYM_RE.match(text.strip().upper())
    if not m:
        return None
    return m.group(1), parse_expiry(m.group(2)), float(m.group(3)), "put" if m.group(4) == "P" else "call"


def _account_from(line: str) -> str:
    m = re.search(r"\.\.\.(\w+)", line)
    return m.group(1) if m else ""


def _parse_tx(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    acct = _account_from(lines[idx - 1]) if idx > 0 else ""
    rows = list(csv_rows(lines, idx + 1, out.path))
    fills: list[Fill] = []
    for line, cells in rows:
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        if r.text("Date").lower().startswith("transactions total"):
            out.rows_read -= 1
            continue
        act = r.text("Action").lower()
        spec = _ACTIONS.get(act)
        if spec is None:
            out.skipped.append(Skipped(r.where, f"{act or 'blank action'} (not a trade)"))
            continue
        event, side, effect = spec
        when = r.when("Date")
        qty = r.number("Quantity", positive=True)
        price = abs(r.money("Price"))
        comm = abs(r.money("Fees & Comm"))
        amount = r.money("Amount", default=0.0)
        o = parse_schwab_option_symbol(r.text("Symbol"))
        if o is None:
            if act not in ("buy", "sell"):
                raise r.error("Symbol", "an option symbol like 'ASST 08/15/2025 2.50 P'")
            ticker = r.text("Symbol").upper()
            fills.append(
                stock_fill(
                    out, r.where, acct, when, ticker, event, side, effect, qty, price, comm, 0.0, amount
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
                side,
                effect,
                qty,
                price if event == "trade" else 0.0,
                comm,
                0.0,
                amount,
            )
        )
    if len(fills) > 1 and fills[0].when > fills[-1].when:
        fills.reverse()  # Schwab lists newest first
    out.fills.extend(fills)


def _detect_positions(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines[:6]):
        cells = split_csv_line(ln)
        if (
            cells
            and cells[0] == "Symbol"
            and "Cost Basis" in cells
            and any(c.startswith("Qty") or c == "Quantity" for c in cells)
        ):
            return i
    return None


def _parse_positions(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    qcol = next(c for c in header if c.startswith("Qty") or c == "Quantity")
    pre = lines[0] if idx > 0 else ""
    acct = _account_from(pre)
    m = re.search(r"(\d{4})/(\d{2})/(\d{2})|(\d{2})/(\d{2})/(\d{4})", pre)
    if m:
        y, mo, d = (
            (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(6), m.group(4), m.group(5))
        )
        out.as_of = _dt.date(int(y), int(mo), int(d))
    for line, cells in csv_rows(lines, idx + 1, out.path):
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        sym = r.text("Symbol")
        if sym.startswith(("Cash", "Account Total")) or r.blank(qcol):
            out.skipped.append(Skipped(r.where, "cash / account total"))
            continue
        q = r.number(qcol)
        basis = abs(r.money("Cost Basis", default=math.nan))
        o = parse_schwab_option_symbol(sym)
        if o is None:
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
                    basis / abs(q) if q else math.nan,
                )
            )
        else:
            und, exp, k, kind = o
            out.snapshot.append(
                SnapshotRow(
                    r.where, acct, und, "option", kind, k, exp, q, basis / (abs(q) * 100) if q else math.nan
                )
            )


# --------------------------------------------------------------------------- thinkorswim
_TOS_OPT = re.compile(
    r"^(SOLD|BOT)\s+([+-]?[\d,]+)\s+([A-Z0-9.]+)\s+(\d+)\s+(?:\([^)]*\)\s+)?"
    r"(\d{1,2} [A-Z]{3} \d{2})\s+([\d.]+)\s+(PUT|CALL)\s+@\s*([\d.,]+)"
)
_TOS_STK = re.compile(r"^(SOLD|BOT)\s+([+-]?[\d,]+)\s+([A-Z0-9.]+)\s+@\s*([\d.,]+)")
_TOS_RAD = re.compile(
    r"REMOVAL OF OPTION DUE TO (EXPIRATION|ASSIGNMENT|EXERCISE)\s+([+-]?[\d,]+)\s+([A-Z0-9.]+)\s+"
    r"(\d+)\s+(?:\([^)]*\)\s+)?(\d{1,2} [A-Z]{3} \d{2})\s+([\d.]+)\s+(PUT|CALL)"
)
_SECTIONS = (
    "Cash Balance",
    "Account Order History",
    "Account Trade History",
    "Equities",
    "Options",
    "Futures",
    "Futures Options",
    "Profits and Losses",
    "Account Summary",
    "Forex Account Summary",
)


def _detect_tos(lines: list[str]) -> int | None:
    if lines and lines[0].strip().startswith("Account Statement for"):
        return 0
    return None


def _parse_tos(lines: list[str], idx: int, out: ParsedFile) -> None:
    m = re.search(r"through (\d{1,2}/\d{1,2}/\d{2,4})", lines[0])
    m_acct = re.search(r"Account Statement for (\S+)", lines[0])
    acct = m_acct.group(1) if m_acct else ""
    end = parse_expiry(m.group(1)) if m else None
    i, n = 1, len(lines)
    trades_seen = 0
    while i < n:
        title = lines[i].strip().strip(",")
        if title not in _SECTIONS:
            i += 1
            continue
        j = i + 1
        while j < n and lines[j].strip() and lines[j].strip().strip(",") not in _SECTIONS:
            j += 1
        block = lines[i + 1 : j]
        if title == "Account Summary":
            for k, ln in enumerate(block):
                cells = split_csv_line(ln)
                out.rows_read += 1
                where = f"{out.path}, line {i + 2 + k}"
                if cells and cells[0] == "Net Liquidating Value" and end is not None:
                    v = parse_money(cells[1] if len(cells) > 1 else "")
                    if v is None or not math.isfinite(v):
                        from engine.data.brokers import BrokerImportError

                        raise BrokerImportError(
                            f"{where}, column 'Net Liquidating Value': expected a dollar amount, "
                            f"got {cells[1:2]}"
                        )
                    out.equity.append(EquityPoint(end, v, 0.0, math.nan, acct))
                    out.skipped.append(Skipped(where, "net liquidating value (equity.csv)"))
                else:
                    out.skipped.append(Skipped(where, "account summary"))
        elif block:
            header = split_csv_line(block[0])
            for line, cells in csv_rows(lines, i + 2, out.path):
                if line > j:
                    break
                out.rows_read += 1
                r = Row(header, cells, out.path, line)
                if title == "Cash Balance":
                    _tos_cash(r, acct, out)
                elif title == "Account Trade History":
                    trades_seen += 1
                    out.skipped.append(
                        Skipped(r.where, "trade history (the same fills as the Cash Balance TRD rows)")
                    )
                elif title == "Options":
                    exp = r.expiry("Exp")
                    out.snapshot.append(
                        SnapshotRow(
                            r.where,
                            acct,
                            r.text("Symbol").upper(),
                            "option",
                            "put" if r.text("Type").upper() == "PUT" else "call",
                            r.number("Strike", positive=True),
                            exp,
                            r.number("Qty"),
                            abs(r.money("Trade Price", default=math.nan)),
                        )
                    )
                elif title == "Equities":
                    out.snapshot.append(
                        SnapshotRow(
                            r.where,
                            acct,
                            r.text("Symbol").upper(),
                            "stock",
                            None,
                            None,
                            None,
                            r.number("Qty"),
                            abs(r.money("Trade Price", default=math.nan)),
                        )
                    )
                else:
                    out.skipped.append(Skipped(r.where, f"section {title!r} (not used)"))
        i = j
    trd = sum(1 for f in out.fills if f.event == "trade" and f.instrument == "option")
    if trades_seen and trades_seen != trd:
        out.skipped.append(
            Skipped(out.path, f"Account Trade History has {trades_seen} fills, Cash Balance {trd}")
        )
        out.rows_read += 1
    if end and out.fills:
        out.as_of = end


def _tos_cash(r: Row, acct: str, out: ParsedFile) -> None:
    typ = r.text("TYPE")
    desc = " ".join(r.text("DESCRIPTION").upper().split())
    if typ not in ("TRD", "RAD"):
        out.skipped.append(Skipped(r.where, f"{typ or 'blank'} {desc[:30].lower()} (cash movement)"))
        return
    when = _dt.datetime.combine(r.when("DATE").date(), _time(r.text("TIME")))
    fees, comm = abs(r.money("Misc Fees")), abs(r.money("Commissions & Fees"))
    amount = r.money("AMOUNT", default=0.0)
    m = _TOS_OPT.match(desc)
    side: Side
    if m:
        side = "sell" if m.group(1) == "SOLD" else "buy"
        qty = abs(parse_money(m.group(2)) or 0.0)
        exp = parse_expiry(m.group(5))
        out.fills.append(
            option_fill(
                out,
                r.where,
                acct,
                when,
                m.group(3),
                kind_of(m.group(7)),
                float(m.group(6)),
                exp,
                "trade",
                side,
                None,
                qty,
                float(m.group(8).replace(",", "")),
                comm,
                fees,
                amount,
                multiplier=float(m.group(4)),
            )
        )
        return
    m = _TOS_RAD.search(desc)
    if m:
        ev: Event = {"EXPIRATION": "expire", "ASSIGNMENT": "assign", "EXERCISE": "exercise"}[m.group(1)]  # type: ignore[assignment]
        out.fills.append(
            option_fill(
                out,
                r.where,
                acct,
                when,
                m.group(3),
                kind_of(m.group(7)),
                float(m.group(6)),
                parse_expiry(m.group(5)),
                ev,
                None,
                "close",
                abs(parse_money(m.group(2)) or 0.0),
                0.0,
                comm,
                fees,
                amount,
                multiplier=float(m.group(4)),
            )
        )
        return
    m = _TOS_STK.match(desc)
    if m:
        side = "sell" if m.group(1) == "SOLD" else "buy"
        out.fills.append(
            stock_fill(
                out,
                r.where,
                acct,
                when,
                m.group(3),
                "assign" if typ == "RAD" else "trade",
                side,
                None,
                abs(parse_money(m.group(2)) or 0.0),
                float(m.group(4).replace(",", "")),
                comm,
                fees,
                amount,
            )
        )
        return
    raise r.error(
        "DESCRIPTION",
        "a trade like 'SOLD -3 ASST 100 15 AUG 25 2.5 PUT @.40', 'BOT +400 ASST @3.00' "
        "or 'REMOVAL OF OPTION DUE TO EXPIRATION ...'",
    )


def _time(text: str) -> _dt.time:
    try:
        return _dt.time.fromisoformat(text.strip())
    except ValueError:
        return _dt.time()


LAYOUTS = (
    Layout(
        "schwab-transactions",
        "schwab",
        "Schwab transactions CSV (with or without the preamble line)",
        TX,
        lambda lines: header_index(lines, TX),
        _parse_tx,
        "redstreet/beancount_reds_importers 2d7770d schwab_csv_brokerage test file",
    ),
    Layout(
        "schwab-positions",
        "schwab",
        "Schwab positions CSV",
        ("Symbol", "Description", "Qty (Quantity)", "Cost Basis"),
        _detect_positions,
        _parse_positions,
        "vroonhof/opensteuerauszug importers/schwab/formats.md",
    ),
    Layout(
        "tos-statement",
        "tos",
        "thinkorswim Account Statement (Cash Balance, Account Trade History, Options)",
        (
            "Account Statement for ...",
            "Cash Balance",
            "DATE,TIME,TYPE,REF #,DESCRIPTION,Misc Fees,Commissions & Fees,AMOUNT,BALANCE",
        ),
        _detect_tos,
        _parse_tos,
        "jabontz09/thinkorswim-statement-converter 1bf9ce0 2022-06-21-AccountStatement.csv",
    ),
)
