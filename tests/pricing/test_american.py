"""Tests of engine.pricing.american (ALO 2016): QuantLib reference values, identities, edges, input shapes.

Reference: QuantLib ``QdFpAmericanEngine`` with ``highPrecisionScheme()`` (the same method run to
~1e-10), flat curves, Actual/365 Fixed, maturity = evaluation date + days, t = days / 365.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine import VolarbInputError, bs_price
from engine.pricing.american import american_kernel, american_price, exercise_boundary

ql = pytest.importorskip("QuantLib")

SPOT = 3.15
ATOL_QL = 1e-4  # per share, the accuracy requirement against QdFp high precision
TODAY = ql.Date(2, 1, 2025)


def ql_american(spot, strike, days, rate, vol, w, q, scheme: str = "high") -> np.ndarray:
    """QuantLib QdFp (or BAW) American prices, looped (reference only)."""
    ql.Settings.instance().evaluationDate = TODAY
    dc = ql.Actual365Fixed()
    s_q, r_q, q_q, v_q = (ql.SimpleQuote(0.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(s_q),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, ql.QuoteHandle(q_q), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, ql.QuoteHandle(r_q), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(TODAY, ql.NullCalendar(), ql.QuoteHandle(v_q), dc)
        ),
    )
    engine = {
        "high": lambda: ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.highPrecisionScheme()),
        "fast": lambda: ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.fastScheme()),
        "baw": lambda: ql.BaroneAdesiWhaleyApproximationEngine(process),
    }[scheme]()
    args = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (spot, strike, days, rate, vol, w, q)))
    out = np.empty(args[0].size)
    for i, (s, k, d, r, v, ww, qq) in enumerate(zip(*(a.ravel() for a in args), strict=True)):
        s_q.setValue(s)
        r_q.setValue(r)
        q_q.setValue(qq)
        v_q.setValue(v)
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if ww > 0 else ql.Option.Put, k),
            ql.AmericanExercise(TODAY, TODAY + int(d)),
        )
        opt.setPricingEngine(engine)
        out[i] = opt.NPV()
    return out.reshape(args[0].shape)


def full_grid() -> np.ndarray:
    """Columns strike, days, vol, rate, q, w: the accuracy grid of the requirement."""
    strikes = [0.5, 1.0, 2.0, 2.5, 3.0, 3.15, 3.5, 4.0, 5.0, 7.0, 10.0]
    days = [1, 3, 7, 14, 30, 60, 91, 150, 182, 365, 730]
    vols = [0.05, 0.2, 0.5, 1.0, 1.5, 2.5, 3.5, 4.25, 5.0]
    rates = [0.0, 0.01, 0.05, 0.08]
    divs = [0.0, 0.02, 0.05]
    return np.array(list(itertools.product(strikes, days, vols, rates, divs, [-1.0, 1.0])), dtype=float)


def report(cols: dict, expected, computed, atol) -> str:
    """Failure text: every input, expected, computed and the tolerance of the worst rows."""
    err = np.abs(np.asarray(computed) - np.asarray(expected))
    worst = np.argsort(-np.nan_to_num(err, nan=np.inf))[:10]
    lines = [f"atol={atol:g}; worst rows:"]
    for j in worst:
        inputs = ", ".join(f"{k}={np.asarray(v)[j]:.6g}" for k, v in cols.items())
        lines.append(f"  {inputs}: expected={expected[j]:.8f} computed={computed[j]:.8f} err={err[j]:.2e}")
    return "\n".join(lines)


def check_against_quantlib(g: np.ndarray) -> None:
    strike, days, vol, rate, q, w = g.T
    expected = ql_american(SPOT, strike, days, rate, vol, w, q)
    computed = american_price(SPOT, strike, days / 365.0, rate, vol, w, q)
    cols = {"K": strike, "days": days, "vol": vol, "r": rate, "q": q, "w": w}
    assert_allclose(
        computed, expected, rtol=0, atol=ATOL_QL, err_msg=report(cols, expected, computed, ATOL_QL)
    )


def test_matches_quantlib_high_precision_on_grid_sample():
    """A deterministic 300-point sample of the grid plus the high-vol short-dated corner."""
    g = full_grid()
    sample = g[np.random.default_rng(20240611).choice(len(g), 300, replace=False)]
    corner = np.array(
        list(
            itertools.product(
                [2.0, 3.0, 4.0, 5.0], [7, 30, 150], [1.0, 2.5, 4.25], [0.05], [0.0], [-1.0, 1.0]
            )
        ),
        dtype=float,
    )
    check_against_quantlib(np.vstack([sample, corner]))


@pytest.mark.slow
def test_matches_quantlib_high_precision_large_grid_sample():
    """3,000 of the 26,136 grid points (the whole grid, ~4 minutes of QuantLib, was checked by hand)."""
    g = full_grid()
    check_against_quantlib(g[np.random.default_rng(99).choice(len(g), 3000, replace=False)])


@pytest.mark.slow
def test_matches_quantlib_high_precision_random_off_grid():
    rng = np.random.default_rng(7)
    n = 1000
    g = np.column_stack(
        [
            rng.uniform(0.5, 10, n),
            rng.integers(1, 731, n),
            np.exp(rng.uniform(np.log(0.05), np.log(5.0), n)),
            rng.uniform(0, 0.08, n),
            rng.uniform(0, 0.05, n),
            rng.choice([-1.0, 1.0], n),
        ]
    )
    check_against_quantlib(g)


def test_beats_baw_where_baw_is_known_to_be_off():
    """S=3.15, K 2-5, 7-150 days, vol 1-4.25: our error is far below BAW's (up to ~5e-3)."""
    g = np.array(list(itertools.product([2.0, 3.0, 4.0, 5.0], [7, 150], [1.0, 4.25], [0.05], [0.0], [-1.0])))
    strike, days, vol, rate, q, w = g.T
    expected = ql_american(SPOT, strike, days, rate, vol, w, q)
    baw = ql_american(SPOT, strike, days, rate, vol, w, q, scheme="baw")
    ours = american_price(SPOT, strike, days / 365.0, rate, vol, w, q)
    assert np.abs(ours - expected).max() < 0.1 * np.abs(baw - expected).max()


