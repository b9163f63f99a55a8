"""The kinds of state a data-science notebook holds, for the restore-fidelity suite.

Each kind runs ``setup`` in a fresh notebook-like namespace, is committed, then
``perturb``ed the way a user would, then restored; ``check`` runs in the restored
namespace and must pass. ``expect`` is ``exact`` (restored as it was) or ``loud``
(the variables in ``names`` are skipped with a reason: never silently wrong).
``requires`` lists modules the kind needs. Checks use literal expectations, so the
same code judges a restore in this process and in a fresh one.
"""

from __future__ import annotations

KINDS: list[dict] = []


def kind(name, setup, perturb, check, names, expect="exact", requires=()):
    KINDS.append(
        {
            "name": name,
            "setup": setup,
            "perturb": perturb,
            "check": check,
            "names": list(names),
            "expect": expect,
            "requires": list(requires),
        }
    )


# -- Python -------------------------------------------------------------------

kind(
    "scalars",
    "i = 7\nf = 2.5\nc = 1+2j\nb = True\nn = None",
    "i = 8\nf = 0.0\nc = 0j\nb = False\nn = 1",
    "assert (i, f, c, b, n) == (7, 2.5, 1+2j, True, None)\nassert type(b) is bool",
    ["i", "f", "c", "b", "n"],
)
kind("big int", "big = 3**200", "big += 1", "assert big == 3**200", ["big"])
kind(
    "memoryview of a bytearray",
    "buf = bytearray(b'abcdef')\nmv = memoryview(buf)[1:4]",
    "buf[1] = 0x5A\nmv = None",
    "assert type(mv) is memoryview and mv.obj is buf and bytes(mv) == b'bcd'\n"
    "mv[0] = 0x41\nassert buf[1] == 0x41",
    ["buf", "mv"],
)
kind(
    "view of an object array (a row of plt.subplots' axes)",
    "import numpy as np\nobjs = np.empty(4, dtype=object)\nobjs[:] = ['a', 'b', 'c', 'd']\nhalf = objs[2:]",
    "half = None",
    "assert np.shares_memory(objs, half) and list(half) == ['c', 'd']\n"
    "half[0] = 'z'\nassert objs[2] == 'z'",
    ["objs", "half"],
    requires=["numpy"],
)
kind(
    "longlong scalars and arrays (scikit-learn's tree arrays are 'q', not 'l')",
    "import numpy as np\nll = np.arange(4, dtype=np.longlong)\nnode = ll[2]\nu = np.ulonglong(5)",
    "ll = ll.astype(np.int64)\nnode = np.int64(2)\nu = 0",
    "assert ll.dtype.char == 'q' and type(ll[0]) is np.longlong and ll.tolist() == [0, 1, 2, 3]\n"
    "assert type(node) is np.longlong and node == 2 and type(u) is np.ulonglong and u == 5",
    ["ll", "node", "u"],
    requires=["numpy"],
)
kind(
    "arrays over one foreign memory (tree_.children_left and tree_.threshold)",
    "from sklearn.datasets import load_iris\nfrom sklearn.tree import DecisionTreeClassifier\n"
    "import numpy as np\nXi, yi = load_iris(return_X_y=True)\n"
    "tree = DecisionTreeClassifier(max_leaf_nodes=3, random_state=0).fit(Xi, yi).tree_\n"
    "left, right, thr = tree.children_left, tree.children_right, tree.threshold\n"
    "expected = (left.tolist(), right.tolist(), thr.tolist())",
    "left = left.copy()\nright = None",
    "assert (left.tolist(), right.tolist(), thr.tolist()) == expected\n"
    "assert np.may_share_memory(left, right) and np.may_share_memory(left, thr)",
    ["tree", "left", "right", "thr", "expected"],
    requires=["sklearn"],
)
kind(
    "names imported after the snapshot",
    "import json\nfrom collections import OrderedDict\nx = 1",
    "import textwrap\nfrom collections import Counter\nimport collections as json",
    "assert 'textwrap' not in globals() and 'Counter' not in globals()\n"
    "assert json.dumps(1) == '1' and OrderedDict.__name__ == 'OrderedDict'",
    ["x"],
)
kind(
    "unicode string",
    "s = 'héllo wörld ✓ 日本'",
    "s = s.upper()",
    "assert s == 'héllo wörld ✓ 日本'",
    ["s"],
)
kind(
    "bytes and bytearray",
    "bs = b'\\x00\\xff'\nba = bytearray(b'abc')",
    "ba.append(100)\nbs = b''",
    "assert bs == b'\\x00\\xff' and ba == bytearray(b'abc') and type(ba) is bytearray",
    ["bs", "ba"],
)
kind(
    "nested list",
    "L = [1, [2, [3, [4]]], 'x']",
    "L[1][1][1].append(5)",
    "assert L == [1, [2, [3, [4]]], 'x']",
    ["L"],
)
kind(
    "nested dict",
    "D = {'a': {'b': {'c': [1, 2]}}, 1: None}",
    "D['a']['b']['c'].pop()\nD['new'] = 1",
    "assert D == {'a': {'b': {'c': [1, 2]}}, 1: None} and list(D) == ['a', 1]",
    ["D"],
)
kind(
    "tuple and namedtuple",
    "import collections\nPt = collections.namedtuple('Pt', 'x y')\np = Pt(1, 2)\nt = (1, (2, 3))",
    "p = p._replace(x=9)\nt = ()",
    "assert p == (1, 2) and p.x == 1 and type(p).__name__ == 'Pt' and t == (1, (2, 3))",
    ["p", "t"],
)
kind(
    "set and frozenset",
    "S = {1, 2, 3}\nFS = frozenset({'a'})",
    "S.add(4)\nFS = frozenset()",
    "assert S == {1, 2, 3} and FS == frozenset({'a'}) and type(FS) is frozenset",
    ["S", "FS"],
)
kind("lambda", "sq = lambda v: v * v", "sq = lambda v: 0", "assert sq(7) == 49", ["sq"])
kind(
    "closure",
    "def counter():\n    n = [0]\n    def inc():\n        n[0] += 1\n        return n[0]\n    return inc\nc1 = counter()\nc1()",
    "c1(); c1(); c1()",
    "assert c1() == 2",
    ["c1"],
)
kind(
    "function reading notebook globals",
    "RATE = 2\ndef scale(v):\n    return v * RATE",
    "RATE = 10",
    "assert scale(3) == 6\nRATE = 5\nassert scale(3) == 15",
    ["scale", "RATE"],
)
kind(
    "class and instance defined in the notebook",
    "class Acc:\n    def __init__(self):\n        self.total = 0\n    def add(self, v):\n        self.total += v\n        return self\nacc = Acc().add(3)",
    "acc.add(100)",
    "assert acc.total == 3 and isinstance(acc, Acc) and acc.add(1).total == 4",
    ["acc", "Acc"],
)
kind(
    "class edited after the snapshot",
    "class Model:\n    def predict(self):\n        return 'v1'\nm = Model()",
    "class Model:\n    def predict(self):\n        return 'v2'\nm2 = Model()",
    "assert m.predict() == 'v1' and Model().predict() == 'v1' and type(m) is Model\nassert 'm2' not in globals()",
    ["m", "Model"],
)
kind(
    "dataclass",
    "import dataclasses\n@dataclasses.dataclass\nclass Cfg:\n    lr: float = 0.1\n    layers: list = dataclasses.field(default_factory=lambda: [8, 8])\ncfg = Cfg(lr=0.01)",
    "cfg.lr = 1.0\ncfg.layers.append(3)",
    "assert cfg == Cfg(lr=0.01, layers=[8, 8]) and dataclasses.is_dataclass(cfg)",
    ["cfg", "Cfg"],
)
kind(
    "enum",
    "import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\nfav = Color.BLUE",
    "fav = Color.RED",
    "assert fav is Color.BLUE and fav.value == 2",
    ["fav", "Color"],
)
kind(
    "functools.partial",
    "import functools\ndef power(b, e):\n    return b ** e\ncube = functools.partial(power, e=3)",
    "cube = functools.partial(power, e=2)",
    "assert cube(2) == 8 and cube.keywords == {'e': 3}",
    ["cube"],
)
kind(
    "generator",
    "gen = (i * i for i in range(10))\nnext(gen)",
    "next(gen)",
    "",
    ["gen"],
    expect="loud",
)
kind(
    "itertools.count",
    "import itertools\ncnt = itertools.count(10, 2)\nnext(cnt)",
    "next(cnt); next(cnt)",
    "assert next(cnt) == 12",
    ["cnt"],
)
kind("recursive list", "R = [1]\nR.append(R)", "R.pop()", "assert R[1] is R and R[0] == 1", ["R"])
kind(
    "shared structure across variables",
    "shared = [1, 2]\nA = {'k': shared}\nB = [shared]",
    "shared.append(3)\nB = [[1, 2]]",
    "assert A['k'] is B[0] is shared and shared == [1, 2]",
    ["shared", "A", "B"],
)
kind(
    "deleted variable stays deleted",
    "keep = 1\ntmp = 2\ndel tmp",
    "tmp = 3\nextra = 4",
    "assert 'tmp' not in globals() and 'extra' not in globals() and keep == 1",
    ["keep"],
)
kind(
    "datetime with time zone",
    "import datetime as dt, zoneinfo\nwhen = dt.datetime(2024, 3, 31, 1, 30, tzinfo=zoneinfo.ZoneInfo('Europe/Paris'))",
    "when = when + dt.timedelta(hours=1)",
    "assert when.isoformat() == '2024-03-31T01:30:00+01:00' and str(when.tzinfo) == 'Europe/Paris'",
    ["when"],
)
kind(
    "date, time, timedelta",
    "import datetime as dt\nday = dt.date(2024, 2, 29)\nat = dt.time(13, 5, 1, 7)\ngap = dt.timedelta(days=1, microseconds=3)",
    "day = dt.date.today()\ngap = -gap",
    "assert (day, at, gap) == (dt.date(2024, 2, 29), dt.time(13, 5, 1, 7), dt.timedelta(days=1, microseconds=3))",
    ["day", "at", "gap"],
)
kind(
    "compiled regex",
    "import re\npat = re.compile(r'(\\d+)-(\\w+)', re.IGNORECASE)",
    "pat = re.compile('x')",
    "assert pat.flags & re.IGNORECASE and pat.match('12-AB').groups() == ('12', 'AB')",
    ["pat"],
)
kind(
    "collections",
    "import collections\nctr = collections.Counter('abracadabra')\ndq = collections.deque([1, 2], maxlen=3)\nod = collections.OrderedDict(b=1, a=2)\ndd = collections.defaultdict(list, k=[1])\ncm = collections.ChainMap({'a': 1}, {'b': 2})",
    "ctr['z'] += 5\ndq.append(9); dq.append(10)\nod.move_to_end('b')\ndd['new'].append(1)\ncm.maps[0]['a'] = 0",
    "assert ctr == collections.Counter('abracadabra') and dq == collections.deque([1, 2]) and dq.maxlen == 3\n"
    "assert list(od) == ['b', 'a'] and dd.default_factory is list and dict(dd) == {'k': [1]}\nassert dict(cm) == {'a': 1, 'b': 2}",
    ["ctr", "dq", "od", "dd", "cm"],
)
kind(
    "decimal and fraction",
    "import decimal, fractions\ndec = decimal.Decimal('1.10')\nfr = fractions.Fraction(1, 3)",
    "dec = decimal.Decimal(0)",
    "assert str(dec) == '1.10' and fr == fractions.Fraction(1, 3)",
    ["dec", "fr"],
)
kind(
    "range and slice",
    "rg = range(2, 20, 3)\nsl = slice(1, None, 2)",
    "rg = range(0)",
    "assert rg == range(2, 20, 3) and sl == slice(1, None, 2)",
    ["rg", "sl"],
)
kind(
    "SimpleNamespace, UUID, Path",
    "import types, uuid, pathlib\nsn = types.SimpleNamespace(a=1)\nuid = uuid.UUID(int=12345)\npth = pathlib.PurePosixPath('/data/x.csv')",
    "sn.a = 2\nsn.b = 3",
    "assert vars(sn) == {'a': 1} and uid.int == 12345 and str(pth) == '/data/x.csv'",
    ["sn", "uid", "pth"],
)

