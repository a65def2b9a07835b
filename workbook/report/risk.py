"""The Risk and Assignment sheets: book totals over the dynamic Positions ranges, model VaR and
alerts, Kelly limits and the P&L at expiry as formulas, and each short put's assignment plan."""

from __future__ import annotations

from typing import Any

from workbook import layout as L
from workbook.compute import ReportData
from workbook.layout import Column
from workbook.report.cells import (
    Formula,
    Table,
    frame_sheet,
    label_rows,
    note,
    status_colours,
    title,
    value_table,
)
from workbook.report.positions import IS_SHORT_PUT, IS_STOCK, SIGN, W
from workbook.report.stale import pos_name

__all__ = ["write_risk", "write_assignment"]

_P = pos_name


def _sum(key: str) -> Formula:
    return Formula(f"=SUM({_P(key)})")


def write_risk(wb: Any, data: ReportData) -> None:
    """Book, VaR, Kelly, the daily risk check and the P&L at expiry."""
    ws = wb.create_sheet(L.SHEET_RISK)
    hdr = L.REPORT_HEADER_ROW
    Table(
        ws,
        (Column("Book", "label", "", 32), Column("Value", "value", "", 14), Column("How", "how", "", 44)),
        hdr,
    ).write_header()
    var = data.risk.var
    conf = f"{var.confidence:.0%}"
    book = [
        (
            "Premium collected (net) $",
            Formula(f"=SUMPRODUCT(-{SIGN}*{_P('premium')}*{_P('contracts')})*Multiplier"),
            L.FMT_MONEY,
            "PremiumCollected",
            "options: premium x contracts x multiplier, received - paid (stock cost is not premium)",
        ),
        (
            "Shares held (long - short)",
            Formula(f"=SUMPRODUCT({SIGN}*{IS_STOCK}*{_P('shares')})"),
            L.FMT_INT,
            "SharesHeld",
            "Positions stock rows: shares, + long / - short",
        ),
        (
            "Stock value $ (shares at the model mark)",
            Formula(f"=SUMPRODUCT({IS_STOCK}*{_P('value')})"),
            L.FMT_MONEY,
            "StockValue",
            "sum of Positions value over the stock rows",
        ),
        (
            "Book value $",
            _sum("value"),
            L.FMT_MONEY,
            "BookValue",
            "sum of Positions value (options and shares)",
        ),
        ("Unrealized P&L $", _sum("unrealized_pnl"), L.FMT_MONEY, "UnrealizedPnL", "sum of Positions P&L"),
        ("Delta (shares)", _sum("delta_shares"), L.FMT_NUM, "", "sum of Positions delta"),
        (
            "Portfolio delta $",
            _sum("delta_dollars"),
            L.FMT_MONEY,
            "PortfolioDelta",
            "sum of Positions dollar delta",
        ),
        ("Gamma (shares per $)", _sum("gamma"), L.FMT_NUM, "", "sum of Positions gamma"),
        ("Theta ($ per day)", _sum("theta_day"), L.FMT_MONEY, "", "sum of Positions theta/day"),
        ("Vega ($ per vol point)", _sum("vega_point"), L.FMT_MONEY, "", "sum of Positions vega/point"),
        (
            "Put obligation $",
            Formula(f"=SUMPRODUCT({IS_SHORT_PUT}*{_P('strike')}*{_P('contracts')})*Multiplier"),
            L.FMT_MONEY0,
            "PutObligation",
            "sum of short-put strike x shares",
        ),
        (
            "Margin $ (net of value, vs net liquidation)",
            _sum("margin"),
            L.FMT_MONEY0,
            "",
            "sum of Positions margin",
        ),
        (
            f"VaR {conf} $ (model)",
            var.var,
            L.FMT_MONEY,
            "ValueAtRisk",
            f"engine.risk.var.value_at_risk ({var.method}, {var.horizon_days} day)",
        ),
        (
            f"Expected shortfall {conf} $ (model)",
            var.es,
            L.FMT_MONEY,
            "ExpectedShortfall",
            "engine.risk.var.value_at_risk (mean loss beyond VaR)",
        ),
        (
            "VaR / net liquidation %",
            Formula('=IF(PortfolioValue>0,ValueAtRisk/PortfolioValue,"")'),
            L.FMT_PCT,
            "",
            "ValueAtRisk / PortfolioValue",
        ),
        *(
            (label, Formula(f"={name}"), L.FMT_MONEY, "", f"Today sheet {name} (engine.plan.account)")
            for label, name in (
                ("Net liquidation value $ (NLV)", "NetLiquidation"),
                ("Equity with loan value $ (EWL)", "EquityWithLoanValue"),
                ("Initial requirement $ (full basis, vs EWL)", "InitialRequirement"),
                ("Maintenance requirement $ (full basis, vs EWL)", "MaintenanceRequirement"),
                ("Excess liquidity $ (EWL - maintenance)", "ExcessLiquidity"),
                ("Buying power $ (available funds: EWL - initial)", "BuyingPower"),
            )
        ),
    ]
    label_rows(wb, ws, hdr + 1, book)
    r = _kelly(wb, ws, hdr + 2 + len(book))
    title(ws, r, "Daily risk check (model)")
    alerts = data.risk.alerts
    value_table(ws, r + 1, alerts, L.ALERT_COLUMNS)
    t = Table(ws, L.ALERT_COLUMNS, r + 1, n=len(alerts))
    status_colours(ws, t.span("status"))
    _payoff(ws, data, t.last + 2)
    frame_sheet(ws)


