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
* ``cfg``: the plan config as cells, last argument of every function whose result depends on
  config values beyond its own arguments (hedge-ratio rule, Kelly limits, capital model and
  Reg T percentages, risk limits, VaR settings, assignment tiers, execution rules).  A range of
  the Inputs sheet's key rows: the value in its first column, the config key (``hedge.cap``) in
  its last column, e.g. the template's ``ConfigTable`` (Inputs columns Value, Unit, Config key).
  Rows with a blank key are skipped, a blank value keeps the plan default; a bad value gives
  ``#VALUE! cfg: hedge.cap: must be >= 0 and <= 1, got 1.5``.  Blank ``cfg``: the plan defaults.
  Arguments given to the function (spot, vol, rate, model, ...) override the config's values.

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

from engine.config import PlanConfig, config_from_pairs, default_config
from engine.pricing.american import american_price
from engine.pricing.black import bs_price, prob_itm
from engine.pricing.greeks import greeks
from engine.pricing.impliedvol import implied_vol, iv_status_message
from udfs._boundary import (
    SERIAL_DATE_MIN,
    BoundedCache,
    UdfArgError,
    as_date,
    cell,
    error_row,
    error_text,
    flag,
    grid,
    is_blank,
    kind,
    number,
    text,
    udf,
    years_to_expiry,
)
from udfs._boundary import style as parse_style
from udfs._xlwings_compat import patch_is_jsnull
from workbook.layout import LADDER_KEYS, POSITION_COMPUTED_COLUMNS

# xlwings 0.37.x retries ``from pyodide.ffi import JsNull`` for every cell it converts (see
# udfs/_xlwings_compat.py); outside Pyodide that lookup always answers False, so answer it directly.
patch_is_jsnull()

_CFG = default_config()  # the plan defaults used for blank optional arguments
_MARKET = _CFG.market

# Argument docs, shared by every function that takes the argument (short names: Excel's
# function wizard breaks past 254 characters of argument names).
ARG_DOCS: dict[str, str] = {
    "spot": "Underlying price, $ per share (> 0).",
    "strike": "Strike, $ per share (> 0).",
    "expiry": "Expiry: a date, or days to expiry if <= 10000.",
    "vol": "Implied vol, annualized decimal (4.25 = 425%).",
    "price": "Option price, $ per share (>= 0).",
    "pc": "put or call (P/C, -1/+1).",
    "rate": "Risk-free rate, continuous decimal, 0.04 = 4% (blank: 0.04).",
    "q": "Dividend yield, continuous decimal, 0.01 = 1% (blank: 0).",
    "val": "Valuation date (blank: today).",
    "style": "american (blank) or european.",
    "hdr": "TRUE for a header row (blank: TRUE).",
    "cfg": "Config rows: value 1st column, config key last (Inputs B:D, ConfigTable); blank: plan defaults.",
}


def _args(*names: str, docs: dict[str, str] | None = None) -> Callable[[Any], Any]:
    """Apply ``@xw.arg(name, doc=..., ndim=2, err_to_str=True)`` for each argument name."""

    def deco(f: Any) -> Any:
        for n in reversed(names):
            f = xw.arg(n, doc=(docs or {}).get(n, ARG_DOCS.get(n, n)), ndim=2, err_to_str=True)(f)
        return f

    return deco


_CFG_CACHE = BoundedCache(32)