def random_book(n: int = 4000, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "spot": np.full(n, SPOT),
        "strike": rng.uniform(0.5, 10, n),
        "t": rng.integers(1, 731, n) / 365.0,
        "rate": rng.uniform(0, 0.08, n),
        "vol": rng.uniform(0.05, 5.0, n),
        "kind": rng.choice([-1.0, 1.0], n),
        "q": rng.uniform(0, 0.05, n),
    }


def test_at_least_european_and_intrinsic():
    b = random_book()
    amer = american_price(**b)
    euro = bs_price(**b)
    intrinsic = np.maximum(b["kind"] * (b["spot"] - b["strike"]), 0.0)
    assert np.all(amer >= euro - 1e-12), report(b, euro, amer, 0.0)
    assert np.all(amer >= intrinsic), report(b, intrinsic, amer, 0.0)


def test_no_premium_cases_equal_european():
    """A put with r <= 0 <= q and a call with q <= 0 have no early-exercise premium."""
    strikes = np.linspace(0.5, 10, 40)
    for kind, rate, q in (
        ("put", 0.0, 0.03),
        ("put", -0.01, 0.0),
        ("call", 0.05, 0.0),
        ("call", 0.05, -0.01),
    ):
        amer = american_price(SPOT, strikes, 0.5, rate, 2.0, kind, q)
        euro = np.maximum(
            bs_price(SPOT, strikes, 0.5, rate, 2.0, kind, q),
            np.maximum((1 if kind == "call" else -1) * (SPOT - strikes), 0.0),
        )
        assert_allclose(amer, euro, rtol=0, atol=1e-14, err_msg=f"{kind} r={rate} q={q}")


@settings(max_examples=150, deadline=None)
@given(
    spot=st.floats(0.2, 20),
    strike=st.floats(0.2, 20),
    t=st.floats(1 / 365, 2.0),
    rate=st.floats(0.0, 0.1),
    vol=st.floats(0.02, 5.0),
    q=st.floats(0.0, 0.1),
)
def test_put_call_symmetry(spot, strike, t, rate, vol, q):
    """McDonald-Schroder: C(S, K, r, q, sigma) = P(K, S, q, r, sigma)."""
    call = american_price(spot, strike, t, rate, vol, "call", q)
    put = american_price(strike, spot, t, q, vol, "put", rate)
    assert_allclose(
        call, put, rtol=1e-10, atol=1e-12, err_msg=f"S={spot} K={strike} t={t} r={rate} vol={vol} q={q}"
    )


