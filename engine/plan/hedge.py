"""Call hedges: the plan's dynamic hedge ratio and its 1.5x/2x/3x call ladder.

* :func:`hedge_ratio` - ``calculate_optimal_hedge_ratio``: base 20%, x1.3 when the IV
  percentile is above 95, x1.5 when the squeeze probability is above 0.4, x1.2 when the
  portfolio is above $50,000, capped at 35% (all thresholds strict ``>`` as in the plan).  For
  the plan's inputs (3792, 99, 0.45) the product is 0.2 * 1.3 * 1.5 = 0.39, capped to 0.35; the
  plan's comment "~34%" is wrong.
* :func:`hedge_ladder` - ``select_optimal_hedge_strikes``: calls at 1.5x/2x/3x spot with
  40/35/25% of the budget and 90/120/150 days, priced by the core, whole contracts.
* :func:`plan_month1_hedge` - the plan's month-1 hedge block ($413) beside its own rule.

Money in $; option prices $ per share; costs $ (x100 per contract).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np

from engine._validate import VolarbInputError
from engine.config import HedgeConfig, HedgeRung, PlanConfig
from engine.pricing.american import american_price
from engine.pricing.black import bs_price
from engine.units import days_to_years

__all__ = ["hedge_ratio", "hedge_ladder", "round_strike", "plan_month1_hedge", "PLAN_MONTH1_HEDGE"]

#: The plan's printed month-1 hedge positions (strike $, quantity, cost $, dte).
PLAN_MONTH1_HEDGE = ((7.50, 5, 200.0, 90), (10.00, 3, 150.0, 90), (15.00, 1, 63.0, 90))


def _array_arg(value, name: str, lo: float, hi: float | None, scalar: bool) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise VolarbInputError(f"{name} must be a number, got {value!r}") from None
    bad = ~np.isfinite(arr) | (arr < lo) | ((arr > hi) if hi is not None else False)
    if scalar and bool(np.any(bad)):
        rng = f"in [{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
        raise VolarbInputError(f"{name} must be {rng}, got {value!r}")
    return np.where(bad, np.nan, arr)


def hedge_ratio(portfolio_value, iv_percentile, squeeze_probability, hedge: HedgeConfig = HedgeConfig()):
    """The plan's dynamic hedge ratio (share of premium spent on calls).

    ``min(base * m_iv * m_squeeze * m_size, cap)`` where each multiplier applies only when its
    input is strictly above its threshold.

    Parameters
    ----------
    portfolio_value : array_like
        Portfolio value, $ (>= 0).
    iv_percentile : array_like
        IV percentile, 0-100.
    squeeze_probability : array_like
        Probability of a short squeeze, 0-1.
    hedge : HedgeConfig
        The plan's constants (``config.hedge``: ``base_ratio`` 0.20, ``iv_percentile_threshold``
        95, ``iv_multiplier`` 1.3, ``squeeze_threshold`` 0.4, ``squeeze_multiplier`` 1.5,
        ``size_threshold`` $50,000, ``size_multiplier`` 1.2, ``cap`` 0.35).

    Returns
    -------
    float or ndarray
        Hedge ratio; broadcast over the inputs.  In an array call a bad element gives NaN; in
        a scalar call it raises :class:`VolarbInputError`.

    References
    ----------
    The plan, ``calculate_optimal_hedge_ratio``.

    Examples
    --------
    The plan's inputs: 0.2 * 1.3 * 1.5 = 0.39, capped at 0.35 (the plan prints "~34%").

    >>> round(hedge_ratio(3792, 99, 0.45), 6)
    0.35
    >>> hedge_ratio([3792, 3792], [99, 50], [0.3, 0.3]).round(6).tolist()
    [0.26, 0.2]
    """
    scalar = all(np.ndim(x) == 0 for x in (portfolio_value, iv_percentile, squeeze_probability))
    v = _array_arg(portfolio_value, "portfolio_value", 0.0, None, scalar)
    iv = _array_arg(iv_percentile, "iv_percentile", 0.0, 100.0, scalar)
    sq = _array_arg(squeeze_probability, "squeeze_probability", 0.0, 1.0, scalar)
    try:
        v, iv, sq = np.broadcast_arrays(v, iv, sq)
    except ValueError:
        raise VolarbInputError(
            f"arguments cannot be broadcast together: portfolio_value{np.shape(v)}, "
            f"iv_percentile{np.shape(iv)}, squeeze_probability{np.shape(sq)}"
        ) from None
    with np.errstate(invalid="ignore"):
        r = (
            hedge.base_ratio
            * np.where(iv > hedge.iv_percentile_threshold, hedge.iv_multiplier, 1.0)
            * np.where(sq > hedge.squeeze_threshold, hedge.squeeze_multiplier, 1.0)
            * np.where(v > hedge.size_threshold, hedge.size_multiplier, 1.0)
        )
    r = np.where(np.isnan(v) | np.isnan(iv) | np.isnan(sq), np.nan, np.minimum(r, hedge.cap))
    return float(r) if scalar else r


def round_strike(strike, increment: float):
    """Round computed strikes to the nearest listed strike (``increment`` 0 = no rounding).

    >>> round_strike([4.725, 6.30, 9.45], 0.5).tolist()
    [4.5, 6.5, 9.5]
    """
    k = np.asarray(strike, dtype=float)
    if increment <= 0:
        return k
    return np.round(k / increment) * increment


def hedge_ladder(
    budget,
    spot,
    vol,
    rate=0.0,
    q=0.0,
    ladder: Sequence[HedgeRung] = HedgeConfig().ladder,
    valuation_date: _dt.date | None = None,
    strike_increment=0.5,
    style="american",
    *,
    multiplier: int = 100,
):
    """The plan's call-hedge ladder: strikes at multiples of spot, budget shares, whole contracts.

    Parameters
    ----------
    budget : float
        Hedge budget, $ (>= 0).
    spot : float
        Underlying price, $ per share (> 0).
    vol : float
        Implied vol for pricing, annualized decimal.
    rate, q : float
        Continuous risk-free rate and dividend yield.
    ladder : sequence of HedgeRung
        (moneyness, share, dte) per rung; plan: (1.5, 40%, 90), (2.0, 35%, 120), (3.0, 25%, 150).
    valuation_date : datetime.date, optional
        When given, each rung expires on the first listed monthly expiration (third Friday,
        :func:`engine.data.calendar.next_monthly_expiration`) at least ``dte`` days out, and is
        priced and reported with that expiry's actual days; without it, ``dte`` days exactly
        and ``expiry`` None.
    strike_increment : float
        Listed strike spacing, $; strikes are rounded to the nearest multiple (0 = exact
        ``moneyness * spot``, as in the plan's code).
    style : {"american", "european"}
        Pricing: :func:`engine.american_price` or :func:`engine.bs_price`.

    Returns
    -------
    pandas.DataFrame
        ``rung`` (1..), ``moneyness``, ``strike``, ``dte``, ``share``, ``budget`` ($),
        ``price`` ($/share), ``contracts`` (int(budget / (price*100))), ``cost`` ($), ``leftover``
        ($ budget - cost), and ``expiry`` (date or None).

    Raises
    ------
    VolarbInputError
        Negative budget, spot <= 0, negative vol, unknown style, empty ladder.

    References
    ----------
    The plan, ``select_optimal_hedge_strikes``; Hull (2018) ch. 21 for the American price.

    Examples
    --------
    The plan's month-1 budget $413 at 425% vol buys nothing: each call costs over $200.

    >>> df = hedge_ladder(413, 3.15, 4.25, 0.04)
    >>> df["strike"].tolist(), df["contracts"].tolist(), round(float(df["leftover"].sum()), 2)
    ([4.5, 6.5, 9.5], [0, 0, 0], 413.0)
    """
    import pandas as pd

    b = float(budget) if np.ndim(budget) == 0 else np.nan
    if not np.isfinite(b) or b < 0:
        raise VolarbInputError(f"budget must be an amount >= 0 ($), got {budget!r}")
    if not np.isfinite(float(spot)) or float(spot) <= 0:
        raise VolarbInputError(f"spot must be > 0, got {spot!r}")
    if not np.isfinite(float(vol)) or float(vol) < 0:
        raise VolarbInputError(f"vol must be >= 0 (annualized decimal), got {vol!r}")
    if style not in ("american", "european"):
        raise VolarbInputError(f"style must be 'american' or 'european', got {style!r}")
    if len(ladder) == 0:
        raise VolarbInputError("ladder must have at least one rung")
    mny = np.array([r.moneyness for r in ladder], dtype=float)
    share = np.array([r.share for r in ladder], dtype=float)
    dte = np.array([r.dte for r in ladder], dtype=int)
    expiry: list = [None] * len(ladder)
    if valuation_date is not None:
        # order tickets need a contract that is listed: the monthly expiry on or after the target
        from engine.data.calendar import next_monthly_expiration

        expiry = [next_monthly_expiration(valuation_date, min_days=int(d)) for d in dte]
        dte = np.array([(e - valuation_date).days for e in expiry], dtype=int)
    strike = round_strike(mny * float(spot), strike_increment)
    pricer = american_price if style == "american" else bs_price
    price = np.asarray(
        pricer(float(spot), strike, days_to_years(dte), float(rate), float(vol), "call", float(q))
    )
    rung_budget = b * share
    from engine.plan.allocation import whole_contracts

    n = whole_contracts(rung_budget, price * float(multiplier))
    cost = n * price * float(multiplier)
    return pd.DataFrame(
        {
            "rung": np.arange(1, len(ladder) + 1),
            "moneyness": mny,
            "strike": strike,
            "dte": dte,
            "share": share,
            "budget": rung_budget,
            "price": price,
            "contracts": n,
            "cost": cost,
            "leftover": rung_budget - cost,
            "expiry": expiry,
        }
    )


def plan_month1_hedge(config: PlanConfig, premium: float = 2065.0):
    """The plan's month-1 hedge block beside its own 1.5x/2x/3x rule, priced by the core.

    The plan spends 20% of $2,065 = $413 on 5 x $7.50, 3 x $10.00 and 1 x $15.00 calls, all
    90 days, costing $200/$150/$63 (i.e. $0.40/$0.50/$0.63 per share).  Its own rule says
    strikes at 1.5x/2x/3x of $3.15 (about $4.75/$6.30/$9.45) with 40/35/25% of the budget at
    90/120/150 days: the printed strikes are 2.4x/3.2x/4.8x spot, the split is 48/36/15% and
    every rung is 90 days.

    Returns
    -------
    pandas.DataFrame
        ``source`` ("printed" / "rule"), ``strike``, ``moneyness``, ``dte``, ``contracts``,
        ``cost`` ($; printed cost for the printed rows), ``price_per_share_printed``,
        ``model_price`` ($/share, American, config vol), ``model_cost`` ($ for those contracts).

    Examples
    --------
    >>> from engine.config import default_config
    >>> df = plan_month1_hedge(default_config())
    >>> df.loc[df.source == "printed", "moneyness"].round(2).tolist()
    [2.38, 3.17, 4.76]
    """
    import pandas as pd

    m = config.market
    mult = float(config.capital.contract_multiplier)
    budget = premium * config.allocation.call_share
    rows = []
    for k, n, cost, d in PLAN_MONTH1_HEDGE:
        price = float(american_price(m.spot, k, days_to_years(d), m.rate, m.vol, "call", m.dividend_yield))
        rows.append(
            {
                "source": "printed",
                "strike": k,
                "moneyness": k / m.spot,
                "dte": d,
                "contracts": n,
                "cost": cost,
                "price_per_share_printed": cost / (n * mult),
                "model_price": price,
                "model_cost": price * n * mult,
            }
        )
    lad = hedge_ladder(
        budget,
        m.spot,
        m.vol,
        m.rate,
        m.dividend_yield,
        config.hedge.ladder,
        strike_increment=config.strikes.strike_increment,
        multiplier=config.capital.contract_multiplier,
    )
    for r in lad.itertuples():
        rows.append(
            {
                "source": "rule",
                "strike": r.strike,
                "moneyness": r.moneyness,
                "dte": r.dte,
                "contracts": r.contracts,
                "cost": r.cost,
                "price_per_share_printed": np.nan,
                "model_price": r.price,
                "model_cost": r.cost,
            }
        )
    return pd.DataFrame(rows)
