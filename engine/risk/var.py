"""Value at risk and expected shortfall of an options book, and the fast American revaluation.

Three methods (``method=``), all reporting VaR and ES as **positive dollar losses** over a
horizon of ``horizon_days`` trading days (time to expiry shrinks by ``horizon_days / 252``
years, the same clock as the simulated move):

``"full"`` (default)
    Full-revaluation Monte Carlo.  The spot moves lognormally at the market implied vol
    ``sigma`` with zero price drift (``E[S_h] = S``): ``ln(S_h/S) ~ N(-sigma^2 h/2, sigma^2 h)``,
    ``h = horizon_days/252``.  Optionally the implied vol moves too (``vol_shock``: annualized
    vol of log implied vol, ``sigma_h = sigma exp(nu sqrt(h) Z' - nu^2 h/2)``, ``Z'``
    independent of ``Z``).  Every position is repriced in every scenario with the American
    pricer through :func:`american_fast` (exact Black-Scholes-Merton European value plus the
    early-exercise premium interpolated on a grid computed by :func:`engine.american_price`;
    the grid is built once per unique expiry and call/put and scaled to every strike by the
    homogeneity ``P(S, K) = K p(S/K)``).  ``style="european"`` reprices with Black-Scholes.
``"delta_gamma"``
    Monte Carlo on the delta-gamma(-theta-vega) approximation of the P&L, same scenarios:
    ``dV = delta dS + gamma dS^2/2 + theta h_cal + vega dsigma``.  The Greeks come from
    :func:`engine.greeks` (``style`` as above).  Used to show where the book is nonlinear.
``"historical"``
    Historical simulation: the overlapping ``horizon_days`` log returns of a daily close
    history (CSV ``date, close``) are applied to today's spot and the book is fully revalued
    (American, at today's implied vols).

VaR is the ``confidence`` quantile of the loss distribution (``numpy.quantile``, linear
interpolation); ES is the mean of the losses at or beyond the VaR.

References
----------
Hull, J. C. *Risk Management and Financial Institutions*, 5th ed., ch. 12-14 (VaR, ES,
historical simulation, model building, delta-gamma).  Jorion, P. *Value at Risk*, 3rd ed., ch. 10.
"""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from engine._validate import VolarbInputError
from engine.data.prices import read_price_history
from engine.data.tables import parse_date
from engine.pricing.american_table import EEPCache, _eep_table, _interp2, american_fast  # noqa: F401 (re-export)
from engine.pricing.black import black_parts, black_value
from engine.units import days_to_years

__all__ = [
    "VarError",
    "american_fast",
    "value_at_risk",
    "book_arrays",
    "TRADING_DAYS_PER_YEAR",
    "VAR_METHODS",
]

TRADING_DAYS_PER_YEAR = 252.0
VAR_METHODS = ("full", "delta_gamma", "historical")


class VarError(VolarbInputError):
    """Bad input to the VaR functions (message names the argument, file, row or column)."""


# ---------------------------------------------------------------------------------------------
# Book arrays
# ---------------------------------------------------------------------------------------------


def book_arrays(positions, config, valuation_date: _dt.date | None = None) -> dict[str, np.ndarray]:
    """Arrays of a positions table: w (+1 call/-1 put), qty (signed shares), strike, t, vol.

    ``qty = sign x contracts x contract_multiplier`` (short negative; 0 for a lot past expiry);
    ``t`` is ACT/365 from
    the valuation date (``config.valuation_date`` by default); ``vol`` is the position's own
    ``iv`` when given, else ``config.market.vol``.
    """
    from engine._validate import parse_kind

    vd = valuation_date or config.valuation_date
    mult = float(config.capital.contract_multiplier)
    n = len(positions)
    if n == 0:
        z = np.zeros(0)
        return {"w": z, "qty": z, "strike": z, "t": z, "vol": z, "premium": z}
    w = np.asarray(parse_kind(list(positions["kind"])), dtype=float).reshape(-1)
    side = np.array([str(s).strip().lower() for s in positions["side"]])
    if np.isnan(w).any() or not np.isin(side, ("long", "short")).all():
        raise VarError("positions: every row needs kind put/call and side long/short")
    sign = np.where(side == "long", 1.0, -1.0)
    qty = sign * np.asarray(positions["contracts"], dtype=float) * mult
    strike = np.asarray(positions["strike"], dtype=float)
    days = np.array([(parse_date(e) - vd).days for e in positions["expiry"]], dtype=float)
    t = np.asarray(days_to_years(np.maximum(days, 0.0)))
    qty = np.where(days < 0, 0.0, qty)  # expired lots carry no risk (engine.risk.expiry)
    vol = np.full(n, float(config.market.vol))
    if "iv" in positions:
        iv = np.asarray(positions["iv"], dtype=float)
        vol = np.where(np.isfinite(iv) & (iv > 0), iv, vol)
    premium = np.asarray(positions["premium"], dtype=float) if "premium" in positions else np.zeros(n)
    return {"w": w, "qty": qty, "strike": strike, "t": t, "vol": vol, "premium": premium}


