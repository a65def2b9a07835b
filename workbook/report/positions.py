"""The Positions sheet: the user's columns, then model marks and Greeks (values) and the
arithmetic on them (formulas), and the dynamic named ranges every total uses.

Each Positions column ``key`` has a defined name (:func:`workbook.report.stale.pos_name`:
``PosStrike``, ``PosContracts``, ...) that is ``OFFSET`` from the first data row down as many
rows as column A has entries, so a row appended in Excel or LibreOffice counts in every total
after recalculation.  Totals that are arithmetic over inputs (contracts, premium, obligation,
P&L at expiry) read the user's columns only, so an appended row counts even before its model
columns exist; sums of model columns (value, Greeks, margin) count it after ``volarb refresh``
(until then the stale banner says so).
"""

from __future__ import annotations

from typing import Any

from workbook import layout as L
from workbook.compute import ReportData, ReportInputs
from workbook.report.cells import Table, col, define_name, frame_sheet, header, mark_input, put
from workbook.report.stale import pos_name

__all__ = [
    "write_positions_inputs",
    "write_positions_computed",
    "define_position_ranges",
    "SIGN",
    "W",
    "IS_SHORT_PUT",
    "IS_STOCK",
    "QUANTITY",
    "positions_table",
    "upgrade_positions_columns",
]

#: +1 long / -1 short and +1 call / -1 put / 0 stock over the Positions input columns (array expressions;
#: ``=`` compares text case-insensitively).  Used inside one-argument ``SUMPRODUCT`` products
#: only: Gnumeric evaluates a comparison of a range as an array there, but not as a separate
#: ``SUMPRODUCT`` argument nor inside ``LOWER``.
SIGN = f'(({pos_name("side")}="long")*2-1)'
W = f'(({pos_name("kind")}="call")-({pos_name("kind")}="put"))'
IS_SHORT_PUT = f'({pos_name("kind")}="put")*({pos_name("side")}="short")'
IS_STOCK = f'({pos_name("kind")}="stock")'
#: Shares of each row: contracts x multiplier for an option, the shares column for stock (the
#: other one is blank, which arithmetic reads as 0).
QUANTITY = f"({pos_name('contracts')}*Multiplier+{pos_name('shares')})"

_FORMULAS = {
    "sign": '=IF(LOWER({side})="long",1,-1)',
    "w": '=IF(LOWER({kind})="call",1,IF(LOWER({kind})="put",-1,0))',
    "value": "={sign}*{mark}*({contracts}*Multiplier+{shares})",
    "premium_total": "=-{sign}*{premium}*({contracts}*Multiplier+{shares})",
    "unrealized_pnl": "={value}+{premium_total}",
    "delta_dollars": "={delta_shares}*Spot",
    "obligation": "=IF(AND({w}=-1,{sign}=-1),{strike}*Multiplier*{contracts},0)",
}


def positions_table(ws: Any, n: int) -> Table:
    """The Positions table (input then computed columns) with ``n`` rows."""
    return Table(ws, L.POSITION_COLUMNS_ALL, L.REPORT_HEADER_ROW, n=n)


def define_position_ranges(wb: Any) -> None:
    """One dynamic name per Positions column: rows from the first data row while column A has entries."""
    first, last = L.REPORT_FIRST_ROW, L.REPORT_FIRST_ROW + L.POSITIONS_MAX_ROWS - 1
    count = f"MAX(1,COUNTA('{L.SHEET_POSITIONS}'!$A${first}:$A${last}))"
    t = positions_table(None, 0)
    for c in L.POSITION_COLUMNS_ALL:
        define_name(
            wb,
            pos_name(c.key),
            L.SHEET_POSITIONS,
            f"=OFFSET('{L.SHEET_POSITIONS}'!${t.letter(c.key)}${first},0,0,{count},1)",
        )


