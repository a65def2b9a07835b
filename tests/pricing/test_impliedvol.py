"""Implied vol: round trips, statuses, a second implementation (py_vollib), American round trip."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from engine._validate import VolarbInputError
from engine.pricing.american import american_price
from engine.pricing.black import bs_price
from engine.pricing.greeks import greeks
from engine.pricing.impliedvol import IVResult, IVStatus, implied_vol, iv_status_message

SPOT = 3.15
PROPS = settings(max_examples=150, derandomize=True, deadline=None)


def _grid():
    rows = itertools.product(
        [0.5, 1.0, 2.0, 2.8, 3.15, 3.5, 4.0, 6.0, 10.0],
        [1, 7, 30, 91, 365, 730],
        [0.05, 0.2, 0.5, 1.0, 2.0, 4.25, 5.0, 7.0, 10.0],
        [0.0, 0.04, 0.08],
        [0.0, 0.05],
        [1.0, -1.0],
    )
    k, d, v, r, q, w = np.array(list(rows)).T
    return k, d / 365.0, v, r, q, w


def test_european_round_trip_grid():
    k, t, v, r, q, w = _grid()
    price = bs_price(SPOT, k, t, r, v, w, q)
    vega = greeks(SPOT, k, t, r, v, w, q)["vega"]
    res = implied_vol(price, SPOT, k, t, r, w, q, full_output=True)
    live = vega > 1e-6  # where the price still determines the vol
    assert live.sum() > 0.7 * live.size
    assert_array_equal(res.status[live], IVStatus.OK)
    assert_allclose(res.vol[live], v[live], rtol=0, atol=1e-8)
    # elsewhere a number is either NaN or reproduces the price
    solved = res.status == IVStatus.OK
    assert np.isnan(res.vol[~solved]).all()
    _assert_vol_reproduces(
        price[solved], k[solved], t[solved], r[solved], res.vol[solved], w[solved], q[solved]
    )


def _assert_vol_reproduces(price, k, t, r, vol, w, q, rel=1e-12):
    """The vol reproduces the price: either the price lies between the prices at vol (1 -+ rel)
    (the vol is right to ``rel`` relative; needed in the deep tails, where a 1e-13 change of vol
    moves the price by 1e-10 relative) or it is reproduced to rounding (1e-14 per share, where
    the price is flat in vol and the price's own rounding noise exceeds the vol's effect).
    """
    lo = bs_price(SPOT, k, t, r, vol * (1 - rel), w, q)
    hi = bs_price(SPOT, k, t, r, vol * (1 + rel), w, q)
    back = bs_price(SPOT, k, t, r, vol, w, q)
    ok = ((lo <= price) & (price <= hi)) | (np.abs(back - price) <= 1e-14 * (SPOT + k))
    assert np.all(ok), (np.argwhere(~np.atleast_1d(ok)).ravel(), price, vol)


@PROPS
@given(
    st.floats(0.5, 10.0),
    st.integers(1, 730),
    st.floats(0.05, 5.0),
    st.floats(0.0, 0.08),
    st.floats(0.0, 0.05),
    st.sampled_from(["call", "put"]),
)
def test_european_round_trip_property(k, days, v, r, q, kind):
    t = days / 365.0
    price = bs_price(SPOT, k, t, r, v, kind, q)
    vega = greeks(SPOT, k, t, r, v, kind, q)["vega"]
    iv = implied_vol(price, SPOT, k, t, r, kind, q)
    if vega > 1e-6:
        assert_allclose(iv, v, rtol=0, atol=1e-8, err_msg=f"K={k} t={t} r={r} q={q} {kind} price={price}")
    else:
        assert np.isnan(iv) or abs(bs_price(SPOT, k, t, r, iv, kind, q) - price) <= 1e-12 * (SPOT + k)


@PROPS
@given(
    st.floats(0.5, 10.0),
    st.floats(1 / 365, 2.0),
    st.floats(0.0, 0.08),
    st.floats(0.0, 0.05),
    st.sampled_from([1.0, -1.0]),
    st.floats(0.0, 1.0),
)
def test_every_price_inside_the_bounds_is_solved(k, t, r, q, w, u):
    # any price strictly between the lower and upper bound has a vol that reproduces it
    df, fwd = np.exp(-r * t), SPOT * np.exp((r - q) * t)
    lower, upper = df * max(w * (fwd - k), 0.0), df * (fwd if w > 0 else k)
    price = lower + (upper - lower) * u**3
    res = implied_vol(price, SPOT, k, t, r, w, q, full_output=True)
    if res.status == IVStatus.OK:
        _assert_vol_reproduces(price, k, t, r, res.vol, w, q)
    else:  # only at the bounds themselves (u rounding to 0 or 1)
        assert res.status in (IVStatus.NO_VEGA, IVStatus.ABOVE_BOUND), (price, lower, upper, res)


def test_very_high_vol_recovered_at_low_spot():
    # 425% vol on a 3.15 stock: optionlab's grid-search implied vol is capped at 100%, ours is not
    k = np.array([2.0, 3.0, 3.15, 4.0, 6.0])
    for t in (7 / 365, 30 / 365, 0.5):
        for kind in ("call", "put"):
            price = bs_price(SPOT, k, t, 0.05, 4.25, kind, 0.01)
            assert_allclose(implied_vol(price, SPOT, k, t, 0.05, kind, 0.01), 4.25, rtol=0, atol=1e-10)
    # vol 10 (1000%): exact where the vega is material (1 month), and still inside the bracket
    # at 2 years, where the call is worth the spot to 11 digits (vega per share 5e-11)
    month = bs_price(SPOT, 3.0, 30 / 365, 0.0, 10.0, "call")
    assert_allclose(implied_vol(month, SPOT, 3.0, 30 / 365, 0.0, "call"), 10.0, rtol=0, atol=1e-10)
    two_years = bs_price(SPOT, 3.0, 2.0, 0.0, 10.0, "call")
    assert_allclose(implied_vol(two_years, SPOT, 3.0, 2.0, 0.0, "call"), 10.0, rtol=1e-4)


def test_statuses():
    # put S=3.15, K=5, t=0.25, r=5%: lower bound = df (K - F) = 5 e^{-0.0125} - 3.15 = 1.7879...,
    # upper bound = K df = 4.9379...
    lower = 5 * np.exp(-0.0125) - 3.15
    prices = [0.5, lower, 2.0, 6.0, np.nan]
    res = implied_vol(prices, 3.15, 5.0, 0.25, 0.05, "put", full_output=True)
    assert isinstance(res, IVResult)
    assert res.status.tolist() == [
        IVStatus.BELOW_INTRINSIC,
        IVStatus.NO_VEGA,
        IVStatus.OK,
        IVStatus.ABOVE_BOUND,
        IVStatus.BAD_INPUT,
    ]
    assert np.isnan(res.vol[[0, 1, 3, 4]]).all() and np.isfinite(res.vol[2])
    # t == 0: intrinsic has no vol, anything else is out of bounds
    res = implied_vol([0.15, 0.2, 0.1], 3.15, 3.0, 0.0, 0.05, "call", full_output=True)
    assert res.status.tolist() == [IVStatus.NO_VEGA, IVStatus.ABOVE_BOUND, IVStatus.BELOW_INTRINSIC]
    assert np.isnan(res.vol).all()
    # an out-of-the-money option priced at zero
    assert implied_vol(0.0, 3.15, 5.0, 0.25, 0.05, "call", full_output=True).status == IVStatus.NO_VEGA
    # scalar full output gives plain Python types
    vol, status = implied_vol(2.0, 3.15, 5.0, 0.25, 0.05, "put", full_output=True)
    assert isinstance(vol, float) and isinstance(status, int) and status == IVStatus.OK


def test_status_messages():
    for code in IVStatus:
        assert isinstance(iv_status_message(code), str) and iv_status_message(int(code))
    assert "below" in iv_status_message(IVStatus.BELOW_INTRINSIC)
    assert "unknown" in iv_status_message(99)


def test_one_bad_element_does_not_spoil_the_others():
    k = np.array([2.5, 3.0, 3.5, 4.0])
    price = bs_price(SPOT, k, 0.5, 0.03, 0.6, "put")
    price_bad = price.copy()
    price_bad[1] = -1.0
    res = implied_vol(price_bad, SPOT, k, 0.5, 0.03, ["put", "put", "xx", "put"], full_output=True)
    assert res.status.tolist() == [IVStatus.OK, IVStatus.BAD_INPUT, IVStatus.BAD_INPUT, IVStatus.OK]
    assert_allclose(res.vol[[0, 3]], 0.6, rtol=0, atol=1e-12)
    assert np.isnan(res.vol[[1, 2]]).all()


def test_scalar_bad_input_raises():
    with pytest.raises(VolarbInputError, match="price"):
        implied_vol(-0.1, 3.15, 3.0, 0.5, 0.03, "put")
    with pytest.raises(VolarbInputError, match="strike"):
        implied_vol(0.1, 3.15, 0.0, 0.5, 0.03, "put")
    with pytest.raises(VolarbInputError, match="kind"):
        implied_vol(0.1, 3.15, 3.0, 0.5, 0.03, "straddle")
    with pytest.raises(VolarbInputError, match="style"):
        implied_vol(0.1, 3.15, 3.0, 0.5, 0.03, "put", style="bermudan")


@pytest.mark.parametrize("shape", [(6,), (2, 3), (3, 2, 1)])
def test_shapes_give_identical_numbers(shape):
    k = np.array([2.0, 2.8, 3.15, 3.5, 5.0, 8.0])
    v = np.array([0.1, 0.5, 1.0, 2.0, 4.25, 0.3])
    price = bs_price(SPOT, k, 0.3, 0.04, v, "put", 0.01)
    flat = implied_vol(price, SPOT, k, 0.3, 0.04, "put", 0.01)
    scalars = [
        implied_vol(float(p), SPOT, float(kk), 0.3, 0.04, "put", 0.01) for p, kk in zip(price, k, strict=True)
    ]
    shaped = implied_vol(price.reshape(shape), SPOT, k.reshape(shape), 0.3, 0.04, "put", 0.01)
    assert shaped.shape == shape
    assert_array_equal(shaped.ravel(), flat)
    assert_array_equal(np.array(scalars), flat)


def test_agrees_with_py_vollib_where_it_succeeds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from py_vollib.black_scholes_merton.implied_volatility import implied_volatility
    rng = np.random.default_rng(7)
    n = 200
    k = rng.uniform(1.0, 6.0, n)
    t = rng.integers(7, 730, n) / 365.0
    v = rng.uniform(0.1, 3.0, n)
    r = rng.uniform(0.0, 0.08, n)
    q = rng.uniform(0.0, 0.05, n)
    w = rng.choice([1.0, -1.0], n)
    price = bs_price(SPOT, k, t, r, v, w, q)
    ours = implied_vol(price, SPOT, k, t, r, w, q)
    live = greeks(SPOT, k, t, r, v, w, q)["vega"] > 1e-6  # elsewhere the vol is undetermined
    theirs = np.full(n, np.nan)
    for i in range(n):
        try:
            theirs[i] = implied_volatility(price[i], SPOT, k[i], t[i], r[i], q[i], "c" if w[i] > 0 else "p")
        except Exception:  # noqa: BLE001 - vollib raises its own exception types for bad prices
            continue
    ok = np.isfinite(theirs) & live
    assert ok.sum() > 0.8 * n
    assert_allclose(ours[ok], theirs[ok], rtol=0, atol=1e-8)


def test_american_round_trip():
    rows = itertools.product(
        [2.0, 3.0, 3.15, 3.5, 5.0],
        [7, 91, 365],
        [0.05, 0.3, 1.0, 4.25],
        [0.0, 0.08],
        [0.0, 0.05],
        [1.0, -1.0],
    )
    k, d, v, r, q, w = np.array(list(rows)).T
    t = d / 365.0
    price = american_price(SPOT, k, t, r, v, w, q)
    vega = greeks(SPOT, k, t, r, v, w, q, style="american")["vega"]
    res = implied_vol(price, SPOT, k, t, r, w, q, style="american", full_output=True)
    live = vega > 1e-4
    assert live.sum() > 0.6 * live.size
    assert_array_equal(res.status[live], IVStatus.OK)
    assert_allclose(res.vol[live], v[live], rtol=0, atol=1e-6)


def test_american_bounds():
    # intrinsic of the put is 5 - 3.15 = 1.85; upper bound is the strike
    res = implied_vol([1.0, 1.85, 5.5], 3.15, 5.0, 0.5, 0.05, "put", style="american", full_output=True)
    assert res.status.tolist() == [IVStatus.BELOW_INTRINSIC, IVStatus.NO_VEGA, IVStatus.ABOVE_BOUND]
    assert np.isnan(res.vol).all()
    # an American put is worth at least the European one: the European implied vol of an
    # American price is at least the American implied vol
    p = american_price(3.15, 3.5, 0.5, 0.08, 0.4, "put")
    assert implied_vol(p, 3.15, 3.5, 0.5, 0.08, "put") > implied_vol(
        p, 3.15, 3.5, 0.5, 0.08, "put", style="american"
    )


@pytest.mark.parametrize("vol", [0.002, 0.005, 0.009])
def test_american_round_trip_below_one_percent_vol(vol):
    """The American bracket starts at 0.1% vol (it was 1%: a true vol under 1% gave NO_VEGA)."""
    from engine.pricing.american import american_price

    # at-the-forward options, where the vega is material even at these vols
    spot, t, rate = 100.0, 0.5, 0.0
    for kind in ("put", "call"):
        p = american_price(spot, 100.0, t, rate, vol, kind)
        got = implied_vol(p, spot, 100.0, t, rate, kind, style="american", full_output=True)
        assert got.status == IVStatus.OK, (kind, vol, got)
        assert abs(got.vol - vol) < 1e-9, (kind, vol, got.vol)
