"""Access rules of the served chat, over raw HTTP against a real server started by ``app.serve``:
the Host allow-list (DNS rebinding), the login rate limit, and the routes a login protects."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

import app as app_module
from rag.assistant import Assistant
from rag.config import Settings
from rag.ui.guard import LoginLimiter, host_name

from .servers import free_port

PASSWORD = "pw-3b1c-correct-horse"


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
def open_url(seed_settings: Settings) -> Iterator[str]:
    yield from serve(seed_settings, allowed_hosts="chat.example.org, proxy.example.net:8443")


@pytest.fixture
def login_url(seed_settings: Settings) -> Iterator[str]:
    yield from serve(seed_settings, auth_user="ana", auth_password=PASSWORD)


@pytest.mark.parametrize("host, status", [
    ("evil.example", 400), ("evil.example:{port}", 400), ("127.0.0.1.evil.example:{port}", 400),
    ("localhost.evil.example", 400), ("", 400),
    ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("[::1]:{port}", 200),
    ("chat.example.org", 200), ("proxy.example.net:443", 200),
])
def test_only_requests_for_the_configured_host_are_served(open_url: str, host: str, status: int) -> None:
    port = open_url.rsplit(":", 1)[1]
    for path in ("/", "/gradio_api/info"):
        response = httpx.get(open_url + path, headers={"Host": host.format(port=port)})
        assert response.status_code == status, (path, response.text[:200])
    if status == 400:
        assert "does not answer to that host name" in response.text


def test_host_names_are_read_without_their_port() -> None:
    assert [host_name(h) for h in ("Example.ORG:80", "[::1]:7860", "[::1]", "localhost.", "10.0.0.1")] == [
        "example.org", "[::1]", "[::1]", "localhost", "10.0.0.1"]


def test_with_a_login_no_route_serves_an_unauthenticated_request(login_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    requests = [
        ("POST", "/gradio_api/call/chat", {"json": {"data": ["Who ordered the delivery?", []]}}),
        ("POST", "/gradio_api/call/ask", {"json": {"data": ["Who ordered the delivery?"]}}),
        ("POST", "/gradio_api/queue/join", {"json": {"data": ["Who?", []], "fn_index": 0, "session_hash": "x1"}}),
        ("POST", "/gradio_api/upload", {"files": {"files": ("a.txt", b"hello")}}),
        ("GET", f"/gradio_api/file={secret}", {}),
        ("GET", "/config", {}),
    ]
    for method, path, kwargs in requests:
        response = httpx.request(method, login_url + path, **kwargs)
        assert response.status_code in (401, 403), (path, response.status_code, response.text[:200])


def test_failed_logins_are_limited_per_address_and_per_user(login_url: str) -> None:
    def login(user: str, password: str) -> int:
        return httpx.post(f"{login_url}/login", data={"username": user, "password": password}).status_code

    assert [login("ana", "wrong") for _ in range(5)] == [400] * 5
    response = httpx.post(f"{login_url}/login", data={"username": "ana", "password": PASSWORD})
    assert response.status_code == 429 and "too many failed logins; try again in" in response.json()["detail"]
    assert int(response.headers["retry-after"]) > 0
    assert login("bob", "whatever") == 429, "the address is locked out too"


def test_the_limiter_locks_out_then_forgives() -> None:
    now = [0.0]
    limiter = LoginLimiter(max_failures=3, window_s=60, lockout_s=300, clock=lambda: now[0])
    for _ in range(2):
        limiter.failed(["user:ana"])
    assert limiter.retry_after(["user:ana"]) == 0
    now[0] = 61.0  # the earlier failures left the window
    limiter.failed(["user:ana"])
    assert limiter.retry_after(["user:ana"]) == 0
    limiter.failed(["user:ana"])
    limiter.failed(["user:ana"])
    assert limiter.retry_after(["user:ana", "address:1.2.3.4"]) == 300
    now[0] += 301
    assert limiter.retry_after(["user:ana"]) == 0
