"""engine.pricing.american against QuantLib on seeded grids of stored reference values.

The references are produced by ``tools/gen_american_reference.py`` (QuantLib ``QdFpAmericanEngine``
with its high-precision scheme, QuantLib's finite-difference engine for Greeks and for the
double-boundary region); the grids' definitions, seeds and engines are in that script.  The stored
files are checked against live QuantLib on a few rows here (all of a grid's rows are a slow test),
so they cannot silently drift from what the script computes.

Target (issue 14): max |error| <= 1e-6 x strike on every grid (met on the plan and wide grids;
the double-boundary reference is itself uncertain at that level, see TOL_DOUBLE); Greeks within
1e-4 relative of QuantLib where the Greek is material (see GREEK_LIMITS for what is measured).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from engine.pricing.american import american_price
from engine.pricing.greeks import greeks

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "fixtures" / "american"
TOL_PER_STRIKE = 1e-6
COLS = ("spot", "strike", "days", "rate", "vol", "q", "w")


@cache
def grid(name: str) -> dict[str, np.ndarray]:
    with np.load(DATA / f"american_reference_{name}.npz") as f:
        return {k.split("_", 1)[1]: f[k] for k in f.files}


def generator():
    sys.path.insert(0, str(ROOT / "tools"))
    import gen_american_reference

    return gen_american_reference


def report(g: dict, sel: np.ndarray, expected, computed, tol) -> str:
    """Every input, expected, computed and tolerance of the worst rows."""
    err = np.abs(computed - expected) / tol
    lines = ["worst rows (error / tolerance):"]
    for j in np.argsort(-np.nan_to_num(err, nan=np.inf))[:8]:
        inputs = ", ".join(f"{c}={g[c][sel][j]:.6g}" for c in COLS)
        lines.append(
            f"  {inputs}: expected={expected[j]:.10f} computed={computed[j]:.10f} "
            f"tol={np.broadcast_to(tol, err.shape)[j]:.2e} ratio={err[j]:.2f}"
        )
    return "\n".join(lines)


# the double-boundary reference (QuantLib's FD engine at 1000/2000/4000 nodes, Aitken-extrapolated)
# is itself uncertain by a few 1e-6 x K: it converges at about first order and not geometrically.
# For its worst row (K 72.65, 584 days, call r -2.31%, q -0.76%, vol 57.4%) the Aitken value is
# 39.88518, QuantLib FD 4000 x 4000 gives 39.88473, CRR 8000/8001 steps average 39.88498, and
# this solver 39.88474 (3x finer grid: 39.88478).  The test there allows 1e-5 x K (measured max
# 6.1e-6 x K over the 120 options).
TOL_DOUBLE = 1e-5


def check_prices(name: str, sel=slice(None)) -> float:
    g = grid(name)
    idx = np.arange(g["strike"].size)[sel]
    args = [g[c][idx] for c in COLS]
    spot, strike, days, rate, vol, q, w = args
    got = american_price(spot, strike, days / 365.0, rate, vol, w, q)
    want = g["price"][idx]
    tol = (TOL_DOUBLE if name == "double" else TOL_PER_STRIKE) * strike
    assert np.all(np.abs(got - want) <= tol), report(g, idx, want, got, tol)
    return float(np.max(np.abs(got - want) / strike))


def test_stored_grids_are_the_generator_grids():
    gen = generator()
    for name, g in gen.grids().items():
        if not (DATA / f"american_reference_{name}.npz").exists():
            continue
        for c in COLS:
            assert_allclose(grid(name)[c], g[c], rtol=0, atol=0, err_msg=f"{name}.{c}")


def test_plan_region_within_1e6_strike():
    """Spot 3.15, strikes 0.5-10, 1-730 days, vol 50%-600%: 2,000 options vs QdFp high precision."""
    check_prices("plan")


def test_wide_grid_within_1e6_strike():
    """Spot 100, strikes 50-200, 1 day-5 years, vol 2%-150%, r -2%..10%, q 0-8%: 2,000 options."""
    check_prices("wide")


def test_double_boundary_sample_within_1e6_strike():
    """q < r < 0 puts and r < q < 0 calls vs QuantLib FD extrapolated: 8 of the 120 (all: slow)."""
    check_prices("double", slice(0, 8))


@pytest.mark.slow
def test_double_boundary_all_within_1e6_strike():
    check_prices("double")


def _wide_greeks(rows):
    g = grid("wide")
    fd = {
        k: np.concatenate([grid("widefd0")[k], grid("widefd1")[k]])
        for k in ("fd_price", "delta", "gamma", "theta")
    }
    spot, strike, days, rate, vol, q, w = (g[c][rows] for c in COLS)
    ours = greeks(spot, strike, days / 365.0, rate, vol, w, q, style="american")
    return {k: v[rows] for k, v in g.items()}, {k: v[rows] for k, v in fd.items()}, ours


# relative error allowed per Greek, and the share of material rows that must be within 1e-4:
# delta, gamma and theta are compared with QuantLib's FD engine only where that engine has
# converged (its price within 1e-6 x K of QdFp high precision); at 1500 x 1500 it has not
# converged for very low vols and near the exercise boundary, where its Greeks are off by
# 1e-3 and more (its delta reaches -1.0002 for a put), so the comparison is not the 1e-4 target
# everywhere: measured (2,000 rows) max 4.5e-3 / 99th percentile 3.3e-4 for delta, 1.5e-3 /
# 6.8e-4 for gamma, theta 99th percentile 7.4e-5; vega max 8.6e-5; rho max 4.6e-4.
GREEK_LIMITS = {
    "delta": (5e-3, 0.95),
    "gamma": (2e-3, 0.9),
    "theta": (1e-2, 0.98),
    "vega": (1e-4, 1.0),
    "rho": (5e-4, 0.95),
}


def check_greek(name: str, rows) -> None:
    g, fd, ours = _wide_greeks(rows)
    want = fd[name] if name in fd else g[name]
    got = ours[name]
    strike, spot, vol, days = g["strike"], g["spot"], g["vol"], g["days"]
    effect = {
        "delta": 0.01 * spot * np.abs(want),
        "gamma": 0.5 * (0.01 * spot) ** 2 * np.abs(want),
        "theta": 0.01 * days / 365 * np.abs(want),
        "vega": 0.01 * vol * np.abs(want),
        "rho": 0.0001 * np.abs(want),
    }[name]
    material = (effect > 1e-4 * strike) & np.isfinite(want)
    if name in fd:
        material &= np.abs(fd["fd_price"] - g["price"]) <= 1e-6 * strike
    if name == "theta":  # at the exercise boundary theta jumps to 0: a relative error is no measure
        intrinsic = np.maximum(g["w"] * (spot - strike), 0.0)
        material &= (np.minimum(ours["price"], fd["fd_price"]) - intrinsic) > 1e-4 * strike
    sel = np.flatnonzero(material)
    assert sel.size >= 10
    limit, share = GREEK_LIMITS[name]
    rel = np.abs(got - want)[sel] / np.abs(want)[sel]
    worst = report(g, sel, want[sel], got[sel], limit * np.abs(want[sel]))
    assert rel.max() <= limit, worst
    assert np.mean(rel <= 1e-4) >= share, f"{np.mean(rel <= 1e-4):.3f} within 1e-4\n" + worst


@pytest.mark.parametrize("name", ["delta", "gamma", "theta", "vega", "rho"])
def test_wide_grid_greeks_match_quantlib_sample(name):
    """delta, gamma vs QuantLib FD (1500 x 1500); theta vs the PDE with that engine's V, delta,
    gamma; vega, rho vs central differences of QdFp high precision (first 500 rows), where the
    Greek is material (its dollar effect for a 1% move of its input, 1 bp for rho, above
    1e-4 x strike): the first 500 rows (all 2,000: slow)."""
    check_greek(name, slice(0, 500))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["delta", "gamma", "theta"])
def test_wide_grid_greeks_match_quantlib_all(name):
    check_greek(name, slice(None))


def _live(name: str, rows: np.ndarray) -> np.ndarray:
    sys.path.insert(0, str(ROOT / "tests" / "pricing"))
    from test_american import ql_american

    g = grid(name)
    return ql_american(*(g[c][rows] for c in ("spot", "strike", "days", "rate", "vol", "w", "q")))


def test_stored_prices_are_quantlib_few_rows():
    pytest.importorskip("QuantLib")
    for name in ("plan", "wide"):
        rows = np.arange(3)
        assert_allclose(grid(name)["price"][rows], _live(name, rows), rtol=1e-13, err_msg=name)


@pytest.mark.slow
def test_stored_prices_are_quantlib_many_rows():
    pytest.importorskip("QuantLib")
    for name in ("plan", "wide"):
        rows = np.random.default_rng(5).choice(grid(name)["strike"].size, 100, replace=False)
        assert_allclose(grid(name)["price"][rows], _live(name, rows), rtol=1e-13, err_msg=name)
