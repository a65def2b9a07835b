"""The Simulation, Orders, Audit and About sheets: engine results (values), a few live checks."""

from __future__ import annotations

from typing import Any

from workbook import layout as L
from workbook.compute import ReportData
from workbook.layout import Column
from workbook.report.cells import (
    Formula,
    Table,
    col,
    define_name,
    fit_row_height,
    frame_sheet,
    label_rows,
    note,
    put,
    styles,
    title,
    value_table,
)

__all__ = ["write_simulation", "write_orders", "write_audit", "write_about"]

#: Simulation summary rows: result key -> (label, number format)
_SIM_SUMMARY: dict[str, tuple[str, str]] = {
    "paths": ("Paths", L.FMT_INT),
    "months": ("Months", L.FMT_INT),
    "seed": ("Seed", L.FMT_GENERAL),
    "invested": ("Invested (start + additions) $", L.FMT_MONEY0),
    "prob_loss": ("Probability of a loss %", L.FMT_PCT),
    "prob_margin_call": ("Probability of a margin call %", L.FMT_PCT),
    "share_with_assignment": ("Share of paths with an assignment %", L.FMT_PCT),
    "share_with_early_assignment": ("Share of paths with an early assignment %", L.FMT_PCT),
    "mean_discounted_costs": ("Mean discounted trading costs $", L.FMT_MONEY0),
    "mean_discounted_final": ("Mean discounted final equity $", L.FMT_MONEY0),
    "se_discounted_final": ("Standard error of that mean $", L.FMT_MONEY0),
    "discounted_invested": ("Discounted invested $", L.FMT_MONEY0),
}
#: Distribution tables: result key -> (title, number format of the statistics)
_SIM_DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    "max_drawdown": ("Max drawdown (fraction of the peak) %", L.FMT_PCT),
    "annual_return": ("Annualized return %", L.FMT_PCT),
    "sharpe": ("Sharpe ratio (annualized)", "0.00"),
    "final_equity_summary": ("Final equity $", L.FMT_MONEY0),
}
_STAT_COLUMNS = ("mean", "p5", "p25", "p50", "p75", "p95")
SIM_COL_WIDTHS = (36, 14, 14, 14, 14, 14, 14, 16)


def _kv(ws: Any, r: int, head: tuple[str, ...], rows: list[tuple[Any, ...]], fmts: tuple[str, ...]) -> int:
    """A small value table (first column text); returns the next free row."""
    t = Table(
        ws,
        [Column(h, f"c{j}", fmts[j] if j < len(fmts) else L.FMT_GENERAL, 14) for j, h in enumerate(head)],
        r,
    ).write_header(widths=False)
    t.rows(
        [{f"c{j}": v for j, v in enumerate(row)} for row in rows],
        model=[f"c{j}" for j in range(1, len(head))],
    )
    return t.first + t.n + 1


