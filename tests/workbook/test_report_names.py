"""Defined names Excel accepts, validation and protection of the report, and `volarb build`
never losing work (backup or refusal, stale temporary files cleaned)."""

from __future__ import annotations

import os
import time

import openpyxl
import pytest
from conftest import run_cli

from engine.config import default_config
from engine.data.positions import example_positions
from workbook import layout as L
from workbook.compute import compute_report
from workbook.io import atomic_save
from workbook.report import write_report
from workbook.report.names import excel_name_problem, workbook_name_problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("names") / "r.xlsx"
    atomic_save(write_report(compute_report(default_config(), example_positions(), paths=50, seed=3)), path)
    return openpyxl.load_workbook(path)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("VaR95", "reads as the cell VAR95"),
        ("ES95", "reads as the cell ES95"),
        ("XFD1048576", "reads as the cell"),
        ("A1", "reads as the cell A1"),
        ("R", "R1C1"),
        ("C", "R1C1"),
        ("RC", "R1C1"),
        ("R2C3", "R1C1"),
        ("R12", "reads as the cell R12"),
        ("C7", "reads as the cell C7"),
        ("Cx1", "reads as the cell CX1"),
        ("1Spot", "must start"),
        ("Spot price", "only letters"),
        ("", "1 to 255"),
        ("x" * 256, "1 to 255"),
        ("Spot-1", "only letters"),
    ],
)
def test_names_excel_refuses(name, problem):
    assert problem in (excel_name_problem(name) or ""), name


@pytest.mark.parametrize(
    "name",
    [
        "ValueAtRisk",
        "ExpectedShortfall",
        "Spot",
        "XFE1",
        "A1048577",
        "VaR_95",
        "_x",
        "Model.Spot",
        "PosStrike",
        "RCs",
        "Rate",
        "R1C1x",
    ],
)
def test_names_excel_accepts(name):
    assert excel_name_problem(name) is None


def test_every_report_name_is_valid(report):
    assert workbook_name_problems(report) == []
    assert "ValueAtRisk" in report.defined_names and "VaR95" not in report.defined_names


def test_every_template_name_is_valid():
    wb = openpyxl.load_workbook(os.path.join(ROOT, "templates", "volarb-template.xlsx"))
    assert workbook_name_problems(wb) == []
    assert "ValueAtRisk" in wb.defined_names and "ExpectedShortfall" in wb.defined_names


def test_define_name_refuses_a_cell_address():
    from workbook.report.cells import define_name

    wb = openpyxl.Workbook()
    with pytest.raises(ValueError, match="VaR95.*reads as the cell VAR95"):
        define_name(wb, "VaR95", "Sheet", "B2")


def test_positions_totals_use_dynamic_ranges(report):
    """No fixed Positions range in any formula: totals go through the OFFSET names."""
    bad = [
        (ws.title, c.coordinate)
        for ws in report
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f" and f"'{L.SHEET_POSITIONS}'!$" in str(c.value)
    ]
    assert bad == []
    dn = report.defined_names["PosContracts"].attr_text
    assert dn.startswith("OFFSET('Positions'!$F$3,0,0,MAX(1,COUNTA('Positions'!$A$3:$A$5002)),1)")


def test_every_input_cell_is_validated_and_unlocked(report):
    """Each Inputs value cell and Positions input cell has a data validation (range or list) and
    is unlocked; formula cells are locked; every sheet is protected without a password."""
    from workbook.io import inputs_key_cells

    ws = report[L.SHEET_INPUTS]
    covered = set()
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in ws[rng.coord] if ":" in rng.coord else [[ws[rng.coord]]]:
                covered.update(c.coordinate for c in row)
    rules = {k: a for k, a in inputs_key_cells(ws).items()}
    from workbook.report.inputs import input_rules

    ruled = input_rules(default_config())
    for key, addr in rules.items():
        r = ruled[key]
        if r.kind in ("bool",) or r.choices or r.lo is not None or r.hi is not None:
            assert addr in covered, key
        assert ws[addr].protection.locked is False, key
    spot = next(dv for dv in ws.data_validations.dataValidation if rules["market.spot"] in str(dv.sqref))
    assert (spot.type, spot.operator, spot.formula1) == ("decimal", "greaterThan", "0.0")  # Spot 0 refused
    share = next(
        dv for dv in ws.data_validations.dataValidation if rules["allocation.call_share"] in str(dv.sqref)
    )
    assert (share.operator, share.formula1, share.formula2) == (
        "between",
        "0.0",
        "1.0",
    )  # CallShare 1.5 refused
    model = next(dv for dv in ws.data_validations.dataValidation if rules["capital.model"] in str(dv.sqref))
    assert model.type == "list" and model.formula1 == '"premium,cash_secured,reg_t"'
    for sheet in report:
        assert sheet.protection.sheet is True and not sheet.protection.password, sheet.title
        for row in sheet.iter_rows():
            for c in row:
                if c.data_type == "f":
                    assert c.protection.locked is not False, (sheet.title, c.coordinate)


def test_build_refuses_to_replace_without_force(capsys, tmp_path):
    out = tmp_path / "r.xlsx"
    assert run_cli(capsys, "build", "--out", out, "--paths", "20")[0] == 0
    wb = openpyxl.load_workbook(out)
    wb.create_sheet("Mine")["A1"] = "my work"
    wb.save(out)
    code, _, err = run_cli(capsys, "build", "--out", out, "--paths", "20")
    assert code == 2 and "already exists" in err and "--force" in err and "Traceback" not in err
    assert openpyxl.load_workbook(out)["Mine"]["A1"].value == "my work"
    code, stdout, err = run_cli(capsys, "build", "--out", out, "--paths", "20", "--force")
    assert code == 0, err
    backup = tmp_path / "r.bak.xlsx"
    assert f"backup of the previous file: {backup}" in stdout
    assert openpyxl.load_workbook(backup)["Mine"]["A1"].value == "my work"
    assert "Mine" not in openpyxl.load_workbook(out).sheetnames


def test_stale_temp_files_of_a_killed_run_are_cleaned(capsys, tmp_path):
    old = tmp_path / ".~volarb-killed.tmp"
    old.write_bytes(b"half a workbook")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    fresh = tmp_path / ".~volarb-running.tmp"  # another run writing right now
    fresh.write_bytes(b"")
    mine = tmp_path / "notes.tmp"
    mine.write_bytes(b"not volarb's")
    assert run_cli(capsys, "build", "--out", tmp_path / "r.xlsx", "--paths", "20")[0] == 0
    assert not old.exists() and fresh.exists() and mine.exists()
