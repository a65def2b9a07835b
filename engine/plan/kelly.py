"""Position limits from the Kelly criterion, as the plan computes them, and their inputs from a journal.

The plan's ``calculate_personal_position_limits`` uses ``kelly = p - (1 - p) * avg_loss /
avg_win``, i.e. the textbook ``f* = p - q / R`` with ``R = avg_win / avg_loss`` (Kelly 1956;
Thorp 2006, eq. 3 for a bet that loses the whole stake with probability q and wins R times it).
For its inputs (0.892, 0.123, 0.087) this is 0.892 - 0.108 * 0.087 / 0.123 = 0.815610, not the
0.247 the plan prints.  A quarter of it is 0.2039, so the 15% per-strike cap binds.

Caveat stated for the report: ``p - q/R`` assumes the loss is the *whole* stake.  When
``avg_loss`` is a fraction ``a`` of the capital at risk (here 8.7%), the growth-optimal stake
is ``p/a - q/b`` (Thorp 2006, sec. 3), which for these inputs is far above 1 (leverage).  The
plan's formula is kept because it is the plan's rule; the report should not read it as
"optimal".

References
----------
Kelly, J. L. (1956), "A New Interpretation of Information Rate", Bell System Technical Journal.
Thorp, E. O. (2006), "The Kelly Criterion in Blackjack, Sports Betting and the Stock Market",
Handbook of Asset and Liability Management, vol. 1, ch. 9.
"""

from __future__ import annotations

import math

import numpy as np

from engine._validate import VolarbInputError

__all__ = ["kelly_limits", "kelly_inputs_from_journal"]


