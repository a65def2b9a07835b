"""Reports recalculated by LibreOffice headless: no Excel errors, every formula equals the engine.

One soffice run converts all the files this module needs (the example report, the same report
with MonthlyAddition changed to 5000, and one with the plan's literal "premium" capital model),
so LibreOffice starts once (~5-10 s).  Expected numbers are the engine's values for the same
quantity and hand arithmetic written out below.
"""

from __future__ import annotations

import shutil

import numpy as np
import openpyxl
import pytest
from numpy.testing import assert_allclose

from engine.config import default_config
from engine.data.positions import example_positions
from engine.plan.allocation import allocate_strikes
from workbook import layout as L
from workbook.compute import compute_report
from workbook.io import atomic_save, inputs_key_cells
from workbook.recalc import recalculate
from workbook.report import write_report

pytestmark = pytest.mark.libreoffice
PATHS = 200


@pytest.fixture(scope="module")
def books(soffice, tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    data = compute_report(default_config(), example_positions(), paths=PATHS, seed=7)
    base = src / "base.xlsx"
    atomic_save(write_report(data), base)
    edits = {"addition": {"account.monthly_addition": 5000}, "literal": {"capital.model": "premium"}}
    for name, changes in edits.items():
        shutil.copyfile(base, src / f"{name}.xlsx")
        wb = openpyxl.load_workbook(src / f"{name}.xlsx")
        cells = inputs_key_cells(wb[L.SHEET_INPUTS])
        for key, value in changes.items():
            wb[L.SHEET_INPUTS][cells[key]] = value
        wb.save(src / f"{name}.xlsx")
    mixed_data = compute_report(default_config(), _mixed_positions(), paths=PATHS, seed=7)
    atomic_save(write_report(mixed_data), src / "mixed.xlsx")
    _user_edits_then_refresh(base, src / "refreshed.xlsx")
    inputs_data = _with_market_inputs()
    atomic_save(write_report(inputs_data), src / "inputs.xlsx")
    names = ("base", "addition", "literal", "mixed", "refreshed", "inputs")
    outs = recalculate([src / f"{n}.xlsx" for n in names], tmp_path_factory.mktemp("out"))
    values = {n: openpyxl.load_workbook(p, data_only=True) for n, p in zip(names, outs)}
    formulas = openpyxl.load_workbook(base)
    return {"data": data, "mixed_data": mixed_data, "inputs_data": inputs_data, "formulas": formulas, **values}


def _with_market_inputs():
    """The example with every risk input (IV history, yesterday's value, chain surface, historical VaR)."""
    from engine.data.examples import example_path
    from engine.data.ivhistory import read_iv_history
    from engine.pricing.surface import read_option_chain
    from engine.risk.var import read_price_history
    from workbook.compute import MarketInputs

    cfg = default_config()
    mi = MarketInputs(iv_history=read_iv_history(example_path("iv_history")),
                      prices=read_price_history(example_path("prices")), var_method="historical",
                      previous_value=3650.0, surface=read_option_chain(example_path("chain"), cfg))
    return compute_report(cfg, example_positions(), paths=PATHS, seed=7, market=mi)


def _user_edits_then_refresh(base, dest):
    """The morning workflow: the user adds a lot on Positions and edits an input, then refresh."""
    import datetime as dt

    from workbook.io import load_user_workbook, read_config_sheet, read_positions_sheet
    from workbook.report import refresh_workbook

    shutil.copyfile(base, dest)
    wb = openpyxl.load_workbook(dest)
    ws = wb[L.SHEET_POSITIONS]
    row = L.FIRST_ROW + len(example_positions())
    for j, v in enumerate(("ASST", "put", "short", 3.0, dt.date(2025, 10, 17), 4, 1.10, None, None, "added")):
        ws.cell(row=row, column=j + 1).value = v
    cells = inputs_key_cells(wb[L.SHEET_INPUTS])
    wb[L.SHEET_INPUTS][cells["account.monthly_addition"]] = 3000
    wb.create_sheet("Journal")["A1"] = "mine"
    wb.save(dest)
    wb = load_user_workbook(dest)
    data = compute_report(read_config_sheet(wb, str(dest)), read_positions_sheet(wb, str(dest)), paths=PATHS, seed=7)
    refresh_workbook(wb, data)
    atomic_save(wb, dest)


def _mixed_positions():
    """The example book plus a long and a short call (exercises the call/long branches)."""
    import datetime as dt

    import pandas as pd

    pos = example_positions()
    extra = pd.DataFrame([
        {"underlying": "ASST", "kind": "call", "side": "long", "strike": 4.5, "expiry": dt.date(2025, 12, 26),
         "contracts": 3, "premium": 2.05, "open_date": None, "iv": float("nan"), "note": "hedge", "shares": 0},
        {"underlying": "ASST", "kind": "call", "side": "short", "strike": 9.5, "expiry": dt.date(2025, 12, 26),
         "contracts": 1, "premium": 1.80, "open_date": None, "iv": 3.9, "note": "-sold", "shares": 0},
    ])
    return pd.concat([pos, extra[pos.columns]], ignore_index=True)


def _named(wb, name):
    (sheet, ref), = dict(wb.defined_names[name].destinations).items()
    return wb[sheet][ref.replace("$", "")].value


def _formula_cells(wb):
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    yield ws.title, c.coordinate, c.value


@pytest.mark.parametrize("which", ["base", "addition", "literal", "mixed", "refreshed", "inputs"])
def test_no_excel_errors(books, which):
    wb = books[which]
    bad = []
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith(L.EXCEL_ERRORS):
                    bad.append((ws.title, c.coordinate, c.value))
    assert bad == []


def test_every_formula_computed(books):
    """After recalculation every formula cell has a value (text "" results read back as None)."""
    blank_ok = ("VaR95/PortfolioValue", '"exit"', "C{r}-B{r}", '"")')
    missing = [(s, a, f) for s, a, f in _formula_cells(books["formulas"])
               if books["base"][s][a].value is None and not any(k in f for k in blank_ok)]
    assert missing == []


def test_named_plan_cells_equal_engine(books):
    wb, data = books["base"], books["data"]
    split = data.results["premium_split"]
    # hand arithmetic: premium 600+2343+244+490+672 = 4349; 20% = 869.80; 80% = 3479.20; +4000 = 7479.20
    assert_allclose(_named(wb, "PremiumCollected"), 4349.0, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "CallBudget"), 869.80, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutPremiumBudget"), 3479.20, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutBudget"), 7479.20, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "CompoundingFactor"), 7479.2 / 4000, rtol=1e-12)
    for key, name in (("call_hedge_budget", "CallBudget"), ("put_expansion_budget", "PutBudget"),
                      ("compounding_factor", "CompoundingFactor")):
        assert_allclose(_named(wb, name), split[key], rtol=1e-12, err_msg=name)
    # Kelly: 0.892 - 0.108 * 0.087 / 0.123 = 0.815609756...; 25% -> 0.20390; capped at 15%
    assert_allclose(_named(wb, "KellyFraction"), 0.892 - 0.108 * 0.087 / 0.123, rtol=1e-12)
    assert_allclose(_named(wb, "KellyFraction"), 0.8156, atol=5e-5)
    assert_allclose(_named(wb, "KellyFraction"), data.results["kelly"]["full_kelly"], rtol=1e-12)
    assert_allclose(_named(wb, "ConservativeKelly"), data.results["kelly"]["fractional_kelly"], rtol=1e-12)
    assert_allclose(_named(wb, "MaxSingleStrike"), 0.15, rtol=0, atol=1e-15)
    # hedge ratio: 0.20 x 1.3 (IV pct 99 > 95) x 1.5 (squeeze 0.45 > 0.4) x 1 ($3,792 < $50k) = 0.39 -> cap 0.35
    assert_allclose(_named(wb, "HedgeRatio"), 0.35, rtol=0, atol=1e-15)
    assert_allclose(_named(wb, "HedgeRatio"), data.results["hedge_ratio"], rtol=1e-12)
    book = data.results["book"]
    assert_allclose(_named(wb, "PortfolioDelta"), book["delta_dollars"], rtol=1e-10)


