#!/usr/bin/env python3
"""Check the evaluation suites in evals/suites/*.jsonl against evals/SCHEMA.md.

Needs the project's environment: the checks live in ``rag/evaluation/suites.py``, which the
evaluation runner uses too, and the corpus is read by ``rag.loading`` as ingestion reads it.
Run from anywhere:

    python evals/validate_suites.py            # every suite
    python evals/validate_suites.py seed news  # only these suites

For every case it checks the fields and their types, that the corpus folders exist, that
every doc_id exists in the suite's corpus, that every evidence text is a verbatim substring
of its document's text (as loaded for ingestion), that "re:" patterns compile, that each
fact is supported by the evidence, and that no forbidden pattern matches the evidence.
quick.jsonl must be a copy of cases from seed.jsonl. Prints a summary per suite and exits
with status 1 when anything is wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation.suites import validate  # noqa: E402


def main(argv: list[str]) -> int:
    summaries, problems = validate(argv)
    for line in summaries:
        print(line)
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("\nall suites valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
