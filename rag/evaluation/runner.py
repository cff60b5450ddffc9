"""Running suites: configurations side by side, each case through the real ``ask``, then scored.

A suite's store is built once per corpus, chunking and embedding model under
``settings.data_dir / "evals"`` and reused by later runs (ingestion is idempotent). The
configurations of one run share the embedding model and the LLM, loaded once.
"""

from __future__ import annotations

import logging
import platform
import random
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from ..config import PROJECT_ROOT, Settings
from ..errors import InputError, RagError
from ..generation.base import Generator
from ..rewriting import ConcatenatingRewriter, Turn
from ..types import Answer, Hit, SourceDocument, content_hash
from . import scoring
from .suites import Case, Suite

log = logging.getLogger(__name__)

RETRIEVAL_DEPTH = 10          # passages searched for the retrieval metrics
Progress = Callable[[int, int, str], None]  # (done, total, what)


@dataclass(frozen=True)
class Configuration:
    """One column of the report."""

    name: str
    kind: str                       # "assistant" | "baseline" | "retrieval"
    description: str
    retriever: str = "hybrid"
    generator: str | None = None    # None: the run's backend

    @property
    def generates(self) -> bool:
        """False for retrieval-only configurations (no answers, retrieval metrics only)."""
        return self.kind != "retrieval"


CONFIGURATIONS: dict[str, Configuration] = {c.name: c for c in (
    Configuration("default", "assistant", "the project's pipeline: hybrid retrieval, the LLM backend, verification"),
    Configuration("baseline", "baseline", "LangChain RAG tutorial: 1000/200 splitter, Chroma top 4, tutorial prompt"),
    Configuration("extractive", "assistant", "the project's pipeline with the extractive backend (no LLM)",
                  generator="extractive"),
    Configuration("dense", "retrieval", "retrieval only: dense (embeddings)", retriever="dense"),
    Configuration("bm25", "retrieval", "retrieval only: BM25", retriever="bm25"),
    Configuration("hybrid", "retrieval", "retrieval only: dense + BM25 fused (the default's retriever)"),
)}


def parse_configs(names: str | Sequence[str] | None) -> list[Configuration]:
    """Configurations by name ("default,baseline" or a list); all when empty."""
    if not names:
        return list(CONFIGURATIONS.values())
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [n for n in wanted if n not in CONFIGURATIONS]
    if unknown:
        raise InputError(f"unknown configuration(s) {', '.join(unknown)}; choose from {', '.join(CONFIGURATIONS)}")
    return [CONFIGURATIONS[n] for n in dict.fromkeys(wanted)]


class System(Protocol):
    """What the runner needs from a configuration."""

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The question as it will be searched."""
        ...

    def search(self, query: str, k: int) -> list[Hit]:
        """The k best passages."""
        ...

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """A full answer."""
        ...


class AssistantSystem:
    """The project's ``Assistant`` as a system under test."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The assistant's own rewrite of a follow-up."""
        return self.assistant.rewriter.rewrite(question, history)

    def search(self, query: str, k: int) -> list[Hit]:
        """The assistant's retriever."""
        return self.assistant.retriever.search(query, k)

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """The assistant's verified answer."""
        return self.assistant.ask(question, history)


class RetrievalSystem:
    """A retriever alone as a system under test: retrieval-only configurations load no generator."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self.rewriter = ConcatenatingRewriter()

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up joined to the conversation (no model to rewrite it with)."""
        return self.rewriter.rewrite(question, history)

    def search(self, query: str, k: int) -> list[Hit]:
        """The retriever's k best passages."""
        return self.retriever.search(query, k)

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """Not asked: a retrieval-only configuration writes no answers."""
        raise InputError("retrieval-only configurations do not answer questions")


# ----- results -----------------------------------------------------------------------------
@dataclass
class ConfigResult:
    """One configuration on one suite: per-case records and aggregated scores."""

    config: Configuration
    records: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, scoring.Score] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class SuiteResult:
    """Every configuration on one suite."""

    suite: Suite
    configs: dict[str, ConfigResult] = field(default_factory=dict)


