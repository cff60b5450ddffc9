"""Collections: several corpora side by side in one store, each answered from on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client

from rag.assistant import Assistant
from rag.cli import main
from rag.collections import Collections
from rag.config import Settings
from rag.errors import InputError
from rag.ingestion import Ingestor
from rag.ui import build_app
from rag.wiring import open_store

from .servers import free_port

NOTE = """---
id: lunar-greenhouse
title: Lunar Greenhouse Report
---
The lunar greenhouse grew 42 kilograms of potatoes in its first season.
The harvest was led by botanist Mara Quell in the north dome.
"""
QUESTION = "How many kilograms of potatoes did the lunar greenhouse grow?"


@pytest.fixture
def store_mode() -> str:
    """Collections of one embedded store; the store's own tests cover the server."""
    return "embedded"


@pytest.fixture
def two_corpora(seed_settings: Settings, tmp_path: Path, embeddings) -> Settings:  # type: ignore[no-untyped-def]
    """The seed corpus as configured, and a 'notes' corpus beside it in the same store."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "greenhouse.md").write_text(NOTE, encoding="utf-8")
    notes = seed_settings.model_copy(update={"collection": "notes"})
    Ingestor(open_store(notes, embeddings), embeddings, notes).ingest_paths([folder])
    return seed_settings


def test_each_corpus_answers_only_from_its_own_documents(two_corpora: Settings) -> None:
    collections = Collections(Assistant.from_settings(two_corpora))
    assert collections.names() == ["corpus", "notes"]
    notes = collections.get("notes")
    answer = notes.ask(QUESTION)
    assert not answer.abstained and "42 kilograms" in answer.text
    assert {c.doc_id for c in answer.citations} == {"lunar-greenhouse"}
    assert collections.get("notes") is notes and notes.generator is collections.get(None).generator
    assert collections.get(None).ask(QUESTION).abstained
    with pytest.raises(InputError, match="no collection 'elsewhere'"):
        collections.get("elsewhere")


def test_cli_lists_the_collections(two_corpora: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collections", "--data-dir", str(two_corpora.data_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == ["corpus\t1 document(s) (configured)", "notes\t1 document(s)"]


def test_the_chat_answers_from_the_chosen_corpus(two_corpora: Settings) -> None:
    app = build_app(Assistant.from_settings(two_corpora))
    app.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        assert "42 kilograms" in client.predict(QUESTION, collection="notes", api_name="/chat")
        assert "couldn" in Client(app.local_url, verbose=False).predict(QUESTION, api_name="/chat")
        assert "no collection" in client.predict(QUESTION, collection="elsewhere", api_name="/chat")
    finally:
        app.close()
