"""The marked book: model value, P&L, Greeks, margin and status of every position; the strike ladder.

:func:`mark_book` prices all positions at once (no Python loop over positions) with the pricing
core: American prices by default (:func:`engine.american_price`; Greeks by central finite
differences of it, :func:`engine.greeks` with ``style="american"``).  Each position's vol is its
own ``iv`` when given, else the vol surface's at its strike and time when a surface is given,
else the config's market vol; the column ``vol_source`` says which.

Sign conventions ($, per position): ``sign`` is +1 long, -1 short; ``value = sign * mark * mult *
contracts`` (a short is a liability, negative); ``premium_total = -sign * premium * mult *
contracts`` (+ received for a short, - paid for a long); ``unrealized_pnl = value +
premium_total``.  Greeks are per position, signed and scaled by ``contracts * mult``.

Positions expiring on the valuation date are still open (exercise and assignment happen that
evening): they are marked at intrinsic value (t = 0), keep the intrinsic delta (an in-the-money
short put is about to deliver 100 shares a contract) and their margin, and keep their status;
``mark_basis`` says "intrinsic (expires today)".  Expired positions (expiry before the valuation
date) are marked at intrinsic value with zero Greeks, ``prob_itm`` 1 or 0, no margin, no
obligation, status ``"Expired"`` and ``mark_basis`` saying so; the risk check leaves them out
altogether (:mod:`engine.risk.expiry`).

Status rule (short options; derived from the plan's table)
---------------------------------------------------------
The plan labels its $2.00, $2.50 and $3.00 puts "Good" and its $4.00 and $5.00 puts "Fair" at
spot $3.15, although the $4.00 and $5.00 lines show the *smallest* losses (-$66 on $490, -$59 on
$672 against -$130 on $600 for $2.00); so the label is not a P&L rule.  What separates the two
groups is moneyness: the "Good" puts are out of the money (strike <= spot), the "Fair" ones in
the money but with the spot still above the break-even ``strike - premium`` ($1.55 and $1.64).
Risk-neutral probability ITM cannot be the rule at 425% vol: ``N(-d2)`` is above 50% even for the
$2.00 put the plan calls Good (the ``-vol^2 t / 2`` drift dominates), so it is reported beside
the status but not used for it.  The rule:

* ``Good``  - out of the money: put ``strike <= spot``, call ``strike >= spot``;
* ``Fair``  - in the money, but the premium still covers it: put ``spot > strike - premium``,
  call ``spot < strike + premium`` (premium per share received);
* ``Watch`` - past break-even: the position loses at expiry if the spot stays here;
* ``Expired`` - expiry before the valuation date;
* ``Long``  - long options (hedges) carry no assignment risk and get no label.

References
----------
Hull, J. C. *Options, Futures, and Other Derivatives*, 10th ed., ch. 19 (Greeks of a portfolio).
CBOE Margin Manual (2000), naked short option requirement (via :mod:`engine.plan.margin`).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from engine._validate import VolarbInputError
from engine.data.positions import POSITION_COLUMNS
from engine.units import DAYS_PER_YEAR

__all__ = ["mark_book", "ladder_summary", "position_status", "STATUS_LABELS"]

STATUS_LABELS = ("Good", "Fair", "Watch", "Expired", "Long", "Stock")


def position_status(kind, side, strike, premium, spot, expired=False) -> np.ndarray:
    """Status label of each position by the documented moneyness / break-even rule.

    Parameters
    ----------
    kind : array_like of str
        "put"/"call".
    side : array_like of str
        "short"/"long".
    strike, premium : array_like
        Strike and premium received, $ per share.
    spot : float or array_like
        Underlying price, $.
    expired : array_like of bool
        True for positions past expiry.

    Returns
    -------
    ndarray of str
        One of :data:`STATUS_LABELS` per position.

    Examples
    --------
    The plan's ladder at spot 3.15 (premiums per share 0.60, 1.065, 1.22, 2.45, 3.36):

    >>> position_status("put", "short", [2, 2.5, 3, 4, 5], [0.60, 1.065, 1.22, 2.45, 3.36], 3.15).tolist()
    ['Good', 'Good', 'Good', 'Fair', 'Fair']
    """
    kind, side, strike, premium, spot, expired = np.broadcast_arrays(
        np.asarray(kind, dtype=object),
        np.asarray(side, dtype=object),
        np.asarray(strike, dtype=float),
        np.asarray(premium, dtype=float),
        np.asarray(spot, dtype=float),
        np.asarray(expired, dtype=bool),
    )
    put = kind == "put"
    otm = np.where(put, strike <= spot, strike >= spot)
    covered = np.where(put, spot > strike - premium, spot < strike + premium)
    out = np.where(otm, "Good", np.where(covered, "Fair", "Watch")).astype(object)
    out = np.where(side == "long", "Long", out)
    out = np.where(expired, "Expired", out)
    return out.astype(str)


def _check_positions(positions) -> None:
    missing = [c for c in POSITION_COLUMNS if c not in positions.columns]
    if missing:
        raise VolarbInputError(
            f"mark_book: positions table lacks column(s) {', '.join(missing)}; "
            f"read it with read_positions() or positions_from_records()"
        )


def _style(style: str) -> str:
    s = str(style).strip().lower()
    if s not in ("american", "european"):
        raise VolarbInputError(f"mark_book: style must be 'american' or 'european', got {style!r}")
    return s


def mark_book(
    positions, config=None, valuation_date: _dt.date | None = None, surface=None, style: str = "american"
):
    """Mark every position: model price, value, P&L, probability ITM, Greeks, margin, status.

    Parameters
    ----------
    positions : pandas.DataFrame
        A positions table (:data:`engine.data.positions.POSITION_COLUMNS`), e.g. from
        :func:`engine.read_positions` or :func:`engine.example_positions`.
    config : PlanConfig, optional
        Market (spot, vol, rate, dividend yield, valuation date) and capital model; default the
        plan's.
    valuation_date : datetime.date, optional
        Overrides ``config.valuation_date``.
    surface : VolSurface, optional
        Source of vol for positions without their own ``iv``.
    style : {"american", "european"}
        Exercise style of the model (listed equity options are American).

    Returns
    -------
    pandas.DataFrame
        The position columns plus ``sign``, ``multiplier`` (shares per contract), ``dte`` (calendar days), ``t`` (years ACT/365),
        ``vol_used``, ``vol_source`` ("position"/"surface"/"market"), ``mark`` ($ per share),
        ``mark_basis``, ``value``, ``premium_total``, ``unrealized_pnl`` ($, signed),
        ``intrinsic`` ($ per share), ``moneyness`` (strike / spot), ``prob_itm``, ``prob_touch``
        (risk-neutral probability that the spot touches the strike before expiry),
        ``delta_shares``, ``delta_dollars`` ($ per $1 move x spot), ``gamma`` (shares per $),
        ``theta_day`` ($ per calendar day: instantaneous theta / 365), ``vega_point`` ($ per vol point), ``rho_point``
        ($ per rate point), ``obligation`` ($: strike x mult x contracts for short puts),
        ``margin`` ($: capital model requirement of short options at the current mark; short
        calls under ``"cash_secured"`` get the ``"reg_t"`` naked-call requirement) and
        ``status`` (see the module docstring).

    Raises
    ------
    VolarbInputError
        Positions table without the position columns, or a bad style.

    Examples
    --------
    >>> from engine.data.positions import example_positions
    >>> book = mark_book(example_positions())
    >>> int(book["contracts"].sum()), round(float(book["premium_total"].sum()), 2)   # 4,349 - 1,210 paid for calls
    (44, 3139.0)
    >>> book["status"].tolist()
    ['Good', 'Good', 'Good', 'Good', 'Good', 'Fair', 'Fair', 'Long', 'Long', 'Long', 'Long']
    """
    from engine.config import default_config
    from engine.pricing.american import american_price
    from engine.pricing.black import bs_price, prob_itm, prob_touch
    from engine.pricing.greeks import greeks

    cfg = config if config is not None else default_config()
    style = _style(style)
    _check_positions(positions)
    val = valuation_date if valuation_date is not None else cfg.valuation_date
    m = cfg.market
    mult = float(cfg.capital.contract_multiplier)
    out = positions.reindex(columns=list(POSITION_COLUMNS)).reset_index(drop=True)
    if "shares" not in positions.columns:  # a table from before stock rows: options only
        out["shares"] = 0
    out["shares"] = out["shares"].fillna(0).astype("int64")
    n = len(out)
    kinds = out["kind"].to_numpy(object)
    stock = kinds == "stock"
    # stock rows carry no strike/expiry: harmless placeholders for the option arithmetic,
    # overwritten below
    strike = np.where(stock, float(m.spot), out["strike"].to_numpy(float))
    contracts = np.where(stock, 0.0, out["contracts"].to_numpy(float))
    shares = out["shares"].to_numpy(float)
    premium = out["premium"].to_numpy(float)
    w = np.where(kinds == "put", -1.0, 1.0)
    sign = np.where(out["side"].to_numpy(object) == "long", 1.0, -1.0)
    days = np.array(
        [0 if st else (e - val).days for e, st in zip(out["expiry"], stock, strict=True)], dtype=np.int64
    ).reshape(n)
    live = days > 0
    t = np.where(live, days, 0) / DAYS_PER_YEAR

    iv = out["iv"].to_numpy(float)
    own = np.isfinite(iv)
    vol = np.full(n, float(m.vol))
    source = np.full(n, "market", dtype=object)
    if surface is not None:
        sv = np.asarray(surface.vol(strike, np.where(live, t, 0.0)), dtype=float).reshape(n)
        use = ~own & np.isfinite(sv)
        vol = np.where(use, sv, vol)
        source[use] = "surface"
    vol = np.where(own, iv, vol)
    source[own] = "position"

    intrinsic = np.maximum(w * (m.spot - strike), 0.0)
    mark = intrinsic.copy()
    g = {k: np.zeros(n) for k in ("delta", "gamma", "vega", "theta", "rho")}
    p_itm = (intrinsic > 0).astype(float)
    p_touch = (w * (m.spot - strike) >= 0).astype(float)  # expired/today: touched iff at or in the money
    today = days == 0  # expires today: still open (assignment tonight), marked at intrinsic
    if today.any():
        # at t = 0 the kernel's delta is the intrinsic slope (-1 for an ITM put, 0 OTM): an ITM
        # short put about to deliver 100 shares a contract must count in the delta check
        g["delta"][today] = greeks(
            m.spot, strike[today], 0.0, m.rate, vol[today], w[today], m.dividend_yield, style="european"
        )["delta"]
    if live.any():
        args = (m.spot, strike[live], t[live], m.rate, vol[live], w[live], m.dividend_yield)
        pricer = american_price if style == "american" else bs_price
        mark[live] = pricer(*args)
        gl = greeks(*args, style=style)
        for k in g:
            g[k][live] = gl[k]
        p_itm[live] = prob_itm(*args)
        p_touch[live] = prob_touch(*args)

    scale = sign * contracts * mult
    out["sign"] = sign.astype(int)
    out["multiplier"] = int(mult)
    out["dte"] = days
    out["t"] = t
    out["vol_used"] = vol
    out["vol_source"] = source.astype(str)
    out["mark"] = mark
    out["mark_basis"] = np.select(
        [live, today], [f"model ({style})", "intrinsic (expires today)"], "intrinsic (expired)"
    )
    out["value"] = scale * mark
    out["premium_total"] = -sign * premium * contracts * mult
    out["unrealized_pnl"] = out["value"] + out["premium_total"]
    out["intrinsic"] = intrinsic
    out["moneyness"] = strike / m.spot
    out["prob_itm"] = p_itm
    out["prob_touch"] = p_touch
    out["delta_shares"] = scale * g["delta"]
    out["delta_dollars"] = out["delta_shares"] * m.spot
    out["gamma"] = scale * g["gamma"]
    out["theta_day"] = scale * g["theta"] / DAYS_PER_YEAR
    out["vega_point"] = scale * g["vega"] / 100.0
    out["rho_point"] = scale * g["rho"] / 100.0
    short_put = (sign < 0) & (kinds == "put")
    # an expired short put obliges nothing any more (assigned or not, it is history: #11)
    out["obligation"] = np.where(short_put & (days >= 0), strike * mult * contracts, 0.0)
    out["status"] = position_status(kinds, out["side"].to_numpy(object), strike, premium, m.spot, days < 0)
    if stock.any():
        st_scale = sign[stock] * shares[stock]
        out.loc[stock, "mark"] = float(m.spot)
        out.loc[stock, "mark_basis"] = "market (stock at spot)"
        out.loc[stock, "vol_source"] = ""
        out.loc[stock, "value"] = st_scale * m.spot
        out.loc[stock, "premium_total"] = -st_scale * premium[stock]
        out.loc[stock, "unrealized_pnl"] = st_scale * (m.spot - premium[stock])
        out.loc[stock, "delta_shares"] = st_scale
        out.loc[stock, "delta_dollars"] = st_scale * m.spot
        for col in ("intrinsic", "moneyness", "prob_itm", "vol_used", "t"):
            out.loc[stock, col] = np.nan
        out.loc[stock, "status"] = "Stock"
    _requirements(out, positions, cfg, val)
    return out


def _requirements(out, positions, cfg, val: _dt.date) -> None:
    """The account model's per-position columns (:func:`engine.plan.account.position_requirements`)."""
    from engine.data.positions import row_where
    from engine.plan.account import long_dated, position_requirements

    stock = out["kind"].to_numpy(object) == "stock"
    qty = np.where(stock, out["shares"].to_numpy(float), out["contracts"].to_numpy(float))
    dte = np.where(stock, 0, out["dte"].to_numpy(np.int64))
    expiry = [None if st else e for e, st in zip(out["expiry"], stock, strict=True)]
    ld = long_dated(expiry, val, cfg.margin.long_option_loan_months) & (
        out["side"].to_numpy(object) == "long"
    )
    r = position_requirements(
        out["kind"].to_numpy(object),
        out["side"].to_numpy(object),
        out["strike"].to_numpy(float),
        qty,
        out["mark"].to_numpy(float),
        cfg.market.spot,
        cfg.margin,
        dte=dte,
        long_dated_mask=ld,
        underlying=out["underlying"].to_numpy(object),
        multiplier=int(cfg.capital.contract_multiplier),
        where=lambda i: row_where(positions, i),
    )
    for k, v in r.items():
        out[k] = v


