"""``python -m rag ingest https://...``: pages served on loopback by a real HTTP server.

Fetching loopback is opt-in (``RAG_ALLOW_LOOPBACK_URLS``, ``allow_loopback=True``); these tests
opt in, except those that check the refusals (loopback without the opt-in, redirects to
private and link-local addresses, a server that drips its answer)."""

from __future__ import annotations

import functools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from rag.assistant import Assistant
from rag.cli import main
from rag.errors import LoadError
from rag.loading import load_url as load_any_url

from . import documents as make
from .conftest import make_settings

# path -> (status, content type, body, seconds to wait before answering)
PAGES: dict[str, tuple[int, str, bytes, float]] = {
    "/news/harbour.html": (200, "text/html; charset=utf-8", make.HTML_ARTICLE.encode(), 0.0),
    "/report.pdf": (200, "application/pdf",
                    make.text_pdf_bytes([["Ferry report, page one."],
                                         ["The ferry Aurora was refitted in Kessel in 2019."]]), 0.0),
    "/notes.txt": (200, "text/plain; charset=utf-8", "Tide tables are posted at the harbour office.".encode(), 0.0),
    "/big.html": (200, "text/html", b"<html><body><p>" + b"x" * 5000 + b"</p></body></html>", 0.0),
    "/slow.html": (200, "text/html", make.HTML_ARTICLE.encode(), 3.0),
    "/archive.zip": (200, "application/zip", b"PK\x03\x04 not really", 0.0),
    "/gone.html": (404, "text/html", b"<html><body>Not found</body></html>", 0.0),
    "/undeclared.html": (200, "text/html", b"<html><body><p>" + b"y" * 5000 + b"</p></body></html>", 0.0),
}
# Sent without a Content-Length: the size limit must hold while reading.
UNDECLARED = {"/undeclared.html"}
# Redirects to addresses inside the network: the cloud metadata service, a private host, a
# loopback address named as IPv6, a name that resolves to loopback.
REDIRECTS = {"/moved": "/news/harbour.html",
             "/to-metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
             "/to-private": "http://10.0.0.1/admin", "/to-mapped": "http://[::ffff:192.168.1.1]/",
             "/to-ftp": "ftp://127.0.0.1/x"}
load_url = functools.partial(load_any_url, allow_loopback=True)


