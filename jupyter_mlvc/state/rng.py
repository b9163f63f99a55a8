"""The global random number generators' state, saved with a snapshot and restored with it,
so that the cell after a restored snapshot draws the numbers it drew after the commit.

Covered: Python's ``random``, numpy's legacy global generator (``np.random.seed``,
``np.random.rand``) and torch's CPU generator, each only when the kernel has
imported it. ``np.random.default_rng()`` generators are ordinary variables and
travel with the namespace.
"""

from __future__ import annotations

import io
import pickle
import random
import sys
from typing import Any


def capture_rng() -> dict[str, Any]:
    state: dict[str, Any] = {"random": random.getstate()}
    np = sys.modules.get("numpy")
    if np is not None:
        # The key as bytes: unpickling the state must not import numpy into a kernel
        # that never imported it (a fresh kernel restoring a numpy-free state).
        kind, key, pos, has_gauss, gauss = np.random.get_state()
        state["numpy"] = (kind, key.astype("<u4").tobytes(), pos, has_gauss, gauss)
    torch = sys.modules.get("torch")
    if torch is not None:
        state["torch"] = torch.get_rng_state().numpy().tobytes()
    return state


def dumps_rng(state: dict[str, Any]) -> bytes:
    return pickle.dumps(state, protocol=5)


def restore_rng(data: bytes) -> list[str]:
    """Set the generators from ``data`` (a trusted snapshot's); returns those set."""
    state = _Unpickler(io.BytesIO(data)).load()
    done = []
    if "random" in state:
        random.setstate(state["random"])
        done.append("random")
    np = sys.modules.get("numpy")
    if "numpy" in state and np is not None:
        kind, key, *rest = state["numpy"]
        if isinstance(key, bytes):
            key = np.frombuffer(key, dtype="<u4").astype(np.uint32)
        np.random.set_state((kind, key, *rest))
        done.append("numpy")
    torch = sys.modules.get("torch")
    if "torch" in state and torch is not None:
        torch.set_rng_state(torch.frombuffer(bytearray(state["torch"]), dtype=torch.uint8))
        done.append("torch")
    return done


class _NotLoaded:
    """Stands in for a numpy object in a state saved before keys were bytes, when the
    kernel has not imported numpy: that generator is not restored, numpy not imported."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "numpy" and "numpy" not in sys.modules:
            return _NotLoaded
        return super().find_class(module, name)
