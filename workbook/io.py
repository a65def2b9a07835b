"""Safe workbook files: atomic writes, Excel lock files, backups, and reading user sheets back.

* :func:`atomic_save` writes to a temporary file in the target's folder and moves it into place
  with :func:`os.replace`, so an interrupted or failed run (exception, Ctrl-C) leaves the
  previous report intact and never a half-written file.
* :func:`check_not_locked` refuses to overwrite a report that Excel holds open (Excel keeps a
  ``~$<name>`` lock file beside it) with a message saying so.
* :func:`read_config_sheet` and :func:`read_positions_sheet` read the Inputs and Positions
  sheets a user edited back into a :class:`engine.config.PlanConfig` and a positions table,
  with errors naming the file, sheet and cell.  Workbooks are parsed with defusedxml active
  (openpyxl uses it when installed; :func:`load_user_workbook` refuses to run without it).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine._validate import VolarbInputError
from engine.config import ConfigError, PlanConfig, config_from_pairs
from workbook import layout as L

__all__ = [
    "WorkbookError",
    "atomic_save",
    "atomic_write_bytes",
    "lock_file_for",
    "check_not_locked",
    "read_about_risk_inputs",
    "backup_path",
    "make_backup",
    "load_user_workbook",
    "read_config_sheet",
    "read_positions_sheet",
    "inputs_key_cells",
    "positions_header_row",
    "clean_stale_temp_files",
]


class WorkbookError(VolarbInputError):
    """A report file that cannot be read or written; the message names the file and the cell."""


# --- writing ---------------------------------------------------------------------------------


def lock_file_for(path: str | Path) -> Path | None:
    """The Excel lock file (``~$name``) of ``path`` if one exists, else None.

    Excel writes ``~$`` + the file name beside a workbook it has open (for long names some
    versions drop the first two characters of the name), and deletes it on close.
    """
    path = Path(path)
    for name in ("~$" + path.name, "~$" + path.name[2:]):
        cand = path.with_name(name)
        if len(name) > 2 and cand.exists():
            return cand
    return None


def check_not_locked(path: str | Path) -> None:
    """Raise :class:`WorkbookError` if Excel (or LibreOffice) holds ``path`` open."""
    path = Path(path)
    lock = lock_file_for(path)
    if lock is not None:
        raise WorkbookError(
            f"{path}: the file is open in Excel (lock file {lock.name} exists); "
            "close it in Excel and run again"
        )
    lo_lock = path.with_name(".~lock." + path.name + "#")
    if lo_lock.exists():
        raise WorkbookError(
            f"{path}: the file is open in LibreOffice (lock file {lo_lock.name} exists); "
            "close it and run again"
        )


def _writable_dir(path: Path) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise WorkbookError(f"{path}: cannot write the report: folder {folder} does not exist")
    if not folder.is_dir():
        raise WorkbookError(f"{path}: cannot write the report: {folder} is not a folder")
    return folder


#: Temporary files older than this (seconds) are leftovers of a killed run and are removed.
STALE_TEMP_SECONDS = 600.0
_TEMP_PREFIX, _TEMP_SUFFIX = ".~volarb-", ".tmp"


def clean_stale_temp_files(folder: str | Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove volarb's own temporary files (``.~volarb-*.tmp``) left in ``folder`` by a killed run.

    Only files older than ``older_than`` seconds go, so a run writing right now keeps its file.
    Returns the files removed.
    """
    import time

    now, removed = time.time(), []
    for tmp in Path(folder).glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
        try:
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    return removed


def atomic_write_bytes(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path`` atomically.

    The temporary file lives in the same folder (so :func:`os.replace` is atomic on one file
    system) and is removed if ``write`` raises anything, including ``KeyboardInterrupt``.
    """
    path = Path(path)
    check_not_locked(path)
    folder = _writable_dir(path)
    clean_stale_temp_files(folder)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise WorkbookError(f"{path}: cannot write the report in {folder}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if path.exists():
            try:
                mode = path.stat().st_mode & 0o777
                os.chmod(tmp, mode)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise WorkbookError(f"{path}: cannot replace the report: {exc.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_save(workbook: Any, path: str | Path) -> Path:
    """Save an openpyxl workbook to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, lambda tmp: workbook.save(tmp))


