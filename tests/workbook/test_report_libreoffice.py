"""Reports recalculated by LibreOffice headless: no Excel errors, every formula equals the engine.

One soffice run converts all the files this module needs (the example report, the same report
with MonthlyAddition changed to 5000, and one with the plan's literal "premium" capital model),
so LibreOffice starts once (~5-10 s).  Expected numbers are the engine's values for the same
quantity and hand arithmetic written out below.
"""

from __future__ import annotations

import datetime as dt
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
from workbook.report.inputs import table_rows

pytestmark = pytest.mark.libreoffice


def plan_puts():
    """The plan's 38 short puts (the example book without issue 15's illustrative calls), so the
    hand arithmetic of the plan's own table (4349 premium, 9,900 obligation) applies."""
    pos = example_positions()
    return pos[pos["kind"] == "put"].reset_index(drop=True)


PATHS = 200


#: Edits made in the workbook (as a user would in Excel or LibreOffice), then recalculated without
#: refresh: Inputs key -> value, Positions (row index, key) -> value, rows appended to Positions
#: (in the order of the Positions input columns: ..., contracts, shares, premium, ...), and
#: Inputs ladder weight edits (row index -> weight).
APPENDED = ("ASST", "put", "short", 3.0, dt.date(2025, 10, 17), 4, None, 1.10, None, None, "added")
EDITS: dict[str, dict] = {
    "addition": {"inputs": {"account.monthly_addition": 5000}},
    "literal": {"inputs": {"capital.model": "premium"}},
    "spot": {"inputs": {"market.spot": 2.50}},
    "callshare": {"inputs": {"allocation.call_share": 0.30}},
    "weight": {"weights": {0: 0.30}},
    "contracts": {"positions": {(0, "contracts"): 6}},
    "appended": {"append": [APPENDED]},
    "note": {"positions": {(0, "note"): "only a note"}},
}


def _edit(src, dest, inputs=(), positions=(), append=(), weights=()):
    shutil.copyfile(src, dest)
    wb = openpyxl.load_workbook(dest)
    cells = inputs_key_cells(wb[L.SHEET_INPUTS])
    for key, value in dict(inputs).items():
        wb[L.SHEET_INPUTS][cells[key]] = value
    ladder = table_rows(wb[L.SHEET_INPUTS])["ladder"]
    for i, w in dict(weights).items():
        wb[L.SHEET_INPUTS].cell(row=ladder[i], column=2).value = w
    ws = wb[L.SHEET_POSITIONS]
    keys = [c.key for c in L.POSITION_INPUT_COLUMNS]
    for (i, key), value in dict(positions).items():
        ws.cell(row=L.REPORT_FIRST_ROW + i, column=keys.index(key) + 1).value = value
    n = len(plan_puts())
    for k, row in enumerate(append):
        for j, v in enumerate(row):
            ws.cell(row=L.REPORT_FIRST_ROW + n + k, column=j + 1).value = v
    wb.save(dest)


