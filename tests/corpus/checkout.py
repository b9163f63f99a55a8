"""In-kernel restore through the public Python API, reported as structured JSON.

The magic prints a summary line meant for people; the campaign needs every name a
restore reported as not restored and why, so it calls ``Repo.restore`` itself and
publishes ``RestoreReport.to_dict()`` with the snapshot's skipped variables.
"""

from __future__ import annotations

import json
from typing import Any

MARKER = "@@CORPUS@@"


def publish(store: str, notebook: str, snapshot: str, ns: dict[str, Any]) -> None:
    from jupyter_mlvc import Repo

    repo = Repo.open(store, notebook_path=notebook)
    try:
        try:
            report = repo.restore(snapshot, ns, notebook_path=notebook).to_dict()
        except Exception as exc:  # a refused restore is a result, not a harness failure
            report = {"failed": f"{type(exc).__name__}: {exc}"}
        report["skipped_at_commit"] = dict(repo.show(snapshot, notebook_path=notebook).skipped)
    finally:
        repo.close()
    print(MARKER + json.dumps(report, default=str))
