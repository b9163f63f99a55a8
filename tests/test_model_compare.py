"""Models compared on the same data (ops/model_compare.py), through ``repo.diff(..., data=...)``,
``%mlvc diff --on`` and the kernel protocol's diff request.

Every number is checked against the same computation done here on the models that
were committed: predictions that differ, the confusion between the old and the new
predictions, the spread of B - A, and scikit-learn's own scores.
"""

from __future__ import annotations

import copy
import json
import sys

import nbformat
import numpy as np
import pytest
from IPython.core.error import UsageError
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import BadInput
from jupyter_mlvc.kernel_protocol import BadRequest, Diff, RepoTarget, run
from jupyter_mlvc.ops import diff_format as fmt
from jupyter_mlvc.ops import model_compare
from jupyter_mlvc.present.models_on_data import models_on_data_html, models_on_data_lines
from jupyter_mlvc.present.render import DiffView


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.4, random_state=0)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0)


def two_snapshots(repo: Repo, before: dict, after: dict) -> tuple[str, str]:
    return repo.commit(before, "before").id, repo.commit(after, "after").id


def by_name(models: fmt.ModelsOnData) -> dict[str, fmt.ModelOnData]:
    return {m["name"]: m for m in models["models"]}


def confusion_of(pa, pb) -> tuple[list, list[list[int]]]:
    labels = sorted(set(pa.tolist()) | set(pb.tolist()))
    index = {v: i for i, v in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for a, b in zip(pa.tolist(), pb.tolist()):
        matrix[index[a]][index[b]] += 1
    return labels, matrix


# -- the core, through repo.diff --------------------------------------------------------------


def test_a_classifier_with_another_C(repo, iris):
    X_train, X_test, y_train, y_test = iris
    weak = LogisticRegression(C=0.01, max_iter=1000).fit(X_train, y_train)
    strong = LogisticRegression(C=10.0, max_iter=1000).fit(X_train, y_train)
    a, b = two_snapshots(repo, {"clf": weak, "X_test": X_test}, {"clf": strong, "X_test": X_test})

    d = repo.diff(a, b, data={"X": X_test, "y": y_test}, data_names=("X_test", "y_test"))
    data = fmt.validate(d.to_dict())
    models = data["models"]
    assert models is not None
    assert (models["x"], models["y"], models["n_samples"], models["note"]) == (
        "X_test",
        "y_test",
        len(X_test),
        None,
    )
    clf = by_name(models)["clf"]
    pa, pb = weak.predict(X_test), strong.predict(X_test)
    assert (pa != pb).sum() > 0  # the scenario has something to find
    assert clf["n_differ"] == int((pa != pb).sum())
    assert (clf["task"], clf["library"], clf["error"]) == ("classification", "scikit-learn", None)
    labels, matrix = confusion_of(pa, pb)
    assert clf["confusion"] == {"labels": labels, "matrix": matrix}
    assert sum(map(sum, clf["confusion"]["matrix"])) == len(X_test)
    assert clf["metric"] == "accuracy"
    assert clf["score_before"] == accuracy_score(y_test, pa)
    assert clf["score_after"] == accuracy_score(y_test, pb)
    assert clf["difference"] is None


def test_a_regressor_with_another_alpha(repo, diabetes):
    X_train, X_test, y_train, y_test = diabetes
    before, after = Ridge(alpha=10.0).fit(X_train, y_train), Ridge(alpha=0.1).fit(X_train, y_train)
    a, b = two_snapshots(repo, {"reg": before}, {"reg": after})

    models = fmt.validate(repo.diff(a, b, data={"X": X_test, "y": y_test}).to_dict())["models"]
    assert models is not None and (models["x"], models["y"]) == ("X", "y")
    reg = by_name(models)["reg"]
    pa, pb = before.predict(X_test), after.predict(X_test)
    assert reg["task"] == "regression" and reg["confusion"] is None
    assert reg["n_differ"] == int((~np.isclose(pb, pa, rtol=1e-9, atol=0.0)).sum()) == len(X_test)
    spread = reg["difference"]
    assert spread is not None
    assert spread["mean"] == pytest.approx((pb - pa).mean(), rel=1e-12)
    assert spread["std"] == pytest.approx((pb - pa).std(), rel=1e-12)
    assert (spread["min"], spread["max"]) == pytest.approx(((pb - pa).min(), (pb - pa).max()))
    assert spread["quantiles"]["50%"] == pytest.approx(np.median(pb - pa))
    assert reg["metric"] == "r2"
    assert reg["score_before"] == pytest.approx(r2_score(y_test, pa))
    assert reg["score_after"] == pytest.approx(r2_score(y_test, pb))


def test_a_pipeline_and_what_is_not_a_model(repo, iris):
    X_train, X_test, y_train, _ = iris

    def pipe(C):
        return make_pipeline(StandardScaler(), LogisticRegression(C=C)).fit(X_train, y_train)

    before, after = pipe(0.001), pipe(1.0)
    scaler = StandardScaler().fit(X_train)
    a, b = two_snapshots(
        repo,
        {"pipe": before, "scaler": scaler, "n": 1},
        {"pipe": after, "scaler": StandardScaler().fit(X_train * 2), "n": 2},
    )
    models = repo.diff(a, b, data={"X": X_test}).to_dict()["models"]
    # A transformer has no predictions to compare; a number is no model.
    assert list(by_name(models)) == ["pipe"]
    entry = by_name(models)["pipe"]
    pa, pb = before.predict(X_test), after.predict(X_test)
    assert entry["n_differ"] == int((pa != pb).sum()) > 0
    assert entry["task"] == "classification"
    # Without y there is nothing to score.
    assert models["y"] is None and entry["metric"] is None and entry["score_after"] is None


def test_torch_modules(repo, iris):
    torch = pytest.importorskip("torch")
    _, X_test, _, y_test = iris
    torch.manual_seed(0)
    classes = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    regress = torch.nn.Sequential(torch.nn.Linear(4, 1))
    retrained, regress2 = copy.deepcopy(classes), copy.deepcopy(regress)
    with torch.no_grad():
        retrained[2].weight.add_(torch.randn(3, 8))
        regress2[0].bias.add_(0.5)
    a, b = two_snapshots(
        repo, {"net": classes, "lin": regress}, {"net": retrained, "lin": regress2}
    )
    models = fmt.validate(repo.diff(a, b, data={"X": X_test, "y": y_test}).to_dict())["models"]
    assert models is not None
    net, lin = by_name(models)["net"], by_name(models)["lin"]
    x = torch.tensor(X_test, dtype=torch.float32)
    with torch.no_grad():
        pa, pb = classes(x).argmax(1).numpy(), retrained(x).argmax(1).numpy()
        ra, rb = regress(x)[:, 0].numpy(), regress2(x)[:, 0].numpy()
    assert (net["library"], net["task"]) == ("torch", "classification")
    assert net["n_differ"] == int((pa != pb).sum()) > 0
    assert net["confusion"] == dict(zip(("labels", "matrix"), confusion_of(pa, pb)))
    assert net["score_after"] == accuracy_score(y_test, pb)
    assert (lin["task"], lin["n_differ"]) == ("regression", len(X_test))
    assert lin["difference"]["mean"] == pytest.approx(float((rb - ra).mean()), abs=1e-6)


def _net_class():
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        """A network whose class the notebook defines (not one of torch's own)."""

        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(4, 6)
            self.out = torch.nn.Linear(6, 3)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x)))

    return Net


