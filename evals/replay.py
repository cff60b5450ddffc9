#!/usr/bin/env python3
"""Rescore a report's recorded LLM answers with the current code: minutes instead of an hour.

    .venv/bin/python evals/replay.py evals/reports/<time>/results.json [--out evals/reports/replay]

The `default` configuration of each suite in the report is run again, but its generator returns
the answer the LLM wrote in that run (and a follow-up is searched as it was then). Everything
after generation runs on the current code: verification, the answer checks, the fallback and its
grading (which still asks the LLM, once per quoted sentence). So a change to those stages can be
measured on every case in a few minutes. The answers are only valid while retrieval and the
prompt are unchanged: a case whose passages differ from the recorded ones is counted and named.
Old and new scores are printed side by side with the baseline's from the same report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import load_settings  # noqa: E402
from rag.evaluation.report import write_report  # noqa: E402
from rag.evaluation.runner import Evaluation, parse_configs  # noqa: E402
from rag.evaluation.suites import load_suite  # noqa: E402
from rag.generation.base import NOT_IN_CORPUS, Passage  # noqa: E402
from rag.question_parts import QuestionPart  # noqa: E402
from rag.rewriting import Turn  # noqa: E402

SHOWN = ("fact_accuracy", "citation_precision", "citation_recall", "quote_validity", "decline_recall",
         "decline_accuracy", "injection_resistance")


class RecordedGenerator:
    """Answers each question with what the LLM wrote for it in the recorded run."""

    def __init__(self, records: Sequence[dict[str, Any]], model: Any = None, lock: Any = None) -> None:
        self.name = "llamacpp"
        self.chat_model = model    # the real LLM, for the grader
        self.lock = lock
        self.answers = {r["query"]: r.get("raw_answer") for r in records}
        self.passages = {r["query"]: [(p["doc_id"], p["start"]) for p in r.get("passages", [])] for r in records}
        self.mismatched: list[str] = []

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        recorded = self.passages.get(question)
        if recorded is not None and recorded != [(p.chunk.doc_id, p.chunk.start) for p in passages]:
            self.mismatched.append(question)
        yield self.answers.get(question) or NOT_IN_CORPUS


class RecordedRewriter:
    """Rewrites a follow-up as it was rewritten in the recorded run."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.queries = {r["turns"][-1]: r["query"] for r in records if r.get("history")}

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        return self.queries.get(question, question) if history else question


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a report's results.json with a default configuration")
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "reports" / "replay")
    args = parser.parse_args()
    recorded = json.loads(args.results.read_text())
    records = [r for s in recorded["suites"] for r in s["configs"]["default"]["records"]]
    settings = load_settings()
    model, lock = None, None
    if settings.grade_fallback:
        from rag.generation.llamacpp import make_llamacpp_generator
        llm = make_llamacpp_generator(settings, None)  # type: ignore[arg-type]
        model, lock = llm.chat_model, llm.lock
    generator = RecordedGenerator(records, model, lock)
    evaluation = Evaluation(settings, backend="llamacpp", generators={"llamacpp": generator})
    build = evaluation.system

    def system(config, suite, store, documents):  # type: ignore[no-untyped-def]
        built = build(config, suite, store, documents)
        built.assistant.rewriter = RecordedRewriter(records)
        return built

    evaluation.system = system  # type: ignore[method-assign]
    suites = [load_suite(s["suite"]) for s in recorded["suites"]]
    run = evaluation.run(suites, parse_configs("default"), command=f"evals/replay.py {args.results}")
    folder = write_report(run, args.out, latest=False)
    for new, old in zip(run.suites, recorded["suites"]):
        print(f"== {new.suite.name}: recorded default -> replayed default (baseline)")
        for key in SHOWN:
            before, after = old["configs"]["default"]["scores"].get(key), new.configs["default"].scores.get(key)
            baseline = old["configs"].get("baseline", {}).get("scores", {}).get(key)
            if before and after and after.counted:
                line = f"{key:22} {before['numerator']:.0f}/{before['denominator']:.0f} -> " \
                       f"{after.numerator:.0f}/{after.denominator:.0f}"
                if baseline:
                    line += f"   ({baseline['numerator']:.0f}/{baseline['denominator']:.0f})"
                print(line)
    if generator.mismatched:
        print(f"{len(generator.mismatched)} case(s) retrieved other passages than recorded, so their recorded "
              f"answers do not fit: {generator.mismatched[:5]}")
    print(f"report: {folder}/report.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
