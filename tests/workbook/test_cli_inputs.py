"""volarb's market-data inputs (IV history, prices, VaR method, yesterday's value, portfolio value,
option chain), the weekly review, the example files and the JSON contract.

Every expected number is hand arithmetic written out next to its assertion; the small CSVs are
made here in tmp_path.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import openpyxl
import pytest
from conftest import run_cli
from numpy.testing import assert_allclose

from workbook import layout as L
from workbook.cli import EXAMPLE_OUTPUTS, main

ROOT = Path(__file__).resolve().parents[2]
PV = 3792.0  # config account.starting_value (the plan's portfolio value)


run = run_cli


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code in (0, 1), err
    return json.loads(out, parse_constant=_no_nan)


def _no_nan(token):
    raise AssertionError(f"JSON carries the non-standard token {token}")


def assert_clean_error(code, err, *fragments):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def alert(rep, name):
    return next(a for a in rep["alerts"] if a["alert"] == name)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def iv_csv(tmp_path, today: float, name="iv.csv") -> Path:
    """24 past days at 2.00, 2.01, ..., 2.23, then today's IV on the 25th business day."""
    rows = ["date,iv"]
    import datetime as dt

    d = dt.date(2025, 8, 25)
    ivs = [2.00 + 0.01 * i for i in range(24)] + [today]
    for iv in ivs:
        while d.weekday() >= 5:
            d += dt.timedelta(days=1)
        rows.append(f"{d.isoformat()},{iv:.2f}")
        d += dt.timedelta(days=1)
    return write(tmp_path / name, "\n".join(rows) + "\n")


# --- DAILY_PNL_ALERT and LOW_IV_ENVIRONMENT: from N/A to OK / ALERT ----------------------------


def test_without_inputs_both_alerts_are_na(capsys):
    rep = run_json(capsys, "risk")
    assert alert(rep, "DAILY_PNL_ALERT")["status"] == "N/A" and alert(rep, "DAILY_PNL_ALERT")["value"] is None
    assert alert(rep, "LOW_IV_ENVIRONMENT")["status"] == "N/A"
    assert rep["iv"] is None and rep["surface"] is None and rep["inputs"]["previous_value"] is None


def test_previous_value_daily_pnl(capsys):
    # 3792 - 3650 = +142; limit 5% of 3650 = 182.50: OK
    rep = run_json(capsys, "risk", "--previous-value", "3650")
    a = alert(rep, "DAILY_PNL_ALERT")
    assert a["status"] == "OK"
    assert_allclose([a["value"], a["threshold"]], [142.0, 182.5], rtol=0, atol=1e-9)
    # 3792 - 3500 = +292 > 5% of 3500 = 175: ALERT
    a = alert(run_json(capsys, "risk", "--previous-value", "$3,500"), "DAILY_PNL_ALERT")
    assert a["status"] == "ALERT"
    assert_allclose([a["value"], a["threshold"]], [292.0, 175.0], rtol=0, atol=1e-9)
    # --portfolio-value 3400 against 3650: -250, |-250| > 182.50: ALERT (a loss)
    rep = run_json(capsys, "risk", "--previous-value", "3650", "--portfolio-value", "3400")
    a = alert(rep, "DAILY_PNL_ALERT")
    assert a["status"] == "ALERT" and rep["portfolio_value"] == 3400.0
    assert_allclose(a["value"], -250.0, rtol=0, atol=1e-9)


def test_portfolio_value_moves_every_threshold(capsys):
    rep = run_json(capsys, "risk", "--portfolio-value", "10000")
    # thresholds: delta 70% x 10,000; VaR 5% x 10,000; concentration 40% x 10,000; buying power = PV
    assert_allclose(
        [
            alert(rep, n)["threshold"]
            for n in (
                "HIGH_DELTA_EXPOSURE",
                "VAR_LIMIT_BREACH",
                "CONCENTRATION_RISK",
                "BUYING_POWER_EXCEEDED",
            )
        ],
        [7000.0, 500.0, 4000.0, 10000.0],
        rtol=1e-12,
    )
    # the largest strike obligation: $2.50 x 100 x (5 + 17) contracts = 5,500 > 4,000
    assert alert(rep, "CONCENTRATION_RISK")["value"] == 5500.0
    assert alert(rep, "CONCENTRATION_RISK")["status"] == "ALERT"


