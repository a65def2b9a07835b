"""Tests of the Monte Carlo of the plan (engine/risk/simulate.py).

Kinds: an exact bookkeeping identity (no free lunch), a deterministic scenario re-derived by a
plain scalar reference written here, closed-form GBM/Merton moments, reproducibility and
chunking invariance, and the refused arguments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from engine.config import default_config
from engine.data.positions import example_positions
from engine.pricing.black import bs_price
from engine.risk.simulate import SimulationError, simulate_plan, simulate_prices


def _fair(vol: float = 4.25, rate: float = 0.04, **kw):
    """Realized vol = implied, drift = rate, no jumps, constant implied vol, no costs."""
    args = {
        "market__vol": vol,
        "market__rate": rate,
        "simulation__realized_vol": vol,
        "simulation__drift": rate,
        "simulation__iv_reversion_speed": 0.0,
        "simulation__iv_vol": 0.0,
        "simulation__jump_intensity": 0.0,
        "simulation__costs": False,
    }
    return default_config().replace(**{**args, **kw})


def _martingale_gap(cfg, res, n, seed, months):
    """(mean discounted final equity - (start + discounted deposits), its standard error).

    The discounted final spot of the same paths (known mean S0 under drift = rate) is a control
    variate that shrinks the Monte Carlo error; the deposits are written out by hand.
    """
    r = cfg.market.rate
    disc = math.exp(-r * months * 21 / 252)
    target = cfg.account.starting_value + sum(
        cfg.account.monthly_addition * math.exp(-r * 21 * m / 252) for m in range(months)
    )
    assert_allclose(res.discounted_invested, target, rtol=1e-12)
    y = res.final_equity * disc
    x = simulate_prices(cfg, n, seed, months=months)["spot"][:, -1] * disc
    c = np.cov(y, x)
    adj = y - c[0, 1] / c[1, 1] * (x - cfg.market.spot)
    return adj.mean() - target, adj.std(ddof=1) / math.sqrt(n)


@pytest.mark.parametrize("style", ["american", "european"])
@pytest.mark.parametrize("model", ["premium", "cash_secured", "reg_t"])
@pytest.mark.parametrize("vol", [4.25, 0.6])
def test_no_free_lunch(vol, model, style):
    """E[e^{-rT} equity_T] = start + sum_m e^{-r t_m} deposit, whatever the plan trades.

    Every trade, mark, exercise, settlement and liquidation happens at model value (no costs);
    American options are priced and marked as American and exercised at the boundary, so the
    holder's early-exercise right is paid for and used; cash earns the rate and the stock's total
    return is the rate.  Then discounted equity is a martingale plus the deposits, for every
    capital model (sizing) and both exercise styles.  |error| < 4 standard errors.
    """
    cfg = _fair(vol, capital__model=model)
    n, months = 1500, 2
    res = simulate_plan(
        cfg, example_positions(), paths=n, seed=11, months=months, trade_style=style, deterministic=False
    )
    gap, se = _martingale_gap(cfg, res, n, 11, months)
    assert abs(gap) < 4 * se, (vol, model, style, gap, se)
    # the plan really traded: assignments happened (early ones too, American at 60% vol)
    assert res.share_with_assignment > 0.05
    if style == "american" and vol < 1:
        assert res.share_with_early_assignment > 0.0
    if style == "european":
        assert res.share_with_early_assignment == 0.0


@pytest.mark.parametrize(
    "sizing,account",
    [("buying_power", "margin"), ("buying_power", "cash"), ("full_requirement", "margin"), ("plan", "cash")],
)
def test_no_free_lunch_every_sizing_and_account(sizing, account):
    cfg = _fair(simulation__sizing=sizing, margin__account=account)
    n, months = 1500, 2
    res = simulate_plan(cfg, None, paths=n, seed=3, months=months, deterministic=False)
    gap, se = _martingale_gap(cfg, res, n, 3, months)
    assert abs(gap) < 4 * se, (sizing, account, gap, se)
    assert res.share_with_assignment > 0.05


def test_no_free_lunch_in_the_issue_case():
    """Issue 9: cash_secured sizing with realized = implied vol gave a mean final equity of 4.26e9
    (each contract booking the American-minus-European premium no holder collects).  Now, over
    the plan's 6 months from the example book, the mean is start + deposits within MC error."""
    cfg = _fair(capital__model="cash_secured")
    n, months = 2000, 6
    res = simulate_plan(cfg, example_positions(), paths=n, seed=20250927, months=months, deterministic=False)
    gap, se = _martingale_gap(cfg, res, n, 20250927, months)
    assert abs(gap) < 4 * se, (gap, se)
    assert res.mean_discounted_final < 2 * res.discounted_invested
    assert res.share_with_early_assignment > 0.05