# -- numpy --------------------------------------------------------------------

NP = ["numpy"]
kind(
    "numpy numeric dtypes",
    "import numpy as np\nnums = {t: np.arange(5).astype(t) for t in ['int8', 'uint16', 'int64', 'float16', 'float32', 'float64', 'complex128']}",
    "nums['int8'][0] = 100\nnums['float64'] *= 2",
    "assert all(str(v.dtype) == k and v.tolist() == list(np.arange(5).astype(k).tolist()) for k, v in nums.items())",
    ["nums"],
    requires=NP,
)
kind(
    "numpy bool, str and bytes arrays",
    "import numpy as np\nbarr = np.array([True, False])\nsarr = np.array(['ab', 'ç'])\nyarr = np.array([b'x', b'yz'])",
    "barr[:] = True\nsarr[0] = 'zz'",
    "assert barr.tolist() == [True, False] and sarr.tolist() == ['ab', 'ç'] and sarr.dtype == np.dtype('<U2') and yarr.dtype == np.dtype('S2')",
    ["barr", "sarr", "yarr"],
    requires=NP,
)
kind(
    "numpy datetime64 and timedelta64",
    "import numpy as np\ndts = np.array(['2024-01-01', 'NaT'], dtype='datetime64[s]')\ntds = np.array([1, 2], dtype='timedelta64[ms]')",
    "dts[0] = np.datetime64('2000-01-01')",
    "assert str(dts[0]) == '2024-01-01T00:00:00' and np.isnat(dts[1]) and tds.dtype == np.dtype('<m8[ms]') and tds.tolist()[1].microseconds == 2000",
    ["dts", "tds"],
    requires=NP,
)
kind(
    "numpy view and its base",
    "import numpy as np\nbase = np.arange(100.0)\nview = base[10:20]",
    "base[10] = -1\nview = view.copy()",
    "assert np.shares_memory(base, view) and view[0] == 10.0\nbase[11] = 99\nassert view[1] == 99",
    ["base", "view"],
    requires=NP,
)
kind(
    "numpy non-contiguous",
    "import numpy as np\nmat = np.arange(12.0).reshape(3, 4)\ncolT = mat.T\nevery2 = mat[:, ::2]",
    "mat *= 0",
    "assert colT.tolist() == np.arange(12.0).reshape(3, 4).T.tolist() and np.shares_memory(mat, every2) and every2.tolist() == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]]",
    ["mat", "colT", "every2"],
    requires=NP,
)
kind(
    "numpy structured array",
    "import numpy as np\nrec = np.array([(1, 2.5, b'ab')], dtype=[('id', 'i4'), ('w', 'f8'), ('tag', 'S2')])",
    "rec['w'] = 0",
    "assert rec.dtype.names == ('id', 'w', 'tag') and rec[0]['w'] == 2.5 and rec[0]['tag'] == b'ab'",
    ["rec"],
    requires=NP,
)
kind(
    "numpy masked array",
    "import numpy as np\nma = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])",
    "ma.mask = False",
    "assert ma.mask.tolist() == [False, True, False] and ma.sum() == 4.0",
    ["ma"],
    requires=NP,
)
kind(
    "numpy object array",
    "import numpy as np\noarr = np.array([1, 'two', [3], None], dtype=object)",
    "oarr[2].append(4)",
    "assert oarr.dtype == object and oarr.tolist() == [1, 'two', [3], None]",
    ["oarr"],
    requires=NP,
)
kind(
    "numpy 0-d and scalars",
    "import numpy as np\nz = np.array(3.5)\nsc = np.float32(1.25)\nsi = np.int16(-3)",
    "z[()] = 0",
    "assert z.shape == () and z[()] == 3.5 and type(sc) is np.float32 and sc == 1.25 and type(si) is np.int16",
    ["z", "sc", "si"],
    requires=NP,
)
kind(
    "numpy read-only array",
    "import numpy as np\nro = np.arange(3)\nro.flags.writeable = False",
    "ro = ro.copy()",
    "assert not ro.flags.writeable and ro.tolist() == [0, 1, 2]",
    ["ro"],
    requires=NP,
)
kind(
    "numpy Generator state",
    "import numpy as np\ngen_rng = np.random.default_rng(7)\ngen_rng.random(3)",
    "gen_rng.random(100)",
    "assert gen_rng.random() == np.random.default_rng(7).random(4)[3]",
    ["gen_rng"],
    requires=NP,
)
kind(
    "numpy legacy global random state",
    "import numpy as np\nnp.random.seed(11)\nmarker = 1",
    "np.random.rand(50)",
    "got = np.random.rand()\nnp.random.seed(11)\nassert got == np.random.rand()",
    ["marker"],
    requires=NP,
)
kind(
    "python random state",
    "import random\nrandom.seed(5)\nmarker2 = 1",
    "random.random()",
    "got = random.random()\nrandom.seed(5)\nassert got == random.random()",
    ["marker2"],
)

