"""The report workbook without a spreadsheet application: sheets, names, formats, formulas,
inert text, determinism, refresh keeping user edits, JSON carrying the figures."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import openpyxl
import pytest
from numpy.testing import assert_allclose

from engine.config import default_config
from engine.data.positions import example_positions
from workbook import layout as L
from workbook.compute import compute_report, payoff_grid
from workbook.io import atomic_save, load_user_workbook, read_config_sheet, read_positions_sheet
from workbook.report import Formula, put, refresh_workbook, write_report, xlfn

PATHS = 200
EVIL = ('=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)")


@pytest.fixture(scope="module")
def positions():
    pos = example_positions()
    for i, text in enumerate(EVIL):
        pos.loc[i, "note"] = text
    return pos


@pytest.fixture(scope="module")
def data(positions):
    return compute_report(default_config(), positions, paths=PATHS, seed=7)


@pytest.fixture(scope="module")
def report(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("rep") / "report.xlsx"
    atomic_save(write_report(data), path)
    return path


@pytest.fixture(scope="module")
def wb(report):
    return openpyxl.load_workbook(report)


def test_sheets_in_order(wb):
    from workbook.views import VIEW_SHEETS

    assert wb.sheetnames == list(L.SHEETS) + list(VIEW_SHEETS)


def test_required_defined_names(wb):
    for name in L.REQUIRED_NAMES:
        assert name in wb.defined_names, name
    dests = dict(wb.defined_names["Spot"].destinations)
    ws = wb[L.SHEET_INPUTS]
    ((sheet, ref),) = dests.items()
    assert sheet == L.SHEET_INPUTS
    assert ws[ref.replace("$", "")].value == 3.15
    ((sheet, ref),) = dict(wb.defined_names["MonthlyAddition"].destinations).items()
    assert ws[ref.replace("$", "")].value == 4000


def test_every_name_resolves_to_a_nonempty_cell(wb, data):
    for name, dn in wb.defined_names.items():
        for sheet, ref in dn.destinations:
            first = ref.replace("$", "").split(":")[0]
            assert wb[sheet][first].value is not None, (name, sheet, ref)


def test_full_calc_on_load(wb):
    assert wb.calculation.fullCalcOnLoad is True


def test_plan_arithmetic_is_formulas(wb):
    plan = wb[L.SHEET_PLAN]
    formulas = {c.value for row in plan.iter_rows() for c in row if c.data_type == "f"}
    assert "=PlanPremium*CallShareUsed" in formulas
    assert "=PutPremiumBudget+MonthlyAddition" in formulas
    assert any(f.startswith("=IF(E") and "INT(" in f for f in formulas)  # contracts from a budget
    assert (
        '="Premium split ("&ROUND((1-CallShareUsed)*100,0)&"/"&ROUND(CallShareUsed*100,0)&" rule: puts/calls)"'
        in formulas
    )  # the title follows CallShare
    hedges = {c.value for row in wb[L.SHEET_HEDGES].iter_rows() for c in row if c.data_type == "f"}
    assert "=MIN(HedgeUncapped,HedgeCap)" in hedges
    risk = {c.value for row in wb[L.SHEET_RISK].iter_rows() for c in row if c.data_type == "f"}
    assert "=WinProbability-(1-WinProbability)*(AvgLoss/AvgWin)" in risk


def test_no_unprefixed_newer_functions(wb):
    from workbook.report import NEWER_FUNCTIONS

    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    for fn in NEWER_FUNCTIONS:
                        assert not re.search(rf"(?<![\w.]){re.escape(fn)}\(", c.value), (
                            ws.title,
                            c.coordinate,
                            c.value,
                        )


def test_xlfn_prefix():
    assert xlfn("=IFNA(A1,0)") == "=_xlfn.IFNA(A1,0)"
    assert xlfn("=NORM.S.DIST(1,TRUE)+SUM(A1)") == "=_xlfn.NORM.S.DIST(1,TRUE)+SUM(A1)"
    assert xlfn("=MAX(A1,1)") == "=MAX(A1,1)"


def test_input_text_is_inert(wb):
    ws = wb[L.SHEET_POSITIONS]
    note_col = [c[1] for c in L.POSITION_COLUMNS_ALL].index("note") + 1
    for i, text in enumerate(EVIL):
        cell = ws.cell(row=L.REPORT_FIRST_ROW + i, column=note_col)
        assert cell.value == text
        assert cell.data_type == "s"
        assert cell.quotePrefix is True


def test_put_text_vs_formula():
    ws = openpyxl.Workbook().active
    assert put(ws, 1, 1, "=1+1").data_type == "s"
    assert put(ws, 1, 2, Formula("=1+1")).data_type == "f"
    assert put(ws, 1, 3, float("nan")).value is None
    assert put(ws, 1, 4, np.float64(2.5)).value == 2.5


def test_formats_and_frozen_headers(wb):
    pos = wb[L.SHEET_POSITIONS]
    assert pos.freeze_panes == "B3"  # banner and header rows, the underlying column
    assert pos.auto_filter.ref.startswith("A2:")
    keys = [c[1] for c in L.POSITION_COLUMNS_ALL]
    assert pos.cell(row=3, column=keys.index("value") + 1).number_format == L.FMT_MONEY
    assert pos.cell(row=3, column=keys.index("prob_itm") + 1).number_format == L.FMT_PCT
    assert wb[L.SHEET_LADDER].conditional_formatting
    assert wb[L.SHEET_RISK]._charts and wb[L.SHEET_LADDER]._charts
    assert pos.page_setup.orientation == "landscape"


def test_values_match_engine(wb, data):
    """Model outputs written as values equal the engine's."""
    marked = data.book.marked
    ws = wb[L.SHEET_POSITIONS]
    keys = [c[1] for c in L.POSITION_COLUMNS_ALL]
    for key in ("mark", "delta_shares", "theta_day", "vega_point", "prob_itm", "margin"):
        got = [
            ws.cell(row=L.REPORT_FIRST_ROW + i, column=keys.index(key) + 1).value for i in range(len(marked))
        ]
        assert_allclose(np.array(got, dtype=float), marked[key].to_numpy(dtype=float), rtol=1e-12, atol=0)