def test_costs_lower_the_mean_by_the_costs_paid():
    """With costs, E[e^{-rT} equity_T] = start + deposits - E[discounted costs paid] (every fill is
    mid -/+ the half-spread less commissions, so the costs are the only departure from the
    martingale), and the mean falls by at least the expected cost below the no-cost run."""
    n, months, seed = 1500, 2, 5
    free = _fair()
    paid = _fair(
        simulation__costs=True, execution__commission_per_contract=0.65, execution__assignment_fee=5.0
    )
    a = simulate_plan(free, example_positions(), paths=n, seed=seed, months=months, deterministic=False)
    b = simulate_plan(paid, example_positions(), paths=n, seed=seed, months=months, deterministic=False)
    assert a.mean_discounted_costs == 0.0
    cost = b.extras["discounted_costs"]
    assert cost.min() > 0  # at least the first ladder's commissions and half-spreads on every path
    gap_a, se_a = _martingale_gap(free, a, n, seed, months)
    gap_b, se_b = _martingale_gap(paid, b, n, seed, months)
    # the costed run is short of the martingale by its costs (same paths: the cost is per path)
    y = b.final_equity * math.exp(-paid.market.rate * months * 21 / 252) + cost
    x = simulate_prices(paid, n, seed, months=months)["spot"][:, -1] * math.exp(
        -paid.market.rate * months * 21 / 252
    )
    cv = np.cov(y, x)
    adj = y - cv[0, 1] / cv[1, 1] * (x - paid.market.spot)
    se = adj.std(ddof=1) / math.sqrt(n)
    assert abs(adj.mean() - b.discounted_invested) < 4 * se, (adj.mean(), b.discounted_invested, se)
    # ... so the mean falls by at least the expected cost (within the two runs' MC error)
    drop = a.mean_discounted_final - b.mean_discounted_final
    assert drop > cost.mean() - 4 * math.hypot(se_a, se_b), (drop, cost.mean(), se_a, se_b)
    assert gap_b < -cost.mean() + 4 * se_b


def test_cash_account_is_never_margin_called_and_stays_secured():
    """A cash account sells only puts its cash secures (strike x 100 each); it is never
    margin-called, and its excess (cash - strikes x 100 of the short puts, shares at 100%) never
    goes below zero, even when the stock collapses (realized vol 250%, jumps)."""
    for sizing in ("plan", "buying_power"):
        cfg = default_config().replace(
            margin__account="cash",
            simulation__sizing=sizing,
            simulation__jump_intensity=6.0,
            simulation__jump_mean=-0.3,
            simulation__jump_vol=0.3,
        )
        res = simulate_plan(cfg, None, paths=600, seed=4, months=3, deterministic=False)
        assert res.prob_margin_call == 0.0
        assert res.share_with_assignment > 0.5
        assert res.extras["min_excess"].min() >= -1e-6, res.extras["min_excess"].min()
    # the same plan in a margin account is margin-called on some paths
    res = simulate_plan(
        cfg.replace(margin__account="margin"), None, paths=600, seed=4, months=3, deterministic=False
    )
    assert res.prob_margin_call > 0.05


def _put_cpc(spot, strike, premium):
    """Reg T short put requirement per contract, by hand (FINRA 4210), net of the put's value
    (the basis compared with net liquidation value): max(20% S - OTM, 10% K) x 100."""
    otm = max(spot - strike, 0.0)
    return max(0.20 * spot - otm, 0.10 * strike) * 100


