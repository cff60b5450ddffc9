"""Sentence ranking benchmark: where the evidence sentence of each answerable eval case ranks among
the retrieved passages' sentences, with the passage-rank credit (ours) and without it (baseline).

    .venv/bin/python benchmarks/sentence_ranking.py [--suites news,seed]
        [--out benchmarks/results/sentence-ranking.json]

The extractive answer, the LLM's context and the graded fallback all read this ranking; what they
can use is the evidence among the best 1, 3, 5 or 12 sentences. Single-turn answerable cases only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.evaluation.runner import Evaluation  # noqa: E402
from rag.evaluation.suites import load_suite  # noqa: E402
from rag.generation.base import number_passages  # noqa: E402
from rag.generation.focus import PASSAGE_RANK_CREDIT, rank_sentences  # noqa: E402

CUTS = (1, 3, 5, 12)


def evidence_ranks(suite_name: str, credit: float, evaluation: Evaluation) -> list[int | None]:
    """For each case, the evidence sentence's 0-based rank (None when no retrieved sentence holds it)."""
    suite = load_suite(suite_name)
    settings = evaluation.prepare_store(suite)
    assistant = Assistant.from_settings(settings.model_copy(update={"generator": "extractive"}))
    ranks: list[int | None] = []
    for case in suite.cases:
        if not case.answerable or not case.evidence or len(case.turns) > 1:
            continue
        hits = assistant.retriever.search(case.question, settings.top_k)
        ranked = rank_sentences(case.question, number_passages([h.chunk for h in hits]),
                                assistant.retriever.embeddings, rank_credit=credit)
        evidence = [" ".join(e.text.split()).lower()[:50] for e in case.evidence]
        ranks.append(next((i for i, s in enumerate(ranked) if any(e in s.text.lower() for e in evidence)), None))
    return ranks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default="news,seed")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sentence-ranking.json")
    args = parser.parse_args()
    evaluation = Evaluation(load_settings())
    rows = []
    for suite in args.suites.split(","):
        for name, credit in (("baseline (similarity only)", 0.0), ("ours (passage-rank credit)", PASSAGE_RANK_CREDIT)):
            ranks = evidence_ranks(suite, credit, evaluation)
            rows.append({"suite": suite, "ranking": name, "credit": credit, "cases": len(ranks),
                         **{f"evidence@{k}": sum(r is not None and r < k for r in ranks) for k in CUTS}})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2) + "\n")
    for row in rows:
        cuts = " ".join(f"@{k} {row[f'evidence@{k}']}/{row['cases']}" for k in CUTS)
        print(f"{row['suite']:5} {row['ranking']:28} {cuts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
