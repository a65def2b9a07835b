"""Benchmark: engine.american_price (ALO, vectorized) against QuantLib's American engines, looped.

Prints options/s, the max absolute error against QuantLib ``QdFpAmericanEngine`` high precision
(on a common subset of the random options) and the speed ratio to QuantLib's QdFp fast scheme;
then the max error per strike of volarb and of QdFp fast on the stored QuantLib reference grids
(tests/fixtures/american/american_reference_*.npz: the plan region, the wide spot-100 grid, the double-boundary
region) in the same run.
Options are drawn (seeded) from the accuracy grid: spot 3.15, strike 0.5-10, 1-730 days,
vol 5%-500%, rate 0-8%, q 0-5%, puts and calls.  Run: ``python benchmarks/bench_american.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pricing"))

from test_american import SPOT, ql_american  # noqa: E402

from engine.pricing.american import american_price  # noqa: E402
from engine.pricing.greeks import greeks  # noqa: E402


def random_options(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "strike": rng.uniform(0.5, 10.0, n),
        "days": rng.integers(1, 731, n).astype(float),
        "vol": rng.uniform(0.05, 5.0, n),
        "rate": rng.uniform(0.0, 0.08, n),
        "q": rng.uniform(0.0, 0.05, n),
        "w": rng.choice([-1.0, 1.0], n),
    }


def timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="options for ours, QdFp fast and BAW")
    ap.add_argument("--n-ref", type=int, default=500, help="options priced by QdFp high precision")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    o = random_options(args.n, np.random.default_rng(args.seed))
    ref_idx = slice(0, args.n_ref)

    def ours():
        return american_price(SPOT, o["strike"], o["days"] / 365.0, o["rate"], o["vol"], o["w"], o["q"])

    def ql(scheme, sl=slice(None)):
        return lambda: ql_american(
            SPOT,
            o["strike"][sl],
            o["days"][sl],
            o["rate"][sl],
            o["vol"][sl],
            o["w"][sl],
            o["q"][sl],
            scheme=scheme,
        )

    ours()  # warm-up (scheme tables)
    p_ours, t_ours = timed(ours, repeat=3)
    p_fast, t_fast = timed(ql("fast"))
    p_baw, t_baw = timed(ql("baw"))
    p_high, t_high = timed(ql("high", ref_idx))
    rows = [
        ("volarb american_price (ALO, vectorized)", args.n, t_ours, p_ours[ref_idx]),
        ("QuantLib QdFp fastScheme, looped", args.n, t_fast, p_fast[ref_idx]),
        ("QuantLib QdFp highPrecision, looped", args.n_ref, t_high, p_high),
        ("QuantLib Barone-Adesi-Whaley, looped", args.n, t_baw, p_baw[ref_idx]),
    ]
    fast_rate = args.n / t_fast
    print(f"{'engine':<42}{'N':>7}{'options/s':>12}{'max|err| vs QdFp high':>24}{'speed / QdFp fast':>19}")
    for name, n, t, p in rows:
        err = np.abs(p - p_high).max()
        print(f"{name:<42}{n:>7}{n / t:>12,.0f}{err:>24.2e}{n / t / fast_rate:>19.2f}")
    print(f"(error columns over the first {args.n_ref} options; seed {args.seed})")
    print()
    grid_table()
    print()
    greeks_table()


def grid_table() -> None:
    """Max |error| / strike of volarb and of QdFp fast on the stored QuantLib reference grids
    (tests/fixtures/american, made by tools/gen_american_reference.py), with each one's time."""
    data = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "american"
    print(
        f"{'grid (reference)':<46}{'N':>6}{'volarb max|err|/K':>19}{'QdFp fast max|err|/K':>22}"
        f"{'volarb s':>10}{'QdFp fast s':>13}"
    )
    for name, ref in (
        ("plan", "QdFp high"),
        ("wide", "QdFp high"),
        ("double", "QuantLib LR tree, Richardson"),
    ):
        path = data / f"american_reference_{name}.npz"
        if not path.exists():
            continue
        with np.load(path) as f:
            g = {k.split("_", 1)[1]: f[k] for k in f.files}
        cols = [g[c] for c in ("spot", "strike", "days", "rate", "vol", "w", "q")]
        strike = cols[1]
        p_ours, t_ours = timed(
            lambda c=cols: american_price(c[0], c[1], c[2] / 365.0, c[3], c[4], c[5], c[6])
        )
        err_fast, t_fast = "n/a", float("nan")
        if name != "double":  # QdFp refuses the double-boundary case
            p_fast, t_fast = timed(lambda c=cols: ql_american(*c, scheme="fast"))
            err_fast = f"{np.max(np.abs(p_fast - g['price']) / strike):.2e}"
        want = g["price"]
        if name == "double":  # where the tree has not settled, QuantLib FD 4000 x 4000 (see the tests)
            settled = np.abs(g["lr_levels"][:, 1] - g["lr_levels"][:, 0]) <= 5e-6 * strike
            want = np.where(settled, want, g["fd_levels"][:, 2])
        err = np.max(np.abs(p_ours - want) / strike)
        print(
            f"{name + ' (' + ref + ')':<46}{strike.size:>6}{err:>19.2e}{err_fast:>22}{t_ours:>10.3f}{t_fast:>13.3f}"
        )