def write_simulation(wb: Any, data: ReportData) -> None:
    """Fan chart percentiles beside the plan, the targets, summary, distributions, assumptions."""
    ws = wb.create_sheet(L.SHEET_SIMULATION)
    for j, w in enumerate(SIM_COL_WIDTHS):
        ws.column_dimensions[col(j + 1)].width = w
    d = data.simulation.to_dict()
    title(
        ws,
        L.REPORT_HEADER_ROW,
        f"Monte Carlo of the plan: {data.meta['paths']:,} paths, seed {data.meta['seed']}",
    )
    rule = "; ".join(str(d[k]) for k in ("sizing", "costs") if d.get(k))
    if rule:  # the sizing rule and costs behind every figure of the sheet
        note(
            ws,
            L.REPORT_HEADER_ROW + 1,
            rule[0].upper() + rule[1:] + ". Equity = net liquidation value at model "
            "mid marks; margin calls = maintenance requirement above equity with loan "
            "value.",
        )
    r = _percentiles(ws, data, L.REPORT_HEADER_ROW + 3, d)
    r = _sim_targets(ws, r, d)
    title(ws, r, "Summary")
    summary = [
        (label, d[k], fmt) for k, (label, fmt) in _SIM_SUMMARY.items() if isinstance(d.get(k), (int, float))
    ]
    Table(ws, (Column("Quantity", "label", "", 36), Column("Value", "value", "", 14)), r + 1).write_header(
        widths=False
    )
    for i, (label, v, fmt) in enumerate(summary):  # one number format per quantity
        put(ws, r + 2 + i, 1, label)
        put(ws, r + 2 + i, 2, v, fmt, model=True)
    r = _distributions(ws, r + 3 + len(summary), d)
    targets = d.get("prob_targets") or {}
    if targets:
        title(ws, r, "Probability of reaching the plan's scenario targets (final equity)")
        r = _kv(
            ws,
            r + 1,
            ("Scenario", "From $", "To $", "P(in range) %", "P(at least) %"),
            [
                (str(n), t.get("low"), t.get("high"), t.get("in_range"), t.get("at_least"))
                for n, t in targets.items()
            ],
            ("", L.FMT_MONEY0, L.FMT_MONEY0, L.FMT_PCT, L.FMT_PCT),
        )
    assumptions = d.get("assumptions") or {}
    if assumptions:
        title(ws, r, "Model assumptions")
        _kv(
            ws,
            r + 1,
            ("Assumption", "Value"),
            [(str(k).replace("_", " "), v) for k, v in assumptions.items()],
            ("", L.FMT_GENERAL),
        )
    frame_sheet(ws, freeze="A3", title_rows="1:2")


def _percentiles(ws: Any, data: ReportData, r: int, d: dict) -> int:
    """Equity percentiles by month beside the plan's deterministic projection, and the fan chart."""
    import pandas as pd

    sim = data.simulation
    pdf = sim.percentiles if isinstance(sim.percentiles, pd.DataFrame) else pd.DataFrame(sim.percentiles)
    pdf = pdf.reset_index() if not isinstance(pdf.index, pd.RangeIndex) else pdf
    det = d.get("deterministic")
    if det and "month" in pdf.columns:
        by_month = {int(x["month"]): x.get("portfolio_value") for x in det}
        start = float(data.config.account.starting_value)
        pdf = pdf.assign(plan=[start if int(m) == 0 else by_month.get(int(m)) for m in pdf["month"]])
    title(
        ws,
        r,
        "Equity percentiles by month ($); Plan = the plan's deterministic projection "
        "(every put expires worthless)",
    )
    names = {"month": "Month #", "mean": "Mean $", "plan": "Plan $"}
    cols = [
        Column(names.get(str(c), f"{c} $"), str(c), L.FMT_INT if c == "month" else L.FMT_MONEY0, 14)
        for c in pdf.columns
    ]
    r_next = value_table(ws, r + 1, pdf, cols)
    if len(pdf) > 1 and pdf.shape[1] > 1:
        _fan_chart(ws, r + 1, len(pdf), pdf.shape[1])
    return r_next


def _distributions(ws: Any, r: int, d: dict) -> int:
    """One row per simulated quantity, its statistics across paths in that quantity's format."""
    dists = [(k, v) for k, v in _SIM_DISTRIBUTIONS.items() if isinstance(d.get(k), dict)]
    if not dists:
        return r
    title(ws, r, "Distributions across paths")
    r_next = _kv(
        ws,
        r + 1,
        ("Quantity", "Mean", *_STAT_COLUMNS[1:]),
        [(label, *(d[k].get(s) for s in _STAT_COLUMNS)) for k, (label, _f) in dists],
        (),
    )
    for i, (_k, (_label, fmt)) in enumerate(dists):
        for j in range(len(_STAT_COLUMNS)):
            ws.cell(row=r + 2 + i, column=2 + j).number_format = fmt
    return r_next