def _cfg_value(v: Any, key: str) -> Any:
    """One cfg value cell as a plain hashable Python value (blank -> None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if is_blank(v):
        return None
    err = error_text(v)
    if err:
        raise UdfArgError(f"cfg: {key} is an error value {err}")
    if (
        key.endswith("_date")
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and v > SERIAL_DATE_MIN
    ):
        return as_date(v, f"cfg: {key}")  # an Excel date serial (xlwings Server sends dates so)
    if isinstance(v, str):
        return str(v)  # formulas' and numpy's str subclasses
    return v


def _config(x: Any) -> PlanConfig:
    """The plan config from a ``cfg`` range (value in its first column, key in its last).

    Rows with a blank key are skipped, and so is a first row whose key is a header (text with
    no dot, e.g. "Config key").  The pairs go to :func:`engine.config.config_from_pairs` over the
    plan defaults; the config is cached by the tuple of pairs, so a recalculation that leaves
    the cells alone does not validate them again.  Blank or missing ``cfg``: the plan defaults.
    """
    g = grid(x)
    if len(g) == 1 and len(g[0]) == 1 and is_blank(cell(g[0][0], "cfg")):
        return _CFG
    if len(g[0]) < 2:
        raise UdfArgError("cfg must be 2 or more columns: the value first, the config key last")
    pairs = []
    for i, row in enumerate(g):
        k = row[-1]
        if isinstance(k, np.generic):
            k = k.item()
        if is_blank(k):
            continue
        if error_text(k):
            raise UdfArgError(f"cfg row {i + 1}: the config key is an error value {error_text(k)}")
        k = str(k).strip()
        if i == 0 and "." not in k:
            continue  # a header row
        pairs.append((k, _cfg_value(row[0], k)))
    return _CFG_CACHE.get_or_make(tuple(pairs), lambda: config_from_pairs(pairs, source="cfg", base=_CFG))


# --------------------------------------------------------------------------- single option


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
    shape, g = _broadcast(
        {"spot": spot, "strike": strike, "expiry": expiry, xname: x, "pc": pc, "rate": rate, "q": q}
    )
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
            out["rate"][i] = number(flat["rate"][i], "rate", "rate", default=_MARKET.rate)
            out["q"][i] = number(flat["q"][i], "q", "rate", default=_MARKET.dividend_yield)
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
    """Option theta, $ per share per calendar day (instantaneous theta per year / 365)."""
    return _single("theta_per_day", spot, strike, expiry, vol, pc, rate, q, val, style)


@xw.func
@_args("spot", "strike", "expiry", "vol", "pc", "rate", "q", "val", "style")
@udf
def VA_VEGA(spot, strike, expiry, vol, pc, rate=None, q=None, val=None, style=None):
    """Option vega, $ per share per vol point (1% of vol)."""
    return _single("vega_per_point", spot, strike, expiry, vol, pc, rate, q, val, style)


GREEKS_HEADER = ["delta", "gamma", "theta/day", "vega/pt", "rho/pt"]


@xw.func
@_args(
    "spot",
    "strike",
    "expiry",
    "vol",
    "pc",
    "rate",
    "q",
    "val",
    "style",
    "hdr",
    docs={**ARG_DOCS, "hdr": "TRUE for a header row (blank: FALSE)."},
)
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
    r = implied_vol(
        a["x"], a["spot"], a["strike"], a["t"], a["rate"], a["kind"], a["q"], style=s, full_output=True
    )
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


# --------------------------------------------------------------------------- tables and plan

PLAN_DOCS: dict[str, str] = {
    **ARG_DOCS,
    "addition": "New capital added this month, $.",
    "share": "Share of premium to call hedges (blank: 0.20).",
    "budget": "Budget to spend, $.",
    "strikes": "Strikes, $ (a row or column range).",
    "weights": "Weights per strike, summing to 1 (same size as strikes).",
    "prems": "Premiums per strike, $ per share (same size as strikes).",
    "model": "Capital model: reg_t, cash_secured or premium (blank: cfg's capital.model, reg_t).",
    "value": "Portfolio value, $.",
    "ivpct": "IV percentile, 0-100.",
    "squeeze": "Short-squeeze probability, 0-1.",
    "ladder": "Hedge rungs: moneyness, share, dte per row (blank: cfg's, the plan's 3 rungs).",
    "inc": "Listed strike spacing, $ (blank: cfg's strikes.strike_increment, 0.5).",
    "win": "Probability a trade wins, 0-1.",
    "avgwin": "Average win, fraction of capital at risk.",
    "avgloss": "Average loss, fraction of capital at risk.",
    "frac": "Fraction of full Kelly (blank: cfg's kelly.fraction, 0.25).",
    "cap": "Maximum share per strike (blank: cfg's kelly.cap, 0.15).",
    "shares": "Shares assigned.",
}


def _kv(d: dict, hdr: Any, keys: tuple[str, ...] | None = None) -> list[list[Any]]:
    """A two-column item/value table from a dict; NaN (not applicable) shows as a blank."""
    rows = [[k, "" if isinstance(d[k], float) and np.isnan(d[k]) else d[k]] for k in (keys or tuple(d))]
    return ([["item", "value"]] if flag(hdr, "hdr", True) else []) + rows


def _frame_table(df: Any, hdr: Any, columns: tuple[str, ...] | None = None) -> list[list[Any]]:
    """A DataFrame as rows (header row of its column names unless ``hdr`` is FALSE).

    NaN in a table (an alert with no value, a column that does not apply) shows as a blank, as
    in :func:`_kv`, not as ``#NUM!``.
    """
    cols = list(columns or df.columns)
    rows = [[_cell_value(v) for v in rec] for rec in df[cols].itertuples(index=False, name=None)]
    return ([cols] if flag(hdr, "hdr", True) else []) + rows


def _cell_value(v: Any) -> Any:
    if isinstance(v, float) and v != v:  # NaN: not applicable
        return None
    if isinstance(v, (tuple, list)):
        return ", ".join(str(x) for x in v)
    return v


def _vector(x: Any, name: str, rule: str = "any") -> np.ndarray:
    """The non-blank cells of a row or column range as floats (a 2-D block is refused)."""
    g = grid(x)
    if len(g) > 1 and len(g[0]) > 1:
        raise UdfArgError(f"{name} must be one row or one column, got {len(g)}x{len(g[0])}")
    cells = [c for r in g for c in r]
    while cells and is_blank(cells[-1]):
        cells.pop()
    if not cells:
        raise UdfArgError(f"{name} is required (the range is blank)")
    return np.array([number(c, f"{name} item {i + 1}", rule) for i, c in enumerate(cells)])


@xw.func
@_args(
    "premium",
    "addition",
    "share",
    "hdr",
    docs={**PLAN_DOCS, "premium": "Premium collected in the month, $ (all contracts)."},
)
@udf
def VA_ALLOCATE(premium, addition, share=None, hdr=None):
    """The plan's 80/20 split of a month's premium: call hedge, put budget, expansion, compounding."""
    from engine.plan.allocation import allocate_premium

    d = allocate_premium(
        number(premium, "premium", "nonneg"),
        number(addition, "addition", "nonneg"),
        number(share, "share", "prob", default=_CFG.allocation.call_share),
    )
    return _kv(d, hdr)


@xw.func
@_args(
    "budget",
    "strikes",
    "weights",
    "prems",
    "spot",
    "model",
    "hdr",
    "cfg",
    "bp",
    docs={
        **PLAN_DOCS,
        "bp": "Buying power (available funds) $ capping the contracts, e.g. VA_BUYING_POWER's (blank: no cap).",
    },
)
@udf
def VA_STRIKE_ALLOCATION(budget, strikes, weights, prems, spot, model=None, hdr=None, cfg=None, bp=None):
    """Whole contracts per ladder strike for a put budget under a capital model (net of premium), capped by buying power."""
    from engine.plan.allocation import allocate_strikes

    c = _config(cfg)
    k, w, p = (
        _vector(strikes, "strikes", "pos"),
        _vector(weights, "weights", "prob"),
        _vector(prems, "prems", "nonneg"),
    )
    df = allocate_strikes(
        number(budget, "budget", "nonneg"),
        k,
        w,
        p,
        number(spot, "spot", "pos"),
        model=_text_arg(model, "model", c.capital.model),
        capital=c.capital,
        margin=c.margin,
        buying_power=number(bp, "bp", "any", default=None),
    )
    return _frame_table(df[list(STRIKE_ALLOCATION_KEYS)], hdr)


#: VA_STRIKE_ALLOCATION output columns (the sizing, then the buying-power cap)
STRIKE_ALLOCATION_KEYS = (
    "strike",
    "weight",
    "capital",
    "premium",
    "capital_per_contract",
    "contracts",
    "capital_used",
    "expected_premium",
    "leftover",
    "contracts_sized",
)


def _text_arg(x: Any, name: str, default: str) -> str:
    return text(x, name, default).lower()


@xw.func
@_args("value", "ivpct", "squeeze", "cfg", docs=PLAN_DOCS)
@udf
def VA_HEDGE_RATIO(value, ivpct, squeeze, cfg=None):
    """The plan's dynamic hedge ratio: 20% base, x1.3 extreme IV, x1.5 squeeze, x1.2 size, cap 35% (cfg's hedge.*)."""
    from engine.plan.hedge import hedge_ratio

    h = _config(cfg).hedge
    return hedge_ratio(
        number(value, "value", "nonneg"),
        number(ivpct, "ivpct", "nonneg"),
        number(squeeze, "squeeze", "prob"),
        h,
    )


def _is_label(c: Any) -> bool:
    """True for a text cell that is not a number (a header), False for numbers, text numbers, blanks."""
    if not isinstance(c, str) or is_blank(c) or error_text(c):
        return False
    try:
        number(c, "cell")
    except UdfArgError:
        return True
    return False


def _whole(x: Any, name: str, rule: str = "pos", default: Any = None) -> int:
    """A whole number (months, scenarios, seed, days): 2.5 is refused, not truncated to 2."""
    v = number(x, name, rule) if default is None else number(x, name, rule, default=default)
    if not float(v).is_integer():
        raise UdfArgError(f"{name} must be a whole number, got {v:g}")
    return int(v)


def _ladder(x: Any, default: tuple) -> tuple:
    from engine.config import HedgeRung

    g = [r for r in grid(x) if not all(is_blank(c) for c in r)]
    if not g:
        return default
    if any(_is_label(c) for c in g[0]):
        g = g[1:]  # a header row (text that is not a number: ".5" or "1.5" is a rung, not a header)
    rungs = []
    for i, r in enumerate(g, start=1):
        if len(r) < 3:
            raise UdfArgError(f"ladder row {i} needs 3 cells: moneyness, share, dte")
        rungs.append(
            HedgeRung(
                number(r[0], f"ladder row {i} moneyness", "pos"),
                number(r[1], f"ladder row {i} share", "prob"),
                _whole(r[2], f"ladder row {i} dte", "pos"),
            )
        )
    return tuple(rungs)


@xw.func
@_args("budget", "spot", "vol", "ladder", "rate", "q", "val", "inc", "style", "hdr", "cfg", docs=PLAN_DOCS)
@udf
def VA_HEDGE_LADDER(
    budget, spot, vol, ladder=None, rate=None, q=None, val=None, inc=None, style=None, hdr=None, cfg=None
):
    """Long-call hedge rungs: strike = moneyness x spot, budget share, whole contracts, cost."""
    from engine.plan.hedge import hedge_ladder

    c = _config(cfg)
    m = c.market
    df = hedge_ladder(
        number(budget, "budget", "nonneg"),
        number(spot, "spot", "pos"),
        number(vol, "vol", "vol"),
        number(rate, "rate", "rate", default=m.rate),
        number(q, "q", "rate", default=m.dividend_yield),
        ladder=_ladder(ladder, c.hedge.ladder),
        valuation_date=as_date(val, "val", default=_dt.date.today()),
        strike_increment=number(inc, "inc", "nonneg", default=c.strikes.strike_increment),
        style=parse_style(style),
        multiplier=c.capital.contract_multiplier,
    )
    return _frame_table(df, hdr)


@xw.func
@_args("win", "avgwin", "avgloss", "frac", "cap", "hdr", "cfg", docs=PLAN_DOCS)
@udf
def VA_KELLY(win, avgwin, avgloss, frac=None, cap=None, hdr=None, cfg=None):
    """Kelly position limits: full and fractional Kelly, max per strike and the plan's other limits."""
    from engine.plan.kelly import kelly_limits

    kc = _config(cfg).kelly
    d = kelly_limits(
        number(win, "win", "prob"),
        number(avgwin, "avgwin", "pos"),
        number(avgloss, "avgloss", "pos"),
        number(frac, "frac", "prob", default=kc.fraction),
        number(cap, "cap", "prob", default=kc.cap),
        max_strategy_allocation=kc.max_strategy_allocation,
        max_monthly_addition=kc.max_monthly_addition,
        emergency_reserve=kc.emergency_reserve,
    )
    return _kv(d, hdr)


