"""demo.ipynb, run top to bottom in a real kernel, restores what it says it restores."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_mlvc import Repo

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo.ipynb"

CHECK = """\
import json
print(json.dumps({
    "acc": acc,
    "C": C,
    "columns": list(X_train.columns),
    "names": sorted(k for k in globals() if not k.startswith("_")),
    "pred": model.predict(X_test).tolist(),
    "best_pred": best_model.predict(X_test).tolist(),
}))
"""


def test_demo_is_saved_without_outputs():
    nb = nbformat.read(DEMO, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    sources = "\n".join(c.source for c in code)
    assert "%load_ext jupyter_mlvc" in sources and "%mlvc browse" in sources
    assert "%mlvc diff baseline best" in sources and "%mlvc log --compare" in sources


@pytest.fixture
def demo_result(tmp_path, monkeypatch):
    """Run a copy of the demo in a fresh kernel started as jupyter_server would start it."""
    path = tmp_path / "demo.ipynb"
    shutil.copy(DEMO, path)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK))
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError if any cell fails
    check = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return path, nb, json.loads(check)


def displayed(nb, source: str) -> tuple[str, str]:
    """The text and the HTML a cell displayed."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source == source)
    # (A slow command first shows a progress bar, which leaves an empty display behind.)
    data = next(
        o.data for o in cell.outputs if o.output_type == "display_data" and "text/html" in o.data
    )
    return data["text/plain"], data["text/html"]


def expected_models():
    """The demo's two models, trained here independently of the kernel."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, random_state=0, stratify=y
    )
    models = {}
    for C in (0.001, 1.0):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000)).fit(
            X_train, y_train
        )
        models[C] = (model.score(X_test, y_test), model.predict(X_test).tolist(), list(X.columns))
    return models


def test_demo_runs_and_restores_the_good_state(demo_result):
    path, nb, state = demo_result
    models = expected_models()
    best_C = max(models, key=lambda C: models[C][0])
    best_acc, best_pred, all_columns = models[best_C]

    # After `%mlvc checkout best` the kernel holds the good state again ...
    assert state["C"] == best_C
    assert state["acc"] == pytest.approx(best_acc)
    assert state["columns"] == all_columns  # the dropped features are back
    assert state["pred"] == best_pred
    # ... variables made after the snapshot are gone ...
    assert "scratch" not in state["names"] and "best_id" not in state["names"]
    # ... and the Python API loads the same model.
    assert state["best_pred"] == best_pred

    # The store was created next to the notebook and tells the story.
    repo = Repo.open(path.parent)
    assert repo.root == path.parent
    log = repo.log(path)
    best = repo.resolve("best", path)
    assert list(log["message"]) == [
        f"auto: before checkout of {best[:8]}",
        "less regularisation: C=1.0",
        "baseline: logistic regression, C=0.001",
    ]
    assert repo.head(path).id == best
    assert log.loc[log["id"] == best, "acc"].item() == pytest.approx(best_acc)
    assert set(repo.tags()) == {"baseline", "best"}
    # Nothing was lost: the broken state is in the automatic snapshot.
    broken = log["id"][0]
    assert repo.load(broken, "scratch", path) == [pytest.approx(repo.load(broken, "acc", path))] * 3
    assert len(repo.load(broken, "X_train", path).columns) == len(all_columns) - 3
    # The notebook stored is the saved file, found through JPY_SESSION_NAME.
    assert repo.show("best", path).notebook_source == "saved"
    assert repo.notebook("best", path).cells[1].source == "%load_ext jupyter_mlvc"

    # `%mlvc diff baseline best` names what changed, and how: the hyperparameter
    # inside the pipeline, the variable C, the accuracy with its gain.
    gain = best_acc - models[0.001][0]
    text, html = displayed(nb, "%mlvc diff baseline best")
    assert "  ~ model  logisticregression__C: 0.001 -> 1.0" in text
    assert "  ~ C      0.001 -> 1.0 (+0.999)" in text
    assert re.search(rf"acc\s+{models[0.001][0]:.6g}\s+{best_acc:.6g}\s+\+{gain:.6g}", text)
    assert "0 added" in text and "0 removed" in text  # the same variables, other values
    assert "logisticregression__C: 0.001 \u2192 1.0" in html
    # `%mlvc log --compare` shows the mistake: three columns fewer in the automatic snapshot.
    text, html = displayed(nb, "%mlvc log --compare")
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[3:] if line.strip()}
    assert (
        rows["X_train"]
        == ["106", "rows", "x", "10", "cols"] + ["106", "rows", "x", "13", "cols"] * 2
    )
    assert (
        rows["model"]
        == ["Pipeline,", "fitted,", "10", "features"]
        + ["Pipeline,", "fitted,", "13", "features"] * 2
    )
    assert rows["scratch"][-2:] == ["—", "—"]

    # The browser cell displayed a widget.
    browse = next(c for c in nb.cells if c.cell_type == "code" and c.source == "%mlvc browse")
    assert any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in browse.outputs
    )
