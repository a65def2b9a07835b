"""The live template evaluated without Excel (the ``formulas`` library) against the headless engine.

The generated template (built-in example positions and config) is loaded by ``formulas``
(``ExcelModel().loads(path).finish().calculate()``) with every ``VA_`` UDF bound as a custom
function, and its cells are compared with :func:`workbook.compute.compute_report` (the headless
report) and direct engine calls on the same inputs.

What ``formulas`` evaluates as Excel does, and is covered here: the defined names (``Spot``,
``PositionsTable``, ``PremiumCollected``, ``LadderPremiums``, ...), ``SUMIFS`` over the columns
of the Positions spill, ``SUMPRODUCT``, ``INDEX``, ``IF``, ``SUM``, the text valuation date,
``TRUE``/``FALSE`` arguments, and our UDFs receiving ranges (numpy object arrays with
``formulas``' ``empty`` token for blank cells) and scalars.

What it does not do, and how this test stands in for it:

* **Dynamic-array spills.**  ``formulas`` ignores the ``cm`` dynamic-array flag and treats each
  spill anchor as a one-cell array formula (it would keep only the top-left value).  The test
  emulates the spill: it rewrites, in a copy, each anchor as a legacy array formula over the
  range the result fills (Excel's spill range), then recalculates until those ranges stop
  changing (2-3 passes).  The extent comes from the UDF's result through an identity function
  ``SPILLTAG`` wrapped round the anchor's formula text; the formula text itself is unchanged.
  Excel's ``#SPILL!`` (a spill range covering a non-empty cell) is checked separately.
* **Excel's own spill semantics** (``A1#`` references, re-spill on resize) are not modelled; the
  template does not use ``#`` references, it reads fixed 200-row ranges.
* ``@xw.arg``/``@xw.ret`` conversion does not run (decorators are inert here), which is the
  no-conversion dialect; the xlwings dialect is tested in ``test_udfs_xlwings.py``.
* Cell number formats, the ``xlwings.conf`` sheet and charts are not evaluated (they hold no
  formulas); ``test_template.py`` compares them part by part.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import numpy as np
import openpyxl
import pytest
from numpy.testing import assert_allclose
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

formulas = pytest.importorskip("formulas")

import udfs.functions as F  # noqa: E402
from workbook import layout as L  # noqa: E402
from workbook.template import POSITIONS_CAPACITY, write_template  # noqa: E402

RTOL = 1e-10  # same engine, same inputs: only float summation order differs
ATOL = 1e-9  # $ and shares; absolute floor for values that are 0 by arithmetic
MAX_PASSES = 5
#: the VA_LADDER spill's anchor: right of the Positions input columns, on the header row
LADDER_ANCHOR = f"{get_column_letter(len(L.POSITION_INPUT_COLUMNS) + 1)}{L.REPORT_HEADER_ROW}"


# --------------------------------------------------------------------------- evaluation


def _as_array(value) -> np.ndarray:
    a = np.array(value if isinstance(value, list) else [[value]], dtype=object)
    return a.reshape(1, -1) if a.ndim == 1 else a


def _bind(func):
    @functools.wraps(func)
    def call(*args):
        return _as_array(func(*args))

    return call


class _Spills:
    """Records the result shape of each tagged anchor: ``SPILLTAG("Sheet!A1", <formula>)``."""

    def __init__(self) -> None:
        self.shapes: dict[tuple[str, str], tuple[int, int]] = {}

    def __call__(self, label, value):
        sheet, ref = str(np.ravel(label)[0]).split("!")
        a = _as_array(value.tolist() if isinstance(value, np.ndarray) else value)
        self.shapes[(sheet, ref)] = a.shape
        return a


@pytest.fixture(scope="module")
def spills():
    from formulas.functions import wrap_ranges_func

    table = formulas.get_functions()  # formulas' (cached) function table: custom functions go here
    spill = _Spills()
    added = {name: wrap_ranges_func(_bind(getattr(F, name))) for name in F.__all__}
    added["SPILLTAG"] = wrap_ranges_func(spill)
    table.update(added)
    yield spill
    for name in added:
        table.pop(name, None)


def _anchors(wb) -> list[tuple[str, str, str]]:
    return [
        (ws.title, c.coordinate, c.value.text)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, ArrayFormula)
    ]


def _extent(ref: str, shape: tuple[int, int]) -> str:
    c0, r0, _, _ = range_boundaries(ref)
    return f"{ref}:{get_column_letter(c0 + shape[1] - 1)}{r0 + shape[0] - 1}"


def _cells(solution) -> dict[tuple[str, str], object]:
    """Every evaluated cell as ``(SHEET, "A1") -> value`` (ranges expanded, names skipped)."""
    out = {}
    for key, val in solution.items():
        key = str(key)
        if "]" not in key or "!" not in key:
            continue
        sheet = key.split("]")[1].split("'")[0]
        ref = key.split("!")[1]
        if not sheet or not ref[0].isalpha() or not any(ch.isdigit() for ch in ref):
            continue  # a defined name
        c0, r0, c1, r1 = range_boundaries(ref)
        arr = np.asarray(getattr(val, "value", val), dtype=object).reshape(r1 - r0 + 1, c1 - c0 + 1)
        for i in range(arr.shape[0]):
            for j in range(arr.shape[1]):
                out[(sheet, f"{get_column_letter(c0 + j)}{r0 + i}")] = _plain(arr[i, j])
    return out


def _plain(v):
    if type(v).__name__ == "XlError":
        return str(v)
    if isinstance(v, str) and type(v) is not str:  # formulas' `empty` token
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("tplf") / "volarb-template.xlsx")


def _evaluate(template, spills, tmp) -> tuple[dict, dict, int]:
    """(cells, spill extents, passes): ``template`` recalculated with spills emulated."""
    anchors = _anchors(openpyxl.load_workbook(template))
    extents: dict[tuple[str, str], tuple[int, int]] = {}
    for n in range(1, MAX_PASSES + 1):
        wb = openpyxl.load_workbook(template)
        for sheet, ref, text in anchors:
            wb[sheet][ref] = ArrayFormula(
                _extent(ref, extents.get((sheet, ref), (1, 1))),
                f'=SPILLTAG("{sheet}!{ref}", {text.removeprefix("=")})',
            )
        path = tmp / f"pass{n}.xlsx"
        wb.save(path)
        spills.shapes.clear()
        solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
        if spills.shapes == extents:
            return _cells(solution), extents, n
        extents = dict(spills.shapes)
    pytest.fail(f"spill ranges did not settle in {MAX_PASSES} passes: {extents}")


@pytest.fixture(scope="module")
def evaluated(template, spills, tmp_path_factory):
    """(cells, spill extents, passes): the template recalculated with spills emulated."""
    return _evaluate(template, spills, tmp_path_factory.mktemp("passes"))


@pytest.fixture(scope="module")
def report():
    from engine.config import default_config
    from engine.data.positions import example_positions
    from workbook.compute import compute_report

    return compute_report(default_config(), example_positions(), paths=200, seed=1)


def _get(cells, sheet: str, ref: str):
    return cells.get((sheet.upper(), ref))


def _block(cells, sheet: str, ref: str, shape: tuple[int, int]) -> list[list]:
    c0, r0, _, _ = range_boundaries(ref)
    return [
        [_get(cells, sheet, f"{get_column_letter(c0 + j)}{r0 + i}") for j in range(shape[1])]
        for i in range(shape[0])
    ]


def _items(cells, sheet: str, ref: str, extents) -> dict:
    """A two-column item/value spill as a dict (the header row skipped if present)."""
    rows = _block(cells, sheet, ref, extents[(sheet, ref)])
    return {r[0]: r[1] for r in rows if r[0] != "item"}


def _close(got, want, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    assert_allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=rtol, atol=atol, err_msg=what
    )


# --------------------------------------------------------------------------- tests


def test_spills_settle_and_cover_no_other_cell(template, evaluated):
    """Excel's #SPILL!: a spill range must not overlap a non-empty cell (or another spill)."""
    _, extents, passes = evaluated
    assert passes <= 3
    wb = openpyxl.load_workbook(template)
    taken: dict[tuple[str, str], str] = {}
    for (sheet, ref), shape in extents.items():
        c0, r0, c1, r1 = range_boundaries(_extent(ref, shape))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                addr = f"{get_column_letter(c)}{r}"
                if addr != ref:
                    assert wb[sheet][addr].value is None, f"#SPILL!: {sheet}!{ref} spills over {addr}"
                assert (sheet, addr) not in taken, (
                    f"#SPILL!: {sheet}!{ref} and {taken[(sheet, addr)]} overlap"
                )
                taken[(sheet, addr)] = ref
    assert extents[(L.SHEET_POSITIONS, LADDER_ANCHOR)] == (1 + POSITIONS_CAPACITY, len(F.LADDER_KEYS))


