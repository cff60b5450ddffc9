"""Saved conversations: the SQLite store, its Markdown/JSON export and CLI, and the chat's API
across a server restart and two logins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradio_client import Client

from rag.assistant import Assistant
from rag.cli import main
from rag.config import Settings
from rag.conversations import ConversationStore, title_for, to_markdown
from rag.errors import InputError
from rag.types import Answer, Citation
from rag.ui import build_app

from .conftest import SEED_ID
from .servers import free_port

SOURCE = "https://example.org/report"


@pytest.fixture
def store_mode() -> str:
    """Conversations live beside the vector store; the embedded store is enough here."""
    return "embedded"


def answer(question: str = "Who ordered the delivery?", doc_id: str = "report") -> Answer:
    citation = Citation(n=1, doc_id=doc_id, title="The Report", source=SOURCE,
                        quote="The delivery was directly ordered by President Vladimir Putin.", start=10, end=72)
    return Answer(question=question, text="The delivery was ordered by President Vladimir Putin [1].",
                  abstained=False, citations=[citation])


def test_a_conversation_is_saved_listed_reopened_renamed_and_deleted(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    first = store.create("ana", "Who ordered the delivery?")
    store.add_turn(first, "ana", answer(), {"report": "v1", "other": "v9"})
    store.add_turn(first, "ana", answer("And why?"), {"report": "v1"})
    assert [(c.id, c.title) for c in store.list_conversations("ana")] == [(first, "Who ordered the delivery?")]

    reopened = ConversationStore(tmp_path / "c.sqlite3").get(first, "ana")   # a new process reads it
    assert [t.question for t in reopened.turns] == ["Who ordered the delivery?", "And why?"]
    assert reopened.turns[0].versions == {"report": "v1"}            # only the cited documents
    assert reopened.turns[0].citations() == answer().citations
    assert reopened.turns[0].to_answer().text == answer().text

    store.rename(first, "ana", "  Putin's   order ")
    assert store.get(first, "ana").title == "Putin's order"
    with pytest.raises(InputError, match="empty"):
        store.rename(first, "ana", "   ")
    store.delete(first, "ana")
    assert store.list_conversations("ana") == []
    with pytest.raises(InputError, match="no conversation"):
        store.get(first, "ana")


def test_one_login_never_reaches_anothers_conversations(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    anas = store.create("ana", "Ana's question")
    store.create("bob", "Bob's question")
    assert [c.title for c in store.list_conversations("bob")] == ["Bob's question"]
    for attempt in (lambda: store.get(anas, "bob"), lambda: store.rename(anas, "bob", "mine"),
                    lambda: store.delete(anas, "bob"), lambda: store.add_turn(anas, "bob", answer(), {})):
        with pytest.raises(InputError, match="no conversation"):
            attempt()
    assert store.get(anas, "ana").title == "Ana's question"
    assert len(store.list_conversations(None)) == 2                   # the CLI sees every owner's


@pytest.mark.parametrize("now, expected", [
    ({"report": "v1"}, {}),
    ({"report": "v2"}, {1: "changed"}),
    ({}, {1: "gone"}),
])
def test_a_saved_citation_knows_when_its_document_changed_or_went(tmp_path: Path, now: dict, expected: dict) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    conversation_id = store.create("", "q")
    store.add_turn(conversation_id, "", answer(), {"report": "v1"})
    assert store.get(conversation_id, "").turns[0].stale(now) == expected


def test_markdown_export_has_each_quote_its_link_and_offsets(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    conversation_id = store.create("", "Who ordered the delivery?")
    store.add_turn(conversation_id, "", answer(), {"report": "v1"})
    markdown = to_markdown(store.get(conversation_id, ""), {"report": "v2"})
    assert markdown.startswith("# Who ordered the delivery?\n")
    assert "## Who ordered the delivery?" in markdown and "Vladimir Putin [1]." in markdown
    assert f"[1] [The Report]({SOURCE}), characters 10–72 of `report`" in markdown
    assert "> The delivery was directly ordered by President Vladimir Putin." in markdown
    assert "the document has changed since this answer" in markdown
    assert title_for("x " * 200).endswith("…") and len(title_for("x " * 200)) <= 121


def test_cli_lists_and_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    store = ConversationStore.in_data_dir(data)
    conversation_id = store.create("ana", "Who ordered the delivery?")
    store.add_turn(conversation_id, "ana", answer(), {"report": "v1"})
    assert main(["conversations", "list", "--data-dir", str(data)]) == 0
    assert f"{conversation_id}\tana\t1 turn(s)\tWho ordered the delivery?" in capsys.readouterr().out
    assert main(["conversations", "export", conversation_id, "--format", "json", "--data-dir", str(data)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["turns"][0]["answer"]["citations"][0]["quote"].startswith("The delivery")
    out = tmp_path / "c.md"
    assert main(["conversations", "export", conversation_id, "--out", str(out), "--data-dir", str(data)]) == 0
    assert "characters 10–72" in out.read_text(encoding="utf-8")
    assert main(["conversations", "export", "nope", "--data-dir", str(data)]) == 2
    assert "no conversation 'nope'" in capsys.readouterr().err


def _serve(assistant: Assistant):  # type: ignore[no-untyped-def]
    app = build_app(assistant)
    app.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                       auth=[("ana", "ana-password"), ("bob", "bob-password")])
    return app


def test_a_chat_conversation_survives_a_restart_and_is_invisible_to_another_login(seed_settings: Settings) -> None:
    app = _serve(Assistant.from_settings(seed_settings))
    try:
        ana = Client(app.local_url, auth=("ana", "ana-password"), verbose=False)
        html = ana.predict("Who ordered the delivery?", api_name="/chat")
        assert "Putin" in html
        ana.predict("What planes carried it?", api_name="/chat")      # the session's conversation goes on
        # Another session (tab) of the same login: a conversation of its own.
        Client(app.local_url, auth=("ana", "ana-password"), verbose=False).predict(
            "Who ordered the delivery?", api_name="/chat")
    finally:
        app.close()

    app = _serve(Assistant.from_settings(seed_settings))   # a new server on the same data folder
    try:
        saved = Client(app.local_url, auth=("ana", "ana-password"), verbose=False).predict(api_name="/conversations")
        assert [c["title"] for c in saved] == ["Who ordered the delivery?"] * 2
        assert sorted(len(c["turns"]) for c in saved) == [1, 2]
        cited = saved[0]["turns"][0]["answer"]["citations"]
        assert cited and cited[0]["doc_id"] == SEED_ID and "Putin" in cited[0]["quote"]
        assert SEED_ID in saved[0]["turns"][0]["versions"]
        bob = Client(app.local_url, auth=("bob", "bob-password"), verbose=False)
        assert bob.predict(api_name="/conversations") == []
    finally:
        app.close()


def test_a_reopened_answer_says_when_its_document_changed_or_went(seed_assistant: Assistant, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from rag.ui.history import ChatHistory

    history = ChatHistory(seed_assistant, ConversationStore(tmp_path / "c.sqlite3"))
    tab = SimpleNamespace(username="ana", session_hash="tab-1")
    given = seed_assistant.ask("Who ordered the delivery?")
    history.record(given, tab, continuing=False)
    history.record(answer("And the report?", doc_id="gone-document"), tab)
    (conversation_id,) = [i for _, i in history.choices(tab)]
    assert history.choices(SimpleNamespace(username="bob", session_hash="tab-2")) == []

    messages = history.open(conversation_id, tab)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert 'class="rag-cite"' in messages[1]["content"] and "<mark>" in messages[1]["content"]
    assert "rag-stale" not in messages[1]["content"]                 # unchanged since
    assert "the document has been removed since" in messages[3]["content"]

    history.store.add_turn(conversation_id, "ana", given, {SEED_ID: "an-older-version"})
    assert "the document has changed since this answer" in history.open(conversation_id, tab)[5]["content"]