def _flat_reference(cfg, months, half=0.02, commission=0.65, fee=1.0):
    """The plan on a flat price (S = 3.15 for ever, rate 0), one scalar path, written out.

    Steps of 1/252 year; puts expire after round(30 x 252/365) = 21 steps, hedges after 62, 83,
    104 steps; covered calls after 21 (excellent tier, 30 days) or 31 (45 days) steps.  Sales
    fill at mid - half, purchases at mid + half, each contract pays ``commission``, each
    assignment ``fee``.  Puts: floor(budget x weight / net Reg T capital) contracts (at most
    10 x 10 a day), scaled down if they would use more buying power (equity with loan value -
    initial requirement) than there is; the buying power one contract uses is its full Reg T
    requirement at the mid less 80% of its premium at the bid (20% buys hedges) plus the
    commission.  Returns (net liquidation at the end, shares, total costs).
    """
    s, v = 3.15, 4.25
    cash, shares, basis, costs = 3792.0, 0.0, 0.0, 0.0
    opts = []  # [w, strike, expiry_step, contracts (signed), premium, role]
    prev_premium = 0.0

    def mark(o, step):
        return bs_price(s, o[1], (o[2] - step) / 252, 0.0, v, "call" if o[0] > 0 else "put")

    def value(step):
        return cash + shares * s + sum(o[3] * 100 * mark(o, step) for o in opts if o[2] > step)

    def excess(step, stock_pct):
        cc = [o for o in opts if o[2] > step and o[5] == "cc" and o[3] < 0]
        covered = sum(-o[3] * 100 for o in cc)
        stock_value = (shares - covered) * s + sum(-o[3] * 100 * min(s, o[1]) for o in cc)
        req = stock_pct * stock_value
        for o in opts:
            if o[2] > step and o[3] < 0 and o[5] == "put":
                req += -o[3] * (_put_cpc(s, o[1], 0.0) + 100 * mark(o, step))
        return cash + stock_value - req

    for month in range(months):
        step = 21 * month
        cash += 4000.0
        budget = 4000.0 + 0.8 * prev_premium
        room = max(excess(step, 0.50), 0.0)
        want = []
        for k, w in zip((2.5, 4.0), (0.6, 0.4), strict=True):
            p = bs_price(s, k, 21 / 252, 0.0, v, "put")
            bid = p - half
            n = min(math.floor(budget * w / _put_cpc(s, k, bid)), 100)
            use = _put_cpc(s, k, 0.0) + 100 * p - 0.8 * 100 * bid + commission
            want.append((k, p, bid, n, use))
        need = sum(n * use for _, _, _, n, use in want)
        collected = 0.0
        for k, _, bid, n, _ in want:
            if need > room:
                n = math.floor(n * room / need + 1e-9)
            cash += n * (bid * 100 - commission)
            costs += n * (half * 100 + commission)
            collected += n * bid * 100
            opts.append([-1, k, step + 21, -n, bid, "put"])
        prev_premium = collected
        for k, share, steps in ((4.5, 0.40, 62), (6.5, 0.35, 83), (9.5, 0.25, 104)):
            ask = bs_price(s, k, steps / 252, 0.0, v, "call") + half
            n = min(math.floor(0.2 * collected * share / (ask * 100 + commission)), 100)
            cash -= n * (ask * 100 + commission)
            costs += n * (half * 100 + commission)
            opts.append([1, k, step + steps, n, ask, "hedge"])
        # the month's end: puts expire (the 4.00 put is in the money: assignment)
        end = step + 21
        assert excess(end - 1, 0.25) >= 0  # no margin call on the way
        new_sh, new_cost = 0.0, 0.0
        for o in opts:
            if o[2] != end or o[3] == 0:
                continue
            if o[5] == "put" and o[1] > s:
                new_sh += -o[3] * 100
                new_cost += -o[3] * 100 * (o[1] - o[4])
                cash -= -o[3] * 100 * o[1] + fee
                costs += fee
            elif o[5] == "cc" and s > o[1]:
                shares -= -o[3] * 100
                cash += -o[3] * 100 * o[1] - fee
                costs += fee
            o[3] = 0
        if new_sh:
            basis = (basis * shares + new_cost) / (shares + new_sh)
            shares += new_sh
            covered = sum(-o[3] * 100 for o in opts if o[5] == "cc" and o[2] > end)
            n_cc = min(math.floor((shares - covered) / 100), 100)
            up, steps = (0.20, 21) if basis < 2.0 else ((0.15, 31) if basis < 2.5 else (0.10, 21))
            k_cc = math.ceil(round(basis * (1 + up) / 0.5, 9)) * 0.5
            bid = bs_price(s, k_cc, steps / 252, 0.0, v, "call") - half
            cash += n_cc * (bid * 100 - commission)
            costs += n_cc * (half * 100 + commission)
            opts.append([1, k_cc, end + steps, -n_cc, bid, "cc"])
        assert excess(end, 0.25) >= 0
    return value(21 * months), shares, costs