def test_a_torch_module_defined_in_the_notebook_is_run(repo, iris, monkeypatch):
    torch = pytest.importorskip("torch")
    import types

    _, X_test, _, y_test = iris
    # As in a notebook: the class lives in ``__main__``-like module of its own.
    module = types.ModuleType("notebook_module")
    Net = _net_class()
    Net.__module__ = module.__name__
    module.Net = Net
    monkeypatch.setitem(sys.modules, module.__name__, module)
    torch.manual_seed(3)
    first = Net()
    second = copy.deepcopy(first)
    with torch.no_grad():
        second.out.weight.add_(torch.randn(3, 6))
    a, b = two_snapshots(repo, {"net": first}, {"net": second})
    assert repo.show(b).variables["net"].summary["model"]["class"] == "Net"
    models = fmt.validate(repo.diff(a, b, data={"X": X_test, "y": y_test}).to_dict())["models"]
    (net,) = models["models"]
    x = torch.tensor(X_test, dtype=torch.float32)
    with torch.no_grad():
        pa, pb = first(x).argmax(1).numpy(), second(x).argmax(1).numpy()
    assert (net["name"], net["task"]) == ("net", "classification")
    assert net["n_differ"] == int((pa != pb).sum())


def test_an_unchanged_model_runs_once_and_differs_nowhere(repo, iris, monkeypatch):
    X_train, X_test, y_train, y_test = iris
    clf = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    a, b = two_snapshots(repo, {"clf": clf, "n": 1}, {"clf": clf, "n": 2})
    calls = []
    predict = model_compare.predict
    monkeypatch.setattr(
        model_compare, "predict", lambda m, X, np: calls.append(m) or predict(m, X, np)
    )
    d = repo.diff(a, b, data={"X": X_test, "y": y_test})
    assert d.unchanged == ["clf"]
    entry = by_name(d.to_dict()["models"])["clf"]
    assert len(calls) == 1
    assert entry["n_differ"] == 0
    assert (
        entry["score_before"] == entry["score_after"] == accuracy_score(y_test, clf.predict(X_test))
    )
    assert "accuracy" in models_on_data_lines(d.to_dict()["models"])[1]