def _alloc_rows(wb):
    ws = wb[L.SHEET_PLAN]
    for r in range(1, ws.max_row + 1):
        if ws.cell(row=r, column=1).value == "Strike" and ws.cell(row=r, column=5).value == "Capital/contract $ (net)":
            first = r + 1
            rows = []
            while isinstance(ws.cell(row=first + len(rows), column=1).value, (int, float)):
                rows.append([ws.cell(row=first + len(rows), column=c).value for c in range(1, 13)])
            total = [ws.cell(row=first + len(rows), column=c).value for c in range(1, 13)]
            return np.array(rows, dtype=float), total
    raise AssertionError("allocation table not found")


def test_allocation_formulas_equal_engine(books):
    rows, total = _alloc_rows(books["base"])
    alloc = books["data"].results["allocation"]
    for j, key in enumerate(("strike", "weight", "capital", "premium", "capital_per_contract", "contracts",
                             "capital_used", "expected_premium", "leftover", "literal_contracts", "contracts_sized",
                             "bp_per_contract")):
        assert_allclose(rows[:, j], alloc[key].to_numpy(dtype=float), rtol=1e-12, atol=1e-9, err_msg=key)
    assert_allclose(total[2], 7479.2, rtol=1e-12)
    assert_allclose(total[5], alloc["contracts"].sum(), rtol=0, atol=0)
    # the cap: contracts use no more buying power than the account has (engine.plan.account: 2,694)
    assert_allclose(_named(books["base"], "BuyingPower"), 2694.0, rtol=0, atol=1e-6)
    assert float(np.sum(rows[:, 5] * rows[:, 11])) <= 2694.0 + 1e-9