def test_iv_history_low_and_high(capsys, tmp_path):
    # today 2.05: of the 24 other days, 2.00..2.04 (5) are lower: percentile 100 x 5/24 = 20.83 < 30
    rep = run_json(capsys, "risk", "--iv-history", iv_csv(tmp_path, 2.05))
    a = alert(rep, "LOW_IV_ENVIRONMENT")
    assert a["status"] == "ALERT"
    assert_allclose(a["value"], 100 * 5 / 24, rtol=1e-12)
    # rank (2.05 - 2.00) / (2.23 - 2.00) = 0.05 / 0.23
    assert_allclose(rep["iv"]["iv_rank"], 100 * 0.05 / 0.23, rtol=1e-9)
    # today 2.30: every other day is lower: percentile 100
    a = alert(
        run_json(capsys, "risk", "--iv-history", iv_csv(tmp_path, 2.30, "iv2.csv")), "LOW_IV_ENVIRONMENT"
    )
    assert a["status"] == "OK" and a["value"] == 100.0


def test_risk_table_shows_inputs(capsys, tmp_path):
    code, out, err = run(capsys, "risk", "--iv-history", iv_csv(tmp_path, 2.05), "--previous-value", "3650")
    assert code == 0, err
    # the vol as a percent first (a trader reads 205%), the decimal of the CSV beside it
    assert "IV 205% (2.05): rank" in out and "percentile 20.83" in out
    assert re.search(r"DAILY_PNL_ALERT\s+OK\s+142", out)


# --- VaR method and historical VaR --------------------------------------------------------------


def _one_call_book(tmp_path) -> Path:
    # one long deep-ITM call (K = $0.01) expiring in 2 days: worth S - K e^{-rt} (no early exercise,
    # no dividend; the put part is ~0 at K/S = 0.003), so its P&L is the stock's x 100
    return write(
        tmp_path / "pos.csv",
        "underlying,kind,side,strike,expiry,contracts,premium\nASST,call,long,0.01,2025-09-29,1,3.14\n",
    )


def _prices(tmp_path) -> Path:
    """25 closes: 20 flat days and one-day moves of -5%, -10%, -15%, -20% (in shuffled order)."""
    ratios = [0.95, 1, 0.80, 1, 0.90, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.85, 1, 1, 1, 1, 1, 1, 1]
    closes = [10.0]
    for r in ratios:
        closes.append(closes[-1] * r)
    rows = ["date,close"] + [f"2025-08-{i + 1:02d},{c!r}" for i, c in enumerate(closes)]
    return write(tmp_path / "prices.csv", "\n".join(rows) + "\n")


def test_historical_var_by_hand(capsys, tmp_path):
    rep = run_json(capsys, "risk", "--positions", _one_call_book(tmp_path), "--prices", _prices(tmp_path))
    var = rep["var"]
    assert var["method"] == "historical" and var["scenarios"] == 24
    # loss per share = 3.15 x (1 - r); sorted: 20 x 0, 0.1575, 0.315, 0.4725, 0.63.
    # 95% quantile (linear): position 0.95 x 23 = 21.85 -> 0.315 + 0.85 x (0.4725 - 0.315) = 0.448875
    # x 100 shares = $44.8875 (the rate on K = $0.01 over 2 days moves it by < $0.001)
    assert_allclose(var["var"], 44.8875, rtol=0, atol=1e-3)
    # ES: mean of the losses at or beyond VaR: (47.25 + 63.00) / 2 = 55.125
    assert_allclose(var["es"], 55.125, rtol=0, atol=1e-3)
    a = alert(rep, "VAR_LIMIT_BREACH")
    assert_allclose([a["value"], a["threshold"]], [var["var"], 0.05 * PV], rtol=1e-12)
    assert a["status"] == "OK"  # 44.89 < 189.60


def test_var_method_flag(capsys, tmp_path):
    assert run_json(capsys, "risk", "--var-method", "delta_gamma")["var"]["method"] == "delta_gamma"
    # --prices with an explicit non-historical method keeps that method
    rep = run_json(capsys, "risk", "--prices", _prices(tmp_path), "--var-method", "full")
    assert rep["var"]["method"] == "full"
    code, _, err = run(capsys, "risk", "--var-method", "historical")
    assert_clean_error(code, err, "--var-method historical needs --prices")


