"""workbook.io: atomic writes, Excel lock files, backups, reading Inputs/Positions back safely."""

from __future__ import annotations

import os

import openpyxl
import pytest

from engine.config import default_config
from workbook import io as wio
from workbook import layout as L


def _wb(value: str) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.active["A1"] = value
    return wb


def test_atomic_save_replaces_and_leaves_no_temp(tmp_path):
    out = tmp_path / "r.xlsx"
    wio.atomic_save(_wb("one"), out)
    wio.atomic_save(_wb("two"), out)
    assert openpyxl.load_workbook(out).active["A1"].value == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_save_keeps_old_file(tmp_path, monkeypatch, exc):
    out = tmp_path / "r.xlsx"
    wio.atomic_save(_wb("old"), out)
    before = out.read_bytes()
    wb = _wb("new")
    real_save = openpyxl.Workbook.save

    def half_save(self, filename):
        real_save(self, filename)
        with open(filename, "r+b") as fh:  # simulate a crash half-way through writing
            fh.truncate(100)
        raise exc("interrupted mid-write")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_save)
    with pytest.raises(exc):
        wio.atomic_save(wb, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_lock_file_message(tmp_path):
    out = tmp_path / "report.xlsx"
    wio.atomic_save(_wb("x"), out)
    (tmp_path / "~$report.xlsx").write_bytes(b"owner")
    with pytest.raises(
        wio.WorkbookError, match=r"report.xlsx: the file is open in Excel \(lock file ~\$report.xlsx exists\)"
    ):
        wio.atomic_save(_wb("y"), out)
    assert openpyxl.load_workbook(out).active["A1"].value == "x"


def test_libreoffice_lock_file_message(tmp_path):
    out = tmp_path / "report.xlsx"
    (tmp_path / ".~lock.report.xlsx#").write_text("x")
    with pytest.raises(wio.WorkbookError, match="open in LibreOffice"):
        wio.check_not_locked(out)


def test_unwritable_folder_message(tmp_path):
    with pytest.raises(wio.WorkbookError, match="folder .* does not exist"):
        wio.atomic_save(_wb("x"), tmp_path / "no" / "r.xlsx")
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(wio.WorkbookError, match="is not a folder"):
        wio.atomic_save(_wb("x"), afile / "r.xlsx")


def test_backup(tmp_path):
    out = tmp_path / "rep.xlsx"
    wio.atomic_save(_wb("v1"), out)
    bak = wio.make_backup(out)
    assert bak.name == "rep.bak.xlsx"
    assert bak.read_bytes() == out.read_bytes()


def test_defusedxml_active():
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True


def test_load_user_workbook_errors(tmp_path):
    with pytest.raises(wio.WorkbookError, match="missing.xlsx: file not found"):
        wio.load_user_workbook(tmp_path / "missing.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(wio.WorkbookError, match="bad.xlsx: not a readable .xlsx workbook"):
        wio.load_user_workbook(bad)


def test_load_refuses_billion_laughs(tmp_path):
    """An entity-expansion bomb in a sheet is refused by defusedxml, reported as unreadable."""
    import zipfile

    src = tmp_path / "ok.xlsx"
    openpyxl.Workbook().save(src)
    bomb = tmp_path / "bomb.xlsx"
    evil = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>'
    )
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = evil.encode()
            zout.writestr(item, data)
    with pytest.raises(wio.WorkbookError, match="not a readable .xlsx workbook"):
        wio.load_user_workbook(bomb)


@pytest.fixture(scope="module")
def inputs_book():
    """A report workbook with only Inputs and Positions (no engine run needed)."""
    import pandas as pd

    from engine.data.positions import example_positions
    from workbook.compute import ReportInputs
    from workbook.report import new_workbook, write_inputs, write_positions_inputs

    data = ReportInputs(config=default_config(), positions=example_positions(), meta={})
    wb = new_workbook()
    write_inputs(wb, data)
    ws = wb.create_sheet(L.SHEET_POSITIONS)
    write_positions_inputs(ws, data)
    assert isinstance(data.positions, pd.DataFrame)
    return wb


def _copy(wb, tmp_path):
    p = tmp_path / "in.xlsx"
    wb.save(p)
    return openpyxl.load_workbook(p)


def test_inputs_round_trip(inputs_book, tmp_path):
    wb = _copy(inputs_book, tmp_path)
    assert wio.read_config_sheet(wb, "in.xlsx") == default_config()


def test_inputs_edit_is_read(inputs_book, tmp_path):
    wb = _copy(inputs_book, tmp_path)
    cells = wio.inputs_key_cells(wb[L.SHEET_INPUTS])
    wb[L.SHEET_INPUTS][cells["account.monthly_addition"]] = 5000
    wb[L.SHEET_INPUTS][cells["market.valuation_date"]] = __import__("datetime").datetime(2025, 10, 1)
    cfg = wio.read_config_sheet(wb, "in.xlsx")
    assert cfg.account.monthly_addition == 5000.0
    assert cfg.market.valuation_date == "2025-10-01"


def test_inputs_bad_value_names_cell(inputs_book, tmp_path):
    wb = _copy(inputs_book, tmp_path)
    addr = wio.inputs_key_cells(wb[L.SHEET_INPUTS])["market.spot"]
    wb[L.SHEET_INPUTS][addr] = -3
    with pytest.raises(wio.WorkbookError) as info:
        wio.read_config_sheet(wb, "rep.xlsx")
    assert str(info.value) == f"rep.xlsx, sheet Inputs, cell {addr} (market.spot): must be > 0, got -3.0"


def test_inputs_unknown_key_names_cell(inputs_book, tmp_path):
    wb = _copy(inputs_book, tmp_path)
    ws = wb[L.SHEET_INPUTS]
    ws.cell(row=2, column=L.INPUT_COL_KEY).value = "market.spott"
    with pytest.raises(
        wio.WorkbookError, match=r"rep.xlsx, sheet Inputs, cell D2: unknown config key 'market.spott'"
    ):
        wio.read_config_sheet(wb, "rep.xlsx")


def test_inputs_ladder_weights_rule(inputs_book, tmp_path):
    wb = _copy(inputs_book, tmp_path)
    ws = wb[L.SHEET_INPUTS]
    for r in range(1, ws.max_row + 1):
        if ws.cell(row=r, column=1).value == L.LADDER_TABLE_TITLE:
            ws.cell(row=r + 2, column=2).value = 0.5
    with pytest.raises(wio.WorkbookError, match="strikes.weights must sum to 1"):
        wio.read_config_sheet(wb, "rep.xlsx")


def test_positions_round_trip(inputs_book, tmp_path):
    from engine.data.positions import example_positions

    wb = _copy(inputs_book, tmp_path)
    got = wio.read_positions_sheet(wb, "in.xlsx")
    exp = example_positions()
    assert got[["strike", "contracts", "premium", "expiry", "kind", "side"]].equals(
        exp[["strike", "contracts", "premium", "expiry", "kind", "side"]]
    )


def test_positions_bad_cell_names_row(inputs_book, tmp_path):
    wb = _copy(inputs_book, tmp_path)
    wb[L.SHEET_POSITIONS]["D4"] = "abc"
    with pytest.raises(Exception) as info:
        wio.read_positions_sheet(wb, "rep.xlsx")
    msg = str(info.value)
    assert "rep.xlsx, sheet Positions, row 4, column 'strike'" in msg and "'abc'" in msg


def test_positions_formula_text_stays_text(inputs_book, tmp_path):
    wb = _copy(inputs_book, tmp_path)
    from workbook.report.positions import positions_table

    cell = wb[L.SHEET_POSITIONS][f"{positions_table(None, 0).letter('note')}{L.REPORT_FIRST_ROW}"]
    cell.value = '=HYPERLINK("http://x","y")'
    cell.data_type = "s"
    p = tmp_path / "t.xlsx"
    wb.save(p)
    got = wio.read_positions_sheet(wio.load_user_workbook(p), "t.xlsx")
    assert got["note"].iloc[0] == '=HYPERLINK("http://x","y")'


def test_positions_missing_header(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = L.SHEET_POSITIONS
    wb.active["A1"] = "underlying"
    with pytest.raises(wio.WorkbookError, match=r"header row 1 has no column 'Kind \(put/call/stock\)'"):
        wio.read_positions_sheet(wb, "x.xlsx")


def test_missing_sheet(tmp_path):
    wb = openpyxl.Workbook()
    with pytest.raises(wio.WorkbookError, match="x.xlsx: sheet 'Inputs' not found"):
        wio.read_config_sheet(wb, "x.xlsx")


def test_new_file_permissions_follow_umask(tmp_path):
    out = tmp_path / "p.xlsx"
    wio.atomic_save(_wb("x"), out)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
