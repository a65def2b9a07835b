"""The VA_ UDFs called as plain Python (no xlwings conversion), in every argument dialect.

Reference values: QuantLib (European analytic engine, American finite-difference engine),
hand arithmetic for the date rules, and the identities between the UDFs (IV round trip,
theta/vega unit conversions checked against finite differences of VA_PRICE).
"""

from __future__ import annotations

import datetime as dt
import doctest
import math

import numpy as np
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import udfs._boundary as boundary
from udfs import functions as F

VAL = dt.date(2025, 9, 27)
EXP = dt.date(2025, 10, 27)  # 30 calendar days after VAL
SERIAL_EXP = 45957  # hand: (2025-10-27 - 1899-12-30).days = 45957


def ql_price(spot, strike, days, vol, kind, rate, q=0.0, american=False):
    """QuantLib reference price, ACT/365 fixed, continuous rates."""
    today = ql.Date(27, 9, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    expiry = today + int(days)
    payoff = ql.PlainVanillaPayoff(ql.Option.Put if kind == "put" else ql.Option.Call, strike)
    exercise = ql.AmericanExercise(today, expiry) if american else ql.EuropeanExercise(expiry)
    opt = ql.VanillaOption(payoff, exercise)
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )
    if american:
        opt.setPricingEngine(ql.FdBlackScholesVanillaEngine(proc, 800, 800))
    else:
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
    return opt.NPV()


def test_boundary_doctests():
    res = doctest.testmod(boundary)
    assert res.failed == 0 and res.attempted > 10


@pytest.mark.parametrize(
    "spot,strike,vol,kind",
    [
        (3.15, 3.0, 4.25, "put"),
        (3.15, 2.0, 4.25, "put"),
        (3.15, 5.0, 4.25, "call"),
        (100, 95, 0.25, "call"),
    ],
)
def test_price_european_vs_quantlib(spot, strike, vol, kind):
    got = F.VA_PRICE(spot, strike, 30, vol, kind, 0.04, 0.0, VAL, "european")
    ref = ql_price(spot, strike, 30, vol, kind, 0.04)
    assert_allclose(got, ref, rtol=1e-10, atol=1e-12, err_msg=f"{spot=} {strike=} {vol=} {kind=}")


@pytest.mark.parametrize("spot,strike,vol", [(3.15, 3.0, 4.25), (3.15, 2.5, 4.25), (40, 45, 0.3)])
def test_price_american_put_vs_quantlib_fd(spot, strike, vol):
    got = F.VA_PRICE(spot, strike, 30, vol, "P", 0.04, 0.0, VAL)  # style blank = american
    ref = ql_price(spot, strike, 30, vol, "put", 0.04, american=True)
    assert_allclose(got, ref, rtol=2e-3, atol=1e-4, err_msg=f"{spot=} {strike=} {vol=}")


@pytest.mark.parametrize(
    "expiry",
    [
        30,
        30.0,
        "30",
        [[30]],
        EXP,
        dt.datetime(2025, 10, 27, 16, 0),
        SERIAL_EXP,
        float(SERIAL_EXP),
        "2025-10-27",
        "10/27/2025",
        np.array([[SERIAL_EXP]], dtype=object),
    ],
)
def test_expiry_rule_days_or_date(expiry):
    # 30 days to expiry and the date 30 days after VAL (serial 45957) are the same option
    got = F.VA_PRICE(3.15, 3.0, expiry, 4.25, "P", 0.04, 0, VAL, "E")
    assert_allclose(got, ql_price(3.15, 3.0, 30, 4.25, "put", 0.04), rtol=1e-10)


@pytest.mark.parametrize(
    "spot,pc,vol,rate",
    [
        (3.15, "Put", 4.25, 0.04),
        ([[3.15]], "P", "425%", "4%"),
        ("3.15", "put", [[4.25]], [[0.04]]),
        (np.array([[3.15]], dtype=object), -1, "4.25", None),
        ("$3.15", [["p"]], 4.25, ""),
    ],
)
def test_argument_dialects_give_the_same_price(spot, pc, vol, rate):
    # blank rate falls back to the plan config's market.rate = 0.04
    got = F.VA_PRICE(spot, 3.0, 30, vol, pc, rate, None, VAL, "european")
    assert_allclose(got, ql_price(3.15, 3.0, 30, 4.25, "put", 0.04), rtol=1e-10)


