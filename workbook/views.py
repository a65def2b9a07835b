"""Trader views of the report: stress grid, P&L curves, exposure by expiry and strike, calendar, fan chart.

:func:`compute_views` runs the pure engine functions of :mod:`engine.risk.scenarios` on a
:class:`workbook.compute.ReportData` (its config and marked book) into a typed
:class:`TraderViews`; :func:`write_views` (the one hook the report writer calls, after its own
sheets, on build and on refresh) writes the sheets of :data:`VIEW_SHEETS`, one writer per sheet
in the report's shape ``write_<sheet>(wb, data, layout) -> None``:

* **Stress** - instant P&L of the book ($) over spot -75%..+200% x vol x0.5..x1.5 (model
  values), the net maintenance requirement at each node (the account model's, model values) and
  the excess liquidity at each node (formula: ``PortfolioValue`` (net liquidation) + node P&L -
  node requirement, red below zero).
* **Payoff** - P&L against the entry premium ($) on a price grid today and at each expiry
  date, breakevens, max loss, and a chart.
* **Expiries** - Greeks, obligation and margin per expiry and per strike; the expiry and
  assignment calendar.
* **Fan** - the simulated equity percentiles as a shaded p5-p95 band (p25-p75 darker), the
  median, and the invested capital (formula: ``PortfolioValue + MonthlyAddition x month``).

Row 1 of every view sheet is left empty for the report's stale-inputs banner; the cells written
from the model are listed in the sheet's ``_volarb_model_cells`` (what the report greys while
its inputs differ from the model's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.risk import scenarios as sc

__all__ = [
    "VIEW_SHEETS",
    "VIEW_WRITERS",
    "SHEET_STRESS",
    "SHEET_PAYOFF",
    "SHEET_EXPIRIES",
    "SHEET_FAN",
    "TraderViews",
    "compute_views",
    "write_views",
    "write_stress",
    "write_payoff",
    "write_expiries",
    "write_fan",
    "PAYOFF_STEPS",
    "PAYOFF_MAX_MULTIPLE",
]

SHEET_STRESS = "Stress"
SHEET_PAYOFF = "Payoff"
SHEET_EXPIRIES = "Expiries"
SHEET_FAN = "Fan"
#: The view sheets, in workbook order (after the report's own sheets).
VIEW_SHEETS = (SHEET_STRESS, SHEET_PAYOFF, SHEET_EXPIRIES, SHEET_FAN)
#: Price grid of the P&L curves: 0 .. PAYOFF_MAX_MULTIPLE x spot in PAYOFF_STEPS steps, plus every strike
#: and every short put's breakeven at expiry (strike - premium), so the expiry curve is exact between points.
PAYOFF_STEPS = 60
PAYOFF_MAX_MULTIPLE = 3.0
FIRST_ROW = 2  # row 1: the report's stale-inputs banner


@dataclasses.dataclass(frozen=True)
class TraderViews:
    """The figures of the view sheets (engine outputs; $ for the whole book unless said).

    Attributes
    ----------
    spot_shocks, vol_mults : ndarray
        Stress grid axes: spot move (fraction) and vol multiplier.
    stress_pnl : ndarray (shocks x mults)
        Instant P&L, $.
    stress_requirement : ndarray (shocks x mults)
        Net maintenance requirement at the node (net-liquidation basis), $.
    stress_excess_liquidity : ndarray (shocks x mults)
        Excess liquidity at the node: net liquidation + P&L - requirement, $.
    net_liquidation : float
        Net liquidation now (``account.starting_value``), $.
    prices : ndarray
        Price grid of the P&L curves, $ per share.
    curve_labels : tuple of str
        "Today" then "At <expiry date>" for each expiry.
    curve_times : ndarray
        Evaluation time of each curve, years from the valuation date.
    curves : ndarray (curves x prices)
        P&L against the entry premium, $.
    curve_breakevens : tuple of ndarray
        Breakeven prices of each curve, $ per share.
    curve_max_loss : tuple of (float, float, bool)
        (worst P&L $, at price $, open-ended) of each curve.
    by_expiry, by_strike, calendar : pandas.DataFrame
        :func:`engine.risk.scenarios.exposure_by` and :func:`~engine.risk.scenarios.assignment_calendar`.
    """

    spot_shocks: np.ndarray
    vol_mults: np.ndarray
    stress_pnl: np.ndarray
    stress_requirement: np.ndarray
    stress_excess_liquidity: np.ndarray
    net_liquidation: float
    prices: np.ndarray
    curve_labels: tuple[str, ...]
    curve_times: np.ndarray
    curves: np.ndarray
    curve_breakevens: tuple[np.ndarray, ...]
    curve_max_loss: tuple[tuple[float, float, bool], ...]
    by_expiry: Any
    by_strike: Any
    calendar: Any


def _book_arrays(marked: Any) -> dict[str, np.ndarray]:
    kind = marked["kind"].to_numpy(object)
    stock = kind == "stock"
    shares = marked["shares"].to_numpy(float) if "shares" in marked.columns else np.zeros(len(marked))
    return {
        "strike": marked["strike"].to_numpy(float),
        "t": np.where(marked["dte"].to_numpy(float) > 0, marked["t"].to_numpy(float), 0.0),
        "vol": np.nan_to_num(marked["vol_used"].to_numpy(float)),
        "w": np.select([kind == "call", kind == "put"], [1.0, -1.0], 0.0),  # 0: shares of stock
        "sign": marked["sign"].to_numpy(float),
        "qty": np.where(
            stock, shares, marked["contracts"].to_numpy(float) * marked["multiplier"].to_numpy(float)
        ),
        "premium": marked["premium"].to_numpy(float),
        "dte": marked["dte"].to_numpy(float),
    }


def _account_book(marked: Any, cfg: Any) -> sc.AccountBook:
    """The marked book as :func:`engine.risk.scenarios.excess_liquidity_adapter` passes it to the account model."""
    from engine.plan.account import long_dated

    kind = marked["kind"].to_numpy(object)
    stock = kind == "stock"
    side = marked["side"].to_numpy(object)
    expiry = [None if st else e for e, st in zip(marked["expiry"], stock, strict=True)]
    shares = marked["shares"].to_numpy(float) if "shares" in marked.columns else np.zeros(len(marked))
    return sc.AccountBook(
        kind=kind,
        side=side,
        strike=marked["strike"].to_numpy(float),
        qty=np.where(stock, shares, marked["contracts"].to_numpy(float)),
        dte=np.where(stock, 0, marked["dte"].to_numpy(np.int64)),
        long_dated=long_dated(expiry, cfg.valuation_date, cfg.margin.long_option_loan_months)
        & (side == "long"),
        underlying=marked["underlying"].to_numpy(object),
        multiplier=int(cfg.capital.contract_multiplier),
    )


def payoff_prices(spot: float, strikes: np.ndarray, breakevens: np.ndarray) -> np.ndarray:
    """The P&L-curve price grid: 0 .. 3 x spot, plus the strikes and the expiry breakevens."""
    grid = np.linspace(0.0, PAYOFF_MAX_MULTIPLE * spot, PAYOFF_STEPS + 1)
    extra = np.concatenate([strikes, breakevens])
    extra = extra[(extra > 0) & (extra < grid[-1])]
    return np.unique(np.round(np.concatenate([grid, extra]), 10))


_CACHE: dict[int, TraderViews | None] = {}


def _views(data: Any) -> TraderViews | None:
    """The views of ``data``, computed once per :func:`write_views` call."""
    key = id(data)
    if key not in _CACHE:
        _CACHE[key] = compute_views(data)
    return _CACHE[key]


def compute_views(data: Any) -> TraderViews | None:
    """The trader views of a report's data (None when the book could not be marked)."""
    from engine.units import DAYS_PER_YEAR

    marked = data.book.marked if data.book is not None else None
    if marked is None or len(marked) == 0:
        return None
    cfg = data.config
    m = cfg.market
    a = _book_arrays(marked)
    shocks = np.asarray(sc.DEFAULT_SPOT_SHOCKS)
    mults = np.asarray(sc.DEFAULT_VOL_MULTS)
    book = (a["strike"], a["t"], m.rate, a["vol"], a["w"], m.dividend_yield, a["sign"], a["qty"])
    pnl = sc.stress_pnl(m.spot, *book, shocks, mults)
    nlv = (
        float(data.account.net_liquidation) if data.account is not None else float(cfg.account.starting_value)
    )
    el = sc.stress_excess_liquidity(nlv, m.spot, *book, _account_book(marked, cfg), cfg.margin, shocks, mults)
    req = nlv + pnl - el
    options = a["w"] != 0
    live_expiries = sorted({float(d) for d, o in zip(a["dte"], options) if d >= 0 and o})
    be_expiry = a["strike"] - a["premium"]
    prices = payoff_prices(m.spot, a["strike"], be_expiry[(a["sign"] < 0) & (a["w"] < 0)])
    times = np.array([0.0] + [d / DAYS_PER_YEAR for d in live_expiries if d > 0])
    exp_dates = sorted({e for e, d, o in zip(marked["expiry"], a["dte"], options) if d > 0 and o})
    labels = ("Today",) + tuple(f"At {e.isoformat()}" for e in exp_dates)
    curves = np.vstack(
        [
            sc.pnl_curve(
                prices,
                a["strike"],
                a["t"],
                m.rate,
                a["vol"],
                a["w"],
                m.dividend_yield,
                a["sign"],
                a["qty"],
                a["premium"],
                at=at,
            )
            for at in times
        ]
    )
    bes = tuple(sc.breakevens(prices, c) for c in curves)
    losses = tuple(sc.max_loss(prices, c) for c in curves)
    return TraderViews(
        spot_shocks=shocks,
        vol_mults=mults,
        stress_pnl=pnl,
        stress_requirement=req,
        stress_excess_liquidity=el,
        net_liquidation=nlv,
        prices=prices,
        curve_labels=labels,
        curve_times=times,
        curves=curves,
        curve_breakevens=bes,
        curve_max_loss=losses,
        by_expiry=sc.exposure_by(marked, "expiry"),
        by_strike=sc.exposure_by(marked, "strike"),
        calendar=sc.assignment_calendar(marked, m.spot, cfg.valuation_date),
    )


