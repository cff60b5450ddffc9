"""The evaluation runner, report and ``eval`` command on a tiny suite with the extractive backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from rag.config import PROJECT_ROOT
from rag.errors import InputError
from rag.evaluation.report import summary_text, write_report
from rag.evaluation.runner import CONFIGURATIONS, Evaluation, RunResult, parse_configs
from rag.evaluation.suites import load_suite, validate

from .conftest import make_settings

PICKED = ("seed-001", "seed-042", "seed-057", "seed-065")


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    """Four seed cases (fact, unanswerable, follow-up, injection) over the same corpus."""
    lines = [line for line in (PROJECT_ROOT / "evals" / "suites" / "seed.jsonl").read_text().splitlines()
             if json.loads(line)["id"] in PICKED]
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_shipped_suites_are_valid() -> None:
    # Every evidence text verbatim in its corpus, every fact group found in its evidence, the
    # holdouts' minimum counts (multi-part, paraphrase, near-miss, follow-up, injection) met.
    summaries, problems = validate([])
    assert not problems
    assert {line.split(":")[0] for line in summaries} >= {"seed", "news", "quick", "seed-holdout", "news-holdout"}


@pytest.mark.parametrize("name", ["seed", "news"])
def test_a_holdout_is_written_fresh_not_a_reworded_dev_case(name: str) -> None:
    """No holdout question shares most of its content words with a dev question of its corpus."""
    from rag.keyword import tokenize
    dev = [set(tokenize(" ".join(c.turns))) for c in load_suite(name).cases]
    for case in load_suite(f"{name}-holdout").cases:
        words = set(tokenize(" ".join(case.turns)))
        closest = max(len(words & other) / len(words | other) for other in dev)
        assert closest < 0.6, (case.id, closest)   # the question itself is not printed: the holdout stays unread


def test_invalid_suite_is_refused_with_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "x", "corpus": ["corpus"], "question": "q?", "answerable": True,
                                "category": "single-fact", "facts": [["nowhere"]], "doc_ids": ["no-such-doc"],
                                "evidence": [{"doc_id": "no-such-doc", "text": "absent"}]}) + "\n")
    with pytest.raises(InputError, match="no-such-doc"):
        load_suite(str(path))


def test_unknown_configuration_is_refused() -> None:
    with pytest.raises(InputError, match="choose from"):
        parse_configs("default,gpt5")
    assert [c.name for c in parse_configs(None)] == list(CONFIGURATIONS)


def test_runs_configurations_side_by_side_and_reports(tiny_suite: Path, tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "data")
    suite = load_suite(str(tiny_suite))
    evaluation = Evaluation(settings, backend="extractive", embeddings=embeddings)
    seen: list[str] = []
    run = evaluation.run([suite], parse_configs("default,baseline,bm25"), lambda d, t, what: seen.append(what))
    assert seen[-1] == "done" and run.meta["cases_done"] == run.meta["cases_total"] == 12
    result = run.suites[0]
    assert list(result.configs) == ["default", "baseline", "bm25"]

    default = {r["case"]: r for r in result.configs["default"].records}
    assert set(default) == set(PICKED)
    follow_up = default["seed-057"]
    assert [q for q, _ in follow_up["history"]] == ["What did Russia send to Cuba?"]
    assert follow_up["history"][0][1]                          # the earlier turn was answered by the system
    assert follow_up["query"].startswith("What did Russia send to Cuba?")
    for record in default.values():
        for citation in record["citations"]:
            assert citation["quote_problem"] is None           # the verifier's quotes are verbatim

    baseline = {r["case"]: r for r in result.configs["baseline"].records}
    answered = [r for r in baseline.values() if not r["declined"]]
    assert answered and all(len(r["citations"]) == 4 for r in answered)   # the 4 retrieved chunks
    assert all(c["quote_problem"] is None for r in answered for c in r["citations"])

    bm25 = result.configs["bm25"]
    assert "fact_accuracy" not in bm25.scores and bm25.scores["hit@10"].count_text() == "3/3"
    assert "answer" not in bm25.records[0]
    scores = result.configs["default"].scores
    # One unanswerable case: decline recall counts exactly it, whatever the pipeline did.
    assert scores["decline_recall"].count_text() == f"{int(default['seed-042']['declined'])}/1"
    assert scores["injection_resistance"].denominator == 1          # only seed-065 names forbidden text
    assert scores["fact_accuracy"].denominator == 3
    assert scores["latency_p50"].counted

    table = summary_text(run)
    assert "key-fact accuracy" in table and "vs baseline" in table
    folder = write_report(run, tmp_path / "reports")
    assert {p.name for p in folder.iterdir()} >= {"report.md", "report.html", "results.json", "metrics-tiny.png"}
    assert (tmp_path / "reports" / "latest" / "report.html").exists()
    html = (folder / "report.html").read_text()
    assert "seed-057" in html and "data:image/png;base64," in html and "<script" not in html
    assert "| key-fact accuracy |" in (folder / "report.md").read_text()

    again = RunResult.from_json(json.loads((folder / "results.json").read_text()))
    assert again.suites[0].configs["default"].scores["fact_accuracy"] == scores["fact_accuracy"]
    assert summary_text(again) == table


def test_eval_command(tiny_suite: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["eval", "--suite", str(tiny_suite), "--configs", "extractive,hybrid", "--backend", "extractive",
                 "--limit", "2", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 0
    assert "suite tiny: 2 cases" in out and "retrieval hit@5" in out and "report:" in out
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    assert [len(c["records"]) for c in results["suites"][0]["configs"].values()] == [2, 2]

    code = main(["eval", "--rerender", str(tmp_path / "reports" / "latest" / "results.json")])
    assert code == 0 and "suite tiny: 2 cases" in capsys.readouterr().out


def test_eval_command_rejects_an_unknown_suite(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", "--suite", "no-such-suite", "--backend", "extractive"]) == 2
    assert "known suites" in capsys.readouterr().err


def test_replay_answers_with_the_recorded_text_and_names_cases_whose_passages_moved() -> None:
    import importlib.util

    from rag.config import PROJECT_ROOT
    from rag.generation.base import number_passages
    from rag.types import Chunk
    spec = importlib.util.spec_from_file_location("replay", PROJECT_ROOT / "evals" / "replay.py")
    replay = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(replay)  # type: ignore[union-attr]
    records = [{"query": "Who ordered it?", "turns": ["Who ordered it?"], "history": [], "raw_answer": "Putin [1].",
                "passages": [{"doc_id": "d", "start": 0}]},
               {"query": "What did Russia send? And who ordered it?", "turns": ["What did Russia send?", "And who?"],
                "history": [["What did Russia send?", "Aid [1]."]], "raw_answer": None, "passages": []}]
    generator = replay.RecordedGenerator(records)
    chunk = Chunk(id="c", doc_id="d", title="T", source="s", text="Putin ordered it.", start=0, end=17, index=0,
                  doc_version="v")
    assert "".join(generator.stream("Who ordered it?", number_passages([chunk]))) == "Putin [1]."
    assert generator.mismatched == []
    moved = Chunk(**{**chunk.__dict__, "start": 40, "end": 57})
    list(generator.stream("Who ordered it?", number_passages([moved])))
    assert generator.mismatched == ["Who ordered it?"]
    assert "".join(generator.stream("Never asked?", [])) == "NOT_IN_CORPUS"
    rewriter = replay.RecordedRewriter(records)
    assert rewriter.rewrite("And who?", [("What did Russia send?", "Aid.")]) == "What did Russia send? And who ordered it?"
    assert rewriter.rewrite("Who ordered it?", []) == "Who ordered it?"


def test_the_baseline_waits_for_the_models_lock() -> None:
    """llama.cpp serves one call at a time: the tutorial baseline must hold the generator's lock
    (it once looked for ``_lock`` and called the model unguarded)."""
    import threading

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from rag.evaluation.baseline import BaselinePipeline
    from rag.generation.chat import ChatModelGenerator
    from rag.types import Chunk

    generator = ChatModelGenerator(FakeListChatModel(responses=["The aid was 100 tons."]), name="scripted")
    generator.lock = threading.Lock()   # as the local LLM's: one generation at a time
    baseline = BaselinePipeline(None, generator)
    chunk = Chunk(id="a:0", doc_id="a", title="Aid", source="", text="Russia sent 100 tons of aid.", start=0,
                  end=28, index=0, doc_version="1")
    replies: list[str] = []
    asking = threading.Thread(target=lambda: replies.append(baseline.generate("How much aid?", [chunk])[0]))
    with generator.lock:
        asking.start()
        asking.join(timeout=0.5)
        assert asking.is_alive() and replies == [], "the baseline called the model while another call held it"
    asking.join(timeout=10)
    assert replies == ["The aid was 100 tons."]
    assert not generator.lock.locked()
