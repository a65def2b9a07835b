"""The Ladder, Plan and Hedges sheets: plan arithmetic as live formulas over named inputs and the
dynamic Positions ranges, beside model prices written as values."""

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
from workbook.report.positions import IS_SHORT_PUT
from workbook.report.stale import pos_name

__all__ = ["write_ladder", "write_plan", "write_hedges"]

_P = pos_name


def write_ladder(wb: Any, data: ReportData) -> None:
    """Per-strike totals of the short puts: SUMPRODUCT/SUMIFS over Positions, model Prob ITM and status."""
    ws = wb.create_sheet(L.SHEET_LADDER)
    ladder = data.book.ladder
    ladder = ladder[ladder["strike"].notna()]
    crit = f',{_P("kind")},"put",{_P("side")},"short")'

    def sumifs(key: str) -> str:
        return f"SUMIFS({_P(key)},{_P('strike')},{{strike}}{crit}"

    def short_puts(expr: str) -> str:
        return f"SUMPRODUCT(({_P('strike')}={{strike}})*{IS_SHORT_PUT}*{expr})"

    t = Table(ws, L.LADDER_COLUMNS, L.REPORT_HEADER_ROW).write_header()
    total_contracts = (
        f"SUM({t.letter('contracts')}${t.first}:{t.letter('contracts')}${t.first + len(ladder) - 1})"
    )
    t.rows(
        ladder.to_dict(orient="records"),
        {
            "contracts": "=" + short_puts(_P("contracts")),
            "premium_collected": "=" + short_puts(f"{_P('premium')}*{_P('contracts')}") + "*Multiplier",
            "current_value": "=-" + sumifs("value"),
            "unrealized_pnl": "=" + sumifs("unrealized_pnl"),
            "share_of_contracts": f"=IF({total_contracts}=0,0,{{contracts}}/{total_contracts})",
            "moneyness": "={strike}/Spot",
            "obligation": "=" + short_puts(f"{_P('strike')}*{_P('contracts')}") + "*Multiplier",
        },
        model=("strike", "prob_itm", "status"),
    )
    if t.n:
        tot = t.total(("contracts", "premium_collected", "current_value", "unrealized_pnl", "obligation"))
    else:  # shares and covered calls only: no strike to total (a SUM of nothing would be circular)
        tot = t.first
        note(ws, tot, "No short puts open.")
        tot += 1
    if t.n:
        t.autofilter()
        status_colours(ws, t.span("status"))
        _bar_chart(
            ws, t, "obligation", "Exposure by strike (put obligation, $)", "Obligation $", f"A{tot + 3}"
        )
    note(
        ws,
        tot + 1,
        "Contracts, premium, value, P&L, share and obligation are formulas over the Positions "
        "sheet (rows appended there count); Prob ITM and Status come from the model.",
    )
    frame_sheet(ws)


def _bar_chart(ws: Any, t: Table, key: str, name: str, y_title: str, anchor: str) -> None:
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type, chart.title = "col", name
    chart.y_axis.title, chart.x_axis.title = y_title, "Strike $"
    c = t.index(key)
    chart.add_data(Reference(ws, min_col=c, min_row=t.header_row, max_row=t.last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=t.index("strike"), min_row=t.first, max_row=t.last))
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, anchor)


_SPLIT_TITLE = (
    '="Premium split ("&ROUND((1-CallShareUsed)*100,0)&"/"&ROUND(CallShareUsed*100,0)&" rule: puts/calls)"'
)
#: Capital per contract on the net basis (the requirement net of the premium credited: what a
#: contract takes from net liquidation), by CapitalModel.
_CAPITAL_PER_CONTRACT = (
    '=IF(CapitalModel="premium",{premium}*Multiplier,IF(CapitalModel="cash_secured",({strike}-{premium})*Multiplier,'
    "(MAX(RegTUnderlyingPct*Spot-MAX(Spot-{strike},0),RegTMinimumPct*{strike},PerContractFloor/Multiplier)"
    "+HouseAddonPct*Spot)*Multiplier))"
)
_REINVEST_COLUMNS = (
    Column("Action", "action", L.FMT_TEXT, 30),
    Column("Group strikes", "group_strikes", L.FMT_TEXT, 14),
    Column("Group share %", "group_share", L.FMT_PCT, 12),
    Column("Strike $", "strike", L.FMT_PRICE, 12),
    Column("Share %", "share", L.FMT_PCT, 10),
    Column("Amount $", "amount", L.FMT_MONEY, 13),
    Column("Premium $/sh", "premium", L.FMT_PRICE, 12),
    Column("Capital/contract $", "capital_per_contract", L.FMT_MONEY, 15),
    Column("Contracts", "contracts", L.FMT_INT, 10),
    Column("Expected premium $", "expected_premium", L.FMT_MONEY, 15),
    Column("Reasoning", "reasoning", L.FMT_TEXT, 40),
)


