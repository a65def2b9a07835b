"""Cell-level helpers of the report writers: formulas, styles, names, column-keyed tables.

A table is a :class:`Table`: its columns are :class:`workbook.layout.Column` records (header
with units, key, number format, width) named once in :mod:`workbook.layout`; formulas are
written as templates over column keys (``"=PutBudget*{weight}"``: ``{weight}`` becomes this
row's cell of the ``weight`` column), never over letters.  :meth:`Table.rows` writes the body
and :meth:`Table.total` the bold total row; :func:`label_rows` writes the label / value / how
blocks of the Plan, Hedges and Risk sheets.  Every cell written from the model (not an input,
not a formula) is recorded by :func:`put` so :mod:`workbook.report.stale` can grey it when the
inputs change.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbook import layout as L
from workbook.layout import Column

__all__ = [
    "Formula",
    "xlfn",
    "NEWER_FUNCTIONS",
    "put",
    "col",
    "define_name",
    "styles",
    "header",
    "title",
    "note",
    "frame_sheet",
    "status_colours",
    "Table",
    "Row",
    "label_rows",
    "value_table",
    "fit_row_height",
    "human_header",
    "guess_fmt",
    "clean",
    "mark_input",
]


class Formula(str):
    """An Excel formula (text starting with ``=``); any other ``str`` is written as text."""


#: Functions newer than Excel 2007 that must carry the ``_xlfn.`` prefix in the file.
NEWER_FUNCTIONS = (
    "IFS",
    "MAXIFS",
    "MINIFS",
    "XLOOKUP",
    "CONCAT",
    "TEXTJOIN",
    "SWITCH",
    "IFNA",
    "NORM.S.DIST",
    "NORM.DIST",
    "NORM.S.INV",
    "FLOOR.MATH",
    "CEILING.MATH",
    "STDEV.S",
    "PERCENTILE.INC",
    "LET",
    "FILTER",
    "SORT",
    "UNIQUE",
    "SEQUENCE",
)


def xlfn(formula: str) -> Formula:
    """Add the ``_xlfn.`` prefix to newer Excel functions in a formula (file format needs it).

    >>> xlfn("=IFNA(A1,0)+SUM(B1:B2)")
    '=_xlfn.IFNA(A1,0)+SUM(B1:B2)'
    """
    out = formula
    for fn in sorted(NEWER_FUNCTIONS, key=len, reverse=True):
        out = re.sub(rf"(?<![\w.]){re.escape(fn)}\(", f"_xlfn.{fn}(", out)
    return Formula(out)


_STYLES: dict[str, Any] = {}


def styles() -> dict[str, Any]:
    """Shared openpyxl fonts, fills, borders and alignments (built once)."""
    if not _STYLES:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        _STYLES.update(
            {
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
        )
    return _STYLES


def clean(value: Any) -> Any:
    """numpy scalars to Python, NaN/None to None, datetimes kept, lists joined with ", "."""
    if value is None:
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    import pandas as pd

    if isinstance(value, np.datetime64):
        ts = pd.Timestamp(value)
        return None if pd.isna(ts) else ts.to_pydatetime()
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (list, tuple)):
        return ", ".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
    return value


def put(ws: Any, row: int, col_: int, value: Any, fmt: str | None = None, model: bool = False) -> Any:
    """Write one cell: a :class:`Formula` as a formula, any other text as inert text.

    ``model=True`` marks a value the engine computed: it is greyed when the inputs change
    (:func:`workbook.report.stale.grey_stale_cells`).
    """
    cell = ws.cell(row=row, column=col_)
    value = clean(value)
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
    if model and not isinstance(value, Formula) and value is not None:
        _model_cells(ws).append(cell.coordinate)
    return cell


def _model_cells(ws: Any) -> list[str]:
    """Addresses of the model-value cells written on ``ws`` (kept on the worksheet object)."""
    if not hasattr(ws, "_volarb_model_cells"):
        ws._volarb_model_cells = []
    return ws._volarb_model_cells


def mark_input(cell: Any) -> Any:
    """Style an input cell (yellow) and unlock it under sheet protection."""
    from openpyxl.styles import Protection

    cell.fill = styles()["input_fill"]
    cell.protection = Protection(locked=False)
    return cell


def col(n: int) -> str:
    """Column letter of 1-based column ``n``."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def define_name(wb: Any, name: str, sheet: str, ref: str) -> None:
    """Define a workbook-scope name for ``sheet!ref`` (made absolute), replacing any old one.

    ``ref`` is ``B7``, ``A3:A9`` or a formula text starting with ``=`` (a dynamic range such as
    ``=OFFSET(...)``, stored without the ``=``).  A name Excel would refuse (a cell address such
    as ``VaR95``, an R1C1 reference, a space) raises ``ValueError``
    (:func:`workbook.report.names.excel_name_problem`).
    """
    from openpyxl.workbook.defined_name import DefinedName

    from workbook.report.names import excel_name_problem

    problem = excel_name_problem(name)
    if problem:
        raise ValueError(f"defined name {name!r}: {problem}")
    if ref.startswith("="):
        text = ref[1:]
    else:
        parts = re.match(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$", ref)
        if parts is None:
            raise ValueError(ref)
        a, b, c, d = parts.groups()
        text = f"'{sheet}'!${a}${b}" + (f":${c}${d}" if c else "")
    if name in wb.defined_names:
        del wb.defined_names[name]
    wb.defined_names[name] = DefinedName(name, attr_text=text)


def header(ws: Any, row: int, columns: Sequence[Column], start_col: int = 1, widths: bool = True) -> None:
    """Header cells (white on blue, wrapped) and, with ``widths``, at least each column's width."""
    st = styles()
    for j, spec in enumerate(columns):
        cell = put(ws, row, start_col + j, spec.header)
        cell.font, cell.fill, cell.alignment = st["header_font"], st["header_fill"], st["wrap"]
        if widths:
            letter = col(start_col + j)
            ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, spec.width)
    _fit_header_height(ws, row)


