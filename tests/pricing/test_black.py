"""European price, Greeks and prob_itm against QuantLib, Haug and Hull reference values.

Kinds of test (house style rule 13): reference values from the books, a second implementation
(QuantLib's AnalyticEuropeanEngine) over a grid, edge cases, the same body for scalar / 1-D / 2-D
input, and the two error channels.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from engine._validate import VolarbInputError
from engine.pricing.black import bs_price, prob_itm
from engine.pricing.greeks import greeks

ql = pytest.importorskip("QuantLib")

SPOT = 3.15
STRIKES = [0.5, 1.5, 2.8, 3.15, 3.5, 5.0, 10.0]
DAYS = [1, 7, 30, 182, 365, 730]
VOLS = [0.05, 0.3, 1.0, 2.5, 5.0]
RATES = [0.0, 0.03, 0.08]
DIVS = [0.0, 0.05]
KINDS = [1.0, -1.0]
GREEKS = ("delta", "gamma", "vega", "theta", "rho")

# QuantLib and we differ only by rounding: relative 1e-12, plus an absolute floor of 1e-14 per
# share for elements that are pure rounding noise (deep out-of-the-money tails, where QuantLib's
# cumulative normal flushes to 0 while scipy's ndtr keeps e.g. a 1.5e-19 put value, and
# cancellation in ITM rho).  1e-14 is about 5 ulp of the largest magnitude in the grid
# (strike 10 x 2 years in rho).
RTOL, ATOL = 1e-12, 1e-14
# Theta only: QuantLib's BlackCalculator::theta recovers the carry as log(F/S)/t, whose rounding
# is about eps/t relative (2e-12 of r - q at one day) and shows up as ~1e-13 absolute in deep
# in-the-money one-day puts where r K and q S nearly cancel; our theta uses r and q directly.
ATOL_THETA = 2e-13


def _quantlib_grid():
    """Price and Greeks of every grid option from QuantLib's AnalyticEuropeanEngine.

    BlackScholesMertonProcess on flat continuous curves, Actual365Fixed, maturity = evaluation
    date + days, so QuantLib's year fraction is exactly days / 365 like ours.
    """
    today = ql.Date(15, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    s_q, r_q, q_q, v_q = (ql.SimpleQuote(x) for x in (SPOT, 0.0, 0.0, 0.2))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(s_q),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(q_q), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(r_q), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(v_q), dc)
        ),
    )
    engine = ql.AnalyticEuropeanEngine(process)
    rows = []
    for k, d, w in itertools.product(STRIKES, DAYS, KINDS):
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if w > 0 else ql.Option.Put, k)
        option = ql.VanillaOption(payoff, ql.EuropeanExercise(today + d))
        option.setPricingEngine(engine)
        for v, r, q in itertools.product(VOLS, RATES, DIVS):
            v_q.setValue(v)
            r_q.setValue(r)
            q_q.setValue(q)
            rows.append(
                (
                    k,
                    d / 365.0,
                    v,
                    r,
                    q,
                    w,
                    option.NPV(),
                    option.delta(),
                    option.gamma(),
                    option.vega(),
                    option.theta(),
                    option.rho(),
                )
            )
    return np.array(rows).T


@pytest.fixture(scope="module")
def ql_grid():
    return _quantlib_grid()


def test_price_matches_quantlib(ql_grid):
    k, t, v, r, q, w, npv = ql_grid[:7]
    assert_allclose(bs_price(SPOT, k, t, r, v, w, q), npv, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", GREEKS)
def test_greek_matches_quantlib(ql_grid, name):
    k, t, v, r, q, w = ql_grid[:6]
    expected = ql_grid[7 + GREEKS.index(name)]
    computed = greeks(SPOT, k, t, r, v, w, q)[name]
    atol = ATOL_THETA if name == "theta" else ATOL
    assert_allclose(computed, expected, rtol=RTOL, atol=atol, err_msg=f"{name} vs QuantLib")


def test_prob_itm_matches_quantlib_black_calculator():
    rows = list(
        itertools.product(STRIKES, [1, 30, 365, 730], [0.05, 1.0, 5.0], [0.0, 0.08], [0.0, 0.05], KINDS)
    )
    k, d, v, r, q, w = np.array(rows).T
    t = d / 365.0
    expected = []
    for kk, tt, vv, rr, qq, ww in zip(k, t, v, r, q, w, strict=True):
        fwd = SPOT * np.exp((rr - qq) * tt)
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if ww > 0 else ql.Option.Put, kk)
        calc = ql.BlackCalculator(payoff, fwd, vv * np.sqrt(tt), np.exp(-rr * tt))
        # QuantLib's itmCashProbability() is N(d2) for either payoff type (the call's ITM
        # probability), so the put's is 1 - N(d2) by hand; that subtraction is only accurate
        # to about 1e-16 absolute, hence the floor.
        n_d2 = calc.itmCashProbability()
        expected.append(n_d2 if ww > 0 else 1.0 - n_d2)
    assert_allclose(prob_itm(SPOT, k, t, r, v, w, q), expected, rtol=1e-12, atol=1e-15)


def test_prob_itm_hand_arithmetic():
    # S=K=100, r=q=0, vol=0.2, t=1: d2 = -0.1, N(-0.1) = 0.460172162722971 (normal table)
    assert_allclose(prob_itm(100, 100, 1.0, 0.0, 0.2, "call"), 0.460172162722971, rtol=1e-13)
    assert_allclose(prob_itm(100, 100, 1.0, 0.0, 0.2, "put"), 1 - 0.460172162722971, rtol=1e-13)


# Haug (2007), The Complete Guide to Option Pricing Formulas, 2nd ed., ch. 1, sec. 1.1
# (pp. 2-8); printed to 4 decimals.  Columns: kind, S, K, t, r, q (= r - b), vol, value.
HAUG_PRICES = [
    ("call", 60.0, 65.0, 0.25, 0.08, 0.00, 0.30, 2.1334),  # 1.1.1 Black-Scholes
    ("put", 100.0, 95.0, 0.50, 0.10, 0.05, 0.20, 2.4648),  # 1.1.3 Merton, stock index
    ("call", 19.0, 19.0, 0.75, 0.10, 0.10, 0.28, 1.7011),  # 1.1.4 Black-76 (b = 0)
    ("put", 19.0, 19.0, 0.75, 0.10, 0.10, 0.28, 1.7011),  # 1.1.4 Black-76 (b = 0)
    ("call", 1.56, 1.60, 0.50, 0.06, 0.08, 0.12, 0.0291),  # 1.1.5 Garman-Kohlhagen
    ("put", 75.0, 70.0, 0.50, 0.10, 0.05, 0.35, 4.0870),  # 1.1.6 generalized BSM, b = 0.05
]


@pytest.mark.parametrize("kind,s,k,t,r,q,v,value", HAUG_PRICES)
def test_haug_prices(kind, s, k, t, r, q, v, value):
    assert_allclose(bs_price(s, k, t, r, v, kind, q), value, rtol=0, atol=0.5e-4)


# Haug (2007), sec. 2.1 (pp. 11-16), printed to 4 decimals; theta per year and per day.
HAUG_GREEKS = [
    ("delta", "call", 105.0, 100.0, 0.5, 0.10, 0.10, 0.36, 0.5946),
    ("delta", "put", 105.0, 100.0, 0.5, 0.10, 0.10, 0.36, -0.3566),
    ("gamma", "call", 55.0, 60.0, 0.75, 0.10, 0.00, 0.30, 0.0278),
    ("gamma", "put", 55.0, 60.0, 0.75, 0.10, 0.00, 0.30, 0.0278),
    ("vega", "call", 55.0, 60.0, 0.75, 0.10, 0.00, 0.30, 18.9358),
    ("vega", "put", 55.0, 60.0, 0.75, 0.10, 0.00, 0.30, 18.9358),
    ("theta", "put", 430.0, 405.0, 1 / 12, 0.07, 0.05, 0.20, -31.1924),
    ("theta_per_day", "put", 430.0, 405.0, 1 / 12, 0.07, 0.05, 0.20, -0.0855),
    ("rho", "call", 72.0, 75.0, 1.0, 0.09, 0.00, 0.19, 38.7325),
]


@pytest.mark.parametrize("name,kind,s,k,t,r,q,v,value", HAUG_GREEKS)
def test_haug_greeks(name, kind, s, k, t, r, q, v, value):
    assert_allclose(greeks(s, k, t, r, v, kind, q)[name], value, rtol=0, atol=0.5e-4)


def test_hull_examples():
    # Hull (2018), example 15.6: S=42, K=40, r=10%, vol=20%, T=0.5 -> c = 4.76, p = 0.81
    assert_allclose(bs_price(42, 40, 0.5, 0.10, 0.20, "call"), 4.76, atol=0.005)
    assert_allclose(bs_price(42, 40, 0.5, 0.10, 0.20, "put"), 0.81, atol=0.005)
    # Hull (2018), examples 19.1-19.6 (sec. 19.4-19.8): S=49, K=50, r=5%, vol=20%, T=0.3846:
    # delta 0.522, gamma 0.066, vega 12.1 (per 1.00 vol), theta -4.31 per year, rho 8.91
    g = greeks(49, 50, 0.3846, 0.05, 0.20, "call")
    for name, value, atol in [
        ("delta", 0.522, 5e-4),
        ("gamma", 0.066, 5e-4),
        ("vega", 12.1, 0.05),
        ("theta", -4.31, 0.005),
        ("rho", 8.91, 0.005),
    ]:
        assert_allclose(g[name], value, rtol=0, atol=atol, err_msg=f"Hull {name}")


def test_expiry_and_zero_vol_edges():
    # t == 0: spot intrinsic, no time value; Greeks are the payoff's slopes
    assert_allclose(
        bs_price([3.15] * 3, [3.0, 3.15, 4.0], 0.0, 0.05, 0.3, "call"), [0.15, 0.0, 0.0], rtol=0, atol=1e-15
    )
    assert bs_price(3.15, 4.0, 0.0, 0.05, 0.3, "put") == pytest.approx(0.85, abs=1e-15)
    g = greeks(3.15, 3.0, 0.0, 0.05, 0.3, "put")
    assert (g["delta"], g["gamma"], g["vega"], g["theta"], g["rho"]) == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert greeks(3.15, 3.0, 0.0, 0.05, 0.3, "call")["delta"] == 1.0
    # vol == 0: discounted forward intrinsic, by hand: 100 - 90 e^{-0.05} = 14.3891934...
    assert_allclose(bs_price(100, 90, 1.0, 0.05, 0.0, "call"), 100 - 90 * np.exp(-0.05), rtol=1e-14)
    assert bs_price(100, 90, 1.0, 0.05, 0.0, "put") == 0.0
    g = greeks(100, 90, 1.0, 0.05, 0.0, "call")
    assert (g["gamma"], g["vega"]) == (0.0, 0.0)
    assert_allclose([g["delta"], g["rho"]], [1.0, 90 * np.exp(-0.05)], rtol=1e-14)
    assert_allclose(prob_itm([100, 100], [90, 110], 1.0, 0.05, 0.0, "call"), [1.0, 0.0], rtol=0, atol=0)


# -------------------------------------------------------------- same body, several input shapes

_CASES = np.array(
    [
        # spot, strike, t, rate, vol, kind, q
        [3.15, 0.5, 1 / 365, 0.00, 0.05, 1.0, 0.00],
        [3.15, 3.15, 0.25, 0.03, 0.30, -1.0, 0.02],
        [3.15, 10.0, 2.0, 0.08, 5.00, 1.0, 0.05],
        [3.15, 2.8, 30 / 365, 0.05, 4.25, -1.0, 0.00],
        [100.0, 90.0, 1.0, 0.05, 0.00, 1.0, 0.00],
        [3.15, 4.0, 0.0, 0.05, 0.30, -1.0, 0.00],
    ]
)


def _shaped(shape):
    cols = [_CASES[:, i] for i in range(7)]
    if shape == "scalar":
        return [tuple(float(c[j]) for c in cols) for j in range(len(_CASES))]
    if shape == "1d":
        return [tuple(cols)]
    return [tuple(c.reshape(2, 3) for c in cols)]


def _evaluate(shape):
    out = {"price": [], "prob_itm": [], **{g: [] for g in GREEKS}}
    for s, k, t, r, v, w, q in _shaped(shape):
        out["price"].append(bs_price(s, k, t, r, v, w, q))
        out["prob_itm"].append(prob_itm(s, k, t, r, v, w, q))
        g = greeks(s, k, t, r, v, w, q)
        for name in GREEKS:
            out[name].append(g[name])
    if shape == "scalar":
        assert all(isinstance(x, float) for vals in out.values() for x in vals)
    return {k: np.ravel(np.array(v, dtype=float)) for k, v in out.items()}


@pytest.mark.parametrize("shape", ["scalar", "1d", "2d"])
def test_same_numbers_for_every_shape(shape):
    reference = _evaluate("scalar")
    got = _evaluate(shape)
    for name in reference:
        assert_array_equal(got[name], reference[name], err_msg=f"{name} for {shape} input")


def test_2d_broadcasting_keeps_shape():
    strikes = np.array([[3.0], [3.5]])
    vols = np.array([0.2, 0.4, 0.6])
    price = bs_price(3.15, strikes, 0.5, 0.03, vols, "put")
    assert price.shape == (2, 3)
    assert_array_equal(price[1], bs_price(3.15, 3.5, 0.5, 0.03, vols, "put"))


# -------------------------------------------------------------- the two error channels


@pytest.mark.parametrize(
    "arg,value",
    [
        ("spot", -3.15),
        ("strike", 0.0),
        ("t", -1.0),
        ("vol", -0.2),
        ("rate", float("nan")),
        ("q", float("inf")),
        ("kind", "straddle"),
    ],
)
def test_scalar_bad_input_raises_naming_the_argument(arg, value):
    kwargs = dict(spot=3.15, strike=3.0, t=0.5, rate=0.03, vol=0.3, kind="put", q=0.0)
    kwargs[arg] = value
    with pytest.raises(VolarbInputError, match=arg):
        bs_price(**kwargs)
    with pytest.raises(VolarbInputError, match=arg):
        greeks(**kwargs)


def test_array_bad_element_is_nan_only_there():
    strikes = np.array([3.0, -1.0, 3.5])
    kinds = ["put", "put", "call"]
    price = bs_price(3.15, strikes, 0.5, 0.03, 0.3, kinds)
    assert np.isnan(price[1]) and np.isfinite(price[[0, 2]]).all()
    assert_array_equal(
        price[[0, 2]],
        [bs_price(3.15, 3.0, 0.5, 0.03, 0.3, "put"), bs_price(3.15, 3.5, 0.5, 0.03, 0.3, "call")],
    )
    g = greeks(3.15, 3.0, 0.5, 0.03, 0.3, ["put", "x", "call"])
    for name in GREEKS:
        assert np.isnan(g[name][1]) and np.isfinite(g[name][[0, 2]]).all(), name
