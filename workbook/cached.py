"""Cached values in every formula cell of a saved report, so it reads right without a spreadsheet.

openpyxl writes each formula cell as ``<c><f>...</f><v></v></c>``: no cached result.  Excel and
LibreOffice recalculate on open, but e-mail and phone previews, Quick Look, ``pandas.read_excel``
and openpyxl's ``data_only=True`` read the cached ``<v>`` only, and show blanks.
:func:`add_cached_values` evaluates every formula of a saved .xlsx with the ``formulas``
package (a pure-Python Excel calculation engine: the same inputs the formulas read, so the
values are the ones Excel computes) and writes each result into its cell's ``<v>``: numbers as
numbers, text as ``t="str"``, booleans as ``t="b"``, errors as ``t="e"``.  Only the ``<v>`` of
formula cells (and the ``t`` attribute they need) change; every other byte of each part is kept.

:func:`save_report` is the report's save: openpyxl save, cached values, then the atomic move of
:func:`workbook.io.atomic_write_bytes` (an interrupted run leaves the previous file intact).

A formula the engine cannot evaluate (a function ``formulas`` lacks) keeps an empty ``<v>``:
the file is still correct, that one cell just shows blank until a spreadsheet recalculates it;
:func:`add_cached_values` returns the addresses so the caller can say so.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from workbook.io import atomic_write_bytes

__all__ = [
    "CachedValues",
    "formula_values",
    "add_cached_values",
    "save_report",
    "excel_value",
    "static_range",
]

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass
class CachedValues:
    """What :func:`add_cached_values` did: cells filled and cells left without a value.

    Attributes
    ----------
    filled : int
        Formula cells that got a cached value.
    missing : list of str
        ``Sheet!A1`` of formula cells ``formulas`` could not evaluate (kept without a value).
    errors : list of str
        ``Sheet!A1 #DIV/0!`` for formula cells whose value is an Excel error.
    """

    filled: int = 0
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def excel_value(value: Any) -> tuple[str | None, str]:
    """One evaluated value as the cell's ``(t attribute, <v> text)``.

    >>> excel_value(1.5), excel_value(True), excel_value("a<b"), excel_value("#DIV/0!")
    ((None, '1.5'), ('b', '1'), ('str', 'a&lt;b'), ('str', '#DIV/0!'))
    """
    from formulas.tokens.operand import XlError

    if isinstance(value, XlError):  # a str subclass: test it before text
        return "e", str(value)
    if type(value).__name__ in ("bool", "bool_"):
        return "b", "1" if value else "0"
    if isinstance(value, (_dt.datetime, _dt.date)):
        from openpyxl.utils.datetime import to_excel

        return None, repr(float(to_excel(value)))
    if isinstance(value, (int, float)) or type(value).__module__ == "numpy":
        x = float(value)
        if not math.isfinite(x):
            return "e", "#NUM!"
        return None, str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
    if isinstance(value, str):
        return "str", escape(value)
    return "str", escape(str(value))


@contextlib.contextmanager
def _no_progress_bar() -> Iterator[None]:
    """``formulas`` draws a tqdm bar on stderr while it compiles; the CLI's stderr is for messages."""
    old = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old


@contextlib.contextmanager
def _excel_isnumber() -> Iterator[None]:
    """``ISNUMBER`` as Excel and LibreOffice define it while ``formulas`` evaluates.

    ``formulas`` 1.3 counts numeric text (a text cell ``"2"``) as a number; Excel's ISNUMBER is
    TRUE for numbers only (Microsoft, "IS functions"), which the report's input fingerprints
    rely on.  The package's function table is restored afterwards.
    """
    import functools

    import numpy as np
    from formulas.functions import FUNCTIONS, wrap_ranges_func
    from formulas.functions.info import FalseArray, iserror

    def number(x: Any) -> bool:
        return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))

    old = FUNCTIONS.get("ISNUMBER")
    FUNCTIONS["ISNUMBER"] = wrap_ranges_func(functools.partial(iserror, check=number, array=FalseArray))
    try:
        yield
    finally:
        if old is None:
            FUNCTIONS.pop("ISNUMBER", None)
        else:
            FUNCTIONS["ISNUMBER"] = old


