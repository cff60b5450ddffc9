"""The chat in a real browser: Debian's Chromium driven by Playwright against a real server.

Every page load is watched: a request to any host but the server's fails the test (and is
blocked, so nothing leaves the machine). Screenshots go to tests/artifacts/screenshots/
(``RAG_SCREENSHOT_DIR`` to put them elsewhere; ``make screenshots`` refreshes docs/screenshots/).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect, sync_playwright

import app as app_module
from rag.assistant import Assistant
from rag.config import PROJECT_ROOT, Settings
from rag.generation.base import Passage
from rag.question_parts import QuestionPart

from .servers import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Test runs write to a git-ignored folder; `make screenshots` refreshes the README's copies.
SCREENSHOTS = Path(os.environ.get("RAG_SCREENSHOT_DIR", PROJECT_ROOT / "tests" / "artifacts" / "screenshots"))
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
SEED_QUESTION = "What did Russia send Cuba and why?"
SEED_SOURCE = "https://warsawinstitute.org/russia-sends-aid-cuba-regime/"
HOSTILE_DOCUMENT = """Lunar Greenhouse Report <img src=x onerror="window.__xss=1;alert(1)">

The lunar greenhouse grew 42 kilograms of potatoes in its first season. <script>window.__xss=2;alert(2)</script>
The harvest was led by botanist Mara Quell <b id="injected" onmouseover="alert(3)">in the north dome</b>.
Notes: [open me](javascript:alert(4)) and <a href="javascript:alert(5)" id="injected-link">this link</a>.
"""
# Records, in the page, which stages of an answer have been on screen, in order.
STAGE_WATCHER = """
window.__ragSeen = [];
new MutationObserver(() => {
  for (const stage of ['rag-status', 'rag-found', 'rag-quick', 'rag-draft', 'rag-answer']) {
    if (!window.__ragSeen.includes(stage) && document.querySelector('#rag-chatbot .' + stage)) {
      window.__ragSeen.push(stage);
    }
  }
}).observe(document, {subtree: true, childList: true});
"""


@pytest.fixture
def store_mode() -> str:
    """The page works the same over either store; the store's own tests run against both."""
    return "embedded"



class PacedGenerator:
    """The extractive backend, one piece every ``delay`` seconds, so that streaming is visible."""

    chat_model = None
    lock = None

    def __init__(self, inner: Any, delay: float = 0.25) -> None:
        self.inner, self.delay, self.name = inner, delay, inner.name

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        for piece in self.inner.stream(question, passages, parts):
            time.sleep(self.delay)
            yield piece


@dataclass
class Server:
    url: str
    assistant: Assistant
    settings: Settings


def start(settings: Settings, paced: bool = False) -> tuple[Server, Any]:
    settings = settings.model_copy(update={"port": free_port()})
    assistant = Assistant.from_settings(settings)
    if paced:
        assistant.generator = PacedGenerator(assistant.generator)
    app = app_module.serve(assistant, settings, prevent_thread_lock=True, quiet=True)
    return Server(f"http://127.0.0.1:{settings.port}", assistant, settings), app


@pytest.fixture
def server(seed_settings: Settings) -> Iterator[Server]:
    running, app = start(seed_settings)
    yield running
    app.close()