# -- pandas -------------------------------------------------------------------

PD = ["pandas"]
kind(
    "pandas mixed frame",
    "import pandas as pd\ndf = pd.DataFrame({'i': [1, 2], 'f': [0.5, None], 's': ['a', 'b'], 'b': [True, False]})",
    "df.loc[0, 'i'] = 100\ndf['new'] = 1",
    "assert list(df.columns) == ['i', 'f', 's', 'b'] and df['i'].tolist() == [1, 2] and df['s'].tolist() == ['a', 'b']\n"
    "assert df.loc[0, 'f'] == 0.5 and pd.isna(df.loc[1, 'f']) and df['b'].tolist() == [True, False]\n"
    "assert list(df.dtypes.astype(str))[:2] == ['int64', 'float64'] and df['b'].dtype == bool",
    ["df"],
    requires=PD,
)
kind(
    "pandas categorical",
    "import pandas as pd\ncat = pd.Series(pd.Categorical(['lo', 'hi', 'lo'], categories=['lo', 'hi'], ordered=True))",
    "cat = cat.cat.add_categories(['mid'])",
    "assert list(cat.cat.categories) == ['lo', 'hi'] and cat.cat.ordered and (cat.cat.codes.tolist() == [0, 1, 0])",
    ["cat"],
    requires=PD,
)
kind(
    "pandas tz-aware datetimes",
    "import pandas as pd\ntz = pd.Series(pd.date_range('2024-03-30', periods=3, freq='D', tz='Europe/Paris'))",
    "tz = tz.dt.tz_convert('UTC')",
    "assert str(tz.dt.tz) == 'Europe/Paris' and str(tz.iloc[2]) == '2024-04-01 00:00:00+02:00'",
    ["tz"],
    requires=PD,
)
kind(
    "pandas MultiIndex",
    "import pandas as pd\nmi = pd.DataFrame({'v': range(4)}, index=pd.MultiIndex.from_product([['a', 'b'], [1, 2]], names=['k', 'n']))",
    "mi = mi.reset_index()",
    "assert mi.index.names == ['k', 'n'] and mi.loc[('b', 2), 'v'] == 3",
    ["mi"],
    requires=PD,
)
kind(
    "pandas nullable and string dtypes",
    "import pandas as pd\nnl = pd.DataFrame({'I': pd.array([1, None], dtype='Int64'), 'B': pd.array([True, None], dtype='boolean'), 'S': pd.array(['x', None], dtype='string')})",
    "nl['I'] = nl['I'].fillna(0)",
    "assert list(nl.dtypes.astype(str)) == ['Int64', 'boolean', 'string'] and nl['I'].isna().tolist() == [False, True] and nl.loc[0, 'S'] == 'x'",
    ["nl"],
    requires=PD,
)
kind(
    "pandas sparse",
    "import pandas as pd\nsp = pd.Series(pd.arrays.SparseArray([0, 0, 1, 0, 2]))",
    "sp = sp.sparse.to_dense()",
    "assert isinstance(sp.dtype, pd.SparseDtype) and sp.sparse.density == 0.4 and sp.tolist() == [0, 0, 1, 0, 2]",
    ["sp"],
    requires=PD,
)
kind(
    "pandas attrs",
    "import pandas as pd\nat_df = pd.DataFrame({'a': [1]})\nat_df.attrs['units'] = 'm/s'",
    "at_df.attrs.clear()",
    "assert at_df.attrs == {'units': 'm/s'}",
    ["at_df"],
    requires=PD,
)
kind(
    "pandas column held in another variable",
    "import pandas as pd\nframe = pd.DataFrame({'a': [1, 2, 3], 'b': [4, 5, 6]})\ncol = frame['a']",
    "frame.loc[0, 'a'] = 100\ncol = col * 0",
    "assert col.tolist() == [1, 2, 3] and frame['a'].tolist() == [1, 2, 3] and col.name == 'a'",
    ["frame", "col"],
    requires=PD,
)
kind(
    "pandas column under copy-on-write stays independent of its frame",
    "import pandas as pd\nframe = pd.DataFrame({'a': [1.0, 2.0], 'b': [3.0, 4.0]})\ncol = frame['a']",
    "col = None",
    "col.iloc[0] = 9.0\nassert frame['a'].iloc[0] == 1.0\n"
    "frame.iloc[1, 0] = 7.0\nassert col.iloc[1] == 2.0",
    ["frame", "col"],
    requires=PD,
)
kind(
    "pandas scalars",
    "import pandas as pd\nts = pd.Timestamp('2024-01-01 12:00', tz='UTC')\nper = pd.Period('2024Q1')\niv = pd.Interval(0, 1, closed='left')",
    "ts = None",
    "assert ts == pd.Timestamp('2024-01-01 12:00', tz='UTC') and str(per) == '2024Q1' and iv.closed == 'left'",
    ["ts", "per", "iv"],
    requires=PD,
)

