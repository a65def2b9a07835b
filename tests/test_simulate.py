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


def _fair(vol: float = 4.25, rate: float = 0.04):
    """Realized vol = implied, drift = rate, no jumps, constant implied vol."""
    return default_config().replace(market__vol=vol, market__rate=rate, simulation__realized_vol=vol,
                                    simulation__drift=rate, simulation__iv_reversion_speed=0.0,
                                    simulation__iv_vol=0.0, simulation__jump_intensity=0.0)


@pytest.mark.parametrize("vol", [4.25, 0.6])
def test_no_free_lunch(vol):
    """E[e^{-rT} equity_T] = start + sum_m e^{-r t_m} deposit, whatever the plan trades.

    With every trade, mark, settlement and liquidation at model (European) value, cash at the
    rate and the stock's total return equal to the rate, discounted equity is a martingale
    plus the deposits.  The discounted final spot (same seed, same paths via simulate_prices,
    known mean S0) is used as a control variate to shrink the Monte Carlo error; the check is
    |error| < 4 standard errors.
    """
    cfg = _fair(vol)
    n, months = 3000, 2
    res = simulate_plan(cfg, example_positions(), paths=n, seed=11, months=months,
                        trade_style="european", deterministic=False)
    disc = math.exp(-cfg.market.rate * months * 21 / 252)
    # start + deposits at t = 0 and t = 1 month (21/252 years), by hand
    target = 3792.0 + 4000.0 + 4000.0 * math.exp(-cfg.market.rate * 21 / 252)
    assert_allclose(res.discounted_invested, target, rtol=1e-12)
    y = res.final_equity * disc
    x = simulate_prices(cfg, n, 11, months=months)["spot"][:, -1] * disc
    c = np.cov(y, x)
    adj = y - c[0, 1] / c[1, 1] * (x - cfg.market.spot)
    se = adj.std(ddof=1) / math.sqrt(n)
    assert abs(adj.mean() - target) < 4 * se, (adj.mean(), target, se)
    # the plan really traded: margin calls and assignments happened on some paths
    assert res.share_with_assignment > 0.05


def _put_cpc(spot, strike, premium):
    """Reg T short put requirement per contract, by hand (FINRA 4210), net of the put's value
    (the basis compared with net liquidation value): max(20% S - OTM, 10% K) x 100."""
    otm = max(spot - strike, 0.0)
    return max(0.20 * spot - otm, 0.10 * strike) * 100


def _flat_reference(cfg, months):
    """The plan on a flat price (S = 3.15 for ever, rate 0), one scalar path, written out.

    Steps of 1/252 year; puts expire after round(30 x 252/365) = 21 steps, hedges after 62, 83,
    104 steps; covered calls after 21 (excellent tier, 30 days) or 31 (45 days) steps.
    """
    s, v = 3.15, 4.25
    cash, shares, basis = 3792.0, 0.0, 0.0
    opts = []  # [w, strike, expiry_step, contracts (signed), premium, role]
    prev_premium = 0.0

    def value(step):
        return cash + shares * s + sum(o[3] * 100 * bs_price(s, o[1], (o[2] - step) / 252, 0.0, v, "call" if o[0] > 0 else "put")
                                       for o in opts if o[2] > step)

    def requirement(step):
        req = 0.25 * shares * s
        for o in opts:
            if o[2] > step and o[3] < 0 and o[5] == "put":
                req += -o[3] * _put_cpc(s, o[1], bs_price(s, o[1], (o[2] - step) / 252, 0.0, v, "put"))
        return req

    for month in range(months):
        step = 21 * month
        cash += 4000.0
        budget = min(4000.0 + 0.8 * prev_premium, value(step) - requirement(step))
        collected = 0.0
        for k, w in zip((2.5, 4.0), (0.6, 0.4), strict=True):
            p = bs_price(s, k, 21 / 252, 0.0, v, "put")
            n = math.floor(budget * w / _put_cpc(s, k, p))
            cash += n * p * 100
            collected += n * p * 100
            opts.append([-1, k, step + 21, -n, p, "put"])
        prev_premium = collected
        for k, share, steps in ((4.5, 0.40, 62), (6.5, 0.35, 83), (9.5, 0.25, 104)):
            c = bs_price(s, k, steps / 252, 0.0, v, "call")
            n = math.floor(0.2 * collected * share / (c * 100))
            cash -= n * c * 100
            opts.append([1, k, step + steps, n, c, "hedge"])
        # the month's end: puts expire (the 4.00 put is in the money: assignment)
        end = step + 21
        new_sh, new_cost = 0.0, 0.0
        for o in opts:
            if o[2] != end or o[3] == 0:
                continue
            if o[5] == "put" and o[1] > s:
                new_sh += -o[3] * 100
                new_cost += -o[3] * 100 * (o[1] - o[4])
                cash -= -o[3] * 100 * o[1]
            elif o[5] == "cc" and s > o[1]:
                shares -= -o[3] * 100
                cash += -o[3] * 100 * o[1]
            o[3] = 0
        if new_sh:
            basis = (basis * shares + new_cost) / (shares + new_sh)
            shares += new_sh
            covered = sum(-o[3] * 100 for o in opts if o[5] == "cc" and o[2] > end)
            n_cc = math.floor((shares - covered) / 100)
            up, steps = (0.20, 21) if basis < 2.0 else ((0.15, 31) if basis < 2.5 else (0.10, 21))
            k_cc = math.ceil(round(basis * (1 + up) / 0.5, 9)) * 0.5
            c = bs_price(s, k_cc, steps / 252, 0.0, v, "call")
            cash += n_cc * c * 100
            opts.append([1, k_cc, end + steps, -n_cc, c, "cc"])
    return value(21 * months), shares


