"""The chat under load: many sessions at once get the answers one user gets, and a slow answer
(the local LLM's) holds up nobody but the answers queued behind it on the same model.

The load run is the short version of ``benchmarks/load.py``; the stall test stands a held
generator in for the LLM, so that it can keep answers "generating" for exactly as long as it
needs without depending on how fast the machine is.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Sequence

import httpx
import pytest
from gradio_client import Client

import app as app_module
from rag.assistant import Assistant
from rag.config import PROJECT_ROOT, Settings
from rag.generation import make_generator
from rag.generation.base import Passage
from rag.question_parts import QuestionPart
from rag.ui.chat import Backends

from .conftest import free_port


def load_module() -> Any:
    spec = importlib.util.spec_from_file_location("load_benchmark", PROJECT_ROOT / "benchmarks" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def store_mode() -> str:
    """The server works the same over either store; the store's own tests run against both."""
    return "embedded"


class HeldGenerator:
    """Stands in for the local LLM: one answer at a time (a lock shared by every instance, as
    llama.cpp's), and each answer waits until the test lets it go."""

    chat_model = None
    lock = threading.Lock()

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, "held"
        self.release = threading.Event()
        self.entered = 0

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        self.entered += 1
        with self.lock:
            self.release.wait(timeout=120)
            yield from self.inner.stream(question, passages, parts)


@pytest.mark.slow
def test_held_answers_do_not_stall_other_answers_or_page_loads(seed_settings: Settings, embeddings: Any) -> None:
    settings = seed_settings.model_copy(update={"port": free_port()})
    held = HeldGenerator(make_generator(settings, embeddings))
    assistant = Assistant.from_settings(settings, generator=held)
    app = app_module.serve(assistant, settings, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{settings.port}"
    slow = 6  # more than Gradio's default of 4 at a time for one event
    pool = ThreadPoolExecutor(max_workers=slow)
    try:
        clients = [Client(url, verbose=False) for _ in range(slow)]
        jobs = [pool.submit(c.predict, "Who ordered the delivery?", api_name="/chat") for c in clients]
        deadline = time.monotonic() + 60
        while held.entered < slow and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held.entered == slow, f"only {held.entered} of {slow} slow answers were started at once"

        started = time.monotonic()
        page = httpx.get(url, timeout=30)
        quick = Client(url, verbose=False).predict("Who ordered the delivery?", backend="extractive",
                                                   api_name="/chat")
        took = time.monotonic() - started
        assert page.status_code == 200
        assert "Putin" in quick, quick
        assert not any(job.done() for job in jobs), "the slow answers are still generating"
        assert took < 30, f"a page load and an extractive answer took {took:.1f} s behind the slow answers"

        held.release.set()
        for job in jobs:
            assert "Putin" in job.result(timeout=60)
    finally:
        held.release.set()
        pool.shutdown(wait=False)
        app.close()


def test_a_model_that_answers_one_at_a_time_admits_a_bounded_queue(seed_assistant: Assistant) -> None:
    held = HeldGenerator(seed_assistant.generator)
    assistant = Assistant(seed_assistant.settings, seed_assistant.store, seed_assistant.retriever, held,
                          seed_assistant.verifier)
    backends = Backends(assistant, max_waiting=2)
    with backends.admit(None), backends.admit(None):
        with pytest.raises(Exception, match="busy with 2 answers"):
            with backends.admit(None):
                pass
        with backends.admit("extractive") as extractive:  # other backends are not held up
            assert extractive.generator.name == "extractive"
    with backends.admit(None):  # the places free up when answers end
        pass


@pytest.mark.slow
def test_sixteen_sessions_at_once_get_the_single_user_answers(seed_settings: Settings) -> None:
    """The short version of ``benchmarks/load.py``: 16 sessions for 10 seconds, extractive."""
    load = load_module()
    report = load.run(seed_settings.model_copy(update={"port": free_port()}), sessions=16, duration_s=10,
                      check_stalls=False)
    assert report["errors"] == 0, report["error_examples"]
    assert report["identical_to_single_user"], report["different_examples"]
    assert report["questions"] >= 16 and set(report["by_kind"]) == {kind for kind, _ in load.CONVERSATIONS}