# -- scipy, scikit-learn, matplotlib -------------------------------------------

kind(
    "scipy sparse matrix",
    "import scipy.sparse as ss\nsm = ss.csr_matrix(([1.0, 2.0], ([0, 2], [1, 0])), shape=(3, 3))",
    "sm = sm * 10",
    "assert sm.format == 'csr' and sm.toarray().tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]",
    ["sm"],
    requires=["scipy"],
)
kind(
    "scikit-learn pipeline",
    "from sklearn.datasets import load_iris\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.linear_model import LogisticRegression\n"
    "Xi, yi = load_iris(return_X_y=True)\npipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(Xi, yi)\nexpected_coef = pipe[-1].coef_.copy()",
    "pipe.set_params(logisticregression__C=0.001).fit(Xi, yi)",
    "assert (pipe[-1].coef_ == expected_coef).all() and pipe.get_params()['logisticregression__C'] == 1.0",
    ["pipe"],
    requires=["sklearn"],
)
kind(
    "matplotlib figure",
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3], [4, 5, 6], label='l')\nax.set_title('T')",
    "ax.set_title('changed')\nax.lines[0].set_ydata([0, 0, 0])",
    "assert ax.get_title() == 'T' and list(ax.lines[0].get_ydata()) == [4, 5, 6] and ax.figure is fig",
    ["fig", "ax"],
    requires=["matplotlib"],
)

