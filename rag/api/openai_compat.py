"""An OpenAI-compatible API over the grounded assistant: ``GET /v1/models`` and
``POST /v1/chat/completions`` (plain or streamed as server-sent events).

The last user message is the question and the earlier user/assistant messages its history
(system messages are ignored: the assistant's rules are its own). The message content is the
verified answer with its ``[n]`` markers; the response (and the last chunk of a stream) carries
an extra ``citations`` list, each with its quote and character offsets, and ``abstained``. A
decline is a normal answer that says the documents don't answer. A stream sends the verified
answer only (the raw tokens may lose sentences in verification), word by word once it is ready.

Model ids: ``cited`` answers with the chat's default backend, ``cited:<backend>`` with another.
Extra request fields ``top_k`` and ``filters`` ({doc_ids, date_from, date_to}) narrow the search.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any, Iterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from ..assistant import clean_question
from ..errors import GenerationError, InputError, RagError
from ..rewriting import Turn
from ..runnable import parse_filters, parse_history
from ..types import Answer
from ..ui.chat import MAX_HISTORY_TURNS, MAX_K, MAX_TURN_CHARS, MIN_K, Backends, message_text

log = logging.getLogger(__name__)

MODEL = "cited"
_WORD = re.compile(r"\S+\s*")


class ChatMessage(BaseModel):
    """One message of the conversation, as OpenAI clients send it (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """A chat completion request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = MODEL
    messages: list[ChatMessage]
    stream: bool = False
    top_k: int | None = None
    filters: dict[str, Any] | None = None


class ApiError(Exception):
    """An error answered in OpenAI's shape, with its HTTP status."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code

    def body(self) -> dict[str, Any]:
        """The ``{"error": …}`` object OpenAI clients read."""
        return {"error": {"message": str(self), "type": self.kind, "code": self.code}}


def api_error(error: RagError) -> ApiError:
    """The HTTP form of a project error: the caller's fault (400), busy (503) or ours (500)."""
    if isinstance(error, InputError):
        return ApiError(400, str(error))
    if isinstance(error, GenerationError):
        return ApiError(503, str(error), "server_error")
    return ApiError(500, str(error), "server_error")


def model_ids(backends: Backends) -> list[str]:
    """``cited`` and one ``cited:<backend>`` per backend this installation can answer with."""
    return [MODEL] + [f"{MODEL}:{name}" for name in backends.available()]


def backend_of(model: str, backends: Backends) -> str | None:
    """The backend a model id names (None: the default); ApiError 404 for an unknown id."""
    if model in ("", MODEL):
        return None
    if model not in model_ids(backends):
        raise ApiError(404, f"the model '{model}' does not exist; choose one of {', '.join(model_ids(backends))}",
                       code="model_not_found")
    return model.split(":", 1)[1]


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the history before it, bounded like the chat's."""
    said = [{"role": m.role, "content": message_text(m.content)} for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question")
    turns = []
    for question, answer in parse_history(said[:-1])[-MAX_HISTORY_TURNS:]:
        try:  # a turn is cleaned like a question and cut to a question's length, as in the chat
            turns.append((clean_question(question[:MAX_TURN_CHARS]), clean_question(answer[:MAX_TURN_CHARS])))
        except InputError:
            continue
    return said[-1]["content"], turns


def completion(answer: Answer, model: str, completion_id: str, created: int) -> dict[str, Any]:
    """The ``chat.completion`` object of a verified answer."""
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": [c.to_json() for c in answer.citations], "abstained": answer.abstained}


def _chunk(completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> str:
    data = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def openai_app(backends: Backends) -> FastAPI:
    """The API as an ASGI app, to be mounted at ``/v1``."""
    api = FastAPI(title="Cited (OpenAI-compatible)", docs_url=None, redoc_url=None, openapi_url=None)

    @api.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status)

    @api.get("/models")
    def models() -> dict[str, Any]:
        """The assistant's model ids."""
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "cited"}
                                           for name in model_ids(backends)]}

    @api.post("/chat/completions", response_model=None)
    def chat_completions(request: ChatRequest) -> dict[str, Any] | StreamingResponse:
        """Answer the conversation's last question from the documents, with citations."""
        backend = backend_of(request.model, backends)
        question, history = conversation(request.messages)
        try:
            question = clean_question(question)
            filters = parse_filters(request.filters)
        except RagError as error:
            raise api_error(error) from error
        k = None if request.top_k is None else max(MIN_K, min(MAX_K, request.top_k))
        completion_id, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), request.model or MODEL

        def answer() -> Answer:
            with backends.admit(backend) as assistant:
                return assistant.ask(question, history, filters, k)

        if not request.stream:
            try:
                return completion(answer(), model, completion_id, created)
            except RagError as error:
                raise api_error(error) from error

        def events() -> Iterator[str]:
            yield _chunk(completion_id, created, model, {"role": "assistant", "content": ""})
            try:
                verified = answer()
            except RagError as error:
                yield f"data: {json.dumps(api_error(error).body())}\n\n"
                return
            for word in _WORD.findall(verified.text):
                yield _chunk(completion_id, created, model, {"content": word})
            yield _chunk(completion_id, created, model, {}, "stop",
                         citations=[c.to_json() for c in verified.citations], abstained=verified.abstained)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    return api