@pytest.fixture(autouse=True)
def _allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The site below is on 127.0.0.1: opt in to fetching loopback for the CLI too."""
    monkeypatch.setenv("RAG_ALLOW_LOOPBACK_URLS", "1")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.end_headers()
            return
        if self.path == "/drip.txt":  # a byte every 0.2 s: no read ever times out
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        status, content_type, body, delay = PAGES.get(self.path, (404, "text/plain", b"no such page", 0.0))
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if self.path not in UNDECLARED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the size-limit tests want

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A web server on 127.0.0.1 (an ephemeral port), stopped after the module's tests."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_a_web_page_and_cite_it_by_url(site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{site}/news/harbour.html"
    data = str(tmp_path / "data")
    code, out, err = run(capsys, "ingest", url, "--data-dir", data)
    assert code == 0, err
    assert "1 document" in out
    code, out, _ = run(capsys, "list", "--json", "--data-dir", data)
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["source"] == url and listed["title"] == "Harbour of Port Ellery reopens"
    assert listed["author"] == "Jane Doe" and listed["date"] == "2024-03-05" and "path" not in listed

    answer = Assistant.from_settings(make_settings(Path(data))).ask("How many passengers did the ferry Aurora carry?")
    assert not answer.abstained
    citation = next(c for c in answer.citations if "240" in c.quote)
    assert citation.source == url and citation.doc_id == listed["doc_id"]

    code, out, _ = run(capsys, "ingest", url, "--data-dir", data)  # the same page again: nothing new
    assert code == 0 and "(1 unchanged)" in out and "0 added" in out

    code, out, _ = run(capsys, "remove", url, "--data-dir", data)
    assert code == 0 and f"removed {url}" in out
    assert run(capsys, "list", "--json", "--data-dir", data)[1] == ""


def test_pdf_by_url_keeps_its_pages(site: str) -> None:
    [document] = load_url(f"{site}/report.pdf", max_bytes=1_000_000)
    assert document.source == f"{site}/report.pdf" and document.metadata["format"] == "pdf"
    assert document.page_at(document.text.index("refitted")) == 2


def test_plain_text_by_url_and_a_redirect(site: str) -> None:
    [notes] = load_url(f"{site}/notes.txt", max_bytes=1_000_000)
    assert notes.text == "Tide tables are posted at the harbour office." and notes.source == f"{site}/notes.txt"
    [moved] = load_url(f"{site}/moved", max_bytes=1_000_000)
    assert moved.source == f"{site}/moved" and "240 passengers" in moved.text  # the URL asked for stays the source


@pytest.mark.parametrize("path, max_bytes, timeout_s, reason", [
    ("/gone.html", 1_000_000, 10.0, "HTTP 404"),
    ("/big.html", 1_000, 10.0, "the limit is 1,000 bytes"),
    ("/undeclared.html", 1_000, 10.0, "the limit is 1,000 bytes"),
    ("/slow.html", 1_000_000, 0.5, "no answer within"),
    ("/archive.zip", 1_000_000, 10.0, "unsupported content type 'application/zip'"),
])
def test_fetch_failures_name_the_url_and_the_reason(site: str, path: str, max_bytes: int, timeout_s: float,
                                                    reason: str) -> None:
    with pytest.raises(LoadError) as error:
        load_url(f"{site}{path}", max_bytes=max_bytes, timeout_s=timeout_s)
    assert error.value.path == f"{site}{path}" and reason in error.value.reason


def test_nothing_listens_there(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="cannot fetch"):
        load_url("http://127.0.0.1:9/", max_bytes=1000, timeout_s=5)  # the discard port: refused


def test_a_failed_url_leaves_the_store_unchanged_and_the_batch_goes_on(
        site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    code, out, err = run(capsys, "ingest", f"{site}/gone.html", f"{site}/notes.txt", "--data-dir", data)
    assert code == 0 and "1 document" in out
    assert f"skipped {site}/gone.html: the server answered HTTP 404" in err
    code, out, err = run(capsys, "ingest", f"{site}/gone.html", "--data-dir", data)
    assert code == 2 and "HTTP 404" in err
    code, out, _ = run(capsys, "list", "--json", "--data-dir", data)
    assert [json.loads(line)["source"] for line in out.splitlines()] == [f"{site}/notes.txt"]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file.txt", "file:///etc/hostname", "http://"])
def test_only_http_urls_are_fetched(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, _, err = run(capsys, "ingest", url, "--data-dir", str(tmp_path / "data"))
    assert code == 2 and "only http:// and https:// URLs" in err


def test_loopback_is_refused_without_the_opt_in(site: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="it resolves to 127.0.0.1, a loopback address, not a public one"):
        load_any_url(f"{site}/notes.txt", max_bytes=1_000_000)
    monkeypatch.delenv("RAG_ALLOW_LOOPBACK_URLS")
    code, _, err = run(capsys, "ingest", f"{site}/notes.txt", "--data-dir", str(tmp_path / "data"))
    assert code == 2 and "(set RAG_ALLOW_LOOPBACK_URLS=1 to ingest pages served on this machine)" in err


@pytest.mark.parametrize("path, reason", [
    ("/to-metadata", "refusing to fetch 169.254.169.254: it resolves to 169.254.169.254, a link-local address"),
    ("/to-private", "refusing to fetch 10.0.0.1: it resolves to 10.0.0.1, a private address"),
    ("/to-mapped", "it resolves to 192.168.1.1, a private address"),
    ("/to-ftp", "which is not an http(s) URL"),
])
def test_redirects_into_the_network_are_refused_at_every_hop(site: str, path: str, reason: str,
                                                             capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    with pytest.raises(LoadError) as error:
        load_url(f"{site}{path}", max_bytes=1_000_000, timeout_s=5)
    assert reason in error.value.reason
    code, _, err = run(capsys, "ingest", f"{site}{path}", "--data-dir", str(tmp_path / "data"))
    assert code == 2 and reason in err


def test_a_server_that_drips_its_answer_is_cut_off_by_the_total_time_limit(site: str) -> None:
    started = time.monotonic()
    with pytest.raises(LoadError, match="no answer within 2 s"):
        load_url(f"{site}/drip.txt", max_bytes=1_000_000, timeout_s=1.5)
    assert time.monotonic() - started < 4
