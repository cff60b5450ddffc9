"""The chat's user features in a real browser (Chromium, the fixtures of ``test_browser``): saved
conversations listed after an answer, reopened with their citations, downloaded, renamed and
deleted; thumbs up/down with a reason; the choice of corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import test_browser as _browser
from .test_browser import Server, Watched, ask, open_page, wait_answered

# The browser page's fixtures, shared (a fixture is found by its name in the test's module).
browser, watched, server, store_mode = _browser.browser, _browser.watched, _browser.server, _browser.store_mode

pytestmark = pytest.mark.browser

QUESTION = "Who ordered the delivery?"


def test_a_conversation_is_listed_reopened_downloaded_renamed_and_deleted(watched: Watched, server: Server,
                                                                        tmp_path: Path) -> None:
    page = open_page(watched, server)
    wait_answered(ask(page, QUESTION))
    saved = page.locator("#rag-saved label", has_text=QUESTION)
    saved.wait_for()

    page.locator("#rag-new-chat").click()
    page.wait_for_function("document.querySelectorAll('#rag-chatbot [data-testid=\"bot\"]').length === 0")
    page.reload()                                           # a new session: the list comes from the server
    page.locator("#rag-saved label", has_text=QUESTION).click()
    reply = page.locator('#rag-chatbot [data-testid="bot"]').first
    reply.locator("a.rag-cite").first.wait_for()
    assert "Putin" in reply.locator(".rag-answer").inner_text()
    assert "Putin" in reply.locator("details.rag-source mark").first.text_content()  # in a closed <details>

    with page.expect_download() as download:
        page.locator("#rag-download").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith(f"# {QUESTION}") and "> " in markdown and "characters " in markdown

    page.locator("#rag-title input, #rag-title textarea").first.fill("Putin's order")
    page.locator("#rag-rename").click()
    page.locator("#rag-saved label", has_text="Putin's order").wait_for()

    page.locator("#rag-delete").click()
    page.wait_for_function("document.querySelectorAll('#rag-saved label').length === 0")
    page.wait_for_function("document.querySelectorAll('#rag-chatbot [data-testid=\"bot\"]').length === 0")
    watched.assert_clean()


def test_a_thumbs_down_with_its_reason_is_stored_for_the_feedback_suite(watched: Watched, server: Server) -> None:
    from rag.feedback import FeedbackStore

    page = open_page(watched, server)
    reply = ask(page, QUESTION)
    wait_answered(reply)
    page.locator('#rag-chatbot button[aria-label="Dislike"]').last.click()
    page.locator("#rag-reason label", has_text="missing part").wait_for()   # the reasons are shown
    page.locator("#rag-reason label", has_text="missing part").click()
    page.locator("#rag-expected textarea").fill("President Vladimir Putin ordered it after the sanctions.")
    page.locator("#rag-send-feedback").click()
    page.locator("#rag-feedback-status", has_text="it will be a test case").wait_for()
    (rating,) = FeedbackStore.in_data_dir(server.settings.data_dir).all()
    assert (rating.rating, rating.reason, rating.question) == ("down", "missing-part", QUESTION)
    assert rating.expected.startswith("President Vladimir Putin") and rating.answer["citations"]
    assert rating.settings["backend"] == "extractive" and rating.settings["top_k"] == server.settings.top_k

    page.locator('#rag-chatbot button[aria-label="Like"]').last.click()
    page.locator("#rag-feedback-status", has_text="good answer").wait_for()
    assert [r.rating for r in FeedbackStore.in_data_dir(server.settings.data_dir).all()] == ["down", "up"]
    watched.assert_clean()


def test_the_corpus_choice_lists_its_documents_and_answers_from_it(watched: Watched, seed_settings: Any,
                                                                    tmp_path: Path, embeddings: Any) -> None:
    from rag.ingestion import Ingestor
    from rag.wiring import open_store

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "greenhouse.md").write_text("---\nid: lunar-greenhouse\ntitle: Lunar Greenhouse Report\n---\n"
                                          "The lunar greenhouse grew 42 kilograms of potatoes in its first season.\n",
                                          encoding="utf-8")
    notes = seed_settings.model_copy(update={"collection": "notes"})
    Ingestor(open_store(notes, embeddings), embeddings, notes).ingest_paths([folder])
    running, app = _browser.start(seed_settings)
    try:
        page = open_page(watched, running)
        choice = page.locator("#rag-corpus input")
        choice.wait_for()
        choice.click()
        page.get_by_role("option", name="notes").click()
        page.wait_for_timeout(500)   # the document filter is refilled from the chosen corpus
        reply = ask(page, "How many kilograms of potatoes did the lunar greenhouse grow?")
        wait_answered(reply)
        assert "42 kilograms" in reply.locator(".rag-answer").inner_text()
        page.locator("#rag-settings").get_by_label("Only these documents").click()
        assert page.get_by_role("option", name="Lunar Greenhouse Report").count() == 1
        assert page.get_by_role("option", name="Russia Sends Aid To Cuba Regime").count() == 0
        watched.assert_clean()
    finally:
        app.close()
