"""pandas' copy-on-write, kept across a restore.

Under copy-on-write (always on from pandas 3), ``col = df["a"]`` shares memory with
``df`` only lazily: writing to either copies first, so neither ever sees the other's
edits. A snapshot stores their common memory once, and unpickling rebuilds both on it,
but pandas' record of the lazy sharing is not pickled: edits would then show through.
So the pandas variables of a restored unit that share memory come back as copies,
behaving as they did. (A container holding such a variable keeps the object it held.)
"""

from __future__ import annotations

import sys
from typing import Any


def copy_on_write() -> bool:
    """Whether pandas is loaded and shares memory between objects only lazily."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return False
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return getattr(pd.options.mode, "copy_on_write", False) is True


def separate(values: dict[str, Any]) -> None:
    """Replace each pandas value of ``values`` that shares memory with an earlier one by
    a copy of itself (in place, in ``values``)."""
    if not copy_on_write():
        return
    import numpy as np
    import pandas as pd

    seen: list[np.ndarray] = []
    for name, value in values.items():
        if not isinstance(value, (pd.Series, pd.DataFrame)):
            continue
        arrays = _arrays(value)
        if any(np.may_share_memory(a, b) for a in arrays for b in seen):
            values[name] = value.copy(deep=True)
            arrays = _arrays(values[name])
        seen.extend(arrays)


def _arrays(value: Any) -> list[Any]:
    """The numpy memory behind a Series' or a DataFrame's columns (no copies made)."""
    import numpy as np
    import pandas as pd

    columns = (
        [value]
        if isinstance(value, pd.Series)
        else [value.iloc[:, i] for i in range(value.shape[1])]
    )
    out = []
    for column in columns:
        data = column.array
        # pandas' own array types keep their memory in these (numpy-backed, masked):
        # there is no public way to reach it without a copy.
        for attr in ("_ndarray", "_data", "_mask"):
            inner = getattr(data, attr, None)
            if isinstance(inner, np.ndarray):
                out.append(inner)
        if isinstance(data, np.ndarray):
            out.append(data)
        else:
            arr = column.to_numpy(copy=False)
            if isinstance(arr, np.ndarray) and arr.dtype != object:
                out.append(arr)
    return out
