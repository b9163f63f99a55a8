"""Shared by the tests: comparisons that know numpy, pandas and cycles (for asserting
restored == original), a store per user, and a local S3 server (moto) with a bucket
per test."""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.ops.remote import Remote


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


def user_store(path: Path, key: bytes | None = None) -> Repo:
    """A store of one user (``key``: that user's secret; default: this test's user)."""
    path.mkdir(parents=True, exist_ok=True)
    repo = Repo.init(path)
    repo.notebook_path = repo.notebook_key(path / "analysis.ipynb")
    if key is not None:
        repo._key = key
    return repo


# -- a local S3 server ---------------------------------------------------------------------

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A local S3-compatible server (moto's) for the tests of one module."""
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def bucket_url(s3_endpoint):
    """A new, empty bucket; returns ``s3://bucket/team``."""
    name = f"mlvc-{uuid.uuid4().hex[:12]}"
    fs = Remote("setup", f"s3://{name}", {"endpoint_url": s3_endpoint}).fs
    fs.mkdir(name)
    return f"s3://{name}/team"