def _fit_header_height(ws: Any, row: int) -> None:
    """Header rows tall enough for their wrapped words (no cut-off headers on screen or paper)."""
    fit_row_height(ws, row, line_height=15.0)


def title(ws: Any, row: int, text: str, col_: int = 1) -> Any:
    """A section title (bold blue); ``text`` may be a :class:`Formula`."""
    cell = put(ws, row, col_, text)
    cell.font = styles()["title_font"]
    return cell


def note(ws: Any, row: int, text: str, col_: int = 1) -> None:
    """An explanatory note (grey italic)."""
    put(ws, row, col_, text).font = styles()["note_font"]


def frame_sheet(
    ws: Any,
    freeze: str | None = "A3",
    landscape: bool = True,
    title_rows: str | None = "1:2",
    pages_tall: int = 0,
) -> None:
    """Freeze panes and print setup: landscape, one page wide (two for very wide sheets),
    ``pages_tall`` pages tall (0 = as many as needed), ``title_rows`` (banner and header) repeated
    on every printed page, the first column repeated on wide sheets, page numbers in the footer."""
    ws.freeze_panes = freeze
    ws.print_options.gridLines = False
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    # one page wide unless the sheet is so wide that one page would print ~5 pt text: landscape
    # Letter/A4 holds about 150 character widths at a readable scale
    width = sum(
        (ws.column_dimensions[col(c)].width or 8.43)
        for c in range(1, ws.max_column + 1)
        if not ws.column_dimensions[col(c)].hidden
    )
    ws.page_setup.fitToWidth = 1 if width <= 200 else 2
    ws.page_setup.fitToHeight = pages_tall
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    if width > 200:
        ws.print_title_cols = "A:A"  # the key column on every page of a two-page-wide table
    ws.oddFooter.center.text = "&A - page &P of &N"