def test_too_few_prices(capsys, tmp_path):
    p = write(
        tmp_path / "short.csv", "date,close\n" + "".join(f"2025-08-{i + 1:02d},3.{i}\n" for i in range(10))
    )
    code, _, err = run(capsys, "risk", "--prices", p)
    assert_clean_error(code, err, "short.csv: 10 closes", "needs at least 21")


# --- option chain -> vol surface -----------------------------------------------------------------


def _flat_chain(tmp_path, vol=3.0) -> Path:
    """Two quotes on 2025-11-21 priced by the engine's American pricer at one vol (mid = price)."""
    from engine import american_price

    t = (55) / 365  # 2025-09-27 -> 2025-11-21
    rows = ["expiry,strike,kind,bid,ask"]
    for k, kind in ((2.5, "put"), (3.5, "call")):
        p = float(american_price(3.15, k, t, 0.04, vol, kind))
        rows.append(f"2025-11-21,{k},{kind},{p - 0.01!r},{p + 0.01!r}")
    return write(tmp_path / "chain.csv", "\n".join(rows) + "\n")


def test_chain_surface_marks_positions(capsys, tmp_path):
    rep = run_json(capsys, "risk", "--chain", _flat_chain(tmp_path))
    nodes = rep["surface"]["nodes"]
    assert len(nodes) == 2 and rep["surface"]["dropped"] == []
    # the surface gives back the vol the quotes were priced at, flat in strike and time
    assert_allclose([n["vol"] for n in nodes], [3.0, 3.0], rtol=0, atol=1e-6)
    # VaR reprices every position at its surface vol: the same as giving each position iv = 3.0
    from engine.config import default_config
    from engine.data.positions import example_positions
    from engine.risk.var import value_at_risk

    pos = example_positions()
    pos["iv"] = 3.0
    assert_allclose(rep["var"]["var"], value_at_risk(pos, default_config())["var"], rtol=1e-6)
    assert abs(rep["var"]["var"] - run_json(capsys, "risk")["var"]["var"]) > 1.0
    out = tmp_path / "r.xlsx"
    code, stdout, err = run(
        capsys, "build", "--chain", _flat_chain(tmp_path), "--out", out, "--paths", "100", "--json"
    )
    assert code == 0, err
    d = json.loads(stdout)
    assert_allclose([m["vol_used"] for m in d["marked"]], [3.0] * len(example_positions()), rtol=0, atol=1e-6)
    assert {m["vol_source"] for m in d["marked"]} == {"surface"}
    assert d["meta"]["sources"]["chain"].endswith("chain.csv")
    # new puts on the Plan sheet are priced on the smile too: flat 3.0 here, not market.vol 4.25
    from engine import american_price
    from engine.plan.allocation import put_expiry

    cfg = default_config()
    t = (put_expiry(cfg, cfg.valuation_date) - cfg.valuation_date).days / 365
    strikes = list(cfg.strikes.strikes)
    got = [d["strike_premiums"][k] for k in sorted(d["strike_premiums"], key=float)]
    assert_allclose(got, american_price(3.15, strikes, t, 0.04, 3.0, "put"), rtol=1e-6)
    assert all(g < p for g, p in zip(got, american_price(3.15, strikes, t, 0.04, 4.25, "put"), strict=True))


# --- build / refresh feed the Risk sheet -----------------------------------------------------------


def _risk_alert_rows(path):
    ws = openpyxl.load_workbook(path)["Risk"]
    return {
        ws.cell(row=r, column=1).value: (ws.cell(row=r, column=2).value, ws.cell(row=r, column=4).value)
        for r in range(1, ws.max_row + 1)
        if str(ws.cell(row=r, column=1).value or "").isupper()
    }


