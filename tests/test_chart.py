"""Metrics over the history as a chart (present/chart.py): the Vega-Lite spec, its data,
``%mlvc log --plot`` in a real IPython shell, and GET /mlvc/api/chart on a real server."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.error import UsageError
from tornado.httpclient import HTTPClientError

from jupyter_mlvc import Repo
from jupyter_mlvc.present.chart import (
    EXPRESSIONS,
    MIME,
    NO_BRANCH,
    POINT_FIELDS,
    SCHEMA,
    MetricChart,
    chart_points,
    history_chart,
)

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.server_fixtures"]

NB = "project/analysis.ipynb"
LABEXTENSION = Path(__file__).parents[1] / "labextension"
VEGA_LITE_SCHEMA = LABEXTENSION / "node_modules" / "vega-lite" / "build" / "vega-lite-schema.json"
#: A message a snapshot may carry: quotes, HTML, braces, Vega expression syntax.
HOSTILE = "it's \"done\" </script><img src=x onerror=alert(1)> {x} ${y} datum.id + '"
#: A metric name the store accepts that would break out of a quoted expression.
HOSTILE_METRIC = "acc'] || alert(1) || datum['"


def two_branches(repo: Repo, notebook: Path) -> dict[str, Any]:
    """main: a (acc, loss), b (acc), n (no metrics); exp forks at b: c (acc, loss), d (loss).

    Returns the snapshots by name and the (id, metric, value) triples they hold.
    """
    a = repo.commit({"x": 1}, "baseline", None, notebook, {"acc": 0.5, "loss": 1.25})
    b = repo.commit({"x": 2}, HOSTILE, None, notebook, {"acc": 0.625})
    repo.branch("exp", notebook_path=notebook)
    c = repo.commit({"x": 3}, "exp: wider", None, notebook, {"acc": 0.75, "loss": 0.5})
    d = repo.commit({"x": 4}, "exp: longer", None, notebook, {"loss": 0.25})
    repo.restore("main", {"x": 4}, notebook_path=notebook, save=False)
    n = repo.commit({"x": 5}, "no metrics", None, notebook)
    held = {
        (a.id, "acc", 0.5),
        (a.id, "loss", 1.25),
        (b.id, "acc", 0.625),
        (c.id, "acc", 0.75),
        (c.id, "loss", 0.5),
        (d.id, "loss", 0.25),
    }
    return {"a": a, "b": b, "c": c, "d": d, "n": n, "held": held}


@pytest.fixture
def project(tmp_path: Path):
    notebook = tmp_path / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    with Repo.init(tmp_path) as repo:
        yield repo, notebook, two_branches(repo, notebook)


def triples(points: list[dict]) -> set[tuple[str, str, float]]:
    return {(p["id"], p["metric"], p["value"]) for p in points}


def expressions(node: Any) -> list[str]:
    """Every Vega expression in a spec: calculate, labelExpr, test and expr strings."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("calculate", "labelExpr", "test", "expr", "filter") and isinstance(
                value, str
            ):
                found.append(value)
            else:
                found += expressions(value)
    elif isinstance(node, list):
        for value in node:
            found += expressions(value)
    return found


# -- the spec's data ---------------------------------------------------------------------------


def test_one_point_per_snapshot_and_metric_held(project):
    repo, notebook, snaps = project
    chart = history_chart(repo, notebook)
    spec = chart.spec()
    values = spec["data"]["values"]
    assert len(values) == 6
    assert triples(values) == snaps["held"]
    assert all(tuple(p) == POINT_FIELDS for p in values)
    # Oldest first, numbered along the notebook's history; the snapshot without
    # metrics keeps its number but draws nothing.
    order = {p["id"]: p["order"] for p in values}
    assert [order[snaps[k].id] for k in "abcd"] == [1, 2, 3, 4]
    assert snaps["n"].id not in order
    branch = {p["id"]: p["branch"] for p in values}
    assert [branch[snaps[k].id] for k in "abcd"] == ["main", "main", "exp", "exp"]
    assert chart.metrics == ["acc", "loss"] and chart.branches == ["exp", "main"]
    assert (chart.snapshots, chart.total, chart.truncated) == (5, 5, False)
    for p in values:
        assert p["short_id"] == p["id"][:8]
        assert isinstance(p["t"], int) and p["time"].endswith("+00:00")


