"""Monte Carlo of the whole plan: monthly additions, put ladder, call hedges, assignments, margin.

:func:`simulate_plan` runs the plan month by month on simulated daily price paths, vectorized
across paths and chunked (``chunk_size``) so memory stays bounded.

Clock
    A trading-day clock: 21 steps per month, 252 per year (``dt = 1/252``).  Option time to
    expiry is measured on the same clock (a 30-calendar-day put is ``round(30 x 252/365) = 21``
    steps), so a put sold at the start of a month expires at its end.  Existing positions'
    expiries are converted the same way from calendar days after the valuation date.

Price model (``config.simulation``)
    Merton jump diffusion under the physical measure:
    ``ln S_{t+dt} = ln S_t + (mu - q - sigma_r^2/2 - lambda k) dt + sigma_r sqrt(dt) Z + J``,
    ``J`` a sum of ``Poisson(lambda dt)`` normal jumps ``N(jump_mean, jump_vol^2)``,
    ``k = exp(jump_mean + jump_vol^2/2) - 1`` (so ``E[S_{t+dt}] = S_t e^{(mu-q) dt}``).
    ``sigma_r = realized_vol`` is separate from the implied vol that prices options: the
    implied-minus-realized spread is the premium seller's edge.  ``mu = drift`` is the total
    expected return.  Implied vol is an Ornstein-Uhlenbeck process in log vol, started at
    ``market.vol`` and reverting to ``iv_long_run`` at ``iv_reversion_speed`` per year with
    ``iv_vol`` noise, discretized exactly; its noise is independent of the price noise.

The plan, each month (for paths not stopped by a margin call)
    1. ``account.monthly_addition`` is deposited (every path, stopped or not).
    2. Put ladder: budget = monthly addition + ``(1 - call_share)`` x last month's put premium
       (0 in month 1), capped at the excess equity (equity - margin requirement), since a
       broker rejects orders beyond buying power.  Strike ``K_i`` gets ``floor(budget w_i / capital_per_contract)``
       contracts (:func:`engine.plan.margin.capital_per_contract` under ``capital.model`` at the
       sale price), sold at the American price at the path's current implied vol (or the
       European price with ``trade_style="european"``), expiring after ``strikes.dte`` days.
    3. Hedge ladder: ``call_share`` x this month's put premium (with ``hedge.use_dynamic_ratio``
       the plan's :func:`engine.plan.hedge.hedge_ratio` of the path's equity, the IV percentile and
       squeeze probability held at their ``market`` values; it also sets the reinvested share
       of the next month) buys, per rung, ``floor(budget
       share / (100 price))`` calls at strike ``moneyness x spot`` rounded to
       ``strikes.strike_increment``, expiring after the rung's ``dte``.
Every day
    Cash earns the rate (a negative balance pays it).  Expiring options settle at intrinsic
    value: a short put in the money is assigned (shares bought at the strike; cost basis =
    strike - that put's premium, averaged into the share lot) and the assignment playbook
    (:class:`engine.config.AssignmentConfig`) applies: by basis tier, covered calls are sold on
    the uncovered shares at ``basis x (1 + upside)`` (rounded up to the strike increment) for
    the tier's days; the exit tier also sets a stop at ``basis x (1 - exit_stop)``, which
    sells the shares and buys back their calls when the spot touches it.  Covered calls in
    the money at expiry call the shares away at the strike; long calls settle in cash.
    Positions are marked to model and the margin requirement is computed (short options
    under ``capital.model`` at the current mark, shares at ``stock_maintenance`` of their
    value, covered calls 0, long options 0); when it exceeds equity the path is liquidated at
    the marks (margin call) and stops trading.

Marks and exercise (the no-free-lunch bookkeeping)
    No early exercise is simulated: options settle only at expiry.  Consistently, daily marks
    are **European** Black-Scholes values at the path's implied vol - the value of a claim
    that is held to expiry.  Trades happen at the **American** price the market quotes (by
    default), so a put seller books the early-exercise premium the holder never uses; at 425%
    vol and 30 days this is a fraction of a cent per share.  With ``trade_style="european"``
    every trade, mark, settlement and liquidation happens at model value, so the discounted
    equity (cash at the rate, shares with total return ``mu = rate``) is a martingale when
    ``realized_vol == implied vol`` and IV is constant: the mean discounted final equity then
    equals start plus discounted deposits, whatever the plan trades (tests check it).

Randomness and chunking
    Paths are grouped in fixed blocks of :data:`BLOCK` paths, each with its own stream
    ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(block,)))``; a chunk draws the
    blocks it overlaps.  Path ``i`` therefore gets the same numbers whatever the chunk size and
    the number of paths: results do not depend on chunking (tested).

References
----------
Merton, R. C. (1976), "Option pricing when underlying stock returns are discontinuous",
*J. Financial Economics* 3.  Glasserman, P. (2003), *Monte Carlo Methods in Financial
Engineering*, sec. 3.1 and 3.5 (exact GBM and jump simulation).  Hull (2018), ch. 15, 21.
FINRA Rule 4210 (margin).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

from engine._validate import VolarbInputError

__all__ = ["SimulationError", "SimulationResult", "simulate_plan", "simulate_prices",
           "STEPS_PER_MONTH", "STEPS_PER_YEAR", "BLOCK", "PLAN_TARGETS"]

STEPS_PER_MONTH = 21
STEPS_PER_YEAR = 252
BLOCK = 1000
PLAN_TARGETS = {"conservative": (45_000.0, 55_000.0), "expected": (60_000.0, 70_000.0),
                "optimistic": (75_000.0, 90_000.0)}
STOCK_MAINTENANCE = 0.25  # FINRA 4210(c) minimum maintenance on long stock


#: the smallest option price bought in the simulation, $ per share (one cent, the minimum tick)
MIN_OPTION_PRICE = 0.01

class SimulationError(VolarbInputError):
    """Bad argument to the simulation (message names it and the rule)."""


def _summary(x: np.ndarray) -> dict:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": None, "p5": None, "p25": None, "p50": None, "p75": None, "p95": None}
    p = np.percentile(x, [5, 25, 50, 75, 95])
    return {"mean": float(x.mean()), "p5": float(p[0]), "p25": float(p[1]), "p50": float(p[2]),
            "p75": float(p[3]), "p95": float(p[4])}


@dataclass
class SimulationResult:
    """Outcome of :func:`simulate_plan` (all money in $; probabilities in [0, 1]).

    Attributes
    ----------
    percentiles : pandas.DataFrame
        Per month (0 = start, before the first deposit): ``month``, ``p5``, ``p25``, ``p50``,
        ``p75``, ``p95`` and ``mean`` of equity (net liquidation value).
    final_equity : ndarray
        Final equity per path.
    invested : float
        Starting value plus all deposits.
    prob_loss : float
        Share of paths ending below ``invested``.
    prob_margin_call : float
        Share of paths liquidated by a margin call.
    prob_targets : dict
        For each plan scenario (conservative $45-55k, expected $60-70k, optimistic $75-90k):
        ``low``, ``high``, ``in_range`` and ``at_least`` (final equity >= low).
    max_drawdown, annual_return, sharpe : dict
        Distribution summaries (mean, p5, p25, p50, p75, p95) of the per-path max drawdown of
        the time-weighted index (fraction), annualized time-weighted return, and annualized
        Sharpe ratio of daily time-weighted returns over the rate.
    share_with_assignment : float
        Share of paths with at least one put assignment.
    mean_discounted_final, se_discounted_final, discounted_invested : float
        ``E[e^{-rT} equity_T]`` with its standard error, and start + discounted deposits.
    deterministic : list of dict or None
        The plan's deterministic projection (``engine.plan.projection.project_plan``) per month.
    assumptions : dict
        Every model setting used.
    """

    paths: int
    months: int
    seed: int
    percentiles: Any
    final_equity: np.ndarray
    invested: float
    prob_loss: float
    prob_margin_call: float
    prob_targets: dict
    max_drawdown: dict
    annual_return: dict
    sharpe: dict
    share_with_assignment: float
    mean_discounted_final: float
    se_discounted_final: float
    discounted_invested: float
    deterministic: list | None
    assumptions: dict
    elapsed_seconds: float = 0.0
    extras: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict (no arrays; ``percentiles`` as a list of per-month records)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in ("percentiles", "final_equity", "extras")}
        out["percentiles"] = [{k: (int(v) if k == "month" else float(v)) for k, v in rec.items()}
                              for rec in self.percentiles.to_dict("records")]
        out["final_equity_summary"] = _summary(self.final_equity)
        return out


# ---------------------------------------------------------------------------------------------
# Random streams and the price model
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Model:
    s0: float
    iv0: float
    rate: float
    q: float
    sigma: float
    mu: float
    lam: float
    jm: float
    jv: float
    iv_lr: float
    kappa: float
    nu: float
    steps: int

    @property
    def dt(self) -> float:
        return 1.0 / STEPS_PER_YEAR


def _model(config, months: int) -> _Model:
    m, s = config.market, config.simulation
    return _Model(m.spot, m.vol, m.rate, m.dividend_yield, s.realized_vol, s.drift, s.jump_intensity,
                  s.jump_mean, s.jump_vol, s.iv_long_run, s.iv_reversion_speed, s.iv_vol,
                  months * STEPS_PER_MONTH)


def _draws(model: _Model, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """Random numbers (steps, paths) for paths [start, stop), drawn block by block."""
    parts: dict[str, list] = {"z": [], "zv": [], "nj": [], "zj": []}
    shape_steps = model.steps
    for blk in range(start // BLOCK, (stop - 1) // BLOCK + 1):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(blk,)))
        a = max(start, blk * BLOCK) - blk * BLOCK
        b = min(stop, (blk + 1) * BLOCK) - blk * BLOCK
        parts["z"].append(rng.standard_normal((shape_steps, BLOCK))[:, a:b])
        if model.nu > 0:
            parts["zv"].append(rng.standard_normal((shape_steps, BLOCK))[:, a:b])
        if model.lam > 0:
            parts["nj"].append(rng.poisson(model.lam * model.dt, (shape_steps, BLOCK))[:, a:b])
            parts["zj"].append(rng.standard_normal((shape_steps, BLOCK))[:, a:b])
    return {k: np.concatenate(v, axis=1) for k, v in parts.items() if v}


class _Paths:
    """Step-by-step spot and implied vol for one chunk."""

    def __init__(self, model: _Model, draws: dict[str, np.ndarray], n: int) -> None:
        self.m, self.d = model, draws
        self.spot = np.full(n, model.s0)
        self.iv = np.full(n, model.iv0)
        dt = model.dt
        k = math.exp(model.jm + 0.5 * model.jv ** 2) - 1.0 if model.lam > 0 else 0.0
        self.drift = (model.mu - model.q - 0.5 * model.sigma ** 2 - model.lam * k) * dt
        self.sd = model.sigma * math.sqrt(dt)
        self.decay = math.exp(-model.kappa * dt)
        if model.kappa > 0:
            self.iv_sd = model.nu * math.sqrt((1 - math.exp(-2 * model.kappa * dt)) / (2 * model.kappa))
        else:
            self.iv_sd = model.nu * math.sqrt(dt)
        self.ln_lr = math.log(model.iv_lr) if model.iv_lr > 0 else 0.0

    def step(self, i: int) -> None:
        m = self.m
        x = self.drift + self.sd * self.d["z"][i]
        if m.lam > 0:
            nj = self.d["nj"][i]
            x = x + nj * m.jm + np.sqrt(nj) * m.jv * self.d["zj"][i]
        self.spot = self.spot * np.exp(x)
        if m.kappa > 0 or m.nu > 0:
            liv = np.log(self.iv)
            if m.kappa > 0:
                liv = self.ln_lr + (liv - self.ln_lr) * self.decay
            if m.nu > 0:
                liv = liv + self.iv_sd * self.d["zv"][i]
            self.iv = np.exp(liv)


def simulate_prices(config, paths: int, seed: int, months: int | None = None) -> dict[str, np.ndarray]:
    """Simulated spot and implied vol at every month end (the generator of :func:`simulate_plan`).

    Returns
    -------
    dict
        ``spot`` and ``iv``, arrays (paths, months + 1); column 0 is today.

    Examples
    --------
    >>> from engine.config import default_config
    >>> cfg = default_config().replace(simulation__realized_vol=0.0, simulation__drift=0.0)
    >>> simulate_prices(cfg, 3, seed=1, months=1)["spot"][:, -1].tolist()
    [3.15, 3.15, 3.15]
    """
    months = config.projection.months if months is None else int(months)
    model = _model(config, months)
    p = _Paths(model, _draws(model, seed, 0, paths), paths)
    spot = np.empty((paths, months + 1))
    iv = np.empty((paths, months + 1))
    spot[:, 0], iv[:, 0] = p.spot, p.iv
    for i in range(model.steps):
        p.step(i)
        if (i + 1) % STEPS_PER_MONTH == 0:
            spot[:, (i + 1) // STEPS_PER_MONTH], iv[:, (i + 1) // STEPS_PER_MONTH] = p.spot, p.iv
    return {"spot": spot, "iv": iv}


# ---------------------------------------------------------------------------------------------
# The plan on one chunk
# ---------------------------------------------------------------------------------------------

def _bs(w: float, spot, strike, tau, rate: float, vol, q: float) -> np.ndarray:
    """European BSM value per share; ``tau <= 0`` gives intrinsic value (tau scalar or array)."""
    if np.ndim(tau) == 0:
        if tau <= 0:
            return np.maximum(w * (spot - strike), 0.0)
        sd = vol * math.sqrt(tau)
        d1 = (np.log(spot / strike) + (rate - q) * tau) / sd + 0.5 * sd
        fwd_part = spot * ndtr(w * d1) if q == 0 else spot * math.exp(-q * tau) * ndtr(w * d1)
        v = w * (fwd_part - strike * math.exp(-rate * tau) * ndtr(w * (d1 - sd)))
        return np.maximum(v, 0.0)
    live = tau > 0
    tau_s = np.where(live, tau, 1.0)
    sd = vol * np.sqrt(tau_s)
    d1 = (np.log(spot / strike) + (rate - q) * tau_s) / sd + 0.5 * sd
    v = w * (spot * np.exp(-q * tau_s) * ndtr(w * d1) - strike * np.exp(-rate * tau_s) * ndtr(w * (d1 - sd)))
    return np.where(live, np.maximum(v, 0.0), np.maximum(w * (spot - strike), 0.0))


@dataclass
class _Slot:
    w: float                 # +1 call, -1 put
    strike: np.ndarray       # per path
    expiry: Any              # step index of expiry: int, or per-path array (covered calls)
    n: np.ndarray            # contracts, signed (short < 0)
    premium: np.ndarray      # $ per share received/paid at the trade
    role: str                # "put", "hedge", "cc", "book"
    vol_ratio: float = 1.0   # the slot's implied vol / the path's (a starting position's own iv)


def _round_to(x: np.ndarray, inc: float, up: bool = False) -> np.ndarray:
    if inc <= 0:
        return x
    return (np.ceil(np.round(x / inc, 9)) if up else np.maximum(np.round(x / inc), 1.0)) * inc


class _Plan:
    """Plan state for one chunk of paths; every array has one entry per path."""

    def __init__(self, config, model: _Model, n: int, book: dict, trade_style: str,
                 stock_maintenance: float, cache) -> None:
        self.cfg, self.m, self.n = config, model, n
        self.trade_style, self.stock_maint, self.cache = trade_style, stock_maintenance, cache
        self.mult = float(config.capital.contract_multiplier)
        self.cash = np.full(n, float(config.account.starting_value))
        self.shares = np.zeros(n)
        self.basis = np.zeros(n)
        self.stop = np.zeros(n)
        self.alive = np.ones(n, dtype=bool)
        self.margin_called = np.zeros(n, dtype=bool)
        self.assigned = np.zeros(n, dtype=bool)
        self.prev_premium = np.zeros(n)
        self.slots: list[_Slot] = []
        for i in range(book["w"].size):
            e = int(book["expiry_step"][i])
            if e <= 0:
                continue
            # a position with its own iv (the smile) keeps its ratio to the path's implied vol
            ratio = float(book["vol"][i]) / model.iv0 if "vol" in book and model.iv0 > 0 else 1.0
            slot = _Slot(book["w"][i], np.full(n, book["strike"][i]), e,
                         np.full(n, book["qty"][i] / self.mult), np.full(n, book["premium"][i]), "book", ratio)
            self.slots.append(slot)
            # the book is worth its model mark today: cash makes equity = starting value
            self.cash -= slot.n * self.mult * self._mark(slot, 0, np.full(n, model.s0), np.full(n, model.iv0))

    # -- pricing --------------------------------------------------------------------------------
    def _mark(self, slot: _Slot, step: int, spot, iv) -> np.ndarray:
        """European mark per share where the slot holds contracts (0 elsewhere)."""
        live = slot.n != 0
        cnt = int(np.count_nonzero(live))
        if cnt == 0:
            return np.zeros(self.n)
        tau = (slot.expiry - step) / STEPS_PER_YEAR
        if slot.vol_ratio != 1.0:
            iv = iv * slot.vol_ratio
        if cnt > 0.6 * self.n:
            return _bs(slot.w, spot, slot.strike, tau, self.m.rate, iv, self.m.q)
        idx = np.flatnonzero(live)
        out = np.zeros(self.n)
        tau_i = tau if np.ndim(tau) == 0 else tau[idx]
        out[idx] = _bs(slot.w, spot[idx], slot.strike[idx], tau_i, self.m.rate, iv[idx], self.m.q)
        return out

    def _trade_price(self, w: float, spot, strike, steps: int, iv) -> np.ndarray:
        t = steps / STEPS_PER_YEAR
        if self.trade_style == "european" or (w > 0 and self.m.q <= 0 and self.m.rate >= 0):
            return _bs(w, spot, strike, np.full(spot.shape, t), self.m.rate, iv, self.m.q)
        from engine.risk.var import american_fast

        return american_fast(spot, strike, t, self.m.rate, iv, w, self.m.q, cache=self.cache)

    def _hedge_share(self, equity: np.ndarray):
        """allocation.call_share, or the plan's dynamic hedge ratio on each path's equity."""
        h = self.cfg.hedge
        if not h.use_dynamic_ratio:
            return self.cfg.allocation.call_share
        from engine.plan.hedge import hedge_ratio

        return hedge_ratio(np.maximum(equity, 0.0), self.cfg.market.iv_percentile,
                           self.cfg.market.squeeze_probability, h)

    # -- monthly trades ---------------------------------------------------------------------------
    def month_start(self, step: int, spot, iv) -> None:
        from engine.plan.margin import capital_per_contract

        cfg, n, mult = self.cfg, self.n, self.mult
        self.cash += cfg.account.monthly_addition
        eq, req, _ = self.equity_and_margin(step, spot, iv)
        call_share = self._hedge_share(eq)
        budget = cfg.account.monthly_addition + (1.0 - call_share) * self.prev_premium
        # a broker rejects orders beyond the excess equity (buying power): scale the ladder down
        budget = np.minimum(budget, np.maximum(eq - req, 0.0))
        put_steps = max(1, round(cfg.strikes.dte * STEPS_PER_YEAR / 365.0))
        collected = np.zeros(n)
        for k, wgt in zip(cfg.strikes.strikes, cfg.strikes.weights, strict=True):
            kk = np.full(n, float(k))
            price = self._trade_price(-1.0, spot, kk, put_steps, iv)
            cpc = np.asarray(capital_per_contract(cfg.capital.model, spot, kk, price, "put", cfg.capital))
            sell = self.alive & (cpc > 0)
            cnt = np.floor(np.divide(budget * wgt, cpc, out=np.zeros(n), where=sell))
            cnt = np.where(np.isfinite(cnt), np.maximum(cnt, 0.0), 0.0)
            self.cash += cnt * price * mult
            collected += cnt * price * mult
            self.slots.append(_Slot(-1.0, kk, step + put_steps, -cnt, price, "put"))
        self.prev_premium = collected
        hedge_budget = call_share * collected
        inc = cfg.strikes.strike_increment
        for rung in cfg.hedge.ladder:
            k = _round_to(rung.moneyness * spot, inc)
            steps = max(1, round(rung.dte * STEPS_PER_YEAR / 365.0))
            price = self._trade_price(1.0, spot, k, steps, iv)
            # a call quoted below one cent (far out of the money on a path that fell) is not bought:
            # dividing by it overflows and would buy an absurd count (#11: projection.months = 120)
            buy = self.alive & (price >= MIN_OPTION_PRICE)
            cnt = np.floor(np.divide(hedge_budget * rung.share, price * mult, out=np.zeros(n), where=buy))
            cnt = np.where(np.isfinite(cnt), cnt, 0.0)
            self.cash -= cnt * price * mult
            self.slots.append(_Slot(1.0, k, step + steps, cnt, price, "hedge"))

    # -- daily bookkeeping -------------------------------------------------------------------------
    def settle(self, step: int, spot, iv) -> None:
        mult = self.mult
        new_shares = np.zeros(self.n)
        new_cost = np.zeros(self.n)
        for slot in self.slots:
            if np.ndim(slot.expiry) == 0 and slot.expiry != step:
                continue
            due = (slot.expiry == step) & (slot.n != 0)
            if not due.any():
                continue
            intrinsic = np.maximum(slot.w * (spot - slot.strike), 0.0)
            if slot.w < 0 and slot.role in ("put", "book"):
                itm = due & (slot.strike > spot) & (slot.n < 0)
                q = np.where(itm, -slot.n * mult, 0.0)
                new_shares += q
                new_cost += q * (slot.strike - slot.premium)
                self.cash -= q * slot.strike
                self.assigned |= itm
                cash_settled = due & ~itm
            elif slot.role == "cc":
                itm = due & (spot > slot.strike)
                q = np.where(itm, -slot.n * mult, 0.0)
                self.shares -= q
                self.cash += q * slot.strike
                cash_settled = due & ~itm
            else:
                cash_settled = due
            self.cash += np.where(cash_settled, slot.n * mult * intrinsic, 0.0)
            slot.n = np.where(due, 0.0, slot.n)
        empty = self.shares <= 0
        self.basis = np.where(empty, 0.0, self.basis)
        self.stop = np.where(empty, 0.0, self.stop)
        got = new_shares > 0
        if got.any():
            total = self.shares + new_shares
            self.basis = np.where(got, (self.basis * self.shares + new_cost) / np.where(got, total, 1.0), self.basis)
            self.shares = total
            self._covered_calls(step, spot, iv, got)
        self.slots = [s for s in self.slots if np.any(s.expiry > step) and (s.n != 0).any()]

    def _covered_calls(self, step: int, spot, iv, got: np.ndarray) -> None:
        """The assignment playbook on the paths that just received shares."""
        a, mult, inc = self.cfg.assignment, self.mult, self.cfg.strikes.strike_increment
        covered = np.zeros(self.n)
        for s in self.slots:
            if s.role == "cc":
                covered += np.where(s.expiry > step, -s.n * mult, 0.0)
        cnt = np.where(got & self.alive, np.floor(np.maximum(self.shares - covered, 0.0) / mult), 0.0)
        basis = self.basis
        tiers = ((basis < a.excellent_basis, a.excellent_call_upside, a.excellent_call_dte, 0.0),
                 ((basis >= a.excellent_basis) & (basis < a.good_basis), a.good_call_upside, a.good_call_dte, 0.0),
                 (basis >= a.good_basis, a.exit_call_upside, a.exit_call_dte, a.exit_stop))
        for mask, upside, dte, stop in tiers:
            sel = mask & (cnt > 0)
            if not sel.any():
                continue
            steps = max(1, round(dte * STEPS_PER_YEAR / 365.0))
            k = _round_to(np.maximum(basis * (1.0 + upside), 1e-6), inc, up=True)
            k = np.where(k > 0, k, 1e-6)
            price = self._trade_price(1.0, spot, k, steps, iv)
            n_cc = np.where(sel, cnt, 0.0)
            self.cash += n_cc * price * mult
            self.slots.append(_Slot(1.0, k, np.full(self.n, step + steps), -n_cc, price, "cc"))
            if stop > 0:
                self.stop = np.where(sel, basis * (1.0 - stop), self.stop)

    def stop_loss(self, step: int, spot, iv) -> None:
        hit = (self.shares > 0) & (self.stop > 0) & (spot <= self.stop)
        if not hit.any():
            return
        for s in self.slots:
            if s.role == "cc":
                close = hit & (s.n != 0)
                self.cash += np.where(close, s.n * self.mult * self._mark(s, step, spot, iv), 0.0)
                s.n = np.where(close, 0.0, s.n)
        self.cash += np.where(hit, self.shares * spot, 0.0)
        self.shares = np.where(hit, 0.0, self.shares)
        self.stop = np.where(hit, 0.0, self.stop)
        self.basis = np.where(hit, 0.0, self.basis)

    def equity_and_margin(self, step: int, spot, iv) -> tuple[np.ndarray, np.ndarray, list]:
        from engine.plan.margin import capital_per_contract

        cap = self.cfg.capital
        eq = self.cash + self.shares * spot
        req = self.stock_maint * self.shares * spot
        marks = []
        for s in self.slots:
            mk = self._mark(s, step, spot, iv)
            marks.append(mk)
            eq = eq + s.n * self.mult * mk
            if s.role != "cc":
                idx = np.flatnonzero(s.n < 0)
                if idx.size:
                    kind = "put" if s.w < 0 else "call"
                    model = cap.model if (s.w < 0 or cap.model != "cash_secured") else "reg_t"
                    cpc = np.asarray(capital_per_contract(model, spot[idx], s.strike[idx], mk[idx], kind, cap))
                    req[idx] += -s.n[idx] * cpc
        return eq, req, marks

    def liquidate(self, hit: np.ndarray, spot, marks: list) -> None:
        for s, mk in zip(self.slots, marks, strict=True):
            self.cash += np.where(hit, s.n * self.mult * mk, 0.0)
            s.n = np.where(hit, 0.0, s.n)
        self.cash += np.where(hit, self.shares * spot, 0.0)
        self.shares = np.where(hit, 0.0, self.shares)
        self.stop = np.where(hit, 0.0, self.stop)
        self.alive &= ~hit
        self.margin_called |= hit


def _run_chunk(config, model: _Model, seed: int, start: int, stop: int, book: dict, months: int,
               trade_style: str, stock_maintenance: float, cache, draws=None) -> dict[str, np.ndarray]:
    n = stop - start
    paths = _Paths(model, _draws(model, seed, start, stop) if draws is None else draws, n)
    plan = _Plan(config, model, n, book, trade_style, stock_maintenance, cache)
    rate = model.rate
    month_eq = np.empty((n, months + 1))
    month_eq[:, 0] = config.account.starting_value
    prev_eq = month_eq[:, 0].copy()
    index = np.ones(n)
    peak = np.ones(n)
    max_dd = np.zeros(n)
    r_sum = np.zeros(n)
    r_sq = np.zeros(n)
    r_cnt = np.zeros(n)
    growth = math.exp(rate / STEPS_PER_YEAR)
    deposit = config.account.monthly_addition
    for i in range(model.steps):
        contributed = 0.0
        if i % STEPS_PER_MONTH == 0:
            plan.month_start(i, paths.spot, paths.iv)
            contributed = deposit
        spot_before = paths.spot
        paths.step(i)
        step = i + 1
        plan.cash = plan.cash * growth
        if model.q > 0:
            plan.cash += plan.shares * spot_before * (math.exp(model.q / STEPS_PER_YEAR) - 1.0)
        plan.settle(step, paths.spot, paths.iv)
        plan.stop_loss(step, paths.spot, paths.iv)
        eq, req, marks = plan.equity_and_margin(step, paths.spot, paths.iv)
        hit = plan.alive & (req > eq)
        if hit.any():
            plan.liquidate(hit, paths.spot, marks)
        # time-weighted daily return, net of the deposit made at the start of the day
        ok = prev_eq > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(ok, (eq - contributed) / np.where(ok, prev_eq, 1.0) - 1.0, np.nan)
        index = np.where(ok, np.maximum(index * (1.0 + np.where(ok, r, 0.0)), 0.0), 0.0)
        peak = np.maximum(peak, index)
        max_dd = np.maximum(max_dd, np.where(peak > 0, 1.0 - index / np.where(peak > 0, peak, 1.0), 1.0))
        valid = np.isfinite(r)
        r_sum += np.where(valid, r, 0.0)
        r_sq += np.where(valid, r * r, 0.0)
        r_cnt += valid
        prev_eq = eq
        if step % STEPS_PER_MONTH == 0:
            month_eq[:, step // STEPS_PER_MONTH] = eq
    return {"month_eq": month_eq, "max_dd": max_dd, "index": index, "r_sum": r_sum, "r_sq": r_sq,
            "r_cnt": r_cnt, "margin_called": plan.margin_called, "assigned": plan.assigned}


def _book(positions, config) -> dict:
    from engine.risk.var import book_arrays

    if positions is None or len(positions) == 0:
        z = np.zeros(0)
        return {"w": z, "qty": z, "strike": z, "premium": z, "vol": z, "expiry_step": z}
    b = book_arrays(positions, config)
    b["expiry_step"] = np.round(b["t"] * 365.0 * STEPS_PER_YEAR / 365.0).astype(int)
    return b


def simulate_plan(config, positions, paths: int | None = None, seed: int | None = None, *,
                  chunk_size: int | None = None, progress: Callable[[int, int], Any] | None = None,
                  months: int | None = None, trade_style: str = "american",
                  stock_maintenance: float | None = None, deterministic: bool = True) -> SimulationResult:
    """Monte Carlo of the plan over the projection horizon (see the module docstring).

    Parameters
    ----------
    config : PlanConfig
        Every section of the plan; ``simulation`` holds the price model.
    positions : pandas.DataFrame or None
        Today's book (:data:`engine.data.positions.POSITION_COLUMNS`), e.g. the plan's 38 puts; marked
        at the model (European) and held to expiry.  A position without its own ``iv`` is marked at
        the path's implied vol (which starts at ``market.vol``); one with an ``iv`` (the smile)
        keeps the ratio ``iv / market.vol`` to the path's implied vol as it moves.  ``None``
        starts from cash.
    paths : int, optional
        Number of paths (default ``config.simulation.paths``).
    seed : int, optional
        Default ``config.simulation.seed``.
    chunk_size : int, optional
        Paths per chunk (default ``config.simulation.chunk_size``); does not change results.
    progress : callable(done_paths, total_paths), optional
        Called after each chunk (the CLI wraps a tqdm bar around it).
    months : int, optional
        Default ``config.projection.months``.
    trade_style : {"american", "european"}
        Price of every trade (marks are always European; see the module docstring).
    stock_maintenance : float, optional
        Margin on shares held, as a share of their value; default
        ``config.capital.stock_maintenance_pct`` (FINRA minimum 25%).
    deterministic : bool
        Attach the plan's deterministic projection (``engine.plan.projection.project_plan``).

    Returns
    -------
    SimulationResult
        See its attributes; ``.to_dict()`` is JSON-ready.  Nothing is written anywhere: an
        interruption (KeyboardInterrupt) leaves no partial state.

    Raises
    ------
    SimulationError
        ``paths``, ``chunk_size`` or ``months`` < 1, a negative seed, unknown ``trade_style``,
        ``stock_maintenance`` outside [0, 1], ``iv_long_run`` 0 with mean reversion on.

    References
    ----------
    Glasserman (2003), ch. 3; Merton (1976).

    Examples
    --------
    >>> from engine.config import default_config
    >>> res = simulate_plan(default_config(), None, paths=200, seed=7, months=1, deterministic=False)
    >>> 0.0 <= res.prob_loss <= 1.0, list(res.percentiles.columns)
    (True, ['month', 'p5', 'p25', 'p50', 'p75', 'p95', 'mean'])
    """
    import pandas as pd

    sim = config.simulation
    paths = sim.paths if paths is None else int(paths)
    seed = sim.seed if seed is None else int(seed)
    chunk = sim.chunk_size if chunk_size is None else int(chunk_size)
    months = config.projection.months if months is None else int(months)
    if paths < 1:
        raise SimulationError(f"paths must be >= 1, got {paths!r}")
    if chunk < 1:
        raise SimulationError(f"chunk_size must be >= 1, got {chunk_size!r}")
    if months < 1:
        raise SimulationError(f"months must be >= 1, got {months!r}")
    if seed < 0:
        raise SimulationError(f"seed must be >= 0, got {seed!r}")
    trade_style = str(trade_style).strip().lower()
    if trade_style not in ("american", "european"):
        raise SimulationError(f"trade_style must be 'american' or 'european', got {trade_style!r}")
    if stock_maintenance is None:
        stock_maintenance = config.capital.stock_maintenance_pct
    if not 0.0 <= stock_maintenance <= 1.0:
        raise SimulationError(f"stock_maintenance must be in [0, 1], got {stock_maintenance!r}")
    if sim.iv_long_run <= 0 and sim.iv_reversion_speed > 0:
        raise SimulationError("simulation.iv_long_run must be > 0 when iv_reversion_speed > 0")

    from engine.risk.var import EEPCache

    t0 = time.perf_counter()
    model = _model(config, months)
    book = _book(positions, config)
    horizon = model.steps / STEPS_PER_YEAR
    band = math.exp(5.0 * sim.iv_vol * math.sqrt(horizon)) if sim.iv_vol > 0 else 1.0
    lo = min(config.market.vol, sim.iv_long_run if sim.iv_reversion_speed > 0 else config.market.vol) / band
    hi = max(config.market.vol, sim.iv_long_run if sim.iv_reversion_speed > 0 else config.market.vol) * band
    cache = EEPCache(-6.0, 4.0, lo * 0.999, hi * 1.001)
    results = []
    for start in range(0, paths, chunk):
        stop = min(paths, start + chunk)
        results.append(_run_chunk(config, model, seed, start, stop, book, months, trade_style,
                                  stock_maintenance, cache))
        if progress is not None:
            progress(stop, paths)
    agg = {k: np.concatenate([r[k] for r in results]) for k in results[0]}

    month_eq = agg["month_eq"]
    final = month_eq[:, -1]
    deposit = config.account.monthly_addition
    invested = config.account.starting_value + deposit * months
    disc = math.exp(-model.rate * horizon)
    disc_dep = sum(deposit * math.exp(-model.rate * m * STEPS_PER_MONTH / STEPS_PER_YEAR) for m in range(months))
    pct = np.percentile(month_eq, [5, 25, 50, 75, 95], axis=0)
    table = pd.DataFrame({"month": np.arange(months + 1), "p5": pct[0], "p25": pct[1], "p50": pct[2],
                          "p75": pct[3], "p95": pct[4], "mean": month_eq.mean(axis=0)})
    targets = {name: {"low": lo_, "high": hi_, "in_range": float(np.mean((final >= lo_) & (final <= hi_))),
                      "at_least": float(np.mean(final >= lo_))} for name, (lo_, hi_) in PLAN_TARGETS.items()}
    cnt = agg["r_cnt"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_r = np.where(cnt > 0, agg["r_sum"] / np.maximum(cnt, 1), np.nan)
        var_r = np.where(cnt > 1, (agg["r_sq"] - cnt * mean_r ** 2) / np.maximum(cnt - 1, 1), np.nan)
        sd_r = np.sqrt(np.maximum(var_r, 0.0))
        sharpe = np.where(sd_r > 0, (mean_r - model.rate / STEPS_PER_YEAR) / np.where(sd_r > 0, sd_r, 1.0)
                          * math.sqrt(STEPS_PER_YEAR), np.nan)
    ann = agg["index"] ** (STEPS_PER_YEAR / model.steps) - 1.0
    df = final * disc
    deterministic_rows = None
    if deterministic:
        try:
            from engine.plan.projection import project_plan

            proj = project_plan(config, months=months)
            keep = ("premium_income", "call_hedge", "contracts_sold", "cumulative_contracts", "margin_used")
            deterministic_rows = [{"month": int(r["month"]), "portfolio_value": float(r["portfolio_value"]),
                                   **{k: float(r[k]) for k in keep if k in r}}
                                  for r in proj.to_dict("records")]
        except ImportError:
            deterministic_rows = None
    assumptions = {
        "steps_per_month": STEPS_PER_MONTH, "steps_per_year": STEPS_PER_YEAR, "months": months,
        "spot": config.market.spot, "implied_vol": config.market.vol, "rate": model.rate,
        "dividend_yield": model.q, "realized_vol": sim.realized_vol, "drift": sim.drift,
        "jump_intensity": sim.jump_intensity, "jump_mean": sim.jump_mean, "jump_vol": sim.jump_vol,
        "iv_long_run": sim.iv_long_run, "iv_reversion_speed": sim.iv_reversion_speed, "iv_vol": sim.iv_vol,
        "capital_model": config.capital.model, "call_share": config.allocation.call_share,
        "trade_style": trade_style, "marks": "european (no early exercise simulated)",
        "stock_maintenance": stock_maintenance, "block": BLOCK, "chunk_size": chunk,
        "starting_book_positions": int(book["w"].size),
    }
    return SimulationResult(
        paths=paths, months=months, seed=seed, percentiles=table, final_equity=final, invested=invested,
        prob_loss=float(np.mean(final < invested)), prob_margin_call=float(np.mean(agg["margin_called"])),
        prob_targets=targets, max_drawdown=_summary(agg["max_dd"]), annual_return=_summary(ann),
        sharpe=_summary(sharpe), share_with_assignment=float(np.mean(agg["assigned"])),
        mean_discounted_final=float(df.mean()), se_discounted_final=float(df.std(ddof=1) / math.sqrt(paths)) if paths > 1 else float("nan"),
        discounted_invested=float(config.account.starting_value + disc_dep), deterministic=deterministic_rows,
        assumptions=assumptions, elapsed_seconds=time.perf_counter() - t0,
        extras={"month_equity": month_eq, "max_drawdown": agg["max_dd"], "sharpe": sharpe,
                "annual_return": ann, "margin_called": agg["margin_called"], "assigned": agg["assigned"]})
