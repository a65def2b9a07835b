"""Reports edited or saved by other writers read back: TRUE() booleans, formula cells, text numbers, serial dates."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from conftest import run_cli

from engine.config import ConfigError, config_from_pairs
from workbook import layout as L
from workbook.cached import add_cached_values
from workbook.io import (
    WorkbookError,
    excel_serial_date,
    inputs_key_cells,
    load_user_workbook,
    read_config_sheet,
    read_positions_sheet,
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from engine.config import default_config
    from engine.data.positions import example_positions
    from workbook.compute import compute_report
    from workbook.io import atomic_save
    from workbook.report import write_report

    path = tmp_path_factory.mktemp("rt") / "report.xlsx"
    atomic_save(write_report(compute_report(default_config(), example_positions(), paths=200, seed=7)), path)
    return path


def _edit(report, tmp_path, inputs=None, positions=None, cache=False):
    wb = openpyxl.load_workbook(report)
    cells = inputs_key_cells(wb[L.SHEET_INPUTS])
    for key, value in (inputs or {}).items():
        wb[L.SHEET_INPUTS][cells[key]] = value
    for addr, value in (positions or {}).items():
        wb[L.SHEET_POSITIONS][addr] = value
    path = tmp_path / "edited.xlsx"
    wb.save(path)
    if cache:
        add_cached_values(path)
    return path


def _read(path):
    wb, values = load_user_workbook(path), load_user_workbook(path, data_only=True)
    return read_config_sheet(wb, str(path), values=values), read_positions_sheet(wb, str(path), values=values)


def test_libreoffice_booleans_text_numbers_and_percents(report, tmp_path):
    # as LibreOffice and hand edits leave them: =TRUE()/=FALSE() formulas, "30%" and "$5,000" text
    path = _edit(
        report,
        tmp_path,
        {
            "strikes.use_monthly_expiry": "=FALSE()",
            "hedge.use_dynamic_ratio": "=TRUE()",
            "allocation.call_share": "30%",
            "account.monthly_addition": "$5,000",
        },
    )
    cfg, _ = _read(path)
    assert cfg.strikes.use_monthly_expiry is False and cfg.hedge.use_dynamic_ratio is True
    assert cfg.allocation.call_share == pytest.approx(0.30) and cfg.account.monthly_addition == 5000.0


def test_formula_inputs_take_their_cached_values_and_refuse_without_one(report, tmp_path, capsys):
    # 2,000 + 2,500 = 4,500 as a formula, with the value cached (as Excel or LibreOffice would store it)
    path = _edit(report, tmp_path, {"account.monthly_addition": "=2000+2500"}, cache=True)
    cfg, _ = _read(path)
    assert cfg.account.monthly_addition == 4500.0
    bare = _edit(report, tmp_path, {"account.monthly_addition": "=2000+2500"})
    cell = inputs_key_cells(openpyxl.load_workbook(bare)[L.SHEET_INPUTS])["account.monthly_addition"]
    with pytest.raises(
        WorkbookError,
        match=rf"sheet Inputs, cell {cell}: holds the formula =2000\+2500 without a "
        "stored value",
    ):
        _read(bare)
    code, _, err = run_cli(capsys, "refresh", bare, "--paths", 200)
    assert code == 2 and f"cell {cell}" in err and "Traceback" not in err


def test_positions_dates_as_serials_datetimes_and_numbers_as_text(report, tmp_path):
    # first lot: expiry 2025-10-17 as the serial 45947 (a writer that dropped the date format),
    # contracts and premium as text; second lot: expiry as a datetime at midnight
    from workbook.io import positions_header_row
    from workbook.report.positions import positions_table

    a = positions_header_row(openpyxl.load_workbook(report)[L.SHEET_POSITIONS]) + 1
    e, f, g = (positions_table(None, 0).letter(k) for k in ("expiry", "contracts", "premium"))
    path = _edit(
        report,
        tmp_path,
        positions={
            f"{e}{a}": 45947,
            f"{f}{a}": "6",
            f"{g}{a}": " 0.55",
            f"{e}{a + 1}": dt.datetime(2025, 11, 21),
        },
    )
    _, pos = _read(path)
    assert pos["expiry"].iloc[0] == dt.date(2025, 10, 17) and pos["expiry"].iloc[1] == dt.date(2025, 11, 21)
    assert int(pos["contracts"].iloc[0]) == 6 and float(pos["premium"].iloc[0]) == pytest.approx(0.55)


def test_serial_dates_and_boolean_formulas_in_the_config_parser():
    # 45927 = 2025-09-27 (Excel's 1900 system: day 1 is 1900-01-01, with the 1900 leap-day bug)
    assert excel_serial_date(45927) == dt.date(2025, 9, 27) and excel_serial_date(1.5) == 1.5
    cfg = config_from_pairs([("market.valuation_date", 45927.0), ("strikes.use_monthly_expiry", " =true() ")])
    assert cfg.market.valuation_date == "2025-09-27" and cfg.strikes.use_monthly_expiry is True
    with pytest.raises(ConfigError, match="use_monthly_expiry"):
        config_from_pairs([("strikes.use_monthly_expiry", "=MAYBE()")])


def test_refresh_of_an_openpyxl_saved_report_keeps_the_figures(report, tmp_path, capsys):
    import json

    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    a.write_bytes(report.read_bytes())
    openpyxl.load_workbook(report).save(b)  # openpyxl as the writer: same cells, its own serialization
    outs = []
    for p in (a, b):
        code, out, err = run_cli(capsys, "refresh", p, "--json", "--paths", 200, "--seed", 7)
        assert code == 0, err
        d = json.loads(out)
        outs.append({k: d[k] for k in ("premium_split", "book", "allocation", "var")})
    assert outs[0] == outs[1]
