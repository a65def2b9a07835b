"""The plan's monthly allocation rules: the 80/20 premium split, the strike ladder, reinvestment.

Three rules of the user's plan (``strategy-plan.txt``), as functions:

* :func:`allocate_premium` - ``PersonalPremiumCompounding.process_monthly_allocation``: 20% of
  the premium collected buys call hedges, 80% plus the monthly addition sells more puts.
* :func:`allocate_strikes` - ``optimize_strike_allocation``: the put budget split by the strike
  weights (20/35/30/10/5% at $2.00/$2.50/$3.00/$4.00/$5.00) and turned into whole contracts
  under a capital model (:mod:`engine.plan.margin`), with premiums from the pricing core
  (:func:`strike_premiums`) instead of the plan's fixed estimates.
* :func:`reinvestment_plan` - ``prioritize_monthly_reinvestment``: 65% to $2.50/$3.00, 20% to
  $2.00, 15% to $4.00/$5.00.

Money is in $; premiums are $ per share; capital per contract is $ per contract (x100).

The plan's month-2 contract counts (16/15/10/2/1 at $2.00/$2.50/$3.00/$4.00/$5.00 from $5,652)
do not follow from its own formula ``int(capital / (premium * 100))`` and its own premium
estimates ($0.70/$1.15/$1.60 from month 1; $2.45/$3.36 per share from the $4.00/$5.00 rows of
its position table): $2.50 gives int(1978.2 / 115) = 17, not 15, and $5.00 gives
int(282.6 / 336) = 0, not 1.  :func:`capital_model_comparison` shows them beside every model.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine._validate import VolarbInputError
from engine.config import CapitalConfig, MarginConfig, PlanConfig
from engine.plan.margin import capital_per_contract, check_model, margin_from_capital
from engine.pricing.american import american_price
from engine.units import days_to_years

__all__ = [
    "PLAN_PREMIUMS",
    "PLAN_MONTH2_CONTRACTS",
    "allocate_premium",
    "put_expiry",
    "strike_premiums",
    "allocate_strikes",
    "capital_model_comparison",
    "reinvestment_plan",
    "whole_contracts",
]

#: The plan's own premium estimates, $ per share: $2.00/$2.50/$3.00 from month 1 ("~$0.70",
#: "~$1.15", "~$1.60"); $4.00/$5.00 from its position table ($490 and $672 for 2 contracts).
PLAN_PREMIUMS: dict[float, float] = {2.0: 0.70, 2.5: 1.15, 3.0: 1.60, 4.0: 2.45, 5.0: 3.36}

#: The contract counts the plan prints for month 2 ($5,652 budget).
PLAN_MONTH2_CONTRACTS: dict[float, int] = {2.0: 16, 2.5: 15, 3.0: 10, 4.0: 2, 5.0: 1}


def _number(value: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise VolarbInputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(x) or (lo is not None and x < lo) or (hi is not None and x > hi):
        rng = (
            " and ".join(
                t
                for t in ((f">= {lo:g}" if lo is not None else ""), (f"<= {hi:g}" if hi is not None else ""))
                if t
            )
            or "finite"
        )
        raise VolarbInputError(f"{name} must be {rng}, got {value!r}")
    return x


def allocate_premium(premium, monthly_addition, call_share=0.20) -> dict:
    """Split a month's collected premium 20/80 between call hedges and new puts.

    Parameters
    ----------
    premium : float or array_like
        Premium collected in the month, $ (>= 0).
    monthly_addition : float or array_like
        New capital added, $ (>= 0).
    call_share : float
        Share of the premium spent on call hedges (plan: 0.20), in [0, 1].

    Returns
    -------
    dict
        ``call_hedge_budget = premium * call_share``; ``put_premium_budget = premium * (1 -
        call_share)``; ``put_expansion_budget = put_premium_budget + monthly_addition``;
        ``compounding_factor = put_expansion_budget / monthly_addition`` (NaN when the addition
        is 0).  Floats for scalar input, arrays for arrays.

    Raises
    ------
    VolarbInputError
        Negative or non-finite premium or addition; call_share outside [0, 1].

    References
    ----------
    The plan, ``PersonalPremiumCompounding.process_monthly_allocation``.

    Examples
    --------
    Month 2 of the plan: 80% of $2,065 is $1,652; with $4,000 that is $5,652, factor 1.413.

    >>> out = allocate_premium(2065, 4000)
    >>> round(out["call_hedge_budget"], 2), round(out["put_expansion_budget"], 2), round(out["compounding_factor"], 3)
    (413.0, 5652.0, 1.413)
    """
    share = _number(call_share, "call_share", 0.0, 1.0)
    scalar = np.ndim(premium) == 0 and np.ndim(monthly_addition) == 0
    try:
        p = np.asarray(premium, dtype=float)
        a = np.asarray(monthly_addition, dtype=float)
    except (TypeError, ValueError):
        raise VolarbInputError(
            f"premium and monthly_addition must be numbers, got {premium!r} and {monthly_addition!r}"
        ) from None
    for name, arr in (("premium", p), ("monthly_addition", a)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise VolarbInputError(f"{name} must be a finite amount >= 0 ($), got {arr.tolist()!r}")
    call = p * share
    put = p - call
    expansion = put + a
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(a > 0, expansion / np.where(a > 0, a, 1.0), np.nan)
    out = {
        "call_hedge_budget": call,
        "put_premium_budget": put,
        "put_expansion_budget": expansion,
        "compounding_factor": factor,
    }
    if scalar:
        return {k: float(v) for k, v in out.items()}
    return out


def put_expiry(config: PlanConfig, valuation_date: _dt.date | None = None) -> _dt.date:
    """Expiry of newly sold puts: the next monthly expiration, or ``strikes.dte`` days out.

    With ``strikes.use_monthly_expiry`` and :mod:`engine.data.calendar` available, the next monthly
    expiration at least ``strikes.min_dte`` days after the valuation date; otherwise the
    valuation date plus ``strikes.dte`` calendar days.

    Examples
    --------
    >>> from engine.config import default_config
    >>> cfg = default_config().replace(strikes__use_monthly_expiry=False)
    >>> put_expiry(cfg)
    datetime.date(2025, 10, 27)
    """
    vd = valuation_date or config.valuation_date
    if config.strikes.use_monthly_expiry:
        from engine.data.calendar import next_monthly_expiration

        return next_monthly_expiration(
            vd, min_days=config.strikes.min_dte, exchange=config.execution.exchange
        )
    return vd + _dt.timedelta(days=config.strikes.dte)


def strike_premiums(
    config: PlanConfig,
    strikes=None,
    expiry: _dt.date | None = None,
    valuation_date: _dt.date | None = None,
    surface=None,
) -> np.ndarray:
    """Model premium of a new short put at each strike, $ per share (American, market vol or smile).

    Parameters
    ----------
    config : PlanConfig
        Market section (spot, vol, rate, dividend yield) and strikes section.
    strikes : array_like, optional
        Strikes, $ (default ``config.strikes.strikes``).
    expiry : datetime.date, optional
        Expiry (default :func:`put_expiry`).
    valuation_date : datetime.date, optional
        Pricing date (default ``config.valuation_date``).
    surface : engine.pricing.surface.VolSurface, optional
        Implied-vol surface from an option chain; each strike is priced at the surface's vol for
        its strike and the expiry (the stock's smile is steep) instead of ``market.vol``.

    Returns
    -------
    ndarray
        ``american_price(spot, strike, days/365, rate, vol, "put", q)`` per strike.

    Raises
    ------
    VolarbInputError
        Expiry not after the valuation date.

    Examples
    --------
    >>> import datetime as dt
    >>> from engine.config import default_config
    >>> p = strike_premiums(default_config(), [2.5], expiry=dt.date(2025, 10, 27))
    >>> bool(0.5 < p[0] < 1.5)
    True
    """
    vd = valuation_date or config.valuation_date
    exp = expiry or put_expiry(config, vd)
    days = (exp - vd).days
    if days <= 0:
        raise VolarbInputError(f"expiry {exp.isoformat()} must be after the valuation date {vd.isoformat()}")
    k = np.atleast_1d(np.asarray(config.strikes.strikes if strikes is None else strikes, dtype=float))
    m = config.market
    t = days_to_years(days)
    vol = m.vol if surface is None else np.asarray(surface.vol(k, t), dtype=float)
    return np.atleast_1d(american_price(m.spot, k, t, m.rate, vol, "put", m.dividend_yield))


#: the largest contract count :func:`whole_contracts` returns (2**53, exact in floating point)
MAX_CONTRACTS = float(2**53)


def whole_contracts(capital, per_contract) -> np.ndarray:
    """Largest whole number of contracts n with ``n * per_contract <= capital`` (0 if per_contract <= 0).

    Exact in floating point: the quotient's floor is corrected by one when the product rounds
    across ``capital``.  A product over ``capital`` by float noise alone (at most 1e-12 of it,
    far under a cent) still fits: a requirement computed as a difference of money figures
    (``capital_per_contract`` = requirement - premium x 100) carries round-off of that size,
    and an exact multiple of it must not lose a contract (1,400 / 25.000000000000014 is 56).

    >>> whole_contracts([1978.2, 100.0, 1400.0], [115.0, 0.0, 25.000000000000014]).tolist()
    [17, 0, 56]
    """
    c = np.asarray(capital, dtype=float)
    q = np.asarray(per_contract, dtype=float)
    ok = q > 0
    safe = np.where(ok, q, 1.0)
    c = c + 1e-12 * np.abs(c)  # float noise of a money difference is not a shortfall
    n = np.floor(c / safe)
    n = np.where((n + 1) * safe <= c, n + 1, n)
    n = np.where(n * safe > c, n - 1, n)
    # at most 2**53 (the largest whole number a float holds exactly): a count past int64 would
    # wrap to a negative number (a 120-month projection compounding without bound reached it)
    return np.where(ok, np.clip(n, 0, MAX_CONTRACTS), 0).astype(np.int64)


def _ladder_arrays(strikes, weights, premiums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        k = np.atleast_1d(np.asarray(strikes, dtype=float))
        w = np.atleast_1d(np.asarray(weights, dtype=float))
        p = np.atleast_1d(np.asarray(premiums, dtype=float))
    except (TypeError, ValueError):
        raise VolarbInputError("strikes, weights and premiums must be lists of numbers") from None
    if not (k.ndim == w.ndim == p.ndim == 1 and len(k) == len(w) == len(p) and len(k) > 0):
        raise VolarbInputError(
            f"strikes, weights and premiums must have one entry per strike; got lengths {len(k)}, {len(w)}, {len(p)}"
        )
    for name, arr, pos in (("strikes", k, True), ("weights", w, False), ("premiums", p, False)):
        bad = ~np.isfinite(arr) | ((arr <= 0) if pos else (arr < 0))
        if bad.any():
            i = int(np.argmax(bad))
            rule = "> 0" if pos else ">= 0"
            raise VolarbInputError(f"{name}[{i}] must be a finite number {rule}, got {float(arr[i])!r}")
    if abs(w.sum() - 1.0) > 1e-9:
        raise VolarbInputError(f"weights must sum to 1, they sum to {w.sum():.6g}")
    return k, w, p


def allocate_strikes(
    budget,
    strikes,
    weights,
    premiums,
    spot,
    model="reg_t",
    capital: CapitalConfig = CapitalConfig(),
    *,
    buying_power: float | None = None,
    margin: MarginConfig | None = None,
):
    """Split a put budget over the strike ladder and size whole contracts under a capital model.

    Parameters
    ----------
    budget : float
        Put expansion budget, $ (>= 0).
    strikes, weights, premiums : array_like
        Strikes ($), weights (>= 0, summing to 1) and premiums ($ per share), one per strike.
    spot : float
        Underlying price, $ per share (used by ``"reg_t"``).
    model : {"premium", "cash_secured", "reg_t"}
        Capital per contract (:func:`engine.plan.margin.capital_per_contract`).  ``"premium"`` is the
        plan's literal ``contracts = int(capital / (premium * 100))``, which treats the premium
        received as capital spent.
    capital : CapitalConfig
        Reg T percentages, house add-on, contract multiplier.
    buying_power : float, optional
        The account's buying power (available funds, ``EWL - initial requirement``, $;
        :attr:`engine.plan.account.AccountState.buying_power`).  When given, the contracts are
        capped so that the buying power they consume does not exceed it (scaled down in
        proportion, then rounded down).
    margin : MarginConfig, optional
        The account's rules, for the buying power each contract consumes (default the legacy
        aliases of ``capital``, a margin account).

    Returns
    -------
    pandas.DataFrame
        One row per strike: ``strike``, ``weight``, ``capital`` (= budget * weight, $),
        ``premium`` ($/share), ``capital_per_contract`` ($, net basis), ``contracts`` (largest
        whole number with contracts * capital_per_contract <= capital, 0 when
        capital_per_contract is 0, then capped by ``buying_power``), ``capital_used`` ($),
        ``expected_premium`` (contracts * premium * multiplier, $), ``leftover`` (capital -
        capital_used, $ >= 0), ``bp_per_contract`` (buying power one new contract consumes, $:
        its requirement net of the premium credited, :func:`engine.plan.margin.capital_per_contract`
        under ``"reg_t"`` in a margin account, ``"cash_secured"`` in a cash account),
        ``contracts_sized`` (before the cap), ``buying_power_used`` ($) and ``capped``
        (bool).  Unlike the plan's code, strikes with 0 contracts are kept (their capital shows
        as leftover).

    Raises
    ------
    VolarbInputError
        Negative budget, mismatched lengths, weights not summing to 1, a bad strike/premium,
        unknown model.

    References
    ----------
    The plan, ``optimize_strike_allocation``; CBOE Margin Manual / FINRA Rule 4210(f)(2)(G)
    for ``"reg_t"``.

    Examples
    --------
    The plan's month 2: $5,652 by 20/35/30/10/5% is $1,130.40/$1,978.20/$1,695.60/$565.20/
    $282.60.  At its own $1.15 premium the $2.50 strike gets int(1978.2 / 115) = 17 contracts
    (the plan prints 15).

    >>> df = allocate_strikes(5652, [2.0, 2.5, 3.0, 4.0, 5.0], [0.20, 0.35, 0.30, 0.10, 0.05],
    ...                       [0.70, 1.15, 1.60, 2.45, 3.36], 3.15, model="premium")
    >>> df["capital"].round(2).tolist()
    [1130.4, 1978.2, 1695.6, 565.2, 282.6]
    >>> df["contracts"].tolist()
    [16, 17, 10, 2, 0]

    Capped by $500 of buying power in a margin account, where a new put consumes its net Reg T
    requirement (20, 25, 48, 63, 63 $): the 16/17/10/2/0 contracts would use 320 + 425 + 480 +
    126 = 1,351, so they scale by 500/1,351 and round down to 5/6/3/0/0 (using 100 + 150 + 144).

    >>> capped = allocate_strikes(5652, [2.0, 2.5, 3.0, 4.0, 5.0], [0.20, 0.35, 0.30, 0.10, 0.05],
    ...                           [0.70, 1.15, 1.60, 2.45, 3.36], 3.15, model="premium", buying_power=500)
    >>> capped["contracts"].tolist(), round(float(capped["buying_power_used"].sum()), 2)
    ([5, 6, 3, 0, 0], 394.0)
    """
    import pandas as pd

    check_model(model)
    b = _number(budget, "budget", 0.0)
    s = _number(spot, "spot", 0.0)
    if s <= 0:
        raise VolarbInputError(f"spot must be > 0, got {spot!r}")
    k, w, p = _ladder_arrays(strikes, weights, premiums)
    cap = b * w
    cpc = np.asarray(capital_per_contract(model, s, k, p, "put", capital), dtype=float)
    n = whole_contracts(cap, cpc)
    rules = margin_from_capital(capital) if margin is None else margin
    bp_model = "cash_secured" if rules.account == "cash" else "reg_t"
    bp_cost = np.asarray(capital_per_contract(bp_model, s, k, p, "put", capital, margin=rules), dtype=float)
    sized = n.copy()
    capped = np.zeros(n.shape, dtype=bool)
    if buying_power is not None:
        bp = max(_number(buying_power, "buying_power"), 0.0)  # negative buying power: no new contract
        need = float(np.sum(n * bp_cost))
        if need > bp:
            n = np.floor(n * (bp / need) + 1e-12).astype(n.dtype)
            capped = n < sized
    used = n * cpc
    mult = float(capital.contract_multiplier)
    return pd.DataFrame(
        {
            "strike": k,
            "weight": w,
            "capital": cap,
            "premium": p,
            "capital_per_contract": cpc,
            "contracts": n,
            "capital_used": used,
            "expected_premium": n * p * mult,
            "leftover": cap - used,
            "bp_per_contract": bp_cost,
            "contracts_sized": sized,
            "buying_power_used": n * bp_cost,
            "capped": capped,
        }
    )


def capital_model_comparison(
    budget,
    strikes,
    weights,
    premiums,
    spot,
    capital: CapitalConfig = CapitalConfig(),
    printed: Mapping[float, int] | None = None,
):
    """Contracts per strike under each capital model side by side (and the plan's printed counts).

    Returns
    -------
    pandas.DataFrame
        ``strike``, ``weight``, ``capital``, ``premium``, then ``contracts_premium``,
        ``contracts_cash_secured``, ``contracts_reg_t``; with ``printed`` also
        ``contracts_printed`` and ``printed_agrees`` (printed == the plan's literal formula).

    Examples
    --------
    >>> df = capital_model_comparison(5652, list(PLAN_PREMIUMS), [0.20, 0.35, 0.30, 0.10, 0.05],
    ...                               list(PLAN_PREMIUMS.values()), 3.15, printed=PLAN_MONTH2_CONTRACTS)
    >>> df[["strike", "contracts_printed", "contracts_premium", "contracts_reg_t"]].values.tolist()
    [[2.0, 16.0, 16.0, 56.0], [2.5, 15.0, 17.0, 79.0], [3.0, 10.0, 10.0, 35.0], [4.0, 2.0, 2.0, 8.0], [5.0, 1.0, 0.0, 4.0]]
    """
    frames = {
        model: allocate_strikes(budget, strikes, weights, premiums, spot, model, capital)
        for model in ("premium", "cash_secured", "reg_t")
    }
    base = frames["premium"][["strike", "weight", "capital", "premium"]].copy()
    for model, df in frames.items():
        base[f"contracts_{model}"] = df["contracts"].to_numpy()
    if printed is not None:
        base["contracts_printed"] = [printed.get(float(k), np.nan) for k in base["strike"]]
        base["printed_agrees"] = base["contracts_printed"] == base["contracts_premium"]
    return base


def _group_split(group_strikes: Sequence[float], config: PlanConfig) -> tuple[np.ndarray, str]:
    if len(group_strikes) == 1:
        return np.ones(1), "single"
    ladder = dict(zip(config.strikes.strikes, config.strikes.weights))
    w = np.array([ladder.get(float(k), 0.0) for k in group_strikes])
    if np.all(w > 0):
        return w / w.sum(), "strike_weights"
    return np.full(len(group_strikes), 1.0 / len(group_strikes)), "equal"


def reinvestment_plan(budget, config: PlanConfig, premiums=None, *, buying_power: float | None = None):
    """The plan's reinvestment priorities: 65% to $2.50/$3.00, 20% to $2.00, 15% to $4.00/$5.00.

    Within a group the share is split in proportion to the strike weights of
    ``config.strikes`` when every strike of the group has one (the plan's stated weights:
    35:30 inside 65%, 10:5 inside 15%; this makes the priorities exactly the 20/35/30/10/5
    ladder, which they aggregate); otherwise equally (noted in the ``split`` column).

    Parameters
    ----------
    budget : float
        Capital to reinvest, $ (>= 0).
    config : PlanConfig
        ``reinvestment`` groups, ``strikes`` weights, market, ``capital`` model.
    premiums : mapping or array_like, optional
        Premium $ per share by strike (mapping) or in the order of the rows; default
        :func:`strike_premiums` of the config.
    buying_power : float, optional
        Available funds, $ (``EWL - initial requirement``): caps the contracts as in
        :func:`allocate_strikes`.

    Returns
    -------
    pandas.DataFrame
        One row per (group, strike): ``action``, ``group_strikes``, ``group_share``, ``split``,
        ``strike``, ``share`` (of the budget), ``amount`` ($), ``premium``,
        ``capital_per_contract``, ``contracts``, ``capital_used``, ``expected_premium``,
        ``leftover``, ``contracts_sized``, ``bp_per_contract``, ``buying_power_used``, ``capped``
        (as :func:`allocate_strikes`), ``reasoning``.

    Examples
    --------
    >>> from engine.config import default_config
    >>> df = reinvestment_plan(10000, default_config(), premiums=PLAN_PREMIUMS)
    >>> df[["strike", "share", "amount"]].round(4).values.tolist()
    [[2.5, 0.35, 3500.0], [3.0, 0.3, 3000.0], [2.0, 0.2, 2000.0], [4.0, 0.1, 1000.0], [5.0, 0.05, 500.0]]
    """
    import pandas as pd

    b = _number(budget, "budget", 0.0)
    rows = []
    for g in config.reinvestment:
        split, how = _group_split(g.strikes, config)
        for k, frac in zip(g.strikes, split):
            rows.append(
                {
                    "action": g.action,
                    "group_strikes": "/".join(f"{x:.2f}" for x in g.strikes),
                    "group_share": g.share,
                    "split": how,
                    "strike": float(k),
                    "share": g.share * frac,
                    "reasoning": g.reasoning,
                }
            )
    strikes = [r["strike"] for r in rows]
    if premiums is None:
        prem = strike_premiums(config, strikes)
    elif isinstance(premiums, Mapping):
        missing = [k for k in strikes if float(k) not in {float(x) for x in premiums}]
        if missing:
            raise VolarbInputError(f"premiums has no premium for strike {missing[0]:g}")
        lookup = {float(x): v for x, v in premiums.items()}
        prem = np.array([lookup[float(k)] for k in strikes], dtype=float)
    else:
        prem = np.atleast_1d(np.asarray(premiums, dtype=float))
        if len(prem) != len(strikes):
            raise VolarbInputError(
                f"premiums must have one entry per reinvestment strike ({len(strikes)}), got {len(prem)}"
            )
    shares = np.array([r["share"] for r in rows])
    alloc = allocate_strikes(
        b,
        strikes,
        shares / shares.sum(),
        prem,
        config.market.spot,
        config.capital.model,
        config.capital,
        buying_power=buying_power,
        margin=config.margin,
    )
    df = pd.DataFrame(rows)
    df["amount"] = alloc["capital"].to_numpy()
    for col in (
        "premium",
        "capital_per_contract",
        "contracts",
        "capital_used",
        "expected_premium",
        "leftover",
        "contracts_sized",
        "bp_per_contract",
        "buying_power_used",
        "capped",
    ):
        df[col] = alloc[col].to_numpy()
    order = [
        "action",
        "group_strikes",
        "group_share",
        "split",
        "strike",
        "share",
        "amount",
        "premium",
        "capital_per_contract",
        "contracts",
        "capital_used",
        "expected_premium",
        "leftover",
        "contracts_sized",
        "bp_per_contract",
        "buying_power_used",
        "capped",
        "reasoning",
    ]
    return df[order]
