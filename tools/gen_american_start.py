"""Generate engine/pricing/american_start.npz: the Newton start table of engine.pricing.american.

For a put with strike 1 and expiry 1 (the boundary at ``tau_k / T`` of any put depends only on
``sigma^2 T``, ``rT`` and ``qT``: scale time by ``T``, prices by ``K``), on the regular grid
:data:`engine.pricing.american.START_AXES` of ``(ln sigma^2 T, ln rT, log2(1 + q / r))``, the
kernel's own collocation equations (the ``n``-node scheme the kernel would pick there: FP-A where
``kappa = 2 max(r, q) / sigma^2 <= 2``, else FP-B; ``l = 8`` fixed-point points) are solved from
the QD+ start to 1e-11 in ``ln B`` and ``ln(B / K)`` at the nodes is stored (float32; NaN where
the iteration did not converge: those cells fall back to QD+).  Only a start: the kernel still
iterates every option to its own tolerance, so the table moves no price beyond that tolerance
(tests/pricing/test_american.py checks it against the QD+ start).

Run ``python tools/gen_american_start.py`` from the repository root (a few seconds); rerun it
whenever the schemes of engine/pricing/american.py change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine.pricing.american as am  # noqa: E402


def table(n: int) -> np.ndarray:
    """``ln(B / K)`` at the ``n`` nodes on the :data:`START_AXES` grid, shape ``(*counts, n)``."""
    axes = [x0 + h * np.arange(cnt) for x0, h, cnt in am.START_AXES]
    g1, g2, g3 = np.meshgrid(*axes, indexing="ij")
    sig = np.sqrt(np.exp(g1.ravel()))
    r = np.exp(g2.ravel())
    q = (np.exp2(g3.ravel()) - 1.0) * r
    one = np.ones(sig.size)
    fp_a = 2.0 * np.maximum(r, q) / sig**2 <= am._KAPPA_FP_B
    out = np.full((sig.size, n), np.nan)
    am._USE_TABLE = False
    with np.errstate(all="ignore"):
        for a in (True, False):
            sch = am._scheme(n, 8, 24, 60, a, 1e-11)
            idx = np.flatnonzero(fp_a == a)
            for start in range(0, idx.size, am._CHUNK):
                j = idx[start : start + am._CHUNK]
                lnX, H, ok = am._alo_put(
                    one[j], one[j], one[j], r[j], q[j], sig[j], sch, return_boundary=True
                )
                v = lnX[:, None] - np.sqrt(H)
                v[~ok] = np.nan
                out[j] = v
    return out.reshape(*g1.shape, n).astype(np.float32)


def main() -> None:
    tabs = {f"n{am.START_N}": table(am.START_N)}
    for k, v in tabs.items():
        print(f"{k}: {v.shape}, {np.isnan(v[..., 0]).sum()} cells without a converged value")
    np.savez_compressed(am._START_FILE, **tabs)
    print(f"wrote {am._START_FILE}")


if __name__ == "__main__":
    main()
