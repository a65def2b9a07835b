"""Margin kernels: the requirement of one short option or one stock lot, and the plan's capital models.

Two bases, named everywhere a figure appears:

*full basis*
    The requirement a broker compares with **equity with loan value** (EWL: cash plus the value
    of positions with loan value, which leaves out short options).  A short option's full
    requirement *includes* its market value ``mark``: the premium credited to cash is held
    against it.  :func:`short_option_requirement` and :func:`stock_requirement` return this.
*net basis* (net of the position's market value)
    What a position takes out of **net liquidation value** (NLV, which has already subtracted the
    short option's value): full requirement minus ``mark``.  Excess liquidity is the same on both
    bases: ``EWL - full requirement = NLV - net requirement``.  :func:`capital_per_contract`
    returns this, for every capital model, so the models can be compared and summed and are
    compared with NLV (a budget taken from the portfolio value).

The rules (defaults: FINRA / CBOE minimums, no house rule; see
:class:`engine.config.MarginConfig`):

margin account, uncovered short option (full basis, $ per share)
    ``mark + max(a*S - OTM, b*base, floor/m) + c*S`` with ``a`` = ``naked_underlying_pct`` (20%),
    ``b`` = ``naked_minimum_pct`` (10%), ``base`` = strike for a put and spot for a call,
    ``OTM = max(S - K, 0)`` for a put and ``max(K - S, 0)`` for a call, ``floor`` =
    ``per_contract_floor`` ($ per contract, a house minimum beside the 10% branch, as brokers
    quote "premium plus $X a contract"), ``c`` = ``concentration_addon_pct``.
cash account
    A short put is cash-secured: ``strike * m`` per contract (the premium received sits in that
    cash, so the net figure is ``(K - mark) * m``); a short call cannot be uncovered (NaN).
long stock (full basis, $ per lot)
    ``stock_initial_pct`` (Reg T 50%) or ``stock_maintenance_pct`` (FINRA 25%) of the value;
    100% in a cash account or under ``low_price_threshold``.

References
----------
CBOE Margin Manual (2000), "Short Put / Short Call - Uncovered" and "Long Stock"; CBOE Rule
10.3(c)(5)(A).  FINRA Rule 4210(c) (maintenance on long stock, 25%), 4210(f)(2)(G)(iii)-(iv)
(uncovered listed equity options).  Federal Reserve Regulation T, 12 CFR 220.12 (50% initial).
"""

from __future__ import annotations

import numpy as np

from engine._validate import VolarbInputError, finish, prepare
from engine.config import CapitalConfig, MarginConfig

__all__ = [
    "CAPITAL_MODELS",
    "capital_per_contract",
    "check_model",
    "short_option_requirement",
    "stock_requirement",
    "margin_from_capital",
]

CAPITAL_MODELS = ("premium", "cash_secured", "reg_t")


def check_model(model: str, where: str = "model") -> str:
    """Return ``model`` if it is one of :data:`CAPITAL_MODELS`, else raise naming ``where``.

    >>> check_model("reg_t")
    'reg_t'
    """
    if model not in CAPITAL_MODELS:
        raise VolarbInputError(
            f"{where} must be one of {', '.join(map(repr, CAPITAL_MODELS))}, got {model!r}"
        )
    return model


def margin_from_capital(capital: CapitalConfig, base: MarginConfig = MarginConfig()) -> MarginConfig:
    """The :class:`MarginConfig` whose naked-option and stock percentages are ``capital``'s legacy aliases.

    ``PlanConfig`` keeps ``capital.reg_t_underlying_pct`` etc. equal to ``margin.*``, so for a
    config's own sections this returns ``cfg.margin`` unchanged (apart from house keys that
    have no legacy alias, which come from ``base``).

    >>> margin_from_capital(CapitalConfig(reg_t_minimum_pct=0.15)).naked_minimum_pct
    0.15
    """
    import dataclasses

    return dataclasses.replace(
        base,
        naked_underlying_pct=capital.reg_t_underlying_pct,
        naked_minimum_pct=capital.reg_t_minimum_pct,
        concentration_addon_pct=capital.house_addon_pct,
        stock_maintenance_pct=capital.stock_maintenance_pct,
    )


