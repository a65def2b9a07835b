"""Stock rows (assigned lots) in the report workbook: build, account figures, formulas, round trip.

The book: an assigned lot of 300 ASST shares at a cost of $2.50 a share and 3 short $3.50 calls
(Oct 17, 0.40 received) written on it, at the example market (spot 3.15, net liquidation
$3,792, Reg T margin account with the FINRA minimums).  Expected figures are hand arithmetic
from FINRA Rule 4210: long stock 50% initial (Reg T) / 25% maintenance of its market value; a
call covered by 100 shares a contract needs nothing more, the shares being counted at no more
than the call strike (here min(3.15, 3.50) = 3.15, so the cap does not bind).
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import openpyxl
import pytest
from conftest import run_cli
from numpy.testing import assert_allclose

from engine.config import default_config
from engine.data.positions import read_positions
from engine.plan.account import account_state
from workbook import layout as L
from workbook.compute import compute_report
from workbook.io import atomic_save, load_user_workbook, read_positions_sheet
from workbook.report import refresh_workbook, write_report
from workbook.report.positions import positions_table

PATHS = 50
S, SHARES, COST, K_CALL, CALLS = 3.15, 300, 2.50, 3.50, 3
BOOK_CSV = (
    "underlying,kind,side,strike,expiry,contracts,shares,premium,note\n"
    f"ASST,stock,long,,,,{SHARES},{COST},assigned lot\n"
    f"ASST,call,short,{K_CALL},2025-10-17,{CALLS},,0.40,covered call\n"
)


def _book(tmp_path):
    p = tmp_path / "book.csv"
    p.write_text(BOOK_CSV, encoding="utf-8")
    return read_positions(p)


@pytest.fixture(scope="module")
def stock_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stock")
    book = _book(tmp)
    data = compute_report(default_config(), book, paths=PATHS, seed=7)
    path = tmp / "report.xlsx"
    atomic_save(write_report(data), path)
    return {"book": book, "data": data, "path": path}


def _named(wb, name):
    ((sheet, ref),) = dict(wb.defined_names[name].destinations).items()
    return wb[sheet][ref.replace("$", "")].value


def _col(key):
    return positions_table(None, 0).letter(key)


def test_stock_book_account_is_the_account_model_by_hand(stock_report):
    data = stock_report["data"]
    acct = data.account
    marked = data.book.marked
    c = float(marked.loc[marked["kind"] == "call", "mark"].iloc[0])  # the call's model mark, $/share
    stock_value = SHARES * S  # 945.00
    nlv = 3792.0  # account.starting_value of the example config
    # EWL = cash + the value of what has loan value (the shares): NLV + the short calls' value
    ewl = nlv + CALLS * 100 * c
    maint = 0.25 * stock_value  # 236.25: 25% of 945; the covered calls add 0
    initial = 0.50 * stock_value  # 472.50
    assert_allclose(
        [acct.net_liquidation, acct.equity_with_loan_value, acct.maintenance_requirement],
        [nlv, ewl, maint],
        rtol=0,
        atol=1e-9,
    )
    assert_allclose(
        [acct.initial_requirement, acct.excess_liquidity, acct.buying_power],
        [initial, ewl - maint, ewl - initial],
        rtol=0,
        atol=1e-9,
    )
    # net of value: NLV - net requirement is the same excess liquidity
    assert_allclose(acct.net_liquidation - acct.maintenance_requirement_net, acct.excess_liquidity, atol=1e-9)
    # the engine's own account of the same book, computed apart from the report
    ref = account_state(stock_report["book"], default_config())
    for k in ("net_liquidation", "equity_with_loan_value", "maintenance_requirement", "excess_liquidity"):
        assert_allclose(getattr(acct, k), getattr(ref, k), rtol=1e-12, err_msg=k)
    # a covered call needs no more than the shares alone
    shares_only = account_state(stock_report["book"].iloc[:1], default_config())
    assert_allclose(shares_only.maintenance_requirement, maint, atol=1e-9)


def test_stock_book_report_cells(stock_report):
    data = stock_report["data"]
    wb = openpyxl.load_workbook(stock_report["path"])
    acct = data.account
    for name, value in (
        ("NetLiquidation", acct.net_liquidation),
        ("EquityWithLoanValue", acct.equity_with_loan_value),
        ("InitialRequirement", 472.50),
        ("MaintenanceRequirement", 236.25),
        ("ExcessLiquidity", acct.excess_liquidity),
        ("BuyingPower", acct.buying_power),
    ):
        assert_allclose(_named(wb, name), value, rtol=1e-12, atol=1e-9, err_msg=name)
    ws = wb[L.SHEET_POSITIONS]
    r = L.REPORT_FIRST_ROW
    # the input headers name their units; the stock row is typed as in the CSV
    heads = [
        ws.cell(row=L.REPORT_HEADER_ROW, column=j + 1).value for j in range(len(L.POSITION_INPUT_COLUMNS))
    ]
    assert {"Premium ($/share)", "Contracts", "Shares", "Strike ($/share)"} <= set(heads)
    assert [
        ws[f"{_col(k)}{r}"].value for k in ("kind", "strike", "expiry", "contracts", "shares", "premium")
    ] == [
        "stock",
        None,
        None,
        None,
        SHARES,
        COST,
    ]
    assert ws[f"{_col('shares')}{r + 1}"].value is None and ws[f"{_col('contracts')}{r + 1}"].value == CALLS
    # live formulas: the quantity is contracts x multiplier + shares (the blank one reads 0)
    sh, ct = f"{_col('shares')}{r}", f"{_col('contracts')}{r}"
    assert ws[f"{_col('value')}{r}"].value == f"={_col('sign')}{r}*{_col('mark')}{r}*({ct}*Multiplier+{sh})"
    assert ws[f"{_col('w')}{r}"].value.endswith(",-1,0))")  # stock: 0, no put/call arithmetic
    # the model's per-position requirement (net of value): shares 236.25, the covered calls
    # 0 full - (0 EWL part - (-300 c) NLV part) = -300 c
    c = float(data.book.marked["mark"].iloc[1])
    assert_allclose(
        [ws[f"{_col('margin')}{r}"].value, ws[f"{_col('margin')}{r + 1}"].value],
        [236.25, -CALLS * 100 * c],
        atol=1e-9,
    )


def test_stock_book_formulas_evaluate_by_hand(stock_report, tmp_path):
    """The formulas package (the build's cached-value engine) evaluates the stock row's live cells."""
    pytest.importorskip("formulas")
    from workbook.cached import formula_values

    path = tmp_path / "r.xlsx"
    shutil.copyfile(stock_report["path"], path)
    values, _ = formula_values(path)
    wb = openpyxl.load_workbook(path)
    r = L.REPORT_FIRST_ROW

    def v(key, row=r):
        return float(values[(L.SHEET_POSITIONS, f"{_col(key)}{row}")])

    # 300 x 3.15 = 945 value; 300 x 2.50 = 750 paid; 945 - 750 = 195 P&L; no obligation
    assert_allclose([v("value"), v("premium_total"), v("unrealized_pnl")], [945.0, -750.0, 195.0], atol=1e-9)
    assert v("w") == 0 and v("obligation") == 0 and v("sign") == 1
    assert_allclose(v("delta_dollars"), 300 * S, atol=1e-9)

    def named(name):
        ((sheet, ref),) = dict(wb.defined_names[name].destinations).items()
        return float(values[(sheet, ref.replace("$", ""))])

    # premium 3 x 0.40 x 100 = 120 (the shares' cost is not premium); 300 shares worth 945
    assert_allclose(
        [named("PremiumCollected"), named("SharesHeld"), named("StockValue")], [120, 300, 945], atol=1e-9
    )
    # P&L at expiry, first and last rows of the grid (0 and 2.5 x spot = 7.875):
    # 300 (S - 2.50) - 300 max(S - 3.50, 0) + 120 -> -630 at 0 and 420 at 7.875 (capped by the calls)
    rs = wb[L.SHEET_RISK]
    first = next(i for i in range(1, rs.max_row + 1) if rs.cell(row=i, column=1).value == "Underlying $") + 1
    n = L.PAYOFF_STEPS + 1
    got = [float(values[(L.SHEET_RISK, f"B{first + i}")]) for i in (0, n - 1)]
    assert_allclose(got, [-630.0, 420.0], atol=1e-9)
    assert_allclose(stock_report["data"].payoff.pnl[[0, -1]], [-630.0, 420.0], atol=1e-9)


def test_stock_rows_round_trip_through_the_report(stock_report):
    wb = load_user_workbook(stock_report["path"])
    got = read_positions_sheet(wb, "report.xlsx")
    want = stock_report["book"]
    assert got["kind"].tolist() == want["kind"].tolist() and got["shares"].tolist() == [SHARES, 0]
    assert got["contracts"].tolist() == [0, CALLS] and got["expiry"][0] is None
    assert math.isnan(got["strike"][0]) and got["premium"].tolist() == [COST, 0.40]


def test_build_reads_stock_rows_from_a_hand_edited_report(stock_report, tmp_path, capsys):
    """A user adds 100 shares to the lot in the report; build and refresh read them."""
    src = tmp_path / "edited.xlsx"
    shutil.copyfile(stock_report["path"], src)
    wb = openpyxl.load_workbook(src)
    wb[L.SHEET_POSITIONS][f"{_col('shares')}{L.REPORT_FIRST_ROW}"] = 400
    wb.save(src)
    out = tmp_path / "new.xlsx"
    code, _, err = run_cli(capsys, "build", "--positions", src, "--out", out, "--paths", 20)
    assert code == 0, err
    pos = read_positions_sheet(load_user_workbook(out), "new.xlsx")
    assert pos["shares"].tolist() == [400, 0]
    # 400 shares cover the 3 calls: maintenance 25% x 400 x 3.15 = 315
    wb2 = openpyxl.load_workbook(out)
    assert_allclose(_named(wb2, "MaintenanceRequirement"), 0.25 * 400 * S, atol=1e-9)
    code, _, err = run_cli(capsys, "refresh", src, "--paths", 20)
    assert code == 0, err


@pytest.mark.parametrize(
    "key, value, rule",
    [
        ("contracts", 3, "a stock row (kind = stock) leaves contracts blank, got 3"),
        ("strike", 2.5, "a stock row (kind = stock) leaves strike blank, got 2.5"),
        ("shares", None, "a stock row (kind = stock) needs a positive whole number of shares"),
    ],
)
def test_bad_stock_row_in_a_report_exits_2(stock_report, tmp_path, capsys, key, value, rule):
    path = tmp_path / "bad.xlsx"
    shutil.copyfile(stock_report["path"], path)
    wb = openpyxl.load_workbook(path)
    wb[L.SHEET_POSITIONS][f"{_col(key)}{L.REPORT_FIRST_ROW}"] = value
    wb.save(path)
    before = path.read_bytes()
    code, _, err = run_cli(capsys, "refresh", path, "--paths", 20)
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert f"sheet Positions, row {L.REPORT_FIRST_ROW}, column '{key}': {rule}" in lines[0]
    assert path.read_bytes() == before  # nothing written


@pytest.mark.parametrize(
    "line, column, rule",
    [
        ("ASST,stock,long,,,3,300,2.50", "contracts", "leaves contracts blank, got '3'"),
        ("ASST,stock,long,2.5,,,300,2.50", "strike", "leaves strike blank, got '2.5'"),
    ],
)
def test_bad_stock_row_in_a_csv_build_exits_2(tmp_path, capsys, line, column, rule):
    p = tmp_path / "book.csv"
    p.write_text(
        "underlying,kind,side,strike,expiry,contracts,shares,premium\n" + line + "\n", encoding="utf-8"
    )
    out = tmp_path / "r.xlsx"
    code, _, err = run_cli(capsys, "build", "--positions", p, "--out", out, "--paths", 20)
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert f"book.csv, line 2, column '{column}': a stock row (kind = stock) {rule}" in lines[0]
    assert not out.exists()


def test_unit_headers_read_as_their_keys(tmp_path):
    """A positions file with the report's headers (units in parentheses) reads like the bare keys."""
    heads = ",".join(c.header for c in L.POSITION_INPUT_COLUMNS)
    p = tmp_path / "units.csv"
    p.write_text(heads + "\nASST,stock,long,,,,300,2.50,,,lot\nASST,put,short,2.5,2025-10-17,5,,0.98,,,\n")
    got = read_positions(p)
    assert got["shares"].tolist() == [300, 0] and got["contracts"].tolist() == [0, 5]
    assert got["premium"].tolist() == [2.50, 0.98]


def test_a_report_from_before_the_shares_column_refreshes(stock_report, tmp_path):
    """Old layout: bare-key headers, no shares column.  Refresh inserts the column (blank), puts
    the units in the headers, and every formula still reads its own column."""
    from engine.data.positions import example_positions

    data = compute_report(default_config(), example_positions(), paths=PATHS, seed=7)
    wb = write_report(data)
    ws = wb[L.SHEET_POSITIONS]
    at = [c.key for c in L.POSITION_INPUT_COLUMNS].index("shares") + 1
    ws.delete_cols(at)
    for j, c in enumerate(k for k in L.POSITION_INPUT_COLUMNS if k.key != "shares"):
        ws.cell(row=L.REPORT_HEADER_ROW, column=j + 1).value = c.key
    path = tmp_path / "old.xlsx"
    atomic_save(wb, path)
    wb = load_user_workbook(path)
    pos = read_positions_sheet(wb, "old.xlsx")  # reads without a shares column
    assert len(pos) == len(example_positions()) and (pos["shares"] == 0).all()
    refresh_workbook(wb, compute_report(default_config(), pos, paths=PATHS, seed=7))
    ws = wb[L.SHEET_POSITIONS]
    heads = [
        ws.cell(row=L.REPORT_HEADER_ROW, column=j + 1).value for j in range(len(L.POSITION_INPUT_COLUMNS))
    ]
    assert heads == [c.header for c in L.POSITION_INPUT_COLUMNS]
    r = L.REPORT_FIRST_ROW
    assert ws[f"{_col('shares')}{r}"].value is None and ws[f"{_col('premium')}{r}"].value == pos["premium"][0]
    assert ws[f"{_col('value')}{r}"].value.endswith(
        f"*({_col('contracts')}{r}*Multiplier+{_col('shares')}{r})"
    )
    again = read_positions_sheet(wb, "old.xlsx")
    assert again[["kind", "strike", "contracts", "premium"]].equals(
        pos[["kind", "strike", "contracts", "premium"]]
    )


def test_broker_file_with_share_lots_builds(tmp_path, capsys):
    """tastytrade history with an assigned lot (100 shares left at a broker cost of $3.00): the
    report takes it (it was refused before), the account being the engine's for that book."""
    from pathlib import Path

    from workbook.cli.brokers import broker_positions

    src = Path(__file__).resolve().parents[1] / "fixtures" / "brokers" / "tastytrade-21.csv"
    out = tmp_path / "r.xlsx"
    code, _, err = run_cli(capsys, "build", "--positions", src, "--out", out, "--paths", 20)
    assert code == 0, err
    pos = read_positions_sheet(load_user_workbook(out), "r.xlsx")
    stock = pos[pos["kind"] == "stock"]
    assert stock["shares"].tolist() == [100] and stock["premium"].tolist() == [3.00]
    book = broker_positions(src)
    ref = account_state(book, default_config())
    wb = openpyxl.load_workbook(out)
    for name, attr in (
        ("MaintenanceRequirement", "maintenance_requirement"),
        ("ExcessLiquidity", "excess_liquidity"),
    ):
        assert_allclose(_named(wb, name), getattr(ref, attr), rtol=1e-12, err_msg=name)
    assert np.isfinite(_named(wb, "EquityWithLoanValue"))