def write_plan(wb: Any, data: ReportData) -> None:
    """Premium split, strike allocation, reinvestment priorities and the projection."""
    ws = wb.create_sheet(L.SHEET_PLAN)
    hdr = L.REPORT_HEADER_ROW
    Table(
        ws,
        (Column("", "label", "", 40), Column("Value", "value", "", 14), Column("Formula", "how", "", 40)),
        hdr,
    ).write_header()
    ws.cell(row=hdr, column=1).value = Formula(_SPLIT_TITLE)
    split_rows = [
        (
            "Premium collected (book) $",
            Formula("=PremiumCollected"),
            L.FMT_MONEY,
            "PlanPremium",
            "net premium of the Positions sheet",
        ),
        (
            "Call hedge share used %",
            Formula("=IF(UseDynamicRatio,HedgeRatio,CallShare)"),
            L.FMT_PCT,
            "CallShareUsed",
            "CallShare, or HedgeRatio when UseDynamicRatio",
        ),
        (
            "Call hedge budget $",
            Formula("=PlanPremium*CallShareUsed"),
            L.FMT_MONEY,
            "CallBudget",
            "premium x call share",
        ),
        (
            "Put premium budget $",
            Formula("=PlanPremium-CallBudget"),
            L.FMT_MONEY,
            "PutPremiumBudget",
            "premium - call budget",
        ),
        ("Monthly addition $", Formula("=MonthlyAddition"), L.FMT_MONEY, "_addition", "new capital"),
        (
            "Put expansion budget $",
            Formula("=PutPremiumBudget+MonthlyAddition"),
            L.FMT_MONEY,
            "PutBudget",
            "put premium budget + monthly addition",
        ),
        (
            "Compounding factor x",
            Formula('=IF(MonthlyAddition>0,PutBudget/MonthlyAddition,"")'),
            L.FMT_NUM4,
            "CompoundingFactor",
            "put expansion budget / monthly addition",
        ),
        (
            "Buying power $ (EWL - initial)",
            Formula("=BuyingPower"),
            L.FMT_MONEY,
            "",
            "Today sheet (engine.plan.account, a value); caps the contracts below",
        ),
    ]
    label_rows(wb, ws, hdr + 1, split_rows)
    r = hdr + 1 + len(split_rows) + 1
    r = _allocation(wb, ws, data, r)
    r = _reinvestment(ws, data, r)
    _projection(ws, data, r)
    frame_sheet(ws)


def _allocation(wb: Any, ws: Any, data: ReportData, r: int) -> int:
    from workbook.report.inputs import table_rows

    title(ws, r, Formula('="Strike allocation of the put expansion budget, capital model: "&CapitalModel'))
    rows = table_rows(wb[L.SHEET_INPUTS])["ladder"]
    prem = data.plan.strike_premiums
    t = Table(ws, L.ALLOCATION_COLUMNS, r + 1).write_header()
    alloc = data.plan.allocation
    recs = [
        {"premium": prem.get(float(k)), "bp_per_contract": bpc}
        for k, bpc in zip(data.config.strikes.strikes, alloc["bp_per_contract"])
    ][: len(rows)]
    t.rows(
        recs,
        {
            "strike": lambda row: Formula(f"='{L.SHEET_INPUTS}'!$A${rows[row.r - t.first]}"),
            "weight": lambda row: Formula(f"='{L.SHEET_INPUTS}'!$B${rows[row.r - t.first]}"),
            "capital": "=PutBudget*{weight}",
            "capital_per_contract": _CAPITAL_PER_CONTRACT,
            "contracts_sized": "=IF({capital_per_contract}>0,INT({capital}/{capital_per_contract}),0)",
            "contracts": "=INT({contracts_sized}*BuyingPowerScale+1E-12)",
            "capital_used": "={contracts}*{capital_per_contract}",
            "expected_premium": "={contracts}*{premium}*Multiplier",
            "leftover": "={capital}-{capital_used}",
            "literal_contracts": "=IF({premium}>0,INT({capital}/({premium}*Multiplier)),0)",
        },
        model=("premium", "bp_per_contract"),
    )
    tot = t.total(
        (
            "weight",
            "capital",
            "contracts",
            "capital_used",
            "expected_premium",
            "leftover",
            "literal_contracts",
            "contracts_sized",
        )
    )
    from workbook.report.cells import define_name, put

    need = f"SUMPRODUCT({t.span('contracts_sized')},{t.span('bp_per_contract')})"
    put(ws, tot + 1, 1, "Buying power scale x")
    put(
        ws,
        tot + 1,
        2,
        Formula(f"=IF(AND(ISNUMBER(BuyingPower),{need}>MAX(BuyingPower,0)),MAX(BuyingPower,0)/{need},1)"),
        L.FMT_NUM4,
    )
    put(
        ws,
        tot + 1,
        3,
        "contracts before cap x this: the buying power they use (sum of before-cap x BP/contract) "
        "never exceeds BuyingPower",
    )
    define_name(wb, "BuyingPowerScale", L.SHEET_PLAN, f"B{tot + 1}")
    define_name(wb, "PlanContracts", L.SHEET_PLAN, f"{t.letter('contracts')}{tot}")
    tot += 1
    note(
        ws,
        tot + 1,
        "Premium $/sh is the American model price at the next monthly expiry (a value); so is "
        "BP/contract (engine.plan.account: a new put takes its requirement net of the premium "
        "credited); everything else is a formula. Capital/contract is net of the premium (compared "
        "with net liquidation). 'Plan literal contracts' is the plan's int(capital / (premium x 100)), "
        "which treats premium received as capital spent.",
    )
    return tot + 3


