"""The volarb command line: every error path exits 2 with one clear line and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import run_cli

from workbook.cli import main

REPO = Path(__file__).resolve().parents[2]
GOOD_CSV = (
    "underlying,kind,side,strike,expiry,contracts,premium,open_date,iv,note\n"
    "ASST,put,short,2.50,2025-10-17,5,0.98,,,first\n"
    'ASST,put,short,3.00,2025-11-21,2,1.22,,,=HYPERLINK("http://x")\n'
)


run = run_cli


def assert_clean_error(code, err, *fragments):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture
def good_csv(tmp_path):
    p = tmp_path / "positions.csv"
    p.write_text(GOOD_CSV)
    return p


def test_build_and_json(capsys, tmp_path, good_csv):
    out = tmp_path / "r.xlsx"
    code, stdout, err = run(
        capsys,
        "build",
        "--positions",
        str(good_csv),
        "--out",
        str(out),
        "--paths",
        "100",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    d = json.loads(stdout)
    assert d["meta"]["out"] == str(out) and d["meta"]["paths"] == 100 and d["meta"]["seed"] == 3
    assert abs(d["premium_split"]["premium"] - (5 * 0.98 + 2 * 1.22) * 100) < 1e-9
    wb = openpyxl.load_workbook(out)
    from workbook.report.positions import positions_table

    note = wb["Positions"][f"{positions_table(None, 0).letter('note')}4"]
    assert note.value == '=HYPERLINK("http://x")' and note.data_type == "s"


def test_build_default_writes_in_cwd(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, err = run(capsys, "build", "--paths", "100")
    assert code == 0, err
    assert (tmp_path / "volarb-report.xlsx").exists()
    assert "wrote volarb-report.xlsx" in stdout and "premium collected $" in stdout


def test_refresh_keeps_backup(capsys, tmp_path):
    out = tmp_path / "r.xlsx"
    assert run(capsys, "build", "--out", str(out), "--paths", "100")[0] == 0
    wb = openpyxl.load_workbook(out)
    wb.create_sheet("Mine")["A1"] = "keep"
    wb.save(out)
    code, stdout, err = run(capsys, "refresh", str(out), "--paths", "100")
    assert code == 0, err
    assert (tmp_path / "r.bak.xlsx").exists()
    assert openpyxl.load_workbook(out)["Mine"]["A1"].value == "keep"


def test_bad_csv_row(capsys, tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(GOOD_CSV.replace("3.00,2025-11-21", "abc,2025-11-21"))
    code, _, err = run(capsys, "check", "--positions", str(p))
    assert_clean_error(code, err, "bad.csv", "line 3", "'strike'", "'abc'")


def test_bad_toml_key(capsys, tmp_path):
    p = tmp_path / "plan.toml"
    p.write_text("[market]\nspott = 3.0\n")
    code, _, err = run(capsys, "check", "--config", str(p))
    assert_clean_error(code, err, "plan.toml", "market", "unknown key 'spott'")


def test_bad_toml_value(capsys, tmp_path):
    p = tmp_path / "plan.toml"
    p.write_text("[market]\nspot = -1\n")
    code, _, err = run(capsys, "build", "--config", str(p), "--out", str(tmp_path / "x.xlsx"))
    assert_clean_error(code, err, "plan.toml: market.spot: must be > 0")
    assert not (tmp_path / "x.xlsx").exists()


def test_invalid_toml_syntax(capsys, tmp_path):
    p = tmp_path / "plan.toml"
    p.write_text("[market\n")
    code, _, err = run(capsys, "check", "--config", str(p))
    assert_clean_error(code, err, "plan.toml: invalid TOML")


@pytest.mark.parametrize("flag", ["--positions", "--config"])
def test_missing_file(capsys, tmp_path, flag):
    code, _, err = run(capsys, "check", flag, str(tmp_path / "nope.csv"))
    assert_clean_error(code, err, "nope.csv", "not found")


def test_missing_report_for_refresh(capsys, tmp_path):
    code, _, err = run(capsys, "refresh", str(tmp_path / "gone.xlsx"))
    assert_clean_error(code, err, "gone.xlsx: file not found")


def test_unwritable_output(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "build", "--out", str(blocker / "r.xlsx"), "--paths", "100")
    assert_clean_error(code, err, "r.xlsx", "is not a folder")
    code, _, err = run(capsys, "build", "--out", str(tmp_path / "missing" / "r.xlsx"), "--paths", "100")
    assert_clean_error(code, err, "does not exist")


def test_locked_output(capsys, tmp_path):
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"old")
    (tmp_path / "~$r.xlsx").write_bytes(b"lock")
    code, _, err = run(capsys, "build", "--out", str(out))
    assert_clean_error(code, err, "open in Excel", "~$r.xlsx")
    assert out.read_bytes() == b"old"


def test_bad_workbook_input_cell(capsys, tmp_path):
    out = tmp_path / "r.xlsx"
    assert run(capsys, "build", "--out", str(out), "--paths", "100")[0] == 0
    wb = openpyxl.load_workbook(out)
    wb["Positions"]["F3"] = -4
    wb.save(out)
    code, _, err = run(capsys, "refresh", str(out))
    assert_clean_error(code, err, "r.xlsx, sheet Positions, row 3, column 'contracts'")


def test_debug_shows_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "check", "--debug", "--positions", str(tmp_path / "nope.csv"))
    assert code == 2 and "Traceback" in err


def test_keyboard_interrupt_leaves_no_file(capsys, tmp_path, monkeypatch):
    import workbook.compute as comp

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(comp, "compute_report", boom)
    out = tmp_path / "r.xlsx"
    code, _, err = run(capsys, "build", "--out", str(out))
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_price_table_and_json(capsys):
    code, out, err = run(capsys, "price", "--strike", "2.5", "--days", "30", "--json")
    assert code == 0, err
    d = json.loads(out)
    from engine import american_price

    exp = american_price(3.15, 2.5, 30 / 365, 0.04, 4.25, "put")
    assert abs(d["options"][0]["price"] - exp) < 1e-12
    code, out, _ = run(capsys, "price", "--strike", "2", "2.5", "--days", "30")
    assert code == 0 and "strike" in out and "prob_itm" in out


def test_price_bad_input(capsys):
    code, _, err = run(capsys, "price", "--strike", "-2")
    assert_clean_error(code, err, "--strike: must be > 0")
    code, _, err = run(capsys, "price", "--strike", "2", "--spot", "0")
    assert_clean_error(code, err, "--spot: must be > 0")


def test_iv_round_trip(capsys):
    from engine import american_price

    p = american_price(3.15, 2.5, 30 / 365, 0.04, 4.25, "put")
    code, out, err = run(capsys, "iv", "--price", repr(p), "--strike", "2.5", "--days", "30", "--json")
    assert code == 0, err
    assert abs(json.loads(out)["options"][0]["iv"] - 4.25) < 1e-6


def test_iv_impossible_price(capsys):
    code, out, err = run(capsys, "iv", "--price", "0.01", "--strike", "5", "--days", "30")
    assert code == 2 and "below" in err and "Traceback" not in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["build", "--paths", "0"])
    assert info.value.code == 2
    assert "expected a whole number > 0" in capsys.readouterr().err


def test_plan_json(capsys):
    code, out, err = run(capsys, "plan", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert abs(d["kelly"]["full_kelly"] - (0.892 - 0.108 * 0.087 / 0.123)) < 1e-12
    assert abs(d["hedge_ratio"] - 0.35) < 1e-12


def test_risk_command(capsys):
    code, out, err = run(capsys, "risk", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert {a["alert"] for a in d["alerts"]} >= {
        "HIGH_DELTA_EXPOSURE",
        "VAR_LIMIT_BREACH",
        "CONCENTRATION_RISK",
    }
    code, _, _ = run(capsys, "risk", "--fail-on-alert")
    assert code == (1 if d["alerting"] else 0)
    code, out, _ = run(capsys, "risk")
    assert code == 0 and "alert(s) firing" in out


def test_email_not_enabled_is_clear(capsys):
    code, _, err = run(capsys, "risk", "--email")
    assert_clean_error(code, err, "email.enabled is false")


def test_help_has_examples_for_every_command():
    from workbook.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        assert "examples:" in p.format_help(), name


def test_python_dash_m(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "workbook", "check", "--positions", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "x.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_inputs_from_a_report(capsys, tmp_path):
    out = tmp_path / "r.xlsx"
    assert run(capsys, "build", "--out", str(out), "--paths", "100")[0] == 0
    code, stdout, err = run(capsys, "check", "--positions", str(out), "--config", str(out), "--json")
    assert code == 0, err
    d = json.loads(stdout)
    # the example book: 7 short-put lots (38 contracts) and 4 illustrative long-call lots (6 contracts)
    assert d["n_positions"] == 7 + 4 and d["contracts"] == 38 + 6 and "sheet Positions" in d["positions"]


def test_every_problem_of_a_bad_csv_on_its_own_line(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "underlying,kind,side,strike,expiry,contracts,premium\n"
        "ASST,put,short,abc,2025-10-17,5,0.5\n"
        "ASST,pot,short,2.5,2025-13-17,-1,0.5\n"
    )
    code, _, err = run(capsys, "check", "--positions", str(bad))
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0] == "volarb check: error: bad.csv: 4 problems in 2 rows; nothing was loaded:"
    assert lines[1:] == [
        "  bad.csv, line 2, column 'strike': expected a positive number, got 'abc'",
        "  bad.csv, line 3, column 'kind': expected put or call (P/C, any case) or stock, got 'pot'",
        "  bad.csv, line 3, column 'expiry': expected a date YYYY-MM-DD or M/D/YYYY, got '2025-13-17'",
        "  bad.csv, line 3, column 'contracts': expected a positive whole number of contracts (direction goes in 'side'), got '-1'",
    ]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (
            ("build", "--out", "report.txt"),
            "report.txt: the report is an .xlsx workbook; give --out a name ending in .xlsx",
        ),
        (
            ("template", "--out", "t.xlsx", "--macro"),
            "t.xlsx: the macro-enabled template is an .xlsm workbook",
        ),
        (("template", "--out", "t.xlsm"), "t.xlsm: the template is an .xlsx workbook"),
    ],
)
def test_output_extension_is_checked(capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert_clean_error(code, err, fragment)
    assert list(tmp_path.iterdir()) == []
