"""volarb engine: option pricing and the short-put plan, in pure numpy/scipy/pandas.

Public API (one parameter order everywhere: spot, strike, t, rate, vol, kind, q):

* :func:`bs_price`, :func:`american_price`, :func:`greeks`, :func:`implied_vol`,
  :func:`prob_itm` - pricing core (see :mod:`engine.black` for the glossary and units).
* :mod:`engine.units` - per-day theta and per-vol-point vega conversions for display.

This package never imports xlwings or openpyxl (a test enforces it).
"""

from engine._validate import VolarbInputError, parse_kind
from engine.american import american_price
from engine.black import bs_price, prob_itm
from engine.greeks import GREEK_NAMES, greeks
from engine.impliedvol import IVResult, IVStatus, implied_vol, iv_status_message
from engine.units import DAYS_PER_YEAR, days_to_years, theta_per_day, vega_per_point

__version__ = "0.1.0"

__all__ = [
    "VolarbInputError", "parse_kind", "bs_price", "american_price", "greeks", "GREEK_NAMES",
    "implied_vol", "IVResult", "IVStatus", "iv_status_message", "prob_itm", "DAYS_PER_YEAR", "days_to_years", "theta_per_day",
    "vega_per_point", "__version__",
]
