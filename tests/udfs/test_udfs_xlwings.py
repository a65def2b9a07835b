"""The VA_ UDFs through xlwings' own custom-function dispatcher (the xlwings Server / Lite path).

``xlwings.pro.custom_functions_meta`` and ``custom_functions_call`` are what Excel on the web
and on Mac (and Windows through xlwings Server or Lite) use.  They only exist with
``XLWINGS_ON_SERVER=true`` (the decorators then record metadata) and need a license key
(``noncommercial`` is accepted), so they run in one subprocess whose JSON answers the tests read.
Arguments are passed as Office.js sends them: every argument a matrix (list of rows), blanks as
``None``, dates as serial numbers, errors as ``{"type": "Error", ...}`` dicts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import udfs.functions as F

ROOT = Path(__file__).resolve().parents[2]
ERR_NA = {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}

# name -> (udf, args as Office.js sends them); the same calls are made in-process without
# xlwings, where 1x1 matrices are unwrapped as xlwings does, and the results compared
CALLS: dict[str, tuple[str, list]] = {
    "price_1x1": ("VA_PRICE", [[[3.15]], [[3.0]], [[30]], [[4.25]], [["P"]], [[0.04]], [[0.0]], [[45927]]]),
    "price_text_numbers": (
        "VA_PRICE",
        [[["3.15"]], [["3"]], [["30"]], [["425%"]], [["put"]], [["4%"]], [[None]], [[45927]]],
    ),
    "price_serial_expiry": (
        "VA_PRICE",
        [[[3.15]], [[3.0]], [[45957]], [[4.25]], [["P"]], [[0.04]], [[None]], [[45927]], [["E"]]],
    ),
    "price_column": (
        "VA_PRICE",
        [[[3.15]], [[2.0], [3.0], ["x"], [None]], [[30]], [[4.25]], [["P"]], [[None]], [[None]], [[45927]]],
    ),
    "price_2x2": (
        "VA_PRICE",
        [[[3.15, 3.5]], [[2.0], [3.0]], [[30]], [[4.25]], [["P"]], [[None]], [[None]], [[45927]], [["E"]]],
    ),
    "price_error": ("VA_PRICE", [[[ERR_NA]], [[3.0]], [[30]], [[4.25]], [["P"]]]),
    "price_blank_spot": ("VA_PRICE", [[[None]], [[3.0]], [[30]], [[4.25]], [["P"]]]),
    "greeks_header": (
        "VA_GREEKS",
        [[[3.15]], [[3.0]], [[30]], [[4.25]], [["P"]], [[None]], [[None]], [[45927]], [["E"]], [[True]]],
    ),
    "iv_below_bound": (
        "VA_IV",
        [[[3.15]], [[5.0]], [[30]], [[1.0]], [["P"]], [[0.04]], [[0]], [[45927]], [["E"]]],
    ),
    "ladder": (
        "VA_LADDER",
        [
            [
                ["underlying", "kind", "side", "strike", "expiry", "contracts", "premium"],
                ["ASST", "P", "short", 2.5, 45947, 10, 0.8],
                ["ASST", "put", "short", "3", 45982, "5", "1.10"],
                [None, None, None, None, None, None, None],
                ["ASST", "put", "short", ERR_NA, 45947, 1, 0.5],
            ],
            [[3.15]],
            [[4.25]],
            [[0.04]],
            [[0]],
            [[45927]],
        ],
    ),
    "allocate": ("VA_ALLOCATE", [[[2065]], [["4000"]], [[None]], [[False]]]),
    # cfg: the Inputs rows (value, unit, config key) as the template's ConfigTable sends them
    "hedge_ratio_cfg": (
        "VA_HEDGE_RATIO",
        [
            [[3792]],
            [[99]],
            [[0.45]],
            [
                [0.3, "decimal", "hedge.cap"],
                [None, "$/share", "market.spot"],
                ["TRUE", "TRUE/FALSE", "hedge.use_dynamic_ratio"],
            ],
        ],
    ),
    "hedge_ratio_cfg_bad": (
        "VA_HEDGE_RATIO",
        [[[3792]], [[99]], [[0.45]], [[1.5, "decimal", "hedge.cap"], [ERR_NA, "", "hedge.base_ratio"]]],
    ),
    "prob_itm": ("VA_PROB_ITM", [[[3.15]], [[3.0]], [[30]], [[4.25]], [["P"]], [[0.04]], [[0]], [[45927]]]),
}

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    import xlwings as xw
    from xlwings import pro
    import udfs.functions as F
    calls = json.loads(sys.stdin.read())
    meta = pro.custom_functions_meta(F)
    out = {"meta": meta, "results": {}}
    for key, (name, args) in calls.items():
        data = {"func_name": name, "args": args, "version": xw.__version__, "client": "Office.js",
                "runtime": "1.4", "culture_info_name": "en-US", "date_format": "m/d/yyyy"}
        out["results"][key] = asyncio.run(pro.custom_functions_call(data, F))
    # the same calls with xlwings' own is_jsnull put back (udfs.functions replaced it)
    from xlwings import utils
    out["patched"] = hasattr(utils.is_jsnull, "__wrapped__")
    utils.is_jsnull = getattr(utils.is_jsnull, "__wrapped__", utils.is_jsnull)
    out["unpatched"] = {}
    for key, (name, args) in calls.items():
        data = {"func_name": name, "args": args, "version": xw.__version__, "client": "Office.js",
                "runtime": "1.4", "culture_info_name": "en-US", "date_format": "m/d/yyyy"}
        out["unpatched"][key] = asyncio.run(pro.custom_functions_call(data, F))
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def dispatched():
    env = {
        **os.environ,
        "XLWINGS_ON_SERVER": "true",
        "XLWINGS_LICENSE_KEY": "noncommercial",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(CALLS),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        pytest.fail(f"dispatcher subprocess failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def _udf_names():
    return sorted(n for n in dir(F) if n.startswith("VA_"))


def test_meta_lists_every_udf_with_description_and_argument_docs(dispatched):
    funcs = {f["name"]: f for f in dispatched["meta"]["functions"]}
    assert sorted(funcs) == _udf_names()
    for name, meta in funcs.items():
        py = getattr(F, name)
        assert meta["description"] == py.__doc__
        params = list(__import__("inspect").signature(py).parameters.values())
        assert [p["name"] for p in meta["parameters"]] == [p.name for p in params], name
        for p_meta, p in zip(meta["parameters"], params):
            assert not p_meta["description"].startswith("Positional argument"), (name, p.name)
            assert p_meta.get("optional", False) == (p.default is not p.empty), (name, p.name)


def _unwrap(arg):
    """What xlwings' to_scalar does to a 1x1 matrix."""
    return arg[0][0] if len(arg) == 1 and len(arg[0]) == 1 else arg


