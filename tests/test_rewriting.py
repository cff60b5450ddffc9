from __future__ import annotations

import threading

import pytest

from rag.rewriting import ConcatenatingRewriter, LLMRewriter, needs_context

from .conftest import default_llm_path

HISTORY = [("Who is Nikolai Patrushev?", "Nikolai Patrushev heads the Russian Security Council [1].")]


@pytest.mark.parametrize("question, refers_back", [
    ("When did he visit Havana?", True),
    ("What planes carried it?", True),
    ("And the loan?", True),
    ("What about Venezuela?", True),
    ("When did Nikolai Patrushev visit Havana?", False),
    ("How much humanitarian aid did Russia send to Cuba?", False),
])
def test_needs_context(question: str, refers_back: bool) -> None:
    assert needs_context(question) == refers_back


def test_concatenating_rewriter() -> None:
    rewriter = ConcatenatingRewriter()
    assert rewriter.rewrite("When did he visit Havana?", HISTORY) == "Who is Nikolai Patrushev? When did he visit Havana?"
    assert rewriter.rewrite("When did he visit Havana?", []) == "When did he visit Havana?"
    standalone = "When did Nikolai Patrushev visit Havana?"
    assert rewriter.rewrite(standalone, HISTORY) == standalone


def test_llm_rewriter_falls_back_while_the_model_is_busy() -> None:
    busy = threading.Lock()
    busy.acquire()
    rewriter = LLMRewriter(model=None, lock=busy)  # the model is never reached
    assert rewriter.rewrite("When did he visit Havana?", HISTORY) == "Who is Nikolai Patrushev? When did he visit Havana?"


@pytest.mark.slow
def test_llm_rewriter_resolves_the_pronoun() -> None:
    from rag.generation.llamacpp import LocalLLMGenerator, load_chat_model

    model = load_chat_model(str(default_llm_path()), 2, 4096, 200)
    rewriter = LLMRewriter(model, lock=LocalLLMGenerator.lock, budget_s=60)
    rewritten = rewriter.rewrite("When did he visit Havana?", HISTORY)
    assert "Patrushev" in rewritten and "Havana" in rewritten
    assert "he " not in f" {rewritten.lower()} ".replace("the ", "")
