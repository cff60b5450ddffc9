"""The chat process's APIs for programs, against a real server started by ``app.serve`` on
loopback: the OpenAI-compatible API driven by the ``openai`` client, the MCP tools by the ``mcp``
SDK's client, and the login both share with the page."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterator

import httpx
import openai
import pytest

import app as app_module
from rag.api.login import credentials_match
from rag.assistant import Assistant
from rag.config import Settings

from .conftest import SEED_ID, seed_text
from .servers import free_port

PASSWORD = "pw-9d2e-api-login"
QUESTION = "What did Russia send Cuba and why?"


@pytest.fixture
def store_mode() -> str:
    return "embedded"


def serve(seed_settings: Settings, **overrides: object) -> Iterator[str]:
    port = free_port()
    settings = Settings(**{**seed_settings.model_dump(exclude={"port"}), "port": port, **overrides})
    app = app_module.serve(Assistant.from_settings(settings), settings, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.close()


@pytest.fixture
def url(seed_settings: Settings) -> Iterator[str]:
    yield from serve(seed_settings)


@pytest.fixture
def login_url(seed_settings: Settings) -> Iterator[str]:
    yield from serve(seed_settings, auth_user="ana", auth_password=PASSWORD)


def check_citations(citations: list[dict[str, Any]], content: str) -> None:
    text = seed_text()
    assert citations
    for citation in citations:
        assert text[citation["start"]:citation["end"]] == citation["quote"]
        assert f"[{citation['n']}]" in content and citation["doc_id"] == SEED_ID


# ----- OpenAI-compatible API ----------------------------------------------------------------
def test_openai_client_lists_models_and_gets_cited_answers(url: str) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0)
    models = [m.id for m in client.models.list()]
    assert models[0] == "cited" and "cited:extractive" in models  # the default, then one per backend

    completion = client.chat.completions.create(model="cited", messages=[
        {"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": QUESTION}])
    content = completion.choices[0].message.content
    assert "100 tons" in content and completion.choices[0].finish_reason == "stop"
    assert completion.model_extra["abstained"] is False
    check_citations(completion.model_extra["citations"], content)

    stream = client.chat.completions.create(model="cited:extractive", stream=True,
                                            messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(chunks) > 3 and streamed == content, "streamed word by word, the same verified answer"
    assert chunks[-1].choices[0].finish_reason == "stop"
    check_citations(chunks[-1].model_extra["citations"], streamed)


def test_history_of_several_messages_and_a_decline(url: str) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0)
    messages = [{"role": "user", "content": "Who ordered the delivery of aid to Cuba?"},
                {"role": "assistant", "content": "President Vladimir Putin directly ordered the delivery [1]."},
                {"role": "user", "content": "How many planes flew to Cuba?"},
                {"role": "assistant", "content": "Two cargo planes flew to Cuba [1]."},
                {"role": "user", "content": [{"type": "text", "text": "What did it carry?"}]}]
    follow_up = client.chat.completions.create(model="cited", messages=messages)
    assert "An-124 cargo planes" in follow_up.choices[0].message.content, "read with the last question"
    alone = client.chat.completions.create(model="cited", messages=messages[-1:])
    assert "An-124" not in alone.choices[0].message.content

    declined = client.chat.completions.create(model="cited", messages=[
        {"role": "user", "content": "What is the capital of France?"}])
    text = declined.choices[0].message.content
    assert "couldn't find the answer" in text and "Paris" not in text
    assert declined.choices[0].finish_reason == "stop"
    assert declined.model_extra["abstained"] is True and declined.model_extra["citations"] == []

    narrowed = client.chat.completions.create(model="cited", messages=[{"role": "user", "content": QUESTION}],
                                              extra_body={"filters": {"doc_ids": ["no-such-document"]}})
    assert narrowed.model_extra["abstained"] is True


def test_openai_errors_come_back_in_openais_shape(url: str) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="cited:extractive"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.BadRequestError, match="last message must be the user's question"):
        client.chat.completions.create(model="cited", messages=[{"role": "assistant", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError, match="question is empty"):
        client.chat.completions.create(model="cited", messages=[{"role": "user", "content": "   "}])
    with pytest.raises(openai.BadRequestError, match="unknown filter"):
        client.chat.completions.create(model="cited", messages=[{"role": "user", "content": QUESTION}],
                                       extra_body={"filters": {"author": "me"}})


# ----- MCP tools ----------------------------------------------------------------------------
async def call_tools(endpoint: str, auth: httpx.Auth | None = None) -> tuple[list[str], Any, Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(auth=auth, timeout=60) as http:
        async with Client(streamable_http_client(endpoint, http_client=http)) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            found = await client.call_tool("search", {"query": "Who ordered the delivery?", "k": 2})
            answered = await client.call_tool("ask", {"question": QUESTION})
            refused = await client.call_tool("ask", {"question": "   "})
            assert refused.is_error and "question is empty" in refused.content[0].text
            return tools, found, answered


def tool_json(result: Any) -> dict[str, Any]:
    assert not result.is_error, result
    return result.structured_content or json.loads(result.content[0].text)


def test_mcp_client_calls_search_and_ask(url: str) -> None:
    tools, found, answered = asyncio.run(call_tools(f"{url}/mcp"))
    assert tools == ["ask", "search"]
    hits = tool_json(found)["hits"]
    assert len(hits) == 2 and hits[0]["rank"] == 1 and hits[0]["doc_id"] == SEED_ID
    assert any("Putin" in h["text"] for h in hits)
    answer = tool_json(answered)
    assert not answer["abstained"] and "100 tons" in answer["answer"]
    check_citations(answer["citations"], answer["answer"])


# ----- the login ----------------------------------------------------------------------------
@pytest.mark.parametrize("header, ok", [
    (f"Bearer {PASSWORD}", True), ("Bearer wrong", False), ("Bearer ", False),
    ("Basic " + __import__("base64").b64encode(f"Ana:{PASSWORD}".encode()).decode(), True),
    ("Basic " + __import__("base64").b64encode(f"bob:{PASSWORD}".encode()).decode(), False),
    ("Basic not-base64!", False), (PASSWORD, False), ("", False),
])
def test_credentials(header: str, ok: bool) -> None:
    assert credentials_match(header, "ana", PASSWORD) is ok


def test_apis_need_the_chats_login(login_url: str) -> None:
    for path in ("/v1/models", "/v1/chat/completions", "/mcp"):
        response = httpx.post(login_url + path, json={}) if path != "/v1/models" else httpx.get(login_url + path)
        assert response.status_code == 401, (path, response.text[:200])
        assert "Bearer" in response.headers["www-authenticate"]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{login_url}/v1", api_key="wrong", max_retries=0).models.list()
    client = openai.OpenAI(base_url=f"{login_url}/v1", api_key=PASSWORD, max_retries=0)
    answer = client.chat.completions.create(model="cited", messages=[{"role": "user", "content": QUESTION}])
    assert answer.model_extra["citations"]
    import httpx2
    tools, _, answered = asyncio.run(call_tools(f"{login_url}/mcp", httpx2.BasicAuth("ana", PASSWORD)))
    assert tools == ["ask", "search"] and not tool_json(answered)["abstained"]