def _plain(value):
    """An in-process UDF result in the dispatcher's shape: always a matrix."""
    return value if isinstance(value, list) else [[value]]


@pytest.mark.parametrize("key", sorted(CALLS))
def test_dispatcher_equals_plain_python_call(dispatched, key):
    name, args = CALLS[key]
    got = dispatched["results"][key]
    want = _plain(getattr(F, name)(*[_unwrap(a) for a in args]))
    assert np.shape(got) == np.shape(want), key
    for g_row, w_row in zip(got, want):
        for g, w in zip(g_row, w_row):
            if isinstance(w, float):
                assert_allclose(g, w, rtol=1e-9, err_msg=key)
            else:
                assert g == ("" if w is None else w), key


def test_dispatcher_messages(dispatched):
    r = dispatched["results"]
    assert r["price_error"] == [["#VALUE! spot is an error value #N/A"]]
    assert r["price_blank_spot"] == [["#VALUE! spot is required (the cell is blank)"]]
    assert r["price_column"][2] == ["#VALUE! strike must be a number, got 'x'"]
    assert r["price_column"][3] == ["#VALUE! strike is required (the cell is blank)"]
    assert r["greeks_header"][0] == F.GREEKS_HEADER
    assert r["iv_below_bound"][0][0].startswith("#NUM! price is below")
    assert np.shape(r["price_2x2"]) == (2, 2)
    assert r["ladder"][4][0] == "#VALUE! row 5, column 'strike': error value #N/A"
    assert r["ladder"][3] == [""] * len(F.LADDER_KEYS)
    assert r["allocate"][0] == ["call_hedge_budget", 413.0]
    # hand: 0.20 x 1.3 x 1.5 = 0.39, capped at the cfg's hedge.cap 0.30; a bad cfg cell: that cell's message
    assert r["hedge_ratio_cfg"] == [[0.3]]
    assert r["hedge_ratio_cfg_bad"] == [["#VALUE! cfg: hedge.base_ratio is an error value #N/A"]]
    # text numbers and serial dates price the same option as numbers and day counts
    assert_allclose(r["price_text_numbers"][0][0], r["price_1x1"][0][0], rtol=1e-12)


# --------------------------------------------------------------------------- is_jsnull speed fix


def test_dispatcher_results_unchanged_by_the_is_jsnull_replacement(dispatched):
    assert dispatched["patched"], "udfs.functions did not replace xlwings.utils.is_jsnull"
    assert dispatched["results"] == dispatched["unpatched"]


def test_is_jsnull_replacement_answers_as_xlwings_does_outside_pyodide():
    from xlwings import utils

    from udfs._xlwings_compat import patch_is_jsnull

    assert importlib.util.find_spec("pyodide") is None  # the premise: not running in Pyodide
    assert patch_is_jsnull() is True
    original = utils.is_jsnull.__wrapped__
    values = [None, 0, 3.15, -1, float("nan"), "", "put", "#N/A", True, [[1.0]], ERR_NA]
    assert [utils.is_jsnull(v) for v in values] == [original(v) for v in values] == [False] * len(values)
    assert patch_is_jsnull() is True and utils.is_jsnull.__wrapped__ is original  # idempotent


def test_is_jsnull_left_alone_inside_pyodide_or_when_xlwings_drops_it(monkeypatch):
    from xlwings import utils

    from udfs import _xlwings_compat

    before = utils.is_jsnull
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        _xlwings_compat.importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "pyodide" else real_find_spec(name, *a),
    )
    assert _xlwings_compat.patch_is_jsnull() is False
    assert utils.is_jsnull is before
    monkeypatch.undo()
    monkeypatch.delattr(utils, "is_jsnull")
    assert _xlwings_compat.patch_is_jsnull() is False
    assert not hasattr(utils, "is_jsnull")


def test_wizard_premium_text_says_per_share_where_it_is(dispatched):
    """The premium argument is $ per share in VA_ASSIGNMENT and VA_MARGIN, a month's $ in VA_ALLOCATE."""
    docs = {
        f["name"]: {p["name"]: p["description"] for p in f["parameters"]}
        for f in dispatched["meta"]["functions"]
    }
    assert "per share" in docs["VA_ASSIGNMENT"]["premium"]
    assert "per share" in docs["VA_MARGIN"]["premium"]
    assert "month" in docs["VA_ALLOCATE"]["premium"] and "per share" not in docs["VA_ALLOCATE"]["premium"]
    assert "0.04 = 4%" in docs["VA_PRICE"]["rate"]
