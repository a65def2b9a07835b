"""Trader views (issue 12 item 8): extra report sheets written after the core sheets.

The report calls :func:`write_views` once (``workbook.report.write_report`` and
``refresh_workbook``).  Each view is a sheet writer ``def write_<sheet>(wb, data: ReportData,
layout) -> None`` listed in :data:`VIEW_WRITERS` with its sheet name in :data:`VIEW_SHEETS`; the
report then gives each view sheet the stale banner, greys its model cells, protects it and
rebuilds it on refresh like every computed sheet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["VIEW_SHEETS", "VIEW_WRITERS", "write_views"]

#: Sheet names of the views, in workbook order (after the core computed sheets).
VIEW_SHEETS: tuple[str, ...] = ()
#: One writer per view sheet, same order as :data:`VIEW_SHEETS`.
VIEW_WRITERS: tuple[Callable[[Any, Any, Any], None], ...] = ()


def write_views(wb: Any, data: Any, layout: Any) -> None:
    """Write every view sheet (each writer creates its own sheet named as in :data:`VIEW_SHEETS`)."""
    for writer in VIEW_WRITERS:
        writer(wb, data, layout)
