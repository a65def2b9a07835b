"""`volarb check` runs every rule `volarb build` runs: on a table of bad inputs both refuse, with
the same one-line message naming the file, line/column or key; on good inputs both pass.
Also the terminal behaviour of issue 11: --vol spellings, the global --debug, tables that fit,
projection.months at its maximum."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from conftest import run_cli as _run_cli


def run_cli(capsys, *argv):
    """As conftest's runner; an argparse refusal (SystemExit 2) comes back as its exit code."""
    try:
        return _run_cli(capsys, *argv)
    except SystemExit as exc:
        out, err = capsys.readouterr()
        return exc.code, out, err


ROOT = Path(__file__).resolve().parents[2]
HEADER = "underlying,kind,side,strike,expiry,contracts,premium,open_date,iv,note\n"

#: (case, positions CSV rows or None, config TOML or None, extra flags, text the message must hold)
BAD = [
    (
        "premium >= strike",
        "ASST,put,short,2.00,2025-10-17,5,2.50,,,\n",
        None,
        (),
        "line 2, column 'premium': 2.5 per share is not below the put's strike 2",
    ),
    (
        "7-letter ticker in positions",
        "ABCDEFG,put,short,2.00,2025-10-17,5,0.50,,,\n",
        None,
        (),
        "line 2, column 'underlying': expected a ticker of 1-6 letters or digits",
    ),
    (
        "7-letter underlying in config",
        None,
        '[market]\nunderlying = "ABCDEFG"\n',
        (),
        "market.underlying: expected a ticker of 1-6 letters or digits",
    ),
    (
        "starting value 0",
        None,
        "[account]\nstarting_value = 0\n",
        (),
        "account.starting_value: must be > 0, got 0.0",
    ),
    (
        "weights do not sum to 1",
        None,
        "[strikes]\nweights = [0.2, 0.35, 0.30, 0.10, 0.10]\n",
        (),
        "strikes.weights must sum to 1",
    ),
    (
        "bare 425 iv in positions",
        "ASST,put,short,2.00,2025-10-17,5,0.50,,425,\n",
        None,
        (),
        "column 'iv': expected an implied vol as a decimal (4.25 = 425%) at most 10",
    ),
    (
        "negative contracts",
        "ASST,put,short,2.00,2025-10-17,-5,0.50,,,\n",
        None,
        (),
        "column 'contracts': expected a positive whole number of contracts",
    ),
    ("impossible expiry", "ASST,put,short,2.00,2025-02-30,5,0.50,,,\n", None, (), "column 'expiry'"),
    (
        "months beyond the maximum",
        None,
        "[projection]\nmonths = 121\n",
        (),
        "projection.months: must be >= 1 and <= 120",
    ),
    ("bad outcomes file", None, None, ("--outcomes", "OUTCOMES"), "line 2, column outcome"),
    (
        "missing chain file",
        None,
        None,
        ("--chain", "nochain.csv"),
        "nochain.csv: option chain file not found",
    ),
]


@pytest.mark.parametrize("case,rows,toml,extra,message", BAD, ids=[b[0] for b in BAD])
def test_check_and_build_refuse_alike(capsys, tmp_path, case, rows, toml, extra, message):
    args = []
    if rows is not None:
        (tmp_path / "positions.csv").write_text(HEADER + rows)
        args += ["--positions", tmp_path / "positions.csv"]
    if toml is not None:
        (tmp_path / "plan.toml").write_text(
            '[market]\nvaluation_date = "2025-09-27"\n' + toml if "[market]" not in toml else toml
        )
        args += ["--config", tmp_path / "plan.toml"]
    if "OUTCOMES" in extra:
        (tmp_path / "o.csv").write_text(
            "underlying,kind,side,strike,expiry,outcome\nASST,put,short,2.5,2025-10-17,sold\n"
        )
    flags = [
        str(tmp_path / "o.csv") if a == "OUTCOMES" else str(tmp_path / a) if a.endswith(".csv") else a
        for a in extra
    ]
    results = {}
    for command, more in (("check", []), ("build", ["--out", tmp_path / "r.xlsx", "--paths", "20"])):
        code, out, err = run_cli(capsys, command, *args, *flags, *more)
        errors = [ln for ln in err.splitlines() if "error:" in ln]
        assert code == 2 and "Traceback" not in err, (command, err)
        assert len(errors) == 1 and message in errors[0], (command, err)
        results[command] = errors[0].split("error:", 1)[1]
    assert results["check"] == results["build"]
    assert not (tmp_path / "r.xlsx").exists()  # nothing half-written