@xw.func
@_args(
    "strike",
    "premium",
    "shares",
    "spot",
    "vol",
    "rate",
    "q",
    "val",
    "hdr",
    "cfg",
    docs={**PLAN_DOCS, "premium": "Premium received for the put, $ per share."},
)
@udf
def VA_ASSIGNMENT(strike, premium, shares, spot, vol, rate=None, q=None, val=None, hdr=None, cfg=None):
    """What to do after assignment: cost basis, tier, covered-call strike/premium, stop level."""
    from engine.plan.assignment import assignment_plan

    c = _config(cfg)
    d = assignment_plan(
        number(strike, "strike", "pos"),
        number(premium, "premium", "nonneg"),
        number(shares, "shares", "pos"),
        number(spot, "spot", "pos"),
        number(vol, "vol", "vol"),
        number(rate, "rate", "rate", default=c.market.rate),
        number(q, "q", "rate", default=c.market.dividend_yield),
        as_date(val, "val", default=_dt.date.today()),
        config=c.assignment,
        strike_increment=c.strikes.strike_increment,
        multiplier=c.capital.contract_multiplier,
    )
    return _kv(d, hdr)


@xw.func
@_args(
    "spot",
    "strike",
    "premium",
    "model",
    "pc",
    "cfg",
    docs={**PLAN_DOCS, "premium": "Premium of the option, $ per share.", "pc": "put (blank) or call."},
)
@udf
def VA_MARGIN(spot, strike, premium, model=None, pc=None, cfg=None):
    """Capital one short option contract takes out of net liquidation, $ per contract, net of its value (reg_t, cash_secured or premium)."""
    from engine.plan.margin import capital_per_contract

    c = _config(cfg)
    shape, g = _broadcast({"spot": spot, "strike": strike, "premium": premium})
    m, k = (
        _text_arg(model, "model", c.capital.model),
        ("put" if is_blank(cell(pc, "pc")) else ("put" if kind(pc) < 0 else "call")),
    )
    res = np.empty(shape, dtype=object)
    for i, j in np.ndindex(shape):
        try:
            s, x, p = (
                number(g[n][i, j], n, r)
                for n, r in (("spot", "pos"), ("strike", "pos"), ("premium", "nonneg"))
            )
            res[i, j] = float(capital_per_contract(m, s, x, p, kind=k, capital=c.capital, margin=c.margin))
        except UdfArgError as exc:
            if res.size == 1:
                raise
            res[i, j] = f"#VALUE! {exc}"
    return res


