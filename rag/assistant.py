"""Answering: question → passages → generated answer → verified citations, as a stream of events.

The CLI, the chat and the evals all call ``Assistant.stream``/``Assistant.ask``; none of them
re-implements a step.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .chunking import split_sentences
from .citations import cited_sentences, says_no_answer, split_answer
from .config import Settings
from .coverage import CoverageChecker, uncovered_line
from .embedding import load_embeddings
from .errors import GenerationError, InputError, RagError
from .generation import make_generator
from .generation.base import Generator, Passage, number_passages
from .generation.extractive import ExtractiveGenerator
from .generation.focus import rank_sentences
from .grading import AnswerGrader, make_grader
from .question_parts import QuestionPart, question_parts
from .reranking import make_reranker
from .retrieval import Filters, Retriever, keyword_index_for
from .rewriting import ConcatenatingRewriter, LLMRewriter, Rewriter, Turn
from .store import ChunkStore, open_client
from .summary import Summariser, summary_request
from .text_facts import asks_for_quantity, states_quantity
from .types import Answer, AnswerPart, Hit
from .verification import VerifiedAnswer, Verifier

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Status:
    """The pipeline moved to a new stage (for a "searching… / writing…" indicator)."""

    stage: str


@dataclass(frozen=True)
class Sources:
    """Retrieval finished: the passages the answer will be drawn from."""

    hits: list[Hit]
    standalone_question: str


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the generator writes it (before verification)."""

    text: str


@dataclass(frozen=True)
class Done:
    """The verified answer."""

    answer: Answer


Event = Status | Sources | Token | Done


