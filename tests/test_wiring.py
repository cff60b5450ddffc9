"""Wiring: the parts built from settings, and what each backend lends the parts around it."""

from __future__ import annotations

import threading

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.assistant import Assistant
from rag.config import Settings
from rag.generation.chat import ChatModelGenerator
from rag.generation.extractive import ExtractiveGenerator
from rag.generation.llamacpp import LocalLLMGenerator
from rag.grading import ChatModelGrader
from rag.rewriting import ConcatenatingRewriter, LLMRewriter
from rag.wiring import assistant_for_backend, build_retriever, make_fallback, make_rewriter


@pytest.fixture
def store_mode() -> str:
    """Wiring is the same over either store; the store's own tests run against both."""
    return "embedded"


def scripted(lock: threading.Lock | None = None) -> ChatModelGenerator:
    generator = ChatModelGenerator(FakeListChatModel(responses=["YES"]), name="scripted")
    generator.lock = lock
    return generator


@pytest.mark.parametrize("generator, has_model, serial", [
    (ExtractiveGenerator(None), False, False),  # type: ignore[arg-type]
    (ChatModelGenerator(FakeListChatModel(responses=["x"]), name="openai"), True, False),
    (LocalLLMGenerator(FakeListChatModel(responses=["x"]), name="llamacpp"), True, True),
])
def test_every_backend_declares_what_it_lends(generator: object, has_model: bool, serial: bool) -> None:
    assert (generator.chat_model is not None) is has_model  # type: ignore[attr-defined]
    assert (generator.lock is not None) is serial  # type: ignore[attr-defined]


def test_the_rewriter_and_grader_share_the_backends_model_and_lock(seed_settings: Settings) -> None:
    lock = threading.Lock()
    generator = scripted(lock)
    rewriter = make_rewriter(generator)
    assert isinstance(rewriter, LLMRewriter) and rewriter.model is generator.chat_model and rewriter.lock is lock
    assert isinstance(make_rewriter(ExtractiveGenerator(None)), ConcatenatingRewriter)  # type: ignore[arg-type]
    fallback, grader = make_fallback(seed_settings.model_copy(update={"grade_fallback": True}), generator, None)
    assert isinstance(grader, ChatModelGrader) and grader.model is generator.chat_model and grader.lock is lock
    # The graded fallback offers its best few sentences, however far below the best.
    assert isinstance(fallback, ExtractiveGenerator) and fallback.keep_within == float("inf")
    fallback, grader = make_fallback(seed_settings.model_copy(update={"grade_fallback": False}), generator, None)
    assert grader is None and isinstance(fallback, ExtractiveGenerator) and fallback.keep_within < 1


def test_search_needs_only_the_retriever(seed_settings: Settings) -> None:
    retriever = build_retriever(seed_settings)
    hits = retriever.search("Who ordered the delivery?", 3)
    assert hits and any("Putin" in h.chunk.text for h in hits)


def test_another_backend_shares_the_corpus(seed_assistant: Assistant) -> None:
    other = assistant_for_backend(seed_assistant, "extractive")
    assert other is not seed_assistant and other.generator.name == "extractive"
    assert (other.store, other.retriever, other.verifier, other.rewriter) == (
        seed_assistant.store, seed_assistant.retriever, seed_assistant.verifier, seed_assistant.rewriter)
    assert other.settings.generator == "extractive"