@pytest.mark.parametrize("kind", ["put", "call"])
@pytest.mark.parametrize("days,rate,q", [(7, 0.05, 0.0), (150, 0.08, 0.02), (730, 0.01, 0.05)])
def test_monotone_in_strike_and_vol(kind, days, rate, q):
    strikes = np.linspace(0.5, 10, 120)
    vols = np.linspace(0.05, 5.0, 120)
    tol = 1e-7
    by_strike = american_price(SPOT, strikes, days / 365, rate, 1.5, kind, q)
    step = np.diff(by_strike) * (1 if kind == "put" else -1)
    assert step.min() >= -tol, (
        f"{kind} not monotone in strike: min step {step.min():.3e} at K={strikes[np.argmin(step)]}"
    )
    by_vol = american_price(SPOT, 4.0, days / 365, rate, vols, kind, q)
    assert np.diff(by_vol).min() >= -tol, f"{kind} not increasing in vol: {np.diff(by_vol).min():.3e}"


def test_expiry_and_zero_vol_edges():
    k = np.array([2.0, 3.15, 5.0])
    assert_allclose(american_price(SPOT, k, 0.0, 0.05, 1.0, "put"), np.maximum(k - SPOT, 0), rtol=0, atol=0)
    assert_allclose(american_price(SPOT, k, 0.0, 0.05, 1.0, "call"), np.maximum(SPOT - k, 0), rtol=0, atol=0)
    t, r, q = 0.5, 0.05, 0.02
    fwd = SPOT * np.exp((r - q) * t)
    for w, kind in ((-1.0, "put"), (1.0, "call")):
        expected = np.maximum(np.exp(-r * t) * np.maximum(w * (fwd - k), 0), np.maximum(w * (SPOT - k), 0))
        computed = american_price(SPOT, k, t, r, 0.0, kind, q)
        assert_allclose(computed, expected, rtol=0, atol=1e-14, err_msg=kind)
    # interior optimum of the deterministic path (r < q put): exercise at t* = ln(rK/(qS))/(r-q)
    s, kk, r, q, t = 1.0, 1.2, 0.04, 0.05, 5.0
    t_star = np.log(r * kk / (q * s)) / (r - q)
    assert_allclose(
        american_price(s, kk, t, r, 0.0, "put", q),
        kk * np.exp(-r * t_star) - s * np.exp(-q * t_star),
        rtol=1e-14,
    )


def test_deep_in_the_money_is_intrinsic():
    """Spot below the exercise boundary: the put is worth exactly K - S."""
    b = exercise_boundary(5.0, 0.5, 0.08, 0.3, "put")
    assert 0 < b < 5.0
    assert american_price(0.99 * b, 5.0, 0.5, 0.08, 0.3, "put") == pytest.approx(5.0 - 0.99 * b, abs=1e-15)
    assert american_price(1.05 * b, 5.0, 0.5, 0.08, 0.3, "put") > 5.0 - 1.05 * b
    # call boundary by symmetry, above the strike
    assert exercise_boundary(3.0, 0.5, 0.01, 1.0, "call", q=0.05) > 3.0


def test_scalar_1d_2d_agree():
    b = random_book(n=24, seed=11)
    flat = american_price(**b)
    two_d = american_price(**{k: v.reshape(4, 6) for k, v in b.items()})
    scalars = np.array([american_price(*(float(b[k][i]) for k in b)) for i in range(24)])
    assert isinstance(american_price(SPOT, 4.0, 0.1, 0.05, 2.0, "P"), float)
    assert two_d.shape == (4, 6)
    assert_allclose(two_d.ravel(), flat, rtol=1e-13, atol=0)
    assert_allclose(scalars, flat, rtol=1e-13, atol=0)
    kernel = american_kernel(*(b[k] for k in ("spot", "strike", "t", "rate", "vol", "kind", "q")))
    assert_allclose(kernel, flat, rtol=0, atol=0)


def test_broadcasting_against_strike_grid():
    strikes = np.array([2.0, 4.0])[:, None]
    vols = np.array([0.5, 1.0, 4.25])[None, :]
    out = american_price(SPOT, strikes, 30 / 365, 0.05, vols, "put")
    assert out.shape == (2, 3)
    assert_allclose(out[1, 2], american_price(SPOT, 4.0, 30 / 365, 0.05, 4.25, "put"), rtol=1e-13)


