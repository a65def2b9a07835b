"""Write the report workbook (openpyxl): live plan formulas over named inputs, model values.

:func:`write_report` fills a workbook from a :class:`workbook.compute.ReportData`, one module
per sheet group, each sheet writer ``write_<sheet>(wb, data)``:

* :mod:`~workbook.report.today` - **Today**: as-of date, model spot and vol, the account, alerts,
  the day's orders, expiries, two charts, and the model inputs the stale banner compares.
* :mod:`~workbook.report.inputs` - **Inputs**: every scalar config key (named cells), the ladder,
  hedge and reinvestment tables, data validation.
* :mod:`~workbook.report.positions` - **Positions**: user columns, model marks and Greeks, and
  the dynamic named ranges every total uses.
* :mod:`~workbook.report.plan` - **Ladder, Plan, Hedges**; :mod:`~workbook.report.risk` -
  **Risk, Assignment**; :mod:`~workbook.report.results` - **Simulation, Orders, Audit, About**;
  then the trader views of :mod:`workbook.views` through one hook.

Every sheet has the live stale-inputs banner in row 1 (:mod:`~workbook.report.stale`), its model
values greyed while an input differs from the model's, and sheet protection without a password
(input cells unlocked).  Only classic functions are used (``IF, MIN, MAX, INT, SUM, SUMIFS,
SUMPRODUCT, OFFSET, COUNTA, ABS, AND, OR, IFERROR, TEXT``), so no ``_xlfn.`` prefix is needed
(:func:`xlfn` adds it should a newer function be used).  Text from inputs is always written as
text, never as a formula.  The same inputs and seed give the same cell contents; the only time
stamp is on About.

:func:`refresh_workbook` rewrites only the computed sheets of an existing report (and the
computed columns of Positions), keeping the user's Inputs and Positions edits and extra sheets.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from workbook import layout as L
from workbook import views
from workbook.compute import ReportData
from workbook.report.cells import NEWER_FUNCTIONS, Formula, put, xlfn
from workbook.report.inputs import rename_inputs, write_inputs
from workbook.report.plan import write_hedges, write_ladder, write_plan
from workbook.report.positions import (
    position_input_rows,
    upgrade_positions_columns,
    write_positions_computed,
    write_positions_inputs,
)
from workbook.report.results import write_about, write_audit, write_orders, write_simulation
from workbook.report.risk import write_assignment, write_risk
from workbook.report.stale import (
    banner,
    grey_stale_cells,
    inputs_fingerprint,
    positions_fingerprint,
    rows_changed_formula,
)
from workbook.report.today import write_today

__all__ = [
    "Formula",
    "write_report",
    "refresh_workbook",
    "new_workbook",
    "xlfn",
    "NEWER_FUNCTIONS",
    "put",
    "WRITERS",
]

Writer = Callable[[Any, ReportData], None]
#: The computed sheets after Today, in workbook order.
WRITERS: dict[str, Writer] = {
    L.SHEET_LADDER: write_ladder,
    L.SHEET_PLAN: write_plan,
    L.SHEET_HEDGES: write_hedges,
    L.SHEET_RISK: write_risk,
    L.SHEET_ASSIGNMENT: write_assignment,
    L.SHEET_SIMULATION: write_simulation,
    L.SHEET_ORDERS: write_orders,
    L.SHEET_AUDIT: write_audit,
    L.SHEET_ABOUT: write_about,
}


def new_workbook() -> Any:
    """An empty openpyxl workbook (no default sheet)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    return wb


def _computed(wb: Any, data: ReportData) -> None:
    """Today, the computed sheets and the views, written after Inputs and Positions exist."""
    pos_fp = positions_fingerprint(position_input_rows(wb[L.SHEET_POSITIONS]))
    inputs = wb[L.SHEET_INPUTS]
    write_today(wb, data, pos_fp, inputs_fingerprint(inputs), rows_changed_formula(inputs))
    for name in L.COMPUTED_SHEETS:
        if name != L.SHEET_TODAY:
            WRITERS[name](wb, data)
    views.write_views(wb, data, L)


