"""Capital tied up by one short option contract, under the three capital models of the plan.

The plan sizes every short put with ``contracts = int(capital / (premium * 100))``: it treats
the premium *received* as the capital *spent*, which no broker does.  This module holds that
literal model beside the two a broker would actually apply:

``"premium"``
    The plan's literal formula: ``premium * multiplier`` per contract.  It is kept only so the
    report can show the plan's numbers next to the real ones; a short put consumes no cash at
    sale (the premium is credited), so this is not a requirement of any account.
``"cash_secured"``
    Cash to buy the shares on assignment, net of the premium received:
    ``(strike - premium) * multiplier``.
``"reg_t"``
    The CBOE / FINRA minimum for an uncovered (naked) equity option: 100% of the option's
    premium plus 20% of the underlying value less the out-of-the-money amount, but not less than
    the premium plus 10% of the strike (puts) or of the underlying value (calls); plus an
    optional broker house add-on as a share of the underlying value.

References
----------
CBOE Margin Manual (2000), "Short Put / Short Call - Uncovered", and CBOE Rule 10.3(c)(5)(A).
FINRA Rule 4210(f)(2)(G)(iii)-(iv) (margin on uncovered listed equity options).
"""

from __future__ import annotations

import numpy as np

from engine._validate import VolarbInputError, finish, prepare
from engine.config import CapitalConfig

__all__ = ["CAPITAL_MODELS", "capital_per_contract", "check_model"]

CAPITAL_MODELS = ("premium", "cash_secured", "reg_t")


def check_model(model: str, where: str = "model") -> str:
    """Return ``model`` if it is one of :data:`CAPITAL_MODELS`, else raise naming ``where``.

    >>> check_model("reg_t")
    'reg_t'
    """
    if model not in CAPITAL_MODELS:
        raise VolarbInputError(f"{where} must be one of {', '.join(map(repr, CAPITAL_MODELS))}, got {model!r}")
    return model


def capital_per_contract(model, spot, strike, premium, kind="put", capital: CapitalConfig = CapitalConfig()):
    """Capital required by one short option contract, $ per contract.

    Parameters
    ----------
    model : {"premium", "cash_secured", "reg_t"}
        Capital model (see the module docstring).
    spot : array_like
        Underlying price, $ per share, > 0.
    strike : array_like
        Strike, $ per share, > 0.
    premium : array_like
        Option premium received, $ per share, >= 0.
    kind : str or array_like
        "put"/"call" ("P"/"C" or -1/+1).
    capital : CapitalConfig
        ``reg_t_underlying_pct`` (20%), ``reg_t_minimum_pct`` (10%), ``house_addon_pct`` (0%)
        and ``contract_multiplier`` (100 shares).

    Returns
    -------
    float or ndarray
        $ per contract: ``premium*m`` ("premium"), ``(strike - premium)*m`` ("cash_secured"),
        ``(premium + max(0.20*spot - otm, 0.10*base) + addon*spot)*m`` ("reg_t") with
        ``otm = max(spot - strike, 0)`` and ``base = strike`` for puts, ``otm = max(strike -
        spot, 0)`` and ``base = spot`` for calls (FINRA 4210(f)(2)(G)(iv) minimum).  A float
        for scalar input; NaN for a bad element of an array.  "cash_secured" is defined for
        puts only (a call gives NaN, or an error for a scalar call).

    Raises
    ------
    VolarbInputError
        Unknown model; a scalar argument breaking its rule.

    References
    ----------
    CBOE Margin Manual, uncovered puts and calls; FINRA Rule 4210(f)(2)(G).

    Examples
    --------
    A $2.50 put on a $3.15 stock for $1.15: OTM amount 0.65, 20% of 3.15 is 0.63, so the
    10%-of-strike minimum (0.25) applies: (1.15 + 0.25) * 100 = $140.

    >>> round(capital_per_contract("reg_t", 3.15, 2.50, 1.15), 6)
    140.0
    >>> round(capital_per_contract("cash_secured", 3.15, 2.50, 1.15), 6)
    135.0
    >>> round(capital_per_contract("premium", 3.15, 2.50, 1.15), 6)
    115.0
    """
    check_model(model)
    a, bad, scalar = prepare(spot=spot, strike=strike, price=premium, kind=kind)
    s, k, p, w = a["spot"], a["strike"], a["price"], a["kind"]
    m = float(capital.contract_multiplier)
    if model == "premium":
        out = p * m
    elif model == "cash_secured":
        if scalar and w.reshape(-1)[0] > 0:
            raise VolarbInputError("kind must be 'put' for the cash_secured model (a short call is not cash-secured), got 'call'")
        bad = bad | (w > 0)
        out = (k - p) * m
    else:
        otm = np.where(w < 0, np.maximum(s - k, 0.0), np.maximum(k - s, 0.0))
        base = np.where(w < 0, k, s)
        req = np.maximum(capital.reg_t_underlying_pct * s - otm, capital.reg_t_minimum_pct * base)
        out = (p + req + capital.house_addon_pct * s) * m
    return finish(out, bad, scalar)