def test_valuation_date_serial_and_blank_is_today():
    by_serial = F.VA_PRICE(3.15, 3.0, SERIAL_EXP, 4.25, "P", 0.04, 0, 45927, "E")  # 45927 = 2025-09-27
    assert_allclose(by_serial, ql_price(3.15, 3.0, 30, 4.25, "put", 0.04), rtol=1e-10)
    days = 40
    blank_val = F.VA_PRICE(
        3.15, 3.0, dt.date.today() + dt.timedelta(days=days), 4.25, "P", 0.04, 0, None, "E"
    )
    assert_allclose(blank_val, F.VA_PRICE(3.15, 3.0, days, 4.25, "P", 0.04, 0, None, "E"), rtol=1e-12)


def test_greek_units_against_finite_differences_of_price():
    args = (3.15, 3.0, 30, 4.25, "P", 0.04, 0.0, VAL, "european")
    h = 1e-4

    def price(**kw):
        return F.VA_PRICE(
            kw.get("s", 3.15), 3.0, kw.get("d", 30), kw.get("v", 4.25), "P", 0.04, 0.0, VAL, "E"
        )

    delta_fd = (price(s=3.15 + h) - price(s=3.15 - h)) / (2 * h)
    gamma_fd = (price(s=3.15 + 1e-3) - 2 * price() + price(s=3.15 - 1e-3)) / 1e-6
    vega_pt_fd = price(v=4.25 + 0.005) - price(v=4.25 - 0.005)  # per 0.01 of vol = 1 vol point
    theta_day_fd = (price(d=30 - 0.01) - price(d=30 + 0.01)) / 0.02  # value change per calendar day
    assert_allclose(F.VA_DELTA(*args), delta_fd, rtol=1e-6)
    assert_allclose(F.VA_GAMMA(*args), gamma_fd, rtol=1e-4)
    assert_allclose(F.VA_VEGA(*args), vega_pt_fd, rtol=1e-4)
    assert_allclose(F.VA_THETA(*args), theta_day_fd, rtol=1e-4)
    row = F.VA_GREEKS(*args)[0]  # one row of five
    assert_allclose(
        row[:4], [F.VA_DELTA(*args), F.VA_GAMMA(*args), F.VA_THETA(*args), F.VA_VEGA(*args)], rtol=1e-12
    )
    rho_pt_fd = (
        F.VA_PRICE(3.15, 3.0, 30, 4.25, "P", 0.045, 0.0, VAL, "E")
        - F.VA_PRICE(3.15, 3.0, 30, 4.25, "P", 0.035, 0.0, VAL, "E")
    ) / 1.0  # per 1% of rate
    assert_allclose(row[4], rho_pt_fd, rtol=1e-4)


def test_greeks_table_header_and_rows():
    out = F.VA_GREEKS(3.15, [[3.0], [2.5], [0]], 30, 4.25, "P", None, None, VAL, "E", True)
    assert out[0] == ["delta", "gamma", "theta/day", "vega/pt", "rho/pt"]  # the labels, units in the name
    assert len(out) == 4 and all(len(r) == 5 for r in out)
    assert out[3][0] == "#VALUE! strike must be > 0, got 0" and out[3][1:] == [""] * 4
    assert_allclose(out[2][0], F.VA_DELTA(3.15, 2.5, 30, 4.25, "P", None, None, VAL, "E"), rtol=1e-12)


@pytest.mark.parametrize("style", ["european", "american"])
def test_iv_round_trip(style):
    p = F.VA_PRICE(3.15, [[2.0], [3.0], [5.0]], 30, 4.25, "P", 0.04, 0, VAL, style)
    iv = F.VA_IV(3.15, [[2.0], [3.0], [5.0]], 30, p, "P", 0.04, 0, VAL, style)
    assert_allclose(np.array(iv, dtype=float).ravel(), 4.25, rtol=1e-6)


def test_iv_unreachable_price_is_num_message():
    # hand: European put lower bound K e^{-rT} - S = 5 e^{-0.04*30/365} - 3.15 = 1.8336 > 1.00
    out = F.VA_IV(3.15, 5.0, 30, 1.00, "P", 0.04, 0, VAL, "E")
    assert out == "#NUM! price is below the option's lower bound (intrinsic value): no vol produces it"