def test_changed_monthly_addition_updates_plan(books):
    wb = books["addition"]
    # hand arithmetic: put budget = 0.8 x 4349 + 5000 = 8479.20; factor 8479.2 / 5000
    assert_allclose(_named(wb, "PutBudget"), 8479.20, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "CompoundingFactor"), 8479.2 / 5000, rtol=1e-12)
    rows, total = _alloc_rows(wb)
    cfg = default_config()
    assert_allclose(rows[:, 2], 8479.2 * np.array(cfg.strikes.weights), rtol=1e-12)
    # contracts before the cap = whole contracts of capital / capital-per-contract (capital per contract
    # unchanged); then capped by the buying power cell (the book's, unchanged by the addition)
    assert_allclose(rows[:, 10], np.floor(rows[:, 2] / rows[:, 4]), rtol=0, atol=0)
    bp = _named(wb, "BuyingPower")
    engine = allocate_strikes(8479.2, cfg.strikes.strikes, cfg.strikes.weights, rows[:, 3], cfg.market.spot,
                              "reg_t", cfg.capital, buying_power=bp, margin=cfg.margin)
    assert_allclose(rows[:, 10], engine["contracts_sized"].to_numpy(dtype=float), rtol=0, atol=0)
    assert_allclose(rows[:, 5], engine["contracts"].to_numpy(dtype=float), rtol=0, atol=0)
    assert_allclose(total[5], engine["contracts"].sum(), rtol=0, atol=0)


def test_literal_capital_model(books):
    rows, _ = _alloc_rows(books["literal"])
    # the plan's formula: capital per contract = premium x 100, contracts = int(capital / (premium x 100))
    # before the buying-power cap
    assert_allclose(rows[:, 4], rows[:, 3] * 100, rtol=1e-12)
    assert_allclose(rows[:, 10], rows[:, 9], rtol=0, atol=0)
    assert (rows[:, 5] <= rows[:, 10]).all()


@pytest.mark.parametrize("which", ["base", "mixed"])
def test_positions_formulas_equal_engine(books, which):
    wb, data = books[which], books["data" if which == "base" else "mixed_data"]
    marked = data.results["marked"]
    ws = wb[L.SHEET_POSITIONS]
    keys = [c[1] for c in L.POSITION_COLUMNS_ALL]
    w = np.where(marked["kind"] == "call", 1.0, -1.0)
    for key in L.POSITION_FORMULA_KEYS:
        got = np.array([ws.cell(row=L.FIRST_ROW + i, column=keys.index(key) + 1).value for i in range(len(marked))],
                       dtype=float)
        exp = w if key == "w" else marked[key].to_numpy(dtype=float)
        assert_allclose(got, exp, rtol=1e-10, atol=1e-9, err_msg=key)
    payoff = data.results["payoff"]["pnl"]
    rs = wb[L.SHEET_RISK]
    first = next(r for r in range(1, rs.max_row + 1) if rs.cell(row=r, column=1).value == "Underlying $") + 1
    got = np.array([rs.cell(row=first + i, column=2).value for i in range(len(payoff))], dtype=float)
    assert_allclose(got, payoff, rtol=1e-12, atol=1e-9)
    assert_allclose(_named(wb, "PremiumCollected"), data.results["premium_split"]["premium"], rtol=1e-12)
    assert_allclose(_named(wb, "PortfolioDelta"), data.results["portfolio_greeks"]["delta_dollars"], rtol=1e-10)


def test_mixed_book_hand_arithmetic(books):
    """Net premium with calls: 4349 received on puts - 3 x 2.05 x 100 paid + 1 x 1.80 x 100 received = 3914."""
    assert_allclose(_named(books["mixed"], "PremiumCollected"), 4349 - 615 + 180, rtol=0, atol=1e-9)
    note = books["mixed"][L.SHEET_POSITIONS].cell(row=L.FIRST_ROW + 8, column=10).value
    assert note == "-sold"