@pytest.fixture(scope="module")
def books(soffice, tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    data = compute_report(default_config(), plan_puts(), paths=PATHS, seed=7)
    base = src / "base.xlsx"
    atomic_save(write_report(data), base)
    for name, edit in EDITS.items():
        _edit(base, src / f"{name}.xlsx", **edit)
    mixed_data = compute_report(default_config(), _mixed_positions(), paths=PATHS, seed=7)
    atomic_save(write_report(mixed_data), src / "mixed.xlsx")
    stock_data = compute_report(default_config(), stock_positions(), paths=PATHS, seed=7)
    atomic_save(write_report(stock_data), src / "stock.xlsx")
    _user_edits_then_refresh(base, src / "refreshed.xlsx")
    inputs_data = _with_market_inputs()
    atomic_save(write_report(inputs_data), src / "inputs.xlsx")
    names = ("base", *EDITS, "mixed", "refreshed", "inputs", "stock")
    outs = recalculate([src / f"{n}.xlsx" for n in names], tmp_path_factory.mktemp("out"))
    values = {n: openpyxl.load_workbook(p, data_only=True) for n, p in zip(names, outs)}
    formulas = openpyxl.load_workbook(base)
    return {
        "data": data,
        "mixed_data": mixed_data,
        "stock_data": stock_data,
        "inputs_data": inputs_data,
        "formulas": formulas,
        "_src": src,
        **values,
    }


def _with_market_inputs():
    """The example with every risk input (IV history, yesterday's value, chain surface, historical VaR)."""
    from engine.data.examples import example_path
    from engine.data.ivhistory import read_iv_history
    from engine.data.prices import read_price_history
    from engine.pricing.surface import read_option_chain
    from workbook.compute import MarketInputs

    cfg = default_config()
    mi = MarketInputs(
        iv_history=read_iv_history(example_path("iv_history")),
        prices=read_price_history(example_path("prices")),
        var_method="historical",
        previous_value=3650.0,
        surface=read_option_chain(example_path("chain"), cfg),
    )
    return compute_report(cfg, plan_puts(), paths=PATHS, seed=7, market=mi)


def _user_edits_then_refresh(base, dest):
    """The morning workflow: the user adds a lot on Positions and edits an input, then refresh."""
    from workbook.io import load_user_workbook, read_config_sheet, read_positions_sheet
    from workbook.report import refresh_workbook

    shutil.copyfile(base, dest)
    wb = openpyxl.load_workbook(dest)
    ws = wb[L.SHEET_POSITIONS]
    row = L.REPORT_FIRST_ROW + len(plan_puts())
    for j, v in enumerate(APPENDED):
        ws.cell(row=row, column=j + 1).value = v
    cells = inputs_key_cells(wb[L.SHEET_INPUTS])
    wb[L.SHEET_INPUTS][cells["account.monthly_addition"]] = 3000
    wb.create_sheet("Journal")["A1"] = "mine"
    wb.save(dest)
    wb = load_user_workbook(dest)
    data = compute_report(
        read_config_sheet(wb, str(dest)), read_positions_sheet(wb, str(dest)), paths=PATHS, seed=7
    )
    refresh_workbook(wb, data)
    atomic_save(wb, dest)


def _mixed_positions():
    """The example book plus a long and a short call (exercises the call/long branches)."""
    import datetime as dt

    import pandas as pd

    pos = example_positions()
    extra = pd.DataFrame(
        [
            {
                "underlying": "ASST",
                "kind": "call",
                "side": "long",
                "strike": 4.5,
                "expiry": dt.date(2025, 12, 26),
                "contracts": 3,
                "premium": 2.05,
                "open_date": None,
                "iv": float("nan"),
                "note": "hedge",
                "shares": 0,
            },
            {
                "underlying": "ASST",
                "kind": "call",
                "side": "short",
                "strike": 9.5,
                "expiry": dt.date(2025, 12, 26),
                "contracts": 1,
                "premium": 1.80,
                "open_date": None,
                "iv": 3.9,
                "note": "-sold",
                "shares": 0,
            },
        ]
    )
    return pd.concat([pos, extra[pos.columns]], ignore_index=True)


def stock_positions():
    """An assigned lot and the covered calls written on it, beside one short put: 300 shares at a
    cost of $2.50, short 3 $3.50 calls (Oct 17, 0.40 received), short 5 $2.50 puts (0.98)."""
    from engine.data.positions import positions_from_records

    rows = [
        ("stock", "long", "", "", "", 300, "2.50", "assigned lot"),
        ("call", "short", 3.5, "2025-10-17", 3, "", "0.40", "covered call"),
        ("put", "short", 2.5, "2025-10-17", 5, "", "0.98", ""),
    ]
    cols = ("kind", "side", "strike", "expiry", "contracts", "shares", "premium", "note")
    return positions_from_records([{"underlying": "ASST", **dict(zip(cols, r))} for r in rows], "stock book")


def _named(wb, name):
    ((sheet, ref),) = dict(wb.defined_names[name].destinations).items()
    return wb[sheet][ref.replace("$", "")].value


def _formula_cells(wb):
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    yield ws.title, c.coordinate, c.value


@pytest.mark.parametrize("which", ["base", *EDITS, "mixed", "refreshed", "inputs", "stock"])
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
    blank_ok = ('"exit"', '"")', "InputsChanged,")  # formulas whose result may be the empty text
    missing = [
        (s, a, f)
        for s, a, f in _formula_cells(books["formulas"])
        if books["base"][s][a].value is None and not any(k in f for k in blank_ok)
    ]
    assert missing == []


def test_named_plan_cells_equal_engine(books):
    wb, data = books["base"], books["data"]
    split = data.plan.split
    # hand arithmetic: premium 600+2343+244+490+672 = 4349; 20% = 869.80; 80% = 3479.20; +4000 = 7479.20
    assert_allclose(_named(wb, "PremiumCollected"), 4349.0, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "CallBudget"), 869.80, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutPremiumBudget"), 3479.20, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutBudget"), 7479.20, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "CompoundingFactor"), 7479.2 / 4000, rtol=1e-12)
    for key, name in (
        ("call_hedge_budget", "CallBudget"),
        ("put_expansion_budget", "PutBudget"),
        ("compounding_factor", "CompoundingFactor"),
    ):
        assert_allclose(_named(wb, name), getattr(split, key), rtol=1e-12, err_msg=name)
    # Kelly: 0.892 - 0.108 * 0.087 / 0.123 = 0.815609756...; 25% -> 0.20390; capped at 15%
    assert_allclose(_named(wb, "KellyFraction"), 0.892 - 0.108 * 0.087 / 0.123, rtol=1e-12)
    assert_allclose(_named(wb, "KellyFraction"), 0.8156, atol=5e-5)
    assert_allclose(_named(wb, "KellyFraction"), data.kelly.full_kelly, rtol=1e-12)
    assert_allclose(_named(wb, "ConservativeKelly"), data.kelly.fractional_kelly, rtol=1e-12)
    assert_allclose(_named(wb, "MaxSingleStrike"), 0.15, rtol=0, atol=1e-15)
    # hedge ratio: 0.20 x 1.3 (IV pct 99 > 95) x 1.5 (squeeze 0.45 > 0.4) x 1 ($3,792 < $50k) = 0.39 -> cap 0.35
    assert_allclose(_named(wb, "HedgeRatio"), 0.35, rtol=0, atol=1e-15)
    assert_allclose(_named(wb, "HedgeRatio"), data.hedges.ratio, rtol=1e-12)
    assert_allclose(_named(wb, "PortfolioDelta"), data.book.totals.delta_dollars, rtol=1e-10)