def test_prob_itm_is_n_of_d2():
    s, k, t, v, r = 3.15, 3.0, 30 / 365, 4.25, 0.04
    d2 = (math.log(s / k) + (r - 0.5 * v * v) * t) / (v * math.sqrt(t))
    hand = 0.5 * math.erfc(d2 / math.sqrt(2))  # N(-d2) for a put
    assert_allclose(F.VA_PROB_ITM(s, k, 30, v, "P", r, 0, VAL), hand, rtol=1e-12)


@pytest.mark.parametrize(
    "args,message",
    [
        ((-1, 3, 30, 4.25, "P"), "#VALUE! spot must be > 0, got -1"),
        (("abc", 3, 30, 4.25, "P"), "#VALUE! spot must be a number, got 'abc'"),
        ((None, 3, 30, 4.25, "P"), "#VALUE! spot is required (the cell is blank)"),
        (("#N/A", 3, 30, 4.25, "P"), "#VALUE! spot is an error value #N/A"),
        (
            ({"type": "Error", "basicValue": "#DIV/0!"}, 3, 30, 4.25, "P"),
            "#VALUE! spot is an error value #DIV/0!",
        ),
        ((True, 3, 30, 4.25, "P"), "#VALUE! spot must be a number, got True"),
        ((3.15, 3, 30, 425, "P"), "#VALUE! vol must be a decimal between 0 and 10 (4.25 = 425%), got 425"),
        ((3.15, 3, 30, 4.25, "X"), "#VALUE! pc must be 'put' or 'call' (or P/C, -1/+1), got 'X'"),
        ((3.15, 3, 30, 4.25, None), "#VALUE! pc is required: 'put' or 'call'"),
        ((3.15, 3, -2, 4.25, "P"), "#VALUE! expiry in days must be >= 0, got -2"),
        (
            (3.15, 3, "2025-09-01", 4.25, "P", None, None, VAL),
            "#VALUE! expiry 2025-09-01 is before the valuation date 2025-09-27",
        ),
        (
            (3.15, 3, "soon", 4.25, "P"),
            "#VALUE! expiry must be a date (YYYY-MM-DD or a date cell), got 'soon'",
        ),
        ((3.15, 3, 30, 4.25, "P", "x"), "#VALUE! rate must be a number, got 'x'"),
        # a rate or yield typed in percent (4 meaning 4%) is refused, not priced at 400%
        ((3.15, 3, 30, 4.25, "P", 4), "#VALUE! rate must be a decimal between -1 and 1 (0.04 = 4%), got 4"),
        (
            (3.15, 3, 30, 4.25, "P", None, 2),
            "#VALUE! q must be a decimal between -1 and 1 (0.04 = 4%), got 2",
        ),
        (
            (3.15, 3, 30, 4.25, "P", None, None, [[VAL, VAL]]),
            "#VALUE! val must be a single cell, got a range of 2 cells",
        ),
        (
            (3.15, 3, 30, 4.25, "P", None, None, 500),
            "#VALUE! val must be a date (Excel serial > 10000), got 500",
        ),
        (
            (3.15, 3, 30, 4.25, "P", None, None, None, "bermudan"),
            "#VALUE! style must be 'american' or 'european' (or A/E), got 'bermudan'",
        ),
        (([[1, 2]], [[1], [2], [3]], 30, 4.25, [["P", "C"]]), None),  # broadcasts to 3x2: fine
        (([[1, 2, 3]], [[1, 2]], 30, 4.25, "P"), "#VALUE! ranges of different sizes: spot 1x3, strike 1x2"),
    ],
)
def test_refused_arguments_give_short_cell_messages(args, message):
    out = F.VA_PRICE(*args)
    if message is None:
        assert np.shape(out) == (3, 2)
    else:
        assert out == message


def test_bad_cell_in_a_range_spoils_only_that_cell():
    out = F.VA_PRICE(
        3.15, [[3.0], ["x"], [2.0], [None]], [[30], [30], ["#N/A"], [30]], 4.25, "P", None, None, VAL
    )
    assert isinstance(out[0][0], float)
    assert out[1][0] == "#VALUE! strike must be a number, got 'x'"
    assert out[2][0] == "#VALUE! expiry is an error value #N/A"
    assert out[3][0] == "#VALUE! strike is required (the cell is blank)"