def test_payoff_grid_hand_arithmetic(positions):
    cfg = default_config()
    prices, pnl = payoff_grid(positions, cfg, 4, 2.0)
    # net premium: 4,349 received on the puts - 1,210 paid for the long calls
    # (2 x 1.95 + 1 x 2.10 + 2 x 1.60 + 1 x 2.90 = 12.10 per share x 100) = 3,139
    net = 4349.0 - 1210.0
    # at S = 0 every short put pays strike x 100 x contracts: 2*10 + 2.5*22 + 3*2 + 4*2 + 5*2 = 99 -> $9,900;
    # the calls are worthless
    assert_allclose(pnl[0], net - 9900.0, rtol=0, atol=1e-9)
    # at S = 6.30 no put pays; the calls pay (6.30 - 3.50) x 200 + (6.30 - 4.50) x 100 = 560 + 180 = 740
    assert_allclose(pnl[-1], net + 740.0, rtol=0, atol=1e-9)
    assert_allclose(prices, np.linspace(0, 6.3, 5), rtol=1e-15)


def test_deterministic_contents(positions, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1759000000")
    books = []
    for k in range(2):
        d = compute_report(default_config(), positions, paths=PATHS, seed=7)
        p = tmp_path / f"r{k}.xlsx"
        atomic_save(write_report(d), p)
        books.append(openpyxl.load_workbook(p))
    for ws in books[0]:
        other = books[1][ws.title]
        for row in ws.iter_rows():
            for c in row:
                assert c.value == other[c.coordinate].value, (ws.title, c.coordinate)
    assert books[0][L.SHEET_ABOUT]["B4"].value == "2025-09-27 19:06:40"


def test_json_carries_figures(data):
    d = json.loads(json.dumps(data.to_dict(), allow_nan=False))
    # net premium of the book: 4,349 received on the puts - 1,210 paid for the example's long calls
    assert_allclose(d["premium_split"]["premium"], 4349.0 - 1210.0, rtol=1e-12)
    assert_allclose(d["premium_split"]["put_expansion_budget"], 0.8 * (4349 - 1210) + 4000, rtol=1e-12)
    assert_allclose(d["kelly"]["full_kelly"], 0.892 - 0.108 * 0.087 / 0.123, rtol=1e-12)
    assert d["hedge_ratio"] == pytest.approx(0.35, abs=1e-12)
    assert len(d["positions"]) == 7 + 4 and len(d["allocation"]) == 5  # 7 put lots, 4 call lots
    assert d["meta"]["seed"] == 7 and d["meta"]["paths"] == PATHS


def test_refresh_keeps_user_edits_and_extra_sheets(report, tmp_path, positions):
    wb = openpyxl.load_workbook(report)
    inputs = wb[L.SHEET_INPUTS]
    from workbook.io import inputs_key_cells

    addr = inputs_key_cells(inputs)["account.monthly_addition"]
    inputs[addr] = 5000
    inputs["H1"] = "my own note"
    extra = wb.create_sheet("My journal")
    extra["A1"] = "kept"
    pos = wb[L.SHEET_POSITIONS]
    from workbook.report.positions import positions_table

    contracts, note = (positions_table(None, 0).letter(k) for k in ("contracts", "note"))
    pos[f"{contracts}3"] = 6  # 5 -> 6 contracts on the first lot
    pos[f"{note}4"] = "user note"
    wb[L.SHEET_PLAN]["Z99"] = "stale computed cell"
    path = tmp_path / "edited.xlsx"
    wb.save(path)

    wb2 = load_user_workbook(path)
    cfg = read_config_sheet(wb2, str(path))
    pos_df = read_positions_sheet(wb2, str(path))
    assert cfg.account.monthly_addition == 5000 and int(pos_df["contracts"].iloc[0]) == 6
    d = compute_report(cfg, pos_df, paths=PATHS, seed=7)
    refresh_workbook(wb2, d)
    atomic_save(wb2, path)
    wb3 = openpyxl.load_workbook(path)
    from workbook.views import VIEW_SHEETS

    assert wb3.sheetnames == list(L.SHEETS) + list(VIEW_SHEETS) + ["My journal"]
    assert wb3["My journal"]["A1"].value == "kept"
    assert wb3[L.SHEET_INPUTS][addr].value == 5000
    assert wb3[L.SHEET_INPUTS]["H1"].value == "my own note"
    assert wb3[L.SHEET_POSITIONS][f"{contracts}3"].value == 6
    assert wb3[L.SHEET_POSITIONS][f"{note}4"].value == "user note"
    assert wb3[L.SHEET_PLAN]["Z99"].value is None
    for name in L.REQUIRED_NAMES:
        assert name in wb3.defined_names
    # the new marks use 6 contracts
    keys = [c[1] for c in L.POSITION_COLUMNS_ALL]
    assert_allclose(
        wb3[L.SHEET_POSITIONS].cell(row=3, column=keys.index("delta_shares") + 1).value,
        d.book.marked["delta_shares"].iloc[0],
        rtol=1e-12,
    )


# --- print and number-format polish (checked by eye in a LibreOffice PDF rendering, then pinned) ---


def _find_row(ws, text, column=1):
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=column).value == text)