def _alloc_rows(wb):
    ws = wb[L.SHEET_PLAN]
    for r in range(1, ws.max_row + 1):
        if (
            ws.cell(row=r, column=1).value == "Strike $"
            and ws.cell(row=r, column=5).value == "Capital/contract $ (net)"
        ):
            first = r + 1
            rows = []
            while isinstance(ws.cell(row=first + len(rows), column=1).value, (int, float)):
                rows.append([ws.cell(row=first + len(rows), column=c).value for c in range(1, 13)])
            total = [ws.cell(row=first + len(rows), column=c).value for c in range(1, 13)]
            return np.array(rows, dtype=float), total
    raise AssertionError("allocation table not found")


def test_allocation_formulas_equal_engine(books):
    rows, total = _alloc_rows(books["base"])
    alloc = books["data"].plan.allocation
    for j, key in enumerate(
        (
            "strike",
            "weight",
            "capital",
            "premium",
            "capital_per_contract",
            "contracts",
            "capital_used",
            "expected_premium",
            "leftover",
            "literal_contracts",
            "contracts_sized",
            "bp_per_contract",
        )
    ):
        assert_allclose(rows[:, j], alloc[key].to_numpy(dtype=float), rtol=1e-12, atol=1e-9, err_msg=key)
    assert_allclose(total[2], 7479.2, rtol=1e-12)  # 0.8 x 4349 + 4000
    assert_allclose(total[5], alloc["contracts"].sum(), rtol=0, atol=0)
    # the cap: contracts use no more buying power than the account has (engine.plan.account: NLV 3,792
    # less the 38 puts' requirement net of value 1,098 = 100+100+125+425+96+126+126 at FINRA minimums)
    bp = 3792.0 - 1098.0
    assert_allclose(_named(books["base"], "BuyingPower"), bp, rtol=0, atol=1e-6)
    assert float(np.sum(rows[:, 5] * rows[:, 11])) <= bp + 1e-9


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
    engine = allocate_strikes(
        8479.2,
        cfg.strikes.strikes,
        cfg.strikes.weights,
        rows[:, 3],
        cfg.market.spot,
        "reg_t",
        cfg.capital,
        buying_power=bp,
        margin=cfg.margin,
    )
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


@pytest.mark.parametrize("which", ["base", "mixed", "stock"])
def test_positions_formulas_equal_engine(books, which):
    wb, data = books[which], books[{"base": "data"}.get(which, f"{which}_data")]
    marked = data.book.marked
    ws = wb[L.SHEET_POSITIONS]
    keys = [c[1] for c in L.POSITION_COLUMNS_ALL]
    kind = marked["kind"].to_numpy()
    w = np.select([kind == "call", kind == "put"], [1.0, -1.0], 0.0)  # stock 0
    for key in L.POSITION_FORMULA_KEYS:
        got = np.array(
            [
                ws.cell(row=L.REPORT_FIRST_ROW + i, column=keys.index(key) + 1).value
                for i in range(len(marked))
            ],
            dtype=float,
        )
        exp = w if key == "w" else marked[key].to_numpy(dtype=float)
        assert_allclose(got, exp, rtol=1e-10, atol=1e-9, err_msg=key)
    payoff = data.payoff.pnl
    rs = wb[L.SHEET_RISK]
    first = next(r for r in range(1, rs.max_row + 1) if rs.cell(row=r, column=1).value == "Underlying $") + 1
    got = np.array([rs.cell(row=first + i, column=2).value for i in range(len(payoff))], dtype=float)
    assert_allclose(got, payoff, rtol=1e-12, atol=1e-9)
    assert_allclose(_named(wb, "PremiumCollected"), data.plan.split.premium, rtol=1e-12)
    assert_allclose(_named(wb, "PortfolioDelta"), data.risk.greeks.delta_dollars, rtol=1e-10)


def test_mixed_book_hand_arithmetic(books):
    """Net premium with calls: 4349 received on puts - 1210 paid for the example's calls
    - 3 x 2.05 x 100 paid + 1 x 1.80 x 100 received = 2704."""
    assert_allclose(_named(books["mixed"], "PremiumCollected"), 4349 - 1210 - 615 + 180, rtol=0, atol=1e-9)
    note = (
        books["mixed"][L.SHEET_POSITIONS]
        .cell(
            row=L.REPORT_FIRST_ROW + len(example_positions()) + 1,
            column=[c.key for c in L.POSITION_INPUT_COLUMNS].index("note") + 1,
        )
        .value
    )
    assert note == "-sold"