def test_no_cell_evaluates_to_an_error(evaluated):
    cells, _, _ = evaluated
    bad = {k: v for k, v in cells.items() if isinstance(v, str) and v.startswith("#")}
    assert not bad, f"{len(bad)} cells hold errors, e.g. {sorted(bad.items())[:5]}"


def test_positions_spill_equals_mark_book(evaluated, report):
    cells, extents, _ = evaluated
    marked = report.book.marked.assign(w=lambda m: np.where(m["kind"] == "call", 1.0, -1.0))
    n = len(marked)
    rows = _block(cells, L.SHEET_POSITIONS, LADDER_ANCHOR, extents[(L.SHEET_POSITIONS, LADDER_ANCHOR)])
    heads = {key: head for head, key, _, _ in L.POSITION_COMPUTED_COLUMNS}
    assert rows[0] == [heads[k] for k in F.LADDER_KEYS]
    _close(
        [r for r in rows[1 : 1 + n]],
        marked[list(F.LADDER_KEYS)].to_numpy(dtype=float),
        "VA_LADDER vs mark_book",
    )
    assert all(c in ("", None) for r in rows[1 + n :] for c in r), "blank position rows must spill blank rows"
    _close(
        _get(
            cells,
            L.SHEET_POSITIONS,
            f"{get_column_letter(len(L.POSITION_INPUT_COLUMNS) + len(F.LADDER_KEYS) + 2)}{L.REPORT_FIRST_ROW}",
        ),
        report.plan.split.premium,
        "PremiumCollected",
    )


