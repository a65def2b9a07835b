"""Assignment handling: the plan's cost-basis tiers, and the lifecycle of assigned shares.

* :func:`assignment_plan` - ``PersonalAssignmentManager.handle_assignment``: effective cost basis
  ``strike - premium`` per share; below $2.00 hold and sell covered calls at basis +20% / 30
  days; below $2.50 sell covered calls at once at basis +15% / 45 days; otherwise evaluate an
  exit with a stop at basis -15% and calls at basis +10%.  The covered-call premium is priced by
  the core (American call at the given vol) instead of the plan's flat $0.15 per share.
* :class:`ShareLot` - an assigned put becomes shares whose cost basis is reduced by that put's
  premium and by every covered-call premium sold on them later.

Choices stated here (the plan is silent or truncated):

* Call strikes are rounded **up** to the listed increment, so the upside is never below the
  plan's target (the exact target is reported as ``call_strike_target``).  Rounding to the
  nearest would sometimes cap the gain below the plan's +20% / +15% / +10%.
* The plan's ``total_yield_potential`` line is cut off after
  ``(premium_collected + 0.15 + (effective_cost_basis * 1.20 - effective_cost_bas``; we complete
  it as ``(premium + call_premium + (call_strike - basis)) / basis``.  This counts the put
  premium twice (it already lowered the basis); ``yield_on_basis`` = ``(call_premium +
  call_strike - basis) / basis`` is the undoubled figure.
* ``fair_basis`` ($3.00) is only a label in the plan: every basis >= ``good_basis`` goes to
  the exit tier, as in its code.

References
----------
Hull, J. C. (2018), *Options, Futures, and Other Derivatives*, 10th ed., sec. 12.1 (covered
calls); IRS Publication 550 (2023), "Puts and calls": a written put's premium reduces the basis
of the stock bought on assignment.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

from engine._validate import VolarbInputError
from engine.config import AssignmentConfig
from engine.pricing.american import american_price
from engine.units import days_to_years

__all__ = ["assignment_plan", "ShareLot", "CoveredCall", "round_up_strike"]


def round_up_strike(strike: float, increment: float) -> float:
    """Smallest listed strike >= ``strike`` (``increment`` 0 = exact).

    >>> round_up_strike(1.722, 0.5), round_up_strike(2.0, 0.5)
    (2.0, 2.0)
    """
    if increment <= 0:
        return float(strike)
    n = math.ceil(round(strike / increment, 9))
    return n * increment


def _num(value, name: str, lo: float, lo_open: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise VolarbInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < lo or (lo_open and x == lo):
        raise VolarbInputError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {value!r}")
    return x


def assignment_plan(
    strike,
    premium,
    shares,
    spot,
    vol,
    rate=0.0,
    q=0.0,
    valuation_date=None,
    config: AssignmentConfig = AssignmentConfig(),
    *,
    strike_increment: float = 0.5,
    multiplier: int = 100,
) -> dict:
    """What to do with shares put to us: the plan's tiers by effective cost basis.

    Parameters
    ----------
    strike : float
        Strike of the assigned put, $ per share.
    premium : float
        Premium received for that put, $ per share (>= 0, < strike).
    shares : int
        Shares assigned (contracts * multiplier).
    spot : float
        Current stock price, $ per share (prices the covered call).
    vol : float
        Implied vol for the covered call, annualized decimal.
    rate, q : float
        Continuous rate and dividend yield.
    valuation_date : datetime.date, optional
        When given, ``call_expiry`` = valuation_date + call_dte.
    config : AssignmentConfig
        Thresholds and per-tier call upside / days.
    strike_increment : float
        Listed strike spacing; the call strike is rounded up to it (0 = the plan's exact strike).

    Returns
    -------
    dict
        ``cost_basis`` (strike - premium), ``tier`` ("excellent"/"good"/"exit"), ``action``
        (the plan's code), ``call_strike_target`` (basis * (1 + upside)), ``call_strike``
        (rounded up), ``call_dte``, ``call_expiry``, ``call_premium`` ($/share, American),
        ``call_contracts`` (shares // multiplier), ``expected_additional_premium`` ($ = call_premium *
        multiplier * call_contracts), ``stop_level`` (exit tier: basis * 0.85, else NaN),
        ``total_yield_potential`` (the plan's truncated formula, completed; see module notes),
        ``yield_on_basis``, ``note`` (the plan's position_management / risk_assessment text).

    Raises
    ------
    VolarbInputError
        Strike/spot <= 0, premium < 0 or >= strike, negative shares or vol.

    Examples
    --------
    A $2.50 put sold for $1.065: basis 1.435 < 2.00, so hold and sell calls at 1.435 * 1.20 =
    1.722, listed at $2.00.

    >>> out = assignment_plan(2.50, 1.065, 100, 3.15, 4.25, 0.04)
    >>> out["tier"], round(out["cost_basis"], 3), round(out["call_strike_target"], 3), out["call_strike"]
    ('excellent', 1.435, 1.722, 2.0)
    """
    k = _num(strike, "strike", 0.0, lo_open=True)
    p = _num(premium, "premium", 0.0)
    if p >= k:
        raise VolarbInputError(f"premium must be below the strike ({k:g}), got {premium!r}")
    n = int(_num(shares, "shares", 0.0))
    s = _num(spot, "spot", 0.0, lo_open=True)
    v = _num(vol, "vol", 0.0)
    basis = k - p
    if basis < config.excellent_basis:
        tier, action, up, dte = (
            "excellent",
            "HOLD_AND_COVERED_CALLS",
            config.excellent_call_upside,
            config.excellent_call_dte,
        )
        note, stop = "HOLD", math.nan
    elif basis < config.good_basis:
        tier, action, up, dte = (
            "good",
            "IMMEDIATE_COVERED_CALLS",
            config.good_call_upside,
            config.good_call_dte,
        )
        note, stop = "SYSTEMATIC_INCOME_GENERATION", math.nan
    else:
        tier, action, up, dte = (
            "exit",
            "EVALUATE_EXIT_OR_AGGRESSIVE_CALLS",
            config.exit_call_upside,
            config.exit_call_dte,
        )
        note, stop = "MONITOR_CLOSELY", basis * (1.0 - config.exit_stop)
    target = basis * (1.0 + up)
    call_k = round_up_strike(target, strike_increment)
    call_p = float(american_price(s, call_k, days_to_years(dte), float(rate), v, "call", float(q)))
    contracts = n // int(multiplier)
    upside = call_k - basis
    return {
        "cost_basis": basis,
        "tier": tier,
        "action": action,
        "call_strike_target": target,
        "call_strike": call_k,
        "call_dte": dte,
        "call_expiry": valuation_date + _dt.timedelta(days=dte) if valuation_date else None,
        "call_premium": call_p,
        "call_contracts": contracts,
        "expected_additional_premium": call_p * float(multiplier) * contracts,
        "stop_level": stop,
        "total_yield_potential": (p + call_p + upside) / basis,
        "yield_on_basis": (call_p + upside) / basis,
        "note": note,
    }


@dataclass
class CoveredCall:
    """A covered call written on a :class:`ShareLot` (premium $ per share; status open/expired/bought_back/assigned)."""

    strike: float
    premium: float
    contracts: int
    expiry: _dt.date | None = None
    status: str = "open"


@dataclass
class ShareLot:
    """Shares received on a put assignment, with premium-adjusted cost basis and realized P&L.

    Accounting (one convention, stated):

    * ``cost_basis`` ($/share) starts at ``strike - put_premium`` and is lowered by every
      covered-call premium when the call is sold (premium $ / shares held), raised by the price
      paid to buy a call back.  This is the basis the plan's tiers use.
    * ``realized`` ($) books the put premium at assignment (it is kept for good), a call's
      premium when the call closes (expires, is bought back net of the cost, or is assigned),
      and stock sales against the **strike** (the gross purchase price).  So premiums are
      counted once: at the end, realized = proceeds - strike * shares + all net premiums
      = proceeds - (final basis) * shares sold when nothing was sold early.

    Examples
    --------
    >>> lot = ShareLot.from_assignment(2.50, 1.065, contracts=1)
    >>> lot.shares, round(lot.cost_basis, 3), round(lot.realized, 2)
    (100, 1.435, 106.5)
    >>> i = lot.sell_call(2.00, 0.30, 1)
    >>> round(lot.cost_basis, 3)
    1.135
    >>> lot.assign_call(i)
    >>> lot.shares, round(lot.realized, 2)
    (0, 86.5)
    """

    strike: float
    put_premium: float
    shares: int
    opened: _dt.date | None = None
    cost_basis: float = math.nan
    realized: float = 0.0
    calls: list[CoveredCall] = field(default_factory=list)
    multiplier: int = 100  #: shares per contract (``capital.contract_multiplier``)

    @classmethod
    def from_assignment(
        cls,
        strike: float,
        premium: float,
        contracts: int,
        multiplier: int = 100,
        opened: _dt.date | None = None,
    ) -> ShareLot:
        """Shares from an assigned short put: contracts * multiplier shares at the strike."""
        k = _num(strike, "strike", 0.0, lo_open=True)
        p = _num(premium, "premium", 0.0)
        c = int(_num(contracts, "contracts", 1.0))
        n = c * int(multiplier)
        return cls(
            strike=k,
            put_premium=p,
            shares=n,
            opened=opened,
            cost_basis=k - p,
            realized=p * n,
            multiplier=int(multiplier),
        )

    def _uncovered(self) -> int:
        return self.shares - self.multiplier * sum(c.contracts for c in self.calls if c.status == "open")

    def sell_call(self, strike: float, premium: float, contracts: int, expiry: _dt.date | None = None) -> int:
        """Write covered calls; lowers the basis by the premium.  Returns the call's index."""
        k = _num(strike, "strike", 0.0, lo_open=True)
        p = _num(premium, "premium", 0.0)
        c = int(_num(contracts, "contracts", 1.0))
        if self.multiplier * c > self._uncovered():
            raise VolarbInputError(
                f"contracts: {c} calls need {self.multiplier * c} shares but only {self._uncovered()} are uncovered"
            )
        self.cost_basis -= p * self.multiplier * c / self.shares
        self.calls.append(CoveredCall(k, p, c, expiry))
        return len(self.calls) - 1

    def _open_call(self, index: int) -> CoveredCall:
        if not 0 <= index < len(self.calls) or self.calls[index].status != "open":
            raise VolarbInputError(f"call index {index} is not an open covered call of this lot")
        return self.calls[index]

    def expire_call(self, index: int) -> None:
        """The call expired worthless: its premium is realized."""
        call = self._open_call(index)
        call.status = "expired"
        self.realized += call.premium * self.multiplier * call.contracts

    def buy_back_call(self, index: int, price: float) -> None:
        """Close the call at ``price`` $/share: net premium realized, basis raised by the price."""
        call = self._open_call(index)
        px = _num(price, "price", 0.0)
        call.status = "bought_back"
        self.realized += (call.premium - px) * self.multiplier * call.contracts
        self.cost_basis += px * self.multiplier * call.contracts / self.shares

    def assign_call(self, index: int) -> None:
        """The call is exercised: shares called away at its strike; premium and stock P&L realized."""
        call = self._open_call(index)
        call.status = "assigned"
        n = self.multiplier * call.contracts
        self.realized += call.premium * n + (call.strike - self.strike) * n
        self.shares -= n

    def sell_shares(self, price: float, shares: int | None = None) -> None:
        """Sell uncovered shares at ``price``: realized against the strike."""
        px = _num(price, "price", 0.0)
        n = self._uncovered() if shares is None else int(_num(shares, "shares", 1.0))
        if n > self._uncovered():
            raise VolarbInputError(f"shares: cannot sell {n}, only {self._uncovered()} are uncovered")
        self.realized += (px - self.strike) * n
        self.shares -= n

    def unrealized(self, spot: float) -> float:
        """Mark of the shares against the strike, $ (open call premiums not included)."""
        return (_num(spot, "spot", 0.0) - self.strike) * self.shares
