"""Tests of VaR/ES (engine/risk/var.py): closed forms, convergence of methods, the fast American pricer."""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.stats import norm

from engine.config import default_config
from engine.data.positions import example_positions
from engine.data.prices import PriceHistoryError, read_price_history
from engine.pricing.american import american_price
from engine.risk.var import VarError, american_fast, value_at_risk

EMPTY = pd.DataFrame(columns=["kind", "side", "strike", "expiry", "contracts"])


def test_long_stock_var_es_match_lognormal_closed_form():
    """100 shares at $3.15, vol 425%, 1 day, 95%: with s = 4.25/sqrt(252) = 0.267725,
    ln(S_h/S) ~ N(-s^2/2, s^2); VaR = 315 (1 - exp(-s^2/2 - 1.644854 s)) = 315 (1 - e^-0.476214)
    = $119.34; ES = 315 (1 - N(-1.644854 - s) / 0.05) (lognormal partial expectation)."""
    cfg = default_config()
    s = 4.25 / math.sqrt(252)
    z = norm.ppf(0.05)
    var_cf = 315.0 * (1 - math.exp(-0.5 * s * s + z * s))
    es_cf = 315.0 * (1 - norm.cdf(z - s) / 0.05)
    assert_allclose(var_cf, 119.34, atol=0.01)
    r = value_at_risk(EMPTY, cfg, "full", 0.95, 1, 400_000, seed=2, shares=100.0)
    assert_allclose(r["var"], var_cf, rtol=0.01)
    assert_allclose(r["es"], es_cf, rtol=0.01)
    assert r["es"] > r["var"] > 0


def test_full_revaluation_converges_to_delta_gamma_for_small_moves():
    """Same scenarios, European style: the gap between full revaluation and the delta-gamma
    VaR shrinks like the third-order term as sigma sqrt(h) -> 0.  On the 38 short puts (one-signed
    gamma): the example's long calls offset part of the third-order term at high vol."""
    pos = example_positions()
    pos = pos[pos["kind"] == "put"].reset_index(drop=True)
    gaps = []
    for vol in (1.0, 0.3, 0.1):
        cfg = default_config().replace(market__vol=vol)
        full = value_at_risk(pos, cfg, "full", scenarios=50_000, seed=4, style="european")
        dg = value_at_risk(pos, cfg, "delta_gamma", scenarios=50_000, seed=4, style="european")
        gaps.append(abs(full["var"] / dg["var"] - 1.0))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.005, gaps


def test_american_fast_matches_direct_american_pricer():
    spot = np.linspace(0.6, 9.0, 57)
    vol = np.linspace(0.8, 5.0, 57)
    for k, t in ((2.5, 21 / 365), (5.0, 83 / 365)):
        direct = american_price(spot, k, t, 0.04, vol, "put")
        fast = american_fast(spot, k, t, 0.04, vol, -1.0)
        assert_allclose(fast, direct, atol=2e-4 * k, rtol=0)


def test_seed_reproducible_and_style_and_methods():
    cfg = default_config()
    pos = example_positions()
    a = value_at_risk(pos, cfg, scenarios=20_000, seed=5)
    b = value_at_risk(pos, cfg, scenarios=20_000, seed=5)
    c = value_at_risk(pos, cfg, scenarios=20_000, seed=6)
    assert a == b and a["var"] != c["var"]
    # another seed is another sample of the same quantile: the 95% quantile of 20,000 draws has a
    # relative standard error of a few per cent here, so two seeds agree to well within 10%
    assert abs(a["var"] - c["var"]) < 0.10 * a["var"]
    assert a["method"] == "full" and a["style"] == "american"
    # the book is short vega (short puts): an independent log-vol shock adds variance to the P&L
    # (losses on the vol-up days), so VaR and ES rise for the same seed
    shocked = value_at_risk(pos, cfg, scenarios=20_000, seed=5, vol_shock=3.0)
    assert shocked["var"] > a["var"] and shocked["es"] > a["es"]


def test_historical_var_by_hand(tmp_path):
    """Closes 100, 110, 99, ... : 1-day log returns applied to spot; long 1 share of spot 100.

    With 21 closes alternating x1.1 and x0.9, the returns are ln 1.1 (10x) and ln 0.9 (10x);
    losses are -10 and +10 (per $100), so the 95% quantile (linear) is 10 and ES is 10."""
    closes = [100.0]
    for i in range(20):
        closes.append(closes[-1] * (1.1 if i % 2 == 0 else 0.9))
    dates = [(_dt.date(2025, 1, 1) + _dt.timedelta(days=i)).isoformat() for i in range(21)]
    path = tmp_path / "prices.csv"
    pd.DataFrame({"date": dates, "close": closes}).to_csv(path, index=False)
    cfg = default_config().replace(market__spot=100.0)
    r = value_at_risk(EMPTY, cfg, "historical", 0.95, 1, history=path, shares=1.0)
    assert r["scenarios"] == 20
    assert_allclose(r["var"], 10.0, rtol=1e-12)
    assert_allclose(r["es"], 10.0, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"method": "parametric"}, "method must be one of full, delta_gamma, historical, got 'parametric'"),
        ({"confidence": 1.0}, "confidence must be in [0.5, 1), got 1.0"),
        ({"horizon_days": 0}, "horizon_days must be >= 1, got 0"),
        ({"scenarios": 10}, "scenarios must be >= 100, got 10"),
        ({"style": "asian"}, "style must be 'american' or 'european', got 'asian'"),
        (
            {"method": "historical"},
            "method 'historical' needs a price history (CSV with columns date, close)",
        ),
    ],
)
def test_refused_arguments(kwargs, message):
    with pytest.raises(VarError) as exc:
        value_at_risk(EMPTY, default_config(), **kwargs)
    assert str(exc.value) == message


def test_price_history_errors_name_file_line_column(tmp_path):
    path = tmp_path / "px.csv"
    path.write_text("date,close\n2025-01-02,3.1\n2025-01-03,abc\n")
    with pytest.raises(
        PriceHistoryError, match=r"px.csv, line 3, column 'close': expected a positive number, got 'abc'"
    ):
        read_price_history(path)
    path.write_text("date,close\n2025-01-03,3.1\n2025-01-02,3.2\n")
    with pytest.raises(
        PriceHistoryError, match=r"px.csv, line 3, column 'date': dates must be strictly increasing"
    ):
        read_price_history(path)
    path.write_text("day,close\n2025-01-03,3.1\n")
    with pytest.raises(PriceHistoryError, match=r"px.csv: missing column 'date'"):
        read_price_history(path)
    short = pd.DataFrame({"date": ["2025-01-02", "2025-01-03"], "close": [3.0, 3.1]})
    with pytest.raises(VarError, match="price history has 2 closes; need at least 21"):
        value_at_risk(EMPTY, default_config(), "historical", history=short)
