"""tastytrade (formerly tastyworks): transaction history CSV in five generations, and the
positions export.

Layouts (header lines; sources in docs/import.md):

* ``tastytrade-21``: ``Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,Quantity,
  Average Price,Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,Expiration Date,
  Strike Price,Call or Put,Order #,Total,Currency`` (laroche/tastyworks-pnl ``tw-pnl.py``);
* ``tastytrade-20`` (no ``Total``), ``tastytrade-18`` (the 2023 format: no ``Sub Type``,
  ``Total``, ``Currency``), ``tastytrade-16`` (no ``Root Symbol`` and ``Order #`` either);
* ``tastyworks-15``: ``Date/Time,Transaction Code,Transaction Subcode,Symbol,Buy/Sell,
  Open/Close,Quantity,Expiration Date,Strike,Call/Put,Price,Fees,Amount,Description,
  Account Reference`` (the legacy tastyworks file; ``Fees`` is commission and fees together);
* ``tastytrade-positions``: the web Positions export, whose columns are the visible ones; it is
  recognised by ``Symbol``, ``Type``, ``Quantity``, ``Exp Date``, ``Strike Price``, ``Call/Put``.

Row conventions: ``Value`` signed (+ credit), ``Average Price`` = Value / Quantity (per contract
for options, so the premium per share is |Value| / (Quantity x Multiplier)), ``Commissions`` and
``Fees`` negative with ``--`` for none, thousands quoted (``"-1,200.00"``), times with an offset
without a colon.  ``Receive Deliver`` rows are removals (``Expiration``, ``Assignment``,
``Exercise``; in the 18/16-column files read from the description "Removal of ... due to
expiration" / "due to assignment") and share deliveries (``Buy to Open`` / ``Sell to Close`` of
an ``Equity``).  ``Money Movement`` rows (deposits, interest, fees) are skipped with the reason.
"""

from __future__ import annotations

from engine.data.brokers import (
    Effect,
    Event,
    Kind,
    Layout,
    ParsedFile,
    Side,
    Skipped,
    SnapshotRow,
    effect_of,
    kind_of,
    option_fill,
    side_of,
    stock_fill,
)
from engine.data.brokers._cells import Row, csv_rows, header_index, split_csv_line

__all__ = ["LAYOUTS"]

_REF = "laroche/tastyworks-pnl tw-pnl.py (8295bb3), lines 1334-1340; fixtures cited in docs/import.md"
TT21 = (
    "Date",
    "Type",
    "Sub Type",
    "Action",
    "Symbol",
    "Instrument Type",
    "Description",
    "Value",
    "Quantity",
    "Average Price",
    "Commissions",
    "Fees",
    "Multiplier",
    "Root Symbol",
    "Underlying Symbol",
    "Expiration Date",
    "Strike Price",
    "Call or Put",
    "Order #",
    "Total",
    "Currency",
)
TT20 = tuple(c for c in TT21 if c != "Total")
TT18 = tuple(c for c in TT21 if c not in ("Sub Type", "Total", "Currency"))
TT16 = tuple(c for c in TT18 if c not in ("Root Symbol", "Order #"))
TW15 = (
    "Date/Time",
    "Transaction Code",
    "Transaction Subcode",
    "Symbol",
    "Buy/Sell",
    "Open/Close",
    "Quantity",
    "Expiration Date",
    "Strike",
    "Call/Put",
    "Price",
    "Fees",
    "Amount",
    "Description",
    "Account Reference",
)
POS_REQUIRED = ("Symbol", "Type", "Quantity", "Exp Date", "Strike Price", "Call/Put")


def _kind(text: str, row: Row, col: str) -> Kind:
    k = kind_of(text)
    if k is None:
        raise row.error(col, "PUT or CALL")
    return k


def _event_of(sub: str, desc: str) -> Event:
    s, d = sub.lower(), desc.lower()
    if "expiration" in s or "due to expiration" in d:
        return "expire"
    if "assignment" in s or "due to assignment" in d:
        return "assign"
    if "exercise" in s or "due to exercise" in d:
        return "exercise"
    return "trade"


