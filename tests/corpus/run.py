"""``python -m tests.corpus.run [--notebooks N] [--seed S] [--only NAME]``: the campaign.

Writes tests/artifacts/corpus.md and prints it; exits 1 if any restore was wrong.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from . import report
from .campaign import Limits, NotebookResult, run_campaign
from .source import Example, load_examples


def choose(examples: list[Example], count: int | None, seed: int) -> list[Example]:
    """The runnable examples, all of them in name order, or ``count`` drawn with ``seed``."""
    runnable = [e for e in examples if not e.skip]
    if count is None or count >= len(runnable):
        return runnable
    return sorted(random.Random(seed).sample(runnable, count), key=lambda e: e.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.corpus.run", description=__doc__)
    parser.add_argument("--notebooks", type=int, help="run only N notebooks, drawn with --seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", help="run this notebook (repeatable)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for a notebook's cells")
    args = parser.parse_args(argv)
    examples = load_examples()
    if args.only:
        chosen = [e for e in examples if e.name in set(args.only)]
    else:
        chosen = choose(examples, args.notebooks, args.seed)

    header = f"{len(chosen)} notebooks chosen of {len(examples)} scripts (seed {args.seed})."
    done: list[NotebookResult] = []

    def progress(result: NotebookResult) -> None:
        # The report is rewritten after each notebook, so a long run can be read midway.
        done.append(result)
        report.write(report.render(examples, done, f"{header} {len(done)} run so far."))
        verdicts = [r.verdict for r in result.restores]
        note = result.skip or ", ".join(f"{verdicts.count(v)} {v}" for v in report.VERDICTS)
        print(f"{result.name}: {note} ({result.seconds:.0f} s)", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="mlvc-corpus-") as tmp:
        limits = Limits(budget=args.budget, log=Path(tmp) / "kernels.log")
        results = run_campaign(chosen, Path(tmp), limits, progress)
    text = report.render(examples, results, header)
    report.write(text)
    print(text)
    return 1 if any(r.verdict == "wrong" for x in results for r in x.restores) else 0


if __name__ == "__main__":
    sys.exit(main())