def test_a_model_that_fails_on_the_data_says_why(repo, iris):
    X_train, X_test, y_train, _ = iris
    four = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    three = LogisticRegression(max_iter=1000).fit(X_train[:, :3], y_train)
    a, b = two_snapshots(
        repo,
        {"four": four, "three": three},
        {"four": LogisticRegression(C=0.1).fit(X_train, y_train), "three": three.set_params(C=2)},
    )
    models = fmt.validate(repo.diff(a, b, data={"X": X_test[:, :3]}).to_dict())["models"]
    assert models is not None
    failed, ran = by_name(models)["four"], by_name(models)["three"]
    assert failed["error"] is not None and failed["error"].startswith("ValueError: ")
    assert "features" in failed["error"] and "\n" not in failed["error"]
    assert failed["n_differ"] is None and failed["confusion"] is None
    assert ran["error"] is None and ran["n_differ"] == 0
    assert "could not be run on the data: ValueError" in "\n".join(models_on_data_lines(models))


def test_the_data_must_be_samples_and_as_many_as_y(repo, iris):
    X_train, X_test, y_train, y_test = iris
    clf = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    a = repo.commit({"clf": clf}, "one").id
    with pytest.raises(BadInput, match=r"X_test has 60 samples and y_test 59"):
        repo.diff(a, a, data={"X": X_test, "y": y_test[:-1]}, data_names=("X_test", "y_test"))
    with pytest.raises(BadInput, match=r'data is a dict \{"X": \.\.\., "y": \.\.\.\}'):
        repo.diff(a, a, data={"y": y_test})
    with pytest.raises(BadInput, match="holds no samples"):
        repo.diff(a, a, data={"X": X_test[:0]})
    with pytest.raises(BadInput, match="not data with samples"):
        repo.diff(a, a, data={"X": 3})
    # Without data, a diff has no "models" at all.
    assert "models" not in repo.diff(a, a).to_dict()


class Planted:
    """A "model" whose pickle opens a file when it is loaded."""

    def __init__(self, marker: str):
        self.marker = marker

    def get_params(self, deep: bool = True) -> dict:
        return {"marker": self.marker}

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_an_untrusted_snapshot_runs_no_model(tmp_path, other_key, iris):
    X_train, X_test, y_train, y_test = iris
    first, second = tmp_path / "first", tmp_path / "second"
    clf = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    with Repo.init(tmp_path) as repo:
        a, b = two_snapshots(
            repo,
            {"planted": Planted(str(first)), "clf": clf},
            {
                "planted": Planted(str(second)),
                "clf": LogisticRegression(C=0.1).fit(X_train, y_train),
            },
        )
    other_key()
    with Repo.open(tmp_path) as theirs:
        d = theirs.diff(a, b, data={"X": X_test, "y": y_test})
        models = fmt.validate(d.to_dict())["models"]
        # Against the current state too: the snapshot side is refused.
        current = theirs.diff(a, {"clf": clf}, data={"X": X_test}).to_dict()["models"]
    assert models is not None and models["models"] == []
    assert models["note"] is not None and "not signed with your key" in models["note"]
    assert current["models"] == [] and "not signed with your key" in current["note"]
    assert not first.exists() and not second.exists()
    text = DiffView(d).text()
    assert "models on X (60 samples), scored on y:" in text and "models not run:" in text