@pytest.mark.parametrize("costs", [True, False])
def test_flat_price_every_path_equal_and_matches_hand_scenario(costs):
    cfg = default_config().replace(
        market__rate=0.0,
        simulation__realized_vol=0.0,
        simulation__drift=0.0,
        simulation__iv_reversion_speed=0.0,
        strikes__strikes=[2.5, 4.0],
        strikes__weights=[0.6, 0.4],
        simulation__costs=costs,
        execution__assignment_fee=1.0,
    )
    assert (cfg.execution.half_spread_pct, cfg.execution.half_spread_min) == (
        0.0,
        0.02,
    )  # measured on the chain
    res = simulate_plan(cfg, None, paths=50, seed=5, months=2, trade_style="european", deterministic=False)
    assert np.ptp(res.final_equity) == 0.0
    if costs:
        expected, shares, paid = _flat_reference(cfg, 2)
    else:
        expected, shares, paid = _flat_reference(cfg, 2, half=0.0, commission=0.0, fee=0.0)
    assert shares > 0  # the scenario exercised an assignment
    assert_allclose(res.final_equity[0], expected, rtol=1e-10, atol=1e-6)
    assert_allclose(res.mean_discounted_costs, paid, rtol=1e-10, atol=1e-9)
    assert res.share_with_assignment == 1.0 and res.prob_margin_call == 0.0


def _independent_one_strike(
    n,
    seed,
    s0=3.15,
    k=2.5,
    iv=4.25,
    rate=0.04,
    sigma=2.5,
    mu=0.0,
    start=3792.0,
    deposit=4000.0,
    half=0.02,
    commission=0.65,
    cap=100,
):
    """A plain-numpy Monte Carlo of the simplest plan, written here without engine code.

    One month of 21 daily steps of GBM (own random numbers).  At t = 0 the deposit is made and
    n = min(floor(deposit / cpc), cap, floor(excess / use)) European puts are sold at the bid
    (Black-Scholes at the implied vol, minus the half-spread), cpc = max(20% S - OTM, 10% K) x 100
    (Reg T, net of the premium), use = full Reg T requirement at the mid - premium at the bid +
    commission.  No hedges, puts of 45 days (31 steps) so none expires within the month.  Every
    day: cash grows at the rate, the put is marked at Black-Scholes, and when cash < the full
    requirement n x (mark + max(20% S - OTM, 10% K)) x 100 the put is bought back at the ask
    (margin call).  Returns final net liquidation per path and the margin-call flags.
    """
    from scipy.stats import norm

    def put(spot, tau):
        d1 = (np.log(spot / k) + (rate + 0.5 * iv * iv) * tau) / (iv * math.sqrt(tau))
        d2 = d1 - iv * math.sqrt(tau)
        return k * math.exp(-rate * tau) * norm.cdf(-d2) - spot * norm.cdf(-d1)

    def margin_part(spot):
        return np.maximum(0.20 * spot - np.maximum(spot - k, 0.0), 0.10 * k)

    rng = np.random.default_rng(seed)
    dt = 1 / 252
    spot = np.full(n, s0)
    p0 = put(spot, 31 * dt)
    bid = p0 - half
    cash = np.full(n, start + deposit)
    cpc = margin_part(s0) * 100
    use = margin_part(s0) * 100 + p0 * 100 - bid * 100 + commission
    cnt = np.minimum(np.minimum(math.floor(deposit / cpc), cap), np.floor(cash / use))
    cash += cnt * (bid * 100 - commission)
    called = np.zeros(n, dtype=bool)
    for day in range(1, 22):
        spot = spot * np.exp((mu - 0.5 * sigma**2) * dt + sigma * math.sqrt(dt) * rng.standard_normal(n))
        cash = cash * math.exp(rate * dt)
        mark = put(spot, (31 - day) * dt)
        hit = ~called & (cnt > 0) & (cash < cnt * (mark + margin_part(spot)) * 100)
        cash = np.where(hit, cash - cnt * ((mark + half) * 100 + commission), cash)
        cnt = np.where(hit, 0.0, cnt)
        called |= hit
    return cash - cnt * mark * 100, called


