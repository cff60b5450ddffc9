"""Retrieval: dense search (Chroma), BM25, fused, diversified by MMR.

Every hit carries the cosine similarity between question and passage, whichever retriever found
it, so that abstention has one scale to judge "is anything here relevant?".

Candidates travel as ids and vectors; texts and metadata (the costly part of a Chroma read) are
read only for the passages that are kept, so a search's cost does not grow with the candidates.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from .chunking import date_number
from .config import Settings
from .keyword import KeywordIndex
from .reranking import Reranker
from .store import ChunkStore
from .types import Chunk, Hit, content_hash

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "bm25"]
Fusion = Literal["rrf", "relative"]
RRF_K = 60  # the constant of Cormack et al. (2009); damps the weight of top ranks


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some documents and/or a date range (ISO dates, inclusive)."""

    doc_ids: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.date_from or self.date_to)

    def accepts(self, chunk: Chunk) -> bool:
        """True when the chunk passes every filter."""
        if self.doc_ids and chunk.doc_id not in self.doc_ids:
            return False
        date = str(chunk.metadata.get("date", ""))[:10]
        if self.date_from and (not date or date < self.date_from):
            return False
        if self.date_to and (not date or date > self.date_to):
            return False
        return True

    def where(self) -> dict[str, Any] | None:
        """The filter as a Chroma ``where`` clause, so the store applies it before ranking."""
        clauses: list[dict[str, Any]] = []
        if len(self.doc_ids) == 1:
            clauses.append({"doc_id": self.doc_ids[0]})
        elif self.doc_ids:
            clauses.append({"doc_id": {"$in": list(self.doc_ids)}})
        if self.date_from and (day := date_number(self.date_from)) is not None:
            clauses.append({"date_num": {"$gte": day}})
        if self.date_to and (day := date_number(self.date_to)) is not None:
            clauses.append({"date_num": {"$lte": day}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def keyword_index_path(cache_dir: Path, store_key: str, collection: str) -> Path:
    """Where the keyword index of one collection of one store is cached."""
    return cache_dir / "keyword" / f"{collection}-{content_hash(store_key, length=12)}"


def keyword_index_for(settings: "Settings") -> KeywordIndex:
    """The keyword index of the configured store and collection, loaded from its cache."""
    return KeywordIndex(keyword_index_path(settings.cache_dir, settings.chroma_url or str(settings.store_dir.resolve()),
                                           settings.collection))


def reciprocal_rank_fusion(rankings: dict[str, list[tuple[str, float]]], weights: dict[str, float] | None = None,
                           k: int = RRF_K) -> list[tuple[str, float, dict[str, int]]]:
    """Fuse ranked lists by rank: score = sum of weight/(k + rank); returns (id, score, ranks) best first."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ranked in rankings.items():
        weight = (weights or {}).get(name, 1.0)
        for rank, (item, _) in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            ranks.setdefault(item, {})[name] = rank
    return _ordered(scores, ranks)


def relative_score_fusion(rankings: dict[str, list[tuple[str, float]]], weights: dict[str, float] | None = None
                          ) -> list[tuple[str, float, dict[str, int]]]:
    """Fuse ranked lists by score: each list's scores min-max scaled to [0, 1], then a weighted
    sum (an item missing from a list gets 0 there). Unlike RRF it keeps how much better the top
    hit is than the rest, which is what tells a strong keyword match from a weak one."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ranked in rankings.items():
        if not ranked:
            continue
        weight = (weights or {}).get(name, 1.0)
        values = [score for _, score in ranked]
        low, high = min(values), max(values)
        for rank, (item, score) in enumerate(ranked, start=1):
            scaled = (score - low) / (high - low) if high > low else 1.0
            scores[item] = scores.get(item, 0.0) + weight * scaled
            ranks.setdefault(item, {})[name] = rank
    return _ordered(scores, ranks)


def _ordered(scores: dict[str, float], ranks: dict[str, dict[str, int]]) -> list[tuple[str, float, dict[str, int]]]:
    order = sorted(scores, key=lambda i: (-scores[i], min(ranks[i].values())))
    return [(i, scores[i], ranks[i]) for i in order]


FUSIONS = {"rrf": reciprocal_rank_fusion, "relative": relative_score_fusion}


def maximal_marginal_relevance(query: np.ndarray, vectors: np.ndarray, relevance_order: list[int],
                               k: int, diversity: float, duplicate_threshold: float = 0.95) -> list[int]:
    """Pick k items that are relevant but not alike; near-duplicates (cosine above the
    threshold to a picked item) are never picked. ``relevance_order`` ranks the candidates."""
    if len(relevance_order) == 0:
        return []
    # Relevance from the fused rank, not raw cosine: BM25 finds count too.
    rank_score = {item: 1.0 - pos / len(relevance_order) for pos, item in enumerate(relevance_order)}
    picked: list[int] = []
    remaining = list(relevance_order)
    similarity = vectors @ vectors.T
    while remaining and len(picked) < k:
        best, best_value = None, -np.inf
        for item in remaining:
            redundancy = max((similarity[item, p] for p in picked), default=0.0)
            if redundancy >= duplicate_threshold:
                continue
            value = (1 - diversity) * rank_score[item] - diversity * redundancy
            if value > best_value:
                best, best_value = item, value
        if best is None:
            break
        picked.append(best)
        remaining.remove(best)
    return picked


class Retriever:
    """Finds the passages for a question in one corpus."""

    def __init__(self, store: ChunkStore, embeddings: Embeddings, keyword: KeywordIndex | None = None,
                 mode: Mode = "hybrid", candidates: int = 30, diversity: float = 0.2,
                 fusion: Fusion = "relative", dense_weight: float = 0.5,
                 reranker: Reranker | None = None, rerank_candidates: int = 20) -> None:
        if mode in ("hybrid", "bm25") and keyword is None:
            raise ValueError(f"retriever mode '{mode}' needs a keyword index")
        if not 0.0 <= dense_weight <= 1.0:
            raise ValueError(f"dense_weight must be between 0 and 1, got {dense_weight}")
        self.store, self.embeddings, self.keyword = store, embeddings, keyword
        self.mode, self.candidates, self.diversity = mode, candidates, diversity
        self.fuse = FUSIONS[fusion]
        self.reranker, self.rerank_candidates = reranker, rerank_candidates
        self.weights = {"dense": dense_weight, "bm25": 1.0 - dense_weight}

    def sync_keyword_index(self) -> None:
        """Apply the store's latest committed changes to the keyword index."""
        if self.keyword is None:
            return
        generation, versions = self.store.committed_state()
        self.keyword.sync(versions, self.store.iter_chunks, generation)

    def search(self, query: str, k: int, filters: Filters = Filters(), trace: dict[str, Any] | None = None) -> list[Hit]:
        """The k best passages for ``query``, best first."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        vector = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        timings["embed_ms"] = (time.perf_counter() - started) * 1000
        rankings: dict[str, list[tuple[str, float]]] = {}
        vectors: dict[str, np.ndarray] = {}
        wide = self.candidates if not filters else self.candidates * 3

        if self.mode in ("hybrid", "dense"):
            t = time.perf_counter()
            found = self.store.nearest(vector, wide, filters.where())
            rankings["dense"] = [(i, similarity) for i, similarity, _ in found[:self.candidates]]
            vectors.update((i, v) for i, _, v in found)
            timings["dense_ms"] = (time.perf_counter() - t) * 1000
        if self.mode in ("hybrid", "bm25"):
            t = time.perf_counter()
            self.sync_keyword_index()
            assert self.keyword is not None
            ranked = self.keyword.search(query, wide, set(filters.doc_ids) if filters.doc_ids else None)
            rankings["bm25"] = ranked[:self.candidates]
            timings["bm25_ms"] = (time.perf_counter() - t) * 1000

        fused = self.fuse(rankings, self.weights) if len(rankings) > 1 else self.fuse(rankings)
        t = time.perf_counter()
        vectors.update(self.store.get_vectors([i for i, _, _ in fused if i not in vectors]))  # BM25's finds
        fused = [f for f in fused if f[0] in vectors]
        chunks: dict[str, Chunk] = {}   # the visible ones among the candidates read so far
        read: set[str] = set()

        def read_chunks(ids: list[str]) -> None:
            fresh = [i for i in ids if i not in read]
            chunks.update((c.id, c) for c, _ in self.store.get_chunks(fresh))
            read.update(fresh)

        if filters or self.reranker is not None:  # both need every candidate's text or metadata
            read_chunks([i for i, _, _ in fused])
            fused = [f for f in fused if f[0] in chunks and filters.accepts(chunks[f[0]])]
        fused = fused[:self.candidates]
        if self.reranker is not None:
            r = time.perf_counter()
            head = [Hit(chunk=chunks[i], score=s, relevance=0.0, ranks=ranks) for i, s, ranks in fused[:self.rerank_candidates]]
            order_by_id = {h.chunk.id: n for n, h in enumerate(self.reranker.rerank(query, head))}
            fused = sorted(fused[:self.rerank_candidates], key=lambda f: order_by_id[f[0]]) + fused[self.rerank_candidates:]
            timings["rerank_ms"] = (time.perf_counter() - r) * 1000
        # Pick k by MMR, then read the picked; a pick of an uncommitted version (an ingest in
        # progress) is dropped and the pick redone without it.
        order: list[int] = []
        while fused:
            matrix = np.stack([vectors[i] for i, _, _ in fused])
            order = maximal_marginal_relevance(vector, matrix, list(range(len(fused))), k, self.diversity)
            read_chunks([fused[i][0] for i in order])
            hidden = {fused[i][0] for i in order if fused[i][0] not in chunks}
            if not hidden:
                break
            fused, order = [f for f in fused if f[0] not in hidden], []
        timings["fetch_ms"] = (time.perf_counter() - t) * 1000 - timings.get("rerank_ms", 0.0)
        if not order:
            if trace is not None:
                trace.update(timings=timings, rankings={n: [i for i, _ in r[:10]] for n, r in rankings.items()})
            return []
        relevance = matrix @ vector  # the matrix of the last pick, which ``order`` indexes
        hits = [Hit(chunk=chunks[fused[i][0]], score=fused[i][1], relevance=float(relevance[i]), ranks=fused[i][2])
                for i in order]
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        if trace is not None:
            trace.update(timings=timings, rankings={n: [i for i, _ in r[:10]] for n, r in rankings.items()},
                         dropped_as_similar=len(fused[:k]) - len([i for i in order if i < k]))
        return hits


class CorpusRetriever(BaseRetriever):
    """The retriever as a LangChain ``BaseRetriever``, for use in LangChain chains
    (built by ``rag.runnable.as_retriever``)."""

    retriever: Any
    k: int = 5
    filters: Filters = Filters()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=h.chunk.text, id=h.chunk.id,
                         metadata={**h.chunk.to_metadata(), "relevance": h.relevance, "score": h.score})
                for h in self.retriever.search(query, self.k, self.filters)]