def _reinvestment(ws: Any, data: ReportData, r: int) -> int:
    title(ws, r, "Reinvestment priorities (share of the put expansion budget)")
    t = Table(ws, _REINVEST_COLUMNS, r + 1).write_header(widths=False)
    t.rows(
        data.plan.reinvestment.to_dict(orient="records"),
        {
            "amount": "=PutBudget*{share}",
            "contracts": "=IF({capital_per_contract}>0,INT({amount}/{capital_per_contract}),0)",
            "expected_premium": "={contracts}*{premium}*Multiplier",
        },
        model=("premium", "capital_per_contract"),
    )
    return t.first + t.n + 1


def _projection(ws: Any, data: ReportData, r: int) -> None:
    """The engine's month-by-month projection; its plain arithmetic as formulas (new capital, budget,
    hedge, reinvestment, cumulative contracts, starting and ending capital)."""
    import pandas as pd

    title(ws, r, "Month-by-month projection (engine premium income and contracts; the arithmetic is live)")
    proj = data.projection.table
    cols = [Column(_proj_header(c), c, _proj_fmt(c), 14) for c in proj.columns]
    t = Table(ws, cols, r + 1).write_header()
    base = int(proj["cumulative_contracts"].iloc[0] - proj["contracts_sold"].iloc[0]) if len(proj) else 0

    def prev(key: str, first: str) -> Any:
        return lambda row: Formula(first if row.r == t.first else f"={t.letter(key)}{row.r - 1}")

    t.rows(
        proj.to_dict(orient="records"),
        {
            "starting_capital": prev("portfolio_value", "=PortfolioValue"),
            "new_capital": "=MonthlyAddition",
            "put_budget": lambda row: Formula(
                f"={row['new_capital']}"
                if row.r == t.first
                else f"={row['new_capital']}+{t.letter('put_reinvestment')}{row.r - 1}"
            ),
            "hedge_share": lambda row: (
                Formula("=CallShare")
                if not data.config.hedge.use_dynamic_ratio
                else proj["hedge_share"].iloc[row.r - t.first]
            ),
            "call_hedge": "={premium_income}*{hedge_share}",
            "put_reinvestment": "={premium_income}-{call_hedge}",
            "cumulative_contracts": lambda row: Formula(
                f"={base}+{row['contracts_sold']}"
                if row.r == t.first
                else f"={t.letter('cumulative_contracts')}{row.r - 1}+{row['contracts_sold']}"
            ),
            "portfolio_value": "={starting_capital}+{new_capital}+{premium_income}",
        },
        model=[c for c in proj.columns if c not in ("month",)],
    )
    r2 = t.first + t.n + 1
    title(ws, r2, "The plan's printed table (as printed; see Audit for what differs)")
    printed = data.projection.printed
    value_table(
        ws, r2 + 1, printed if isinstance(printed, pd.DataFrame) else pd.DataFrame(printed), model=False
    )


def _proj_header(key: str) -> str:
    from workbook.report.cells import human_header

    return human_header(key, _proj_fmt(key))