def _fan_chart(ws: Any, header_row: int, n: int, ncols: int) -> None:
    from openpyxl.chart import LineChart, Reference

    chart = LineChart()
    chart.title = "Equity fan chart (percentiles) and the plan"
    chart.y_axis.title, chart.y_axis.number_format = "Equity $", '"$"#,##0'
    chart.x_axis.title, chart.x_axis.tickLblPos = "Month", "low"
    chart.add_data(
        Reference(ws, min_col=2, max_col=ncols, min_row=header_row, max_row=header_row + n),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + n))
    chart.height, chart.width = 9, 18
    ws.add_chart(chart, f"{col(ncols + 2)}{header_row - 1}")


def _sim_targets(ws: Any, r: int, d: dict) -> int:
    """The simulated distributions beside the plan's stated targets."""
    sharpe, dd, ret = d.get("sharpe") or {}, d.get("max_drawdown") or {}, d.get("annual_return") or {}
    fin = d.get("final_equity_summary") or {}
    rows = [
        ("Sharpe ratio, median", sharpe.get("p50"), "> 2.5 (plan: 'Target Sharpe ratio >2.5')", "0.00"),
        ("Sharpe ratio, 5th percentile", sharpe.get("p5"), "> 2.5", "0.00"),
        ("Max drawdown, median %", dd.get("p50"), "< 22% (plan: month-3 'Max DD <22%')", L.FMT_PCT),
        ("Max drawdown, 95th percentile %", dd.get("p95"), "< 22%", L.FMT_PCT),
        ("Annual return, median %", ret.get("p50"), "110% - 135% (plan: expected scenario)", L.FMT_PCT),
        (
            "Final equity, median $",
            fin.get("p50") if isinstance(fin, dict) else None,
            "$60,000 - $70,000 (plan: expected scenario)",
            L.FMT_MONEY0,
        ),
        ("Probability of a loss %", d.get("prob_loss"), "(plan is silent)", L.FMT_PCT),
        ("Probability of a margin call %", d.get("prob_margin_call"), "(plan is silent)", L.FMT_PCT),
    ]
    title(ws, r, "Simulated distributions vs the plan's targets")
    # the target text overflows into the empty cells to its right (column widths stay uniform)
    t = Table(
        ws,
        (
            Column("Quantity", "label", "", 36),
            Column("Simulated", "value", "", 14),
            Column("Plan target", "target", "", 14),
        ),
        r + 1,
    ).write_header(widths=False)
    ws.merge_cells(start_row=r + 1, start_column=3, end_row=r + 1, end_column=6)
    for i, (label, v, target, fmt) in enumerate(rows):
        put(ws, t.first + i, 1, label)
        put(ws, t.first + i, 2, v, fmt, model=True)
        put(ws, t.first + i, 3, target)
    return t.first + len(rows) + 1


_ORDER_COLUMNS = (
    Column("Ticket no.", "sequence", L.FMT_INT, 8),
    Column("Status", "status", L.FMT_TEXT, 9),
    Column("Action", "action", L.FMT_TEXT, 8),
    Column("Symbol", "symbol", L.FMT_TEXT, 24),
    Column("Kind", "kind", L.FMT_TEXT, 6),
    Column("Strike $", "strike", L.FMT_PRICE, 10),
    Column("Expiry date", "expiry", L.FMT_DATE, 11),
    Column("Contracts", "contracts", L.FMT_INT, 10),
    Column("Slice", "slice", L.FMT_INT, 6),
    Column("Of slices", "slices", L.FMT_INT, 9),
    Column("Order type", "order_type", L.FMT_TEXT, 10),
    Column("Mid $/sh", "mid", L.FMT_PRICE, 10),
    Column("Limit $/sh", "limit", L.FMT_PRICE, 10),
    Column("Worst $/sh", "worst", L.FMT_PRICE, 10),
    Column("Tick $", "tick", L.FMT_PRICE, 8),
    Column("Time in force", "time_in_force", L.FMT_TEXT, 12),
    Column("Held because", "reason", L.FMT_TEXT, 60),
    Column("Buying power after $", "buying_power_after", L.FMT_MONEY, 14),
    Column("Trading windows", "windows", L.FMT_TEXT, 40),
)


