"""Robinhood: the account activity report CSV.

Header ``Activity Date,Process Date,Settle Date,Instrument,Description,Trans Code,Quantity,
Price,Amount`` (GammaLedger ``src/imports/robinhood.ts`` line 52; Wheeler #29); some exports add
``Account Type``.  The option is only in ``Description`` (``IREN 1/2/2026 Put $39.00``, or
``Option Expiration for ...``); ``Trans Code`` is ``STO``/``BTC``/``BTO``/``STC`` for option
trades, ``OEXP`` expiration, ``OASGN`` assignment, ``OEXCS`` exercise, ``Buy``/``Sell`` shares;
other codes (``CDIV``, ``ACH``, ``INT``, ``GOLD`` ...) are skipped with the reason.  Negative
amounts are in parentheses (``($153.02)``); a quantity may carry a suffix (``5S``).  The file has
no cost columns: commission + fees = |quantity x price x 100 - |amount|| (read into ``fees``).
Descriptions of share rows may hold a quoted line break (``"Asset Entities\\nCUSIP: ..."``).
Newest first; a disclaimer line at the end.
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
    "Activity Date",
    "Process Date",
    "Settle Date",
    "Instrument",
    "Description",
    "Trans Code",
    "Quantity",
    "Price",
    "Amount",
)
_OPT = re.compile(r"([A-Z0-9.]+)\s+(\d{1,2}/\d{1,2}/\d{4})\s+(Put|Call)\s+\$([\d,.]+)", re.I)
_CODES: dict[str, tuple[Event, Side | None, Effect | None]] = {
    "STO": ("trade", "sell", "open"),
    "BTC": ("trade", "buy", "close"),
    "BTO": ("trade", "buy", "open"),
    "STC": ("trade", "sell", "close"),
    "OEXP": ("expire", None, "close"),
    "OASGN": ("assign", None, "close"),
    "OEXCS": ("exercise", None, "close"),
    "BUY": ("trade", "buy", None),
    "SELL": ("trade", "sell", None),
}


def _detect(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines[:5]):
        cells = [c for c in split_csv_line(ln)]
        if set(HDR) <= set(cells):
            return i
    return header_index(lines, HDR)


def _parse(lines: list[str], idx: int, out: ParsedFile) -> None:
    header = split_csv_line(lines[idx])
    fills: list[Fill] = []
    for line, cells in csv_rows(lines, idx + 1, out.path):
        if not cells[0]:
            continue  # the disclaimer line
        out.rows_read += 1
        r = Row(header, cells, out.path, line)
        code = r.text("Trans Code").upper()
        spec = _CODES.get(code)
        if spec is None:
            out.skipped.append(
                Skipped(r.where, f"{code or 'blank'} {r.text('Description')[:30].lower()} (not a trade)")
            )
            continue
        event, side, effect = spec
        when = r.when("Activity Date")
        qty = r.number("Quantity", positive=True)
        price = abs(r.money("Price"))
        amount = r.money("Amount")
        m = _OPT.search(r.text("Description"))
        if m is None:
            if code not in ("BUY", "SELL"):
                raise r.error("Description", "an option like 'ASST 8/15/2025 Put $2.50'")
            gross = qty * price
            ticker = r.text("Instrument").upper()
            fills.append(
                stock_fill(
                    out,
                    r.where,
                    "",
                    when,
                    ticker,
                    event,
                    side,
                    effect,
                    qty,
                    price,
                    0.0,
                    round(abs(gross - abs(amount)), 2),
                    amount,
                )
            )
            continue
        gross = qty * price * 100 if event == "trade" else 0.0
        fees = round(abs(gross - abs(amount)), 2) if event == "trade" else 0.0
        fills.append(
            option_fill(
                out,
                r.where,
                "",
                when,
                m.group(1).upper(),
                kind_of(m.group(3)),
                float(m.group(4).replace(",", "")),
                parse_expiry(m.group(2)),
                event,
                side,
                effect,
                qty,
                price if event == "trade" else 0.0,
                0.0,
                fees,
                amount,
            )
        )
    if len(fills) > 1 and fills[0].when > fills[-1].when:
        fills.reverse()
    out.fills.extend(fills)


LAYOUTS = (
    Layout(
        "robinhood",
        "robinhood",
        "Robinhood account activity CSV",
        HDR,
        _detect,
        _parse,
        "GammaLedger src/imports/robinhood.ts line 52; Wheeler #29",
    ),
)
