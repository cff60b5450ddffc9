"""Access rules at the HTTP layer, as one ASGI middleware in front of the Gradio app.

* **Host allow-list.** A request whose ``Host`` header names another host is refused (400), so
  a web page on ``evil.example`` whose name an attacker re-points at 127.0.0.1 (DNS rebinding)
  cannot read the chat through the user's browser. Allowed: 127.0.0.1, localhost, [::1], the
  configured ``RAG_HOST``, and the names in ``RAG_ALLOWED_HOSTS`` (for a reverse proxy); any port.
* **Login rate limit.** After ``max_failures`` failed logins within ``window_s`` from one client
  address or for one user name, further logins from it (or for it) are refused (429) for
  ``lockout_s`` seconds. Behind a reverse proxy every client has the proxy's address, so the user
  name limit is the one that counts there.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import parse_qs

from ..config import Settings

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
_ANY_ADDRESS = frozenset({"0.0.0.0", "[::]", ""})
_LOGIN_PATHS = frozenset({"/login", "/login/"})
_MAX_LOGIN_BODY = 64 * 1024


def host_name(header: str) -> str:
    """The name part of a ``Host`` header, lower-cased: ``[::1]:7860`` → ``[::1]``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0].rstrip(".") if header.count(":") <= 1 else f"[{header}]"


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The host names the chat answers to (see the module docstring)."""
    names = set(LOOPBACK_NAMES)
    configured = settings.host.strip().lower()
    configured = f"[{configured.strip('[]')}]" if ":" in configured else configured
    if configured not in _ANY_ADDRESS:
        names.add(configured)
    for extra in settings.allowed_hosts.split(","):
        if extra.strip():
            names.add(host_name(extra))
    return frozenset(names)


class LoginLimiter:
    """Counts failed logins per key (a client address, a user name) and locks out a key that
    fails too often."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0, lockout_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.window_s, self.lockout_s, self.clock = max_failures, window_s, lockout_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until a login for these keys is accepted again (0 when it is now)."""
        now = self.clock()
        with self._lock:
            return max([self._locked_until.get(key, 0.0) - now for key in keys] + [0.0])

    def failed(self, keys: Iterable[str]) -> None:
        """Record a failed login; a key with too many recent failures is locked out."""
        now = self.clock()
        with self._lock:
            for key in keys:
                recent = self._failures.setdefault(key, deque())
                recent.append(now)
                while recent and recent[0] < now - self.window_s:
                    recent.popleft()
                if len(recent) >= self.max_failures:
                    self._locked_until[key] = now + self.lockout_s
                    recent.clear()

    def succeeded(self, keys: Iterable[str]) -> None:
        """Forget the failures of these keys."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


class AccessGuard:
    """ASGI middleware that applies the Host allow-list and the login rate limit."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str], logins: LoginLimiter) -> None:
        self.app, self.hosts, self.logins = app, hosts, logins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an unknown Host, or a login from a locked-out client or for a locked-out user."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"host"), "")
        if host_name(host) not in self.hosts:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _respond(send, 400, "this server does not answer to that host name; "
                                          "add it to RAG_ALLOWED_HOSTS if it should")
            return
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in _LOGIN_PATHS:
            await self._login(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > _MAX_LOGIN_BODY:
                await _respond(send, 413, "the login form is too large")
                return
            if not message.get("more_body"):
                break
        form = parse_qs(body.decode("latin-1"))
        user = (form.get("username") or [""])[0].strip().lower()
        client = (scope.get("client") or ("unknown", 0))[0]
        keys = [f"address:{client}", f"user:{user}"]
        wait = self.logins.retry_after(keys)
        if wait > 0:
            await _respond(send, 429, f"too many failed logins; try again in {wait:.0f} s",
                           [(b"retry-after", str(int(wait) + 1).encode())])
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, replay, watch)
        if status and status[0] in (400, 401, 403):
            self.logins.failed(keys)
        elif status and status[0] == 200:
            self.logins.succeeded(keys)


async def _respond(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