def test_internal_failure_is_short_and_has_no_traceback(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("kernel exploded\nTraceback (most recent call last): ...")

    monkeypatch.setattr(F, "bs_price", boom)
    out = F.VA_PRICE(3.15, 3, 30, 4.25, "P", None, None, VAL, "E")
    assert out == "#VALUE! RuntimeError: kernel exploded"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(1.0, 6.0), min_size=1, max_size=4), st.sampled_from(["P", "C"]), st.integers(1, 400)
)
def test_range_call_equals_cell_by_cell(strikes, pc, days):
    col = [[k] for k in strikes]
    row = [strikes]
    as_col = F.VA_PRICE(3.15, col, days, 4.25, pc, 0.04, 0, VAL, "E")
    as_row = F.VA_PRICE(3.15, row, days, 4.25, pc, 0.04, 0, VAL, "E")
    singles = [F.VA_PRICE(3.15, k, days, 4.25, pc, 0.04, 0, VAL, "E") for k in strikes]
    assert_allclose(np.array(as_col, dtype=float).ravel(), singles, rtol=1e-12)
    assert_allclose(np.array(as_row, dtype=float).ravel(), singles, rtol=1e-12)
    if len(strikes) > 1:
        assert np.shape(as_col) == (len(strikes), 1) and np.shape(as_row) == (1, len(strikes))


def test_every_udf_has_docstring_and_short_argument_names():
    names = [n for n in dir(F) if n.startswith("VA_")]
    assert len(names) >= 8
    for n in names:
        f = getattr(F, n)
        assert f.__doc__ and len(f.__doc__) < 255, n
        params = list(__import__("inspect").signature(f).parameters)
        assert len(",".join(params)) < 254, n


# --------------------------------------------------------------------------- plan and book UDFs


def test_allocate_hand_arithmetic():
    out = F.VA_ALLOCATE(2065, 4000)
    # hand: calls 0.20 x 2065 = 413; puts 0.80 x 2065 = 1652; expansion 1652 + 4000 = 5652;
    # compounding 5652 / 4000 = 1.413
    assert out[0] == ["item", "value"]
    assert_allclose([r[1] for r in out[1:]], [413.0, 1652.0, 5652.0, 1.413], rtol=1e-12)
    assert F.VA_ALLOCATE(-1, 4000) == "#VALUE! premium must be >= 0, got -1"


def test_kelly_hand_arithmetic():
    out = dict(F.VA_KELLY(0.892, 0.123, 0.087, None, None, False))
    b = 0.123 / 0.087
    full = (0.892 * b - 0.108) / b  # = 0.815609...
    assert_allclose([out["full_kelly"], out["fractional_kelly"]], [full, 0.25 * full], rtol=1e-12)
    assert out["max_single_strike"] == 0.15


def test_margin_reg_t_hand_arithmetic_and_bad_cell():
    # hand, net of the option's value (the basis compared with net liquidation value):
    # max(20% x spot - OTM, 10% x strike) x 100 (the full figure adds premium x 100: 158, 70)
    #   K=3: OTM = 0.15 -> max(0.63 - 0.15, 0.30) x 100 = 48
    #   K=2: OTM = 1.15 -> max(0.63 - 1.15, 0.20) x 100 = 20
    out = F.VA_MARGIN(3.15, [[3.0], [2.0], [-1]], [[1.1], [0.5], [1.0]])
    assert_allclose([out[0][0], out[1][0]], [48.0, 20.0], rtol=1e-12)
    assert out[2][0] == "#VALUE! strike must be > 0, got -1"
    assert_allclose(F.VA_MARGIN(3.15, 3.0, 1.1, "cash_secured"), (3.0 - 1.1) * 100, rtol=1e-12)


def test_strike_allocation_and_hedge_ratio():
    out = F.VA_STRIKE_ALLOCATION(3000, [[2], [2.5]], [[0.4], [0.6]], [[0.5], [0.8]], 3.15, "premium")
    # hand, premium model: capital/contract = premium x 100; 1200 / 50 = 24, 1800 / 80 = 22.5 -> 22
    head = out[0]
    assert_allclose([out[1][head.index("contracts")], out[2][head.index("contracts")]], [24, 22])
    assert F.VA_STRIKE_ALLOCATION(3000, [[2], [2.5]], [[0.2], [0.35]], [[0.5], [0.8]], 3.15).startswith(
        "#VALUE! weights must sum to 1"
    )
    # hand: 0.20 x 1.3 (IV 99 > 95) x 1.5 (squeeze 0.45 > 0.4) = 0.39 -> capped at 0.35
    assert F.VA_HEDGE_RATIO(3792, 99, 0.45) == 0.35
    assert_allclose(F.VA_HEDGE_RATIO(3792, 50, 0.1), 0.20, rtol=1e-12)


