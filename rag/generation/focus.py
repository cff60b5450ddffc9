"""The sentences of the retrieved passages that best answer a question.

Both the extractive backend (which quotes the best few) and the LLM backends (which read only the
best several, not whole passages) rank sentences here. A 1.5B model given five whole passages
often copies one out or misses the answer among them; given the dozen most relevant sentences it
reads a prompt a third as long, which on two cores is also a third of the wait before its first word.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from ..chunking import split_sentences
from ..injection import order_sentences
from ..keyword import tokenize
from ..question_parts import QuestionPart
from .base import Passage


@dataclass(frozen=True)
class RankedSentence:
    """A sentence of a passage, scored against the question."""

    n: int             # the passage's number (passages are numbered in retrieval order)
    position: int      # the sentence's index in its passage
    text: str
    similarity: float  # to the question: cosine, plus a little for shared words
    score: float       # what ranks it: the similarity, plus credit for its passage's rank


def is_statement(sentence: str) -> bool:
    """A full sentence of prose: five words or more, ending like a sentence."""
    return len(sentence.split()) >= 5 and sentence.rstrip("\"'”’)]").endswith((".", "!", "?"))


# The retriever ranks whole passages with dense and keyword search fused, and is the better judge:
# the passage holding a suite answer's evidence comes first in 68 of 78 news cases, the evidence
# sentence first by its own similarity in 35. Crediting a sentence 0.15 / (its passage's number)
# puts the evidence among the best three sentences in 66 news cases instead of 60, 48 seed cases
# instead of 46 (benchmarks/sentence_ranking.py, 2026-12-03: the suites' single-turn answerable cases).
PASSAGE_RANK_CREDIT = 0.15


def rank_sentences(question: str, passages: Sequence[Passage], embeddings: Embeddings,
                   rank_credit: float = PASSAGE_RANK_CREDIT) -> list[RankedSentence]:
    """Every distinct full sentence of the passages but those giving the assistant orders, best
    first: cosine similarity to the question, plus a little credit for sharing its words (names and
    numbers matter), plus credit for coming from a passage the retriever ranked high."""
    candidates: list[tuple[int, int, str]] = []  # (passage n, position, sentence)
    seen: set[str] = set()
    for passage in passages:
        spans = split_sentences(passage.chunk.text)
        orders = order_sentences(passage.chunk.text, spans)
        for position, (span, order) in enumerate(zip(spans, orders)):
            sentence = " ".join(passage.chunk.text[span.start:span.end].split())
            # Headings, credits and overlap repeats are no answers; orders to the assistant are not read.
            if is_statement(sentence) and sentence not in seen and not order:
                seen.add(sentence)
                candidates.append((passage.n, position, sentence))
    if not candidates:
        return []
    vectors = np.asarray(embeddings.embed_documents([c[2] for c in candidates]))
    scores = vectors @ np.asarray(embeddings.embed_query(question))
    question_terms = set(tokenize(question))
    ranked = []
    for (n, position, sentence), cosine in zip(candidates, scores):
        similarity = float(cosine) + 0.05 * min(len(question_terms & set(tokenize(sentence))), 4)
        ranked.append(RankedSentence(n, position, sentence, similarity, similarity + rank_credit / max(n, 1)))
    return sorted(ranked, key=lambda s: -s.score)


def rank_for_parts(question: str, passages: Sequence[Passage], embeddings: Embeddings,
                   parts: Sequence[QuestionPart] = ()) -> list[RankedSentence]:
    """The passages' sentences ranked so that every part of the question has its best evidence
    near the top: the rankings for the whole question and for each part, taken in turn. A one-part
    question is ranked as a whole."""
    whole = rank_sentences(question, passages, embeddings)
    if len(parts) <= 1:
        return whole
    rankings = [whole, *(rank_sentences(p.text, passages, embeddings) for p in parts)]
    merged: dict[tuple[int, int], RankedSentence] = {}
    for round_ in range(max(len(r) for r in rankings)):
        for ranking in rankings:
            if round_ < len(ranking):
                merged.setdefault((ranking[round_].n, ranking[round_].position), ranking[round_])
    return list(merged.values())


def in_reading_order(sentences: Sequence[RankedSentence]) -> list[RankedSentence]:
    """Passages in retrieval order, sentences in document order within each."""
    return sorted(sentences, key=lambda s: (s.n, s.position))


def focus_passages(question: str, passages: Sequence[Passage], embeddings: Embeddings,
                   max_sentences: int, parts: Sequence[QuestionPart] = ()) -> list[Passage]:
    """The passages cut down to their ``max_sentences`` best sentences overall, in reading order;
    passages keep their numbers (citations still point at the whole passage), and a passage with
    none of the best sentences is left out. For a question of several ``parts`` the best sentences
    for each part are among them. ``max_sentences`` 0 keeps the passages whole."""
    if max_sentences <= 0:
        return list(passages)
    best = in_reading_order(rank_for_parts(question, passages, embeddings, parts)[:max_sentences])
    if not best:
        return list(passages)
    by_number = {p.n: p for p in passages}
    focused = []
    for n in dict.fromkeys(s.n for s in best):
        text = " ".join(s.text for s in best if s.n == n)
        focused.append(Passage(n, replace(by_number[n].chunk, text=text)))
    return focused
