"""The chat served by a real Gradio server, driven through gradio_client; its parts on their own;
and the access rules of ``app.py``."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import gradio as gr
import httpx
import pytest
from gradio_client import Client

import app as app_module
from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import ConfigError, InputError
from rag.types import Answer, Citation
from rag.ui import build_app
from rag.ui.chat import MAX_HISTORY_TURNS, MAX_TURN_CHARS, Backends, SearchOptions, history_turns
from rag.ui.corpus import Corpus, safe_upload_name
from rag.ui.page import show_user_messages_as_text
from rag.ui.render import answer_text, render_answer, render_error, render_hits, render_source_link, safe_href

from .conftest import SEED_ID, make_settings, seed_text
from .servers import free_port

PAYLOADS = ['<img src=x onerror=alert(1)>', "<script>alert('x')</script>", '"><svg onload=alert(1)>',
            "[click](javascript:alert(1))", "<a href='javascript:alert(1)'>x</a>"]



@pytest.fixture
def store_mode() -> str:
    """The page works the same over either store; the store's own tests run against both."""
    return "embedded"


@pytest.fixture
def client(seed_assistant: Assistant) -> Iterator[Client]:
    app = build_app(seed_assistant)
    app.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield Client(app.local_url, verbose=False)
    finally:
        app.close()


# ----- the chat through its API -------------------------------------------------------------
def test_chat_round_trip(client: Client) -> None:
    html = client.predict("What did Russia send Cuba and why?", api_name="/chat")
    assert "100 tons" in html and "humanitarian aid" in html
    assert 'class="rag-cite" href="#src-' in html and "<details" in html and "<mark>" in html
    assert 'href="https://warsawinstitute.org/russia-sends-aid-cuba-regime/"' in html
    assert 'class="rag-copy"' in html


def test_chat_streams_status_then_sources_then_answer(client: Client) -> None:
    job = client.submit("Who ordered the delivery?", api_name="/chat")
    updates = list(job)
    assert any("Searching the documents" in u for u in updates)
    found = [i for i, u in enumerate(updates) if "Found " in u and "passage" in u]
    assert found and found[0] < len(updates) - 1, "sources are shown before the answer is done"
    assert "Putin" in job.outputs()[-1]


def test_chat_declines_and_handles_bad_input(client: Client) -> None:
    assert "couldn" in client.predict("What is the capital of France?", api_name="/chat")
    assert "question is empty" in client.predict("   ", api_name="/chat")


def test_chat_follow_up_uses_the_history(client: Client) -> None:
    client.predict("Who ordered the delivery of aid to Cuba?", api_name="/chat")
    follow_up = client.predict("How many tons did the planes carry?", api_name="/chat")
    assert "88 tons" in follow_up


@pytest.mark.parametrize("settings, expected", [
    ({"top_k": 1}, "Found 1 passage in"),
    ({"documents": ["no-such-document"]}, "couldn"),
    ({"date_from": "yesterday"}, "is not a date"),
    ({"date_from": "2022-01-01", "date_to": "2021-01-01"}, "date range is empty"),
])
def test_chat_settings_are_bounded_and_checked(client: Client, settings: dict, expected: str) -> None:
    updates = list(client.submit("What did Russia send Cuba?", api_name="/chat", **settings))
    assert any(expected in u for u in updates), updates[-1]


def test_chat_document_and_date_filters(client: Client, seed_assistant: Assistant, tmp_path: Path) -> None:
    [added] = Corpus(seed_assistant).add_files([_upload(
        tmp_path, "dated.md", b"---\ndate: 2021-07-14\n---\n# Lunar Greenhouse\n\nThe lunar greenhouse grew "
                              b"42 kilograms of potatoes in its first season.\n")])
    assert added.ok, added.message
    question = "How many kilograms of potatoes did the lunar greenhouse grow?"
    lunar = next(d.doc_id for d in seed_assistant.store.list_documents() if d.title == "Lunar Greenhouse")
    assert "42 kilograms" in client.predict(question, date_from="2021-07-01", date_to="2021-07-31", api_name="/chat")
    assert "couldn" in client.predict(question, date_from="2022-01-01", api_name="/chat")
    assert "42 kilograms" in client.predict(question, documents=[lunar], api_name="/chat")
    assert "couldn" in client.predict(question, documents=[SEED_ID], api_name="/chat")