def ladder_summary(marked) -> Any:
    """The plan's by-strike table of the short puts of a marked book.

    Parameters
    ----------
    marked : pandas.DataFrame
        Output of :func:`mark_book`.

    Returns
    -------
    pandas.DataFrame
        One row per strike (ascending) and a final ``"Total"`` row: ``strike``, ``contracts``,
        ``premium_collected`` ($), ``current_value`` ($, the cost to buy back: positive),
        ``unrealized_pnl`` ($ = premium_collected - current_value), ``share_of_contracts``
        (fraction of all short-put contracts), ``premium_per_share``, ``moneyness`` (strike /
        spot), ``prob_itm`` and ``prob_touch`` (contract-weighted), ``status`` (rule of :func:`position_status`
        applied to the strike's average premium; ``Expired`` when every lot has expired).
        The plan prints current value as a negative number; here it is the positive buy-back
        cost and the sign lives in ``unrealized_pnl``.

    Raises
    ------
    VolarbInputError
        If ``marked`` is not a marked book or holds no short puts.

    Examples
    --------
    >>> from engine.data.positions import example_positions
    >>> lad = ladder_summary(mark_book(example_positions()))
    >>> lad["contracts"].tolist(), round(float(lad["share_of_contracts"].iloc[1]), 4)
    ([10, 22, 2, 2, 2, 38], 0.5789)
    """
    import pandas as pd

    need = ("value", "premium_total", "prob_itm", "moneyness", "status", "dte")
    if any(c not in marked.columns for c in need):
        raise VolarbInputError(
            "ladder_summary: expected the output of mark_book() (columns " + ", ".join(need) + ")"
        )
    sp = marked[(marked["kind"] == "put") & (marked["side"] == "short")]
    if sp.empty:
        raise VolarbInputError("ladder_summary: the book holds no short puts")
    spot = float((sp["strike"] / sp["moneyness"]).iloc[0])
    mult = float(sp["multiplier"].iloc[0]) if "multiplier" in sp.columns else 100.0
    touch = sp["prob_touch"] if "prob_touch" in sp.columns else np.nan
    grp = sp.assign(
        _pw=sp["prob_itm"] * sp["contracts"],
        _tw=touch * sp["contracts"],
        _live=sp["dte"] > 0,
        _cv=-sp["value"],
    ).groupby("strike", sort=True)
    lad = pd.DataFrame(
        {
            "contracts": grp["contracts"].sum(),
            "premium_collected": grp["premium_total"].sum(),
            "current_value": grp["_cv"].sum(),
        }
    )
    lad["unrealized_pnl"] = lad["premium_collected"] - lad["current_value"]
    total_contracts = lad["contracts"].sum()
    lad["share_of_contracts"] = lad["contracts"] / total_contracts
    lad["premium_per_share"] = lad["premium_collected"] / (lad["contracts"] * mult)
    lad["moneyness"] = lad.index.to_numpy(float) / spot
    lad["prob_itm"] = grp["_pw"].sum() / lad["contracts"]
    lad["prob_touch"] = grp["_tw"].sum(min_count=1) / lad["contracts"]
    any_live = grp["_live"].any()
    lad["status"] = position_status(
        "put",
        "short",
        lad.index.to_numpy(float),
        lad["premium_per_share"].to_numpy(),
        spot,
        ~any_live.to_numpy(),
    )
    lad = lad.reset_index()
    total = {
        "strike": np.nan,
        "contracts": int(total_contracts),
        "premium_collected": lad["premium_collected"].sum(),
        "current_value": lad["current_value"].sum(),
        "unrealized_pnl": lad["unrealized_pnl"].sum(),
        "share_of_contracts": 1.0,
        "premium_per_share": lad["premium_collected"].sum() / (total_contracts * mult),
        "moneyness": np.nan,
        "prob_itm": float((lad["prob_itm"] * lad["contracts"]).sum() / total_contracts),
        "prob_touch": float((lad["prob_touch"] * lad["contracts"]).sum(min_count=1) / total_contracts),
        "status": "Total",
    }
    lad = pd.concat([lad, pd.DataFrame([total])], ignore_index=True)
    lad["contracts"] = lad["contracts"].astype("int64")
    return lad