def _positions_range():
    from engine.data.positions import POSITION_COLUMNS, example_positions

    pos = example_positions()
    rows = [
        [None if isinstance(v, float) and np.isnan(v) else v for v in r]
        for r in pos.itertuples(index=False, name=None)
    ]
    return pos, [list(POSITION_COLUMNS)] + rows


def test_ladder_equals_mark_book_and_isolates_bad_rows():
    from engine.config import default_config
    from engine.risk import book

    pos, rng = _positions_range()
    bad = list(rng[1])
    bad[3] = "abc"
    rng = rng + [[None] * 10, bad]
    out = F.VA_LADDER(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27")
    cfg = default_config().replace(market__valuation_date="2025-09-27")
    marked = book.mark_book(pos, cfg)
    want = marked[[k for k in F.LADDER_KEYS if k != "w"]].to_numpy(dtype=float)
    got = np.array(
        [[r[i] for i, k in enumerate(F.LADDER_KEYS) if k != "w"] for r in out[1 : 1 + len(pos)]], dtype=float
    )
    assert_allclose(got, want, rtol=1e-10, atol=1e-9)
    assert out[len(pos) + 1] == [""] * len(F.LADDER_KEYS)
    assert out[-1][0] == f"#VALUE! row {len(pos) + 3}, column 'strike': expected a positive number, got 'abc'"


def test_ladder_takes_a_stock_row_under_the_report_headers():
    """The report's own Positions headers (units in parentheses) and a stock row: 300 shares at
    spot 3.15 are worth 945, cost 750 paid, delta 300 shares; w 0 and no vol or prob ITM."""
    from workbook import layout as L

    head = [c.header for c in L.POSITION_INPUT_COLUMNS]
    rows = [
        ["ASST", "stock", "long", None, None, None, 300, 2.50, None, None, "lot"],
        ["ASST", "call", "short", 3.5, dt.date(2025, 10, 17), 3, None, 0.40, None, None, "covered"],
    ]
    out = F.VA_LADDER([head, *rows], 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, False)
    got = dict(zip(F.LADDER_KEYS, out[0], strict=True))
    assert got["w"] == 0 and got["sign"] == 1 and got["vol_used"] == "" and got["prob_itm"] == ""
    assert_allclose(
        [got["value"], got["premium_total"], got["unrealized_pnl"], got["delta_shares"]],
        [945.0, -750.0, 195.0, 300.0],
        atol=1e-9,
    )
    assert out[1][F.LADDER_KEYS.index("w")] == 1 and out[1][F.LADDER_KEYS.index("margin")] < 0  # covered


def test_book_totals_var_and_risk_check():
    pos, rng = _positions_range()
    ladder = F.VA_LADDER(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, False)
    totals = dict(F.VA_PORTFOLIO_GREEKS(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, False))
    col = F.LADDER_KEYS.index("theta_day")
    assert_allclose(totals["theta_day"], sum(r[col] for r in ladder), rtol=1e-12)
    assert set(totals) >= {"delta_shares", "gamma", "vega_point"}
    # the totals are the column sums of the ladder rows (summed here by hand, row by row)
    for key in ("delta_shares", "gamma", "vega_point"):
        assert_allclose(totals[key], sum(r[F.LADDER_KEYS.index(key)] for r in ladder), rtol=1e-12)
    var = dict(F.VA_VAR(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", 0.95, 2000, 7, False))
    assert var["es"] >= var["var"] > 0
    again = dict(F.VA_VAR(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", 0.95, 2000, 7, False))
    assert again["var"] == var["var"]  # seeded
    alerts = F.VA_RISK_CHECK(rng, 3.15, 4.25, 3792, 0.04, 0.0, "2025-09-27")
    assert alerts[0] == ["alert", "value", "threshold", "status", "detail"] and len(alerts) > 3
    assert F.VA_PORTFOLIO_GREEKS([["strike"], [None]], 3.15, 4.25) == "#VALUE! pos has no positions"


def test_var_default_scenarios_come_from_the_config_and_match_the_engine():
    from engine.config import default_config
    from engine.risk.var import value_at_risk

    pos, rng = _positions_range()
    cfg = default_config().replace(market__valuation_date="2025-09-27")
    assert cfg.risk.var_scenarios == 100_000  # the plan config's, not the UDF's old 20,000
    var = dict(F.VA_VAR(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, None, None, False))
    assert var["scenarios"] == cfg.risk.var_scenarios and var["seed"] == cfg.risk.seed
    want = value_at_risk(pos, cfg)  # every setting from the config
    assert_allclose([var["var"], var["es"]], [want["var"], want["es"]], rtol=1e-12, atol=0)
    assert (
        dict(F.VA_VAR(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, 3000, None, False))["scenarios"] == 3000
    )
    assert "100000" in F.BOOK_DOCS["scen"]
    # the remembered result belongs to this book only: one more contract changes the VaR
    more, j = [list(r) for r in rng], rng[0].index("contracts")
    more[1][j] += 1
    var_more = dict(F.VA_VAR(more, 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, None, None, False))
    assert var_more["var"] != var["var"]
    # VA_RISK_CHECK reports the same (config) VaR
    alerts = {r[0]: r for r in F.VA_RISK_CHECK(rng, 3.15, 4.25, 3792, 0.04, 0.0, "2025-09-27")[1:]}
    assert_allclose(alerts["VAR_LIMIT_BREACH"][1], want["var"], rtol=1e-12)


# --------------------------------------------------------------------------- review fixes


def test_rate_in_percent_is_refused_in_every_rate_argument():
    msg = "#VALUE! rate must be a decimal between -1 and 1 (0.04 = 4%), got 4"
    assert F.VA_PRICE(3.15, 3, 30, 4.25, "P", 4, None, VAL) == msg
    assert F.VA_HEDGE_LADDER(400, 3.15, 4.25, None, 4, None, VAL) == msg
    assert F.VA_ASSIGNMENT(3, 0.8, 100, 3.15, 4.25, 4, None, VAL) == msg
    # in a range only the bad cell: 0.04 next to 4
    out = F.VA_PRICE(3.15, 3, 30, 4.25, "P", [[0.04], [4]], None, VAL, "E")
    assert isinstance(out[0][0], float) and out[1][0] == msg


def test_hedge_ladder_text_number_first_row_is_a_rung_not_a_header():
    # ".5"-style text numbers in the first row were taken for a header and the rung dropped
    as_text = F.VA_HEDGE_LADDER(400, 3.15, 4.25, [["1.5", "0.5", "90"], [2, 0.5, 120]], None, None, VAL)
    as_nums = F.VA_HEDGE_LADDER(400, 3.15, 4.25, [[1.5, 0.5, 90], [2, 0.5, 120]], None, None, VAL)
    assert as_text == as_nums and len(as_nums) == 3  # header + 2 rungs
    dotted = F.VA_HEDGE_LADDER(400, 3.15, 4.25, [[".5", 0.5, 90], [2, 0.5, 120]], None, None, VAL)
    assert len(dotted) == 3 and dotted[1][dotted[0].index("moneyness")] == 0.5
    # a real header row is still skipped
    headed = F.VA_HEDGE_LADDER(
        400, 3.15, 4.25, [["Moneyness", "Share", "DTE"], [1.5, 0.5, 90], [2, 0.5, 120]], None, None, VAL
    )
    assert headed == as_nums


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: F.VA_HEDGE_LADDER(400, 3.15, 4.25, [[1.5, 0.5, 30.7]], None, None, VAL),
            "#VALUE! ladder row 1 dte must be a whole number, got 30.7",
        ),
        (
            lambda: F.VA_PROJECTION(3.15, 4.25, None, None, 0.5, None, VAL),
            "#VALUE! months must be a whole number, got 0.5",
        ),
        (
            lambda: F.VA_PROJECTION(3.15, 4.25, None, None, 2.5, None, VAL),
            "#VALUE! months must be a whole number, got 2.5",
        ),
    ],
)
def test_whole_number_arguments_are_not_truncated(call, message):
    assert call() == message


def test_var_scenarios_and_seed_must_be_whole():
    _, rng = _positions_range()
    assert (
        F.VA_VAR(rng, 3.15, 4.25, None, None, VAL, None, 1000.5)
        == "#VALUE! scen must be a whole number, got 1000.5"
    )
    assert (
        F.VA_VAR(rng, 3.15, 4.25, None, None, VAL, None, 1000, 1.5)
        == "#VALUE! seed must be a whole number, got 1.5"
    )


# --------------------------------------------------------------------------- cfg: the Inputs rows


def _cfg(*rows, header=True):
    """A cfg range as the template's ConfigTable has it: value, unit, config key."""
    return ([["Value", "Unit", "Config key"]] if header else []) + [list(r) for r in rows]


@pytest.mark.parametrize(
    "cfg",
    [
        _cfg([0.30, "decimal", "hedge.cap"]),
        _cfg(["30%", "decimal", "hedge.cap"], header=False),  # text percent, no header
        _cfg(["0.30", None, "hedge.cap"], [None, None, "market.spot"]),  # text number, blank value
        [[0.30, "hedge.cap"], [None, None]],  # two columns, a blank row
        np.array([[0.30, "decimal", "hedge.cap"]], dtype=object),  # the formulas evaluator's array
        _cfg([0.30, "decimal", np.str_("hedge.cap")], ["", "", "risk.var_limit"]),
    ],
)
def test_cfg_shapes_give_the_same_config(cfg):
    # hand: 0.20 x 1.3 (IV 99 > 95) x 1.5 (squeeze 0.45 > 0.4) = 0.39, capped at the cfg's 0.30
    assert_allclose(F.VA_HEDGE_RATIO(3792, 99, 0.45, cfg), 0.30, rtol=0, atol=1e-15)


def test_cfg_blank_is_the_plan_config():
    from engine.config import default_config

    for blank in (None, "", [[None]], [[None, None, None]]):
        assert F._config(blank) == default_config()
    assert F.VA_HEDGE_RATIO(3792, 99, 0.45, None) == 0.35  # the plan's cap
    assert F._config(_cfg([None, "", "hedge.cap"])) == default_config()  # blank value keeps the default


@pytest.mark.parametrize(
    "cfg,message",
    [
        (_cfg([1.5, "decimal", "hedge.cap"]), "#VALUE! cfg: hedge.cap: must be >= 0 and <= 1, got 1.5"),
        (_cfg(["abc", "decimal", "hedge.cap"]), "#VALUE! cfg: hedge.cap: expected a number, got 'abc'"),
        (_cfg(["#N/A", "decimal", "hedge.cap"]), "#VALUE! cfg: hedge.cap is an error value #N/A"),
        (
            _cfg([0.3, "decimal", "hedge.capp"]),
            "#VALUE! cfg: unknown config key 'hedge.capp' (hedge has: base_ratio,",
        ),
        (
            _cfg([0.3, "", "hedge.cap"], [0.2, "", "hedge.cap"]),
            "#VALUE! cfg: config key 'hedge.cap' is given twice",
        ),
        (
            _cfg([0.3, "", {"type": "Error", "basicValue": "#REF!"}]),
            "#VALUE! cfg row 2: the config key is an error value #REF!",
        ),
        ([[0.3], [0.2]], "#VALUE! cfg must be 2 or more columns: the value first, the config key last"),
    ],
)
def test_cfg_bad_cell_gives_that_formula_a_short_message(cfg, message):
    out = F.VA_HEDGE_RATIO(3792, 99, 0.45, cfg)
    assert out.startswith(message) and len(out) <= len("#VALUE! ") + boundary.MESSAGE_MAX and "\n" not in out


def test_cfg_reaches_margins_kelly_orders_and_book():
    cash = _cfg(["cash_secured", "text", "capital.model"])
    # hand: cash-secured put = (strike - premium) x 100 = (3.00 - 1.10) x 100 = 190
    assert_allclose(F.VA_MARGIN(3.15, 3.0, 1.1, None, None, cash), 190.0, rtol=1e-12)
    assert_allclose(F.VA_MARGIN(3.15, 3.0, 1.1, "reg_t", None, cash), 48.0, rtol=1e-12)  # argument overrides
    # hand, Reg T net with a 30% underlying share: max(0.30 x 3.15 - 0.15, 0.30) = 0.795 -> 79.5
    assert_allclose(
        F.VA_MARGIN(3.15, 3.0, 1.1, None, None, _cfg([0.30, "", "capital.reg_t_underlying_pct"])),
        79.5,
        rtol=1e-12,
    )
    kelly = dict(F.VA_KELLY(0.892, 0.123, 0.087, None, None, False, _cfg(["10%", "", "kelly.cap"])))
    assert kelly["max_single_strike"] == 0.10
    trade = [
        ["action", "kind", "strike", "expiry", "contracts", "mid"],
        ["sell", "put", 3.0, "2025-10-17", 25, 1.10],
    ]
    tickets = F.VA_ORDERS(trade, True, _cfg([20, "", "execution.max_order_size"]))
    head = tickets[0]
    assert [r[head.index("contracts")] for r in tickets[1:]] == [20, 5]  # hand: 25 split at 20
    pos, rng = _positions_range()
    cash_account = _cfg(["cash", "text", "margin.account"])
    cash_ladder = F.VA_LADDER(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, True, cash_account)
    m, mk, j = F.LADDER_KEYS.index("margin"), F.LADDER_KEYS.index("mark"), 0
    for r, (_, p) in zip(cash_ladder[1:], pos.iterrows()):
        # hand, cash account: cash-secured short put = (strike - mark) x 100 x contracts net of its value;
        # a long call (paid in full, no loan value) takes its value, mark x 100 x contracts
        want = ((p["strike"] - r[mk]) if p["side"] == "short" else r[mk]) * 100 * p["contracts"]
        assert_allclose(r[m], want, rtol=1e-12)
        j += 1
    assert j == len(pos)


def test_cfg_var_confidence_reaches_the_risk_check():
    from engine.config import default_config
    from engine.risk.var import value_at_risk

    pos, rng = _positions_range()
    cfg99 = _cfg([0.99, "", "risk.var_confidence"], [2000, "", "risk.var_scenarios"])
    want = value_at_risk(
        pos,
        default_config().replace(
            market__valuation_date="2025-09-27", risk__var_confidence=0.99, risk__var_scenarios=2000
        ),
    )
    var = dict(F.VA_VAR(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", None, None, None, False, cfg99))
    assert var["confidence"] == 0.99 and var["scenarios"] == 2000
    assert_allclose(var["var"], want["var"], rtol=1e-12)
    alerts = {
        r[0]: r for r in F.VA_RISK_CHECK(rng, 3.15, 4.25, 3792, 0.04, 0.0, "2025-09-27", True, cfg99)[1:]
    }
    assert_allclose(alerts["VAR_LIMIT_BREACH"][1], want["var"], rtol=1e-12)
    # explicit arguments still override the cfg: conf 0.95 given to VA_VAR
    assert (
        dict(F.VA_VAR(rng, 3.15, 4.25, 0.04, 0.0, "2025-09-27", 0.95, None, None, False, cfg99))["confidence"]
        == 0.95
    )


def test_cfg_is_cached_by_its_cells():
    a = F._config(_cfg([0.31, "", "hedge.cap"]))
    assert F._config(_cfg([0.31, "", "hedge.cap"])) is a
    assert F._config(_cfg([0.32, "", "hedge.cap"])).hedge.cap == 0.32


def test_rebalance_table_equals_the_engine_and_refuses_bad_what():
    from engine.config import default_config
    from engine.plan.rebalance import rebalance

    pos, rng = _positions_range()
    out = F.VA_REBALANCE(rng, 3.15, 4.25, None, None, 0.04, 0.0, "2025-09-27")
    rb = rebalance(pos, default_config())  # the same market, net liquidation $3,792
    assert out[0][:3] == ["sequence", "status", "action"] and len(out) == 1 + len(rb.tickets)
    got = [(r[1], r[2], r[3], r[4], r[6]) for r in out[1:]]
    want = [
        tuple(t)
        for t in rb.tickets[["status", "action", "kind", "strike", "contracts"]].itertuples(index=False)
    ]
    assert got == want
    # the $3.00 expansion of the Month-1 adjustments is there: 10 - 2 = 8 contracts
    assert ("sell", "put", 3.0, 8) in [(r[2], r[3], r[4], r[6]) for r in out[1:]]
    strikes = F.VA_REBALANCE(rng, 3.15, 4.25, None, "strikes", 0.04, 0.0, "2025-09-27", False)
    assert [r[0] for r in strikes] == [2.0, 2.5, 3.0, 4.0, 5.0]
    assert F.VA_REBALANCE(rng, 3.15, 4.25, None, "nope", 0.04, 0.0, "2025-09-27").startswith(
        "#VALUE! what must be one of orders"
    )