# --------------------------------------------------------------------------- book

BOOK_DOCS: dict[str, str] = {
    **ARG_DOCS,
    "pos": "Positions range with its header row (underlying, kind, side, strike, expiry, contracts, premium, ...).",
    "trades": "Trades range with header: action, kind, strike, expiry, contracts, mid.",
    "conf": "VaR confidence (blank: cfg's risk.var_confidence, 0.95).",
    "scen": f"Monte Carlo scenarios (blank: cfg's risk.var_scenarios, {_CFG.risk.var_scenarios}).",
    "seed": "Random seed (blank: cfg's risk.seed).",
    "months": "Months to project (blank: cfg's projection.months, 6).",
    "assume": "worthless (blank) or expected.",
}

_DATE_COLUMNS = ("expiry", "open_date", "sale_date")


def _records(
    x: Any, name: str, columns: tuple[str, ...]
) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """Rows of a table range as ``(row number, record or None for a blank row, error)``.

    The first row is a header when it names a known column (by
    :func:`engine.data.positions.header_key`: "Premium ($/share)" names ``premium``); otherwise
    ``columns`` is the order.
    Blanks become None, Excel serial dates in date columns become dates, error values an error.
    """
    from engine.data.positions import header_key

    g = grid(x)
    first = [header_key(c) if isinstance(c, str) else "" for c in g[0]]
    has_header = any(c in columns or c == "symbol" for c in first)
    header = first if has_header else list(columns[: len(g[0])])
    out: list[tuple[int, dict[str, Any] | None, str | None]] = []
    for r, row in enumerate(g[1:] if has_header else g, start=2 if has_header else 1):
        if all(is_blank(c) for c in row):
            out.append((r, None, None))
            continue
        rec: dict[str, Any] = {}
        try:
            for col, v in zip(header, row):
                if not col:
                    continue
                if error_text(v):
                    raise UdfArgError(f"row {r}, column '{col}': error value {error_text(v)}")
                if is_blank(v):
                    v = None
                elif col in _DATE_COLUMNS and not isinstance(v, str):
                    v = as_date(v, f"row {r}, column '{col}'")
                elif isinstance(v, np.generic):
                    v = v.item()
                rec[col] = v
            out.append((r, rec, None))
        except UdfArgError as exc:
            out.append((r, None, str(exc)))
    return out