def test_the_spec_is_a_faceted_vega_lite_v5_chart(project):
    repo, notebook, _ = project
    spec = history_chart(repo, notebook).spec()
    assert spec["$schema"] == SCHEMA
    assert spec["facet"]["row"]["field"] == "metric"
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    line, point = spec["spec"]["layer"]
    assert line["mark"]["type"] == "line" and point["mark"]["type"] == "point"
    assert line["encoding"]["color"]["field"] == point["encoding"]["color"]["field"] == "branch"
    tooltip = {t["field"] for t in point["encoding"]["tooltip"]}
    assert {"short_id", "message", "branch", "t", "value", "metric"} <= tooltip
    x_axis = next(p for p in spec["params"] if p["name"] == "x_axis")
    assert x_axis["value"] == "order" and x_axis["bind"]["options"] == ["order", "time"]
    assert spec["title"]["text"] == "Metrics over 5 snapshots"


def test_only_the_newest_are_read_and_keep_their_numbers(project):
    repo, notebook, snaps = project
    chart = history_chart(repo, notebook, limit=3)
    assert (chart.snapshots, chart.total, chart.truncated) == (3, 5, True)
    assert triples(chart.points) == {
        t for t in snaps["held"] if t[0] in {snaps["c"].id, snaps["d"].id}
    }
    assert sorted({p["order"] for p in chart.points}) == [3, 4]
    assert chart.spec()["title"]["text"] == "Metrics over the newest 3 of 5 snapshots"


def test_automatic_snapshots_can_be_left_out(project):
    repo, notebook, _ = project
    auto = repo.commit({"x": 6}, "auto: after a cell", None, notebook, {"acc": 0.875}, auto=True)
    assert (auto.id, "acc", 0.875) in triples(history_chart(repo, notebook).points)
    assert auto.id not in {
        p["id"] for p in history_chart(repo, notebook, include_auto=False).points
    }


def test_snapshot_text_stays_data(tmp_path: Path):
    notebook = tmp_path / "analysis.ipynb"
    with Repo.init(tmp_path) as repo:
        snap = repo.commit({"x": 1}, HOSTILE, None, notebook, {HOSTILE_METRIC: 1.5, "acc": 0.5})
        spec = history_chart(repo, notebook).spec()
    values = spec["data"]["values"]
    assert {(p["message"], p["metric"]) for p in values} == {
        (HOSTILE, HOSTILE_METRIC),
        (HOSTILE, "acc"),
    }
    assert all(p["id"] == snap.id for p in values)
    # Outside data.values the spec holds nothing the snapshot wrote, and its
    # expressions are the module's own fixed strings, naming fixed fields.
    rest = json.dumps({k: v for k, v in spec.items() if k != "data"})
    for text in (HOSTILE, HOSTILE_METRIC, "acc", "alert", "onerror", snap.id, snap.id[:8]):
        assert text not in rest, text
    assert set(expressions(spec)) == set(EXPRESSIONS)
    fields = {
        f["field"]
        for layer in spec["spec"]["layer"]
        for enc in layer["encoding"].values()
        for f in (enc if isinstance(enc, list) else [enc])
        if isinstance(f, dict) and "field" in f
    }
    assert fields <= set(POINT_FIELDS) | {"x"}


