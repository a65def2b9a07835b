"""Monte Carlo of the whole plan: monthly additions, put ladder, call hedges, early exercise, assignments, margin, costs.

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
    2. Put ladder, sized by ``simulation.sizing``: ``"plan"`` (default) gives strike ``K_i``
       ``floor(budget w_i / capital_per_contract)`` contracts, budget = monthly addition +
       ``(1 - call_share)`` x last month's put premium, capital per contract from
       :func:`engine.plan.margin.capital_per_contract` under ``capital.model`` (net basis: the
       requirement net of the premium, as the plan's strike allocation); ``"full_requirement"``
       divides the same budget by the account's full-basis requirement per contract (premium
       included: volarb's sizing before issue 9); ``"buying_power"`` spends the whole buying
       power (equity with loan value - initial requirement) by strike weight.  Every rule is
       then capped: the ladder is scaled down so that its buying-power use (each contract's
       full requirement at the mid, less the premium kept after the hedge purchase it pays for,
       plus the commission) fits the buying power - a broker rejects orders beyond it, and a
       cash account cannot sell a put its cash does not secure.  At most
       ``execution.max_order_size x execution.max_orders_per_day`` contracts of a series fill a
       day (day orders; the rest is not filled).  Puts are sold at the bid, expiring after
       ``strikes.dte`` days.
    3. Hedge ladder: ``call_share`` x this month's put premium (with ``hedge.use_dynamic_ratio``
       the plan's :func:`engine.plan.hedge.hedge_ratio` of the path's equity, the IV percentile and
       squeeze probability held at their ``market`` values; it also sets the reinvested share
       of the next month) buys, per rung, ``floor(budget share / (100 ask + commission))``
       calls at strike ``moneyness x spot`` rounded to ``strikes.strike_increment``, expiring
       after the rung's ``dte``.
Every day
    Cash earns the rate (a negative balance, a margin loan, pays it).  Options are exercised at
    expiry when in the money and, American style, early when the holder gains by it (below);
    a short put exercised is assigned (shares bought at the strike; cost basis = strike - that
    put's premium, averaged into the share lot) and the assignment playbook
    (:class:`engine.config.AssignmentConfig`) applies: by basis tier, covered calls are sold on
    the uncovered shares at ``basis x (1 + upside)`` (rounded up to the strike increment) for
    the tier's days; the exit tier also sets a stop at ``basis x (1 - exit_stop)``, which
    sells the shares (at the stock's bid) and buys back their calls (at the ask) when the spot
    touches it.  Covered calls exercised call the shares away at the strike; long calls settle
    in cash at intrinsic value.  Each exercise or assignment pays ``execution.assignment_fee``.
Margin (:mod:`engine.plan.margin`, ``[margin]``; full basis throughout)
    Equity with loan value = cash + long stock value, the shares under a covered call counted at
    no more than the call's strike; options have no loan value (the plan's are all within 9
    months).  Requirement = :func:`engine.plan.margin.stock_requirement` on that stock value +
    :func:`engine.plan.margin.short_option_requirement` of every uncovered short option at its mark
    (which includes the option's market value); covered calls need nothing more.  When the
    maintenance requirement exceeds equity with loan value, a margin account is liquidated
    (options at the bid or ask, shares at the bid, commissions paid) and the path stops
    trading.  A cash account is never margin-called: it only sells what its cash secures
    (strike x 100 per put).  Equity, the figure reported, is net liquidation value at model mid
    marks (cash + shares + signed option values), with no exit cost at the horizon.
Costs (``simulation.costs``; ``execution.*``)
    Option half-spread ``max(half_spread_pct x mid, half_spread_min)`` per share (defaults
    measured on the example chain, :mod:`engine.plan.costs`), ``stock_half_spread`` on share sales,
    ``commission_per_contract`` on every option bought or sold, ``assignment_fee`` per exercise.
    The discounted costs paid are recorded per path.

Marks and exercise (the no-free-lunch bookkeeping)
    ``trade_style="american"`` (default; listed equity options): every option is priced and
    marked at its American value (exact European value plus the early-exercise premium
    tabulated with :func:`engine.pricing.american.american_price`, as :func:`engine.risk.var.american_fast`)
    and the holder exercises when the spot is at or beyond the exercise boundary
    :func:`engine.pricing.american.exercise_boundary` at the day's time to expiry and implied vol -
    there the option is worth its intrinsic value, so a deep-ITM short put is assigned early
    and the seller never books a premium it keeps for free.  ``trade_style="european"``: no
    early exercise, European prices and marks.  Either way, with ``realized_vol == implied
    vol``, drift = rate, constant IV and no costs, discounted equity is a martingale plus the
    deposits: the mean discounted final equity equals start plus discounted deposits, whatever
    the plan trades and however it is sized (tests check it); with costs it falls short by the
    discounted costs paid.  Exercise is checked once a day (a Bermudan right, worth slightly
    less than the American price the seller receives).

Randomness and chunking
    Paths are grouped in fixed blocks of :data:`BLOCK` paths, each with its own stream
    ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(block,)))``; a chunk draws the
    blocks it overlaps.  Path ``i`` therefore gets the same numbers whatever the chunk size and
    the number of paths: results do not depend on chunking (tested).

References
----------
Merton, R. C. (1976), "Option pricing when underlying stock returns are discontinuous",
*J. Financial Economics* 3.  Glasserman, P. (2003), *Monte Carlo Methods in Financial
Engineering*, sec. 3.1 and 3.5 (exact GBM and jump simulation), sec. 8.1 (American options:
exercise when the continuation value is below the exercise value).  Hull (2018), ch. 15, 21.
FINRA Rule 4210 and the CBOE Margin Manual (margin); Regulation T, 12 CFR 220.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine._validate import VolarbInputError
from engine.plan.costs import half_spread
from engine.pricing.black import black_parts, black_value
from engine.units import days_to_years

__all__ = [
    "SimulationError",
    "SimulationResult",
    "simulate_plan",
    "simulate_prices",
    "sizing_text",
    "costs_text",
    "STEPS_PER_MONTH",
    "STEPS_PER_YEAR",
    "BLOCK",
    "PLAN_TARGETS",
]

STEPS_PER_MONTH = 21
STEPS_PER_YEAR = 252
BLOCK = 1000
PLAN_TARGETS = {
    "conservative": (45_000.0, 55_000.0),
    "expected": (60_000.0, 70_000.0),
    "optimistic": (75_000.0, 90_000.0),
}


class SimulationError(VolarbInputError):
    """Bad argument to the simulation (message names it and the rule)."""


def _summary(x: np.ndarray) -> dict:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": None, "p5": None, "p25": None, "p50": None, "p75": None, "p95": None}
    p = np.percentile(x, [5, 25, 50, 75, 95])
    return {
        "mean": float(x.mean()),
        "p5": float(p[0]),
        "p25": float(p[1]),
        "p50": float(p[2]),
        "p75": float(p[3]),
        "p95": float(p[4]),
    }


@dataclass
class SimulationResult:
    """Outcome of :func:`simulate_plan` (all money in $; probabilities in [0, 1]).

    Attributes
    ----------
    percentiles : pandas.DataFrame
        Per month (0 = start, before the first deposit): ``month``, ``p5``, ``p25``, ``p50``,
        ``p75``, ``p95`` and ``mean`` of equity (net liquidation value at model mid marks).
    final_equity : ndarray
        Final equity per path.
    invested : float
        Starting value plus all deposits.
    prob_loss : float
        Share of paths ending below ``invested``.
    prob_margin_call : float
        Share of paths liquidated by a margin call (maintenance requirement above equity with
        loan value, both on the full basis; never in a cash account).
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
    sizing, costs : str
        The put-sizing rule and the trading costs of the run, in words (shown beside every
        figure by the CLI, the report and the README).
    share_with_early_assignment : float
        Share of paths on which a short option was exercised before expiry.
    mean_discounted_costs : float
        Mean over paths of the discounted costs paid (half-spreads, commissions, fees), $.
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
    sizing: str = ""
    costs: str = ""
    share_with_early_assignment: float = 0.0
    mean_discounted_costs: float = 0.0
    extras: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict (no arrays; ``percentiles`` as a list of per-month records)."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("percentiles", "final_equity", "extras")
        }
        out["percentiles"] = [
            {k: (int(v) if k == "month" else float(v)) for k, v in rec.items()}
            for rec in self.percentiles.to_dict("records")
        ]
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
    return _Model(
        m.spot,
        m.vol,
        m.rate,
        m.dividend_yield,
        s.realized_vol,
        s.drift,
        s.jump_intensity,
        s.jump_mean,
        s.jump_vol,
        s.iv_long_run,
        s.iv_reversion_speed,
        s.iv_vol,
        months * STEPS_PER_MONTH,
    )


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
        k = math.exp(model.jm + 0.5 * model.jv**2) - 1.0 if model.lam > 0 else 0.0
        self.drift = (model.mu - model.q - 0.5 * model.sigma**2 - model.lam * k) * dt
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
# Pricing, costs and margin of one chunk
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Costs:
    """The execution costs and fill cap in force (all 0 with ``simulation.costs = false``)."""

    pct: float  # half-spread as a fraction of mid
    minimum: float  # minimum half-spread, $ per share
    stock: float  # stock half-spread, $ per share
    commission: float  # $ per contract
    assignment: float  # $ per assignment / exercise event
    cap: int  # contracts per option series per day (max_order_size x max_orders_per_day)

    def half(self, mid: np.ndarray) -> np.ndarray:
        """Half-spread, $ per share (bids are floored at 0 by the callers)."""
        if self.pct == 0.0 and self.minimum == 0.0:
            return np.zeros_like(mid)
        return half_spread(mid, self.pct, self.minimum)


