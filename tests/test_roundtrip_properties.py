"""Property: restoring a commit gives back what was committed, for every kind of value."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.extra import pandas as hpd

from .helpers import same

PROPS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def round_trip(repo, ns):
    snap = repo.commit(ns, "property")
    out = repo.checkout(snap.id)
    # Nothing shows as changed after a checkout: not even the values that re-pickle to
    # other bytes once loaded (a masked array, a frame whose internal strings pandas
    # shared), which the status recognises by reading them back once.
    status = repo.status(out, snap.id)
    assert status.clean, status
    return out


dtypes = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.datetime64_dtypes(),
    hnp.timedelta64_dtypes(),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
)


@PROPS
@given(hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=3, max_side=40)))
def test_numpy_arrays_of_every_dtype(repo, arr):
    out = round_trip(repo, {"a": arr})
    assert same(out["a"], arr)


@PROPS
@given(
    hnp.arrays(
        hnp.floating_dtypes(), hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=30)
    ),
    st.integers(1, 3),
)
def test_views_and_non_contiguous(repo, base, step):
    ns = {"base": base, "view": base[::step, 1:], "t": base.T, "col": base[:, 0]}
    out = round_trip(repo, ns)
    for name in ns:
        assert same(out[name], ns[name]), name
    assert np.shares_memory(out["view"], out["base"])
    assert np.shares_memory(out["col"], out["base"])
    out["base"][0, 0] = 123.0
    assert out["col"][0] == 123.0  # writes show through views, as before


def test_big_array_views_share_memory(repo):
    base = np.arange(2_000_000, dtype=np.float64)
    ns = {"base": base, "tail": base[1_000_000:], "rev": base[::-1]}
    out = round_trip(repo, ns)
    assert same(out["tail"], ns["tail"]) and same(out["rev"], ns["rev"])
    out["base"][-1] = -1.0
    assert out["tail"][-1] == -1.0 and out["rev"][0] == -1.0


def test_object_structured_masked_and_zero_d(repo):
    ns = {
        "obj": np.array([1, "two", None, [3]], dtype=object),
        "rec": np.array([(1, 2.0, b"x")], dtype=[("a", "i4"), ("b", "f8"), ("c", "S1")]),
        "masked": np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False]),
        "zero_d": np.array(3.5),
        "scalar": np.float32(1.25),
    }
    out = round_trip(repo, ns)
    for name in ns:
        assert same(out[name], ns[name]), name


@PROPS
@given(
    hpd.data_frames(
        [
            hpd.column("ints", dtype=np.int64),
            hpd.column("floats", dtype=np.float64),
            hpd.column("text", elements=st.text(max_size=3)),
            hpd.column("flags", dtype=bool),
        ],
        index=hpd.range_indexes(max_size=30),
    )
)
def test_dataframes(repo, df):
    out = round_trip(repo, {"df": df})
    assert same(out["df"], df)


def test_pandas_special_dtypes(repo):
    idx = pd.MultiIndex.from_product([["a", "b"], [1, 2, 3]], names=["k", "n"])
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(list("xyzxyz"), categories=list("zyx"), ordered=True),
            "when": pd.date_range("2024-01-01", periods=6, freq="h", tz="Europe/Paris"),
            "naive": pd.date_range("2024-01-01", periods=6, freq="D"),
            "nullable": pd.array([1, None, 3, 4, None, 6], dtype="Int64"),
            "delta": pd.to_timedelta(range(6), unit="s"),
        },
        index=idx,
    )
    df.attrs["source"] = "lab"
    series = pd.Series([1.5, None, 3.0], name="s", dtype="Float64")
    # pandas shares some internal strings (datetime units) between objects in the original
    # frame but not in a loaded one, so this frame re-pickles to other bytes.
    out = round_trip(repo, {"df": df, "series": series})
    assert same(out["df"], df) and out["df"].attrs == {"source": "lab"}
    assert same(out["series"], series)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.binary(max_size=10),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=5), children, max_size=5)
        | st.tuples(children, children)
    ),
    max_leaves=30,
)


@PROPS
@given(json_like, json_like)
def test_nested_containers(repo, a, b):
    out = round_trip(repo, {"a": a, "b": b})
    assert same(out["a"], a) and same(out["b"], b)


@PROPS
@given(st.lists(st.integers(), max_size=5), st.integers(0, 3))
def test_cycles_and_shared_references(repo, items, k):
    shared = list(items)
    cyc: list = [shared]
    cyc.append(cyc)
    d = {"self": None, "shared": shared}
    d["self"] = d
    ns = {"shared": shared, "cyc": cyc, "d": d, "many": [shared] * k}
    out = round_trip(repo, ns)
    assert out["cyc"][1] is out["cyc"]
    assert out["d"]["self"] is out["d"]
    assert out["cyc"][0] is out["shared"] and out["d"]["shared"] is out["shared"]
    assert all(x is out["shared"] for x in out["many"])
    assert out["shared"] == items


def test_functions_and_classes_defined_in_main(repo):
    ns: dict = {}
    exec(
        "import dataclasses, enum, functools\n"
        "OFFSET = 1\n"
        "def add(x, y=2):\n    'doc'\n    return x + y + OFFSET\n"
        "square = lambda v: v * v\n"
        "def make_counter():\n    n = [0]\n    def inc():\n        n[0] += 1\n        return n[0]\n    return inc\n"
        "counter = make_counter(); counter()\n"
        "@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int = 0\n    def norm(self):\n        return abs(self.x) + abs(self.y)\n"
        "class Color(enum.Enum):\n    RED = 1\n    BLUE = 2\n"
        "p = Point(3, -4)\nfav = Color.BLUE\npartial = functools.partial(add, y=10)\n",
        ns,
    )
    fresh: dict = {}
    snap = repo.commit(ns, "code")
    repo.restore(snap.id, fresh, save=False)
    assert fresh["add"](1) == 4 and fresh["add"].__doc__ == "doc"
    assert fresh["square"](5) == 25
    assert fresh["counter"]() == 2
    assert fresh["p"].norm() == 7 and isinstance(fresh["p"], fresh["Point"])
    assert fresh["fav"] is fresh["Color"].BLUE
    assert fresh["partial"](1) == 12
    fresh["OFFSET"] = 100
    assert fresh["add"](1) == 103  # the restored function reads the notebook's globals


def test_datetimes_and_collections(repo):
    import collections
    import decimal
    import fractions
    import re

    ns = {
        "when": dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "day": dt.date(2024, 1, 1),
        "counter": collections.Counter("abracadabra"),
        "dq": collections.deque([1, 2, 3], maxlen=5),
        "od": collections.OrderedDict(b=1, a=2),
        "dd": collections.defaultdict(list, {"k": [1]}),
        "pattern": re.compile(r"\d+", re.I),
        "dec": decimal.Decimal("1.10"),
        "frac": fractions.Fraction(1, 3),
        "s": {1, 2, 3},
        "fs": frozenset({"a"}),
        "c": 1 + 2j,
        "big": 10**40,
        "b": bytearray(b"xyz"),
    }
    out = round_trip(repo, ns)
    for name, value in ns.items():
        assert out[name] == value and type(out[name]) is type(value), name
    assert out["dd"].default_factory is list and out["dq"].maxlen == 5


def test_fitted_sklearn_estimator(repo):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    model = make_pipeline(
        StandardScaler(), RandomForestClassifier(n_estimators=10, random_state=0)
    ).fit(X, y)
    snap = repo.commit({"model": model, "X": X}, "model")
    card = snap.variables["model"].summary["model"]
    assert card["library"] == "scikit-learn" and card["class"] == "Pipeline" and card["fitted"]
    assert card["version"] == sklearn.__version__
    out = repo.checkout(snap.id)
    assert np.array_equal(out["model"].predict(X), model.predict(X))
    assert np.array_equal(out["model"].predict_proba(X), model.predict_proba(X))


def test_pickles_naming_the_modules_old_paths_still_load():
    # Stores made before the modules moved into packages name jupyter_mlvc.pickling.
    from jupyter_mlvc.state import pickling

    stream = b"\x80\x05cjupyter_mlvc.pickling\nMOVED_MODULES\n."
    assert pickling.loads(stream, {}) is pickling.MOVED_MODULES