@pytest.mark.parametrize(
    "name,value",
    [
        ("spot", -1.0),
        ("strike", 0.0),
        ("t", -0.1),
        ("vol", -0.2),
        ("kind", "straddle"),
        ("rate", float("nan")),
    ],
)
def test_scalar_bad_input_raises(name, value):
    args = {"spot": SPOT, "strike": 4.0, "t": 0.1, "rate": 0.05, "vol": 1.0, "kind": "put", "q": 0.0}
    args[name] = value
    with pytest.raises(VolarbInputError, match=name):
        american_price(**args)


def test_array_bad_element_is_nan():
    out = american_price(SPOT, [4.0, -4.0, 4.0], 0.1, 0.05, [1.0, 1.0, np.nan], ["put", "put", "P"])
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])


def ql_fd_american(spot, strike, days, rate, vol, w, q, grid: int = 2000, binomial: bool = False) -> float:
    """QuantLib's finite-difference engine (``tGrid = xGrid = grid``) or a ``grid``-step CRR tree."""
    ql.Settings.instance().evaluationDate = TODAY
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol, dc)),
    )
    opt = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if w > 0 else ql.Option.Put, strike),
        ql.AmericanExercise(TODAY, TODAY + int(days)),
    )
    engine = (
        ql.BinomialVanillaEngine(process, "crr", grid)
        if binomial
        else ql.FdBlackScholesVanillaEngine(process, grid, grid, 4)
    )
    opt.setPricingEngine(engine)
    return opt.NPV()


def test_double_boundary_issue_case_matches_quantlib_fd_and_binomial():
    """Issue 14: a put with q < r < 0 was priced at ~K (100.327).  QuantLib's FD engine gives
    11.2518 (2000 x 2000: 11.25191, converging upwards from 11.25172 at 1000 x 1000); CRR trees
    oscillate between odd and even step counts (4000: 11.25154, 4001: 11.25288), so their mean
    is the tree reference."""
    ours = american_price(100.0, 100.0, 365 / 365, -0.01, 0.3, "put", q=-0.03)
    fd = ql_fd_american(100.0, 100.0, 365, -0.01, 0.3, -1.0, -0.03, grid=2000)
    tree = 0.5 * sum(
        ql_fd_american(100.0, 100.0, 365, -0.01, 0.3, -1.0, -0.03, grid=n, binomial=True)
        for n in (4000, 4001)
    )
    assert 0.0 < ours - fd < 2e-4 and abs(ours - tree) < 3e-4, (ours, fd, tree)
    # by McDonald-Schroder symmetry the call with r < q < 0 is the same number
    assert_allclose(american_price(100.0, 100.0, 1.0, -0.03, 0.3, "call", q=-0.01), ours, rtol=1e-12)


@pytest.mark.parametrize(
    "kind,rate,q", [("put", -0.01, -0.03), ("put", -0.002, -0.05), ("call", -0.04, -0.01)]
)
def test_double_boundary_bounds(kind, rate, q):
    """put <= K (call <= S), >= European, >= intrinsic, monotone in strike, over strikes and expiries."""
    strikes = np.linspace(60.0, 160.0, 6)
    for t in (7 / 365, 2.0):
        amer = american_price(100.0, strikes, t, rate, 0.35, kind, q)
        euro = bs_price(100.0, strikes, t, rate, 0.35, kind, q)
        w = 1.0 if kind == "call" else -1.0
        cap = strikes if kind == "put" else np.full_like(strikes, 100.0)
        intrinsic = np.maximum(w * (100.0 - strikes), 0.0)
        msg = f"{kind} r={rate} q={q} t={t}"
        assert np.all(amer <= cap) and np.all(amer >= euro - 1e-12) and np.all(amer >= intrinsic), msg
        assert np.all(w * np.diff(amer) <= 1e-9), msg


def test_double_boundary_exercise_region_is_an_interval():
    """q < r < 0: exercising is optimal only between two boundaries below the strike (deep in the
    money the put is worth more than K - S, because K e^{-rt} > K), so V = K - S in a middle band."""
    spots = np.linspace(5.0, 99.0, 24)  # 24 finite-difference solves (about 0.3 s each)
    v = american_price(spots, 100.0, 1.0, -0.01, 0.2, "put", -0.06)
    exercised = v - (100.0 - spots) < 1e-6 * 100.0  # V = K - S to the accuracy target
    assert exercised.any() and not exercised[0] and not exercised[-1]
    idx = np.flatnonzero(exercised)
    assert np.all(np.diff(idx) == 1)  # one band


