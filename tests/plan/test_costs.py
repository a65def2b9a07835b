"""Tests of the trading-cost model (engine/plan/costs.py) and its config keys.

Kinds: the calibration recovers the parameters of quotes generated from the model (property
test), the example chain's measured spread re-derived by hand from its CSV, refused config
values, and the costs stated by ``volarb simulate``.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine.config import ConfigError, config_from_dict, default_config
from engine.plan.costs import example_half_spread, half_spread, measure_half_spread


@given(
    pct=st.floats(0.005, 0.2),
    minimum=st.floats(0.005, 0.10),
    mids=st.lists(st.floats(0.01, 20.0), min_size=2, max_size=40),
)
def test_calibration_recovers_the_model(pct, minimum, mids):
    """Quotes made as mid -/+ max(pct x mid, minimum), with one on the floor and one above it:
    the fit returns (pct, minimum)."""
    mids = np.array(mids + [0.5 * minimum / pct, 3.0 * minimum / pct])  # one on the floor, one above
    half = half_spread(mids, pct, minimum)
    got = measure_half_spread(mids - half, mids + half)
    assert_allclose(got, (pct, minimum), rtol=1e-6, atol=1e-9)


def test_every_quote_on_the_floor_gives_no_proportional_part():
    assert measure_half_spread([1.0, 2.0, 3.0], [1.1, 2.1, 3.1]) == (0.0, 0.05)


def test_no_valid_quote_gives_nan():
    pct, minimum = measure_half_spread([1.0, -1.0, np.nan], [0.9, 1.0, 2.0])  # crossed, negative, missing
    assert np.isnan(pct) and np.isnan(minimum)


def test_example_chain_measured_by_hand():
    """The shipped chain (engine/data/example_chain.csv) quotes every row $0.04 wide: the tightest
    half-spread is $0.02 and no row is wider, so the default is max(0% of mid, $0.02)."""
    from engine.pricing.surface import example_chain_path

    with open(example_chain_path(), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    halves = sorted({round((float(r["ask"]) - float(r["bid"])) / 2, 6) for r in rows})
    assert halves == [0.02]
    assert example_half_spread() == (0.0, 0.02)
    e = default_config().execution
    assert (e.half_spread_pct, e.half_spread_min) == example_half_spread()


@pytest.mark.parametrize(
    "data,message",
    [
        (
            {"simulation": {"sizing": "kelly"}},
            "simulation.sizing: must be one of 'plan', 'full_requirement', 'buying_power', got 'kelly'",
        ),
        ({"execution": {"half_spread_min": -0.01}}, "execution.half_spread_min: must be >= 0, got -0.01"),
        (
            {"execution": {"half_spread_pct": 1.5}},
            "execution.half_spread_pct: must be >= 0 and <= 1, got 1.5",
        ),
        (
            {"execution": {"commission_per_contract": -1}},
            "execution.commission_per_contract: must be >= 0, got -1.0",
        ),
        (
            {"execution": {"max_orders_per_day": 0}},
            "execution.max_orders_per_day: must be >= 1 and <= 100000, got 0",
        ),
        ({"simulation": {"costs": "yes"}}, "simulation.costs: expected true or false, got 'yes'"),
    ],
)
def test_refused_cost_keys(data, message):
    with pytest.raises(ConfigError) as exc:
        config_from_dict(data, source="plan.toml")
    assert str(exc.value) == f"plan.toml: {message}"


def test_volarb_simulate_states_sizing_and_costs(capsys):
    from workbook.cli import main

    assert main(["simulate", "--paths", "50"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("plan sizing: monthly budget / reg_t capital per contract (net basis)")
    assert out[2] == (
        "costs: half-spread max(0% of mid, $0.02)/share, stock $0.005/share, $0.65/contract, "
        "$0.00/assignment; fills <= 10 x 10 contracts/series/day"
    )
