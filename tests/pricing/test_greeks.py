"""Greeks against finite differences of the price, and property tests of the price surface.

Analytic European Greeks are compared with central differences of :func:`engine.bs_price`;
hypothesis checks no-arbitrage identities (parity, monotonicity, bounds) and the named display
conversions.  American Greeks (finite differences of the American pricer) only get sanity checks.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine.pricing.american import american_price
from engine.pricing.black import bs_price
from engine.pricing.greeks import decay_1d, greeks

SPOT = 3.15


def _grid():
    rows = itertools.product(
        [0.5, 2.0, 3.0, 3.15, 3.5, 5.0, 10.0],
        [7, 30, 182, 730],
        [0.1, 0.5, 2.0, 5.0],
        [0.0, 0.08],
        [0.0, 0.05],
        [1.0, -1.0],
    )
    k, d, v, r, q, w = np.array(list(rows)).T
    return k, d / 365.0, v, r, q, w


def _d1(f, x, h):
    """Five-point central first derivative, truncation O(h^4)."""
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)


def _d2(f, x, h):
    """Five-point central second derivative, truncation O(h^4)."""
    return (16 * (f(x + h) + f(x - h)) - (f(x + 2 * h) + f(x - 2 * h)) - 30 * f(x)) / (12 * h * h)


def test_greeks_match_central_differences():
    k, t, v, r, q, w = _grid()
    s = np.full_like(k, SPOT)
    g = greeks(s, k, t, r, v, w, q)

    def price(s=s, t=t, r=r, v=v):
        return bs_price(s, k, t, r, v, w, q)

    # bumps scaled to each input's natural scale: spot by S vol sqrt(t) (the width of the
    # distribution, capped), vol and t relatively, rate absolutely
    sd = v * np.sqrt(t)
    fd = {
        "delta": _d1(lambda x: price(s=x), s, 1e-3 * s * np.minimum(sd, 1.0)),
        "gamma": _d2(lambda x: price(s=x), s, 1e-2 * s * np.minimum(sd, 0.1)),
        "vega": _d1(lambda x: price(v=x), v, 1e-3 * v),
        "theta": -_d1(lambda x: price(t=x), t, 1e-3 * t),  # theta = -dV/dt, per year
        "rho": _d1(lambda x: price(r=x), r, 1e-4),
    }
    # truncation ~ 1e-8 relative; rounding ~ eps V / h (first derivatives, ~1e-11 here) and
    # eps V / h^2 (gamma, ~1e-8 at the 7-day 10%-vol corner)
    tolerances = {"delta": 1e-10, "gamma": 5e-8, "vega": 1e-10, "theta": 1e-9, "rho": 1e-10}
    for name, atol in tolerances.items():
        assert_allclose(g[name], fd[name], rtol=1e-7, atol=atol, err_msg=f"{name} vs central difference")


# -------------------------------------------------------------- hypothesis property tests

spots = st.floats(0.5, 20.0)
strikes = st.floats(0.5, 20.0)
times = st.floats(1 / 365, 2.0)
vols = st.floats(0.05, 5.0)
rates = st.floats(0.0, 0.08)
divs = st.floats(0.0, 0.05)


@given(spots, strikes, times, rates, vols, divs)
def test_put_call_parity(s, k, t, r, v, q):
    c, p = bs_price(s, k, t, r, v, "call", q), bs_price(s, k, t, r, v, "put", q)
    forward_value = s * np.exp(-q * t) - k * np.exp(-r * t)
    assert_allclose(
        c - p, forward_value, rtol=0, atol=1e-12 * (s + k), err_msg=f"S={s} K={k} t={t} r={r} vol={v} q={q}"
    )


@given(spots, strikes, times, rates, vols, divs, st.floats(1.001, 1.5))
def test_call_decreasing_in_strike_put_increasing(s, k, t, r, v, q, bump):
    tol = 1e-13 * (s + k)
    assert bs_price(s, k * bump, t, r, v, "call", q) <= bs_price(s, k, t, r, v, "call", q) + tol
    assert bs_price(s, k * bump, t, r, v, "put", q) >= bs_price(s, k, t, r, v, "put", q) - tol


@given(spots, strikes, times, rates, vols, divs, st.sampled_from(["call", "put"]), st.floats(1.001, 1.5))
def test_price_increasing_in_vol(s, k, t, r, v, q, kind, bump):
    tol = 1e-13 * (s + k)
    assert bs_price(s, k, t, r, v * bump, kind, q) >= bs_price(s, k, t, r, v, kind, q) - tol


@given(spots, strikes, times, st.floats(0.0, 0.08), vols, st.floats(1.001, 1.5))
def test_call_increasing_in_time_without_dividends(s, k, t, r, v, bump):
    # with q = 0 an American call is never exercised early, so the European call grows with t
    tol = 1e-13 * (s + k)
    assert bs_price(s, k, t * bump, r, v, "call") >= bs_price(s, k, t, r, v, "call") - tol


@given(spots, strikes, times, rates, vols, divs, st.sampled_from([1.0, -1.0]))
def test_price_within_no_arbitrage_bounds(s, k, t, r, v, q, w):
    df, dq = np.exp(-r * t), np.exp(-q * t)
    lower = max(w * (s * dq - k * df), 0.0)
    upper = s * dq if w > 0 else k * df
    price = bs_price(s, k, t, r, v, w, q)
    tol = 1e-13 * (s + k)
    assert lower - tol <= price <= upper + tol, (s, k, t, r, v, q, w, lower, price, upper)


@given(spots, strikes, times, rates, vols, divs, st.sampled_from(["call", "put"]))
def test_display_conversions_are_named_rescalings(s, k, t, r, v, q, kind):
    g = greeks(s, k, t, r, v, kind, q)
    assert g["theta_per_day"] == g["theta"] / 365.0
    assert g["vega_per_point"] == g["vega"] / 100.0


@given(spots, strikes, times, rates, vols, divs)
def test_greek_signs_and_parity(s, k, t, r, v, q):
    c, p = greeks(s, k, t, r, v, "call", q), greeks(s, k, t, r, v, "put", q)
    assert 0.0 <= c["delta"] <= 1.0 and -1.0 <= p["delta"] <= 0.0
    assert c["gamma"] >= 0.0 and c["vega"] >= 0.0
    assert_allclose(c["delta"] - p["delta"], np.exp(-q * t), rtol=0, atol=1e-12)
    assert_allclose(c["gamma"], p["gamma"], rtol=1e-12, atol=1e-300)
    assert_allclose(c["vega"], p["vega"], rtol=1e-12, atol=1e-300)


# -------------------------------------------------------------- American: sanity checks only


@pytest.mark.parametrize("kind", ["call", "put"])
def test_american_greeks_sanity(kind):
    k = np.array([2.5, 3.15, 4.0])
    g = greeks(SPOT, k, 0.5, 0.05, 0.4, kind, 0.02, style="american")
    e = greeks(SPOT, k, 0.5, 0.05, 0.4, kind, 0.02)
    if kind == "put":
        assert ((g["delta"] >= -1.0) & (g["delta"] <= 0.0)).all(), g["delta"]
    else:
        assert ((g["delta"] >= 0.0) & (g["delta"] <= 1.0)).all(), g["delta"]
    assert (g["gamma"] >= -1e-6).all(), g["gamma"]
    assert (g["vega"] > 0).all(), g["vega"]
    # early exercise adds value but hardly changes vega at these moneyness levels
    assert_allclose(g["vega"], e["vega"], rtol=0.1, err_msg="American vs European vega")
    assert_allclose(g["delta"], e["delta"], rtol=0, atol=0.1, err_msg="American vs European delta")


def test_one_theta_for_both_styles():
    """Issue 14: a call with q = 0 has no early-exercise premium, so its American and European
    Greeks are the same function; theta was a 1-day forward difference for American (-231.1 per
    year at 1 day) and instantaneous for European (-116.8).  Both are now -dV/dt per year."""
    for days in (1, 7, 90):
        args = (3.15, 3.0, days / 365, 0.05, 4.25, "call", 0.0)
        eu = greeks(*args, style="european")
        am = greeks(*args, style="american")
        assert_allclose(am["theta"], eu["theta"], rtol=2e-6, err_msg=f"{days} days")
        assert_allclose(
            decay_1d(*args, style="american"),
            decay_1d(*args, style="european"),
            rtol=1e-9,
            err_msg=f"{days} days",
        )


def test_american_theta_satisfies_the_black_scholes_pde():
    """In the continuation region theta = r V - (r - q) S delta - sigma^2 S^2 gamma / 2 (Hull
    eq. 19.4 with a dividend yield), an identity the FD Greeks must respect; 0 where exercised."""
    s, k = 100.0, np.array([80.0, 100.0, 110.0])  # (K = 120 at r = 8% sits just above the boundary,
    # where gamma jumps and the identity magnifies its FD error by sigma^2 S^2 / 2 = 200)
    for rate, vol, q, kind in (
        (0.05, 0.3, 0.0, "put"),
        (0.08, 0.2, 0.03, "put"),
        (0.02, 0.4, 0.06, "call"),
        (-0.01, 0.3, -0.03, "put"),
    ):
        g = greeks(s, k, 0.75, rate, vol, kind, q, style="american")
        pde = rate * g["price"] - (rate - q) * s * g["delta"] - 0.5 * vol**2 * s**2 * g["gamma"]
        assert_allclose(g["theta"], pde, rtol=2e-4, atol=1e-4, err_msg=f"{kind} r={rate} q={q} vol={vol}")
    deep = greeks(100.0, 200.0, 0.5, 0.08, 0.2, "put", style="american")  # exercised: V = K - S
    assert deep["theta"] == 0.0 and decay_1d(100.0, 200.0, 0.5, 0.08, 0.2, "put", style="american") == 0.0


def test_decay_1d_is_the_one_day_value_change():
    """decay_1d = V(t - 1/365) - V(t), per share; to expiry when that is closer."""
    for style, pricer in (("european", bs_price), ("american", american_price)):
        now = pricer(3.15, np.array([2.5, 3.0]), np.array([30 / 365, 0.5 / 365]), 0.05, 2.0, "put")
        after = pricer(3.15, np.array([2.5, 3.0]), np.array([29 / 365, 0.0]), 0.05, 2.0, "put")
        got = decay_1d(3.15, [2.5, 3.0], [30 / 365, 0.5 / 365], 0.05, 2.0, "put", style=style)
        assert_allclose(got, after - now, rtol=1e-12, atol=1e-14, err_msg=style)
        assert np.all(got < 0)


def test_pandas_in_pandas_out_for_every_pricing_function():
    import pandas as pd

    from engine import implied_vol, prob_itm, prob_touch

    k = pd.Series([2.5, 3.0, 3.5], index=pd.Index(["a", "b", "c"], name="leg"), name="K")
    outs = {
        "bs_price": bs_price(3.15, k, 0.1, 0.05, 2.0, "put"),
        "american_price": american_price(3.15, k, 0.1, 0.05, 2.0, "put"),
        "prob_itm": prob_itm(3.15, k, 0.1, 0.05, 2.0, "put"),
        "prob_touch": prob_touch(3.15, k, 0.1, 0.05, 2.0, "put"),
        **{f"greeks.{n}": v for n, v in greeks(3.15, k, 0.1, 0.05, 2.0, "put", style="american").items()},
    }
    price = bs_price(3.15, k, 0.1, 0.05, 2.0, "put")
    outs["implied_vol"] = implied_vol(price, 3.15, k, 0.1, 0.05, "put")
    for name, out in outs.items():
        assert isinstance(out, pd.Series), name
        assert out.index.equals(k.index) and out.name == "K", name
    assert_allclose(outs["implied_vol"].to_numpy(), 2.0, rtol=1e-10)