def test_ladder_formulas_equal_engine(books):
    wb, data = books["base"], books["data"]
    lw = wb[L.SHEET_LADDER]
    ladder = data.book.ladder
    ladder = ladder[ladder["strike"].notna()]
    for j, (_, key, _, _) in enumerate(L.LADDER_COLUMNS[:8]):
        got = np.array(
            [lw.cell(row=L.REPORT_FIRST_ROW + i, column=j + 1).value for i in range(len(ladder))], dtype=float
        )
        if key in ladder.columns:
            assert_allclose(got, ladder[key].to_numpy(dtype=float), rtol=1e-10, atol=1e-9, err_msg=key)
    total = [lw.cell(row=L.REPORT_FIRST_ROW + len(ladder), column=c).value for c in (2, 3)]
    assert total == [38, 4349]


def test_hedge_ladder_formulas_equal_engine(books):
    wb, data = books["base"], books["data"]
    hl = data.hedges.ladder
    ws = wb[L.SHEET_HEDGES]
    first = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "Rung #") + 1
    for j, key in enumerate(
        ("rung", "moneyness", "strike", "dte", "share", "budget", "price", "contracts", "cost", "leftover")
    ):
        got = np.array([ws.cell(row=first + i, column=j + 1).value for i in range(len(hl))], dtype=float)
        assert_allclose(got, hl[key].to_numpy(dtype=float), rtol=1e-10, atol=1e-9, err_msg=key)


def test_payoff_and_assignment_formulas(books):
    wb, data = books["base"], books["data"]
    payoff = {"price": data.payoff.price, "pnl": data.payoff.pnl}
    ws = wb[L.SHEET_RISK]
    first = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "Underlying $") + 1
    got = np.array([ws.cell(row=first + i, column=2).value for i in range(len(payoff["pnl"]))], dtype=float)
    assert_allclose(got, payoff["pnl"], rtol=1e-12, atol=1e-9)
    # S = 0: the premium 4349 minus every strike x shares (2x1000 + 2.5x2200 + 3x200 + 4x200 + 5x200 = 9900)
    assert_allclose(got[0], 4349.0 - 9900.0, atol=1e-9)
    aw = wb[L.SHEET_ASSIGNMENT]
    rows = data.assignment
    for i, rec in enumerate(rows):
        r = L.REPORT_FIRST_ROW + i
        # cost basis = strike - premium per share (the plan's effective_cost_basis)
        assert_allclose(aw.cell(row=r, column=6).value, rec.strike - rec.premium, rtol=1e-12)
        assert_allclose(aw.cell(row=r, column=6).value, rec.cost_basis, rtol=1e-12)
        assert aw.cell(row=r, column=7).value == rec.tier
        assert_allclose(aw.cell(row=r, column=8).value, rec.call_strike_target, rtol=1e-12)


def test_cli_build_recalc_stores_values(soffice, tmp_path, monkeypatch):
    from workbook.cli import main

    monkeypatch.setenv("VOLARB_NO_PROGRESS", "1")
    out = tmp_path / "r.xlsx"
    assert main(["build", "--out", str(out), "--paths", "100", "--recalc"]) == 0
    wb = openpyxl.load_workbook(out, data_only=True)
    # the built-in example: 4349 received on its puts less 1210 paid for its illustrative calls
    assert_allclose(_named(wb, "PutBudget"), 0.8 * (4349 - 1210) + 4000, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "HedgeRatio"), 0.35, rtol=0, atol=1e-15)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_report_with_market_inputs_recalculates(books):
    """Marks at the chain surface's vols feed the live formulas; every alert has a status."""
    wb = books["inputs"]
    ws = wb[L.SHEET_RISK]
    status = {
        ws.cell(row=r, column=1).value: ws.cell(row=r, column=4).value for r in range(1, ws.max_row + 1)
    }
    assert status["DAILY_PNL_ALERT"] == "OK" and status["LOW_IV_ENVIRONMENT"] == "OK"  # +142 < 182.50; pct 99
    data = books["inputs_data"]
    assert {m for m in data.book.marked["vol_source"]} == {"surface"}
    assert_allclose(_named(wb, "PortfolioDelta"), data.risk.greeks.delta_dollars, rtol=1e-10)
    assert_allclose(_named(wb, "ValueAtRisk"), data.risk.var.var, rtol=1e-12)
    assert data.risk.var.method == "historical"


