"""Whole-document requests: "Summarise the article", "What are the key points of X?".

Such a question is about a whole document, not about the five passages closest to it. The answer
is the document's own sentences that best cover it: each sentence is ranked by its centrality
among the document's sentences (LexRank over sentence embeddings), then chosen greedily with
maximal marginal relevance so that a second sentence saying what a first one says is left out.
The chosen sentences go through ``Verifier.verify`` as an extractive answer, so each is cited
with a verbatim quote and offsets like any other answer, and they are given in document order.

Which document: the one chosen in the chat's document filter when there is exactly one; else the
document whose title best matches the words of the request ("the key points of *the Cuba
article*"); else the document of the top passage retrieved for the request.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from .chunking import split_sentences
from .generation.base import number_passages
from .retrieval import Filters, Retriever
from .store import ChunkStore
from .text_facts import says_something, states_something
from .types import Answer, Chunk, Hit
from .verification import Verifier

# ----- recognising a request ------------------------------------------------------------------
_DOC_NOUN = r"(?:article|document|doc|text|report|paper|page|file|piece|story|post|essay|book|chapter|source)"
_POINTS = r"(?:key|main|important|essential|central)\s+(?:points?|ideas?|takeaways?|findings?|arguments?|facts?|messages?)"
_TAIL = r"\s*[?.!]*\s*$"
# Each pattern reads the whole question; the named group ``target`` is the document it names, if any.
_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    # "Summarise the article", "Please summarize X", "Sum up this report", "Give me a summary of X"
    rf"^(?:please\s+)?(?:can|could)?\s*(?:you\s+)?(?:summari[sz]e|sum\s+up|recap|outline)(?:\s+(?P<target>.+?))?{_TAIL}",
    rf"^(?:please\s+)?(?:give|write|show|make|provide)\s+(?:me\s+|us\s+)?(?:a|an|the)\s+(?:short\s+|brief\s+|quick\s+)?"
    rf"(?:summary|overview|tl;?\s?dr|gist|synopsis)(?:\s+of\s+(?P<target>.+?))?{_TAIL}",
    # "Summary of the article", "Overview please", "TL;DR", "What is the gist of X?"
    rf"^(?:what(?:'s|\s+is)\s+)?(?:a|an|the)?\s*(?:short\s+|brief\s+|quick\s+)?(?:summary|overview|tl;?\s?dr|gist|synopsis)"
    rf"(?:\s+(?:of|for)\s+(?P<target>.+?))?(?:,?\s+please)?{_TAIL}",
    # "What are the key points of X?", "List the main points", "Key takeaways of the report"
    rf"^(?:(?:what\s+are|list|give\s+me|tell\s+me)\s+)?(?:the\s+)?{_POINTS}(?:\s+(?:of|in|from)\s+(?P<target>.+?))?{_TAIL}",
    # "What is this article about?", "What's the document about?", 'What is "Russia Sends Aid" about?'
    rf"^what(?:'s|\s+is|\s+was)\s+(?P<target>(?:this|that|the|my)\s+(?:[\w'-]+\s+){{0,4}}?{_DOC_NOUN}"
    rf"|[\"“'][^\"”']+[\"”'])\s+(?:all\s+)?about{_TAIL}",
)]
# Words of a request's target that name no particular document ("this article", "it").
_GENERIC = {"the", "this", "that", "these", "those", "a", "an", "my", "our", "it", "its", "please", "document",
            "documents", "doc", "article", "text", "report", "paper", "page", "file", "piece", "story", "post",
            "essay", "book", "chapter", "source", "whole", "entire", "above", "for", "me", "us", "of", "in", "on"}


@dataclass(frozen=True)
class SummaryRequest:
    """A question asking for the whole of a document; ``target`` is how it names it ("" for none)."""

    target: str = ""

    @property
    def names(self) -> list[str]:
        """The target's words that may name a document (not "the", "article", …)."""
        return [w for w in _words(self.target) if w not in _GENERIC]


def summary_request(question: str) -> SummaryRequest | None:
    """The whole-document request this question makes, or None for an ordinary question."""
    text = " ".join(question.split())
    for pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            target = (match.groupdict().get("target") or "").strip(" \"“”'")
            return SummaryRequest(target)
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


# ----- choosing sentences ---------------------------------------------------------------------
@dataclass(frozen=True)
class DocSentence:
    """A sentence of a document: its chunk, offsets into the chunk, and its text."""

    chunk: Chunk
    start: int
    end: int
    text: str

    @property
    def doc_start(self) -> int:
        """Offset of the sentence in the document's text."""
        return self.chunk.start + self.start


def document_sentences(chunks: Sequence[Chunk], max_sentences: int = 400) -> list[DocSentence]:
    """The document's sentences that say something, once each (chunks overlap), in document order."""
    seen: set[int] = set()
    found: list[DocSentence] = []
    for chunk in sorted(chunks, key=lambda c: (c.start, c.index)):
        for span in split_sentences(chunk.text):
            text = " ".join(chunk.text[span.start:span.end].split())
            at = chunk.start + span.start
            # A heading, a caption or a link line ("SOURCE: KREMLIN.RU") is no point of the document.
            if at in seen or len(text.split()) < 6 or text[-1:] not in ".!?\"”'" or \
                    not (says_something(text) and states_something(text)):
                continue
            seen.add(at)
            found.append(DocSentence(chunk, span.start, span.end, text))
    return found[:max_sentences]