def status_colours(ws: Any, ref: str) -> None:
    """Conditional fills for the status words of :data:`layout.STATUS_COLOURS` over ``ref``."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill

    first = ref.split(":")[0]
    for word, colour in L.STATUS_COLOURS.items():
        fill = PatternFill("solid", fgColor=colour, bgColor=colour)
        ws.conditional_formatting.add(ref, FormulaRule(formula=[f'EXACT({first},"{word}")'], fill=fill))


class Row(Mapping[str, str]):
    """Cell addresses of one table row by column key (``row["weight"]`` is ``"B7"``)."""

    def __init__(self, table: Table, r: int) -> None:
        self._table, self.r = table, r

    def __getitem__(self, key: str) -> str:
        return f"{self._table.letter(key)}{self.r}"

    def __iter__(self) -> Any:
        return iter(c.key for c in self._table.columns)

    def __len__(self) -> int:
        return len(self._table.columns)


@dataclass
class Table:
    """A table of :class:`Column` records on ``ws`` with its header on ``header_row``.

    Formulas are templates over column keys (``"{capital}/{contracts}"``) filled per row.
    """

    ws: Any
    columns: Sequence[Column]
    header_row: int
    start_col: int = 1
    n: int = 0

    @property
    def first(self) -> int:
        return self.header_row + 1

    @property
    def last(self) -> int:
        return self.first + max(self.n, 1) - 1

    def letter(self, key: str) -> str:
        for j, c in enumerate(self.columns):
            if c.key == key:
                return col(self.start_col + j)
        raise KeyError(f"no column {key!r} in {[c.key for c in self.columns]}")

    def index(self, key: str) -> int:
        return self.start_col + [c.key for c in self.columns].index(key)

    def span(self, key: str) -> str:
        """``B3:B9``: the body of one column."""
        c = self.letter(key)
        return f"{c}{self.first}:{c}{self.last}"

    def ref(self, key: str) -> str:
        """``'Sheet'!$B$3:$B$9``: the body of one column, absolute, with the sheet."""
        c = self.letter(key)
        return f"'{self.ws.title}'!${c}${self.first}:${c}${self.last}"

    def write_header(self, widths: bool = True) -> Table:
        header(self.ws, self.header_row, self.columns, self.start_col, widths)
        return self

    def fill(self, template: str, r: int) -> Formula:
        """The formula ``template`` for row ``r`` (``{key}`` -> that row's cell of column ``key``)."""
        return Formula(template.format_map(Row(self, r)))

    def rows(
        self,
        records: Iterable[Mapping[str, Any]],
        formulas: Mapping[str, str | Callable[[Row], Any]] | None = None,
        model: Iterable[str] = (),
        keys: Iterable[str] | None = None,
    ) -> Table:
        """Write the body: each column's cell is its formula (a template or a function of the
        :class:`Row`) if it has one, else the record's value (``model`` keys: engine values).
        With ``keys`` only those columns are written (the others are left as they are)."""
        formulas = formulas or {}
        model = set(model)
        only = None if keys is None else set(keys)
        self.n = 0
        for i, rec in enumerate(records):
            r = self.first + i
            row = Row(self, r)
            for j, c in enumerate(self.columns):
                if only is not None and c.key not in only:
                    continue
                f = formulas.get(c.key)
                v = (f(row) if callable(f) else self.fill(f, r)) if f is not None else rec.get(c.key)
                put(self.ws, r, self.start_col + j, v, c.fmt, model=c.key in model)
            self.n = i + 1
        return self

    def total(self, keys: Iterable[str], label: str = "Total", label_key: str | None = None) -> int:
        """A bold total row below the body: ``SUM`` of each column in ``keys``; returns its row."""
        st = styles()
        r = self.first + self.n
        lc = self.index(label_key) if label_key else self.start_col
        put(self.ws, r, lc, label).font = st["bold"]
        for key in keys:
            c = self.columns[self.index(key) - self.start_col]
            cell = put(self.ws, r, self.index(key), Formula(f"=SUM({self.span(key)})"), c.fmt)
            cell.font, cell.border = st["bold"], st["total_border"]
        return r

    def autofilter(self) -> None:
        if self.n:
            self.ws.auto_filter.ref = (
                f"{col(self.start_col)}{self.header_row}:"
                f"{col(self.start_col + len(self.columns) - 1)}{self.last}"
            )


def label_rows(wb: Any, ws: Any, row: int, rows: Sequence[tuple], value_col: int = 2) -> dict[str, int]:
    """A label / value / how block from ``row`` down; returns ``{defined name: row}``.

    Each item is ``(label, value, number format, defined name or "", how)``; a value that is a
    plain number or text is a model value (greyed when stale), a :class:`Formula` is live.
    Formulas may name earlier rows of the block as ``{Name}`` (the cell of that named row).
    """
    out: dict[str, int] = {}
    for i, (label, value, fmt, name, how) in enumerate(rows):
        r = row + i
        if isinstance(value, Formula):
            value = Formula(value.format_map({k: f"{col(value_col)}{v}" for k, v in out.items()}))
        put(ws, r, value_col - 1, label)
        put(ws, r, value_col, value, fmt, model=not isinstance(value, Formula))
        put(ws, r, value_col + 1, how)
        if name:
            out[name] = r
            if not name.startswith("_"):
                define_name(wb, name, ws.title, f"{col(value_col)}{r}")
    return out


def human_header(name: Any, fmt: str) -> str:
    """A readable column header for an engine column name: words, and ``$`` on money columns.

    >>> human_header("starting_capital", L.FMT_MONEY)
    'Starting capital $'
    >>> human_header("dte", L.FMT_INT)
    'DTE days'
    """
    text = str(name)
    special = {"dte": "DTE days", "p5": "p5", "p25": "p25", "p50": "p50", "p75": "p75", "p95": "p95"}
    if text in special:
        return special[text]
    words = text.replace("_", " ")
    words = words[:1].upper() + words[1:]
    if fmt in (L.FMT_MONEY, L.FMT_MONEY0) and "$" not in words:
        return f"{words} $"
    if fmt in (L.FMT_PCT, L.FMT_PCT2) and "%" not in words:
        return f"{words} %"
    return words


def guess_fmt(series: Any) -> str:
    """Number format of an engine column from its dtype and name (one format per quantity)."""
    name = str(series.name).lower()
    if series.dtype.kind in "iu":
        return L.FMT_INT
    if series.dtype.kind != "f":
        return L.FMT_GENERAL
    if any(
        w in name for w in ("prob", "share", "weight", "ratio", "pct", "return", "drawdown", "vol", "percent")
    ):
        return L.FMT_PCT
    if any(w in name for w in ("strike", "mid", "limit", "worst", "tick", "price")):
        return L.FMT_PRICE
    if any(
        w in name
        for w in (
            "value",
            "premium",
            "capital",
            "budget",
            "cost",
            "pnl",
            "p&l",
            "contribution",
            "income",
            "hedge",
            "reinvest",
            "amount",
            "obligation",
            "margin",
            "equity",
        )
    ):
        return L.FMT_MONEY
    return L.FMT_NUM


def _fit_width(name: Any, series: Any) -> int:
    """Column width for a value table: the header or the longest text (numbers 12), 8 to 40."""
    longest = len(str(name)) + 2
    if series.dtype.kind == "O":
        longest = max([longest, *(len(str(v)) + 1 for v in series if v is not None)])  # all-None: the header
    else:
        longest = max(longest, 12)
    return max(8, min(40, longest))


def value_table(
    ws: Any,
    row: int,
    df: Any,
    columns: Sequence[Column] | None = None,
    start_col: int = 1,
    autofilter: bool = False,
    model: bool = True,
) -> int:
    """Write a DataFrame (values) with a header at ``row``; returns the next free row.

    Without ``columns`` every column of ``df`` is written, headed by :func:`human_header`.
    """
    if columns is None:
        columns = []
        for c in df.columns:
            fmt = guess_fmt(df[c])
            head = human_header(c, fmt)
            columns.append(Column(head, str(c), fmt, _fit_width(head, df[c])))
    t = Table(ws, columns, row, start_col).write_header()
    t.rows(df.to_dict(orient="records"), model=[c.key for c in columns] if model else ())
    if autofilter:
        t.autofilter()
    return row + len(df) + 2


def fit_row_height(ws: Any, row: int, line_height: float = 14.0) -> None:
    """Set the height of a row whose wrapped text cells need more than one line.

    openpyxl stores no row heights and not every application grows rows for wrapped text on
    open; the number of lines is estimated from the text length and the column width
    (about one character per width unit, words not broken).
    """
    lines = 1
    for cell in ws[row]:
        if isinstance(cell.value, str) and cell.alignment is not None and cell.alignment.wrap_text:
            width = ws.column_dimensions[cell.column_letter].width or 10
            per_line = max(1, int(width * 1.1) - 1)
            need = sum(_wrapped_lines(part, per_line) for part in cell.value.split("\n"))
            lines = max(lines, need)
    if lines > 1:
        ws.row_dimensions[row].height = line_height * lines


def _wrapped_lines(text: str, per_line: int) -> int:
    """Lines a text needs when wrapped at word boundaries to ``per_line`` characters."""
    lines, used = 1, 0
    for word in text.split():
        need = len(word) + (1 if used else 0)
        if used and used + need > per_line:
            lines, used = lines + 1, len(word)
        else:
            used += need
        while used > per_line:  # a word longer than the line is broken
            lines, used = lines + 1, used - per_line
    return lines