def scheme_switch_points():
    """(t, vol, rate, q) on the three node-count / FP-A-B switches of engine.pricing.american."""
    return [
        (1.0, np.sqrt(0.5), 0.05, 0.0),  # sigma^2 T = 0.5
        (1.0, np.sqrt(2 * 0.08 / 20.0), 0.08, 0.0),  # kappa = 20
        (0.5, np.sqrt(2 * 0.05 / 2.0), 0.05, 0.01),
    ]  # kappa = 2 (FP-A / FP-B)


@pytest.mark.parametrize("t,vol,rate,q", scheme_switch_points())
def test_no_visible_jump_at_a_scheme_switch(t, vol, rate, q):
    """Both schemes on either side of a switch give the same price to well inside 1e-6 x K."""
    from engine.pricing.american import SCHEMES, american_kernel, scheme_index

    strikes = np.array([80.0, 100.0, 120.0])
    one = np.ones(3)
    args = (100.0 * one, strikes, t * one, rate * one, vol * one, -one, q * one)
    base = scheme_index(*args)
    for bump in (0.999, 1.001):
        other = scheme_index(*(a * (bump if i == 4 else 1.0) for i, a in enumerate(args)))
        if np.array_equal(other, base):
            continue
        a = american_kernel(*args, scheme=base)
        b = american_kernel(*args, scheme=other)
        assert_allclose(
            a, b, rtol=0, atol=2e-7 * 100.0, err_msg=f"schemes {SCHEMES[base[0]]} vs {SCHEMES[other[0]]}"
        )
    # and the price is smooth in vol across the switch: second differences stay small
    vols = vol * np.linspace(0.99, 1.01, 41)
    p = american_price(100.0, 100.0, t, rate, vols, "put", q)
    second = np.abs(np.diff(p, 2))
    assert second.max() < 1e-6 * 100.0, second.max()


def test_pandas_in_pandas_out():
    import pandas as pd

    k = pd.Series([2.0, 3.0, 4.0], index=pd.Index([10, 20, 30], name="id"), name="strike")
    out = american_price(SPOT, k, 0.2, 0.05, 2.0, "put")
    assert isinstance(out, pd.Series) and out.name == "strike" and out.index.equals(k.index)
    assert_allclose(out.to_numpy(), american_price(SPOT, k.to_numpy(), 0.2, 0.05, 2.0, "put"), rtol=0, atol=0)
    frame = pd.DataFrame({"a": [2.0, 3.0], "b": [4.0, 5.0]}, index=["x", "y"])
    got = american_price(SPOT, frame, 0.2, 0.05, 2.0, "put")
    assert (
        isinstance(got, pd.DataFrame) and got.columns.equals(frame.columns) and got.index.equals(frame.index)
    )


def test_unconverged_fixed_point_is_repriced_with_the_fine_scheme(monkeypatch):
    """With a one-step limit no option converges: every one must come back from the fine
    12-node scheme, i.e. equal to pricing with that scheme forced."""
    import engine.pricing.american as am

    b = random_book(n=40, seed=5)
    args = [b[k] for k in ("spot", "strike", "t", "rate", "vol", "kind", "q")]
    fine = am.american_kernel(*args, scheme=np.full(40, am._FINE))
    crippled = tuple((n, l_, p, 1, fp, tol) for n, l_, p, _, fp, tol in am.SCHEMES[:-1]) + (am.SCHEMES[-1],)
    monkeypatch.setattr(am, "SCHEMES", crippled)
    am._scheme.cache_clear()
    try:
        got = am.american_kernel(*args)
    finally:
        am._scheme.cache_clear()
    assert_allclose(got, fine, rtol=0, atol=1e-12)


def test_fast_table_moved_with_its_names():
    """engine.pricing.american_table holds the fast American table; engine.risk.var re-exports the same objects."""
    import engine.pricing.american_table as tab
    import engine.risk.var as var

    for name in ("american_fast", "EEPCache", "_eep_table", "_interp2"):
        assert getattr(var, name) is getattr(tab, name)