def short_option_requirement(
    kind, spot, strike, mark, margin: MarginConfig = MarginConfig(), *, multiplier=100
):
    """Requirement of one uncovered short option contract, $ per contract, full basis.

    Full basis: the figure *includes* the option's market value ``mark`` and is compared with
    equity with loan value (cash plus positions with loan value); subtract ``mark * multiplier``
    for the figure compared with net liquidation value.

    Parameters
    ----------
    kind : str or array_like
        "put"/"call" ("P"/"C" or -1/+1).
    spot : array_like
        Underlying price S, $ per share, > 0.
    strike : array_like
        Strike K, $ per share, > 0.
    mark : array_like
        Current market value of the option, $ per share, >= 0.
    margin : MarginConfig
        Account type and house rules (default: FINRA minimums, margin account).
    multiplier : int, keyword-only
        Shares per contract (100).

    Returns
    -------
    float or ndarray
        Margin account: ``(mark + max(a*S - OTM, b*base, floor/m) + c*S) * m``; cash account:
        ``K * m`` for a put (cash-secured), NaN for a call (a cash account cannot be short an
        uncovered call).  NaN for a bad element of an array; a float for scalar input.

    Raises
    ------
    VolarbInputError
        A scalar argument breaking its rule.

    References
    ----------
    CBOE Margin Manual (2000), uncovered puts and calls; FINRA Rule 4210(f)(2)(G)(iv).

    Examples
    --------
    CBOE, "Margin Requirement Examples for Sample Options-based Positions" (strategy-based column,
    net of the proceeds), IBM at 97.73.  Short 100 April 100 calls at 1.68: 20% of 97.73 = 19.546,
    less 2.27 out of the money = 17.276 > 10% of 97.73, so 17.276 x 100 x 100 = $172,760 net; the
    full figure per contract adds the $168 of premium: $1,895.60.

    >>> full = short_option_requirement("call", 97.73, 100.0, 1.68)
    >>> round(full, 2), round(100 * (full - 168.0), 2)
    (1895.6, 172760.0)

    Short 100 April 100 puts at 3.18 (in the money, no OTM amount): 19.546 x 100 x 100 = $195,460 net.

    >>> round(100 * (short_option_requirement("put", 97.73, 100.0, 3.18) - 318.0), 2)
    195460.0

    The 10%-of-strike branch: a $200 put at 1.20 with the stock at 209: 20% of 209 less 9 OTM =
    32.80 > 20, so (1.20 + 32.80) x 100 = $3,400; a $80 put at 2 with the stock at 95: 19 - 15 = 4
    < 8, so (2 + 8) x 100 = $1,000.

    >>> round(short_option_requirement("put", 209.0, 200.0, 1.20), 6), round(short_option_requirement("put", 95.0, 80.0, 2.0), 6)
    (3400.0, 1000.0)

    The plan's $2.50 put at S = 3.15 for 1.15: 0.63 - 0.65 < 0.25, so (1.15 + 0.25) * 100 = $140;
    in a cash account it is cash-secured, 2.50 * 100 = $250.

    >>> round(short_option_requirement("P", 3.15, 2.50, 1.15), 6)
    140.0
    >>> round(short_option_requirement("put", 3.15, 2.50, 1.15, MarginConfig(account="cash")), 6)
    250.0
    >>> short_option_requirement(["put", "call"], 3.15, 2.50, 1.15, MarginConfig(account="cash")).tolist()
    [250.0, nan]

    A $50-per-contract house floor on the margin part: (1.15 + 0.50) * 100 = $165.

    >>> round(short_option_requirement("put", 3.15, 2.50, 1.15, MarginConfig(per_contract_floor=50.0)), 6)
    165.0
    """
    a, bad, scalar = prepare(spot=spot, strike=strike, price=mark, kind=kind)
    s, k, p, w = a["spot"], a["strike"], a["price"], a["kind"]
    m = float(multiplier)
    if margin.account == "cash":
        bad = bad | (w > 0)
        out = k * m
    else:
        otm = np.where(w < 0, np.maximum(s - k, 0.0), np.maximum(k - s, 0.0))
        base = np.where(w < 0, k, s)
        part = np.maximum(
            np.maximum(margin.naked_underlying_pct * s - otm, margin.naked_minimum_pct * base),
            margin.per_contract_floor / m,
        )
        out = (p + part + margin.concentration_addon_pct * s) * m
    return finish(out, bad, scalar)