def _positions(x: Any):
    """Validated positions DataFrame, and for every input row its DataFrame row or message."""
    from engine.data.positions import POSITION_COLUMNS, PositionsError, positions_from_records

    rows = _records(x, "pos", POSITION_COLUMNS)
    good = [(r, rec) for r, rec, err in rows if rec is not None]
    status: dict[int, Any] = {r: err for r, rec, err in rows if rec is None}
    try:
        df = positions_from_records([rec for _, rec in good], source="pos", row_label="row")
        for i, (r, _) in enumerate(good):
            status[r] = i
        return df, rows, status
    except PositionsError:
        pass
    keep: list[dict[str, Any]] = []
    for r, rec in good:  # the slow path only when some row is bad: find which
        try:
            positions_from_records([rec], source="pos", first_row=r, row_label="row")
            status[r] = len(keep)
            keep.append(rec)
        except PositionsError as exc:
            status[r] = str(exc).removeprefix("pos, ")
    df = positions_from_records(keep, source="pos", row_label="row") if keep else None
    return df, rows, status


_CONFIGS = BoundedCache(64)


def _market(spot, vol, rate, q, val, cfg=None):
    """The ``cfg`` config with the market section taken from the arguments (cached per market).

    Blank ``rate``/``q`` take the config's; blank ``val`` is today.
    """
    base = _config(cfg)
    m = base.market
    key = (
        number(spot, "spot", "pos"),
        number(vol, "vol", "vol"),
        number(rate, "rate", "rate", default=m.rate),
        number(q, "q", "rate", default=m.dividend_yield),
        as_date(val, "val", default=_dt.date.today()),
        base,
    )
    return _CONFIGS.get_or_make(
        key,
        lambda: base.replace(
            market__spot=key[0],
            market__vol=key[1],
            market__rate=key[2],
            market__dividend_yield=key[3],
            market__valuation_date=key[4].isoformat(),
        ),
    )


