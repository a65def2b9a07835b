"""Vol surface: interpolation by hand arithmetic, recovery of the example chain's known smile, refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine._validate import VolarbInputError
from engine.config import default_config
from engine.data.chain import ChainError
from engine.pricing.surface import (
    VolSurface,
    example_chain_frame,
    example_chain_path,
    example_smile,
    read_option_chain,
)

HEAD = "expiry,strike,kind,bid,ask\n"


def test_interpolation_hand_arithmetic():
    # slices: t=0.1 vols (K=2: 1.2, K=4: 0.8); t=0.3 vols (K=2: 2.0, K=4: 1.0)
    s = VolSurface([0.1, 0.1, 0.3, 0.3], [2, 4, 2, 4], [1.2, 0.8, 2.0, 1.0])
    # K=3 within slice: linear in strike -> 1.0 at t=0.1 and 1.5 at t=0.3
    # t=0.2: total variance (1.0^2*0.1 + 1.5^2*0.3)/2 = (0.1 + 0.675)/2 = 0.3875 -> vol sqrt(0.3875/0.2)
    np.testing.assert_allclose(s.vol(3.0, 0.2), np.sqrt(0.3875 / 0.2), rtol=1e-14, atol=0)
    # t=0.25 at K=2: w = 0.144 + 0.75*(1.2 - 0.144) = 0.936 -> vol sqrt(0.936/0.25)
    np.testing.assert_allclose(s.vol(2.0, 0.25), np.sqrt(0.936 / 0.25), rtol=1e-14, atol=0)
    # flat extrapolation in strike and in time (vol)
    np.testing.assert_allclose(s.vol([1.0, 9.0], [0.05, 0.5]), [1.2, 1.0], rtol=0, atol=1e-15)
    # nodes are reproduced
    np.testing.assert_allclose(
        s.vol([2, 4, 2, 4], [0.1, 0.1, 0.3, 0.3]), [1.2, 0.8, 2.0, 1.0], rtol=1e-14, atol=0
    )


def test_vol_shapes_and_nan():
    s = VolSurface([0.1, 0.3], [3, 3], [1.0, 2.0])
    assert isinstance(s.vol(3, 0.2), float)
    assert s.vol(np.ones((2, 3)), 0.2).shape == (2, 3)
    out = s.vol([3.0, -1.0, np.nan], [0.2, 0.2, 0.2])
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])
    one = VolSurface([0.2, 0.2], [2.0, 4.0], [1.0, 3.0])
    np.testing.assert_allclose(one.vol(3.0, [0.01, 5.0]), [2.0, 2.0], rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "args,expected",
    [
        (([0.1], [3.0], [1.0, 2.0]), "equal-length, non-empty"),
        (([], [], []), "equal-length, non-empty"),
        (([0.0], [3.0], [1.0]), "VolSurface t must be positive and finite"),
        (([0.1], [3.0], [np.nan]), "VolSurface vol must be positive and finite"),
        (([0.1, 0.1], [3.0, 3.0], [1.0, 2.0]), "strike repeated at t=0.1"),
    ],
)
def test_surface_refusals(args, expected):
    with pytest.raises(VolarbInputError, match=expected):
        VolSurface(*args)


def test_example_chain_recovers_the_smile():
    s = read_option_chain(example_chain_path())
    q = s.quotes
    assert len(q) == 64 and q["solved"].all() and q["used"].sum() == 32
    used = q[q["used"]]
    # out-of-the-money quote used: puts below spot 3.15, calls from it up
    assert set(used.loc[used["strike"] < 3.15, "kind"]) == {"put"}
    assert set(used.loc[used["strike"] > 3.15, "kind"]) == {"call"}
    # Error budget: mids carry 5e-5 rounding and the vega per 1.00 vol here is >= 0.25 (< 2e-4 in vol);
    # the American pricer that inverts the chain may differ from the one that generated it by up to
    # ~1e-3 $/share (interim binomial tree vs the analytic method), i.e. ~3e-3 in vol. Hence 5e-3.
    np.testing.assert_allclose(used["iv"], example_smile(used["strike"], used["t"]), rtol=0, atol=5e-3)
    # between nodes: interpolation of the solved nodes is close to the smooth smile
    for k, t in [(2.25, 40 / 365), (3.15, 55 / 365), (4.5, 100 / 365)]:
        assert abs(s.vol(k, t) - example_smile(k, t)) < 0.05


def test_shipped_chain_matches_generator():
    shipped = pd.read_csv(example_chain_path())
    fresh = example_chain_frame()
    assert list(shipped.columns) == ["expiry", "strike", "kind", "bid", "ask"]
    # the pricer may be refined between releases; the shipped chain must stay within a tenth of a cent
    np.testing.assert_allclose(
        shipped[["bid", "ask"]].to_numpy(), fresh[["bid", "ask"]].to_numpy(), rtol=0, atol=2e-3
    )


def test_unattainable_and_crossed_quotes_dropped_and_reported(tmp_path):
    p = tmp_path / "chain.csv"
    # put K=5 with spot 3.15: intrinsic 1.85, a 1.00 mid is below it; crossed quote; expired row; good row
    p.write_text(
        HEAD + "2025-11-21,5,put,0.95,1.05\n2025-11-21,2.5,put,1.5,1.2\n2025-09-19,2.5,put,0.1,0.2\n"
        "2025-11-21,2.5,put,1.30,1.40\n"
    )
    s = read_option_chain(p)
    d = s.dropped
    assert len(d) == 3
    reasons = dict(zip(zip(d["expiry"], d["strike"], d["bid"]), d["reason"], strict=True))
    assert reasons[(dt.date(2025, 11, 21), 5.0, 0.95)].startswith("no vol reproduces the mid: price is below")
    assert reasons[(dt.date(2025, 11, 21), 2.5, 1.5)] == "crossed quote (ask below bid)"
    assert reasons[(dt.date(2025, 9, 19), 2.5, 0.1)].startswith("expired")
    assert s.nodes.shape[0] == 1


def test_last_price_used_when_one_sided(tmp_path):
    p = tmp_path / "chain.csv"
    p.write_text("Expiry, Strike ,Kind,Bid,Ask,Last\n11/21/2025,2.5,P,,1.40,1.35\n")
    s = read_option_chain(p, default_config())
    q = s.quotes
    assert q["price_source"][0] == "last" and q["mid"][0] == 1.35 and q["used"][0]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "chain.csv: the file is empty"),
        (HEAD, "chain.csv: the option chain has no quotes"),
        ("expiry,strike,kind,bid,ask,volume\n2025-11-21,2.5,put,1,2,5\n", "unknown column(s) 'volume'"),
        ("expiry,kind,bid,ask\n2025-11-21,put,1,2\n", "missing column(s) 'strike'"),
        (
            HEAD + "2025-11-21,abc,put,1,2\n",
            "chain.csv, line 2, column 'strike': expected a number, got 'abc'",
        ),
        (HEAD + "2025-11-21,2.5,straddle,1,2\n", "line 2, column 'kind': expected put or call"),
        (HEAD + "2025-11-21,2.5,put,-1,2\n", "line 2, column 'bid': expected a price >= 0"),
        (HEAD + "Nov 21,2.5,put,1,2\n", "line 2, column 'expiry': expected a date"),
        (
            HEAD + "2025-11-21,2.5,put,,2\n",
            "line 2, column 'bid'/'ask': need both bid and ask (or a last price)",
        ),
        (HEAD + "2025-11-21,5,put,0.1,0.2\n", "no quote gives a usable implied vol"),
        (HEAD + "2025-11-21,x,put,1,2\n2025-11-21,y,put,1,2\n", "chain.csv: 2 problems; nothing was loaded:"),
    ],
)
def test_chain_refusals(tmp_path, text, expected):
    p = tmp_path / "chain.csv"
    p.write_text(text)
    with pytest.raises(ChainError) as exc:
        read_option_chain(p)
    assert expected in str(exc.value)


def test_missing_file():
    with pytest.raises(ChainError, match="cannot read option chain"):
        read_option_chain("/nonexistent/chain.csv")
