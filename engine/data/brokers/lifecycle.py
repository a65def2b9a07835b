"""From broker fills to the account as it stands: lots, assignments, rolls, the journal.

:func:`build_import` takes what the layouts read (:class:`~engine.data.brokers.ParsedFile`) and

1. drops fills already seen (same broker id or fingerprint: a file imported twice, or two
   overlapping files, never books a trade twice);
2. merges partial fills (same account, day, order, contract, side; without an order number the
   same price too) into one journal line;
3. matches opens to closes FIFO per account and OCC contract; an expiration closes at 0;
4. books an assignment (short option) or exercise (long option) as the option closing at 0 and
   the share delivery at the strike: a short put assigned opens a share lot whose broker cost is
   the strike and whose **plan basis** is strike - premium per share (the premium of the whole
   roll chain), a short call assigned (called away) or a long put exercised closes shares FIFO;
5. groups rolls (a close and an open of the same kind on the same underlying, account and day)
   into chains with cumulative premium and the break-even after the rolls;
6. keeps commissions and fees per fill (journal) and totals them per position (lot notes);
7. keeps accounts apart and flags underlyings other than the plan's;
8. reconciles: rows read / used / skipped with reasons, duplicates dropped, quantities that do
   not net to a known position, and the result against the export's own positions section.

Money units: premiums and prices $ per share; ``pnl``, ``commission``, ``fees``, ``amount`` and
``capital_at_risk`` $ per journal line (capital at risk of a short option: strike x multiplier x
contracts, the cash-secured obligation; of a long option: the premium paid; of shares: their
broker cost).  ``pnl`` is realized on the broker's basis (an assigned option closes at 0, the
share lot carries the stock's cost); the plan's basis is given beside it in the notes.

References
----------
OCC, "Symbology Initiative" (2010) for contract identity; IRS Publication 550 (FIFO lot
identification when none is specified; an assigned put's premium reduces the basis of the
shares bought, the plan's "strike - premium").
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
from collections import deque
from dataclasses import dataclass, field, replace

from engine.data.brokers import EquityPoint, Fill, ParsedFile, Side, SnapshotRow
from engine.data.journal import JOURNAL_COLUMNS as _JOURNAL_COLUMNS
from engine.data.positions import POSITION_COLUMNS

__all__ = [
    "JOURNAL_COLUMNS",
    "POSITION_IMPORT_COLUMNS",
    "Chain",
    "PositionLine",
    "JournalLine",
    "FileReport",
    "SnapshotCheck",
    "Reconciliation",
    "ImportResult",
    "build_import",
]

#: journal.csv: the review's columns first, then the import's (:data:`engine.data.journal.JOURNAL_COLUMNS`).
JOURNAL_COLUMNS = _JOURNAL_COLUMNS
#: positions.csv: :data:`engine.data.positions.POSITION_COLUMNS` (``shares`` last, for share lots).
POSITION_IMPORT_COLUMNS = POSITION_COLUMNS
_EPS = 1e-9


@dataclass
class Chain:
    """A position and its rolls: premium and costs summed over every leg.

    ``premium`` is the net premium received over all legs, $ (sells +, buys -, gross of costs);
    ``costs`` the commissions and fees of all legs, $; ``contracts`` the open contracts of the
    last leg.  ``break_even`` is $ per share: strike - premium per share for a put,
    strike + premium per share for a call (premium per share = premium / (contracts x 100) of
    the last leg); ``break_even_after_costs`` uses premium - costs.
    """

    chain_id: str
    account: str
    underlying: str
    kind: str
    opened: _dt.date
    legs: list[str] = field(default_factory=list)
    rolls: int = 0
    premium: float = 0.0
    costs: float = 0.0
    strike: float = 0.0
    expiry: _dt.date | None = None
    contracts: float = 0.0
    multiplier: float = 100.0
    status: str = "open"
    closed: _dt.date | None = None

    def per_share(self, amount: float) -> float:
        n = self.contracts * self.multiplier
        return amount / n if n > 0 else math.nan

    @property
    def break_even(self) -> float:
        s = -1.0 if self.kind == "put" else 1.0
        return self.strike + s * self.per_share(self.premium)

    @property
    def break_even_after_costs(self) -> float:
        s = -1.0 if self.kind == "put" else 1.0
        return self.strike + s * self.per_share(self.premium - self.costs)


@dataclass
class _Lot:
    qty: float
    sign: int  # +1 long, -1 short
    price: float  # $ per share at open (broker cost)
    opened: _dt.date
    cost_per_unit: float  # open commission + fees, $ per contract or share
    chain: str | None = None
    plan_basis: float = math.nan  # shares: $ per share on the plan's basis
    strike: float | None = None  # shares: strike of the option that delivered them
    expiry: _dt.date | None = None
    origin: str = ""


@dataclass(frozen=True)
class PositionLine:
    """One open lot, as a positions.csv row (option: contracts; share lot: shares)."""

    account: str
    underlying: str
    kind: str  # put | call | stock
    side: str  # short | long
    strike: float
    expiry: _dt.date
    contracts: float | None
    shares: float | None
    premium: float  # $ per share: option premium at open, or the shares' broker cost
    open_date: _dt.date | None
    costs: float  # $ commissions + fees of the open, for this lot
    plan_basis: float = math.nan
    chain_id: str = ""
    note: str = ""


@dataclass(frozen=True)
class JournalLine:
    """One journal.csv row (see :data:`JOURNAL_COLUMNS`)."""

    date: _dt.date
    action: str  # sell | buy | expire | assign | exercise
    kind: str  # put | call | stock
    strike: float | None
    expiry: _dt.date | None
    contracts: float | None
    price: float
    underlying: str
    shares: float | None = None
    effect: str = ""  # open | close
    commission: float = 0.0
    fees: float = 0.0
    amount: float = math.nan
    pnl: float = math.nan
    capital_at_risk: float = math.nan
    account: str = ""
    chain_id: str = ""
    trade_id: str = ""
    note: str = ""


@dataclass(frozen=True)
class FileReport:
    """Reconciliation of one file: rows read, used, skipped by reason, fills and duplicates."""

    path: str
    layout: str
    rows_read: int
    rows_used: int
    skipped: dict[str, int]
    fills: int
    duplicates: int


@dataclass(frozen=True)
class SnapshotCheck:
    """The imported quantity of one contract against the export's own positions section
    (signed: + long, - short; contracts or shares)."""

    account: str
    contract: str
    imported: float
    export: float
    imported_cost: float = math.nan  # $ per share, quantity-weighted over the open lots
    export_cost: float = math.nan  # $ per share, the export's average open price

    @property
    def ok(self) -> bool:
        """Quantities agree (and the costs per share within $0.005 where both are known)."""
        same_cost = (
            not (math.isfinite(self.imported_cost) and math.isfinite(self.export_cost))
            or abs(self.imported_cost - self.export_cost) <= 0.005
        )
        return abs(self.imported - self.export) < 1e-6 and same_cost


@dataclass
class Reconciliation:
    """What the import read, used, skipped and could not match."""

    files: list[FileReport] = field(default_factory=list)
    duplicates: int = 0
    unmatched: list[str] = field(default_factory=list)
    snapshot: list[SnapshotCheck] = field(default_factory=list)
    other_underlyings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    as_of: _dt.date | None = None

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_used(self) -> int:
        return sum(f.rows_used for f in self.files)

    def lines(self) -> list[str]:
        """The summary as text lines (the CLI prints these)."""
        out = []
        for f in self.files:
            sk = ", ".join(f"{n} {r}" for r, n in sorted(f.skipped.items())) or "none"
            out.append(
                f"{f.path} ({f.layout}): {f.rows_read} rows read, {f.rows_used} used, "
                f"{f.rows_read - f.rows_used} skipped ({sk}); {f.fills} fills, {f.duplicates} already imported"
            )
        if self.as_of:
            out.append(f"as of {self.as_of.isoformat()} (last date in the files)")
        for u in self.unmatched:
            out.append(f"does not net: {u}")
        bad = [c for c in self.snapshot if not c.ok]
        if self.snapshot:
            out.append(
                f"against the export's positions: {len(self.snapshot) - len(bad)} of {len(self.snapshot)} "
                "contracts agree"
            )
        for c in bad:
            acct = f"account {c.account}, " if c.account else ""
            cost = (
                f" (cost {c.imported_cost:.4f} vs {c.export_cost:.4f} $/share)"
                if math.isfinite(c.imported_cost) and math.isfinite(c.export_cost)
                else ""
            )
            out.append(
                f"  differs: {acct}{c.contract.strip()}: imported {c.imported:+g}, export {c.export:+g}{cost}"
            )
        for o in self.other_underlyings:
            out.append(f"other underlying (kept, flagged): {o}")
        out.extend(self.notes)
        return out


@dataclass
class ImportResult:
    """Positions, journal, equity, chains and the reconciliation of one import."""

    positions: list[PositionLine]
    journal: list[JournalLine]
    equity: list[EquityPoint]
    chains: list[Chain]
    reconciliation: Reconciliation
    underlying: str

    def positions_csv(self) -> str:
        """positions.csv text (:data:`POSITION_IMPORT_COLUMNS`).

        The ``shares`` column is written only when there is a share lot, so a file of options
        alone keeps exactly the columns :func:`engine.data.positions.read_positions` has always read.
        """
        with_shares = any(p.kind == "stock" for p in self.positions)
        cols = POSITION_IMPORT_COLUMNS if with_shares else POSITION_IMPORT_COLUMNS[:-1]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for p in self.positions:
            stock = p.kind == "stock"  # a share lot leaves strike and expiry blank (the note names its put)
            w.writerow(
                [
                    p.underlying,
                    p.kind,
                    p.side,
                    "" if stock else _px(p.strike),
                    "" if stock else p.expiry.isoformat(),
                    _qty(p.contracts),
                    _px(p.premium),
                    p.open_date.isoformat() if p.open_date else "",
                    "",
                    p.note,
                    _qty(p.shares),
                ][: len(cols)]
            )
        return buf.getvalue()

    def journal_csv(self) -> str:
        """journal.csv text (:data:`JOURNAL_COLUMNS`), readable by :func:`engine.data.journal.read_journal`."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(JOURNAL_COLUMNS)
        for j in self.journal:
            w.writerow(
                [
                    j.date.isoformat(),
                    j.action,
                    j.kind,
                    _px(j.strike),
                    j.expiry.isoformat() if j.expiry else "",
                    _qty(j.contracts),
                    _px(j.price),
                    "",
                    j.underlying,
                    _qty(j.shares),
                    j.effect,
                    _money(j.commission),
                    _money(j.fees),
                    _money(j.amount),
                    _money(j.pnl),
                    _money(j.capital_at_risk),
                    j.account,
                    j.chain_id,
                    j.trade_id,
                    j.note,
                ]
            )
        return buf.getvalue()

    def equity_csv(self) -> str:
        """equity.csv text: ``date, equity, contribution, cash`` (equity = net liquidation, $)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(("date", "equity", "contribution", "cash"))
        for e in self.equity:
            w.writerow([e.date.isoformat(), _money(e.equity), _money(e.contribution), _money(e.cash)])
        return buf.getvalue()


def _px(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    t = f"{x:.4f}".rstrip("0")
    return t + "0" * max(0, 2 - len(t.split(".")[1]))


def _money(x: float | None) -> str:
    if x is None or math.isnan(x):
        return ""
    v = round(x, 2)
    return f"{0.0 if v == 0 else v:.2f}"


def _qty(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# --------------------------------------------------------------------------- merging
@dataclass
class _Ev:
    fill: Fill
    ids: list[str]
    seq: int
    delivery_of: _Ev | None = None


def _merge_key(f: Fill) -> tuple | None:
    if f.event != "trade":
        return None
    base = (f.account, f.date, f.contract, f.side, f.effect)
    return (*base, "order", f.order_id) if f.order_id else (*base, "price", round(f.price, 6))


def _merge(fills: list[Fill]) -> list[_Ev]:
    out: list[_Ev] = []
    index: dict[tuple, _Ev] = {}
    for seq, f in enumerate(fills):
        key = _merge_key(f)
        if key is not None and key in index:
            ev = index[key]
            g = ev.fill
            q = g.quantity + f.quantity
            amount = g.amount + f.amount if not (math.isnan(g.amount) or math.isnan(f.amount)) else math.nan
            ev.fill = replace(
                g,
                quantity=q,
                price=(g.price * g.quantity + f.price * f.quantity) / q,
                commission=g.commission + f.commission,
                fees=g.fees + f.fees,
                amount=amount,
            )
            ev.ids.append(f.fill_id)
            continue
        ev = _Ev(f, [f.fill_id], seq)
        out.append(ev)
        if key is not None:
            index[key] = ev
    return out


def _pair_deliveries(events: list[_Ev], rec: Reconciliation) -> list[_Ev]:
    """Attach each assignment/exercise to its share delivery (a stock fill of the same account
    and underlying, at the strike, for contracts x multiplier shares, within 4 days after) and
    order the delivery right after it; a missing delivery is booked at the strike and said so."""
    stock = [e for e in events if e.fill.instrument == "stock"]
    used: set[int] = set()
    deliveries: dict[int, _Ev] = {}
    for e in events:
        f = e.fill
        if f.instrument != "option" or f.event not in ("assign", "exercise"):
            continue
        put = f.kind == "put"
        side: Side = ("buy" if put else "sell") if f.event == "assign" else ("sell" if put else "buy")
        shares = f.quantity * f.multiplier
        cands = []
        for s in stock:
            g = s.fill
            if id(s) in used or g.account != f.account or g.underlying != f.underlying or g.side != side:
                continue
            if abs(g.quantity - shares) > 1e-6 or abs(g.price - (f.strike or 0.0)) > 0.005:
                continue
            if not (0 <= (g.date - f.date).days <= 4):
                continue
            # rows the broker marks as a delivery first, then plain trades; the nearest date first
            cands.append((g.event == "trade", (g.date - f.date).days, s.seq, s))
        match = min(cands, key=lambda c: c[:3])[3] if cands else None
        if match is None:
            synth = Fill(
                source=f.source,
                broker=f.broker,
                layout=f.layout,
                account=f.account,
                when=f.when,
                underlying=f.underlying,
                instrument="stock",
                kind=None,
                strike=None,
                expiry=None,
                event=f.event,
                side=side,
                effect=None,
                quantity=shares,
                price=float(f.strike or 0.0),
                commission=0.0,
                fees=0.0,
                amount=math.nan,
                multiplier=1.0,
                fill_id=f.fill_id + "-delivery",
                currency=f.currency,
            )
            match = _Ev(synth, [], e.seq)
            rec.notes.append(
                f"{f.source}: no share delivery row for the {f.event} of {f.contract.strip()}; "
                f"booked {shares:g} shares at the strike {f.strike:g}"
            )
        else:
            used.add(id(match))
            match.fill = replace(match.fill, event=f.event)
        match.delivery_of = e
        deliveries[id(e)] = match
    out: list[_Ev] = []
    for e in events:
        if id(e) in used:
            continue
        if e.fill.instrument == "stock" and e.fill.event in ("assign", "exercise"):
            rec.notes.append(
                f"{e.fill.source}: share delivery by {e.fill.event} without its option row in the "
                "files; booked as a trade"
            )
        out.append(e)
        if id(e) in deliveries:
            out.append(deliveries[id(e)])
    return out


# --------------------------------------------------------------------------- the book
class _Book:
    def __init__(self, plan_underlying: str, rec: Reconciliation):
        self.plan = plan_underlying
        self.rec = rec
        self.lots: dict[tuple[str, str], deque[_Lot]] = {}
        self.meta: dict[tuple[str, str], Fill] = {}
        self.chains: dict[str, Chain] = {}
        self.remap: dict[str, str] = {}
        self.closed_today: dict[tuple, str] = {}
        self.opened_today: dict[tuple, list[str]] = {}
        self.journal: list[JournalLine] = []

    # chains ---------------------------------------------------------------------------
    def _chain_id(self, f: Fill) -> str:
        base = f"{f.underlying}-{f.date:%Y%m%d}-{(f.kind or 'x')[0].upper()}{f.strike:g}"
        if f.account:
            base = f"{f.account}:{base}"
        cid, n = base, 1
        while cid in self.chains:
            n += 1
            cid = f"{base}-{n}"
        return cid

    def _resolve(self, cid: str | None) -> str | None:
        while cid in self.remap:
            cid = self.remap[cid]
        return cid

    def _roll_key(self, f: Fill) -> tuple:
        return (f.account, f.underlying, f.date, f.kind)

    def _open_chain(self, f: Fill, qty: float) -> str:
        key = self._roll_key(f)
        cid = self._resolve(self.closed_today.get(key)) if f.event == "trade" else None
        if cid is not None and cid in self.chains:
            ch = self.chains[cid]
            ch.rolls += 1
            ch.status = "open"
            ch.closed = None
        else:
            cid = self._chain_id(f)
            ch = Chain(cid, f.account, f.underlying, f.kind or "", f.date, multiplier=f.multiplier)
            self.chains[cid] = ch
            self.opened_today.setdefault(key, []).append(cid)
        ch.legs.append(f.contract.strip())
        ch.strike, ch.expiry = float(f.strike or 0.0), f.expiry
        return cid

    def _roll_into(self, f: Fill, closing: str) -> None:
        """A close after an open the same day: the fresh chains opened today join ``closing``."""
        key = self._roll_key(f)
        for opened in self.opened_today.get(key, []):
            fresh = self._resolve(opened)
            if fresh is None or fresh == closing or fresh not in self.chains:
                continue
            ch, into = self.chains.pop(fresh), self.chains[closing]
            if ch.legs and ch.legs[0] in into.legs:
                self.chains[fresh] = ch
                continue
            into.premium += ch.premium
            into.costs += ch.costs
            into.legs.extend(ch.legs)
            into.rolls += 1
            into.strike, into.expiry, into.contracts = ch.strike, ch.expiry, ch.contracts
            into.status, into.closed = "open", None
            self.remap[fresh] = closing
            for lots in self.lots.values():
                for lot in lots:
                    if lot.chain == fresh:
                        lot.chain = closing
        self.opened_today[key] = []

    # options ----------------------------------------------------------------------------
    def option(self, ev: _Ev) -> None:
        f = ev.fill
        key = (f.account, f.contract)
        self.meta.setdefault(key, f)
        lots = self.lots.setdefault(key, deque())
        mult = f.multiplier
        costs = f.commission + f.fees
        if f.event == "trade":
            d = 1 if f.side == "buy" else -1
            closing = lots and lots[0].sign == -d
        else:
            want = {"assign": -1, "exercise": 1}.get(f.event)
            d = 0
            closing = bool(lots) and (want is None or lots[0].sign == want)
            if not closing:
                what = {"expire": "expiration", "assign": "assignment", "exercise": "exercise"}[f.event]
                self.rec.unmatched.append(
                    f"{f.source}: {what} of {f.quantity:g} {f.contract.strip()} "
                    f"{'(account ' + f.account + ') ' if f.account else ''}without an open position"
                )
        remaining = f.quantity
        price = 0.0 if f.event != "trade" else f.price
        pnl = car = 0.0
        closed_qty = 0.0
        chain = None
        if closing:
            while remaining > _EPS and lots:
                lot = lots[0]
                q = min(remaining, lot.qty)
                if lot.sign < 0:
                    pnl += (lot.price - price) * mult * q
                    car += float(f.strike or 0.0) * mult * q
                else:
                    pnl += (price - lot.price) * mult * q
                    car += lot.price * mult * q + lot.cost_per_unit * q
                pnl -= lot.cost_per_unit * q
                chain = self._resolve(lot.chain)
                lot.qty -= q
                remaining -= q
                closed_qty += q
                if lot.qty <= _EPS:
                    lots.popleft()
        if closed_qty == 0 and (f.event != "trade" or f.effect == "close"):
            # a close the files hold no open for (a history that starts after the open): journaled,
            # no P&L, and no lot opened in the other direction
            if f.event == "trade":
                self.rec.unmatched.append(
                    f"{f.source}: close of {f.quantity:g} {f.contract.strip()} "
                    f"{'(account ' + f.account + ') ' if f.account else ''}without an open position"
                )
            self._journal(
                f,
                f.event if f.event != "trade" else (f.side or ""),
                f.quantity,
                price,
                "close",
                f.commission,
                f.fees,
                math.nan,
                math.nan,
                "",
                ev,
            )
            return
        if f.event != "trade" and remaining > _EPS and closing:
            self.rec.unmatched.append(
                f"{f.source}: {f.event} of {f.quantity:g} {f.contract.strip()} but only {closed_qty:g} open"
            )
        share_close = closed_qty / f.quantity if f.quantity else 0.0
        action = f.event if f.event != "trade" else (f.side or "")
        if closed_qty > 0:
            ch = self.chains.get(chain) if chain else None
            close_costs = costs * share_close
            pnl -= close_costs
            if ch is not None:
                ch.costs += close_costs
                if f.event == "trade":
                    ch.premium += (f.price * mult * closed_qty) * (1 if f.side == "sell" else -1)
                left = sum(lot.qty for lot in lots if self._resolve(lot.chain) == chain)
                ch.contracts = left if left > _EPS else ch.contracts
                if left <= _EPS:
                    ch.status = {
                        "trade": "closed",
                        "expire": "expired",
                        "assign": "assigned",
                        "exercise": "exercised",
                    }[f.event]
                    ch.closed = f.date
                if f.event == "trade" and chain is not None:
                    self.closed_today[self._roll_key(f)] = chain
                    self._roll_into(f, chain)
            self._journal(
                f,
                action,
                closed_qty,
                price,
                "close",
                f.commission * share_close,
                f.fees * share_close,
                pnl,
                car,
                chain or "",
                ev,
            )
        if f.event == "trade" and remaining > _EPS:
            cid = self._open_chain(f, remaining)
            ch = self.chains[cid]
            open_costs = costs * (1 - share_close)
            ch.premium += f.price * mult * remaining * (1 if f.side == "sell" else -1)
            ch.costs += open_costs
            ch.contracts = sum(lot.qty for lot in lots if self._resolve(lot.chain) == cid) + remaining
            lots.append(_Lot(remaining, d, f.price, f.date, open_costs / remaining, cid))
            self._journal(
                f,
                action,
                remaining,
                f.price,
                "open",
                f.commission * (1 - share_close),
                f.fees * (1 - share_close),
                math.nan,
                math.nan,
                cid,
                ev,
            )

    def _journal(
        self,
        f: Fill,
        action: str,
        qty: float,
        price: float,
        effect: str,
        comm: float,
        fees: float,
        pnl: float,
        car: float,
        chain: str,
        ev: _Ev,
    ) -> None:
        note = [] if f.underlying == self.plan else [f"other underlying (plan: {self.plan})"]
        amount = f.amount * (qty / f.quantity) if f.quantity else math.nan
        self.journal.append(
            JournalLine(
                date=f.date,
                action=action,
                kind=f.kind or "stock",
                strike=f.strike,
                expiry=f.expiry,
                contracts=qty,
                price=price,
                underlying=f.underlying,
                effect=effect,
                commission=comm,
                fees=fees,
                amount=amount,
                pnl=pnl,
                capital_at_risk=car,
                account=f.account,
                chain_id=chain,
                trade_id="+".join(ev.ids),
                note="; ".join(note),
            )
        )

    # shares -----------------------------------------------------------------------------
    def stock(self, ev: _Ev) -> None:
        f = ev.fill
        key = (f.account, f.underlying)
        lots = self.lots.setdefault(key, deque())
        d = 1 if f.side == "buy" else -1
        costs = f.commission + f.fees
        opt = ev.delivery_of.fill if ev.delivery_of is not None else None
        origin = ""
        if opt is not None and opt.expiry is not None:
            what = {"assign": "assigned", "exercise": "exercised"}[opt.event]
            origin = f"{opt.kind} {opt.strike:g} {opt.expiry.isoformat()} {what}"
        remaining, closed, pnl, plan_pnl, car = f.quantity, 0.0, 0.0, 0.0, 0.0
        while remaining > _EPS and lots and lots[0].sign == -d:
            lot = lots[0]
            q = min(remaining, lot.qty)
            pnl += (f.price - lot.price) * q * lot.sign - lot.cost_per_unit * q
            basis = lot.plan_basis if math.isfinite(lot.plan_basis) else lot.price
            plan_pnl += (f.price - basis) * q * lot.sign
            car += lot.price * q
            lot.qty -= q
            remaining -= q
            closed += q
            if lot.qty <= _EPS:
                lots.popleft()
        if closed == 0 and f.effect == "close" and opt is None:
            self.rec.unmatched.append(
                f"{f.source}: close of {f.quantity:g} {f.underlying} shares "
                f"{'(account ' + f.account + ') ' if f.account else ''}without an open lot"
            )
            self.journal.append(
                JournalLine(
                    date=f.date,
                    action=f.side or "",
                    kind="stock",
                    strike=None,
                    expiry=None,
                    contracts=None,
                    price=f.price,
                    underlying=f.underlying,
                    shares=f.quantity,
                    effect="close",
                    commission=f.commission,
                    fees=f.fees,
                    amount=f.amount,
                    account=f.account,
                    trade_id="+".join(ev.ids) or f.fill_id,
                )
            )
            return
        share_close = closed / f.quantity
        note = [] if f.underlying == self.plan else [f"other underlying (plan: {self.plan})"]
        if origin and opt is not None:
            note.append(
                ("called away: " if opt.kind == "call" and opt.event == "assign" else "delivery: ") + origin
            )
        amount_each = f.amount / f.quantity if f.quantity else math.nan
        if closed > 0:
            pnl -= costs * share_close
            note.append(f"plan-basis P&L {plan_pnl - costs * share_close:.2f}")
            self.journal.append(
                JournalLine(
                    date=f.date,
                    action=f.side or "",
                    kind="stock",
                    strike=opt.strike if opt else None,
                    expiry=opt.expiry if opt else None,
                    contracts=None,
                    price=f.price,
                    underlying=f.underlying,
                    shares=closed,
                    effect="close",
                    commission=f.commission * share_close,
                    fees=f.fees * share_close,
                    amount=amount_each * closed,
                    pnl=pnl,
                    capital_at_risk=car,
                    account=f.account,
                    chain_id=self._resolve(self._chain_of(ev)) or "",
                    trade_id="+".join(ev.ids) or f.fill_id,
                    note="; ".join(note),
                )
            )
        if remaining > _EPS:
            basis = math.nan
            chain = self._chain_of(ev)
            if opt is not None:
                ch = self.chains.get(self._resolve(chain) or "")
                prem = ch.per_share(ch.premium) if ch is not None else math.nan
                sgn = 1.0 if f.side == "buy" else -1.0
                basis = f.price - sgn * prem if math.isfinite(prem) else math.nan
            lots.append(
                _Lot(
                    remaining,
                    d,
                    f.price,
                    f.date,
                    costs * (1 - share_close) / remaining,
                    self._resolve(chain),
                    plan_basis=basis,
                    strike=opt.strike if opt else None,
                    expiry=opt.expiry if opt else None,
                    origin=origin,
                )
            )
            if math.isfinite(basis):
                note.append(f"plan basis {basis:.4f}/share")
            self.journal.append(
                JournalLine(
                    date=f.date,
                    action=f.side or "",
                    kind="stock",
                    strike=opt.strike if opt else None,
                    expiry=opt.expiry if opt else None,
                    contracts=None,
                    price=f.price,
                    underlying=f.underlying,
                    shares=remaining,
                    effect="open",
                    commission=f.commission * (1 - share_close),
                    fees=f.fees * (1 - share_close),
                    amount=amount_each * remaining,
                    account=f.account,
                    chain_id=self._resolve(chain) or "",
                    trade_id="+".join(ev.ids) or f.fill_id,
                    note="; ".join(note),
                )
            )

    def _chain_of(self, ev: _Ev) -> str | None:
        if ev.delivery_of is None:
            return None
        for j in reversed(self.journal):
            if j.trade_id == "+".join(ev.delivery_of.ids):
                return j.chain_id or None
        return None

    # results ----------------------------------------------------------------------------
    def positions(self) -> list[PositionLine]:
        out = []
        for (acct, contract), lots in self.lots.items():
            for lot in lots:
                if lot.qty <= _EPS:
                    continue
                if (acct, contract) in self.meta:
                    f = self.meta[(acct, contract)]
                    ch = self.chains.get(self._resolve(lot.chain) or "")
                    note = [f"account {acct}"] if acct else []
                    if f.underlying != self.plan:
                        note.append(f"other underlying (plan: {self.plan})")
                    note.append(f"open costs {lot.cost_per_unit * lot.qty:.2f}")
                    if ch is not None and ch.rolls:
                        note.append(
                            f"chain {ch.chain_id}: {ch.rolls} roll{'s' if ch.rolls > 1 else ''}, premium "
                            f"{ch.premium:.2f}, break-even {ch.break_even:.4f}/share "
                            f"({ch.break_even_after_costs:.4f} after costs)"
                        )
                    out.append(
                        PositionLine(
                            acct,
                            f.underlying,
                            f.kind or "",
                            "long" if lot.sign > 0 else "short",
                            float(f.strike or 0.0),
                            f.expiry or lot.opened,
                            lot.qty,
                            None,
                            lot.price,
                            lot.opened,
                            lot.cost_per_unit * lot.qty,
                            chain_id=ch.chain_id if ch else "",
                            note="; ".join(note),
                        )
                    )
                else:
                    note = [f"account {acct}"] if acct else []
                    if contract != self.plan:
                        note.append(f"other underlying (plan: {self.plan})")
                    if lot.origin:
                        note.append(lot.origin)
                    note.append(f"broker cost {lot.price:.4f}/share")
                    if math.isfinite(lot.plan_basis):
                        note.append(f"plan basis {lot.plan_basis:.4f}/share (strike - premium)")
                    out.append(
                        PositionLine(
                            acct,
                            contract,
                            "stock",
                            "long" if lot.sign > 0 else "short",
                            float(lot.strike if lot.strike is not None else lot.price),
                            lot.expiry or lot.opened,
                            None,
                            lot.qty,
                            lot.price,
                            lot.opened,
                            lot.cost_per_unit * lot.qty,
                            plan_basis=lot.plan_basis,
                            chain_id=lot.chain or "",
                            note="; ".join(note),
                        )
                    )
        out.sort(
            key=lambda p: (
                p.account,
                p.underlying != self.plan,
                p.underlying,
                p.kind == "stock",
                p.kind,
                p.expiry,
                p.strike,
            )
        )
        return out

    def open_quantities(self) -> dict[tuple[str, str], tuple[float, float]]:
        """(signed open quantity, quantity-weighted open price $/share) per (account, contract)."""
        q: dict[tuple[str, str], tuple[float, float]] = {}
        for key, lots in self.lots.items():
            n = sum(lot.sign * lot.qty for lot in lots)
            if abs(n) > _EPS:
                q[key] = (n, sum(lot.qty * lot.price for lot in lots) / sum(lot.qty for lot in lots))
        return q


# --------------------------------------------------------------------------- entry point
def _snapshot_key(s: SnapshotRow) -> tuple[str, str]:
    if s.instrument == "stock":
        return (s.account, s.underlying)
    from engine.data.positions import occ_symbol

    if s.expiry is None or s.kind is None or s.strike is None:
        raise ValueError(f"{s.source}: an option position needs its kind, strike and expiry")
    return (s.account, occ_symbol(s.underlying[:6], s.expiry, s.kind, round(float(s.strike), 3)))


def _from_snapshot(rows: list[SnapshotRow], plan: str, as_of: _dt.date | None) -> list[PositionLine]:
    out = []
    for s in rows:
        note = [f"account {s.account}"] if s.account else []
        if s.underlying != plan:
            note.append(f"other underlying (plan: {plan})")
        note.append("from the export's positions section")
        cost = s.cost_per_share if math.isfinite(s.cost_per_share) else 0.0
        if not math.isfinite(s.cost_per_share):
            note.append("premium not in the export")
        side = "long" if s.quantity > 0 else "short"
        if s.instrument == "stock":
            out.append(
                PositionLine(
                    s.account,
                    s.underlying,
                    "stock",
                    side,
                    cost if cost > 0 else math.nan,
                    as_of or _dt.date.today(),
                    None,
                    abs(s.quantity),
                    cost,
                    None,
                    0.0,
                    note="; ".join(note),
                )
            )
        else:
            out.append(
                PositionLine(
                    s.account,
                    s.underlying,
                    s.kind or "",
                    side,
                    float(s.strike or 0.0),
                    s.expiry or as_of or _dt.date.today(),
                    abs(s.quantity),
                    None,
                    cost,
                    None,
                    0.0,
                    note="; ".join(note),
                )
            )
    return out


def build_import(parsed: list[ParsedFile], underlying: str = "ASST") -> ImportResult:
    r"""The account and its journal from parsed broker files.

    Parameters
    ----------
    parsed : list of ParsedFile
        From :func:`engine.data.brokers.read_broker_file`, any mix of brokers and layouts.
    underlying : str
        The plan's underlying; positions and journal lines on other tickers are kept and
        flagged.

    Returns
    -------
    ImportResult
        Open lots (options and shares) as of the last date in the files, the journal of every
        event, the equity points, the roll chains and the :class:`Reconciliation`.

    Examples
    --------
    >>> from engine.data.brokers import read_text
    >>> text = ('Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,Quantity,Average Price,'
    ...         'Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,Expiration Date,Strike Price,'
    ...         'Call or Put,Order #,Total,Currency\n'
    ...         '2025-08-04T09:31:05-0400,Trade,Sell to Open,SELL_TO_OPEN,ASST  250815P00002500,Equity Option,'
    ...         'Sold 3 ASST 08/15/25 Put 2.50 @ 0.40,120.00,3,40.00,-3.00,-0.42,100,ASST,ASST,8/15/25,2.5,PUT,'
    ...         '1001,116.58,USD\n')
    >>> res = build_import([read_text(text, "tt.csv")])
    >>> p = res.positions[0]
    >>> p.kind, p.side, p.contracts, p.premium, round(p.costs, 2)
    ('put', 'short', 3.0, 0.4, 3.42)
    """
    plan = underlying.strip().upper()
    rec = Reconciliation()
    seen: set[str] = set()
    fills: list[Fill] = []
    for pf in parsed:
        dup = 0
        # newest-first files (tastytrade, Schwab, Fidelity, ...): oldest first, so that rows of the
        # same time stamp keep their true order through the stable sort below
        newest_first = (
            len(pf.fills) > 1
            and pf.fills[0].when > pf.fills[-1].when
            and all(a.when >= b.when for a, b in zip(pf.fills, pf.fills[1:]))
        )
        ordered = pf.fills[::-1] if newest_first else pf.fills
        for f in ordered:
            if f.fill_id in seen:
                dup += 1
                continue
            seen.add(f.fill_id)
            fills.append(f)
        reasons: dict[str, int] = {}
        for s in pf.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        rec.files.append(
            FileReport(pf.path, pf.layout.name, pf.rows_read, pf.rows_used, reasons, len(pf.fills), dup)
        )
        rec.duplicates += dup
    order = {id(f): i for i, f in enumerate(fills)}
    fills.sort(key=lambda f: (f.account, f.when, 0 if f.event == "trade" else 1, order[id(f)]))
    events = _pair_deliveries(_merge(fills), rec)
    book = _Book(plan, rec)
    for ev in events:
        (book.option if ev.fill.instrument == "option" else book.stock)(ev)
    dates = [f.date for f in fills] + [pf.as_of for pf in parsed if pf.as_of]
    rec.as_of = max(dates) if dates else None
    snapshot = [s for pf in parsed for s in pf.snapshot]
    if fills:
        positions = book.positions()
        if snapshot:
            have = book.open_quantities()
            exp: dict[tuple[str, str], list[float]] = {}
            no_accounts = {f.account for f in fills} == {""}  # e.g. tastytrade history has no account column
            for row in snapshot:
                k = _snapshot_key(row)
                if no_accounts:
                    k = ("", k[1])
                acc = exp.setdefault(k, [0.0, 0.0, 0.0])  # quantity, sum |q| x cost, sum |q| with a cost
                acc[0] += row.quantity
                if math.isfinite(row.cost_per_share):
                    acc[1] += abs(row.quantity) * row.cost_per_share
                    acc[2] += abs(row.quantity)
            accounts = {a for a, _ in exp}
            for k in sorted(set(have) | set(exp)):
                if k[0] in accounts or not accounts - {""}:
                    hq, hc = have.get(k, (0.0, math.nan))
                    eq_, ec, en = exp.get(k, [0.0, 0.0, 0.0])
                    rec.snapshot.append(SnapshotCheck(k[0], k[1], hq, eq_, hc, ec / en if en else math.nan))
    else:
        positions = _from_snapshot(snapshot, plan, rec.as_of)
    for p in positions:
        if rec.as_of and p.kind != "stock" and p.expiry < rec.as_of:
            rec.unmatched.append(
                f"{p.underlying} {p.kind} {p.strike:g} {p.expiry.isoformat()}: still open after its "
                "expiry (no expiration, assignment or exercise row in the files)"
            )
    others = sorted(
        {p.underlying for p in positions if p.underlying != plan}
        | {j.underlying for j in book.journal if j.underlying != plan}
    )
    rec.other_underlyings = others
    journal = [
        replace(j, chain_id=book._resolve(j.chain_id) or "") if j.chain_id else j for j in book.journal
    ]
    eq: dict[_dt.date, list[EquityPoint]] = {}
    for pf in parsed:
        for point in pf.equity:
            eq.setdefault(point.date, [])
            if not any(x.account == point.account for x in eq[point.date]):
                eq[point.date].append(point)
    equity = [
        EquityPoint(
            d, sum(x.equity for x in xs), sum(x.contribution for x in xs), sum(x.cash for x in xs), ""
        )
        for d, xs in sorted(eq.items())
    ]
    chains = sorted(book.chains.values(), key=lambda c: (c.account, c.opened, c.chain_id))
    return ImportResult(positions, journal, equity, chains, rec, plan)