def _ladder_header() -> list[str]:
    """The Positions sheet's computed-column headers from the layout map."""
    names = {key: head for head, key, _, _ in POSITION_COMPUTED_COLUMNS}
    return [names.get(k, k) for k in LADDER_KEYS]


@xw.func
@_args("pos", "spot", "vol", "rate", "q", "val", "style", "hdr", "cfg", docs=BOOK_DOCS)
@udf
def VA_LADDER(pos, spot, vol, rate=None, q=None, val=None, style=None, hdr=None, cfg=None):
    """Marks, P&L, Greeks ($/day, $/vol pt), prob ITM, obligation and margin net of value (cfg's margin rules): one row per position."""
    from engine.risk.book import mark_book

    cfg = _market(spot, vol, rate, q, val, cfg)
    df, rows, status = _positions(pos)
    marked = mark_book(df, cfg, style=parse_style(style)) if df is not None else None
    if marked is not None:
        kind = marked["kind"].to_numpy()
        marked = marked.assign(w=np.select([kind == "call", kind == "put"], [1.0, -1.0], 0.0))  # 0: stock
    # .tolist() gives Python floats: the boundary's fast path for each of the n x 16 cells
    body = marked[list(LADDER_KEYS)].to_numpy(dtype=float).tolist() if marked is not None else None
    if marked is not None and (marked["kind"] == "stock").any():  # no vol or prob ITM on shares: blank
        stock = (marked["kind"] == "stock").tolist()
        body = [[("" if st and v != v else v) for v in row] for row, st in zip(body, stock, strict=True)]
    out = [_ladder_header()] if flag(hdr, "hdr", True) else []
    for r, _, _ in rows:
        s = status[r]
        out.append(
            [""] * len(LADDER_KEYS)
            if s is None
            else error_row(s, len(LADDER_KEYS))
            if isinstance(s, str)
            else body[s]
        )
    return out


@xw.func
@_args("pos", "spot", "vol", "rate", "q", "val", "style", "hdr", "cfg", docs=BOOK_DOCS)
@udf
def VA_PORTFOLIO_GREEKS(pos, spot, vol, rate=None, q=None, val=None, style=None, hdr=None, cfg=None):
    """Book totals: delta (shares, $), gamma, theta $/day, vega $/pt, value, obligation, margin (net of value)."""
    from engine.risk.book import mark_book
    from engine.risk.checks import portfolio_greeks

    c = _market(spot, vol, rate, q, val, cfg)
    df = _book_or_error(pos)
    return _kv(portfolio_greeks(mark_book(df, c, style=parse_style(style))), hdr)