def test_good_inputs_pass_both_and_check_warns_about_expiry(capsys, tmp_path):
    code, out, err = run_cli(capsys, "check", "--as-of", "2025-10-20")
    assert code == 0 and "every build step ran (valued 2025-10-20)" in out
    warns = [ln for ln in out.splitlines() if ln.startswith("warning:")]
    assert len(warns) == 2 and all("expired on 2025-10-17" in w and "record the outcome" in w for w in warns)
    code, out, err = run_cli(capsys, "check", "--as-of", "2025-10-14")
    assert [ln.split(":")[1].strip() for ln in out.splitlines() if ln.startswith("warning:")] == [
        "ASST 2025-10-17 P2 short",
        "ASST 2025-10-17 P2.5 short",
    ]
    code, _, err = run_cli(
        capsys, "build", "--as-of", "2025-10-20", "--paths", "20", "--out", tmp_path / "r.xlsx"
    )
    assert code == 0, err


@pytest.mark.parametrize(
    "text,ok",
    [
        ("425%", 4.25),
        ("4.25", 4.25),
        ("0.9", 0.9),
        ("425", None),
        ("1000%", 10.0),
        ("-1", None),
        ("abc", None),
    ],
)
def test_vol_spellings(capsys, text, ok):
    import json

    code, out, err = run_cli(capsys, "price", "--strike", "2.5", "--vol", text, "--json")
    if ok is None:
        assert code == 2 and "Traceback" not in err
        if text == "425":
            assert "'425' would be 42500% vol; write 425% for 4.25" in err
    else:
        assert code == 0 and json.loads(out)["inputs"]["vol"] == pytest.approx(ok)


def test_vol_and_spot_flags_reach_the_risk_check(capsys):
    import json

    base = json.loads(run_cli(capsys, "risk", "--json")[1])
    bumped = json.loads(run_cli(capsys, "risk", "--json", "--vol", "500%", "--spot", "3.00")[1])
    # a short-put book loses value when vol rises and the stock falls: the book value ($, a
    # liability) is more negative
    assert bumped["greeks"]["value"] < base["greeks"]["value"]
    code, _, err = run_cli(capsys, "risk", "--vol", "425")
    assert code == 2 and "write 425%" in err


def test_global_debug_shows_the_traceback(capsys, tmp_path):
    bad = tmp_path / "plan.toml"
    bad.write_text("[account]\nstarting_value = 0\n")
    code, _, err = run_cli(capsys, "--debug", "check", "--config", bad)
    assert code == 2 and "Traceback (most recent call last)" in err and "starting_value: must be > 0" in err
    code, _, err = run_cli(capsys, "check", "--config", bad)
    assert code == 2 and "Traceback" not in err


def test_plan_tables_fit_the_terminal(capsys, monkeypatch):
    for width in (80, 120):
        monkeypatch.setenv("COLUMNS", str(width))
        code, out, _ = run_cli(capsys, "plan")
        assert code == 0
        assert max(len(ln) for ln in out.splitlines()) <= width
    # the projection's 16 columns are split into blocks that each repeat the month column
    blocks = [ln for ln in out.splitlines() if ln.startswith("month ")]
    assert len(blocks) >= 2


def test_one_decimals_rule_per_column():
    from workbook.cli.common import table

    text = table([{"strike": 2.0, "price": 0.495}, {"strike": 2.5, "price": 1.3}], width=100)
    lines = text.splitlines()
    assert lines[2].split() == ["2.00", "0.4950"] and lines[3].split() == ["2.50", "1.3000"]
    wide = table([{"a": "x" * 90, "b": 1.0}], width=60)
    assert max(len(ln) for ln in wide.splitlines()) <= 60 and "..." in wide


def test_projection_at_its_documented_maximum(capsys, tmp_path):
    """projection.months = 120 (the documented maximum): no overflow warning, no blank rows."""
    toml = tmp_path / "plan.toml"
    toml.write_text('[market]\nvaluation_date = "2025-09-27"\n[projection]\nmonths = 120\n')
    import json

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, out, err = run_cli(capsys, "simulate", "--config", toml, "--paths", "300", "--json")
    assert code == 0, err
    d = json.loads(out)
    pct = d["percentiles"]
    assert len(pct) == 121 and [r["month"] for r in pct] == list(range(121))
    assert all(r[k] is not None for r in pct for k in ("p5", "p50", "p95", "mean"))
    code, out, err = run_cli(capsys, "plan", "--config", toml, "--json")
    proj = json.loads(out)["projection"]
    assert len(proj) == 120 and all(r["portfolio_value"] is not None for r in proj)


def test_example_files_then_daily_recipe_command_parses(capsys, tmp_path):
    """The recipe line of docs/daily.md parses (the scheduler calls exactly this)."""
    from workbook.cli import build_parser

    args = build_parser().parse_args(
        ["daily", "--config", "plan.toml", "--positions", "positions.csv", "--report", "report.xlsx"]
    )
    assert args.func.__name__ == "cmd_daily"
    shutil.rmtree(tmp_path, ignore_errors=True)
