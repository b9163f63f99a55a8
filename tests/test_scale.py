"""2,000 snapshots of one notebook: the magic's log and the REST API's first page stay fast.

Long campaign (``pytest --run-slow -k scale -s`` prints the timings); the sidebar's
first page in a real browser is timed in tests/browser/test_scale_sidebar.py.
"""

from __future__ import annotations

import io
import statistics
import time
from contextlib import redirect_stdout

import pytest

from .big_store import build_big_store
from .live_server import JupyterServer

N = 2_000
#: Server-side budget per request on this kind of machine (2 shared cores); measured ~10x less.
BUDGET = 0.1

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    seconds = build_big_store(root, N)
    print(f"\nscale: built {N} snapshots in {seconds:.1f} s ({seconds / N * 1000:.1f} ms each)")
    return root


def timed(fn, runs: int = 15) -> tuple[float, float]:
    """Median and max seconds of ``runs`` calls of ``fn``, after one call to warm up."""
    fn()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), max(times)


def test_magic_log_of_2000_snapshots(big, shell, monkeypatch):
    monkeypatch.chdir(big)
    shell.run_line_magic("config", 'MLVC.notebook = "big.ipynb"')

    def log():
        out = io.StringIO()
        with redirect_stdout(out):
            shell.run_line_magic("mlvc", "log -n 20")
        return out.getvalue()

    text = log()
    assert "step 1999" in text and "step 1979" not in text
    median, worst = timed(log)
    print(
        f"\nscale: %mlvc log -n 20 of {N} snapshots: median {median * 1000:.1f} ms, max {worst * 1000:.1f} ms"
    )
    assert median < BUDGET


def test_rest_first_page_of_2000_snapshots(big, tmp_path):
    with JupyterServer(big, tmp_path / "server") as server:

        def get(route: str, **extra: str):
            query = "&".join(f"{k}={v}" for k, v in {"path": "big.ipynb", **extra}.items())
            response = server.request("GET", f"/mlvc/api/{route}?{query}")
            assert response.status == 200, response.body
            return response.json()

        began = time.perf_counter()
        page = get("snapshots", limit="50")
        first = time.perf_counter() - began
        assert page["total"] == N and len(page["snapshots"]) == 50
        assert page["snapshots"][0]["message"] == f"step {N - 1}"
        last = get("snapshots", limit="50", offset=str(N - 50))
        assert last["snapshots"][-1]["message"] == "step 0"

        lines = []
        for label, route, extra in [
            ("first page (50)", "snapshots", {"limit": "50"}),
            ("last page (50)", "snapshots", {"limit": "50", "offset": str(N - 50)}),
            ("search", "snapshots", {"limit": "50", "search": "step%2019"}),
            ("head (polled)", "head", {}),
            ("refs", "refs", {}),
            ("one snapshot", "snapshots/HEAD", {}),
        ]:
            median, worst = timed(lambda route=route, extra=extra: get(route, **extra))
            lines.append(f"{label}: median {median * 1000:.1f} ms, max {worst * 1000:.1f} ms")
            assert median < BUDGET, lines[-1]
        print(
            f"\nscale: REST API over {N} snapshots (HTTP round trip): "
            f"the server's very first request (imports the core) {first * 1000:.0f} ms; "
            + "; ".join(lines)
        )
