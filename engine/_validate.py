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

__all__ = ["VolarbInputError", "parse_kind", "parse_style", "prepare", "finish"]


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
        arr = arr.astype(float)
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


def prepare(**args: Any) -> tuple[dict[str, np.ndarray], np.ndarray, bool]:
    """Broadcast the named arguments to float arrays and find the invalid elements.

    Parameters
    ----------
    **args
        Arguments by their glossary name (``spot``, ``strike``, ``t``, ``rate``, ``vol``,
        ``q``, ``price``, ``kind``).  ``kind`` is converted with :func:`parse_kind`.

    Returns
    -------
    arrays : dict of ndarray
        Broadcast float arrays (at least 1-D), invalid elements replaced by a harmless value.
    bad : ndarray of bool
        True where any argument breaks its rule.
    scalar : bool
        True when every argument was a scalar (the caller then returns a float).

    Raises
    ------
    VolarbInputError
        When every argument is a scalar and one breaks its rule (message names it), or when
        the shapes cannot be broadcast together.
    """
    scalar = all(_is_scalar(v) for v in args.values())
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
        shaped = np.broadcast_arrays(*converted.values())
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in converted.items())
        raise VolarbInputError(f"arguments cannot be broadcast together: {shapes}") from None
    arrays = {k: np.atleast_1d(np.array(v, dtype=float)) for k, v in zip(converted, shaped)}
    bad = np.zeros(next(iter(arrays.values())).shape, dtype=bool)
    for name, arr in arrays.items():
        elem_bad = ~np.isfinite(arr)
        if name == "kind":
            msg = "must be 'call' or 'put' (also 'C'/'P', any case, or +1/-1)"
        else:
            rule, allow_zero, allow_negative = _RULES[name]
            if not allow_negative:
                elem_bad |= (arr <= 0) if not allow_zero else (arr < 0)
            msg = f"must be {rule}"
        if scalar and elem_bad.any():
            raise VolarbInputError(f"{name} {msg}, got {args[name]!r}")
        bad |= elem_bad
    if bad.any():
        safe = {"spot": 1.0, "strike": 1.0, "t": 1.0, "vol": 0.2, "price": 0.1,
                "rate": 0.0, "q": 0.0, "kind": 1.0}
        arrays = {k: np.where(bad, safe[k], v) for k, v in arrays.items()}
    return arrays, bad, scalar


def _to_float_array(value: Any) -> np.ndarray:
    def conv(x: Any) -> float:
        try:
            return float(x)
        except (TypeError, ValueError):
            return np.nan

    return np.vectorize(conv, otypes=[float])(np.asarray(value, dtype=object))


def finish(result: np.ndarray, bad: np.ndarray, scalar: bool, shape: tuple[int, ...] | None = None):
    """Put NaN where the input was bad and return a float for scalar calls."""
    result = np.where(bad, np.nan, result)
    if scalar:
        return float(result.reshape(-1)[0])
    if shape is not None:
        result = result.reshape(shape)
    return result


def broadcast_shape(*values: Iterable[Any]) -> tuple[int, ...]:
    """The broadcast shape of the given arguments (``()`` when all are scalars)."""
    return np.broadcast_shapes(*(np.shape(v) for v in values))