@xw.func
@_args(
    "pos",
    "spot",
    "vol",
    "value",
    "cash",
    "rate",
    "q",
    "val",
    "style",
    "hdr",
    "cfg",
    docs={
        **BOOK_DOCS,
        "value": "Net liquidation value of the account, $ (blank: cfg's account.starting_value).",
        "cash": "Cash balance, $ (blank: net liquidation value minus the positions' market value).",
    },
)
@udf
def VA_BUYING_POWER(
    pos, spot, vol, value=None, cash=None, rate=None, q=None, val=None, style=None, hdr=None, cfg=None
):
    """Account of the book (cfg's margin rules): NLV, EWL, requirement (full and net of value), excess liquidity, buying power $."""
    from engine.plan.account import account_state

    c = _market(spot, vol, rate, q, val, cfg)
    df = _book_or_error(pos)
    nlv = number(value, "value", "any", default=None)
    cash_v = number(cash, "cash", "any", default=None)
    if nlv is not None and cash_v is not None:
        raise UdfArgError("give value or cash, not both")
    acct = account_state(
        df, c, cash=cash_v, net_liquidation=nlv, marked=mark_book_cached(df, c, parse_style(style))
    )
    return _kv(acct.summary(), hdr)


def mark_book_cached(df, cfg, style):
    """:func:`engine.risk.book.mark_book` (kept as one call site for the account UDF)."""
    from engine.risk.book import mark_book

    return mark_book(df, cfg, style=style)


def _book_or_error(pos):
    df, _, status = _positions(pos)
    bad = [s for s in status.values() if isinstance(s, str)]
    if bad or df is None:
        raise UdfArgError(bad[0] if bad else "pos has no positions")
    return df


_VAR_CACHE = BoundedCache(16)


def _var(df: Any, cfg: Any, confidence: float, scenarios: int, seed: int) -> dict:
    """:func:`engine.risk.var.value_at_risk`, remembered for the same book, market and settings.

    The Monte Carlo is seeded, so the same inputs give the same figures: a recalculation that
    leaves the book and market alone (Excel's full recalc, VA_VAR and VA_RISK_CHECK on the same
    book) reuses them instead of repricing ``scenarios`` (100,000 by default) again.
    """
    from pandas.util import hash_pandas_object

    from engine.risk.var import value_at_risk

    key = (
        hash_pandas_object(df, index=False).to_numpy().tobytes(),
        tuple(df.columns),
        cfg,
        confidence,
        scenarios,
        seed,
    )
    return dict(
        _VAR_CACHE.get_or_make(
            key, lambda: value_at_risk(df, cfg, confidence=confidence, scenarios=scenarios, seed=seed)
        )
    )


@xw.func
@_args("pos", "spot", "vol", "rate", "q", "val", "conf", "scen", "seed", "hdr", "cfg", docs=BOOK_DOCS)
@udf
def VA_VAR(pos, spot, vol, rate=None, q=None, val=None, conf=None, scen=None, seed=None, hdr=None, cfg=None):
    """Monte Carlo value at risk and expected shortfall of the book ($ losses, seeded; horizon and method: cfg's)."""
    cfg = _market(spot, vol, rate, q, val, cfg)
    d = _var(
        _book_or_error(pos),
        cfg,
        number(conf, "conf", "prob", default=cfg.risk.var_confidence),
        _whole(scen, "scen", "pos", default=cfg.risk.var_scenarios),
        _whole(seed, "seed", "nonneg", default=cfg.risk.seed),
    )
    return _kv(d, hdr)


@xw.func
@_args(
    "pos",
    "spot",
    "vol",
    "value",
    "rate",
    "q",
    "val",
    "hdr",
    "cfg",
    docs={**BOOK_DOCS, "value": "Portfolio value, $ (blank: cfg's account.starting_value)."},
)
@udf
def VA_RISK_CHECK(pos, spot, vol, value=None, rate=None, q=None, val=None, hdr=None, cfg=None):
    """The plan's daily alerts (delta, VaR, concentration, assignment, ...) with value and status; limits from cfg."""
    from engine.risk.checks import daily_risk_check

    cfg = _market(spot, vol, rate, q, val, cfg)
    pv = number(value, "value", "pos", default=cfg.account.starting_value)
    df = _book_or_error(pos)
    r = cfg.risk
    var = _var(df, cfg, r.var_confidence, r.var_scenarios, r.seed)  # the config's VaR, as the check uses
    return _frame_table(daily_risk_check(df, cfg, pv, var_result=var), hdr)