def _validations(ws: Any) -> None:
    """Choice lists and ranges on the user columns, down to the last row the ranges reach."""
    from openpyxl.styles import Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    t = positions_table(ws, L.POSITIONS_MAX_ROWS)
    rules = (
        ("kind", "list", None, '"put,call,stock"', None, "kind: put, call or stock"),
        ("side", "list", None, '"short,long"', None, "side: short or long"),
        ("strike", "decimal", "greaterThan", "0", None, "strike: above $0 per share (blank for stock)"),
        (
            "contracts",
            "whole",
            "greaterThanOrEqual",
            "1",
            None,
            "contracts: a whole number, at least 1 (blank for stock)",
        ),
        (
            "shares",
            "whole",
            "greaterThanOrEqual",
            "1",
            None,
            "shares: a whole number, at least 1 (stock rows only)",
        ),
        (
            "premium",
            "decimal",
            "greaterThanOrEqual",
            "0",
            None,
            "premium: at least $0 per share (stock: cost per share)",
        ),
        ("iv", "decimal", "between", "0", "10", "iv: a decimal vol between 0 and 10 (1000%), or blank"),
    )
    for key, typ, op, f1, f2, msg in rules:
        dv = DataValidation(
            type=typ, operator=op, formula1=f1, formula2=f2, allow_blank=True, showErrorMessage=True
        )
        dv.error, dv.errorTitle = msg, "volarb position"
        ws.add_data_validation(dv)
        dv.add(t.span(key))
    for j in range(len(L.POSITION_INPUT_COLUMNS)):
        ws.column_dimensions[col(j + 1)].protection = Protection(locked=False)  # rows a user appends


def write_positions_inputs(ws: Any, data: ReportInputs) -> None:
    """The user columns of Positions (only on build; refresh keeps the user's)."""
    t = positions_table(ws, len(data.positions))
    header(ws, t.header_row, L.POSITION_INPUT_COLUMNS)
    for i, rec in enumerate(data.positions.to_dict(orient="records")):
        for j, c in enumerate(L.POSITION_INPUT_COLUMNS):
            v = rec.get(c.key)
            if c.key in ("note", "underlying", "kind", "side"):
                v = "" if v is None else str(v)
            elif c.key in ("contracts", "shares") and v == 0:
                v = None  # the other row type's quantity column stays blank
            cell = put(ws, t.first + i, j + 1, v if v != "" else None, c.fmt)
            mark_input(cell)
    _validations(ws)


def upgrade_positions_columns(ws: Any) -> None:
    """Bring the Positions input columns of an existing report to the current layout.

    A report written before stock rows had no ``shares`` column (headers were the bare keys,
    ``underlying ... note``): a blank shares column is inserted after contracts (the computed
    columns move right and are rewritten by refresh), the headers get their units and the data
    validation is laid out again.  A report already in the current layout only gets the current
    header texts.  The user's cells keep their values.
    """
    from engine.data.positions import header_key
    from workbook.io import positions_header_row

    hr = positions_header_row(ws)
    keys = [c.key for c in L.POSITION_INPUT_COLUMNS]
    have = [header_key(ws.cell(row=hr, column=j + 1).value) for j in range(len(keys))]
    old = [k for k in keys if k != "shares"]
    if "shares" not in have and have[: len(old)] == old:
        at = keys.index("shares") + 1
        ws.insert_cols(at)
        last = max(ws.max_row, hr + 1)
        for r in range(hr + 1, last + 1):
            if ws.cell(row=r, column=1).value not in (None, ""):
                mark_input(ws.cell(row=r, column=at))
        ws.data_validations.dataValidation = []
        _validations(ws)
        have = keys
    if have == keys:
        header(ws, hr, L.POSITION_INPUT_COLUMNS)


def position_input_rows(ws: Any) -> list[dict[str, Any]]:
    """The Positions input cells by key, one dict per row while column A has an entry."""
    out = []
    r = L.REPORT_FIRST_ROW
    while ws.cell(row=r, column=1).value not in (None, ""):
        out.append(
            {c.key: ws.cell(row=r, column=j + 1).value for j, c in enumerate(L.POSITION_INPUT_COLUMNS)}
        )
        r += 1
    return out


def write_positions_computed(wb: Any, ws: Any, data: ReportData) -> None:
    """Model values and formulas to the right of the user columns, for every position row."""
    start = len(L.POSITION_INPUT_COLUMNS) + 1
    header(ws, L.REPORT_HEADER_ROW, L.POSITION_COMPUTED_COLUMNS, start_col=start)
    for r in range(L.REPORT_FIRST_ROW, max(ws.max_row, L.REPORT_FIRST_ROW) + 1):  # rows the user deleted
        for j in range(len(L.POSITION_COMPUTED_COLUMNS)):
            ws.cell(row=r, column=start + j).value = None
    t = positions_table(ws, len(data.positions))
    keys = [c.key for c in L.POSITION_COMPUTED_COLUMNS]
    t.rows(data.book.marked.to_dict(orient="records"), _FORMULAS, model=keys, keys=keys)
    ws.auto_filter.ref = f"A{t.header_row}:{col(len(L.POSITION_COLUMNS_ALL))}{t.last}"
    define_position_ranges(wb)
    frame_sheet(ws, freeze=f"B{t.first}")
