"""Implied-vol history: reading the IV CSV, IV rank and IV percentile.

Definitions (over the last ``window`` observations, the current one included):

* IV rank = ``100 (iv_now - min) / (max - min)`` (0 when max == min);
* IV percentile = ``100 x (number of observations strictly below iv_now) / (n - 1)``, the
  share of the *other* days in the window with a lower IV (the definition used by most
  broker platforms: 99 means IV was lower on 99% of the days).

With fewer than ``min_periods`` observations both are NaN (empyrical convention: too little
data gives NaN, never a made-up number).

The example file ``engine/data/example_iv_history.csv`` is synthetic (see
:func:`generate_example_iv_history`, which regenerates it exactly): 300 trading days of an
OU process in log IV ending at the plan's 425%, which sits at its 99th percentile.

References
----------
Natenberg, S. *Option Volatility and Pricing*, 2nd ed., ch. 20 (implied volatility ranking);
Cboe/tastytrade glossary "IV Rank" and "IV Percentile".
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np

from engine._validate import VolarbInputError

__all__ = [
    "IVHistoryError",
    "read_iv_history",
    "iv_rank_percentile",
    "iv_percentile_series",
    "example_iv_history",
    "generate_example_iv_history",
]


class IVHistoryError(VolarbInputError):
    """A bad IV-history file or argument (message names the file, line and column)."""


def read_iv_history(path_or_frame):
    """Read and validate an IV history: columns ``date`` (YYYY-MM-DD) and ``iv`` (decimal).

    Returns
    -------
    pandas.DataFrame
        ``date`` (datetime.date, strictly increasing) and ``iv`` (float, 0 < iv <= 20).

    Raises
    ------
    IVHistoryError
        Missing file/column, an unparsable date, an IV that is not a positive decimal (a value
        above 20 is reported as "looks like a percentage"), dates out of order.

    Examples
    --------
    >>> import pandas as pd
    >>> read_iv_history(pd.DataFrame({"date": ["2025-09-25", "2025-09-26"], "iv": [4.0, 4.25]}))["iv"].tolist()
    [4.0, 4.25]
    """
    import datetime as _dt

    import pandas as pd

    from engine.data.tables import read_text_table

    df, src = read_text_table(
        path_or_frame, "IV history", IVHistoryError, ("date", "iv"), "'date' and 'iv'", blanks_as_text=False
    )
    dates, ivs = [], []
    for i, (d, v) in enumerate(zip(df["date"], df["iv"], strict=True)):
        line = i + 2
        try:
            dates.append(d if isinstance(d, _dt.date) else _dt.date.fromisoformat(str(d).strip()))
        except ValueError:
            raise IVHistoryError(
                f"{src}, line {line}, column 'date': expected YYYY-MM-DD, got {d!r}"
            ) from None
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = float("nan")
        if not (math.isfinite(x) and x > 0):
            raise IVHistoryError(
                f"{src}, line {line}, column 'iv': expected a positive decimal vol (4.25 = 425%), got {v!r}"
            )
        if x > 20:
            raise IVHistoryError(
                f"{src}, line {line}, column 'iv': {v!r} looks like a percentage; give a decimal (4.25 = 425%)"
            )
        ivs.append(x)
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            raise IVHistoryError(f"{src}, line {i + 2}, column 'date': dates must be strictly increasing")
    return pd.DataFrame({"date": dates, "iv": ivs})


def iv_rank_percentile(
    history, current_iv: float | None = None, window: int = 252, min_periods: int = 20
) -> dict:
    """IV rank and IV percentile of the current IV within the last ``window`` observations.

    Parameters
    ----------
    history : array_like or pandas.DataFrame
        IV observations in date order (decimal), or a frame with an ``iv`` column.
    current_iv : float, optional
        Today's IV; when given it is appended as the last observation, otherwise the last
        history value is "today".
    window : int
        Observations in the look-back window, today included (252 trading days by default).
    min_periods : int
        Fewer observations than this give NaN.

    Returns
    -------
    dict
        ``iv_rank`` and ``iv_percentile`` (0-100, NaN for too little data), ``current_iv``,
        ``low``, ``high`` and ``observations`` (the window actually used).

    References
    ----------
    Natenberg (2015), ch. 20.

    Examples
    --------
    Window 1.0, 2.0, 3.0, 4.0, today 2.5: rank (2.5-1)/(4-1) = 50%; two of the four other
    days are below 2.5, percentile 50%.

    >>> r = iv_rank_percentile([1.0, 2.0, 3.0, 4.0], current_iv=2.5, min_periods=2)
    >>> r["iv_rank"], r["iv_percentile"]
    (50.0, 50.0)
    """
    if window < 2:
        raise IVHistoryError(f"window must be >= 2, got {window!r}")
    if hasattr(history, "columns"):
        values = np.asarray(history["iv"], dtype=float)
    else:
        values = np.asarray(history, dtype=float).reshape(-1)
    if current_iv is not None:
        values = np.append(values, float(current_iv))
    values = values[np.isfinite(values)][-window:]
    n = values.size
    nan = float("nan")
    if n < max(min_periods, 2):
        return {
            "iv_rank": nan,
            "iv_percentile": nan,
            "current_iv": float(values[-1]) if n else nan,
            "low": nan,
            "high": nan,
            "observations": int(n),
        }
    cur = float(values[-1])
    lo, hi = float(values.min()), float(values.max())
    rank = 0.0 if hi == lo else 100.0 * (cur - lo) / (hi - lo)
    pct = 100.0 * float(np.sum(values[:-1] < cur)) / (n - 1)
    return {
        "iv_rank": rank,
        "iv_percentile": pct,
        "current_iv": cur,
        "low": lo,
        "high": hi,
        "observations": int(n),
    }


def iv_percentile_series(history, window: int = 252, min_periods: int = 20) -> np.ndarray:
    """IV percentile of every day against its own trailing window (NaN before ``min_periods``).

    >>> iv_percentile_series([1.0, 3.0, 2.0, 4.0], window=3, min_periods=2).tolist()
    [nan, 100.0, 50.0, 100.0]
    """
    values = np.asarray(history["iv"] if hasattr(history, "columns") else history, dtype=float)
    out = np.full(values.size, np.nan)
    for i in range(values.size):
        out[i] = iv_rank_percentile(values[: i + 1], window=window, min_periods=min_periods)["iv_percentile"]
    return out


def generate_example_iv_history(seed: int = 20250927, days: int = 300):
    """The synthetic example history (OU in log IV around 250%, ending at 425%).

    Trading days are business days (Mon-Fri) ending 2025-09-26; ``ln iv`` follows
    ``x_{t+1} = m + (x_t - m) e^{-k} + s z`` with ``m = ln 2.5``, ``k = 0.02``, ``s = 0.06``,
    capped at 4.10, with two days at 4.40 and 4.50 sixty days back and the last value set to
    4.25 (the plan's figure): today is at the 99th percentile (249 of 251 days lower).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    m, k, s = math.log(2.5), 0.02, 0.06
    x = np.empty(days)
    x[0] = m
    z = rng.standard_normal(days)
    for i in range(1, days):
        x[i] = m + (x[i - 1] - m) * math.exp(-k) + s * z[i]
    iv = np.round(np.minimum(np.exp(x), 4.10), 4)
    iv[-61], iv[-60] = 4.40, 4.50  # the spike of early July: two days above today's IV
    iv[-1] = 4.25
    dates = pd.bdate_range(end="2025-09-26", periods=days).date
    return pd.DataFrame({"date": [d.isoformat() for d in dates], "iv": iv})


def example_iv_history():
    """The built-in example IV history (``engine/data/example_iv_history.csv``).

    >>> r = iv_rank_percentile(example_iv_history())
    >>> round(r["iv_rank"], 2), round(r["iv_percentile"], 2), r["observations"]
    (92.12, 99.2, 252)
    """
    path = resources.files("engine") / "data" / "example_iv_history.csv"
    with resources.as_file(path) as p:
        return read_iv_history(p)
