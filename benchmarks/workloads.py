"""The workloads: a few notebook cells each, with a commit after every cell.

Each step is the code a user would run in one cell. After a restore of the
snapshot taken after step *i*, every variable must have the value it had then
(compared by fingerprint, see probe.py), no other variable may exist, and the
step's ``checks`` (shared references, optimizer wiring, deleted names) must hold.

Every workload has a small variable, ``params`` (a dict of a few keys), made in
the first step and changed in the last: a partial restore brings back only it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 2**20
#: The small variable of every workload, restored alone by the partial restores.
SMALL_VAR = "params"


@dataclass
class Step:
    label: str
    code: str
    checks: list[str] = field(default_factory=list)


@dataclass
class Workload:
    name: str
    title: str
    #: Run (untimed) in a fresh kernel before a restore, as a user's first cell would.
    imports: str
    steps: list[Step]
    #: Sizes the targets refer to, e.g. the bytes of the new column.
    facts: dict[str, int] = field(default_factory=dict)
    small_var: str = SMALL_VAR

    def __post_init__(self) -> None:
        # ``params`` is made with the first step and changed by the last one, so a
        # partial restore of the first snapshot has something to bring back.
        first, last = self.steps[0], self.steps[-1]
        first.code += f"\n{self.small_var} = {{'workload': {self.name!r}, 'lr': 0.01, 'step': 1}}"
        last.code += f"\n{self.small_var}['step'] = {len(self.steps)}"


def numeric(size_mb: int) -> Workload:
    """Eight float64 arrays of size/8 each; then 1% of one changed in place; then a new one."""
    cols = 1024
    rows = max(100, size_mb * MB // 8 // 8 // cols)
    lines = ["import numpy as np", "rng = np.random.default_rng(0)"]
    lines += [f"w{i} = rng.standard_normal(({rows}, {cols}))" for i in range(8)]
    start, stop = rows // 2, rows // 2 + max(1, rows // 100)
    return Workload(
        name="numeric",
        title=f"numeric: 8 arrays, {8 * rows * cols * 8 / MB:.0f} MB",
        imports="import numpy as np",
        steps=[
            Step("8 arrays", "\n".join(lines)),
            Step("1% of w3 changed", f"w3[{start}:{stop}] += 1.0"),
            Step("new array w8", f"w8 = rng.standard_normal(({rows}, {cols}))"),
        ],
        facts={"array_bytes": rows * cols * 8, "changed_bytes": (stop - start) * cols * 8},
    )


def frame(size_mb: int) -> Workload:
    """A DataFrame of millions of rows (at 512 MB) with mixed dtypes; then a new column."""
    n = max(20_000, 3_000_000 * size_mb // 512)
    create = f"""\
import numpy as np
import pandas as pd
rng = np.random.default_rng(1)
df = pd.DataFrame({{
    "id": np.arange({n}, dtype=np.int64),
    "x": rng.standard_normal({n}),
    "y": rng.standard_normal({n}).astype(np.float32),
    "count": rng.integers(0, 1000, {n}, dtype=np.int32),
    "flag": rng.random({n}) < 0.5,
    "kind": pd.Categorical.from_codes(rng.integers(0, 4, {n}), ["alpha", "beta", "gamma", "delta"]),
    "when": pd.date_range("2024-01-01", periods={n}, freq="s"),
    "label": np.array(["north", "south", "east", "west"], dtype=object)[rng.integers(0, 4, {n})],
}})"""
    return Workload(
        name="pandas",
        title=f"pandas: {n:,} rows x 8 mixed columns",
        imports="import numpy as np\nimport pandas as pd",
        steps=[
            Step("frame", create),
            Step("new column", 'df["z"] = df["x"] * 2.0 + 1.0'),
        ],
        facts={"new_column_bytes": n * 8},
    )


def strings(size_mb: int) -> Workload:
    """A frame of 2 M rows (at 512 MB) with string columns of dtype object; then one more."""
    n = max(20_000, 2_000_000 * size_mb // 512)
    create = f"""\
