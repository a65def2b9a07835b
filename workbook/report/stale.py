"""Never silently stale: the inputs the model ran on, a live comparison, a banner on every sheet.

The report mixes live formulas (plan arithmetic) with engine values (marks, Greeks, VaR, alerts,
orders).  After an edit to a model input the values are stale until ``volarb refresh``; this
module makes that visible:

* :func:`write_model_block` records the inputs the model used in named cells (``ModelSpot``,
  ``ModelVol``, ``ModelDate``, ``ModelPositions``, ``ModelConfig``) beside live formulas for the
  current inputs (``CurrentPositions``, ``CurrentConfig``) and ``InputsChanged``, TRUE when any
  differs (or an input cell holds an error).
* :func:`banner` puts ``=IF(InputsChanged,"inputs changed since the model ran: run volarb
  refresh","")`` in row 1 of a sheet, red while TRUE; :func:`grey_stale_cells` greys the sheet's
  model-value cells by conditional formatting while TRUE.

The two fingerprints are numbers that a formula computes from the cells and Python computes the
same way from the cells it wrote (or the user's cells, on refresh):

* Positions: ``sum_r r x strike + 3 sum r x contracts + 7 sum r x premium + sum r x expiry / 1000
  + 11 sum r x iv + 13 sum r [kind = put] + 17 sum r [side = short] + 19 n`` over the rows ``r``
  of the dynamic ranges (text in a number column counts 0, as in ``SUMPRODUCT``).
* Inputs: column G holds each row's ``(t(A) + 2 t(B) + 3 t(C) + 5 t(D)) x r``, where ``t`` is
  the number, 1/0 for TRUE/FALSE, or the length of a text; column H the same term as the model
  saw it.  ``InputRowsChanged`` counts rows where they differ (so a small edit in one row is not
  lost in the rounding of a large total); ``ModelConfig``/``CurrentConfig`` are the totals.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Any

from workbook import layout as L
from workbook.report.cells import Formula, col, put

__all__ = [
    "cell_term",
    "excel_serial",
    "positions_fingerprint",
    "inputs_fingerprint",
    "write_input_checks",
    "positions_fingerprint_formula",
    "rows_changed_formula",
    "write_model_block",
    "banner",
    "grey_stale_cells",
    "pos_name",
]

_EPOCH = _dt.datetime(1899, 12, 30)


def excel_serial(value: _dt.date | _dt.datetime) -> float:
    """Excel's date serial (days since 1899-12-30, 1900 date system), time as a fraction."""
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    return (value - _EPOCH).total_seconds() / 86400.0


