"""Input handling shared by every engine function: broadcasting, the call/put code, checks.

Two error channels (house style rule 7):

* a scalar call with a bad argument raises :class:`VolarbInputError` (a ``ValueError``)
  whose message names the argument and the value;
* an array call gives NaN in the offending element only, so one bad row never spoils a book.

Kernels trust what comes out of here; validation happens once, at this edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["VolarbInputError", "Form", "parse_kind", "parse_style", "prepare", "finish"]


class VolarbInputError(ValueError):
    """Bad argument given to a volarb function; the message names the argument and the rule."""


_KIND_CODES = {"call": 1.0, "c": 1.0, "put": -1.0, "p": -1.0}


def _kind_scalar(value: Any) -> float:
    if isinstance(value, str):
        code = _KIND_CODES.get(value.strip().lower())
        return np.nan if code is None else code
    try:
        num = float(value)
    except (TypeError, ValueError):
        return np.nan
    return num if num in (1.0, -1.0) else np.nan


def parse_kind(kind: Any) -> np.ndarray | float:
    """Map "call"/"put" (also "C"/"P", any case, or +1/-1) to +1.0/-1.0; unknown gives NaN.

    Examples
    --------
    >>> parse_kind("Put"), parse_kind("c")
    (-1.0, 1.0)
    >>> parse_kind(["P", "call"]).tolist()
    [-1.0, 1.0]
    """
    if isinstance(kind, (str, int, float, np.integer, np.floating)):
        return _kind_scalar(kind)
    arr = np.asarray(kind)
    if arr.dtype.kind in "iuf":  # numeric fast path: +1/-1 kept, anything else NaN
        arr = arr.astype(float, copy=False)
        mag = np.abs(arr)
        if mag.size and mag.min() == 1.0 and mag.max() == 1.0:  # all +-1: no elementwise mask
            return arr
        return np.where((arr == 1.0) | (arr == -1.0), arr, np.nan)
    if arr.dtype.kind == "U" and arr.size > 64:  # map the few distinct labels once
        labels, inverse = np.unique(arr, return_inverse=True)
        codes = np.array([_kind_scalar(x) for x in labels.tolist()], dtype=float)
        return codes[inverse].reshape(arr.shape)
    arr = np.asarray(kind, dtype=object)
    if arr.ndim == 0:
        return _kind_scalar(arr.item())
    return np.vectorize(_kind_scalar, otypes=[float])(arr)


def parse_style(style: Any) -> str:
    """Exercise style: "european"/"euro"/"e" or "american"/"amer"/"a" (any case).

    >>> parse_style("A"), parse_style(" European ")
    ('american', 'european')
    """
    s = str(style).strip().lower()
    if s in ("european", "euro", "e"):
        return "european"
    if s in ("american", "amer", "a"):
        return "american"
    raise VolarbInputError(f"style must be 'european' or 'american', got {style!r}")


# rule per argument: (name, allow_zero, allow_negative)
_RULES = {
    "spot": ("positive", False, False),
    "strike": ("positive", False, False),
    "t": ("non-negative (years)", True, False),
    "vol": ("non-negative (annualized decimal)", True, False),
    "price": ("non-negative", True, False),
    "rate": ("finite", True, True),
    "q": ("finite", True, True),
}


def _is_scalar(x: Any) -> bool:
    return np.ndim(x) == 0


class Form:
    """How the caller passed its arguments, so :func:`finish` can return the same form.

    Truthy exactly when every argument was a scalar (so code written for the former ``scalar``
    flag keeps working).  ``index``/``name``/``columns`` hold the first pandas argument's labels:
    a Series in gives a Series out (same index and name), a DataFrame in a DataFrame out.
    """

    __slots__ = ("scalar", "shape", "index", "name", "columns")

    def __init__(
        self, scalar: bool, shape: tuple[int, ...], index: Any = None, name: Any = None, columns: Any = None
    ) -> None:
        self.scalar, self.shape, self.index, self.name, self.columns = scalar, shape, index, name, columns

    def __bool__(self) -> bool:
        return self.scalar


def _pandas_labels(values: Iterable[Any]) -> tuple[Any, Any, Any]:
    """(index, name, columns) of the first pandas Series/DataFrame among ``values``."""
    for v in values:
        mod = type(v).__module__
        if mod.startswith("pandas") and hasattr(v, "index"):
            if hasattr(v, "columns"):
                return v.index, None, v.columns
            return v.index, getattr(v, "name", None), None
    return None, None, None


def _bad_elements(name: str, arr: np.ndarray) -> np.ndarray | None:
    """Mask of elements breaking ``name``'s rule, or None when every element is valid.

    Two reductions decide the common all-valid case without an elementwise pass (``min``/``max``
    propagate NaN); the mask is built only when a rule is broken.
    """
    if arr.size == 0:
        return None
    if name == "kind":  # parse_kind has mapped every unknown label to NaN
        return None if not np.isnan(np.min(arr)) else np.isnan(arr)
    _, allow_zero, allow_negative = _RULES[name]
    if arr.ndim == 0 or arr.size == 1:
        x = float(arr.reshape(-1)[0])
        ok = np.isfinite(x) and (allow_negative or (x >= 0.0 if allow_zero else x > 0.0))
        return None if ok else np.atleast_1d(np.asarray(not ok))
    if allow_negative:  # finite only: one pass (a sum is NaN or inf iff an element is, or overflows)
        if np.isfinite(np.sum(arr)):
            return None
    else:
        lo, hi = float(np.min(arr)), float(np.max(arr))
        if (lo >= 0.0 if allow_zero else lo > 0.0) and hi < np.inf:
            return None
    bad = ~np.isfinite(arr)
    if not allow_negative:
        bad |= (arr <= 0) if not allow_zero else (arr < 0)
    return bad


_SAFE = {"spot": 1.0, "strike": 1.0, "t": 1.0, "vol": 0.2, "price": 0.1, "rate": 0.0, "q": 0.0, "kind": 1.0}


def prepare(broadcast: bool = True, **args: Any) -> tuple[dict[str, np.ndarray], np.ndarray, Form]:
    """Convert the named arguments to float arrays and find the invalid elements.

    Parameters
    ----------
    broadcast : bool
        True (default): every array is broadcast to the common shape (at least 1-D, writable
        copies are not made).  False: arrays keep their own shapes (numpy broadcasting does the
        rest inside the kernel), which saves the copies on large inputs.
    **args
        Arguments by their glossary name (``spot``, ``strike``, ``t``, ``rate``, ``vol``,
        ``q``, ``price``, ``kind``).  ``kind`` is converted with :func:`parse_kind`.

    Returns
    -------
    arrays : dict of ndarray
        Float arrays, invalid elements replaced by a harmless value.
    bad : ndarray of bool
        True where any argument breaks its rule (the common shape, at least 1-D).
    form : Form
        Truthy when every argument was a scalar (the caller then returns a float); also the
        pandas labels to restore (see :func:`finish`).

    Raises
    ------
    VolarbInputError
        When every argument is a scalar and one breaks its rule (message names it), or when
        the shapes cannot be broadcast together.
    """
    scalar = all(_is_scalar(v) for v in args.values())
    index, pname, columns = _pandas_labels(args.values())
    converted: dict[str, np.ndarray] = {}
    for name, value in args.items():
        if name == "kind":
            converted[name] = np.asarray(parse_kind(value), dtype=float)
            continue
        try:
            converted[name] = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            if scalar:
                raise VolarbInputError(f"{name} must be a number, got {value!r}") from None
            converted[name] = _to_float_array(value)
    try:
        shape = np.broadcast_shapes(*(v.shape for v in converted.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in converted.items())
        raise VolarbInputError(f"arguments cannot be broadcast together: {shapes}") from None
    shape = shape if shape else (1,)
    bad = np.zeros(shape, dtype=bool)
    any_bad = False
    for name, arr in converted.items():
        elem_bad = _bad_elements(name, arr)
        if elem_bad is None:
            continue
        if scalar:
            if name == "kind":
                msg = "must be 'call' or 'put' (also 'C'/'P', any case, or +1/-1)"
            else:
                msg = f"must be {_RULES[name][0]}"
            raise VolarbInputError(f"{name} {msg}, got {args[name]!r}")
        bad |= elem_bad
        any_bad = True
    arrays = {k: np.where(bad, _SAFE[k], v) for k, v in converted.items()} if any_bad else converted
    if broadcast:
        arrays = {k: np.broadcast_to(v, shape) for k, v in arrays.items()}
    return arrays, bad, Form(scalar, shape, index, pname, columns)


def _to_float_array(value: Any) -> np.ndarray:
    def conv(x: Any) -> float:
        try:
            return float(x)
        except (TypeError, ValueError):
            return np.nan

    return np.vectorize(conv, otypes=[float])(np.asarray(value, dtype=object))


def finish(result: np.ndarray, bad: np.ndarray, scalar: bool | Form, shape: tuple[int, ...] | None = None):
    """Put NaN where the input was bad; return a float for scalar calls, pandas for pandas calls.

    ``scalar`` is the :class:`Form` from :func:`prepare` (a plain bool is accepted too).  A
    Series argument gives a Series with its index and name; a DataFrame gives a DataFrame with
    its index and columns.
    """
    result = np.asarray(result, dtype=float)
    if bad.any():
        result = np.where(bad, np.nan, result)
    if scalar:
        return float(result.reshape(-1)[0])
    if shape is not None:
        result = result.reshape(shape)
    if isinstance(scalar, Form):
        if result.shape != scalar.shape and result.size != np.prod(scalar.shape):
            result = np.broadcast_to(result, scalar.shape).copy()
        if scalar.index is not None:
            import pandas as pd

            if scalar.columns is not None and result.ndim == 2:
                return pd.DataFrame(result, index=scalar.index, columns=scalar.columns)
            if result.ndim == 1 and result.size == len(scalar.index):
                return pd.Series(result, index=scalar.index, name=scalar.name)
    return result