# -- torch --------------------------------------------------------------------

TORCH = ["torch"]
kind(
    "torch tensors sharing storage",
    "import torch\nbig_t = torch.arange(10.0)\npart_t = big_t[2:5]",
    "big_t[2] = -1\npart_t = part_t.clone()",
    "assert part_t.tolist() == [2.0, 3.0, 4.0]\nbig_t[3] = 42\nassert part_t[1].item() == 42",
    ["big_t", "part_t"],
    requires=TORCH,
)
kind(
    "torch leaf tensor with grad",
    "import torch\nw = torch.tensor([1.0, 2.0], requires_grad=True)\n(w * w).sum().backward()",
    "w.grad.zero_()\nw.requires_grad_(False)",
    "assert w.requires_grad and w.is_leaf and w.grad.tolist() == [2.0, 4.0]",
    ["w"],
    requires=TORCH,
)
kind(
    "torch non-leaf tensor",
    "import torch\nleaf = torch.ones(2, requires_grad=True)\nnonleaf = leaf * 3",
    "nonleaf = nonleaf.detach()",
    "",
    ["nonleaf"],
    expect="loud",
    requires=TORCH,
)
kind(
    "torch module with optimizer",
    "import torch\ntorch.manual_seed(0)\nnet = torch.nn.Linear(3, 1)\nopt = torch.optim.Adam(net.parameters(), lr=0.1)\nxs = torch.ones(4, 3)\nopt.zero_grad(); net(xs).sum().backward(); opt.step()\nsnap_w = net.weight.detach().clone()",
    "opt.zero_grad(); net(xs).sum().backward(); opt.step()",
    "assert torch.equal(net.weight, snap_w) and opt.param_groups[0]['params'][0] is net.weight\nassert opt.state[net.weight]['step'].item() == 1",
    ["net", "opt"],
    requires=TORCH,
)
kind(
    "torch random state",
    "import torch\ntorch.manual_seed(3)\nmarker3 = 1",
    "torch.rand(10)",
    "got = torch.rand(2)\ntorch.manual_seed(3)\nassert torch.equal(got, torch.rand(2))",
    ["marker3"],
    requires=TORCH,
)

# -- resources: must be loud ---------------------------------------------------

kind(
    "open file for reading",
    "rf = open(DATA_FILE)\nrf.read(5)",
    "rf.read(3)",
    "assert rf.tell() == 8 and open(DATA_FILE).read() == 'line one\\nline two\\n'",
    ["rf"],
    expect="loud",
)
kind(
    "open file for writing",
    "wf = open(OUT_FILE, 'a')\nwf.write('kept\\n')\nwf.flush()",
    "wf.write('more\\n')\nwf.flush()",
    "assert open(OUT_FILE).read() == 'kept\\nmore\\n'",
    ["wf"],
    expect="loud",
)
kind("lock", "import threading\nlk = threading.Lock()", "lk.acquire()", "", ["lk"], expect="loud")
kind("socket", "import socket\nsock = socket.socket()", "pass", "", ["sock"], expect="loud")
kind(
    "database connection",
    "import sqlite3\ndb = sqlite3.connect(':memory:')\ndb.execute('create table t (x)')",
    "db.execute('insert into t values (1)')",
    "",
    ["db"],
    expect="loud",
)