@dataclass
class RunResult:
    """A whole evaluation run."""

    suites: list[SuiteResult]
    meta: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunResult":
        """A run read back from results.json (to re-render its report)."""
        from .suites import load_suite
        suites = []
        for item in data["suites"]:
            suite = load_suite(item.get("path") or item["suite"])
            ids = {r["case"] for c in item["configs"].values() for r in c["records"]}
            suite = Suite(suite.name, suite.path, suite.corpus, tuple(c for c in suite.cases if c.id in ids))
            configs = {}
            for name, c in item["configs"].items():
                result = ConfigResult(CONFIGURATIONS[name], c["records"], seconds=c.get("seconds", 0.0))
                result.scores = {k: scoring.Score(v["value"], v["numerator"], v["denominator"], v["ci_low"],
                                                  v["ci_high"], v["cases"], v.get("kind", "ratio"))
                                 for k, v in c["scores"].items()}
                configs[name] = result
            suites.append(SuiteResult(suite, configs))
        return cls(suites, data["meta"])

    def to_json(self) -> dict[str, Any]:
        """Everything, for results.json."""
        return {"meta": self.meta, "suites": [{
            "suite": s.suite.name, "path": str(s.suite.path), "corpus": list(s.suite.corpus), "cases": len(s.suite.cases),
            "configs": {name: {"description": c.config.description, "generates": c.config.generates,
                               "seconds": round(c.seconds, 1),
                               "scores": {k: v.to_json() for k, v in c.scores.items()},
                               "records": c.records} for name, c in s.configs.items()}} for s in self.suites]}