def test_ladder_sheet_equals_ladder_summary(evaluated, report):
    cells, _, _ = evaluated
    lad = report.book.ladder
    lad = lad[lad["strike"].notna()].set_index("strike")
    marked = report.book.marked
    puts = marked[(marked["kind"] == "put") & (marked["side"] == "short")]
    obligation = puts.groupby("strike")["obligation"].sum()
    keys = [k for _, k, _, _ in L.LADDER_COLUMNS if k != "status"]
    for i in range(len(report.config.strikes.strikes)):
        row = dict(zip(keys, _block(cells, L.SHEET_LADDER, f"A{L.FIRST_ROW + i}", (1, len(keys)))[0]))
        k = row["strike"]
        assert k == report.config.strikes.strikes[i]
        want = lad.loc[k]
        for key in (
            "contracts",
            "premium_collected",
            "current_value",
            "unrealized_pnl",
            "share_of_contracts",
            "moneyness",
            "prob_itm",
        ):
            _close(row[key], want[key], f"Ladder strike {k} {key}")
        _close(row["obligation"], obligation.loc[k], f"Ladder strike {k} obligation")


def test_plan_sheet_equals_the_report_plan(evaluated, report):
    cells, extents, _ = evaluated
    split = report.plan.split
    got = _items(cells, L.SHEET_PLAN, "A1", extents)
    for key in ("call_hedge_budget", "put_premium_budget", "put_expansion_budget", "compounding_factor"):
        _close(got[key], getattr(split, key), f"VA_ALLOCATE {key}")
    from engine.plan.allocation import put_expiry

    expiry = put_expiry(report.config)
    assert _get(cells, L.SHEET_PLAN, "B7") == (expiry - dt.date(1899, 12, 30)).days  # NewPutExpiry serial
    _close(_get(cells, L.SHEET_PLAN, "B9"), report.hedges.ladder["budget"].sum(), "HedgeBudget")
    n = len(report.config.strikes.strikes)
    _close(
        [r[0] for r in _block(cells, L.SHEET_PLAN, "K12", (n, 1))],
        list(report.plan.strike_premiums.values()),
        "LadderPremiums (VA_PRICE)",
    )
    alloc = report.plan.allocation
    rows = _block(cells, L.SHEET_PLAN, "A11", extents[(L.SHEET_PLAN, "A11")])
    from udfs.functions import STRIKE_ALLOCATION_KEYS

    assert rows[0] == list(STRIKE_ALLOCATION_KEYS)
    _close(
        [r for r in rows[1:]],
        alloc[rows[0]].to_numpy(dtype=float),
        "VA_STRIKE_ALLOCATION (capped by BuyingPower)",
    )
    # the cap is the account's buying power (VA_BUYING_POWER on the Risk sheet = engine.plan.account)
    _close(_get(cells, L.SHEET_RISK, "K11"), report.account.buying_power, "BuyingPower (VA_BUYING_POWER)")
    assert (alloc["contracts"] < alloc["contracts_sized"]).any()  # the example's budget is capped


def test_hedges_sheet_equals_the_report_hedges(evaluated, report):
    cells, extents, _ = evaluated
    _close(_get(cells, L.SHEET_HEDGES, "B1"), report.hedges.ratio, "HedgeRatio")
    hl = report.hedges.ladder
    rows = _block(cells, L.SHEET_HEDGES, "A3", extents[(L.SHEET_HEDGES, "A3")])
    assert rows[0] == list(hl.columns)
    numeric = [c for c in hl.columns if c != "expiry"]
    got = [[v for c, v in zip(rows[0], r) if c in numeric] for r in rows[1:]]
    _close(got, hl[numeric].to_numpy(dtype=float), "VA_HEDGE_LADDER")


def test_risk_sheet_equals_the_report_risk(evaluated, report):
    cells, extents, _ = evaluated
    greeks = _items(cells, L.SHEET_RISK, "A1", extents)
    for key, want in dataclasses.asdict(report.risk.greeks).items():
        _close(greeks[key], want, f"VA_PORTFOLIO_GREEKS {key}")
    kelly = _items(cells, L.SHEET_RISK, "D1", extents)
    for key, want in dataclasses.asdict(report.kelly).items():
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            _close(kelly[key], want, f"VA_KELLY {key}")
    var = _items(cells, L.SHEET_RISK, "G1", extents)
    want = dataclasses.asdict(report.risk.var)
    assert var["scenarios"] == want["scenarios"] == report.config.risk.var_scenarios
    for key in ("var", "es", "pnl_mean", "pnl_std", "worst_loss", "value"):
        _close(var[key], want[key], f"VA_VAR {key} (same seed and scenarios as the report)")
    alerts = report.risk.alerts
    rows = _block(cells, L.SHEET_RISK, "A20", extents[(L.SHEET_RISK, "A20")])
    assert rows[0] == list(alerts.columns)
    assert [r[0] for r in rows[1:]] == alerts["alert"].tolist()
    assert [r[3] for r in rows[1:]] == alerts["status"].tolist()
    for r, (_, a) in zip(rows[1:], alerts.iterrows()):
        for j, key in ((1, "value"), (2, "threshold")):
            if isinstance(a[key], float) and np.isfinite(a[key]):
                _close(r[j], a[key], f"VA_RISK_CHECK {a['alert']} {key}")