def test_build_and_refresh_risk_sheet(capsys, tmp_path):
    out = tmp_path / "r.xlsx"
    code, _, err = run(
        capsys,
        "build",
        "--out",
        out,
        "--paths",
        "100",
        "--previous-value",
        "3650",
        "--iv-history",
        iv_csv(tmp_path, 2.05),
    )
    assert code == 0, err
    rows = _risk_alert_rows(out)
    assert rows["DAILY_PNL_ALERT"] == (142.0, "OK")
    assert rows["LOW_IV_ENVIRONMENT"][1] == "ALERT"
    assert_allclose(rows["LOW_IV_ENVIRONMENT"][0], 100 * 5 / 24, rtol=1e-12)
    # refresh without the inputs: N/A again; with a new portfolio value: written to Inputs
    code, _, err = run(
        capsys, "refresh", out, "--paths", "100", "--portfolio-value", "4000", "--previous-value", "3900"
    )
    assert code == 0, err
    rows = _risk_alert_rows(out)
    assert rows["LOW_IV_ENVIRONMENT"] == (None, "N/A")
    assert rows["DAILY_PNL_ALERT"] == (100.0, "OK")  # 4000 - 3900 = 100 <= 5% of 3900 = 195
    wb = openpyxl.load_workbook(out)
    ((sheet, ref),) = dict(wb.defined_names["PortfolioValue"].destinations).items()
    assert wb[sheet][ref.replace("$", "")].value == 4000.0


# --- every bad file: one line naming file, line and column, exit 2 -----------------------------------


@pytest.mark.parametrize(
    "flag,name,text,fragments",
    [
        (
            "--iv-history",
            "iv.csv",
            "date,iv\n2025-09-25,4.0\n2025-09-26,abc\n",
            ("iv.csv, line 3, column 'iv'", "'abc'"),
        ),
        (
            "--iv-history",
            "iv.csv",
            "date,iv\n2025-09-25,425\n",
            ("iv.csv, line 2, column 'iv'", "percentage"),
        ),
        (
            "--iv-history",
            "iv.csv",
            "date,iv\n26/09/2025,4.0\n",
            ("iv.csv, line 2, column 'date'", "YYYY-MM-DD"),
        ),
        ("--iv-history", "iv.csv", "day,vol\n2025-09-25,4.0\n", ("iv.csv: missing column 'date'",)),
        (
            "--prices",
            "px.csv",
            "date,close\n2025-09-25,3.1\n2025-09-26,-3\n",
            ("px.csv, line 3, column 'close'",),
        ),
        (
            "--prices",
            "px.csv",
            "date,close\n2025-09-26,3.1\n2025-09-25,3.2\n",
            ("px.csv, line 3, column 'date'", "increasing"),
        ),
        (
            "--chain",
            "ch.csv",
            "expiry,strike,kind,bid,ask\n2025-11-21,x,put,1,1.1\n",
            ("ch.csv, line 2, column 'strike'",),
        ),
        (
            "--chain",
            "ch.csv",
            "expiry,strike,kind,bid,ask\n2025-11-21,2.5,straddle,1,1.1\n",
            ("ch.csv, line 2, column 'kind'",),
        ),
        (
            "--chain",
            "ch.csv",
            "expiry,strike,kind,bid,ask\n2025-11-21,5.0,put,0.40,0.50\n",
            ("no quote gives a usable implied vol",),
        ),
        ("--iv-history", "empty.csv", "", ("empty.csv: the file is empty",)),
        ("--prices", "hdr.csv", "date,close\n", ("hdr.csv: no data rows",)),
    ],
)
def test_bad_market_file(capsys, tmp_path, flag, name, text, fragments):
    code, _, err = run(capsys, "risk", flag, write(tmp_path / name, text))
    assert_clean_error(code, err, *fragments)


@pytest.mark.parametrize("command", ["risk", "build", "refresh"])
def test_missing_market_file(capsys, tmp_path, command):
    extra = [tmp_path / "r.xlsx"] if command == "refresh" else []
    if command == "refresh":
        assert run(capsys, "build", "--out", extra[0], "--paths", "100")[0] == 0
    code, _, err = run(capsys, command, *extra, "--iv-history", tmp_path / "nope.csv")
    assert_clean_error(code, err, "nope.csv: IV history file not found (--iv-history)")


@pytest.mark.parametrize("value", ["-5", "0", "abc", "inf"])
def test_bad_money_flags(capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["risk", "--previous-value", value])
    assert info.value.code == 2
    assert "expected a positive dollar amount" in capsys.readouterr().err


# --- weekly review ------------------------------------------------------------------------------------


def test_review_example_by_hand(capsys):
    d = run_json(capsys, "review")
    assert d["sources"]["example"] is True and d["as_of"] == "2025-09-26"
    # week 2025-09-19 -> 09-26, no deposit: 7642 / 7388 - 1
    assert_allclose(d["weekly_return"], 7642 / 7388 - 1, rtol=1e-12)
    # the $4,000 deposit on 09-02 is not performance: (7560 - 4000)/3500 x 7642/7560 - 1
    assert_allclose(d["total_return"], (3560 / 3500) * (7642 / 7560) - 1, rtol=1e-12)
    # peak 7905 (09-12), trough 7388 (09-19), no deposit between: 1 - 7388/7905
    assert_allclose(d["max_drawdown"], 1 - 7388 / 7905, rtol=1e-12)
    # closed shorts: $2.50 put 0.90 -> 0.30 x 5 (300 of 450), $2.00 put expired 0.50 x 5 (250 of 250),
    # $3.00 put 1.20 assigned at 0.20 intrinsic x 2 (200 of 240): 750 / 940
    assert_allclose(d["premium_capture_rate"], 750 / 940, rtol=1e-12)
    # Brier: $2.00 predicted 0.20, expired (0): 0.04; $3.00 predicted 0.45, assigned (1): 0.3025
    assert_allclose(d["brier_score"], (0.04 + 0.3025) / 2, rtol=1e-12)
    assert d["brier_count"] == 2
    # hedges: $4 call 0.80 -> 1.30 (+50 on 80), $5 call 0.60 expired (-60 on 60): -10 / 140
    assert_allclose(d["hedge_effectiveness"], -10 / 140, rtol=1e-12)
    # open puts: 10 x $2, 14 x $2.50, 10 x $3, 2 x $4, 1 x $5: obligation 2000+3500+3000+800+500 = 9800;
    # differences from 20/35/30/10/5%: +40, +70, +60, -180, +10 (/9800): drift = 0.5 x 360/9800
    assert_allclose(d["allocation_drift"], 180 / 9800, rtol=1e-9)
    # IV history: today 4.25 beats 249 of the 251 other days in the 252-day window
    assert_allclose(d["iv_percentile"], 100 * 249 / 251, rtol=1e-12)
    assert_allclose(d["iv_percentile_change"], d["iv_percentile"] - d["iv_percentile_week_ago"], rtol=1e-12)
    # Sharpe and correlation from the definitions, on the shipped files
    import numpy as np
    import pandas as pd

    e = pd.read_csv(ROOT / "engine/data/example_equity.csv")
    eq, dep = e["equity"].to_numpy(), e["contribution"].to_numpy()
    r = (eq[1:] - dep[1:]) / eq[:-1] - 1
    sharpe = (r.mean() - 0.04 / 252) / r.std(ddof=1) * math.sqrt(252)
    assert_allclose(d["sharpe"], sharpe, rtol=1e-12)
    btc = pd.read_csv(ROOT / "engine/data/example_second.csv").set_index("date")["close"]
    b = btc.loc[e["date"]].to_numpy()
    assert_allclose(d["correlation_second"], np.corrcoef(r, b[1:] / b[:-1] - 1)[0, 1], rtol=1e-12)


def test_review_table_and_own_files(capsys, tmp_path):
    code, out, err = run(capsys, "review")
    assert code == 0, err
    assert "weekly return" in out and "+3.44%" in out and "Brier score" in out
    j = write(
        tmp_path / "j.csv",
        "date,action,kind,strike,expiry,contracts,price\n"
        "2025-09-01,sell,put,2.5,2025-09-19,2,1.00\n2025-09-19,expire,put,2.5,2025-09-19,2,0\n",
    )
    e = write(tmp_path / "e.csv", "date,equity\n2025-09-18,1000\n2025-09-19,1100\n")
    d = run_json(capsys, "review", "--journal", j, "--equity", e)
    # one return of +10%: weekly return 10%, Sharpe needs 2 returns -> null; capture 100%
    assert_allclose([d["weekly_return"], d["premium_capture_rate"]], [0.1, 1.0], rtol=1e-12)
    assert d["sharpe"] is None and d["correlation_second"] is None and d["sources"]["example"] is False


