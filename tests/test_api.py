"""The public API: every exported name resolves, and the parameter order is the same everywhere."""

from __future__ import annotations

import inspect

import engine

PRICING_ORDER = ["spot", "strike", "t", "rate", "vol", "kind", "q"]


def test_every_exported_name_resolves():
    missing = [name for name in engine.__all__ if not hasattr(engine, name)]
    assert missing == []


def test_pricing_functions_share_one_parameter_order():
    for fn in (engine.bs_price, engine.american_price, engine.greeks, engine.prob_itm):
        params = list(inspect.signature(fn).parameters)[: len(PRICING_ORDER)]
        assert params == PRICING_ORDER, fn.__name__
    params = list(inspect.signature(engine.implied_vol).parameters)
    assert params[:7] == ["price", "spot", "strike", "t", "rate", "kind", "q"]


def test_unknown_attribute_is_an_attribute_error():
    try:
        engine.no_such_function  # noqa: B018
    except AttributeError as exc:
        assert "no_such_function" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")