def test_named_cells_hold_what_they_name(evaluated, report):
    cells, _, _ = evaluated
    split = report.plan.split
    for name, sheet, ref, want in (
        ("CallBudget", L.SHEET_PLAN, "B2", split.call_hedge_budget),
        ("PutBudget", L.SHEET_PLAN, "B4", split.put_expansion_budget),
        ("PortfolioDelta", L.SHEET_RISK, "B3", report.risk.greeks.delta_dollars),
        ("KellyFraction", L.SHEET_RISK, "E2", report.kelly.full_kelly),
        ("ValueAtRisk", L.SHEET_RISK, "H7", report.risk.var.var),
        ("ExpectedShortfall", L.SHEET_RISK, "H8", report.risk.var.es),
    ):
        _close(_get(cells, sheet, ref), want, f"{name} = {sheet}!{ref}")


def test_assignment_sheet_equals_assignment_plan(evaluated, report):
    from engine.plan.assignment import assignment_plan

    cells, extents, _ = evaluated
    cfg, m = report.config, report.config.market
    for i, k in enumerate(cfg.strikes.strikes):
        c, v = get_column_letter(2 + 2 * i), get_column_letter(3 + 2 * i)
        prem = report.plan.strike_premiums[float(k)]
        head = _block(cells, L.SHEET_ASSIGNMENT, f"{c}2", (2, 2))
        assert [head[0][0], head[1][0]] == ["strike", "premium"]
        _close([head[0][1], head[1][1]], [k, prem], f"Assignment {v}2:{v}3")
        want = assignment_plan(
            float(k),
            prem,
            cfg.capital.contract_multiplier,
            m.spot,
            m.vol,
            m.rate,
            m.dividend_yield,
            cfg.valuation_date,
            cfg.assignment,
        )
        got = dict(_block(cells, L.SHEET_ASSIGNMENT, f"{c}4", extents[(L.SHEET_ASSIGNMENT, f"{c}4")]))
        assert list(got) == list(want)
        for key, w in want.items():
            if isinstance(w, float) and np.isfinite(w):
                _close(got[key], w, f"VA_ASSIGNMENT strike {k} {key}")
            elif isinstance(w, str):
                assert got[key] == w, (k, key)


# --------------------------------------------------------------------------- Inputs rows read through cfg

#: Inputs rows no VA_ function read before ``cfg`` (they came from the built-in config), edited
EDITS = {
    "hedge.cap": 0.30,
    "capital.model": "cash_secured",
    "margin.account": "cash",
    "risk.var_confidence": 0.99,
    "risk.delta_limit": 0.50,
    "kelly.emergency_reserve": 0.10,
    "assignment.good_call_upside": 0.25,
}


@pytest.fixture(scope="module")
def edited_config():
    from engine.config import default_config

    return default_config().replace(**{k.replace(".", "__"): v for k, v in EDITS.items()})


@pytest.fixture(scope="module")
def edited(template, spills, tmp_path_factory):
    """A copy of the default template with the EDITS typed into its Inputs cells, evaluated."""
    from workbook.io import inputs_key_cells

    tmp = tmp_path_factory.mktemp("edited")
    wb = openpyxl.load_workbook(template)
    ws = wb[L.SHEET_INPUTS]
    cells = inputs_key_cells(ws)
    for key, value in EDITS.items():
        ws[cells[key]] = value
    path = tmp / "edited.xlsx"
    wb.save(path)
    return _evaluate(path, spills, tmp)


