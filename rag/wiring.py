"""Wiring: which parts to build from settings, and how they fit together.

The pipeline (``rag.assistant``) runs the parts it is given; this is the one place that picks
them from configuration: the store and its embedding model, the retriever, the generator, and
with each generator its rewriter, fallback and grader. Search needs only ``build_retriever``,
so it loads no generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import Settings
from .embedding import load_embeddings
from .generation import make_generator
from .generation.base import Generator
from .generation.extractive import ExtractiveGenerator
from .grading import AnswerGrader, make_grader
from .reranking import make_reranker
from .retrieval import Retriever, keyword_index_for
from .rewriting import ConcatenatingRewriter, LLMRewriter, Rewriter
from .store import ChunkStore, open_client
from .verification import Verifier

if TYPE_CHECKING:
    from .assistant import Assistant


def open_store(settings: Settings, embeddings: object | None = None) -> ChunkStore:
    """The configured store (embedded or server), with the configured embedding model.

    The store is opened (and checked) before the model loads: a damaged store is reported in
    seconds, not after the model's load."""
    client = open_client(settings)
    embeddings = embeddings or load_embeddings(settings.embedding_model, settings.embedding_batch_size)
    return ChunkStore(client, settings.collection, embeddings, settings.embedding_model)  # type: ignore[arg-type]


def build_retriever(settings: Settings, store: ChunkStore | None = None) -> Retriever:
    """The configured retriever over ``store`` (opened from settings when not given)."""
    store = store or open_store(settings)
    keyword = keyword_index_for(settings) if settings.retriever in ("hybrid", "bm25") else None
    return Retriever(store, store.embeddings, keyword, mode=settings.retriever, candidates=settings.candidates,
                     fusion=settings.fusion, dense_weight=settings.dense_weight,
                     reranker=make_reranker(settings.reranker, settings.cache_dir),
                     rerank_candidates=settings.rerank_candidates)


def build_assistant(settings: Settings, generator: Generator | None = None) -> Assistant:
    """Every part from configuration (models are loaded once per process)."""
    from .assistant import Assistant

    retriever = build_retriever(settings)
    embeddings = retriever.embeddings
    generator = generator or make_generator(settings, embeddings)
    return Assistant(settings, retriever.store, retriever, generator, Verifier(embeddings), make_rewriter(generator),
                     *make_fallback(settings, generator, embeddings), quick=make_quick(settings, generator, embeddings))


def assistant_for_backend(base: Assistant, name: str, generator: Generator | None = None) -> Assistant:
    """``base``'s corpus, retriever, verifier and rewriter answering with backend ``name`` (with
    that backend's own fallback and grader); ``generator``: one already loaded (another corpus's)."""
    from .assistant import Assistant

    settings = base.settings.model_copy(update={"generator": name})
    generator = generator or make_generator(settings, base.retriever.embeddings)
    return Assistant(settings, base.store, base.retriever, generator, base.verifier, base.rewriter,
                     *make_fallback(settings, generator, base.retriever.embeddings),
                     quick=make_quick(settings, generator, base.retriever.embeddings))


def make_fallback(settings: Settings, generator: Generator,
                  embeddings: object) -> tuple[Generator | None, AnswerGrader | None]:
    """The backend that answers when the main one's answer is declined (none when they are the same),
    and the grader of its sentences (over the main backend's chat model, when it has one)."""
    if settings.fallback == "none" or settings.fallback == generator.name:
        return None, None
    grader = make_grader(generator) if settings.grade_fallback else None
    if settings.fallback == "extractive" and grader is not None:
        # The grader keeps only the quoted sentences that answer, so it is offered the best few.
        return ExtractiveGenerator(embeddings).for_grading(), grader  # type: ignore[arg-type]
    return make_generator(settings.model_copy(update={"generator": settings.fallback}), embeddings), grader  # type: ignore[arg-type]


def make_quick(settings: Settings, generator: Generator, embeddings: object) -> Generator | None:
    """The extractive backend, for the verified quotes shown while a slower backend writes (none
    when the backend is itself the extractive one, or quick answers are off)."""
    if not settings.quick_answer or generator.name == "extractive":
        return None
    return make_generator(settings.model_copy(update={"generator": "extractive"}), embeddings)  # type: ignore[arg-type]


def make_rewriter(generator: Generator) -> Rewriter:
    """Rewrite follow-ups with the generator's chat model when it has one, else the cheap way."""
    if generator.chat_model is None:
        return ConcatenatingRewriter()
    return LLMRewriter(generator.chat_model, lock=generator.lock)