@xw.func
@_args("trades", "hdr", "cfg", docs=BOOK_DOCS)
@udf
def VA_ORDERS(trades, hdr=None, cfg=None):
    """Limit-order tickets: split to max order size, limit = mid +/- improvement on the tick grid."""
    from engine.plan.orders import order_tickets

    cols = ("action", "kind", "strike", "expiry", "contracts", "mid", "underlying")
    rows = _records(trades, "trades", cols)
    errs = [e for _, _, e in rows if e]
    if errs:
        raise UdfArgError(errs[0])
    return _frame_table(order_tickets([rec for _, rec, _ in rows if rec], _config(cfg).execution), hdr)


_REBALANCE_TABLES = ("orders", "strikes", "lots", "rungs", "calls")


@xw.func
@_args(
    "pos",
    "spot",
    "vol",
    "value",
    "what",
    "rate",
    "q",
    "val",
    "hdr",
    "cfg",
    docs={
        **BOOK_DOCS,
        "value": "Net liquidation value, $ (blank: cfg's account.starting_value).",
        "what": "Table: orders (blank; tickets, held ones with the reason), strikes, lots, rungs or calls.",
    },
)
@udf
def VA_REBALANCE(pos, spot, vol, value=None, what=None, rate=None, q=None, val=None, hdr=None, cfg=None):
    """Rebalance toward the plan: order tickets (placed or held, with reasons), or the strike/lot/rung/call table."""
    import dataclasses

    import pandas as pd

    from engine.plan.rebalance import rebalance

    c = _market(spot, vol, rate, q, val, cfg)
    pv = number(value, "value", "pos", default=c.account.starting_value)
    table = text(what, "what", "orders").lower()
    if table not in _REBALANCE_TABLES:
        raise UdfArgError(f"what must be one of {', '.join(_REBALANCE_TABLES)}, got {table!r}")
    rb = rebalance(_book_or_error(pos), c, net_liquidation=pv)
    if table == "orders":
        cols = (
            "sequence",
            "status",
            "action",
            "kind",
            "strike",
            "expiry",
            "contracts",
            "mid",
            "limit",
            "worst",
            "purpose",
            "reason",
        )
        df = (
            rb.tickets
            if len(rb.tickets)
            else pd.DataFrame([["no orders"] + [""] * (len(cols) - 1)], columns=list(cols))
        )
        return _frame_table(df, hdr, cols)
    items = getattr(rb, table)
    if not items:
        return ([["item"]] if flag(hdr, "hdr", True) else []) + [[f"no {table}"]]
    return _frame_table(pd.DataFrame([dataclasses.asdict(x) for x in items]), hdr)


@xw.func
@_args(
    "spot",
    "vol",
    "value",
    "addition",
    "months",
    "assume",
    "val",
    "hdr",
    "cfg",
    docs={
        **BOOK_DOCS,
        "value": "Starting portfolio value, $ (blank: cfg's, 3792).",
        "addition": "Monthly capital addition, $ (blank: cfg's, 4000).",
    },
)
@udf
def VA_PROJECTION(
    spot, vol, value=None, addition=None, months=None, assume=None, val=None, hdr=None, cfg=None
):
    """Month-by-month projection of the plan: capital, premium, hedges, contracts, margin, value."""
    from engine.plan.projection import project_plan

    base = _market(spot, vol, None, None, val, cfg)
    cfg = base.replace(
        account__starting_value=number(value, "value", "nonneg", default=base.account.starting_value),
        account__monthly_addition=number(
            addition, "addition", "nonneg", default=base.account.monthly_addition
        ),
    )
    n = _whole(months, "months", "pos", default=base.projection.months)
    return _frame_table(project_plan(cfg, n, text(assume, "assume", "worthless").lower()), hdr)


__all__ = sorted(n for n in dir() if n.startswith("VA_"))