def test_values_that_cannot_be_drawn_are_left_out():
    records = [
        {
            "id": "b" * 64,
            "message": "diverged",
            "created_at": "2026-01-01T12:00:01+00:00",
            "branch": None,
            "loss": math.nan,
            "acc": math.inf,
            "f1": 0.5,
        },
        {"id": "a" * 64, "message": "", "created_at": 1767268800.0, "branch": "main", "f1": None},
    ]
    points = chart_points(records)
    assert [(p["metric"], p["value"], p["branch"], p["order"]) for p in points] == [
        ("f1", 0.5, NO_BRANCH, 2)
    ]
    assert points[0]["t"] == 1767268801000
    assert points[0]["time"] == "2026-01-01T12:00:01.000+00:00"


def test_text_summary_per_metric_and_branch(project):
    repo, notebook, _ = project
    text = history_chart(repo, notebook).text()
    assert text.splitlines() == [
        "Metrics over 5 snapshots (oldest -> newest, per branch):",
        "  acc   exp   0.75  (1 point)",
        "        main  0.5 -> 0.625  (2 points, min 0.5, max 0.625)",
        "  loss  exp   0.5 -> 0.25  (2 points, min 0.25, max 0.5)",
        "        main  1.25  (1 point)",
    ]
    assert MetricChart().text() == "No snapshots yet."
    assert "record some with %mlvc commit --metric" in MetricChart([], 2, 2).text()


