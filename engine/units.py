"""Named unit conversions for display layers (the engine itself stays in raw units).

Raw engine units: theta per year, vega per 1.00 of vol (i.e. per 100 vol points), rho per
1.00 of rate.  Traders read theta per calendar day and vega per vol point; these helpers are the
only place the factors 365 and 100 live.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DAYS_PER_YEAR", "theta_per_day", "vega_per_point", "rho_per_point", "days_to_years"]

DAYS_PER_YEAR = 365.0  # ACT/365 fixed, used for t everywhere


def theta_per_day(theta_per_year):
    """Theta per calendar day from theta per year (``theta / 365``).

    >>> theta_per_day(-36.5)
    -0.1
    """
    return (
        np.asarray(theta_per_year, dtype=float) / DAYS_PER_YEAR
        if np.ndim(theta_per_year)
        else float(theta_per_year) / DAYS_PER_YEAR
    )


def vega_per_point(vega_per_unit):
    """Vega per vol point (1% of vol) from vega per 1.00 of vol (``vega / 100``).

    >>> vega_per_point(2.5)
    0.025
    """
    return (
        np.asarray(vega_per_unit, dtype=float) / 100.0
        if np.ndim(vega_per_unit)
        else float(vega_per_unit) / 100.0
    )


def rho_per_point(rho_per_unit):
    """Rho per 1% of rate from rho per 1.00 of rate (``rho / 100``)."""
    return (
        np.asarray(rho_per_unit, dtype=float) / 100.0
        if np.ndim(rho_per_unit)
        else float(rho_per_unit) / 100.0
    )


def days_to_years(days):
    """ACT/365 year fraction from a number of calendar days.

    >>> days_to_years(73)
    0.2
    """
    return np.asarray(days, dtype=float) / DAYS_PER_YEAR if np.ndim(days) else float(days) / DAYS_PER_YEAR
