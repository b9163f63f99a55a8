"""The environment a snapshot was taken in: Python, platform and the versions of the
key packages the kernel has imported (not every installed package: what is in use)."""

from __future__ import annotations

import platform
import sys
from typing import Any

from .._version import __version__

KEY_PACKAGES = (
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scipy",
    "sklearn",
    "torch",
    "tensorflow",
    "keras",
    "jax",
    "xgboost",
    "lightgbm",
    "catboost",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "plotly",
    "transformers",
    "cloudpickle",
    "IPython",
)


def environment() -> dict[str, Any]:
    packages = {}
    for name in KEY_PACKAGES:
        mod = sys.modules.get(name)
        if mod is not None:
            version = getattr(mod, "__version__", None)
            if isinstance(version, str):
                packages[name] = version
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "jupyter_mlvc": __version__,
        "packages": packages,
    }