def backup_path(path: str | Path) -> Path:
    """``REPORT.xlsx`` -> ``REPORT.bak.xlsx`` (same folder)."""
    path = Path(path)
    return path.with_name(path.stem + L.BACKUP_SUFFIX)


def make_backup(path: str | Path) -> Path:
    """Copy ``path`` to its backup name (atomically) and return the backup path."""
    path = Path(path)
    dest = backup_path(path)
    atomic_write_bytes(dest, lambda tmp: shutil.copyfile(path, tmp))
    return dest


# --- reading ---------------------------------------------------------------------------------


def load_user_workbook(path: str | Path, data_only: bool = False) -> Any:
    """Open a workbook that came from a user, with defusedxml protection on.

    Raises
    ------
    WorkbookError
        Missing file, not an xlsx workbook, or defusedxml not installed.
    """
    import openpyxl
    from openpyxl.xml import DEFUSEDXML

    path = Path(path)
    if not DEFUSEDXML:
        raise WorkbookError(
            "defusedxml is not installed: install it (pip install defusedxml) so that "
            "workbooks from users are parsed safely"
        )
    if not path.exists():
        raise WorkbookError(f"{path}: file not found")
    if path.is_dir():
        raise WorkbookError(f"{path}: is a folder, not a workbook")
    try:
        return openpyxl.load_workbook(path, data_only=data_only)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, XML errors
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None


def _sheet(wb: Any, name: str, source: str) -> Any:
    if name not in wb.sheetnames:
        raise WorkbookError(f"{source}: sheet {name!r} not found (sheets: {', '.join(wb.sheetnames)})")
    return wb[name]


_BOOL_FORMULAS = {"=TRUE()": True, "=FALSE()": False, "=TRUE": True, "=FALSE": False}


def _plain(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0, 0):
            return value.date()
        return value
    if isinstance(value, str):
        return value.strip()
    return value


def _cell(ws: Any, row: int, column: int, where: str, values: Any = None) -> Any:
    """A user cell's value as the readers want it, whoever saved the file.

    LibreOffice saves a typed TRUE/FALSE as the formula ``=TRUE()``/``=FALSE()``: that is the
    boolean.  Any other formula cell gives its cached value from ``values`` (the same file
    opened with ``data_only=True``); a formula without one is refused naming the cell.
    """
    cell = ws.cell(row=row, column=column)
    value = cell.value
    if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=") and cell.data_type != "s"):
        text = str(value).strip().upper().replace(" ", "")
        if text in _BOOL_FORMULAS:
            return _BOOL_FORMULAS[text]
        cached = None if values is None else values[ws.title].cell(row=row, column=column).value
        if cached is None:
            raise WorkbookError(
                f"{where}, cell {cell.coordinate}: holds the formula {value} without a stored value; "
                "type the value, or save the file in a spreadsheet application first"
            )
        value = cached
    return _plain(value)


def inputs_key_cells(ws: Any) -> dict[str, str]:
    """Config key -> value cell address (``B7``) for the key rows of an Inputs sheet."""
    out: dict[str, str] = {}
    for row in range(L.FIRST_ROW, ws.max_row + 1):
        key = ws.cell(row=row, column=L.INPUT_COL_KEY).value
        if isinstance(key, str) and re.fullmatch(r"[a-z_]+\.[a-z_]+", key.strip()):
            out[key.strip()] = f"{ws.cell(row=row, column=L.INPUT_COL_VALUE).column_letter}{row}"
    return out


