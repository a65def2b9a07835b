"""Broker exports: the small interface every broker module implements, the registry, detection.

A broker module (one file per broker: :mod:`.tastytrade`, :mod:`.ibkr`, :mod:`.schwab`,
:mod:`.fidelity`, :mod:`.robinhood`, :mod:`.etrade`) defines one :class:`Layout` per export
layout generation and lists them in a module-level ``LAYOUTS`` tuple.  A layout says how to
recognise its file from the header line (:attr:`Layout.detect`) and how to turn the file into
normalized :class:`Fill` events, an optional positions snapshot and an optional equity history
(:attr:`Layout.parse`).  Adding a broker is one module here, its name in :data:`BROKER_MODULES`
and its fixture.

What a parser returns is raw material: :mod:`engine.data.brokers.lifecycle` matches opens to
closes (FIFO by OCC contract), merges partial fills, books assignments and exercises into share
lots, groups rolls into chains and writes the volarb tables.

Units.  ``price`` is $ per share (per unit of the underlying: an option's premium as quoted);
``quantity`` is contracts for options and shares for stock, always > 0 (the direction is in
``side``); ``commission`` and ``fees`` are $ per fill, >= 0 (what the trader paid);
``amount`` is the fill's net cash, $, + received / - paid, as the broker states it (NaN when the
layout has no amount).

Errors.  A file that matches no layout raises :class:`BrokerImportError` quoting the header line
it saw and listing the layouts known; a row that cannot be read names the file, the line, the
column and the rule (``schwab.csv, line 7, column 'Price': expected a dollar amount ...``);
``broker=`` given and the file belongs to another broker says so.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from engine._validate import VolarbInputError

__all__ = [
    "BrokerImportError",
    "Fill",
    "stock_fill",
    "option_fill",
    "SnapshotRow",
    "EquityPoint",
    "Skipped",
    "ParsedFile",
    "Layout",
    "BROKERS",
    "BROKER_MODULES",
    "layouts",
    "detect_layout",
    "read_broker_file",
    "read_text",
    "fingerprint",
    "is_broker_file",
    "kind_of",
    "side_of",
    "effect_of",
    "Kind",
    "Side",
    "Effect",
    "Event",
]

Instrument = Literal["option", "stock"]
Event = Literal["trade", "expire", "assign", "exercise"]
Kind = Literal["put", "call"]
Side = Literal["buy", "sell"]
Effect = Literal["open", "close"]
_KIND_WORDS: dict[str, Kind] = {"put": "put", "p": "put", "call": "call", "c": "call"}
_SIDE_WORDS: dict[str, Side] = {"buy": "buy", "sell": "sell", "bot": "buy", "sold": "sell"}
_EFFECT_WORDS: dict[str, Effect] = {"open": "open", "close": "close"}


def kind_of(text: str) -> Kind | None:
    """``"PUT"``/``"P"``/``"Call"`` -> ``"put"``/``"call"``; None for anything else."""
    return _KIND_WORDS.get(str(text).strip().lower())


def side_of(text: str | None) -> Side | None:
    """``"BUY"``/``"Sell"``/``"BOT"``/``"SOLD"`` -> ``"buy"``/``"sell"``; None for anything else."""
    return _SIDE_WORDS.get(str(text or "").strip().lower())


def effect_of(text: str | None) -> Effect | None:
    """``"Open"``/``"CLOSE"`` -> ``"open"``/``"close"``; None for anything else."""
    return _EFFECT_WORDS.get(str(text or "").strip().lower())


#: ``--broker`` names and the module that holds their layouts (``tos`` is thinkorswim, a Schwab
#: platform whose statement lives in :mod:`.schwab`).
BROKER_MODULES: dict[str, str] = {
    "tastytrade": "tastytrade",
    "ibkr": "ibkr",
    "schwab": "schwab",
    "tos": "schwab",
    "fidelity": "fidelity",
    "robinhood": "robinhood",
    "etrade": "etrade",
}
BROKERS: tuple[str, ...] = tuple(BROKER_MODULES)
_DETECT_LINES = 30  # a header sits within the first lines, after any preamble


class BrokerImportError(VolarbInputError):
    """A broker export that cannot be imported; the message names the file, line and column."""


@dataclass(frozen=True)
class Fill:
    """One normalized event of a broker export (a fill, an expiration, an assignment, ...).

    Attributes
    ----------
    source : str
        ``"file, line N"`` of the row (for messages and the reconciliation).
    broker, layout : str
        The :class:`Layout` that read it.
    account : str
        Account number as the file gives it (``""`` when the layout has none).
    when : datetime.datetime
        Trade time as written in the file (naive, the file's own clock); midnight when the
        layout gives only a date.
    underlying : str
        Ticker of the underlying (upper case).
    instrument : {"option", "stock"}
    kind : {"put", "call"} or None
        None for stock.
    strike : float or None
        $ per share; None for stock.
    expiry : datetime.date or None
        None for stock.
    event : {"trade", "expire", "assign", "exercise"}
        ``expire``/``assign``/``exercise`` on an option row: the option leaves the account;
        on a stock row: the share delivery that an assignment or exercise caused.
    side : {"buy", "sell"} or None
        None when the layout leaves the direction of a removal (expiration) unstated.
    effect : {"open", "close"} or None
        The broker's open/close flag when it has one (checked against the running position).
    quantity : float
        Contracts (options) or shares (stock), > 0.
    price : float
        $ per share.
    commission, fees : float
        $ for this fill, >= 0.
    amount : float
        Net cash of the fill, $ (+ received), NaN when the layout has none.
    multiplier : float
        Shares per contract (100 unless the file says otherwise).
    order_id : str
        The broker's order number ("" when none); partial fills of one order share it.
    fill_id : str
        The broker's own id of this fill, else a stable :func:`fingerprint`; two imports of the
        same row give the same id, so the lifecycle never books it twice.
    currency : str
    """

    source: str
    broker: str
    layout: str
    account: str
    when: _dt.datetime
    underlying: str
    instrument: Instrument
    kind: Kind | None
    strike: float | None
    expiry: _dt.date | None
    event: Event
    side: Side | None
    effect: Effect | None
    quantity: float
    price: float
    commission: float
    fees: float
    amount: float
    multiplier: float = 100.0
    order_id: str = ""
    fill_id: str = ""
    currency: str = "USD"

    @property
    def date(self) -> _dt.date:
        """Trade date (the file's own calendar)."""
        return self.when.date()

    @property
    def contract(self) -> str:
        """OCC symbol of an option (root padded to 6), the ticker of a stock."""
        if self.instrument == "stock":
            return self.underlying
        from engine.data.positions import occ_symbol

        if self.expiry is None or self.kind is None or self.strike is None:
            raise BrokerImportError(f"{self.source}: an option row needs its kind, strike and expiry")
        return occ_symbol(self.underlying[:6], self.expiry, self.kind, round(self.strike, 3))


@dataclass(frozen=True)
class SnapshotRow:
    """One line of an export's own positions section (a positions file or statement section).

    ``quantity`` is signed (+ long, - short): contracts for options, shares for stock;
    ``cost_per_share`` is the broker's average open price, $ per share (NaN if not given).
    """

    source: str
    account: str
    underlying: str
    instrument: Instrument
    kind: Kind | None
    strike: float | None
    expiry: _dt.date | None
    quantity: float
    cost_per_share: float = float("nan")


@dataclass(frozen=True)
class EquityPoint:
    """Account value on a date, as the export states it.

    ``equity`` is net liquidation value, $; ``contribution`` the deposits net of withdrawals
    booked that day, $; ``cash`` the cash balance, $ (NaN if the export has none).
    """

    date: _dt.date
    equity: float
    contribution: float = 0.0
    cash: float = float("nan")
    account: str = ""


@dataclass(frozen=True)
class Skipped:
    """A row read but not used, with the reason (dividend, transfer, other instrument, ...)."""

    source: str
    reason: str


@dataclass
class ParsedFile:
    """What one layout read from one file (before the lifecycle)."""

    path: str
    layout: Layout
    rows_read: int = 0
    fills: list[Fill] = field(default_factory=list)
    snapshot: list[SnapshotRow] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    as_of: _dt.date | None = None

    @property
    def rows_used(self) -> int:
        """Rows that gave a fill or a positions line."""
        return self.rows_read - len(self.skipped)


@dataclass(frozen=True)
class Layout:
    """One export layout of one broker.

    Attributes
    ----------
    name : str
        e.g. ``"tastytrade-21"``.
    broker : str
        A key of :data:`BROKER_MODULES`.
    title : str
        What the file is, in words (listed when a header is not recognised).
    header : tuple of str
        The header line it is recognised by (documentation and the unknown-layout message).
    detect : callable
        ``detect(lines) -> int | None``: index of the header line, or None when not this layout.
    parse : callable
        ``parse(lines, header_index, source) -> ParsedFile`` fields (filled into ``out``):
        ``parse(lines, header_index, out)``.
    reference : str
        Where the layout is documented (see docs/import.md).
    """

    name: str
    broker: str
    title: str
    header: tuple[str, ...]
    detect: Callable[[list[str]], int | None]
    parse: Callable[[list[str], int, ParsedFile], None]
    reference: str = ""


def stock_fill(
    out: ParsedFile,
    source: str,
    account: str,
    when: _dt.datetime,
    ticker: str,
    event: Event,
    side: Side | None,
    effect: Effect | None,
    shares: float,
    price: float,
    commission: float,
    fees: float,
    amount: float,
    *,
    order_id: str = "",
    fill_id: str = "",
) -> Fill:
    """A share row read by ``out``'s layout as a :class:`Fill` (no kind, strike or expiry).

    The broker and layout names come from ``out.layout``; ``shares`` > 0, ``price`` $ per share,
    ``commission``, ``fees`` and ``amount`` $ for the fill (as :class:`Fill`); multiplier 1.
    """
    return Fill(
        source,
        out.layout.broker,
        out.layout.name,
        account,
        when,
        ticker,
        "stock",
        None,
        None,
        None,
        event,
        side,
        effect,
        shares,
        price,
        commission,
        fees,
        amount,
        1.0,
        order_id,
        fill_id,
    )


def option_fill(
    out: ParsedFile,
    source: str,
    account: str,
    when: _dt.datetime,
    underlying: str,
    kind: Kind | None,
    strike: float,
    expiry: _dt.date,
    event: Event,
    side: Side | None,
    effect: Effect | None,
    contracts: float,
    price: float,
    commission: float,
    fees: float,
    amount: float,
    *,
    multiplier: float = 100.0,
    order_id: str = "",
    fill_id: str = "",
) -> Fill:
    """An option row read by ``out``'s layout as a :class:`Fill`.

    The broker and layout names come from ``out.layout``; ``strike`` and ``price`` $ per share,
    ``contracts`` > 0, ``commission``, ``fees`` and ``amount`` $ for the fill (as :class:`Fill`).
    """
    return Fill(
        source,
        out.layout.broker,
        out.layout.name,
        account,
        when,
        underlying,
        "option",
        kind,
        strike,
        expiry,
        event,
        side,
        effect,
        contracts,
        price,
        commission,
        fees,
        amount,
        multiplier,
        order_id,
        fill_id,
    )


def layouts(broker: str | None = None) -> list[Layout]:
    """Every known layout (or one broker's), in detection order.

    Examples
    --------
    >>> sorted({lay.broker for lay in layouts()})
    ['etrade', 'fidelity', 'ibkr', 'robinhood', 'schwab', 'tastytrade', 'tos']
    """
    out: list[Layout] = []
    for mod in dict.fromkeys(BROKER_MODULES.values()):
        out.extend(importlib.import_module(f"engine.data.brokers.{mod}").LAYOUTS)
    if broker is not None:
        out = [lay for lay in out if lay.broker == broker]
    return out


def _known() -> str:
    return "; ".join(f"{lay.name} ({lay.title})" for lay in layouts())


def _first_line(lines: Sequence[str]) -> str:
    for ln in lines[:_DETECT_LINES]:
        if ln.strip().strip(",").strip():
            return ln.strip()
    return ""


def detect_layout(lines: list[str], source: str, broker: str = "auto") -> tuple[Layout, int]:
    """The layout of a file from its header line, and the index of that line.

    Raises
    ------
    BrokerImportError
        No layout matches (the message quotes the first line seen and lists the layouts known);
        ``broker`` given and the file is another broker's (the message says whose).

    Examples
    --------
    >>> lay, i = detect_layout(['"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"'], "x.csv")
    >>> lay.name, i
    ('schwab-transactions', 0)
    """
    if broker != "auto" and broker not in BROKER_MODULES:
        raise BrokerImportError(
            f"--broker {broker!r} is not known; choose auto or one of {', '.join(BROKERS)}"
        )
    found: list[tuple[Layout, int]] = []
    for lay in layouts():
        idx = lay.detect(lines)
        if idx is not None:
            found.append((lay, idx))
            break
    if not found:
        head = _first_line(lines)
        raise BrokerImportError(
            f"{source}: not a broker export volarb knows; header line seen: {head[:300]!r}. "
            f"Known layouts: {_known()}"
        )
    lay, idx = found[0]
    if broker != "auto" and lay.broker != broker:
        raise BrokerImportError(
            f"{source}: --broker {broker} given, but the file is a {lay.broker} export "
            f"(layout {lay.name}: {lay.title}); use --broker {lay.broker} or auto"
        )
    return lay, idx


def _decode(raw: bytes, source: str) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise BrokerImportError(f"{source}: not text (neither UTF-8 nor Windows-1252)")  # pragma: no cover


def read_text(text: str, source: str, broker: str = "auto") -> ParsedFile:
    """Parse the text of one export (see :func:`read_broker_file`)."""
    lines = text.splitlines()
    lay, idx = detect_layout(lines, source, broker)
    out = ParsedFile(path=source, layout=lay)
    lay.parse(lines, idx, out)
    _assign_ids(out)
    return out


def read_broker_file(path: str | Path, broker: str = "auto") -> ParsedFile:
    """Read one broker export: detect its layout and parse it.

    Parameters
    ----------
    path : str or Path
        CSV (any of the layouts in :func:`layouts`) or IBKR Flex Query XML.
    broker : str
        ``"auto"`` (detect) or a key of :data:`BROKER_MODULES` (then a file of another broker
        is refused by name).

    Returns
    -------
    ParsedFile
        Fills (with stable ids), the positions snapshot and equity points the file carries,
        the rows read and the rows skipped with their reasons.

    Raises
    ------
    BrokerImportError
        Unreadable file, unknown layout, wrong broker, a row that breaks a rule.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BrokerImportError(f"{path}: cannot read the broker file ({exc.strerror})") from None
    return read_text(_decode(raw, path.name), path.name, broker)


def is_broker_file(path: str | Path) -> bool:
    """True when ``path`` is a broker export of a known layout (False for volarb's own CSVs)."""
    try:
        text = _decode(Path(path).read_bytes()[:20000], Path(path).name)
        detect_layout(text.splitlines(), Path(path).name)
    except (OSError, BrokerImportError):
        return False
    return True


# --------------------------------------------------------------------------- fill identity
def fingerprint(parts: Sequence[object]) -> str:
    """A stable 16-hex id of a fill from the fields that identify it.

    >>> a = fingerprint(["tastytrade", "", "2025-08-04T09:31:05", "ASST  250815P00002500", "sell", 3, 0.4])
    >>> a == fingerprint(("tastytrade", "", "2025-08-04T09:31:05", "ASST  250815P00002500", "sell", 3, 0.4)), len(a)
    (True, 19)
    >>> a == fingerprint(["tastytrade", "", "2025-08-04T09:31:05", "ASST  250815P00002500", "sell", 3, 0.5])
    False
    """
    text = "|".join(f"{p:.6f}" if isinstance(p, float) else str(p) for p in parts)
    return "fp-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _assign_ids(out: ParsedFile) -> None:
    """Give every fill without a broker id a fingerprint; identical rows are told apart by their
    occurrence number in the file, so a re-import (or an overlapping file) gives the same ids."""
    seen: dict[str, int] = {}
    fills = []
    for f in out.fills:
        if f.fill_id:
            fills.append(f)
            continue
        base = [
            f.broker,
            f.account,
            f.when.isoformat(),
            f.contract,
            f.event,
            f.side or "",
            f.order_id,
            round(f.quantity, 6),
            round(f.price, 6),
        ]
        key = fingerprint(base)
        n = seen.get(key, 0)
        seen[key] = n + 1
        fid = key if n == 0 else f"{key}#{n}"
        fills.append(_replace(f, fill_id=fid))
    out.fills = fills


def _replace(f: Fill, fill_id: str) -> Fill:
    from dataclasses import replace

    return replace(f, fill_id=fill_id)
