"""Restore fidelity on notebooks this project did not write (tests/corpus/).

The default run takes three small gallery notebooks, fixed by name; ``--run-slow``
runs the whole campaign. Both fail on any wrong restore. The gallery is downloaded
on first use; without it the tests skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import report
from tests.corpus.campaign import Limits, classify, restore_points, run_campaign
from tests.corpus.fingerprint import digest, fingerprint
from tests.corpus.run import choose
from tests.corpus.source import SourceUnavailable, load_examples, split_cells

#: Small and quick (each well under 20 s of cells). Two import names after their first
#: cell, so an early restore must remove them; one holds a generator, skipped loudly.
SAMPLE = (
    "cluster/plot_mean_shift.py",
    "decomposition/plot_ica_blind_source_separation.py",
    "svm/plot_iris_svc.py",
)


def _fp(ns: dict) -> dict:
    return fingerprint(ns)


def test_identical_namespaces_are_exact():
    ns = {"a": [1, 2], "b": {"k": 1.5}}
    assert classify(_fp(ns), _fp({"a": [1, 2], "b": {"k": 1.5}}), {})[0] == "exact"


def test_a_name_the_snapshot_lacked_is_wrong():
    verdict, diffs, _ = classify(_fp({"a": 1}), _fp({"a": 1, "Lasso": object}), {})
    assert verdict == "wrong"
    assert [d.name for d in diffs] == ["Lasso"]


def test_a_difference_the_report_names_is_loud():
    report = {"snapshot": {"skipped": {"gen": "generator"}}, "errors": {}}
    expected = _fp({"gen": (i for i in range(3)), "x": 1})
    verdict, _, loud = classify(expected, _fp({"x": 1}), report)
    assert verdict == "loud"
    assert loud == {"gen": "skipped at commit: generator"}


def test_lost_aliasing_and_memory_sharing_are_wrong():
    import numpy as np

    shared = [1]
    base = np.arange(6)
    before = _fp({"a": shared, "b": shared, "arr": base, "view": base[2:]})
    after = _fp({"a": [1], "b": [1], "arr": np.arange(6), "view": np.arange(6)[2:]})
    verdict, diffs, _ = classify(before, after, {})
    assert verdict == "wrong"
    assert {d.name for d in diffs} == {"a", "b", "arr", "view"}


def test_digest_is_of_the_value_not_of_the_pickle():
    text = "s" * 40
    assert digest([text, text]) == digest([text, "s" * 40])
    assert digest({"x": 1.0}) != digest({"x": 1})


def test_gallery_scripts_split_at_cell_markers():
    script = '"""Title\n\nProse."""\n\nimport os\n\n# %%\n# Prose only\n\n# %%\nx = 1\n'
    assert split_cells(script) == ["import os\n", "x = 1\n"]
    assert restore_points(1) == [0]
    assert restore_points(9) == [0, 3, 6, 8]


@pytest.fixture(scope="module")
def examples():
    try:
        return load_examples()
    except SourceUnavailable as exc:
        pytest.skip(f"no corpus: {exc}")


def _wrong(results) -> list[str]:
    return (
        report.wrong_section(results)
        if any(r.verdict == "wrong" for x in results for r in x.restores)
        else []
    )


def test_sample_notebooks_restore_exact_or_loud(examples, tmp_path: Path):
    by_name = {e.name: e for e in examples}
    chosen = [by_name[name] for name in SAMPLE]
    assert all(not e.skip for e in chosen), [e.skip for e in chosen]
    results = run_campaign(chosen, tmp_path, Limits(budget=60, log=tmp_path / "kernels.log"))
    assert [r.skip for r in results] == ["", "", ""]
    assert all(r.restores for r in results)
    wrong = _wrong(results)
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_whole_campaign_restores_exact_or_loud(examples, tmp_path: Path):
    chosen = choose(examples, None, 0)
    assert len(chosen) >= 100
    results = run_campaign(chosen, tmp_path, Limits(budget=60, log=tmp_path / "kernels.log"))
    report.write(report.render(examples, results, "Run by tests/test_corpus.py."))
    assert len([r for r in results if not r.skip]) >= 100
    wrong = _wrong(results)
    assert not wrong, "\n".join(wrong[:50])