def test_config_table_names_the_inputs_key_rows(template):
    from workbook.io import inputs_key_cells
    from workbook.template import CONFIG_NAME

    wb = openpyxl.load_workbook(template)
    rows = sorted(int(a[1:]) for a in inputs_key_cells(wb[L.SHEET_INPUTS]).values())
    assert wb.defined_names[CONFIG_NAME].attr_text == f"'{L.SHEET_INPUTS}'!$B${rows[0]}:$D${rows[-1]}"
    assert rows == list(
        range(L.REPORT_FIRST_ROW, rows[-1] + 1)
    )  # one block, no gap (row 1 kept for the banner)


def test_edited_inputs_evaluate_without_errors(edited):
    cells, _, _ = edited
    bad = {k: v for k, v in cells.items() if isinstance(v, str) and v.startswith("#")}
    assert not bad, f"{len(bad)} cells hold errors, e.g. {sorted(bad.items())[:5]}"


def test_edited_hedge_cap_changes_the_hedge_ratio(evaluated, edited):
    # hand: 0.20 base x 1.3 (IV percentile 99 > 95) x 1.5 (squeeze 0.45 > 0.4) = 0.39, capped:
    # at the plan's 0.35 in the default template, at the edited 0.30 in the copy
    _close(_get(evaluated[0], L.SHEET_HEDGES, "B1"), 0.35, "HedgeRatio, default hedge.cap")
    _close(_get(edited[0], L.SHEET_HEDGES, "B1"), 0.30, "HedgeRatio, hedge.cap edited to 0.30")


def test_edited_capital_model_changes_every_margin(edited, edited_config):
    from engine.data.positions import example_positions
    from engine.risk.book import mark_book
    from engine.risk.checks import portfolio_greeks

    cells, extents, _ = edited
    rows = _block(cells, L.SHEET_POSITIONS, LADDER_ANCHOR, extents[(L.SHEET_POSITIONS, LADDER_ANCHOR)])
    head = rows[0]
    pos = example_positions()
    n = len(pos)
    margin = np.array([r[head.index("Margin $")] for r in rows[1 : 1 + n]], dtype=float)
    mark = np.array([r[head.index("Mark $/sh")] for r in rows[1 : 1 + n]], dtype=float)
    # hand, cash account (margin.account edited to cash): a cash-secured short put needs strike x 100 x
    # contracts (full basis), i.e. (strike - mark) x 100 x contracts net of its value (the 38 short puts);
    # the example's long calls, paid in full with no loan value, take their value: mark x 100 x contracts
    short_put = (pos["kind"] == "put").to_numpy() & (pos["side"] == "short").to_numpy()
    hand = np.where(
        short_put,
        (pos["strike"].to_numpy(float) - mark) * 100 * pos["contracts"].to_numpy(float),
        mark * 100 * pos["contracts"].to_numpy(float),
    )
    _close(margin, hand, "VA_LADDER margin (net of value), margin.account edited to cash")
    marked = mark_book(pos, edited_config)
    _close(margin, marked["margin"].to_numpy(float), "VA_LADDER margin vs mark_book(edited config)")
    greeks = _items(cells, L.SHEET_RISK, "A1", extents)
    _close(greeks["margin"], portfolio_greeks(marked)["margin"], "VA_PORTFOLIO_GREEKS margin")
    alloc = _block(cells, L.SHEET_PLAN, "A11", extents[(L.SHEET_PLAN, "A11")])
    cpc = alloc[0].index("capital_per_contract")
    k_col, p_col = alloc[0].index("strike"), alloc[0].index("premium")
    # hand: cash-secured capital per contract = (strike - premium) x 100
    _close(
        [r[cpc] for r in alloc[1:]],
        [(r[k_col] - r[p_col]) * 100 for r in alloc[1:]],
        "VA_STRIKE_ALLOCATION capital per contract, cash_secured",
    )