def _finish(wb: Any, data: ReportData) -> None:
    """Banner, grey stale cells and protection on every sheet; calculation and properties."""
    from openpyxl.workbook.properties import CalcProperties

    known = set(L.SHEETS) | set(views.VIEW_SHEETS)
    for ws in wb.worksheets:
        if ws.title not in known:
            continue  # the user's own sheets are theirs
        banner(ws)
        grey_stale_cells(ws)
        _protect(ws)
    wb.calculation = CalcProperties(fullCalcOnLoad=True)
    ts = _dt.datetime.fromisoformat(data.meta["timestamp"])
    wb.properties.created = wb.properties.modified = ts
    wb.properties.creator = wb.properties.lastModifiedBy = "volarb"
    wb.properties.title = f"volarb report {data.config.market.underlying} {data.config.market.valuation_date}"


def _protect(ws: Any) -> None:
    """Sheet protection without a password: formulas locked, input cells (unlocked) editable;
    sorting, filtering and resizing stay allowed."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = p.formatRows = p.autoFilter = p.sort = False
    p.selectLockedCells = p.selectUnlockedCells = False


def write_report(data: ReportData) -> Any:
    """A new report workbook (openpyxl ``Workbook``) with every sheet of :data:`layout.SHEETS`."""
    wb = new_workbook()
    write_inputs(wb, data)
    ws = wb.create_sheet(L.SHEET_POSITIONS)
    write_positions_inputs(ws, data)
    write_positions_computed(wb, ws, data)
    _computed(wb, data)
    _finish(wb, data)
    return wb


def _upgrade_header_row(wb: Any) -> None:
    """A report written before the banner row had its headers on row 1: move the user sheets
    down one row (their names are re-pointed afterwards)."""
    from engine.data.positions import header_key

    for name, first_header in (
        (L.SHEET_INPUTS, L.INPUT_COLUMNS[0].header),
        (L.SHEET_POSITIONS, L.POSITION_INPUT_COLUMNS[0].header),
    ):
        if name in wb.sheetnames and header_key(
            wb[name].cell(row=L.HEADER_ROW, column=1).value
        ) == header_key(first_header):
            wb[name].insert_rows(1)


def refresh_workbook(wb: Any, data: ReportData) -> Any:
    """Rewrite the computed sheets of an existing report in place; keep user sheets and extras.

    Inputs is left as the user edited it (its defined names are re-pointed if rows moved and its
    check column rewritten); Positions keeps its user columns and gets new computed columns;
    every computed sheet is deleted and rebuilt at the same position; sheets the report does not
    know are untouched.
    """
    order = list(wb.sheetnames)
    if L.SHEET_TODAY not in order:
        order.insert(0, L.SHEET_TODAY)
    _upgrade_header_row(wb)
    if L.SHEET_INPUTS not in wb.sheetnames:
        write_inputs(wb, data)
    else:
        rename_inputs(wb)
    if L.SHEET_POSITIONS not in wb.sheetnames:
        write_positions_inputs(wb.create_sheet(L.SHEET_POSITIONS), data)
    else:
        upgrade_positions_columns(wb[L.SHEET_POSITIONS])
    write_positions_computed(wb, wb[L.SHEET_POSITIONS], data)
    for name in (*L.COMPUTED_SHEETS, *views.VIEW_SHEETS):
        if name in wb.sheetnames:
            del wb[name]
        for dn in [n for n, v in list(wb.defined_names.items()) if f"'{name}'!" in (v.attr_text or "")]:
            del wb.defined_names[dn]
    _computed(wb, data)
    wanted = [n for n in order if n in wb.sheetnames] + [n for n in wb.sheetnames if n not in order]
    wb._sheets = [wb[n] for n in wanted]
    wb.active = 0
    _finish(wb, data)
    return wb