def _proj_fmt(key: str) -> str:
    if key in ("month", "dte", "contracts_sold", "cumulative_contracts"):
        return L.FMT_INT
    if key in ("hedge_share", "margin_share"):
        return L.FMT_PCT
    if key in ("sale_date", "expiry"):
        return L.FMT_DATE
    if key in ("assumption", "capital_model"):
        return L.FMT_TEXT
    return L.FMT_MONEY


def write_hedges(wb: Any, data: ReportData) -> None:
    """The hedge-ratio rule (formulas over the Inputs thresholds) and the call hedge ladder."""
    ws = wb.create_sheet(L.SHEET_HEDGES)
    r = _hedge_rule(wb, ws)
    title(ws, r, "Call hedge ladder")
    _hedge_ladder(wb, ws, data, r + 1)
    frame_sheet(ws)


def _hedge_rule(wb: Any, ws: Any) -> int:
    """The hedge ratio step by step; returns the next free row."""
    hdr = L.REPORT_HEADER_ROW
    Table(
        ws,
        (
            Column("Hedge ratio rule", "label", "", 30),
            Column("Value", "value", "", 12),
            Column("Formula", "how", "", 50),
        ),
        hdr,
    ).write_header()
    rule_rows = [
        ("Base ratio %", Formula("=HedgeBase"), L.FMT_PCT, "_base", "HedgeBase"),
        (
            "Extreme-IV factor x",
            Formula("=IF(IVPercentile>HedgeIVThreshold,HedgeIVMultiplier,1)"),
            L.FMT_NUM,
            "_iv",
            "x IV multiplier if IV percentile > threshold",
        ),
        (
            "Squeeze factor x",
            Formula("=IF(SqueezeProbability>HedgeSqueezeThreshold,HedgeSqueezeMultiplier,1)"),
            L.FMT_NUM,
            "_squeeze",
            "x squeeze multiplier if squeeze probability > threshold",
        ),
        (
            "Size factor x",
            Formula("=IF(PortfolioValue>HedgeSizeThreshold,HedgeSizeMultiplier,1)"),
            L.FMT_NUM,
            "_size",
            "x size multiplier if portfolio value > threshold",
        ),
        (
            "Uncapped ratio %",
            Formula("={_base}*{_iv}*{_squeeze}*{_size}"),
            L.FMT_PCT,
            "HedgeUncapped",
            "base x factors",
        ),
        (
            "Hedge ratio %",
            Formula("=MIN(HedgeUncapped,HedgeCap)"),
            L.FMT_PCT,
            "HedgeRatio",
            "capped at HedgeCap",
        ),
        (
            "Hedge budget (call budget) $",
            Formula("=CallBudget"),
            L.FMT_MONEY,
            "HedgeBudget",
            "Plan sheet call hedge budget",
        ),
    ]
    label_rows(wb, ws, hdr + 1, rule_rows)
    return hdr + 1 + len(rule_rows) + 1


def _hedge_ladder(wb: Any, ws: Any, data: ReportData, hdr: int) -> None:
    """One row per rung: moneyness and share from Inputs, model strike, DTE and price, live budget,
    contracts, cost and leftover."""
    from workbook.report.inputs import table_rows

    rows = table_rows(wb[L.SHEET_INPUTS])["hedge"]
    hl = data.hedges.ladder.to_dict(orient="records")

    def from_inputs(c: str, key: str) -> Any:
        return lambda row: (
            Formula(f"='{L.SHEET_INPUTS}'!${c}${rows[row.r - t.first]}")
            if row.r - t.first < len(rows)
            else hl[row.r - t.first][key]
        )

    t = Table(ws, L.HEDGE_COLUMNS, hdr).write_header()
    t.rows(
        hl,
        {
            "moneyness": from_inputs("A", "moneyness"),
            "share": from_inputs("B", "share"),
            "budget": "=HedgeBudget*{share}",
            "contracts": "=IF({price}>0,INT({budget}/({price}*Multiplier)),0)",
            "cost": "={contracts}*{price}*Multiplier",
            "leftover": "={budget}-{cost}",
        },
        model=("rung", "strike", "dte", "price"),
    )
    tot = t.total(("share", "budget", "contracts", "cost", "leftover"))
    note(
        ws,
        tot + 1,
        "Strike (spot x moneyness rounded to the listed increment), DTE (to the first listed monthly "
        "expiry at least the Inputs target days out) and price (American model) are values; budget, "
        "contracts, cost and leftover are formulas.",
    )