def cell_term(value: Any) -> float:
    """``IF(ISNUMBER(x),x,IF(ISLOGICAL(x),IF(x,1,0),LEN(x)))`` of one cell value."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return excel_serial(value)
    if value is None:
        return 0.0
    return float(len(str(value)))


def _number(value: Any) -> float:
    """A cell as ``SUMPRODUCT`` counts it: numbers and dates as numbers, anything else 0."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return 0.0
    if isinstance(value, (_dt.date, _dt.datetime)):
        return excel_serial(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return 0.0
    return x if x == x else 0.0


def pos_name(key: str) -> str:
    """Defined name of the dynamic Positions range of column ``key`` (``premium_total`` -> ``PosPremiumTotal``)."""
    return L.POSITION_NAME_PREFIX + "".join(part.capitalize() for part in key.split("_"))


def positions_fingerprint(rows: Sequence[dict[str, Any]]) -> float:
    """The positions fingerprint of the Positions input cells (``rows`` in sheet order, by key)."""
    total = 0.0
    for i, rec in enumerate(rows):
        r = L.REPORT_FIRST_ROW + i
        total += r * (
            _number(rec.get("strike"))
            + 3 * _number(rec.get("contracts"))
            + 7 * _number(rec.get("premium"))
            + _number(rec.get("expiry")) / 1000
            + 11 * _number(rec.get("iv"))
            + 13 * (str(rec.get("kind") or "").lower() == "put")
            + 17 * (str(rec.get("side") or "").lower() == "short")
            + 23 * _number(rec.get("shares"))
        )
        total += 19 * (rec.get("underlying") not in (None, ""))
    return total


def positions_fingerprint_formula() -> Formula:
    """The live formula of :func:`positions_fingerprint` over the dynamic ranges."""

    def sp(key: str) -> str:
        return f"SUMPRODUCT(ROW({pos_name(key)}),{pos_name(key)})"

    kind, side = pos_name("kind"), pos_name("side")
    return Formula(
        f"={sp('strike')}+3*{sp('contracts')}+7*{sp('premium')}+{sp('expiry')}/1000+11*{sp('iv')}"
        f'+13*SUMPRODUCT(ROW({kind})*({kind}="put"))'
        f'+17*SUMPRODUCT(ROW({side})*({side}="short"))'
        f"+23*{sp('shares')}"
        f"+19*COUNTA({pos_name('underlying')})"
    )


def _check_rows(ws: Any) -> range:
    """Rows of Inputs whose terms count: every row with content in columns A-F, plus spare rows."""
    last = L.REPORT_FIRST_ROW
    for row in ws.iter_rows(min_row=L.REPORT_FIRST_ROW, max_col=len(L.INPUT_COLUMNS)):
        if any(c.value not in (None, "") for c in row):
            last = row[0].row
    return range(L.REPORT_FIRST_ROW, last + L.INPUT_CHECK_SPARE_ROWS + 1)


_TERM_COLS = ((1, 1), (2, 2), (3, 3), (4, 5))  # (column, weight): label, value, unit, config key


def _row_term(ws: Any, r: int) -> float:
    return r * sum(w * cell_term(ws.cell(row=r, column=k).value) for k, w in _TERM_COLS)


def write_input_checks(ws: Any) -> None:
    """Columns G and H of Inputs (hidden; build and refresh write them): each row's live
    fingerprint term (formula) and the same term as the model saw it (value)."""
    c, m = L.INPUT_CHECK_COL, L.INPUT_CHECK_COL + 1
    put(ws, L.REPORT_HEADER_ROW, c, "Check now")
    put(ws, L.REPORT_HEADER_ROW, m, "Check (model)")
    rows = _check_rows(ws)
    model = [_row_term(ws, r) for r in rows]
    for r, term in zip(rows, model):
        terms = "+".join(
            f"{w}*IF(ISNUMBER({col(k)}{r}),{col(k)}{r},IF(ISLOGICAL({col(k)}{r}),"
            f"IF({col(k)}{r},1,0),LEN({col(k)}{r})))"
            for k, w in _TERM_COLS
        )
        put(ws, r, c, Formula(f"=({terms})*ROW()"))
        put(ws, r, m, term)
    for k in (c, m):
        ws.column_dimensions[col(k)].hidden = True


def inputs_fingerprint(ws: Any) -> float:
    """The Inputs fingerprint of the cells now on ``ws`` (what ``SUM`` of column G gives)."""
    return sum(_row_term(ws, r) for r in _check_rows(ws))


def rows_changed_formula(ws: Any) -> str:
    """The formula counting Inputs rows whose live term differs from the model's (column G vs H)."""
    rows = _check_rows(ws)
    c, m = col(L.INPUT_CHECK_COL), col(L.INPUT_CHECK_COL + 1)
    g = f"'{L.SHEET_INPUTS}'!${c}${rows[0]}:${c}${rows[-1]}"
    h = f"'{L.SHEET_INPUTS}'!${m}${rows[0]}:${m}${rows[-1]}"
    return f"=SUMPRODUCT((ABS({g}-{h})>1E-9*(1+ABS({h})))*1)"


def write_model_block(
    wb: Any, ws: Any, row: int, config: Any, positions_fp: float, config_fp: float, rows_changed: str
) -> int:
    """The model-input cells (values), the current fingerprints and ``InputsChanged`` (formulas)
    from ``row`` down on ``ws``; returns the next free row."""
    from workbook.report.cells import label_rows, title

    title(ws, row, "Inputs the model ran on (compared live with the current inputs)")
    m = config.market
    tol = "1E-9*MAX(1,ABS({0}))"
    date_now = (
        'IF(ISNUMBER(ValuationDate),TEXT(ValuationDate,"yyyy-mm-dd"),IF(LOWER(TRIM(ValuationDate))="today",'
        'TEXT(TODAY(),"yyyy-mm-dd"),TRIM(ValuationDate)))'
    )
    changed = (
        "=IFERROR(OR(ABS(Spot-ModelSpot)>"
        + tol.format("ModelSpot")
        + ",ABS(Vol-ModelVol)>"
        + tol.format("ModelVol")
        + f",{date_now}<>ModelDate,"
        "ABS(CurrentPositions-ModelPositions)>" + tol.format("ModelPositions") + ",InputRowsChanged>0),TRUE)"
    )
    rows = [
        ("Model spot $/share", float(m.spot), L.FMT_PRICE, "ModelSpot", "Spot when the model last ran"),
        ("Model vol %", float(m.vol), L.FMT_PCT, "ModelVol", "Vol when the model last ran"),
        (
            "Model valuation date",
            str(config.valuation_date),
            L.FMT_TEXT,
            "ModelDate",
            "ValuationDate when it ran",
        ),
        (
            "Positions fingerprint (model)",
            positions_fp,
            L.FMT_NUM,
            "ModelPositions",
            "Positions input cells then",
        ),
        (
            "Positions fingerprint (now)",
            positions_fingerprint_formula(),
            L.FMT_NUM,
            "CurrentPositions",
            "the same sum over the Positions cells now",
        ),
        ("Inputs fingerprint (model)", config_fp, L.FMT_NUM, "ModelConfig", "Inputs cells then"),
        (
            "Inputs fingerprint (now)",
            Formula(f"=SUM('{L.SHEET_INPUTS}'!${col(L.INPUT_CHECK_COL)}:${col(L.INPUT_CHECK_COL)})"),
            L.FMT_NUM,
            "CurrentConfig",
            "sum of the hidden Inputs check column",
        ),
        (
            "Inputs rows changed (now)",
            Formula(rows_changed),
            L.FMT_INT,
            "InputRowsChanged",
            "rows whose hidden check differs from the model's",
        ),
        (
            "Inputs changed since the model ran",
            Formula(changed),
            L.FMT_GENERAL,
            "InputsChanged",
            "TRUE: model values are stale, run volarb refresh",
        ),
    ]
    label_rows(wb, ws, row + 1, rows)
    return row + 1 + len(rows) + 1


def banner(ws: Any, width: int = 8) -> None:
    """Row 1: the live stale-inputs banner, red while ``InputsChanged``."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    put(ws, L.BANNER_ROW, 1, Formula(f'=IF(InputsChanged,"{L.STALE_TEXT}","")'))
    red = PatternFill("solid", fgColor="C00000", bgColor="C00000")
    ws.conditional_formatting.add(
        f"A{L.BANNER_ROW}:{col(width)}{L.BANNER_ROW}",
        FormulaRule(formula=["InputsChanged"], fill=red, font=Font(bold=True, color="FFFFFF")),
    )


def grey_stale_cells(ws: Any, extra: Iterable[str] = ()) -> None:
    """Grey the sheet's model-value cells (recorded by ``put(model=True)``) while ``InputsChanged``."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    cells = [*getattr(ws, "_volarb_model_cells", []), *extra]
    if not cells:
        return
    grey = PatternFill("solid", fgColor="D9D9D9", bgColor="D9D9D9")
    ws.conditional_formatting.add(
        " ".join(_compress(cells)),
        FormulaRule(formula=["InputsChanged"], fill=grey, font=Font(color="808080")),
    )


def _compress(cells: Iterable[str]) -> list[str]:
    """Cell addresses merged into vertical runs (``B3 B4 B5`` -> ``B3:B5``) for a short sqref."""
    from openpyxl.utils.cell import coordinate_from_string

    by_col: dict[str, list[int]] = {}
    for a in cells:
        c, r = coordinate_from_string(a)
        by_col.setdefault(c, []).append(r)
    out = []
    for c, rows in by_col.items():
        rows = sorted(set(rows))
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            out.append(f"{c}{start}" if start == prev else f"{c}{start}:{c}{prev}")
            if r is not None:
                start = prev = r
    return out