def _costs(config) -> _Costs:
    e = config.execution
    cap = int(e.max_order_size) * int(e.max_orders_per_day)
    if not config.simulation.costs:
        return _Costs(0.0, 0.0, 0.0, 0.0, 0.0, cap)
    return _Costs(
        e.half_spread_pct,
        e.half_spread_min,
        e.stock_half_spread,
        e.commission_per_contract,
        e.assignment_fee,
        cap,
    )


_EMPTY = np.zeros(0, dtype=np.int64)
_NO_PATHS = np.zeros(BLOCK * 100, dtype=bool)
_NO_PATHS.flags.writeable = False


def _has_eep(w: float, rate: float, q: float) -> bool:
    """Whether an American option of kind ``w`` is ever worth exercising early (Hull sec. 11.5)."""
    if w < 0:
        return not (rate <= 0 and q >= rate)
    return not (q <= 0 and rate >= q)


def _lerp_uniform(grid: np.ndarray, table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation on a uniform grid, clamped at its ends (as ``engine.risk.var``'s tables)."""
    f = (np.clip(x, grid[0], grid[-1]) - grid[0]) * (1.0 / (grid[1] - grid[0]))
    i = np.minimum(f.astype(np.int64), grid.size - 2)
    a = f - i
    lo = table[i]
    return lo + (table[i + 1] - lo) * a


class _American:
    """American values and exercise boundaries for the simulation, tabulated once per run.

    Value = exact European value (:func:`engine.pricing.black.black_value`) + the early-exercise
    premium per unit strike ``e(ln S/K)`` interpolated on a grid of American values
    (:func:`engine.pricing.american.american_unit_grid`: the prices of
    :func:`engine.pricing.american.american_price`, each table's exercise boundary solved once
    for its 241 points), as :func:`engine.risk.var.american_fast` does (``ln S/K`` in [-6, 4]);
    the value is never below intrinsic.  The exercise boundary per unit strike ``b = B / K``
    is :func:`engine.pricing.american.exercise_boundary` (the boundary the American pricer solves for;
    homogeneous in the strike).

    When the implied vol has no noise (``iv_vol = 0``) it is the same on every path at a given
    step, so each table has one vol (keyed by the days left, the kind and that vol rounded to
    1e-12) and every table the plan's puts will need is built up front in one batch
    (:meth:`prepare`).  Otherwise the premium comes from an :class:`engine.risk.var.EEPCache` spanning
    the vol box and the boundary is interpolated in ``ln sigma``.  Tables are shared by every
    chunk, so results do not depend on chunking.
    """

    X = np.linspace(-6.0, 4.0, 241)

    def __init__(self, rate: float, q: float, lo: float, hi: float, fixed_vol: bool, n: int = 33) -> None:
        from engine.risk.var import EEPCache

        self.rate, self.q, self.fixed = rate, q, fixed_vol
        self.grid = EEPCache(-6.0, 4.0, lo, hi)
        self.lsig = (
            np.array([math.log(lo)]) if hi / lo - 1.0 < 1e-12 else np.linspace(math.log(lo), math.log(hi), n)
        )
        self.eep: dict[tuple, np.ndarray] = {}
        self.rows: dict[tuple, Any] = {}

    @staticmethod
    def key(steps_left: int, w: float, vol: float) -> tuple:
        return (int(steps_left), float(w), round(float(vol), 12))

    def prepare(self, keys) -> None:
        """Build the premium tables and boundaries of ``keys`` (days left, kind, vol) in one batch."""
        from engine.pricing.american import american_unit_grid, exercise_boundary

        todo = sorted({k for k in keys if k not in self.eep})
        if not todo:
            return
        nx = self.X.size
        kt = np.array([k[0] / STEPS_PER_YEAR for k in todo])
        kv = np.array([k[2] for k in todo])
        kw = np.array([k[1] for k in todo])
        # the American values on the grid: one exercise boundary per table (it does not depend
        # on the spot), the premium integral per grid point
        amer = american_unit_grid(self.X, kt, self.rate, kv, kw, self.q).ravel()
        t, w, v = (np.repeat(a, nx) for a in (kt, kw, kv))
        spot = np.tile(np.exp(self.X), len(todo))
        euro = black_value(w, 1.0, black_parts(spot, 1.0, t, self.rate, v, self.q))
        eep = np.maximum(amer - euro, 0.0).reshape(len(todo), nx)
        b = np.asarray(exercise_boundary(1.0, kt, self.rate, kv, kw, self.q), dtype=float).ravel()
        for i, k in enumerate(todo):
            self.eep[k] = eep[i]
            self.rows[k] = float(b[i])

    def value(self, w: float, spot, strike, steps_left: int, iv) -> np.ndarray:
        """American value per share (``steps_left`` > 0 trading days to expiry), not below intrinsic."""
        iv = np.asarray(iv, dtype=float)
        t = steps_left / STEPS_PER_YEAR
        if not self.fixed:
            from engine.risk.var import american_fast

            v = american_fast(spot, strike, t, self.rate, iv, w, self.q, cache=self.grid)
        else:
            key = self.key(steps_left, w, iv.flat[0])
            if key not in self.eep:
                self.prepare([key])
            # one vol on every path: pass it as a scalar (the same numbers, fewer array operations)
            euro = black_value(w, strike, black_parts(spot, strike, t, self.rate, float(iv.flat[0]), self.q))
            v = euro + strike * _lerp_uniform(self.X, self.eep[key], np.log(spot / strike))
        return np.maximum(v, w * (spot - strike))  # v >= 0: not below intrinsic

    def boundary(self, steps_left: int, w: float, vol: np.ndarray) -> np.ndarray:
        """Critical spot per unit strike on each path (put: exercise at or below, call: at or above)."""
        if self.fixed:
            key = self.key(steps_left, w, vol.flat[0])
            if key not in self.rows:
                self.prepare([key])
            return np.full(np.shape(vol), self.rows[key])
        from engine.pricing.american import exercise_boundary

        key = (steps_left, w)
        if key not in self.rows:
            tau = steps_left / STEPS_PER_YEAR
            self.rows[key] = np.asarray(
                exercise_boundary(1.0, tau, self.rate, np.exp(self.lsig), w, self.q), dtype=float
            ).ravel()
        row = self.rows[key]
        if row.size == 1:
            return np.full(np.shape(vol), row[0])
        return np.interp(np.log(vol), self.lsig, row)


@dataclass
class _Slot:
    w: float  # +1 call, -1 put
    strike: np.ndarray  # per path, $ per share
    expiry: int  # step index of expiry
    n: np.ndarray  # contracts per path (signed: < 0 short)
    premium: np.ndarray  # fill price per share ($, net of the half-spread)
    role: str  # "put" (ladder), "hedge", "cc" (covered call), "book"
    vol_ratio: float = 1.0  # the slot's implied vol / the path's (a starting position's own iv)
    idx: np.ndarray | None = None  # paths holding it, when few do (set by _Plan.marks)


def _round_to(x: np.ndarray, inc: float, up: bool = False) -> np.ndarray:
    if inc <= 0:
        return x
    return (np.ceil(np.round(x / inc, 9)) if up else np.maximum(np.round(x / inc), 1.0)) * inc


class _Plan:
    """Plan state for one chunk of paths; every array has one entry per path."""

    def __init__(
        self, config, model: _Model, n: int, book: dict, trade_style: str, margin, amer: _American | None
    ) -> None:
        self.cfg, self.m, self.n = config, model, n
        self.trade_style, self.margin, self.amer = trade_style, margin, amer
        self.american = trade_style == "american" and amer is not None
        self.costs = _costs(config)
        self.cash_account = margin.account == "cash"
        self.mult = float(config.capital.contract_multiplier)
        self.cash = np.full(n, float(config.account.starting_value))
        self.shares = np.zeros(n)
        self.basis = np.zeros(n)
        self.stop = np.zeros(n)
        self.alive = np.ones(n, dtype=bool)
        self.margin_called = np.zeros(n, dtype=bool)
        self.assigned = np.zeros(n, dtype=bool)
        self.early = np.zeros(n, dtype=bool)
        self.cost = np.zeros(n)  # discounted costs paid, $
        self.prev_premium = np.zeros(n)
        self.slots: list[_Slot] = []
        if book.get("shares", 0.0) > 0:  # shares of the starting book, paid for out of the starting value
            self.shares[:] = book["shares"]
            self.basis[:] = book["basis"]
            self.cash -= book["shares"] * model.s0
        cover = float(book.get("shares", 0.0))  # starting shares not yet under a short call
        for i in range(book["w"].size):
            e = int(book["expiry_step"][i])
            if e <= 0:
                continue
            # a position with its own iv (the smile) keeps its ratio to the path's implied vol
            ratio = float(book["vol"][i]) / model.iv0 if "vol" in book and model.iv0 > 0 else 1.0
            role = "book"
            if book["w"][i] > 0 and book["qty"][i] < 0 and cover >= -book["qty"][i]:
                role = "cc"  # a short call of the book covered by its shares
                cover += book["qty"][i]
            slot = _Slot(
                book["w"][i],
                np.full(n, book["strike"][i]),
                e,
                np.full(n, book["qty"][i] / self.mult),
                np.full(n, book["premium"][i]),
                role,
                ratio,
            )
            self.slots.append(slot)
            # the book is worth its model mark today: cash makes equity = starting value
            self.cash -= slot.n * self.mult * self._mark(slot, 0, np.full(n, model.s0), np.full(n, model.iv0))

    # -- pricing --------------------------------------------------------------------------------
    def _value(self, w: float, spot, strike, steps_left: int, iv) -> np.ndarray:
        """Model value per share: American (fast table) or European, intrinsic at expiry."""
        if steps_left <= 0:
            return np.maximum(w * (spot - strike), 0.0)
        m, amer = self.m, self.amer
        if amer is not None and self.american and _has_eep(w, m.rate, m.q):
            return amer.value(w, spot, strike, steps_left, iv)
        if m.nu == 0 and np.size(iv):  # no vol noise: one vol on every path
            iv = float(np.asarray(iv).flat[0])
        return black_value(w, strike, black_parts(spot, strike, steps_left / STEPS_PER_YEAR, m.rate, iv, m.q))

    def _mark(self, slot: _Slot, step: int, spot, iv) -> np.ndarray:
        """Mark per share (model mid) where the slot holds contracts (0 elsewhere)."""
        live = slot.n != 0
        cnt = int(np.count_nonzero(live))
        if cnt == 0:
            return np.zeros(self.n)
        if slot.vol_ratio != 1.0:
            iv = iv * slot.vol_ratio
        left = slot.expiry - step
        if cnt > 0.6 * self.n:
            return self._value(slot.w, spot, slot.strike, left, iv)
        idx = np.flatnonzero(live)
        out = np.zeros(self.n)
        out[idx] = self._value(slot.w, spot[idx], slot.strike[idx], left, iv[idx])
        return out

    def _disc(self, step: int) -> float:
        return math.exp(-self.m.rate * step / STEPS_PER_YEAR)

    def _sell(self, mid: np.ndarray, cnt: np.ndarray, step: int) -> np.ndarray:
        """Sell ``cnt`` contracts at the bid; returns the fill price per share."""
        bid = np.maximum(mid - self.costs.half(mid), 0.0)
        self.cash += cnt * (bid * self.mult - self.costs.commission)
        self.cost += cnt * ((mid - bid) * self.mult + self.costs.commission) * self._disc(step)
        return bid

    def _buy(self, mid: np.ndarray, cnt: np.ndarray, step: int) -> np.ndarray:
        """Buy ``cnt`` contracts at the ask; returns the fill price per share."""
        ask = mid + self.costs.half(mid)
        self.cash -= cnt * (ask * self.mult + self.costs.commission)
        self.cost += cnt * ((ask - mid) * self.mult + self.costs.commission) * self._disc(step)
        return ask

    def _close(self, slot: _Slot, mark: np.ndarray, sel: np.ndarray, step: int) -> None:
        """Close the slot's contracts on ``sel`` (a mask, or path indices) at the bid (long) or ask (short)."""
        idx = np.flatnonzero(sel) if sel.dtype == bool else sel
        if idx.size == 0:
            return
        n, mk = slot.n[idx], mark[idx]
        h = self.costs.half(mk)
        price = np.where(n > 0, np.maximum(mk - h, 0.0), mk + h)
        a = np.abs(n)
        self.cash[idx] += n * price * self.mult - a * self.costs.commission
        self.cost[idx] += a * (np.abs(mk - price) * self.mult + self.costs.commission) * self._disc(step)
        slot.n = slot.n.copy()
        slot.n[idx] = 0.0

    def _sell_shares(self, sel: np.ndarray, spot, step: int) -> None:
        """Sell every share on ``sel`` at the stock's bid."""
        idx = np.flatnonzero(sel & (self.shares > 0))
        if idx.size:
            q, sp = self.shares[idx], spot[idx]
            h = np.minimum(self.costs.stock, sp)
            self.cash[idx] += q * (sp - h)
            self.cost[idx] += q * h * self._disc(step)
        self.shares = np.where(sel, 0.0, self.shares)
        self.stop = np.where(sel, 0.0, self.stop)
        self.basis = np.where(sel, 0.0, self.basis)

    def _hedge_share(self, equity: np.ndarray):
        """allocation.call_share, or the plan's dynamic hedge ratio on each path's equity."""
        h = self.cfg.hedge
        if not h.use_dynamic_ratio:
            return self.cfg.allocation.call_share
        from engine.plan.hedge import hedge_ratio

        return hedge_ratio(
            np.maximum(equity, 0.0), self.cfg.market.iv_percentile, self.cfg.market.squeeze_probability, h
        )

    # -- the account ------------------------------------------------------------------------------
    def marks(self, step: int, spot, iv) -> list[np.ndarray]:
        """Every slot's mark per share (0 where a path holds none); sets each slot's ``idx``.

        A line held on few paths is valued on those only; the sparse European lines of the day
        are valued together in one call of the Black kernel.
        """
        out: list[np.ndarray] = []
        batch = []
        m, n = self.m, self.n
        zero = np.zeros(n)
        for j, s in enumerate(self.slots):
            cnt = int(np.count_nonzero(s.n))  # paths holding the line (no temporary mask)
            vol = iv * s.vol_ratio if s.vol_ratio != 1.0 else iv
            left = s.expiry - step
            if cnt == 0:
                s.idx = _EMPTY
                out.append(zero)
            elif cnt > 0.6 * n:
                s.idx = None
                # a ladder put or a starting position has one strike on every path: a scalar
                k = float(s.strike[0]) if s.role in ("put", "book") else s.strike
                out.append(self._value(s.w, spot, k, left, vol))
            else:
                idx = np.flatnonzero(s.n)
                s.idx = idx
                if left > 0 and not (self.american and _has_eep(s.w, m.rate, m.q)):
                    batch.append((j, idx, s, vol))
                    out.append(zero)
                else:
                    mk = np.zeros(n)
                    mk[idx] = self._value(s.w, spot[idx], s.strike[idx], left, vol[idx])
                    out.append(mk)
        if batch:
            idx = np.concatenate([b[1] for b in batch])
            w = np.concatenate([np.full(b[1].size, b[2].w) for b in batch])
            k = np.concatenate([b[2].strike[b[1]] for b in batch])
            t = np.concatenate([np.full(b[1].size, (b[2].expiry - step) / STEPS_PER_YEAR) for b in batch])
            vol = np.concatenate([b[3][b[1]] for b in batch])
            val = black_value(w, k, black_parts(spot[idx], k, t, m.rate, vol, m.q))
            pos = 0
            for j, rows, _, _ in batch:
                mk = np.zeros(n)
                mk[rows] = val[pos : pos + rows.size]
                pos += rows.size
                out[j] = mk
        return out

    def account(self, step: int, spot, marks: list, phase: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Net liquidation, equity with loan value and requirement ($ per path, full basis).

        As :func:`engine.plan.account.account_state`: net liquidation = cash + shares x spot + signed
        option marks.  Equity with loan value = cash + long stock value (+ long options of more
        than ``margin.long_option_loan_months``, margin account).  Requirement = the stock
        requirement (``phase``: initial or maintenance), the shares under a covered call lending
        on no more than the call's strike (their requirement is ``S q - (1 - pct) min(S, K) q``),
        + every uncovered short option's requirement at its mark (covered calls need nothing
        more) + 75% of a long-dated long option's value (FINRA 4210(f)(2)(D)); shorter long
        options are paid in full and have no loan value.
        """
        from engine.plan.account import LONG_OPTION_MARGIN
        from engine.plan.margin import short_option_requirement, stock_requirement

        mg, mult = self.margin, self.mult
        opt = np.zeros(self.n)  # sum of contracts x mark, $ per share
        covered = np.zeros(self.n)  # contracts of covered calls
        covered_value = np.zeros(self.n)  # their shares valued at min(spot, strike), / multiplier
        dense_k, dense_m, dense_n = [], [], []  # short lines held on most paths
        w_l, s_l, k_l, m_l, n_l, i_l = [], [], [], [], [], []  # short lines held on few paths
        loan_steps = mg.long_option_loan_months * STEPS_PER_MONTH  # months on the trading-day clock
        long_dated = np.zeros(self.n)  # value of long options with loan value, $ per share / contract
        for s, mk in zip(self.slots, marks, strict=True):
            if not self.cash_account and s.role in ("hedge", "book") and s.expiry - step > loan_steps:
                long_dated += np.maximum(s.n, 0.0) * mk
            if s.idx is None:  # held on most paths
                opt += s.n * mk
                if s.role == "cc":
                    covered -= s.n
                    covered_value -= s.n * np.minimum(spot, s.strike)
                elif s.role == "put" or (s.role == "book" and s.w < 0):
                    short = np.minimum(s.n, 0.0)
                    dense_k.append(s.strike)
                    dense_m.append(mk)
                    dense_n.append(-short)
                elif s.role == "book":  # a call of the starting book: gather its short paths
                    rows = np.flatnonzero(s.n < 0)
                    if rows.size:
                        w_l.append(np.full(rows.size, s.w))
                        s_l.append(spot[rows])
                        k_l.append(s.strike[rows])
                        m_l.append(mk[rows])
                        n_l.append(-s.n[rows])
                        i_l.append(rows)
                continue
            rows = s.idx
            if rows.size == 0:
                continue
            nn, mm = s.n[rows], mk[rows]
            opt[rows] += nn * mm
            if s.role == "cc":
                covered[rows] -= nn
                covered_value[rows] -= nn * np.minimum(spot[rows], s.strike[rows])
                continue
            short = nn < 0
            if short.any():
                rows = rows[short]
                w_l.append(np.full(rows.size, s.w))
                s_l.append(spot[rows])
                k_l.append(s.strike[rows])
                m_l.append(mm[short])
                n_l.append(-nn[short])
                i_l.append(rows)
        nlv = self.cash + self.shares * spot + mult * opt
        covered *= mult
        covered_value *= mult
        uncovered = np.maximum(self.shares - covered, 0.0)
        long_dated *= mult
        ewlv = self.cash + self.shares * spot + long_dated
        if covered.any():
            # the covered shares' requirement is on their value at min(spot, strike): as many
            # shares at the spot as that value buys (the spot decides a low-price rule)
            both = np.asarray(
                stock_requirement(
                    np.concatenate([spot, spot]),
                    np.concatenate([uncovered, covered_value / spot]),
                    mg,
                    phase=phase,
                ),
                dtype=float,
            )
            req = both[: self.n] + both[self.n :] + (covered * spot - covered_value)
        else:
            req = np.asarray(stock_requirement(spot, uncovered, mg, phase=phase), dtype=float)
        if long_dated.any():
            req = req + LONG_OPTION_MARGIN * long_dated
        if dense_k or i_l:
            # every short option of the day in one kernel call: the dense lines (short puts held
            # on most paths) row by row, then the sparse ones gathered
            nd = len(dense_k) * self.n
            kinds = np.concatenate([np.full(nd, -1.0)] + w_l)  # +1 call, -1 put
            per = np.asarray(
                short_option_requirement(
                    kinds,
                    np.concatenate([spot] * len(dense_k) + s_l),
                    np.concatenate(dense_k + k_l),
                    np.concatenate(dense_m + m_l),
                    mg,
                    multiplier=mult,
                ),
                dtype=float,
            )
            if dense_k:
                req = req + np.einsum("ij,ij->j", np.stack(dense_n), per[:nd].reshape(len(dense_k), self.n))
            if i_l:
                # a short option the account cannot carry (a naked call in a cash account) needs it all
                sp = per[nd:]
                sp = np.where(np.isfinite(sp), sp, np.inf)
                req = req + np.bincount(
                    np.concatenate(i_l), weights=np.concatenate(n_l) * sp, minlength=self.n
                )
        return nlv, ewlv, req

    # -- monthly trades ---------------------------------------------------------------------------
    def month_start(self, step: int, spot, iv) -> None:
        from engine.plan.margin import capital_per_contract, short_option_requirement

        cfg, n, mult, c = self.cfg, self.n, self.mult, self.costs
        self.cash += cfg.account.monthly_addition
        marks = self.marks(step, spot, iv)
        nlv, ewlv, req = self.account(step, spot, marks, "initial")
        call_share = self._hedge_share(nlv)
        excess = np.maximum(ewlv - req, 0.0)  # buying power for a short option (100% of excess)
        put_steps = max(1, round(days_to_years(cfg.strikes.dte) * STEPS_PER_YEAR))
        strikes, weights = cfg.strikes.strikes, cfg.strikes.weights
        mids, bids, use, want = [], [], [], []
        for k, wgt in zip(strikes, weights, strict=True):
            kk = np.full(n, float(k))
            mid = self._value(-1.0, spot, kk, put_steps, iv)
            bid = np.maximum(mid - c.half(mid), 0.0)
            # buying power used per contract: the requirement at the mark, less the premium kept
            # after the hedge purchase it finances, plus the commission
            r = np.asarray(
                short_option_requirement("put", spot, kk, mid, self.margin, multiplier=mult), dtype=float
            )
            u = r - (1.0 - call_share) * bid * mult + c.commission
            u = np.where(np.isfinite(u) & (u > 0), u, np.nan)
            sizing = cfg.simulation.sizing
            if sizing == "buying_power":
                base = excess * wgt / u
            else:
                budget = cfg.account.monthly_addition + (1.0 - call_share) * self.prev_premium
                if sizing == "full_requirement":
                    cpc = r
                else:
                    cpc = np.asarray(
                        capital_per_contract(
                            cfg.capital.model, spot, kk, bid, "put", cfg.capital, self.margin
                        ),
                        dtype=float,
                    )
                with np.errstate(divide="ignore", invalid="ignore"):
                    base = np.where(cpc > 0, budget * wgt / cpc, 0.0)
            cnt = np.where(self.alive & (bid > 0) & np.isfinite(base), np.floor(np.nan_to_num(base)), 0.0)
            mids.append(mid)
            bids.append(bid)
            use.append(np.nan_to_num(u))
            want.append(np.minimum(np.maximum(cnt, 0.0), c.cap))
        # the broker refuses what the buying power cannot carry: scale the ladder down to it
        need = sum(q * u for q, u in zip(want, use, strict=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(need > excess, excess / np.where(need > 0, need, 1.0), 1.0)
        collected = np.zeros(n)
        for k, mid, q in zip(strikes, mids, want, strict=True):
            cnt = np.floor(q * scale + 1e-9) if np.any(scale < 1.0) else q
            price = self._sell(mid, cnt, step)
            collected += cnt * price * mult
            self.slots.append(_Slot(-1.0, np.full(n, float(k)), step + put_steps, -cnt, price, "put"))
        self.prev_premium = collected
        hedge_budget = call_share * collected
        inc = cfg.strikes.strike_increment
        for rung in cfg.hedge.ladder:
            k = _round_to(rung.moneyness * spot, inc)
            steps = max(1, round(days_to_years(rung.dte) * STEPS_PER_YEAR))
            mid = self._value(1.0, spot, k, steps, iv)
            ask = mid + c.half(mid)
            unit = ask * mult + c.commission
            with np.errstate(divide="ignore", invalid="ignore"):
                cnt = np.where(self.alive & (ask > 0), np.floor(hedge_budget * rung.share / unit), 0.0)
            cnt = np.minimum(np.where(np.isfinite(cnt), cnt, 0.0), c.cap)
            price = self._buy(mid, cnt, step)
            self.slots.append(_Slot(1.0, k, step + steps, cnt, price, "hedge"))

    # -- daily bookkeeping -------------------------------------------------------------------------
    def _exercised(self, slot: _Slot, step: int, spot, iv) -> np.ndarray:
        """Paths on which the holder exercises ``slot`` early (spot beyond the boundary)."""
        amer = self.amer
        if amer is None or not (
            self.american and slot.expiry > step and _has_eep(slot.w, self.m.rate, self.m.q)
        ):
            return _NO_PATHS[: self.n] if self.n <= _NO_PATHS.size else np.zeros(self.n, dtype=bool)
        live = slot.n != 0
        if not live.any():
            return live
        vol = iv * slot.vol_ratio if slot.vol_ratio != 1.0 else iv
        if amer.fixed and slot.role in ("put", "book"):  # one strike and one vol: a scalar boundary
            b = amer.boundary(slot.expiry - step, slot.w, vol[:1])[0] * float(slot.strike[0])
        else:
            b = amer.boundary(slot.expiry - step, slot.w, vol) * slot.strike
        return live & ((spot <= b) if slot.w < 0 else (spot >= b))

    def settle(self, step: int, spot, iv) -> None:
        """Expiry and early exercise: assignment, calls called away, cash settlement."""
        mult, fee, disc = self.mult, self.costs.assignment, self._disc(step)
        new_shares = np.zeros(self.n)
        new_cost = np.zeros(self.n)
        for slot in self.slots:
            if slot.expiry == step:
                due = slot.n != 0
                early = None
            else:
                early = self._exercised(slot, step, spot, iv)
                due = early
            if not due.any():
                continue
            if early is not None:
                self.early |= early & (slot.n < 0)
            intrinsic = np.maximum(slot.w * (spot - slot.strike), 0.0)
            itm = due & (intrinsic > 0)
            if slot.w < 0 and slot.role in ("put", "book"):
                put = itm & (slot.n < 0)
                q = np.where(put, -slot.n * mult, 0.0)
                new_shares += q
                new_cost += q * (slot.strike - slot.premium)
                self.cash -= q * slot.strike
                self.assigned |= put
                cash_settled = due & ~put
            elif slot.role == "cc":
                called = itm
                q = np.where(called, -slot.n * mult, 0.0)
                self.shares -= q
                self.cash += q * slot.strike
                cash_settled = due & ~called
            else:
                cash_settled = due
            self.cash += np.where(cash_settled, slot.n * mult * intrinsic, 0.0)
            if fee > 0:
                self.cash -= np.where(itm, fee, 0.0)
                self.cost += np.where(itm, fee * disc, 0.0)
            slot.n = np.where(due, 0.0, slot.n)
        empty = self.shares <= 0
        self.basis = np.where(empty, 0.0, self.basis)
        self.stop = np.where(empty, 0.0, self.stop)
        got = new_shares > 0
        if got.any():
            total = self.shares + new_shares
            self.basis = np.where(
                got, (self.basis * self.shares + new_cost) / np.where(got, total, 1.0), self.basis
            )
            self.shares = total
            self._covered_calls(step, spot, iv, got)
        self.slots = [s for s in self.slots if s.expiry > step and s.n.any()]

    def _covered_calls(self, step: int, spot, iv, got: np.ndarray) -> None:
        """The assignment playbook on the paths that just received shares."""
        a, mult, inc, n = self.cfg.assignment, self.mult, self.cfg.strikes.strike_increment, self.n
        idx = np.flatnonzero(got & self.alive)
        if idx.size == 0:
            return
        covered = np.zeros(idx.size)
        for s in self.slots:
            if s.role == "cc" and s.expiry > step:
                covered -= s.n[idx] * mult
        cnt = np.minimum(np.floor(np.maximum(self.shares[idx] - covered, 0.0) / mult), self.costs.cap)
        basis = self.basis[idx]
        tiers = (
            (basis < a.excellent_basis, a.excellent_call_upside, a.excellent_call_dte, 0.0),
            ((basis >= a.excellent_basis) & (basis < a.good_basis), a.good_call_upside, a.good_call_dte, 0.0),
            (basis >= a.good_basis, a.exit_call_upside, a.exit_call_dte, a.exit_stop),
        )
        for mask, upside, dte, stop in tiers:
            sel = mask & (cnt > 0)
            if not sel.any():
                continue
            rows = idx[sel]
            steps = max(1, round(days_to_years(dte) * STEPS_PER_YEAR))
            k_sel = _round_to(np.maximum(basis[sel] * (1.0 + upside), 1e-6), inc, up=True)
            k_sel = np.where(k_sel > 0, k_sel, 1e-6)
            mid_sel = self._value(1.0, spot[rows], k_sel, steps, iv[rows])
            k, mid, n_cc = np.ones(n), np.zeros(n), np.zeros(n)
            k[rows], mid[rows] = k_sel, mid_sel
            n_cc[rows] = np.where(mid_sel - self.costs.half(mid_sel) > 0, cnt[sel], 0.0)
            price = self._sell(mid, n_cc, step)
            self._add_cc(k, step + steps, n_cc, price)
            if stop > 0:
                self.stop[rows] = basis[sel] * (1.0 - stop)

    def _add_cc(self, k: np.ndarray, expiry: int, n_cc: np.ndarray, price: np.ndarray) -> None:
        """A covered-call line: joins the line of the same expiry when no path holds both."""
        new = n_cc > 0
        for s in self.slots:
            if s.role == "cc" and s.expiry == expiry and not np.any(new & (s.n != 0)):
                s.n = np.where(new, -n_cc, s.n)
                s.strike = np.where(new, k, s.strike)
                s.premium = np.where(new, price, s.premium)
                return
        self.slots.append(_Slot(1.0, k, expiry, -n_cc, price, "cc"))

    def stop_loss(self, step: int, spot, iv) -> None:
        hit = (self.shares > 0) & (self.stop > 0) & (spot <= self.stop)
        if not hit.any():
            return
        for s in self.slots:
            if s.role == "cc":
                close = hit & (s.n != 0)
                if close.any():
                    idx = np.flatnonzero(close)
                    mark = np.zeros(self.n)
                    vol = iv[idx] * s.vol_ratio
                    mark[idx] = self._value(s.w, spot[idx], s.strike[idx], s.expiry - step, vol)
                    self._close(s, mark, close, step)
        self._sell_shares(hit, spot, step)

    def liquidate(self, hit: np.ndarray, spot, marks: list, step: int) -> None:
        """Margin call: every position closed at the bid/ask, the path stops trading."""
        idx = np.flatnonzero(hit)
        for s, mk in zip(self.slots, marks, strict=True):
            rows = idx[s.n[idx] != 0]
            if rows.size:
                self._close(s, mk, rows, step)
        self._sell_shares(hit, spot, step)
        self.alive &= ~hit
        self.margin_called |= hit


def _run_chunk(
    config,
    model: _Model,
    seed: int,
    start: int,
    stop: int,
    book: dict,
    months: int,
    trade_style: str,
    margin,
    amer: _American | None,
    draws=None,
) -> dict[str, np.ndarray]:
    n = stop - start
    paths = _Paths(model, _draws(model, seed, start, stop) if draws is None else draws, n)
    plan = _Plan(config, model, n, book, trade_style, margin, amer)
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
    min_excess = np.full(n, np.inf)
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
        marks = plan.marks(step, paths.spot, paths.iv)
        eq, ewlv, req = plan.account(step, paths.spot, marks, "maintenance")
        min_excess = np.minimum(min_excess, ewlv - req)
        if not plan.cash_account:  # a cash account is never margin-called: it sells only what it secures
            hit = plan.alive & (req > ewlv)
            if hit.any():
                plan.liquidate(hit, paths.spot, marks, step)
                eq = np.where(hit, plan.cash, eq)
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
    return {
        "month_eq": month_eq,
        "max_dd": max_dd,
        "index": index,
        "r_sum": r_sum,
        "r_sq": r_sq,
        "r_cnt": r_cnt,
        "margin_called": plan.margin_called,
        "assigned": plan.assigned,
        "early": plan.early,
        "cost": plan.cost,
        "min_excess": min_excess,
    }


def _book(positions, config) -> dict:
    """Arrays of today's book: its options (``engine.risk.var.book_arrays``) and its long shares.

    Stock rows (``kind = stock``) give ``shares`` (long only) and ``basis`` (their cost per
    share, the ``premium`` column, averaged); a short stock row is refused.
    """
    from engine.risk.var import book_arrays

    z = np.zeros(0)
    empty = {
        "w": z,
        "qty": z,
        "strike": z,
        "premium": z,
        "vol": z,
        "expiry_step": z,
        "shares": 0.0,
        "basis": 0.0,
    }
    if positions is None or len(positions) == 0:
        return empty
    shares, basis = 0.0, 0.0
    if "kind" in positions.columns:
        stock = positions["kind"].astype(str).str.lower() == "stock"
        if stock.any():
            rows = positions.loc[stock]
            if (rows["side"].astype(str).str.lower() != "long").any():
                raise SimulationError(
                    "positions: the simulation holds long shares only; a stock row has side short"
                )
            qty = rows["shares"].to_numpy(float)
            shares = float(qty.sum())
            basis = float(np.sum(qty * rows["premium"].to_numpy(float)) / shares) if shares > 0 else 0.0
            positions = positions.loc[~stock]
    if len(positions) == 0:
        return {**empty, "shares": shares, "basis": basis}
    b: dict[str, Any] = dict(book_arrays(positions, config))
    b["expiry_step"] = np.round(b["t"] * STEPS_PER_YEAR).astype(int)  # t: years ACT/365
    b["shares"], b["basis"] = shares, basis
    return b


def _put_table_keys(config, model: _Model, book: dict, months: int) -> list[tuple]:
    """Every (days left, kind, vol) an American put of the plan or the book is valued at.

    Only with a noise-free implied vol (its path is then the same on every path); puts have an
    early-exercise premium unless ``rate <= 0`` and ``q >= rate``.
    """
    if not _has_eep(-1.0, model.rate, model.q):
        return []
    zeros = np.zeros((model.steps, 1))
    one = _Paths(model, {"z": zeros, "zv": zeros, "nj": zeros, "zj": zeros}, 1)  # the vol path has no noise
    iv = [float(one.iv[0])]
    for i in range(model.steps):
        one.step(i)
        iv.append(float(one.iv[0]))
    lines = []  # (first step held, expiry step, vol ratio)
    for i in range(book["w"].size):
        if book["w"][i] < 0 and int(book["expiry_step"][i]) > 0:
            ratio = float(book["vol"][i]) / model.iv0 if model.iv0 > 0 else 1.0
            lines.append((0, int(book["expiry_step"][i]), ratio))
    put_steps = max(1, round(days_to_years(config.strikes.dte) * STEPS_PER_YEAR))
    lines += [(m * STEPS_PER_MONTH, m * STEPS_PER_MONTH + put_steps, 1.0) for m in range(months)]
    return [
        _American.key(e - j, -1.0, iv[j] * ratio if ratio != 1.0 else iv[j])
        for first, e, ratio in lines
        for j in range(first, min(e, model.steps + 1))
    ]


def sizing_text(config) -> str:
    """One line naming the put-sizing rule of ``config`` (printed beside every simulated figure).

    >>> from engine.config import default_config
    >>> sizing_text(default_config())
    'plan sizing: monthly budget / reg_t capital per contract (net basis), capped by buying power (margin account)'
    """
    acct, sizing = config.margin.account, config.simulation.sizing
    if sizing == "buying_power":
        return f"buying-power sizing: all buying power each month, by strike weight ({acct} account)"
    if sizing == "full_requirement":
        return (
            f"full-requirement sizing: monthly budget / full-basis requirement per contract (premium included), "
            f"capped by buying power ({acct} account)"
        )
    return (
        f"plan sizing: monthly budget / {config.capital.model} capital per contract (net basis), capped by "
        f"buying power ({acct} account)"
    )


def costs_text(config) -> str:
    """One line naming the trading costs of ``config`` (printed beside every simulated figure).

    >>> from engine.config import default_config
    >>> costs_text(default_config())
    'costs: half-spread max(0% of mid, $0.02)/share, stock $0.005/share, $0.65/contract, $0.00/assignment; fills <= 10 x 10 contracts/series/day'
    """
    e = config.execution
    fills = f"fills <= {e.max_orders_per_day} x {e.max_order_size} contracts/series/day"
    if not config.simulation.costs:
        return f"costs: none (fills at model mid); {fills}"
    return (
        f"costs: half-spread max({100 * e.half_spread_pct:.4g}% of mid, ${e.half_spread_min:.4g})/share, "
        f"stock ${e.stock_half_spread:.4g}/share, ${e.commission_per_contract:.2f}/contract, "
        f"${e.assignment_fee:.2f}/assignment; {fills}"
    )


def simulate_plan(
    config,
    positions,
    paths: int | None = None,
    seed: int | None = None,
    *,
    chunk_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    months: int | None = None,
    trade_style: str = "american",
    stock_maintenance: float | None = None,
    deterministic: bool = True,
) -> SimulationResult:
    """Monte Carlo of the plan over the projection horizon (see the module docstring).

    Parameters
    ----------
    config : PlanConfig
        Every section of the plan; ``simulation`` holds the price model, the sizing rule and
        the costs switch, ``execution`` the costs and fill cap, ``margin`` the account rules.
    positions : pandas.DataFrame or None
        Today's book (:data:`engine.data.positions.POSITION_COLUMNS`), e.g. the example book; marked
        at the model and exercised like the plan's own options.  A position without its own
        ``iv`` is marked at the path's implied vol (which starts at ``market.vol``); one with an
        ``iv`` (the smile) keeps the ratio ``iv / market.vol`` to the path's implied vol as it
        moves.  ``None`` starts from cash.
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
        Exercise style of every option: American (listed equity options; priced, marked and
        exercised early as such) or European (no early exercise).
    stock_maintenance : float, optional
        Maintenance requirement on shares held, as a share of their value; default
        ``config.margin.stock_maintenance_pct`` (FINRA minimum 25%).
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
    Glasserman (2003), ch. 3; Merton (1976); FINRA Rule 4210; Hull (2018), ch. 21.

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
    margin = config.margin
    if stock_maintenance is not None:
        if not 0.0 <= stock_maintenance <= 1.0:
            raise SimulationError(f"stock_maintenance must be in [0, 1], got {stock_maintenance!r}")
        margin = dataclasses.replace(margin, stock_maintenance_pct=float(stock_maintenance))
    if sim.iv_long_run <= 0 and sim.iv_reversion_speed > 0:
        raise SimulationError("simulation.iv_long_run must be > 0 when iv_reversion_speed > 0")

    t0 = time.perf_counter()
    model = _model(config, months)
    book = _book(positions, config)
    horizon = model.steps / STEPS_PER_YEAR
    band = math.exp(5.0 * sim.iv_vol * math.sqrt(horizon)) if sim.iv_vol > 0 else 1.0
    lo = min(config.market.vol, sim.iv_long_run if sim.iv_reversion_speed > 0 else config.market.vol) / band
    hi = max(config.market.vol, sim.iv_long_run if sim.iv_reversion_speed > 0 else config.market.vol) * band
    if book["vol"].size:  # starting positions marked at their own iv ratio
        ratios = book["vol"] / config.market.vol
        lo, hi = lo * min(1.0, float(ratios.min())), hi * max(1.0, float(ratios.max()))
    amer = None
    if trade_style == "american":
        amer = _American(model.rate, model.q, lo * 0.999, hi * 1.001, fixed_vol=model.nu == 0)
        if amer.fixed:
            amer.prepare(_put_table_keys(config, model, book, months))
    results = []
    for start in range(0, paths, chunk):
        stop = min(paths, start + chunk)
        results.append(_run_chunk(config, model, seed, start, stop, book, months, trade_style, margin, amer))
        if progress is not None:
            progress(stop, paths)
    agg = {k: np.concatenate([r[k] for r in results]) for k in results[0]}

    month_eq = agg["month_eq"]
    final = month_eq[:, -1]
    deposit = config.account.monthly_addition
    invested = config.account.starting_value + deposit * months
    disc = math.exp(-model.rate * horizon)
    disc_dep = sum(
        deposit * math.exp(-model.rate * m * STEPS_PER_MONTH / STEPS_PER_YEAR) for m in range(months)
    )
    pct = np.percentile(month_eq, [5, 25, 50, 75, 95], axis=0)
    table = pd.DataFrame(
        {
            "month": np.arange(months + 1),
            "p5": pct[0],
            "p25": pct[1],
            "p50": pct[2],
            "p75": pct[3],
            "p95": pct[4],
            "mean": month_eq.mean(axis=0),
        }
    )
    targets = {
        name: {
            "low": lo_,
            "high": hi_,
            "in_range": float(np.mean((final >= lo_) & (final <= hi_))),
            "at_least": float(np.mean(final >= lo_)),
        }
        for name, (lo_, hi_) in PLAN_TARGETS.items()
    }
    cnt = agg["r_cnt"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_r = np.where(cnt > 0, agg["r_sum"] / np.maximum(cnt, 1), np.nan)
        var_r = np.where(cnt > 1, (agg["r_sq"] - cnt * mean_r**2) / np.maximum(cnt - 1, 1), np.nan)
        sd_r = np.sqrt(np.maximum(var_r, 0.0))
        sharpe = np.where(
            sd_r > 0,
            (mean_r - model.rate / STEPS_PER_YEAR)
            / np.where(sd_r > 0, sd_r, 1.0)
            * math.sqrt(STEPS_PER_YEAR),
            np.nan,
        )
    ann = agg["index"] ** (STEPS_PER_YEAR / model.steps) - 1.0
    df = final * disc
    deterministic_rows = None
    if deterministic:
        try:
            from engine.plan.projection import project_plan

            proj = project_plan(config, months=months)
            keep = ("premium_income", "call_hedge", "contracts_sold", "cumulative_contracts", "margin_used")
            deterministic_rows = [
                {
                    "month": int(r["month"]),
                    "portfolio_value": float(r["portfolio_value"]),
                    **{k: float(r[k]) for k in keep if k in r},
                }
                for r in proj.to_dict("records")
            ]
        except ImportError:
            deterministic_rows = None
    e = config.execution
    cost_on = bool(sim.costs)
    costs = {
        "costs_on": cost_on,
        "half_spread_pct": e.half_spread_pct if cost_on else 0.0,
        "half_spread_min": e.half_spread_min if cost_on else 0.0,
        "stock_half_spread": e.stock_half_spread if cost_on else 0.0,
        "commission_per_contract": e.commission_per_contract if cost_on else 0.0,
        "assignment_fee": e.assignment_fee if cost_on else 0.0,
        "max_order_size": e.max_order_size,
        "max_orders_per_day": e.max_orders_per_day,
    }
    assumptions = {
        "steps_per_month": STEPS_PER_MONTH,
        "steps_per_year": STEPS_PER_YEAR,
        "months": months,
        "spot": config.market.spot,
        "implied_vol": config.market.vol,
        "rate": model.rate,
        "dividend_yield": model.q,
        "realized_vol": sim.realized_vol,
        "drift": sim.drift,
        "jump_intensity": sim.jump_intensity,
        "jump_mean": sim.jump_mean,
        "jump_vol": sim.jump_vol,
        "iv_long_run": sim.iv_long_run,
        "iv_reversion_speed": sim.iv_reversion_speed,
        "iv_vol": sim.iv_vol,
        "capital_model": config.capital.model,
        "call_share": config.allocation.call_share,
        "sizing": sim.sizing,
        "sizing_rule": sizing_text(config),
        "costs_rule": costs_text(config),
        "account": margin.account,
        "trade_style": trade_style,
        "exercise": (
            "american: early exercise at the boundary, marks at the American value"
            if trade_style == "american"
            else "european: exercise at expiry only, marks at the European value"
        ),
        "margin_basis": "maintenance requirement (full basis) vs equity with loan value",
        "stock_maintenance": margin.stock_maintenance_pct,
        "block": BLOCK,
        "chunk_size": chunk,
        "starting_book_positions": int(book["w"].size),
        **{f"cost_{k}": v for k, v in costs.items()},
    }
    return SimulationResult(
        paths=paths,
        months=months,
        seed=seed,
        percentiles=table,
        final_equity=final,
        invested=invested,
        prob_loss=float(np.mean(final < invested)),
        prob_margin_call=float(np.mean(agg["margin_called"])),
        prob_targets=targets,
        max_drawdown=_summary(agg["max_dd"]),
        annual_return=_summary(ann),
        sharpe=_summary(sharpe),
        share_with_assignment=float(np.mean(agg["assigned"])),
        mean_discounted_final=float(df.mean()),
        se_discounted_final=float(df.std(ddof=1) / math.sqrt(paths)) if paths > 1 else float("nan"),
        discounted_invested=float(config.account.starting_value + disc_dep),
        deterministic=deterministic_rows,
        assumptions=assumptions,
        elapsed_seconds=time.perf_counter() - t0,
        sizing=sizing_text(config),
        costs=costs_text(config),
        share_with_early_assignment=float(np.mean(agg["early"])),
        mean_discounted_costs=float(agg["cost"].mean()),
        extras={
            "month_equity": month_eq,
            "max_drawdown": agg["max_dd"],
            "sharpe": sharpe,
            "annual_return": ann,
            "margin_called": agg["margin_called"],
            "assigned": agg["assigned"],
            "early_assigned": agg["early"],
            "discounted_costs": agg["cost"],
            "min_excess": agg["min_excess"],
        },
    )
