"""The first sheet, "Today": what is at risk and what to do, readable in ten seconds.

As-of date, the spot and vol the model used (beside the current inputs), the account on its
bases (net liquidation, equity with loan value, requirements, excess liquidity, buying power),
the alerts with value and limit in units, the day's orders (held orders say why), expiries and
assignments coming up, two charts, and the block of model inputs the stale banner compares.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbook import layout as L
from workbook.compute import ReportData
from workbook.layout import Column
from workbook.report.cells import Formula, Table, frame_sheet, label_rows, note, put, status_colours, title

__all__ = ["write_today", "ALERT_UNITS"]

#: The unit of each alert's value and limit (engine.risk.checks.ALERT_NAMES).
ALERT_UNITS: dict[str, tuple[str, str]] = {
    "HIGH_DELTA_EXPOSURE": ("|dollar delta| $", L.FMT_MONEY),
    "VAR_LIMIT_BREACH": ("1-day VaR $", L.FMT_MONEY),
    "CONCENTRATION_RISK": ("obligation at one strike $", L.FMT_MONEY),
    "DAILY_PNL_ALERT": ("P&L since yesterday $", L.FMT_MONEY),
    "ASSIGNMENT_RISK": ("probability ITM %", L.FMT_PCT),
    "LOW_IV_ENVIRONMENT": ("IV percentile (0-100)", L.FMT_NUM),
    "BUYING_POWER_EXCEEDED": ("requirement vs net liquidation $", L.FMT_MONEY),
}

#: Today's column widths (characters): one landscape page wide.
_WIDTHS = (30, 12, 14, 14, 26, 70)

_ALERT_COLUMNS = (
    Column("Alert", "alert", L.FMT_TEXT, 30),
    Column("Status", "status", L.FMT_TEXT, 12),
    Column("Value", "value", L.FMT_GENERAL, 14),
    Column("Limit", "threshold", L.FMT_GENERAL, 14),
    Column("Unit of value and limit", "unit", L.FMT_TEXT, 26),
    Column("Detail", "detail", L.FMT_TEXT, 70),
)
_ORDER_COLUMNS = (
    Column("Status", "status", L.FMT_TEXT, 30),
    Column("Contracts", "contracts", L.FMT_INT, 12),
    Column("Strike $", "strike", L.FMT_PRICE, 14),
    Column("Limit $/sh", "limit", L.FMT_PRICE, 14),
    Column("Order", "what", L.FMT_TEXT, 26),
    Column("Held because", "reason", L.FMT_TEXT, 70),
)
_EXPIRY_COLUMNS = (
    Column("Expiry date", "expiry", L.FMT_DATE, 30),
    Column("Days", "dte", L.FMT_INT, 12),
    Column("Short put contracts", "contracts", L.FMT_INT, 14),
    Column("Obligation $", "obligation", L.FMT_MONEY0, 14),
    Column("Expected shares assigned", "expected_shares", L.FMT_INT, 26),
    Column("Highest prob ITM %", "prob_itm", L.FMT_PCT, 70),
)


def write_today(wb: Any, data: ReportData, positions_fp: float, config_fp: float, rows_changed: str) -> None:
    """The Today sheet (first in the workbook); the model block feeds every sheet's banner."""
    from workbook.report.stale import write_model_block

    ws = wb.create_sheet(L.SHEET_TODAY, 0)
    for c, w in zip("ABCDEF", _WIDTHS):
        ws.column_dimensions[c].width = w
    hdr = L.REPORT_HEADER_ROW
    t = Table(
        ws,
        (
            Column("Today", "label", "", 30),
            Column("Value", "value", "", 12),
            Column("Now (live)", "now", "", 14),
            Column("", "how", "", 14),
        ),
        hdr,
    ).write_header(widths=False)
    ws.cell(row=hdr, column=1).value = Formula('="Today: "&ModelDate&" ("&Underlying&")"')
    acct = data.account
    rows = [
        ("As-of (valuation) date", Formula("=ModelDate"), L.FMT_TEXT, "", ""),
        ("Spot the model used $/share", Formula("=ModelSpot"), L.FMT_PRICE, "", ""),
        ("Vol the model used %", Formula("=ModelVol"), L.FMT_PCT, "", ""),
        ("Net liquidation $ (NLV)", acct.net_liquidation, L.FMT_MONEY, "NetLiquidation", ""),
        (
            "Equity with loan value $ (EWL)",
            acct.equity_with_loan_value,
            L.FMT_MONEY,
            "EquityWithLoanValue",
            "",
        ),
        ("Initial requirement $ (vs EWL)", acct.initial_requirement, L.FMT_MONEY, "InitialRequirement", ""),
        (
            "Maintenance requirement $ (vs EWL)",
            acct.maintenance_requirement,
            L.FMT_MONEY,
            "MaintenanceRequirement",
            "",
        ),
        ("Excess liquidity $ (EWL - maintenance)", acct.excess_liquidity, L.FMT_MONEY, "ExcessLiquidity", ""),
        ("Buying power $ (EWL - initial)", acct.buying_power, L.FMT_MONEY, "BuyingPower", ""),
    ]
    label_rows(wb, ws, t.first, rows)
    for i, (f, fmt) in enumerate(((None, None), ("=Spot", L.FMT_PRICE), ("=Vol", L.FMT_PCT))):
        if f:
            put(ws, t.first + i, 3, Formula(f), fmt)
    put(
        ws,
        t.first + 3,
        4,
        f"engine.plan.account: {acct.account} account, FINRA 4210 / CBOE strategy-based "
        "margin of the Positions at PortfolioValue (docs/margin.md)",
    )
    r = t.first + len(rows) + 1
    r = _alerts(ws, data, r)
    r = _orders(ws, data, r)
    r, exp = _expiries(ws, data, r)
    r = _charts(ws, t, exp, r)
    write_model_block(wb, ws, r, data.config, positions_fp, config_fp, rows_changed)
    frame_sheet(ws, freeze="A3")


