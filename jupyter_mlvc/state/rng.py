"""The global random number generators' state, saved with a snapshot and restored with it,
so that the cell after a restored snapshot draws the numbers it drew after the commit.

Covered: Python's ``random``, numpy's legacy global generator (``np.random.seed``,
``np.random.rand``) and torch's CPU generator, each only when the kernel has
imported it. ``np.random.default_rng()`` generators are ordinary variables and
travel with the namespace.
"""

from __future__ import annotations

import pickle
import random
import sys
from typing import Any


def capture_rng() -> dict[str, Any]:
    state: dict[str, Any] = {"random": random.getstate()}
    np = sys.modules.get("numpy")
    if np is not None:
        state["numpy"] = np.random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        state["torch"] = torch.get_rng_state().numpy().tobytes()
    return state


def dumps_rng(state: dict[str, Any]) -> bytes:
    return pickle.dumps(state, protocol=5)


def restore_rng(data: bytes) -> list[str]:
    """Set the generators from ``data`` (a trusted snapshot's); returns those set."""
    state = pickle.loads(data)
    done = []
    if "random" in state:
        random.setstate(state["random"])
        done.append("random")
    np = sys.modules.get("numpy")
    if "numpy" in state and np is not None:
        np.random.set_state(state["numpy"])
        done.append("numpy")
    torch = sys.modules.get("torch")
    if "torch" in state and torch is not None:
        torch.set_rng_state(torch.frombuffer(bytearray(state["torch"]), dtype=torch.uint8))
        done.append("torch")
    return done