def test_unit_grid_equals_the_kernel_point_by_point():
    """american_unit_grid solves each put's boundary once per row; the prices must be the
    kernel's, point by point (two implementations compared), across schemes (far OTM, sigma^2 T
    above 0.5, kappa above 2 with FP-B), q > r, calls and rows the fixed point does not price."""
    from engine.pricing.american import american_kernel, american_unit_grid

    x = np.linspace(-6.0, 4.0, 241)
    t = np.array([1 / 252, 21 / 252, 0.5, 2.0, 0.25, 0.1, 0.3])
    vol = np.array([4.25, 3.9, 1.0, 0.6, 0.05, 0.0, 2.0])
    w = np.array([-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0])
    for rate, q in ((0.04, 0.0), (0.05, 0.08), (0.10, 0.02), (-0.01, 0.0)):
        g = american_unit_grid(x, t, rate, vol, w, q)
        m, nx = t.size, x.size
        ref = american_kernel(
            np.tile(np.exp(x), m),
            np.ones(m * nx),
            np.repeat(t, nx),
            np.full(m * nx, rate),
            np.repeat(vol, nx),
            np.repeat(w, nx),
            np.full(m * nx, q),
        ).reshape(m, nx)
        np.testing.assert_allclose(g, ref, rtol=1e-13, atol=1e-15, err_msg=f"rate {rate}, q {q}")


def _wide_book(n: int, seed: int) -> dict[str, np.ndarray]:
    """Spot 100, strikes 50-200, vol 1%-6 (log-uniform), 1 day-5 years, r 0-12%, q 0-15%: inside
    and outside the start table (q / r up to ~20 and beyond, sigma^2 T from 1e-7 to 180)."""
    rng = np.random.default_rng(seed)
    return {
        "spot": np.full(n, 100.0),
        "strike": rng.uniform(50.0, 200.0, n),
        "t": rng.integers(1, 1826, n) / 365.0,
        "rate": rng.uniform(0.0, 0.12, n),
        "vol": np.exp(rng.uniform(np.log(0.01), np.log(6.0), n)),
        "kind": rng.choice([-1.0, 1.0], n),
        "q": rng.uniform(0.0, 0.15, n),
    }


def test_start_table_moves_no_price(monkeypatch):
    """The Newton start table is only a start: prices from it equal the QD+-started ones to
    2e-8 x K (Newton stops after a step of 1e-5 in ln B, leaving ~1e-10; a chord step leaves
    ~1e-9), off the table's grid points, outside it and just above q = r."""
    import engine.pricing.american as am

    b = _wide_book(3000, seed=11)
    b["q"][:300] = b["rate"][:300] * np.random.default_rng(12).uniform(0.9, 1.4, 300)  # about q = r
    args = [b[k] for k in ("spot", "strike", "t", "rate", "vol", "kind", "q")]
    with_table = am.american_kernel(*args)
    monkeypatch.setattr(am, "_USE_TABLE", False)
    qd_start = am.american_kernel(*args)
    assert np.max(np.abs(with_table - qd_start) / b["strike"]) <= 2e-8
    # the table covers most of these options (else the test would not test it)
    call = b["kind"] > 0
    r = np.where(call, b["q"], b["rate"])
    d = np.where(call, b["rate"], b["q"])
    live = r > 0
    _, ok = am._table_start(b["t"][live], r[live], d[live], b["vol"][live])
    assert ok.mean() > 0.6


def test_start_table_is_current():
    """The stored table equals a fresh solve of the kernel's collocation equations at a sample of
    its cells (a change of the schemes without rerunning tools/gen_american_start.py fails here)."""
    import engine.pricing.american as am

    tab = am._start_table()
    assert tab is not None
    counts = [cnt for _, _, cnt in am.START_AXES]
    rng = np.random.default_rng(4)
    cells = rng.integers(0, np.prod(counts), 64)
    i1, i2, i3 = np.unravel_index(cells, counts)
    (a1, h1, _), (a2, h2, _), (a3, h3, _) = am.START_AXES
    rt = np.exp(a2 + h2 * i2)
    fresh = am.start_cells(np.exp(a1 + h1 * i1), rt, (np.exp2(a3 + h3 * i3) - 1.0) * rt)
    stored = tab[cells]
    assert np.array_equal(np.isnan(fresh), np.isnan(stored))
    good = np.isfinite(fresh)
    assert good.mean() > 0.9
    # float32 storage: 6e-8 relative of |ln(B / K)| <= ~25
    assert_allclose(stored[good], fresh[good], rtol=0, atol=2e-6)