def test_flat_price_every_path_equal_and_matches_hand_scenario():
    cfg = default_config().replace(market__rate=0.0, simulation__realized_vol=0.0, simulation__drift=0.0,
                                   simulation__iv_reversion_speed=0.0, strikes__strikes=[2.5, 4.0],
                                   strikes__weights=[0.6, 0.4])
    res = simulate_plan(cfg, None, paths=50, seed=5, months=2, trade_style="european", deterministic=False)
    assert np.ptp(res.final_equity) == 0.0
    expected, shares = _flat_reference(cfg, 2)
    assert shares > 0  # the scenario exercised an assignment
    assert_allclose(res.final_equity[0], expected, rtol=1e-10, atol=1e-6)
    assert res.share_with_assignment == 1.0 and res.prob_margin_call == 0.0


@pytest.mark.parametrize("lam,jm,jv", [(0.0, 0.0, 0.0), (12.0, -0.1, 0.2)])
def test_price_model_matches_closed_form_moments(lam, jm, jv):
    """ln S_T of Merton's model: mean ln S0 + (mu - s^2/2 - lam k) T + lam T jm,
    variance s^2 T + lam T (jm^2 + jv^2), k = e^{jm + jv^2/2} - 1; E[S_T] = S0 e^{mu T}."""
    cfg = default_config().replace(simulation__realized_vol=0.8, simulation__drift=0.1,
                                   simulation__jump_intensity=lam, simulation__jump_mean=jm,
                                   simulation__jump_vol=jv)
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
    assert_allclose(iv[0], np.exp(math.log(1.5) + (math.log(4.25) - math.log(1.5)) * np.exp(-2.0 * t)), rtol=1e-12)


def test_same_seed_same_numbers_and_chunking_invariance():
    cfg = default_config()
    a = simulate_plan(cfg, example_positions(), paths=2300, seed=9, months=2, chunk_size=2300, deterministic=False)
    b = simulate_plan(cfg, example_positions(), paths=2300, seed=9, months=2, chunk_size=700, deterministic=False)
    c = simulate_plan(cfg, example_positions(), paths=2300, seed=10, months=2, chunk_size=700, deterministic=False)
    assert_array_equal(a.final_equity, b.final_equity)
    assert_array_equal(a.extras["max_drawdown"], b.extras["max_drawdown"])
    assert a.to_dict()["percentiles"] == b.to_dict()["percentiles"]
    assert not np.array_equal(a.final_equity, c.final_equity)


def test_result_dict_is_json_ready_and_progress_called():
    import json

    calls = []
    res = simulate_plan(default_config(), example_positions(), paths=300, seed=1, months=2, chunk_size=100,
                        progress=lambda done, total: calls.append((done, total)))
    assert calls == [(100, 300), (200, 300), (300, 300)]
    d = json.loads(json.dumps(res.to_dict()))
    for key in ("prob_loss", "prob_margin_call", "percentiles", "prob_targets", "max_drawdown",
                "annual_return", "sharpe", "share_with_assignment", "deterministic"):
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


@pytest.mark.parametrize("kwargs,message", [
    ({"paths": 0}, "paths must be >= 1, got 0"),
    ({"chunk_size": 0}, "chunk_size must be >= 1, got 0"),
    ({"months": 0}, "months must be >= 1, got 0"),
    ({"trade_style": "bermudan"}, "trade_style must be 'american' or 'european', got 'bermudan'"),
    ({"stock_maintenance": 1.5}, "stock_maintenance must be in [0, 1], got 1.5"),
])
def test_refused_arguments(kwargs, message):
    args = {"paths": 10, "seed": 1}
    args.update(kwargs)
    with pytest.raises(SimulationError) as exc:
        simulate_plan(default_config(), None, **args)
    assert str(exc.value) == message


def test_dynamic_hedge_ratio_uses_the_plan_formula():
    """Plan inputs (IV percentile 99 > 95, squeeze 0.45 > 0.4): 0.2 x 1.3 x 1.5 = 0.39, capped
    at 0.35 whatever the equity, so the run equals a fixed call share of 0.35."""
    dyn = simulate_plan(default_config().replace(hedge__use_dynamic_ratio=True), None, paths=300, seed=2,
                        months=2, deterministic=False)
    fixed = simulate_plan(default_config().replace(allocation__call_share=0.35), None, paths=300, seed=2,
                          months=2, deterministic=False)
    assert_array_equal(dyn.final_equity, fixed.final_equity)


def test_a_positions_own_iv_is_kept_as_a_ratio_to_the_path_vol():
    import datetime as dt

    from engine.data.positions import positions_from_records
    from engine.risk.simulate import _book, _model, _Plan

    # one short $2.50 put, 30 days out (21 of the simulation's 252-a-year steps): the plan starts
    # with cash = starting value + the put's European mark x 100 (the short put is a liability),
    # so equity is the starting value; the mark uses the position's own iv (3.00), not market.vol
    cfg = default_config().replace(market__valuation_date="2025-09-29")
    rec = {"underlying": "ASST", "kind": "put", "side": "short", "strike": 2.5,
           "expiry": (dt.date(2025, 9, 29) + dt.timedelta(days=30)).isoformat(), "contracts": 1, "premium": 1.0}
    for iv, vol in ((3.0, 3.0), ("", 4.25)):
        book = positions_from_records([{**rec, "iv": iv}], "test")
        plan = _Plan(cfg, _model(cfg, 1), 3, _book(book, cfg), "european", 0.25, None)
        mark = bs_price(3.15, 2.5, 21 / 252, cfg.market.rate, vol, "put")
        assert_allclose(plan.cash, cfg.account.starting_value + 100 * mark, rtol=1e-12, atol=0, err_msg=str(iv))
