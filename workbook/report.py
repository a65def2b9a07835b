"""Write the report workbook (openpyxl): live plan formulas over named inputs, model values.

:func:`write_report` fills a workbook from a :class:`workbook.compute.ReportData`:

* **Inputs** - every scalar plan config key (named cells for the plan's parameters, see
  :data:`workbook.layout.INPUT_NAMES`) and the ladder, hedge and reinvestment tables.
* **Positions** - the user's positions, then model marks and Greeks (values) and the
  arithmetic on them (value, premium, P&L, dollar delta, obligation: formulas).
* **Ladder, Plan, Hedges, Risk, Assignment** - plan arithmetic as native Excel formulas over
  defined names (splits, budgets, contract counts, hedge-ratio rule, Kelly, cost basis, totals,
  P&L at expiry) beside model outputs written as values.
* **Simulation, Orders, Audit, About** - values.

Only classic functions are used (``IF, MIN, MAX, INT, SUM, SUMIFS, SUMPRODUCT, ABS, AND``), so no
``_xlfn.`` prefix is needed (:func:`xlfn` adds it should a newer function be used), and the
workbook asks for a full recalculation on open.  Text from inputs is always written as text
(``data_type = "s"``, with Excel's quote prefix when it starts with ``= + - @``), never as a
formula.  The same inputs and seed give the same cell contents; the only time stamp is on About.

:func:`refresh_workbook` rewrites only the computed sheets of an existing report (and the
computed columns of Positions), keeping the user's Inputs and Positions edits and any extra
sheets.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from workbook import layout as L
from workbook.compute import ReportData

__all__ = ["Formula", "write_report", "refresh_workbook", "new_workbook", "xlfn", "NEWER_FUNCTIONS"]


class Formula(str):
    """An Excel formula (text starting with ``=``); any other ``str`` is written as text."""


#: Functions newer than Excel 2007 that must carry the ``_xlfn.`` prefix in the file.
NEWER_FUNCTIONS = ("IFS", "MAXIFS", "MINIFS", "XLOOKUP", "CONCAT", "TEXTJOIN", "SWITCH", "IFNA",
                   "NORM.S.DIST", "NORM.DIST", "NORM.S.INV", "FLOOR.MATH", "CEILING.MATH", "STDEV.S",
                   "PERCENTILE.INC", "LET", "FILTER", "SORT", "UNIQUE", "SEQUENCE")


def xlfn(formula: str) -> Formula:
    """Add the ``_xlfn.`` prefix to newer Excel functions in a formula (file format needs it).

    >>> xlfn("=IFNA(A1,0)+SUM(B1:B2)")
    '=_xlfn.IFNA(A1,0)+SUM(B1:B2)'
    """
    out = formula
    for fn in sorted(NEWER_FUNCTIONS, key=len, reverse=True):
        out = re.sub(rf"(?<![\w.]){re.escape(fn)}\(", f"_xlfn.{fn}(", out)
    return Formula(out)


# --- cell helpers ------------------------------------------------------------------------------

_BOLD = None


def _styles() -> dict[str, Any]:
    global _BOLD
    if _BOLD is None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        _BOLD = {
            "header_font": Font(bold=True, color="FFFFFF"),
            "header_fill": PatternFill("solid", fgColor="1F4E78"),
            "title_font": Font(bold=True, size=13, color="1F4E78"),
            "bold": Font(bold=True),
            "note_font": Font(italic=True, color="666666"),
            "input_fill": PatternFill("solid", fgColor="FFF2CC"),
            "total_border": Border(top=Side(style="thin")),
            "wrap": Alignment(wrap_text=True, vertical="top"),
            "indent": Alignment(indent=1),
            "wrap_left": Alignment(wrap_text=True, vertical="top", horizontal="left", indent=1),
            "top": Alignment(vertical="top"),
        }
    return _BOLD


def _clean(value: Any) -> Any:
    """numpy scalars to Python, NaN/None to None, datetimes kept."""
    if value is None:
        return None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, np.datetime64):
        import pandas as pd

        ts = pd.Timestamp(value)
        return None if pd.isna(ts) else ts.to_pydatetime()
    try:
        import pandas as pd

        if value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (list, tuple)):
        return ", ".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
    return value


def put(ws: Any, row: int, col: int, value: Any, fmt: str | None = None) -> Any:
    """Write one cell: a :class:`Formula` as a formula, any other text as inert text."""
    cell = ws.cell(row=row, column=col)
    value = _clean(value)
    if isinstance(value, Formula):
        cell.value = str(value)
        cell.data_type = "f"
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"
        if value.startswith(L.FORMULA_TRIGGERS):
            cell.quotePrefix = True
    else:
        cell.value = value
        if isinstance(value, (_dt.date, _dt.datetime)) and (not fmt or fmt == L.FMT_GENERAL):
            fmt = L.FMT_DATE
    if fmt and fmt != L.FMT_GENERAL:
        cell.number_format = fmt
    return cell


def col(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _name(wb: Any, name: str, sheet: str, ref: str) -> None:
    """Define a workbook-scope name for ``sheet!ref`` (absolute), replacing any old one."""
    from openpyxl.workbook.defined_name import DefinedName

    parts = re.match(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$", ref)
    if parts is None:
        raise ValueError(ref)
    a, b, c, d = parts.groups()
    absref = f"${a}${b}" + (f":${c}${d}" if c else "")
    if name in wb.defined_names:
        del wb.defined_names[name]
    wb.defined_names[name] = DefinedName(name, attr_text=f"'{sheet}'!{absref}")


def _header(ws: Any, row: int, columns: Sequence[tuple], start_col: int = 1, widths: bool = True) -> None:
    st = _styles()
    for j, spec in enumerate(columns):
        cell = put(ws, row, start_col + j, spec[0])
        cell.font = st["header_font"]
        cell.fill = st["header_fill"]
        cell.alignment = st["wrap"]
        if widths and len(spec) > 3:
            letter = col(start_col + j)
            ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, spec[3])


def _title(ws: Any, row: int, text: str, col_: int = 1) -> None:
    put(ws, row, col_, text).font = _styles()["title_font"]


def _note(ws: Any, row: int, text: str, col_: int = 1) -> None:
    put(ws, row, col_, text).font = _styles()["note_font"]


def _frame_sheet(ws: Any, freeze: str | None = "A2", landscape: bool = True, title_rows: str | None = "1:1",
                 pages_tall: int = 0) -> None:
    """Freeze panes and print setup: landscape, one page wide (two for very wide sheets), ``pages_tall`` pages tall (0 = as
    many as needed), ``title_rows`` repeated on every printed page (None where row 1 is not the
    header of one long table), page numbers in the footer."""
    ws.freeze_panes = freeze
    ws.print_options.gridLines = False
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    # one page wide unless the sheet is so wide that one page would print ~5 pt text: landscape
    # Letter/A4 holds about 150 character widths at a readable scale
    from openpyxl.utils import get_column_letter

    width = sum((ws.column_dimensions[get_column_letter(c)].width or 8.43) for c in range(1, ws.max_column + 1))
    ws.page_setup.fitToWidth = 1 if width <= 200 else 2
    ws.page_setup.fitToHeight = pages_tall
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "&A - page &P of &N"


def _status_colours(ws: Any, ref: str) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill

    first = ref.split(":")[0]
    for word, colour in L.STATUS_COLOURS.items():
        ws.conditional_formatting.add(
            ref, FormulaRule(formula=[f'EXACT({first},"{word}")'], fill=PatternFill("solid", fgColor=colour,
                                                                                     bgColor=colour)))


def _missing_note(ws: Any, row: int, data: ReportData, step: str) -> bool:
    if step in data.missing:
        _note(ws, row, f"Not computed: {data.missing[step]}.")
        return True
    return False


def _human_header(name: Any, fmt: str) -> str:
    """A readable column header for an engine column name: words, and ``$`` on money columns.

    >>> _human_header("starting_capital", L.FMT_MONEY)
    'Starting capital $'
    >>> _human_header("dte", L.FMT_INT)
    'DTE'
    """
    text = str(name)
    special = {"dte": "DTE", "p5": "p5", "p25": "p25", "p50": "p50", "p75": "p75", "p95": "p95"}
    if text in special:
        return special[text]
    words = text.replace("_", " ")
    words = words[:1].upper() + words[1:]
    return f"{words} $" if fmt in (L.FMT_MONEY, L.FMT_MONEY0) and "$" not in words else words


def _value_table(ws: Any, row: int, df: Any, columns: Sequence[tuple] | None = None, start_col: int = 1,
                 autofilter: bool = False) -> int:
    """Write a DataFrame (values) with a header at ``row``; returns the next free row.

    Without ``columns`` every column of ``df`` is written, headed by :func:`_human_header`.
    """
    if columns is None:
        columns = []
        for c in df.columns:
            fmt = _guess_fmt(df[c])
            head = _human_header(c, fmt)
            columns.append((head, c, fmt, _fit_width(head, df[c])))
    _header(ws, row, columns, start_col)
    for i, rec in enumerate(df.to_dict(orient="records")):
        for j, spec in enumerate(columns):
            put(ws, row + 1 + i, start_col + j, rec.get(spec[1]), spec[2])
    last = row + len(df)
    if autofilter and len(df):
        ws.auto_filter.ref = f"{col(start_col)}{row}:{col(start_col + len(columns) - 1)}{last}"
    return last + 2


def _fit_width(name: Any, series: Any) -> int:
    """Column width for a value table: the header or the longest text (numbers 12), 8 to 40."""
    longest = len(str(name)) + 2
    if series.dtype.kind == "O":
        longest = max(longest, *(len(str(v)) + 1 for v in series if v is not None)) if len(series) else longest
    else:
        longest = max(longest, 12)
    return max(8, min(40, longest))


def _fit_row_height(ws: Any, row: int, line_height: float = 14.0) -> None:
    """Set the height of a row whose wrapped text cells need more than one line.

    openpyxl stores no row heights and not every application grows rows for wrapped text on
    open; the number of lines is estimated from the text length and the column width
    (about one character per width unit).
    """
    lines = 1
    for cell in ws[row]:
        if isinstance(cell.value, str) and cell.alignment is not None and cell.alignment.wrap_text:
            width = ws.column_dimensions[cell.column_letter].width or 10
            per_line = max(1, int(width * 1.1))
            need = sum(max(1, math.ceil(len(part) / per_line)) for part in cell.value.split("\n"))
            lines = max(lines, need)
    if lines > 1:
        ws.row_dimensions[row].height = line_height * lines


def _guess_fmt(series: Any) -> str:
    name = str(series.name).lower()
    if series.dtype.kind in "iu":
        return L.FMT_INT
    if series.dtype.kind != "f":
        return L.FMT_GENERAL
    if any(w in name for w in ("prob", "share", "weight", "ratio", "pct", "return", "drawdown", "vol", "percent")):
        return L.FMT_PCT
    if any(w in name for w in ("value", "premium", "capital", "budget", "cost", "pnl", "p&l", "contribution",
                               "income", "hedge", "reinvest", "amount", "obligation", "margin", "equity")):
        return L.FMT_MONEY
    return L.FMT_NUM


# --- sheets ------------------------------------------------------------------------------------

def _flat_config(cfg: Any) -> list[tuple[str, Any, str]]:
    """(key, value, doc) for every scalar config key, in config order."""
    import dataclasses

    from engine.config import config_to_dict

    data = config_to_dict(cfg)
    docs = {}
    for f in dataclasses.fields(cfg):
        sec = getattr(cfg, f.name)
        if dataclasses.is_dataclass(sec):
            for g in dataclasses.fields(sec):
                docs[f"{f.name}.{g.name}"] = g.metadata.get("doc", "")
    out = []
    for sec, body in data.items():
        if not isinstance(body, dict):
            continue
        for key, value in body.items():
            full = f"{sec}.{key}"
            if full in L.INPUT_TABLE_KEYS or isinstance(value, list) and value and isinstance(value[0], dict):
                continue
            out.append((full, value, docs.get(full, "")))
    return out


def write_inputs(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_INPUTS)
    st = _styles()
    _header(ws, L.HEADER_ROW, L.INPUT_COLUMNS)
    cfg = data.config
    row = L.FIRST_ROW
    named = [k for k in L.INPUT_NAMES]
    flat = dict((k, (v, d)) for k, v, d in _flat_config(cfg))
    ordered = [k for k in named if k in flat] + [k for k in flat if k not in L.INPUT_NAMES]
    for key in ordered:
        value, doc = flat[key]
        sec, short = key.split(".", 1)
        name, label, unit, fmt = L.INPUT_NAMES.get(
            key, ("", f"{sec.capitalize()}: {short.replace('_', ' ')}", "", L.FMT_GENERAL))
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        put(ws, row, 1, label)
        cell = put(ws, row, 2, value, fmt)
        cell.fill = st["input_fill"]
        put(ws, row, 3, unit).alignment = _styles()["indent"]
        put(ws, row, 4, key)
        put(ws, row, 5, name)
        put(ws, row, 6, doc)
        if name:
            _name(wb, name, L.SHEET_INPUTS, f"B{row}")
        row += 1
    row += 1
    # tables
    _title(ws, row, L.LADDER_TABLE_TITLE)
    _header(ws, row + 1, [(h, k, f) for h, k, f in L.LADDER_TABLE_COLUMNS], widths=False)
    first = row + 2
    for i, (k, w) in enumerate(zip(cfg.strikes.strikes, cfg.strikes.weights)):
        put(ws, first + i, 1, k, L.FMT_PRICE).fill = st["input_fill"]
        put(ws, first + i, 2, w, L.FMT_PCT).fill = st["input_fill"]
    last = first + len(cfg.strikes.strikes) - 1
    _name(wb, L.NAME_LADDER_STRIKES, L.SHEET_INPUTS, f"A{first}:A{last}")
    _name(wb, L.NAME_LADDER_WEIGHTS, L.SHEET_INPUTS, f"B{first}:B{last}")
    data.results.setdefault("_cells", {})["ladder_rows"] = list(range(first, last + 1))
    row = last + 2
    _title(ws, row, L.HEDGE_TABLE_TITLE)
    _header(ws, row + 1, [(h, k, f) for h, k, f in L.HEDGE_TABLE_COLUMNS], widths=False)
    first = row + 2
    for i, rung in enumerate(cfg.hedge.ladder):
        for j, (v, f) in enumerate(((rung.moneyness, L.FMT_NUM), (rung.share, L.FMT_PCT), (rung.dte, L.FMT_INT))):
            put(ws, first + i, j + 1, v, f).fill = st["input_fill"]
    data.results["_cells"]["hedge_rows"] = list(range(first, first + len(cfg.hedge.ladder)))
    row = first + len(cfg.hedge.ladder) + 1
    _title(ws, row, L.REINVEST_TABLE_TITLE)
    _header(ws, row + 1, [(h, k, f) for h, k, f in L.REINVEST_TABLE_COLUMNS], widths=False)
    first = row + 2
    for i, g in enumerate(cfg.reinvestment):
        vals = (g.action, ", ".join(f"{s:g}" for s in g.strikes), g.share, g.reasoning)
        for j, (v, spec) in enumerate(zip(vals, L.REINVEST_TABLE_COLUMNS)):
            put(ws, first + i, j + 1, v, spec[2]).fill = st["input_fill"]
    _note(ws, first + len(cfg.reinvestment) + 1,
          "Yellow cells are inputs: edit them here and run `volarb refresh <this file>` to recompute the model "
          "values (or edit the TOML config and run `volarb build --config`). Named cells (column E) drive the "
          "formulas on the other sheets, which recalculate at once.")
    _frame_sheet(ws)
    ws.auto_filter.ref = None


def _positions_rows(data: ReportData) -> tuple[int, int]:
    n = len(data.positions)
    return L.FIRST_ROW, L.FIRST_ROW + max(n, 1) - 1


def _pcol(key: str) -> str:
    keys = [c[1] for c in L.POSITION_COLUMNS_ALL]
    return col(keys.index(key) + 1)


def _prange(key: str, data: ReportData) -> str:
    a, b = _positions_rows(data)
    c = _pcol(key)
    return f"'{L.SHEET_POSITIONS}'!${c}${a}:${c}${b}"


def _position_formula(key: str, r: int) -> Formula | None:
    c = {k: _pcol(k) for k in ("kind", "side", "strike", "contracts", "premium", "sign", "w", "mark", "value",
                                "premium_total", "delta_shares")}
    f = {
        "sign": f'=IF(LOWER({c["side"]}{r})="long",1,-1)',
        "w": f'=IF(LOWER({c["kind"]}{r})="call",1,-1)',
        "value": f"={c['sign']}{r}*{c['mark']}{r}*Multiplier*{c['contracts']}{r}",
        "premium_total": f"=-{c['sign']}{r}*{c['premium']}{r}*Multiplier*{c['contracts']}{r}",
        "unrealized_pnl": f"={c['value']}{r}+{c['premium_total']}{r}",
        "delta_dollars": f"={c['delta_shares']}{r}*Spot",
        "obligation": f"=IF(AND({c['w']}{r}=-1,{c['sign']}{r}=-1),{c['strike']}{r}*Multiplier*{c['contracts']}{r},0)",
    }.get(key)
    return Formula(f) if f else None


def write_positions_inputs(ws: Any, data: ReportData) -> None:
    """The user columns of Positions (only on build; refresh keeps the user's)."""
    _header(ws, L.HEADER_ROW, L.POSITION_INPUT_COLUMNS)
    for i, rec in enumerate(data.positions.to_dict(orient="records")):
        for j, (_, key, fmt, _) in enumerate(L.POSITION_INPUT_COLUMNS):
            v = rec.get(key)
            if key in ("note", "underlying", "kind", "side"):
                v = "" if v is None else str(v)
                if v == "":
                    continue
            put(ws, L.FIRST_ROW + i, j + 1, v, fmt)


def write_positions_computed(ws: Any, data: ReportData) -> None:
    """Model values and formulas to the right of the user columns, for every position row."""
    start = len(L.POSITION_INPUT_COLUMNS) + 1
    _header(ws, L.HEADER_ROW, L.POSITION_COMPUTED_COLUMNS, start_col=start)
    # clear stale computed cells below (rows the user deleted)
    for r in range(L.FIRST_ROW, max(ws.max_row, L.FIRST_ROW) + 1):
        for j in range(len(L.POSITION_COMPUTED_COLUMNS)):
            ws.cell(row=r, column=start + j).value = None
    marked = data.get("marked")
    recs = marked.to_dict(orient="records") if marked is not None else [{} for _ in range(len(data.positions))]
    for i, rec in enumerate(recs):
        r = L.FIRST_ROW + i
        for j, (_, key, fmt, _) in enumerate(L.POSITION_COMPUTED_COLUMNS):
            f = _position_formula(key, r)
            put(ws, r, start + j, f if f is not None else rec.get(key), fmt)
    last = L.FIRST_ROW + len(recs) - 1
    ws.auto_filter.ref = f"A{L.HEADER_ROW}:{col(len(L.POSITION_COLUMNS_ALL))}{max(last, L.FIRST_ROW)}"
    _frame_sheet(ws, freeze="B2")
    if marked is None:
        _missing_note(ws, last + 2, data, "mark book")


def write_ladder(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_LADDER)
    _header(ws, L.HEADER_ROW, L.LADDER_COLUMNS)
    ladder = data.get("ladder")
    pos = data.positions
    if ladder is not None:
        ladder = ladder[ladder["strike"].notna()]
        strikes = [float(k) for k in ladder["strike"]]
        extra = {float(r["strike"]): r for r in ladder.to_dict(orient="records")}
    else:
        mask = (pos["kind"] == "put") & (pos["side"] == "short")
        strikes = sorted({float(k) for k in pos.loc[mask, "strike"]})
        extra = {}
    crit = f',{_prange("kind", data)},"put",{_prange("side", data)},"short")'
    first = L.FIRST_ROW
    last = first + len(strikes) - 1
    for i, k in enumerate(strikes):
        r = first + i
        put(ws, r, 1, k, L.FMT_PRICE)

        def sumifs(key: str, r: int = r) -> Formula:
            return Formula(f"=SUMIFS({_prange(key, data)},{_prange('strike', data)},A{r}{crit}")

        put(ws, r, 2, sumifs("contracts"), L.FMT_INT)
        put(ws, r, 3, sumifs("premium_total"), L.FMT_MONEY)
        put(ws, r, 4, Formula("=-" + sumifs("value")[1:]), L.FMT_MONEY)
        put(ws, r, 5, sumifs("unrealized_pnl"), L.FMT_MONEY)
        put(ws, r, 6, Formula(f"=IF(SUM($B${first}:$B${last})=0,0,B{r}/SUM($B${first}:$B${last}))"), L.FMT_PCT)
        put(ws, r, 7, Formula(f"=A{r}/Spot"), L.FMT_NUM)
        put(ws, r, 8, sumifs("obligation"), L.FMT_MONEY0)
        put(ws, r, 9, extra.get(k, {}).get("prob_itm"), L.FMT_PCT)
        put(ws, r, 10, extra.get(k, {}).get("status"), L.FMT_TEXT)
    tot = last + 1
    st = _styles()
    put(ws, tot, 1, "Total").font = st["bold"]
    for c, fmt in ((2, L.FMT_INT), (3, L.FMT_MONEY), (4, L.FMT_MONEY), (5, L.FMT_MONEY), (8, L.FMT_MONEY0)):
        cell = put(ws, tot, c, Formula(f"=SUM({col(c)}{first}:{col(c)}{last})"), fmt)
        cell.font = st["bold"]
        cell.border = st["total_border"]
    if strikes:
        ws.auto_filter.ref = f"A{L.HEADER_ROW}:{col(len(L.LADDER_COLUMNS))}{last}"
        _status_colours(ws, f"J{first}:J{last}")
        from openpyxl.chart import BarChart, Reference

        chart = BarChart()
        chart.type = "col"
        chart.title = "Exposure by strike (put obligation, $)"
        chart.y_axis.title = "Obligation $"
        chart.x_axis.title = "Strike"
        chart.add_data(Reference(ws, min_col=8, min_row=L.HEADER_ROW, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        chart.height, chart.width = 8, 16
        ws.add_chart(chart, f"A{tot + 3}")
    _note(ws, tot + 1, "Contracts, premium, value, P&L, share and obligation are formulas over the Positions sheet; "
                       "Prob ITM and Status come from the model.")
    _frame_sheet(ws)


def write_plan(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_PLAN)
    st = _styles()
    ws.column_dimensions["A"].width = 30
    _header(ws, 1, (("Premium split (80/20 rule)", "", "", 30), ("Value", "", "", 14), ("Formula", "", "", 40)))
    rows = [
        ("Premium collected (book)", "=PremiumCollected", L.FMT_MONEY, "PlanPremium",
         "net premium of the Positions sheet"),
        ("Call hedge share used", "=IF(UseDynamicRatio,HedgeRatio,CallShare)", L.FMT_PCT, "CallShareUsed",
         "CallShare, or HedgeRatio when UseDynamicRatio"),
        ("Call hedge budget", "=PlanPremium*CallShareUsed", L.FMT_MONEY, "CallBudget", "premium x call share"),
        ("Put premium budget", "=PlanPremium-CallBudget", L.FMT_MONEY, "PutPremiumBudget", "premium - call budget"),
        ("Monthly addition", "=MonthlyAddition", L.FMT_MONEY, "", "new capital"),
        ("Put expansion budget", "=PutPremiumBudget+MonthlyAddition", L.FMT_MONEY, "PutBudget",
         "put premium budget + monthly addition"),
        ("Compounding factor", '=IF(MonthlyAddition>0,PutBudget/MonthlyAddition,"")', L.FMT_NUM4,
         "CompoundingFactor", "put expansion budget / monthly addition"),
        ("Buying power $ (available funds: EWL - initial requirement)",
         (data.get("account") or {}).get("buying_power"), L.FMT_MONEY, "BuyingPower",
         "engine.plan.account.account_state of the Positions at PortfolioValue (value); caps the contracts below"),
    ]
    r = 2
    for label, f, fmt, name, doc in rows:
        put(ws, r, 1, label)
        put(ws, r, 2, Formula(f) if isinstance(f, str) else f, fmt)
        put(ws, r, 3, doc)
        if name:
            _name(wb, name, L.SHEET_PLAN, f"B{r}")
        r += 1
    r += 1
    # strike allocation
    put(ws, r, 1, Formula('="Strike allocation of the put expansion budget, capital model: "&CapitalModel')).font = st["title_font"]
    hdr = r + 1
    _header(ws, hdr, L.ALLOCATION_COLUMNS)
    cells = data.results.get("_cells", {})
    ladder_rows = cells.get("ladder_rows", [])
    prem = data.get("strike_premiums", {})
    alloc_df = data.get("allocation")
    alloc_bp = [] if alloc_df is None or "bp_per_contract" not in alloc_df else alloc_df["bp_per_contract"].tolist()
    first = hdr + 1
    for i, (k, lr) in enumerate(zip(data.config.strikes.strikes, ladder_rows)):
        rr = first + i
        put(ws, rr, 1, Formula(f"='{L.SHEET_INPUTS}'!$A${lr}"), L.FMT_PRICE)
        put(ws, rr, 2, Formula(f"='{L.SHEET_INPUTS}'!$B${lr}"), L.FMT_PCT)
        put(ws, rr, 3, Formula(f"=PutBudget*B{rr}"), L.FMT_MONEY)
        put(ws, rr, 4, prem.get(float(k)), L.FMT_PRICE)
        # net basis (requirement net of the premium credited, what a contract takes from net liquidation)
        put(ws, rr, 5, Formula(
            f'=IF(CapitalModel="premium",D{rr}*Multiplier,IF(CapitalModel="cash_secured",(A{rr}-D{rr})*Multiplier,'
            f"(MAX(RegTUnderlyingPct*Spot-MAX(Spot-A{rr},0),RegTMinimumPct*A{rr},PerContractFloor/Multiplier)"
            f"+HouseAddonPct*Spot)*Multiplier))"), L.FMT_MONEY)
        put(ws, rr, 6, Formula(f"=INT(K{rr}*BuyingPowerScale+1E-12)"), L.FMT_INT)
        put(ws, rr, 7, Formula(f"=F{rr}*E{rr}"), L.FMT_MONEY)
        put(ws, rr, 8, Formula(f"=F{rr}*D{rr}*Multiplier"), L.FMT_MONEY)
        put(ws, rr, 9, Formula(f"=C{rr}-G{rr}"), L.FMT_MONEY)
        put(ws, rr, 10, Formula(f"=IF(D{rr}>0,INT(C{rr}/(D{rr}*Multiplier)),0)"), L.FMT_INT)
        put(ws, rr, 11, Formula(f"=IF(E{rr}>0,INT(C{rr}/E{rr}),0)"), L.FMT_INT)
        bpc = alloc_bp[i] if i < len(alloc_bp) else None
        put(ws, rr, 12, bpc, L.FMT_MONEY)
    last = first + len(ladder_rows) - 1
    tot = last + 1
    put(ws, tot, 1, "Total").font = st["bold"]
    need = f"SUMPRODUCT(K{first}:K{last},L{first}:L{last})"
    put(ws, tot + 1, 1, "Buying power scale")
    put(ws, tot + 1, 2, Formula(f'=IF(AND(ISNUMBER(BuyingPower),{need}>MAX(BuyingPower,0)),MAX(BuyingPower,0)/{need},1)'),
        L.FMT_NUM4)
    put(ws, tot + 1, 3, "contracts before cap x this: the buying power they use (sum of before-cap x BP/contract) "
                        "never exceeds BuyingPower")
    _name(wb, "BuyingPowerScale", L.SHEET_PLAN, f"B{tot + 1}")
    for c in (2, 3, 6, 7, 8, 9, 10, 11):
        fmt = L.ALLOCATION_COLUMNS[c - 1][2]
        cell = put(ws, tot, c, Formula(f"=SUM({col(c)}{first}:{col(c)}{last})"), fmt)
        cell.font = st["bold"]
        cell.border = st["total_border"]
    data.results["_cells"]["allocation_rows"] = (first, last, tot)
    _note(ws, tot + 2, "Premium $/sh is the American model price at the next monthly expiry (a value); so are "
                       "BuyingPower and BP/contract (engine.plan.account: a new put takes its requirement net of the "
                       "premium credited); everything else is a formula. Capital/contract is net of the premium "
                       "(compared with net liquidation). 'Plan literal contracts' is the plan's int(capital / "
                       "(premium x 100)), which treats premium received as capital spent.")
    r = tot + 4
    # reinvestment priorities
    _title(ws, r, "Reinvestment priorities (share of the put expansion budget)")
    reinv = data.get("reinvestment")
    cols = (("Action", "action", L.FMT_TEXT, 30), ("Group strikes", "group_strikes", L.FMT_TEXT, 14),
            ("Group share", "group_share", L.FMT_PCT, 12), ("Strike", "strike", L.FMT_PRICE, 12),
            ("Share", "share", L.FMT_PCT, 10), ("Amount $", "amount", L.FMT_MONEY, 13),
            ("Premium $/sh", "premium", L.FMT_PRICE, 12), ("Capital/contract $", "capital_per_contract", L.FMT_MONEY, 15),
            ("Contracts", "contracts", L.FMT_INT, 10), ("Expected premium $", "expected_premium", L.FMT_MONEY, 15),
            ("Reasoning", "reasoning", L.FMT_TEXT, 40))
    _header(ws, r + 1, cols, widths=False)
    if reinv is not None:
        for i, rec in enumerate(reinv.to_dict(orient="records")):
            rr = r + 2 + i
            for j, (_, key, fmt, _) in enumerate(cols):
                v = rec.get(key)
                if key == "amount":
                    v = Formula(f"=PutBudget*E{rr}")
                elif key == "contracts":
                    v = Formula(f"=IF(H{rr}>0,INT(F{rr}/H{rr}),0)")
                elif key == "expected_premium":
                    v = Formula(f"=I{rr}*G{rr}*Multiplier")
                put(ws, rr, j + 1, v, fmt)
        r = r + 2 + len(reinv) + 1
    else:
        _missing_note(ws, r + 2, data, "plan")
        r += 4
    # projection beside the printed table
    _title(ws, r, "Month-by-month projection (engine; the Assumption column says how assignments count), "
                  "and below it the plan's printed table")
    proj = data.get("projection")
    if proj is not None:
        r2 = _value_table(ws, r + 1, proj)
        printed = data.get("plan_printed_table")
        _title(ws, r2, "The plan's printed table (as printed; see Audit for what differs)")
        if printed is not None:
            import pandas as pd

            pdf = printed if isinstance(printed, pd.DataFrame) else pd.DataFrame(printed)
            r2 = _value_table(ws, r2 + 1, pdf)
    else:
        _missing_note(ws, r + 1, data, "projection")
    _frame_sheet(ws, title_rows=None)


def write_hedges(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_HEDGES)
    st = _styles()
    _header(ws, 1, (("Hedge ratio rule", "", "", 30), ("Value", "", "", 12), ("Formula", "", "", 50)))
    rows = [
        ("Base ratio", "=HedgeBase", L.FMT_PCT, "", "HedgeBase"),
        ("Extreme-IV factor", "=IF(IVPercentile>HedgeIVThreshold,HedgeIVMultiplier,1)", L.FMT_NUM, "",
         "x IV multiplier if IV percentile > threshold"),
        ("Squeeze factor", "=IF(SqueezeProbability>HedgeSqueezeThreshold,HedgeSqueezeMultiplier,1)", L.FMT_NUM, "",
         "x squeeze multiplier if squeeze probability > threshold"),
        ("Size factor", "=IF(PortfolioValue>HedgeSizeThreshold,HedgeSizeMultiplier,1)", L.FMT_NUM, "",
         "x size multiplier if portfolio value > threshold"),
        ("Uncapped ratio", "=B2*B3*B4*B5", L.FMT_PCT, "", "base x factors"),
        ("Hedge ratio", "=MIN(B6,HedgeCap)", L.FMT_PCT, "HedgeRatio", "capped at HedgeCap"),
        ("Hedge budget (call budget)", "=CallBudget", L.FMT_MONEY, "HedgeBudget", "Plan sheet call hedge budget"),
    ]
    for i, (label, f, fmt, name, doc) in enumerate(rows):
        r = 2 + i
        put(ws, r, 1, label)
        put(ws, r, 2, Formula(f) if isinstance(f, str) else f, fmt)
        put(ws, r, 3, doc)
        if name:
            _name(wb, name, L.SHEET_HEDGES, f"B{r}")
    r = 2 + len(rows) + 1
    _title(ws, r, "Call hedge ladder")
    hdr = r + 1
    _header(ws, hdr, L.HEDGE_COLUMNS)
    hl = data.get("hedge_ladder")
    hedge_rows = data.results.get("_cells", {}).get("hedge_rows", [])
    if hl is None:
        _missing_note(ws, hdr + 1, data, "hedges")
        _frame_sheet(ws, title_rows=None)
        return
    first = hdr + 1
    for i, rec in enumerate(hl.to_dict(orient="records")):
        rr = first + i
        ir = hedge_rows[i] if i < len(hedge_rows) else None
        put(ws, rr, 1, rec["rung"], L.FMT_INT)
        put(ws, rr, 2, Formula(f"='{L.SHEET_INPUTS}'!$A${ir}") if ir else rec["moneyness"], L.FMT_NUM)
        put(ws, rr, 3, rec["strike"], L.FMT_PRICE)
        put(ws, rr, 4, rec["dte"], L.FMT_INT)  # days to the listed monthly expiry >= the target days
        put(ws, rr, 5, Formula(f"='{L.SHEET_INPUTS}'!$B${ir}") if ir else rec["share"], L.FMT_PCT)
        put(ws, rr, 6, Formula(f"=HedgeBudget*E{rr}"), L.FMT_MONEY)
        put(ws, rr, 7, rec["price"], L.FMT_PRICE)
        put(ws, rr, 8, Formula(f"=IF(G{rr}>0,INT(F{rr}/(G{rr}*Multiplier)),0)"), L.FMT_INT)
        put(ws, rr, 9, Formula(f"=H{rr}*G{rr}*Multiplier"), L.FMT_MONEY)
        put(ws, rr, 10, Formula(f"=F{rr}-I{rr}"), L.FMT_MONEY)
    last = first + len(hl) - 1
    tot = last + 1
    put(ws, tot, 1, "Total").font = st["bold"]
    for c in (5, 6, 8, 9, 10):
        cell = put(ws, tot, c, Formula(f"=SUM({col(c)}{first}:{col(c)}{last})"), L.HEDGE_COLUMNS[c - 1][2])
        cell.font = st["bold"]
        cell.border = st["total_border"]
    _note(ws, tot + 1, "Strike (spot x moneyness rounded to the listed increment), DTE (to the first listed monthly "
                       "expiry at least the Inputs target days out) and price (American model) are values; budget, "
                       "contracts, cost and leftover are formulas.")
    _frame_sheet(ws, title_rows=None)


def write_risk(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_RISK)
    _header(ws, 1, (("Book", "", "", 30), ("Value", "", "", 14), ("How", "", "", 44)))
    var = data.get("var") or {}
    rows = [
        ("Premium collected (net)", Formula(f"=SUM({_prange('premium_total', data)})"), L.FMT_MONEY, "PremiumCollected"),
        ("Book value", Formula(f"=SUM({_prange('value', data)})"), L.FMT_MONEY, "BookValue"),
        ("Unrealized P&L", Formula(f"=SUM({_prange('unrealized_pnl', data)})"), L.FMT_MONEY, "UnrealizedPnL"),
        ("Delta (shares)", Formula(f"=SUM({_prange('delta_shares', data)})"), L.FMT_NUM, ""),
        ("Portfolio delta ($)", Formula(f"=SUM({_prange('delta_dollars', data)})"), L.FMT_MONEY, "PortfolioDelta"),
        ("Gamma (shares per $)", Formula(f"=SUM({_prange('gamma', data)})"), L.FMT_NUM, ""),
        ("Theta ($ per day)", Formula(f"=SUM({_prange('theta_day', data)})"), L.FMT_MONEY, ""),
        ("Vega ($ per vol point)", Formula(f"=SUM({_prange('vega_point', data)})"), L.FMT_MONEY, ""),
        ("Put obligation", Formula(f"=SUM({_prange('obligation', data)})"), L.FMT_MONEY0, ""),
        ("Margin $ (net of value, vs net liquidation)", Formula(f"=SUM({_prange('margin', data)})"), L.FMT_MONEY0, ""),
        ("VaR 95% (model)", var.get("var"), L.FMT_MONEY, "VaR95"),
        ("Expected shortfall 95% (model)", var.get("es"), L.FMT_MONEY, "ES95"),
        ("VaR / portfolio value", Formula('=IF(AND(ISNUMBER(VaR95),PortfolioValue>0),VaR95/PortfolioValue,"")'),
         L.FMT_PCT, ""),
    ]
    acct = data.get("account") or {}
    account_rows = [
        ("Net liquidation value $ (NLV)", "net_liquidation", "AccountNLV"),
        ("Equity with loan value $ (EWL)", "equity_with_loan_value", "AccountEWL"),
        ("Initial requirement $ (full basis, vs EWL)", "initial_requirement", ""),
        ("Maintenance requirement $ (full basis, vs EWL)", "maintenance_requirement", "MaintenanceRequirement"),
        ("Maintenance requirement $ (net of value, vs NLV)", "maintenance_requirement_net", ""),
        ("Excess liquidity $ (EWL - maintenance)", "excess_liquidity", "ExcessLiquidity"),
        ("Buying power $ (available funds: EWL - initial)", "buying_power", "AccountBuyingPower"),
    ]
    rows += [(label, acct.get(key), L.FMT_MONEY, name) for label, key, name in account_rows]
    hows = ["sum of Positions premium", "sum of Positions value", "sum of Positions P&L", "sum of Positions delta",
            "sum of Positions dollar delta", "sum of Positions gamma", "sum of Positions theta/day",
            "sum of Positions vega/point", "sum of short-put strike x shares", "sum of Positions margin",
            f"engine.risk.var.value_at_risk ({var.get('method', data.config.risk.var_method)}, "
            f"{data.config.risk.var_horizon_days} day)",
            "engine.risk.var.value_at_risk (mean loss beyond VaR)", "VaR95 / PortfolioValue"]
    hows += [f"engine.plan.account ({acct.get('account', data.config.margin.account)} account, FINRA 4210 / CBOE "
             "strategy-based; docs/margin.md)"] * len(account_rows)
    for i, (label, v, fmt, name) in enumerate(rows):
        r = 2 + i
        put(ws, r, 1, label)
        put(ws, r, 2, v, fmt)
        put(ws, r, 3, hows[i])
        if name:
            _name(wb, name, L.SHEET_RISK, f"B{r}")
    if "risk" in data.missing:
        put(ws, 2 + 10, 3, f"not computed: {data.missing['risk']}")
    r = 2 + len(rows) + 1
    # Kelly
    _title(ws, r, "Kelly position limits")
    krows = [
        ("Win probability", "=WinProbability", L.FMT_PCT, ""),
        ("Average win", "=AvgWin", L.FMT_PCT, ""),
        ("Average loss", "=AvgLoss", L.FMT_PCT, ""),
        ("Full Kelly  p - (1-p) x loss/win", "=WinProbability-(1-WinProbability)*(AvgLoss/AvgWin)", L.FMT_NUM4, "KellyFraction"),
        ("Fractional Kelly", "=KellyUse*MAX(KellyFraction,0)", L.FMT_NUM4, "ConservativeKelly"),
        ("Max single strike", "=MIN(ConservativeKelly,KellyCap)", L.FMT_PCT, "MaxSingleStrike"),
        ("Max single strike $", "=MaxSingleStrike*PortfolioValue", L.FMT_MONEY, ""),
        ("Max monthly addition $", "=MaxMonthlyAddition*PortfolioValue", L.FMT_MONEY, ""),
        ("Emergency reserve $", "=EmergencyReserve*PortfolioValue", L.FMT_MONEY, ""),
        ("Strategy allocation $", "=MaxStrategyAllocation*PortfolioValue", L.FMT_MONEY, ""),
    ]
    for i, (label, f, fmt, name) in enumerate(krows):
        rr = r + 1 + i
        put(ws, rr, 1, label)
        put(ws, rr, 2, Formula(f), fmt)
        if name:
            _name(wb, name, L.SHEET_RISK, f"B{rr}")
    r = r + 1 + len(krows) + 1
    # alerts
    _title(ws, r, "Daily risk check")
    alerts = data.get("alerts")
    if alerts is not None and len(alerts):
        first = r + 2
        _value_table(ws, r + 1, alerts, L.ALERT_COLUMNS)
        last = first + len(alerts) - 1
        _status_colours(ws, f"D{first}:D{last}")
        r = last + 2
    else:
        _missing_note(ws, r + 1, data, "risk")
        r += 3
    # P&L at expiry: starts a printed page of its own (its table is longer than what is left of
    # the first page, and the first page's header row would be wrong above it)
    from openpyxl.worksheet.pagebreak import Break

    ws.row_breaks.append(Break(id=r - 1))
    _title(ws, r, "P&L at expiry of the whole book against the underlying price")
    hdr = r + 1
    _header(ws, hdr, (("Underlying $", "", "", 14), ("P&L at expiry $", "", "", 16)))
    payoff = data.get("payoff")
    if payoff is not None:
        prices = payoff["price"]
        first = hdr + 1
        sign, w, k, n = (_prange(x, data) for x in ("sign", "w", "strike", "contracts"))
        for i, s in enumerate(prices):
            rr = first + i
            put(ws, rr, 1, float(s), L.FMT_PRICE)
            put(ws, rr, 2, Formula(f"=SUMPRODUCT({sign},{n},(({w}*(A{rr}-{k}))>0)*({w}*(A{rr}-{k})))*Multiplier"
                                   f"+PremiumCollected"), L.FMT_MONEY)
        last = first + len(prices) - 1
        data.results["_cells"]["payoff_rows"] = (first, last)
        from openpyxl.chart import Reference, ScatterChart, Series

        chart = ScatterChart()
        chart.title = "P&L at expiry vs underlying price"
        chart.style = 13
        chart.x_axis.title = "Underlying price $"
        chart.y_axis.title = "P&L $"
        # labels at the bottom of the plot area, not on the zero line the P&L crosses
        chart.x_axis.tickLblPos = "low"
        chart.x_axis.number_format = '"$"0.00'
        chart.y_axis.number_format = '"$"#,##0'
        chart.x_axis.scaling.min = 0.0
        chart.x_axis.scaling.max = float(prices[-1])
        series = Series(Reference(ws, min_col=2, min_row=first, max_row=last),
                        Reference(ws, min_col=1, min_row=first, max_row=last), title="Book P&L at expiry")
        series.marker.symbol = "none"
        chart.series.append(series)
        chart.legend = None  # one series: the title says what it is
        chart.height, chart.width = 9, 18
        ws.add_chart(chart, f"C{hdr}")
    _frame_sheet(ws, title_rows=None)


def write_assignment(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_ASSIGNMENT)
    _header(ws, L.HEADER_ROW, L.ASSIGNMENT_COLUMNS)
    rows = data.get("assignment")
    if rows is None:
        _missing_note(ws, L.FIRST_ROW, data, "assignment")
        _frame_sheet(ws)
        return
    p = {k: _pcol(k) for k in ("strike", "expiry", "contracts", "premium")}
    prob = None
    marked = data.get("marked")
    if marked is not None:
        prob = marked["prob_itm"].to_numpy()
    for i, rec in enumerate(rows):
        r = L.FIRST_ROW + i
        pr = L.FIRST_ROW + int(rec["row"])
        ps = f"'{L.SHEET_POSITIONS}'!"
        vals = {
            "strike": Formula(f"={ps}{p['strike']}{pr}"),
            "expiry": rec.get("expiry"),
            "contracts": Formula(f"={ps}{p['contracts']}{pr}"),
            "shares": Formula(f"=C{r}*Multiplier"),
            "premium": Formula(f"={ps}{p['premium']}{pr}"),
            "cost_basis": Formula(f"=A{r}-E{r}"),
            "tier": Formula(f'=IF(F{r}<ExcellentBasis,"excellent",IF(F{r}<GoodBasis,"good","exit"))'),
            "call_strike_target": Formula(f'=F{r}*(1+IF(G{r}="excellent",ExcellentCallUpside,IF(G{r}="good",GoodCallUpside,ExitCallUpside)))'),
            "stop_level": Formula(f'=IF(G{r}="exit",F{r}*(1-ExitStop),"")'),
            "action": rec.get("action"),
            "call_strike": rec.get("call_strike"),
            "call_dte": rec.get("call_dte"),
            "call_premium": rec.get("call_premium"),
            "prob_itm": None if prob is None else prob[int(rec["row"])],
        }
        for j, (_, key, fmt, _) in enumerate(L.ASSIGNMENT_COLUMNS):
            put(ws, r, j + 1, vals[key], fmt)
    if rows:
        last = L.FIRST_ROW + len(rows) - 1
        ws.auto_filter.ref = f"A1:{col(len(L.ASSIGNMENT_COLUMNS))}{last}"
        _note(ws, last + 2, "Cost basis = strike - premium per share; tier, covered-call strike target and stop are "
                            "formulas over the Inputs thresholds; listed call strike, action, call premium and Prob ITM "
                            "come from the engine.")
    _frame_sheet(ws)


#: Simulation summary rows: result key -> (label, number format)
_SIM_SUMMARY: dict[str, tuple[str, str]] = {
    "paths": ("Paths", L.FMT_INT),
    "months": ("Months", L.FMT_INT),
    "seed": ("Seed", L.FMT_GENERAL),
    "invested": ("Invested (start + additions) $", L.FMT_MONEY0),
    "prob_loss": ("Probability of a loss", L.FMT_PCT),
    "prob_margin_call": ("Probability of a margin call", L.FMT_PCT),
    "share_with_assignment": ("Share of paths with an assignment", L.FMT_PCT),
    "share_with_early_assignment": ("Share of paths with an early assignment", L.FMT_PCT),
    "mean_discounted_costs": ("Mean discounted trading costs $", L.FMT_MONEY0),
    "mean_discounted_final": ("Mean discounted final equity $", L.FMT_MONEY0),
    "se_discounted_final": ("Standard error of that mean $", L.FMT_MONEY0),
    "discounted_invested": ("Discounted invested $", L.FMT_MONEY0),
}
#: Distribution tables: result key -> (title, number format of the statistics)
_SIM_DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    "max_drawdown": ("Max drawdown (fraction of the peak)", L.FMT_PCT),
    "annual_return": ("Annualized return", L.FMT_PCT),
    "sharpe": ("Sharpe ratio (annualized)", "0.00"),
    "final_equity_summary": ("Final equity $", L.FMT_MONEY0),
}
_STAT_COLUMNS = ("mean", "p5", "p25", "p50", "p75", "p95")
SIM_COL_WIDTHS = (34, 14, 14, 14, 14, 14, 14, 16)


def write_simulation(wb: Any, data: ReportData) -> None:
    import pandas as pd

    ws = wb.create_sheet(L.SHEET_SIMULATION)
    for j, w in enumerate(SIM_COL_WIDTHS):
        ws.column_dimensions[col(j + 1)].width = w
    sim = data.get("simulation")
    _title(ws, 1, f"Monte Carlo of the plan: {data.meta['paths']:,} paths, seed {data.meta['seed']}")
    if sim is None:
        _missing_note(ws, 3, data, "simulation")
        _frame_sheet(ws, title_rows=None)
        return
    d = sim.to_dict() if hasattr(sim, "to_dict") else dict(sim)
    r = 3
    rule = "; ".join(str(d[k]) for k in ("sizing", "costs") if d.get(k))
    if rule:  # the sizing rule and costs behind every figure of the sheet
        _note(ws, 2, rule[0].upper() + rule[1:] + ". Equity = net liquidation value at model mid marks; margin "
                     "calls = maintenance requirement above equity with loan value.")
    pct = getattr(sim, "percentiles", None)
    if pct is not None:
        pdf = pct if isinstance(pct, pd.DataFrame) else pd.DataFrame(pct)
        pdf = pdf.reset_index() if not isinstance(pdf.index, pd.RangeIndex) else pdf
        det = d.get("deterministic")
        if det and "month" in pdf.columns:
            # the plan's deterministic projection (every put expires worthless) beside the percentiles
            by_month = {int(x["month"]): x.get("portfolio_value") for x in det}
            start = float(data.config.account.starting_value)
            pdf = pdf.assign(plan=[start if int(m) == 0 else by_month.get(int(m)) for m in pdf["month"]])
        _title(ws, r, "Equity percentiles by month ($); Plan = the plan's deterministic projection "
                      "(every put expires worthless)")
        headers = {"month": "Month", "mean": "Mean", "plan": "Plan"}
        columns = [(headers.get(str(c), str(c)), c, L.FMT_INT if c == "month" else L.FMT_MONEY0) for c in pdf.columns]
        first = r + 2
        r_next = _value_table(ws, r + 1, pdf, columns)
        last = first + len(pdf) - 1
        if len(pdf) > 1 and pdf.shape[1] > 1:
            from openpyxl.chart import LineChart, Reference

            chart = LineChart()
            chart.title = "Equity fan chart (percentiles) and the plan"
            chart.y_axis.title = "Equity $"
            chart.y_axis.number_format = '"$"#,##0'
            chart.x_axis.title = "Month"
            chart.x_axis.tickLblPos = "low"
            chart.add_data(Reference(ws, min_col=2, max_col=pdf.shape[1], min_row=r + 1, max_row=last),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
            chart.height, chart.width = 9, 18
            ws.add_chart(chart, f"{col(pdf.shape[1] + 2)}{r}")
        r = r_next
    r = _sim_targets(ws, r, d)
    _title(ws, r, "Summary")
    _header(ws, r + 1, (("Quantity", "", "", 34), ("Value", "", "", 14)), widths=False)
    rr = r + 2
    for key, (label, fmt) in _SIM_SUMMARY.items():
        if key in d and isinstance(_clean(d[key]), (int, float)):
            put(ws, rr, 1, label)
            put(ws, rr, 2, d[key], fmt)
            rr += 1
    r = rr + 1
    # distributions: one table, one row per quantity, statistics across
    dists = [(k, v) for k, v in _SIM_DISTRIBUTIONS.items() if isinstance(d.get(k), dict)]
    if dists:
        _title(ws, r, "Distributions across paths")
        _header(ws, r + 1, [("Quantity", "", "", 34)] + [(c.capitalize() if c == "mean" else c, "", "", 14)
                                                         for c in _STAT_COLUMNS], widths=False)
        for i, (key, (label, fmt)) in enumerate(dists):
            put(ws, r + 2 + i, 1, label)
            for j, stat in enumerate(_STAT_COLUMNS):
                put(ws, r + 2 + i, 2 + j, d[key].get(stat), fmt)
        r = r + 2 + len(dists) + 1
    targets = d.get("prob_targets")
    if isinstance(targets, dict) and targets:
        _title(ws, r, "Probability of reaching the plan's scenario targets (final equity)")
        _header(ws, r + 1, (("Scenario", "", "", 34), ("From $", "", "", 14), ("To $", "", "", 14),
                            ("P(in range)", "", "", 14), ("P(at least)", "", "", 14)), widths=False)
        for i, (name, t) in enumerate(targets.items()):
            t = t if isinstance(t, dict) else {}
            put(ws, r + 2 + i, 1, str(name))
            put(ws, r + 2 + i, 2, t.get("low"), L.FMT_MONEY0)
            put(ws, r + 2 + i, 3, t.get("high"), L.FMT_MONEY0)
            put(ws, r + 2 + i, 4, t.get("in_range"), L.FMT_PCT)
            put(ws, r + 2 + i, 5, t.get("at_least"), L.FMT_PCT)
        r = r + 2 + len(targets) + 1
    assumptions = d.get("assumptions")
    if isinstance(assumptions, dict) and assumptions:
        _title(ws, r, "Model assumptions")
        _header(ws, r + 1, (("Assumption", "", "", 34), ("Value", "", "", 14)), widths=False)
        for i, (k, v) in enumerate(assumptions.items()):
            put(ws, r + 2 + i, 1, str(k).replace("_", " "))
            put(ws, r + 2 + i, 2, v)
        r = r + 2 + len(assumptions) + 1
    _frame_sheet(ws, freeze="A3", title_rows=None)




def _sim_targets(ws: Any, r: int, d: dict) -> int:
    """The simulated distributions beside the plan's stated targets."""
    sharpe, dd, ret = d.get("sharpe") or {}, d.get("max_drawdown") or {}, d.get("annual_return") or {}
    fin = d.get("final_equity_summary") or {}
    rows = [
        ("Sharpe ratio, median", sharpe.get("p50"), "> 2.5 (plan: 'Target Sharpe ratio >2.5')", "0.00"),
        ("Sharpe ratio, 5th percentile", sharpe.get("p5"), "> 2.5", "0.00"),
        ("Max drawdown, median", dd.get("p50"), "< 22% (plan: month-3 'Max DD <22%')", L.FMT_PCT),
        ("Max drawdown, 95th percentile", dd.get("p95"), "< 22%", L.FMT_PCT),
        ("Annual return, median", ret.get("p50"), "110% - 135% (plan: expected scenario)", L.FMT_PCT),
        ("Final equity, median", fin.get("p50") if isinstance(fin, dict) else None,
         "$60,000 - $70,000 (plan: expected scenario)", L.FMT_MONEY0),
        ("Probability of a loss", d.get("prob_loss"), "(plan is silent)", L.FMT_PCT),
        ("Probability of a margin call", d.get("prob_margin_call"), "(plan is silent)", L.FMT_PCT),
    ]
    _title(ws, r, "Simulated distributions vs the plan's targets")
    # the target text overflows into the empty cells to its right (column widths stay uniform)
    _header(ws, r + 1, (("Quantity", "", "", 34), ("Simulated", "", "", 14), ("Plan target", "", "", 14)),
            widths=False)
    ws.merge_cells(start_row=r + 1, start_column=3, end_row=r + 1, end_column=6)
    for i, (label, v, target, fmt) in enumerate(rows):
        put(ws, r + 2 + i, 1, label)
        put(ws, r + 2 + i, 2, v, fmt)
        put(ws, r + 2 + i, 3, target)
    return r + 2 + len(rows) + 1


def write_orders(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_ORDERS)
    orders = data.get("orders")
    if orders is None:
        _title(ws, 1, "Order tickets")
        _missing_note(ws, 2, data, "orders")
    elif len(orders) == 0:
        _title(ws, 1, "Order tickets")
        _note(ws, 2, "No orders: the plan's budgets buy no whole contract at the model prices.")
    else:
        _value_table(ws, 1, orders, autofilter=True)
    _frame_sheet(ws)


def write_audit(wb: Any, data: ReportData) -> None:
    ws = wb.create_sheet(L.SHEET_AUDIT)
    audit = data.get("audit")
    _header(ws, L.HEADER_ROW, L.AUDIT_COLUMNS)
    if audit is None:
        _missing_note(ws, L.FIRST_ROW, data, "projection")
        _frame_sheet(ws)
        return
    for i, rec in enumerate(audit.to_dict(orient="records")):
        r = L.FIRST_ROW + i
        for j, (_, key, fmt, _) in enumerate(L.AUDIT_COLUMNS):
            v = rec.get(key)
            if key == "difference":
                v = Formula(f'=IF(AND(ISNUMBER(B{r}),ISNUMBER(C{r})),C{r}-B{r},"")')
            cell = put(ws, r, j + 1, v, fmt)
            # long formulas and notes wrap inside their column; every cell of the row top-aligned
            text = isinstance(cell.value, str) and cell.data_type == "s"
            cell.alignment = _styles()["wrap_left"] if text else _styles()["top"]
        _fit_row_height(ws, r)
    if len(audit):
        ws.auto_filter.ref = f"A1:{col(len(L.AUDIT_COLUMNS))}{L.FIRST_ROW + len(audit) - 1}"
    _frame_sheet(ws)


def write_about(wb: Any, data: ReportData) -> None:
    import platform

    ws = wb.create_sheet(L.SHEET_ABOUT)
    _header(ws, 1, (("About this report", "", "", 28), ("", "", "", 70)))
    m = data.meta
    rows = [
        ("Generated by", f"volarb {m['version']}"),
        ("Generated at (UTC)", m["timestamp"]),
        ("Valuation date", m["valuation_date"]),
        ("Data freshness", m.get("freshness", "not checked (no clock given)")),
        ("Simulation paths", m["paths"]),
        ("Simulation seed", m["seed"]),
        ("Config", m["sources"].get("config", "built-in example (the plan's parameters)")),
        ("Positions", m["sources"].get("positions", "built-in example (the plan's 38 short puts)")),
        *((label, m["sources"].get(key) or "none") for key, (label, _flag) in L.ABOUT_RISK_INPUTS.items()),
        ("Python", platform.python_version()),
        ("Recalculation", "Formulas recalculate on open (fullCalcOnLoad). Model outputs are values: "
                          "run `volarb refresh` after changing inputs that feed the model."),
        ("Regenerate", "volarb build --positions <csv> --config <toml> --out <xlsx> (and the risk inputs above); "
                       "volarb refresh <xlsx> takes the risk inputs again too"),
    ]
    rows.extend(("Note", note) for note in m.get("clock_notes", ()))
    rows.extend((f"Expired: {a['key']}", a["action"]) for a in data.results.get("expired") or ())
    for name, why in sorted(data.missing.items()):
        rows.append((f"Not computed: {name}", why))
    for i, (k, v) in enumerate(rows):
        put(ws, 2 + i, 1, k).font = _styles()["bold"]
        put(ws, 2 + i, 2, v)
        if k == "Data freshness":
            _name(wb, "DataFreshness", L.SHEET_ABOUT, f"B{2 + i}")
    _frame_sheet(ws, landscape=False)


# --- workbook ----------------------------------------------------------------------------------

_WRITERS = {
    L.SHEET_LADDER: write_ladder, L.SHEET_PLAN: write_plan, L.SHEET_HEDGES: write_hedges,
    L.SHEET_RISK: write_risk, L.SHEET_ASSIGNMENT: write_assignment, L.SHEET_SIMULATION: write_simulation,
    L.SHEET_ORDERS: write_orders, L.SHEET_AUDIT: write_audit, L.SHEET_ABOUT: write_about,
}


def _finish(wb: Any, data: ReportData) -> None:
    from openpyxl.workbook.properties import CalcProperties

    wb.calculation = CalcProperties(fullCalcOnLoad=True)
    ts = _dt.datetime.fromisoformat(data.meta["timestamp"])
    wb.properties.created = ts
    wb.properties.modified = ts
    wb.properties.creator = "volarb"
    wb.properties.lastModifiedBy = "volarb"
    wb.properties.title = f"volarb report {data.config.market.underlying} {data.config.market.valuation_date}"
    data.results.pop("_cells", None)


def new_workbook() -> Any:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    return wb


def write_report(data: ReportData) -> Any:
    """A new report workbook (openpyxl ``Workbook``) with every sheet of :data:`layout.SHEETS`."""
    wb = new_workbook()
    write_inputs(wb, data)
    ws = wb.create_sheet(L.SHEET_POSITIONS)
    write_positions_inputs(ws, data)
    write_positions_computed(ws, data)
    for name in L.COMPUTED_SHEETS:
        _WRITERS[name](wb, data)
    _finish(wb, data)
    return wb


def _ladder_rows_from_sheet(ws: Any) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for title, key in ((L.LADDER_TABLE_TITLE, "ladder_rows"), (L.HEDGE_TABLE_TITLE, "hedge_rows")):
        rows: list[int] = []
        for r in range(1, ws.max_row + 1):
            if ws.cell(row=r, column=1).value == title:
                rr = r + 2
                while ws.cell(row=rr, column=1).value not in (None, ""):
                    rows.append(rr)
                    rr += 1
                break
        out[key] = rows
    return out


def refresh_workbook(wb: Any, data: ReportData) -> Any:
    """Rewrite the computed sheets of an existing report in place; keep user sheets and extras.

    Inputs is left as the user edited it (its defined names are re-pointed if rows moved);
    Positions keeps its user columns and gets new computed columns; every computed sheet is
    deleted and rebuilt at the same position; sheets the report does not know are untouched.
    """
    order = list(wb.sheetnames)
    if L.SHEET_INPUTS not in wb.sheetnames:
        write_inputs(wb, data)
    else:
        ws = wb[L.SHEET_INPUTS]
        from workbook.io import inputs_key_cells

        for key, addr in inputs_key_cells(ws).items():
            if key in L.INPUT_NAMES:
                _name(wb, L.INPUT_NAMES[key][0], L.SHEET_INPUTS, addr)
        rows = _ladder_rows_from_sheet(ws)
        data.results.setdefault("_cells", {}).update(rows)
        if rows["ladder_rows"]:
            _name(wb, L.NAME_LADDER_STRIKES, L.SHEET_INPUTS, f"A{rows['ladder_rows'][0]}:A{rows['ladder_rows'][-1]}")
            _name(wb, L.NAME_LADDER_WEIGHTS, L.SHEET_INPUTS, f"B{rows['ladder_rows'][0]}:B{rows['ladder_rows'][-1]}")
    if L.SHEET_POSITIONS not in wb.sheetnames:
        ws = wb.create_sheet(L.SHEET_POSITIONS)
        write_positions_inputs(ws, data)
    write_positions_computed(wb[L.SHEET_POSITIONS], data)
    for name in L.COMPUTED_SHEETS:
        if name in wb.sheetnames:
            del wb[name]
        for dn in [n for n, v in list(wb.defined_names.items()) if f"'{name}'!" in (v.attr_text or "")]:
            del wb.defined_names[dn]
        _WRITERS[name](wb, data)
    # restore the original sheet order, new sheets in layout order after known ones
    wanted = [n for n in order if n in wb.sheetnames] + [n for n in wb.sheetnames if n not in order]
    wb._sheets = [wb[n] for n in wanted]
    wb.active = 0
    _finish(wb, data)
    return wb