def formula_values(path: str | Path) -> tuple[dict[tuple[str, str], Any], list[tuple[str, str]]]:
    """Evaluate every formula of an .xlsx file.

    Returns
    -------
    (values, formula_cells)
        ``{(sheet name, "A1"): value}`` for each formula cell the engine evaluated (Excel
        semantics: a reference to an empty cell is 0), and the list of every formula cell.
    """
    import formulas
    import openpyxl
    import schedula as sh
    from formulas.tokens.operand import XlError

    path = Path(path)
    wb = openpyxl.load_workbook(path, read_only=False)
    cells = [
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    if not cells:
        return {}, []
    upper = {ws.title.upper(): ws.title for ws in wb.worksheets}
    import tempfile

    with tempfile.TemporaryDirectory(prefix="volarb-eval-") as folder:
        work = Path(folder) / path.name
        _with_static_names(path, work, wb)
        with _no_progress_bar(), _excel_isnumber():
            model = formulas.ExcelModel().loads(str(work)).finish()
            solution = model.calculate()
    values: dict[tuple[str, str], Any] = {}
    wanted = set(cells)
    for key, ranges in solution.items():
        m = re.fullmatch(r"'\[[^\]]*\](.+)'!([A-Z]+[0-9]+)", str(key))
        if not m:
            continue
        sheet = upper.get(m.group(1))
        if sheet is None or (sheet, m.group(2)) not in wanted:
            continue
        raw = getattr(ranges, "value", ranges)
        try:
            v = raw[0, 0] if hasattr(raw, "shape") else raw
        except (IndexError, TypeError):
            continue
        if v is sh.EMPTY:
            v = 0.0
        if isinstance(v, XlError) or v is not None:
            values[(sheet, m.group(2))] = v
    return values, cells


_OFFSET_NAME = re.compile(
    r"OFFSET\('(?P<sheet>[^']+)'!\$(?P<col>[A-Z]+)\$(?P<row>[0-9]+),0,0,"
    r"MAX\(1,COUNTA\('(?P<csheet>[^']+)'!\$(?P<ccol>[A-Z]+)\$(?P<crow1>[0-9]+):\$[A-Z]+\$(?P<crow2>[0-9]+)\)\),1\)"
)


def static_range(text: str, wb: Any) -> str | None:
    """The range a dynamic name ``OFFSET(first,0,0,MAX(1,COUNTA(column)),1)`` covers in ``wb`` now.

    ``formulas`` resolves names that are references but not names that are formulas; the
    report's Positions names (:mod:`workbook.report.positions`) grow with the rows, so for the
    evaluation each is replaced by the reference it gives in the file as saved.  None for any
    other formula.

    >>> import openpyxl
    >>> wb = openpyxl.Workbook(); ws = wb.active; ws.title = "P"
    >>> for r in (3, 4, 5): ws[f"A{r}"] = "ASST"
    >>> static_range("OFFSET('P'!$B$3,0,0,MAX(1,COUNTA('P'!$A$3:$A$5002)),1)", wb)
    "'P'!$B$3:$B$5"
    """
    m = _OFFSET_NAME.fullmatch(text.strip())
    if m is None or m.group("csheet") not in wb.sheetnames:
        return None
    from openpyxl.utils import column_index_from_string

    ws = wb[m.group("csheet")]
    c = column_index_from_string(m.group("ccol"))
    count = sum(
        1
        for r in range(int(m.group("crow1")), min(int(m.group("crow2")), ws.max_row) + 1)
        if ws.cell(row=r, column=c).value not in (None,)
    )
    first = int(m.group("row"))
    return f"'{m.group('sheet')}'!${m.group('col')}${first}:${m.group('col')}${first + max(1, count) - 1}"


def _with_static_names(src: Path, dest: Path, wb: Any) -> None:
    """Copy ``src`` to ``dest`` with each dynamic OFFSET name replaced by its current range."""
    from xml.sax.saxutils import unescape

    def repl(m: re.Match) -> str:
        ref = static_range(unescape(m.group(2)), wb)
        return m.group(0) if ref is None else f"{m.group(1)}{escape(ref)}</definedName>"

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = re.sub(
                    r"(<definedName [^>]*>)([^<]*OFFSET[^<]*)</definedName>", repl, data.decode("utf-8")
                ).encode("utf-8")
            zout.writestr(info, data)


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> part name (``xl/worksheets/sheet1.xml``) from workbook.xml and its rels."""
    import xml.etree.ElementTree as ET

    wbx = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    for s in wbx.iter(f"{{{_NS_MAIN}}}sheet"):
        t = target.get(s.get(f"{{{_NS_REL}}}id")) or ""
        t = t.lstrip("/")
        out[s.get("name") or ""] = t if t.startswith("xl/") else "xl/" + t
    return out


_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v>[^<]*</v>)?</c>', re.S)


def _fill(xml: str, sheet: str, values: dict[tuple[str, str], Any], report: CachedValues) -> str:
    def repl(m: re.Match) -> str:
        ref, attrs, formula = m.group(1), m.group(2), m.group(3)
        if (sheet, ref) not in values:
            report.missing.append(f"{sheet}!{ref}")
            return m.group(0)
        t, v = excel_value(values[(sheet, ref)])
        attrs = re.sub(r'\s+t="[^"]*"', "", attrs)
        if t is not None:
            attrs += f' t="{t}"'
            if t == "e":
                report.errors.append(f"{sheet}!{ref} {v}")
        report.filled += 1
        return f'<c r="{ref}"{attrs}><f>{formula}</f><v>{v}</v></c>'

    return _CELL.sub(repl, xml)


def add_cached_values(path: str | Path, values: dict[tuple[str, str], Any] | None = None) -> CachedValues:
    """Write the cached value of every formula cell into the .xlsx at ``path`` (in place).

    Parameters
    ----------
    path : path
        A workbook written by openpyxl (formula cells with an empty ``<v>``).
    values : dict, optional
        ``{(sheet, "A1"): value}`` to use instead of evaluating (default: :func:`formula_values`).

    Returns
    -------
    CachedValues
    """
    path = Path(path)
    if values is None:
        values, _ = formula_values(path)
    report = CachedValues()
    tmp = path.with_name(path.name + ".cache.tmp")
    try:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            parts = {v: k for k, v in _sheet_parts(src).items()}
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename in parts:
                    data = _fill(data.decode("utf-8"), parts[info.filename], values, report).encode("utf-8")
                dst.writestr(info, data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return report


def save_report(
    workbook: Any, path: str | Path, on_report: Callable[[CachedValues], None] | None = None
) -> Path:
    """Save an openpyxl report with cached values in its formula cells, atomically.

    The workbook is saved to a temporary file beside ``path``, its formulas are evaluated and
    their values written (:func:`add_cached_values`), and only then the file replaces ``path``.
    """

    import shutil
    import tempfile

    def write(tmp: Path) -> None:
        # the readers need an .xlsx name: work on one in a private folder, then copy to ``tmp``
        with tempfile.TemporaryDirectory(prefix="volarb-cache-") as folder:
            work = Path(folder) / "report.xlsx"
            workbook.save(work)
            rep = add_cached_values(work)
            shutil.copyfile(work, tmp)
        if on_report is not None:
            on_report(rep)

    return atomic_write_bytes(path, write)