def _check(value, name: str, lo: float, hi: float | None, lo_open: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise VolarbInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < lo or (lo_open and x == lo) or (hi is not None and x > hi):
        lo_txt = f"> {lo:g}" if lo_open else f">= {lo:g}"
        rng = lo_txt + (f" and <= {hi:g}" if hi is not None else "")
        raise VolarbInputError(f"{name} must be {rng}, got {value!r}")
    return x


def kelly_limits(
    win_prob,
    avg_win,
    avg_loss,
    fraction=0.25,
    cap=0.15,
    *,
    max_strategy_allocation=1.0,
    max_monthly_addition=0.20,
    emergency_reserve=0.05,
) -> dict:
    """The plan's position limits: full and fractional Kelly, the per-strike cap, other limits.

    Parameters
    ----------
    win_prob : float
        Probability a trade wins, in [0, 1].
    avg_win, avg_loss : float
        Average win and average loss as fractions of the capital at risk (> 0).
    fraction : float
        Share of full Kelly used (plan: 0.25).
    cap : float
        Maximum share of the portfolio in one strike (plan: 0.15).
    max_strategy_allocation, max_monthly_addition, emergency_reserve : float
        The plan's other limits, returned as given (1.0, 0.20, 0.05).

    Returns
    -------
    dict
        ``full_kelly = p - (1 - p) * avg_loss / avg_win`` (raw, may be negative: then the bet
        has negative edge and Kelly says do not bet); ``fractional_kelly = fraction *
        max(full_kelly, 0)``; ``max_single_strike = min(fractional_kelly, cap)``; the three
        other limits.

    Raises
    ------
    VolarbInputError
        An input outside its range (message names it).

    References
    ----------
    Kelly (1956); Thorp (2006), eq. 3; the plan, ``calculate_personal_position_limits``.

    Examples
    --------
    >>> out = kelly_limits(0.892, 0.123, 0.087)
    >>> round(out["full_kelly"], 6), round(out["fractional_kelly"], 6), out["max_single_strike"]
    (0.81561, 0.203902, 0.15)
    """
    p = _check(win_prob, "win_prob", 0.0, 1.0)
    w = _check(avg_win, "avg_win", 0.0, None, lo_open=True)
    a = _check(avg_loss, "avg_loss", 0.0, None, lo_open=True)
    f = _check(fraction, "fraction", 0.0, 1.0)
    c = _check(cap, "cap", 0.0, 1.0)
    full = p - (1.0 - p) * a / w
    frac = f * max(full, 0.0)
    return {
        "full_kelly": full,
        "fractional_kelly": frac,
        "max_single_strike": min(frac, c),
        "max_strategy_allocation": _check(max_strategy_allocation, "max_strategy_allocation", 0.0, 1.0),
        "max_monthly_addition": _check(max_monthly_addition, "max_monthly_addition", 0.0, 1.0),
        "emergency_reserve": _check(emergency_reserve, "emergency_reserve", 0.0, 1.0),
    }


def kelly_inputs_from_journal(journal) -> dict:
    """Win probability, average win and average loss from a journal of closed trades.

    Parameters
    ----------
    journal : pandas.DataFrame
        One row per closed trade with either ``return`` (P&L as a fraction of capital at risk)
        or ``pnl`` ($) and ``capital_at_risk`` ($, > 0).  ``return`` wins when both are given.
        A trade journal (it has an ``action`` column, as ``volarb import`` writes) may leave
        ``pnl`` blank on lines that close nothing; those lines are not trades and are skipped.

    Returns
    -------
    dict
        ``win_prob`` = wins / trades (a win is return > 0; a break-even trade, return == 0,
        counts as a trade that did not win and as a loss of 0); ``avg_win`` = mean return of the
        wins; ``avg_loss`` = mean of -return over the non-wins (a positive fraction);
        ``n_trades``, ``n_wins``, ``n_losses``.  ``avg_win`` is NaN when there is no win,
        ``avg_loss`` NaN when there is no loss, all three NaN for an empty journal
        (:func:`kelly_limits` then refuses them).

    Raises
    ------
    VolarbInputError
        Missing columns; a non-numeric value or capital_at_risk <= 0 (message names the row).

    Examples
    --------
    >>> import pandas as pd
    >>> j = pd.DataFrame({"pnl": [120.0, 80.0, -50.0, 100.0], "capital_at_risk": [1000.0] * 4})
    >>> out = kelly_inputs_from_journal(j)
    >>> out["win_prob"], round(out["avg_win"], 4), round(out["avg_loss"], 4)
    (0.75, 0.1, 0.05)
    """
    import pandas as pd

    if not isinstance(journal, pd.DataFrame):
        raise VolarbInputError(f"journal must be a pandas DataFrame, got {type(journal).__name__}")
    if "return" in journal.columns:
        r = pd.to_numeric(journal["return"], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(r)
        if bad.any():
            i = int(np.argmax(bad))
            raise VolarbInputError(
                f"journal row {i}, column 'return': expected a number, got {journal['return'].tolist()[i]!r}"
            )
    elif {"pnl", "capital_at_risk"} <= set(journal.columns):
        if "action" in journal.columns:
            # a trade journal (volarb import): only the closing lines carry a P&L; openings are blank
            blank = journal["pnl"].map(lambda v: v is None or str(v).strip() in ("", "nan"))
            journal = journal[~blank.to_numpy()]
        pnl = pd.to_numeric(journal["pnl"], errors="coerce").to_numpy(dtype=float)
        car = pd.to_numeric(journal["capital_at_risk"], errors="coerce").to_numpy(dtype=float)
        for name, arr, positive in (("pnl", pnl, False), ("capital_at_risk", car, True)):
            bad = ~np.isfinite(arr) | ((arr <= 0) if positive else False)
            if np.any(bad):
                i = int(np.argmax(bad))
                rule = "a number > 0" if positive else "a number"
                raise VolarbInputError(
                    f"journal row {i}, column {name!r}: expected {rule}, got {journal[name].tolist()[i]!r}"
                )
        r = pnl / car
    else:
        raise VolarbInputError(
            f"journal must have a 'return' column or 'pnl' and 'capital_at_risk' columns; it has {list(journal.columns)}"
        )
    n = len(r)
    wins = r > 0
    nw = int(wins.sum())
    nl = n - nw
    return {
        "win_prob": nw / n if n else math.nan,
        "avg_win": float(r[wins].mean()) if nw else math.nan,
        "avg_loss": float(-r[~wins].mean()) if nl else math.nan,
        "n_trades": n,
        "n_wins": nw,
        "n_losses": nl,
    }