def _table(
    ws: Any, title: str, ncols: int, where: str = "", values: Any = None
) -> list[tuple[int, list[Any]]]:
    """Rows (row number, values) of the Inputs table whose title cell is ``title``."""
    start = None
    for row in range(1, ws.max_row + 1):
        if ws.cell(row=row, column=1).value == title:
            start = row + 2  # title row, header row, body
            break
    if start is None:
        return []
    rows = []
    for row in range(start, ws.max_row + 1):
        vals = [_cell(ws, row, c, where, values) for c in range(1, ncols + 1)]
        if all(v is None or v == "" for v in vals):
            break
        rows.append((row, vals))
    return rows


def read_about_risk_inputs(wb: Any) -> dict[str, str]:
    """The risk-input files a report was last built or refreshed with, from its About sheet.

    Returns ``{source key: file}`` for the rows of :data:`layout.ABOUT_RISK_INPUTS` that name
    a file (not ``none``); an older report without those rows, or without About, gives ``{}``.
    """
    if L.SHEET_ABOUT not in wb.sheetnames:
        return {}
    ws = wb[L.SHEET_ABOUT]
    labels = {label: key for key, (label, _flag) in L.ABOUT_RISK_INPUTS.items()}
    out: dict[str, str] = {}
    for row in ws.iter_rows(min_row=1, max_col=2, values_only=True):
        key = labels.get(row[0]) if row and isinstance(row[0], str) else None
        if key and isinstance(row[1], str) and row[1].strip() and row[1].strip() != "none":
            out[key] = row[1].strip()
    return out


def read_config_sheet(wb: Any, source: str, base: PlanConfig | None = None, values: Any = None) -> PlanConfig:
    """Read the Inputs sheet back into a validated :class:`PlanConfig`.

    The key rows and the three tables become ``(key, value)`` pairs parsed by
    :func:`engine.config.config_from_pairs` (the parser the ``VA_`` functions' ``cfg`` argument
    uses too).  Keys not on the sheet, and blank values, keep the values of ``base`` (default:
    the plan's defaults).  An invalid value raises :class:`WorkbookError` naming the sheet, the
    cell and the rule.

    Files saved by other writers read the same (LibreOffice's ``=TRUE()`` booleans and own
    number formats, Gnumeric, openpyxl): a formula cell gives its cached value from ``values``
    (the workbook opened with ``data_only=True``); numbers stored as text, percents and dates
    as serial numbers or datetimes are normalized by :func:`engine.config.config_from_pairs`.
    """
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    ws = _sheet(wb, L.SHEET_INPUTS, source)
    cells = inputs_key_cells(ws)
    where = f"{source}, sheet {L.SHEET_INPUTS}"
    pairs: list[tuple[str, Any]] = []
    for key, addr in cells.items():
        letter, row = coordinate_from_string(addr)
        pairs.append((key, _cell(ws, row, column_index_from_string(letter), where, values)))
    ladder = _table(ws, L.LADDER_TABLE_TITLE, 2, where, values)
    if ladder:
        pairs += [
            ("strikes.strikes", [v[0] for _, v in ladder]),
            ("strikes.weights", [v[1] for _, v in ladder]),
        ]
    hedge = _table(ws, L.HEDGE_TABLE_TITLE, 3, where, values)
    if hedge:
        pairs.append(("hedge.ladder", [{"moneyness": v[0], "share": v[1], "dte": v[2]} for _, v in hedge]))
    reinv = _table(ws, L.REINVEST_TABLE_TITLE, 4, where, values)
    if reinv:
        pairs.append(
            (
                "reinvestment",
                [
                    {
                        "action": str(v[0] or ""),
                        "strikes": [] if v[1] is None else v[1],
                        "share": v[2],
                        "reasoning": str(v[3] or ""),
                    }
                    for _, v in reinv
                ],
            )
        )
    try:
        return config_from_pairs(pairs, source=where, base=base)
    except ConfigError as exc:
        msg = str(exc)
        for key, addr in cells.items():
            if f": unknown config key {key!r}" in msg:
                msg = msg.replace(f"{where}: ", f"{where}, cell D{addr[1:]}: ", 1)
                break
            if f": {key}:" in msg or f": {key}[" in msg:
                msg = msg.replace(f": {key}", f", cell {addr} ({key})", 1)
                break
        raise WorkbookError(msg) from None


