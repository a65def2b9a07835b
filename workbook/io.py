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

__all__ = ["WorkbookError", "atomic_save", "atomic_write_bytes", "lock_file_for", "check_not_locked",
           "read_about_risk_inputs", "backup_path", "make_backup", "load_user_workbook", "read_config_sheet",
           "read_positions_sheet", "inputs_key_cells"]


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
        raise WorkbookError(f"{path}: the file is open in Excel (lock file {lock.name} exists); "
                            "close it in Excel and run again")
    lo_lock = path.with_name(".~lock." + path.name + "#")
    if lo_lock.exists():
        raise WorkbookError(f"{path}: the file is open in LibreOffice (lock file {lo_lock.name} exists); "
                            "close it and run again")


def _writable_dir(path: Path) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise WorkbookError(f"{path}: cannot write the report: folder {folder} does not exist")
    if not folder.is_dir():
        raise WorkbookError(f"{path}: cannot write the report: {folder} is not a folder")
    return folder


def atomic_write_bytes(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path`` atomically.

    The temporary file lives in the same folder (so :func:`os.replace` is atomic on one file
    system) and is removed if ``write`` raises anything, including ``KeyboardInterrupt``.
    """
    path = Path(path)
    check_not_locked(path)
    folder = _writable_dir(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".~volarb-", suffix=".tmp", dir=folder)
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
        raise WorkbookError("defusedxml is not installed: install it (pip install defusedxml) so that "
                            "workbooks from users are parsed safely")
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


def _plain(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0, 0):
            return value.date()
        return value
    if isinstance(value, str):
        return value.strip()
    return value


def inputs_key_cells(ws: Any) -> dict[str, str]:
    """Config key -> value cell address (``B7``) for the key rows of an Inputs sheet."""
    out: dict[str, str] = {}
    for row in range(L.FIRST_ROW, ws.max_row + 1):
        key = ws.cell(row=row, column=L.INPUT_COL_KEY).value
        if isinstance(key, str) and re.fullmatch(r"[a-z_]+\.[a-z_]+", key.strip()):
            out[key.strip()] = f"{ws.cell(row=row, column=L.INPUT_COL_VALUE).column_letter}{row}"
    return out


def _table(ws: Any, title: str, ncols: int) -> list[tuple[int, list[Any]]]:
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
        vals = [_plain(ws.cell(row=row, column=c).value) for c in range(1, ncols + 1)]
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


def read_config_sheet(wb: Any, source: str, base: PlanConfig | None = None) -> PlanConfig:
    """Read the Inputs sheet back into a validated :class:`PlanConfig`.

    The key rows and the three tables become ``(key, value)`` pairs parsed by
    :func:`engine.config.config_from_pairs` (the parser the ``VA_`` functions' ``cfg`` argument
    uses too).  Keys not on the sheet, and blank values, keep the values of ``base`` (default:
    the plan's defaults).  An invalid value raises :class:`WorkbookError` naming the sheet, the
    cell and the rule.
    """
    ws = _sheet(wb, L.SHEET_INPUTS, source)
    cells = inputs_key_cells(ws)
    where = f"{source}, sheet {L.SHEET_INPUTS}"
    pairs: list[tuple[str, Any]] = [(key, _plain(ws[addr].value)) for key, addr in cells.items()]
    ladder = _table(ws, L.LADDER_TABLE_TITLE, 2)
    if ladder:
        pairs += [("strikes.strikes", [v[0] for _, v in ladder]), ("strikes.weights", [v[1] for _, v in ladder])]
    hedge = _table(ws, L.HEDGE_TABLE_TITLE, 3)
    if hedge:
        pairs.append(("hedge.ladder", [{"moneyness": v[0], "share": v[1], "dte": v[2]} for _, v in hedge]))
    reinv = _table(ws, L.REINVEST_TABLE_TITLE, 4)
    if reinv:
        pairs.append(("reinvestment", [{"action": str(v[0] or ""), "strikes": [] if v[1] is None else v[1],
                                        "share": v[2], "reasoning": str(v[3] or "")} for _, v in reinv]))
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


def read_positions_sheet(wb: Any, source: str) -> Any:
    """Read the Positions sheet's input columns into the engine's positions table.

    Uses :func:`engine.data.positions.positions_from_records` (``row_label="row"``), so a bad cell
    is reported as ``report.xlsx, sheet Positions, row 5, column 'strike': ...``.
    """
    from engine.data.positions import positions_from_records

    ws = _sheet(wb, L.SHEET_POSITIONS, source)
    headers = [ws.cell(row=L.HEADER_ROW, column=c).value for c in range(1, ws.max_column + 1)]
    cols = {}
    for _, key, _, _ in L.POSITION_INPUT_COLUMNS:
        if key not in headers:
            raise WorkbookError(f"{source}, sheet {L.SHEET_POSITIONS}: header row {L.HEADER_ROW} has no "
                                f"column {key!r} (expected {', '.join(k for _, k, _, _ in L.POSITION_INPUT_COLUMNS)})")
        cols[key] = headers.index(key) + 1
    records = []
    for row in range(L.FIRST_ROW, ws.max_row + 1):
        rec = {k: _plain(ws.cell(row=row, column=c).value) for k, c in cols.items()}
        if all(v is None or v == "" for v in rec.values()):
            break
        if isinstance(rec.get("underlying"), str) and rec["underlying"].upper() == "TOTAL":
            break
        records.append({k: ("" if v is None else v) for k, v in rec.items()})
    return positions_from_records(records, source=f"{source}, sheet {L.SHEET_POSITIONS}",
                                  first_row=L.FIRST_ROW, row_label="row")