def _load(name: str) -> dict[str, np.ndarray]:
    path = (
        Path(__file__).resolve().parents[1]
        / "tests"
        / "fixtures"
        / "american"
        / f"american_reference_{name}.npz"
    )
    with np.load(path) as f:
        return {k.split("_", 1)[1]: f[k] for k in f.files}


def greeks_table() -> None:
    """American Greeks (``greeks(..., style="american")``) on the 2,000-option wide grid against
    central differences of QuantLib QdFp high precision (wideqd0/1; theta: wideth0/1, over the
    expiry date) and, for delta and gamma, QuantLib's FD engine at 1500 x 1500 (widefd0/1).

    Rows: where the reference stencil stays clear of the exercise boundary (the bumped QdFp
    prices more than 1e-6 x K above intrinsic) and the Greek is material (its dollar effect for
    a 1% move of its input, 1 bp for rate, above 1e-6 x K).  Relative error there, and the rows
    failing ``|err| <= 1e-4 |ref| + floor`` with the floor the Greek whose effect is 1e-6 x K.
    """
    g = _load("wide")
    qd = {
        k: np.concatenate([_load("wideqd0")[k], _load("wideqd1")[k]])
        for k in _load("wideqd0")
        if "_" not in k
    }
    for k in ("qd_price", "qd_up", "qd_dn"):
        qd[k] = np.concatenate([_load("wideqd0")[k], _load("wideqd1")[k]])
    qd["theta"] = np.concatenate([_load("wideth0")["theta"], _load("wideth1")["theta"]])
    fd = {k: np.concatenate([_load("widefd0")[k], _load("widefd1")[k]]) for k in ("delta", "gamma")}
    spot, strike, days, w = g["spot"], g["strike"], g["days"], g["w"]
    t0 = time.perf_counter()
    ours = greeks(spot, strike, days / 365.0, g["rate"], g["vol"], w, g["q"], style="american")
    elapsed = time.perf_counter() - t0
    h = 1e-3 * spot
    margin = 1e-6 * strike

    def intrinsic(s):
        return np.maximum(w * (s - strike), 0.0)

    clean = (
        (qd["qd_up"] > intrinsic(spot + h) + margin)
        & (qd["qd_dn"] > intrinsic(spot - h) + margin)
        & (qd["qd_price"] > intrinsic(spot) + margin)
    )
    move = {"delta": 0.01 * spot, "gamma": 0.5 * (0.01 * spot) ** 2, "theta": 0.01 * days / 365.0}
    move |= {"vega": 0.01 * g["vol"], "rho": np.full(spot.shape, 1e-4)}
    print(
        f"American Greeks, wide grid ({spot.size} options, {elapsed:.2f} s): error vs QdFp high-precision differences"
    )
    print(
        f"{'greek':<7}{'rows':>6}{'max rel':>10}{'99th pct':>10}{'<= 1e-4':>9}{'fail 1e-4+floor':>17}"
        f"{'QL FD 1500 max rel':>20}"
    )
    for name in ("delta", "gamma", "theta", "vega", "rho"):
        ref, got = qd[name], ours[name]
        floor = 1e-6 * strike / move[name]
        material = clean & np.isfinite(ref) & (np.abs(ref) > floor)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(got - ref) / np.abs(ref)
        r = rel[material]
        fails = int(np.sum((np.abs(got - ref) > 1e-4 * np.abs(ref) + floor) & clean & np.isfinite(ref)))
        fd_col = (
            f"{np.max(np.abs(fd[name] - ref)[material] / np.abs(ref)[material]):.1e}" if name in fd else "n/a"
        )
        print(
            f"{name:<7}{r.size:>6}{r.max():>10.1e}{np.quantile(r, 0.99):>10.1e}{np.mean(r <= 1e-4):>9.1%}"
            f"{fails:>17}{fd_col:>20}"
        )


if __name__ == "__main__":
    main()
