"""The chat served by a real Gradio server, driven through gradio_client."""

from __future__ import annotations

import socket
from typing import Iterator

import pytest
from gradio_client import Client

from rag.assistant import Assistant
from rag.ui import build_app

from .conftest import seed_text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def client(seed_assistant: Assistant) -> Iterator[Client]:
    app = build_app(seed_assistant)
    app.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield Client(app.local_url, verbose=False)
    finally:
        app.close()


def test_chat_round_trip(client: Client) -> None:
    html = client.predict("What did Russia send Cuba and why?", api_name="/chat")
    assert "100 tons" in html and "humanitarian aid" in html
    assert 'class="rag-cite" href="#src-' in html and "<details" in html and "<mark>" in html
    assert 'href="https://warsawinstitute.org/russia-sends-aid-cuba-regime/"' in html


def test_chat_streams_status_then_answer(client: Client) -> None:
    job = client.submit("Who ordered the delivery?", api_name="/chat")
    updates = list(job)
    assert any("Searching the documents" in u for u in updates)
    assert "Putin" in job.outputs()[-1]


def test_chat_declines_and_handles_bad_input(client: Client) -> None:
    assert "couldn" in client.predict("What is the capital of France?", api_name="/chat")
    assert "question is empty" in client.predict("   ", api_name="/chat")


def test_json_api(client: Client) -> None:
    data = client.predict("Who ordered the delivery?", api_name="/ask")
    assert data["abstained"] is False
    text = seed_text()
    for citation in data["citations"]:
        assert text[citation["start"]:citation["end"]] == citation["quote"]