import numpy as np
import pandas as pd
rng = np.random.default_rng(5)
cities = np.array([f"city-{{i:02d}}" for i in range(50)], dtype=object)
words = np.array([f"comment {{i}}: " + "lorem ipsum " * (i % 5) for i in range(1000)], dtype=object)
df = pd.DataFrame({{
    "user": pd.Series([f"user-{{i:08d}}" for i in range({n})], dtype=object),
    "city": pd.Series(cities[rng.integers(0, 50, {n})], dtype=object),
    "comment": pd.Series(words[rng.integers(0, 1000, {n})], dtype=object),
    "amount": rng.standard_normal({n}),
}})"""
    return Workload(
        name="strings",
        title=f"strings: {n:,} rows x 3 object (str) columns + 1 float",
        imports="import numpy as np\nimport pandas as pd",
        steps=[
            Step("frame", create, ['all(str(d) == "object" for d in df.dtypes[:3])']),
            Step(
                "new str column",
                'df["code"] = df["city"].str[-2:] + "-" + df["user"].str[-3:]',
                ['str(df.dtypes["code"]) == "object"'],
            ),
        ],
        facts={"rows": n},
    )


def models(size_mb: int) -> Workload:
    """A random forest and a torch MLP with Adam, trained a bit more between commits."""
    small = size_mb < 128
    n, trees, more, steps = (2_000, 10, 5, 20) if small else (20_000, 40, 20, 100)
    train = f"""\
for step in range({steps}):
    idx = rng.integers(0, len(X), 256)
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(mlp(torch.from_numpy(X[idx])), torch.from_numpy(y[idx]))
    loss.backward()
    opt.step()
last_loss = loss.item()
del idx, loss"""
    create = f"""\
import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
rng = np.random.default_rng(2)
X = rng.standard_normal(({n}, 20)).astype(np.float32)
y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
forest = RandomForestClassifier(n_estimators={trees}, max_depth=12, warm_start=True, random_state=0, n_jobs=1)
forest.fit(X, y)
torch.manual_seed(0)
mlp = torch.nn.Sequential(
    torch.nn.Linear(20, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 2),
)
opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
{train}"""
    wired = [
        'all(p is q for p, q in zip(opt.param_groups[0]["params"], mlp.parameters()))',
        "all(p in opt.state for p in mlp.parameters())",
        "len(forest.estimators_) == forest.n_estimators",
    ]
    return Workload(
        name="models",
        title=f"models: forest ({trees}+{more} trees) + MLP with Adam",
        imports="import numpy as np\nimport torch\nimport sklearn.ensemble",
        steps=[
            Step("trained", create, wired),
            Step(
                "trained more",
                f"forest.n_estimators += {more}\nforest.fit(X, y)\n{train}",
                wired,
            ),
        ],
    )


def small_objects(size_mb: int) -> Workload:
    """Hundreds of variables holding tens of thousands of dicts and lists; then one changed."""
    nvars = 50 if size_mb < 128 else 300
    create = f"""\
import random
random.seed(3)
for v in range({nvars}):
    globals()[f"records_{{v:03d}}"] = [
        {{"id": i, "name": f"item-{{v}}-{{i}}", "tags": ["a", "b", str(i % 7)], "score": random.random()}}
        for i in range(100)
    ]"""
    changed = f"records_{nvars // 2:03d}"
    return Workload(
        name="small",
        title=f"small objects: {nvars} variables x 100 dicts",
        imports="import random",
        steps=[
            Step("records", create),
            Step(f"{changed} changed", f'{changed}[7]["score"] = -1.0'),
        ],
        facts={"variables": nvars},
    )


def aliasing(size_mb: int) -> Workload:
    """One array reachable from several variables (and a view of it); then two of them deleted."""
    n = max(1000, size_mb * MB // 8 // 8)
    create = f"""\
import numpy as np
base = np.random.default_rng(4).standard_normal({n})
a = base
holder = [base, "kept"]
table = {{"k": base, "n": 1}}
view = base[::2]"""
    return Workload(
        name="aliasing",
        title=f"aliasing: one {n * 8 / MB:.0f} MB array in 5 variables, then 2 deleted",
        imports="import numpy as np",
        steps=[
            Step(
                "shared",
                create,
                [
                    "a is base",
                    "holder[0] is base",
                    'table["k"] is base',
                    "np.shares_memory(view, base)",
                ],
            ),
            Step(
                "a, table deleted",
                "del a, table",
                [
                    "holder[0] is base",
                    "np.shares_memory(view, base)",
                    '"a" not in globals()',
                    '"table" not in globals()',
                ],
            ),
        ],
    )


ALL = {
    "numeric": numeric,
    "pandas": frame,
    "strings": strings,
    "models": models,
    "small": small_objects,
    "aliasing": aliasing,
}