def write_orders(wb: Any, data: ReportData) -> None:
    """The day's tickets (model: PROPOSED, or HELD with the reason) and live counts against the Plan."""
    ws = wb.create_sheet(L.SHEET_ORDERS)
    orders = data.orders
    hdr = L.REPORT_HEADER_ROW
    t = Table(ws, [c for c in _ORDER_COLUMNS if c.key in orders.columns], hdr + 6)
    act, n, st = (
        f"{t.letter(k)}${t.first}:{t.letter(k)}${max(t.first, t.first + len(orders) - 1)}"
        for k in ("action", "contracts", "status")
    )
    Table(
        ws,
        (
            Column("Order counts", "label", "", 36),
            Column("Contracts", "value", L.FMT_INT, 12),
            Column("How", "how", "", 50),
        ),
        hdr,
    ).write_header(widths=False)
    label_rows(
        wb,
        ws,
        hdr + 1,
        [
            (
                "Put contracts the Plan sells now (live)",
                Formula("=PlanContracts"),
                L.FMT_INT,
                "",
                "Plan sheet allocation total",
            ),
            (
                "Put contracts in these tickets",
                Formula(f'=SUMIFS({n},{act},"sell")'),
                L.FMT_INT,
                "OrderPutContracts",
                "sum of sell tickets below",
            ),
            (
                "Held contracts",
                Formula(f'=SUMIFS({n},{st},"HELD")'),
                L.FMT_INT,
                "HeldContracts",
                "tickets waiting: see Held because",
            ),
            (
                "Tickets match the Plan",
                Formula('=IF(PlanContracts=OrderPutContracts,"yes","no: run volarb refresh")'),
                L.FMT_TEXT,
                "",
                "the tickets are model values",
            ),
        ],
    )
    if len(orders) == 0:
        note(ws, t.header_row, "No orders: the plan's budgets buy no whole contract at the model prices.")
    else:
        t.write_header()
        t.rows(orders.to_dict(orient="records"), model=[c.key for c in t.columns])
        t.autofilter()
        _held_colours(ws, t)
    _write_rebalance(ws, max(ws.max_row, t.header_row) + 3, data)
    frame_sheet(ws, freeze=f"A{t.first}", title_rows=f"1:{t.header_row}")


def _write_rebalance(ws: Any, row: int, data: ReportData) -> int:
    """The Rebalance section of the Orders sheet (:func:`engine.plan.rebalance.rebalance`; model values)."""
    import dataclasses

    import pandas as pd

    rb = data.rebalance
    title(ws, row, "Rebalance toward the plan (Month 1 'Current Position Adjustments')")
    bp = rb.buying_power
    note(
        ws,
        row + 1,
        f"Put targets: the book's ${rb.obligation:,.0f} of short-put obligation (strike x 100 x "
        f"contracts) shared by the strike weights; buying power ${bp.available:,.0f} ({bp.basis}).",
    )
    row = value_table(ws, row + 2, pd.DataFrame([dataclasses.asdict(x) for x in rb.strikes]))
    if rb.lots:
        row = value_table(ws, row, pd.DataFrame([dataclasses.asdict(x) for x in rb.lots]))
    note(
        ws,
        row,
        f"Call-hedge restructure: budget ${rb.hedge_budget:,.2f} = {rb.hedge_ratio:.0%} of the "
        f"${rb.put_premium:,.2f} premium received on the short puts; coverage (call notional $ per put "
        f"contract) {rb.coverage_before:,.2f} before, {rb.coverage_after:,.2f} after; net cash of the "
        f"restructure ${rb.restructure_net_cash:,.2f} (model mid).",
    )
    row = value_table(ws, row + 1, pd.DataFrame([dataclasses.asdict(x) for x in rb.rungs]))
    if rb.calls:
        row = value_table(ws, row, pd.DataFrame([dataclasses.asdict(x) for x in rb.calls]))
    if len(rb.tickets):
        note(ws, row, "Rebalance order tickets (status HELD = not to be placed; the reason says why).")
        row = value_table(ws, row + 1, rb.tickets)
    else:
        note(ws, row, "No rebalance orders: every strike and rung is on target or within the tolerance band.")
        row += 2
    for w in rb.warnings:
        note(ws, row, f"Warning: {w}")
        row += 1
    return row


