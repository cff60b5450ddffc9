"""Coverage: which parts of a question the verified sentences of an answer answer.

Verification says a sentence is true to its source; it does not say the sentence answers what was
asked. For a question of several parts each part needs a sentence that (a) gives the kind of answer
the part asks for (an amount for "how much", a time for "when", a reason for "why", someone for
"who", a place for "where") and (b) is about that part: close to it in meaning. A part with no such
sentence is named in the answer as not covered by the documents, instead of being guessed at or
taking the whole question down with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from .question_parts import QuestionPart
from .text_facts import names_someone, states_cause, states_place, states_quantity, states_time

# What a sentence must give to answer a part of each kind; "what", "how" and yes/no parts have no
# such test, and rest on similarity alone.
KIND_CHECKS: dict[str, Callable[[str], bool]] = {
    "how much": states_quantity,
    "when": states_time,
    "why": states_cause,
    "who": names_someone,
    "where": states_place,
}


def gives_kind(sentence: str, kind: str) -> bool:
    """The sentence gives the kind of answer a part of ``kind`` asks for."""
    check = KIND_CHECKS.get(kind)
    return check is None or check(sentence)


@dataclass(frozen=True)
class PartCoverage:
    """A part of the question and the answer sentences that answer it (none: not covered)."""

    part: QuestionPart
    sentences: tuple[int, ...]

    @property
    def answered(self) -> bool:
        """Some sentence answers this part."""
        return bool(self.sentences)


class CoverageChecker:
    """Assigns answer sentences to question parts by kind and by meaning."""

    def __init__(self, embeddings: Embeddings, min_similarity: float = 0.35, min_relevance: float = 0.3) -> None:
        self.embeddings = embeddings
        self.min_similarity = min_similarity
        # A part's answer is about the question as a whole too: "How many people took part in them?"
        # alone is close to any count of people in any passage.
        self.min_relevance = min_relevance

    def similarities(self, parts: Sequence[QuestionPart], sentences: Sequence[str]) -> np.ndarray:
        """Cosine of each part (rows) with each sentence (columns)."""
        if not parts or not sentences:
            return np.zeros((len(parts), len(sentences)), dtype=np.float32)
        part_vectors = np.asarray(self.embeddings.embed_documents([p.text for p in parts]), dtype=np.float32)
        sentence_vectors = np.asarray(self.embeddings.embed_documents(list(sentences)), dtype=np.float32)
        return part_vectors @ sentence_vectors.T

    def relevant(self, question: str, sentences: Sequence[str]) -> list[bool]:
        """Which sentences are about the whole question at all (all of them when it is not given)."""
        if not question or not sentences:
            return [True] * len(sentences)
        similarity = self.similarities([QuestionPart(question, "what")], sentences)[0]
        return [bool(value >= self.min_relevance) for value in similarity]

    def cover(self, parts: Sequence[QuestionPart], sentences: Sequence[str], question: str = "") -> list[PartCoverage]:
        """For each part, the sentences that answer it (and are about the whole ``question``). A
        one-part question is answered by every sentence that verification kept: the other checks of
        the pipeline decide that case."""
        if len(parts) <= 1:
            return [PartCoverage(p, tuple(range(len(sentences)))) for p in parts]
        similarity = self.similarities(parts, sentences)
        relevant = self.relevant(question, sentences)
        covered = []
        for row, part in enumerate(parts):
            answering = tuple(i for i, sentence in enumerate(sentences) if relevant[i]
                              and similarity[row, i] >= self.min_similarity and gives_kind(sentence, part.kind))
            covered.append(PartCoverage(part, answering))
        return covered

    def answers(self, part: QuestionPart, sentence: str, question: str = "") -> bool:
        """One sentence answers one part (of ``question``)."""
        return gives_kind(sentence, part.kind) and self.relevant(question, [sentence])[0] and \
            float(self.similarities([part], [sentence])[0, 0]) >= self.min_similarity


UNCOVERED_START = "The documents don't answer"


def uncovered_line(parts: Sequence[QuestionPart]) -> str:
    """The sentence that names the parts the documents do not answer (it ends the answer's text)."""
    asked = "; ".join(f"“{p.text}”" for p in parts)
    which = "this part" if len(parts) == 1 else "these parts"
    return f"{UNCOVERED_START} {which} of the question: {asked}"


def without_uncovered_line(text: str) -> str:
    """The answer's text without the line naming what the documents do not answer."""
    at = text.rfind(UNCOVERED_START)
    return text[:at].rstrip() if at != -1 else text