@pytest.fixture
def paced_server(seed_settings: Settings) -> Iterator[Server]:
    running, app = start(seed_settings, paced=True)
    yield running
    app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium from Debian with a fresh profile; Playwright's own browser download is not used."""
    if not CHROMIUM.exists():  # pragma: no cover
        pytest.fail("Chromium is missing: run ./scripts/install-system-packages.sh --tests (make setup-dev does)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport=DESKTOP)
        context.set_default_timeout(30_000)
        yield context
        context.close()


@dataclass
class Watched:
    """A page, what it asked for beyond the server, and the dialogs it tried to open."""

    page: Any
    foreign: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.foreign == [], f"requests left 127.0.0.1: {self.foreign}"
        assert self.dialogs == [], f"a script ran: dialogs {self.dialogs}"
        assert self.page.evaluate("window.__xss") is None, "a script from a document ran"


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    page = browser.new_page()
    watched = Watched(page)

    def route(request_route: Any) -> None:
        host = urlparse(request_route.request.url).hostname
        if host in ("127.0.0.1", None) or request_route.request.url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            watched.foreign.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("dialog", lambda dialog: (watched.dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(STAGE_WATCHER)
    page.set_viewport_size(DESKTOP)
    yield watched
    page.close()


def shot(page: Any, name: str, **options: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The answer's timing changes from run to run; hidden, so that unchanged pages give unchanged files.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide",
                    style=".rag-meta { visibility: hidden }", **options)


def open_page(watched: Watched, server: Server, theme: str = "light") -> Any:
    page = watched.page
    page.goto(f"{server.url}/?__theme={theme}")
    page.locator("#rag-question textarea").wait_for()
    return page


def ask(page: Any, question: str) -> Any:
    """Type a question, send it, and return the locator of the assistant's reply."""
    before = page.locator('#rag-chatbot [data-testid="bot"]').count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    reply = page.locator('#rag-chatbot [data-testid="bot"]').nth(before)
    reply.wait_for()
    return reply


def wait_answered(reply: Any, timeout: float = 60_000) -> None:
    reply.locator("button.rag-copy, .rag-declined, .rag-error").first.wait_for(timeout=timeout)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_seed_question_streams_a_cited_answer_and_opens_its_source(watched: Watched, paced_server: Server,
                                                                   theme: str) -> None:
    page = open_page(watched, paced_server, theme)
    watched.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=paced_server.url)
    examples = page.locator("#rag-chatbot button", has_text="Who ordered the delivery?")
    assert examples.count() == 1, "example questions are offered on first load"

    reply = ask(page, SEED_QUESTION)
    wait_answered(reply)
    seen = page.evaluate("window.__ragSeen")
    assert seen[:2] == ["rag-status", "rag-found"] and "rag-draft" in seen and seen[-1] == "rag-answer", seen
    assert "100 tons" in reply.locator(".rag-answer").inner_text()
    shot(page, f"chat-{theme}")

    cite = reply.locator("a.rag-cite").first
    target = cite.get_attribute("href").removeprefix("#")
    source = page.locator(f"details#{target}")
    assert not source.evaluate("element => element.open")
    cite.click()
    assert source.evaluate("element => element.open")
    mark = source.locator("mark")
    assert mark.is_visible() and "100 tons of humanitarian aid" in mark.inner_text()
    context = source.locator(".rag-context").inner_text()
    assert len(context) > len(mark.inner_text()) + 100, "the quote is shown inside its document's text"
    assert source.locator(f'a.rag-origin[href="{SEED_SOURCE}"]').count() == 1
    assert len(watched.page.context.pages) == 2  # the profile's first tab and ours: nothing opened
    shot(page, f"citation-{theme}")

    reply.locator("button.rag-copy").click()
    page.wait_for_function("document.querySelector('button.rag-copy').dataset.copied === 'yes'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Russia dispatched nearly 100 tons") and "[1]" in copied
    assert "Sources:" in copied and SEED_SOURCE in copied and "“Russia dispatched" in copied
    watched.assert_clean()


def test_follow_up_uses_history_and_start_over_clears_it(watched: Watched, server: Server) -> None:
    page = open_page(watched, server)
    typed = "Who ordered the delivery of aid to Cuba? <img src=q onerror=alert(9)>"
    first = ask(page, typed)
    wait_answered(first)
    assert "Putin" in first.inner_text()
    follow_up = ask(page, "How many tons did the planes carry?")
    wait_answered(follow_up)
    assert "88 tons" in follow_up.inner_text()
    user = page.locator('#rag-chatbot [data-testid="user"]')
    assert user.first.inner_text().strip() == typed, "the question is shown as typed, even after a round trip"
    assert page.locator("#rag-chatbot img").count() == 0

    page.locator("#rag-new-chat").click()
    page.wait_for_function("document.querySelectorAll('#rag-chatbot [data-testid=\"bot\"]').length === 0")
    example = page.locator("#rag-chatbot button", has_text="Who ordered the delivery?")
    example.click()
    reply = page.locator('#rag-chatbot [data-testid="bot"]').first
    wait_answered(reply)
    assert "Putin" in reply.inner_text()
    watched.assert_clean()


def test_declines_and_errors_are_friendly(watched: Watched, server: Server) -> None:
    page = open_page(watched, server)
    declined = ask(page, "What is the capital of France?")
    wait_answered(declined)
    assert declined.locator(".rag-declined").is_visible()
    assert "Not in the documents" in declined.inner_text()

    page.get_by_label("Dated from").fill("last tuesday")
    error = ask(page, SEED_QUESTION)
    wait_answered(error)
    assert "is not a date" in error.locator(".rag-error").inner_text()
    watched.assert_clean()

    page.get_by_text("Use via API").click()  # Gradio's API page, part of the same app
    page.get_by_text("/chat", exact=False).first.wait_for()
    page.wait_for_timeout(1000)
    watched.assert_clean()


def test_upload_shows_hostile_text_as_text_and_answers_from_it(watched: Watched, server: Server,
                                                               tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "lunar <i>report.txt").write_text(HOSTILE_DOCUMENT, encoding="utf-8")
    (files / "bundle.zip").write_bytes(b"PK\x03\x04 not unpacked")
    page = open_page(watched, server)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#rag-upload input[type=file]").set_input_files(
        [str(files / "lunar <i>report.txt"), str(files / "bundle.zip")])
    results = page.locator("#rag-upload-status li")
    results.nth(1).wait_for(timeout=60_000)
    # Gradio already drops <> from uploaded names; the app then keeps only safe characters.
    assert "report.txt: added as" in results.nth(0).inner_text()
    assert "archives are not unpacked" in results.nth(1).inner_text()
    table = page.locator("#rag-documents")
    expect(table).to_contain_text("Lunar Greenhouse Report <img src=x")
    assert page.locator("#injected, #injected-link, img[src=x]").count() == 0
    stored = [p.name for p in (server.settings.data_dir / "uploads").iterdir()]
    # Stored under a safe name that carries a short hash of the content (names never collide).
    assert len(stored) == 1 and re.fullmatch(r"lunar-ireport-[0-9a-f]{10}\.txt", stored[0]), stored
    page.wait_for_timeout(300)
    shot(page, "corpus-light")
    page.goto(f"{server.url}/?__theme=dark")
    page.get_by_role("tab", name="Documents").click()
    expect(table).to_contain_text("Lunar Greenhouse Report")
    shot(page, "corpus-dark")

    page.get_by_role("tab", name="Chat").click()
    reply = ask(page, "How many kilograms of potatoes did the lunar greenhouse grow?")
    wait_answered(reply)
    assert "42 kilograms" in reply.locator(".rag-answer").inner_text()
    reply.locator("a.rag-cite").first.click()
    source = reply.locator("details.rag-source").first
    assert "Lunar Greenhouse Report <img src=x" in source.locator("summary").inner_text()
    context = source.locator(".rag-context").inner_text()
    assert "<script>" in context or "<b id=" in context, "the document's markup is shown as text"
    assert page.locator("#injected, #injected-link, img[src=x], #rag-chatbot script").count() == 0
    watched.assert_clean()

    page.get_by_role("tab", name="Documents").click()
    page.locator("#rag-remove-choice input").click()
    page.get_by_role("option", name="Lunar Greenhouse Report", exact=False).click()
    page.locator("#rag-remove").click()
    page.locator("#rag-remove-status", has_text="Removed").wait_for()
    expect(table).not_to_contain_text("Lunar Greenhouse Report")
    assert list((server.settings.data_dir / "uploads").iterdir()) == []
    watched.assert_clean()


def test_phone_layout(watched: Watched, server: Server) -> None:
    page = watched.page
    page.set_viewport_size(PHONE)
    open_page(watched, server)
    reply = ask(page, SEED_QUESTION)
    wait_answered(reply)
    reply.locator("a.rag-cite").first.click()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    chat = page.locator("#rag-chatbot").bounding_box()
    settings = page.locator("#rag-settings").bounding_box()
    assert settings["y"] > chat["y"] + chat["height"] - 1, "the settings go under the chat on a phone"
    assert chat["width"] >= PHONE["width"] * 0.8
    shot(page, "phone-light")
    watched.assert_clean()


def test_login_page_is_offline_and_lets_the_user_in(watched: Watched, seed_settings: Settings,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_AUTH_USER", "ana")
    monkeypatch.setenv("RAG_AUTH_PASSWORD", "correct horse")
    settings = Settings(**seed_settings.model_dump(exclude={"auth_user", "auth_password"}))
    running, app = start(settings)
    try:
        page = watched.page
        page.goto(running.url)
        assert "russia-sends-aid" not in page.content(), "the login page shows nothing of the corpus"
        for password in ("wrong", "correct horse"):
            page.get_by_label("username").fill("ana")
            page.get_by_label("password").fill(password)
            page.get_by_role("button", name="Login").click()
            if password == "wrong":
                page.get_by_text("Incorrect", exact=False).wait_for()
        reply = ask(page, SEED_QUESTION)
        wait_answered(reply)
        assert reply.locator("a.rag-cite").count() >= 1
        watched.assert_clean()
    finally:
        app.close()


@pytest.mark.slow
def test_local_llm_backend_answers_with_citations(watched: Watched, server: Server) -> None:
    page = open_page(watched, server)
    page.locator("#rag-settings").get_by_label("Answering backend").click()
    page.get_by_role("option", name="llamacpp").click()
    reply = ask(page, SEED_QUESTION)
    wait_answered(reply, timeout=240_000)
    assert reply.locator("a.rag-cite").count() >= 1, reply.inner_text()
    # While the model writes, a verified answer of quotes is on screen (its own checked sentences may
    # follow, when one finishes before the last).
    seen = page.evaluate("window.__ragSeen")
    assert "rag-quick" in seen and seen.index("rag-quick") < seen.index("rag-answer"), seen
    reply.locator("a.rag-cite").first.click()
    assert reply.locator("details.rag-source[open] mark").first.is_visible()
    assert "llamacpp" in reply.locator(".rag-meta").inner_text()
    watched.assert_clean()