def stock_requirement(spot, shares, margin: MarginConfig = MarginConfig(), *, phase="initial"):
    """Requirement of one lot of long shares, $ per lot, full basis.

    Full basis: compared with equity with loan value, which includes the shares' market value
    ``spot * shares``; the loan value of the lot is ``spot * shares`` minus this.

    Parameters
    ----------
    spot : array_like
        Share price, $ per share, > 0.
    shares : array_like
        Number of shares held long, >= 0.
    margin : MarginConfig
        ``account``, ``stock_initial_pct`` (Reg T 50%), ``stock_maintenance_pct`` (FINRA 25%),
        ``low_price_threshold`` ($ per share).
    phase : {"initial", "maintenance"}, keyword-only
        Initial requirement (opening, buying power) or maintenance (margin call).

    Returns
    -------
    float or ndarray
        ``spot * shares`` (100%) in a cash account or when ``spot < low_price_threshold``;
        otherwise ``pct * spot * shares``.  NaN for a bad element (spot <= 0, shares < 0).

    Raises
    ------
    VolarbInputError
        ``phase`` not "initial"/"maintenance"; a scalar argument breaking its rule.

    References
    ----------
    Regulation T, 12 CFR 220.12(a) (50% initial); FINRA Rule 4210(c)(1) (25% maintenance);
    CBOE Margin Manual (2000), "Long Stock".

    Examples
    --------
    100 shares assigned at $2.50 and now worth $3.15: $315 of stock, $157.50 initial (50%),
    $78.75 maintenance (25%); in a cash account, or under a $5 house threshold, all $315.

    >>> round(stock_requirement(3.15, 100), 6), round(stock_requirement(3.15, 100, phase="maintenance"), 6)
    (157.5, 78.75)
    >>> round(stock_requirement(3.15, 100, MarginConfig(account="cash")), 6)
    315.0
    >>> stock_requirement([3.15, 6.0], [100, 100], MarginConfig(low_price_threshold=5.0)).tolist()
    [315.0, 300.0]
    """
    if phase not in ("initial", "maintenance"):
        raise VolarbInputError(f"phase must be 'initial' or 'maintenance', got {phase!r}")
    a, bad, scalar = prepare(spot=spot)
    s = a["spot"]
    try:
        n = np.asarray(shares, dtype=float)
    except (TypeError, ValueError):
        raise VolarbInputError(f"shares must be a number >= 0, got {shares!r}") from None
    if scalar and np.ndim(n) == 0 and not (np.isfinite(n) and n >= 0):
        raise VolarbInputError(f"shares must be a number >= 0, got {shares!r}")
    scalar = scalar and np.ndim(n) == 0  # type: ignore[assignment]  # a Form is truthy like the old bool flag
    s, n, bad = np.broadcast_arrays(s, np.atleast_1d(n), bad)
    bad = bad | ~np.isfinite(n) | (n < 0)
    n = np.where(bad, 0.0, n)
    pct = margin.stock_initial_pct if phase == "initial" else margin.stock_maintenance_pct
    full = (margin.account == "cash") | (s < margin.low_price_threshold)
    out = np.where(full, 1.0, pct) * s * n
    return finish(out, bad, scalar)


def capital_per_contract(
    model,
    spot,
    strike,
    premium,
    kind="put",
    capital: CapitalConfig = CapitalConfig(),
    margin: MarginConfig | None = None,
):
    """Capital one short option contract takes out of net liquidation value, $ per contract.

    Every model is on the **net basis** (requirement net of the option's market value,
    compared with net liquidation value / a budget taken from the portfolio value), so the
    three can be compared and summed: ``short_option_requirement(...) - premium * m``.

    Parameters
    ----------
    model : {"premium", "cash_secured", "reg_t"}
        ``"premium"``: the plan's literal ``premium * m`` (it treats the premium received as
        capital spent; it is no account's requirement and is kept to show the plan's sizing);
        ``"cash_secured"``: a cash account's cash-secured put, ``(strike - premium) * m``;
        ``"reg_t"``: a margin account's uncovered option, ``max(a*S - OTM, b*base, floor/m) * m``
        (+ concentration add-on).
    spot : array_like
        Underlying price, $ per share, > 0.
    strike : array_like
        Strike, $ per share, > 0.
    premium : array_like
        Option market value (the premium received at sale), $ per share, >= 0.
    kind : str or array_like
        "put"/"call" ("P"/"C" or -1/+1).
    capital : CapitalConfig
        ``contract_multiplier`` (100 shares); its legacy ``reg_t_*`` / ``house_addon_pct``
        aliases give the percentages when ``margin`` is not given.
    margin : MarginConfig, optional
        The house rules (default: from ``capital``'s aliases, FINRA minimums otherwise).

    Returns
    -------
    float or ndarray
        $ per contract, net basis.  A float for scalar input; NaN for a bad element.
        "cash_secured" is defined for puts only (a call gives NaN, or an error for a scalar).

    Raises
    ------
    VolarbInputError
        Unknown model; a scalar argument breaking its rule.

    References
    ----------
    CBOE Margin Manual, uncovered puts and calls; FINRA Rule 4210(f)(2)(G).

    Examples
    --------
    A $2.50 put on a $3.15 stock for $1.15: the full Reg T requirement is $140 (see
    :func:`short_option_requirement`), of which the $115 option value is already out of net
    liquidation, so it takes $25; cash-secured it takes $250 - $115 = $135.

    >>> round(capital_per_contract("reg_t", 3.15, 2.50, 1.15), 6)
    25.0
    >>> round(capital_per_contract("cash_secured", 3.15, 2.50, 1.15), 6)
    135.0
    >>> round(capital_per_contract("premium", 3.15, 2.50, 1.15), 6)
    115.0
    """
    check_model(model)
    a, bad, scalar = prepare(spot=spot, strike=strike, price=premium, kind=kind)
    s, k, p, w = a["spot"], a["strike"], a["price"], a["kind"]
    m = int(capital.contract_multiplier)
    rules = margin_from_capital(capital) if margin is None else margin
    if model == "premium":
        out = p * m
    elif model == "cash_secured":
        if scalar and w.reshape(-1)[0] > 0:
            raise VolarbInputError(
                "kind must be 'put' for the cash_secured model (a short call is not cash-secured), got 'call'"
            )
        bad = bad | (w > 0)
        out = (k - p) * m
    else:
        import dataclasses

        full = short_option_requirement(
            w, s, k, p, dataclasses.replace(rules, account="margin"), multiplier=m
        )
        out = full - p * m
    return finish(out, bad, scalar)