# --- writing -----------------------------------------------------------------------------------


def _put(ws: Any, row: int, column: int, value: Any, fmt: str | None = None, model: bool = False) -> Any:
    """The report's cell writer (``model=True``: a model value, greyed while the inputs are stale)."""
    from workbook.report.cells import put

    return put(ws, row, column, value, fmt, model=model)


def _style(cell: Any, kind: str) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    if kind == "header":
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E78")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    elif kind == "title":
        cell.font = Font(bold=True, size=13, color="1F4E78")
    elif kind == "note":
        cell.font = Font(italic=True, color="666666")
    elif kind == "bold":
        cell.font = Font(bold=True)


#: Bold 11 pt header text as LibreOffice prints it, in column-width units (one unit is one digit
#: of the default font): narrow letters and punctuation 0.6, capitals and m/w 1.25, the rest 1;
#: one unit of cell padding; one wrapped line needs 15 pt of row height.  ("Held because" fits a
#: 13-wide column, "Capital/contract" a 15-wide one.)
NARROW, WIDE = frozenset("ilIjtfr./,:;'!|()[] -"), frozenset("ABCDEFGHJKLMNOPQRSTUVWXYZmw%")
CELL_PADDING, LINE_HEIGHT = 1.0, 15.0


def text_width(text: str) -> float:
    """Printed width of ``text`` in column-width units (see :data:`NARROW`, :data:`WIDE`).

    >>> text_width("Held because"), text_width("Vol x1.00")
    (11.45, 8.05)
    """
    return round(sum(0.6 if ch in NARROW else 1.25 if ch in WIDE else 1.0 for ch in text), 6)


def wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` takes when wrapped at word boundaries in a column ``width`` units wide.

    >>> wrapped_lines("Spot $ (model spot x move)", 16), wrapped_lines("Vol x1.00", 13)
    (2, 1)
    """
    room = width - CELL_PADDING
    lines, line = 1, ""
    for word in text.split():
        trial = word if not line else f"{line} {word}"
        if text_width(trial) <= room or not line:
            line = trial
        else:
            lines, line = lines + 1, word
    return lines


def _headers(ws: Any, row: int, heads: list[str], start: int = 1) -> None:
    """A header row; its height fits the wrapped headers (no application grows it on its own
    when printing, so a two-line header would run into the first row of the table)."""
    from openpyxl.utils import get_column_letter

    lines = 1
    for j, h in enumerate(heads):
        _style(_put(ws, row, start + j, h), "header")
        width = ws.column_dimensions[get_column_letter(start + j)].width or 8.43
        lines = max(lines, wrapped_lines(h, width))
    if lines > 1:
        ws.row_dimensions[row].height = LINE_HEIGHT * lines


def _widths(ws: Any, widths: Mapping[int, float]) -> None:
    from openpyxl.utils import get_column_letter

    for c, w in widths.items():
        ws.column_dimensions[get_column_letter(c)].width = w


def _frame(ws: Any, landscape: bool = True) -> None:
    """Print setup as the report's sheets: landscape, one page wide (two past 200 character
    widths of columns), as many pages tall as needed, page numbers in the footer."""
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = None
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    width = sum(
        (ws.column_dimensions[get_column_letter(c)].width or 8.43) for c in range(1, ws.max_column + 1)
    )
    ws.page_setup.fitToWidth = 1 if width <= 200 else 2
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "&A - page &P of &N"


def _no_data(ws: Any, data: Any) -> None:
    why = "the book has no positions to mark"
    _style(_put(ws, FIRST_ROW + 1, 1, f"Not computed: {why}."), "note")


def _grid(
    ws: Any,
    row: int,
    title: str,
    views: TraderViews,
    values: np.ndarray | None,
    fmt: str,
    formula: Any = None,
) -> tuple[int, int]:
    """One spot x vol table at ``row``: title, header, a row per spot move.  Returns (first, last) body rows."""
    from workbook.layout import FMT_PCT, FMT_PRICE
    from workbook.report.cells import Formula

    _style(_put(ws, row, 1, title), "title")
    heads = ["Spot move %", "Spot $ (model spot x move)"] + [f"Vol x{v:.2f}" for v in views.vol_mults]
    _headers(ws, row + 1, heads)
    first = row + 2
    for i, s in enumerate(views.spot_shocks):
        r = first + i
        _put(ws, r, 1, float(s), FMT_PCT)
        _put(ws, r, 2, Formula(f"=Spot*(1+A{r})"), FMT_PRICE)
        for j in range(len(views.vol_mults)):
            if formula is not None:
                _put(ws, r, 3 + j, Formula(formula(r, 3 + j)), fmt)
            elif values is not None:
                _put(ws, r, 3 + j, float(values[i, j]), fmt, model=True)
    return first, first + len(views.spot_shocks) - 1


def write_stress(wb: Any, data: Any, layout: Any) -> None:
    """The Stress sheet: instant P&L, requirement and excess liquidity over spot x vol."""
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(SHEET_STRESS)
    views = _views(data)
    ncols = 2 + len(sc.DEFAULT_VOL_MULTS)
    _widths(ws, {1: 12, 2: 16, **{c: 13 for c in range(3, ncols + 1)}})
    if views is None:
        _no_data(ws, data)
        _frame(ws)
        return
    fmt = layout.FMT_MONEY0
    last_col = get_column_letter(ncols)
    cfg = data.config
    r = FIRST_ROW
    p1, p2 = _grid(
        ws,
        r,
        "Instant P&L of the book, $ (full revaluation: spot moved, every position's vol x the "
        "multiplier, nothing else changed)",
        views,
        views.stress_pnl,
        fmt,
    )
    ws.conditional_formatting.add(
        f"C{p1}:{last_col}{p2}",
        ColorScaleRule(
            start_type="min",
            start_color="F8696B",
            mid_type="num",
            mid_value=0,
            mid_color="FFFFFF",
            end_type="max",
            end_color="63BE7B",
        ),
    )
    r = p2 + 2
    q1, q2 = _grid(
        ws,
        r,
        f"Net maintenance requirement at the node, $ (account model, {cfg.margin.account} account: "
        "strategy-based FINRA 4210 rules, net of the positions' value)",
        views,
        views.stress_requirement,
        fmt,
    )
    r = q2 + 2
    e0 = r + 2  # first body row of the excess-liquidity table (title, header, body)
    e1, e2 = _grid(
        ws,
        r,
        "Excess liquidity at the node, $ = net liquidation (PortfolioValue) + node P&L - node "
        "requirement; red below 0 (a margin call)",
        views,
        None,
        fmt,
        formula=lambda rr, cc: (
            f"=PortfolioValue+{get_column_letter(cc)}{p1 + rr - e0}-{get_column_letter(cc)}{q1 + rr - e0}"
        ),
    )
    red = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
    ws.conditional_formatting.add(
        f"C{e1}:{last_col}{e2}",
        CellIsRule(operator="lessThan", formula=["0"], fill=red, font=Font(color="9C0006")),
    )
    _style(
        _put(
            ws,
            e2 + 2,
            1,
            f"Model: spot ${cfg.market.spot:g}, each position's own vol (market vol "
            f"{cfg.market.vol:.0%}), American prices; net liquidation now "
            f"${views.net_liquidation:,.2f} (Inputs PortfolioValue). The centre node (0%, x1.00) "
            "is the book as marked: P&L 0.",
        ),
        "note",
    )
    _frame(ws)


def _join_prices(xs: np.ndarray) -> str:
    return ", ".join(f"${x:,.2f}" for x in xs) if len(xs) else "none on the grid"


def write_payoff(wb: Any, data: Any, layout: Any) -> None:
    """The Payoff sheet: P&L against the entry premium today and at each expiry, breakevens, max loss."""
    from openpyxl.chart import Reference, ScatterChart, Series

    ws = wb.create_sheet(SHEET_PAYOFF)
    views = _views(data)
    if views is None:
        _no_data(ws, data)
        _frame(ws)
        return
    n = len(views.curve_labels)
    _widths(ws, {1: 30, 2: 16, 3: 18, **{c: 16 for c in range(4, n + 3)}})
    r = FIRST_ROW
    _style(_put(ws, r, 1, "Breakevens and max loss of the book (P&L against the entry premium, $)"), "title")
    _headers(ws, r + 1, ["Curve", "Max loss $", "Max loss at price $", "Breakeven prices $"])
    for i, label in enumerate(views.curve_labels):
        rr = r + 2 + i
        loss, at, unbounded = views.curve_max_loss[i]
        _put(ws, rr, 1, label + (" (every option expired)" if i == n - 1 and n > 1 else ""))
        _put(ws, rr, 2, loss, layout.FMT_MONEY, model=True)
        _put(
            ws,
            rr,
            3,
            f"open-ended above ${at:.2f}" if unbounded else at,
            layout.FMT_PRICE,
            model=not unbounded,
        )
        _put(ws, rr, 4, _join_prices(views.curve_breakevens[i]), model=True)
    r = r + 2 + n + 1
    _style(
        _put(
            ws,
            r,
            1,
            "P&L against the entry premium by underlying price, $ (vols as marked; an option expired "
            "by the date counts at intrinsic value)",
        ),
        "title",
    )
    heads = ["Underlying $"] + [f"{lab} $" for lab in views.curve_labels]
    _headers(ws, r + 1, heads)
    first = r + 2
    for i, s in enumerate(views.prices):
        rr = first + i
        _put(ws, rr, 1, float(s), layout.FMT_PRICE)
        for j in range(n):
            _put(ws, rr, 2 + j, float(views.curves[j, i]), layout.FMT_MONEY, model=True)
    last = first + len(views.prices) - 1
    chart = ScatterChart()
    chart.title = "Book P&L today and at each expiry"
    chart.style = 13
    chart.x_axis.title = "Underlying price $"
    chart.y_axis.title = "P&L $"
    chart.x_axis.tickLblPos = "low"
    chart.x_axis.number_format = '"$"0.00'
    chart.y_axis.number_format = '"$"#,##0'
    chart.x_axis.scaling.min = 0.0
    chart.x_axis.scaling.max = float(views.prices[-1])
    xs = Reference(ws, min_col=1, min_row=first, max_row=last)
    for j in range(n):
        series = Series(
            Reference(ws, min_col=2 + j, min_row=first - 1, max_row=last), xs, title_from_data=True
        )
        series.marker.symbol = "none"
        series.smooth = False
        chart.series.append(series)
    chart.height, chart.width = 10, 20
    ws.add_chart(chart, f"{_col(n + 3)}{first}")
    _style(
        _put(
            ws,
            last + 2,
            1,
            "The price grid holds every strike and every short put's strike - premium, so "
            "the curve after the last expiry is exact between grid points; breakevens between "
            "grid points are interpolated linearly.",
        ),
        "note",
    )
    _frame(ws)


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


_EXPOSURE_HEADS = (
    ("positions", "Positions", "INT"),
    ("contracts", "Contracts", "INT"),
    ("premium_total", "Premium received $", "MONEY"),
    ("value", "Model value $", "MONEY"),
    ("unrealized_pnl", "Unrealized P&L $", "MONEY"),
    ("delta_shares", "Delta (shares)", "NUM"),
    ("delta_dollars", "Dollar delta $", "MONEY"),
    ("gamma", "Gamma (shares per $)", "NUM"),
    ("theta_day", "Theta $ per day", "MONEY"),
    ("vega_point", "Vega $ per vol point", "MONEY"),
    ("obligation", "Put obligation $", "MONEY0"),
    ("margin", "Margin $ (capital model)", "MONEY0"),
    ("expected_assigned_shares", "Expected assigned shares", "INT"),
    ("share_of_obligation", "Share of obligation %", "PCT"),
)
_CALENDAR_HEADS = (
    ("expiry", "Expiry", "DATE"),
    ("weekday", "Day", "TEXT"),
    ("days", "Days left", "INT"),
    ("short_puts", "Short puts", "INT"),
    ("short_calls", "Short calls", "INT"),
    ("long_options", "Long options", "INT"),
    ("itm_short_puts", "ITM short puts now", "INT"),
    ("shares_if_assigned_now", "Shares if ITM assigned now", "INT"),
    ("cash_if_itm_assigned", "Cash if ITM assigned $", "MONEY0"),
    ("cash_if_all_assigned", "Cash if all puts assigned $", "MONEY0"),
    ("expected_assigned_shares", "Expected assigned shares", "INT"),
    ("premium_at_risk", "Premium of these shorts $", "MONEY0"),
)


def _fmt(layout: Any, code: str) -> str:
    return {"DATE": layout.FMT_DATE, "TEXT": layout.FMT_TEXT}.get(code) or getattr(layout, f"FMT_{code}")


def _frame_table(
    ws: Any, row: int, df: Any, key: tuple[str, str, str] | None, heads: tuple, layout: Any, total: bool
) -> int:
    from workbook.report.cells import Formula

    cols = ([key] if key else []) + list(heads)
    _headers(ws, row, [h for _, h, _ in cols])
    first = row + 1
    for i, rec in enumerate(df.to_dict(orient="records")):
        for j, (k, _, f) in enumerate(cols):
            v = rec.get(k)
            model = j > 0 and not isinstance(v, str)
            _put(ws, first + i, 1 + j, v, _fmt(layout, f), model=model)
    last = first + len(df) - 1
    if total and len(df):
        tot = last + 1
        _style(_put(ws, tot, 1, "Total"), "bold")
        for j, (k, _, f) in enumerate(cols):
            if j == 0 or f in ("DATE", "TEXT", "PCT") or k == "days":
                continue
            c = _col(1 + j)
            _style(_put(ws, tot, 1 + j, Formula(f"=SUM({c}{first}:{c}{last})"), _fmt(layout, f)), "bold")
        last = tot
    return last + 2


def write_expiries(wb: Any, data: Any, layout: Any) -> None:
    """The Expiries sheet: Greeks, obligation and margin per expiry and per strike; the calendar."""
    ws = wb.create_sheet(SHEET_EXPIRIES)
    views = _views(data)
    widths = {1: 14, **{c: 14 for c in range(2, 17)}}
    _widths(ws, widths)
    if views is None:
        _no_data(ws, data)
        _frame(ws)
        return
    r = FIRST_ROW
    _style(
        _put(ws, r, 1, "Expiry and assignment calendar (in the money = against today's model spot)"), "title"
    )
    r = _frame_table(ws, r + 1, views.calendar, None, _CALENDAR_HEADS, layout, total=True)
    _style(_put(ws, r, 1, "Greeks, obligation and margin per expiry (signed, whole positions)"), "title")
    r = _frame_table(
        ws, r + 1, views.by_expiry, ("expiry", "Expiry", "DATE"), _EXPOSURE_HEADS, layout, total=True
    )
    _style(_put(ws, r, 1, "Greeks, obligation and margin per strike"), "title")
    r = _frame_table(
        ws, r + 1, views.by_strike, ("strike", "Strike $", "PRICE"), _EXPOSURE_HEADS, layout, total=True
    )
    _style(
        _put(
            ws,
            r,
            1,
            "Model values from the marked book (Positions); totals are formulas over the rows above. "
            "Expected assigned shares = probability ITM x shares of the short options.",
        ),
        "note",
    )
    _frame(ws)


def write_fan(wb: Any, data: Any, layout: Any) -> None:
    """The Fan sheet: simulated equity percentiles as a shaded band, the median and the invested capital."""
    import pandas as pd
    from openpyxl.chart import AreaChart, LineChart, Reference
    from openpyxl.chart.shapes import GraphicalProperties

    from workbook.report.cells import Formula

    ws = wb.create_sheet(SHEET_FAN)
    _widths(ws, {c: 14 for c in range(1, 11)})
    pct = getattr(data.simulation, "percentiles", None)
    if pct is None or len(pct) < 2:
        why = "the simulation has fewer than two months"
        _style(_put(ws, FIRST_ROW + 1, 1, f"Not computed: {why}."), "note")
        _frame(ws)
        return
    pdf = pd.DataFrame(pct)
    r = FIRST_ROW
    _style(
        _put(
            ws,
            r,
            1,
            f"Simulated equity by month, $ ({data.meta['paths']:,} paths, seed {data.meta['seed']}): "
            "percentiles, and the invested capital (start + monthly additions)",
        ),
        "title",
    )
    heads = [
        "Month",
        "p5 $",
        "p25 $",
        "Median $",
        "p75 $",
        "p95 $",
        "Invested $",
        "Band p5-p25 $",
        "Band p25-p75 $",
        "Band p75-p95 $",
    ]
    _headers(ws, r + 1, heads)
    first = r + 2
    for i, rec in enumerate(pdf.to_dict(orient="records")):
        rr = first + i
        _put(ws, rr, 1, int(rec["month"]), layout.FMT_INT)
        for j, k in enumerate(("p5", "p25", "p50", "p75", "p95")):
            _put(ws, rr, 2 + j, float(rec[k]), layout.FMT_MONEY0, model=True)
        _put(ws, rr, 7, Formula(f"=PortfolioValue+MonthlyAddition*A{rr}"), layout.FMT_MONEY0)
        _put(ws, rr, 8, Formula(f"=C{rr}-B{rr}"), layout.FMT_MONEY0)
        _put(ws, rr, 9, Formula(f"=E{rr}-C{rr}"), layout.FMT_MONEY0)
        _put(ws, rr, 10, Formula(f"=F{rr}-E{rr}"), layout.FMT_MONEY0)
    last = first + len(pdf) - 1
    cats = Reference(ws, min_col=1, min_row=first, max_row=last)
    area = AreaChart()
    area.grouping = "stacked"
    area.title = "Equity fan chart: p5-p95 band (p25-p75 darker), median and invested capital"
    area.y_axis.title = "Equity $"
    area.y_axis.number_format = '"$"#,##0'
    area.x_axis.title = "Month"
    for c, colour in ((2, None), (8, "BDD7EE"), (9, "6FA8DC"), (10, "BDD7EE")):
        area.add_data(Reference(ws, min_col=c, min_row=first - 1, max_row=last), titles_from_data=True)
        s = area.series[-1]
        s.graphicalProperties = GraphicalProperties()
        if colour is None:
            s.graphicalProperties.noFill = True  # the invisible base the band stacks on
        else:
            s.graphicalProperties.solidFill = colour
        s.graphicalProperties.line.noFill = True
    area.set_categories(cats)
    line = LineChart()
    for c, colour in ((4, "1F4E78"), (7, "C00000")):
        line.add_data(Reference(ws, min_col=c, min_row=first - 1, max_row=last), titles_from_data=True)
        s = line.series[-1]
        s.graphicalProperties.line.solidFill = colour
        s.graphicalProperties.line.width = 28575
        s.marker.symbol = "none"
        s.smooth = False
    line.set_categories(cats)
    area += line
    area.height, area.width = 10, 20
    ws.add_chart(area, f"A{last + 3}")
    _style(
        _put(
            ws,
            last + 2,
            1,
            "Percentiles are model values (Simulation sheet); Invested and the band widths are "
            "formulas (Invested = PortfolioValue + MonthlyAddition x month).",
        ),
        "note",
    )
    _frame(ws)


#: One writer per view sheet, same order as :data:`VIEW_SHEETS`.
VIEW_WRITERS = (write_stress, write_payoff, write_expiries, write_fan)
_WRITERS = dict(zip(VIEW_SHEETS, VIEW_WRITERS))


def write_views(wb: Any, data: Any, layout: Any) -> None:
    """Write (or rewrite) every sheet of :data:`VIEW_SHEETS` at the end of ``wb``.

    The report writer's one hook (build and refresh).  An existing view sheet is replaced;
    ``layout`` is :mod:`workbook.layout` (number formats).
    """
    try:
        for name in VIEW_SHEETS:
            if name in wb.sheetnames:
                del wb[name]
            _WRITERS[name](wb, data, layout)
    finally:
        _CACHE.pop(id(data), None)