def test_the_namespace_is_not_touched(repo, iris):
    torch = pytest.importorskip("torch")
    X_train, X_test, y_train, y_test = iris
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.5))
    clf = LogisticRegression(C=0.1, max_iter=1000).fit(X_train, y_train)
    a = repo.commit({"net": copy.deepcopy(net), "clf": clf}, "one").id
    with torch.no_grad():
        net[0].weight.mul_(2)
    X = X_test.astype(np.float32)  # the dtype the forward takes: a copy must still be made
    ns = {"net": net, "clf": LogisticRegression(max_iter=1000).fit(X_train, y_train), "X": X}
    ns["y"] = y_test
    before_ids = {k: id(v) for k, v in ns.items()}
    X_copy, params = X.copy(), copy.deepcopy(net.state_dict())
    assert net.training

    d = repo.diff(a, ns, data={"X": ns["X"], "y": ns["y"]}, data_names=("X", "y"))
    models = by_name(d.to_dict()["models"])
    assert {k: id(v) for k, v in ns.items()} == before_ids
    assert np.array_equal(ns["X"], X_copy)
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(params[k], v) for k, v in net.state_dict().items())
    # The forward ran in eval mode (no dropout): the same predictions as net.eval() gives.
    with torch.no_grad():
        expected = copy.deepcopy(net).eval()(torch.tensor(X_test, dtype=torch.float32)).argmax(1)
    assert models["net"]["score_after"] == accuracy_score(y_test, expected.numpy())
    assert models["clf"]["score_after"] == accuracy_score(y_test, ns["clf"].predict(X_test))


class Threshold:
    """A model of another library with scikit-learn's API (as xgboost's and lightgbm's)."""

    def __init__(self, cut: float = 0.0):
        self.cut = cut

    def get_params(self, deep: bool = True) -> dict:
        return {"cut": self.cut}

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = (np.asarray(X)[:, 0] > self.cut).astype(float)
        return np.stack([1 - p, p], axis=1)

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


def test_a_model_of_another_library_through_the_scikit_learn_api(repo, iris):
    _, X_test, _, y_test = iris
    before, after = Threshold(5.0).fit(X_test), Threshold(6.0).fit(X_test)
    a, b = two_snapshots(repo, {"booster": before}, {"booster": after})
    entry = by_name(repo.diff(a, b, data={"X": X_test, "y": y_test > 1}).to_dict()["models"])
    booster = entry["booster"]
    pa, pb = before.predict(X_test), after.predict(X_test)
    assert (booster["library"], booster["task"]) == ("tests", "classification")
    assert booster["n_differ"] == int((pa != pb).sum()) > 0
    assert booster["score_after"] == accuracy_score(y_test > 1, pb)


def test_labels_that_users_control_are_escaped(repo, iris):
    X_train, X_test, y_train, _ = iris
    names = np.array(["<script>x</script>", "a&b", "plain"])
    y_named = names[y_train]
    a, b = two_snapshots(
        repo,
        {"clf": LogisticRegression(C=0.01).fit(X_train, y_named)},
        {"clf": LogisticRegression(C=10, max_iter=1000).fit(X_train, y_named)},
    )
    models = fmt.validate(repo.diff(a, b, data={"X": X_test}).to_dict())["models"]
    assert models is not None
    assert by_name(models)["clf"]["confusion"]["labels"] == sorted(names.tolist())
    html = models_on_data_html(models)
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "a&amp;b" in html
    full = DiffView(repo.diff(a, b, data={"X": X_test}))._repr_html_()
    assert "Models on X (60 samples)" in full and "<script>x" not in full


def test_many_labels_leave_out_the_matrix():
    np_ = np
    pa = np_.arange(60)
    assert model_compare.confusion(pa, pa, np_) is None
    assert model_compare.confusion(pa % 3, (pa + 1) % 3, np_)["matrix"] == [
        [0, 20, 0],
        [0, 0, 20],
        [20, 0, 0],
    ]
    mixed = model_compare.confusion(
        np_.array([1, "a"], dtype=object), np_.array(["a", 1], dtype=object), np_
    )
    assert mixed == {"labels": [1, "a"], "matrix": [[0, 1], [1, 0]]}


# -- faces ---------------------------------------------------------------------------------------


def fit_in_shell(shell, C: float) -> None:
    result = shell.run_cell(
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = load_iris(return_X_y=True)\n"
        "X_test, y_test = X[::3], y[::3]\n"
        f"clf = LogisticRegression(C={C}, max_iter=1000).fit(X[1::3], y[1::3])\n"
    )
    assert result.success