@pytest.mark.parametrize(
    "args,fragments",
    [
        (("--journal", "J"), ("give both --journal and --equity",)),
        (("--journal", "J", "--equity", "E"), ("j.csv, line 2, column 'action'", "'hold'")),
        (("--journal", "OK", "--equity", "E"), ("e.csv, line 3, column 'date'", "increasing")),
        (("--journal", "OK", "--equity", "MISSING"), ("gone.csv: equity history file not found",)),
        (("--as-of", "Friday"), ("--as-of: expected a date YYYY-MM-DD",)),
    ],
)
def test_review_errors(capsys, tmp_path, args, fragments):
    files = {
        "J": write(
            tmp_path / "j.csv",
            "date,action,kind,strike,expiry,contracts,price\n2025-09-01,hold,put,2.5,2025-09-19,2,1.00\n",
        ),
        "OK": write(
            tmp_path / "ok.csv",
            "date,action,kind,strike,expiry,contracts,price\n2025-09-01,sell,put,2.5,2025-09-19,2,1.00\n",
        ),
        "E": write(tmp_path / "e.csv", "date,equity\n2025-09-19,1000\n2025-09-18,1100\n"),
        "MISSING": tmp_path / "gone.csv",
    }
    code, _, err = run(capsys, "review", *[files.get(a, a) for a in args])
    assert_clean_error(code, err, *fragments)


# --- volarb example ---------------------------------------------------------------------------------


def test_example_writes_refuses_and_forces(capsys, tmp_path):
    folder = tmp_path / "plan"
    code, out, err = run(capsys, "example", "--dir", folder)
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f for _, f in EXAMPLE_OUTPUTS)
    data = ROOT / "engine" / "data"
    assert (folder / "positions.csv").read_bytes() == (data / "example_positions.csv").read_bytes()
    toml = (folder / "plan.toml").read_text()
    from engine.config import config_reference

    assert all(f"\n{r['key'].split('.')[-1]} = " in toml for r in config_reference())  # every key
    assert toml.count("\n# ") > 50  # commented
    # the user edits a file; a second run refuses, names the file and keeps the edit
    write(folder / "positions.csv", "mine")
    code, _, err = run(capsys, "example", "--dir", folder)
    assert_clean_error(code, err, "positions.csv already exists", "--force")
    assert (folder / "positions.csv").read_text() == "mine"
    assert run(capsys, "example", "--dir", folder, "--force")[0] == 0
    assert (folder / "positions.csv").read_bytes() == (data / "example_positions.csv").read_bytes()
    # the written files drive every command
    f = {n: folder / fn for n, fn in EXAMPLE_OUTPUTS}
    rep = run_json(
        capsys,
        "risk",
        "--positions",
        f["positions"],
        "--config",
        f["config"],
        "--chain",
        f["chain"],
        "--iv-history",
        f["iv_history"],
        "--prices",
        f["prices"],
        "--previous-value",
        "3650",
    )
    assert "N/A" not in {a["status"] for a in rep["alerts"]} and rep["var"]["method"] == "historical"
    d = run_json(
        capsys, "review", "--journal", f["journal"], "--equity", f["equity"], "--second", f["second"]
    )
    assert d["correlation_second"] is not None


def test_example_dir_is_a_file(capsys, tmp_path):
    code, _, err = run(capsys, "example", "--dir", write(tmp_path / "x", "file"))
    assert_clean_error(code, err, "exists and is not a folder")


def test_shipped_synthetic_examples_are_regenerated_exactly(tmp_path):
    from engine.data.examples import EXAMPLE_FILES, write_generated_examples

    for path in write_generated_examples(tmp_path):
        shipped = (
            ROOT
            / "engine"
            / "data"
            / EXAMPLE_FILES[next(k for k, v in EXAMPLE_FILES.items() if v == path.name)]
        )
        assert path.read_bytes() == shipped.read_bytes(), path.name


# --- the JSON contract ----------------------------------------------------------------------------------