def test_refreshed_report_recalculates(books):
    """After the user's edits and refresh: 4349 + 4 x 1.10 x 100 = 4789 net premium; put budget
    0.8 x 4789 + 3000 = 6831.20; 42 contracts on the ladder; extra sheet kept."""
    wb = books["refreshed"]
    assert_allclose(_named(wb, "PremiumCollected"), 4789.0, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutBudget"), 0.8 * 4789 + 3000, rtol=0, atol=1e-9)
    lw = wb[L.SHEET_LADDER]
    totals = [
        lw.cell(row=r, column=2).value
        for r in range(2, lw.max_row + 1)
        if lw.cell(row=r, column=1).value == "Total"
    ]
    assert totals == [42]
    assert wb["Journal"]["A1"].value == "mine"
    assert wb.sheetnames[: len(L.SHEETS)] == list(L.SHEETS)


# --- edits in the spreadsheet, recalculated without refresh (issue 12: never silently stale) ---

REPORT_SHEETS = tuple(s for s in L.SHEETS)


def _table(ws, first_header, second_header=None):
    """Rows (dicts by header) of the table whose header row starts with these headers."""
    for r in range(1, ws.max_row + 1):
        if ws.cell(row=r, column=1).value == first_header and (
            second_header is None or ws.cell(row=r, column=2).value == second_header
        ):
            heads = [ws.cell(row=r, column=c).value for c in range(1, ws.max_column + 1)]
            out = []
            rr = r + 1
            while ws.cell(row=rr, column=1).value not in (None, "", "Total"):
                out.append({h: ws.cell(row=rr, column=c + 1).value for c, h in enumerate(heads) if h})
                rr += 1
            return out
    raise AssertionError(f"table {first_header!r} not found on {ws.title}")


@pytest.mark.parametrize("which", ["base", "note", "refreshed", "inputs"])
def test_no_banner_while_the_model_inputs_are_the_inputs(books, which):
    wb = books[which]
    assert _named(wb, "InputsChanged") is False
    for name in REPORT_SHEETS:
        assert wb[name]["A1"].value in (None, ""), (which, name)


@pytest.mark.parametrize("which", [k for k in EDITS if k != "note"])
def test_banner_on_every_sheet_after_a_model_input_changed(books, which):
    wb = books[which]
    assert _named(wb, "InputsChanged") is True
    for name in REPORT_SHEETS:
        assert wb[name]["A1"].value == L.STALE_TEXT, (which, name)


def _split_by_hand(wb, premium, call_share, addition):
    """The premium split: call = premium x share, put premium = premium - call, budget + addition."""
    call = premium * call_share
    for name, want in (
        ("PremiumCollected", premium),
        ("PlanPremium", premium),
        ("CallShareUsed", call_share),
        ("CallBudget", call),
        ("PutPremiumBudget", premium - call),
        ("PutBudget", premium - call + addition),
        ("CompoundingFactor", (premium - call + addition) / addition),
        ("HedgeBudget", call),
    ):
        assert_allclose(_named(wb, name), want, rtol=1e-12, atol=1e-9, err_msg=name)


@pytest.mark.parametrize(
    "which, premium, share, addition",
    [
        ("base", 4349.0, 0.20, 4000.0),
        ("note", 4349.0, 0.20, 4000.0),
        ("spot", 4349.0, 0.20, 4000.0),
        ("addition", 4349.0, 0.20, 5000.0),
        ("callshare", 4349.0, 0.30, 4000.0),
        ("weight", 4349.0, 0.20, 4000.0),
        # one more contract at $0.50: 4349 + 0.50 x 100; a lot of 4 at $1.10: 4349 + 4 x 1.10 x 100
        ("contracts", 4399.0, 0.20, 4000.0),
        ("appended", 4789.0, 0.20, 4000.0),
    ],
)
def test_premium_split_by_hand(books, which, premium, share, addition):
    _split_by_hand(books[which], premium, share, addition)


def test_call_share_edit(books):
    """CallShare 30%: the title says 70/30, every hedge rung's budget is 0.30 x 4349 x its share,
    the projection's hedge is 30% of each month's income."""
    wb = books["callshare"]
    assert wb[L.SHEET_PLAN]["A2"].value == "Premium split (70/30 rule: puts/calls)"
    assert books["base"][L.SHEET_PLAN]["A2"].value == "Premium split (80/20 rule: puts/calls)"
    rungs = _table(wb[L.SHEET_HEDGES], "Rung #")
    assert_allclose([r["Budget $"] for r in rungs], [1304.7 * 0.40, 1304.7 * 0.35, 1304.7 * 0.25], rtol=1e-12)
    for r in rungs:  # whole contracts of budget / (price x 100), cost, leftover
        assert r["Contracts"] == int(r["Budget $"] // (r["Price $/sh"] * 100))
        assert_allclose(r["Leftover $"], r["Budget $"] - r["Contracts"] * r["Price $/sh"] * 100, atol=1e-9)
    proj = _table(wb[L.SHEET_PLAN], "Month", "Sale date")
    for m in proj:
        assert_allclose(m["Call hedge $"], 0.30 * m["Premium income $"], rtol=1e-12)
        assert_allclose(m["Put reinvestment $"], 0.70 * m["Premium income $"], rtol=1e-12)


@pytest.mark.parametrize("which, addition", [("base", 4000.0), ("addition", 5000.0)])
def test_projection_arithmetic_is_live(books, which, addition):
    """New capital is MonthlyAddition; the put budget is that plus last month's reinvestment; the
    portfolio value is start + new capital + income, and the next month starts from it."""
    proj = _table(books[which][L.SHEET_PLAN], "Month", "Sale date")
    start = 3792.0
    for i, m in enumerate(proj):
        assert m["New capital $"] == addition
        want_budget = addition + (proj[i - 1]["Put reinvestment $"] if i else 0.0)
        assert_allclose(m["Put budget $"], want_budget, rtol=1e-12)
        assert_allclose(m["Starting capital $"], start, rtol=1e-12)
        start = start + addition + m["Premium income $"]
        assert_allclose(m["Portfolio value $"], start, rtol=1e-12)


def test_order_counts_follow_the_plan(books):
    """The tickets are model values: the Plan's live contract count is the capped allocation
    (whole contracts of int(capital / capital per contract) x the buying-power scale); after
    MonthlyAddition 5000 it is compared with the unchanged tickets and the Orders sheet says whether
    they still match."""
    base, edited, data = books["base"], books["addition"], books["data"]
    sells = data.orders[data.orders["action"] == "sell"]["contracts"].sum()
    assert _named(base, "PlanContracts") == _named(base, "OrderPutContracts") == sells
    assert _named(base, "OrderPutContracts") == data.plan.allocation["contracts"].sum()
    rows, total = _alloc_rows(edited)
    scale = _named(edited, "BuyingPowerScale")
    need = float(np.sum(rows[:, 10] * rows[:, 11]))  # before-cap contracts x buying power per contract
    bp = _named(edited, "BuyingPower")
    assert_allclose(scale, min(1.0, max(bp, 0.0) / need) if need > 0 else 1.0, rtol=1e-12)
    assert_allclose(rows[:, 10], np.floor(rows[:, 2] / rows[:, 4]), rtol=0, atol=0)
    assert _named(edited, "PlanContracts") == int(np.floor(rows[:, 10] * scale + 1e-12).sum()) == total[5]
    assert _named(edited, "OrderPutContracts") == sells
    status = {r["Order counts"]: r["Contracts"] for r in _table(edited[L.SHEET_ORDERS], "Order counts")}
    same = _named(edited, "PlanContracts") == sells
    assert status["Tickets match the Plan"] == ("yes" if same else "no: run volarb refresh")
    status = {r["Order counts"]: r["Contracts"] for r in _table(base[L.SHEET_ORDERS], "Order counts")}
    assert status["Tickets match the Plan"] == "yes"


def test_spot_edit_hand_arithmetic(books):
    """Spot $2.50: moneyness K/2.50, Reg T capital per contract (premium + max(20% x 2.50 - OTM
    amount, 10% x K)) x 100, dollar delta = delta shares x 2.50."""
    wb, data = books["spot"], books["data"]
    ladder = _table(wb[L.SHEET_LADDER], "Strike $")
    assert_allclose(
        [r["Moneyness K/S"] for r in ladder], [k / 2.5 for k in (2.0, 2.5, 3.0, 4.0, 5.0)], rtol=1e-12
    )
    rows, _ = _alloc_rows(wb)
    k = rows[:, 0]
    # net basis (the requirement net of the premium credited): max(20% x 2.50 - OTM amount, 10% x K) x 100
    cpc = np.maximum(0.20 * 2.5 - np.maximum(2.5 - k, 0.0), 0.10 * k) * 100
    assert_allclose(rows[:, 4], cpc, rtol=1e-12)
    sized = np.floor(7479.2 * np.array([0.2, 0.35, 0.3, 0.1, 0.05]) / cpc)
    assert_allclose(rows[:, 10], sized, rtol=0, atol=0)
    assert_allclose(rows[:, 5], np.floor(sized * _named(wb, "BuyingPowerScale") + 1e-12), rtol=0, atol=0)
    delta_shares = data.book.marked["delta_shares"].sum()
    assert_allclose(_named(wb, "PortfolioDelta"), delta_shares * 2.5, rtol=1e-10)


def test_weight_edit_is_flagged_and_allocated(books):
    """First ladder weight 20% -> 30%: the weights sum to 110% (flagged live), and the $2 strike
    gets 30% of the $7,479.20 budget."""
    wb = books["weight"]
    assert _named(wb, "LadderWeightsOK") == "weights sum to 110.0%, not 100%"
    assert _named(books["base"], "LadderWeightsOK") == "weights sum to 100%"
    rows, total = _alloc_rows(wb)
    assert_allclose(rows[0, 2], 0.30 * 7479.2, rtol=1e-12)
    assert_allclose(total[1], 1.10, rtol=1e-12)


@pytest.mark.parametrize(
    "which, strike, contracts, total, obligation",
    [
        # one more contract at $2: 10 + 1 at that strike, 38 + 1 in all; obligation 9,900 + 2 x 100
        ("contracts", 2.0, 11, 39, 10100.0),
        # an appended lot of 4 at $3: 2 + 4 there, 38 + 4 in all; obligation 9,900 + 3 x 4 x 100
        ("appended", 3.0, 6, 42, 11100.0),
    ],
)
def test_position_edits_count_in_every_total(books, which, strike, contracts, total, obligation):
    wb = books[which]
    premium = _named(wb, "PremiumCollected")
    ladder = {r["Strike $"]: r for r in _table(wb[L.SHEET_LADDER], "Strike $")}
    assert ladder[strike]["Contracts"] == contracts
    lw = wb[L.SHEET_LADDER]
    totals = [
        lw.cell(row=r, column=2).value
        for r in range(1, lw.max_row + 1)
        if lw.cell(row=r, column=1).value == "Total"
    ]
    assert totals == [total]
    assert_allclose(_named(wb, "PutObligation"), obligation, rtol=0, atol=1e-9)
    assert_allclose(sum(r["Obligation $"] for r in ladder.values()), obligation, rtol=0, atol=1e-9)
    payoff = _table(wb[L.SHEET_RISK], "Underlying $")
    assert_allclose(
        payoff[0]["P&L at expiry $"], premium - obligation, atol=1e-9
    )  # S = 0: every put pays strike
    assert_allclose(payoff[-1]["P&L at expiry $"], premium, atol=1e-9)  # S = 6.30 > every strike: none pays
    assert _named(wb, "CurrentPositions") != _named(wb, "ModelPositions")


def test_model_fingerprints_equal_the_recalculated_ones(books):
    """The fingerprints Python wrote equal what LibreOffice computes from the same cells."""
    for which in ("base", "refreshed", "inputs", "mixed"):
        wb = books[which]
        assert_allclose(
            _named(wb, "CurrentPositions"), _named(wb, "ModelPositions"), rtol=1e-12, err_msg=which
        )
        assert_allclose(_named(wb, "CurrentConfig"), _named(wb, "ModelConfig"), rtol=1e-12, err_msg=which)


def test_today_sheet(books):
    """Today opens the workbook: model date, spot and vol, the account, firing alerts with units,
    the day's orders held with the reason while buying power is negative."""
    wb, data = books["base"], books["data"]
    assert wb.sheetnames[0] == L.SHEET_TODAY
    ws = wb[L.SHEET_TODAY]
    assert ws["A2"].value == "Today: 2025-09-27 (ASST)"
    rows = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(1, 13)}
    assert rows["Spot the model used $/share"] == 3.15 and rows["Vol the model used %"] == 4.25
    acct = data.account
    assert rows["Net liquidation $ (NLV)"] == 3792.0
    # the bases: excess liquidity = EWL - maintenance requirement; buying power = EWL - initial
    ewl = rows["Equity with loan value $ (EWL)"]
    assert_allclose(
        rows["Excess liquidity $ (EWL - maintenance)"],
        ewl - rows["Maintenance requirement $ (vs EWL)"],
        rtol=1e-12,
    )
    assert_allclose(
        rows["Buying power $ (EWL - initial)"], ewl - rows["Initial requirement $ (vs EWL)"], rtol=1e-12
    )
    assert_allclose(rows["Buying power $ (EWL - initial)"], acct.buying_power, rtol=1e-12)
    alerts = _table(ws, "Alert", "Status")
    assert [a["Alert"] for a in alerts] == list(data.risk.alerting)
    assert {a["Unit of value and limit"] for a in alerts if a["Alert"] == "VAR_LIMIT_BREACH"} == {
        "1-day VaR $"
    }
    orders = _table(ws, "Status", "Contracts")
    assert [o["Status"] for o in orders] == data.orders["status"].tolist()
    assert [o["Contracts"] for o in orders] == data.orders["contracts"].tolist()
    held = [o for o in orders if o["Status"] == "HELD"]
    assert all(o["Held because"] for o in held)  # a held order says why
    assert all(not o["Held because"] for o in orders if o["Status"] == "PROPOSED")


# --- the same workbooks recalculated by Gnumeric -----------------------------------------------


@pytest.fixture(scope="module")
def gnumeric_books(books, tmp_path_factory):
    """Base, appended-lot and CallShare books recalculated by Gnumeric's ssconvert (one file per call)."""
    import subprocess

    exe = shutil.which("ssconvert")
    if exe is None:
        pytest.skip("Gnumeric not found: install it with `apt-get install -y gnumeric` (Debian/Ubuntu)")
    src, out = books["_src"], tmp_path_factory.mktemp("gnumeric")
    got = {}
    for name in ("base", "appended", "callshare", "note"):
        subprocess.run(
            [exe, "--recalc", str(src / f"{name}.xlsx"), str(out / f"{name}.xlsx")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        got[name] = openpyxl.load_workbook(out / f"{name}.xlsx", data_only=True)
    return got


def test_gnumeric_recalculates_without_errors_and_agrees(gnumeric_books):
    """No error cell in any Gnumeric-recalculated book; the banner and the totals as in LibreOffice:
    4349 + 4 x 1.10 x 100 = 4789 with the appended lot, 9,900 + 1,200 obligation; 70/30 title."""
    for name, wb in gnumeric_books.items():
        bad = [
            (ws.title, c.coordinate, c.value)
            for ws in wb
            for row in ws.iter_rows()
            for c in row
            if isinstance(c.value, str) and c.value.startswith(L.EXCEL_ERRORS)
        ]
        assert bad == [], name
    assert _named(gnumeric_books["base"], "InputsChanged") is False
    assert _named(gnumeric_books["note"], "InputsChanged") is False
    wb = gnumeric_books["appended"]
    assert _named(wb, "InputsChanged") is True and wb[L.SHEET_PLAN]["A1"].value == L.STALE_TEXT
    assert_allclose(_named(wb, "PremiumCollected"), 4789.0, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutObligation"), 11100.0, rtol=0, atol=1e-9)
    assert_allclose(_named(wb, "PutBudget"), 0.8 * 4789 + 4000, rtol=0, atol=1e-9)
    wb = gnumeric_books["callshare"]
    assert wb[L.SHEET_PLAN]["A2"].value == "Premium split (70/30 rule: puts/calls)"
    assert_allclose(_named(wb, "CallBudget"), 0.30 * 4349, rtol=1e-12)


def test_stock_book_recalculated_by_hand(books):
    """The stock book after LibreOffice recalculation: the stock row's live cells, the totals over
    it and the P&L at expiry by hand arithmetic (spot 3.15, 100 shares a contract)."""
    wb, data = books["stock"], books["stock_data"]
    ws = wb[L.SHEET_POSITIONS]
    keys = [c.key for c in L.POSITION_COLUMNS_ALL]

    def cell(i, key):
        return ws.cell(row=L.REPORT_FIRST_ROW + i, column=keys.index(key) + 1).value

    # the stock row reads back as typed: blank strike, expiry and contracts, 300 shares, cost 2.50
    assert [cell(0, k) for k in ("kind", "strike", "expiry", "contracts", "shares")] == [
        "stock",
        None,
        None,
        None,
        300,
    ]
    assert_allclose(cell(0, "premium"), 2.50, rtol=0, atol=1e-12)
    # value 300 x 3.15 = 945; paid 300 x 2.50 = 750; P&L 945 - 750 = 195; no option arithmetic
    assert cell(0, "w") == 0 and cell(0, "sign") == 1 and cell(0, "obligation") == 0
    assert_allclose(
        [cell(0, k) for k in ("value", "premium_total", "unrealized_pnl")], [945.0, -750.0, 195.0], atol=1e-9
    )
    assert_allclose([cell(0, "delta_shares"), cell(0, "delta_dollars")], [300.0, 945.0], atol=1e-9)
    # the calls' premium counts, the shares' cost does not: 3 x 0.40 x 100 + 5 x 0.98 x 100 = 610
    assert_allclose(_named(wb, "PremiumCollected"), 120.0 + 490.0, rtol=0, atol=1e-9)
    assert_allclose([_named(wb, "SharesHeld"), _named(wb, "StockValue")], [300.0, 945.0], atol=1e-9)
    assert_allclose(_named(wb, "PutObligation"), 5 * 2.50 * 100, atol=1e-9)
    # P&L at expiry: 300 (S - 2.50) - 300 max(S - 3.50, 0) - 500 max(2.50 - S, 0) + 610
    rs = wb[L.SHEET_RISK]
    first = next(r for r in range(1, rs.max_row + 1) if rs.cell(row=r, column=1).value == "Underlying $") + 1
    prices = np.array(
        [rs.cell(row=first + i, column=1).value for i in range(len(data.payoff.price))], dtype=float
    )
    got = np.array([rs.cell(row=first + i, column=2).value for i in range(len(prices))], dtype=float)
    hand = (
        300 * (prices - 2.50) - 300 * np.maximum(prices - 3.50, 0) - 500 * np.maximum(2.50 - prices, 0) + 610
    )
    assert_allclose(got, hand, rtol=0, atol=1e-9)
    # the account figures (engine values on Today) are the account model's
    for name, attr in (
        ("NetLiquidation", "net_liquidation"),
        ("EquityWithLoanValue", "equity_with_loan_value"),
        ("MaintenanceRequirement", "maintenance_requirement"),
        ("ExcessLiquidity", "excess_liquidity"),
    ):
        assert_allclose(_named(wb, name), getattr(data.account, attr), rtol=1e-12, err_msg=name)


def test_stock_rows_read_back_from_the_libreoffice_save(books):
    """The stock book as LibreOffice saved it reads back into the same positions (blank strike,
    expiry and contracts; 300 shares at a cost of $2.50)."""
    from workbook.io import read_positions_sheet

    pos = read_positions_sheet(books["stock"], "stock.xlsx")
    want = stock_positions()
    assert pos["kind"].tolist() == want["kind"].tolist() == ["stock", "call", "put"]
    assert pos["shares"].tolist() == [300, 0, 0] and pos["contracts"].tolist() == [0, 3, 5]
    assert pos["expiry"][0] is None and np.isnan(pos["strike"][0])
    assert_allclose(pos["premium"], want["premium"], rtol=0, atol=1e-12)
