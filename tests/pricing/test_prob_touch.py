"""engine.prob_touch: reflection identity, a seeded Brownian-bridge Monte Carlo, bounds and edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine import VolarbInputError, prob_itm, prob_touch


@given(
    spot=st.floats(0.5, 20),
    strike=st.floats(0.5, 20),
    t=st.floats(1 / 365, 3.0),
    vol=st.floats(0.05, 5.0),
    q=st.floats(-0.05, 0.05),
    kind=st.sampled_from(["put", "call"]),
)
def test_reflection_identity_at_zero_drift(spot, strike, t, vol, q, kind):
    """With log drift 0 (rate - q = vol^2 / 2) P(touch) = 2 P(finish beyond the strike)."""
    rate = q + 0.5 * vol * vol
    itm = prob_itm(spot, strike, t, rate, vol, kind, q)
    touch = prob_touch(spot, strike, t, rate, vol, kind, q)
    beyond = (spot <= strike) if kind == "put" else (spot >= strike)
    expected = 1.0 if beyond else 2.0 * itm
    assert_allclose(
        touch, expected, rtol=1e-12, atol=1e-15, err_msg=f"S={spot} K={strike} t={t} vol={vol} q={q} {kind}"
    )


@given(
    spot=st.floats(0.5, 20),
    strike=st.floats(0.5, 20),
    t=st.floats(1 / 365, 3.0),
    rate=st.floats(-0.02, 0.1),
    vol=st.floats(0.02, 5.0),
    q=st.floats(0.0, 0.08),
    kind=st.sampled_from(["put", "call"]),
)
def test_between_prob_itm_and_one(spot, strike, t, rate, vol, q, kind):
    """Finishing beyond the strike implies having touched it: P(ITM) <= P(touch) <= 1."""
    touch = prob_touch(spot, strike, t, rate, vol, kind, q)
    assert prob_itm(spot, strike, t, rate, vol, kind, q) <= touch + 1e-12 and 0.0 <= touch <= 1.0


def _bridge_mc(spot, strike, t, rate, vol, q, w, paths, steps, seed):
    """P(touch) by simulation: exact GBM steps plus the Brownian-bridge crossing probability
    ``exp(-2 (a - b)(c - b) / (vol^2 dt))`` between consecutive log prices ``a, c`` on the same side
    of the barrier ``b`` (continuous monitoring without discretisation bias)."""
    rng = np.random.default_rng(seed)
    dt = t / steps
    b = np.log(strike / spot)
    x = np.zeros(paths)
    survive = np.ones(paths)
    for _ in range(steps):
        nxt = x + (rate - q - 0.5 * vol * vol) * dt + vol * np.sqrt(dt) * rng.standard_normal(paths)
        crossed = w * (nxt - b) >= 0
        p_bridge = np.exp(-2.0 * (x - b) * (nxt - b) / (vol * vol * dt))
        survive = np.where(crossed, 0.0, survive * (1.0 - np.where(crossed, 0.0, p_bridge)))
        x = nxt
    return 1.0 - survive.mean(), survive.std() / np.sqrt(paths)


@pytest.mark.parametrize(
    "spot,strike,t,rate,vol,q,kind",
    [
        (100.0, 90.0, 0.5, 0.05, 0.3, 0.01, "put"),
        (3.15, 2.5, 30 / 365, 0.05, 4.25, 0.0, "put"),  # the plan's vol: touching is likely
        (100.0, 115.0, 1.0, 0.02, 0.2, 0.04, "call"),
    ],
)
def test_matches_seeded_brownian_bridge_monte_carlo(spot, strike, t, rate, vol, q, kind):
    w = -1.0 if kind == "put" else 1.0
    mc, se = _bridge_mc(spot, strike, t, rate, vol, q, w, paths=40_000, steps=50, seed=20261201)
    got = prob_touch(spot, strike, t, rate, vol, kind, q)
    assert abs(got - mc) < 4.0 * se + 1e-3, f"closed form {got:.5f}, Monte Carlo {mc:.5f} +- {se:.5f}"


def test_plan_example_far_above_prob_itm():
    """At 425% vol a 30-day $2.50 put on a $3.15 stock: touch 0.93, finish ITM 0.66."""
    assert_allclose(prob_touch(3.15, 2.5, 30 / 365, 0.05, 4.25, "put"), 0.929587, atol=1e-6)
    assert (
        prob_touch(3.15, 2.5, 30 / 365, 0.05, 4.25, "put")
        > prob_itm(3.15, 2.5, 30 / 365, 0.05, 4.25, "put") + 0.25
    )


def test_edges():
    # already in (or at) the money: touched
    assert prob_touch(3.0, 3.15, 0.1, 0.05, 1.0, "put") == 1.0
    assert prob_touch(3.15, 3.15, 0.1, 0.05, 1.0, "call") == 1.0
    # t == 0 and out of the money: 0
    assert prob_touch(3.15, 3.0, 0.0, 0.05, 1.0, "put") == 0.0
    # vol == 0: the forward path S e^{(r-q)u} reaches the strike or not
    assert prob_touch(100.0, 104.0, 1.0, 0.05, 0.0, "call") == 1.0  # 100 e^0.05 = 105.1
    assert prob_touch(100.0, 106.0, 1.0, 0.05, 0.0, "call") == 0.0
    assert prob_touch(100.0, 99.0, 1.0, 0.05, 0.0, "put") == 0.0
    # tiny vol far out of the money: no overflow, 0
    assert prob_touch(100.0, 50.0, 1.0, 0.1, 0.01, "put") == 0.0


def test_shapes_pandas_and_bad_input():
    k = pd.Series([2.0, 2.5, 3.0], index=["a", "b", "c"], name="strike")
    out = prob_touch(3.15, k, 0.1, 0.05, 2.0, "put")
    assert isinstance(out, pd.Series) and list(out.index) == ["a", "b", "c"] and out.name == "strike"
    grid = prob_touch(3.15, np.array([2.0, 2.5])[:, None], np.array([0.1, 0.2, 0.5])[None, :], 0.05, 2.0, "P")
    assert grid.shape == (2, 3)
    assert_allclose(grid[1, 2], prob_touch(3.15, 2.5, 0.5, 0.05, 2.0, "put"), rtol=1e-15)
    assert np.isnan(prob_touch(3.15, [2.0, -1.0], 0.1, 0.05, 2.0, "put")[1])
    with pytest.raises(VolarbInputError, match="vol"):
        prob_touch(3.15, 2.0, 0.1, 0.05, -2.0, "put")