JSON_KEYS = {
    "risk": {
        "valuation_date",
        "portfolio_value",
        "account",
        "greeks",
        "var",
        "alerts",
        "alerting",
        "any_alert",
        "inputs",
        "iv",
        "surface",
        "sources",
        "email",
        "expired_lots",
        "expired",
        "events",
        "shares_held",
    },
    "simulate": {
        "paths",
        "seed",
        "months",
        "invested",
        "prob_loss",
        "prob_margin_call",
        "prob_targets",
        "max_drawdown",
        "annual_return",
        "sharpe",
        "share_with_assignment",
        "mean_discounted_final",
        "se_discounted_final",
        "discounted_invested",
        "deterministic",
        "assumptions",
        "elapsed_seconds",
        "percentiles",
        "final_equity_summary",
        "sizing",
        "costs",
        "share_with_early_assignment",
        "mean_discounted_costs",
    },
    "build": {
        "meta",
        "config",
        "positions",
        "marked",
        "ladder",
        "book",
        "account",
        "premium_split",
        "strike_premiums",
        "allocation",
        "reinvestment",
        "hedge_ratio",
        "hedge_ladder",
        "projection",
        "plan_printed_table",
        "audit",
        "kelly",
        "portfolio_greeks",
        "var",
        "alerts",
        "alerting",
        "risk_inputs",
        "iv",
        "surface",
        "expired",
        "events",
        "assignment",
        "simulation",
        "orders",
        "rebalance",
        "payoff",
    },
    "review": {
        "as_of",
        "weekly_return",
        "total_return",
        "sharpe",
        "max_drawdown",
        "premium_capture_rate",
        "brier_score",
        "brier_count",
        "allocation_drift",
        "allocation_by_strike",
        "hedge_effectiveness",
        "observations",
        "iv_percentile",
        "iv_percentile_week_ago",
        "iv_percentile_change",
        "correlation_second",
        "rebalancing",
        "sources",
    },
    "rebalance": {"rebalance", "alerting", "inputs", "sources"},
}


def test_json_keys_stable_valid_and_documented(capsys, tmp_path):
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    got = {
        "risk": run_json(capsys, "risk", "--iv-history", iv_csv(tmp_path, 2.05)),
        "simulate": run_json(capsys, "simulate", "--paths", "100"),
        "build": run_json(capsys, "build", "--paths", "100", "--out", tmp_path / "r.xlsx"),
        "review": run_json(capsys, "review"),
        "rebalance": run_json(capsys, "rebalance"),
    }
    for command, keys in JSON_KEYS.items():
        assert set(got[command]) == keys, (command, set(got[command]) ^ keys)
        undocumented = [k for k in keys if f"`{k}`" not in docs]
        assert undocumented == [], (command, undocumented)
    # a value that cannot be computed is null, never NaN: the review of one day has no Sharpe
    assert got["risk"]["iv"]["iv_percentile"] == 100 * 5 / 24
    sim = got["simulate"]
    assert len(sim["percentiles"]) == sim["months"] + 1
    assert set(sim["percentiles"][0]) == {"month", "p5", "p25", "p50", "p75", "p95", "mean"}


def test_measured_iv_percentile_drives_the_hedge_ratio(capsys, tmp_path):
    # measured percentile 100 x 5/24 = 20.8 (not > 95): the x1.3 step drops out, the squeeze step
    # stays (0.45 > 0.4): 0.20 x 1.5 = 0.30, under the 0.35 cap
    rep = run_json(
        capsys, "build", "--out", tmp_path / "r.xlsx", "--paths", "50", "--iv-history", iv_csv(tmp_path, 2.05)
    )
    assert_allclose(rep["hedge_ratio"], 0.30, rtol=0, atol=1e-12)
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    sheet, cell = next(iter(wb.defined_names["IVPercentile"].destinations))
    assert_allclose(wb[sheet][cell.replace("$", "")].value, 100 * 5 / 24, rtol=1e-6)
    # without a history the plan's stated 99th percentile applies: min(0.2 x 1.3 x 1.5, 0.35) = 0.35
    rep = run_json(capsys, "build", "--out", tmp_path / "r2.xlsx", "--paths", "50")
    assert_allclose(rep["hedge_ratio"], 0.35, rtol=0, atol=1e-12)


# --- review findings: what a trader reads on the terminal ------------------------------------------


def test_refresh_names_the_risk_inputs_it_was_not_given(capsys, tmp_path):
    """A report built with --iv-history and --chain lists them on About; a refresh without them
    says which files it no longer uses (it reads only the workbook), and is silent when given."""
    out = tmp_path / "r.xlsx"
    iv, chain = iv_csv(tmp_path, 2.05), _flat_chain(tmp_path)
    code, _, err = run(capsys, "build", "--iv-history", iv, "--chain", chain, "--out", out, "--paths", "50")
    assert code == 0, err
    about = {r[0]: r[1] for r in openpyxl.load_workbook(out)[L.SHEET_ABOUT].iter_rows(values_only=True)}
    assert about["IV history (--iv-history)"] == str(iv) and about["Option chain (--chain)"] == str(chain)
    assert about["Daily closes (--prices)"] == "none"
    code, _, err = run(capsys, "refresh", out, "--paths", "50")
    assert code == 0, err
    notes = [
        ln for ln in err.splitlines() if ln.startswith("volarb refresh: note: the report was last computed")
    ]
    assert len(notes) == 2, err
    assert f"last computed with --iv-history {iv}" in err and f"pass --chain {chain} again" in err
    # the refresh itself recorded that it ran without them: the next refresh has nothing to say
    code, _, err = run(capsys, "refresh", out, "--paths", "50")
    assert code == 0 and "last computed" not in err, err
    code, _, err = run(capsys, "refresh", out, "--paths", "50", "--iv-history", iv)
    assert code == 0 and "last computed" not in err, err


