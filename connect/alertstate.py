"""Alert de-duplication: each alert goes out once per day per position (a small JSON state file).

The state file (``alerts.state_file``) records, per valuation date, the ``"ALERT|position"``
pairs already delivered::

    {"version": 1, "sent": {"2025-10-17": ["VAR_LIMIT_BREACH|portfolio",
                                          "SHORT_ITM|ASST 2025-12-19 P5 short"]}}

Portfolio-level alerts (the plan's seven) use the position ``"portfolio"``.  Days more than
:data:`KEEP_DAYS` before the newest are pruned.  The file is replaced atomically; a corrupt
file is an error naming it (never silently reset, which would send everything again).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from engine._validate import VolarbInputError

__all__ = ["AlertItem", "alert_items", "load_state", "unsent", "mark_sent", "save_state", "KEEP_DAYS"]

KEEP_DAYS = 14


@dataclasses.dataclass(frozen=True)
class AlertItem:
    """One deliverable alert: its name, the position it concerns and the detail line."""

    alert: str
    key: str
    detail: str

    @property
    def ident(self) -> str:
        return f"{self.alert}|{self.key}"


def alert_items(report: dict) -> list[AlertItem]:
    """The firing alerts of a risk report (``alerts`` with status ALERT, then ``events``).

    >>> alert_items({"alerts": [{"alert": "VAR_LIMIT_BREACH", "status": "ALERT", "detail": "d"},
    ...                         {"alert": "HIGH_DELTA_EXPOSURE", "status": "OK", "detail": "d"}],
    ...              "events": [{"alert": "SHORT_ITM", "key": "ASST 2025-12-19 P5 short", "detail": "itm"}]})
    [AlertItem(alert='VAR_LIMIT_BREACH', key='portfolio', detail='d'), AlertItem(alert='SHORT_ITM', key='ASST 2025-12-19 P5 short', detail='itm')]
    """
    items = [
        AlertItem(a["alert"], "portfolio", a.get("detail", ""))
        for a in report.get("alerts", [])
        if a.get("status") == "ALERT"
    ]
    items += [AlertItem(e["alert"], e["key"], e.get("detail", "")) for e in report.get("events", [])]
    return items


def load_state(path: str | Path) -> dict:
    """The state file's content (an empty state when the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return {"version": 1, "sent": {}}
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(d, dict) or not isinstance(d.get("sent"), dict):
            raise ValueError("no 'sent' table")
    except (ValueError, UnicodeDecodeError) as exc:
        raise VolarbInputError(
            f"{p}: alert state file is not valid ({exc}); fix or delete it (deleting re-sends today's alerts)"
        ) from None
    return d


def unsent(state: dict, day: _dt.date, items: Iterable[AlertItem]) -> list[AlertItem]:
    """The items not yet delivered on ``day`` (order kept, duplicates dropped)."""
    done = set(state["sent"].get(day.isoformat(), []))
    out, seen = [], set()
    for i in items:
        if i.ident not in done and i.ident not in seen:
            out.append(i)
            seen.add(i.ident)
    return out


def mark_sent(state: dict, day: _dt.date, items: Sequence[AlertItem]) -> dict:
    """A new state with ``items`` recorded on ``day`` and old days pruned."""
    sent = {k: list(v) for k, v in state["sent"].items()}
    sent.setdefault(day.isoformat(), [])
    sent[day.isoformat()] = sorted(set(sent[day.isoformat()]) | {i.ident for i in items})
    newest = max(_dt.date.fromisoformat(k) for k in sent)
    sent = {k: v for k, v in sent.items() if (newest - _dt.date.fromisoformat(k)).days <= KEEP_DAYS}
    return {"version": 1, "sent": dict(sorted(sent.items()))}


def save_state(path: str | Path, state: dict) -> None:
    """Write the state atomically (temporary file, then replace)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
