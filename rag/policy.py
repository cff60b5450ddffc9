"""The answer policy: the named checks that decide, in this order, whether a question is answered.

A check that fails names itself as the answer's ``declined_by``:

    check                  passes when                                         applies to
    retrieval threshold    the passages' best sentence is close to the question before generation
    generator              the generator did not say the passages lack it      each text written
    verification           a cited sentence survives verification              each text written
    answer type            "how much / how many" is answered with a quantity   a one-part question
    grader                 the grader says a quoted sentence answers           the fallback's quotes
    coverage               at least one part of the question is answered       a question of parts

The assistant asks the first before generating, the next three of each text a backend writes
(the main one's, then the fallback's), and the last two where they apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from .chunking import split_sentences
from .citations import says_no_answer
from .generation.base import Passage
from .text_facts import asks_for_quantity, states_quantity
from .types import Hit
from .verification import VerifiedAnswer, Verifier

RETRIEVAL_THRESHOLD = "retrieval threshold"
GENERATOR = "generator"
VERIFICATION = "verification"
ANSWER_TYPE = "answer type"
GRADER = "grader"
COVERAGE = "coverage"
ORDER = (RETRIEVAL_THRESHOLD, GENERATOR, VERIFICATION, ANSWER_TYPE, GRADER, COVERAGE)


def evidence_score(question: str, hits: Sequence[Hit], embeddings: Embeddings) -> float:
    """How closely the best sentence of the passages matches the question (cosine).

    A whole passage's embedding dilutes the one sentence that answers; the generator and
    the verifier embed these sentences anyway, so this costs no extra model calls."""
    sentences = [" ".join(h.chunk.text[s.start:s.end].split()) for h in hits for s in split_sentences(h.chunk.text)]
    if not sentences:
        return 0.0
    vectors = np.asarray(embeddings.embed_documents(sentences), dtype=np.float32)
    query = np.asarray(embeddings.embed_query(question), dtype=np.float32)
    return float(max((vectors @ query).max(), max(h.relevance for h in hits)))


@dataclass
class Reading:
    """One generator text under the checks, with what verification made of it."""

    raw: str
    passages: Sequence[Passage]
    question: str
    trace: dict[str, object] = field(default_factory=dict)
    verified: VerifiedAnswer | None = None


def generator_answered(reading: Reading) -> bool:
    """The generator wrote an answer, not "the passages do not say"."""
    return not says_no_answer(reading.raw)


def verification_kept(reading: Reading) -> bool:
    """Verification left at least one cited sentence."""
    verified = reading.verified
    return verified is not None and not verified.declined and bool(verified.citations)


def answer_type_given(reading: Reading) -> bool:
    """A question asking how much or how many is answered with a quantity.

    "How much did the shipment cost?" answered with who ordered it: true, cited, and no answer."""
    return not asks_for_quantity(reading.question) or (
        reading.verified is not None and states_quantity(reading.verified.text))


@dataclass(frozen=True)
class Check:
    """A named test of a generator's text; its name is the ``declined_by`` when it fails."""

    name: str
    passes: Callable[[Reading], bool]


class AnswerPolicy:
    """Runs the checks in order over the passages and each text a generator writes."""

    def __init__(self, verifier: Verifier, embeddings: Embeddings, min_relevance: float) -> None:
        self.verifier = verifier
        self.embeddings = embeddings
        self.min_relevance = min_relevance
        self.text_checks = (Check(GENERATOR, generator_answered), Check(VERIFICATION, self._verify),
                            Check(ANSWER_TYPE, answer_type_given))

    def retrieval(self, question: str, hits: Sequence[Hit], trace: dict[str, object]) -> str | None:
        """The retrieval threshold before generating: None to go on, else the check's name."""
        score = evidence_score(question, hits, self.embeddings)
        trace["evidence_score"] = round(score, 3)
        return None if score >= self.min_relevance else RETRIEVAL_THRESHOLD

    def conclude(self, raw: str, passages: Sequence[Passage], question: str, trace: dict[str, object],
                 check_type: bool = True) -> tuple[VerifiedAnswer | None, str | None]:
        """The verified answer from a generator's text, or the name of the first check it fails
        (``check_type``: a question of several parts is checked part by part instead)."""
        reading = Reading(raw, passages, question, trace)
        for check in self.text_checks:
            if check.name == ANSWER_TYPE and not check_type:
                continue
            if not check.passes(reading):
                return None, check.name
        return reading.verified, None

    def _verify(self, reading: Reading) -> bool:
        reading.verified = self.verifier.verify(reading.raw, reading.passages, reading.question)
        reading.trace["verdicts"] = [v.__dict__ for v in reading.verified.verdicts]
        return verification_kept(reading)