def test_agrees_with_an_independent_one_strike_simulation():
    """simulate_plan on the one-strike, no-hedge plan against the plain-numpy version above
    (different random numbers): means within 4 combined standard errors, the margin-call
    probability within 4 binomial standard errors, and the independent sample's share below each
    of simulate_plan's 5/25/50/75/95th percentiles within 4 sqrt(2 p (1 - p) / n) of p."""
    cfg = default_config().replace(
        strikes__strikes=[2.5],
        strikes__weights=[1.0],
        strikes__dte=45,
        allocation__call_share=0.0,
        simulation__iv_reversion_speed=0.0,
        simulation__iv_vol=0.0,
        simulation__jump_intensity=0.0,
        simulation__realized_vol=2.5,
        simulation__drift=0.0,
    )
    n = 4000
    res = simulate_plan(cfg, None, paths=n, seed=8, months=1, trade_style="european", deterministic=False)
    ref, called = _independent_one_strike(n, seed=12345)
    a, b = res.final_equity, ref
    se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(n)
    assert abs(a.mean() - b.mean()) < 4 * se, (a.mean(), b.mean(), se)
    p_a, p_b = res.prob_margin_call, called.mean()
    assert 0.02 < p_b < 0.98  # both branches (called or not) are exercised
    assert abs(p_a - p_b) < 4 * math.sqrt(2 * p_b * (1 - p_b) / n), (p_a, p_b)
    for p in (0.05, 0.25, 0.5, 0.75, 0.95):
        q = np.quantile(a, p)
        share = np.mean(b <= q)
        assert abs(share - p) < 4 * math.sqrt(2 * p * (1 - p) / n), (p, q, share)


def test_deep_in_the_money_put_is_assigned_early_at_the_boundary():
    """A short American put is assigned as soon as the spot is at or below the exercise boundary
    B(tau) of engine.pricing.american (the value there is intrinsic), not above it; net liquidation is
    unchanged by the assignment (the put is marked at intrinsic, the shares bought at the strike)."""
    import datetime as dt

    from engine.data.positions import positions_from_records
    from engine.pricing.american import american_price, exercise_boundary
    from engine.risk.simulate import _American, _book, _model, _Plan

    cfg = default_config().replace(
        market__vol=0.6,
        market__rate=0.04,
        simulation__iv_reversion_speed=0.0,
        simulation__costs=False,
        market__valuation_date="2025-09-29",
    )
    rec = {
        "underlying": "ASST",
        "kind": "put",
        "side": "short",
        "strike": 5.0,
        "contracts": 2,
        "premium": 1.0,
        "expiry": (dt.date(2025, 9, 29) + dt.timedelta(days=30)).isoformat(),
    }
    book = _book(positions_from_records([rec], "test"), cfg)
    model = _model(cfg, 1)
    amer = _American(0.04, 0.0, 0.6, 0.6, fixed_vol=True)
    left = 21 - 1
    b = float(exercise_boundary(5.0, left / 252, 0.04, 0.6, "put"))
    assert 2.0 < b < 5.0
    spot = np.array([0.98 * b, 1.02 * b, 4.0])
    iv = np.full(3, 0.6)
    plan = _Plan(cfg, model, 3, book, "american", cfg.margin, amer)
    before, _, _ = plan.account(1, spot, plan.marks(1, spot, iv), "maintenance")
    plan.settle(1, spot, iv)
    after, _, _ = plan.account(1, spot, plan.marks(1, spot, iv), "maintenance")
    assert_array_equal(plan.shares, [200.0, 0.0, 0.0])
    assert_array_equal(plan.early, [True, False, False])
    assert_allclose(after, before, rtol=0, atol=1e-9)
    # the marks are the American values (the put below the boundary is worth intrinsic)
    mk = plan.marks(1, spot, iv)[0]
    assert_allclose(mk[1:], american_price(spot[1:], 5.0, left / 252, 0.04, 0.6, "put"), atol=2e-4)
    assert_allclose(amer.value(-1.0, spot[:1], np.array([5.0]), left, iv[:1]), 5.0 - spot[:1], atol=1e-9)


def test_european_style_never_exercises_early():
    cfg = _fair(0.6)
    res = simulate_plan(
        cfg, example_positions(), paths=300, seed=2, months=2, trade_style="european", deterministic=False
    )
    assert res.share_with_early_assignment == 0.0
    assert res.assumptions["exercise"].startswith("european")