_DATE_COLUMNS = ("expiry", "open_date")
#: Positions input columns a report may lack (written before stock rows had a shares column).
_OPTIONAL_POSITION_KEYS = ("shares",)


def excel_serial_date(value: Any) -> Any:
    """An Excel date serial (1900 system, 1 = 1900-01-01; e.g. 45947) as a date; anything else unchanged.

    >>> excel_serial_date(45947), excel_serial_date("2025-10-17"), excel_serial_date(None)
    (datetime.date(2025, 10, 17), '2025-10-17', None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if not (1 <= value < 2958466) or float(value) != int(value):
        return value
    return _dt.date(1899, 12, 30) + _dt.timedelta(days=int(value))


def read_positions_sheet(wb: Any, source: str, values: Any = None) -> Any:
    """Read the Positions sheet's input columns into the engine's positions table.

    Uses :func:`engine.data.positions.positions_from_records` (``row_label="row"``), so a bad cell
    is reported as ``report.xlsx, sheet Positions, row 5, column 'strike': ...``.  A formula
    cell gives its cached value from ``values`` (the workbook opened with ``data_only=True``);
    dates saved as serial numbers (a writer that dropped the date format) are read as dates.
    Columns are found by :func:`engine.data.positions.header_key` of their header ("Premium
    ($/share)" is ``premium``), so a report of any version and a hand-typed header both read;
    stock rows (kind = stock, shares, cost per share in premium) are read like a positions CSV's.
    """
    from engine.data.positions import header_key, positions_from_records

    ws = _sheet(wb, L.SHEET_POSITIONS, source)
    header_row = positions_header_row(ws)
    first_row = header_row + 1
    headers = [header_key(ws.cell(row=header_row, column=c).value) for c in range(1, ws.max_column + 1)]
    cols = {}
    for c in L.POSITION_INPUT_COLUMNS:
        if c.key not in headers:
            if c.key in _OPTIONAL_POSITION_KEYS:  # a report written before the column existed
                continue
            raise WorkbookError(
                f"{source}, sheet {L.SHEET_POSITIONS}: header row {header_row} has no "
                f"column {c.header!r} (expected {', '.join(repr(k.header) for k in L.POSITION_INPUT_COLUMNS)})"
            )
        cols[c.key] = headers.index(c.key) + 1
    records = []
    for row in range(first_row, ws.max_row + 1):
        rec = {k: _cell(ws, row, c, f"{source}, sheet {L.SHEET_POSITIONS}", values) for k, c in cols.items()}
        for k in _DATE_COLUMNS:
            if k in rec:
                rec[k] = excel_serial_date(rec[k])
        if all(v is None or v == "" for v in rec.values()):
            break
        if isinstance(rec.get("underlying"), str) and rec["underlying"].upper() == "TOTAL":
            break
        records.append({k: ("" if v is None else v) for k, v in rec.items()})
    return positions_from_records(
        records, source=f"{source}, sheet {L.SHEET_POSITIONS}", first_row=first_row, row_label="row"
    )


def positions_header_row(ws: Any) -> int:
    """The header row of a Positions sheet: row 2 of a report (row 1 is the stale banner), row 1
    of the template and of reports written before the banner existed."""
    from engine.data.positions import header_key

    first_key = L.POSITION_INPUT_COLUMNS[0].key
    return (
        L.REPORT_HEADER_ROW
        if header_key(ws.cell(row=L.REPORT_HEADER_ROW, column=1).value) == first_key
        else L.HEADER_ROW
    )