def _parse_current(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    has_sub = "Sub Type" in header
    for line, cells in csv_rows(lines, idx + 1, out.path):
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        typ = r.text("Type")
        sub = r.text("Sub Type") if has_sub else ""
        inst = r.text("Instrument Type")
        if typ not in ("Trade", "Receive Deliver"):
            out.skipped.append(Skipped(r.where, f"{(sub or typ or 'blank').lower()} (cash movement)"))
            continue
        if inst not in ("Equity Option", "Equity"):
            out.skipped.append(Skipped(r.where, f"other instrument ({inst or 'none'})"))
            continue
        when = r.when("Date")
        action = r.text("Action").upper()
        event = _event_of(sub, r.text("Description"))
        side: Side | None = (
            "buy" if action.startswith("BUY") else "sell" if action.startswith("SELL") else None
        )
        effect: Effect | None = (
            "open" if action.endswith("_OPEN") else "close" if action.endswith("_CLOSE") else None
        )
        if event == "trade" and side is None:
            raise r.error("Action", "BUY_TO_OPEN, SELL_TO_OPEN, BUY_TO_CLOSE or SELL_TO_CLOSE")
        qty = r.number("Quantity", positive=True)
        mult = r.number("Multiplier", positive=True, default=100.0 if inst == "Equity Option" else 1.0)
        value = r.money("Value")
        price = abs(value) / (qty * mult) if value else abs(r.money("Average Price")) / mult
        comm, fees = abs(r.money("Commissions")), abs(r.money("Fees"))
        total = r.money("Total", default=value - comm - fees) if "Total" in header else value - comm - fees
        order = r.text("Order #")
        if inst == "Equity":
            und = (r.text("Underlying Symbol") or r.text("Symbol")).upper()
            if r.text("Type") == "Receive Deliver" and event == "trade":
                event = "assign"  # a share delivery; the lifecycle pairs it with its assignment/exercise
            out.fills.append(
                stock_fill(
                    out,
                    r.where,
                    "",
                    when,
                    und,
                    event,
                    side,
                    effect,
                    qty,
                    price,
                    comm,
                    fees,
                    total,
                    order_id=order,
                )
            )
            continue
        und = (r.text("Underlying Symbol") or r.text("Root Symbol")).upper()
        if not und:
            raise r.error("Underlying Symbol", "the ticker of the option's underlying")
        out.fills.append(
            option_fill(
                out,
                r.where,
                "",
                when,
                und,
                _kind(r.text("Call or Put"), r, "Call or Put"),
                r.number("Strike Price", positive=True),
                r.expiry("Expiration Date"),
                event,
                side if event == "trade" else None,
                effect,
                qty,
                price if event == "trade" else 0.0,
                comm,
                fees,
                total,
                multiplier=mult,
                order_id=order,
            )
        )


def _parse_legacy(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    for line, cells in csv_rows(lines, idx + 1, out.path):
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        code, sub = r.text("Transaction Code"), r.text("Transaction Subcode")
        if code not in ("Trade", "Receive Deliver"):
            out.skipped.append(Skipped(r.where, f"{(sub or code or 'blank').lower()} (cash movement)"))
            continue
        when = r.when("Date/Time")
        event = _event_of(sub, r.text("Description"))
        side, effect = side_of(r.text("Buy/Sell")), effect_of(r.text("Open/Close"))
        qty = r.number("Quantity", positive=True)
        costs = abs(r.money("Fees"))
        amount = r.money("Amount")
        price = abs(r.money("Price"))
        acct = r.text("Account Reference")
        und = r.text("Symbol").upper()
        if r.blank("Call/Put"):
            if side is None:
                raise r.error("Buy/Sell", "Buy or Sell on a share row")
            ev: Event = "assign" if code == "Receive Deliver" and event == "trade" else event
            out.fills.append(
                stock_fill(out, r.where, acct, when, und, ev, side, effect, qty, price, 0.0, costs, amount)
            )
            continue
        if event == "trade" and side is None:
            raise r.error("Buy/Sell", "Buy or Sell on a trade")
        out.fills.append(
            option_fill(
                out,
                r.where,
                acct,
                when,
                und,
                _kind(r.text("Call/Put"), r, "Call/Put"),
                r.number("Strike", positive=True),
                r.expiry("Expiration Date"),
                event,
                side if event == "trade" else None,
                effect,
                qty,
                price if event == "trade" else 0.0,
                0.0,
                costs,
                amount,
            )
        )


def _detect_positions(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines[:10]):
        cells = {c.strip() for c in split_csv_line(ln)}
        if set(POS_REQUIRED) <= cells and "Date" not in cells:
            return i
    return None


def _parse_positions(lines: list[str], idx: int, out: ParsedFile) -> None:
    from engine.data.positions import parse_occ_symbol

    header = [c.strip() for c in split_csv_line(lines[idx])]
    for line, cells in csv_rows(lines, idx + 1, out.path):
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        typ = r.text("Type").upper()
        q = r.number("Quantity")
        cost = abs(r.money("Trade Price", default=float("nan")))
        acct = r.text("Account")
        if "OPTION" in typ:
            try:
                occ = parse_occ_symbol(r.text("Symbol"))
            except ValueError:
                raise r.error("Symbol", "an OCC option symbol like 'ASST  251121P00002500'") from None
            out.snapshot.append(
                SnapshotRow(
                    r.where,
                    acct,
                    occ["underlying"],
                    "option",
                    occ["kind"],
                    occ["strike"],
                    occ["expiry"],
                    q,
                    cost,
                )
            )
        elif typ in ("STOCK", "EQUITY"):
            out.snapshot.append(
                SnapshotRow(r.where, acct, r.text("Symbol").upper(), "stock", None, None, None, q, cost)
            )
        else:
            out.skipped.append(Skipped(r.where, f"other instrument ({typ or 'none'})"))


def _exact(header: tuple[str, ...]):
    return lambda lines: header_index(lines, header)


LAYOUTS = (
    Layout(
        "tastytrade-21",
        "tastytrade",
        "tastytrade transaction history, 21 columns (current)",
        TT21,
        _exact(TT21),
        _parse_current,
        _REF,
    ),
    Layout(
        "tastytrade-20",
        "tastytrade",
        "tastytrade transaction history, 20 columns (no Total)",
        TT20,
        _exact(TT20),
        _parse_current,
        _REF,
    ),
    Layout(
        "tastytrade-18",
        "tastytrade",
        "tastytrade transaction history, 18 columns (2023, no Sub Type)",
        TT18,
        _exact(TT18),
        _parse_current,
        _REF,
    ),
    Layout(
        "tastytrade-16",
        "tastytrade",
        "tastytrade transaction history, 16 columns (no Root Symbol, Order #)",
        TT16,
        _exact(TT16),
        _parse_current,
        "AgileTrossDev/tasty_anaylzer README",
    ),
    Layout(
        "tastyworks-15",
        "tastytrade",
        "tastyworks legacy transaction history, 15 columns",
        TW15,
        _exact(TW15),
        _parse_legacy,
        _REF,
    ),
    Layout(
        "tastytrade-positions",
        "tastytrade",
        "tastytrade positions export (visible columns)",
        POS_REQUIRED,
        _detect_positions,
        _parse_positions,
        "graphtrek/srcprofit docs/trading/tastytrade-data-sources.md",
    ),
)