def test_sizing_rules_and_costs_are_stated_beside_the_figures():
    res = simulate_plan(default_config(), None, paths=100, seed=1, months=1, deterministic=False)
    d = res.to_dict()
    assert d["sizing"].startswith("plan sizing: monthly budget / reg_t capital per contract (net basis)")
    assert "$0.02)/share" in d["costs"] and "$0.65/contract" in d["costs"]
    assert (
        d["assumptions"]["margin_basis"] == "maintenance requirement (full basis) vs equity with loan value"
    )
    res = simulate_plan(
        default_config().replace(simulation__sizing="buying_power", simulation__costs=False),
        None,
        paths=100,
        seed=1,
        months=1,
        deterministic=False,
    )
    assert res.sizing.startswith("buying-power sizing") and res.costs.startswith("costs: none")


def test_fill_cap_limits_contracts_per_series_per_day():
    """With one order of one contract a day, each strike sells at most 1 contract a month."""
    cfg = default_config().replace(
        execution__max_order_size=1,
        execution__max_orders_per_day=1,
        simulation__costs=False,
        market__rate=0.0,
        simulation__realized_vol=0.0,
        simulation__drift=0.0,
        simulation__iv_reversion_speed=0.0,
        allocation__call_share=0.0,
    )
    from engine.risk.simulate import _book, _model, _Plan

    plan = _Plan(cfg, _model(cfg, 1), 2, _book(None, cfg), "european", cfg.margin, None)
    plan.month_start(0, np.full(2, 3.15), np.full(2, 4.25))
    puts = [s for s in plan.slots if s.role == "put"]
    assert len(puts) == 5 and all(np.all(s.n == -1.0) for s in puts)


@pytest.mark.parametrize("lam,jm,jv", [(0.0, 0.0, 0.0), (12.0, -0.1, 0.2)])
def test_price_model_matches_closed_form_moments(lam, jm, jv):
    """ln S_T of Merton's model: mean ln S0 + (mu - s^2/2 - lam k) T + lam T jm,
    variance s^2 T + lam T (jm^2 + jv^2), k = e^{jm + jv^2/2} - 1; E[S_T] = S0 e^{mu T}."""
    cfg = default_config().replace(
        simulation__realized_vol=0.8,
        simulation__drift=0.1,
        simulation__jump_intensity=lam,
        simulation__jump_mean=jm,
        simulation__jump_vol=jv,
    )
    n, months = 40_000, 3
    spot = simulate_prices(cfg, n, 21, months=months)["spot"][:, -1]
    t = months * 21 / 252
    k = math.exp(jm + 0.5 * jv * jv) - 1.0
    mean_log = math.log(3.15) + (0.1 - 0.32 - lam * k) * t + lam * t * jm
    var_log = 0.64 * t + lam * t * (jm * jm + jv * jv)
    logs = np.log(spot)
    assert abs(logs.mean() - mean_log) < 4 * math.sqrt(var_log / n)
    assert_allclose(logs.var(), var_log, rtol=0.05)
    se = spot.std() / math.sqrt(n)
    assert abs(spot.mean() - 3.15 * math.exp(0.1 * t)) < 4 * se


def test_implied_vol_reverts_deterministically():
    cfg = default_config().replace(simulation__iv_reversion_speed=2.0, simulation__iv_long_run=1.5)
    iv = simulate_prices(cfg, 4, 1, months=2)["iv"]
    t = np.arange(3) * 21 / 252
    assert_allclose(
        iv[0], np.exp(math.log(1.5) + (math.log(4.25) - math.log(1.5)) * np.exp(-2.0 * t)), rtol=1e-12
    )


@pytest.mark.parametrize("iv_vol", [0.0, 0.8])
def test_same_seed_same_numbers_and_chunking_invariance(iv_vol):
    """Costs, early exercise and margin calls on (the default config); with iv_vol > 0 the vol
    differs across paths, so American values come from the 2-D premium table instead (kept small
    here: one month of 10-day puts, no starting book, as each run builds its tables)."""
    cfg = default_config().replace(simulation__iv_vol=iv_vol, simulation__sizing="full_requirement")
    n, months, book = 2300, 2, example_positions()
    if iv_vol > 0:
        cfg = cfg.replace(strikes__dte=10)
        n, months, book = 900, 1, None
    a = simulate_plan(cfg, book, paths=n, seed=9, months=months, chunk_size=n, deterministic=False)
    b = simulate_plan(cfg, book, paths=n, seed=9, months=months, chunk_size=700, deterministic=False)
    c = simulate_plan(cfg, book, paths=n, seed=10, months=months, chunk_size=700, deterministic=False)
    assert_array_equal(a.final_equity, b.final_equity)
    assert_array_equal(a.extras["max_drawdown"], b.extras["max_drawdown"])
    assert_array_equal(a.extras["discounted_costs"], b.extras["discounted_costs"])
    assert a.to_dict()["percentiles"] == b.to_dict()["percentiles"]
    assert not np.array_equal(a.final_equity, c.final_equity)
    assert a.share_with_early_assignment > 0 and a.mean_discounted_costs > 0


