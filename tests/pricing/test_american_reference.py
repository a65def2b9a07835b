"""engine.pricing.american against QuantLib on seeded grids of stored reference values.

The references are produced by ``tools/gen_american_reference.py`` (QuantLib ``QdFpAmericanEngine``
with its high-precision scheme, QuantLib's finite-difference engine for Greeks and for the
double-boundary region); the grids' definitions, seeds and engines are in that script.  The stored
files are checked against live QuantLib on a few rows here (all of a grid's rows are a slow test),
so they cannot silently drift from what the script computes.

Target (issue 14): max |error| <= 1e-6 x strike on every grid (met on all three: the plan and wide
grids against QdFp high precision, the double-boundary grid against QuantLib's Leisen-Reimer tree,
see TREE_SETTLED); Greeks within 1e-4 relative of QuantLib QdFp high-precision differences (plus an
absolute floor where the Greek is near 0, see QD_SHARE) and, for the record, their distance from
QuantLib's FD engine at 1500 x 1500 (GREEK_LIMITS: that engine is itself off by more).
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


# the double-boundary reference is QuantLib's Leisen-Reimer tree at 4001 and 8001 steps,
# Richardson-extrapolated (2 P(8001) - P(4001)): its error there is first order and smooth (on
# 30 of the rows the 2001/4001/8001 differences halve).  Where the tree itself has not settled
# (|P(8001) - P(4001)| > TREE_SETTLED x K: one row of the 120, K 101.66 near the money, where it
# jumps by 1.7e-5 x K) the reference is QuantLib's FD engine at 4000 x 4000 instead (first order,
# converging upwards there by 6.8e-7 x K from 2000 x 2000).  Measured: max 4.9e-7 x K on the 119
# tree rows, 5.1e-7 x K on the other.  (The former reference, QuantLib's FD at 1000/2000/4000
# extrapolated by Aitken, was off by ~5e-6 x K: FD convergence is not smooth enough for Aitken.)
TREE_SETTLED = 5e-6


def check_prices(name: str, sel=slice(None)) -> float:
    g = grid(name)
    idx = np.arange(g["strike"].size)[sel]
    args = [g[c][idx] for c in COLS]
    spot, strike, days, rate, vol, q, w = args
    got = american_price(spot, strike, days / 365.0, rate, vol, w, q)
    want = g["price"][idx]
    if name == "double":
        tree = g["lr_levels"][idx]
        settled = np.abs(tree[:, 1] - tree[:, 0]) <= TREE_SETTLED * strike
        want = np.where(settled, want, g["fd_levels"][idx, 2])
    tol = TOL_PER_STRIKE * strike
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
    """q < r < 0 puts and r < q < 0 calls vs QuantLib's LR tree extrapolated: 8 of the 120 (all: slow)."""
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


def _qd_greeks(rows) -> tuple[dict, dict, dict]:
    """The wide grid's rows, QdFp high-precision differences (wideqd0/1, theta wideth0/1), ours."""
    g = {k: v[rows] for k, v in grid("wide").items()}
    cols = ("qd_price", "qd_up", "qd_dn", "delta", "gamma", "vega", "rho")
    ref = {k: np.concatenate([grid("wideqd0")[k], grid("wideqd1")[k]])[rows] for k in cols}
    ref["theta"] = np.concatenate([grid("wideth0")["theta"], grid("wideth1")["theta"]])[rows]
    spot, strike, days, rate, vol, q, w = (g[c] for c in COLS)
    ours = greeks(spot, strike, days / 365.0, rate, vol, w, q, style="american")
    return g, ref, ours


# every Greek's reference is a central difference of QuantLib's QdFp high precision (price error
# ~1e-10 x K): spot bump 1e-3 S, vol 1e-4, rate 1e-5, and theta over the expiry date itself
# (five-point stencil in days).  QuantLib's FD engine at 1500 x 1500 is off from these by up to
# 1e-2 (delta) and more (gamma) near the exercise boundary and at low vol, so it cannot check 1e-4.
# A relative error is meaningless where the Greek is near 0: the absolute floor is the size of the
# Greek whose dollar effect for a 1% move of its input (1 bp of rate) is 1e-6 x strike, so the
# test is |error| <= 1e-4 |reference| + floor, on every row whose reference stencil stays clear of
# the exercise boundary (the bumped QdFp prices more than 1e-6 x K above intrinsic; at the
# boundary gamma jumps and a central difference is no reference).  Measured on all 2,000 rows
# (1,261-1,425 material rows per Greek): no failure; within 1e-4 relative without the floor:
# delta 100%, gamma 99.4%, theta 99.6%, vega 99.9%, rho 99.4% (max 2.6e-5, 8.5e-4, 5.0e-4,
# 3.1e-4, 9.1e-4: small Greeks just above the floor).
QD_SHARE = 0.99


def check_greek_qd(name: str, rows) -> None:
    g, ref, ours = _qd_greeks(rows)
    spot, strike, days, w = g["spot"], g["strike"], g["days"], g["w"]
    h, margin = 1e-3 * spot, 1e-6 * strike

    def intrinsic(s):
        return np.maximum(w * (s - strike), 0.0)

    clean = (
        (ref["qd_up"] > intrinsic(spot + h) + margin)
        & (ref["qd_dn"] > intrinsic(spot - h) + margin)
        & (ref["qd_price"] > intrinsic(spot) + margin)
        & np.isfinite(ref[name])
    )
    move = {
        "delta": 0.01 * spot,
        "gamma": 0.5 * (0.01 * spot) ** 2,
        "theta": 0.01 * days / 365.0,
        "vega": 0.01 * g["vol"],
        "rho": np.full(spot.shape, 1e-4),
    }[name]
    floor = 1e-6 * strike / move
    want, got = ref[name], ours[name]
    sel = np.flatnonzero(clean)
    tol = 1e-4 * np.abs(want[sel]) + floor[sel]
    assert sel.size >= 100
    assert np.all(np.abs(got[sel] - want[sel]) <= tol), report(g, sel, want[sel], got[sel], tol)
    material = sel[np.abs(want[sel]) > floor[sel]]
    rel = np.abs(got[material] - want[material]) / np.abs(want[material])
    assert np.mean(rel <= 1e-4) >= QD_SHARE, f"{np.mean(rel <= 1e-4):.4f} of {material.size} within 1e-4"


@pytest.mark.parametrize("name", ["delta", "gamma", "theta", "vega", "rho"])
def test_wide_grid_greeks_within_1e4_of_qdfp_differences_sample(name):
    """delta, gamma, theta, vega, rho within 1e-4 relative (plus the floor) of QuantLib QdFp
    high-precision differences: the first 400 rows of the wide grid (all 2,000: slow)."""
    check_greek_qd(name, slice(0, 400))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["delta", "gamma", "theta", "vega", "rho"])
def test_wide_grid_greeks_within_1e4_of_qdfp_differences_all(name):
    check_greek_qd(name, slice(None))


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
