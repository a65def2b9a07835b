"""Generate engine/pricing/american_start.npz: the Newton start table of engine.pricing.american.

For a put with strike 1 and expiry 1 (the boundary at ``tau_k / T`` of any put depends only on
``sigma^2 T``, ``rT`` and ``qT``: scale time by ``T``, prices by ``K``), on the regular grid
:data:`engine.pricing.american.START_AXES` of ``(ln sigma^2 T, ln rT, log2(1 + q / r))``,
:func:`engine.pricing.american.start_cells` solves the kernel's own collocation equations at
``START_N`` nodes to 1e-11 in ``ln B``; the table stores ``ln(B / K)`` at the nodes (float32; NaN
where the iteration did not converge: options in those cells start from QD+).  It is only a
start: the kernel still iterates every option to its own tolerance (tests/pricing/test_american.py
checks the prices against the QD+ start).

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


def table() -> np.ndarray:
    """``ln(B / K)`` at the ``START_N`` nodes on the ``START_AXES`` grid, ``(*counts, START_N)``."""
    axes = [x0 + h * np.arange(cnt) for x0, h, cnt in am.START_AXES]
    g1, g2, g3 = np.meshgrid(*axes, indexing="ij")
    rt = np.exp(g2.ravel())
    out = am.start_cells(np.exp(g1.ravel()), rt, (np.exp2(g3.ravel()) - 1.0) * rt)
    return out.reshape(*g1.shape, am.START_N).astype(np.float32)


def main() -> None:
    tab = table()
    print(f"n{am.START_N}: {tab.shape}, {np.isnan(tab[..., 0]).sum()} cells without a converged value")
    np.savez_compressed(am._START_FILE, **{f"n{am.START_N}": tab})
    print(f"wrote {am._START_FILE}")


if __name__ == "__main__":
    main()