def test_simulation_distribution_formats(wb):
    ws = wb[L.SHEET_SIMULATION]
    fmts = {
        ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).number_format
        for r in range(1, ws.max_row + 1)
    }
    assert fmts["Max drawdown (fraction of the peak) %"] == L.FMT_PCT
    assert fmts["Annualized return %"] == L.FMT_PCT
    assert fmts["Sharpe ratio (annualized)"] == "0.00"
    assert fmts["Final equity $"] == L.FMT_MONEY0
    assert fmts["Probability of a loss %"] == L.FMT_PCT
    # the percentile table: dollars, and the plan's deterministic projection beside it
    hdr = _find_row(ws, "Month #")
    heads = [ws.cell(row=hdr, column=c).value for c in range(1, 9)]
    assert heads == ["Month #", "p5 $", "p25 $", "p50 $", "p75 $", "p95 $", "Mean $", "Plan $"]
    assert ws.cell(row=hdr + 1, column=8).value == 3792.0  # month 0: the starting value
    assert ws.cell(row=hdr + 1, column=2).number_format == L.FMT_MONEY0
    # uniform widths: the long "Plan target" text overflows instead of widening column C
    assert [ws.column_dimensions[c].width for c in "ABCDEFGH"] == [36, 14, 14, 14, 14, 14, 14, 16]


def test_risk_prints_payoff_on_its_own_page(wb):
    ws = wb[L.SHEET_RISK]
    title = _find_row(ws, "P&L at expiry of the whole book against the underlying price")
    assert [b.id for b in ws.row_breaks.brk] == [title - 1]
    assert ws.print_title_rows == "$1:$2"  # the banner and the header row on every page
    (chart,) = ws._charts
    assert chart.x_axis.tickLblPos == "low"  # labels below the plot, not on the zero line
    assert chart.legend is None


def test_print_titles_repeat_banner_and_header(wb):
    """Every sheet repeats its banner row (stale inputs) and header row on each printed page;
    sheets printed two pages wide repeat their key column too."""
    for name in (
        L.SHEET_INPUTS,
        L.SHEET_POSITIONS,
        L.SHEET_LADDER,
        L.SHEET_ASSIGNMENT,
        L.SHEET_AUDIT,
        L.SHEET_PLAN,
        L.SHEET_HEDGES,
        L.SHEET_RISK,
        L.SHEET_SIMULATION,
        L.SHEET_TODAY,
    ):
        assert wb[name].print_title_rows == "$1:$2", name
    assert wb[L.SHEET_POSITIONS].print_title_cols == "$A:$A"
    from openpyxl.utils import get_column_letter

    for ws in wb:
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        # one page wide, or two when the columns add up to more than 200 character widths
        # (one landscape page would print them at about 4 pt)
        width = sum(
            (ws.column_dimensions[get_column_letter(c)].width or 8.43)
            for c in range(1, ws.max_column + 1)
            if not ws.column_dimensions[get_column_letter(c)].hidden
        )
        assert ws.page_setup.fitToWidth == (1 if width <= 200 else 2), ws.title
    assert wb[L.SHEET_POSITIONS].page_setup.fitToWidth == 2 and wb[L.SHEET_LADDER].page_setup.fitToWidth == 1
    assert wb[L.SHEET_INPUTS].page_setup.fitToWidth == 1  # the hidden check columns do not count


