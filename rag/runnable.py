"""The assistant as a LangChain ``Runnable``, and the corpus as a LangChain ``BaseRetriever``.

    AssistantRunnable   question (or {question, history, filters}) → the ``ask --json`` object;
                        ``stream`` yields the chat's events as dicts (status, sources, token, done)
    as_retriever        the corpus's passages as ``Document``s, for a user's own LCEL chain

Both call the same ``Assistant``/``Retriever`` as the CLI and the chat; nothing is re-implemented.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import run_in_executor

from .assistant import Assistant, Checked, Done, Event, QuickAnswer, Sources, Status, Token
from .errors import InputError
from .retrieval import CorpusRetriever, Filters
from .rewriting import Turn

__all__ = ["AssistantRunnable", "as_retriever", "event_json", "parse_filters", "parse_input"]


def parse_filters(value: Filters | Mapping[str, Any] | None) -> Filters:
    """``Filters`` from a mapping with ``doc_ids``, ``date_from`` and ``date_to`` (all optional)."""
    if value is None or isinstance(value, Filters):
        return value or Filters()
    if not isinstance(value, Mapping):
        raise InputError("filters must be a mapping with doc_ids, date_from and/or date_to")
    unknown = set(value) - {"doc_ids", "date_from", "date_to"}
    if unknown:
        raise InputError(f"unknown filter(s) {', '.join(sorted(unknown))}; use doc_ids, date_from, date_to")
    doc_ids = value.get("doc_ids") or ()
    return Filters(doc_ids=(doc_ids,) if isinstance(doc_ids, str) else tuple(str(d) for d in doc_ids),
                   date_from=value.get("date_from") or None, date_to=value.get("date_to") or None)


def parse_history(history: Sequence[Any] | None) -> list[Turn]:
    """(question, answer) turns from pairs, ``{role, content}`` messages or LangChain messages."""
    turns: list[Turn] = []
    question: str | None = None
    for item in history or ():
        if isinstance(item, (tuple, list)) and len(item) == 2:
            turns.append((str(item[0]), str(item[1])))
            continue
        if isinstance(item, BaseMessage):
            role, content = {"human": "user", "ai": "assistant"}.get(item.type, item.type), item.text
        elif isinstance(item, Mapping):
            role, content = item.get("role"), item.get("content")
        else:
            raise InputError("each history item must be a (question, answer) pair or a {role, content} message")
        if role == "user":
            question = str(content)
        elif role == "assistant" and question is not None:
            turns.append((question, str(content)))
            question = None
    return turns


def parse_input(value: str | Mapping[str, Any]) -> tuple[str, list[Turn], Filters]:
    """The question, history and filters of a Runnable's input (a string or a mapping)."""
    if isinstance(value, str):
        return value, [], Filters()
    if not isinstance(value, Mapping) or "question" not in value:
        raise InputError("the input must be a question, or a mapping with 'question' (and optionally "
                         "'history' and 'filters')")
    return str(value["question"]), parse_history(value.get("history")), parse_filters(value.get("filters"))


def event_json(event: Event) -> dict[str, Any]:
    """One event of ``Assistant.stream`` as a plain dict, tagged by ``type``."""
    if isinstance(event, Status):
        return {"type": "status", "stage": event.stage}
    if isinstance(event, Sources):
        return {"type": "sources", "standalone_question": event.standalone_question,
                "hits": [hit.to_json(rank) for rank, hit in enumerate(event.hits, start=1)]}
    if isinstance(event, QuickAnswer):
        return {"type": "quick_answer", "answer": event.answer.to_json()}
    if isinstance(event, Token):
        return {"type": "token", "text": event.text}
    if isinstance(event, Checked):
        return {"type": "checked", "text": event.text}
    assert isinstance(event, Done)
    return {"type": "done", "answer": event.answer.to_json()}


class AssistantRunnable(Runnable[Any, dict[str, Any]]):
    """The assistant as a Runnable: ``invoke``/``batch`` give the ``ask --json`` object, ``stream``
    the events as dicts (the last one ``{"type": "done", "answer": …}``); async forms included."""

    def __init__(self, assistant: Assistant, k: int | None = None) -> None:
        self.assistant = assistant
        self.k = k
        self.name = "CitedAssistant"

    def _answer(self, value: str | Mapping[str, Any]) -> dict[str, Any]:
        question, history, filters = parse_input(value)
        return self.assistant.ask(question, history, filters, self.k).to_json()

    def _events(self, values: Iterator[str | Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        for value in values:
            question, history, filters = parse_input(value)
            for event in self.assistant.stream(question, history, filters, self.k):
                yield event_json(event)

    def invoke(self, input: str | Mapping[str, Any], config: RunnableConfig | None = None,
               **kwargs: Any) -> dict[str, Any]:
        """Answer one question: the ``ask --json`` object."""
        return self._call_with_config(self._answer, input, config)

    def transform(self, input: Iterator[str | Mapping[str, Any]], config: RunnableConfig | None = None,
                  **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The events of each question read from ``input``."""
        yield from self._transform_stream_with_config(input, self._events, config)

    def stream(self, input: str | Mapping[str, Any], config: RunnableConfig | None = None,
               **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The events of one answer as it is written, as dicts."""
        return self.transform(iter([input]), config, **kwargs)

    async def astream(self, input: str | Mapping[str, Any], config: RunnableConfig | None = None,
                      **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        """``stream`` without blocking the event loop: the pipeline runs in a worker thread."""
        events = self.stream(input, config, **kwargs)
        end = object()
        while (event := await run_in_executor(config, next, events, end)) is not end:
            yield event  # type: ignore[misc]

    def as_retriever(self, k: int | None = None, filters: Filters | Mapping[str, Any] | None = None
                     ) -> CorpusRetriever:
        """The corpus's retriever for an LCEL chain (see ``as_retriever``)."""
        return as_retriever(self.assistant, k=k, filters=filters)


def as_retriever(assistant: Assistant, k: int | None = None,
                 filters: Filters | Mapping[str, Any] | None = None) -> CorpusRetriever:
    """A LangChain ``BaseRetriever`` over the assistant's corpus: ``k`` passages (default
    ``top_k``) as ``Document``s whose metadata carries the provenance a citation needs."""
    return CorpusRetriever(retriever=assistant.retriever, k=k or assistant.settings.top_k,
                           filters=parse_filters(filters))
