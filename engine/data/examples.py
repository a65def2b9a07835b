"""The built-in example input files: where they are, and how the synthetic ones are made.

Every input volarb reads has an example in ``engine/data`` so that each command runs with no
arguments and ``volarb example`` can copy them for the user to edit:

==================  ===========================  ==================================================
name                file                         what
==================  ===========================  ==================================================
positions           example_positions.csv        the plan's 38 short ASST puts
config              example_config.toml          every config key with its documentation
chain               example_chain.csv            an ASST option chain (:mod:`engine.data.chain`)
iv_history          example_iv_history.csv       300 days of IV (:mod:`engine.data.ivhistory`)
prices              example_prices.csv           300 daily ASST closes (historical VaR)
journal             example_journal.csv          a month of plan trades (weekly review)
equity              example_equity.csv           the account's daily equity over that month
second              example_second.csv           daily bitcoin closes (review correlation)
==================  ===========================  ==================================================

The last four are synthetic and regenerated exactly by the ``generate_*`` functions here
(seeded, or written out by hand), so a test can check the shipped files.  The journal and
equity history are hand-made so that the weekly review can be checked by hand: four weeks of
the plan's ladder (a put bought back at a third of its premium, one expired, one assigned,
two call hedges), a $4,000 deposit on 2025-09-02, a peak of $7,905 on 2025-09-12 and a trough
of $7,388 on the assignment day 2025-09-19.

References
----------
Hull, J. C. *Options, Futures, and Other Derivatives* (2018), ch. 15 (lognormal price paths,
used for the synthetic closes).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "EXAMPLE_FILES",
    "example_path",
    "generate_example_prices",
    "generate_example_second",
    "generate_example_journal",
    "generate_example_equity",
    "write_generated_examples",
]

#: example name -> file name in ``engine/data``
EXAMPLE_FILES: dict[str, str] = {
    "positions": "example_positions.csv",
    "config": "example_config.toml",
    "chain": "example_chain.csv",
    "iv_history": "example_iv_history.csv",
    "prices": "example_prices.csv",
    "journal": "example_journal.csv",
    "equity": "example_equity.csv",
    "second": "example_second.csv",
}


def example_path(name: str) -> Path:
    """Path of a built-in example file by its name in :data:`EXAMPLE_FILES`.

    >>> example_path("journal").name
    'example_journal.csv'
    """
    if name not in EXAMPLE_FILES:
        from engine._validate import VolarbInputError

        raise VolarbInputError(f"unknown example {name!r}; one of {', '.join(EXAMPLE_FILES)}")
    return Path(str(resources.files("engine") / "data" / EXAMPLE_FILES[name]))


def _lognormal_closes(seed: int, days: int, daily_vol: float, last: float) -> np.ndarray:
    """Closes of a driftless lognormal path, scaled so the last close is ``last``, to $0.0001."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(days - 1)
    logp = np.concatenate([[0.0], np.cumsum(daily_vol * z - 0.5 * daily_vol**2)])
    return np.round(last * np.exp(logp - logp[-1]), 4)


def generate_example_prices(seed: int = 20250926, days: int = 300):
    """Synthetic daily ASST closes (``date, close``) on the IV history's 300 business days.

    Driftless lognormal at 250% a year (daily vol ``2.5 / sqrt(252)``), ending at the plan's
    $3.15 on 2025-09-26.

    >>> df = generate_example_prices()
    >>> len(df), df["date"].iloc[-1], float(df["close"].iloc[-1])
    (300, '2025-09-26', 3.15)
    """
    import pandas as pd

    dates = pd.bdate_range(end="2025-09-26", periods=days).date
    closes = _lognormal_closes(seed, days, 2.5 / math.sqrt(252.0), 3.15)
    return pd.DataFrame({"date": [d.isoformat() for d in dates], "close": closes})


def generate_example_second(seed: int = 21000000, days: int = 300):
    """Synthetic daily bitcoin closes (``date, close``), 60% a year, ending at $109,000.

    >>> float(generate_example_second()["close"].iloc[-1])
    109000.0
    """
    import pandas as pd

    dates = pd.bdate_range(end="2025-09-26", periods=days).date
    closes = _lognormal_closes(seed, days, 0.60 / math.sqrt(252.0), 109000.0)
    return pd.DataFrame({"date": [d.isoformat() for d in dates], "close": closes})