@pytest.mark.skipif(not VEGA_LITE_SCHEMA.exists(), reason="the labextension is not installed")
def test_the_spec_validates_against_vega_lite_v5s_schema(project):
    import jsonschema

    repo, notebook, _ = project
    schema = json.loads(VEGA_LITE_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(history_chart(repo, notebook).spec())


RENDER = """
const vl = require('vega-lite'), vega = require('vega');
const spec = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const warnings = [];
const logger = {level() { return this; }, warn: (...m) => { warnings.push(m.join(' ')); return logger; },
  info() { return logger; }, debug() { return logger; }, error: (...m) => { throw new Error(m.join(' ')); }};
const compiled = vl.compile(spec, {logger}).spec;
const view = new vega.View(vega.parse(compiled), {renderer: 'none'});
view.toSVG().then(svg => {
  const points = (svg.match(/aria-roledescription="point"/g) || []).length;
  console.log(JSON.stringify({points, warnings}));
});
"""


@pytest.mark.skipif(
    not (LABEXTENSION / "node_modules" / "vega").exists() or not shutil.which("node"),
    reason="needs node and the labextension's node_modules",
)
def test_vega_draws_one_symbol_per_point(project):
    repo, notebook, snaps = project
    spec = history_chart(repo, notebook).spec()
    out = subprocess.run(
        ["node", "-e", RENDER],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=LABEXTENSION,
        timeout=120,
        check=True,
    )
    drawn = json.loads(out.stdout)
    assert drawn == {"points": len(snaps["held"]), "warnings": []}


# -- %mlvc log --plot ---------------------------------------------------------------------------


def published(shell) -> list[dict]:
    outputs: list[dict] = []
    shell.display_pub.publish = lambda data, **kw: outputs.append(data)
    return outputs


def test_log_plot_publishes_the_vega_lite_chart(shell):
    outputs = published(shell)
    shell.run_cell('x = 1\n%mlvc commit -m "first" --metric acc=0.5 loss=2')
    shell.run_cell("%mlvc branch exp\nx = 2")
    shell.run_cell(f"%mlvc commit -m {json.dumps(HOSTILE)} --metric acc=0.75")
    outputs.clear()
    shell.run_line_magic("mlvc", "log --plot")
    assert len(outputs) == 1
    bundle = outputs[0]
    assert set(bundle) == {MIME, "text/plain"}
    values = bundle[MIME]["data"]["values"]
    assert sorted((p["metric"], p["value"], p["branch"]) for p in values) == [
        ("acc", 0.5, "main"),
        ("acc", 0.75, "exp"),
        ("loss", 2.0, "main"),
    ]
    assert HOSTILE in {p["message"] for p in values}
    assert bundle["text/plain"].startswith("Metrics over 2 snapshots")
    json.dumps(bundle, allow_nan=False)  # what the kernel sends must be JSON

    outputs.clear()
    shell.run_line_magic("mlvc", "log --plot -n 1")
    assert [p["value"] for p in outputs[0][MIME]["data"]["values"]] == [0.75]


@pytest.mark.parametrize("extra", ["--sort acc", "--graph", "--all", "--compare"])
def test_log_plot_refuses_other_views(shell, extra):
    shell.run_cell("x = 1\n%mlvc commit -m first --metric acc=0.5")
    with pytest.raises(UsageError, match="--plot charts this notebook's metrics"):
        shell.run_line_magic("mlvc", f"log --plot {extra}")


def test_log_plot_before_any_commit_says_so(shell, capsys):
    outputs = published(shell)
    shell.run_line_magic("mlvc", "log --plot")
    assert outputs == []
    assert "commit" in capsys.readouterr().out.lower()


# -- GET /mlvc/api/chart --------------------------------------------------------------------------


@pytest.fixture
def served(jp_root_dir: Path):
    folder = jp_root_dir / "project"
    folder.mkdir()
    notebook = folder / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    with Repo.init(folder) as repo:
        return two_branches(repo, notebook)


async def chart_of(jp_fetch, **params: str) -> dict:
    response = await jp_fetch("mlvc", "api", "chart", params={"path": NB, **params})
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def test_route_sends_the_spec_and_what_it_holds(jp_fetch, served):
    data = await chart_of(jp_fetch)
    assert triples(data["spec"]["data"]["values"]) == served["held"]
    assert data["points"] == 6
    assert data["metrics"] == ["acc", "loss"] and data["branches"] == ["exp", "main"]
    assert (data["snapshots"], data["total"], data["truncated"]) == (5, 5, False)
    assert data["spec"]["$schema"] == SCHEMA


async def test_route_limit_and_automatic_snapshots(jp_fetch, served, jp_root_dir):
    data = await chart_of(jp_fetch, limit="2")
    assert (data["snapshots"], data["total"], data["truncated"]) == (2, 5, True)
    assert {p["id"] for p in data["spec"]["data"]["values"]} == {served["d"].id}
    notebook = jp_root_dir / NB
    with Repo.open(notebook.parent) as repo:
        repo.commit({"x": 9}, "auto", None, notebook, {"acc": 0.1}, auto=True)
    assert (await chart_of(jp_fetch))["points"] == 7
    assert (await chart_of(jp_fetch, include_auto="false"))["points"] == 6


async def test_route_without_a_store_is_an_empty_chart(jp_fetch, jp_root_dir):
    (jp_root_dir / "fresh").mkdir()
    data = await chart_of(jp_fetch, path="fresh/new.ipynb")
    assert data["points"] == 0 and data["total"] == 0
    assert data["spec"]["data"]["values"] == []


@pytest.mark.parametrize(
    "params, status, error",
    [
        ({"limit": "0"}, 400, "BadInput"),
        ({"limit": "10001"}, 400, "BadInput"),
        ({"limit": "many"}, 400, "BadInput"),
        ({"limit": "1e3"}, 400, "BadInput"),
        ({"include_auto": "maybe"}, 400, "BadInput"),
        ({"path": ""}, 400, None),
        ({"path": "project/analysis.py"}, 400, None),
        ({"path": "../outside.ipynb"}, 400, None),
        ({"path": "outside/analysis.ipynb"}, 403, "OutsideRoot"),
    ],
)
async def test_route_refuses_bad_parameters(jp_fetch, served, jp_root_dir, params, status, error):
    # A folder of the root that links to one outside it.
    outside = jp_root_dir.parent / "elsewhere"
    outside.mkdir(exist_ok=True)
    (jp_root_dir / "outside").symlink_to(outside, target_is_directory=True)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlvc", "api", "chart", params={"path": NB, **params})
    assert info.value.code == status
    body = json.loads(info.value.response.body)
    assert body["status"] == status and body["message"]
    if error:
        assert body["error"] == error
