"""Feedback: ratings stored in SQLite, exported as the feedback eval suite, and replayed by `rag eval`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from rag.errors import InputError
from rag.evaluation.suites import load_suite
from rag.feedback import FeedbackStore, to_cases

from .conftest import SEED_ID

PUTIN = "The delivery was directly ordered by President Vladimir Putin."
GOOD = {"answer": "The delivery was directly ordered by President Vladimir Putin [1].", "abstained": False,
        "citations": [{"n": 1, "doc_id": SEED_ID, "title": "Russia Sends Aid To Cuba Regime", "source": "",
                       "quote": PUTIN, "start": 0, "end": len(PUTIN)}]}
DECLINED = {"answer": "I couldn't find the answer to that in the documents.", "abstained": True, "citations": []}
SETTINGS = {"top_k": 5, "backend": "extractive", "doc_ids": [], "date_from": None, "date_to": None}


def test_ratings_are_stored_with_question_answer_and_settings(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    first = store.add("ana", "up", "Who ordered the delivery?", GOOD, SETTINGS)
    second = store.add("ana", "down", "What is the capital of France?", GOOD, SETTINGS)
    store.explain(second, "ana", "should-have-declined", "  nothing,   it is not in there ")
    with pytest.raises(InputError, match="no thumbs-down of yours"):
        store.explain(second, "bob", "missing-part")          # another login's rating
    with pytest.raises(InputError, match="no thumbs-down of yours"):
        store.explain(first, "ana", "missing-part")           # a thumbs up has no reason
    with pytest.raises(InputError, match="reason must be one of"):
        store.explain(second, "ana", "meh")
    with pytest.raises(InputError, match="'up' or 'down'"):
        store.add("ana", "sideways", "q", GOOD)
    ratings = FeedbackStore(tmp_path / "f.sqlite3").all()
    assert [(r.id, r.rating, r.reason, r.expected) for r in ratings] == [
        (first, "up", "", ""), (second, "down", "should-have-declined", "nothing, it is not in there")]
    assert ratings[0].answer == GOOD and ratings[0].settings == SETTINGS and ratings[0].owner == "ana"


@pytest.mark.parametrize("rating, reason, expected, answer, case", [
    ("up", "", "", GOOD, {"answerable": True, "facts": [["Putin"]], "doc_ids": [SEED_ID],
                          "evidence": [{"doc_id": SEED_ID, "text": PUTIN}]}),
    ("up", "", "", DECLINED, {"answerable": False, "category": "unanswerable", "facts": []}),
    ("down", "should-have-declined", "", GOOD, {"answerable": False, "category": "unanswerable", "doc_ids": []}),
    ("down", "should-have-answered", "Two An-124 planes carried 88 tons.", DECLINED,
     {"answerable": True, "facts": [["88"], ["An-124"]], "doc_ids": [SEED_ID]}),
    ("down", "missing-part", "Food, masks and 1 million medical masks", GOOD, {"answerable": True}),
    ("down", "wrong-citation", "", GOOD, "nothing to check against"),
    ("down", "should-have-answered", "the purple elephant", DECLINED, "no sentence of the corpus"),
    ("up", "", "", {**GOOD, "citations": [{**GOOD["citations"][0], "doc_id": "uploaded-only"}]},
     "not in the corpus folders"),
])
def test_each_kind_of_rating_becomes_a_case_or_says_why_not(tmp_path: Path, rating: str, reason: str,
                                                            expected: str, answer: dict, case: dict | str) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.add("", rating, "Who ordered the delivery?", answer, SETTINGS, reason, expected)
    cases, skipped = to_cases(store.all(), ["corpus"])
    if isinstance(case, str):
        assert cases == [] and case in skipped[0].why
        return
    assert skipped == [] and cases[0]["id"] == "feedback-1" and cases[0]["corpus"] == ["corpus"]
    assert {k: cases[0][k] for k in case} == case
    path = tmp_path / "feedback.jsonl"
    path.write_text(json.dumps(cases[0]) + "\n", encoding="utf-8")
    assert load_suite(str(path)).cases[0].question == "Who ordered the delivery?"   # a valid suite


def test_export_writes_the_feedback_suite_that_eval_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    data = tmp_path / "data"
    store = FeedbackStore.in_data_dir(data)
    store.add("", "up", "Who ordered the delivery?", GOOD, SETTINGS)
    store.add("", "down", "What is the capital of France?", GOOD, SETTINGS, "should-have-declined")
    store.add("", "down", "Why?", GOOD, SETTINGS)                             # no reason: skipped
    suite = tmp_path / "suites" / "feedback.jsonl"
    assert main(["feedback", "export", "--out", str(suite), "--corpus", "corpus", "--data-dir", str(data)]) == 0
    err = capsys.readouterr().err
    assert "wrote 2 case(s)" in err and "skipped feedback 3" in err
    assert [c.id for c in load_suite(str(suite)).cases] == ["feedback-1", "feedback-2"]

    assert main(["feedback", "list", "--data-dir", str(data)]) == 0
    assert "2\tdown\tshould-have-declined\tWhat is the capital of France?" in capsys.readouterr().out

    reports = tmp_path / "reports"
    assert main(["eval", "--suite", str(suite), "--configs", "extractive", "--backend", "extractive",
                 "--data-dir", str(data), "--out", str(reports)]) == 0
    results = json.loads((reports / "latest" / "results.json").read_text())
    records = results["suites"][0]["configs"]["extractive"]["records"]
    assert len(records) == 2
