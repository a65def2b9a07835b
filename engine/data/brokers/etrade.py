"""E*TRADE: the transactions CSV ("Download transactions").

A preamble ``For Account:,####3525`` and a blank line, then ``TransactionDate,TransactionType,
SecurityType,Symbol,Quantity,Amount,Price,Commission,Description`` (thuva4/am-i-bad-trader
``references/csv_formats.md``, 1b2d769).  Dates ``MM/DD/YY``; ``SecurityType`` ``OPTN`` / ``EQ``;
option symbols ``ASST Aug 15 '25 $2.50 Put``; transaction types ``Sold Short`` (sell to open),
``Bought To Cover`` (buy to close), ``Bought To Open``, ``Sold To Close``, ``Option Expiration``,
``Option Assigned``, ``Option Exercised``, ``Bought`` / ``Sold`` (shares); others (transfers,
dividends, interest) are skipped with the reason.  ``Commission`` is commission and fees
together.  Newest first.
"""

from __future__ import annotations

import re

from engine.data.brokers import (
    Effect,
    Event,
    Fill,
    Layout,
    ParsedFile,
    Side,
    Skipped,
    kind_of,
    option_fill,
    stock_fill,
)
from engine.data.brokers._cells import Row, csv_rows, header_index, parse_expiry, split_csv_line

__all__ = ["LAYOUTS"]

HDR = (
    "TransactionDate",
    "TransactionType",
    "SecurityType",
    "Symbol",
    "Quantity",
    "Amount",
    "Price",
    "Commission",
    "Description",
)
_OPT = re.compile(r"^([A-Z0-9.]+)\s+([A-Z][a-z]{2} \d{1,2} '\d{2})\s+\$([\d,.]+)\s+(Put|Call)$", re.I)
_TYPES: dict[str, tuple[Event, Side | None, Effect | None]] = {
    "sold short": ("trade", "sell", "open"),
    "bought to cover": ("trade", "buy", "close"),
    "bought to open": ("trade", "buy", "open"),
    "sold to close": ("trade", "sell", "close"),
    "option expiration": ("expire", None, "close"),
    "option assigned": ("assign", None, "close"),
    "option assignment": ("assign", None, "close"),
    "option exercised": ("exercise", None, "close"),
    "bought": ("trade", "buy", None),
    "sold": ("trade", "sell", None),
}


def _parse(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    acct = ""
    for ln in lines[:idx]:
        cells = split_csv_line(ln)
        if cells and cells[0].startswith("For Account"):
            acct = cells[1] if len(cells) > 1 else ""
    fills: list[Fill] = []
    for line, cells in csv_rows(lines, idx + 1, out.path):
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        typ = r.text("TransactionType").lower()
        spec = _TYPES.get(typ)
        if spec is None:
            out.skipped.append(Skipped(r.where, f"{typ or 'blank type'} (not a trade)"))
            continue
        event, side, effect = spec
        when = r.when("TransactionDate")
        qty = abs(r.number("Quantity"))
        if qty == 0:
            raise r.error("Quantity", "a non-zero quantity")
        price = abs(r.money("Price"))
        comm = abs(r.money("Commission"))
        amount = r.money("Amount")
        sec = r.text("SecurityType").upper()
        if sec == "EQ":
            ticker = r.text("Symbol").upper()
            fills.append(
                stock_fill(
                    out, r.where, acct, when, ticker, event, side, effect, qty, price, comm, 0.0, amount
                )
            )
            continue
        if sec != "OPTN":
            out.skipped.append(Skipped(r.where, f"other instrument ({sec or 'none'})"))
            continue
        m = _OPT.match(r.text("Symbol"))
        if m is None:
            raise r.error("Symbol", 'an option like "ASST Aug 15 \'25 $2.50 Put"')
        fills.append(
            option_fill(
                out,
                r.where,
                acct,
                when,
                m.group(1).upper(),
                kind_of(m.group(4)),
                float(m.group(3).replace(",", "")),
                parse_expiry(m.group(2).title()),
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
        fills.reverse()
    out.fills.extend(fills)


LAYOUTS = (
    Layout(
        "etrade",
        "etrade",
        "E*TRADE transactions CSV (after the For Account preamble)",
        HDR,
        lambda lines: header_index(lines, HDR),
        _parse,
        "thuva4/am-i-bad-trader references/csv_formats.md (1b2d769)",
    ),
)
