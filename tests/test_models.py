"""Real models: cards, exact predictions after restore, deduplicated weights, export."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def wine():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True, as_frame=True)
    return X, y


def test_sklearn_pipeline_card_and_predictions(repo, wine):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = wine
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)).fit(X, y)
    snap = repo.commit({"pipe": pipe, "unfitted": LogisticRegression()}, "pipeline")
    card = snap.variables["pipe"].summary["model"]
    assert card["library"] == "scikit-learn" and card["class"] == "Pipeline" and card["fitted"]
    assert card["n_features_in"] == X.shape[1]
    assert card["feature_names_in"] == list(X.columns)
    assert snap.variables["unfitted"].summary["model"]["fitted"] is False
    assert snap.variables["unfitted"].summary["model"]["params"]["C"] == 1.0
    restored = repo.load(snap.id, "pipe")
    assert np.array_equal(restored.predict_proba(X), pipe.predict_proba(X))
    again = repo.commit({"pipe": pipe, "unfitted": LogisticRegression()}, "same")
    assert again.bytes_written < 64 * 1024


def test_gradient_boosting(repo, wine):
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = wine
    gb = GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0).fit(X, y)
    snap = repo.commit({"gb": gb}, "gb")
    assert snap.variables["gb"].summary["model"]["params"]["n_estimators"] == 30
    restored = repo.load(snap.id, "gb")
    assert np.array_equal(restored.predict_proba(X), gb.predict_proba(X))
    assert repo.commit({"gb": gb}, "same").bytes_written < 64 * 1024


def _mlp():
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    X = torch.randn(512, 64)
    y = torch.randint(0, 10, (512,))
    return model, opt, X, y


def _step(model, opt, X, y):
    import torch

    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(X), y)
    loss.backward()
    opt.step()
    return float(loss.detach())


def test_torch_mlp(repo):
    torch = pytest.importorskip("torch")
    model, opt, X, y = _mlp()
    for _ in range(3):
        _step(model, opt, X, y)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    snap = repo.commit({"model": model, "opt": opt, "X": X, "y": y}, "trained")
    card = snap.variables["model"].summary["model"]
    assert card["library"] == "torch" and card["n_parameters"] == sum(
        p.numel() for p in model.parameters()
    )
    assert snap.variables["opt"].summary["model"]["params"]["lr"] == 1e-3

    out = repo.checkout(snap.id)
    with torch.no_grad():
        assert torch.equal(out["model"](X), model(X))
    assert all(
        a is b for a, b in zip(out["opt"].param_groups[0]["params"], out["model"].parameters())
    )
    # The restored pair trains on exactly as the original does.
    assert _step(out["model"], out["opt"], X, y) == _step(model, opt, X, y)

    model, opt, X, y = _mlp()
    _step(model, opt, X, y)
    ns = {"model": model, "opt": opt, "X": X, "y": y}
    repo.commit(ns, "base")
    assert repo.commit(ns, "unchanged").bytes_written < 64 * 1024
    _step(model, opt, X, y)
    only_model = repo.commit({"model": model}, "model after one more step", only=["model"])
    assert only_model.bytes_written < 2 * weights  # about one copy of the weights
    with_opt = repo.commit(ns, "model and Adam state after one more step")
    # Adam keeps two moments per weight: weights + 2 moments change each step.
    assert with_opt.bytes_written < 4 * weights


def test_torch_export_state_dict(repo, tmp_path):
    torch = pytest.importorskip("torch")
    model, opt, X, y = _mlp()
    _step(model, opt, X, y)
    snap = repo.commit({"model": model}, "m")
    target = tmp_path / "model.pt"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_mlvc.cli",
            "export",
            snap.id,
            "model",
            "-o",
            str(target),
            "-C",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    fresh, _, _, _ = _mlp()
    fresh.load_state_dict(torch.load(target))
    with torch.no_grad():
        assert torch.equal(fresh(X), model(X))


def test_load_in_a_plain_process(repo, tmp_path, wine):
    from sklearn.tree import DecisionTreeClassifier

    X, y = wine
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    snap = repo.commit({"tree": tree}, "tree")
    expected = tree.predict(X).tolist()
    code = (
        "import jupyter_mlvc, json, sys\n"
        "from sklearn.datasets import load_wine\n"
        f"m = jupyter_mlvc.load({snap.short_id!r}, 'tree', path={str(tmp_path)!r})\n"
        "X, _ = load_wine(return_X_y=True, as_frame=True)\n"
        "print(json.dumps(m.predict(X).tolist()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected
