"""Comparisons that know numpy, pandas and cycles, for asserting restored == original."""

from __future__ import annotations

import math
import sys
from typing import Any


def same(a: Any, b: Any, _seen: set | None = None) -> bool:
    """Deep equality: NaN equals NaN, arrays and frames compare by value and dtype,
    cycles are followed once."""
    seen = _seen if _seen is not None else set()
    key = (id(a), id(b))
    if key in seen:
        return True
    if type(a) is not type(b):
        return False
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    if np is not None and isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.hasobject:
            return all(same(x, y, seen) for x, y in zip(a.ravel().tolist(), b.ravel().tolist()))
        if isinstance(a, np.ma.MaskedArray):
            return bool(np.array_equal(a.mask, b.mask)) and same(a.data, b.data, seen)
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"))
    if np is not None and isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if pd is not None and isinstance(a, (pd.DataFrame, pd.Series, pd.Index)):
        try:
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b)
            elif isinstance(a, pd.Series):
                pd.testing.assert_series_equal(a, b)
            else:
                pd.testing.assert_index_equal(a, b)
        except AssertionError:
            return False
        return True
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        seen.add(key)
        return len(a) == len(b) and all(same(x, y, seen) for x, y in zip(a, b))
    if isinstance(a, dict):
        seen.add(key)
        return list(a) == list(b) and all(same(a[k], b[k], seen) for k in a)
    if isinstance(a, (set, frozenset)):
        return a == b
    if hasattr(a, "__dict__") and not isinstance(a, type) and not callable(a):
        seen.add(key)
        return same(vars(a), vars(b), seen)
    return a == b