def test_audit_long_text_wraps_in_taller_rows(wb):
    ws = wb[L.SHEET_AUDIT]
    tall = [r for r in range(L.REPORT_FIRST_ROW, ws.max_row + 1) if (ws.row_dimensions[r].height or 0) > 15]
    assert tall, "no audit row was made taller for its wrapped note"
    widths = [spec[3] for spec in L.AUDIT_COLUMNS]
    for r in tall:
        assert ws.cell(row=r, column=6).alignment.wrap_text
        # about one character per width unit (x 1.1): a row of n lines is 14 pt x n
        texts = [
            (ws.cell(row=r, column=c + 1).value, w)
            for c, w in enumerate(widths)
            if ws.cell(row=r, column=c + 1).data_type == "s"
        ]
        # at least the lines the text needs broken anywhere (words are not broken, so maybe more)
        lines = max(
            sum(max(1, math.ceil(len(part) / (int(w * 1.1) - 1))) for part in t.split("\n"))
            for t, w in texts
            if isinstance(t, str) and t
        )
        assert ws.row_dimensions[r].height >= 14.0 * lines


# --- review findings: labels a reader sees ------------------------------------------------------


def test_plan_projection_headers_are_words(report):
    wb = openpyxl.load_workbook(report)
    ws = wb[L.SHEET_PLAN]
    heads = set()
    for r in range(1, ws.max_row + 1):
        if ws.cell(row=r, column=1).value in ("Month", "Month #"):
            heads.update(c.value for c in ws[r] if c.value)
    assert {"Starting capital $", "Premium income $", "Portfolio value $", "DTE days", "Sale date"} <= heads
    assert not any("_" in h for h in heads), heads


def test_assignment_call_strikes_use_the_configured_increment():
    from engine.config import default_config
    from engine.data.positions import example_positions
    from workbook.compute import compute_report

    # $2.50 lot at $1.09 premium: basis 2.50 - 1.09 = 1.41 (excellent tier, calls at +20%): target
    # 1.41 x 1.2 = 1.692, rounded UP to the listed increment: ceil(1.692 / 0.25) x 0.25 = 1.75 with a
    # $0.25 increment, ceil(1.692 / 0.5) x 0.5 = 2.00 with the default $0.50
    cfg = default_config().replace(strikes__strike_increment=0.25)
    data = compute_report(cfg, example_positions(), paths=20)
    row = next(r for r in data.assignment if r.strike == 2.5 and abs(r.premium - 1.09) < 1e-9)
    assert row.call_strike == 1.75
    data = compute_report(default_config(), example_positions(), paths=20)
    row = next(r for r in data.assignment if r.strike == 2.5 and abs(r.premium - 1.09) < 1e-9)
    assert row.call_strike == 2.0


def test_refresh_upgrades_a_report_without_the_banner_row(report, tmp_path):
    """A report written before the banner row (headers on row 1) refreshes: its user sheets move
    down one row, Today is added first, the user's edits are kept and read from the right rows."""
    wb = openpyxl.load_workbook(report)
    for name in (L.SHEET_INPUTS, L.SHEET_POSITIONS):
        wb[name].delete_rows(1)  # the old layout
    del wb[L.SHEET_TODAY]
    wb[L.SHEET_POSITIONS]["F2"] = 6  # first lot 5 -> 6 contracts, on the old row 2
    path = tmp_path / "old.xlsx"
    wb.save(path)
    wb2 = load_user_workbook(path)
    pos = read_positions_sheet(wb2, str(path))
    assert int(pos["contracts"].iloc[0]) == 6 and len(pos) == len(
        example_positions()
    )  # 7 puts + 4 illustrative calls
    d = compute_report(read_config_sheet(wb2, str(path)), pos, paths=PATHS, seed=7)
    refresh_workbook(wb2, d)
    assert wb2.sheetnames[0] == L.SHEET_TODAY
    assert wb2[L.SHEET_POSITIONS]["A2"].value == "Underlying" and wb2[L.SHEET_POSITIONS]["F3"].value == 6
    assert wb2[L.SHEET_INPUTS]["A2"].value == "Parameter"
    ((sheet, ref),) = dict(wb2.defined_names["Spot"].destinations).items()
    assert wb2[sheet][ref.replace("$", "")].value == 3.15