def test_ladder_formulas_equal_engine(books):
    wb, data = books["base"], books["data"]
    lw = wb[L.SHEET_LADDER]
    ladder = data.results["ladder"]
    ladder = ladder[ladder["strike"].notna()]
    for j, (_, key, _, _) in enumerate(L.LADDER_COLUMNS[:8]):
        got = np.array([lw.cell(row=L.FIRST_ROW + i, column=j + 1).value for i in range(len(ladder))], dtype=float)
        if key in ladder.columns:
            assert_allclose(got, ladder[key].to_numpy(dtype=float), rtol=1e-10, atol=1e-9, err_msg=key)
    total = [lw.cell(row=L.FIRST_ROW + len(ladder), column=c).value for c in (2, 3)]
    assert total == [38, 4349]


def test_hedge_ladder_formulas_equal_engine(books):
    wb, data = books["base"], books["data"]
    hl = data.results["hedge_ladder"]
    ws = wb[L.SHEET_HEDGES]
    first = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "Rung") + 1
    for j, key in enumerate(("rung", "moneyness", "strike", "dte", "share", "budget", "price", "contracts", "cost",
                             "leftover")):
        got = np.array([ws.cell(row=first + i, column=j + 1).value for i in range(len(hl))], dtype=float)
        assert_allclose(got, hl[key].to_numpy(dtype=float), rtol=1e-10, atol=1e-9, err_msg=key)


def test_payoff_and_assignment_formulas(books):
    wb, data = books["base"], books["data"]
    payoff = data.results["payoff"]
    ws = wb[L.SHEET_RISK]
    first = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "Underlying $") + 1
    got = np.array([ws.cell(row=first + i, column=2).value for i in range(len(payoff["pnl"]))], dtype=float)
    assert_allclose(got, payoff["pnl"], rtol=1e-12, atol=1e-9)
    assert_allclose(got[0], 4349.0 - 9900.0, atol=1e-9)  # S = 0: premium minus every strike x shares
    aw = wb[L.SHEET_ASSIGNMENT]
    rows = data.results["assignment"]
    for i, rec in enumerate(rows):
        r = L.FIRST_ROW + i
        # cost basis = strike - premium per share (the plan's effective_cost_basis)
        assert_allclose(aw.cell(row=r, column=6).value, rec["strike"] - rec["premium"], rtol=1e-12)
        assert_allclose(aw.cell(row=r, column=6).value, rec["cost_basis"], rtol=1e-12)
        assert aw.cell(row=r, column=7).value == rec["tier"]
        assert_allclose(aw.cell(row=r, column=8).value, rec["call_strike_target"], rtol=1e-12)


def test_cli_build_recalc_stores_values(soffice, tmp_path, monkeypatch):
    from workbook.cli import main

    monkeypatch.setenv("VOLARB_NO_PROGRESS", "1")
    out = tmp_path / "r.xlsx"
    assert main(["build", "--out", str(out), "--paths", "100", "--recalc"]) == 0
    wb = openpyxl.load_workbook(out, data_only=True)
    assert_allclose(_named(wb, "PutBudget"), 7479.2, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "HedgeRatio"), 0.35, rtol=0, atol=1e-15)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_report_with_market_inputs_recalculates(books):
    """Marks at the chain surface's vols feed the live formulas; every alert has a status."""
    wb = books["inputs"]
    ws = wb[L.SHEET_RISK]
    status = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=4).value for r in range(1, ws.max_row + 1)}
    assert status["DAILY_PNL_ALERT"] == "OK" and status["LOW_IV_ENVIRONMENT"] == "OK"  # +142 < 182.50; pct 99
    data = books["inputs_data"]
    assert {m for m in data.results["marked"]["vol_source"]} == {"surface"}
    assert_allclose(_named(wb, "PortfolioDelta"), data.results["portfolio_greeks"]["delta_dollars"], rtol=1e-10)
    assert_allclose(_named(wb, "VaR95"), data.results["var"]["var"], rtol=1e-12)
    assert data.results["var"]["method"] == "historical"


def test_refreshed_report_recalculates(books):
    """After the user's edits and refresh: 4349 + 4 x 1.10 x 100 = 4789 premium;
    put budget 0.8 x 4789 + 3000 = 6831.20; 42 contracts on the ladder; extra sheet kept."""
    wb = books["refreshed"]
    assert_allclose(_named(wb, "PremiumCollected"), 4789.0, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutBudget"), 0.8 * 4789 + 3000, rtol=0, atol=1e-9)
    lw = wb[L.SHEET_LADDER]
    totals = [lw.cell(row=r, column=2).value for r in range(2, lw.max_row + 1) if lw.cell(row=r, column=1).value == "Total"]
    assert totals == [42]
    assert wb["Journal"]["A1"].value == "mine"
    assert wb.sheetnames[: len(L.SHEETS)] == list(L.SHEETS)
