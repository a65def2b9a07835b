"""Interactive Brokers: the Activity Statement CSV and Flex Query XML (through ``ibflex``).

**Activity Statement CSV** (``ibkr-activity``).  Every row starts with the section name and
``Header``/``Data``/``SubTotal``/``Total``; a section may repeat its ``Header`` with other
columns.  Read here: ``Trades`` (``Code`` O/C open/close, ``A`` assignment, ``Ex`` exercise,
``Ep`` expiration, combined as ``A;C``, ``C;Ep``; ``IA`` is not an assignment), ``Open Positions``
(the snapshot the import is checked against), ``Net Asset Value`` (``Current Total``, net
liquidation at the period end -> equity.csv), ``Deposits & Withdrawals`` (contributions), the
account from ``Account Information`` or an ``Account`` column (multi-account statements).
Option symbols look like ``SPY 25AUG25 643 P``; ``Quantity`` is signed (- sold); ``Comm/Fee`` is
negative and holds commission and fees together; date-times are ``"2025-08-25, 09:36:08"``.
Source: JohanLarsson/IbkrToSru (fe9e78b) ``IbkrToSru/Csv.cs``; fixtures cited in docs/import.md.

**Flex Query XML** (``ibkr-flex``), parsed by ``ibflex`` (csingley/ibflex, ``ibflex/Types.py``):
``Trade`` (``ExchTrade`` rows are fills; ``BookTrade`` rows, the deliveries IBKR books for
assignments and expirations, are taken from ``OptionEAE`` instead when the statement has that
section), ``OptionEAE`` (``Assignment``, ``Exercise``, ``Expiration`` of the option and the
``Buy``/``Sell`` share delivery; IBKR spells ``commisionsAndTax``), ``OpenPosition``,
``EquitySummaryByReportDateInBase`` (``total`` = net liquidation per report date) and
``CashTransaction`` deposits.  Fills carry IBKR's ``tradeID``.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

from engine.data.brokers import (
    BrokerImportError,
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
    option_fill,
    side_of,
    stock_fill,
)
from engine.data.brokers._cells import Row, csv_rows, split_csv_line

__all__ = ["LAYOUTS", "parse_ib_option_symbol"]

_OPT_RE = re.compile(r"^([A-Z0-9.]+)\s+(\d{1,2}[A-Z]{3}\d{2})\s+([\d.]+)\s+([PC])$")
_TRADES_HDR = (
    "Trades",
    "Header",
    "DataDiscriminator",
    "Asset Category",
    "Currency",
    "Symbol",
    "Date/Time",
    "Quantity",
    "T. Price",
    "C. Price",
    "Proceeds",
    "Comm/Fee",
    "Basis",
    "Realized P/L",
    "MTM P/L",
    "Code",
)


def parse_ib_option_symbol(text: str) -> tuple[str, _dt.date, float, Kind] | None:
    """``"SPY 25AUG25 643 P"`` -> (underlying, expiry, strike, kind), None if not that form.

    >>> parse_ib_option_symbol("ASST 15AUG25 2.5 P")
    ('ASST', datetime.date(2025, 8, 15), 2.5, 'put')
    """
    m = _OPT_RE.match(text.strip().upper())
    if not m:
        return None
    exp = _dt.datetime.strptime(m.group(2), "%d%b%y").date()
    return m.group(1), exp, float(m.group(3)), "put" if m.group(4) == "P" else "call"


def _codes(text: str) -> set[str]:
    return {c.strip() for c in text.split(";") if c.strip()}


def _detect_activity(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines[:5]):
        cells = split_csv_line(ln)
        if cells[:2] in (["Statement", "Header"], ["Trades", "Header"]):
            return i
    return None


def _parse_activity(lines: list[str], idx: int, out: ParsedFile) -> None:
    headers: dict[str, list[str]] = {}
    account = ""
    period_end: _dt.date | None = None
    nav: float | None = None
    deposits: dict[tuple[str, _dt.date], float] = {}
    trades: list[Row] = []
    for line, cells in csv_rows(lines, idx, out.path):
        sec, kind = cells[0], (cells[1] if len(cells) > 1 else "")
        if kind == "Header":
            headers[sec] = cells
            continue
        if kind != "Data":
            continue  # SubTotal / Total rows
        out.rows_read += 1
        hdr = headers.get(sec)
        if hdr is None:
            raise BrokerImportError(f"{out.path}, line {line}: a {sec!r} Data row before its Header row")
        r = Row(hdr, cells, out.path, line)
        if sec == "Statement":
            if r.text("Field Name") == "Period":
                try:
                    end = r.text("Field Value").split(" - ")[-1].strip()
                    period_end = _dt.datetime.strptime(end, "%B %d, %Y").date()
                except ValueError:
                    raise r.error(
                        "Field Value", "a period like 'August 1, 2025 - October 20, 2025'"
                    ) from None
            out.skipped.append(Skipped(r.where, "statement header"))
        elif sec == "Account Information":
            if r.text("Field Name") == "Account":
                account = r.text("Field Value")
            out.skipped.append(Skipped(r.where, "account information"))
        elif sec == "Net Asset Value":
            if r.text("Asset Class") == "Total":
                nav = r.money("Current Total", default=None)
            out.skipped.append(Skipped(r.where, "net asset value (equity.csv)"))
        elif sec == "Deposits & Withdrawals":
            if r.text("Currency").startswith("Total"):
                continue
            d = r.when("Settle Date").date()
            key = (r.text("Account") or account, d)
            deposits[key] = deposits.get(key, 0.0) + r.money("Amount")
            out.skipped.append(Skipped(r.where, "deposit/withdrawal (transfer)"))
        elif sec == "Trades":
            trades.append(r)
        elif sec == "Open Positions":
            cat = r.text("Asset Category")
            if r.text("DataDiscriminator") not in ("Summary", ""):
                out.skipped.append(Skipped(r.where, "open position lot detail"))
                continue
            acct = r.text("Account") or account
            q = r.number("Quantity")
            mult = r.number("Mult", positive=True, default=1.0)
            cost = abs(r.money("Cost Price", default=math.nan))
            if cat == "Stocks":
                out.snapshot.append(
                    SnapshotRow(r.where, acct, r.text("Symbol").upper(), "stock", None, None, None, q, cost)
                )
            elif "Option" in cat:
                o = parse_ib_option_symbol(r.text("Symbol"))
                if o is None:
                    raise r.error("Symbol", "an option symbol like 'ASST 15AUG25 2.5 P'")
                out.snapshot.append(
                    SnapshotRow(
                        r.where, acct, o[0], "option", o[3], o[2], o[1], q, cost if mult == 1 else cost
                    )
                )
            else:
                out.skipped.append(Skipped(r.where, f"other instrument ({cat})"))
        else:
            out.skipped.append(Skipped(r.where, f"section {sec!r} (not used)"))
    # IBKR writes one "Order" row per order and, with executions shown, "Execution"/"Trade" rows
    # beneath it and "ClosedLot" rows: the Order rows are used when there are any
    have_orders = any(r.text("DataDiscriminator") == "Order" for r in trades)
    for r in trades:
        disc = r.text("DataDiscriminator")
        if disc == "ClosedLot":
            out.skipped.append(Skipped(r.where, "closed lot detail"))
        elif have_orders and disc != "Order":
            out.skipped.append(Skipped(r.where, "execution detail (its Order row is used)"))
        else:
            _activity_trade(r, account, out)
    if period_end and out.fills:
        out.as_of = period_end
    if nav is not None and period_end is not None:
        contrib = sum(v for (a, d), v in deposits.items() if d == period_end)
        out.equity.append(EquityPoint(period_end, nav, contrib, math.nan, account))


def _activity_trade(r: Row, account: str, out: ParsedFile) -> None:
    cat = r.text("Asset Category")
    if cat not in ("Stocks", "Equity and Index Options"):
        out.skipped.append(Skipped(r.where, f"other instrument ({cat})"))
        return
    when = r.when("Date/Time")
    q = r.number("Quantity")
    if q == 0:
        raise r.error("Quantity", "a non-zero number (negative for a sale)")
    side: Side = "buy" if q > 0 else "sell"
    price = abs(r.money("T. Price"))
    comm = abs(r.money("Comm/Fee"))
    amount = r.money("Proceeds") + r.money("Comm/Fee")
    codes = _codes(r.text("Code"))
    effect: Effect | None = "open" if "O" in codes else "close" if "C" in codes else None
    event: Event = (
        "assign" if "A" in codes else "exercise" if "Ex" in codes else "expire" if "Ep" in codes else "trade"
    )
    acct = r.text("Account") or account
    if cat == "Stocks":
        ticker = r.text("Symbol").upper()
        out.fills.append(
            stock_fill(
                out, r.where, acct, when, ticker, event, side, effect, abs(q), price, comm, 0.0, amount
            )
        )
        return
    o = parse_ib_option_symbol(r.text("Symbol"))
    if o is None:
        raise r.error("Symbol", "an option symbol like 'ASST 15AUG25 2.5 P'")
    und, exp, k, kind = o
    out.fills.append(
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
            0.0,
            amount,
        )
    )


# --------------------------------------------------------------------------- Flex XML
def _detect_flex(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines[:5]):
        if "<FlexQueryResponse" in ln or "<FlexStatements" in ln:
            return i
    return None


def _f(x: Any, default: float = 0.0) -> float:
    return default if x is None else float(x)


def _enum(x: object) -> str:
    return "" if x is None else str(getattr(x, "value", x))


def _parse_flex(lines: list[str], idx: int, out: ParsedFile) -> None:
    try:
        from ibflex import parser as flexparser
    except ImportError:
        raise BrokerImportError(
            f"{out.path}: reading IBKR Flex Query XML needs the ibflex package: "
            "pip install 'volarb[brokers]' (or pip install ibflex)"
        ) from None

    text = "\n".join(lines)
    try:
        resp = flexparser.parse(text.encode("utf-8"))
    except Exception as exc:  # ibflex raises FlexParserError, ParseError, ValueError ...
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BrokerImportError(f"{out.path}: not a readable Flex Query XML ({msg[:300]})") from None
    for st in resp.FlexStatements:
        acct_default = st.accountId or ""
        has_eae = bool(st.OptionEAE)
        deposits: dict[_dt.date, float] = {}
        for ct in st.CashTransactions:
            out.rows_read += 1
            where = f"{out.path}, CashTransaction {ct.transactionID or ''}".rstrip()
            if _enum(ct.type) == "Deposits & Withdrawals" and ct.dateTime is not None:
                d = ct.dateTime.date() if isinstance(ct.dateTime, _dt.datetime) else ct.dateTime
                deposits[d] = deposits.get(d, 0.0) + _f(ct.amount)
                out.skipped.append(Skipped(where, "deposit/withdrawal (transfer)"))
            else:
                out.skipped.append(Skipped(where, f"cash transaction ({_enum(ct.type) or 'other'})"))
        for t in st.Trades:
            if type(t).__name__ != "Trade":
                continue
            out.rows_read += 1
            where = f"{out.path}, Trade tradeID {t.tradeID}"
            ttype = _enum(t.transactionType)
            cat = _enum(t.assetCategory)
            if ttype == "BookTrade" and has_eae:
                out.skipped.append(Skipped(where, "book trade (taken from OptionEAE)"))
                continue
            if cat not in ("OPT", "STK"):
                out.skipped.append(Skipped(where, f"other instrument ({cat})"))
                continue
            when = t.dateTime or (_dt.datetime.combine(t.tradeDate, _dt.time()) if t.tradeDate else None)
            if when is None:
                raise BrokerImportError(
                    f"{where}, attributes 'dateTime'/'tradeDate': expected a date, got none"
                )
            q = _f(t.quantity)
            if q == 0:
                raise BrokerImportError(
                    f"{where}, attribute 'quantity': expected a non-zero number, got {t.quantity!r}"
                )
            side: Side = "buy" if q > 0 else "sell"
            oc = _enum(t.openCloseIndicator)
            effect: Effect | None = "open" if oc == "O" else "close" if oc == "C" else None
            notes = {_enum(n) for n in (t.notes or ())}
            event: Event = "trade"
            if ttype == "BookTrade":
                event = (
                    "assign"
                    if "A" in notes
                    else "exercise"
                    if "Ex" in notes
                    else "expire"
                    if "Ep" in notes
                    else "trade"
                )
            acct = t.accountId or acct_default
            comm = abs(_f(t.ibCommission))
            amount = _f(t.netCash, math.nan)
            if cat == "STK":
                out.fills.append(
                    stock_fill(
                        out,
                        where,
                        acct,
                        when,
                        (t.symbol or "").upper(),
                        event,
                        side,
                        effect,
                        abs(q),
                        abs(_f(t.tradePrice)),
                        comm,
                        0.0,
                        amount,
                        order_id=str(t.ibOrderID or ""),
                        fill_id=f"ib-{t.tradeID}",
                    )
                )
            else:
                out.fills.append(
                    _flex_option(t, where, acct, when, event, side, effect, abs(q), comm, amount, out)
                )
        for e in st.OptionEAE:
            out.rows_read += 1
            where = f"{out.path}, OptionEAE tradeID {e.tradeID}"
            action = _enum(e.transactionType)
            cat = _enum(e.assetCategory)
            acct = e.accountId or acct_default
            if e.date is None:
                raise BrokerImportError(f"{where}, attribute 'date': expected a date, got None")
            when = _dt.datetime.combine(e.date, _dt.time(16, 0))
            q = abs(_f(e.quantity))
            comm = abs(_f(e.commisionsAndTax))
            if cat == "STK" and action in ("Buy", "Sell"):
                out.fills.append(
                    stock_fill(
                        out,
                        where,
                        acct,
                        when,
                        (e.symbol or "").upper(),
                        "assign",
                        side_of(action),
                        None,
                        q,
                        abs(_f(e.tradePrice)),
                        comm,
                        0.0,
                        _f(e.proceeds) - comm,
                        fill_id=f"ib-eae-{e.tradeID}",
                    )
                )
            elif cat == "OPT" and action in ("Assignment", "Exercise", "Expiration"):
                ev: Event = {"Assignment": "assign", "Exercise": "exercise", "Expiration": "expire"}[action]  # type: ignore[assignment]
                out.fills.append(
                    _flex_option(
                        e, where, acct, when, ev, None, None, q, comm, -comm, out, fid=f"ib-eae-{e.tradeID}"
                    )
                )
            else:
                out.skipped.append(Skipped(where, f"option event {action or 'blank'} on {cat} (not used)"))
        for p in st.OpenPositions:
            out.rows_read += 1
            where = f"{out.path}, OpenPosition {p.symbol}"
            cat = _enum(p.assetCategory)
            acct = p.accountId or acct_default
            cost = abs(_f(p.openPrice if p.openPrice is not None else p.costBasisPrice, math.nan))
            if cat == "STK":
                out.snapshot.append(
                    SnapshotRow(
                        where, acct, (p.symbol or "").upper(), "stock", None, None, None, _f(p.position), cost
                    )
                )
            elif cat == "OPT":
                out.snapshot.append(
                    SnapshotRow(
                        where,
                        acct,
                        (p.underlyingSymbol or "").upper(),
                        "option",
                        "put" if _enum(p.putCall) == "P" else "call",
                        _f(p.strike),
                        p.expiry,
                        _f(p.position),
                        cost,
                    )
                )
            else:
                out.skipped.append(Skipped(where, f"other instrument ({cat})"))
        for eq in st.EquitySummaryInBase:
            if eq.reportDate is None or eq.total is None:
                continue
            out.equity.append(
                EquityPoint(
                    eq.reportDate,
                    _f(eq.total),
                    deposits.get(eq.reportDate, 0.0),
                    math.nan,
                    eq.accountId or acct_default,
                )
            )
        if st.toDate and out.fills:
            out.as_of = st.toDate


def _flex_option(
    t: Any,
    where: str,
    acct: str,
    when: _dt.datetime,
    event: Event,
    side: Side | None,
    effect: Effect | None,
    q: float,
    comm: float,
    amount: float,
    out: ParsedFile,
    fid: str | None = None,
) -> Fill:
    kind: Kind | None = {"P": "put", "C": "call"}.get(_enum(t.putCall))  # type: ignore[assignment]
    if kind is None or t.strike is None or t.expiry is None:
        raise BrokerImportError(
            f"{where}: an option row needs putCall, strike and expiry (got {_enum(t.putCall)!r}, "
            f"{t.strike!r}, {t.expiry!r})"
        )
    und = (t.underlyingSymbol or (t.symbol or "").split()[0]).upper()
    price = abs(_f(t.tradePrice)) if event == "trade" else 0.0
    return option_fill(
        out,
        where,
        acct,
        when,
        und,
        kind,
        _f(t.strike),
        t.expiry,
        event,
        side,
        effect,
        q,
        price,
        comm,
        0.0,
        amount,
        multiplier=_f(t.multiplier, 100.0) or 100.0,
        order_id=str(getattr(t, "ibOrderID", "") or ""),
        fill_id=fid or f"ib-{t.tradeID}",
    )


LAYOUTS = (
    Layout(
        "ibkr-activity",
        "ibkr",
        "IBKR Activity Statement CSV (sections Trades, Open Positions, ...)",
        _TRADES_HDR,
        _detect_activity,
        _parse_activity,
        "JohanLarsson/IbkrToSru fe9e78b IbkrToSru/Csv.cs line 40",
    ),
    Layout(
        "ibkr-flex",
        "ibkr",
        "IBKR Flex Query XML (Trade, OptionEAE, OpenPosition)",
        ("<FlexQueryResponse>",),
        _detect_flex,
        _parse_flex,
        "csingley/ibflex f76b56c ibflex/Types.py; ibkrguides Flex reference",
    ),
)