def test_result_dict_is_json_ready_and_progress_called():
    import json

    calls = []
    res = simulate_plan(
        default_config(),
        example_positions(),
        paths=300,
        seed=1,
        months=2,
        chunk_size=100,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(100, 300), (200, 300), (300, 300)]
    d = json.loads(json.dumps(res.to_dict()))
    for key in (
        "prob_loss",
        "prob_margin_call",
        "percentiles",
        "prob_targets",
        "max_drawdown",
        "annual_return",
        "sharpe",
        "share_with_assignment",
        "deterministic",
    ):
        assert key in d
    assert [r["month"] for r in d["percentiles"]] == [0, 1, 2]
    assert set(d["prob_targets"]) == {"conservative", "expected", "optimistic"}
    assert d["prob_targets"]["expected"]["low"] == 60000.0
    pct = res.percentiles
    assert (pct["p5"] <= pct["p25"]).all() and (pct["p75"] <= pct["p95"]).all()


def test_interrupt_leaves_nothing_half_done():
    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate_plan(default_config(), None, paths=200, seed=1, months=1, chunk_size=100, progress=stop)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"paths": 0}, "paths must be >= 1, got 0"),
        ({"chunk_size": 0}, "chunk_size must be >= 1, got 0"),
        ({"months": 0}, "months must be >= 1, got 0"),
        ({"trade_style": "bermudan"}, "trade_style must be 'american' or 'european', got 'bermudan'"),
        ({"stock_maintenance": 1.5}, "stock_maintenance must be in [0, 1], got 1.5"),
    ],
)
def test_refused_arguments(kwargs, message):
    args = {"paths": 10, "seed": 1}
    args.update(kwargs)
    with pytest.raises(SimulationError) as exc:
        simulate_plan(default_config(), None, **args)
    assert str(exc.value) == message


def test_dynamic_hedge_ratio_uses_the_plan_formula():
    """Plan inputs (IV percentile 99 > 95, squeeze 0.45 > 0.4): 0.2 x 1.3 x 1.5 = 0.39, capped
    at 0.35 whatever the equity, so the run equals a fixed call share of 0.35."""
    dyn = simulate_plan(
        default_config().replace(hedge__use_dynamic_ratio=True),
        None,
        paths=300,
        seed=2,
        months=2,
        deterministic=False,
    )
    fixed = simulate_plan(
        default_config().replace(allocation__call_share=0.35),
        None,
        paths=300,
        seed=2,
        months=2,
        deterministic=False,
    )
    assert_array_equal(dyn.final_equity, fixed.final_equity)


def test_a_positions_own_iv_is_kept_as_a_ratio_to_the_path_vol():
    import datetime as dt

    from engine.data.positions import positions_from_records
    from engine.risk.simulate import _book, _model, _Plan

    # one short $2.50 put, 30 days out (21 of the simulation's 252-a-year steps): the plan starts
    # with cash = starting value + the put's European mark x 100 (the short put is a liability),
    # so equity is the starting value; the mark uses the position's own iv (3.00), not market.vol
    cfg = default_config().replace(market__valuation_date="2025-09-29")
    rec = {
        "underlying": "ASST",
        "kind": "put",
        "side": "short",
        "strike": 2.5,
        "expiry": (dt.date(2025, 9, 29) + dt.timedelta(days=30)).isoformat(),
        "contracts": 1,
        "premium": 1.0,
    }
    for iv, vol in ((3.0, 3.0), ("", 4.25)):
        book = positions_from_records([{**rec, "iv": iv}], "test")
        plan = _Plan(cfg, _model(cfg, 1), 3, _book(book, cfg), "european", cfg.margin, None)
        mark = bs_price(3.15, 2.5, 21 / 252, cfg.market.rate, vol, "put")
        assert_allclose(
            plan.cash, cfg.account.starting_value + 100 * mark, rtol=1e-12, atol=0, err_msg=str(iv)
        )


