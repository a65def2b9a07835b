"""Generate the American reference data of tests/pricing/test_american_reference.py (QuantLib, seeded grids).

Grids (numpy ``default_rng`` seeds fixed here; t = days / 365, flat curves, Actual/365 Fixed):

``plan``    spot 3.15, strikes 0.5-10, 1-730 days, vol 0.5-6, r 0-8%, q 0-5%, puts and calls:
            QuantLib ``QdFpAmericanEngine`` high-precision scheme (price).
``wide``    spot 100, strikes 50-200, 1 day-5 years, vol 0.02-1.5 (log-uniform), r -2%..10%,
            q 0-8%, puts and calls: QdFp high precision (price; vega and rho of the first 500
            rows by central differences of it, bumps 1e-4 vol and 1e-5 rate) and QuantLib's finite-difference
            engine ``FdBlackScholesVanillaEngine`` (``tGrid = xGrid = 1500``, 4 damping steps) for
            delta and gamma (files ``widefd0``/``widefd1``: the two halves of the grid); theta (instantaneous, per year) from that engine's price, delta and
            gamma through the Black-Scholes PDE ``theta = rV - (r - q) S delta - sigma^2 S^2 gamma / 2``
            (0 inside the exercise region; QuantLib's own FD theta is a forward difference over
            ~one day, a different quantity).
``double``  the double-boundary region: puts with ``q < r < 0`` and calls with ``r < q < 0``,
            spot 100, strikes 60-160, 7 days-3 years, vol 0.1-0.8, 120 options: QuantLib's FD engine at
            ``tGrid = xGrid = 1000, 2000, 4000`` extrapolated by Aitken's delta-squared (its
            convergence is about first order here; the 4000 value where the three are not monotone).

Run ``python tools/gen_american_reference.py [plan wide widefd0 widefd1 double]`` from the repository root
(about 30 minutes on one core for all three); it rewrites ``tests/fixtures/american/american_reference_<grid>.npz``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "tests" / "fixtures" / "american"


def grids() -> dict[str, dict[str, np.ndarray]]:
    """The three seeded grids (columns spot, strike, days, rate, vol, q, w)."""
    out = {}
    rng = np.random.default_rng(20261201)
    n = 2000
    out["plan"] = dict(
        spot=np.full(n, 3.15),
        strike=rng.uniform(0.5, 10, n),
        days=rng.integers(1, 731, n).astype(float),
        rate=rng.uniform(0, 0.08, n),
        vol=rng.uniform(0.5, 6.0, n),
        q=rng.uniform(0, 0.05, n),
        w=rng.choice([-1.0, 1.0], n),
    )
    rng = np.random.default_rng(20261202)
    out["wide"] = dict(
        spot=np.full(n, 100.0),
        strike=rng.uniform(50, 200, n),
        days=rng.integers(1, 5 * 365 + 1, n).astype(float),
        rate=rng.uniform(-0.02, 0.10, n),
        vol=np.exp(rng.uniform(np.log(0.02), np.log(1.5), n)),
        q=rng.uniform(0, 0.08, n),
        w=rng.choice([-1.0, 1.0], n),
    )
    rng = np.random.default_rng(20261203)
    m = 120
    w = rng.choice([-1.0, 1.0], m)
    hi = rng.uniform(-0.03, -0.002, m)  # the put-side rate (r for puts, q for calls)
    lo = hi - rng.uniform(0.005, 0.05, m)
    out["double"] = dict(
        spot=np.full(m, 100.0),
        strike=rng.uniform(60, 160, m),
        days=rng.integers(7, 3 * 365 + 1, m).astype(float),
        rate=np.where(w < 0, hi, lo),
        vol=rng.uniform(0.1, 0.8, m),
        q=np.where(w < 0, lo, hi),
        w=w,
    )
    # the wide grid's finite-difference Greeks, in two halves (two processes can share the work)
    half = n // 2
    for j, sl in enumerate((slice(0, half), slice(half, n))):
        out[f"widefd{j}"] = {c: a[sl] for c, a in out["wide"].items()}
    return out


FD_GRID = 1500  # tGrid = xGrid of QuantLib's FD engine for the wide grid's Greeks
N_VEGA_RHO = 500  # rows of the wide grid with QdFp vega and rho (NaN after: four more QdFp runs each)


def main() -> None:
    import QuantLib as ql

    today = ql.Date(2, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    s_q, r_q, q_q, v_q = (ql.SimpleQuote(0.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(s_q),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(q_q), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(r_q), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(v_q), dc)
        ),
    )
    qdfp = ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.highPrecisionScheme())

    def option(k, days, w):
        return ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if w > 0 else ql.Option.Put, float(k)),
            ql.AmericanExercise(today, today + int(days)),
        )

    def setq(s, r, v, q):
        s_q.setValue(float(s))
        r_q.setValue(float(r))
        v_q.setValue(float(v))
        q_q.setValue(float(q))

    def qd_price(o, s, r, v, q):
        setq(s, r, v, q)
        return o.NPV()

    wanted = sys.argv[1:] or ["plan", "wide", "widefd0", "widefd1", "double"]
    for name, g in grids().items():
        if name not in wanted:
            continue
        data = {}
        for col, arr in g.items():
            data[f"{name}_{col}"] = arr
        rows = list(zip(*(g[c] for c in ("spot", "strike", "days", "rate", "vol", "q", "w")), strict=True))
        if name in ("plan", "wide"):
            price = np.empty(len(rows))
            extra = {k: np.full(len(rows), np.nan) for k in ("vega", "rho")}
            for i, (s, k, d, r, v, q, w) in enumerate(rows):
                o = option(k, d, w)
                o.setPricingEngine(qdfp)
                price[i] = qd_price(o, s, r, v, q)
                if name == "wide" and i < N_VEGA_RHO:
                    hv, hr = 1e-4, 1e-5
                    extra["vega"][i] = (qd_price(o, s, r, v + hv, q) - qd_price(o, s, r, v - hv, q)) / (
                        2 * hv
                    )
                    extra["rho"][i] = (qd_price(o, s, r + hr, v, q) - qd_price(o, s, r - hr, v, q)) / (2 * hr)
                if i % 200 == 0:
                    print(name, i, file=sys.stderr, flush=True)
            data[f"{name}_price"] = price
            if name == "wide":
                for k, arr in extra.items():
                    data[f"{name}_{k}"] = arr
        elif name.startswith("widefd"):
            extra = {k: np.full(len(rows), np.nan) for k in ("fd_price", "delta", "gamma", "theta")}
            for i, (s, k, d, r, v, q, w) in enumerate(rows):
                o = option(k, d, w)
                setq(s, r, v, q)
                o.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, FD_GRID, FD_GRID, 4))
                fv, fdl, fg = o.NPV(), o.delta(), o.gamma()
                extra["fd_price"][i], extra["delta"][i], extra["gamma"][i] = fv, fdl, fg
                # inside the exercise region V = intrinsic and theta = 0 (the PDE does not hold)
                exercised = fv <= max(w * (s - k), 0.0) + 1e-9 * k
                extra["theta"][i] = (
                    0.0 if exercised else r * fv - (r - q) * s * fdl - 0.5 * v * v * s * s * fg
                )
                if i % 100 == 0:
                    print(name, i, file=sys.stderr, flush=True)
            for k, arr in extra.items():
                data[f"{name}_{k}"] = arr
        else:
            price = np.empty(len(rows))
            levels = np.empty((len(rows), 3))
            for i, (s, k, d, r, v, q, w) in enumerate(rows):
                o = option(k, d, w)
                setq(s, r, v, q)
                p = []
                for n in (1000, 2000, 4000):
                    o.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, n, n, 4))
                    p.append(o.NPV())
                levels[i] = p
                d1, d2 = p[1] - p[0], p[2] - p[1]
                den = d1 - d2
                ok = d1 * d2 > 0 and abs(d2) < abs(d1) and den != 0
                # Aitken: the geometric tail d2 (r + r^2 + ...) with r = d2 / d1 added to p[2]
                price[i] = p[2] + d2 * d2 / den if ok else p[2]
                if i % 20 == 0:
                    print(name, i, file=sys.stderr, flush=True)
            data[f"{name}_price"] = price
            data[f"{name}_fd_levels"] = levels
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        out = OUT_DIR / f"american_reference_{name}.npz"
        np.savez_compressed(out, **data)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