def lexrank(vectors: np.ndarray, damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """Centrality of each row among all rows (continuous LexRank: PageRank over cosine similarity)."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0)
    similarity = np.clip(vectors @ vectors.T, 0.0, None)
    np.fill_diagonal(similarity, 0.0)
    totals = similarity.sum(axis=1, keepdims=True)
    transition = np.where(totals > 0, similarity / np.where(totals > 0, totals, 1.0), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        scores = (1 - damping) / n + damping * transition.T @ scores
    return scores / scores.max()


def choose(vectors: np.ndarray, count: int, diversity: float = 0.5) -> list[int]:
    """Indices of ``count`` central, mutually different rows (MMR over LexRank), in row order."""
    centrality = lexrank(vectors)
    similarity = vectors @ vectors.T
    chosen: list[int] = []
    left = list(range(len(vectors)))
    while left and len(chosen) < count:
        def gain(i: int) -> float:
            redundancy = max((float(similarity[i, j]) for j in chosen), default=0.0)
            return (1 - diversity) * float(centrality[i]) - diversity * redundancy
        best = max(left, key=gain)
        chosen.append(best)
        left.remove(best)
    return sorted(chosen)


def summary_length(sentences: int) -> int:
    """How many sentences cover a document of ``sentences`` sentences: 4 to 8."""
    return max(4, min(8, round(sentences ** 0.5) + 1))


# ----- answering ------------------------------------------------------------------------------
class Summariser:
    """Answers a whole-document request from the store, with the verifier's citations."""

    def __init__(self, store: ChunkStore, retriever: Retriever, verifier: Verifier) -> None:
        self.store = store
        self.retriever = retriever
        self.verifier = verifier

    @property
    def embeddings(self) -> Embeddings:
        return self.verifier.embeddings

    def choose_document(self, request: SummaryRequest, question: str, filters: Filters = Filters(),
                        history: Sequence[tuple[str, str]] = ()) -> str | None:
        """The id of the document the request is about, or None when the corpus has none. "Summarise
        it" after an answer is about the document that answer came from."""
        if len(filters.doc_ids) == 1:
            return filters.doc_ids[0]
        names = set(request.names)
        if names:
            documents = [d for d in self.store.list_documents() if not filters.doc_ids or d.doc_id in filters.doc_ids]
            scored = [(len(names & set(_words(d.title))) / len(names), d.doc_id) for d in documents]
            best = max(scored, default=(0.0, ""))
            if best[0] >= 0.5:
                return best[1]
        query = " ".join(request.names) or (history[-1][1] if history else "") or question
        hits = self.retriever.search(query, 1, filters)
        return hits[0].chunk.doc_id if hits else None

    def answer(self, question: str, request: SummaryRequest, filters: Filters = Filters(),
               history: Sequence[tuple[str, str]] = ()) -> Answer:
        """The document's covering sentences, verified and cited, or a declined answer."""
        started = time.perf_counter()
        doc_id = self.choose_document(request, question, filters, history)
        chunks = list(self.store.iter_chunks([doc_id])) if doc_id else []
        sentences = document_sentences(chunks)
        trace: dict[str, object] = {"summary_of": doc_id, "sentences_in_document": len(sentences)}
        if not sentences:
            trace["declined_by"] = "summary"
            return Answer(question=question, text="I couldn't find a document to summarise for that.",
                          abstained=True, standalone_question=question, trace=trace,
                          timings_ms={"total": _ms(started)})
        vectors = np.asarray(self.embeddings.embed_documents([s.text for s in sentences]), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
        picked = [sentences[i] for i in choose(vectors, summary_length(len(sentences)))]
        used = list(dict.fromkeys(s.chunk.id for s in picked))
        passages = number_passages([next(c for c in chunks if c.id == i) for i in used])
        number = {p.chunk.id: p.n for p in passages}
        raw = " ".join(f"{_stripped(s.text)} [{number[s.chunk.id]}]." for s in picked)
        trace["raw_answer"] = raw
        verified = self.verifier.verify(raw, passages, "")
        trace["verdicts"] = [v.__dict__ for v in verified.verdicts]
        hits = [Hit(p.chunk, score=1.0, relevance=1.0) for p in passages]
        if verified.declined or not verified.citations:
            trace["declined_by"] = "verification"
            return Answer(question=question, text="I couldn't summarise that document with quotes I could check.",
                          abstained=True, hits=hits, standalone_question=question, trace=trace,
                          timings_ms={"total": _ms(started)})
        return Answer(question=question, text=verified.text, abstained=False,
                      citations=verified.citations, hits=hits, standalone_question=question, trace=trace,
                      timings_ms={"total": _ms(started)})


def _stripped(sentence: str) -> str:
    """The sentence without its final full stop, so the marker goes before it."""
    return sentence[:-1] if sentence.endswith((".", "!", "?")) else sentence


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