# ----- the runner --------------------------------------------------------------------------
class Evaluation:
    """Runs configurations over suites with one settings object and one backend."""

    def __init__(self, settings: Settings, backend: str = "llamacpp", embeddings: Any = None,
                 generators: dict[str, Generator] | None = None) -> None:
        from ..embedding import load_embeddings

        self.settings = settings
        self.backend = backend
        self.embeddings = embeddings or load_embeddings(settings.embedding_model, settings.embedding_batch_size)
        self._generators: dict[str, Generator] = dict(generators or {})
        self._commit: str | None = None

    # ----- building ----------------------------------------------------------------------
    def generator(self, name: str) -> Generator:
        """The named backend, created once per run and shared by every configuration."""
        if name not in self._generators:
            from ..generation import make_generator
            self._generators[name] = make_generator(self.settings.model_copy(update={"generator": name}), self.embeddings)
        return self._generators[name]

    def store_settings(self, suite: Suite, kind: str = "store") -> Settings:
        """Settings whose data_dir holds the suite corpus's store (embedded, never a server)."""
        folders = [str(p.resolve()) for p in suite.corpus_paths()]
        key = [kind, *folders, self.settings.embedding_model]
        if kind == "store":
            key += [self.settings.chunk_size, self.settings.chunk_overlap]
        slug = "+".join(Path(f).name for f in folders)
        data_dir = self.settings.data_dir / "evals" / f"{kind}-{slug}-{content_hash(*key, length=10)}"
        return self.settings.model_copy(update={"data_dir": data_dir, "chroma_url": None})

    def prepare_store(self, suite: Suite, progress: Progress | None = None) -> Settings:
        """Build (or update) the suite's store; cheap when it is up to date."""
        from ..ingestion import Ingestor
        from ..wiring import open_store

        settings = self.store_settings(suite)
        store = open_store(settings, self.embeddings)
        report = Ingestor(store, self.embeddings, settings).ingest_paths(
            suite.corpus_paths(), None if progress is None else
            (lambda done, total, what: progress(done, total, f"{suite.name}: embedding our chunks")))
        if report.failed:
            raise InputError(f"suite {suite.name}: corpus files failed to load: "
                             + "; ".join(str(f) for f in report.failed[:5]))
        log.info("suite %s store: %s", suite.name, report.summary())
        return settings

    def system(self, config: Configuration, suite: Suite, store: Settings, documents: Sequence[SourceDocument]) -> System:
        """The system under test for one configuration on one suite."""
        from ..wiring import build_assistant, build_retriever

        if config.kind == "baseline":
            from ..store import open_client
            from .baseline import BaselinePipeline
            settings = self.store_settings(suite, "baseline")
            return BaselinePipeline.build(documents, self.embeddings, open_client(settings), "baseline",
                                          self.generator(config.generator or self.backend))
        generator_name = config.generator or self.backend
        settings = store.model_copy(update={"retriever": config.retriever, "generator": generator_name})
        if config.kind == "retrieval":
            return RetrievalSystem(build_retriever(settings))
        return AssistantSystem(build_assistant(settings, self.generator(generator_name)))

    # ----- running -----------------------------------------------------------------------
    def run(self, suites: Sequence[Suite], configs: Sequence[Configuration], progress: Progress | None = None,
            command: str = "", checkpoint: Callable[[RunResult], None] | None = None) -> RunResult:
        """Every configuration on every suite; scores aggregated per suite and configuration.

        Configurations without the LLM run first, so that a long run reports something early;
        ``checkpoint`` gets the partial result after every case (for saving it)."""
        started = datetime.now(timezone.utc)
        self._commit = git_commit()   # the code that runs is the code at the start
        total = sum(len(s.cases) for s in suites) * len(configs)
        done = 0
        results = [SuiteResult(suite, {c.name: ConfigResult(c) for c in configs}) for suite in suites]
        prepared: dict[str, tuple[Settings, list[SourceDocument]]] = {}
        for suite in suites:
            prepared[suite.name] = (self.prepare_store(suite, progress), load_documents(suite.corpus_paths()))
        systems: dict[tuple[str, str], System] = {}

        def run_one(config: Configuration, suite_result: SuiteResult, case: Case) -> None:
            nonlocal done
            suite = suite_result.suite
            store, documents = prepared[suite.name]
            key = (suite.name, config.name)
            if key not in systems:
                systems[key] = self.system(config, suite, store, documents)
            if progress:
                progress(done, total, f"{suite.name}: {config.name}")
            result = suite_result.configs[config.name]
            clock = time.perf_counter()
            result.records.append(run_case(systems[key], config, case, texts[suite.name]))
            result.seconds += time.perf_counter() - clock
            done += 1
            if checkpoint:
                checkpoint(self._result(results, started, configs, command, done, total))

        texts = {name: {d.doc_id: d.text for d in documents} for name, (_, documents) in prepared.items()}
        # Fast configurations first, suite by suite.
        for suite_result in results:
            for config in (c for c in configs if not self._uses_llm(c)):
                for case in suite_result.suite.cases:
                    run_one(config, suite_result, case)
        # Then the LLM ones, case by case in a seeded random order, alternating suites and
        # configurations: a run stopped early has answered the same random cases everywhere.
        slow = [c for c in configs if self._uses_llm(c)]
        orders = {r.suite.name: random.Random(0).sample(list(r.suite.cases), len(r.suite.cases)) for r in results}
        for position in range(max((len(o) for o in orders.values()), default=0)):
            for suite_result in results:
                order = orders[suite_result.suite.name]
                if position < len(order):
                    for config in slow:
                        run_one(config, suite_result, order[position])
        if progress:
            progress(done, total, "done")
        return self._result(results, started, configs, command, done, total)

    def _uses_llm(self, config: Configuration) -> bool:
        return config.generates and (config.generator or self.backend) != "extractive"

    def _result(self, results: list[SuiteResult], started: datetime, configs: Sequence[Configuration], command: str,
                done: int, total: int) -> RunResult:
        for suite_result in results:
            for result in suite_result.configs.values():
                result.scores = scoring.aggregate(
                    [_counts(r) for r in result.records],
                    [r["latency_ms"] for r in result.records if r.get("latency_ms") is not None],
                    generation=result.config.generates)
        return RunResult(results, {**self.meta(started, configs, command), "cases_done": done, "cases_total": total})

    def meta(self, started: datetime, configs: Sequence[Configuration], command: str) -> dict[str, Any]:
        """What a reader needs to reproduce the run."""
        s = self.settings
        generator = self._generators.get(self.backend)
        chat_model = generator.chat_model if generator is not None else None
        model = getattr(chat_model, "model_path", None)   # llama.cpp's model file; a server's model has none
        return {"started_utc": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "command": command, "backend": self.backend, "llm_model": Path(model).name if model else None,
                "configs": [c.name for c in configs], "git_commit": self._commit,
                "settings": {"retriever": s.retriever, "top_k": s.top_k, "chunk_size": s.chunk_size,
                             "chunk_overlap": s.chunk_overlap, "min_relevance": s.min_relevance,
                             "embedding_model": s.embedding_model, "llm_max_tokens": s.llm_max_tokens},
                "retrieval_depth": RETRIEVAL_DEPTH, "bootstrap": {"resamples": scoring.BOOTSTRAP_RESAMPLES,
                                                                  "seed": scoring.BOOTSTRAP_SEED},
                "python": platform.python_version()}