def clean_question(question: str) -> str:
    """The question without control characters; InputError when nothing usable is left."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in question)
    text = " ".join(text.split())
    if not text:
        raise InputError("the question is empty: type a question about the documents")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
                         "Ask a shorter question (search for a phrase with `rag search` instead)")
    if not any(ch.isalnum() for ch in text):
        raise InputError("the question has no words or numbers in it")
    return text


def decline_message(hits: Sequence[Hit]) -> str:
    """What to say when the corpus does not answer, naming the nearest thing it does cover."""
    message = "I couldn't find the answer to that in the documents, so I won't guess."
    if hits:
        nearest = hits[0].chunk
        message += f" The closest thing they cover is “{nearest.title}”."
    return message


class Assistant:
    """One corpus, its retriever and a generator: asks questions and streams verified answers."""

    def __init__(self, settings: Settings, store: ChunkStore, retriever: Retriever, generator: Generator,
                 verifier: Verifier, rewriter: Rewriter | None = None, fallback: Generator | None = None,
                 grader: AnswerGrader | None = None, coverage: CoverageChecker | None = None) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self.generator = generator
        self.verifier = verifier
        self.rewriter = rewriter or ConcatenatingRewriter()
        self.fallback = fallback
        self.grader = grader
        self.coverage = coverage or CoverageChecker(verifier.embeddings)

    @classmethod
    def from_settings(cls, settings: Settings, generator: Generator | None = None) -> "Assistant":
        """Build every part from configuration (models are loaded once per process)."""
        store = open_store(settings)
        embeddings = store.embeddings
        keyword = keyword_index_for(settings) if settings.retriever in ("hybrid", "bm25") else None
        retriever = Retriever(store, embeddings, keyword, mode=settings.retriever, candidates=settings.candidates,
                              fusion=settings.fusion, dense_weight=settings.dense_weight,
                              reranker=make_reranker(settings.reranker, settings.cache_dir),
                              rerank_candidates=settings.rerank_candidates)
        generator = generator or make_generator(settings, embeddings)
        return cls(settings, store, retriever, generator, Verifier(embeddings), make_rewriter(generator),
                   *make_fallback(settings, generator, embeddings))

    def with_generator(self, generator: Generator, settings: Settings | None = None) -> "Assistant":
        """The same corpus, retriever and verifier answering with another backend (its own fallback and grader)."""
        settings = settings or self.settings
        return Assistant(settings, self.store, self.retriever, generator, self.verifier, self.rewriter,
                         *make_fallback(settings, generator, self.retriever.embeddings))

    def ask(self, question: str, history: Sequence[Turn] = (), filters: Filters = Filters(), k: int | None = None) -> Answer:
        """Answer one question; the last event of ``stream``."""
        answer = None
        for event in self.stream(question, history, filters, k):
            if isinstance(event, Done):
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str, history: Sequence[Turn] = (), filters: Filters = Filters(),
               k: int | None = None) -> Iterator[Event]:
        """Yield status, sources as soon as retrieval ends, answer tokens, then the verified answer."""
        started = time.perf_counter()
        question = clean_question(question)
        if (request := summary_request(question)) is not None:  # about a whole document (rag.summary)
            yield Status("summarising")
            summary = Summariser(self.store, self.retriever, self.verifier).answer(question, request, filters, history)
            yield Sources(summary.hits, question)
            yield Done(summary)
            return
        timings: dict[str, float] = {}
        trace: dict[str, object] = {}
        yield Status("searching")
        standalone = self.rewriter.rewrite(question, history)
        timings["rewrite"] = _ms(started)
        hits = self.retriever.search(standalone, k or self.settings.top_k, filters, trace=trace)
        timings["retrieval"] = _ms(started) - timings["rewrite"]
        timings["to_sources"] = _ms(started)
        yield Sources(hits, standalone)

        evidence = self.evidence_score(standalone, hits)
        trace["evidence_score"] = round(evidence, 3)
        if evidence < self.settings.min_relevance:
            trace["declined_by"] = "retrieval threshold"
            yield Done(self._declined(question, standalone, hits, timings, trace, started))
            return

        yield Status("writing")
        passages = number_passages([h.chunk for h in hits])
        # The parts are read from the user's own words; a follow-up's are ranked with its context.
        parts = question_parts(question) if self.settings.question_parts else []
        asked_parts = parts if len(parts) > 1 else []
        trace["parts"] = [p.text for p in asked_parts]
        asked = standalone if history else question
        pieces: list[str] = []
        generation_started = time.perf_counter()
        try:
            for piece in self.generator.stream(asked, passages, asked_parts):
                if not pieces:
                    timings["to_first_token"] = _ms(started)
                pieces.append(piece)
                yield Token(piece)
        except RagError:
            raise
        except Exception as error:
            raise GenerationError(f"the '{self.generator.name}' backend failed: {error}") from error
        raw = "".join(pieces).strip()
        timings["generation"] = _ms(generation_started)
        trace["raw_answer"] = raw
        yield Status("verifying")
        answer_parts: list[AnswerPart] = []
        if asked_parts:
            verified, declined_by, answer_parts = self.answer_parts(raw, asked_parts, passages, standalone, trace)
        else:
            verified, declined_by = self.conclude(raw, passages, standalone, trace)
            if declined_by in self.settings.fallback_on and self.fallback is not None:
                trace["first_declined_by"] = declined_by
                verified, declined_by = self.fall_back(asked, standalone, passages, trace)
        timings["verification"] = _ms(started) - timings["to_sources"] - timings["generation"]
        if declined_by or verified is None:
            trace["declined_by"] = declined_by
            yield Done(self._declined(question, standalone, hits, timings, trace, started))
            return
        text = verified.text
        uncovered = [p for p in answer_parts if not p.answered]
        if uncovered:
            text += " " + uncovered_line([QuestionPart(p.text, p.kind) for p in uncovered])
        timings["total"] = _ms(started)
        yield Done(Answer(question=question, text=text, abstained=False, citations=verified.citations,
                          hits=hits, standalone_question=standalone, timings_ms=timings, trace=trace,
                          parts=answer_parts))

    def answer_parts(self, raw: str, parts: Sequence[QuestionPart], passages: Sequence[Passage], question: str,
                     trace: dict[str, object]) -> tuple[VerifiedAnswer | None, str | None, list[AnswerPart]]:
        """A question of several parts: the generator's verified sentences, then for each part they
        leave unanswered the passages' own best sentence for it, when one gives the kind of answer
        the part asks for; a part still without one is named as not covered. Declined only when no
        part is answered."""
        verified, declined_by = self.conclude(raw, passages, question, trace, check_type=False)
        kept = [] if verified is None else [(v.sentence, v.passages) for v in verified.verdicts
                                            if v.status in ("supported", "reattached")]
        coverage = self.coverage.cover(parts, [sentence for sentence, _ in kept])
        added = []
        for covered in coverage:
            if covered.answered:
                continue
            candidate = self.best_for_part(covered.part, question, passages, {s for s, _ in kept} | set(added))
            if candidate is not None:
                added.append(candidate)
        if added:
            trace["filled_parts"] = added
            combined = " ".join([f"{s} " + "".join(f"[{n}]" for n in ns) for s, ns in kept] + added)
            verified, declined_by = self.conclude(combined, passages, question, trace, check_type=False)
        if verified is None:
            return None, declined_by or "coverage", [AnswerPart(p.text, p.kind, False) for p in parts]
        sentences = cited_sentences(verified.text)
        coverage = self.coverage.cover(parts, [text for text, _ in sentences])
        answer_parts = [AnswerPart(c.part.text, c.part.kind, c.answered,
                                   tuple(sorted({n for i in c.sentences for n in sentences[i][1]}))) for c in coverage]
        trace["answered_parts"] = f"{sum(p.answered for p in answer_parts)} of {len(parts)}"
        if not any(p.answered for p in answer_parts):
            return None, "coverage", answer_parts
        return verified, None, answer_parts

    def best_for_part(self, part: QuestionPart, question: str, passages: Sequence[Passage],
                      used: set[str]) -> str | None:
        """The passages' best sentence for one part, cited, when it answers that part (else None)."""
        for candidate in rank_sentences(part.text, passages, self.verifier.embeddings)[:3]:
            if candidate.text in used or not self.coverage.answers(part, candidate.text):
                continue
            if self.grader is not None and self.settings.grade_fallback and \
                    not self.grader.answers(part.text, candidate.text):
                continue
            return f"{candidate.text} [{candidate.n}]"
        return None

    def fall_back(self, question: str, standalone: str, passages: Sequence[Passage],
                  trace: dict[str, object]) -> tuple[VerifiedAnswer | None, str | None]:
        """The fallback backend's answer from the same passages, under the same checks.

        The small model's "not in the passages" is wrong more often than right, and its paraphrase
        may fail a check that the passages' own sentences pass. Those sentences are true to the
        corpus but may not answer what was asked, so the grader keeps only the ones that do."""
        assert self.fallback is not None
        raw = "".join(self.fallback.stream(question, passages)).strip()
        trace["fallback_answer"] = raw
        verified, declined_by = self.conclude(raw, passages, standalone, trace)
        if verified is not None and self.grader is not None:
            quoted = split_answer(raw)
            answering = [s for s in quoted if self.grader.answers(standalone, s)]
            trace["graded_answering"] = f"{len(answering)} of {len(quoted)}"
            verified, declined_by = self.conclude(" ".join(answering), passages, standalone, trace) \
                if answering else (None, "grader")
        trace["answered_by"] = None if declined_by else self.fallback.name
        return verified, declined_by

    def conclude(self, raw: str, passages: Sequence[Passage], question: str, trace: dict[str, object],
                 check_type: bool = True) -> tuple[VerifiedAnswer | None, str | None]:
        """The verified answer from a generator's text, or why it is declined: the generator said
        so, verification left nothing, or the answer does not state what the question asks for
        (``check_type``: a question of several parts is checked part by part instead)."""
        if says_no_answer(raw):
            return None, "generator"
        verified = self.verifier.verify(raw, passages, question)
        trace["verdicts"] = [v.__dict__ for v in verified.verdicts]
        if verified.declined or not verified.citations:
            return None, "verification"
        if check_type and asks_for_quantity(question) and not states_quantity(verified.text):
            # "How much did the shipment cost?" answered with who ordered it: true, cited, and no answer.
            return None, "answer type"
        return verified, None

    def evidence_score(self, question: str, hits: Sequence[Hit]) -> float:
        """How closely the best sentence of the passages matches the question (cosine).

        A whole passage's embedding dilutes the one sentence that answers; the generator and
        the verifier embed these sentences anyway, so this costs no extra model calls."""
        sentences = [" ".join(h.chunk.text[s.start:s.end].split()) for h in hits for s in split_sentences(h.chunk.text)]
        if not sentences:
            return 0.0
        embeddings = self.retriever.embeddings
        vectors = np.asarray(embeddings.embed_documents(sentences), dtype=np.float32)
        query = np.asarray(embeddings.embed_query(question), dtype=np.float32)
        return float(max((vectors @ query).max(), max(h.relevance for h in hits)))

    def _declined(self, question: str, standalone: str, hits: list[Hit], timings: dict[str, float],
                  trace: dict[str, object], started: float) -> Answer:
        timings["total"] = _ms(started)
        return Answer(question=question, text=decline_message(hits), abstained=True, citations=[], hits=hits,
                      standalone_question=standalone, timings_ms=timings, trace=trace)