# ---------------------------------------------------------------------------------------------
# VaR
# ---------------------------------------------------------------------------------------------


def _reprice(
    b: dict, spot_new: np.ndarray, t_new: np.ndarray, vol_new, rate: float, q: float, style: str
) -> np.ndarray:
    """Book value ($) per scenario: sum over positions of qty x price; unique (strike, t, w)."""
    total = np.zeros_like(spot_new)
    keys: dict[tuple, float] = {}
    for i in range(b["w"].size):
        key = (b["w"][i], b["strike"][i], t_new[i], b["vol"][i])
        keys[key] = keys.get(key, 0.0) + b["qty"][i]
    for (w, k, t, v), qty in keys.items():
        if qty == 0:
            continue
        vol = v if vol_new is None else v * vol_new
        if t <= 0:
            price = np.maximum(w * (spot_new - k), 0.0)
        elif style == "american":
            price = american_fast(spot_new, k, t, rate, vol, w, q)
        else:
            price = black_value(w, k, black_parts(spot_new, k, t, rate, vol, q))
        total += qty * price
    return total


def value_at_risk(
    positions,
    config,
    method: str | None = None,
    confidence: float | None = None,
    horizon_days: int | None = None,
    scenarios: int | None = None,
    seed: int | np.random.Generator | None = None,
    history=None,
    *,
    shares: float = 0.0,
    spot: float | None = None,
    style: str = "american",
    vol_shock: float = 0.0,
    valuation_date: _dt.date | None = None,
) -> dict:
    """One-horizon VaR and expected shortfall of an options book (positive $ losses).

    Parameters
    ----------
    positions : pandas.DataFrame
        Positions table (``kind, side, strike, expiry, contracts`` and optionally ``iv``), as
        from :func:`engine.data.positions.read_positions`.  May be empty.  Stock rows (``kind =
        stock``) count as ``shares``.
    config : PlanConfig
        Spot, vol, rate, q (``market``), contract multiplier, and the defaults of
        ``risk.var_method/var_confidence/var_horizon_days/var_scenarios/seed``.
    method : {"full", "delta_gamma", "historical"}, optional
        See the module docstring.  Default ``config.risk.var_method``.
    confidence : float, optional
        VaR confidence level, e.g. 0.95.
    horizon_days : int, optional
        Horizon in trading days (time decays by ``horizon_days/252`` years).
    scenarios : int, optional
        Monte Carlo scenarios (ignored by "historical").
    seed : int or numpy.random.Generator, optional
        Default ``config.risk.seed``.
    history : path or DataFrame, optional
        Daily closes for "historical" (see :func:`engine.data.prices.read_price_history`).
    shares : float
        Shares of the underlying held (e.g. after assignment), signed.
    spot : float, optional
        Today's spot (default ``config.market.spot``).
    style : {"american", "european"}
        Pricer for the revaluation and the Greeks.
    vol_shock : float
        Annualized vol of log implied vol for the Monte Carlo methods (0 = vol unchanged).

    Returns
    -------
    dict
        ``method, confidence, horizon_days, scenarios, var, es`` ($, positive = loss),
        ``pnl_mean, pnl_std, worst_loss, value`` (book value today, $), ``seed``, ``note``.

    Raises
    ------
    VarError
        Unknown method/style, a confidence outside (0.5, 1), a missing history, too few
        history rows.
    engine.data.prices.PriceHistoryError
        A history file that breaks a rule (file, line and column named).

    References
    ----------
    Hull, *Risk Management and Financial Institutions* (2018), ch. 12-14.

    Examples
    --------
    One long share of a $100 stock at 20% vol, 1-day 95% VaR, closed form
    ``100 (1 - exp(-s^2/2 - 1.6449 s))`` with ``s = 0.2/sqrt(252) = 0.012599``: 100 (1 - exp(-0.020803)) = $2.0588.

    >>> import pandas as pd
    >>> from engine.config import default_config
    >>> cfg = default_config().replace(market__spot=100.0, market__vol=0.2)
    >>> empty = pd.DataFrame(columns=["kind", "side", "strike", "expiry", "contracts"])
    >>> r = value_at_risk(empty, cfg, "full", 0.95, 1, 200_000, seed=1, shares=1.0)
    >>> round(r["var"], 1)
    2.1
    """
    rc = config.risk
    method = (method or rc.var_method).strip().lower()
    if method not in VAR_METHODS:
        raise VarError(f"method must be one of {', '.join(VAR_METHODS)}, got {method!r}")
    style = str(style).strip().lower()
    if style not in ("american", "european"):
        raise VarError(f"style must be 'american' or 'european', got {style!r}")
    confidence = rc.var_confidence if confidence is None else float(confidence)
    if not 0.5 <= confidence < 1.0:
        raise VarError(f"confidence must be in [0.5, 1), got {confidence!r}")
    horizon_days = rc.var_horizon_days if horizon_days is None else int(horizon_days)
    if horizon_days < 1:
        raise VarError(f"horizon_days must be >= 1, got {horizon_days!r}")
    scenarios = rc.var_scenarios if scenarios is None else int(scenarios)
    if scenarios < 100 and method != "historical":
        raise VarError(f"scenarios must be >= 100, got {scenarios!r}")
    if vol_shock < 0:
        raise VarError(f"vol_shock must be >= 0, got {vol_shock!r}")
    seed = rc.seed if seed is None else seed
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    m = config.market
    s0 = float(m.spot if spot is None else spot)
    rate, q = float(m.rate), float(m.dividend_yield)
    h = horizon_days / TRADING_DAYS_PER_YEAR
    if "kind" in getattr(positions, "columns", ()) and (positions["kind"].astype(str) == "stock").any():
        # stock rows of the positions table: their signed shares join ``shares``
        st = positions["kind"].astype(str) == "stock"
        sgn = np.where(positions.loc[st, "side"].astype(str).str.lower() == "long", 1.0, -1.0)
        shares = float(shares) + float(np.sum(sgn * positions.loc[st, "shares"].to_numpy(float)))
        positions = positions.loc[~st]
    b = book_arrays(positions, config, valuation_date)
    t_new = np.maximum(b["t"] - h, 0.0)
    sig = float(m.vol)
    base = np.array([s0])
    value_now = float(_reprice(b, base, b["t"], None, rate, q, style)[0]) + shares * s0

    vol_mult = None
    if method == "historical":
        if history is None:
            raise VarError("method 'historical' needs a price history (CSV with columns date, close)")
        hist = read_price_history(history)
        closes = hist["close"].to_numpy()
        if closes.size < horizon_days + 20:
            raise VarError(
                f"price history has {closes.size} closes; need at least {horizon_days + 20} "
                f"for {horizon_days}-day historical VaR"
            )
        logret = np.log(closes[horizon_days:] / closes[:-horizon_days])
        s_new = s0 * np.exp(logret)
        note = f"historical simulation: {logret.size} overlapping {horizon_days}-day log returns, full revaluation ({style})"
    else:
        z = rng.standard_normal(scenarios)
        sd = sig * math.sqrt(h)
        s_new = s0 * np.exp(-0.5 * sd * sd + sd * z)
        if vol_shock > 0:
            z2 = rng.standard_normal(scenarios)
            nu = vol_shock * math.sqrt(h)
            vol_mult = np.exp(nu * z2 - 0.5 * nu * nu)
        note = f"Monte Carlo, {scenarios} lognormal scenarios at the market vol {sig:g}, zero price drift" + (
            f", log-vol shock {vol_shock:g}/sqrt(yr)" if vol_shock > 0 else ""
        )

    if method == "delta_gamma":
        from engine.pricing.greeks import greeks

        ds = s_new - s0
        pnl = shares * ds
        if b["w"].size:
            g = greeks(s0, b["strike"], b["t"], rate, b["vol"], b["w"], q, style=style)
            d_tot = float(np.sum(b["qty"] * g["delta"]))
            g_tot = float(np.sum(b["qty"] * g["gamma"]))
            th_tot = float(np.sum(b["qty"] * g["theta"]))
            pnl = pnl + d_tot * ds + 0.5 * g_tot * ds * ds + th_tot * h
            if vol_mult is not None:
                vega_tot = float(np.sum(b["qty"] * g["vega"] * b["vol"]))
                pnl = pnl + vega_tot * (vol_mult - 1.0)
        note = "delta-gamma-theta" + ("-vega" if vol_mult is not None else "") + " approximation, " + note
    else:
        pnl = _reprice(b, s_new, t_new, vol_mult, rate, q, style) + shares * s_new - value_now
    loss = -pnl
    var = float(np.quantile(loss, confidence))
    tail = loss[loss >= var]
    es = float(tail.mean()) if tail.size else var
    return {
        "method": method,
        "style": style,
        "confidence": confidence,
        "horizon_days": horizon_days,
        "scenarios": int(loss.size),
        "var": var,
        "es": es,
        "pnl_mean": float(pnl.mean()),
        "pnl_std": float(pnl.std()),
        "worst_loss": float(loss.max()),
        "value": value_now,
        "seed": seed if isinstance(seed, int) else None,
        "note": note,
    }
