"""Performance metrics, empyrical style: the same test body over list, 1-D, 2-D and pandas input.

Expected values are hand arithmetic written out here (never the function under test):

* returns ``[0.01, 0.03]``: mean 0.02, sample std ``sqrt(((-0.01)^2 + 0.01^2) / 1) = 0.0141421``,
  Sharpe ``0.02 / 0.0141421 * sqrt(252) = 22.44994``;
* returns ``[0.1, -0.5, 0.2]``: index 1, 1.1, 0.55, 0.66; peak 1.1; max drawdown
  ``1 - 0.55 / 1.1 = 0.5``;
* returns ``[-0.1, -0.1]``: index 1, 0.9, 0.81; max drawdown ``1 - 0.81 = 0.19``; Sharpe NaN
  (zero spread).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine.risk.review import (
    brier_score,
    correlation,
    daily_returns,
    max_drawdown,
    sharpe_ratio,
    weekly_return,
)

A = [0.01, 0.03]
B = [0.1, -0.5, 0.2]
SHARPE_A = 0.02 / math.sqrt(0.0002) * math.sqrt(252)  # 22.44994
MDD_B = 1 - 0.55 / 1.1  # 0.5

ONE_D = {
    "list": lambda r: list(r),
    "ndarray": lambda r: np.asarray(r, dtype=float),
    "series": lambda r: pd.Series(r, name="book", dtype=float),
}


@pytest.mark.parametrize("make", ONE_D.values(), ids=ONE_D.keys())
def test_one_dimensional_input_gives_a_float(make):
    s = sharpe_ratio(make(A))
    d = max_drawdown(make(B))
    assert isinstance(s, float) and isinstance(d, float)
    assert_allclose(s, SHARPE_A, rtol=1e-12)
    assert_allclose(d, MDD_B, rtol=1e-12)


def _two_columns():
    # column "a" = A padded with a NaN (dropped), column "b" = [-0.1, -0.1, NaN]: zero spread
    return np.array([[0.01, -0.1], [0.03, -0.1], [np.nan, np.nan]])


TWO_D = {
    "ndarray": lambda m: m,
    "dataframe": lambda m: pd.DataFrame(m, columns=["a", "b"], index=pd.RangeIndex(3, name="day")),
}


@pytest.mark.parametrize("kind", TWO_D, ids=TWO_D.keys())
def test_two_dimensional_input_gives_one_value_per_column(kind):
    m = TWO_D[kind](_two_columns())
    s = sharpe_ratio(m)
    d = max_drawdown(m)
    if kind == "dataframe":
        assert isinstance(s, pd.Series) and list(s.index) == ["a", "b"]
        assert isinstance(d, pd.Series) and list(d.index) == ["a", "b"]
    else:
        assert isinstance(s, np.ndarray) and s.shape == (2,)
    s, d = np.asarray(s, dtype=float), np.asarray(d, dtype=float)
    assert_allclose(s[0], SHARPE_A, rtol=1e-12)
    assert math.isnan(s[1])  # zero spread
    # a: index 1, 1.01, 1.0403 never falls; b: 1, 0.9, 0.81 -> 0.19
    assert_allclose(d, [0.0, 0.19], rtol=0, atol=1e-12)


@pytest.mark.parametrize("make", [*ONE_D.values(), TWO_D["dataframe"]], ids=[*ONE_D, "dataframe"])
def test_too_little_data_is_nan(make):
    if make is TWO_D["dataframe"]:
        m = make(np.full((3, 2), np.nan))
        assert np.isnan(np.asarray(sharpe_ratio(m), dtype=float)).all()
        assert np.isnan(np.asarray(max_drawdown(m), dtype=float)).all()
        return
    assert math.isnan(sharpe_ratio(make([0.01])))  # one return: no spread
    assert math.isnan(max_drawdown(make([])))


def test_a_column_equals_the_same_series_alone():
    rng = np.random.default_rng(7)
    m = rng.normal(0.001, 0.02, size=(60, 4))
    m[rng.random(m.shape) < 0.1] = np.nan
    cols = [sharpe_ratio(m[:, j]) for j in range(4)]
    assert_allclose(sharpe_ratio(m), cols, rtol=1e-12)
    assert_allclose(max_drawdown(m), [max_drawdown(m[:, j]) for j in range(4)], rtol=1e-12)


returns = st.lists(st.floats(-0.9, 2.0, allow_nan=False), min_size=1, max_size=40)


@given(returns, st.floats(-0.9, 0.0))
def test_adding_a_loss_never_lowers_the_max_drawdown(r, loss):
    # metamorphic, as empyrical's tests: appending a non-positive return cannot shrink the worst fall
    assert max_drawdown([*r, loss]) >= max_drawdown(r) - 1e-12


@given(returns, st.floats(0.0, 0.05))
def test_shifting_returns_up_raises_the_sharpe_ratio(r, shift):
    s0, s1 = sharpe_ratio(r), sharpe_ratio([x + shift for x in r])
    if math.isfinite(s0) and math.isfinite(s1) and np.std(r) > 1e-9:
        assert s1 >= s0 - 1e-9


@given(returns)
def test_max_drawdown_is_a_fraction(r):
    d = max_drawdown(r)
    assert 0.0 <= d <= 1.0


def test_dataframe_gives_a_series_labelled_by_its_columns():
    # a DataFrame of daily returns (dates down, books across): one value per column, labelled and
    # in the column order, each the same as that column alone (a Series in, a float out) and the
    # same as the bare 2-D array (an ndarray out)
    rng = np.random.default_rng(11)
    m = rng.normal(0.002, 0.03, size=(40, 3))
    m[rng.random(m.shape) < 0.1] = np.nan
    df = pd.DataFrame(m, columns=["ASST", "BTC", "cash"], index=pd.bdate_range("2025-09-01", periods=40))
    for f in (sharpe_ratio, max_drawdown):
        got = f(df)
        assert isinstance(got, pd.Series) and list(got.index) == ["ASST", "BTC", "cash"]
        alone = [f(df[c]) for c in df.columns]
        assert all(isinstance(v, float) for v in alone)
        assert_allclose(got.to_numpy(), alone, rtol=1e-12, atol=0)
        assert_allclose(got.to_numpy(), f(m), rtol=1e-12, atol=0)


def test_one_column_two_dimensional_input_keeps_its_dimension():
    col = np.array([[0.01], [0.03]])
    s = sharpe_ratio(col)
    assert isinstance(s, np.ndarray) and s.shape == (1,)
    assert_allclose(s, [SHARPE_A], rtol=1e-12)
    d = max_drawdown(pd.DataFrame({"book": B}))
    assert isinstance(d, pd.Series) and list(d.index) == ["book"]
    assert_allclose(d.to_numpy(), [MDD_B], rtol=1e-12)


@pytest.mark.parametrize("make", ONE_D.values(), ids=ONE_D.keys())
def test_one_dimensional_metrics_same_for_every_input_type(make):
    # daily returns: (110 - 0)/100 - 1 = 0.1; (1110 - 1000)/110 - 1 = 0 (the deposit is not performance)
    r = daily_returns(make([100.0, 110.0, 1110.0]), make([0.0, 0.0, 1000.0]))
    assert isinstance(r, np.ndarray)
    assert_allclose(r, [0.1, 0.0], rtol=0, atol=1e-12)
    # Brier: ((0.9 - 1)^2 + (0.2 - 0)^2) / 2 = (0.01 + 0.04) / 2 = 0.025
    assert_allclose(brier_score(make([0.9, 0.2]), make([1.0, 0.0])), 0.025, rtol=1e-12)
    # correlation of [1, 2, 3] and [1, 3, 2]: deviations (-1, 0, 1) and (-1, 1, 0),
    # covariance sum 1, variances sum 2 and 2: r = 1 / sqrt(2 x 2) = 0.5
    assert_allclose(correlation(make([1.0, 2.0, 3.0]), make([1.0, 3.0, 2.0])), 0.5, rtol=1e-12)
    # the week to 2025-09-26 holds the returns of 09-22 and 09-26: 1.1 x 1.1 - 1 = 0.21
    days = [dt.date(2025, 9, 19), dt.date(2025, 9, 22), dt.date(2025, 9, 26)]
    assert_allclose(weekly_return(days, make([0.5, 0.1, 0.1])), 0.21, rtol=1e-12)