def make_fallback(settings: Settings, generator: Generator,
                  embeddings: object) -> tuple[Generator | None, AnswerGrader | None]:
    """The backend that answers when the main one's answer is declined (none when they are the same),
    and the grader of its sentences (over the main backend's chat model, when it has one)."""
    if settings.fallback == "none" or settings.fallback == generator.name:
        return None, None
    fallback = make_generator(settings.model_copy(update={"generator": settings.fallback}), embeddings)  # type: ignore[arg-type]
    grader = make_grader(generator) if settings.grade_fallback else None
    if grader is not None and isinstance(fallback, ExtractiveGenerator):
        fallback = fallback.for_grading()
    return fallback, grader


def make_rewriter(generator: Generator) -> Rewriter:
    """Rewrite follow-ups with the generator's chat model when it has one, else the cheap way."""
    model = getattr(generator, "model", None)
    if model is None:
        return ConcatenatingRewriter()
    return LLMRewriter(model, lock=getattr(generator, "lock", None))


def open_store(settings: Settings, embeddings: object | None = None) -> ChunkStore:
    """The configured store (embedded or server), with the configured embedding model.

    The store is opened (and checked) before the model loads: a damaged store is reported in
    seconds, not after the model's load."""
    client = open_client(settings)
    embeddings = embeddings or load_embeddings(settings.embedding_model, settings.embedding_batch_size)
    return ChunkStore(client, settings.collection, embeddings, settings.embedding_model)  # type: ignore[arg-type]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