def _held_colours(ws: Any, t: Table) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill

    first = f"{t.letter('status')}{t.first}"
    ws.conditional_formatting.add(
        t.span("status"),
        FormulaRule(formula=[f'EXACT({first},"HELD")'], fill=PatternFill("solid", bgColor="FFC7CE")),
    )


def write_audit(wb: Any, data: ReportData) -> None:
    """The plan's printed figures against the engine's, with the difference as a formula."""
    ws = wb.create_sheet(L.SHEET_AUDIT)
    audit = data.projection.audit
    t = Table(ws, L.AUDIT_COLUMNS, L.REPORT_HEADER_ROW).write_header()
    t.rows(
        audit.to_dict(orient="records"),
        {"difference": '=IF(AND(ISNUMBER({printed}),ISNUMBER({computed})),{computed}-{printed},"")'},
        model=("computed",),
    )
    st = styles()
    for r in range(t.first, t.first + t.n):
        for cell in ws[r]:
            text = isinstance(cell.value, str) and cell.data_type == "s"
            cell.alignment = st["wrap_left"] if text else st["top"]  # long text wraps, rows top-aligned
        fit_row_height(ws, r)
    t.autofilter()
    frame_sheet(ws)


def write_about(wb: Any, data: ReportData) -> None:
    """Provenance: version, time, inputs, how to regenerate."""
    import platform

    ws = wb.create_sheet(L.SHEET_ABOUT)
    Table(
        ws, (Column("About this report", "k", "", 28), Column("", "v", "", 90)), L.REPORT_HEADER_ROW
    ).write_header()
    m = data.meta
    rows = [
        ("Generated by", f"volarb {m['version']}"),
        ("Generated at (UTC)", m["timestamp"]),
        ("Valuation date", m["valuation_date"]),
        ("Data freshness", m.get("freshness", "not checked (no clock given)")),
        ("Simulation paths", m["paths"]),
        ("Simulation seed", m["seed"]),
        ("Config", m["sources"].get("config", "built-in example (the plan's parameters)")),
        (
            "Positions",
            m["sources"].get(
                "positions", "built-in example (the plan's 38 short puts and illustrative long calls)"
            ),
        ),
        *((label, m["sources"].get(key) or "none") for key, (label, _flag) in L.ABOUT_RISK_INPUTS.items()),
        (
            "Account figures",
            f"engine.plan.account: {data.account.account} account, FINRA 4210 / CBOE "
            "strategy-based margin of the Positions at PortfolioValue (docs/margin.md)",
        ),
        ("Python", platform.python_version()),
        (
            "Recalculation",
            "Formulas recalculate on open (fullCalcOnLoad). Model outputs are values: the red banner "
            "in row 1 says when an input changed since they were computed; run `volarb refresh`.",
        ),
        (
            "Protection",
            "Sheets are protected without a password so a typo cannot overwrite a formula; yellow "
            "input cells are unlocked (Review > Unprotect Sheet to change anything else).",
        ),
        (
            "Regenerate",
            "volarb build --positions <csv> --config <toml> --out <xlsx> (and the risk inputs above); "
            "volarb refresh <xlsx> takes the risk inputs again too",
        ),
    ]
    rows.extend(("Note", note) for note in m.get("clock_notes", ()))
    rows.extend((f"Expired: {a['key']}", a["action"]) for a in data.risk.expired or ())
    for i, (k, v) in enumerate(rows):
        put(ws, L.REPORT_FIRST_ROW + i, 1, k).font = st_bold()
        put(ws, L.REPORT_FIRST_ROW + i, 2, v)
        if k == "Data freshness":
            define_name(wb, "DataFreshness", L.SHEET_ABOUT, f"B{L.REPORT_FIRST_ROW + i}")
    frame_sheet(ws, landscape=False)


def st_bold() -> Any:
    return styles()["bold"]
