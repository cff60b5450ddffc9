#!/usr/bin/env python3
"""Check a run's shown answers: no cited sentence may drop its quote's condition or negation, or
turn round who did what.

    .venv/bin/python evals/check_traces.py evals/reports/<time>/results.json [--configs default,extractive]

Every answer that was shown (not declined) is split into its sentences; each sentence is read
beside the quotes its markers name, as the user sees them. A pair is flagged when the quote's
clause that the sentence draws on

- states a **condition** ("if", "unless", "provided that", "in the event") and the sentence keeps
  no condition or possibility word ("if", "would", "could", "may", "might", "unless");
- is **negated** ("not", "no", "never", "n't", "without", "neither") and the sentence is not, or
  the sentence is negated and the clause is not;
- names two of the sentence's names around a verb they share, in the **other order** (passive
  voice aside: a "by" between them is not read as a swap).

These tests are deliberately plainer than ``rag.meaning`` (they share only the clause alignment):
a check of the verifier written with the verifier's own rules would pass by construction. A
flagged pair is for a person to read; the exit code is 1 when any is found, so a run's traces can
be gated.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.citations import cited_sentences  # noqa: E402
from rag.coverage import without_uncovered_line  # noqa: E402
from rag.meaning import aligned_clause, clauses  # noqa: E402

_CONDITION = re.compile(r"\b(?:if|unless|provided that|providing that|in the event|on condition)\b", re.IGNORECASE)
_KEEPS = re.compile(r"\b(?:if|unless|would|could|may|might|provided|in the event|whether|should)\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without|cannot)\b|n't\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")
_FUNCTION_CAPITALS = {"The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "This", "That", "But", "And",
                      "As", "After", "Before", "When", "While", "If", "For", "By", "With", "From", "Of", "To"}


def _names(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in _NAME.finditer(text) if m.group() not in _FUNCTION_CAPITALS]


def problems(sentence: str, quote: str) -> list[str]:
    """What a plain reading finds wrong with ``sentence`` as a statement of ``quote``."""
    if " ".join(sentence.split()).rstrip(".") in " ".join(quote.split()):
        return []                                   # the quote's own words, in its own order
    clause = aligned_clause(sentence, quote)
    found = []
    if _CONDITION.search(clause) and not _KEEPS.search(sentence):
        found.append("condition")
    # Each clause of the sentence against the clause of the quote it draws on.
    if any(bool(_NEGATION.search(aligned_clause(part, quote))) != bool(_NEGATION.search(part))
           for part in clauses(sentence)):
        found.append("negation")
    mine = [n for _, n in _names(sentence)]
    theirs = [n for _, n in _names(clause)]
    shared = [n for n in mine if n in theirs]
    if len(shared) >= 2:
        a, b = shared[0], shared[1]
        if theirs.index(a) > theirs.index(b) and " by " not in clause and " by " not in sentence:
            found.append("agent")
    return found


def shown_pairs(record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(sentence, quote) for each sentence of a shown answer and each citation it names."""
    if record.get("declined") or not record.get("answer"):
        return
    quotes = {c["n"]: c["quote"] for c in record.get("citations") or []}
    for sentence, numbers in cited_sentences(without_uncovered_line(record["answer"])):
        for n in numbers:
            if n in quotes:
                yield sentence, quotes[n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path, help="a report's results.json")
    parser.add_argument("--configs", default="default,extractive", help="configurations to read (comma-separated)")
    args = parser.parse_args()
    run = json.loads(args.results.read_text(encoding="utf-8"))
    wanted = [c.strip() for c in args.configs.split(",") if c.strip()]
    flagged = checked = 0
    for suite in run["suites"]:
        for config in wanted:
            records = suite["configs"].get(config) or []
            records = records.get("records", []) if isinstance(records, dict) else records
            for record in records:
                for sentence, quote in shown_pairs(record):
                    checked += 1
                    found = problems(sentence, quote)
                    if found:
                        flagged += 1
                        print(f"{suite['suite']} {record['case']} {config}: {', '.join(found)}\n"
                              f"  sentence: {sentence}\n  quote:    {' '.join(quote.split())}")
    print(f"{flagged} of {checked} shown (sentence, quote) pairs flagged")
    return 1 if flagged else 0


if __name__ == "__main__":
    raise SystemExit(main())