def test_edited_var_confidence_and_delta_limit_reach_the_risk_check(edited, edited_config):
    from engine.data.positions import example_positions
    from engine.risk.checks import daily_risk_check
    from engine.risk.var import value_at_risk

    cells, extents, _ = edited
    pos = example_positions()
    want_var = value_at_risk(pos, edited_config)  # 99%, the config's scenarios and seed
    var = _items(cells, L.SHEET_RISK, "G1", extents)
    assert var["confidence"] == 0.99
    for key in ("var", "es"):
        _close(var[key], want_var[key], f"VA_VAR {key} at 99%")
    want = daily_risk_check(pos, edited_config, edited_config.account.starting_value, var_result=want_var)
    rows = _block(cells, L.SHEET_RISK, "A20", extents[(L.SHEET_RISK, "A20")])
    assert [r[0] for r in rows[1:]] == want["alert"].tolist()
    assert [r[3] for r in rows[1:]] == want["status"].tolist()
    got = {r[0]: r for r in rows[1:]}
    _close(got["VAR_LIMIT_BREACH"][1], want_var["var"], "VA_RISK_CHECK VaR uses risk.var_confidence 0.99")
    # hand: the delta threshold is delta_limit x portfolio value = 0.50 x 3792 = 1896
    _close(got["HIGH_DELTA_EXPOSURE"][2], 0.50 * 3792, "HIGH_DELTA_EXPOSURE threshold, delta_limit 0.50")


def test_edited_kelly_and_assignment_rows_are_read(edited, edited_config):
    from engine.plan.assignment import assignment_plan

    cells, extents, _ = edited
    kelly = _items(cells, L.SHEET_RISK, "D1", extents)
    assert kelly["emergency_reserve"] == 0.10
    cfg, m = edited_config, edited_config.market
    goods = []
    for i, k in enumerate(cfg.strikes.strikes):
        c, v = get_column_letter(2 + 2 * i), get_column_letter(3 + 2 * i)
        prem = _get(cells, L.SHEET_ASSIGNMENT, f"{v}3")
        got = dict(_block(cells, L.SHEET_ASSIGNMENT, f"{c}4", extents[(L.SHEET_ASSIGNMENT, f"{c}4")]))
        want = assignment_plan(
            float(k), prem, 100, m.spot, m.vol, m.rate, m.dividend_yield, cfg.valuation_date, cfg.assignment
        )
        assert got["tier"] == want["tier"], k
        if want["tier"] == "good":
            goods.append(k)
            # hand: covered-call target = basis x (1 + 0.25) with the edited good_call_upside
            _close(
                got["call_strike_target"], got["cost_basis"] * 1.25, f"call target at strike {k}, upside 0.25"
            )
        for key, w in want.items():
            if isinstance(w, float) and np.isfinite(w):
                _close(got[key], w, f"VA_ASSIGNMENT strike {k} {key}")
    assert goods == [4.0, 5.0]  # bases 4 - 1.82 = 2.18 and 5 - 2.62 = 2.38 lie between 2.00 and 2.50


def test_template_written_with_a_config_follows_it(edited, edited_config, spills, tmp_path_factory):
    """``volarb template --config plan.toml``: Inputs show the file's values, so the VA_ cells follow it."""
    tmp = tmp_path_factory.mktemp("withcfg")
    cells, extents, _ = _evaluate(write_template(tmp / "t.xlsx", config=edited_config), spills, tmp)
    ref, _, _ = edited
    for sheet, anchor in (
        (L.SHEET_HEDGES, "B1"),
        (L.SHEET_RISK, "A1"),
        (L.SHEET_RISK, "D1"),
        (L.SHEET_RISK, "G1"),
        (L.SHEET_RISK, "A20"),
        (L.SHEET_POSITIONS, LADDER_ANCHOR),
        (L.SHEET_PLAN, "A11"),
    ):
        shape = extents.get((sheet, anchor), (1, 1))
        assert _block(cells, sheet, anchor, shape) == _block(ref, sheet, anchor, shape), f"{sheet}!{anchor}"