def _alerts(ws: Any, data: ReportData, r: int) -> int:
    alerts = data.risk.alerts
    firing = alerts[alerts["status"].isin(["ALERT", "BREACH", "WARN", "WARNING"])]
    title(ws, r, f"Alerts firing: {len(firing)} of {len(alerts)} checks (model)")
    t = Table(ws, _ALERT_COLUMNS, r + 1).write_header(widths=False)
    recs = [
        {**rec, "unit": ALERT_UNITS.get(rec["alert"], ("", L.FMT_NUM))[0]}
        for rec in firing.to_dict("records")
    ]
    t.rows(recs, model=[c.key for c in _ALERT_COLUMNS])
    for i, rec in enumerate(recs):
        fmt = ALERT_UNITS.get(rec["alert"], ("", L.FMT_NUM))[1]
        for key in ("value", "threshold"):
            ws.cell(row=t.first + i, column=t.index(key)).number_format = fmt
    _wrap_last(ws, t)
    if not recs:
        note(ws, t.first, "No alert fires.")
    else:
        status_colours(ws, t.span("status"))
    return t.first + max(t.n, 1) + 1


def _orders(ws: Any, data: ReportData, r: int) -> int:
    orders = data.orders
    held = int((orders["status"] == "HELD").sum()) if len(orders) else 0
    title(ws, r, f"The day's orders: {len(orders)} tickets, {held} held (details on Orders)")
    t = Table(ws, _ORDER_COLUMNS, r + 1).write_header(widths=False)
    recs = [
        {**o, "what": f"{o['action']} {o['kind']} {o['expiry']:%Y-%m-%d}"} for o in orders.to_dict("records")
    ]
    t.rows(recs, model=[c.key for c in _ORDER_COLUMNS])
    _wrap_last(ws, t)
    if not len(orders):
        note(ws, t.first, "No orders today.")
    return t.first + max(t.n, 1) + 1


def _wrap_last(ws: Any, t: Table) -> None:
    """Wrap the long text of a table's last column (detail, hold reason) inside the page."""
    from workbook.report.cells import fit_row_height, styles

    c = t.start_col + len(t.columns) - 1
    for r in range(t.first, t.first + t.n):
        for cell in ws[r]:
            cell.alignment = styles()["wrap"] if cell.column == c else styles()["top"]
        fit_row_height(ws, r)


def _expiries(ws: Any, data: ReportData, r: int) -> tuple[int, Table]:
    """Short-put expiries ahead: contracts, obligation, expected assigned shares (sum of shares x
    probability ITM, the model's risk-neutral estimate)."""
    m = data.book.marked
    short_puts = m[(m["kind"] == "put") & (m["side"] == "short") & (m["dte"] >= 0)]
    mult = float(data.config.capital.contract_multiplier)
    recs = []
    for exp, g in sorted(short_puts.groupby("expiry"), key=lambda kv: kv[0]):
        recs.append(
            {
                "expiry": exp,
                "dte": int(g["dte"].min()),
                "contracts": int(g["contracts"].sum()),
                "obligation": float(g["obligation"].sum()),
                "expected_shares": float(np.sum(g["contracts"] * mult * g["prob_itm"])),
                "prob_itm": float(g["prob_itm"].max()),
            }
        )
    title(ws, r, "Expiries and assignments coming up (model)")
    t = Table(ws, _EXPIRY_COLUMNS, r + 1).write_header(widths=False)
    t.rows(recs, model=[c.key for c in _EXPIRY_COLUMNS])
    if not recs:
        note(ws, t.first, "No short puts open.")
    return t.first + max(t.n, 1) + 1, t


def _charts(ws: Any, top: Table, exp: Table, r: int) -> int:
    """Account bases (bar) and obligation by expiry (bar), side by side below the tables; returns
    the first row below them."""
    from openpyxl.chart import BarChart, Reference

    acct = BarChart()
    acct.type, acct.title = "bar", "Account $"
    acct.add_data(Reference(ws, min_col=2, min_row=top.first + 3, max_row=top.first + 8))
    acct.set_categories(Reference(ws, min_col=1, min_row=top.first + 3, max_row=top.first + 8))
    acct.legend, acct.height, acct.width = None, 7, 13
    ws.add_chart(acct, f"A{r}")
    if exp.n:
        ob = BarChart()
        ob.type, ob.title = "col", "Put obligation by expiry ($)"
        ob.add_data(Reference(ws, min_col=exp.index("obligation"), min_row=exp.first, max_row=exp.last))
        ob.set_categories(Reference(ws, min_col=1, min_row=exp.first, max_row=exp.last))
        ob.legend, ob.height, ob.width = None, 7, 16
        ws.add_chart(ob, f"D{r}")
    return r + 16
