"""The chat's login for machine clients: the OpenAI-compatible API and the MCP endpoint.

With ``RAG_AUTH_USER``/``RAG_AUTH_PASSWORD`` set, a request must carry either
``Authorization: Bearer <password>`` (what OpenAI clients send as their API key) or HTTP Basic
auth with the user name and password (what MCP clients and curl can send). Failed attempts count
towards the same lockout as the page's login form (``guard.LoginLimiter``, per client address).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets

from ..ui.guard import ASGIApp, LoginLimiter, Receive, Scope, Send


def credentials_match(header: str, user: str, password: str) -> bool:
    """True when an ``Authorization`` header carries the password (Bearer) or user and password (Basic)."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return secrets.compare_digest(value.encode(), password.encode())
    if scheme.lower() == "basic":
        try:
            given_user, _, given_password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Both compared, always: the time taken says nothing about which one was wrong.
        same_user = secrets.compare_digest(given_user.strip().lower().encode(), user.strip().lower().encode())
        return secrets.compare_digest(given_password.encode(), password.encode()) and same_user
    return False


class LoginRequired:
    """ASGI wrapper that lets a request through only with the chat's credentials (none needed
    when no login is configured)."""

    def __init__(self, app: ASGIApp, login: tuple[str, str] | None, logins: LoginLimiter) -> None:
        self.app, self.login, self.logins = app, login, logins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse (401, or 429 while locked out) a request without the right credentials."""
        if self.login is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), "")
        keys = [f"address:{(scope.get('client') or ('unknown', 0))[0]}"]
        wait = self.logins.retry_after(keys)
        if wait > 0:
            await _error(send, 429, f"too many failed logins; try again in {wait:.0f} s",
                         [(b"retry-after", str(int(wait) + 1).encode())])
            return
        if not credentials_match(header, *self.login):
            if header:
                self.logins.failed(keys)
            await _error(send, 401, "log in: send the chat's password as a Bearer token (the API key), "
                                    "or its user name and password as HTTP Basic auth",
                         [(b"www-authenticate", b'Bearer realm="cited", Basic realm="cited"')])
            return
        self.logins.succeeded(keys)
        await self.app(scope, receive, send)


async def _error(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    # The OpenAI error shape, which OpenAI clients turn into their own exceptions.
    body = json.dumps({"error": {"message": message, "type": "authentication_error", "code": status}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
