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

from .citations import MARKER, SENTENCE_END, cited_sentences, says_no_answer, split_answer
from .config import Settings
from .coverage import CoverageChecker, uncovered_line
from .errors import GenerationError, InputError, RagError
from .generation.base import Generator, Passage, number_passages
from .generation.focus import rank_sentences
from .grading import AnswerGrader
from .policy import COVERAGE, GRADER, AnswerPolicy
from .question_parts import QuestionPart, question_parts
from .retrieval import Filters, Retriever
from .rewriting import ConcatenatingRewriter, Rewriter, Turn
from .store import ChunkStore
from .summary import Summariser, summary_request
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
class QuickAnswer:
    """A verified, cited answer made of the passages' own sentences, shown while the LLM writes.

    It comes within a fraction of a second of the sources; the generator's verified answer
    (``Done``) replaces it. It is checked like every answer but not graded (grading costs the LLM
    seconds), so it is shown as the closest sentences, not as the answer."""

    answer: Answer


@dataclass(frozen=True)
class Checked:
    """The generator's sentences written so far that their cited passages support (markers
    removed: citations are numbered when the whole answer is verified)."""

    text: str


@dataclass(frozen=True)
class Done:
    """The verified answer."""

    answer: Answer


Event = Status | Sources | QuickAnswer | Token | Checked | Done


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
                 grader: AnswerGrader | None = None, coverage: CoverageChecker | None = None,
                 quick: Generator | None = None) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self.generator = generator
        self.verifier = verifier
        self.rewriter = rewriter or ConcatenatingRewriter()
        self.fallback = fallback
        self.grader = grader
        self.coverage = coverage or CoverageChecker(verifier.embeddings)
        # The instant backend whose verified quotes are shown while a slow generator writes.
        self.quick = quick
        self.policy = AnswerPolicy(verifier, retriever.embeddings, settings.min_relevance)

    @classmethod
    def from_settings(cls, settings: Settings, generator: Generator | None = None) -> "Assistant":
        """Build every part from configuration (``rag.wiring.build_assistant``)."""
        from .wiring import build_assistant
        return build_assistant(settings, generator)

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

        declined_by = self.policy.retrieval(standalone, hits, trace)
        if declined_by:
            trace["declined_by"] = declined_by
            yield Done(self._declined(question, standalone, hits, timings, trace, started))
            return

        yield Status("writing")
        passages = number_passages([h.chunk for h in hits])
        # The parts are read from the user's own words; a follow-up's are ranked with its context.
        parts = question_parts(question) if self.settings.question_parts else []
        asked_parts = parts if len(parts) > 1 else []
        trace["parts"] = [p.text for p in asked_parts]
        asked = standalone if history else question
        if self.quick is not None:
            quick = self.quick_answer(asked, standalone, passages, asked_parts, hits)
            if quick is not None:
                timings["to_first_cited"] = _ms(started)
                trace["quick_answer"] = quick.text
                yield QuickAnswer(quick)
        pieces: list[str] = []
        checked = _SentenceChecker(self.verifier, passages, standalone)
        generation_started = time.perf_counter()
        try:
            for piece in self.generator.stream(asked, passages, asked_parts):
                if not pieces:
                    timings["to_first_token"] = _ms(started)
                pieces.append(piece)
                yield Token(piece)
                if checked.add(piece):
                    timings.setdefault("to_first_checked", _ms(started))
                    timings.setdefault("to_first_cited", _ms(started))
                    yield Checked(checked.text)
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
            verified, declined_by = self.policy.conclude(raw, passages, standalone, trace)
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

    def quick_answer(self, question: str, standalone: str, passages: Sequence[Passage],
                     parts: Sequence[QuestionPart], hits: list[Hit]) -> Answer | None:
        """The instant backend's verified quotes for the question (None when it finds none)."""
        assert self.quick is not None
        raw = "".join(self.quick.stream(question, passages, parts)).strip()
        verified, declined_by = self.policy.conclude(raw, passages, standalone, {}, check_type=not parts)
        if verified is None or declined_by:
            return None
        return Answer(question=question, text=verified.text, abstained=False, citations=verified.citations,
                      hits=hits, standalone_question=standalone, trace={"quick": True})

    def answer_parts(self, raw: str, parts: Sequence[QuestionPart], passages: Sequence[Passage], question: str,
                     trace: dict[str, object]) -> tuple[VerifiedAnswer | None, str | None, list[AnswerPart]]:
        """A question of several parts: the generator's verified sentences, then for each part they
        leave unanswered the passages' own best sentence for it, when one gives the kind of answer
        the part asks for; a part still without one is named as not covered. Declined only when no
        part is answered."""
        verified, declined_by = self.policy.conclude(raw, passages, question, trace, check_type=False)
        kept = [] if verified is None else [(v.sentence, v.passages) for v in verified.verdicts
                                            if v.status in ("supported", "reattached")]
        coverage = self.coverage.cover(parts, [sentence for sentence, _ in kept], question)
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
            verified, declined_by = self.policy.conclude(combined, passages, question, trace, check_type=False)
        if verified is None:
            return None, declined_by or COVERAGE, [AnswerPart(p.text, p.kind, False) for p in parts]
        sentences = cited_sentences(verified.text)
        coverage = self.coverage.cover(parts, [text for text, _ in sentences], question)
        answer_parts = [AnswerPart(c.part.text, c.part.kind, c.answered,
                                   tuple(sorted({n for i in c.sentences for n in sentences[i][1]}))) for c in coverage]
        trace["answered_parts"] = f"{sum(p.answered for p in answer_parts)} of {len(parts)}"
        if not any(p.answered for p in answer_parts):
            return None, COVERAGE, answer_parts
        return verified, None, answer_parts

    def best_for_part(self, part: QuestionPart, question: str, passages: Sequence[Passage],
                      used: set[str]) -> str | None:
        """The passages' best sentence for one part, cited, when it answers that part (else None)."""
        for candidate in rank_sentences(part.text, passages, self.verifier.embeddings)[:3]:
            if candidate.text in used or not self.coverage.answers(part, candidate.text, question):
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
        verified, declined_by = self.policy.conclude(raw, passages, standalone, trace)
        if verified is not None and self.grader is not None:
            quoted = split_answer(raw)
            answering = [s for s in quoted if self.grader.answers(standalone, s)]
            trace["graded_answering"] = f"{len(answering)} of {len(quoted)}"
            verified, declined_by = self.policy.conclude(" ".join(answering), passages, standalone, trace) \
                if answering else (None, GRADER)
        trace["answered_by"] = None if declined_by else self.fallback.name
        return verified, declined_by

    def _declined(self, question: str, standalone: str, hits: list[Hit], timings: dict[str, float],
                  trace: dict[str, object], started: float) -> Answer:
        timings["total"] = _ms(started)
        return Answer(question=question, text=decline_message(hits), abstained=True, citations=[], hits=hits,
                      standalone_question=standalone, timings_ms=timings, trace=trace)


class _SentenceChecker:
    """Verifies a streaming answer one finished sentence at a time and keeps the supported ones."""

    def __init__(self, verifier: Verifier, passages: Sequence[Passage], question: str) -> None:
        self.verifier, self.passages, self.question = verifier, passages, question
        self.written = ""
        self.done = 0                 # characters of ``written`` already checked
        self.kept: list[str] = []

    @property
    def text(self) -> str:
        """The supported sentences so far, without markers."""
        return " ".join(self.kept)

    def add(self, piece: str) -> bool:
        """Take the next piece of the answer; True when a newly finished sentence was kept."""
        self.written += piece
        end = None
        for match in SENTENCE_END.finditer(self.written, self.done):
            end = match.end()
        if end is None:
            return False
        finished, self.done = self.written[self.done:end], end
        if says_no_answer(finished) or not MARKER.search(finished):
            return False
        verified = self.verifier.verify(finished, self.passages, self.question)
        kept = [v.sentence for v in verified.verdicts if v.status in ("supported", "reattached")]
        self.kept += kept
        return bool(kept)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