def test_starting_book_with_shares():
    """A stock row of the positions CSV (kind = stock) starts the path with those shares, paid for
    out of the starting value: with no deposits the plan sells no put, so equity is cash at the
    rate plus the shares, a martingale when drift = rate (mean = start within MC error), and it
    moves with the stock (300 shares of the $3,792)."""
    from engine.data.positions import positions_from_records

    rec = {
        "underlying": "ASST",
        "kind": "stock",
        "side": "long",
        "shares": 300,
        "premium": 2.4,
        "strike": "",
        "expiry": "",
        "contracts": "",
    }
    book = positions_from_records([rec], "test")
    cfg = _fair(0.8, account__monthly_addition=0.0)
    n = 2000
    res = simulate_plan(cfg, book, paths=n, seed=6, months=1, deterministic=False)
    disc = math.exp(-cfg.market.rate * 21 / 252)
    y = res.final_equity * disc
    spot = simulate_prices(cfg, n, 6, months=1)["spot"][:, -1]
    # equity = (3792 - 300 x 3.15) e^{rT} + 300 S_T exactly on every path (no trade, no margin call)
    assert_allclose(res.final_equity, (3792.0 - 945.0) / disc + 300 * spot, rtol=1e-12)
    assert abs(y.mean() - 3792.0) < 4 * y.std(ddof=1) / math.sqrt(n)
    assert res.prob_margin_call == 0.0
    short = positions_from_records([{**rec, "side": "short"}], "test")
    with pytest.raises(SimulationError, match="long shares only"):
        simulate_plan(cfg, short, paths=10, seed=1, months=1)


def test_account_matches_the_account_model():
    """The simulation's account (covered call against shares, short put, long-dated long call) on
    day 0 against engine.plan.account.account_state of the same book: equity with loan value,
    initial and maintenance requirements (full basis) and net liquidation within $10 of figures
    in the thousands (the simulation's trading-day clock puts 30 calendar days at 21/252 years,
    not 30/365, and marks with the fast American table: the short options' marks, hence the cash,
    differ by about a cent a share; a wrong rule would be off by hundreds)."""
    import dataclasses

    from engine.data.positions import positions_from_records
    from engine.plan.account import account_state
    from engine.risk.book import mark_book
    from engine.risk.simulate import _American, _book, _model, _Plan

    cfg = default_config().replace(market__valuation_date="2025-09-29", simulation__iv_reversion_speed=0.0)
    exp30 = "2025-10-29"
    recs = [
        {
            "underlying": "ASST",
            "kind": "stock",
            "side": "long",
            "shares": 300,
            "premium": 2.4,
            "strike": "",
            "expiry": "",
            "contracts": "",
        },
        {
            "underlying": "ASST",
            "kind": "call",
            "side": "short",
            "strike": 3.5,
            "expiry": exp30,
            "contracts": 2,
            "premium": 1.0,
        },
        {
            "underlying": "ASST",
            "kind": "put",
            "side": "short",
            "strike": 2.5,
            "expiry": exp30,
            "contracts": 3,
            "premium": 1.0,
        },
        {
            "underlying": "ASST",
            "kind": "call",
            "side": "long",
            "strike": 6.0,
            "expiry": "2026-11-20",
            "contracts": 1,
            "premium": 2.0,
        },
    ]
    pos = positions_from_records(recs, "test")
    want = account_state(pos, cfg, marked=mark_book(pos, cfg))
    for account in ("margin", "cash"):
        c = cfg.replace(margin__account=account)
        if account == "cash":  # a cash account holds no long-dated loan value and no naked call
            want = account_state(pos, c, marked=mark_book(pos, c))
        model = _model(c, 1)
        plan = _Plan(
            c,
            model,
            2,
            _book(pos, c),
            "american",
            c.margin,
            _American(model.rate, model.q, 4.25, 4.25, fixed_vol=True),
        )
        spot, iv = np.full(2, 3.15), np.full(2, 4.25)
        for phase, req_want in (
            ("initial", want.initial_requirement),
            ("maintenance", want.maintenance_requirement),
        ):
            nlv, ewlv, req = plan.account(0, spot, plan.marks(0, spot, iv), phase)
            assert_allclose(nlv, want.net_liquidation, atol=10.0, err_msg=account)
            assert_allclose(ewlv, want.equity_with_loan_value, atol=10.0, err_msg=account)
            assert_allclose(req, req_want, atol=10.0, err_msg=f"{account} {phase}")
    assert dataclasses.is_dataclass(want)