_JOURNAL = (
    # date, action, kind, strike, expiry, contracts, price, predicted_prob_itm
    ("2025-08-29", "sell", "put", 2.00, "2025-09-19", 5, 0.50, 0.20),
    ("2025-08-29", "sell", "put", 2.50, "2025-09-19", 5, 0.90, 0.30),
    ("2025-08-29", "sell", "put", 3.00, "2025-09-19", 2, 1.20, 0.45),
    ("2025-08-29", "buy", "call", 4.00, "2025-09-19", 1, 0.80, None),
    ("2025-08-29", "buy", "call", 5.00, "2025-09-19", 1, 0.60, None),
    ("2025-09-10", "buy", "put", 2.50, "2025-09-19", 5, 0.30, None),
    ("2025-09-12", "sell", "call", 4.00, "2025-09-19", 1, 1.30, None),
    ("2025-09-19", "expire", "put", 2.00, "2025-09-19", 5, 0.00, None),
    ("2025-09-19", "assign", "put", 3.00, "2025-09-19", 2, 0.20, None),
    ("2025-09-19", "expire", "call", 5.00, "2025-09-19", 1, 0.00, None),
    ("2025-09-22", "sell", "put", 2.00, "2025-10-17", 10, 0.55, 0.22),
    ("2025-09-22", "sell", "put", 2.50, "2025-10-17", 14, 0.95, 0.33),
    ("2025-09-22", "sell", "put", 3.00, "2025-10-17", 10, 1.25, 0.45),
    ("2025-09-22", "sell", "put", 4.00, "2025-10-17", 2, 1.90, 0.62),
    ("2025-09-22", "sell", "put", 5.00, "2025-10-17", 1, 2.60, 0.74),
    ("2025-09-22", "buy", "call", 6.00, "2025-12-19", 1, 1.10, None),
)

_EQUITY = (
    # date, equity $, contribution $
    ("2025-08-29", 3500.00, 0.0),
    ("2025-09-02", 7560.00, 4000.0),
    ("2025-09-03", 7610.00, 0.0),
    ("2025-09-04", 7585.00, 0.0),
    ("2025-09-05", 7650.00, 0.0),
    ("2025-09-08", 7702.00, 0.0),
    ("2025-09-09", 7688.00, 0.0),
    ("2025-09-10", 7745.00, 0.0),
    ("2025-09-11", 7810.00, 0.0),
    ("2025-09-12", 7905.00, 0.0),
    ("2025-09-15", 7760.00, 0.0),
    ("2025-09-16", 7590.00, 0.0),
    ("2025-09-17", 7475.00, 0.0),
    ("2025-09-18", 7430.00, 0.0),
    ("2025-09-19", 7388.00, 0.0),
    ("2025-09-22", 7460.00, 0.0),
    ("2025-09-23", 7525.00, 0.0),
    ("2025-09-24", 7590.00, 0.0),
    ("2025-09-25", 7560.00, 0.0),
    ("2025-09-26", 7642.00, 0.0),
)


def generate_example_journal():
    """The hand-made example trade journal (see the module docstring and :mod:`engine.risk.review`).

    >>> j = generate_example_journal()
    >>> len(j), sorted(set(j["action"]))
    (16, ['assign', 'buy', 'expire', 'sell'])
    """
    import pandas as pd

    cols = ["date", "action", "kind", "strike", "expiry", "contracts", "price", "predicted_prob_itm"]
    return pd.DataFrame(list(_JOURNAL), columns=cols)


def generate_example_equity():
    """The hand-made example daily equity history (``date, equity, contribution``).

    >>> e = generate_example_equity()
    >>> len(e), float(e["equity"].max()), float(e["contribution"].sum())
    (20, 7905.0, 4000.0)
    """
    import pandas as pd

    return pd.DataFrame(list(_EQUITY), columns=["date", "equity", "contribution"])


def write_generated_examples(folder: str | Path) -> list[Path]:
    """Write the four synthetic example files into ``folder`` (how ``engine/data`` got them).

    Returns the paths written.
    """
    folder = Path(folder)
    out = []
    for name, frame, fmt in (
        ("prices", generate_example_prices(), "%.4f"),
        ("second", generate_example_second(), "%.2f"),
        ("journal", generate_example_journal(), "%.2f"),
        ("equity", generate_example_equity(), "%.2f"),
    ):
        path = folder / EXAMPLE_FILES[name]
        frame.to_csv(path, index=False, float_format=fmt, lineterminator="\n")
        out.append(path)
    return out
