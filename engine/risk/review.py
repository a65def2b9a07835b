"""The plan's weekly review: performance, calibration, allocation and environment metrics.

Metric functions are empyrical-style: arrays in, a float out (a 2-D array gives one value per
column where said), and **NaN when there is too little data** (never a made-up number).
:func:`weekly_review` reads the two CSVs and assembles every metric into a JSON-ready dict.

Inputs
------
A trade journal and a daily equity history, read and validated by
:func:`engine.data.journal.read_journal` and :func:`engine.data.journal.read_equity` (the columns
are described there); a stock line of an imported journal is skipped by the option metrics.

Definitions
-----------
daily return ``r_t = (E_t - c_t) / E_{t-1} - 1`` (deposits are not performance; NaN when
``E_{t-1} <= 0``); Sharpe ``sqrt(252) mean(r - rf/252) / std(r)`` (ddof 1); max drawdown the
largest fall of the compounded return index from its running peak, a **positive** fraction;
weekly return the compounded return over the last 7 calendar days; premium capture rate
``sum (open - close) x qty / sum open x qty`` over closed short options; Brier score
``mean (p - o)^2`` over short puts that expired (o = 0) or were assigned (o = 1); allocation
drift ``0.5 sum |actual_i - target_i|`` with actual the share of open short-put obligation
(strike x 100 x contracts) at each plan strike; hedge effectiveness the return on the money
spent on long calls closed, exercised or expired (``sum P&L / sum cost``, -1 = every hedge
expired worthless); correlation the Pearson correlation of daily returns with a second price
series (e.g. bitcoin) on common dates.

References
----------
Brier, G. W. (1950), "Verification of forecasts expressed in terms of probability",
*Monthly Weather Review* 78(1).  Sharpe, W. F. (1994), "The Sharpe ratio", *J. Portfolio
Management* 21(1).  Quantopian ``empyrical`` (conventions for too little data).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np

from engine.data.journal import read_equity, read_journal

__all__ = [
    "daily_returns",
    "sharpe_ratio",
    "max_drawdown",
    "weekly_return",
    "brier_score",
    "correlation",
    "journal_metrics",
    "allocation_drift",
    "weekly_review",
    "rebalancing_recommendation",
]


def daily_returns(equity, contributions=None) -> np.ndarray:
    """Daily returns net of deposits, ``(E_t - c_t)/E_{t-1} - 1`` (length n - 1).

    >>> daily_returns([100.0, 110.0, 1110.0], [0.0, 0.0, 1000.0]).round(12).tolist()
    [0.1, 0.0]
    """
    e = np.asarray(equity, dtype=float)
    c = np.zeros_like(e) if contributions is None else np.asarray(contributions, dtype=float)
    if e.size < 2:
        return np.zeros(0)
    prev = e[:-1]
    ok = prev > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, (e[1:] - c[1:]) / np.where(ok, prev, 1.0) - 1.0, np.nan)


def _columns(returns) -> tuple[np.ndarray, Any]:
    """Returns as a 2-D float array (one column per series) and a function shaping the result.

    empyrical's convention: 1-D input (list, ndarray, Series) gives a float; 2-D gives one value
    per column, an ndarray for an ndarray and a Series indexed by the columns for a DataFrame.
    """
    import sys

    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(returns, pd.DataFrame):
        cols = returns.columns
        return returns.to_numpy(dtype=float), lambda v: pd.Series(v, index=cols, dtype=float)
    r = np.asarray(returns, dtype=float)
    if r.ndim == 2:
        return r, lambda v: v
    return r.reshape(-1, 1), lambda v: float(v[0])


def sharpe_ratio(returns, risk_free: float = 0.0, periods: int = 252):
    """Annualized Sharpe ratio of periodic returns (NaN with fewer than 2 returns or zero spread).

    ``(mean(r) - risk_free / periods) / std(r, ddof=1) * sqrt(periods)`` over the finite returns.

    Parameters
    ----------
    returns : array_like, pandas.Series or pandas.DataFrame
        1-D (a float) or 2-D (one value per column: an ndarray, or a Series indexed by the
        columns of a DataFrame); NaNs are dropped per column.
    risk_free : float
        Annual risk-free rate (continuous-ish; ``rf/periods`` per period).
    periods : int
        Periods per year (252 for daily).

    References
    ----------
    Sharpe, W. F. (1994), "The Sharpe Ratio", *Journal of Portfolio Management* 21(1); the
    annualization as in empyrical's ``sharpe_ratio``.

    Examples
    --------
    Returns 1%, 3%: mean 2%, std (ddof 1) 1.41421%: sqrt(252) x 2 / 1.41421 = 22.4499.

    >>> round(sharpe_ratio([0.01, 0.03]), 4)
    22.4499
    """
    r, shape = _columns(returns)
    ok = np.isfinite(r)
    n = ok.sum(axis=0)
    x = np.where(ok, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=0) / n
        var = (np.where(ok, x - mean, 0.0) ** 2).sum(axis=0) / (n - 1)
        sd = np.sqrt(var)
        out = (mean - risk_free / periods) / sd * math.sqrt(periods)
    out = np.where((n < 2) | ~(sd > 0), np.nan, out)
    return shape(out)


def max_drawdown(returns):
    """Largest fall of the compounded index from its running peak, a positive fraction.

    NaN for no returns; the index starts at 1 before the first return; a NaN return is a
    period left out (the index does not move).  1-D input gives a float, 2-D one value per
    column (a Series for a DataFrame), as :func:`sharpe_ratio`.

    References
    ----------
    Magdon-Ismail, M. and Atiya, A. (2004), "Maximum drawdown", *Risk* 17(10); empyrical's
    ``max_drawdown``.

    >>> round(max_drawdown([0.1, -0.5, 0.2]), 6)
    0.5
    """
    r, shape = _columns(returns)
    ok = np.isfinite(r)
    growth = np.where(ok, 1.0 + r, 1.0)
    idx = np.vstack([np.ones((1, r.shape[1])), np.cumprod(growth, axis=0)])
    peak = np.maximum.accumulate(idx, axis=0)
    out = np.max(1.0 - idx / peak, axis=0)
    return shape(np.where(ok.sum(axis=0) == 0, np.nan, out))


def weekly_return(dates, returns, as_of: _dt.date | None = None) -> float:
    """Compounded return over the 7 calendar days ending at ``as_of`` (default the last date).

    ``dates`` are the dates of the returns (the later day of each pair).  NaN when no return
    falls in the week.

    >>> import datetime as dt
    >>> d = [dt.date(2025, 9, 19), dt.date(2025, 9, 22), dt.date(2025, 9, 26)]
    >>> round(weekly_return(d, [0.5, 0.1, 0.1]), 6)
    0.21
    """
    d = list(dates)
    r = np.asarray(returns, dtype=float)
    if not d:
        return float("nan")
    end = as_of or max(d)
    start = end - _dt.timedelta(days=7)
    sel = np.array([start < x <= end for x in d]) & np.isfinite(r)
    if not sel.any():
        return float("nan")
    return float(np.prod(1.0 + r[sel]) - 1.0)


def brier_score(predicted, outcome) -> float:
    """Mean squared error of probability forecasts against 0/1 outcomes (NaN when empty).

    >>> brier_score([0.9, 0.2], [1, 0])
    0.025
    """
    p = np.asarray(predicted, dtype=float)
    o = np.asarray(outcome, dtype=float)
    ok = np.isfinite(p) & np.isfinite(o)
    if not ok.any():
        return float("nan")
    return float(np.round(np.mean((p[ok] - o[ok]) ** 2), 15))


def correlation(a, b) -> float:
    """Pearson correlation of two aligned return arrays (NaN with fewer than 3 common points).

    >>> round(correlation([0.01, 0.02, -0.01], [0.02, 0.04, -0.02]), 12)
    1.0
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or x[ok].std() == 0 or y[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def _txt(v: Any) -> str:
    return v.strip().upper() if isinstance(v, str) else ""


def journal_metrics(journal) -> dict:
    """Premium capture, hedge effectiveness, Brier score and open short puts from a journal.

    Returns
    -------
    dict
        ``premium_capture_rate`` (NaN without closed shorts), ``premium_closed`` ($ of premium
        on the closed shorts), ``hedge_effectiveness`` (return on closed long calls, NaN if
        none), ``hedge_cost_closed``, ``brier_score`` (NaN without settled predicted puts),
        ``brier_count``, ``open_short_puts`` ({strike: contracts}), ``open_positions`` (list of
        {underlying, kind, side, strike, expiry, contracts, premium}: the open book, premium = average open
        price $ per share).
    """
    pos: dict[tuple, list] = {}  # key -> [signed contracts, avg open price, predicted probs]
    captured = base = hedge_pnl = hedge_cost = 0.0
    preds: list[float] = []
    outs: list[float] = []
    for r in journal.sort_values("date", kind="stable").to_dict("records"):
        if r["kind"] == "stock":
            continue  # share lots (imported journals): not an option position
        key = (_txt(r.get("account")), _txt(r.get("underlying")), r["kind"], r["strike"], r["expiry"])
        st = pos.setdefault(key, [0.0, 0.0, []])
        qty, px, act = r["contracts"], r["price"], r["action"]
        side = -1.0 if act == "sell" else (1.0 if act == "buy" else (-1.0 if st[0] > 0 else 1.0))
        if act in ("sell", "buy") and (st[0] == 0 or np.sign(st[0]) == side):
            # opening (or adding to) a position
            st[1] = (abs(st[0]) * st[1] + qty * px) / (abs(st[0]) + qty)
            st[0] += side * qty
            if act == "sell" and r["kind"] == "put" and math.isfinite(r["predicted_prob_itm"]):
                st[2].append(r["predicted_prob_itm"])
            continue
        close_qty = min(qty, abs(st[0]))
        if st[0] < 0:  # closing a short
            captured += (st[1] - px) * close_qty * 100
            base += st[1] * close_qty * 100
            if r["kind"] == "put" and act in ("expire", "assign") and st[2]:
                preds.append(float(np.mean(st[2])))
                outs.append(1.0 if act == "assign" else 0.0)
        elif st[0] > 0 and r["kind"] == "call":
            hedge_pnl += (px - st[1]) * close_qty * 100
            hedge_cost += st[1] * close_qty * 100
        st[0] += -np.sign(st[0]) * close_qty
        if st[0] == 0:
            st[2] = []
    open_puts: dict[float, float] = {}
    open_positions: list[dict] = []
    for (_acct, und, kind, strike, exp), st in pos.items():
        if kind == "put" and st[0] < 0:
            open_puts[strike] = open_puts.get(strike, 0.0) - st[0]
        if st[0] != 0:
            open_positions.append(
                {
                    "underlying": und,
                    "kind": kind,
                    "side": "short" if st[0] < 0 else "long",
                    "strike": strike,
                    "expiry": exp,
                    "contracts": abs(st[0]),
                    "premium": st[1],
                }
            )
    nan = float("nan")
    return {
        "premium_capture_rate": captured / base if base > 0 else nan,
        "premium_closed": base,
        "hedge_effectiveness": hedge_pnl / hedge_cost if hedge_cost > 0 else nan,
        "hedge_cost_closed": hedge_cost,
        "brier_score": brier_score(preds, outs),
        "brier_count": len(preds),
        "open_short_puts": dict(sorted(open_puts.items())),
        "open_positions": open_positions,
    }


def allocation_drift(open_short_puts: dict, strikes, weights) -> dict:
    """Drift of the open short-put obligation shares from the plan's strike weights.

    Returns
    -------
    dict
        ``drift`` = ``0.5 sum |actual - target|`` (0 = on plan, 1 = disjoint; NaN when no open
        puts), ``by_strike``: list of {strike, target, actual}; obligation off the plan's
        strikes counts in ``actual`` of an ``"other"`` row.

    Examples
    --------
    10 puts at $2 (obligation 2000) and 4 at $5 (2000): actual 50/50 vs target 80/20.

    >>> allocation_drift({2.0: 10, 5.0: 4}, [2.0, 5.0], [0.8, 0.2])["drift"]
    0.3
    """
    ob = {float(k): float(k) * 100 * float(n) for k, n in open_short_puts.items()}
    total = sum(ob.values())
    targets = {float(k): float(w) for k, w in zip(strikes, weights, strict=True)}
    if total <= 0:
        return {"drift": float("nan"), "by_strike": []}
    rows: list[dict[str, Any]] = [
        {"strike": k, "target": w, "actual": ob.get(k, 0.0) / total} for k, w in targets.items()
    ]
    other = sum(v for k, v in ob.items() if k not in targets) / total
    if other > 0:
        rows.append({"strike": "other", "target": 0.0, "actual": other})
    drift = 0.5 * sum(abs(r["actual"] - r["target"]) for r in rows)
    return {"drift": round(drift, 12), "by_strike": rows}


def rebalancing_recommendation(
    book, config, net_liquidation: float | None = None, source: str = "positions"
) -> dict:
    """The plan's "rebalancing_recommendations" for a book: :func:`engine.plan.rebalance.rebalance`.

    Returns
    -------
    dict
        JSON-ready: ``source`` (where the book came from), ``recommendations`` (one sentence per
        action, :func:`engine.plan.rebalance.recommendations`), ``strikes``, ``rungs``,
        ``tickets``, ``hedge_budget``, ``coverage_before`` / ``coverage_after`` (call notional $
        per short-put contract), ``restructure_net_cash`` ($ at the model mid), ``warnings``;
        with no open option ``recommendations`` says so and the tables are empty.
    """
    from engine.plan.rebalance import rebalance, recommendations

    if book is None or not len(book):
        return {
            "source": source,
            "recommendations": ["no open options: nothing to rebalance"],
            "strikes": [],
            "rungs": [],
            "tickets": [],
            "warnings": [],
        }
    rb = rebalance(book, config, net_liquidation=net_liquidation)
    d = rb.to_dict()
    keep = (
        "strikes",
        "rungs",
        "tickets",
        "hedge_budget",
        "coverage_before",
        "coverage_after",
        "restructure_net_cash",
        "warnings",
    )
    return {"source": source, "recommendations": list(recommendations(rb)), **{k: d[k] for k in keep}}


def weekly_review(
    journal,
    equity,
    config=None,
    *,
    iv_history=None,
    second_series=None,
    as_of: _dt.date | None = None,
    risk_free: float | None = None,
    positions=None,
) -> dict:
    """The plan's weekly review from a trade journal and a daily equity history.

    Parameters
    ----------
    journal, equity : path or pandas.DataFrame
        Validated by :func:`engine.data.journal.read_journal` / :func:`engine.data.journal.read_equity`.
    config : PlanConfig, optional
        Strike weights (``strikes``), the rate for Sharpe, IV window (``risk.iv_history_days``).
    iv_history : path or DataFrame, optional
        ``date, iv``: adds the IV percentile now and one week earlier.
    second_series : path or DataFrame, optional
        ``date, close`` of a second asset (the plan tracks bitcoin): correlation of daily returns.
    as_of : date, optional
        End of the review week (default the last equity date).
    risk_free : float, optional
        Annual rate for the Sharpe ratio (default ``config.market.rate``).
    positions : pandas.DataFrame, optional
        Today's book for the rebalancing recommendation (default: the journal's open positions,
        each at its average open price).

    Returns
    -------
    dict
        JSON-ready (NaN as None): ``as_of``, ``weekly_return``, ``total_return`` (time-weighted),
        ``sharpe``, ``max_drawdown``, ``premium_capture_rate``, ``brier_score`` (+ count),
        ``allocation_drift`` (+ by strike), ``hedge_effectiveness``, ``iv_percentile``,
        ``iv_percentile_week_ago``, ``iv_percentile_change``, ``correlation_second``,
        ``observations`` and ``rebalancing`` (:func:`rebalancing_recommendation` of the book at the
        config's market, net liquidation = the last equity; options expired by the config's
        valuation date are left out).
    """
    from engine.config import default_config
    from engine.data.ivhistory import iv_rank_percentile, read_iv_history

    cfg = config or default_config()
    j = read_journal(journal)
    e = read_equity(equity)
    r = daily_returns(e["equity"].to_numpy(), e["contribution"].to_numpy())
    rdates = list(e["date"])[1:]
    rf = cfg.market.rate if risk_free is None else float(risk_free)
    jm = journal_metrics(j)
    drift = allocation_drift(jm["open_short_puts"], cfg.strikes.strikes, cfg.strikes.weights)
    out: dict[str, Any] = {
        "as_of": (as_of or (rdates[-1] if rdates else None)),
        "weekly_return": weekly_return(rdates, r, as_of),
        "total_return": float(np.prod(1 + r[np.isfinite(r)]) - 1) if r.size else float("nan"),
        "sharpe": sharpe_ratio(r, rf),
        "max_drawdown": max_drawdown(r),
        "premium_capture_rate": jm["premium_capture_rate"],
        "brier_score": jm["brier_score"],
        "brier_count": jm["brier_count"],
        "allocation_drift": drift["drift"],
        "allocation_by_strike": drift["by_strike"],
        "hedge_effectiveness": jm["hedge_effectiveness"],
        "observations": int(len(e)),
        "iv_percentile": float("nan"),
        "iv_percentile_week_ago": float("nan"),
        "iv_percentile_change": float("nan"),
        "correlation_second": float("nan"),
    }
    if iv_history is not None:
        h = read_iv_history(iv_history)
        end = out["as_of"] or h["date"].iloc[-1]
        now = h[h["date"] <= end]["iv"].to_numpy()
        ago = h[h["date"] <= end - _dt.timedelta(days=7)]["iv"].to_numpy()
        out["iv_percentile"] = iv_rank_percentile(now, window=cfg.risk.iv_history_days)["iv_percentile"]
        out["iv_percentile_week_ago"] = (
            iv_rank_percentile(ago, window=cfg.risk.iv_history_days)["iv_percentile"]
            if ago.size
            else float("nan")
        )
        out["iv_percentile_change"] = out["iv_percentile"] - out["iv_percentile_week_ago"]
    if second_series is not None:
        from engine.data.prices import read_price_history

        s = read_price_history(second_series)
        closes = dict(zip(s["date"], s["close"], strict=True))
        eqd = list(e["date"])
        pairs = []
        for i in range(1, len(eqd)):
            a, b = closes.get(eqd[i - 1]), closes.get(eqd[i])
            if a is not None and b is not None:
                pairs.append((r[i - 1], b / a - 1.0))
        if pairs:
            x, y = zip(*pairs, strict=True)
            out["correlation_second"] = correlation(x, y)
    if positions is not None:
        book, source = positions, "positions"
    else:
        from engine.data.positions import positions_from_records

        # the config's market prices one underlying: rows of another are left out
        recs = [
            {**p, "underlying": p["underlying"] or cfg.market.underlying}
            for p in jm["open_positions"]
            if p["expiry"] >= cfg.valuation_date and p["underlying"] in ("", cfg.market.underlying)
        ]
        book = positions_from_records(recs, "journal open positions") if recs else None
        source = "journal open positions (premium = average open price)"
    last_equity = float(e["equity"].iloc[-1]) if len(e) else None
    out["rebalancing"] = rebalancing_recommendation(book, cfg, last_equity, source)
    if isinstance(out["as_of"], _dt.date):
        out["as_of"] = out["as_of"].isoformat()
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