def test_the_magic_runs_the_models_on_the_kernels_data(shell, capsys):
    fit_in_shell(shell, 0.01)
    shell.run_line_magic("mlvc", "commit -m weak")
    weak = shell.user_ns["clf"]
    fit_in_shell(shell, 10.0)
    shell.run_line_magic("mlvc", "commit -m strong")
    strong, X_test = shell.user_ns["clf"], shell.user_ns["X_test"]
    pa, pb = weak.predict(X_test), strong.predict(X_test)
    n, k = len(X_test), int((pa != pb).sum())
    capsys.readouterr()

    shell.run_line_magic("mlvc", "diff HEAD~1 HEAD --on X_test y_test")
    out = capsys.readouterr().out
    assert f"models on X_test ({n} samples), scored on y_test:" in out
    assert f"model clf: {k} of {n} predictions differ ({100 * k / n:.1f} %)" in out
    assert "accuracy" in out
    # Against the current state: the kernel's own model, not a copy.
    shell.run_line_magic("mlvc", "diff HEAD~1 --on X_test")
    out = capsys.readouterr().out
    assert f"models on X_test ({n} samples):" in out and f"model clf: {k} of {n}" in out


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("diff HEAD --on nothing", r"--on nothing: there is no variable 'nothing'\."),
        ("diff HEAD --on X_test nope", r"there is no variable 'nope'"),
        ("diff HEAD --on X_test y_test X_test", r"--on takes X and optionally Y, not 3 names"),
        ("diff HEAD --on X_test clf", r"X_test has 50 samples and clf 1"),
    ],
)
def test_the_magic_refuses_data_it_cannot_use_in_one_line(shell, line, says):
    fit_in_shell(shell, 1.0)
    shell.user_ns["clf"] = [shell.user_ns["clf"]]
    shell.run_line_magic("mlvc", "commit -m one")
    with pytest.raises(UsageError, match=says) as info:
        shell.run_line_magic("mlvc", line)
    assert "\n" not in str(info.value)


def ask(shell, replies, **fields) -> dict:
    from jupyter_mlvc.kernel_protocol import handle

    handle(shell, json.dumps(fields))
    return replies[-1]


def test_the_kernel_protocol_runs_the_models_on_named_data(shell, replies, tmp_path, monkeypatch):
    notebook = tmp_path / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    fit_in_shell(shell, 0.01)
    first = ask(shell, replies, op="commit", message="weak")["result"]["snapshot"]["id"]
    weak = shell.user_ns["clf"]
    fit_in_shell(shell, 10.0)
    X_test = shell.user_ns["X_test"]
    k = int((weak.predict(X_test) != shell.user_ns["clf"].predict(X_test)).sum())

    answer = ask(shell, replies, op="diff", ref=first, x="X_test", y="y_test")
    assert answer["ok"], answer
    models = answer["result"]["models"]
    assert (models["x"], models["y"], models["n_samples"]) == ("X_test", "y_test", len(X_test))
    assert by_name(models)["clf"]["n_differ"] == k
    json.dumps(answer, allow_nan=False)

    second = ask(shell, replies, op="commit", message="strong")["result"]["snapshot"]["id"]
    both = ask(shell, replies, op="diff", ref=first, b=second, x="X_test")["result"]
    assert both["b"]["id"] == second and by_name(both["models"])["clf"]["n_differ"] == k
    assert "models" not in ask(shell, replies, op="diff", ref=first)["result"]

    for fields, says in [
        ({"x": "nothing"}, 'the kernel has no variable "nothing"'),
        ({"x": "X_test", "y": "__import__('os')"}, "is not a variable name"),
        ({"y": "y_test"}, "y only with x"),
        ({"x": 3}, "x must be a string"),
    ]:
        refused = ask(shell, replies, op="diff", ref=first, **fields)
        assert (refused["ok"], refused["error"]) == (False, "BadRequest"), refused
        assert says in refused["message"]


def test_the_widgets_target_takes_the_same_request(tmp_path, iris):
    X_train, X_test, y_train, _ = iris
    ns = {"clf": LogisticRegression(C=0.01).fit(X_train, y_train), "X_test": X_test}
    with Repo.init(tmp_path) as repo:
        target = RepoTarget(repo, ns, notebook_path="", save=False)
        snap = run(target, {"op": "commit", "message": "one"})
        ns["clf"] = LogisticRegression(C=10, max_iter=1000).fit(X_train, y_train)
        data = run(target, Diff(snap.id, x="X_test"))
        assert data["models"]["x"] == "X_test" and by_name(data["models"])["clf"]["n_differ"] > 0
        with pytest.raises(BadRequest, match="no variable"):
            run(target, Diff(snap.id, x="y_test"))
