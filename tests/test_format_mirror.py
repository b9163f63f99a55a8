"""The sidebar's formatter (labextension/src/format.ts) says what present/format.py says.

Runs the compiled ``labextension/lib/format.js`` in node on the same numbers as
the Python functions and compares the strings. The module is emitted as an ES
module that imports nothing; its text is fed to ``node --input-type=module``
with a few lines that print the results as JSON, so no bundler is needed.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from jupyter_mlvc.present.format import format_bytes, format_duration, format_metric

LIB = Path(__file__).resolve().parents[1] / "labextension" / "lib" / "format.js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not LIB.exists(),
        reason="labextension/lib/format.js is not built (cd labextension && jlpm build:lib)",
    ),
]

SIZES = [
    0,
    1,
    999,
    1000,
    1050,
    1250,
    1350,
    1536,
    49_800,
    10**6 - 1,
    10**6,
    999_950,
    1_250_000,
    10**9,
    1.5e12,
    2.5e15,
    7.25e17,
    -1536,
    0.5,
]

METRICS = [
    0.0,
    -0.0,
    0.1234567,
    1e-7,
    1.5e-5,
    0.0001,
    123456789.0,
    1234565.0,
    1234575.0,
    999999.5,
    9.999995,
    0.5,
    -0.5,
    1.0,
    3.0,
    100000.0,
    1e16,
    2.5e-300,
    math.pi,
    -math.e,
    float("inf"),
    float("-inf"),
    float("nan"),
    0.1 + 0.2,
]

# Python keeps the difference between 3 and 3.0; JSON does not, so the sidebar
# sees numbers as floats. Below a million the two read the same.
INTEGERS = [0, 1, 7, -3, 42, 999_999]

DURATIONS = [0.0, 0.04, 0.25, 12.345, 59.94, 60.0, 90.5, 91.5, 125.0, 3601.2]

DRIVER = """
const decode = v =>
  v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
const input = JSON.parse(process.argv[process.argv.length - 1]);
const num = v => (v === '-0' ? -0 : decode(v));
process.stdout.write(JSON.stringify({
  bytes: input.bytes.map(v => formatBytes(num(v))),
  metrics: input.metrics.map(v => formatMetric(num(v))),
  durations: input.durations.map(v => formatDuration(num(v))),
  none: [formatBytes(null), formatMetric(null)]
}));
"""


def js_number(x: float) -> float | str:
    """A number as JSON can carry it to node (NaN, infinities and -0 as strings)."""
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        if x == 0 and math.copysign(1, x) < 0:
            return "-0"
    return x


def run_js(bytes_: list, metrics: list, durations: list) -> dict:
    payload = json.dumps(
        {
            "bytes": [js_number(x) for x in bytes_],
            "metrics": [js_number(x) for x in metrics],
            "durations": [js_number(x) for x in durations],
        }
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--input-type=module", "-", payload],
        input=LIB.read_text() + DRIVER,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_lib_imports_nothing():
    """Node runs format.js without a bundler: it must not import JupyterLab."""
    imports = [line for line in LIB.read_text().splitlines() if line.startswith("import ")]
    assert imports == []


def test_sizes_metrics_and_durations_read_the_same():
    metrics = METRICS + [float(i) for i in INTEGERS]
    out = run_js(SIZES, metrics, DURATIONS)
    assert list(zip(SIZES, out["bytes"])) == [(n, format_bytes(n)) for n in SIZES]
    assert list(zip(metrics, out["metrics"])) == [(m, format_metric(m)) for m in metrics]
    assert list(zip(DURATIONS, out["durations"])) == [(d, format_duration(d)) for d in DURATIONS]
    assert out["none"] == [format_bytes(None), format_metric(None)]


def test_integer_metrics_read_as_python_ints_below_a_million():
    out = run_js([], [float(i) for i in INTEGERS], [])
    assert out["metrics"] == [format_metric(i) for i in INTEGERS]


def test_the_comparison_sees_a_difference():
    """The strings are compared as they are: the old 1024-based "1.5 KB" would not pass."""
    assert run_js([1536], [], [])["bytes"] == ["1.5 kB"] != ["1.5 KB"]