def run_case(system: System, config: Configuration, case: Case, texts: dict[str, str]) -> dict[str, Any]:
    """Ask one case (earlier turns answered by the system itself), score it, keep its trace."""
    record: dict[str, Any] = {"case": case.id, "category": case.category, "answerable": case.answerable,
                              "turns": list(case.turns), "history": [], "error": None, "latency_ms": None}
    history: list[Turn] = []
    answer: Answer | None = None
    try:
        for turn in case.turns[:-1]:
            earlier = system.ask(turn, history).text if config.generates else ""
            history.append((turn, earlier))
        if config.generates:
            clock = time.perf_counter()
            answer = system.ask(case.question, history)
            record["latency_ms"] = round((time.perf_counter() - clock) * 1000, 1)
            query = answer.standalone_question or case.question
        else:
            query = system.rewrite(case.question, history)
        ranked = system.search(query, RETRIEVAL_DEPTH)
    except RagError as error:
        log.warning("%s %s: %s", config.name, case.id, error)
        record["error"] = str(error)
        ranked, query = [], case.question
    record["history"] = [list(turn) for turn in history]
    record["query"] = query
    record["retrieved"] = [{"rank": rank, "doc_id": h.chunk.doc_id, "start": h.chunk.start, "end": h.chunk.end,
                            "relevance": round(h.relevance, 4)} for rank, h in enumerate(ranked, start=1)]
    counts = scoring.retrieval_counts(case, [h.chunk.doc_id for h in ranked])
    if config.generates:
        counts.update(_score_answer(record, system, case, answer, history, texts))
    record["counts"] = {k: [v[0], v[1]] for k, v in counts.items()}
    return record


def _score_answer(record: dict[str, Any], system: System, case: Case, answer: Answer | None,
                  history: Sequence[Turn], texts: dict[str, str]) -> scoring.Counts:
    text = answer.text if answer else ""
    declined = bool(answer and answer.abstained)
    hits = answer.hits if answer else []
    trace = answer.trace if answer else {}
    record.update(
        answer=text, declined=declined, declined_by=trace.get("declined_by"), evidence_score=trace.get("evidence_score"),
        raw_answer=trace.get("raw_answer"), first_declined_by=trace.get("first_declined_by"),
        fallback_answer=trace.get("fallback_answer"), answered_by=trace.get("answered_by"),
        prompt=trace.get("prompt") or _prompt_of(system, answer, history),
        passages=[{"n": n, "doc_id": h.chunk.doc_id, "title": h.chunk.title, "start": h.chunk.start,
                   "end": h.chunk.end, "relevance": round(h.relevance, 4), "text": h.chunk.text}
                  for n, h in enumerate(hits, start=1)],
        question_parts=trace.get("parts"), verification=trace.get("verdicts"),
        timings_ms={k: round(v, 1) for k, v in (answer.timings_ms if answer else {}).items()})
    return judge_record(record, case, answer.citations if answer else [], texts)


