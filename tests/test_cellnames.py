"""Which variables a cell may have changed."""

from jupyter_mlvc.state.cellnames import touched_names


def ns_with(code: str) -> dict:
    ns: dict = {"__name__": "__main__"}
    exec(code, ns)
    return ns


def test_names_a_cell_mentions():
    ns = ns_with("a = 1\nb = [1]\nc = 2\nd = {}")
    assert touched_names("b.append(a)\ndel d", ns) >= {"a", "b", "d"}
    assert "c" not in touched_names("b.append(a)\ndel d", ns)
    assert {"e", "f"} <= touched_names("e = f = 3", ns)
    assert "g" in touched_names("def g():\n    pass", ns)
    assert "np" in touched_names("import numpy as np", ns)


def test_functions_reach_their_globals_transitively():
    ns = ns_with(
        "data = []\ncounter = [0]\nunrelated = 1\n"
        "def bump():\n    counter[0] += 1\n"
        "def add(v):\n    data.append(v)\n    bump()\n"
    )
    touched = touched_names("add(5)", ns)
    assert {"add", "data", "bump", "counter"} <= touched and "unrelated" not in touched


def test_methods_of_notebook_classes_are_followed():
    ns = ns_with(
        "log = []\nother = 0\n"
        "class Trainer:\n    def step(self):\n        log.append(1)\n"
        "t = Trainer()\n"
    )
    touched = touched_names("t.step()", ns)
    assert {"t", "log"} <= touched and "other" not in touched


def test_opaque_code_means_everything():
    ns = ns_with("x = 1")
    for cell in (
        "exec('x = 2')",
        "globals()['x'] = 2",
        "vars()['x'] = 3",
        "get_ipython().run_line_magic('time', 'x')",
        "import sys\nsys.modules['__main__'].x = 4",
        "from __main__ import *",
        "x = = 1",
    ):
        assert touched_names(cell, ns) is None, cell
    ns = ns_with("def sneaky():\n    globals()['x'] = 5")
    assert touched_names("sneaky()", ns) is None
