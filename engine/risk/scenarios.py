"""Trader views of the book: spot x vol stress grid, P&L curves, breakevens, exposure by expiry and strike.

Every function takes the book as arrays (one element per position, the glossary's order: spot,
strike, t, rate, vol, w, q, then the position's ``sign`` and ``qty``) and returns arrays; there is
no Python loop over positions.  Units: $ per share for prices, years ACT/365 for times,
annualized decimal vols, ``w`` +1 call / -1 put / 0 a share of stock (worth the spot at any
time), ``sign`` +1 long / -1 short, ``qty`` shares (contracts x multiplier, or shares of stock).
Money results are $ for the whole book, signed (+ gain, - loss).

* :func:`stress_pnl` - instant P&L of the book when spot moves by ``spot_shock`` (fraction,
  -0.75 = -75%) and every vol is multiplied by ``vol_mult``, all other inputs unchanged: full
  revaluation, ``sum sign * qty * (price(S (1 + shock), vol x mult) - price(S, vol))``.  The
  centre node (0, x1) is zero by construction.
* :func:`stress_excess_liquidity` - the account's excess liquidity at each node (net
  liquidation + node P&L - net maintenance requirement at the node's spot and marks), through
  :func:`excess_liquidity_adapter`, the one call into the account model
  (:mod:`engine.plan.account`).
* :func:`pnl_curve` - P&L against the entry premium on a grid of underlying prices, at an
  evaluation time (0 = today; a position expired by then counts at intrinsic value).
* :func:`breakevens`, :func:`max_loss` - the prices where a curve crosses zero (linear
  interpolation between grid points; exact where the curve is piecewise linear, as at expiry)
  and its minimum.
* :func:`exposure_by` - Greeks, obligation, margin and value summed per expiry or per strike of
  a marked book (:func:`engine.risk.book.mark_book`).
* :func:`assignment_calendar` - per expiry date: days left, short puts and calls, shares that
  change hands if every in-the-money option is exercised at today's spot, the cash an
  assignment of every short put needs, and the model's expected shares (probability ITM x shares).

References
----------
Hull, J. C. *Options, Futures, and Other Derivatives*, 10th ed., ch. 12 (payoffs and
breakevens of option positions) and ch. 22 (stress testing: full revaluation over a grid of
market moves).  FINRA Rule 4210(f)(2) and the CBOE Margin Manual for the requirement behind the
excess liquidity (via :mod:`engine.plan.account`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

import numpy as np

from engine._validate import VolarbInputError

__all__ = [
    "DEFAULT_SPOT_SHOCKS",
    "DEFAULT_VOL_MULTS",
    "AccountBook",
    "book_value",
    "stress_pnl",
    "excess_liquidity_adapter",
    "stress_excess_liquidity",
    "pnl_curve",
    "breakevens",
    "max_loss",
    "exposure_by",
    "assignment_calendar",
    "EXPOSURE_COLUMNS",
]

#: Spot moves of the stress grid, fraction of spot (-75% .. +200%).
DEFAULT_SPOT_SHOCKS = (-0.75, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
#: Vol multipliers of the stress grid (x0.5 .. x1.5).
DEFAULT_VOL_MULTS = (0.5, 0.75, 1.0, 1.25, 1.5)
#: Columns :func:`exposure_by` sums (all $ or shares, signed, whole positions).
EXPOSURE_COLUMNS = (
    "contracts",
    "premium_total",
    "value",
    "unrealized_pnl",
    "delta_shares",
    "delta_dollars",
    "gamma",
    "theta_day",
    "vega_point",
    "obligation",
    "margin",
)


def _arrays(**kw: Any) -> dict[str, np.ndarray]:
    out = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in kw.items()}
    n = np.broadcast_shapes(*(a.shape for a in out.values()))
    if len(n) != 1:
        raise VolarbInputError(f"the book must be 1-D arrays, one element per position; got shape {n}")
    return {k: np.broadcast_to(a, n) for k, a in out.items()}


def _price(spot, strike, t, rate, vol, w, q, style: str) -> np.ndarray:
    """Model price per share, intrinsic where ``t <= 0`` (broadcast arrays)."""
    from engine.pricing.american import american_price
    from engine.pricing.black import bs_price

    spot, strike, t, vol, w = np.broadcast_arrays(spot, strike, t, vol, w)
    rate, q = np.broadcast_to(rate, spot.shape), np.broadcast_to(q, spot.shape)
    out = np.where(w == 0, spot, np.maximum(w * (spot - strike), 0.0))  # w = 0: a share (worth the spot)
    live = (t > 0) & (spot > 0) & (w != 0)
    if style != "american":
        # a European put at S = 0 is worth the discounted strike (an American one is exercised: K)
        out = np.where((spot <= 0) & (t > 0) & (w < 0), strike * np.exp(-rate * np.maximum(t, 0.0)), out)
    if live.any():
        pricer = american_price if style == "american" else bs_price
        out = out.copy()
        out[live] = pricer(spot[live], strike[live], t[live], rate[live], vol[live], w[live], q[live])
    return out


def book_value(spot, strike, t, rate, vol, w, q, sign, qty, style: str = "american") -> float:
    """Model value of the book, $ (``sum sign * qty * price``; shorts negative).

    >>> round(book_value(3.15, 2.5, 0.0, 0.04, 4.25, -1, 0.0, -1, 100), 6)  # expired OTM put
    0.0
    >>> round(book_value(2.0, 2.5, 0.0, 0.04, 4.25, -1, 0.0, -1, 100), 6)  # expired ITM: -0.50 x 100
    -50.0
    """
    a = _arrays(strike=strike, t=t, vol=vol, w=w, sign=sign, qty=qty)
    p = _price(float(spot), a["strike"], a["t"], rate, a["vol"], a["w"], q, style)
    return float(np.sum(a["sign"] * a["qty"] * p)) + 0.0


def stress_pnl(
    spot,
    strike,
    t,
    rate,
    vol,
    w,
    q,
    sign,
    qty,
    spot_shocks=DEFAULT_SPOT_SHOCKS,
    vol_mults=DEFAULT_VOL_MULTS,
    style: str = "american",
) -> np.ndarray:
    """Instant P&L of the book over a spot x vol grid, $ (rows: spot shocks, columns: vol multipliers).

    Parameters
    ----------
    spot : float
        Underlying price now, $ per share.
    strike, t, vol, w, sign, qty : array_like
        Per position: strike ($/share), time to expiry (years; <= 0 counts at intrinsic), vol
        (annualized decimal), +1 call / -1 put, +1 long / -1 short, shares (contracts x multiplier).
    rate, q : float
        Continuous rate and dividend yield.
    spot_shocks : sequence of float
        Spot moves as fractions (> -1): the node's spot is ``spot * (1 + shock)``.
    vol_mults : sequence of float
        Vol multipliers (>= 0): the node's vol is ``vol * mult``.
    style : {"american", "european"}
        Pricing model of the revaluation (the marks' model).

    Returns
    -------
    ndarray, shape (len(spot_shocks), len(vol_mults))
        ``sum sign * qty * (price(node) - price(now))``, $; 0 at (0, x1).

    Examples
    --------
    One short put, K 2.50, expired (t = 0), 100 shares: at -50% (S 1.575) it is worth 0.925 a
    share, so the P&L is -92.50; a vol shock changes nothing at intrinsic value.

    >>> stress_pnl(3.15, [2.5], [0.0], 0.04, [4.25], [-1], 0.0, [-1], [100], [-0.5, 0.0], [1.0, 1.5]).round(2).tolist()
    [[-92.5, -92.5], [0.0, 0.0]]
    """
    a = _arrays(strike=strike, t=t, vol=vol, w=w, sign=sign, qty=qty)
    shocks = np.asarray(spot_shocks, dtype=float).reshape(-1)
    mults = np.asarray(vol_mults, dtype=float).reshape(-1)
    if np.any(shocks <= -1.0) or not np.all(np.isfinite(shocks)):
        raise VolarbInputError(
            f"spot_shocks must be finite fractions > -1 (a spot of 0 or less), got {shocks.tolist()}"
        )
    if np.any(mults < 0.0) or not np.all(np.isfinite(mults)):
        raise VolarbInputError(f"vol_mults must be finite and >= 0, got {mults.tolist()}")
    spot = float(spot)
    if not spot > 0:
        raise VolarbInputError(f"spot must be > 0, got {spot!r}")
    now = _price(spot, a["strike"], a["t"], rate, a["vol"], a["w"], q, style)
    s = (spot * (1.0 + shocks))[:, None, None]
    v = a["vol"][None, None, :] * mults[None, :, None]
    node = _price(
        s, a["strike"][None, None, :], a["t"][None, None, :], rate, v, a["w"][None, None, :], q, style
    )
    pnl = np.sum((a["sign"] * a["qty"])[None, None, :] * (node - now[None, None, :]), axis=2)
    i0 = np.flatnonzero(shocks == 0.0)
    j0 = np.flatnonzero(mults == 1.0)
    if i0.size and j0.size:
        pnl[np.ix_(i0, j0)] = 0.0  # the same prices: exactly zero, not a rounding residue
    return pnl


@dataclasses.dataclass(frozen=True)
class AccountBook:
    """The book as the account model needs it (arrays, one element per position).

    Attributes
    ----------
    kind, side : ndarray of str
        "put" / "call" / "stock"; "long" / "short".
    strike : ndarray
        $ per share (stock rows: any placeholder).
    qty : ndarray
        Contracts (options) or shares (stock).
    dte : ndarray of int
        Days to expiry (stock rows 0; < 0 expired).
    long_dated : ndarray of bool
        Long options with loan value (more than ``margin.long_option_loan_months`` to expiry).
    underlying : ndarray of str
    multiplier : int
        Shares per contract.
    """

    kind: np.ndarray
    side: np.ndarray
    strike: np.ndarray
    qty: np.ndarray
    dte: np.ndarray
    long_dated: np.ndarray
    underlying: np.ndarray
    multiplier: int = 100


def excess_liquidity_adapter(net_liquidation, spot, marks, book: AccountBook, margin: Any) -> np.ndarray:
    """Excess liquidity of the account at each node, $: net liquidation - net maintenance requirement.

    The one place the stress views reach the account model, :mod:`engine.plan.account`: at each
    node the book's strategy-based requirements (:func:`engine.plan.account.position_requirements`,
    FINRA 4210 / CBOE pairing of covered calls and spreads, stock rows) are taken at the node's
    spot and marks, on the net-liquidation basis (``margin``: the requirement net of the
    positions' value), so ``EL = NLV - sum(margin)`` - the same identity as
    ``AccountState.excess_liquidity = EWL - full maintenance requirement``.

    Parameters
    ----------
    net_liquidation : array_like
        NLV at each node, $ (shape of ``spot``).
    spot : array_like
        Node spot, $ per share.
    marks : array_like
        Node price of each position, $ per share, shape ``spot.shape + (n_positions,)``.
    book : AccountBook
        The positions as the account model reads them.
    margin : engine.config.MarginConfig
        Account type and house rules.

    Returns
    -------
    ndarray
        Excess liquidity, $ (negative: a margin call), shape of ``spot``.

    Examples
    --------
    $3,792 NLV, one short $2.50 put marked 1.15 at S 3.15 (FINRA 4210: 1.15 + max(0.20 x 3.15 -
    0.65, 0.10 x 2.50) = 1.40 a share full, 0.25 net of the value): EL = 3,792 - 25 = 3,767.

    >>> from engine.config import MarginConfig
    >>> b = AccountBook(np.array(["put"]), np.array(["short"]), np.array([2.5]), np.array([1.0]),
    ...                 np.array([20]), np.array([False]), np.array(["ASST"]))
    >>> float(excess_liquidity_adapter(3792.0, 3.15, [1.15], b, MarginConfig()))
    3767.0
    """
    from engine.plan.account import position_requirements

    spot = np.asarray(spot, dtype=float)
    marks = np.asarray(marks, dtype=float).reshape(spot.shape + (book.strike.size,))
    req = np.empty(spot.shape)
    for idx in np.ndindex(spot.shape):  # a loop over nodes; positions are arrays
        r = position_requirements(
            book.kind,
            book.side,
            book.strike,
            book.qty,
            marks[idx],
            float(spot[idx]),
            margin,
            dte=book.dte,
            long_dated_mask=book.long_dated,
            underlying=book.underlying,
            multiplier=book.multiplier,
        )
        req[idx] = float(np.sum(r["margin"]))
    return np.asarray(net_liquidation, dtype=float) - req


def stress_excess_liquidity(
    net_liquidation: float,
    spot,
    strike,
    t,
    rate,
    vol,
    w,
    q,
    sign,
    qty,
    account: AccountBook,
    margin: Any,
    spot_shocks=DEFAULT_SPOT_SHOCKS,
    vol_mults=DEFAULT_VOL_MULTS,
    style: str = "american",
) -> np.ndarray:
    """Excess liquidity at each node of the stress grid, $ (rows: spot shocks, columns: vol multipliers).

    The node's net liquidation is ``net_liquidation + stress_pnl(node)`` (the book is
    revalued; cash is unchanged), and the requirement is the account model's at the node's spot
    and marks (:func:`excess_liquidity_adapter`).  ``strike ... qty`` are the pricing arrays of
    :func:`stress_pnl` (``qty`` in shares); ``account`` the same positions for the account model.

    Examples
    --------
    One expired $2.50 short put (intrinsic marks) and $3,792 NLV: at S 3.15 it is OTM (net
    requirement max(0.20 x 3.15 - 0.65, 0.25) = 0.25 x 100 = 25); at -50% (S 1.575) the mark is
    0.925, NLV 3,792 - 92.50 = 3,699.50, net requirement max(0.20 x 1.575, 0.25) = 0.315 x 100, so
    EL = 3,699.50 - 31.50 = 3,668.

    >>> from engine.config import MarginConfig
    >>> b = AccountBook(np.array(["put"]), np.array(["short"]), np.array([2.5]), np.array([1.0]),
    ...                 np.array([0]), np.array([False]), np.array(["ASST"]))
    >>> stress_excess_liquidity(3792.0, 3.15, [2.5], [0.0], 0.04, [4.25], [-1], 0.0, [-1], [100], b,
    ...                         MarginConfig(), [-0.5, 0.0], [1.0]).round(2).tolist()
    [[3668.0], [3767.0]]
    """
    a = _arrays(strike=strike, t=t, vol=vol, w=w, sign=sign, qty=qty)
    shocks = np.asarray(spot_shocks, dtype=float).reshape(-1)
    mults = np.asarray(vol_mults, dtype=float).reshape(-1)
    pnl = stress_pnl(
        spot, a["strike"], a["t"], rate, a["vol"], a["w"], q, a["sign"], a["qty"], shocks, mults, style
    )
    s = (float(spot) * (1.0 + shocks))[:, None, None]
    v = a["vol"][None, None, :] * mults[None, :, None]
    marks = _price(
        s, a["strike"][None, None, :], a["t"][None, None, :], rate, v, a["w"][None, None, :], q, style
    )
    s_nodes = np.broadcast_to(s[:, :, 0], pnl.shape)
    return excess_liquidity_adapter(float(net_liquidation) + pnl, s_nodes, marks, account, margin)


def pnl_curve(
    prices, strike, t, rate, vol, w, q, sign, qty, premium, at=0.0, style: str = "american"
) -> np.ndarray:
    """P&L of the book against its entry premium on a grid of underlying prices, $.

    ``pnl(S) = sum sign * qty * (value_i(S, at) - premium_i)``, where ``value_i`` is the model
    price with ``t_i - at`` years left, or the intrinsic value once ``at >= t_i`` (the option
    has expired; its settlement is counted without interest).  Vols and the rate stay as given.

    Parameters
    ----------
    prices : array_like
        Underlying prices, $ per share (1-D grid).
    strike, t, vol, w, sign, qty, premium : array_like
        Per position; ``premium`` is the entry price, $ per share (received for a short).
    rate, q : float
        Continuous rate and dividend yield.
    at : float
        Evaluation time, years from today (0 = today; ``max(t)`` = after the last expiry).
    style : {"american", "european"}

    Returns
    -------
    ndarray, shape (len(prices),)

    Examples
    --------
    One short $2.50 put sold for $0.60, 100 shares, at its expiry: at S 0 the loss is
    (0.60 - 2.50) x 100 = -190; at S 1.50, (0.60 - 1.00) x 100 = -40; above the strike the
    whole premium, +60.

    >>> pnl_curve([0.0, 1.5, 2.5, 4.0], [2.5], [0.05], 0.04, [4.25], [-1], 0.0, [-1], [100], [0.6], at=0.05).round(6).tolist()
    [-190.0, -40.0, 60.0, 60.0]
    """
    a = _arrays(strike=strike, t=t, vol=vol, w=w, sign=sign, qty=qty, premium=premium)
    s = np.asarray(prices, dtype=float).reshape(-1)
    left = a["t"] - float(at)
    value = _price(
        s[:, None], a["strike"][None, :], left[None, :], rate, a["vol"][None, :], a["w"][None, :], q, style
    )
    return np.sum((a["sign"] * a["qty"])[None, :] * (value - a["premium"][None, :]), axis=1) + 0.0


def breakevens(prices, pnl) -> np.ndarray:
    """Underlying prices where a P&L curve crosses zero (linear interpolation), $ per share.

    A grid point where the P&L is exactly zero is a breakeven; between two points of opposite
    sign the crossing is interpolated linearly (exact when the curve is linear there, as a book
    at expiry is between strikes).  Returns an empty array when the curve never crosses.

    Examples
    --------
    Short $2.50 put sold for $0.60: breakeven = strike - premium = 1.90.

    >>> breakevens([0.0, 1.0, 2.0, 3.0], [-190.0, -90.0, 10.0, 60.0]).round(6).tolist()
    [1.9]
    """
    x = np.asarray(prices, dtype=float).reshape(-1)
    y = np.asarray(pnl, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise VolarbInputError(f"prices and pnl must have the same length, got {x.size} and {y.size}")
    out: list[float] = list(x[y == 0.0])
    a, b = y[:-1], y[1:]
    cross = (a * b) < 0
    if cross.any():
        xa, xb = x[:-1][cross], x[1:][cross]
        out += list(xa - a[cross] * (xb - xa) / (b[cross] - a[cross]))
    return np.unique(np.asarray(out, dtype=float))


def max_loss(prices, pnl) -> tuple[float, float, bool]:
    """The worst P&L on the grid, $, the price where it occurs, and whether it is open-ended.

    Returns ``(loss, price, unbounded)``: ``loss`` is the minimum of ``pnl`` (negative for a
    loss), ``price`` its underlying price, and ``unbounded`` True when the curve still falls at
    the top of the grid (a net short call: the loss grows without limit as the price rises).

    Examples
    --------
    >>> max_loss([0.0, 1.0, 2.0, 3.0], [-190.0, -90.0, 10.0, 60.0])
    (-190.0, 0.0, False)
    """
    x = np.asarray(prices, dtype=float).reshape(-1)
    y = np.asarray(pnl, dtype=float).reshape(-1)
    if x.size == 0 or x.shape != y.shape:
        raise VolarbInputError("prices and pnl must be non-empty and of the same length")
    i = int(np.argmin(y))
    unbounded = bool(x.size > 1 and y[-1] < y[-2] - 1e-9 * max(1.0, abs(y[-2])))
    return float(y[i]), float(x[i]), unbounded


def exposure_by(marked: Any, by: str = "expiry") -> Any:
    """Greeks, obligation, margin and value of a marked book summed per expiry or per strike.

    Parameters
    ----------
    marked : pandas.DataFrame
        :func:`engine.risk.book.mark_book` output.
    by : {"expiry", "strike"}

    Returns
    -------
    pandas.DataFrame
        One row per expiry (or strike), sorted, with ``positions`` (rows) and the sums of
        :data:`EXPOSURE_COLUMNS`: contracts, premium_total, value, unrealized_pnl ($),
        delta_shares (shares), delta_dollars ($), gamma (shares per $), theta_day ($ per day),
        vega_point ($ per vol point), obligation ($: short-put strike x shares), margin ($,
        capital model); plus ``expected_assigned_shares`` (sum of probability ITM x shares of
        the short options) and ``share_of_obligation`` (fraction of the book's obligation).

    Examples
    --------
    >>> from engine.data.positions import example_positions
    >>> from engine.risk.book import mark_book
    >>> e = exposure_by(mark_book(example_positions()), "strike")
    >>> e["strike"].tolist(), e["contracts"].tolist(), e["obligation"].round(2).tolist()
    ([2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 7.5, 12.0], [10, 22, 2, 2, 2, 1, 2, 2, 1], [2000.0, 5500.0, 600.0, 0.0, 800.0, 0.0, 1000.0, 0.0, 0.0])
    """
    import pandas as pd

    if by not in ("expiry", "strike"):
        raise VolarbInputError(f"by must be 'expiry' or 'strike', got {by!r}")
    df = marked.copy()
    mult = df["multiplier"].to_numpy(float) if "multiplier" in df.columns else 100.0
    short = df["sign"].to_numpy(float) < 0
    df["expected_assigned_shares"] = np.where(
        short, df["prob_itm"].to_numpy(float) * df["contracts"].to_numpy(float) * mult, 0.0
    )
    cols = [c for c in EXPOSURE_COLUMNS if c in df.columns] + ["expected_assigned_shares"]
    g = df.groupby(by, sort=True)
    out = g[cols].sum()
    out.insert(0, "positions", g.size())
    total = float(df["obligation"].sum()) if "obligation" in df.columns else 0.0
    out["share_of_obligation"] = out["obligation"] / total if total > 0 else 0.0
    out = out.reset_index()
    if by == "strike":
        out["strike"] = out["strike"].astype(float)
    return pd.DataFrame(out)


def assignment_calendar(marked: Any, spot: float, valuation_date: _dt.date) -> Any:
    """The expiry and assignment calendar of a marked book, one row per expiry date.

    Columns: ``expiry`` (date), ``weekday``, ``days`` (calendar days from the valuation date),
    ``short_puts`` / ``short_calls`` / ``long_options`` (contracts), ``itm_short_puts`` (short
    put contracts in the money at ``spot``), ``shares_if_assigned_now`` (shares bought through
    ITM short puts at today's spot, less shares called away through ITM short calls),
    ``cash_if_all_assigned`` ($: strike x shares of every short put, the obligation),
    ``cash_if_itm_assigned`` ($: the same for the ITM ones only), ``expected_assigned_shares``
    (probability ITM x shares, short options) and ``premium_at_risk`` ($: premium received on
    that date's short options).

    Examples
    --------
    >>> import datetime as dt
    >>> from engine.data.positions import example_positions
    >>> from engine.risk.book import mark_book
    >>> cal = assignment_calendar(mark_book(example_positions()), 3.15, dt.date(2025, 9, 27))
    >>> cal["days"].tolist(), cal["itm_short_puts"].tolist(), cal["cash_if_itm_assigned"].round(2).tolist()
    ([20, 55, 83, 111, 264], [0, 0, 4, 0, 0], [0.0, 0.0, 1800.0, 0.0, 0.0])
    """
    import pandas as pd

    df = marked
    mult = df["multiplier"].to_numpy(float) if "multiplier" in df.columns else 100.0
    sign = df["sign"].to_numpy(float)
    kind = df["kind"].to_numpy(object)
    k = df["strike"].to_numpy(float)
    n = df["contracts"].to_numpy(float)
    sp = (sign < 0) & (kind == "put")
    sc = (sign < 0) & (kind == "call")
    itm_p = sp & (k > spot)
    itm_c = sc & (k < spot)
    frame = pd.DataFrame(
        {
            "expiry": df["expiry"].to_numpy(object),
            "short_puts": np.where(sp, n, 0.0),
            "short_calls": np.where(sc, n, 0.0),
            "long_options": np.where(sign > 0, n, 0.0),
            "itm_short_puts": np.where(itm_p, n, 0.0),
            "shares_if_assigned_now": np.where(itm_p, n * mult, 0.0) - np.where(itm_c, n * mult, 0.0),
            "cash_if_all_assigned": np.where(sp, k * n * mult, 0.0),
            "cash_if_itm_assigned": np.where(itm_p, k * n * mult, 0.0),
            "expected_assigned_shares": np.where(sign < 0, df["prob_itm"].to_numpy(float) * n * mult, 0.0),
            "premium_at_risk": np.where(sign < 0, df["premium"].to_numpy(float) * n * mult, 0.0),
        }
    )
    out = frame.groupby("expiry", sort=True).sum().reset_index()
    out.insert(1, "weekday", [e.strftime("%a") for e in out["expiry"]])
    out.insert(2, "days", [(e - valuation_date).days for e in out["expiry"]])
    for c in ("short_puts", "short_calls", "long_options", "itm_short_puts"):
        out[c] = out[c].astype(int)
    return out