def _kelly(wb: Any, ws: Any, r: int) -> int:
    title(ws, r, "Kelly position limits")
    rows = [
        ("Win probability %", Formula("=WinProbability"), L.FMT_PCT, "", ""),
        ("Average win %", Formula("=AvgWin"), L.FMT_PCT, "", ""),
        ("Average loss %", Formula("=AvgLoss"), L.FMT_PCT, "", ""),
        (
            "Full Kelly  p - (1-p) x loss/win",
            Formula("=WinProbability-(1-WinProbability)*(AvgLoss/AvgWin)"),
            L.FMT_NUM4,
            "KellyFraction",
            "",
        ),
        ("Fractional Kelly", Formula("=KellyUse*MAX(KellyFraction,0)"), L.FMT_NUM4, "ConservativeKelly", ""),
        (
            "Max single strike %",
            Formula("=MIN(ConservativeKelly,KellyCap)"),
            L.FMT_PCT,
            "MaxSingleStrike",
            "",
        ),
        (
            "Max single strike $",
            Formula("=MaxSingleStrike*PortfolioValue"),
            L.FMT_MONEY,
            "",
            "x net liquidation",
        ),
        (
            "Max monthly addition $",
            Formula("=MaxMonthlyAddition*PortfolioValue"),
            L.FMT_MONEY,
            "",
            "x net liquidation",
        ),
        (
            "Emergency reserve $",
            Formula("=EmergencyReserve*PortfolioValue"),
            L.FMT_MONEY,
            "",
            "x net liquidation",
        ),
        (
            "Strategy allocation $",
            Formula("=MaxStrategyAllocation*PortfolioValue"),
            L.FMT_MONEY,
            "",
            "x net liquidation",
        ),
    ]
    label_rows(wb, ws, r + 1, rows)
    return r + 2 + len(rows)


_PAYOFF_COLUMNS = (
    Column("Underlying $", "price", L.FMT_PRICE, 14),
    Column("P&L at expiry $", "pnl", L.FMT_MONEY, 16),
)


def _payoff(ws: Any, data: ReportData, r: int) -> None:
    """P&L at expiry over the price grid: one SUMPRODUCT over the Positions input columns per row
    (options at their payoff, shares at price - cost per share; the premium net of what the
    options paid).  Starts a printed page of its own."""
    from openpyxl.chart import Reference, ScatterChart, Series
    from openpyxl.worksheet.pagebreak import Break

    ws.row_breaks.append(Break(id=r - 1))
    title(ws, r, "P&L at expiry of the whole book against the underlying price")
    k, n = _P("strike"), _P("contracts")
    t = Table(ws, _PAYOFF_COLUMNS, r + 1).write_header()
    t.rows(
        [{"price": float(s)} for s in data.payoff.price],
        {
            "pnl": f"=SUMPRODUCT({SIGN}*{n}*(({W}*({{price}}-{k}))>0)*({W}*({{price}}-{k})))*Multiplier"
            f"+SUMPRODUCT({SIGN}*{IS_STOCK}*{_P('shares')}*({{price}}-{_P('premium')}))+PremiumCollected",
        },
    )
    chart = ScatterChart()
    chart.title, chart.style = "P&L at expiry vs underlying price", 13
    chart.x_axis.title, chart.y_axis.title = "Underlying price $", "P&L $"
    chart.x_axis.tickLblPos = "low"  # labels at the bottom, not on the zero line the P&L crosses
    chart.x_axis.number_format, chart.y_axis.number_format = '"$"0.00', '"$"#,##0'
    chart.x_axis.scaling.min, chart.x_axis.scaling.max = 0.0, float(data.payoff.price[-1])
    series = Series(
        Reference(ws, min_col=2, min_row=t.first, max_row=t.last),
        Reference(ws, min_col=1, min_row=t.first, max_row=t.last),
        title="Book P&L at expiry",
    )
    series.marker.symbol = "none"
    chart.series.append(series)
    chart.legend = None
    chart.height, chart.width = 9, 18
    ws.add_chart(chart, f"C{t.header_row}")


def write_assignment(wb: Any, data: ReportData) -> None:
    """Each short put's cost basis, tier, call target and stop (formulas) beside the model's plan."""
    from workbook.report.positions import positions_table

    ws = wb.create_sheet(L.SHEET_ASSIGNMENT)
    prob = data.book.marked["prob_itm"].to_numpy()
    p = positions_table(ws, 0)
    ps = f"'{L.SHEET_POSITIONS}'!"
    recs = [{**vars(a), "prob_itm": prob[a.row]} for a in data.assignment]

    def link(key: str) -> Any:
        return lambda row: Formula(f"={ps}{p.letter(key)}{L.REPORT_FIRST_ROW + recs[row.r - t.first]['row']}")

    t = Table(ws, L.ASSIGNMENT_COLUMNS, L.REPORT_HEADER_ROW).write_header()
    t.rows(
        recs,
        {
            "strike": link("strike"),
            "contracts": link("contracts"),
            "premium": link("premium"),
            "shares": "={contracts}*Multiplier",
            "cost_basis": "={strike}-{premium}",
            "tier": '=IF({cost_basis}<ExcellentBasis,"excellent",IF({cost_basis}<GoodBasis,"good","exit"))',
            "call_strike_target": '={cost_basis}*(1+IF({tier}="excellent",ExcellentCallUpside,IF({tier}="good",'
            "GoodCallUpside,ExitCallUpside)))",
            "stop_level": '=IF({tier}="exit",{cost_basis}*(1-ExitStop),"")',
        },
        model=("expiry", "action", "call_strike", "call_dte", "call_premium", "prob_itm"),
    )
    if t.n:
        t.autofilter()
        note(
            ws,
            t.last + 2,
            "Cost basis = strike - premium per share; tier, covered-call strike target and stop "
            "are formulas over the Inputs thresholds; listed call strike, action, call premium and "
            "Prob ITM come from the engine.",
        )
    frame_sheet(ws)
