"""A speed fix for xlwings' custom-function dispatcher outside Pyodide (xlwings Server, tests).

xlwings 0.37.x, ``xlwings/utils.py``::

    def is_jsnull(value):
        try:
            from pyodide.ffi import JsNull
        except ImportError:
            return False
        return isinstance(value, JsNull)

``xlwings/pro/_xlofficejs.py`` calls it as ``utils.is_jsnull`` (looked up at call time) on
every cell of every argument that ``custom_functions_call`` converts.  Outside Pyodide the
``from pyodide.ffi import JsNull`` fails on every call, and a failed import searches
``sys.path`` again each time: about 0.17 ms a cell, most of the time of a 300-row
``VA_LADDER`` call (2,100 cells: measured 142 ms a call with it, see benchmarks/bench_udfs.py).  Outside Pyodide the function always returns ``False``;
:func:`patch_is_jsnull` installs a function that returns ``False`` directly.

It does nothing when ``pyodide`` is importable (xlwings Lite: the original must keep testing
for ``JsNull``), and nothing when ``xlwings.utils.is_jsnull`` is missing (a later xlwings that
moved or dropped it).  ``xlwings/conversion/standard.py`` binds ``is_jsnull`` at import time
(``from ..utils import is_jsnull``) and calls it once per range, not per cell; it is left alone.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["patch_is_jsnull", "is_jsnull_outside_pyodide"]


def is_jsnull_outside_pyodide(value: Any) -> bool:
    """``xlwings.utils.is_jsnull`` without Pyodide: no value is ``JsNull``, so always False.

    >>> is_jsnull_outside_pyodide(None), is_jsnull_outside_pyodide(3.15)
    (False, False)
    """
    return False


def patch_is_jsnull() -> bool:
    """Replace ``xlwings.utils.is_jsnull`` by a function returning False, outside Pyodide only.

    Returns True if the replacement is installed (now or by an earlier call), False when it
    was left alone (inside Pyodide, xlwings not importable, or the attribute missing).  The
    original stays reachable as ``xlwings.utils.is_jsnull.__wrapped__``.
    """
    if importlib.util.find_spec("pyodide") is not None:
        return False  # Pyodide (xlwings Lite): JsNull is real, keep the original
    try:
        from xlwings import utils
    except ImportError:
        return False
    original = getattr(utils, "is_jsnull", None)
    if not callable(original):
        return False  # this xlwings has no is_jsnull: nothing to speed up
    if getattr(original, "_volarb_outside_pyodide", False):
        return True

    def is_jsnull(value: Any) -> bool:
        return False

    is_jsnull.__doc__ = is_jsnull_outside_pyodide.__doc__
    is_jsnull.__wrapped__ = original  # type: ignore[attr-defined]
    is_jsnull._volarb_outside_pyodide = True  # type: ignore[attr-defined]
    utils.is_jsnull = is_jsnull
    return True
