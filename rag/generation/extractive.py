"""The extractive backend: no model, the passages' own sentences that best answer the question."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from ..chunking import split_sentences
from ..keyword import tokenize
from .base import NOT_IN_CORPUS, Passage


def is_statement(sentence: str) -> bool:
    """A full sentence of prose: five words or more, ending like a sentence."""
    return len(sentence.split()) >= 5 and sentence.rstrip("\"'”’)]").endswith((".", "!", "?"))


class ExtractiveGenerator:
    """Quote the few sentences most similar to the question, each cited [n]; instant."""

    name = "extractive"

    def __init__(self, embeddings: Embeddings, max_sentences: int = 3, min_similarity: float = 0.35,
                 keep_within: float = 0.12) -> None:
        self.embeddings = embeddings
        self.max_sentences = max_sentences
        self.min_similarity = min_similarity
        self.keep_within = keep_within

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Yield the chosen sentences, each followed by its citation marker."""
        candidates: list[tuple[int, int, str]] = []  # (passage n, position, sentence)
        seen: set[str] = set()
        for passage in passages:
            for position, span in enumerate(split_sentences(passage.chunk.text)):
                sentence = passage.chunk.text[span.start:span.end]
                key = " ".join(sentence.split())
                if is_statement(key) and key not in seen:  # headings, credits and overlap repeats are no answers
                    seen.add(key)
                    candidates.append((passage.n, position, sentence))
        if not candidates:
            yield NOT_IN_CORPUS
            return
        vectors = np.asarray(self.embeddings.embed_documents([" ".join(c[2].split()) for c in candidates]))
        query = np.asarray(self.embeddings.embed_query(question))
        question_terms = set(tokenize(question))
        scores = vectors @ query
        # A little credit for sharing the question's words: names and numbers matter.
        for i, (_, _, sentence) in enumerate(candidates):
            overlap = question_terms & set(tokenize(sentence))
            scores[i] += 0.05 * min(len(overlap), 4)
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        if best < self.min_similarity:
            yield NOT_IN_CORPUS
            return
        chosen = [i for i in order[: self.max_sentences] if scores[i] >= best - self.keep_within]
        # Read in document order within each passage, passages in retrieval order.
        chosen.sort(key=lambda i: (candidates[i][0], candidates[i][1]))
        for number, i in enumerate(chosen):
            n, _, sentence = candidates[i]
            yield ("" if number == 0 else " ") + " ".join(sentence.split()) + f" [{n}]"
