"""The ``VA_`` Excel functions (xlwings UDFs) over the volarb engine.

Import this module in Excel with the xlwings add-in (``UDF Modules = udfs.functions``) or serve
it through xlwings Server / Lite.  Every function is a few lines: argument docs for Excel's
function wizard, the docstring as the function description, and a body that normalizes its own
arguments through :mod:`udfs._boundary`, so it behaves the same with xlwings' conversion, without
it, and under the ``formulas`` evaluator.

Argument conventions (the wizard shows them too):

* ``expiry``: a date cell (or ISO text), or a number.  A number > 10000 is an Excel date serial;
  a number <= 10000 is days to expiry.
* ``vol``: annualized decimal (4.25 = 425%); text "425%" also works.
* ``pc``: "put"/"call", "P"/"C" (any case) or -1/+1.
* ``rate``, ``q``: continuous decimals; blank uses the plan config (rate 4%, q 0).
* ``val``: valuation date, blank = today (pass ``TODAY()`` for a sheet that rolls daily).
* ``style``: "american" (blank) or "european".
* ``hdr``: TRUE/FALSE, a header row on top of a table result.

Single-option functions accept ranges too: arguments broadcast like Excel arithmetic and the
result has their shape, with a message in each cell whose inputs are bad.  Table functions spill
as dynamic arrays; a bad row shows its message in its first cell and the other rows are computed.
Units: price and Greeks per share; theta per calendar day; vega per vol point (1%); rho per 1%
of rate.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import xlwings as xw

from engine.american import american_price
from engine.black import bs_price, prob_itm
from engine.config import default_config
from engine.greeks import greeks
from engine.impliedvol import implied_vol, iv_status_message
from udfs._boundary import (
    UdfArgError,
    as_date,
    flag,
    grid,
    kind,
    number,
    udf,
    years_to_expiry,
)
from udfs._boundary import (
    style as parse_style,
)

_MARKET = default_config().market

# Argument docs, shared by every function that takes the argument (short names: Excel's
# function wizard breaks past 254 characters of argument names).
ARG_DOCS: dict[str, str] = {
    "spot": "Underlying price, $ per share (> 0).",
    "strike": "Strike, $ per share (> 0).",
    "expiry": "Expiry: a date, or days to expiry if <= 10000.",
    "vol": "Implied vol, annualized decimal (4.25 = 425%).",
    "price": "Option price, $ per share (>= 0).",
    "pc": "put or call (P/C, -1/+1).",
    "rate": "Risk-free rate, continuous decimal (blank: 0.04).",
    "q": "Dividend yield, continuous decimal (blank: 0).",
    "val": "Valuation date (blank: today).",
    "style": "american (blank) or european.",
    "hdr": "TRUE for a header row (blank: TRUE).",
}


def _args(*names: str, docs: dict[str, str] | None = None) -> Callable[[Any], Any]:
    """Apply ``@xw.arg(name, doc=..., ndim=2, err_to_str=True)`` for each argument name."""

    def deco(f: Any) -> Any:
        for n in reversed(names):
            f = xw.arg(n, doc=(docs or {}).get(n, ARG_DOCS.get(n, n)), ndim=2, err_to_str=True)(f)
        return f

    return deco


# --------------------------------------------------------------------------- single option

_OPTION_ARGS = ("spot", "strike", "expiry", "vol", "pc", "rate", "q")


def _broadcast(args: dict[str, Any]) -> tuple[tuple[int, int], dict[str, np.ndarray]]:
    grids = {k: np.array(grid(v), dtype=object) for k, v in args.items()}
    try:
        shape = np.broadcast_shapes(*(g.shape for g in grids.values()))
    except ValueError:
        sizes = ", ".join(f"{k} {g.shape[0]}x{g.shape[1]}" for k, g in grids.items() if g.size > 1)
        raise UdfArgError(f"ranges of different sizes: {sizes}") from None
    return shape, {k: np.broadcast_to(g, shape) for k, g in grids.items()}


def _option_inputs(spot, strike, expiry, x, pc, rate, q, val, xname="vol"):
    """Parse broadcast option arguments cell by cell.

    Returns the shape, a dict of flat float arrays (spot, strike, t, x, kind, rate, q) for the
    good cells, their flat indices, and an object array of messages (None where good).
    """
    today = as_date(val, "val", default=_dt.date.today())
    shape, g = _broadcast({"spot": spot, "strike": strike, "expiry": expiry, xname: x, "pc": pc,
                           "rate": rate, "q": q})
    n = shape[0] * shape[1]
    out = {k: np.empty(n) for k in ("spot", "strike", "t", "x", "kind", "rate", "q")}
    msgs = np.full(n, None, dtype=object)
    flat = {k: v.ravel() for k, v in g.items()}
    rule = "vol" if xname == "vol" else "nonneg"
    for i in range(n):
        try:
            out["spot"][i] = number(flat["spot"][i], "spot", "pos")
            out["strike"][i] = number(flat["strike"][i], "strike", "pos")
            out["t"][i] = years_to_expiry(flat["expiry"][i], today)
            out["x"][i] = number(flat[xname][i], xname, rule)
            out["kind"][i] = kind(flat["pc"][i])
            out["rate"][i] = number(flat["rate"][i], "rate", default=_MARKET.rate)
            out["q"][i] = number(flat["q"][i], "q", default=_MARKET.dividend_yield)
        except UdfArgError as exc:
            if n == 1:
                raise
            msgs[i] = f"#VALUE! {exc}"
    good = np.flatnonzero(msgs == None)  # noqa: E711 (object array comparison)
    return shape, {k: v[good] for k, v in out.items()}, good, msgs


def _assemble(shape, good, msgs, values) -> Any:
    res = msgs.copy()
    res[good] = np.asarray(values, dtype=float)
    return res.reshape(shape)


def _single(what: str, spot, strike, expiry, vol, pc, rate, q, val, sty) -> Any:
    s = parse_style(sty)
    shape, a, good, msgs = _option_inputs(spot, strike, expiry, vol, pc, rate, q, val)
    args = (a["spot"], a["strike"], a["t"], a["rate"], a["x"], a["kind"], a["q"])
    if what == "price":
        vals = (american_price if s == "american" else bs_price)(*args)
    elif what == "prob":
        vals = prob_itm(*args)
    else:
        vals = greeks(*args, style=s)[what]
    return _assemble(shape, good, msgs, vals)


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val", "style")
@udf
def VA_PRICE(spot, strike, expiry, vol, pc, rate=None, q=None, val=None, style=None):
    """Option price, $ per share (American by default). Ranges give one price per cell."""
    return _single("price", spot, strike, expiry, vol, pc, rate, q, val, style)


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val", "style")
@udf
def VA_DELTA(spot, strike, expiry, vol, pc, rate=None, q=None, val=None, style=None):
    """Option delta per share (per $1 of spot); put deltas are negative."""
    return _single("delta", spot, strike, expiry, vol, pc, rate, q, val, style)


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val", "style")
@udf
def VA_GAMMA(spot, strike, expiry, vol, pc, rate=None, q=None, val=None, style=None):
    """Option gamma per share (change of delta per $1 of spot)."""
    return _single("gamma", spot, strike, expiry, vol, pc, rate, q, val, style)


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val", "style")
@udf
def VA_THETA(spot, strike, expiry, vol, pc, rate=None, q=None, val=None, style=None):
    """Option theta, $ per share per calendar day (value change over one day)."""
    return _single("theta_per_day", spot, strike, expiry, vol, pc, rate, q, val, style)


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val", "style")
@udf
def VA_VEGA(spot, strike, expiry, vol, pc, rate=None, q=None, val=None, style=None):
    """Option vega, $ per share per vol point (1% of vol)."""
    return _single("vega_per_point", spot, strike, expiry, vol, pc, rate, q, val, style)


GREEKS_HEADER = ["delta", "gamma", "theta/day", "vega/pt", "rho/pt"]


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val", "style", "hdr",
       docs={**ARG_DOCS, "hdr": "TRUE for a header row (blank: FALSE)."})
@udf
def VA_GREEKS(spot, strike, expiry, vol, pc, rate=None, q=None, val=None, style=None, hdr=None):
    """Delta, gamma, theta/day, vega/vol point, rho/1% per share: one row per option."""
    s = parse_style(style)
    shape, a, good, msgs = _option_inputs(spot, strike, expiry, vol, pc, rate, q, val)
    g = greeks(a["spot"], a["strike"], a["t"], a["rate"], a["x"], a["kind"], a["q"], style=s)
    cols = [g["delta"], g["gamma"], g["theta_per_day"], g["vega_per_point"], np.asarray(g["rho"]) / 100]
    rows: list[list[Any]] = [[m] + [""] * 4 for m in msgs]
    for j, i in enumerate(good):
        rows[i] = [float(np.atleast_1d(c)[j]) for c in cols]
    return ([GREEKS_HEADER] if flag(hdr, "hdr", False) else []) + rows


@xw.func
@_args("spot", "strike", "expiry", "price", "pc", "rate", "q", "val", "style")
@udf
def VA_IV(spot, strike, expiry, price, pc, rate=None, q=None, val=None, style=None):
    """Implied vol (decimal, 4.25 = 425%) of an option price; the 4th argument is the price."""
    s = parse_style(style)
    shape, a, good, msgs = _option_inputs(spot, strike, expiry, price, pc, rate, q, val, xname="price")
    r = implied_vol(a["x"], a["spot"], a["strike"], a["t"], a["rate"], a["kind"], a["q"],
                    style=s, full_output=True)
    res = msgs.copy()
    vols, codes = np.atleast_1d(r.vol), np.atleast_1d(r.status)
    for j, i in enumerate(good):
        res[i] = float(vols[j]) if np.isfinite(vols[j]) else f"#NUM! {iv_status_message(codes[j])}"
    return res.reshape(shape)


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val")
@udf
def VA_PROB_ITM(spot, strike, expiry, vol, pc, rate=None, q=None, val=None):
    """Risk-neutral probability the option ends in the money, N(d2) (a short put's assignment odds)."""
    return _single("prob", spot, strike, expiry, vol, pc, rate, q, val, None)


__all__ = [n for n in dir() if n.startswith("VA_")]