def judge_record(record: dict[str, Any], case: Case, citations: Sequence[Any], texts: dict[str, str]) -> scoring.Counts:
    """Score a record's answer (``answer``, ``declined``, ``passages``) against its case, keep every
    verdict in the record for the trace, and return the answer counts."""
    text, declined = record["answer"], record["declined"]
    cited = list(citations) if not declined else []
    verdicts = scoring.judge_answer(case, text, declined, cited, texts, [p["doc_id"] for p in record["passages"]])
    record.update(
        citations=[{"n": c.n, "doc_id": c.doc_id, "start": c.start, "end": c.end, "quote": c.quote,
                    "supports": s, "quote_problem": p}
                   for c, s, p in zip(cited, verdicts.citations, verdicts.quote_problems)],
        facts=[{"alternatives": list(g), "matched": m} for g, m in zip(case.facts, verdicts.facts)],
        parts=[{"ask": p.ask, "answerable": p.answerable, "passed": v} for p, v in zip(case.parts, verdicts.parts)],
        complete=verdicts.complete if case.parts else None, words=verdicts.words, concise=verdicts.concise,
        cited_sentences=[{"sentence": sentence, "n": getattr(c, "n", None), "correct": ok} for (sentence, c), ok in
                         zip(scoring.cited_pairs(text, cited), verdicts.cited_sentences)],
        forbidden_found=list(verdicts.forbidden),
        evidence=[{"doc_id": e.doc_id, "text": e.text, "covered": c} for e, c in zip(case.evidence, verdicts.evidence)],
        fact_ok=verdicts.facts_ok)
    return scoring.answer_counts(case, verdicts)


def rescore(run: RunResult) -> RunResult:
    """The same answers scored by today's scorers and cases (no model runs): what an older report
    reads as under new definitions. Records of cases no longer in their suite are dropped."""
    from ..types import Citation
    for result in run.suites:
        texts = {d.doc_id: d.text for d in load_documents(result.suite.corpus_paths())}
        cases = {c.id: c for c in result.suite.cases}
        for config in result.configs.values():
            config.records = [r for r in config.records if r["case"] in cases]
            for record in config.records:
                case = cases[record["case"]]
                counts = scoring.retrieval_counts(case, [h["doc_id"] for h in record.get("retrieved", [])])
                if config.config.generates and "answer" in record:
                    citations = [Citation(n=c["n"], doc_id=c["doc_id"], title="", source="", quote=c["quote"],
                                          start=c["start"], end=c["end"]) for c in record.get("citations", [])]
                    counts.update(judge_record(record, case, citations, texts))
                record["counts"] = {k: [v[0], v[1]] for k, v in counts.items()}
            config.scores = scoring.aggregate([_counts(r) for r in config.records],
                                              [r["latency_ms"] for r in config.records if r.get("latency_ms") is not None],
                                              generation=config.config.generates)
    run.meta = {**run.meta, "rescored": "scored again with the scorers and cases of commit " + str(git_commit())}
    return run


def _prompt_of(system: System, answer: Answer | None, history: Sequence[Turn]) -> str | None:
    """The prompt the assistant's chat backend was given (rebuilt from the same function)."""
    assistant = getattr(system, "assistant", None)
    if answer is None or assistant is None or "raw_answer" not in answer.trace:
        return None
    from ..generation.base import number_passages
    from ..generation.chat import ChatModelGenerator
    if not isinstance(assistant.generator, ChatModelGenerator):
        return None
    question = answer.standalone_question if history else answer.question
    from ..question_parts import question_parts
    messages = assistant.generator.prompt(question, number_passages([h.chunk for h in answer.hits]),
                                          question_parts(answer.question))
    return "\n\n".join(f"[{m.type}]\n{m.content}" for m in messages)


def _counts(record: dict[str, Any]) -> scoring.Counts:
    return {k: (v[0], v[1]) for k, v in record["counts"].items()}


def load_documents(folders: Sequence[Path]) -> list[SourceDocument]:
    """The documents under ``folders`` as the ingestion loads them."""
    from ..loading import discover, load_file

    documents: list[SourceDocument] = []
    for path in discover(list(folders)).files:
        documents.extend(load_file(path))
    return documents


def git_commit() -> str | None:
    """The checked-out commit (with "+dirty" when tracked files changed), or None outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None