@pytest.mark.parametrize("settings, error", [({"top_k": 99}, "greater than maximum value 10"),
                                             ({"top_k": 0}, "less than minimum value 1"),
                                             ({"backend": "no-such-backend"}, "not in the list of choices")])
def test_chat_refuses_settings_out_of_bounds(client: Client, settings: dict, error: str) -> None:
    with pytest.raises(Exception, match=error):
        client.predict("What did Russia send Cuba?", api_name="/chat", **settings)


def test_json_api(client: Client) -> None:
    data = client.predict("Who ordered the delivery?", api_name="/ask")
    assert data["abstained"] is False
    text = seed_text()
    for citation in data["citations"]:
        assert text[citation["start"]:citation["end"]] == citation["quote"]


# ----- rendering: nothing from a document, a question or a model becomes markup -------------
class _Markup(HTMLParser):
    """Collects every tag and attribute of a piece of HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


OUR_TAGS = {"div", "p", "a", "details", "summary", "span", "blockquote", "mark", "br", "code", "button", "strong",
            "ol", "li"}
OUR_ATTRIBUTES = {"class", "id", "href", "title", "target", "rel", "type", "role", "aria-hidden"}


def assert_only_our_markup(html: str) -> None:
    markup = _Markup()
    markup.feed(html)
    assert markup.tags <= OUR_TAGS, markup.tags - OUR_TAGS
    for name, value in markup.attributes:
        assert name in OUR_ATTRIBUTES, name
        if name == "href":
            assert value.startswith(("#src-", "https://", "http://")), value


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rendered_answer_escapes_everything(payload: str) -> None:
    document = f"Intro {payload}. The quote {payload} is here. Outro {payload}."
    start = document.index("The quote")
    quote = document[start:document.index(" is here") + len(" is here.")]
    for source in (f"javascript:{payload}", f"https://example.org/{payload}"):
        citation = Citation(n=1, doc_id=f"id{payload}", title=f"Title {payload}", source=source,
                            quote=quote, start=start, end=start + len(quote))
        answer = Answer(question=payload, text=f"Answer {payload} [1].", abstained=False, citations=[citation])
        html = render_answer(answer, {citation.doc_id: document}, meta=payload)
        assert_only_our_markup(html)
        assert "<mark>" in html and 'class="rag-cite"' in html
        declined = Answer(question=payload, text=f"Not found {payload}", abstained=True)
        assert_only_our_markup(render_answer(declined, {}))
    assert_only_our_markup(render_error(payload, hint=payload))


def test_links_only_for_http_sources() -> None:
    assert safe_href("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", 'https://x.org/"onmouseover=1'):
        assert safe_href(bad) is None
    assert "<a" not in render_source_link("file:///home/me/notes.txt")
    assert "notes.txt" in render_source_link("file:///home/me/notes.txt")


def test_answer_text_and_history_turns_read_back_the_plain_answer() -> None:
    answer = Answer(question="q", text="Tom & Jerry <b> said so [1].", abstained=False,
                    citations=[Citation(1, "d", "T", "https://x.org", "q", 0, 1)])
    html = render_answer(answer, {})
    assert answer_text(html) == "Tom & Jerry <b> said so [1]."
    history = [{"role": "user", "content": [{"type": "text", "text": "first?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": html}]},
               {"role": "user", "content": "declined one?"},
               {"role": "assistant", "content": '<div class="rag-msg rag-declined">no</div>'}]
    assert history_turns(history) == [("first?", "Tom & Jerry <b> said so [1].")]


def test_history_from_a_client_is_cleaned_and_bounded() -> None:
    def answer(text: str) -> str:
        return render_answer(Answer(question="q", text=text, abstained=False,
                                    citations=[Citation(1, "d", "T", "https://x.org", "q", 0, 1)]), {})

    history: list[dict] = []
    for n in range(50):
        history += [{"role": "user", "content": f"question {n}?"}, {"role": "assistant", "content": answer(f"answer {n}.")}]
    history += [{"role": "user", "content": "Who\x00 ordered\x1b[2J the\u202e delivery? " + "why " * 25_000},
                {"role": "assistant", "content": answer("Putin did [1]. " + "x" * 20_000)},
                {"role": "user", "content": "\x00\x01"}, {"role": "assistant", "content": answer("dropped")},
                "not a message", {"role": "user"}]
    turns = history_turns(history)
    assert len(turns) == MAX_HISTORY_TURNS and turns[0] == ("question 45?", "answer 45.")
    question, reply = turns[-1]
    assert question.startswith("Who ordered [2J the delivery? why") and 1900 < len(question) <= MAX_TURN_CHARS
    assert reply.startswith("Putin did [1]. xxx") and 1900 < len(reply) <= MAX_TURN_CHARS
    assert not any(ch in question + reply for ch in "\x00\x1b\u202e")


def test_found_passages_are_escaped(seed_assistant: Assistant) -> None:
    hits = seed_assistant.retriever.search("Russia Cuba", 2)
    assert "Found 2 passages in 1 document" in render_hits(hits)


def test_user_messages_are_shown_as_text_and_read_back_as_typed() -> None:
    chatbot = show_user_messages_as_text(gr.Chatbot(render=False))
    typed = "<img src=x onerror=alert(1)> & <b>bold</b>"
    shown = chatbot.postprocess([{"role": "user", "content": typed}, {"role": "assistant", "content": "<p>ok</p>"}])
    assert shown.root[0].content[0].text == "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert shown.root[1].content[0].text == "<p>ok</p>"
    back = chatbot.preprocess(shown)
    assert back[0]["content"][0]["text"] == typed


# ----- search settings --------------------------------------------------------------------
@pytest.mark.parametrize("top_k, expected", [(None, 0), (0, 1), (-5, 1), (3, 3), (3.7, 3), (10, 10), (11, 10),
                                             (10**9, 10), ("4", 4)])
def test_top_k_is_bounded(top_k: object, expected: int) -> None:
    assert SearchOptions.parse(top_k=top_k).k == expected


@pytest.mark.parametrize("date_from, date_to, problem", [
    ("2021-07-14", "2021-07-20", None),
    ("2021-07-14T10:00:00", None, None),
    ("14/07/2021", None, "not a date"),
    ("2021-07-20", "2021-07-14", "date range is empty"),
])
def test_dates_are_checked(date_from: str, date_to: str | None, problem: str | None) -> None:
    if problem is None:
        options = SearchOptions.parse(date_from=date_from, date_to=date_to)
        assert options.filters.date_from == date_from[:10]
    else:
        with pytest.raises(InputError, match=problem):
            SearchOptions.parse(date_from=date_from, date_to=date_to)


def test_backends_offer_only_what_is_installed(seed_assistant: Assistant) -> None:
    backends = Backends(seed_assistant)
    assert "extractive" in backends.available() and "openai" not in backends.available()
    assert backends.get(None) is seed_assistant
    with pytest.raises(InputError, match="not available"):
        backends.get("openai")


# ----- the corpus tab's work --------------------------------------------------------------
@pytest.mark.parametrize("client_name, stored", [
    ("notes.txt", "notes.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\evil.MD", "evil.md"),
    ("/abs/path/report.pdf", "report.pdf"),
    ("Résumé (final) v2.docx", "Resume-final-v2.docx"),
    ("....txt", "document.txt"),
    ("<script>.txt", "script.txt"),
    ("a" * 300 + ".txt", "a" * 80 + ".txt"),
    ("no-suffix", "no-suffix"),
])
def test_upload_names_are_never_paths(client_name: str, stored: str) -> None:
    assert safe_upload_name(client_name) == stored


def _upload(tmp_path: Path, name: str, data: bytes) -> tuple[Path, str]:
    folder = tmp_path / "incoming" / str(len(list(tmp_path.glob("incoming/*"))))
    folder.mkdir(parents=True)
    path = folder / "file"
    path.write_bytes(data)
    return path, name


def test_uploads_are_checked_copied_and_ingested(seed_settings: Settings, tmp_path: Path) -> None:
    assistant = Assistant.from_settings(seed_settings.model_copy(update={"max_upload_mb": 1}))
    corpus = Corpus(assistant)
    big = corpus.max_bytes + 1
    seen: list[tuple[float, str]] = []
    results = corpus.add_files([
        _upload(tmp_path, "../../lunar.txt", b"Lunar Greenhouse\n\nThe lunar greenhouse grew 42 kilograms of "
                                            b"potatoes in its first season, said botanist Mara Quell."),
        _upload(tmp_path, "bundle.zip", b"PK\x03\x04"),
        _upload(tmp_path, "program.exe", b"MZ"),
        _upload(tmp_path, "empty.txt", b""),
        _upload(tmp_path, "huge.txt", b"a" * big),
        _upload(tmp_path, "garbage.txt", bytes(range(256)) * 64),
    ], lambda fraction, what: seen.append((fraction, what)))
    outcome = {r.name: (r.ok, r.message) for r in results}
    assert outcome["../../lunar.txt"][0] and "1 passage" in outcome["../../lunar.txt"][1]
    assert "archives are not unpacked" in outcome["bundle.zip"][1]
    assert "unsupported type '.exe'" in outcome["program.exe"][1]
    assert "empty" in outcome["empty.txt"][1]
    assert "limit is" in outcome["huge.txt"][1]
    assert not outcome["garbage.txt"][0] and "binary" in outcome["garbage.txt"][1]
    assert seen and seen[-1][0] == 1.0
    stored = sorted(p.name for p in corpus.upload_dir.iterdir())
    assert len(stored) == 1 and re.fullmatch(r"lunar-[0-9a-f]{10}\.txt", stored[0]), \
        "only accepted files are kept, under their safe names"
    assert any(row[0] == "Lunar Greenhouse" and row[1] == 1 for row in corpus.rows())
    answer = assistant.ask("How many kilograms of potatoes did the lunar greenhouse grow?")
    assert not answer.abstained and "42" in answer.text

    lunar = next(doc_id for label, doc_id in corpus.choices() if label == "Lunar Greenhouse")
    assert "Removed “Lunar Greenhouse” (1 passage)" in corpus.remove(lunar)
    assert not list(corpus.upload_dir.iterdir())
    assert [row[4] for row in corpus.rows()] == [SEED_ID]
    with pytest.raises(InputError):
        corpus.remove(lunar)


def test_uploads_with_colliding_names_are_two_documents_and_a_failed_one_deletes_nothing(
        seed_assistant: Assistant, tmp_path: Path) -> None:
    corpus = Corpus(seed_assistant)
    first = corpus.add_files([_upload(tmp_path, "Report.MD", b"# Kessel ferry\n\nThe ferry Aurora was refitted in "
                                                             b"Kessel in 2019.\n")])
    second = corpus.add_files([_upload(tmp_path, "report.md", b"# Tide tables\n\nTide tables are posted at the "
                                                              b"harbour office every Monday.\n")])
    assert first[0].ok and second[0].ok, (first, second)
    titles = {row[0] for row in corpus.rows()}
    assert {"Kessel ferry", "Tide tables"} <= titles, "the second upload must not replace the first"
    assert len(list(corpus.upload_dir.iterdir())) == 2

    failed = corpus.add_files([_upload(tmp_path, "Report.md", bytes(range(256)) * 64)])
    assert not failed[0].ok and "binary" in failed[0].message
    again = corpus.add_files([_upload(tmp_path, "REPORT.md", b"# Kessel ferry\n\nThe ferry Aurora was refitted in "
                                                            b"Kessel in 2019.\n")])
    assert again[0].ok, again
    for document in corpus.documents():
        if document.title in ("Kessel ferry", "Tide tables"):
            assert Path(str(document.metadata["path"])).is_file(), "every stored document keeps its file"
    assert len(list(corpus.upload_dir.iterdir())) == 2 and len(corpus.rows()) == 3


def test_removing_a_corpus_document_keeps_its_file(seed_assistant: Assistant) -> None:
    corpus = Corpus(seed_assistant)
    corpus.remove(SEED_ID)
    assert corpus.rows() == []
    assert (Path(__file__).parent.parent / "corpus" / "russia-sends-aid-to-cuba-regime.txt").exists()


# ----- access: loopback by default, a login from the environment otherwise -------------------
@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True),
                                            ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.5", False), ("example.org", False), ("", False)])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert app_module.is_loopback(host) is loopback


@pytest.mark.parametrize("env, error", [
    ({"RAG_HOST": "0.0.0.0"}, "refusing to listen on 0.0.0.0 without a login"),
    ({"RAG_HOST": "0.0.0.0", "RAG_AUTH_USER": "ana"}, "set RAG_AUTH_PASSWORD too"),
    ({"RAG_AUTH_PASSWORD": "s3cret-pw"}, "set RAG_AUTH_USER too"),
    ({"RAG_HOST": "0.0.0.0", "RAG_AUTH_USER": "ana", "RAG_AUTH_PASSWORD": "s3cret-pw"}, None),
    ({}, None),
])
def test_auth_is_required_off_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict, error: str | None
                                       ) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = make_settings(tmp_path / "data")
    if error:
        with pytest.raises(ConfigError, match=error):
            app_module.auth_from(settings)
    else:
        assert app_module.auth_from(settings) == (("ana", "s3cret-pw") if env else None)


def test_main_refuses_an_open_address_before_loading_anything(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(app_module.Assistant, "from_settings", lambda *a, **k: pytest.fail("must not load models"))
    assert app_module.main(["--host", "0.0.0.0"]) == 1
    assert "RAG_AUTH_USER and RAG_AUTH_PASSWORD" in capsys.readouterr().err


def test_login_from_the_environment_and_the_password_never_logged(
        seed_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    password = "pw-7f3a9c-never-in-logs"
    monkeypatch.setenv("RAG_AUTH_USER", "ana")
    monkeypatch.setenv("RAG_AUTH_PASSWORD", password)
    port = free_port()
    # The login comes from the environment; everything else from the seed store's settings.
    settings = Settings(**seed_settings.model_dump(exclude={"auth_user", "auth_password", "port"}), port=port)
    assert settings.auth_user == "ana"
    caplog.set_level(logging.DEBUG)
    assistant = Assistant.from_settings(settings)
    app = app_module.serve(assistant, settings, prevent_thread_lock=True, quiet=False)
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/config").status_code in (401, 403)
        assert SEED_ID not in httpx.get(url).text, "the login page shows nothing of the corpus"
        with pytest.raises(Exception):
            Client(url, auth=("ana", "wrong"), verbose=False)
        answer = Client(url, auth=("ana", password), verbose=False).predict("Who ordered the delivery?",
                                                                           api_name="/ask")
        assert not answer["abstained"]
    finally:
        app.close()
    out, err = capfd.readouterr()
    logged = caplog.text + out + err + repr(settings) + str(settings.model_dump())
    assert password not in logged
    assert "login required" in caplog.text