def test_simulate_table_shows_every_documented_distribution(capsys):
    """docs: simulate prints 'equity percentiles, probabilities, drawdown and Sharpe distributions'."""
    code, out, err = run(capsys, "simulate", "--paths", "60", "--seed", "5")
    assert code == 0, err
    assert "simulation: 60 paths, seed 5" in out
    d = run_json(capsys, "simulate", "--paths", "60", "--seed", "5")
    assert f"probability of a margin call {d['prob_margin_call']:.1%}".split()[-1] in out
    for label in (
        "distributions across paths",
        "final equity $",
        "max drawdown",
        "annualized return",
        "Sharpe ratio (annualized)",
        "probability of the plan's scenario targets",
        "expected",
    ):
        assert label in out, label
    line = next(ln for ln in out.splitlines() if ln.startswith("max drawdown"))
    assert line.split()[-1] == f"{d['max_drawdown']['p95']:.1%}"
    # a seed is an identifier, not an amount: never printed with thousands separators
    code, out, _ = run(capsys, "simulate", "--paths", "60")
    assert "seed 20250927" in out and "20,250,927" not in out


def test_risk_greeks_are_labelled_with_units(capsys):
    code, out, err = run(capsys, "risk")
    assert code == 0, err
    for label in (
        "delta (shares)",
        "theta $ per day",
        "vega $ per vol point",
        "margin $ (requirement net of value, vs net liquidation)",
        "net liquidation value $ (NLV)",
        "equity with loan value $ (EWL)",
        "maintenance requirement $ (full basis, vs EWL)",
        "excess liquidity $ (EWL - maintenance)",
        "buying power $ (available funds: EWL - initial)",
    ):
        assert label in out, label
    assert "theta_day" not in out and "vega_point" not in out


def test_iv_table_shows_the_vol_as_a_percent(capsys):
    code, out, err = run(capsys, "iv", "--price", "0.70", "--strike", "2", "--days", "30")
    assert code == 0, err
    d = run_json(capsys, "iv", "--price", "0.70", "--strike", "2", "--days", "30")
    iv = d["options"][0]["iv"]
    assert f"{iv * 100:.1f}%" in out and "iv %" in out


def test_contribution_is_netted_out_of_the_daily_pnl(capsys):
    # yesterday 4,700; today 8,900 after the $4,000 deposit: 8900 - 4700 - 4000 = +200 <= 5% x 4700 = 235
    rep = run_json(
        capsys, "risk", "--previous-value", "4700", "--portfolio-value", "8900", "--contribution", "$4,000"
    )
    a = alert(rep, "DAILY_PNL_ALERT")
    assert a["status"] == "OK" and a["value"] == 200.0 and a["threshold"] == 235.0
    assert rep["inputs"]["contribution"] == 4000.0
    # a withdrawal: 3,000 today after taking out 1,500 from 4,700: 3000 - 4700 + 1500 = -200, OK
    a = alert(
        run_json(
            capsys, "risk", "--previous-value", "4700", "--portfolio-value", "3000", "--contribution=-1500"
        ),
        "DAILY_PNL_ALERT",
    )
    assert a["status"] == "OK" and a["value"] == -200.0
    # without it the deposit reads as a +4,200 day (ALERT)
    a = alert(
        run_json(capsys, "risk", "--previous-value", "4700", "--portfolio-value", "8900"), "DAILY_PNL_ALERT"
    )
    assert a["status"] == "ALERT" and a["value"] == 4200.0
    with pytest.raises(SystemExit) as info:
        main(["risk", "--contribution", "lots"])
    assert info.value.code == 2
    assert "expected a dollar amount (negative for a withdrawal), got 'lots'" in capsys.readouterr().err
